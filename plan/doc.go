// Package plan is the pure planner: everything between a parsed mapping and
// the list of changes. It resolves the mapping's names and ids against a
// snapshot of the tenant and builds an ordered, deterministic plan of move,
// noop, invalid and unmanaged changes. It also orders the moves in waves
// that keep every connector group with applications covered, runs the
// guards that may refuse a plan (--max-changes, coverage), and checks a
// saved plan against the tenant as it is now (Claims: apply --plan); the
// file itself is plan/planfile's. A Plan is pure data: it keeps no
// reference to the State it was built from.
//
// It touches no file, no network and no clock. The records of a mapping
// (Mapping, Row, Problem) are defined here, and internal/mapping fills
// them from a CSV or XLSX file; it imports no file-format package, which
// imports_test.go checks. The snapshot (State) is filled by internal/graph;
// the plan is applied by the executor.
package plan

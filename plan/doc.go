// Package plan is the pure planner: everything between a parsed mapping and
// the list of changes. It resolves the mapping's names and ids against a
// snapshot of the tenant and builds an ordered, deterministic plan of move,
// noop, invalid and unmanaged changes. It also orders the moves in waves
// that keep every connector group with applications covered, runs the
// guards that may refuse a plan (--max-changes, coverage), and writes and
// checks saved plans (plan -o, apply --plan).
//
// It touches no file, no network and no clock. The records of a mapping
// (Mapping, Row, Problem) are defined here, and internal/mapping fills
// them from a CSV or XLSX file; it imports no file-format package, which
// imports_test.go checks. The snapshot (State) is filled by internal/graph;
// the plan is applied by the executor.
package plan

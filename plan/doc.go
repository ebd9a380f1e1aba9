// Package plan owns everything between the mapping file and the list of
// changes: reading the mapping (CSV or XLSX), resolving names and ids against a
// snapshot of the tenant, and building an ordered, deterministic plan of
// move, noop, invalid and unmanaged changes. It also orders the moves in
// waves that keep every connector group with applications covered, runs
// the guards that may refuse a plan (--max-changes, coverage), and writes
// and checks saved plans (plan -o, apply --plan).
//
// It is pure: no network, no clock. The snapshot (State) is filled by
// internal/graph; the plan is applied by the executor.
package plan

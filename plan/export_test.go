package plan

// For the external tests (package plan_test), which read mapping files
// with internal/mapping: plan's own test files cannot import it, since it
// imports plan.
var (
	LoadState = loadState
	LastLine  = lastLine
)

// UpdateGolden reports whether -update was given: golden files are
// rewritten.
func UpdateGolden() bool { return *update }

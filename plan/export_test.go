package plan

// For the external tests (package plan_test), which read mapping files
// with internal/mapping and save plans with plan/planfile: plan's own test
// files cannot import those, since they import plan.
var (
	LoadState    = loadState
	LastLine     = lastLine
	RandomCase   = randomCase
	DescribeCase = describeCase
	MovesOf      = movesOf
)

// UpdateGolden reports whether -update was given: golden files are
// rewritten.
func UpdateGolden() bool { return *update }

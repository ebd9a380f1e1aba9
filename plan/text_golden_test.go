package plan_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"connrecon/internal/mapping"
	"connrecon/plan"
)

// TestWriteTextGolden renders the plan for testdata/plan-mapping.csv against
// testdata/tenant.json: moves into two groups (one inactive, so a warning),
// a noop, invalid rows from the file and from resolution, and unmanaged
// connectors. An external test, so that the file is read as cmd reads it.
func TestWriteTextGolden(t *testing.T) {
	m, err := mapping.Read(filepath.Join("testdata", "plan-mapping.csv"), mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Build(m, plan.LoadState(t, filepath.Join("testdata", "tenant.json")), plan.Options{})
	var buf bytes.Buffer
	if err := plan.WriteText(&buf, p); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "plan.golden")
	if plan.UpdateGolden() {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./plan/ -run TestWriteTextGolden -update to create it)", err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("WriteText differs from %s (rerun with -update if the change is intended):\n--- got\n%s--- want\n%s", golden, got, want)
	}
	// Independent of the golden file, so -update cannot bless a wrong total.
	if got, want := plan.LastLine(buf.String()), "Plan: 3 to move, 1 unchanged, 3 invalid, 2 unmanaged."; got != want {
		t.Errorf("last line = %q, want %q", got, want)
	}
}

package reconcile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connrecon/internal/mapping"
	"connrecon/plan"
)

// ExportTables: a row per application proxy connector with its group's
// name and region; per group its type, its connectors and active ones, and
// its applications; agents in groups of another kind counted, not listed.
func TestExportTables(t *testing.T) {
	s := &plan.State{
		Groups: []plan.Group{
			{ID: "g1", Name: "Default", IsDefault: true, Region: "nam"},
			{ID: "g2", Name: "EU", Region: "eur", Applications: []plan.Application{{ID: "o1", AppID: "a1", DisplayName: "HR"}, {ID: "o2", AppID: "a2", DisplayName: "Pay"}}},
			{ID: "g3", Name: "Sync", Type: "syncFabric"},
		},
		Connectors: []plan.Connector{
			{ID: "c1", MachineName: "one", Status: "active", Version: "1.5", ExternalIP: "203.0.113.1", GroupID: "G2"},
			{ID: "c2", MachineName: "two", Status: "inactive", GroupID: "g2"},
			{ID: "c3", MachineName: "agent", Status: "active", GroupID: "g3"},
		},
	}
	conns, groups, apps, left := ExportTables(s)
	row := func(r []string) string { return strings.Join(r, "|") }
	want := []string{"one|c1|EU|G2|active|1.5|203.0.113.1|eur", "two|c2|EU|g2|inactive|||eur"}
	if len(conns.Rows) != 2 || row(conns.Rows[0]) != want[0] || row(conns.Rows[1]) != want[1] || left != 1 {
		t.Errorf("connectors %q, left %d; want %q and 1 left out", conns.Rows, left, want)
	}
	wantGroups := []string{"g1|Default|applicationProxy|nam|true|0|0|0", "g2|EU|applicationProxy|eur|false|2|1|2", "g3|Sync|syncFabric||false|1|1|0"}
	for i, w := range wantGroups {
		if i >= len(groups.Rows) || row(groups.Rows[i]) != w {
			t.Errorf("groups %q, want %q", groups.Rows, wantGroups)
			break
		}
	}
	if len(apps.Rows) != 2 || row(apps.Rows[0]) != "HR|a1|o1|EU|g2" {
		t.Errorf("applications %q", apps.Rows)
	}
}

// An export's file name chooses its format; anything else is refused.
func TestExportFormatOf(t *testing.T) {
	for path, want := range map[string]ExportFormat{"-": ExportCSV, "a.csv": ExportCSV, "A.XLSX": ExportXLSX, "a.json": "", "a": "", "a.xls": ""} {
		got, err := ExportFormatOf(path)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: %q, %v; want %q", path, got, err, want)
		}
	}
}

// maxMappedName is the longest cell the mapping reader keeps (README:
// Export): no machine name comes near it.
const maxMappedName = 1024

// A name longer than the mapping reader's cell limit is exported whole,
// but its row does not read back: it is invalid, saying why, in CSV and in
// a workbook alike. A name at the limit reads back.
func TestExportNameOverCellLimit(t *testing.T) {
	for _, tt := range []struct {
		name    string
		n       int
		invalid bool
	}{
		{name: "at the limit", n: maxMappedName},
		{name: "over it", n: maxMappedName + 1, invalid: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			long := strings.Repeat("g", tt.n)
			s := &plan.State{
				Groups:     []plan.Group{{ID: "a0000000-0000-4000-8000-000000000001", Name: long, IsDefault: true}},
				Connectors: []plan.Connector{{ID: "e0000000-0000-4000-8000-000000000001", MachineName: "app1.contoso.com", Status: plan.StatusActive, GroupID: "a0000000-0000-4000-8000-000000000001"}},
			}
			conns, _, _, _ := ExportTables(s)
			var csvOut, xlsxOut bytes.Buffer
			if err := mapping.WriteCSV(&csvOut, conns); err != nil {
				t.Fatal(err)
			}
			if err := mapping.WriteXLSX(&xlsxOut, SheetConnectors, conns); err != nil {
				t.Fatal(err)
			}
			for what, read := range map[string]func() (*plan.Mapping, error){
				"csv": func() (*plan.Mapping, error) { return mapping.ParseCSV("export.csv", &csvOut) },
				"xlsx": func() (*plan.Mapping, error) {
					path := filepath.Join(t.TempDir(), "export.xlsx")
					if err := os.WriteFile(path, xlsxOut.Bytes(), 0o600); err != nil {
						t.Fatal(err)
					}
					return mapping.Read(path, mapping.Options{})
				},
			} {
				m, err := read()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				p := plan.Build(m, s, plan.Options{})
				c := p.Changes[0]
				want := "the group cell holds 1025 characters, and no connector or group name has more than 1024"
				if got := c.Action == plan.ActionInvalid && c.Reason == want; got != tt.invalid || !tt.invalid && c.Action != plan.ActionNoop {
					t.Errorf("%s: %s %q; want invalid %v (%q)", what, c.Action, c.Reason, tt.invalid, want)
				}
			}
		})
	}
}

package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"connrecon/internal/mapping"
	"connrecon/plan"
)

// The back-out has a row for each move, and reads back, as CSV and as the
// workbook's first sheet, as a mapping that puts each moved connector into
// the group it came from, by id and name; the files are private; the
// workbook says which run it undoes; a name a workbook cannot hold is
// left out of the workbook only.
func TestWriteBackout(t *testing.T) {
	p := fixturePlan()
	p.Changes[0].MachineName = "=HYPERLINK(\"x\"),\n\"quoted\" ü"
	p.Changes[1].FromGroupName = "bell\x07group"
	dir := t.TempDir()
	u := Undoes{RunID: "0a1b2c3d4e5f", Mode: "apply", StartedAt: "2026-03-01T10:00:00Z", ReportDir: dir, Mapping: "mappings/prod.csv"}
	path, err := WriteBackout(dir, p, u)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, BackoutCSV) {
		t.Errorf("path %s", path)
	}
	var moves []plan.Change
	for _, c := range p.Changes {
		if c.Action == plan.ActionMove {
			moves = append(moves, c)
		}
	}
	for _, name := range BackoutFiles {
		if name == BackoutAppsCSV {
			continue // an application mapping: TestWriteBackoutApplications
		}
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, st.Mode().Perm())
		}
		m, err := mapping.Read(filepath.Join(dir, name), mapping.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(m.Rows) != len(moves) {
			t.Fatalf("%s: %d rows, want %d", name, len(m.Rows), len(moves))
		}
		lines := backoutLines(p)
		for i, r := range m.Rows {
			c := moves[i]
			wantLine := i + 2 // a row each in the workbook
			if name == BackoutCSV {
				wantLine = lines[changeIndex(p, c)]
			}
			if r.Problem != "" || r.Line != wantLine {
				t.Errorf("%s row %d: line %d, problem %q", name, i, r.Line, r.Problem)
			}
			if r.Connector != c.ConnectorID || r.Group != c.FromGroupID {
				t.Errorf("%s row %d: %s → %s, want %s → %s", name, r.Line, r.Connector, r.Group, c.ConnectorID, c.FromGroupID)
			}
			wantName, wantGroup := c.MachineName, c.FromGroupName
			if name == BackoutXLSX && i == 1 {
				wantGroup = "" // the bell character: a workbook cannot hold it
			}
			if r.ConnectorAlt != strings.TrimSpace(wantName) || r.GroupAlt != wantGroup {
				t.Errorf("%s row %d: names %q, %q; want %q, %q", name, r.Line, r.ConnectorAlt, r.GroupAlt, wantName, wantGroup)
			}
		}
	}
	f, err := excelize.OpenFile(filepath.Join(dir, BackoutXLSX))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 3 || got[0] != BackoutSheet || got[1] != BackoutApplicationsSheet || got[2] != BackoutAboutSheet {
		t.Errorf("sheets %v", got)
	}
	rows, _ := f.GetRows(BackoutAboutSheet)
	about := ""
	for _, r := range rows {
		about += strings.Join(r, "=") + "\n"
	}
	for _, want := range []string{"undoes=run 0a1b2c3d4e5f (apply started 2026-03-01T10:00:00Z", "moves undone=4", "connrecon apply -m " + path + " (", "1 cell(s)",
		"connectors=4, on the Backout sheet", "applications=0, on the Applications sheet"} {
		if !strings.Contains(about, want) {
			t.Errorf("About sheet lacks %q:\n%s", want, about)
		}
	}
	// No application moves: the command needs no --apps.
	if strings.Contains(about, "--apps") {
		t.Errorf("About sheet names --apps for a plan that moves no application:\n%s", about)
	}
	csv, _ := os.ReadFile(path)
	if !strings.Contains(string(csv), "'=HYPERLINK") {
		t.Errorf("the formula-like name is not neutralised in backout.csv:\n%s", csv)
	}
}

func changeIndex(p *plan.Plan, c plan.Change) int {
	for i := range p.Changes {
		if p.Changes[i].ConnectorID == c.ConnectorID {
			return i
		}
	}
	return -1
}

// A plan without moves has a back-out of its header alone, which reads as
// an empty mapping.
func TestWriteBackoutNoMoves(t *testing.T) {
	dir := t.TempDir()
	path, err := WriteBackout(dir, &plan.Plan{}, Undoes{RunID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Read(path, mapping.Options{})
	if err != nil || len(m.Rows) != 0 {
		t.Fatalf("rows %v, err %v", m, err)
	}
}

// Every row of a back-out reads back valid, even when the snapshot showed a
// mapped connector in no group (Graph replicating a move): the plan does
// not move it, so the back-out has no row without a group.
func TestBackoutOfConnectorInNoGroup(t *testing.T) {
	s := &plan.State{
		Groups: []plan.Group{
			{ID: "9d000000-0000-4000-8000-000000000001", Name: "Default", IsDefault: true},
			{ID: "9d000000-0000-4000-8000-000000000002", Name: "EU"},
		},
		Connectors: []plan.Connector{
			{ID: "cd000000-0000-4000-8000-000000000001", MachineName: "lost.contoso.com", Status: plan.StatusActive},
			{ID: "cd000000-0000-4000-8000-000000000002", MachineName: "fra1.contoso.com", Status: plan.StatusActive, GroupID: "9d000000-0000-4000-8000-000000000001"},
		},
	}
	lost, fra1 := plan.Row{Line: 2, Connector: "lost.contoso.com", Group: "EU"}, plan.Row{Line: 3, Connector: "fra1.contoso.com", Group: "EU"}
	for _, tc := range []struct {
		rows []plan.Row
		opts plan.Options
	}{
		{rows: []plan.Row{lost, fra1}},
		{rows: []plan.Row{fra1}, opts: plan.Options{Unlisted: plan.UnlistedDefault}},
	} {
		p := plan.Build(&plan.Mapping{Rows: tc.rows}, s, tc.opts)
		dir := t.TempDir()
		path, err := WriteBackout(dir, p, Undoes{RunID: "x"})
		if err != nil {
			t.Fatal(err)
		}
		back, err := mapping.Read(path, mapping.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(back.Rows) != 1 || back.Rows[0].Problem != "" || back.Rows[0].ConnectorAlt != "fra1.contoso.com" || back.Rows[0].GroupAlt != "Default" {
			t.Errorf("--unlisted %q: back-out rows %+v, want fra1's alone, back to Default", tc.opts.Unlisted, back.Rows)
		}
	}
}

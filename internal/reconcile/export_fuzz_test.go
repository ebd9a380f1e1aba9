package reconcile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"connrecon/internal/mapping"
	"connrecon/plan"
)

// FuzzExportRoundTrip: whatever the tenant's names hold, up to the
// mapping reader's cell limit, its export, as CSV and as a workbook, read
// back by the mapping reader and planned against the same tenant, moves
// nothing and has no invalid row.
func FuzzExportRoundTrip(f *testing.F) {
	for _, seed := range [][3]string{
		{"app1.contoso.com", "EU", "US"},
		{"=cmd|' /C calc'!A0", "'+1", "''"},
		{"crlf\r\nname", "lone\rcr", " padded "},
		{"a,b;c\td\"e", "#N/A", "ad-01-02-03"},
		{"0000000d-0000-4000-8000-000000000001", "Shared", "shared"},
		{"\u200bzero", "\ufeffbom", "名前"},
		// Text that looks like a workbook's escapes (ST_Xstring).
		{"a_x0041_b", "_x005F_", "_xD800_"},
		{"_xD83D__xDE00_", "_x005F_x0041_", "x_x000D_\r\ny"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, conn, g1, g2 string) {
		// Names come from Graph's JSON, which holds only Unicode text.
		conn, g1, g2 = strings.ToValidUTF8(conn, "\uFFFD"), strings.ToValidUTF8(g1, "\uFFFD"), strings.ToValidUTF8(g2, "\uFFFD")
		for _, n := range []string{conn, g1, g2} {
			if utf8.RuneCountInString(n) > maxMappedName {
				t.Skip("a name over the cell limit does not read back (TestExportNameOverCellLimit)")
			}
		}
		s := &plan.State{
			Groups: []plan.Group{
				{ID: "a0000000-0000-4000-8000-000000000001", Name: g1, IsDefault: true},
				{ID: "a0000000-0000-4000-8000-000000000002", Name: g2},
			},
			Connectors: []plan.Connector{
				{ID: "e0000000-0000-4000-8000-000000000001", MachineName: conn, Status: plan.StatusActive, GroupID: "a0000000-0000-4000-8000-000000000001"},
				{ID: "e0000000-0000-4000-8000-000000000002", MachineName: g1, Status: plan.StatusActive, GroupID: "a0000000-0000-4000-8000-000000000002"},
				{ID: "e0000000-0000-4000-8000-000000000003", MachineName: conn, Status: plan.StatusInactive, GroupID: "a0000000-0000-4000-8000-000000000002"},
			},
		}
		conns, groups, apps, _ := ExportTables(s)
		var csvOut bytes.Buffer
		if err := mapping.WriteCSV(&csvOut, conns); err != nil {
			t.Fatal(err)
		}
		m, err := mapping.ParseCSV("export.csv", &csvOut)
		if err != nil {
			t.Fatalf("CSV export does not read back: %v", err)
		}
		check(t, "csv", m, s)
		sheets := []mapping.Sheet{{Name: SheetConnectors, Table: conns}, {Name: SheetGroups, Table: groups}, {Name: SheetApplications, Table: apps}}
		mapping.BlankUnwritable(sheets)
		path := filepath.Join(t.TempDir(), "export.xlsx")
		var x bytes.Buffer
		if err := mapping.WriteWorkbook(&x, sheets); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, x.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		m, err = mapping.Read(path, mapping.Options{})
		if err != nil {
			t.Fatalf("workbook export does not read back: %v", err)
		}
		check(t, "xlsx", m, s)
	})
}

func check(t *testing.T, what string, m *plan.Mapping, s *plan.State) {
	t.Helper()
	p := plan.Build(m, s, plan.Options{})
	sum := p.Summary()
	if sum.Move != 0 || sum.Invalid != 0 || sum.Unmanaged != 0 || sum.Noop != len(s.Connectors) {
		var why []string
		for _, c := range p.Changes {
			why = append(why, fmt.Sprintf("%s %q: %s", c.Action, c.MachineName, c.Reason))
		}
		t.Fatalf("%s export planned %+v, want %d no-ops:\n%q", what, sum, len(s.Connectors), why)
	}
}

package report

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"connrecon/executor"
	"connrecon/plan"
)

// openXLSX writes r as report.xlsx through Write and reopens it, both with
// excelize and as the zip archive it is (for what excelize does not read
// back, such as charts).
func openXLSX(t *testing.T, r *Report) (*excelize.File, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	if err := Write(dir, r, []Format{FormatXLSX}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	path := filepath.Join(dir, "report.xlsx")
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	parts := map[string]string{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		// excelize writes "'" as &#39;: undo it so tests can look for
		// references as Excel shows them.
		parts[zf.Name] = strings.ReplaceAll(string(data), "&#39;", "'")
	}
	return f, parts
}

func rows(t *testing.T, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rr, err := f.GetRows(sheet)
	if err != nil {
		t.Fatalf("%s: %v", sheet, err)
	}
	return rr
}

// pad extends a row read back by excelize, which drops trailing empty
// cells, to n cells.
func pad(row []string, n int) []string {
	for len(row) < n {
		row = append(row, "")
	}
	return row
}

// labels reads the Summary sheet's label/value pairs.
func labels(t *testing.T, f *excelize.File) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, row := range rows(t, f, SheetSummary) {
		if len(row) >= 2 && row[0] != "" {
			m[row[0]] = row[1]
		}
	}
	return m
}

func fillOf(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Fill.Color) == 0 {
		return ""
	}
	// Colours may come back as ARGB; compare RGB.
	c := strings.ToUpper(st.Fill.Color[0])
	if len(c) == 8 {
		c = c[2:]
	}
	return c
}

// hasFilter reports whether sheet has an autofilter over ref (Excel keeps
// it as the sheet's hidden _FilterDatabase name).
func hasFilter(f *excelize.File, sheet, ref string) bool {
	for _, n := range f.GetDefinedName() {
		if n.Name == "_xlnm._FilterDatabase" && n.Scope == sheet && n.RefersTo == ref {
			return true
		}
	}
	return false
}

func TestXLSX(t *testing.T) {
	r := Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults())
	f, parts := openXLSX(t, r)

	if got, want := f.GetSheetList(), []string{SheetSummary, SheetActions, SheetInvalid, SheetGroups}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sheets %v, want %v", got, want)
	}
	if f.GetActiveSheetIndex() != 0 {
		t.Errorf("active sheet %d, want the Summary", f.GetActiveSheetIndex())
	}

	t.Run("Actions", func(t *testing.T) {
		got := rows(t, f, SheetActions)
		if !reflect.DeepEqual(got[0], CSVHeader) {
			t.Errorf("header %v, want CSVHeader", got[0])
		}
		// Row for row and cell for cell what report.csv holds.
		want, err := csv.NewReader(bytes.NewReader(render(t, WriteCSV, r))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d rows, report.csv has %d", len(got), len(want))
		}
		for i := range want {
			if g := pad(got[i], len(CSVHeader)); !reflect.DeepEqual(g, want[i]) {
				t.Errorf("row %d:\n xlsx %q\n csv  %q", i+1, g, want[i])
			}
		}
		// Numbers are numbers, so that Excel sorts and sums them.
		for _, cell := range []string{"A2", "J2", "L2", "O2"} {
			if typ, _ := f.GetCellType(SheetActions, cell); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
				t.Errorf("%s type %v, want a number", cell, typ)
			}
		}
		panes, err := f.GetPanes(SheetActions)
		if err != nil {
			t.Fatal(err)
		}
		if !panes.Freeze || panes.YSplit != 1 || panes.XSplit != 0 || panes.TopLeftCell != "A2" {
			t.Errorf("panes %+v, want the header row frozen", panes)
		}
		if !strings.Contains(parts["xl/worksheets/sheet2.xml"], `<autoFilter ref="$A$1:$AC$8"`) {
			t.Errorf("Actions sheet (sheet2.xml) has no autofilter over A1:AC8")
		}
		if !hasFilter(f, SheetActions, "'Actions'!$A$1:$AC$8") {
			t.Errorf("defined names %+v, want the Actions filter range", f.GetDefinedName())
		}
		for col, want := range map[string]float64{"B": 38, "C": 32, "P": 60, "A": 6} {
			if w, err := f.GetColWidth(SheetActions, col); err != nil || w != want {
				t.Errorf("column %s width %v (%v), want %v", col, w, err, want)
			}
		}
		// Row 3 is the failed move: red across the row; its neighbours are not.
		for _, cell := range []string{"A3", "K3", "P3", "W3"} {
			if fill := fillOf(t, f, SheetActions, cell); fill != badFill {
				t.Errorf("failed row %s fill %q, want %s", cell, fill, badFill)
			}
		}
		for _, cell := range []string{"A2", "K4", "K7"} {
			if fill := fillOf(t, f, SheetActions, cell); fill != "" {
				t.Errorf("%s fill %q, want none", cell, fill)
			}
		}
		if fill := fillOf(t, f, SheetActions, "A1"); fill != headerFill {
			t.Errorf("header fill %q, want %s", fill, headerFill)
		}
	})

	t.Run("Summary", func(t *testing.T) {
		m := labels(t, f)
		for label, want := range map[string]string{
			"Mode": "apply", "Outcome": "failed", "Exit code": "1", "Version": "1.4.0",
			"Operator": "admin@contoso.example", "Mapping file": "mappings/prod.csv", "Mapping rows": "6",
			"Mapping SHA-256": fixtureMapping().SHA256, "Started (UTC)": "2026-03-01T10:00:00Z",
			"Finished (UTC)": "2026-03-01T10:00:03Z", "Graph URL": "https://graph.microsoft.com/beta",
			"Journal": applyRun().Journal, "Message": applyRun().Message,
			"actions": "7", "move": "4", "noop": "1", "invalid": "1", "unmanaged": "1",
			"succeeded": "2", "failed": "1", "notAttempted": "1", "unknown": "0",
		} {
			if got, ok := m[label]; !ok || got != want {
				t.Errorf("Summary %q = %q (present %v), want %q", label, got, ok, want)
			}
		}
		if v, _ := f.GetCellValue(SheetSummary, "A1"); v != "connrecon apply: failed (exit 1)" {
			t.Errorf("title %q", v)
		}
	})

	t.Run("chart", func(t *testing.T) {
		chart, ok := parts["xl/charts/chart1.xml"]
		if !ok {
			t.Fatal("no chart in the workbook")
		}
		// A clustered horizontal bar chart, two series (before, after)
		// named by the Groups sheet's headers, over the group names.
		for _, want := range []string{
			`<barChart><barDir val="bar">`, `<grouping val="clustered">`, `<varyColors val="0">`,
			`<tx><strRef><f>'Groups'!$F$1</f>`, `<cat><strRef><f>'Groups'!$A$2:$A$6</f>`, `<val><numRef><f>'Groups'!$F$2:$F$6</f>`,
			`<tx><strRef><f>'Groups'!$G$1</f>`, `<val><numRef><f>'Groups'!$G$2:$G$6</f>`,
			"Active connectors per group",
		} {
			if !strings.Contains(chart, want) {
				t.Errorf("chart lacks %s", want)
			}
		}
		if n := strings.Count(chart, "<ser>"); n != 2 {
			t.Errorf("chart has %d series, want before and after", n)
		}
		// The chart is drawn on the Summary sheet (sheet1).
		if !strings.Contains(parts["xl/worksheets/sheet1.xml"], "<drawing") ||
			!strings.Contains(parts["xl/worksheets/_rels/sheet1.xml.rels"], "drawing1.xml") ||
			!strings.Contains(parts["xl/drawings/_rels/drawing1.xml.rels"], "chart1.xml") {
			t.Error("the chart is not anchored on the Summary sheet")
		}
	})

	t.Run("Groups", func(t *testing.T) {
		got := rows(t, f, SheetGroups)
		if !reflect.DeepEqual(got[0], GroupsHeader) {
			t.Errorf("header %v", got[0])
		}
		want := [][]string{
			{"Default", "a1b2c3d4-0000-4000-8000-00000000d000", "yes", "6", "2", "5", "2", "1", "ok", "Intranet (legacy)"},
			{"Europe", "a1b2c3d4-0000-4000-8000-00000000e000", "", "0", "3", "0", "3", "2", "ok", "HR portal; R&D wiki"},
			{"North America", "a1b2c3d4-0000-4000-8000-00000000a000", "", "0", "1", "0", "0", "1", "gap", "Sales <CRM>"},
			{"Lab", "a1b2c3d4-0000-4000-8000-00000000f000", "", "1", "1", "1", "1", "0", "noApplications"},
			{"Asia", "a1b2c3d4-0000-4000-8000-00000000b000", "", "0", "0", "0", "0", "0", "unknown"},
		}
		if len(got) != len(want)+1 {
			t.Fatalf("%d rows, want %d", len(got), len(want)+1)
		}
		for i, w := range want {
			if g := pad(got[i+1], len(w)); !reflect.DeepEqual(g[:len(w)], w) {
				t.Errorf("group row %d = %q, want %q", i+2, g, w)
			}
		}
		// The gap needs action: its row is red.
		if fill := fillOf(t, f, SheetGroups, "I4"); fill != badFill {
			t.Errorf("gap row fill %q, want %s", fill, badFill)
		}
		if fill := fillOf(t, f, SheetGroups, "I3"); fill != "" {
			t.Errorf("ok row fill %q, want none", fill)
		}
		if p, _ := f.GetPanes(SheetGroups); !p.Freeze || p.YSplit != 1 {
			t.Errorf("Groups panes %+v, want the header frozen", p)
		}
		if !hasFilter(f, SheetGroups, "'Groups'!$A$1:$J$6") {
			t.Errorf("Groups sheet has no autofilter: %+v", f.GetDefinedName())
		}
	})

	t.Run("Invalid rows", func(t *testing.T) {
		got := rows(t, f, SheetInvalid)
		want := [][]string{InvalidHeader, {"6", "ghost-99", "Europe", `no connector named "ghost-99" in the tenant`, "", "", "connector"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("rows %q, want %q", got, want)
		}
		if p, _ := f.GetPanes(SheetInvalid); !p.Freeze || p.YSplit != 1 {
			t.Errorf("Invalid rows panes %+v, want the header frozen", p)
		}
		if !strings.Contains(parts["xl/worksheets/sheet3.xml"], `<autoFilter ref="$A$1:$J$2"`) || !hasFilter(f, SheetInvalid, "'Invalid rows'!$A$1:$J$2") {
			t.Error("Invalid rows sheet has no autofilter")
		}
	})
}

// Without group data (the run stopped before the planner, or the caller
// has none) the workbook says so and carries no chart, rather than an
// empty one that would read as zero connectors.
func TestXLSXWithoutGroupsOrInvalidRows(t *testing.T) {
	p := fixturePlan()
	p.Changes = append(p.Changes[:4], p.Changes[5:]...) // drop the invalid row
	f, parts := openXLSX(t, Build(planRun(), fixtureMapping(), p, nil))
	if got := rows(t, f, SheetGroups); !reflect.DeepEqual(got, [][]string{{noGroupsText}}) {
		t.Errorf("Groups sheet %q, want the note only", got)
	}
	if got := labels(t, f); got["Operator"] != "unknown" || got["Refusals"] != "" {
		t.Errorf("Summary operator %q, refusals %q", got["Operator"], got["Refusals"])
	}
	var summary []string
	for _, row := range rows(t, f, SheetSummary) {
		summary = append(summary, strings.Join(row, "|"))
	}
	if s := strings.Join(summary, "\n"); !strings.Contains(s, noGroupsText) || !strings.Contains(s, "none") {
		t.Errorf("Summary does not say groups are unavailable and no guard refused:\n%s", s)
	}
	for name := range parts {
		if strings.HasPrefix(name, "xl/charts/") || strings.HasPrefix(name, "xl/drawings/") {
			t.Errorf("workbook holds %s without group data", name)
		}
	}
	if got := rows(t, f, SheetInvalid); !reflect.DeepEqual(got, [][]string{InvalidHeader, {noInvalidText}}) {
		t.Errorf("Invalid rows sheet %q", got)
	}
	if got := rows(t, f, SheetActions); len(got) != 7 || got[1][10] != ResultPlanned {
		t.Errorf("Actions sheet: %d rows, first result %q", len(got), got[1][10])
	}
}

// Moves whose fate is unknown (in flight when interrupted) are amber, so
// they are checked before anyone re-runs.
func TestXLSXHighlightsUnknownOutcome(t *testing.T) {
	results := []executor.Result{{Change: 0, Outcome: "unknown", Attempts: 1}}
	f, _ := openXLSX(t, Build(applyRun(), fixtureMapping(), applyPlan(), results))
	if fill := fillOf(t, f, SheetActions, "K2"); fill != neutralFill {
		t.Errorf("unknown row fill %q, want %s", fill, neutralFill)
	}
	if fill := fillOf(t, f, SheetActions, "K3"); fill != "" {
		t.Errorf("notAttempted row fill %q, want none", fill)
	}
}

// The issue's own example: a connector and a group named to run code when
// the report is opened in Excel. Neither may become a formula.
func TestFormulaInjection(t *testing.T) {
	const (
		machine = `=HYPERLINK("http://x","y")`
		group   = `+cmd|' /C calc'!A0`
	)
	p := applyPlan()
	c := &p.Changes[0]
	c.MachineName, c.ToGroupName, c.MappedConnector, c.MappedGroup = machine, group, machine, group
	p.Changes[1].FromGroupName = group
	inv := &p.Changes[4]
	inv.MappedConnector, inv.MappedGroup, inv.Reason = machine, group, "-2+3 no such group @SUM(A1)"
	p.Groups[1].Name = group
	p.Groups[1].Applications = []string{machine}
	p.Refusals = []plan.Refusal{{Guard: plan.GuardCoverage, Message: "=1+1", Groups: []plan.RefusedGroup{{Name: group}}}}
	run := applyRun()
	run.Operator = "@evil"
	r := Build(run, fixtureMapping(), p, fixtureResults())

	t.Run("CSV", func(t *testing.T) {
		recs, err := csv.NewReader(bytes.NewReader(render(t, WriteCSV, r))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for i, rec := range recs {
			for j, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("CSV row %d column %s starts with %q: %q", i+1, recs[0][j], cell[:1], cell)
				}
			}
		}
		if got := recs[1][indexOf(recs[0], "machineName")]; got != "'"+machine {
			t.Errorf("machineName cell %q, want %q", got, "'"+machine)
		}
		if got := recs[1][indexOf(recs[0], "toGroupName")]; got != "'"+group {
			t.Errorf("toGroupName cell %q, want %q", got, "'"+group)
		}
	})

	t.Run("XLSX", func(t *testing.T) {
		f, parts := openXLSX(t, r)
		// No formula anywhere in the workbook: every worksheet part is
		// free of <f> elements.
		for name, xml := range parts {
			if strings.HasPrefix(name, "xl/worksheets/sheet") && strings.Contains(xml, "<f>") {
				t.Errorf("%s holds a formula", name)
			}
		}
		// The exact text, as a string cell, wherever it appears.
		for _, c := range []struct{ sheet, cell, want string }{
			{SheetActions, "C2", machine},
			{SheetActions, "H2", group},
			{SheetActions, "V2", machine},
			{SheetActions, "W2", group},
			{SheetActions, "F3", group},
			{SheetInvalid, "B2", machine},
			{SheetInvalid, "C2", group},
			{SheetInvalid, "D2", "-2+3 no such group @SUM(A1)"},
			{SheetGroups, "A3", group},
			{SheetGroups, "J3", machine},
		} {
			v, err := f.GetCellValue(c.sheet, c.cell)
			if err != nil || v != c.want {
				t.Errorf("%s!%s = %q (%v), want %q", c.sheet, c.cell, v, err, c.want)
			}
			if formula, _ := f.GetCellFormula(c.sheet, c.cell); formula != "" {
				t.Errorf("%s!%s has formula %q", c.sheet, c.cell, formula)
			}
			typ, _ := f.GetCellType(c.sheet, c.cell)
			if typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
				t.Errorf("%s!%s type %v, want a string cell", c.sheet, c.cell, typ)
			}
		}
		m := labels(t, f)
		if m["Operator"] != "@evil" {
			t.Errorf("Summary operator %q", m["Operator"])
		}
		var refusal []string
		for _, row := range rows(t, f, SheetSummary) {
			if len(row) > 0 && row[0] == "coverage" {
				refusal = row
			}
		}
		if !reflect.DeepEqual(refusal, []string{"coverage", "=1+1", group}) {
			t.Errorf("refusal row %q", refusal)
		}
	})

	t.Run("Markdown", func(t *testing.T) {
		out := string(render(t, WriteMarkdown, r))
		wantCell := `+cmd\|' /C calc'!A0`
		if !strings.Contains(out, "| "+wantCell+" |") {
			t.Errorf("group name not escaped as %s:\n%s", wantCell, out)
		}
		checkTables(t, out)
	})
}

// checkTables checks that every row of every Markdown table has as many
// cells as its header: an unescaped "|" or newline would break that.
func checkTables(t *testing.T, out string) {
	t.Helper()
	count := func(line string) int {
		// Count pipes not preceded by an odd number of backslashes.
		n := 0
		for i := 0; i < len(line); i++ {
			if line[i] != '|' {
				continue
			}
			bs := 0
			for j := i - 1; j >= 0 && line[j] == '\\'; j-- {
				bs++
			}
			if bs%2 == 0 {
				n++
			}
		}
		return n
	}
	want := 0
	for i, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = 0
			continue
		}
		if want == 0 {
			want = count(line)
			continue
		}
		if got := count(line); got != want {
			t.Errorf("line %d has %d cell separators, its table %d: %q", i+1, got, want, line)
		}
	}
}

// Past Excel's row limit the sheets keep what fits, and the Summary says
// where the rest is, rather than the whole workbook failing.
func TestXLSXRowLimit(t *testing.T) {
	defer func(n int) { xlsxMaxRows = n }(xlsxMaxRows)
	xlsxMaxRows = 4 // a header and three rows
	p := applyPlan()
	for i := 0; i < 3; i++ {
		p.Changes = append(p.Changes, plan.Change{Row: 10 + i, Action: plan.ActionInvalid, MappedConnector: "x", Reason: "bad"})
	}
	r := Build(applyRun(), fixtureMapping(), p, fixtureResults())
	f, parts := openXLSX(t, r)
	if got := rows(t, f, SheetActions); len(got) != 4 || got[3][0] != "4" {
		t.Errorf("Actions sheet %d rows, want the header and the first 3", len(got))
	}
	if got := rows(t, f, SheetInvalid); len(got) != 4 || got[1][0] != "6" || got[3][0] != "11" {
		t.Errorf("Invalid rows sheet %q, want the header and the first 3", got)
	}
	if got := labels(t, f)["Actions sheet"]; !strings.Contains(got, "first 3 of 10 actions") {
		t.Errorf("Summary note %q", got)
	}
	if !strings.Contains(parts["xl/worksheets/sheet2.xml"], `<autoFilter ref="$A$1:$AC$4"`) {
		t.Error("Actions autofilter does not match the rows written")
	}
}

// printWant is how one sheet of report.xlsx must print.
type printWant struct {
	landscape bool // its columns are wider than a portrait page
	titles    bool // row 1, its header, repeats on every page
}

// paper is a sheet of paper, portrait, in inches. report.xlsx leaves the
// paper to the printer, so the Summary must come out right on either.
type paper struct {
	name string
	w, h float64
}

var papers = []paper{{"A4", 8.27, 11.69}, {"Letter", 8.5, 11}}

// The issue: printed or saved as PDF, every sheet fits one page wide
// (landscape where wide), the header row repeats on every page, and the
// Summary's chart is whole on the first page, beside the facts.
func TestXLSXPrintLayout(t *testing.T) {
	withGroups := func(groups, refusals int) *Report {
		p := applyPlan()
		p.Groups = nil
		for i := range groups {
			p.Groups = append(p.Groups, plan.GroupSummary{ID: fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", i),
				Name: fmt.Sprintf("Group %03d", i), ActiveBefore: i % 4, ActiveAfter: (i + 1) % 4, Coverage: plan.CoverageOK})
		}
		for i := range refusals {
			p.Refusals = append(p.Refusals, plan.Refusal{Guard: plan.GuardCoverage, Message: fmt.Sprintf("Group %03d would run short", i)})
		}
		return Build(applyRun(), fixtureMapping(), p, fixtureResults())
	}
	noGroups := fixturePlan()
	noGroups.Changes = append(noGroups.Changes[:4], noGroups.Changes[5:]...) // no invalid row either

	// Every sheet is wider than a portrait page (Actions: 29 columns,
	// Invalid rows: 10 with a 70-character reason, Groups: 10, Summary: the
	// facts and the chart beside them, or the facts alone at 826 pixels),
	// but for the Groups sheet that holds only its note.
	wide := map[string]printWant{
		SheetSummary: {landscape: true, titles: true}, SheetActions: {landscape: true, titles: true},
		SheetInvalid: {landscape: true, titles: true}, SheetGroups: {landscape: true, titles: true},
	}
	cases := []struct {
		name  string
		r     *Report
		want  map[string]printWant
		chart bool
	}{
		{"apply", Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults()), wide, true},
		{"applications", Build(appsRun(), fixtureMapping(), appsPlan(), appsResults()), wide, true},
		// Just past where the chart stops growing with the groups.
		{"40 groups", withGroups(40, 0), wide, true},
		// The facts run onto a second page; the chart still fits the first.
		{"300 groups and 60 refusals", withGroups(300, 60), wide, true},
		{"no groups or invalid rows", Build(planRun(), fixtureMapping(), noGroups, nil), map[string]printWant{
			SheetSummary: {landscape: true, titles: true}, SheetActions: {landscape: true, titles: true},
			SheetInvalid: {landscape: true, titles: true}, SheetGroups: {landscape: false, titles: false},
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, parts := openXLSX(t, c.r)
			for _, sheet := range f.GetSheetList() {
				want, ok := c.want[sheet]
				if !ok {
					t.Fatalf("sheet %s not in the table", sheet)
				}
				checkPrintLayout(t, f, sheet, want)
			}
			_, hasChart := parts["xl/drawings/drawing1.xml"]
			if hasChart != c.chart {
				t.Fatalf("chart drawn %v, want %v", hasChart, c.chart)
			}
			checkSummaryPage(t, f, parts, c.chart)
		})
	}
}

// definedName is the RefersTo of sheet's defined name, "" if none.
func definedName(f *excelize.File, name, sheet string) string {
	for _, n := range f.GetDefinedName() {
		if n.Name == name && n.Scope == sheet {
			return n.RefersTo
		}
	}
	return ""
}

func checkPrintLayout(t *testing.T, f *excelize.File, sheet string, want printWant) {
	t.Helper()
	props, err := f.GetSheetProps(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if props.FitToPage == nil || !*props.FitToPage {
		t.Errorf("%s: fitToPage not set: the fit below would be ignored", sheet)
	}
	lay, err := f.GetPageLayout(sheet)
	if err != nil {
		t.Fatal(err)
	}
	orientation := "portrait"
	if want.landscape {
		orientation = "landscape"
	}
	if lay.Orientation == nil || *lay.Orientation != orientation {
		t.Errorf("%s: orientation %v, want %s", sheet, deref(lay.Orientation), orientation)
	}
	// One page wide; 0 pages high is as many as the rows take.
	if lay.FitToWidth == nil || *lay.FitToWidth != 1 || lay.FitToHeight == nil || *lay.FitToHeight != 0 {
		t.Errorf("%s: fitToWidth %v, fitToHeight %v, want 1 and 0", sheet, deref(lay.FitToWidth), deref(lay.FitToHeight))
	}
	titles := definedName(f, "_xlnm.Print_Titles", sheet)
	if want.titles && titles != "'"+sheet+"'!$1:$1" {
		t.Errorf("%s: print titles %q, want row 1 (%+v)", sheet, titles, f.GetDefinedName())
	}
	if !want.titles && titles != "" {
		t.Errorf("%s: print titles %q on a sheet with no header", sheet, titles)
	}
	// Pages of a ticket stay in order and say what they are, at a size
	// that can be read however small the sheet prints.
	if hf, err := f.GetHeaderFooter(sheet); err != nil || !strings.Contains(hf.OddFooter, "&A") ||
		!strings.Contains(hf.OddFooter, "&P of &N") || hf.ScaleWithDoc == nil || *hf.ScaleWithDoc {
		t.Errorf("%s: footer %+v (%v), want the sheet's name and page number, unscaled", sheet, hf, err)
	}
	if m, err := f.GetPageMargins(sheet); err != nil || *m.Left > 0.7 || *m.Right > 0.7 || *m.Top > 0.75 || *m.Bottom > 0.75 {
		t.Errorf("%s: margins %v %v %v %v (%v), want no wider than Excel's Normal", sheet, *m.Left, *m.Right, *m.Top, *m.Bottom, err)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// titleGrowth is how much taller than stored an application may draw the
// Summary's row 1, its 14-point title making the row fit (Excel and
// LibreOffice draw 15 points as 20 pixels, and 14-point text needs about
// 25).
const titleGrowth = 10

// checkSummaryPage checks the Summary's first printed page: the print
// area holds the facts and the chart; the chart lies beside the facts,
// inside the print area; and, with the page scaled so that the print area
// is one page wide, the chart ends above the first page's bottom on A4 as
// on Letter. Widths and heights are in pixels as Excel draws them.
func checkSummaryPage(t *testing.T, f *excelize.File, parts map[string]string, chart bool) {
	t.Helper()
	const sh = SheetSummary
	area := definedName(f, "_xlnm.Print_Area", sh)
	first, last, ok := strings.Cut(strings.TrimPrefix(area, "'"+sh+"'!"), ":")
	if !ok || first != "$A$1" {
		t.Fatalf("Summary print area %q, want $A$1:…", area)
	}
	areaCol, areaRow, err := excelize.CellNameToCoordinates(strings.ReplaceAll(last, "$", ""))
	if err != nil {
		t.Fatalf("Summary print area %q: %v", area, err)
	}
	if n := len(rows(t, f, sh)); n > areaRow {
		t.Errorf("Summary has %d rows, its print area %d", n, areaRow)
	}
	// Excel's pixels for a stored column width (Calibri 11: 7-pixel digits)
	// and for a row height in points.
	colsPx := func(n int) float64 { // columns 1 to n
		var px float64
		for c := 1; c <= n; c++ {
			name, _ := excelize.ColumnNumberToName(c)
			w, err := f.GetColWidth(sh, name)
			if err != nil {
				t.Fatal(err)
			}
			px += math.Trunc((256*w + 18) / 256 * 7)
		}
		return px
	}
	rowsPx := func(n int) float64 {
		var px float64
		for r := 1; r <= n; r++ {
			h, err := f.GetRowHeight(sh, r)
			if err != nil {
				t.Fatal(err)
			}
			px += h * 96 / 72
		}
		return px
	}
	areaW, areaH := colsPx(areaCol), rowsPx(areaRow)
	if facts := colsPx(3); areaW < facts {
		t.Errorf("print area %s is %.0f px wide, narrower than the facts (%.0f px)", area, areaW, facts)
	}
	if !chart {
		if areaCol != 3 {
			t.Errorf("print area %s without a chart, want the facts' columns A to C", area)
		}
		return
	}
	var drawing struct {
		Anchors []struct {
			From cellAnchor `xml:"from"`
			To   cellAnchor `xml:"to"`
		} `xml:"twoCellAnchor"`
	}
	if err := xml.Unmarshal([]byte(parts["xl/drawings/drawing1.xml"]), &drawing); err != nil || len(drawing.Anchors) != 1 {
		t.Fatalf("drawing: %v, %d anchors, want the chart's", err, len(drawing.Anchors))
	}
	const emuPerPx = 9525
	from, to := drawing.Anchors[0].From, drawing.Anchors[0].To
	left, top := colsPx(from.Col)+float64(from.ColOff)/emuPerPx, rowsPx(from.Row)+float64(from.RowOff)/emuPerPx
	right, bottom := colsPx(to.Col)+float64(to.ColOff)/emuPerPx, rowsPx(to.Row)+float64(to.RowOff)/emuPerPx
	// Clear of row 1 too, which repeats on every page: LibreOffice draws
	// a chart that touches it on every page.
	if left < colsPx(3) || top <= rowsPx(1) {
		t.Errorf("chart at (%.0f, %.0f) px covers the facts or touches the title row", left, top)
	}
	if right > areaW || bottom > areaH {
		t.Errorf("chart to (%.0f, %.0f) px, outside the print area %s (%.0f × %.0f px)", right, bottom, area, areaW, areaH)
	}
	if bottom-top < 200 {
		t.Errorf("chart %.0f px high: too small to read", bottom-top)
	}
	lay, _ := f.GetPageLayout(sh)
	if *lay.Size != 0 {
		t.Fatalf("paper size %d: this test assumes the printer's (A4 or Letter)", *lay.Size)
	}
	m, _ := f.GetPageMargins(sh)
	for _, p := range papers {
		w, h := p.w, p.h
		if *lay.Orientation == "landscape" {
			w, h = h, w
		}
		pageW, pageH := (w-*m.Left-*m.Right)*96, (h-*m.Top-*m.Bottom)*96
		// Fit to one page wide shrinks the print area's width to the
		// page's; Excel rounds the scale down to a whole percent, which
		// would only leave more room.
		scale := min(1, pageW/areaW)
		if room := pageH / scale; bottom+titleGrowth > room {
			t.Errorf("%s: the chart ends %.0f px down the sheet, the first page holds %.0f px (at %.0f%%)", p.name, bottom+titleGrowth, room, 100*scale)
		}
	}
}

type cellAnchor struct {
	Col    int `xml:"col"`
	ColOff int `xml:"colOff"`
	Row    int `xml:"row"`
	RowOff int `xml:"rowOff"`
}

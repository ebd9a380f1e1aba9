package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"connrecon/internal/mapping"
	"connrecon/internal/safetext"
	"connrecon/plan"
)

// csvHeaderBefore is report.csv's header before applications were
// planned: its columns keep their places.
var csvHeaderBefore = []string{
	"row", "connectorId", "machineName", "connectorStatus", "fromGroupId", "fromGroupName",
	"toGroupId", "toGroupName", "action", "wave", "result", "httpStatus", "requestId",
	"clientRequestId", "attempts", "error", "startedAt", "finishedAt", "verified", "reason", "warnings",
	"mappedConnector", "mappedGroup", "backout",
}

func TestCSVColumnsOnlyAppended(t *testing.T) {
	if !slices.Equal(CSVHeader[:len(csvHeaderBefore)], csvHeaderBefore) {
		t.Errorf("report.csv's earlier columns moved:\n got %q\nwant %q", CSVHeader[:len(csvHeaderBefore)], csvHeaderBefore)
	}
	if got, want := CSVHeader[len(csvHeaderBefore):], []string{"kind", "applicationId", "appId", "displayName", "mappedApplication"}; !slices.Equal(got, want) {
		t.Errorf("new columns %q, want %q", got, want)
	}
	// Each column is an action's JSON field (backout is backoutRow's cell).
	fields := map[string]bool{"backout": true}
	at := reflect.TypeFor[Action]()
	for i := range at.NumField() {
		fields[jsonName(at.Field(i))] = true
	}
	for _, h := range CSVHeader {
		if !fields[h] {
			t.Errorf("column %q is no action field", h)
		}
		if _, ok := actionWidths[h]; !ok {
			t.Errorf("column %q has no width on the Actions sheet", h)
		}
	}
}

// appsReport is a run that moved connectors and applications, with its
// back-out written.
func appsReport() *Report {
	return Build(appsRun(), fixtureMapping(), appsPlan(), appsResults())
}

// An application's move, in every format: the application's fields
// filled, the connector's empty, its back-out row in backout-apps.csv,
// and the moves of each kind counted.
func TestApplicationMoveInEveryFormat(t *testing.T) {
	r := appsReport()
	const hr = 7 // HR portal's change: moved, succeeded
	dir := filepath.Join(t.TempDir(), "report")
	if err := Write(dir, r, nil); err != nil {
		t.Fatal(err)
	}
	results := actionResults(r)
	checkJSON(t, dir, r, results)
	checkCSV(t, dir, results)
	checkXLSX(t, dir, r, results)
	md := checkMarkdown(t, dir, r)

	if want := (Summary{Move: 6, Noop: 2, Invalid: 2, Unmanaged: 1, Succeeded: 3, Failed: 2, NotAttempted: 1,
		ConnectorMoves: 4, ApplicationMoves: 2}); r.Summary != want {
		t.Errorf("summary %+v, want %+v", r.Summary, want)
	}

	t.Run("JSON", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Summary map[string]int   `json:"summary"`
			Actions []map[string]any `json:"actions"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Summary["connectorMoves"] != 4 || doc.Summary["applicationMoves"] != 2 || doc.Summary["move"] != 6 {
			t.Errorf("summary %v", doc.Summary)
		}
		a := doc.Actions[hr]
		for k, want := range map[string]any{
			"kind": "application", "applicationId": hrPortalID, "appId": hrPortalAppID, "displayName": "HR portal",
			"mappedApplication": "HR portal", "connectorId": "", "machineName": "", "connectorStatus": "",
			"row": 2.0, "wave": 2.0, "result": "succeeded", "backoutRow": 2.0, "batchRequestId": "batch-0002",
		} {
			if a[k] != want {
				t.Errorf("application action %s = %v, want %v", k, a[k], want)
			}
		}
		if _, ok := a["mappedConnector"]; ok {
			t.Errorf("application action has a mappedConnector: %v", a)
		}
		if c := doc.Actions[0]; c["kind"] != "connector" || c["applicationId"] != nil || c["displayName"] != nil {
			t.Errorf("connector action %v", c)
		}
	})

	var csvRecs [][]string
	t.Run("CSV", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "report.csv"))
		if err != nil {
			t.Fatal(err)
		}
		csvRecs, err = csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		row := csvRecs[hr+1]
		cell := func(col string) string { return row[indexOf(csvRecs[0], col)] }
		for col, want := range map[string]string{
			"row": "2", "connectorId": "", "machineName": "", "connectorStatus": "", "mappedConnector": "",
			"fromGroupName": "Default", "toGroupName": "Europe", "action": "move", "result": "succeeded",
			"kind": "application", "applicationId": hrPortalID, "appId": hrPortalAppID, "displayName": "HR portal",
			"mappedApplication": "HR portal", "mappedGroup": "Europe", "backout": "backout-apps.csv:2",
		} {
			if got := cell(col); got != want {
				t.Errorf("application row %s = %q, want %q", col, got, want)
			}
		}
		// The connectors' back-out is numbered apart from the applications'.
		if got := csvRecs[1][indexOf(csvRecs[0], "backout")]; got != "backout.csv:2" {
			t.Errorf("first connector's backout %q", got)
		}
		if got := csvRecs[hr+2][indexOf(csvRecs[0], "backout")]; got != "backout-apps.csv:3" {
			t.Errorf("second application's backout %q", got)
		}
	})

	t.Run("XLSX", func(t *testing.T) {
		f, err := excelize.OpenFile(filepath.Join(dir, "report.xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got := rows(t, f, SheetActions)
		if len(got) != len(csvRecs) {
			t.Fatalf("%d rows, report.csv %d", len(got), len(csvRecs))
		}
		for i := range csvRecs {
			if g := pad(got[i], len(CSVHeader)); !reflect.DeepEqual(g, csvRecs[i]) {
				t.Errorf("Actions row %d:\n xlsx %q\n csv  %q", i+1, g, csvRecs[i])
			}
		}
		m := labels(t, f)
		if m["connectorMoves"] != "4" || m["applicationMoves"] != "2" || m["move"] != "6" {
			t.Errorf("Summary totals connectorMoves %q applicationMoves %q move %q", m["connectorMoves"], m["applicationMoves"], m["move"])
		}
		if !strings.Contains(m["Back-out"], BackoutAppsCSV) || !strings.Contains(m["Back-out"], "--apps") {
			t.Errorf("Summary back-out %q does not name %s", m["Back-out"], BackoutAppsCSV)
		}
		inv := rows(t, f, SheetInvalid)
		want := [][]string{InvalidHeader,
			{"6", "ghost-99", "Europe", `no connector named "ghost-99" in the tenant`, "", "", "connector"},
			{"5", "", "Europe", `no application named "Payroll" in the tenant`, "", "", "application", "Payroll"}}
		if !reflect.DeepEqual(inv, want) {
			t.Errorf("Invalid rows %q, want %q", inv, want)
		}
		// A failed application's row is red like a connector's.
		if fill := fillOf(t, f, SheetActions, "AB10"); fill != badFill {
			t.Errorf("failed application row fill %q", fill)
		}
	})

	t.Run("Markdown", func(t *testing.T) {
		for _, want := range []string{
			"| actions | move | connectorMoves | applicationMoves | noop |",
			"| 11 | 6 | 4 | 2 | 2 |",
			"| 3 | application | R&D wiki | Europe | 403 | 1 |",
			"| 5 | application | Payroll | Europe | no application named \"Payroll\" in the tenant |",
			"| 3 | connector | appproxy-02.corp.example |",
			BackoutAppsCSV,
		} {
			if !strings.Contains(md, want) {
				t.Errorf("report.md lacks %q:\n%s", want, md)
			}
		}
	})

	t.Run("HTML", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "report.html"))
		if err != nil {
			t.Fatal(err)
		}
		page := parseTables(t, data)
		actions := page["actions"]
		if len(actions) != len(r.Actions)+1 {
			t.Fatalf("%d action rows, want %d and the header", len(actions)-1, len(r.Actions))
		}
		head := actions[0]
		row := actions[hr+1]
		for col, want := range map[string]string{"kind": "application", "displayName": "HR portal", "machineName": "", "backout": "backout-apps.csv:2"} {
			if got := row[indexOf(head, col)]; got != want {
				t.Errorf("action table %s = %q, want %q", col, got, want)
			}
		}
		totals := page["totals"]
		if len(totals) != 2 || !slices.Contains(totals[0], "applicationMoves") || !slices.Contains(totals[0], "connectorMoves") {
			t.Fatalf("totals %q", totals)
		}
		if got := totals[1][indexOf(totals[0], "applicationMoves")]; got != "2" {
			t.Errorf("applicationMoves total %q", got)
		}
		failures := page["failures"]
		if !reflect.DeepEqual(failures[0][:3], []string{"row", "kind", "connector or application"}) {
			t.Errorf("failures header %q", failures[0])
		}
		var names []string
		for _, f := range failures[1:] {
			names = append(names, f[1]+" "+f[2])
		}
		if want := []string{"connector appproxy-02.corp.example", "application R&D wiki"}; !reflect.DeepEqual(names, want) {
			t.Errorf("failures %q, want %q", names, want)
		}
		if facts := page["run"]; !slices.ContainsFunc(facts, func(f []string) bool {
			return len(f) == 2 && f[0] == "Applications' back-out" && f[1] == filepath.Join(filepath.Dir(r.Backout), BackoutAppsCSV)
		}) {
			t.Errorf("facts %q lack the applications' back-out", facts)
		}
	})
}

// A run without applications shows no kind in its lists and no per-kind
// totals: it reads as it did before applications were planned.
func TestWithoutApplicationsReadsAsBefore(t *testing.T) {
	r := Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults())
	for _, tot := range summaryTotals(r) {
		if strings.Contains(tot.label, "Moves") {
			t.Errorf("totals show %s without applications", tot.label)
		}
	}
	md := string(render(t, WriteMarkdown, r))
	for _, unwanted := range []string{"| Kind |", "Connector or application", "connector or application", BackoutAppsCSV, "connectorMoves"} {
		if strings.Contains(md, unwanted) {
			t.Errorf("report.md shows %q without applications:\n%s", unwanted, md)
		}
	}
	page := parseTables(t, render(t, WriteHTML, r))
	if got := page["failures"][0][1]; got != "connector" {
		t.Errorf("failures header %q", page["failures"][0])
	}
	// But the report.json fields are there, for every action.
	for _, a := range r.Actions {
		if a.Kind != plan.KindConnector {
			t.Errorf("action kind %q", a.Kind)
		}
	}
}

// parseTables parses a report.html and returns the text of each table's
// cells (th and td), row by row, by the id of the section holding it.
func parseTables(t *testing.T, page []byte) map[string][][]string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][][]string{}
	var walk func(n *html.Node, section string)
	walk = func(n *html.Node, section string) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Section:
				section = attr(n, "id")
			case atom.Tr:
				var cells []string
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.DataAtom == atom.Td || c.DataAtom == atom.Th {
						cells = append(cells, innerText(c))
					}
				}
				out[section] = append(out[section], cells)
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, section)
		}
	}
	walk(doc, "")
	return out
}

// backoutAppsPlan is appsPlan with names holding line breaks, a
// connector's and an application's, so that each back-out file's rows
// span more than one line.
func backoutAppsPlan() *plan.Plan {
	p := appsPlan()
	p.Changes[0].MachineName = "two\nlines.corp.example"
	p.Changes[7].DisplayName = "HR\r\nportal\n(new)"
	p.Changes[8].FromGroupName = "Default"
	return p
}

// backout-apps.csv puts each application the plan moves back into the
// group it was read in, as an application mapping (by object id and
// display name, the group by id and name), with the lines each row
// starts on that report.csv's backout column names; backout.csv lists
// connectors only.
func TestWriteBackoutApplications(t *testing.T) {
	p := backoutAppsPlan()
	dir := t.TempDir()
	u := Undoes{RunID: "0a1b2c3d4e5f", Mode: "apply", StartedAt: "2026-03-01T10:00:00Z", ReportDir: dir, Mapping: "mappings/prod.csv"}
	path, err := WriteBackout(dir, p, u)
	if err != nil {
		t.Fatal(err)
	}
	appsPath := filepath.Join(dir, BackoutAppsCSV)
	raw, err := os.ReadFile(appsPath)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	undoes := u.String()
	want := [][]string{
		append(append([]string{}, BackoutApplicationHeader...), "movedTo", "movedToId", "undoes"),
		{"HR\nportal\n(new)", hrPortalAppID, hrPortalID, "Default", "a1b2c3d4-0000-4000-8000-00000000d000", "Europe", "a1b2c3d4-0000-4000-8000-00000000e000", undoes},
		{"R&D wiki", wikiAppID, wikiID, "Default", "a1b2c3d4-0000-4000-8000-00000000d000", "Europe", "a1b2c3d4-0000-4000-8000-00000000e000", undoes},
	}
	// The mapping writer writes CRLF; a CR in a name is written as is.
	for i := range recs {
		for j := range recs[i] {
			recs[i][j] = strings.ReplaceAll(recs[i][j], "\r\n", "\n")
		}
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("backout-apps.csv\n got %q\nwant %q", recs, want)
	}
	if want := []string{"application", "appId", "objectId", "connectorGroup", "connectorGroupId"}; !slices.Equal(BackoutApplicationHeader, want) {
		t.Errorf("BackoutApplicationHeader %q, want the export's %q", BackoutApplicationHeader, want)
	}

	// Read back as --apps reads it: each row at the line report.csv names.
	r := Build(Run{Mode: "apply", Backout: path}, nil, p, nil)
	back, err := mapping.Read(appsPath, mapping.Options{Kind: plan.KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	moved := []int{7, 8}
	if len(back.Rows) != len(moved) {
		t.Fatalf("%d rows read back, want %d", len(back.Rows), len(moved))
	}
	for i, row := range back.Rows {
		c, a := p.Changes[moved[i]], r.Actions[moved[i]]
		if row.Problem != "" || row.Connector != c.ApplicationID || row.ConnectorAlt != strings.ReplaceAll(c.DisplayName, "\r\n", "\n") ||
			row.Group != c.FromGroupID || row.GroupAlt != c.FromGroupName {
			t.Errorf("row %d read back %+v, want %s (%q) → %s (%s)", i, row, c.ApplicationID, c.DisplayName, c.FromGroupID, c.FromGroupName)
		}
		if row.Line != a.BackoutRow || backoutCell(&a) != BackoutAppsCSV+":"+strconv.Itoa(row.Line) {
			t.Errorf("row %d starts on line %d; the report says %d (%s)", i, row.Line, a.BackoutRow, backoutCell(&a))
		}
	}
	if back.Rows[1].Line != 5 { // the header, then three lines of HR portal
		t.Errorf("second application on line %d, want 5", back.Rows[1].Line)
	}

	// The connectors' back-out, numbered apart: the first connector's
	// name spans two lines, so the second starts on line 4.
	conns, err := mapping.Read(path, mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(conns.Rows) != 4 || conns.Rows[1].Line != 4 || r.Actions[1].BackoutRow != 4 {
		t.Errorf("backout.csv rows %+v, report says line %d", conns.Rows, r.Actions[1].BackoutRow)
	}
	for _, row := range conns.Rows {
		if strings.HasPrefix(row.Connector, "7a0c") {
			t.Errorf("backout.csv lists application %s", row.Connector)
		}
	}

	// backout.xlsx: the Applications sheet is the same mapping, a row a
	// line; the Backout sheet stays first, so -m reads the connectors.
	f, err := excelize.OpenFile(filepath.Join(dir, BackoutXLSX))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{BackoutSheet, BackoutApplicationsSheet, BackoutAboutSheet}) {
		t.Errorf("sheets %q", got)
	}
	sheet, err := f.GetRows(BackoutApplicationsSheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(sheet) != 3 || !slices.Equal(sheet[0], want[0]) || !slices.Equal(sheet[2], want[2]) {
		t.Errorf("Applications sheet %q", sheet)
	}
	for _, opts := range []mapping.Options{{Kind: plan.KindApplication}, {Kind: plan.KindApplication, Sheet: BackoutApplicationsSheet}} {
		wb, err := mapping.Read(filepath.Join(dir, BackoutXLSX), opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		if len(wb.Rows) != 2 || wb.Rows[0].Line != 2 || wb.Rows[1].Line != 3 || wb.Rows[1].Connector != wikiID || wb.Rows[0].Problem != "" {
			t.Errorf("%+v: workbook rows %+v", opts, wb.Rows)
		}
	}
	if wb, err := mapping.Read(filepath.Join(dir, BackoutXLSX), mapping.Options{}); err != nil || len(wb.Rows) != 4 {
		t.Errorf("-m reads the workbook's %d rows (%v), want the 4 connectors", len(wb.Rows), err)
	}
	about := ""
	aboutRows, _ := f.GetRows(BackoutAboutSheet)
	for _, r := range aboutRows {
		about += strings.Join(r, "=") + "\n"
	}
	for _, s := range []string{"moves undone=6", "connectors=4, on the Backout sheet (and in backout.csv)",
		"applications=2, on the Applications sheet (and in backout-apps.csv)", "connrecon apply -m " + path + " --apps " + appsPath} {
		if !strings.Contains(about, s) {
			t.Errorf("About sheet lacks %q:\n%s", s, about)
		}
	}
}

// BackoutFiles are exactly what WriteBackout writes, private; with no
// application moved, backout-apps.csv is its header alone and reads as an
// empty application mapping.
func TestBackoutFiles(t *testing.T) {
	if want := []string{BackoutCSV, BackoutAppsCSV, BackoutXLSX}; !slices.Equal(BackoutFiles, want) {
		t.Errorf("BackoutFiles %q, want %q", BackoutFiles, want)
	}
	for name, p := range map[string]*plan.Plan{"connectors only": fixturePlan(), "both": appsPlan(), "nothing": {}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := WriteBackout(dir, p, Undoes{RunID: "x"}); err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(BackoutFiles)
			slices.Sort(want)
			if got := listDir(t, dir); !slices.Equal(got, want) {
				t.Errorf("directory holds %q, want %q", got, want)
			}
			for _, f := range BackoutFiles {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, want mode 0600", f, err)
				}
			}
			apps, err := mapping.Read(filepath.Join(dir, BackoutAppsCSV), mapping.Options{Kind: plan.KindApplication})
			if err != nil {
				t.Fatal(err)
			}
			wantApps := 0
			if name == "both" {
				wantApps = 2
			}
			if len(apps.Rows) != wantApps {
				t.Errorf("backout-apps.csv: %d rows, want %d", len(apps.Rows), wantApps)
			}
		})
	}
}

// The Actions sheet's 29 columns still print one page wide: Excel's
// fit-to-width cannot scale below 10%, and the sheet must stay above it
// on A4 and Letter, landscape.
func TestXLSXActionsFitOnePageWide(t *testing.T) {
	f, _ := openXLSX(t, appsReport())
	var px float64
	for i := range CSVHeader {
		w, err := f.GetColWidth(SheetActions, colName(i+1))
		if err != nil {
			t.Fatal(err)
		}
		px += columnPx(w)
	}
	for _, p := range printPapers {
		w, _ := printablePx(p, true)
		if scale := w / px; scale < 0.12 {
			t.Errorf("paper %v: the Actions sheet (%.0f px) prints at %.1f%%, too near Excel's 10%% floor", p, px, 100*scale)
		} else {
			t.Logf("paper %v: Actions sheet %.0f px wide, prints at %.1f%%", p, px, 100*scale)
		}
	}
	checkPrintLayout(t, f, SheetActions, printWant{landscape: true, titles: true})
}

// A hostile application name in report.md is escaped like a connector's,
// in its failure's row.
func TestMarkdownEscapesApplicationNames(t *testing.T) {
	p := appsPlan()
	p.Changes[8].DisplayName = hostile + "|[x]*y*"
	p.Changes[10].MappedApplication = hostile
	out := string(render(t, WriteMarkdown, Build(appsRun(), fixtureMapping(), p, appsResults())))
	for i, line := range strings.Split(out, "\n") {
		if safetext.NeedsEscape(line) {
			t.Errorf("line %d holds a raw control or invisible character: %q", i+1, line)
		}
	}
	if want := "| 3 | application | " + md(p.Changes[8].DisplayName) + " | Europe |"; !strings.Contains(out, want) {
		t.Errorf("report.md lacks %q:\n%s", want, out)
	}
	if want := "| 5 | application | " + md(hostile) + " | Europe |"; !strings.Contains(out, want) {
		t.Errorf("report.md lacks %q:\n%s", want, out)
	}
	checkTables(t, out)
}

// An application whose fate is unknown is listed as one, by its name, in
// report.md and report.html.
func TestUnknownApplicationListed(t *testing.T) {
	res := appsResults()
	res[4].Outcome, res[4].Call.RequestID = "unknown", ""
	r := Build(appsRun(), fixtureMapping(), appsPlan(), res)
	out := string(render(t, WriteMarkdown, r))
	for _, want := range []string{"## Outcome unknown (1)", "no read showed the connector or application in its target group",
		"| 2 | application | HR portal | Europe | unknown |  | cli-0008 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report.md lacks %q:\n%s", want, out)
		}
	}
	checkTables(t, out)
	unknown := parseTables(t, render(t, WriteHTML, r))["unknown"]
	if len(unknown) != 2 || !slices.Equal(unknown[1][:3], []string{"2", "application", "HR portal"}) {
		t.Errorf("report.html's unknown table %q", unknown)
	}
}

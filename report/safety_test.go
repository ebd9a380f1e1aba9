package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"connrecon/executor"
	"connrecon/internal/safetext"
	"connrecon/plan"
)

// hostile is what a tenant's names or a mapping's cells can hold: a
// right-to-left override ("evil\u202egpj.exe" shows as "evilexe.jpg"), an
// escape sequence, a NUL, a zero-width space, a byte that is not UTF-8.
const hostile = "evil\u202egpj.exe\x1b[2J\x00\u200b\xff"

// hostileShown is how the human views show it (escapes as text).
const hostileShown = `evil\u202egpj.exe\x1b[2J\x00\u200b\xff`

// hostileReport puts the hostile text in every field a view shows.
func hostileReport() *Report {
	p := applyPlan()
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.MachineName != "" {
			c.MachineName = hostile
		}
		if c.ToGroupName != "" {
			c.ToGroupName = hostile
		}
		if c.MappedConnector != "" {
			c.MappedConnector, c.MappedGroup = hostile, hostile
		}
	}
	p.Changes[4].Reason = "no connector named " + hostile
	run := applyRun()
	run.Message = "1 move failed for " + hostile
	run.Operator = hostile
	p.Groups[1].Name = hostile
	p.Groups[1].Applications = []string{hostile}
	p.Refusals = []plan.Refusal{{Guard: plan.GuardCoverage, Message: "refused " + hostile, Groups: []plan.RefusedGroup{{Name: hostile}}}}
	results := fixtureResults()
	results[1].Error = "404 " + hostile
	return Build(run, fixtureMapping(), p, results)
}

func TestMarkdownShowsControlCharactersEscaped(t *testing.T) {
	out := string(render(t, WriteMarkdown, hostileReport()))
	for i, line := range strings.Split(out, "\n") {
		if safetext.NeedsEscape(line) {
			t.Errorf("line %d holds a raw control or invisible character: %q", i+1, line)
		}
	}
	// Rendered Markdown shows the escapes: each backslash is escaped.
	shown := strings.NewReplacer(`\`, `\\`, "[", `\[`).Replace(hostileShown)
	// The message, operator, refusal (reason and group), group, failure
	// (connector, group, error) and invalid row (both cells, reason).
	if n := strings.Count(out, shown); n < 11 {
		t.Errorf("the hostile text appears escaped %d times, want 11 or more:\n%s", n, out)
	}
	checkTables(t, out)
}

// A 1 MB name or message comes back as a short prefix, and every list of
// report.md is bounded, refusals and their groups included.
func TestMarkdownIsBounded(t *testing.T) {
	huge := strings.Repeat("n", 1<<20)
	r := &Report{Tool: "connrecon", Mode: "plan", Outcome: "refused", ExitCode: 3, Message: huge,
		Mapping: Mapping{Path: huge, Sheet: huge}}
	for i := range 200 {
		groups := make([]string, 300)
		for j := range groups {
			groups[j] = fmt.Sprintf("grp-%d-%d", i, j)
		}
		r.Refusals = append(r.Refusals, Refusal{Guard: "coverage", Message: huge, Groups: groups})
	}
	r.Groups = []Group{{Name: huge}}
	for i := range 100 {
		r.Actions = append(r.Actions, Action{Row: i + 2, Action: "invalid", Result: ResultSkipped, MappedConnector: huge, MappedGroup: huge, Reason: huge})
		r.Actions = append(r.Actions, Action{Row: i + 2, Action: "move", Result: string(executor.Failed), MachineName: huge, ToGroupName: huge, Error: huge, RequestID: huge})
	}
	out := string(render(t, WriteMarkdown, r))
	if len(out) > 4<<20 {
		t.Fatalf("report.md is %d bytes", len(out))
	}
	for i, line := range strings.Split(out, "\n") {
		// A table row of eight cells, one of them free text.
		if n := utf8.RuneCountInString(line); n > safetext.MaxText+8*safetext.MaxValue+200 {
			t.Errorf("line %d has %d characters", i+1, n)
		}
	}
	for _, want := range []string{"…and 150 more refusals", "grp-0-49, …and 250 more", strings.Repeat("n", safetext.MaxValue) + "…"} {
		if !strings.Contains(out, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(out, "grp-0-50") || strings.Contains(out, "grp-50-") {
		t.Error("report.md lists refused groups past the cap")
	}
}

// The machine formats keep the exact text, control characters and all.
func TestCSVAndJSONKeepExactText(t *testing.T) {
	r := hostileReport()
	recs, err := csv.NewReader(bytes.NewReader(render(t, WriteCSV, r))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := recs[1][indexOf(recs[0], "machineName")]; got != hostile {
		t.Errorf("CSV machineName %q, want %q", got, hostile)
	}
	var doc Report
	if err := json.Unmarshal(render(t, WriteJSON, r), &doc); err != nil {
		t.Fatal(err)
	}
	// encoding/json writes a byte that is not UTF-8 as U+FFFD, as JSON
	// must; everything else is exact.
	want := strings.ToValidUTF8(hostile, "\ufffd")
	if doc.Actions[0].MachineName != want || doc.Operator != want {
		t.Errorf("JSON machineName %q operator %q, want %q", doc.Actions[0].MachineName, doc.Operator, want)
	}
}

// report.json has "message" whatever the outcome: "" on success, as the
// schema lists it.
func TestJSONMessageAlwaysPresent(t *testing.T) {
	run := planRun()
	run.ExitCode, run.Outcome, run.Message = 0, "success", ""
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(render(t, WriteJSON, Build(run, fixtureMapping(), fixturePlan(), nil)), &doc); err != nil {
		t.Fatal(err)
	}
	if got, ok := doc["message"]; !ok || string(got) != `""` {
		t.Errorf(`report.json "message" = %s (present %v), want ""`, got, ok)
	}
}

// XML cannot hold NUL or ESC, and excelize would write U+FFFD for them
// without a word: the workbook shows the escapes instead, for the
// disguising characters too, and the Summary says how many cells hold
// escapes and where the exact text is.
func TestXLSXEscapesAndSaysSo(t *testing.T) {
	f, _ := openXLSX(t, hostileReport())
	for _, c := range []struct{ sheet, cell string }{
		{SheetActions, "C2"}, // machineName
		{SheetActions, "H2"}, // toGroupName
		{SheetActions, "V2"}, // mappedConnector
		{SheetInvalid, "B2"},
		{SheetGroups, "A3"},
		{SheetGroups, "J3"},
	} {
		v, err := f.GetCellValue(c.sheet, c.cell)
		if err != nil || v != hostileShown {
			t.Errorf("%s!%s = %q (%v), want %q", c.sheet, c.cell, v, err, hostileShown)
		}
	}
	m := labels(t, f)
	if m["Operator"] != hostileShown || m["Message"] != "1 move failed for "+hostileShown {
		t.Errorf("Summary operator %q message %q", m["Operator"], m["Message"])
	}
	note := m["Text changed"]
	if !strings.Contains(note, `\xNN or \uNNNN escapes`) || !strings.Contains(note, "report.csv and report.json hold the exact text") {
		t.Errorf("Summary note %q", note)
	}
	// The count is of cells: every cell of every sheet that holds it.
	var n int
	if _, err := fmt.Sscanf(note, "%d cell(s)", &n); err != nil || n < 20 {
		t.Errorf("Summary counts %d cells (%v): %q", n, err, note)
	}
	for _, sheet := range []string{SheetSummary, SheetActions, SheetInvalid, SheetGroups} {
		for _, row := range rows(t, f, sheet) {
			for _, cell := range row {
				if strings.ContainsRune(cell, '\ufffd') || safetext.NeedsEscape(strings.NewReplacer("\n", "", "\r", "").Replace(cell)) {
					t.Errorf("%s holds %q", sheet, cell)
				}
			}
		}
	}
}

func TestXLSXExactTextSaysNone(t *testing.T) {
	f, _ := openXLSX(t, Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults()))
	if got := labels(t, f)["Text changed"]; got != "none: every cell holds the exact text" {
		t.Errorf("Summary note %q", got)
	}
}

// Excel reads _xHHHH_ in a shared string as the character U+HHHH: a group
// named "_x202E_" must not become a right-to-left override on the Groups
// or Summary sheet, and the text reads back as written. Line breaks are
// exact text too.
func TestXLSXKeepsLiteralEscapeSyntax(t *testing.T) {
	const name = "EU_x202E_moc.exe"
	run := applyRun()
	run.Operator = "ops_x0041_team"
	run.Message = "two\nlines"
	p := applyPlan()
	p.Groups[1].Name = name
	p.Changes[0].MachineName = name
	f, parts := openXLSX(t, Build(run, fixtureMapping(), p, fixtureResults()))
	for _, c := range []struct{ sheet, cell, want string }{
		{SheetGroups, "A3", name}, {SheetActions, "C2", name},
	} {
		if v, _ := f.GetCellValue(c.sheet, c.cell); v != c.want {
			t.Errorf("%s!%s = %q, want %q", c.sheet, c.cell, v, c.want)
		}
	}
	if m := labels(t, f); m["Operator"] != "ops_x0041_team" || m["Message"] != "two\nlines" || m["Text changed"] != "none: every cell holds the exact text" {
		t.Errorf("Summary operator %q message %q note %q", m["Operator"], m["Message"], m["Text changed"])
	}
	if sst := parts["xl/sharedStrings.xml"]; !strings.Contains(sst, "EU_x005F_x202E_moc.exe") {
		t.Errorf("shared strings hold the name unescaped:\n%s", sst)
	}
}

// A cell longer than Excel allows is cut, with an ellipsis, and counted:
// excelize would cut it silently.
func TestXLSXCutsAtExcelsLimitAndSaysSo(t *testing.T) {
	p := applyPlan()
	p.Changes[4].Reason = strings.Repeat("r", 100000)
	p.Changes[4].Action = plan.ActionInvalid
	f, _ := openXLSX(t, Build(applyRun(), fixtureMapping(), p, fixtureResults()))
	v, _ := f.GetCellValue(SheetInvalid, "D2")
	if utf8.RuneCountInString(v) != xlsxCellChars || !strings.HasSuffix(v, safetext.Ellipsis) {
		t.Errorf("reason cell of %d characters, want %d ending in an ellipsis", utf8.RuneCountInString(v), xlsxCellChars)
	}
	if note := labels(t, f)["Text changed"]; !strings.Contains(note, "2 cell(s) were cut at Excel's limit of 32767 characters") {
		t.Errorf("Summary note %q", note)
	}
}

func TestCutUTF16(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
		cut   bool
	}{
		{"abc", 3, "abc", false},
		{"abcd", 3, "ab…", true},
		{"a😀b", 4, "a😀b", false}, // the emoji is two code units
		{"a😀bc", 4, "a😀…", true},
		{"a😀bc", 3, "a…", true},
	} {
		if got, cut := cutUTF16(tc.in, tc.limit); got != tc.want || cut != tc.cut {
			t.Errorf("cutUTF16(%q, %d) = %q, %v; want %q, %v", tc.in, tc.limit, got, cut, tc.want, tc.cut)
		}
	}
}

package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/plan"
)

// Every outcome a run can come to leaves all five reports, and they tell
// the same story: same actions, same results, same totals.
func TestEveryOutcomeWritesConsistentReports(t *testing.T) {
	// The plan without its invalid row, for the runs that got to apply.
	validPlan := func() *plan.Plan {
		p := applyPlan()
		p.Changes = append(p.Changes[:4], p.Changes[5:]...)
		return p
	}
	allSucceeded := func() []executor.Result {
		var res []executor.Result
		for i, c := range validPlan().Changes {
			if c.Action == plan.ActionMove {
				res = append(res, executor.Result{Change: i, Outcome: executor.Succeeded, Attempts: 1,
					Call:      apierr.Call{Status: 204, RequestID: "req-" + strconv.Itoa(i), ClientRequestID: "cli-" + strconv.Itoa(i)},
					StartedAt: at(1, i), FinishedAt: at(2, i)})
			}
		}
		return res
	}
	with := func(run Run, code int, outcome, msg string) Run {
		run.ExitCode, run.Outcome, run.Message = code, outcome, msg
		return run
	}
	for _, tc := range []struct {
		name    string
		run     Run
		mapping *plan.Mapping
		plan    *plan.Plan
		results []executor.Result
		want    Summary
		inMD    []string // what the Markdown must show for this outcome
	}{
		{"success", with(applyRun(), 0, "success", ""), fixtureMapping(), validPlan(), allSucceeded(),
			Summary{Move: 4, ConnectorMoves: 4, Noop: 1, Unmanaged: 1, Succeeded: 4},
			[]string{"# connrecon apply: success (exit 0)"}},
		{"partial failure", applyRun(), fixtureMapping(), applyPlan(), fixtureResults(),
			Summary{Move: 4, ConnectorMoves: 4, Noop: 1, Invalid: 1, Unmanaged: 1, Succeeded: 2, Failed: 1, NotAttempted: 1},
			[]string{"# connrecon apply: failed (exit 1)", "## Failures (1)", "| req-0002 | cli-0002 |"}},
		{"refused by a guard", refusedRun(), fixtureMapping(), refusedPlan(validPlan()), nil,
			Summary{Move: 4, ConnectorMoves: 4, Noop: 1, Unmanaged: 1, NotAttempted: 4},
			[]string{"# connrecon apply: refused (exit 3)", "## Refusals (2)", "| maxChanges | 4 moves exceed --max-changes 2 |", "North America, Asia"}},
		{"invalid input", with(applyRun(), 4, "invalidInput", "1 invalid row(s): nothing applied"), fixtureMapping(), applyPlan(), nil,
			Summary{Move: 4, ConnectorMoves: 4, Noop: 1, Invalid: 1, Unmanaged: 1, NotAttempted: 4},
			[]string{"# connrecon apply: invalidInput (exit 4)", "## Invalid rows (1)", `| 6 | ghost-99 | Europe | no connector named "ghost-99" in the tenant |`}},
		{"unreadable mapping", with(Run{Version: "1.4.0", Mode: "apply", StartedAt: at(0, 0), FinishedAt: at(0, 5)}, 4, "invalidInput", "mappings/prod.csv: no connector column"),
			nil, nil, nil, Summary{},
			[]string{"# connrecon apply: invalidInput (exit 4)", "> mappings/prod.csv: no connector column", noGroupsText}},
		{"interrupted", with(applyRun(), 130, "interrupted", "interrupted: 1 move(s) in flight"), fixtureMapping(), validPlan(), []executor.Result{
			{Change: 0, Outcome: executor.Succeeded, Attempts: 1, Call: apierr.Call{Status: 204, RequestID: "req-0", ClientRequestID: "cli-0"}, StartedAt: at(1, 0), FinishedAt: at(1, 5)},
			{Change: 1, Outcome: "unknown", Attempts: 1, Call: apierr.Call{ClientRequestID: "cli-1"}, StartedAt: at(1, 1)},
		},
			Summary{Move: 4, ConnectorMoves: 4, Noop: 1, Unmanaged: 1, Succeeded: 1, NotAttempted: 2, Unknown: 1},
			[]string{"# connrecon apply: interrupted (exit 130)", "## Outcome unknown (1)", "| cli-1 |"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Build(tc.run, tc.mapping, tc.plan, tc.results)
			if r.Summary != tc.want {
				t.Errorf("Summary %+v, want %+v", r.Summary, tc.want)
			}
			dir := filepath.Join(t.TempDir(), "report")
			if err := Write(dir, r, nil); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got := listDir(t, dir); !reflect.DeepEqual(got, []string{"report.csv", "report.html", "report.json", "report.md", "report.xlsx"}) {
				t.Fatalf("directory holds %v, want the five reports and nothing else", got)
			}
			for _, name := range Files {
				if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, mode %v; want 0600", name, err, fi.Mode().Perm())
				}
			}
			want := actionResults(r)
			checkJSON(t, dir, r, want)
			checkCSV(t, dir, want)
			checkXLSX(t, dir, r, want)
			md := checkMarkdown(t, dir, r)
			for _, s := range tc.inMD {
				if !strings.Contains(md, s) {
					t.Errorf("report.md lacks %q:\n%s", s, md)
				}
			}
		})
	}
}

// actionResults is what every format must agree on: one result per action,
// in plan order.
func actionResults(r *Report) []string {
	out := []string{}
	for _, a := range r.Actions {
		out = append(out, a.Result)
	}
	return out
}

func checkJSON(t *testing.T, dir string, r *Report, results []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if got.Summary != r.Summary || got.Outcome != r.Outcome || got.ExitCode != r.ExitCode || !reflect.DeepEqual(actionResults(&got), results) {
		t.Errorf("report.json: summary %+v outcome %q exit %d results %v; want %+v %q %d %v",
			got.Summary, got.Outcome, got.ExitCode, actionResults(&got), r.Summary, r.Outcome, r.ExitCode, results)
	}
	if len(got.Refusals) != len(r.Refusals) {
		t.Errorf("report.json: %d refusals, want %d", len(got.Refusals), len(r.Refusals))
	}
}

func checkCSV(t *testing.T, dir string, results []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("report.csv: %v", err)
	}
	col := indexOf(recs[0], "result")
	got := []string{}
	for _, rec := range recs[1:] {
		got = append(got, rec[col])
	}
	if !reflect.DeepEqual(got, results) {
		t.Errorf("report.csv results %v, report.json %v", got, results)
	}
}

func checkXLSX(t *testing.T, dir string, r *Report, results []string) {
	t.Helper()
	f, err := excelize.OpenFile(filepath.Join(dir, "report.xlsx"))
	if err != nil {
		t.Fatalf("report.xlsx: %v", err)
	}
	defer f.Close()
	rr := rows(t, f, SheetActions)
	col := indexOf(rr[0], "result")
	got := []string{}
	for _, row := range rr[1:] {
		got = append(got, pad(row, len(CSVHeader))[col])
	}
	if !reflect.DeepEqual(got, results) {
		t.Errorf("report.xlsx Actions results %v, report.json %v", got, results)
	}
	m := labels(t, f)
	if m["Outcome"] != r.Outcome || m["Exit code"] != strconv.Itoa(r.ExitCode) {
		t.Errorf("report.xlsx Summary outcome %q exit %q, want %q %d", m["Outcome"], m["Exit code"], r.Outcome, r.ExitCode)
	}
	for _, tot := range summaryTotals(r) {
		if m[tot.label] != strconv.Itoa(tot.n) {
			t.Errorf("report.xlsx Summary %s = %q, want %d", tot.label, m[tot.label], tot.n)
		}
	}
	var guards []string
	for _, row := range rows(t, f, SheetSummary) {
		for _, rf := range r.Refusals {
			if len(row) >= 2 && row[0] == rf.Guard && row[1] == rf.Message {
				guards = append(guards, rf.Guard)
			}
		}
	}
	if len(guards) != len(r.Refusals) {
		t.Errorf("report.xlsx Summary lists refusals %v, want %d", guards, len(r.Refusals))
	}
}

var mdTotals = regexp.MustCompile(`(?m)^\| actions \|.*\n\|[-:|]+\n(\|.*)$`)

// checkMarkdown checks report.md's totals against the report and returns
// its text.
func checkMarkdown(t *testing.T, dir string, r *Report) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(data)
	m := mdTotals.FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("report.md has no totals table:\n%s", md)
	}
	var got []string
	for _, cell := range strings.Split(strings.Trim(m[1], "|"), "|") {
		got = append(got, strings.TrimSpace(cell))
	}
	var want []string
	for _, tot := range summaryTotals(r) {
		want = append(want, strconv.Itoa(tot.n))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report.md totals %v, want %v", got, want)
	}
	if len(want) > 0 && want[0] != strconv.Itoa(len(actionResults(r))) {
		t.Errorf("totals count %s actions, the report has %d", want[0], len(r.Actions))
	}
	checkTables(t, md)
	return md
}

func TestWriteSubset(t *testing.T) {
	r := Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults())
	for _, tc := range []struct {
		formats []Format
		want    []string
	}{
		{[]Format{FormatMD, FormatCSV}, []string{"report.csv", "report.md"}},
		{[]Format{FormatXLSX, FormatXLSX}, []string{"report.xlsx"}},
		{[]Format{}, []string{"report.csv", "report.html", "report.json", "report.md", "report.xlsx"}},
		{nil, []string{"report.csv", "report.html", "report.json", "report.md", "report.xlsx"}},
	} {
		dir := t.TempDir()
		if err := Write(dir, r, tc.formats); err != nil {
			t.Fatalf("Write %v: %v", tc.formats, err)
		}
		if got := listDir(t, dir); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Write %v wrote %v, want %v", tc.formats, got, tc.want)
		}
	}
	dir := t.TempDir()
	err := Write(dir, r, []Format{FormatJSON, "pdf"})
	if err == nil || !strings.Contains(err.Error(), `"pdf"`) || !strings.Contains(err.Error(), "json, csv, xlsx, md") {
		t.Errorf("Write with pdf = %v, want an error naming it and the accepted values", err)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("a rejected format list still wrote %v", got)
	}
	if err := Write(dir, nil, nil); err == nil {
		t.Error("Write(nil report) succeeded")
	}
}

func TestParseFormats(t *testing.T) {
	all := []Format{FormatJSON, FormatCSV, FormatXLSX, FormatMD, FormatHTML}
	for _, tc := range []struct {
		in      string
		want    []Format
		wantErr string
	}{
		{"", all, ""},
		{"all", all, ""},
		{" ALL ", all, ""},
		{"json", []Format{FormatJSON}, ""},
		{"md,json", []Format{FormatJSON, FormatMD}, ""}, // canonical order
		{"csv, xlsx ,csv", []Format{FormatCSV, FormatXLSX}, ""},
		{"json,all", all, ""},
		{"pdf", nil, `report format "pdf": accepted values are json, csv, xlsx, md, html, or all`},
		{"json,", nil, `report format "": accepted values`},
		{"markdown", nil, `"markdown"`},
	} {
		got, err := ParseFormats(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseFormats(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for i, f := range AllFormats {
		if f.File() != Files[i] {
			t.Errorf("%s writes %s, Files says %s", f, f.File(), Files[i])
		}
	}
}

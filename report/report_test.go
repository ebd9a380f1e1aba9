package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/plan"
)

var update = flag.Bool("update", false, "rewrite golden files")

// A zone other than UTC, so the tests see Build convert times to UTC.
var paris = time.FixedZone("CET", 3600)

func at(sec int, ms int) time.Time {
	return time.Date(2026, 3, 1, 10, 0, sec, ms*int(time.Millisecond), time.UTC)
}

func fixtureMapping() *plan.Mapping {
	return &plan.Mapping{
		Path:   "mappings/prod.csv",
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Rows: []plan.Row{
			{Line: 2, Connector: "APPPROXY-01.corp.example", Group: "Europe"},
			{Line: 3, Connector: "appproxy-02", Group: "Europe"},
			{Line: 4, Connector: "4e2b0f7c-9d1a-4a3e-8f00-0000000000c3", Group: "North America"},
			{Line: 5, Connector: "appproxy-04", Group: "Default"},
			{Line: 6, Connector: "ghost-99", Group: "Europe"},
			{Line: 7, Connector: "appproxy-07", Group: "Europe"},
		},
	}
}

// fixturePlan has one change of every kind.
func fixturePlan() *plan.Plan {
	return &plan.Plan{Changes: []plan.Change{
		{Row: 2, ConnectorID: "4e2b0f7c-9d1a-4a3e-8f00-0000000000c1", MachineName: "APPPROXY-01.corp.example", ConnectorStatus: "active",
			FromGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", FromGroupName: "Default", ToGroupID: "a1b2c3d4-0000-4000-8000-00000000e000", ToGroupName: "Europe",
			Action: plan.ActionMove, Wave: 1, MappedConnector: "APPPROXY-01.corp.example", MappedGroup: "Europe"},
		{Row: 3, ConnectorID: "4e2b0f7c-9d1a-4a3e-8f00-0000000000c2", MachineName: "appproxy-02.corp.example", ConnectorStatus: "active",
			FromGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", FromGroupName: "Default", ToGroupID: "a1b2c3d4-0000-4000-8000-00000000e000", ToGroupName: "Europe",
			Action: plan.ActionMove, Wave: 1, MappedConnector: "appproxy-02", MappedGroup: "Europe"},
		{Row: 4, ConnectorID: "4e2b0f7c-9d1a-4a3e-8f00-0000000000c3", MachineName: "appproxy-03.corp.example", ConnectorStatus: "inactive",
			FromGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", FromGroupName: "Default", ToGroupID: "a1b2c3d4-0000-4000-8000-00000000a000", ToGroupName: "North America",
			Action: plan.ActionMove, Wave: 1, Warnings: []string{"connector is inactive: it is moved, but serves nothing until it is active again"},
			MappedConnector: "4e2b0f7c-9d1a-4a3e-8f00-0000000000c3", MappedGroup: "North America"},
		{Row: 5, ConnectorID: "4e2b0f7c-9d1a-4a3e-8f00-0000000000c4", MachineName: "appproxy-04.corp.example", ConnectorStatus: "active",
			FromGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", FromGroupName: "Default", ToGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", ToGroupName: "Default",
			Action: plan.ActionNoop, MappedConnector: "appproxy-04", MappedGroup: "Default"},
		{Row: 6, Action: plan.ActionInvalid, Reason: `no connector named "ghost-99" in the tenant`, MappedConnector: "ghost-99", MappedGroup: "Europe"},
		{Row: 7, ConnectorID: "4e2b0f7c-9d1a-4a3e-8f00-0000000000c7", MachineName: "appproxy-07.corp.example", ConnectorStatus: "active",
			FromGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", FromGroupName: "Default", ToGroupID: "a1b2c3d4-0000-4000-8000-00000000e000", ToGroupName: "Europe",
			Action: plan.ActionMove, Wave: 1, MappedConnector: "appproxy-07", MappedGroup: "Europe"},
		{ConnectorID: "4e2b0f7c-9d1a-4a3e-8f00-0000000000c6", MachineName: "lab-proxy.corp.example", ConnectorStatus: "active",
			FromGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", FromGroupName: "Default", Action: plan.ActionUnmanaged},
	}}
}

// fixtureResults: change 0 succeeded, 1 failed (404), 2 was never sent, 5
// was already in place. Times are in another zone to check conversion.
func fixtureResults() []executor.Result {
	notFound := &apierr.Error{Call: apierr.Call{Status: 404, RequestID: "req-0002", ClientRequestID: "cli-0002"}, Class: apierr.NotFound,
		Code: "Request_ResourceNotFound", Message: "Resource '4e2b0f7c-9d1a-4a3e-8f00-0000000000c2' does not exist or one of its queried reference-property objects are not present."}
	return []executor.Result{
		{Change: 0, Outcome: executor.Succeeded, Call: apierr.Call{Status: 204, RequestID: "req-0001", ClientRequestID: "cli-0001"}, Attempts: 2,
			StartedAt: at(1, 250).In(paris), FinishedAt: at(2, 500).In(paris)},
		{Change: 1, Outcome: executor.Failed, Call: notFound.Call, Attempts: 1, Error: notFound.Error(),
			StartedAt: at(1, 260), FinishedAt: at(1, 900)},
		{Change: 2, Outcome: executor.NotAttempted},
		{Change: 5, Outcome: executor.Succeeded, Call: apierr.Call{Status: 400, RequestID: "req-0007", ClientRequestID: "cli-0007"}, Attempts: 1,
			Note: "already in place", StartedAt: at(1, 270), FinishedAt: at(1, 480)},
	}
}

func applyRun() Run {
	return Run{Version: "1.4.0", Mode: "apply", GraphURL: "https://graph.microsoft.com/beta",
		StartedAt: time.Date(2026, 3, 1, 11, 0, 0, 0, paris), FinishedAt: time.Date(2026, 3, 1, 11, 0, 3, 0, paris),
		ExitCode: 1, Outcome: "failed", Message: "1 move(s) failed: see the report for each error and its request-id"}
}

func planRun() Run {
	return Run{Version: "1.4.0", Mode: "plan", GraphURL: "https://graph.microsoft.com/beta",
		StartedAt: at(0, 0), FinishedAt: at(1, 0), ExitCode: 2, Outcome: "changesPending"}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs at line %d:\n got  %q\n want %q\n(run go test -update if the change is intended)", path, i+1, g, w)
		}
	}
	t.Fatalf("%s differs", path)
}

func render(t *testing.T, write func(io.Writer, *Report) error, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	apply := Build(applyRun(), fixtureMapping(), fixturePlan(), fixtureResults())
	planned := Build(planRun(), fixtureMapping(), fixturePlan(), nil)
	golden(t, "apply.json", render(t, WriteJSON, apply))
	golden(t, "apply.csv", render(t, WriteCSV, apply))
	golden(t, "plan.json", render(t, WriteJSON, planned))
}

func TestBuildSummaryAndResults(t *testing.T) {
	for _, tc := range []struct {
		name        string
		run         Run
		results     []executor.Result
		wantSummary Summary
		wantResults []string // per change, in plan order
	}{
		{"apply", applyRun(), fixtureResults(),
			Summary{Move: 4, Noop: 1, Invalid: 1, Unmanaged: 1, Succeeded: 2, Failed: 1, NotAttempted: 1},
			[]string{"succeeded", "failed", "notAttempted", "skipped", "skipped", "succeeded", "skipped"}},
		{"plan", planRun(), nil,
			Summary{Move: 4, Noop: 1, Invalid: 1, Unmanaged: 1},
			[]string{"planned", "planned", "planned", "skipped", "skipped", "planned", "skipped"}},
		// Apply refused before sending anything: every move is notAttempted.
		{"apply without results", applyRun(), nil,
			Summary{Move: 4, Noop: 1, Invalid: 1, Unmanaged: 1, NotAttempted: 4},
			[]string{"notAttempted", "notAttempted", "notAttempted", "skipped", "skipped", "notAttempted", "skipped"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Build(tc.run, fixtureMapping(), fixturePlan(), tc.results)
			if r.Summary != tc.wantSummary {
				t.Errorf("Summary = %+v, want %+v", r.Summary, tc.wantSummary)
			}
			var got []string
			for _, a := range r.Actions {
				got = append(got, a.Result)
			}
			if !reflect.DeepEqual(got, tc.wantResults) {
				t.Errorf("results = %v, want %v", got, tc.wantResults)
			}
			if r.Mapping != (Mapping{Path: "mappings/prod.csv", SHA256: fixtureMapping().SHA256, Rows: 6}) {
				t.Errorf("Mapping = %+v", r.Mapping)
			}
		})
	}
}

func TestBuildCarriesResultDetails(t *testing.T) {
	r := Build(applyRun(), fixtureMapping(), fixturePlan(), fixtureResults())
	if r.StartedAt.Location() != time.UTC || !r.StartedAt.Equal(at(0, 0)) {
		t.Errorf("StartedAt = %v, want 10:00:00 UTC", r.StartedAt)
	}
	ok := r.Actions[0]
	if ok.HTTPStatus != 204 || ok.RequestID != "req-0001" || ok.ClientRequestID != "cli-0001" || ok.Attempts != 2 {
		t.Errorf("succeeded action lost its call: %+v", ok)
	}
	if ok.StartedAt != "2026-03-01T10:00:01.25Z" || ok.FinishedAt != "2026-03-01T10:00:02.5Z" {
		t.Errorf("times = %q, %q; want RFC 3339 in UTC", ok.StartedAt, ok.FinishedAt)
	}
	if failed := r.Actions[1]; failed.HTTPStatus != 404 || failed.RequestID != "req-0002" || !strings.Contains(failed.Error, "Request_ResourceNotFound") {
		t.Errorf("failed action: %+v", failed)
	}
	if na := r.Actions[2]; na.StartedAt != "" || na.Attempts != 0 || na.HTTPStatus != 0 || len(na.Warnings) != 1 {
		t.Errorf("not attempted action: %+v", na)
	}
	if already := r.Actions[5]; already.Result != ResultSucceeded || already.Reason != "already in place" {
		t.Errorf("already-in-place action: %+v", already)
	}
}

// The names in DESIGN.md are a contract: check them apart from the golden
// file, so an -update cannot quietly rename one.
func TestJSONFieldNames(t *testing.T) {
	raw := render(t, WriteJSON, Build(applyRun(), fixtureMapping(), fixturePlan(), fixtureResults()))
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	need := func(what string, obj map[string]json.RawMessage, keys ...string) {
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s has no %q", what, k)
			}
		}
	}
	need("report", doc, "tool", "version", "mode", "startedAt", "finishedAt", "graphUrl", "mapping", "summary", "actions")
	var mapping, summary map[string]json.RawMessage
	var actions []map[string]json.RawMessage
	for _, x := range []struct {
		key string
		v   any
	}{{"mapping", &mapping}, {"summary", &summary}, {"actions", &actions}} {
		if err := json.Unmarshal(doc[x.key], x.v); err != nil {
			t.Fatalf("%s: %v", x.key, err)
		}
	}
	need("mapping", mapping, "path", "sha256", "rows")
	need("summary", summary, "move", "noop", "invalid", "unmanaged", "succeeded", "failed", "notAttempted")
	for i, a := range actions {
		need(fmt.Sprintf("action %d", i), a, "row", "connectorId", "machineName", "connectorStatus", "fromGroupId", "fromGroupName",
			"toGroupId", "toGroupName", "action", "wave", "result", "httpStatus", "requestId", "clientRequestId", "attempts",
			"error", "startedAt", "finishedAt", "verified")
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	dangerous := []string{
		`=HYPERLINK("http://x","y")`,
		`+cmd|' /C calc'!A0`,
		"-2+3+cmd|' /C calc'!A0",
		"@SUM(1+1)*cmd|' /C calc'!A0",
		"\t=1+1",
		"\r=1+1",
	}
	// Each field of the CSV that can hold tenant or mapping text.
	fields := []struct {
		column string
		set    func(*Action, string)
	}{
		{"machineName", func(a *Action, s string) { a.MachineName = s }},
		{"toGroupName", func(a *Action, s string) { a.ToGroupName = s }},
		{"fromGroupName", func(a *Action, s string) { a.FromGroupName = s }},
		{"error", func(a *Action, s string) { a.Error = s }},
		{"reason", func(a *Action, s string) { a.Reason = s }},
		{"warnings", func(a *Action, s string) { a.Warnings = []string{s, "second"} }},
	}
	for _, f := range fields {
		for _, s := range append(dangerous, "appproxy-01", "10.0.0.1", "'quoted") {
			a := Action{Row: 2, ConnectorID: "c1", Action: "move", Result: ResultSucceeded}
			f.set(&a, s)
			raw := render(t, WriteCSV, &Report{Actions: []Action{a}})
			recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
			if err != nil {
				t.Fatalf("%s=%q: unreadable CSV: %v", f.column, s, err)
			}
			col := indexOf(recs[0], f.column)
			got := recs[1][col]
			if f.column == "warnings" {
				got = strings.TrimSuffix(got, "; second")
			}
			want := s
			if strings.ContainsAny(s[:1], "=+-@\t\r") {
				want = "'" + s
			}
			// encoding/csv reads a CR inside a quoted field back as is; it
			// is the first byte that matters.
			if got != want {
				t.Errorf("%s=%q: CSV cell %q, want %q", f.column, s, got, want)
			}
		}
	}
}

func indexOf(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	panic("no column " + name)
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reports", "20260301T100000Z-apply")
	r := Build(applyRun(), fixtureMapping(), fixturePlan(), fixtureResults())
	if err := Write(dir, r); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got, want := listDir(t, dir), []string{"report.csv", "report.json"}; !reflect.DeepEqual(got, want) {
		t.Errorf("directory holds %v, want exactly %v (no temporary files)", got, want)
	}
	for name, write := range map[string]func(io.Writer, *Report) error{"report.json": WriteJSON, "report.csv": WriteCSV} {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600: reports name the tenant's connectors", name, fi.Mode().Perm())
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, render(t, write, r)) {
			t.Errorf("%s content differs from %T output", name, write)
		}
	}
}

func TestWriteReplacesExistingReportAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	old := []byte(`{"old":true}` + "\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	// A reader that opened the old report before the write: with a rename
	// it keeps reading the whole old file; an in-place rewrite would
	// truncate it under its feet.
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	before, err := reader.Stat()
	if err != nil {
		t.Fatal(err)
	}

	r := Build(applyRun(), fixtureMapping(), fixturePlan(), fixtureResults())
	if err := Write(dir, r); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got, _ := io.ReadAll(reader); !bytes.Equal(got, old) {
		t.Errorf("old report read through an open handle = %q, want it intact %q", got, old)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("report.json was rewritten in place, not replaced by rename")
	}
	if after.Mode().Perm() != 0o600 {
		t.Errorf("replaced report mode %v, want 0600", after.Mode().Perm())
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, render(t, WriteJSON, r)) {
		t.Error("report.json does not hold the new report")
	}
	if got, want := listDir(t, dir), []string{"report.csv", "report.json"}; !reflect.DeepEqual(got, want) {
		t.Errorf("directory holds %v, want %v", got, want)
	}
}

func TestWriteFailureLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	// A directory where report.csv should go: the final rename fails.
	if err := os.Mkdir(filepath.Join(dir, "report.csv"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := Write(dir, Build(applyRun(), fixtureMapping(), fixturePlan(), fixtureResults()))
	if err == nil || !strings.Contains(err.Error(), "report.csv") {
		t.Fatalf("Write = %v, want an error naming report.csv", err)
	}
	if got, want := listDir(t, dir), []string{"report.csv", "report.json"}; !reflect.DeepEqual(got, want) {
		t.Errorf("directory holds %v, want %v (no temporary files)", got, want)
	}
}

// An unreadable mapping stops the run before a plan exists; the report
// must still be valid, with an empty actions array, not null.
func TestBuildWithoutPlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mapping *plan.Mapping
	}{
		{"no plan", fixtureMapping()},
		{"no plan, no mapping", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := applyRun()
			run.ExitCode, run.Outcome, run.Message = 4, "invalidInput", "mappings/prod.csv: no connector column"
			r := Build(run, tc.mapping, nil, nil)
			if r.Summary != (Summary{}) {
				t.Errorf("Summary = %+v, want zero", r.Summary)
			}
			raw := render(t, WriteJSON, r)
			var doc struct {
				Actions []json.RawMessage `json:"actions"`
				Outcome string            `json:"outcome"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("invalid JSON: %v\n%s", err, raw)
			}
			if doc.Actions == nil || len(doc.Actions) != 0 || !bytes.Contains(raw, []byte(`"actions": []`)) {
				t.Errorf("actions = %v, want an empty array:\n%s", doc.Actions, raw)
			}
			if doc.Outcome != "invalidInput" {
				t.Errorf("outcome = %q", doc.Outcome)
			}
			if csvRaw := render(t, WriteCSV, r); string(csvRaw) != strings.Join(CSVHeader, ",")+"\n" {
				t.Errorf("CSV = %q, want the header only", csvRaw)
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	const n = 100_000
	p := &plan.Plan{Changes: make([]plan.Change, 0, n)}
	results := make([]executor.Result, 0, n)
	base := fixturePlan().Changes[0]
	for i := range n {
		c := base
		c.Row = i + 2
		p.Changes = append(p.Changes, c)
		results = append(results, executor.Result{Change: i, Outcome: executor.Succeeded, Attempts: 1,
			Call:      apierr.Call{Status: 204, RequestID: "5f1d3c2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f", ClientRequestID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
			StartedAt: at(1, i%1000), FinishedAt: at(2, i%1000)})
	}
	r := Build(applyRun(), fixtureMapping(), p, results)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteJSON(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		if err := WriteCSV(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
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

// Application fixtures: the objects of an --apps file's rows.
const (
	hrPortalID    = "7a0c0000-0000-4000-8000-0000000000a1"
	hrPortalAppID = "0c5e0000-0000-4000-8000-0000000000b1"
	wikiID        = "7a0c0000-0000-4000-8000-0000000000a2"
	wikiAppID     = "0c5e0000-0000-4000-8000-0000000000b2"
	intranetID    = "7a0c0000-0000-4000-8000-0000000000a3"
	intranetAppID = "0c5e0000-0000-4000-8000-0000000000b3"
)

// fixtureAppChanges are an --apps file's rows as the planner makes them:
// two moves (one by display name, one by appId), a no-op and an invalid
// row. Their Row is the --apps file's.
func fixtureAppChanges() []plan.Change {
	return []plan.Change{
		{Kind: plan.KindApplication, Row: 2, ApplicationID: hrPortalID, AppID: hrPortalAppID, DisplayName: "HR portal",
			FromGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", FromGroupName: "Default", ToGroupID: "a1b2c3d4-0000-4000-8000-00000000e000", ToGroupName: "Europe",
			Action: plan.ActionMove, Wave: 2, MappedApplication: "HR portal", MappedGroup: "Europe"},
		{Kind: plan.KindApplication, Row: 3, ApplicationID: wikiID, AppID: wikiAppID, DisplayName: "R&D wiki",
			FromGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", FromGroupName: "Default", ToGroupID: "a1b2c3d4-0000-4000-8000-00000000e000", ToGroupName: "Europe",
			Action: plan.ActionMove, Wave: 2, MappedApplication: wikiAppID, MappedGroup: "Europe"},
		{Kind: plan.KindApplication, Row: 4, ApplicationID: intranetID, AppID: intranetAppID, DisplayName: "Intranet (legacy)",
			FromGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", FromGroupName: "Default", ToGroupID: "a1b2c3d4-0000-4000-8000-00000000d000", ToGroupName: "Default",
			Action: plan.ActionNoop, MappedApplication: "Intranet (legacy)", MappedGroup: "Default"},
		{Kind: plan.KindApplication, Row: 5, Action: plan.ActionInvalid, Reason: `no application named "Payroll" in the tenant`,
			MappedApplication: "Payroll", MappedGroup: "Europe"},
	}
}

// appsPlan is applyPlan with the --apps file's rows after the
// connectors' (changes 7 to 10).
func appsPlan() *plan.Plan {
	p := applyPlan()
	p.Changes = append(p.Changes, fixtureAppChanges()...)
	return p
}

// appsRun is applyRun for appsPlan's apply, whose two failures are a
// connector's and an application's.
func appsRun() Run {
	run := applyRun()
	run.Message = "2 move(s) failed: see the report for each error and its request-id"
	return run
}

// appsResults are fixtureResults and the applications': change 7 (HR
// portal) succeeded in a batch, 8 (R&D wiki) was refused.
func appsResults() []executor.Result {
	return append(fixtureResults(),
		executor.Result{Change: 7, Outcome: executor.Succeeded, Attempts: 1,
			Call:      apierr.Call{Status: 204, RequestID: "req-0008", ClientRequestID: "cli-0008", BatchRequestID: "batch-0002"},
			StartedAt: at(2, 600), FinishedAt: at(2, 800), Verified: &verifiedTrue},
		executor.Result{Change: 8, Outcome: executor.Failed, Attempts: 1,
			Call:      apierr.Call{Status: 403, RequestID: "req-0009", ClientRequestID: "cli-0009"},
			Error:     "graph: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation.",
			StartedAt: at(2, 610), FinishedAt: at(2, 700)},
	)
}

// fixtureResults: change 0 succeeded, 1 failed (404), 2 was never sent, 5
// was already in place. Times are in another zone to check conversion.
// Verification's findings, as executor.Verify leaves them on the results.
var verifiedTrue, verifiedFalse = true, false

func fixtureResults() []executor.Result {
	notFound := &apierr.Error{Call: apierr.Call{Status: 404, RequestID: "req-0002", ClientRequestID: "cli-0002"}, Class: apierr.NotFound,
		Code: "Request_ResourceNotFound", Message: "Resource '4e2b0f7c-9d1a-4a3e-8f00-0000000000c2' does not exist or one of its queried reference-property objects are not present."}
	return []executor.Result{
		{Change: 0, Outcome: executor.Succeeded, Call: apierr.Call{Status: 204, RequestID: "req-0001", ClientRequestID: "cli-0001"}, Attempts: 2,
			StartedAt: at(1, 250).In(paris), FinishedAt: at(2, 500).In(paris), Verified: &verifiedTrue},
		{Change: 1, Outcome: executor.Failed, Call: notFound.Call, Attempts: 1, Error: notFound.Error(),
			StartedAt: at(1, 260), FinishedAt: at(1, 900)},
		{Change: 2, Outcome: executor.NotAttempted},
		{Change: 5, Outcome: executor.Succeeded, Call: apierr.Call{Status: 400, RequestID: "req-0007", ClientRequestID: "cli-0007"}, Attempts: 1,
			Note: "already in place", StartedAt: at(1, 270), FinishedAt: at(1, 480), Verified: &verifiedFalse},
	}
}

func applyRun() Run {
	return Run{Version: "1.4.0", Mode: "apply", GraphURL: "https://graph.microsoft.com/beta",
		Operator: "admin@contoso.example", Journal: "connrecon-reports/20260301T100000Z-apply/journal.jsonl",
		Backout: "connrecon-reports/20260301T100000Z-apply/backout.csv", RunID: "0a1b2c3d4e5f",
		StartedAt: time.Date(2026, 3, 1, 11, 0, 0, 0, paris), FinishedAt: time.Date(2026, 3, 1, 11, 0, 3, 0, paris),
		ExitCode: 1, Outcome: "failed", Message: "1 move(s) failed: see the report for each error and its request-id"}
}

// applyPlan is fixturePlan as apply saw it: with the planner's groups.
func applyPlan() *plan.Plan {
	p := fixturePlan()
	p.Groups = fixtureGroups()
	return p
}

// fixtureGroups: one group of each coverage verdict, and one unknown.
// MinActiveDuring is set, and report.json must not show it.
func fixtureGroups() []plan.GroupSummary {
	return []plan.GroupSummary{
		{ID: "a1b2c3d4-0000-4000-8000-00000000d000", Name: "Default", IsDefault: true, Applications: []string{"Intranet (legacy)"},
			ConnectorsBefore: 6, ConnectorsAfter: 2, ActiveBefore: 5, ActiveAfter: 2, MinActiveDuring: 2, Coverage: plan.CoverageOK},
		{ID: "a1b2c3d4-0000-4000-8000-00000000e000", Name: "Europe", Applications: []string{"HR portal", "R&D wiki"},
			ConnectorsBefore: 0, ConnectorsAfter: 3, ActiveBefore: 0, ActiveAfter: 3, Coverage: plan.CoverageOK},
		{ID: "a1b2c3d4-0000-4000-8000-00000000a000", Name: "North America", Applications: []string{"Sales <CRM>"},
			ConnectorsBefore: 0, ConnectorsAfter: 1, ActiveBefore: 0, ActiveAfter: 0, Coverage: plan.CoverageGap},
		{ID: "a1b2c3d4-0000-4000-8000-00000000f000", Name: "Lab", ConnectorsBefore: 1, ConnectorsAfter: 1, ActiveBefore: 1, ActiveAfter: 1,
			MinActiveDuring: 1, Coverage: plan.CoverageNoApplications},
		{ID: "a1b2c3d4-0000-4000-8000-00000000b000", Name: "Asia"},
	}
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
	apply := Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults())
	planned := Build(planRun(), fixtureMapping(), fixturePlan(), nil)
	golden(t, "apply.json", render(t, WriteJSON, apply))
	golden(t, "apply.csv", render(t, WriteCSV, apply))
	golden(t, "apply.md", render(t, WriteMarkdown, apply))
	golden(t, "plan.json", render(t, WriteJSON, planned))
	golden(t, "plan.csv", render(t, WriteCSV, planned))
	golden(t, "plan.md", render(t, WriteMarkdown, planned))
	refused := Build(refusedRun(), fixtureMapping(), refusedPlan(applyPlan()), nil)
	golden(t, "refused.md", render(t, WriteMarkdown, refused))
	// Connectors and applications in one run.
	apps := Build(appsRun(), fixtureMapping(), appsPlan(), appsResults())
	golden(t, "apps.json", render(t, WriteJSON, apps))
	golden(t, "apps.csv", render(t, WriteCSV, apps))
	golden(t, "apps.md", render(t, WriteMarkdown, apps))
	golden(t, "apps-plan.md", render(t, WriteMarkdown, Build(planRun(), fixtureMapping(), appsPlan(), nil)))
}

func refusedRun() Run {
	run := applyRun()
	run.ExitCode, run.Outcome, run.Message = 3, "refused", "refused by 2 safety guard(s): nothing was sent"
	return run
}

// refusedPlan is p refused by two guards, one of them about groups.
func refusedPlan(p *plan.Plan) *plan.Plan {
	p.Refusals = []plan.Refusal{
		{Guard: plan.GuardMaxChanges, Message: "4 moves exceed --max-changes 2"},
		{Guard: plan.GuardCoverage, Message: "applications would be left without an active connector", Groups: []plan.RefusedGroup{
			{ID: "a1b2c3d4-0000-4000-8000-00000000a000", Name: "North America", Applications: []string{"Sales <CRM>"}},
			{ID: "a1b2c3d4-0000-4000-8000-00000000b000", Name: "Asia", ActiveBefore: 1, MinActiveDuring: 0},
		}},
	}
	return p
}

// WriteJSON streams the document piecewise; it must stay exactly what
// encoding the whole Report at once gives, or the golden files and every
// consumer's parser would see a different shape.
func TestJSONStreamMatchesWholeEncoding(t *testing.T) {
	withHTML := Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults())
	withHTML.Actions[0].MachineName = `<R&D> "quoted" \ 🚀 \u2028`
	for name, r := range map[string]*Report{
		"apply":    Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults()),
		"refused":  Build(refusedRun(), fixtureMapping(), refusedPlan(applyPlan()), nil),
		"plan":     Build(planRun(), fixtureMapping(), fixturePlan(), nil),
		"no plan":  Build(planRun(), nil, nil, nil),
		"html":     withHTML,
		"one only": {Actions: []Action{{Row: 2}}},
	} {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
			if got := render(t, WriteJSON, r); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("streamed JSON differs from the whole encoding:\n got %s\nwant %s", got, want.Bytes())
			}
		})
	}
	if raw := render(t, WriteJSON, withHTML); !bytes.Contains(raw, []byte(`"R&D wiki"`)) || !bytes.Contains(raw, []byte(`<R&D>`)) {
		t.Error("HTML characters are escaped: R&D should stay readable")
	}
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
			Summary{Move: 4, ConnectorMoves: 4, Noop: 1, Invalid: 1, Unmanaged: 1, Succeeded: 2, Failed: 1, NotAttempted: 1},
			[]string{"succeeded", "failed", "notAttempted", "skipped", "skipped", "succeeded", "skipped"}},
		{"plan", planRun(), nil,
			Summary{Move: 4, ConnectorMoves: 4, Noop: 1, Invalid: 1, Unmanaged: 1},
			[]string{"planned", "planned", "planned", "skipped", "skipped", "planned", "skipped"}},
		// Apply refused before sending anything: every move is notAttempted.
		{"apply without results", applyRun(), nil,
			Summary{Move: 4, ConnectorMoves: 4, Noop: 1, Invalid: 1, Unmanaged: 1, NotAttempted: 4},
			[]string{"notAttempted", "notAttempted", "notAttempted", "skipped", "skipped", "notAttempted", "skipped"}},
		// Interrupted: a request in flight has an unknown fate; an outcome
		// this version does not know, or none at all, is counted the same
		// way rather than dropped.
		{"interrupted", applyRun(), []executor.Result{
			{Change: 0, Outcome: "unknown", Attempts: 1, Call: apierr.Call{ClientRequestID: "cli-0001"}},
			{Change: 1, Outcome: "someFutureOutcome"},
			{Change: 5, Outcome: ""},
		},
			Summary{Move: 4, ConnectorMoves: 4, Noop: 1, Invalid: 1, Unmanaged: 1, NotAttempted: 1, Unknown: 3},
			[]string{"unknown", "someFutureOutcome", "notAttempted", "skipped", "skipped", "unknown", "skipped"}},
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
	r := Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults())
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
	if already := r.Actions[5]; already.Result != string(executor.Succeeded) || already.Reason != "already in place" {
		t.Errorf("already-in-place action: %+v", already)
	}
}

func TestBuildRunMetadata(t *testing.T) {
	run := applyRun()
	run.MappingSheet = "Connectors"
	p := refusedPlan(applyPlan())
	r := Build(run, fixtureMapping(), p, fixtureResults())
	if r.Operator != "admin@contoso.example" || r.Journal != run.Journal || r.Mapping.Sheet != "Connectors" {
		t.Errorf("metadata lost: operator %q journal %q sheet %q", r.Operator, r.Journal, r.Mapping.Sheet)
	}
	// The plan's refusals and groups, as report.json shows them.
	wantRefusals := []Refusal{
		{Guard: "maxChanges", Message: "4 moves exceed --max-changes 2"},
		{Guard: "coverage", Message: "applications would be left without an active connector", Groups: []string{"North America", "Asia"}},
	}
	if !reflect.DeepEqual(r.Refusals, wantRefusals) {
		t.Errorf("refusals %+v, want %+v", r.Refusals, wantRefusals)
	}
	wantGroups := []Group{
		{ID: "a1b2c3d4-0000-4000-8000-00000000d000", Name: "Default", IsDefault: true, Applications: []string{"Intranet (legacy)"},
			ConnectorsBefore: 6, ConnectorsAfter: 2, ActiveBefore: 5, ActiveAfter: 2, Coverage: "ok"},
		{ID: "a1b2c3d4-0000-4000-8000-00000000e000", Name: "Europe", Applications: []string{"HR portal", "R&D wiki"},
			ConnectorsBefore: 0, ConnectorsAfter: 3, ActiveBefore: 0, ActiveAfter: 3, Coverage: "ok"},
		{ID: "a1b2c3d4-0000-4000-8000-00000000a000", Name: "North America", Applications: []string{"Sales <CRM>"},
			ConnectorsBefore: 0, ConnectorsAfter: 1, ActiveBefore: 0, ActiveAfter: 0, Coverage: "gap"},
		// null becomes []
		{ID: "a1b2c3d4-0000-4000-8000-00000000f000", Name: "Lab", Applications: []string{}, ConnectorsBefore: 1, ConnectorsAfter: 1,
			ActiveBefore: 1, ActiveAfter: 1, Coverage: "noApplications"},
		{ID: "a1b2c3d4-0000-4000-8000-00000000b000", Name: "Asia", Applications: []string{}},
	}
	if !reflect.DeepEqual(r.Groups, wantGroups) {
		t.Errorf("groups %+v, want %+v", r.Groups, wantGroups)
	}
	// Verified comes from the results (Verify sets it); other actions stay
	// unverified (null), not false.
	for i, a := range r.Actions {
		want := map[int]string{0: "true", 5: "false"}[i]
		if got := verifiedText(a.Verified); got != want {
			t.Errorf("action %d verified = %q, want %q", i, got, want)
		}
	}
	// The report does not share the plan's slices.
	p.Groups[1].Applications[0] = "changed"
	if r.Groups[1].Applications[0] != "HR portal" {
		t.Error("Build kept a reference to the plan's group applications")
	}

	// Nothing known, or a plan without refusals or groups: arrays, never
	// null, so consumers need no null checks.
	for name, r := range map[string]*Report{"no plan": Build(Run{}, nil, nil, nil), "plan": Build(planRun(), fixtureMapping(), fixturePlan(), nil)} {
		raw := render(t, WriteJSON, r)
		for _, want := range []string{`"refusals": []`, `"groups": []`, `"operator": ""`, `"journal": ""`, `"unknown": 0`} {
			if !bytes.Contains(raw, []byte(want)) {
				t.Errorf("%s: report lacks %s:\n%s", name, want, raw)
			}
		}
	}
	if raw := render(t, WriteJSON, Build(Run{}, nil, nil, nil)); !bytes.Contains(raw, []byte(`"actions": []`)) {
		t.Errorf("empty report lacks \"actions\": []:\n%s", raw)
	}
	var doc struct {
		Groups []struct {
			Applications []string `json:"applications"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(render(t, WriteJSON, Build(applyRun(), nil, applyPlan(), nil)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Groups[3].Applications == nil {
		t.Error(`a group without applications has "applications": null, want []`)
	}
}

// The names in the README's schema are a contract: check them apart from the golden
// file, so an -update cannot quietly rename one.
func TestJSONFieldNames(t *testing.T) {
	raw := render(t, WriteJSON, Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults()))
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
	need("report", doc, "tool", "version", "mode", "startedAt", "finishedAt", "graphUrl", "mapping", "summary", "actions",
		"exitCode", "outcome", "operator", "journal", "refusals", "groups")
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
	need("summary", summary, "move", "noop", "invalid", "unmanaged", "succeeded", "failed", "notAttempted", "unknown")
	var groups []map[string]json.RawMessage
	if err := json.Unmarshal(doc["groups"], &groups); err != nil || len(groups) == 0 {
		t.Fatalf("groups: %v (%d)", err, len(groups))
	}
	for i, g := range groups {
		need(fmt.Sprintf("group %d", i), g, "id", "name", "isDefault", "applications", "connectorsBefore", "connectorsAfter",
			"activeBefore", "activeAfter", "coverage")
	}
	for i, a := range actions {
		need(fmt.Sprintf("action %d", i), a, "row", "connectorId", "machineName", "connectorStatus", "fromGroupId", "fromGroupName",
			"toGroupId", "toGroupName", "action", "wave", "result", "httpStatus", "requestId", "clientRequestId", "attempts",
			"error", "startedAt", "finishedAt", "verified", "kind")
	}
	need("summary", summary, "connectorMoves", "applicationMoves")

	// An application's action names it under these names.
	raw = render(t, WriteJSON, Build(appsRun(), fixtureMapping(), appsPlan(), appsResults()))
	var apps struct {
		Actions []map[string]json.RawMessage `json:"actions"`
	}
	if err := json.Unmarshal(raw, &apps); err != nil {
		t.Fatal(err)
	}
	need("application action", apps.Actions[7], "kind", "applicationId", "appId", "displayName", "mappedApplication", "backoutRow")
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
		{"mappedConnector", func(a *Action, s string) { a.MappedConnector = s }},
		{"mappedGroup", func(a *Action, s string) { a.MappedGroup = s }},
	}
	for _, f := range fields {
		for _, s := range append(dangerous, "appproxy-01", "10.0.0.1", "'quoted") {
			a := Action{Row: 2, ConnectorID: "c1", Action: "move", Result: string(executor.Succeeded)}
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
	r := Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults())
	if err := Write(dir, r, nil); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got, want := listDir(t, dir), []string{"report.csv", "report.html", "report.json", "report.md", "report.xlsx"}; !reflect.DeepEqual(got, want) {
		t.Errorf("directory holds %v, want exactly %v (no temporary files)", got, want)
	}
	for name, write := range map[string]func(io.Writer, *Report) error{"report.json": WriteJSON, "report.csv": WriteCSV, "report.md": WriteMarkdown, "report.html": WriteHTML, "report.xlsx": nil} {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600: reports name the tenant's connectors", name, fi.Mode().Perm())
		}
		if write == nil {
			continue // not byte-stable (zip entry order); TestXLSX reopens it
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

	r := Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults())
	if err := Write(dir, r, []Format{FormatJSON, FormatCSV}); err != nil {
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
		t.Errorf("directory holds %v, want %v (only the formats asked for)", got, want)
	}
}

func TestWriteFailureLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	// A directory where report.csv should go: the final rename fails.
	if err := os.Mkdir(filepath.Join(dir, "report.csv"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := Write(dir, Build(applyRun(), fixtureMapping(), applyPlan(), fixtureResults()), nil)
	if err == nil || !strings.Contains(err.Error(), "report.csv") {
		t.Fatalf("Write = %v, want an error naming report.csv", err)
	}
	if !errors.Is(err, syscall.EISDIR) && !errors.Is(err, syscall.EEXIST) && !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("Write = %v, want the rename's cause wrapped (errors.Is)", err)
	}
	// One format failing does not cost the audit trail the others.
	if got, want := listDir(t, dir), []string{"report.csv", "report.html", "report.json", "report.md", "report.xlsx"}; !reflect.DeepEqual(got, want) {
		t.Errorf("directory holds %v, want %v (no temporary files)", got, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "report.csv")); err != nil || !fi.IsDir() {
		t.Errorf("report.csv should still be the directory: %v", err)
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

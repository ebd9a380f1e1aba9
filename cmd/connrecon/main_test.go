package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/graphsim"
	"connrecon/report"
	"connrecon/samples"
)

const sampleMapping = "../../samples/mapping.csv"

type harness struct {
	t      *testing.T
	sim    *graphsim.Server
	url    string
	env    map[string]string
	stdin  string
	tty    bool
	stdout bytes.Buffer
	stderr bytes.Buffer
	ctx    context.Context // the run's; nil: context.Background()
}

func newHarness(t *testing.T, opts graphsim.Options) *harness {
	t.Helper()
	tn, err := graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessFor(t, tn, opts, nil)
}

// newHarnessFor is newHarness with a tenant of the test's own, and the
// simulator's handler wrapped by wrap when it is not nil (a test's own
// faults).
func newHarnessFor(t *testing.T, tn *graphsim.Tenant, opts graphsim.Options, wrap func(http.Handler) http.Handler) *harness {
	t.Helper()
	sim := graphsim.New(tn, opts)
	var handler http.Handler = sim
	if wrap != nil {
		handler = wrap(sim)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: sim, url: srv.URL + "/beta", env: map[string]string{
		"CONNRECON_GRAPH_URL": srv.URL + "/beta",
		"CONNRECON_AUTH":      "token",
		"CONNRECON_TOKEN":     "test-token",
	}}
}

// run runs connrecon in-process and returns the exit code.
func (h *harness) run(args ...string) int {
	h.t.Helper()
	h.stdout.Reset()
	h.stderr.Reset()
	env := Env{
		Stdin: strings.NewReader(h.stdin), Stdout: &h.stdout, Stderr: &h.stderr,
		Getenv:           func(k string) string { return h.env[k] },
		StdinIsTerminal:  func() bool { return h.tty },
		StderrIsTerminal: func() bool { return false },
	}
	ctx := h.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	return Main(ctx, args, env)
}

func (h *harness) posts() []graphsim.LoggedRequest {
	var out []graphsim.LoggedRequest
	for _, r := range h.sim.Items() { // a move in a batch is its item
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

func readReport(t *testing.T, dir string) *report.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(r.Actions)+1 {
		t.Errorf("report.csv has %d rows, report.json %d actions", len(rows)-1, len(r.Actions))
	}
	return &r
}

// mappingWants reads the sample mapping through the tenant: connector id →
// group id the mapping asks for.
func mappingWants(t *testing.T, r *report.Report) map[string]string {
	want := map[string]string{}
	for _, a := range r.Actions {
		if a.Action == "move" || a.Action == "noop" {
			want[a.ConnectorID] = a.ToGroupID
		}
	}
	if len(want) == 0 {
		t.Fatal("the report names no mapped connector")
	}
	return want
}

func TestEndToEnd(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := t.TempDir()

	// plan: shows the moves, changes nothing, exit 2 with --detailed-exitcode.
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", filepath.Join(dir, "plan"), "--detailed-exitcode"); code != exitChanges {
		t.Fatalf("plan exit %d, want 2; stderr:\n%s", code, &h.stderr)
	}
	for _, s := range []string{`Into "EU - Frankfurt" (2):`, "fra-appproxy-02.contoso.com", "Plan: 5 to move, 6 unchanged, 0 invalid, 1 unmanaged."} {
		if !strings.Contains(h.stdout.String(), s) {
			t.Errorf("plan output lacks %q:\n%s", s, &h.stdout)
		}
	}
	if n := len(h.posts()); n != 0 {
		t.Fatalf("plan sent %d POSTs", n)
	}
	planRep := readReport(t, filepath.Join(dir, "plan"))
	if planRep.Mode != "plan" || planRep.Summary.Move != 5 || planRep.ExitCode != exitChanges {
		t.Errorf("plan report: mode %s, summary %+v, exit %d", planRep.Mode, planRep.Summary, planRep.ExitCode)
	}

	// apply: makes the tenant match the mapping.
	if code := h.run("apply", "-m", sampleMapping, "--report-dir", filepath.Join(dir, "apply"), "--yes"); code != exitOK {
		t.Fatalf("apply exit %d; stderr:\n%s", code, &h.stderr)
	}
	if !strings.Contains(h.stdout.String(), "Apply: 5 succeeded, 0 failed, 0 unknown, 0 not attempted.") || !strings.Contains(h.stdout.String(), "Verified: 5 of 5 succeeded moves show in their target groups.") {
		t.Errorf("apply output:\n%s", &h.stdout)
	}
	rep := readReport(t, filepath.Join(dir, "apply"))
	want := mappingWants(t, rep)
	for _, c := range h.sim.State().Connectors {
		if g, ok := want[c.ID]; ok && c.Group != g {
			t.Errorf("after apply %s is in %s, want %s", c.MachineName, c.Group, g)
		}
	}

	// The report rows match what happened: one POST per move, with its ids.
	posts := h.posts()
	if len(posts) != 5 {
		t.Fatalf("%d POSTs, want 5", len(posts))
	}
	byReq := map[string]graphsim.LoggedRequest{}
	for _, p := range posts {
		byReq[p.RequestID] = p
	}
	if rep.Summary.Succeeded != 5 || rep.Summary.Move != 5 || rep.Summary.Failed != 0 || rep.ExitCode != 0 || rep.Outcome != "success" {
		t.Errorf("apply summary %+v exit %d outcome %s", rep.Summary, rep.ExitCode, rep.Outcome)
	}
	for _, a := range rep.Actions {
		if a.Action != "move" {
			if a.Result != "skipped" {
				t.Errorf("row %d (%s): result %s, want skipped", a.Row, a.Action, a.Result)
			}
			continue
		}
		p, ok := byReq[a.RequestID]
		if !ok {
			t.Errorf("row %d: request-id %q not sent", a.Row, a.RequestID)
			continue
		}
		if a.Verified == nil || !*a.Verified {
			t.Errorf("row %d: verified %v, want true", a.Row, a.Verified)
		}
		if a.Result != "succeeded" || a.HTTPStatus != 204 || a.Attempts != 1 || a.ClientRequestID != p.ClientRequestID {
			t.Errorf("row %d: %+v", a.Row, a)
		}
		if !strings.Contains(p.Path, a.ToGroupID) || !strings.Contains(p.Body, a.ConnectorID) {
			t.Errorf("row %d: report says %s → %s, the POST was %s %s", a.Row, a.ConnectorID, a.ToGroupID, p.Path, p.Body)
		}
	}

	// The journal has one valid line per move, and the report names it.
	jf, err := os.Open(rep.Journal)
	if err != nil {
		t.Fatalf("journal %q: %v", rep.Journal, err)
	}
	entries, err := executor.ReadJournal(jf)
	jf.Close()
	if err != nil || len(entries) != 5 {
		t.Errorf("journal: %d entries, %v", len(entries), err)
	}

	// A second plan finds nothing to do.
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", filepath.Join(dir, "replan"), "--detailed-exitcode"); code != exitOK {
		t.Fatalf("second plan exit %d, want 0:\n%s", code, &h.stdout)
	}
	if !strings.Contains(h.stdout.String(), "Plan: 0 to move, 11 unchanged") {
		t.Errorf("second plan:\n%s", &h.stdout)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInvalidRowsRefuseApply(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	m := writeFile(t, "m.csv", "connector,group\n"+
		"fra-appproxy-02.contoso.com,EU - Frankfurt\n"+
		"no-such-host.contoso.com,EU - Frankfurt\n"+
		"sea-appproxy-03.contoso.com,Nowhere\n")
	for _, cmd := range []string{"plan", "apply"} {
		dir := t.TempDir()
		args := []string{cmd, "-m", m, "--report-dir", dir}
		if cmd == "apply" {
			args = append(args, "--yes")
		}
		code := h.run(args...)
		if code != exitInvalid {
			t.Fatalf("%s exit %d, want 4; stderr:\n%s", cmd, code, &h.stderr)
		}
		rep := readReport(t, dir)
		if rep.Summary.Invalid != 2 || rep.ExitCode != exitInvalid || rep.Outcome != "invalidInput" {
			t.Errorf("%s report: %+v exit %d outcome %s", cmd, rep.Summary, rep.ExitCode, rep.Outcome)
		}
		reasons := map[int]string{}
		for _, a := range rep.Actions {
			if a.Action == "invalid" {
				reasons[a.Row] = a.Reason
			}
			if cmd == "apply" && a.Action == "move" && a.Result != "notAttempted" {
				t.Errorf("apply refused but row %d is %s", a.Row, a.Result)
			}
		}
		if !strings.Contains(reasons[3], `no connector named "no-such-host.contoso.com"`) {
			t.Errorf("row 3 reason %q", reasons[3])
		}
		if !strings.Contains(reasons[4], `no connector group named "Nowhere"`) {
			t.Errorf("row 4 reason %q", reasons[4])
		}
		if !strings.Contains(h.stdout.String(), "row 3:") {
			t.Errorf("%s output does not show the invalid rows:\n%s", cmd, &h.stdout)
		}
	}
	if n := len(h.posts()); n != 0 {
		t.Errorf("%d POSTs sent with invalid rows", n)
	}
}

func TestApplyConfirmation(t *testing.T) {
	cases := []struct {
		name   string
		tty    bool
		stdin  string
		code   int
		posted int
	}{
		{"no terminal, no --yes", false, "yes\n", exitUsage, 0},
		{"terminal, declined", true, "no\n", exitFailure, 0},
		{"terminal, confirmed", true, "yes\n", exitOK, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, graphsim.Options{})
			h.tty, h.stdin = tc.tty, tc.stdin
			dir := t.TempDir()
			if code := h.run("apply", "-m", sampleMapping, "--report-dir", dir); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, &h.stderr)
			}
			if n := len(h.posts()); n != tc.posted {
				t.Errorf("%d POSTs, want %d", n, tc.posted)
			}
			if rep := readReport(t, dir); rep.ExitCode != tc.code {
				t.Errorf("report exit code %d, want %d", rep.ExitCode, tc.code)
			}
		})
	}
}

func TestAuthFailures(t *testing.T) {
	const secret = "s3cr3t-T0KEN-value-do-not-log"
	cases := []struct {
		name  string
		opts  graphsim.Options
		cmd   string
		token string
		want  []string
	}{
		{"writes denied", graphsim.Options{DenyWrites: true}, "apply", "test-token", []string{"Directory.ReadWrite.All", "403"}},
		{"token refused", graphsim.Options{Token: "another"}, "plan", secret, []string{"401", "InvalidAuthenticationToken"}},
		{"token refused on apply", graphsim.Options{Token: "another"}, "apply", secret, []string{"401"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts)
			h.env["CONNRECON_TOKEN"] = tc.token
			dir := t.TempDir()
			args := []string{tc.cmd, "-m", sampleMapping, "--report-dir", dir}
			if tc.cmd == "apply" {
				args = append(args, "--yes", "--concurrency", "1")
			}
			code := h.run(args...)
			if code != exitFailure {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, &h.stderr)
			}
			for _, s := range tc.want {
				if !strings.Contains(h.stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, &h.stderr)
				}
			}
			rep := readReport(t, dir)
			if rep.ExitCode != exitFailure {
				t.Errorf("report exit %d", rep.ExitCode)
			}
			if tc.name == "writes denied" {
				// The run stops at the first 403: one POST, the rest not attempted.
				if n := len(h.posts()); n != 1 {
					t.Errorf("%d POSTs after a 403, want 1", n)
				}
				if rep.Summary.Failed != 1 || rep.Summary.NotAttempted != 4 {
					t.Errorf("summary %+v, want 1 failed and 4 not attempted", rep.Summary)
				}
			}
			all := h.stdout.String() + h.stderr.String()
			for _, f := range []string{"report.json", "report.csv"} {
				data, _ := os.ReadFile(filepath.Join(dir, f))
				all += string(data)
			}
			if strings.Contains(all, secret) {
				t.Error("the token appears in the output or the report")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	if code := h.run("validate", "-m", sampleMapping); code != exitOK {
		t.Fatalf("validate sample: exit %d\n%s%s", code, &h.stdout, &h.stderr)
	}
	if code := h.run("validate", "-m", "../../samples/mapping.xlsx"); code != exitOK || !strings.Contains(h.stdout.String(), `(sheet "`) || !strings.Contains(h.stdout.String(), "11 row(s), 0 invalid") {
		t.Fatalf("validate sample workbook: exit %d\n%s%s", code, &h.stdout, &h.stderr)
	}
	if code := h.run("validate", "-m", "../../samples/mapping.xlsx", "--sheet", "Nope"); code != exitInvalid && code != exitFailure {
		t.Errorf("unknown sheet: exit %d", code)
	} else if !strings.Contains(h.stderr.String(), "Nope") {
		t.Errorf("unknown sheet message: %s", &h.stderr)
	}
	bad := writeFile(t, "bad.csv", "Machine Name;Connector Group\nhost-a;EU\n;EU\nhost-b;\nhost-c;1234-5678-9abc-def0\nhost-a;US\n")
	if code := h.run("validate", "-m", bad); code != exitInvalid {
		t.Fatalf("validate bad: exit %d, want 4", code)
	}
	out := h.stdout.String()
	for _, s := range []string{
		bad + ":3:A: the connector cell is empty",
		bad + ":4:B: the group cell is empty",
		bad + ":5:B: group \"1234-5678-9abc-def0\" looks like an id but is not a valid GUID",
		bad + ":2:B: connector \"host-a\" is also mapped on row 6",
		bad + ":6:B: connector \"host-a\" is also mapped on row 2",
		"5 row(s), 5 invalid",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("validate output lacks %q:\n%s", s, out)
		}
	}
	if len(h.sim.Requests()) != 0 {
		t.Error("validate contacted Graph")
	}
	noHeader := writeFile(t, "nohdr.csv", "host,where\na,b\n")
	if code := h.run("validate", "-m", noHeader); code != exitInvalid {
		t.Errorf("no header: exit %d, want 4", code)
	}
	if !strings.Contains(h.stderr.String(), `found "host" (A), "where" (B)`) {
		t.Errorf("no-header message: %s", &h.stderr)
	}
}

func TestUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{nil, exitUsage, "no command given"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"plan"}, exitUsage, "-m FILE (or --drain LIST) is required"},
		{[]string{"apply", "-m", "x.csv", "--concurrency", "0"}, exitUsage, "--concurrency"},
		{[]string{"plan", "-m", "x.csv", "--auth", "password"}, exitUsage, "--auth"},
		{[]string{"plan", "-m", "x.csv", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"plan", "--bogus"}, exitUsage, "bogus"},
		{[]string{"--help"}, exitOK, "Commands:"},
		{[]string{"apply", "-h"}, exitOK, "--concurrency"},
		{[]string{"version"}, exitOK, "connrecon"},
	}
	for _, tc := range cases {
		h := newHarness(t, graphsim.Options{})
		code := h.run(tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.code)
		}
		if !strings.Contains(h.stdout.String()+h.stderr.String(), tc.out) {
			t.Errorf("%v: output lacks %q:\n%s%s", tc.args, tc.out, &h.stdout, &h.stderr)
		}
	}
}

// Global options work before the command, after it, and from the
// environment; the flag wins over the environment.
func TestGlobalOptionsAndEnvironment(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	url := h.env["CONNRECON_GRAPH_URL"]
	h.env["CONNRECON_GRAPH_URL"] = "http://127.0.0.1:1/beta" // nothing listens there
	dir := t.TempDir()
	if code := h.run("--graph-url", url, "plan", "-m", sampleMapping, "--report-dir", dir); code != exitOK {
		t.Fatalf("flag before the command: exit %d\n%s", code, &h.stderr)
	}
	// The same directory again: --overwrite replaces the first run's report.
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", dir, "--overwrite", "--graph-url", url); code != exitOK {
		t.Fatalf("flag after the command: exit %d\n%s", code, &h.stderr)
	}
	if rep := readReport(t, dir); rep.GraphURL != url {
		t.Errorf("report graphUrl %q, want %q", rep.GraphURL, url)
	}
	h.env["CONNRECON_LOG_FORMAT"] = "json"
	h.env["CONNRECON_GRAPH_URL"] = url
	h.env["CONNRECON_OVERWRITE"] = "1"
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", dir); code != exitOK {
		t.Fatalf("env: exit %d\n%s", code, &h.stderr)
	}
	runs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(h.stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("CONNRECON_LOG_FORMAT=json gave a non-JSON line %q", line)
			continue
		}
		run, _ := rec["run"].(string)
		runs[run] = true
	}
	if len(runs) != 1 || runs[""] {
		t.Errorf("want one run id on every JSON line, got %v", runs)
	}
}

func TestDemo(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := filepath.Join(t.TempDir(), "demo")
	if code := h.run("demo", "--report-dir", dir); code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, &h.stdout, &h.stderr)
	}
	for _, sub := range []string{"plan", "apply", "replan", "backout"} {
		readReport(t, filepath.Join(dir, sub))
	}
	if rep := readReport(t, filepath.Join(dir, "apply")); rep.Summary.Succeeded != 6 || rep.Summary.ApplicationMoves != 1 || !strings.HasSuffix(rep.Mapping.Path, "mapping.xlsx") || rep.Mapping.Sheet == "" {
		t.Errorf("demo apply: %+v, mapping %+v", rep.Summary, rep.Mapping)
	}
	if rep := readReport(t, filepath.Join(dir, "backout")); rep.Summary.Succeeded != 6 || rep.Summary.ApplicationMoves != 1 || rep.Mapping.Path != filepath.Join(dir, "apply", "backout.csv") {
		t.Errorf("demo back-out: %+v, mapping %+v", rep.Summary, rep.Mapping)
	}
	if _, err := os.Stat(filepath.Join(dir, "export.xlsx")); err != nil {
		t.Errorf("demo export: %v", err)
	}
}

func TestLock(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "run.lock")
	unlock, err := acquireLock(lock)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, graphsim.Options{})
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", t.TempDir(), "--lock", lock); code != exitTempFail {
		t.Errorf("second run under a held lock: exit %d, want 75", code)
	}
	if !strings.Contains(h.stderr.String(), "holds the lock "+lock) {
		t.Errorf("message: %s", &h.stderr)
	}
	unlock()
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", t.TempDir(), "--lock", lock); code != exitOK {
		t.Errorf("after unlock: exit %d\n%s", code, &h.stderr)
	}
}

// Two applies at once writing to the same report directory: the second
// finds the first's lock and exits 75 (EX_TEMPFAIL) naming it; the first
// is unharmed.
func TestConcurrentAppliesExclude(t *testing.T) {
	h1 := newHarness(t, graphsim.Options{Faults: graphsim.Faults{Latency: 150 * time.Millisecond}})
	dir := t.TempDir()
	done := make(chan int)
	go func() { done <- h1.run("apply", "-m", sampleMapping, "--report-dir", dir, "--yes") }()
	// The first run holds the lock once it is talking to Graph.
	deadline := time.Now().Add(10 * time.Second)
	for len(h1.sim.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	h2 := newHarness(t, graphsim.Options{})
	h2.env = h1.env
	if code := h2.run("apply", "-m", sampleMapping, "--report-dir", dir, "--yes"); code != exitTempFail {
		t.Errorf("second apply: exit %d, want 75", code)
	}
	lock := filepath.Join(dir, ".connrecon.lock")
	if !strings.Contains(h2.stderr.String(), "another connrecon run holds the lock "+lock) {
		t.Errorf("second apply's message: %s", &h2.stderr)
	}
	if code := <-done; code != exitOK {
		t.Errorf("first apply: exit %d\n%s", code, &h1.stderr)
	}
}

// A recognisable token never shows up in output, logs (text or JSON) or
// reports: not on success, not when Graph refuses it.
func TestTokenNeverLeaks(t *testing.T) {
	const secret = "eyJ0eXAi.RECOGNISABLE-token-4242.c2ln"
	for _, format := range []string{"text", "json"} {
		ok := newHarness(t, graphsim.Options{Token: secret})
		ok.env["CONNRECON_TOKEN"] = secret
		ok.env["CONNRECON_LOG_FORMAT"] = format
		refused := newHarness(t, graphsim.Options{Token: "something-else"})
		refused.env["CONNRECON_TOKEN"] = secret
		refused.env["CONNRECON_LOG_FORMAT"] = format
		for _, run := range []struct {
			h    *harness
			args []string
			code int
		}{
			{ok, []string{"plan"}, exitOK},
			{ok, []string{"apply", "--yes"}, exitOK},
			{refused, []string{"plan"}, exitFailure},
			{refused, []string{"apply", "--yes"}, exitFailure},
		} {
			dir := t.TempDir()
			args := append(append([]string{}, run.args...), "-m", sampleMapping, "--report-dir", dir)
			if code := run.h.run(args...); code != run.code {
				t.Fatalf("%s %v: exit %d, want %d\n%s", format, run.args, code, run.code, &run.h.stderr)
			}
			all := run.h.stdout.String() + run.h.stderr.String()
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				all += string(data)
			}
			if strings.Contains(all, "RECOGNISABLE") {
				t.Errorf("%s %v: the token leaked", format, run.args)
			}
		}
	}
}

// A bar on a terminal, plain periodic lines otherwise: never both.
func TestProgressDisplay(t *testing.T) {
	defer func(p time.Duration) { progressPeriod = p }(progressPeriod)
	progressPeriod = 20 * time.Millisecond
	cases := []struct {
		name       string
		tty        bool
		noProgress bool
		bar, lines bool
	}{
		{"log file", false, false, false, true},
		{"terminal", true, false, true, false},
		{"terminal, --no-progress", true, true, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, graphsim.Options{Faults: graphsim.Faults{Latency: 60 * time.Millisecond}})
			args := []string{"apply", "-m", sampleMapping, "--report-dir", t.TempDir(), "--yes", "--concurrency", "1"}
			if tc.noProgress {
				args = append(args, "--no-progress")
			}
			env := Env{Stdin: strings.NewReader(""), Stdout: &h.stdout, Stderr: &h.stderr,
				Getenv:           func(k string) string { return h.env[k] },
				StdinIsTerminal:  func() bool { return false },
				StderrIsTerminal: func() bool { return tc.tty },
			}
			if code := Main(context.Background(), args, env); code != exitOK {
				t.Fatalf("exit %d\n%s", code, &h.stderr)
			}
			out := h.stderr.String()
			if got := strings.Contains(out, "moving connectors"); got != tc.bar {
				t.Errorf("bar shown: %v, want %v\n%s", got, tc.bar, out)
			}
			if got := strings.Contains(out, "INFO progress "); got != tc.lines {
				t.Errorf("progress lines: %v, want %v\n%s", got, tc.lines, out)
			}
			if tc.lines && !strings.Contains(out, "total=5") {
				t.Errorf("progress line lacks the total:\n%s", out)
			}
		})
	}
}

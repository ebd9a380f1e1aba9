package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connrecon/internal/graphsim"
)

// TestMain lets a test run connrecon as a child process: the test binary
// re-executes itself with CONNRECON_TEST_MAIN=1 and becomes main().
func TestMain(m *testing.M) {
	if os.Getenv("CONNRECON_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// bigSim serves a tenant with n connectors in the default group and writes
// a mapping that moves every one of them out of it.
func bigSim(t *testing.T, n int, faults graphsim.Faults) (*graphsim.Server, string, string) {
	t.Helper()
	tn := &graphsim.Tenant{Groups: []graphsim.Group{
		{ID: "00000000-0000-0000-0000-0000000000d0", Name: "Default", IsDefault: true, Region: "nam"},
		{ID: "00000000-0000-0000-0000-0000000000e0", Name: "Europe", Region: "eur"},
	}}
	var csv strings.Builder
	csv.WriteString("connector,group\n")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("conn-%03d.contoso.com", i)
		tn.Connectors = append(tn.Connectors, graphsim.Connector{ID: fmt.Sprintf("10000000-0000-0000-0000-%012d", i), MachineName: name, Status: "active", Group: tn.Groups[0].ID})
		fmt.Fprintf(&csv, "%s,Europe\n", name)
	}
	sim := graphsim.New(tn, graphsim.Options{Faults: faults})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL + "/beta", writeFile(t, "big.csv", csv.String())
}

// child starts connrecon as a separate process.
func child(t *testing.T, graphURL string, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "CONNRECON_TEST_MAIN=1", "CONNRECON_GRAPH_URL="+graphURL, "CONNRECON_AUTH=token", "CONNRECON_TOKEN=child-token")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

func waitForPosts(t *testing.T, sim *graphsim.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		posts := 0
		for _, r := range sim.Items() { // moves, alone or in a batch
			if r.Method == http.MethodPost && r.Status != 0 {
				posts++
			}
		}
		if posts >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fewer than %d POSTs after 20s", n)
}

// carriesWrite reports whether r is a $batch holding a request other than
// a GET (its body is restored for the next handler).
func carriesWrite(r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/$batch") {
		return false
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var b struct {
		Requests []struct {
			Method string `json:"method"`
		} `json:"requests"`
	}
	_ = json.Unmarshal(body, &b)
	for _, it := range b.Requests {
		if it.Method != http.MethodGet {
			return true
		}
	}
	return false
}

func exitStatus(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child did not exit")
	}
	return cmd.ProcessState.ExitCode()
}

// SIGINT in the middle of an apply: the child stops sending, lets the
// requests in flight finish, writes complete reports, and exits 130; the
// succeeded and notAttempted rows add up to the plan.
func TestInterruptWritesCompleteReports(t *testing.T) {
	const n = 40
	sim, url, mapping := bigSim(t, n, graphsim.Faults{Latency: 50 * time.Millisecond})
	dir := filepath.Join(t.TempDir(), "reports")
	// Batches of two: moves are in flight in batches when the signal comes.
	cmd, out := child(t, url, "apply", "-m", mapping, "--report-dir", dir, "--yes", "--concurrency", "2", "--batch-size", "2")
	waitForPosts(t, sim, 6)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitStatus(t, cmd); code != exitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, out)
	}
	rep := readReport(t, dir)
	s := rep.Summary
	if rep.Outcome != "interrupted" || rep.ExitCode != exitInterrupted {
		t.Errorf("outcome %s exit %d", rep.Outcome, rep.ExitCode)
	}
	if s.Move != n || s.Succeeded+s.NotAttempted != n || s.Failed != 0 {
		t.Errorf("summary %+v: succeeded and notAttempted should add up to %d moves", s, n)
	}
	if s.Succeeded == 0 || s.NotAttempted == 0 {
		t.Errorf("summary %+v: the interrupt should fall mid-run", s)
	}
	// What the report says succeeded is what the tenant shows.
	moved := 0
	for _, c := range sim.State().Connectors {
		if c.Group == "00000000-0000-0000-0000-0000000000e0" {
			moved++
		}
	}
	if moved != s.Succeeded {
		t.Errorf("%d connectors moved, report says %d succeeded", moved, s.Succeeded)
	}
}

// kill -9 in the middle of an apply, one move per request or in the
// middle of a batch: every journal line written is whole JSON, every move
// it records happened, and a rerun reads the live state and converges.
func TestKilledApplyLeavesJournalAndRerunConverges(t *testing.T) {
	for _, tc := range []struct {
		batch, concurrency string
		inFlight           int // moves sent and not yet answered, at most
	}{
		{batch: "1", concurrency: "4", inFlight: 4},
		{batch: "20", concurrency: "1", inFlight: 20},
	} {
		t.Run("batch="+tc.batch, func(t *testing.T) {
			const n = 40
			sim, url, mapping := bigSim(t, n, graphsim.Faults{Latency: 40 * time.Millisecond})
			// Batched, the kill falls in the middle of a batch: the
			// tenant has made its moves and the answer is held back.
			killURL := url
			var held *httptest.Server
			if tc.batch != "1" {
				held = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !carriesWrite(r) {
						sim.ServeHTTP(w, r)
						return
					}
					sim.ServeHTTP(httptest.NewRecorder(), r)
					<-r.Context().Done()
				}))
				t.Cleanup(held.Close)
				killURL = held.URL + "/beta"
			}
			dir := filepath.Join(t.TempDir(), "reports")
			cmd, out := child(t, killURL, "apply", "-m", mapping, "--report-dir", dir, "--yes", "--concurrency", tc.concurrency, "--batch-size", tc.batch)
			waitForPosts(t, sim, 8)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			exitStatus(t, cmd)
			if held != nil {
				// A batch that reached the proxy just before the kill
				// may still be making its moves in the tenant: count
				// the tenant once every request has been handled
				// (Close waits for them).
				held.Close()
			}
			if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
				t.Fatalf("a killed run wrote a final report?\n%s", out)
			}
			data, err := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) == 0 || lines[0] == "" {
				t.Fatal("empty journal")
			}
			batched := 0
			for i, l := range lines {
				var e struct {
					ConnectorID    string `json:"connectorId"`
					Outcome        string `json:"outcome"`
					BatchRequestID string `json:"batchRequestId"`
				}
				if err := json.Unmarshal([]byte(l), &e); err != nil {
					t.Errorf("journal line %d is not JSON: %q", i+1, l)
				}
				if e.BatchRequestID != "" {
					batched++
				}
			}
			if batched != 0 {
				t.Errorf("%d journal lines name a batch: no batch was answered", batched)
			}
			moved := 0
			for _, c := range sim.State().Connectors {
				if c.Group != "00000000-0000-0000-0000-0000000000d0" {
					moved++
				}
			}
			t.Logf("killed with %d journal lines (%d from a batch), %d connectors moved", len(lines), batched, moved)
			// Every move the journal records happened; at most the moves
			// in flight happened without a line (batched: at least the
			// batch whose answer was held back; a latecomer on a loaded
			// machine may have gone alone and been answered).
			if moved < len(lines) || moved > len(lines)+tc.inFlight || tc.batch != "1" && moved == len(lines) {
				t.Errorf("%d journal lines, %d connectors moved", len(lines), moved)
			}

			// The rerun moves only what is left and converges.
			dir2 := filepath.Join(t.TempDir(), "rerun")
			cmd, out = child(t, url, "apply", "-m", mapping, "--report-dir", dir2, "--yes", "--concurrency", tc.concurrency, "--batch-size", tc.batch)
			if code := exitStatus(t, cmd); code != exitOK {
				t.Fatalf("rerun: exit %d\n%s", code, out)
			}
			rep := readReport(t, dir2)
			if rep.Summary.Move != n-moved || rep.Summary.Noop != moved || rep.Summary.Succeeded != n-moved {
				t.Errorf("rerun summary %+v, want %d moves and %d unchanged", rep.Summary, n-moved, moved)
			}
			for _, c := range sim.State().Connectors {
				if c.Group != "00000000-0000-0000-0000-0000000000e0" {
					t.Errorf("%s still in %s after the rerun", c.MachineName, c.Group)
				}
			}
		})
	}
}

// Graph replicating slower than --verify-timeout: the moves are made but
// not seen, verified=false, exit 1.
func TestUnverifiedMovesExitOne(t *testing.T) {
	h := newHarness(t, graphsim.Options{Faults: graphsim.Faults{StaleFor: time.Minute}})
	dir := t.TempDir()
	if code := h.run("apply", "-m", sampleMapping, "--report-dir", dir, "--yes", "--verify-timeout", "300ms"); code != exitFailure {
		t.Fatalf("exit %d, want 1\n%s", code, &h.stderr)
	}
	rep := readReport(t, dir)
	for _, a := range rep.Actions {
		if a.Action == "move" && (a.Result != "succeeded" || a.Verified == nil || *a.Verified) {
			t.Errorf("row %d: %s verified %v, want succeeded and not verified", a.Row, a.Result, a.Verified)
		}
	}
	if !strings.Contains(h.stderr.String(), "verification") {
		t.Errorf("message: %s", &h.stderr)
	}
	// --no-verify skips it.
	h2 := newHarness(t, graphsim.Options{Faults: graphsim.Faults{StaleFor: time.Minute}})
	if code := h2.run("apply", "-m", sampleMapping, "--report-dir", t.TempDir(), "--yes", "--no-verify"); code != exitOK {
		t.Errorf("--no-verify: exit %d\n%s", code, &h2.stderr)
	}
}

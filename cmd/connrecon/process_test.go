package main

import (
	"fmt"
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
		for _, r := range sim.Requests() {
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
	cmd, out := child(t, url, "apply", "-m", mapping, "--report-dir", dir, "--yes", "--concurrency", "2")
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

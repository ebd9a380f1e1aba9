package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connrecon/executor"
	"connrecon/internal/graphsim"
	"connrecon/samples"
)

// losingAnswers passes reads to the simulator and loses the answer to
// every write, alone or a batch that holds one: the connection is closed with no answer, after the
// simulator applied the write (apply true) or without it reaching the
// simulator at all.
type losingAnswers struct {
	sim   *graphsim.Server
	apply bool
}

func (l losingAnswers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || strings.HasSuffix(r.URL.Path, "/$batch") && !carriesWrite(r) {
		l.sim.ServeHTTP(w, r)
		return
	}
	if l.apply {
		l.sim.ServeHTTP(httptest.NewRecorder(), r)
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// apply with every answer lost: the moves are unknown, not failed; the
// verification line says what it saw; the exit code is 0 only when a read
// confirmed every move.
func TestApplyLostAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		applied  bool
		code     int
		stdout   []string
		result   string
		verified bool
	}{
		{"applied, answers lost", true, exitOK, []string{
			"Apply: 0 succeeded, 0 failed, 5 unknown, 0 not attempted.",
			"Verified: 5 moves whose answer was lost or refused were confirmed by read.",
			"After verification: 5 succeeded, 0 failed, 0 unknown, 0 not attempted.",
		}, "succeeded", true},
		{"never applied, answers lost", false, exitFailure, []string{
			"Apply: 0 succeeded, 0 failed, 5 unknown, 0 not attempted.",
			"Verified: 5 moves of unknown fate not seen in their target group, still unknown: check them.",
		}, "unknown", false},
	} {
		for _, batch := range []string{"1", "20"} {
			t.Run(tc.name+",batch="+batch, func(t *testing.T) {
				tn, err := graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
				if err != nil {
					t.Fatal(err)
				}
				sim := graphsim.New(tn, graphsim.Options{})
				srv := httptest.NewServer(losingAnswers{sim: sim, apply: tc.applied})
				t.Cleanup(srv.Close)
				h := &harness{t: t, sim: sim, url: srv.URL + "/beta", env: map[string]string{
					"CONNRECON_GRAPH_URL": srv.URL + "/beta", "CONNRECON_AUTH": "token", "CONNRECON_TOKEN": "test-token",
					"CONNRECON_BATCH_SIZE": batch,
				}}
				dir := t.TempDir()
				code := h.run("apply", "-m", sampleMapping, "--report-dir", dir, "--yes", "--max-attempts", "1", "--verify-timeout", "20ms")
				if code != tc.code {
					t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, &h.stderr)
				}
				for _, s := range tc.stdout {
					if !strings.Contains(h.stdout.String(), s) {
						t.Errorf("stdout lacks %q:\n%s", s, &h.stdout)
					}
				}
				if strings.Contains(h.stdout.String(), "every move") {
					t.Errorf("stdout claims more than was verified:\n%s", &h.stdout)
				}
				if !tc.applied && !strings.Contains(h.stderr.String(), "5 move(s) of unknown fate") {
					t.Errorf("stderr does not say 5 moves are of unknown fate:\n%s", &h.stderr)
				}

				rep := readReport(t, dir)
				if rep.Summary.Failed != 0 || rep.ExitCode != tc.code {
					t.Errorf("report summary %+v exit %d", rep.Summary, rep.ExitCode)
				}
				for _, a := range rep.Actions {
					if a.Action != "move" {
						continue
					}
					if a.Result != tc.result || a.Verified == nil || *a.Verified != tc.verified || a.Error == "" {
						t.Errorf("row %d: %s verified %v error %q; want %s, verified %v, the lost answer in error", a.Row, a.Result, a.Verified, a.Error, tc.result, tc.verified)
					}
					if tc.applied && a.Reason != executor.NoteConfirmedByRead {
						t.Errorf("row %d: reason %q, want %q", a.Row, a.Reason, executor.NoteConfirmedByRead)
					}
				}

				// The journal: Run's line per move, then Verify's for each
				// confirmed one.
				jf, err := os.Open(filepath.Join(dir, "journal.jsonl"))
				if err != nil {
					t.Fatal(err)
				}
				entries, err := executor.ReadJournal(jf)
				jf.Close()
				want := 5
				if tc.applied {
					want = 10
				}
				if err != nil || len(entries) != want {
					t.Errorf("journal: %d entries (%v), want %d", len(entries), err, want)
				}
				batched := 0
				for _, e := range entries {
					if e.BatchRequestID != "" {
						batched++
					}
				}
				if batch == "1" && batched != 0 {
					t.Errorf("%d journal lines name a batch, with --batch-size 1", batched)
				}
			})
		}
	}
}

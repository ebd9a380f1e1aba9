package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"connrecon/internal/graphsim"
	"connrecon/samples"
)

// loseFirstWrite passes every request to the simulator, but the first
// write of each connector is applied and its answer lost (the connection
// closes; batched, the batch's answer): the retry, sent alone, meets the
// guessed "already a member" answer.
type loseFirstWrite struct {
	sim  *graphsim.Server
	mu   sync.Mutex
	seen map[string]bool
}

func (l *loseFirstWrite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	batch := carriesWrite(r)
	if !batch && (r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/$ref")) {
		l.sim.ServeHTTP(w, r)
		return
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(r.Body)
	// The moves' bodies: this one's, or each of the batch's; a batch
	// holding a first write loses its whole answer.
	writes := []json.RawMessage{body.Bytes()}
	if batch {
		var b struct {
			Requests []struct {
				Body json.RawMessage `json:"body"`
			} `json:"requests"`
		}
		_ = json.Unmarshal(body.Bytes(), &b)
		writes = writes[:0]
		for _, it := range b.Requests {
			writes = append(writes, it.Body)
		}
	}
	first := false
	l.mu.Lock()
	for _, wb := range writes {
		var key bytes.Buffer
		_ = json.Compact(&key, wb)
		first = first || !l.seen[key.String()]
		l.seen[key.String()] = true
	}
	l.mu.Unlock()
	r2 := r.Clone(r.Context())
	r2.Body = http.NoBody
	r2.Body = readCloser{bytes.NewReader(body.Bytes())}
	if !first {
		l.sim.ServeHTTP(w, r2)
		return
	}
	l.sim.ServeHTTP(httptest.NewRecorder(), r2)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// Under each alternative of each guess, apply converges through the whole
// command line: every move's first answer is lost and its retry meets
// the guessed "already" (and success) answer; the service pages as the
// guess says. Exit 0, every report row says what the tenant shows, and a
// second plan finds nothing to do.
func TestApplyUnderEachGuess(t *testing.T) {
	app := graphsim.UnsignedToken(map[string]any{"idtyp": "app", "appid": "11111111-2222-3333-4444-555555555555", "roles": []string{"Directory.ReadWrite.All"}})
	for _, tc := range []struct{ guess, token string }{
		{"already=400", ""}, {"already=409", ""}, {"already=wording", ""}, {"already=204", ""},
		{"move=201", ""}, {"move=204", ""},
		{"maxtop=3,top=refuse", ""}, {"maxtop=3,top=cap", ""}, {"pagesize=2", ""},
		{"select=ignore", ""}, {"select=refuse", ""},
		{"apponly=allow", app},
		{"already=409,move=201,maxtop=2,top=cap", ""},
	} {
		t.Run(tc.guess, func(t *testing.T) {
			t.Parallel()
			var g graphsim.Guesses
			if err := graphsim.ParseGuess(tc.guess, &g); err != nil {
				t.Fatal(err)
			}
			tn, err := graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
			if err != nil {
				t.Fatal(err)
			}
			sim := graphsim.New(tn, graphsim.Options{Guesses: g, Permissions: true})
			srv := httptest.NewServer(&loseFirstWrite{sim: sim, seen: map[string]bool{}})
			t.Cleanup(srv.Close)
			token := tc.token
			if token == "" {
				token = "test-token"
			}
			h := &harness{t: t, sim: sim, url: srv.URL + "/beta", env: map[string]string{
				"CONNRECON_GRAPH_URL": srv.URL + "/beta", "CONNRECON_AUTH": "token", "CONNRECON_TOKEN": token,
			}}
			dir := t.TempDir()
			if code := h.run("apply", "-m", sampleMapping, "--report-dir", dir, "--yes", "--max-attempts", "3"); code != exitOK {
				t.Fatalf("apply exit %d\nstdout:\n%s\nstderr:\n%s", code, &h.stdout, &h.stderr)
			}
			rep := readReport(t, dir)
			where := map[string]string{}
			for _, c := range sim.State().Connectors {
				where[c.ID] = c.Group
			}
			known := g.AlreadyExistsStatus == 0 || (g.AlreadyExistsStatus == 400 && g.AlreadyExistsMembersMessage == graphsim.DefaultGuesses().AlreadyExistsMembersMessage)
			moves := 0
			notes := map[string]int{}
			for _, a := range rep.Actions {
				if a.Action != "move" {
					continue
				}
				moves++
				notes[a.Reason]++
				in := strings.EqualFold(where[a.ConnectorID], a.ToGroupID)
				if a.Result != "succeeded" || !in || a.Verified == nil || !*a.Verified || a.Attempts != 2 {
					t.Errorf("row %d: %s (in place %v), verified %v, %d attempts, reason %q, error %q", a.Row, a.Result, in, a.Verified, a.Attempts, a.Reason, a.Error)
				}
				// What the second attempt heard decides the note: the known
				// wording, a plain 2xx, or any other refusal settled by a read
				// that the row names.
				switch {
				case a.HTTPStatus/100 == 2 && a.Reason != "":
					t.Errorf("row %d: a 2xx with reason %q", a.Row, a.Reason)
				case a.HTTPStatus == 400 && known && a.Reason != "already in place":
					t.Errorf("row %d: the known wording, reason %q", a.Row, a.Reason)
				case a.HTTPStatus >= 300 && !known && (a.Reason != "confirmed by read" || !strings.Contains(a.Error, "a read right after (request-id ")):
					t.Errorf("row %d: %d settled as %q without the read's request-id: %q", a.Row, a.HTTPStatus, a.Reason, a.Error)
				}
			}
			if moves != 5 {
				t.Errorf("%d moves in the report, want 5", moves)
			}
			if code := h.run("plan", "-m", sampleMapping, "--report-dir", filepath.Join(dir, "replan"), "--detailed-exitcode"); code != exitOK {
				t.Errorf("second plan exit %d, want 0:\n%s", code, &h.stdout)
			}
			js, _ := json.Marshal(notes)
			t.Logf("notes %s", js)
		})
	}
}

// A move that breaks the region rule (from the EU group into the Tokyo
// one) is flagged by plan before anything is sent, and, whatever status
// the service refuses it with, is a failed row with the service's message;
// every other row says what the tenant shows.
func TestRegionRuleUnderEachGuess(t *testing.T) {
	mapping := "Machine Name,Connector Group\n" +
		"fra-appproxy-01.contoso.com,APAC - Tokyo\n" + // eur → japan: breaks the rule
		"sea-appproxy-02.contoso.com,APAC - Tokyo\n" + // nam (the default region) → japan: allowed
		"fra-appproxy-02.contoso.com,EU - Frankfurt\n" +
		"fra-appproxy-03.contoso.com,EU - Frankfurt\n"
	for _, guess := range []string{"region=400", "region=409", "region=403"} {
		t.Run(guess, func(t *testing.T) {
			t.Parallel()
			var g graphsim.Guesses
			if err := graphsim.ParseGuess(guess, &g); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, graphsim.Options{Guesses: g, EnforceRegionRule: true})
			file := writeFile(t, "region.csv", mapping)
			dir := t.TempDir()
			if code := h.run("plan", "-m", file, "--report-dir", filepath.Join(dir, "plan")); code != exitOK {
				t.Fatalf("plan exit %d\n%s\n%s", code, &h.stdout, &h.stderr)
			}
			if !strings.Contains(h.stdout.String(), "fra-appproxy-01.contoso.com") || !strings.Contains(h.stdout.String(), "(region japan) from \"EU - Frankfurt\" (region eur)") {
				t.Errorf("plan does not flag the move that breaks the region rule:\n%s", &h.stdout)
			}
			code := h.run("apply", "-m", file, "--report-dir", filepath.Join(dir, "apply"), "--yes", "--max-attempts", "2")
			if code != exitFailure {
				t.Errorf("apply exit %d, want 1\n%s\n%s", code, &h.stdout, &h.stderr)
			}
			rep := readReport(t, filepath.Join(dir, "apply"))
			where := map[string]string{}
			for _, c := range h.sim.State().Connectors {
				where[c.ID] = c.Group
			}
			for _, a := range rep.Actions {
				if a.Action != "move" {
					continue
				}
				in := strings.EqualFold(where[a.ConnectorID], a.ToGroupID)
				switch a.Result {
				case "succeeded":
					if !in {
						t.Errorf("row %d succeeded, but the connector is not in its group", a.Row)
					}
				case "failed", "notAttempted":
					if in {
						t.Errorf("row %d %s, but the connector is in its group", a.Row, a.Result)
					}
				default:
					t.Errorf("row %d: %s", a.Row, a.Result)
				}
				if a.MachineName == "fra-appproxy-01.contoso.com" {
					if a.Result != "failed" || a.HTTPStatus != g.RegionRuleStatus || !strings.Contains(a.Error, "only from a connector group that uses the default region") {
						t.Errorf("the region-breaking move: %s %d %q", a.Result, a.HTTPStatus, a.Error)
					}
				} else if guess != "region=403" && a.Result != "succeeded" {
					// A 403 stops the run (it reads as a permission refusal):
					// moves after it are not attempted, truthfully.
					t.Errorf("row %d (%s): %s %q", a.Row, a.MachineName, a.Result, a.Error)
				}
			}
		})
	}
}

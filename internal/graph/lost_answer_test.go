package graph

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/internal/graphsim"
	"connrecon/internal/pacer"
)

// A move whose answer was lost (the connection reset after the request
// went out), and whose later attempts fail until attempts run out, is
// unknown, not failed: through the real client and the simulator.
// Verification then reads the target groups: a connector the lost attempt
// moved is a success "confirmed by read", journaled; one it did not move
// stays unknown and unverified.
func TestLostAnswerIsUnknownUntilARead(t *testing.T) {
	const n = 4
	reset := graphsim.Faults{ResetRate: 1}
	resetAfter := graphsim.Faults{ResetRate: 1, ResetAfterApply: true}
	failing := graphsim.Faults{ErrorRate: 1, RetryAfter: time.Millisecond} // 503/504, Retry-After 0
	for _, tc := range []struct {
		name   string
		faults []graphsim.Faults // per attempt of each move; the last repeats
		moved  bool              // the lost attempt applied the move
	}{
		{"applied, answer lost, then 503s", []graphsim.Faults{resetAfter, failing}, true},
		{"applied, every answer lost", []graphsim.Faults{resetAfter}, true},
		{"reset before applying, then 503s", []graphsim.Faults{reset, failing}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn, p := spreadTenant(n)
			sim := graphsim.New(tn, graphsim.Options{Seed: 7})
			pc := pacer.New(pacer.Options{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryTime: time.Minute}, 7)
			f := newFixtureFor(t, sim, Config{Pacer: pc})
			// Concurrency 1: one move at a time, so each attempt's faults
			// can be set before it is sent.
			calls := map[string]int{}
			mover := moverFunc(func(ctx context.Context, cid, gid string) (apierr.Call, error) {
				sim.SetFaults(tc.faults[min(calls[cid], len(tc.faults)-1)])
				calls[cid]++
				return f.client.MoveConnector(ctx, cid, gid)
			})
			journalPath := filepath.Join(t.TempDir(), "journal.jsonl")
			jf, err := executor.OpenJournal(journalPath)
			if err != nil {
				t.Fatal(err)
			}
			defer jf.Close()
			results, err := executor.Run(context.Background(), p, mover, executor.Options{Concurrency: 1, Pacer: pc, Journal: jf})
			if err != nil {
				t.Fatal(err)
			}
			sim.SetFaults(graphsim.Faults{})

			state := map[string]string{}
			for _, c := range sim.State().Connectors {
				state[c.ID] = c.Group
			}
			posts := map[string]int{}
			for _, r := range sim.Requests() {
				if r.Method == http.MethodPost {
					posts[connectorOf(t, r.Body)]++
				}
			}
			for _, r := range results {
				c := p.Changes[r.Change]
				if (state[c.ConnectorID] == c.ToGroupID) != tc.moved {
					t.Fatalf("%s is in %s: the simulator did not do what the case says", c.ConnectorID, state[c.ConnectorID])
				}
				if r.Outcome != executor.Unknown || r.Attempts != 3 || posts[c.ConnectorID] != 3 {
					t.Errorf("%s: %s after %d attempts (%d POSTs): %s; want unknown after 3", c.ConnectorID, r.Outcome, r.Attempts, posts[c.ConnectorID], r.Error)
				}
				if !strings.Contains(r.Error, "may have happened") || !strings.Contains(r.Error, "attempt 1 of 3") {
					t.Errorf("%s: error %q does not say the first answer was lost", c.ConnectorID, r.Error)
				}
			}

			err = executor.Verify(context.Background(), p, results, f.client, executor.VerifyOptions{
				Timeout: 20 * time.Millisecond, Interval: time.Millisecond, Journal: jf})
			var ue *executor.UnverifiedError
			switch {
			case tc.moved && err != nil:
				t.Fatalf("Verify: %v", err)
			case !tc.moved && (!errors.As(err, &ue) || ue.Unknown != n || ue.Unverified != 0):
				t.Fatalf("Verify = %v, want %d moves still unknown", err, n)
			}
			for _, r := range results {
				id := p.Changes[r.Change].ConnectorID
				switch {
				case tc.moved && (!r.ConfirmedByRead() || r.Verified == nil || !*r.Verified || r.Error == ""):
					t.Errorf("%s: %s note %q verified %v, want succeeded, confirmed by read, the lost answer kept", id, r.Outcome, r.Note, r.Verified)
				case !tc.moved && (r.Outcome != executor.Unknown || r.Verified == nil || *r.Verified):
					t.Errorf("%s: %s verified %v, want still unknown, verified false", id, r.Outcome, r.Verified)
				}
			}
			want := executor.VerifyCounts{Unknown: n}
			if tc.moved {
				want = executor.VerifyCounts{Confirmed: n}
			}
			if got := executor.CountVerified(results); got != want {
				t.Errorf("CountVerified = %+v, want %+v", got, want)
			}

			// The journal: a line per move from Run (unknown), then one per
			// settled move from Verify; the last line for a move is its
			// outcome.
			data, err := os.ReadFile(journalPath)
			if err != nil {
				t.Fatal(err)
			}
			entries, err := executor.ReadJournal(strings.NewReader(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			last := map[string]executor.JournalEntry{}
			for _, e := range entries {
				last[e.ConnectorID] = e
			}
			if wantLines := map[bool]int{true: 2 * n, false: n}[tc.moved]; len(entries) != wantLines || len(last) != n {
				t.Errorf("journal: %d lines for %d connectors, want %d for %d", len(entries), len(last), wantLines, n)
			}
			for id, e := range last {
				wantOutcome, wantNote := executor.Unknown, ""
				if tc.moved {
					wantOutcome, wantNote = executor.Succeeded, executor.NoteConfirmedByRead
				}
				if e.Outcome != wantOutcome || e.Note != wantNote || e.Attempts != 3 {
					t.Errorf("journal %s: last line %s %q after %d attempts, want %s %q after 3", id, e.Outcome, e.Note, e.Attempts, wantOutcome, wantNote)
				}
			}
		})
	}
}

// A connection that could not be opened sent nothing: the move failed, it
// is not of unknown fate.
func TestRefusedConnectionIsNotALostAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every dial is refused
	pc := pacer.New(pacer.Options{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryTime: time.Minute}, 1)
	c, err := New(Config{GraphURL: "http://" + addr + "/beta", Auth: Auth{Mode: AuthToken, Token: "test-token"}, Pacer: pc})
	if err != nil {
		t.Fatal(err)
	}
	_, p := spreadTenant(1)
	results, err := executor.Run(context.Background(), p, c, executor.Options{Pacer: pc})
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Outcome != executor.Failed || r.Attempts != 2 {
		t.Errorf("%s after %d attempts (%s), want failed after 2: a refused connection sent nothing", r.Outcome, r.Attempts, r.Error)
	}
}

// gatewayProxy stands between the client and the simulator and answers
// the first times moves of each connector (every move when times is 0)
// with status, after passing the request on to the simulator when forward
// is set: a gateway that gave up waiting (504) or got nothing usable back
// (502).
type gatewayProxy struct {
	gatewayAnswer
	sim *graphsim.Server

	mu  sync.Mutex
	hit map[string]int // per POST body: per connector
}

type gatewayAnswer struct {
	status  int
	body    string
	forward bool
	times   int // answers per connector; 0: every time
}

func (g *gatewayProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/members/$ref") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		g.mu.Lock()
		if g.hit == nil {
			g.hit = map[string]int{}
		}
		g.hit[string(body)]++
		answer := g.times == 0 || g.hit[string(body)] <= g.times
		g.mu.Unlock()
		if answer {
			if g.forward {
				g.sim.ServeHTTP(httptest.NewRecorder(), r)
			}
			if strings.HasPrefix(g.body, "{") {
				w.Header().Set("Content-Type", "application/json")
			} else {
				w.Header().Set("Content-Type", "text/html")
			}
			w.WriteHeader(g.status)
			w.Write([]byte(g.body))
			return
		}
	}
	g.sim.ServeHTTP(w, r)
}

// A move answered 504 or 502 by a gateway may have happened: it is
// unknown, not failed, unless a later attempt settles it, and Verify's
// read decides. Through the real client, with a proxy in front of the
// simulator.
func TestGatewayAnswerIsUnknownUntilARead(t *testing.T) {
	const n = 3
	const html504 = "<html><body><h1>504 Gateway Time-out</h1></body></html>"
	const odata502 = `{"error":{"code":"BadGateway","message":"The upstream server sent no valid answer"}}`
	for _, tc := range []struct {
		name     string
		proxy    gatewayAnswer
		outcome  executor.Outcome // after Run
		attempts int
		errHas   string
		moved    bool   // the simulator applied the moves
		settled  string // after Verify: the note, or "" for still unknown
	}{
		{"passed on, 504 every time", gatewayAnswer{status: 504, body: html504, forward: true},
			executor.Unknown, 3, "attempt 1 of 3 was answered 504", true, executor.NoteConfirmedByRead},
		{"passed on, 502 (not retried)", gatewayAnswer{status: 502, body: odata502, forward: true},
			executor.Unknown, 1, "attempt 1 was answered 502", true, executor.NoteConfirmedByRead},
		{"passed on, 504 once, then Graph's own answer", gatewayAnswer{status: 504, body: html504, forward: true, times: 1},
			executor.Succeeded, 2, "", true, "already in place"},
		{"not passed on, 504 every time", gatewayAnswer{status: 504, body: html504},
			executor.Unknown, 3, "attempt 1 of 3 was answered 504", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn, p := spreadTenant(n)
			gp := &gatewayProxy{gatewayAnswer: tc.proxy, sim: graphsim.New(tn, graphsim.Options{Seed: 7})}
			srv := httptest.NewServer(gp)
			defer srv.Close()
			pc := pacer.New(pacer.Options{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryTime: time.Minute}, 7)
			c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "test-token"}, Pacer: pc})
			if err != nil {
				t.Fatal(err)
			}
			results, err := executor.Run(context.Background(), p, c, executor.Options{Concurrency: 1, Pacer: pc})
			if err != nil {
				t.Fatal(err)
			}
			state := map[string]string{}
			for _, cn := range gp.sim.State().Connectors {
				state[cn.ID] = cn.Group
			}
			for _, r := range results {
				ch := p.Changes[r.Change]
				if (state[ch.ConnectorID] == ch.ToGroupID) != tc.moved {
					t.Fatalf("%s is in %s: the proxy did not do what the case says", ch.ConnectorID, state[ch.ConnectorID])
				}
				if r.Outcome != tc.outcome || r.Attempts != tc.attempts || !strings.Contains(r.Error, tc.errHas) {
					t.Errorf("%s: %s after %d attempts (%q), want %s after %d, saying %q", ch.ConnectorID, r.Outcome, r.Attempts, r.Error, tc.outcome, tc.attempts, tc.errHas)
				}
			}
			err = executor.Verify(context.Background(), p, results, c, executor.VerifyOptions{Timeout: 20 * time.Millisecond, Interval: time.Millisecond})
			if (err == nil) != tc.moved {
				t.Errorf("Verify: %v", err)
			}
			for _, r := range results {
				id := p.Changes[r.Change].ConnectorID
				switch {
				case tc.settled == "" && (r.Outcome != executor.Unknown || r.Verified == nil || *r.Verified):
					t.Errorf("%s: %s verified %v, want still unknown, verified false", id, r.Outcome, r.Verified)
				case tc.settled != "" && (r.Outcome != executor.Succeeded || r.Note != tc.settled || r.Verified == nil || !*r.Verified):
					t.Errorf("%s: %s %q verified %v, want succeeded %q, verified", id, r.Outcome, r.Note, r.Verified, tc.settled)
				}
			}
		})
	}
}

package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/internal/graphsim"
	"connrecon/internal/pacer"
	"connrecon/plan"
)

// spreadTenant has n connectors in the default group and a plan (built
// directly, so these tests do not depend on the planner's options) moving
// connector i into group 1 + i%4.
func spreadTenant(n int) (*graphsim.Tenant, *plan.Plan) {
	tn, _ := hostileTenant(n)
	p := &plan.Plan{}
	for i, c := range tn.Connectors {
		to := tn.Groups[1+i%4]
		p.Changes = append(p.Changes, plan.Change{Row: i + 2, ConnectorID: c.ID, MachineName: c.MachineName, ConnectorStatus: "active",
			FromGroupID: c.Group, FromGroupName: "Default", ToGroupID: to.ID, ToGroupName: to.Name, Action: plan.ActionMove, Wave: 1})
	}
	return tn, p
}

// throttleWindows groups the server's 429 answers into throttle windows:
// a 429 that arrives while an earlier one's Retry-After is still running
// belongs to that earlier window (the client sent it before it could know,
// or ignored what it was told). It returns the number of 429s and of
// windows.
func throttleWindows(log []graphsim.LoggedRequest, retryAfter time.Duration) (throttled, windows int) {
	var at []time.Time
	for _, r := range log {
		if r.Status == http.StatusTooManyRequests {
			at = append(at, r.Time)
		}
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	var end time.Time
	for _, t := range at {
		if !t.Before(end) {
			windows++
		}
		if e := t.Add(retryAfter); e.After(end) {
			end = e
		}
	}
	return len(at), windows
}

// The hostile tenant: 20% of requests throttled with a real
// Retry-After (1s), 5% answered 503/504 (half the 503s with Retry-After),
// 1% connections reset, 5–15 ms latency. Every move converges, attempts are
// recorded per move (in the results and the journal), no connector is
// POSTed again after its success, and the shared pause keeps the 429s to a
// few per throttle window.
func TestApplyConvergesUnderThrottlingWithRetryAfter(t *testing.T) {
	const (
		n           = 64
		concurrency = 16
		retryAfter  = time.Second
	)
	tn, p := spreadTenant(n)
	faults := graphsim.Faults{ThrottleRate: 0.20, RetryAfter: retryAfter, ErrorRate: 0.05, ResetRate: 0.01,
		Latency: 5 * time.Millisecond, Jitter: 10 * time.Millisecond}
	// Seed 10 puts a reset at the 7th request and a 503 with Retry-After at
	// the 22nd, so both faults are certain to bite whatever the scheduling.
	sim := graphsim.New(tn, graphsim.Options{Seed: 10, Faults: faults})
	// More attempts than the default 8: with 26% of answers failing at
	// random, this keeps the chance that some move runs out of attempts
	// far below one in a million (0.26^15 per move).
	pc := pacer.New(pacer.Options{MaxAttempts: 15, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond}, 10)
	// One move per request, as the seed's faults are placed by request
	// (batch_test.go has the batched cases).
	f := newFixtureFor(t, sim, Config{Pacer: pc, BatchSize: 1})
	journalPath := filepath.Join(t.TempDir(), "journal.jsonl")
	jf, err := executor.OpenJournal(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()

	results, err := executor.Run(context.Background(), p, f.client, executor.Options{Concurrency: concurrency, Pacer: pc, Journal: jf})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != n {
		t.Fatalf("%d results for %d moves", len(results), n)
	}
	retried := 0
	for _, r := range results {
		if r.Outcome != executor.Succeeded || r.Attempts < 1 || r.Call.RequestID == "" {
			t.Errorf("move %d: %s after %d attempts: %s (call %+v)", r.Change, r.Outcome, r.Attempts, r.Error, r.Call)
		}
		if r.Attempts > 1 {
			retried++
		}
	}

	// The tenant matches the plan.
	want := map[string]string{}
	for _, c := range p.Changes {
		want[c.ConnectorID] = c.ToGroupID
	}
	for _, c := range sim.State().Connectors {
		if c.Group != want[c.ID] {
			t.Errorf("%s in %s, want %s", c.MachineName, c.Group, want[c.ID])
		}
	}

	// No POST after the one that succeeded; the attempts reported are the
	// POSTs the server saw, resets included.
	log := sim.Requests()
	faults429, faultsByKind := 0, map[string]int{}
	for _, r := range log {
		faultsByKind[r.Fault]++
		if r.Status == http.StatusTooManyRequests {
			faults429++
		}
	}
	posts, _ := movesSeen(t, log)
	for _, r := range results {
		id := p.Changes[r.Change].ConnectorID
		if posts[id] != r.Attempts {
			t.Errorf("connector %s: %d attempts reported, the server saw %d POSTs", id, r.Attempts, posts[id])
		}
	}
	for _, kind := range []string{"throttle", "503", "reset"} {
		if faultsByKind[kind] == 0 {
			t.Errorf("no %q fault was injected: the test did not test it", kind)
		}
	}

	// The journal has one complete line per move, with the same attempts.
	data, err := os.ReadFile(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := executor.ReadJournal(bytes.NewReader(data))
	if err != nil || len(entries) != n {
		t.Fatalf("journal: %d entries, %v; want %d", len(entries), err, n)
	}
	for _, e := range entries {
		if e.Outcome != executor.Succeeded || e.Attempts != posts[e.ConnectorID] {
			t.Errorf("journal %s: %s after %d attempts, the server saw %d POSTs", e.ConnectorID, e.Outcome, e.Attempts, posts[e.ConnectorID])
		}
	}

	// The shared pause. Once one 429 comes back, no worker sends until its
	// Retry-After has passed, so the only requests a window can catch are
	// those already on the wire before the client heard of it: about one
	// per worker at most, of which 20% are throttled, so about
	// 1 + 0.2*(16-1) = 4 429s per window are expected. The bound asserted
	// is one per worker per window (ratio <= concurrency = 16). Without the
	// shared pause every other worker would keep sending for the whole
	// second, about 16 requests per 10 ms, and the ratio would be in the
	// hundreds.
	throttled, windows := throttleWindows(log, retryAfter)
	if windows == 0 {
		t.Fatal("no throttle window: the faults did not bite")
	}
	ratio := float64(throttled) / float64(windows)
	if ratio > concurrency {
		t.Errorf("%d 429 answers in %d throttle windows (%.1f per window), want at most %d per window: workers are not sharing the pause",
			throttled, windows, ratio, concurrency)
	}
	st := pc.Stats()
	t.Logf("%d moves, %d retried; %d requests: %v; %d 429s in %d server-side windows (%.1f per window); pacer: %+v",
		n, retried, len(log), faultsByKind, throttled, windows, ratio, st)
	if st.Pauses == 0 {
		t.Error("the pacer never paused")
	}
}

// stepClock is the simulator's clock in tests that need replication delay
// to end on cue rather than after real time.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Verification against eventual consistency: for 10 (simulated) seconds
// after the moves, member reads still show the connectors in their old
// group. Verify polls; each wait advances the simulator's clock 4s, so the
// moves become visible at the fourth round. With a Timeout that ends while
// the reads are still stale, every move is reported verified=false.
func TestVerifyRidesOutReplicationDelay(t *testing.T) {
	const n = 20
	for _, tc := range []struct {
		name       string
		advance    time.Duration // simulated time per wait between rounds
		timeout    time.Duration
		wantOK     bool
		wantRounds int // member reads per affected group; 0: not checked
	}{
		{"delay ends before the timeout", 4 * time.Second, time.Minute, true, 4},
		{"timeout shorter than the delay", 0, 50 * time.Millisecond, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn, p := spreadTenant(n)
			clock := &stepClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			sim := graphsim.New(tn, graphsim.Options{Now: clock.Now, Faults: graphsim.Faults{StaleFor: 10 * time.Second}})
			f := newFixtureFor(t, sim, Config{Pacer: fastPacer(), PageSize: 3}) // small pages: nextLinks are followed
			results, err := executor.Run(context.Background(), p, f.client, executor.Options{Concurrency: 4, Pacer: fastPacer()})
			if err != nil {
				t.Fatal(err)
			}
			sim.ResetLog()
			opts := executor.VerifyOptions{Timeout: tc.timeout, Interval: time.Millisecond,
				OnWait: func(int, time.Duration) { clock.Advance(tc.advance) }}
			err = executor.Verify(context.Background(), p, results, f.client, opts)

			var ue *executor.UnverifiedError
			switch {
			case tc.wantOK && err != nil:
				t.Fatalf("Verify: %v", err)
			case !tc.wantOK && (!errors.As(err, &ue) || ue.Unverified != n):
				t.Fatalf("Verify = %v, want all %d moves unverified", err, n)
			}
			for _, r := range results {
				if r.Verified == nil || *r.Verified != tc.wantOK {
					t.Errorf("move %d: verified %v, want %v", r.Change, r.Verified, tc.wantOK)
				}
			}
			// Rounds: first-page reads per group (a nextLink carries a
			// skiptoken). Every round reads every group still missing a move.
			rounds, pages := map[string]int{}, 0
			for _, r := range sim.Items() {
				if r.Method != http.MethodGet {
					t.Errorf("verification sent %s %s", r.Method, r.Path)
				}
				if pages++; !strings.Contains(strings.ToLower(r.Query), "skiptoken") {
					rounds[r.Path]++
				}
			}
			if tc.wantRounds > 0 {
				if len(rounds) != 4 {
					t.Errorf("%d groups read, want the 4 target groups", len(rounds))
				}
				for path, got := range rounds {
					if got != tc.wantRounds {
						t.Errorf("%s read %d times, want %d", path, got, tc.wantRounds)
					}
				}
				// Stale rounds list no member of the group (one page); the
				// last lists its 5 connectors (two pages of 3).
				if want := 4 * (tc.wantRounds + 1); pages != want {
					t.Errorf("%d pages read, want %d", pages, want)
				}
			}
		})
	}
}

func TestGroupMembers(t *testing.T) {
	tn := bigTenant(25, 2)
	f := newFixture(t, tn, graphsim.Options{}, Config{PageSize: 4})
	want := map[string][]string{}
	for _, c := range tn.Connectors {
		want[c.Group] = append(want[c.Group], c.ID)
	}
	for _, g := range tn.Groups {
		got, _, err := f.client.GroupMembers(context.Background(), g.ID)
		if err != nil {
			t.Fatalf("%s: %v", g.Name, err)
		}
		sort.Strings(got)
		w := append([]string{}, want[g.ID]...)
		sort.Strings(w)
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: members %v, want %v", g.Name, got, w)
		}
	}
	_, _, err := f.client.GroupMembers(context.Background(), "00000000-0000-0000-0000-00000000dead")
	if apierr.ClassOf(err) != apierr.NotFound {
		t.Errorf("unknown group: %v, want a not-found error", err)
	}
}

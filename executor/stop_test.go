package executor

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"connrecon/internal/apierr"
	"connrecon/internal/pacer"
	"connrecon/plan"
)

// runAsync runs Run in a goroutine so that a test can interrupt it; the
// watchdog turns a hang into a failure.
type runResult struct {
	results []Result
	err     error
}

func runAsync(ctx context.Context, p *plan.Plan, m Mover, opts Options) <-chan runResult {
	ch := make(chan runResult, 1)
	go func() {
		r, err := Run(ctx, p, m, opts)
		ch <- runResult{r, err}
	}()
	return ch
}

func awaitRun(t *testing.T, ch <-chan runResult) runResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(watchdog):
		t.Fatal("Run did not return")
		return runResult{}
	}
}

func outcomes(p *plan.Plan, results []Result) map[string]Outcome {
	m := map[string]Outcome{}
	for _, r := range results {
		m[p.Changes[r.Change].ConnectorID] = r.Outcome
	}
	return m
}

// heldMover holds every call at a gate until release is closed, and
// reports each arrival; it records whether the request's context was still
// alive when the call answered.
type heldMover struct {
	*fakeMover
	arrived chan string
	release chan struct{}

	mu       sync.Mutex
	ctxAlive map[string]bool // connector → context alive when answered
}

func newHeldMover(capacity int) *heldMover {
	h := &heldMover{fakeMover: newFakeMover(), arrived: make(chan string, capacity), release: make(chan struct{}), ctxAlive: map[string]bool{}}
	h.gate = func(ctx context.Context, id string) error {
		h.arrived <- id
		select {
		case <-h.release:
		case <-ctx.Done():
		}
		h.mu.Lock()
		h.ctxAlive[id] = ctx.Err() == nil
		h.mu.Unlock()
		return ctx.Err()
	}
	return h
}

func (h *heldMover) waitArrivals(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-h.arrived:
		case <-time.After(watchdog):
			t.Fatalf("fewer than %d calls arrived", n)
		}
	}
}

// Ctrl-C with requests in flight: nothing new is sent, the requests in
// flight finish normally within the grace period and keep their answers.
func TestRunInterruptLetsInFlightFinish(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pacer *pacer.Pacer
	}{
		{"without pacer", nil},
		{"with pacer", fastPacer(6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := movesPlan(6)
			h := newHeldMover(6)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := runAsync(ctx, p, h, Options{Concurrency: 3, Pacer: tc.pacer, Grace: time.Hour})
			h.waitArrivals(t, 3) // every slot holds a request in flight
			cancel()
			close(h.release) // the answers arrive after the interrupt
			r := awaitRun(t, done)

			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", r.err)
			}
			want := map[string]Outcome{"c1": Succeeded, "c2": Succeeded, "c3": Succeeded, "c4": NotAttempted, "c5": NotAttempted, "c6": NotAttempted}
			if got := outcomes(p, r.results); !reflect.DeepEqual(got, want) {
				t.Errorf("outcomes %v, want %v", got, want)
			}
			for _, id := range []string{"c1", "c2", "c3"} {
				if !h.ctxAlive[id] {
					t.Errorf("%s: the request's context was cancelled by the interrupt; it must live until the grace period ends", id)
				}
			}
			if h.totalCalls() != 3 {
				t.Errorf("%d calls, want 3: nothing is sent after the interrupt", h.totalCalls())
			}
		})
	}
}

// A request still in flight when the grace period runs out is cut off; its
// move is Unknown (it may have landed), not Failed.
func TestRunGraceCutsOffStuckRequests(t *testing.T) {
	p := movesPlan(4)
	h := newHeldMover(4) // never released: only the grace deadline ends the calls
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var reported []Outcome
	done := runAsync(ctx, p, h, Options{Concurrency: 2, Pacer: fastPacer(6), Grace: time.Millisecond,
		OnResult: func(r Result) { mu.Lock(); reported = append(reported, r.Outcome); mu.Unlock() }})
	h.waitArrivals(t, 2)
	cancel()
	r := awaitRun(t, done)

	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", r.err)
	}
	want := map[string]Outcome{"c1": Unknown, "c2": Unknown, "c3": NotAttempted, "c4": NotAttempted}
	if got := outcomes(p, r.results); !reflect.DeepEqual(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	for _, res := range r.results[:2] {
		if res.Attempts != 1 || !strings.Contains(res.Error, "may or may not have reached Graph") || !strings.Contains(res.Error, "grace period") {
			t.Errorf("%s: %+v, want one attempt and an error saying the request was cut off", p.Changes[res.Change].ConnectorID, res)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(reported, []Outcome{Unknown, Unknown}) {
		t.Errorf("OnResult saw %v, want the two unknown moves", reported)
	}
}

// The interrupt arrives while a move waits to retry: the wait ends at
// once, the move is Failed with the reason and its last call, and a move
// that never got to send is NotAttempted.
func TestRunInterruptDuringRetryWait(t *testing.T) {
	throttled := &apierr.Error{Call: apierr.Call{Status: 429, RequestID: "req-429", ClientRequestID: "cli-429"}, Class: apierr.Transient,
		Code: "TooManyRequests", Message: "Too many requests", RetryAfter: time.Hour}

	t.Run("after an attempt", func(t *testing.T) {
		p := movesPlan(3)
		f := newFakeMover().on("c1", reply{throttled.Call, throttled})
		pc := pacer.New(pacer.Options{MaxRetryTime: 2 * time.Hour}, 1)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := runAsync(ctx, p, f, Options{Concurrency: 1, Pacer: pc})
		waitPauses(t, pc, 1) // c1 was told to wait an hour
		cancel()
		r := awaitRun(t, done) // the hour's wait must end now

		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", r.err)
		}
		c1 := r.results[0]
		if c1.Outcome != Failed || c1.Attempts != 1 || c1.Call != throttled.Call {
			t.Errorf("c1: %+v, want failed after 1 attempt keeping the 429's call", c1)
		}
		if want := "interrupted while waiting to retry after " + throttled.Error(); c1.Error != want {
			t.Errorf("c1 error %q, want %q", c1.Error, want)
		}
		if got := outcomes(p, r.results); got["c2"] != NotAttempted || got["c3"] != NotAttempted {
			t.Errorf("outcomes %v, want c2 and c3 not attempted", got)
		}
		if f.totalCalls() != 1 {
			t.Errorf("%d calls, want 1", f.totalCalls())
		}
	})

	t.Run("before the first attempt", func(t *testing.T) {
		// Another call's Retry-After has paused the pacer for an hour; it
		// gave up at once (MaxRetryTime), the pause stands.
		pc := pacer.New(pacer.Options{MaxRetryTime: time.Millisecond}, 1)
		if _, err := pc.Call(context.Background(), func(context.Context) error { return throttled }); err == nil {
			t.Fatal("priming call succeeded")
		}
		p := movesPlan(3)
		f := newFakeMover()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := runAsync(ctx, p, f, Options{Concurrency: 3, Pacer: pc})
		// Give the workers a chance to reach the pause; the outcome is the
		// same if they have not (the pause holds for an hour either way).
		for range 100 {
			runtime.Gosched()
		}
		cancel()
		r := awaitRun(t, done)
		for _, res := range r.results {
			if res.Outcome != NotAttempted || res.Attempts != 0 || res.Error != "" {
				t.Errorf("%s: %+v, want not attempted", p.Changes[res.Change].ConnectorID, res)
			}
		}
		if f.totalCalls() != 0 {
			t.Errorf("%d calls during the pause", f.totalCalls())
		}
	})

	t.Run("answer in flight is transient", func(t *testing.T) {
		// The attempt was in flight at the interrupt and came back 429: the
		// retry it would have made is not sent.
		p := movesPlan(2)
		h := newHeldMover(2)
		h.on("c1", reply{throttled.Call, throttled})
		h.gate = func(ctx context.Context, id string) error {
			h.arrived <- id
			<-h.release
			return nil // answer with the script
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := runAsync(ctx, p, h, Options{Concurrency: 1, Pacer: fastPacer(6), Grace: time.Hour})
		h.waitArrivals(t, 1)
		cancel()
		close(h.release)
		r := awaitRun(t, done)
		c1 := r.results[0]
		if c1.Outcome != Failed || c1.Attempts != 1 || c1.Call != throttled.Call || !strings.HasPrefix(c1.Error, "interrupted while waiting to retry after") {
			t.Errorf("c1: %+v, want failed, interrupted before its retry", c1)
		}
		if r.results[1].Outcome != NotAttempted || h.totalCalls() != 1 {
			t.Errorf("c2 %s after %d calls, want not attempted after 1", r.results[1].Outcome, h.totalCalls())
		}
	})
}

// A 403 in one worker stops new moves, but the other workers' requests in
// flight finish normally: they must not be turned into "context canceled"
// failures.
func TestRunFatalDoesNotPoisonInFlightMoves(t *testing.T) {
	denied := &apierr.Error{Call: apierr.Call{Status: 403, RequestID: "req-403"}, Class: apierr.Auth,
		Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation.", Hint: "needs Directory.ReadWrite.All"}
	for _, tc := range []struct {
		name  string
		pacer *pacer.Pacer
	}{
		{"without pacer", nil},
		{"with pacer", fastPacer(6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := movesPlan(5)
			h := newHeldMover(5)
			h.on("c3", reply{denied.Call, denied})
			held := h.gate
			h.gate = func(ctx context.Context, id string) error {
				if id != "c3" {
					return held(ctx, id)
				}
				// The 403 comes back while c1 and c2 are in flight.
				deadline := time.Now().Add(watchdog)
				for h.current() < 3 && time.Now().Before(deadline) {
					runtime.Gosched()
				}
				return nil
			}
			var once sync.Once
			// c1 and c2 answer only once the 403 has been recorded, so they
			// are in flight when the run stops.
			onResult := func(r Result) {
				if p.Changes[r.Change].ConnectorID == "c3" {
					once.Do(func() { close(h.release) })
				}
			}
			results, err := Run(watchdogCtx(t), p, h, Options{Concurrency: 3, Pacer: tc.pacer, Grace: time.Hour, OnResult: onResult})

			var fatal *FatalError
			if !errors.As(err, &fatal) || apierr.ClassOf(err) != apierr.Auth {
				t.Fatalf("err = %v (%T), want the 403 as *FatalError", err, err)
			}
			want := map[string]Outcome{"c1": Succeeded, "c2": Succeeded, "c3": Failed, "c4": NotAttempted, "c5": NotAttempted}
			if got := outcomes(p, results); !reflect.DeepEqual(got, want) {
				t.Errorf("outcomes %v, want %v", got, want)
			}
			for _, id := range []string{"c1", "c2"} {
				if !h.ctxAlive[id] {
					t.Errorf("%s: its request's context was cancelled by another worker's 403", id)
				}
			}
			if h.totalCalls() != 3 {
				t.Errorf("%d calls, want 3: nothing is sent after the 403", h.totalCalls())
			}
		})
	}
}

// waitPauses spins until pc has begun n throttle windows: how a test knows
// a worker has been told to wait.
func waitPauses(t *testing.T, pc *pacer.Pacer, n int) {
	t.Helper()
	deadline := time.Now().Add(watchdog)
	for pc.Pauses() < n {
		if time.Now().After(deadline) {
			t.Fatalf("pauses = %d, never reached %d", pc.Pauses(), n)
		}
		runtime.Gosched()
	}
}

// A 403 while another move sleeps in its backoff: that move stops waiting
// at once and keeps its own last error and call; the run's error is the
// 403, not the interrupted retry.
func TestRunFatalInterruptsRetryWait(t *testing.T) {
	throttled := &apierr.Error{Call: apierr.Call{Status: 503, RequestID: "req-503"}, Class: apierr.Transient, Code: "serviceUnavailable", Message: "try later"}
	denied := &apierr.Error{Call: apierr.Call{Status: 403, RequestID: "req-403"}, Class: apierr.Auth, Code: "Authorization_RequestDenied", Message: "denied"}
	p := movesPlan(3)
	f := newFakeMover().on("c1", reply{throttled.Call, throttled}).on("c2", reply{denied.Call, denied})
	f.gate = func(ctx context.Context, id string) error {
		if id != "c2" {
			return nil
		}
		// The 403 comes back once c1's 503 has: c1 is about to sleep for
		// half an hour or more, or sleeping.
		deadline := time.Now().Add(watchdog)
		for time.Now().Before(deadline) {
			for _, e := range f.history() {
				if !e.start && e.connectorID == "c1" {
					return nil
				}
			}
			runtime.Gosched()
		}
		return nil
	}
	pc := pacer.New(pacer.Options{BaseDelay: time.Hour, MaxDelay: time.Hour, MaxRetryTime: 2 * time.Hour}, 1)
	results, err := Run(watchdogCtx(t), p, f, Options{Concurrency: 2, Pacer: pc})

	var fatal *FatalError
	if !errors.As(err, &fatal) || apierr.CallOf(err).RequestID != "req-403" {
		t.Fatalf("err = %v, want the 403 as *FatalError", err)
	}
	c1 := results[0]
	if c1.Outcome != Failed || c1.Attempts != 1 || c1.Call != throttled.Call || c1.Error != "interrupted while waiting to retry after "+throttled.Error() {
		t.Errorf("c1: %+v, want failed after its 503, interrupted before the retry", c1)
	}
	if results[2].Outcome != NotAttempted || f.totalCalls() != 2 {
		t.Errorf("c3 %s after %d calls, want not attempted after 2", results[2].Outcome, f.totalCalls())
	}
}

// A later wave's move out of a group is held back when the earlier move
// into that group failed: the waves were ordered so the group never runs
// dry, and that order no longer holds.
func TestLaterWaveHeldBackWhenInflowFailed(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		{Action: plan.ActionMove, ConnectorID: "y", MachineName: "y", FromGroupID: "A", ToGroupID: "G", ToGroupName: "G", Wave: 1},
		{Action: plan.ActionMove, ConnectorID: "z", MachineName: "z", FromGroupID: "A", ToGroupID: "H", ToGroupName: "H", Wave: 1},
		{Action: plan.ActionMove, ConnectorID: "x", MachineName: "x", FromGroupID: "G", ToGroupID: "K", ToGroupName: "K", Wave: 2},
		{Action: plan.ActionMove, ConnectorID: "w", MachineName: "w", FromGroupID: "K", ToGroupID: "L", ToGroupName: "L", Wave: 3},
		{Action: plan.ActionMove, ConnectorID: "v", MachineName: "v", FromGroupID: "H", ToGroupID: "L", ToGroupName: "L", Wave: 2},
	}}
	var mu sync.Mutex
	var sent []string
	m := moverFunc(func(_ context.Context, cid, _ string) (apierr.Call, error) {
		mu.Lock()
		sent = append(sent, cid)
		mu.Unlock()
		if cid == "y" {
			return apierr.Call{Status: 400}, &apierr.Error{Call: apierr.Call{Status: 400}, Class: apierr.Other, Message: "region rule"}
		}
		return apierr.Call{Status: 204}, nil
	})
	results, err := Run(context.Background(), p, m, Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	byConn := map[string]Result{}
	for _, r := range results {
		byConn[p.Changes[r.Change].ConnectorID] = r
	}
	if byConn["y"].Outcome != Failed || byConn["z"].Outcome != Succeeded || byConn["v"].Outcome != Succeeded {
		t.Errorf("y %s, z %s, v %s", byConn["y"].Outcome, byConn["z"].Outcome, byConn["v"].Outcome)
	}
	// x leaves G, whose inflow y failed; w leaves K, whose inflow x was held.
	for _, c := range []string{"x", "w"} {
		if r := byConn[c]; r.Outcome != NotAttempted || !strings.Contains(r.Error, "not sent") {
			t.Errorf("%s: %s %q, want held back", c, r.Outcome, r.Error)
		}
	}
	if len(sent) != 3 {
		t.Errorf("sent %v, want y, z and v only", sent)
	}
}

type moverFunc func(ctx context.Context, cid, gid string) (apierr.Call, error)

func (f moverFunc) MoveConnector(ctx context.Context, cid, gid string) (apierr.Call, error) {
	return f(ctx, cid, gid)
}

func (f moverFunc) MoveApplication(ctx context.Context, aid, gid string) (apierr.Call, error) {
	return f(ctx, aid, gid)
}

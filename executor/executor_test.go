package executor

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connrecon/internal/apierr"
	"connrecon/internal/pacer"
	"connrecon/plan"
)

// watchdog only turns a deadlock into a failure; nothing waits for it.
const watchdog = 10 * time.Second

func move(id string, wave int) plan.Change {
	return plan.Change{Row: 2, ConnectorID: id, MachineName: id + ".corp", FromGroupID: "g-old", ToGroupID: "g-" + id, Action: plan.ActionMove, Wave: wave}
}

// movesPlan is n wave-1 moves c1…cn.
func movesPlan(n int) *plan.Plan {
	p := &plan.Plan{}
	for i := 1; i <= n; i++ {
		p.Changes = append(p.Changes, move(fmt.Sprintf("c%d", i), 1))
	}
	return p
}

// fastPacer retries within microseconds.
func fastPacer(maxAttempts int) *pacer.Pacer {
	return pacer.New(pacer.Options{MaxAttempts: maxAttempts, MaxRetryTime: time.Minute, BaseDelay: time.Microsecond, MaxDelay: 10 * time.Microsecond}, 1)
}

func watchdogCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	t.Cleanup(cancel)
	return ctx
}

func byConnector(p *plan.Plan, results []Result) map[string]Result {
	m := map[string]Result{}
	for _, r := range results {
		m[p.Changes[r.Change].ConnectorID] = r
	}
	return m
}

func TestRunOneResultPerMove(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		move("c1", 1),
		{Row: 3, ConnectorID: "n1", Action: plan.ActionNoop, FromGroupID: "g1", ToGroupID: "g1"},
		move("c2", 1),
		{Row: 4, Action: plan.ActionInvalid, Reason: "no connector named \"x\" in the tenant"},
		move("c3", 1),
		{ConnectorID: "u1", Action: plan.ActionUnmanaged},
	}}
	f := newFakeMover()
	results, err := Run(context.Background(), p, f, Options{Concurrency: 2})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var gotIdx []int
	for _, r := range results {
		gotIdx = append(gotIdx, r.Change)
	}
	if want := []int{0, 2, 4}; !reflect.DeepEqual(gotIdx, want) {
		t.Fatalf("result Change indexes = %v, want %v", gotIdx, want)
	}
	for _, r := range results {
		c := p.Changes[r.Change]
		if r.Outcome != Succeeded || r.Attempts != 1 || r.Error != "" || r.Note != "" {
			t.Errorf("%s: %+v, want a plain success", c.ConnectorID, r)
		}
		// The Result carries the trace ids of its own connector's call.
		if want := okCall(c.ConnectorID, 1); r.Call != want {
			t.Errorf("%s: Call = %+v, want %+v", c.ConnectorID, r.Call, want)
		}
		if r.StartedAt.IsZero() || r.FinishedAt.Before(r.StartedAt) {
			t.Errorf("%s: StartedAt %v, FinishedAt %v", c.ConnectorID, r.StartedAt, r.FinishedAt)
		}
		if got := f.groups[c.ConnectorID]; got != c.ToGroupID {
			t.Errorf("%s moved to %q, want %q", c.ConnectorID, got, c.ToGroupID)
		}
	}
	for _, id := range []string{"n1", "u1", ""} {
		if n := f.callCount(id); n != 0 {
			t.Errorf("non-move %q was sent %d times", id, n)
		}
	}
	if f.totalCalls() != 3 {
		t.Errorf("calls = %d, want 3", f.totalCalls())
	}
}

func TestRunNoMoves(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{{Row: 2, ConnectorID: "n1", Action: plan.ActionNoop}}}
	f := newFakeMover()
	results, err := Run(context.Background(), p, f, Options{})
	if err != nil || len(results) != 0 || f.totalCalls() != 0 {
		t.Errorf("Run = %v, %v with %d calls; want no results, no calls", results, err, f.totalCalls())
	}
}

func TestRunConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
		moves       int
		wantPeak    int
	}{
		{"one at a time", 1, 6, 1},
		{"three", 3, 20, 3},
		{"default is 8", 0, 20, 8},
		{"fewer moves than slots", 8, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeMover()
			f.gate = barrier(f, tc.wantPeak)
			results, err := Run(watchdogCtx(t), movesPlan(tc.moves), f, Options{Concurrency: tc.concurrency})
			if err != nil {
				t.Fatalf("Run: %v (the barrier of %d was never reached?)", err, tc.wantPeak)
			}
			if got := f.peak(); got != tc.wantPeak {
				t.Errorf("peak in-flight calls = %d, want %d", got, tc.wantPeak)
			}
			for _, r := range results {
				if r.Outcome != Succeeded {
					t.Errorf("change %d: %s %s", r.Change, r.Outcome, r.Error)
				}
			}
		})
	}
}

// Batched (BatchSize > 1), Concurrency×BatchSize moves are in flight, so
// that batches fill; the run's first move goes out alone, before any
// other, and a 403 to it stops the run with nothing else sent.
func TestRunBatched(t *testing.T) {
	f := newFakeMover()
	var firstAlone atomic.Bool
	calls := atomic.Int32{}
	wait := barrier(f, 6)
	f.gate = func(ctx context.Context, id string) error {
		if calls.Add(1) == 1 {
			firstAlone.Store(f.current() == 1)
			return nil // the first is alone: nothing to wait for
		}
		return wait(ctx, id)
	}
	results, err := Run(watchdogCtx(t), movesPlan(13), f, Options{Concurrency: 2, BatchSize: 3})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !firstAlone.Load() || f.peak() != 6 {
		t.Errorf("first move alone %v, peak %d in flight; want alone, then 2×3", firstAlone.Load(), f.peak())
	}
	for _, r := range results {
		if r.Outcome != Succeeded {
			t.Errorf("change %d: %s %s", r.Change, r.Outcome, r.Error)
		}
	}

	denied := newFakeMover()
	denied.on(movesPlan(1).Changes[0].ConnectorID, reply{call: apierr.Call{Status: 403, RequestID: "r", ClientRequestID: "c"}, err: &apierr.Error{Call: apierr.Call{Status: 403, RequestID: "r", ClientRequestID: "c"}, Class: apierr.Auth, Message: "Insufficient privileges"}})
	results, err = Run(watchdogCtx(t), movesPlan(10), denied, Options{Concurrency: 8, BatchSize: 20})
	var fatal *FatalError
	if !errors.As(err, &fatal) || denied.peak() != 1 || len(denied.events) != 2 {
		t.Errorf("Run = %v, %d calls (peak %d); want a fatal error after one call", err, len(denied.events)/2, denied.peak())
	}
	if n := outcomesCount(results, NotAttempted); n != 9 {
		t.Errorf("%d not attempted, want 9", n)
	}
}

func outcomesCount(results []Result, o Outcome) int {
	n := 0
	for _, r := range results {
		if r.Outcome == o {
			n++
		}
	}
	return n
}

// barrier is a gate at which calls wait until peak are in flight together,
// so reaching a limit does not depend on timing. Before letting them go
// it yields a while: an executor ignoring the limit would start more calls
// meanwhile and push the peak above it.
func barrier(f *fakeMover, peak int) func(context.Context, string) error {
	full := make(chan struct{})
	var once sync.Once
	return func(ctx context.Context, _ string) error {
		if f.current() >= peak {
			once.Do(func() {
				for range 100 {
					runtime.Gosched()
				}
				close(full)
			})
		}
		select {
		case <-full:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func TestRunWavesInOrder(t *testing.T) {
	// Wave-2 changes come first in the plan: order must follow Wave.
	p := &plan.Plan{Changes: []plan.Change{
		move("w2a", 2), move("w1a", 1), move("w2b", 2), move("w1slow", 1), move("w1b", 1), move("w2c", 2),
	}}
	wave := map[string]int{}
	for _, c := range p.Changes {
		wave[c.ConnectorID] = c.Wave
	}
	f := newFakeMover()
	// The slow wave-1 call holds on until the other wave-1 calls have
	// returned, then yields: free slots that a wave-2 call must not take.
	f.gate = func(ctx context.Context, id string) error {
		if id != "w1slow" {
			return nil
		}
		for ctx.Err() == nil {
			ended := 0
			for _, e := range f.history() {
				if !e.start && wave[e.connectorID] == 1 {
					ended++
				}
			}
			if ended == 2 {
				break
			}
			runtime.Gosched()
		}
		for range 100 {
			runtime.Gosched()
		}
		return ctx.Err()
	}
	results, err := Run(watchdogCtx(t), p, f, Options{Concurrency: 4})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	lastWave1End, firstWave2Start := -1, -1
	for _, e := range f.history() {
		switch {
		case !e.start && wave[e.connectorID] == 1:
			lastWave1End = e.seq
		case e.start && wave[e.connectorID] == 2 && firstWave2Start < 0:
			firstWave2Start = e.seq
		}
	}
	if firstWave2Start < 0 || lastWave1End < 0 || firstWave2Start < lastWave1End {
		t.Errorf("wave 2 started (event %d) before wave 1 finished (event %d): %+v", firstWave2Start, lastWave1End, f.history())
	}
	var order []int
	for _, r := range results {
		order = append(order, p.Changes[r.Change].Wave)
		if r.Outcome != Succeeded {
			t.Errorf("%s: %s", p.Changes[r.Change].ConnectorID, r.Outcome)
		}
	}
	if want := []int{1, 1, 1, 2, 2, 2}; !reflect.DeepEqual(order, want) {
		t.Errorf("results by wave = %v, want apply order %v", order, want)
	}
}

func TestRunOutcomes(t *testing.T) {
	notFound := &apierr.Error{Call: apierr.Call{Status: 404, RequestID: "req-404", ClientRequestID: "cli-404"}, Class: apierr.NotFound,
		Code: "Request_ResourceNotFound", Message: "Resource 'c2' does not exist or one of its queried reference-property objects are not present."}
	already := &apierr.Error{Call: apierr.Call{Status: 400, RequestID: "req-400", ClientRequestID: "cli-400"}, Class: apierr.AlreadyInPlace,
		Code: "Request_BadRequest", Message: "One or more added object references already exist for the following modified properties: 'members'."}
	other := &apierr.Error{Call: apierr.Call{Status: 400, RequestID: "req-bad"}, Class: apierr.Other, Code: "Request_BadRequest", Message: "region mismatch"}
	throttled := func(n int) reply {
		c := apierr.Call{Status: 429, RequestID: fmt.Sprintf("req-429-%d", n), ClientRequestID: fmt.Sprintf("cli-429-%d", n)}
		return reply{c, &apierr.Error{Call: c, Class: apierr.Transient, Code: "TooManyRequests", RetryAfter: time.Millisecond}}
	}

	for _, tc := range []struct {
		name    string
		replies []reply // for c2; c1 and c3 always succeed
		pacer   *pacer.Pacer
		want    Result // Change, StartedAt and FinishedAt are not compared
		errHas  string // when set, Error must contain it
	}{
		{name: "success", want: Result{Outcome: Succeeded, Attempts: 1, Call: okCall("c2", 1)}},
		{name: "not found fails, run goes on", replies: []reply{{notFound.Call, notFound}},
			want: Result{Outcome: Failed, Attempts: 1, Call: notFound.Call, Error: notFound.Error()}},
		{name: "already in place is a success", replies: []reply{{already.Call, already}},
			want: Result{Outcome: Succeeded, Attempts: 1, Call: already.Call, Note: "already in place"}},
		{name: "other error fails", replies: []reply{{other.Call, other}},
			want: Result{Outcome: Failed, Attempts: 1, Call: other.Call, Error: other.Error()}},
		{name: "transient without pacer: one attempt", replies: []reply{throttled(1)},
			want: Result{Outcome: Failed, Attempts: 1, Call: throttled(1).call, Error: throttled(1).err.Error()}},
		{name: "transient then success with pacer", replies: []reply{throttled(1)}, pacer: fastPacer(6),
			want: Result{Outcome: Succeeded, Attempts: 2, Call: okCall("c2", 2)}},
		{name: "pacer gives up", replies: []reply{throttled(1), throttled(2), throttled(3), throttled(4)}, pacer: fastPacer(3),
			want: Result{Outcome: Failed, Attempts: 3, Call: throttled(3).call}, errHas: "gave up after 3 attempts"},
		{name: "not found with pacer is not retried", replies: []reply{{notFound.Call, notFound}}, pacer: fastPacer(6),
			want: Result{Outcome: Failed, Attempts: 1, Call: notFound.Call, Error: notFound.Error()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := movesPlan(3)
			f := newFakeMover().on("c2", tc.replies...)
			results, err := Run(context.Background(), p, f, Options{Concurrency: 2, Pacer: tc.pacer})
			if err != nil {
				t.Fatalf("Run: %v; failed moves must be results, not errors", err)
			}
			if len(results) != 3 {
				t.Fatalf("%d results, want 3", len(results))
			}
			got := byConnector(p, results)
			for _, id := range []string{"c1", "c3"} {
				if r := got[id]; r.Outcome != Succeeded || r.Call != okCall(id, 1) {
					t.Errorf("%s: %+v, want success", id, r)
				}
			}
			r := got["c2"]
			if tc.errHas != "" {
				if !strings.Contains(r.Error, tc.errHas) {
					t.Errorf("c2 Error = %q, want it to contain %q", r.Error, tc.errHas)
				}
				tc.want.Error = r.Error
			}
			r.Change, r.StartedAt, r.FinishedAt = 0, time.Time{}, time.Time{}
			if r != tc.want {
				t.Errorf("c2 result\n got  %+v\n want %+v", r, tc.want)
			}
			if n := f.callCount("c2"); n != tc.want.Attempts {
				t.Errorf("c2 sent %d times, want %d", n, tc.want.Attempts)
			}
		})
	}
}

func TestRunAuthErrorStopsTheRun(t *testing.T) {
	denied := &apierr.Error{Call: apierr.Call{Status: 403, RequestID: "req-403"}, Class: apierr.Auth,
		Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation.", Hint: "needs delegated Directory.ReadWrite.All"}
	for _, tc := range []struct {
		name  string
		pacer *pacer.Pacer
	}{
		{"without pacer", nil},
		{"with pacer", fastPacer(6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := movesPlan(5)
			f := newFakeMover().on("c2", reply{denied.Call, denied})
			var reported []string
			results, err := Run(context.Background(), p, f, Options{Concurrency: 1, Pacer: tc.pacer,
				OnResult: func(r Result) { reported = append(reported, p.Changes[r.Change].ConnectorID) }})

			var fatal *FatalError
			if !errors.As(err, &fatal) {
				t.Fatalf("err = %v (%T), want *FatalError", err, err)
			}
			if apierr.ClassOf(err) != apierr.Auth || !strings.Contains(err.Error(), denied.Hint) {
				t.Errorf("err = %v, want the auth error with its hint", err)
			}
			// Concurrency 1: exactly the calls up to the fatal one.
			if got := f.started(); !reflect.DeepEqual(got, []string{"c1", "c2"}) {
				t.Errorf("calls = %v, want [c1 c2]", got)
			}
			want := map[string]Outcome{"c1": Succeeded, "c2": Failed, "c3": NotAttempted, "c4": NotAttempted, "c5": NotAttempted}
			if len(results) != 5 {
				t.Fatalf("%d results, want one per move (5)", len(results))
			}
			for i, r := range results {
				id := p.Changes[r.Change].ConnectorID
				if r.Change != i {
					t.Errorf("result %d points at change %d", i, r.Change)
				}
				if r.Outcome != want[id] {
					t.Errorf("%s: %s, want %s", id, r.Outcome, want[id])
				}
				if r.Outcome == NotAttempted && (r.Attempts != 0 || r.Call != (apierr.Call{}) || !r.StartedAt.IsZero() || r.Error != "") {
					t.Errorf("%s: not attempted but carries %+v", id, r)
				}
			}
			if r := results[1]; r.Error != denied.Error() || r.Call != denied.Call || r.Attempts != 1 {
				t.Errorf("c2: %+v, want the 403 once, with its call", r)
			}
			if !reflect.DeepEqual(reported, []string{"c1", "c2"}) {
				t.Errorf("OnResult for %v, want [c1 c2]", reported)
			}
		})
	}
}

func TestRunContextCancelled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pacer *pacer.Pacer
	}{
		{"without pacer", nil},
		{"with pacer", fastPacer(6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := movesPlan(5)
			f := newFakeMover()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			finished := 0
			// Interrupt once the second move has finished: like Ctrl-C
			// between two requests.
			onResult := func(Result) {
				if finished++; finished == 2 {
					cancel()
				}
			}
			results, err := Run(ctx, p, f, Options{Concurrency: 1, Pacer: tc.pacer, OnResult: onResult})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			var fatal *FatalError
			if errors.As(err, &fatal) {
				t.Errorf("an interrupt is not a FatalError: %v", err)
			}
			if got := f.started(); !reflect.DeepEqual(got, []string{"c1", "c2"}) {
				t.Errorf("calls = %v, want [c1 c2]", got)
			}
			var outcomes []Outcome
			for _, r := range results {
				outcomes = append(outcomes, r.Outcome)
			}
			if want := []Outcome{Succeeded, Succeeded, NotAttempted, NotAttempted, NotAttempted}; !reflect.DeepEqual(outcomes, want) {
				t.Errorf("outcomes = %v, want %v", outcomes, want)
			}
		})
	}
	t.Run("before the run", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f := newFakeMover()
		results, err := Run(ctx, movesPlan(3), f, Options{Pacer: fastPacer(6)})
		if !errors.Is(err, context.Canceled) || f.totalCalls() != 0 {
			t.Errorf("Run = %v with %d calls; want context.Canceled and no calls", err, f.totalCalls())
		}
		for i, r := range results {
			if r.Outcome != NotAttempted || r.Change != i {
				t.Errorf("result %d: %+v, want notAttempted for change %d", i, r, i)
			}
		}
	})
	t.Run("stops later waves", func(t *testing.T) {
		p := &plan.Plan{Changes: []plan.Change{move("a", 1), move("b", 2)}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := newFakeMover()
		results, err := Run(ctx, p, f, Options{OnResult: func(Result) { cancel() }})
		if !errors.Is(err, context.Canceled) || f.callCount("b") != 0 || results[1].Outcome != NotAttempted {
			t.Errorf("Run = %v, b sent %d times, b %s; want wave 2 not attempted", err, f.callCount("b"), results[1].Outcome)
		}
	})
}

func TestRunOnResultOncePerFinishedMove(t *testing.T) {
	p := movesPlan(12)
	nf := &apierr.Error{Call: apierr.Call{Status: 404}, Class: apierr.NotFound}
	f := newFakeMover().on("c5", reply{nf.Call, nf}).on("c9", reply{nf.Call, nf})
	// Deliberately unsynchronised: Run promises to serialise OnResult, and
	// the race detector holds it to that.
	seen := map[int][]Result{}
	results, err := Run(context.Background(), p, f, Options{Concurrency: 4, OnResult: func(r Result) {
		seen[r.Change] = append(seen[r.Change], r)
	}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(seen) != len(results) {
		t.Errorf("OnResult saw %d moves, want %d", len(seen), len(results))
	}
	for _, r := range results {
		if got := seen[r.Change]; len(got) != 1 || !reflect.DeepEqual(got[0], r) {
			t.Errorf("change %d: OnResult got %+v, want once with %+v", r.Change, got, r)
		}
	}
}

package pacer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"connrecon/internal/apierr"
)

// fast keeps backoff tiny so retries cost microseconds.
var fast = Options{MaxAttempts: 6, MaxRetryTime: time.Minute, BaseDelay: time.Microsecond, MaxDelay: 10 * time.Microsecond}

// watchdog only turns a hang into a failure; no test depends on it for speed.
const watchdog = 10 * time.Second

func transient(reqID string, retryAfter time.Duration) *apierr.Error {
	return &apierr.Error{Call: apierr.Call{Status: 429, RequestID: reqID}, Class: apierr.Transient, Code: "TooManyRequests", RetryAfter: retryAfter}
}

// fakeFn is a hand-written scripted attempt: it returns errs in order, then
// nil, and records when each attempt started and ended.
type fakeFn struct {
	mu     sync.Mutex
	errs   []error
	starts []time.Time
	ends   []time.Time
	during func(attempt int) // optional hook, run inside the attempt
}

func (f *fakeFn) call(ctx context.Context) error {
	f.mu.Lock()
	n := len(f.starts)
	f.starts = append(f.starts, time.Now())
	var err error
	if n < len(f.errs) {
		err = f.errs[n]
	}
	hook := f.during
	f.mu.Unlock()
	if hook != nil {
		hook(n + 1)
	}
	f.mu.Lock()
	f.ends = append(f.ends, time.Now())
	f.mu.Unlock()
	return err
}

func (f *fakeFn) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts)
}

func (f *fakeFn) start(i int) time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.starts[i] }
func (f *fakeFn) end(i int) time.Time   { f.mu.Lock(); defer f.mu.Unlock(); return f.ends[i] }

// waitPauses spins until p has paused n times; it is how a test knows that
// another goroutine's Retry-After is in force.
func waitPauses(t *testing.T, p *Pacer, n int) {
	t.Helper()
	deadline := time.Now().Add(watchdog)
	for p.Pauses() < n {
		if time.Now().After(deadline) {
			t.Fatalf("pauses = %d, never reached %d", p.Pauses(), n)
		}
		runtime.Gosched()
	}
}

// result runs Call in a goroutine so a hang fails the test instead of
// stalling the whole run.
type result struct {
	attempts int
	err      error
}

func callAsync(ctx context.Context, p *Pacer, fn func(context.Context) error) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := p.Call(ctx, fn)
		ch <- result{n, err}
	}()
	return ch
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(watchdog):
		t.Fatal("Call did not return")
		return result{}
	}
}

func TestCallRetriesTransientUntilSuccess(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
	}{
		{"first try", 0},
		{"one transient", 1},
		{"four transient", 4},
		{"up to the last allowed attempt", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFn{}
			for i := range tc.failures {
				f.errs = append(f.errs, transient("r"+string(rune('a'+i)), 0))
			}
			p := New(fast, 1)
			n, err := p.Call(context.Background(), f.call)
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if want := tc.failures + 1; n != want || f.attempts() != want {
				t.Errorf("attempts = %d (fn called %d times), want %d", n, f.attempts(), want)
			}
			// Backoff without Retry-After is this caller's own business.
			if p.Pauses() != 0 {
				t.Errorf("Pauses() = %d, want 0 without Retry-After", p.Pauses())
			}
		})
	}
}

func TestCallDoesNotRetryOtherClasses(t *testing.T) {
	plain := errors.New("connection refused")
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"other", &apierr.Error{Call: apierr.Call{Status: 400}, Class: apierr.Other, Message: "bad request"}},
		{"not found", &apierr.Error{Call: apierr.Call{Status: 404}, Class: apierr.NotFound, Code: "Request_ResourceNotFound"}},
		{"auth", &apierr.Error{Call: apierr.Call{Status: 403}, Class: apierr.Auth, Code: "Authorization_RequestDenied"}},
		{"already in place", &apierr.Error{Call: apierr.Call{Status: 400}, Class: apierr.AlreadyInPlace}},
		{"not an apierr.Error", plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFn{errs: []error{tc.err, tc.err, tc.err}}
			n, err := New(fast, 1).Call(context.Background(), f.call)
			if n != 1 || f.attempts() != 1 {
				t.Errorf("attempts = %d (fn called %d times), want 1", n, f.attempts())
			}
			if err != tc.err {
				t.Errorf("err = %v, want the attempt's own error %v", err, tc.err)
			}
			var gu *GaveUpError
			if errors.As(err, &gu) {
				t.Errorf("err is a GaveUpError; only transient failures give up")
			}
		})
	}
}

func TestCallGivesUpAfterMaxAttempts(t *testing.T) {
	f := &fakeFn{errs: []error{transient("r1", 0), transient("r2", 0), transient("r3", 0), transient("r4", 0)}}
	opts := fast
	opts.MaxAttempts = 3
	n, err := New(opts, 1).Call(context.Background(), f.call)
	if n != 3 || f.attempts() != 3 {
		t.Errorf("attempts = %d (fn called %d times), want 3", n, f.attempts())
	}
	var gu *GaveUpError
	if !errors.As(err, &gu) {
		t.Fatalf("err = %v (%T), want *GaveUpError", err, err)
	}
	if gu.Attempts != 3 {
		t.Errorf("GaveUpError.Attempts = %d, want 3", gu.Attempts)
	}
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("errors.As finds no *apierr.Error in %v", err)
	}
	if ae.RequestID != "r3" {
		t.Errorf("wrapped error is request %s, want the last attempt's (r3)", ae.RequestID)
	}
	if apierr.ClassOf(err) != apierr.Transient {
		t.Errorf("ClassOf = %v, want transient", apierr.ClassOf(err))
	}
}

func TestCallHonoursRetryAfter(t *testing.T) {
	const ra = 5 * time.Millisecond
	f := &fakeFn{errs: []error{transient("r1", ra)}}
	// Backoff is far shorter than Retry-After: only honouring Retry-After
	// explains a gap of ra.
	opts := fast
	opts.BaseDelay, opts.MaxDelay = time.Nanosecond, time.Nanosecond
	p := New(opts, 1)
	n, err := p.Call(context.Background(), f.call)
	if err != nil || n != 2 {
		t.Fatalf("Call = %d, %v; want 2 attempts, success", n, err)
	}
	if gap := f.start(1).Sub(f.end(0)); gap < ra {
		t.Errorf("second attempt started %v after the 429, want at least Retry-After %v", gap, ra)
	}
	if p.Pauses() != 1 {
		t.Errorf("Pauses() = %d, want 1", p.Pauses())
	}
}

func TestRetryAfterPausesOtherCallers(t *testing.T) {
	const ra = 20 * time.Millisecond
	p := New(fast, 1)
	a := &fakeFn{errs: []error{transient("a1", ra)}}
	b := &fakeFn{}
	aDone := callAsync(context.Background(), p, a.call)
	waitPauses(t, p, 1) // A's Retry-After is now in force
	bCalled := time.Now()
	bDone := callAsync(context.Background(), p, b.call)

	if r := await(t, aDone); r.err != nil || r.attempts != 2 {
		t.Errorf("A: %d attempts, %v; want 2, success", r.attempts, r.err)
	}
	if r := await(t, bDone); r.err != nil || r.attempts != 1 {
		t.Errorf("B: %d attempts, %v; want 1, success", r.attempts, r.err)
	}
	pauseEnd := a.end(0).Add(ra) // the pause began after A's 429 came back
	if !bCalled.Before(pauseEnd) {
		t.Skipf("B started %v after the pause ended: machine too slow for this check", bCalled.Sub(pauseEnd))
	}
	if bStart := b.start(0); bStart.Before(pauseEnd) {
		t.Errorf("B's attempt went out %v before A's Retry-After ended; it must wait for the shared pause", pauseEnd.Sub(bStart))
	}
}

func TestCallMaxRetryTime(t *testing.T) {
	for _, tc := range []struct {
		name         string
		retryAfter   time.Duration
		maxRetryTime time.Duration
		wantAttempts int
	}{
		// Waits 2ms and 4ms in all; a third wait would make 6ms > 5ms.
		{"budget spent by retries", 2 * time.Millisecond, 5 * time.Millisecond, 3},
		// Retry-After alone exceeds the budget: no point waiting.
		{"Retry-After beyond budget", time.Hour, time.Millisecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFn{}
			for range 10 {
				f.errs = append(f.errs, transient("r", tc.retryAfter))
			}
			opts := fast
			opts.MaxAttempts, opts.MaxRetryTime = 10, tc.maxRetryTime
			n, err := New(opts, 1).Call(context.Background(), f.call)
			var gu *GaveUpError
			if !errors.As(err, &gu) {
				t.Fatalf("err = %v, want *GaveUpError", err)
			}
			if n != tc.wantAttempts || f.attempts() != tc.wantAttempts || gu.Attempts != tc.wantAttempts {
				t.Errorf("attempts = %d (fn %d, GaveUpError %d), want %d", n, f.attempts(), gu.Attempts, tc.wantAttempts)
			}
		})
	}
}

// A retry must not wait on another caller's pause beyond its own budget:
// one Retry-After of an hour would otherwise hold every retrying worker for
// an hour.
func TestRetryGivesUpWhenSharedPauseOutlastsBudget(t *testing.T) {
	opts := fast
	opts.MaxRetryTime = time.Second
	p := New(opts, 1)
	other := &fakeFn{errs: []error{transient("other", time.Hour)}}
	f := &fakeFn{errs: []error{transient("mine", time.Millisecond)}}
	f.during = func(attempt int) {
		if attempt == 1 {
			// Another caller is told to wait an hour while this attempt is
			// in flight; it gives up at once but the pause stands.
			if _, err := p.Call(context.Background(), other.call); err == nil {
				t.Error("other caller succeeded; want it to give up")
			}
		}
	}
	r := await(t, callAsync(context.Background(), p, f.call))
	var gu *GaveUpError
	if !errors.As(r.err, &gu) {
		t.Fatalf("err = %v, want *GaveUpError", r.err)
	}
	if r.attempts != 1 || f.attempts() != 1 || gu.Attempts != 1 {
		t.Errorf("attempts = %d (fn %d, GaveUpError %d), want 1", r.attempts, f.attempts(), gu.Attempts)
	}
	if apierr.CallOf(r.err).RequestID != "mine" {
		t.Errorf("GaveUpError wraps %v, want this call's own last error", gu.Err)
	}
}

func TestCallContextCancelled(t *testing.T) {
	t.Run("during the Retry-After wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		opts := fast
		opts.MaxRetryTime = 2 * time.Hour
		p := New(opts, 1)
		f := &fakeFn{errs: []error{transient("r1", time.Hour)}}
		done := callAsync(ctx, p, f.call)
		waitPauses(t, p, 1) // the call is about to sleep or sleeping
		cancel()
		r := await(t, done) // an hour's wait must end now
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", r.err)
		}
		// The retry was never sent: the error says so and keeps the last
		// attempt's trace ids for the report.
		var ie *InterruptedError
		if !errors.As(r.err, &ie) || ie.Attempts != 1 {
			t.Fatalf("err = %v (%T), want *InterruptedError after 1 attempt", r.err, r.err)
		}
		if want := "interrupted while waiting to retry after graph: 429 TooManyRequests:  (request-id r1)"; r.err.Error() != want {
			t.Errorf("Error() = %q, want %q", r.err.Error(), want)
		}
		if apierr.CallOf(r.err).RequestID != "r1" {
			t.Errorf("CallOf = %+v, want r1's call", apierr.CallOf(r.err))
		}
		if r.attempts != 1 || f.attempts() != 1 {
			t.Errorf("attempts = %d (fn %d), want 1", r.attempts, f.attempts())
		}
	})
	t.Run("waiting for another caller's pause", func(t *testing.T) {
		p := New(fast, 1)
		// Another caller's hour-long Retry-After: it gives up, the pause stands.
		other := &fakeFn{errs: []error{transient("other", time.Hour)}}
		if _, err := p.Call(context.Background(), other.call); err == nil {
			t.Fatal("other caller succeeded; want it to give up")
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := callAsync(ctx, p, (&fakeFn{}).call)
		cancel()
		r := await(t, done)
		if !errors.Is(r.err, context.Canceled) || r.attempts != 0 {
			t.Errorf("Call = %d, %v; want 0 attempts, context.Canceled", r.attempts, r.err)
		}
	})
	t.Run("before the first attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f := &fakeFn{}
		n, err := New(fast, 1).Call(ctx, f.call)
		if !errors.Is(err, context.Canceled) || n != 0 || f.attempts() != 0 {
			t.Errorf("Call = %d, %v (fn %d); want 0 attempts, context.Canceled, fn not called", n, err, f.attempts())
		}
	})
	t.Run("during an attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		f := &fakeFn{errs: []error{transient("r1", 0), transient("r2", 0)}}
		f.during = func(int) { cancel() }
		n, err := New(fast, 1).Call(ctx, f.call)
		// The attempt's own error is kept; no retry after the interrupt.
		var ie *InterruptedError
		if n != 1 || f.attempts() != 1 || apierr.CallOf(err).RequestID != "r1" || !errors.As(err, &ie) {
			t.Errorf("Call = %d, %v; want 1 attempt, interrupted after r1's error", n, err)
		}
	})
	t.Run("during an attempt that fails for good", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		nf := &apierr.Error{Call: apierr.Call{Status: 404, RequestID: "r1"}, Class: apierr.NotFound}
		f := &fakeFn{errs: []error{nf}}
		f.during = func(int) { cancel() }
		n, err := New(fast, 1).Call(ctx, f.call)
		// No retry would have followed: the answer is the answer.
		if n != 1 || err != nf {
			t.Errorf("Call = %d, %v; want 1 attempt returning the 404 itself", n, err)
		}
	})
}

func TestPausesCountsWindowsNotExtensions(t *testing.T) {
	for _, tc := range []struct {
		name           string
		second         time.Duration // Retry-After of a 429 seen during a 1h pause
		wantExtensions int
	}{
		{"shorter Retry-After does not extend", time.Minute, 0},
		{"longer Retry-After extends", 2 * time.Hour, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every Retry-After here exceeds MaxRetryTime, so each call pauses
			// the pacer and gives up at once: no test waits for a pause.
			opts := fast
			opts.MaxRetryTime = time.Millisecond
			p := New(opts, 1)
			if p.Pauses() != 0 {
				t.Fatalf("new pacer: Pauses() = %d", p.Pauses())
			}
			first := &fakeFn{errs: []error{transient("first", time.Hour)}}
			second := &fakeFn{errs: []error{transient("second", tc.second)}}
			// The second call is in flight when the first one's 429 arrives.
			second.during = func(int) {
				if _, err := p.Call(context.Background(), first.call); err == nil {
					t.Error("first call succeeded; want it to give up")
				}
				if p.Pauses() != 1 {
					t.Errorf("after the first 429: Pauses() = %d, want 1", p.Pauses())
				}
			}
			if _, err := p.Call(context.Background(), second.call); err == nil {
				t.Fatal("second call succeeded; want it to give up")
			}
			// The second 429 belongs to the window the first one opened.
			st := p.Stats()
			if st.Pauses != 1 || st.Extensions != tc.wantExtensions || st.RetryAfter != 2 {
				t.Errorf("stats %+v, want 1 pause, %d extensions, 2 Retry-Afters", st, tc.wantExtensions)
			}
		})
	}
}

// OnThrottle is the operator's "pausing all workers" line: once per window,
// not once per worker whose request was in flight, and again only when the
// service asks for a markedly longer pause.
func TestOnThrottleOncePerWindow(t *testing.T) {
	var mu sync.Mutex
	var told []time.Duration
	opts := fast
	opts.MaxRetryTime = time.Millisecond // every call gives up at once: nobody waits
	opts.OnThrottle = func(d time.Duration) {
		mu.Lock()
		told = append(told, d)
		mu.Unlock()
	}
	p := New(opts, 1)
	// Nested so that each call is in flight when the inner one's 429
	// arrives, as concurrent workers' requests are.
	opener := &fakeFn{errs: []error{transient("opener", time.Hour)}}
	straggler := &fakeFn{errs: []error{transient("straggler", time.Hour+time.Millisecond)}}
	longer := &fakeFn{errs: []error{transient("longer", 3*time.Hour)}}
	straggler.during = func(int) { _, _ = p.Call(context.Background(), opener.call) }
	longer.during = func(int) { _, _ = p.Call(context.Background(), straggler.call) }
	if _, err := p.Call(context.Background(), longer.call); err == nil {
		t.Fatal("call succeeded; want it to give up")
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []time.Duration{time.Hour, 3 * time.Hour}; !reflect.DeepEqual(told, want) {
		t.Errorf("OnThrottle told %v, want %v (the window, then its extension by hours; not the straggler's millisecond)", told, want)
	}
	if st := p.Stats(); st.Pauses != 1 || st.Extensions != 2 {
		t.Errorf("stats %+v, want 1 pause and 2 extensions", st)
	}
}

// Every attempt through the pacer, whoever makes it, takes a slot: the k-th
// attempt to start does so no earlier than k intervals after the first
// slot. Only lower bounds are checked: timers never fire early, so this
// holds on any machine.
func TestRPSSpacesAttemptsAcrossCallers(t *testing.T) {
	const (
		rps      = 500 // 2ms apart
		callers  = 4
		perCall  = 3 // two transient failures, then success
		interval = time.Second / rps
	)
	opts := fast
	opts.RPS = rps
	p := New(opts, 1)
	var mu sync.Mutex
	var starts []time.Time
	before := time.Now()
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			_, err := p.Call(context.Background(), func(context.Context) error {
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				if n++; n < perCall {
					return transient(fmt.Sprintf("c%d-%d", i, n), 0)
				}
				return nil
			})
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if len(starts) != callers*perCall {
		t.Fatalf("%d attempts, want %d", len(starts), callers*perCall)
	}
	sort.Slice(starts, func(a, b int) bool { return starts[a].Before(starts[b]) })
	for k, s := range starts {
		if least := time.Duration(k) * interval; s.Sub(before) < least {
			t.Errorf("attempt %d started %v after the first call, want at least %v", k, s.Sub(before), least)
		}
	}
	if st := p.Stats(); st.Attempts != callers*perCall || st.Retries != callers*(perCall-1) || st.RateWait <= 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestRPSWaitHonoursContext(t *testing.T) {
	opts := fast
	opts.RPS = 0.001 // one attempt per 1000s
	p := New(opts, 1)
	if _, err := p.Call(context.Background(), (&fakeFn{}).call); err != nil {
		t.Fatalf("first call: %v", err) // takes the only slot for 1000s
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeFn{}
	done := callAsync(ctx, p, f.call)
	deadline := time.Now().Add(watchdog)
	for p.Stats().RateWait == 0 { // the second call holds a slot 1000s away
		if time.Now().After(deadline) {
			t.Fatal("second call never reserved a slot")
		}
		runtime.Gosched()
	}
	cancel()
	r := await(t, done)
	if !errors.Is(r.err, context.Canceled) || r.attempts != 0 || f.attempts() != 0 {
		t.Errorf("Call = %d, %v (fn %d); want 0 attempts, context.Canceled", r.attempts, r.err, f.attempts())
	}
}

// A caller already holding a rate-limit slot when a throttle window opens
// must not send at its slot: it waits for the window to end.
func TestRPSSlotInsidePauseWaitsForPause(t *testing.T) {
	const ra = 300 * time.Millisecond
	opts := fast
	opts.RPS = 5 // slots 200ms apart
	p := New(opts, 1)
	b := &fakeFn{}
	var bDone <-chan result
	a := &fakeFn{errs: []error{transient("a1", ra)}}
	a.during = func(attempt int) {
		if attempt != 1 {
			return
		}
		// B reserves the next slot (200ms from now) and sleeps on it; then
		// A's 429 opens a 300ms window that covers B's slot.
		bDone = callAsync(context.Background(), p, b.call)
		deadline := time.Now().Add(watchdog)
		for p.Stats().RateWait == 0 {
			if time.Now().After(deadline) {
				t.Error("B never reserved a slot")
				return
			}
			runtime.Gosched()
		}
	}
	if r := await(t, callAsync(context.Background(), p, a.call)); r.err != nil {
		t.Fatalf("A: %v", r.err)
	}
	if r := await(t, bDone); r.err != nil || r.attempts != 1 {
		t.Fatalf("B: %d attempts, %v", r.attempts, r.err)
	}
	if a.end(0).Sub(a.start(0)) >= time.Second/5 {
		t.Skip("A's 429 came back after B's slot: machine too slow for this check")
	}
	if pauseEnd := a.end(0).Add(ra); b.start(0).Before(pauseEnd) {
		t.Errorf("B sent %v before the throttle window ended", pauseEnd.Sub(b.start(0)))
	}
}

func TestDefaults(t *testing.T) {
	p := New(Options{}, 1)
	if p.opts.MaxAttempts != DefaultMaxAttempts || p.opts.MaxRetryTime != DefaultMaxRetryTime || p.interval != 0 {
		t.Errorf("defaults %+v, interval %v", p.opts, p.interval)
	}
	if New(Options{RPS: 4}, 1).interval != 250*time.Millisecond {
		t.Error("RPS 4 is not a 250ms interval")
	}
}

func TestGaveUpErrorMessage(t *testing.T) {
	err := &GaveUpError{Attempts: 6, Err: transient("r9", 0)}
	want := "gave up after 6 attempts: graph: 429 TooManyRequests:  (request-id r9)"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

package pacer

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"connrecon/internal/apierr"
)

// rates records OnRate calls.
type rates struct {
	mu  sync.Mutex
	got []float64
}

func (r *rates) on(rps float64) { r.mu.Lock(); r.got = append(r.got, rps); r.mu.Unlock() }

func (r *rates) calls() []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]float64(nil), r.got...)
}

func unavailable(retryAfter time.Duration) *apierr.Error {
	return &apierr.Error{Call: apierr.Call{Status: 503}, Class: apierr.Transient, Code: "ServiceUnavailable", RetryAfter: retryAfter}
}

// learnt is what observe computes from admitted attempts over elapsed.
func learnt(admitted int, elapsed time.Duration) float64 {
	return max(float64(admitted)/max(elapsed, minSample).Seconds()*learnMargin, minLearned)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestObserveLearnsAdmittedRate(t *testing.T) {
	// A Retry-After of an hour keeps rate() at base while the test reads
	// it: growth only starts when the pause ends.
	const ra = time.Hour
	for _, tc := range []struct {
		name     string
		admitted int
		elapsed  time.Duration // from the window's start to the 429
		want     float64       // on an idle machine; the elapsed time only grows
	}{
		{"100 over 2s", 100, 2 * time.Second, 48.5},
		{"30 over 0.2s: at least a 1s sample", 30, 200 * time.Millisecond, 29.1},
		{"10 over 1s", 10, time.Second, 9.7},
		{"nothing admitted: still probed at minLearned", 0, 5 * time.Second, minLearned},
		{"1 over 10s: floored at minLearned", 1, 10 * time.Second, minLearned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var told rates
			p := New(Options{Learn: true, OnRate: told.on}, 1)
			window := time.Now().Add(-tc.elapsed)
			p.learner.window = window
			for range tc.admitted {
				p.observe(window, nil)
			}
			if p.learner.admitted != tc.admitted {
				t.Fatalf("admitted = %d after %d successes, want %d", p.learner.admitted, tc.admitted, tc.admitted)
			}
			p.observe(window, transient("r", ra))
			after := time.Now()

			got := p.learner.base
			// observe reads the clock itself: the rate lies between the
			// nominal one and the one over the time actually elapsed.
			lo := learnt(tc.admitted, after.Sub(window))
			if got > tc.want+1e-9 || got < lo-1e-9 {
				t.Errorf("learned %v, want %v (at least %v after %v elapsed)", got, tc.want, lo, after.Sub(window))
			}
			if c := told.calls(); len(c) != 1 || c[0] != got {
				t.Errorf("OnRate told %v, want once with %v", c, got)
			}
			st := p.Stats()
			if st.Throttled != 1 || st.Learned != got {
				t.Errorf("stats: Throttled %d, Learned %v; want 1, %v", st.Throttled, st.Learned, got)
			}
			// The next sample starts at the pause's end, empty.
			l := p.learner
			if l.since.Sub(l.last) != ra || !l.window.Equal(l.since) || l.admitted != 0 {
				t.Errorf("learner after the 429: %+v; want since = last+%v, window = since, admitted 0", l, ra)
			}
		})
	}
}

func TestObserveIgnoresAttemptsSentBeforeWindow(t *testing.T) {
	const base = 48.5
	for _, tc := range []struct {
		name         string
		offset       time.Duration // of the attempt's start from the window
		err          error
		wantAdmitted int
		wantRelearn  bool
	}{
		{"success in flight", -time.Nanosecond, nil, 0, false},
		{"429 in flight", -time.Nanosecond, transient("late", time.Millisecond), 0, false},
		{"429 in flight long before", -time.Minute, transient("late", time.Hour), 0, false},
		{"success sent at the window", 0, nil, 1, false},
		{"429 sent after the window", time.Nanosecond, transient("next", time.Millisecond), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var told rates
			p := New(Options{Learn: true, OnRate: told.on}, 1)
			now := time.Now()
			// As left by a 429 just learnt from, with a pause that has ended.
			window := now.Add(-time.Millisecond)
			p.learner = learner{base: base, last: window.Add(-time.Millisecond), since: window, window: window}
			before := p.learner

			p.observe(window.Add(tc.offset), tc.err)

			if p.learner.admitted != tc.wantAdmitted {
				t.Errorf("admitted = %d, want %d", p.learner.admitted, tc.wantAdmitted)
			}
			wantThrottled := 0
			if tc.err != nil {
				wantThrottled = 1
			}
			if st := p.Stats(); st.Throttled != wantThrottled {
				t.Errorf("Throttled = %d, want %d: every 429 is counted, learnt from or not", st.Throttled, wantThrottled)
			}
			relearnt := len(told.calls()) > 0
			if relearnt != tc.wantRelearn {
				t.Errorf("OnRate told %v; relearn %v, want %v", told.calls(), relearnt, tc.wantRelearn)
			}
			if !tc.wantRelearn {
				after := p.learner
				after.admitted = before.admitted
				if after != before {
					t.Errorf("learner changed from %+v to %+v", before, p.learner)
				}
			} else if p.learner.base == base || !p.learner.last.After(before.last) {
				t.Errorf("learner %+v not reset by a 429 sent in the window", p.learner)
			}
		})
	}
}

// Requests in flight when a 429 is learnt from, answered 429 in their turn,
// neither relearn nor count, as through Call with real concurrency of calls.
func TestCallIgnoresInFlightAnswers(t *testing.T) {
	const ra = time.Millisecond
	var told rates
	opts := fast
	opts.Learn, opts.OnRate = true, told.on
	p := New(opts, 1)
	// A sample fast enough that pacing after the 429 costs ~10ms.
	const warm = 100
	for range warm {
		if _, err := p.Call(context.Background(), (&fakeFn{}).call); err != nil {
			t.Fatal(err)
		}
	}
	inFlight := &fakeFn{errs: []error{transient("in-flight", ra)}}
	first := &fakeFn{errs: []error{transient("first", ra)}}
	var learned float64
	inFlight.during = func(attempt int) {
		if attempt != 1 {
			return
		}
		if n, err := p.Call(context.Background(), first.call); err != nil || n != 2 {
			t.Errorf("first: %d attempts, %v", n, err)
		}
		p.mu.Lock()
		learned = p.learner.base
		p.mu.Unlock()
	}
	if n, err := p.Call(context.Background(), inFlight.call); err != nil || n != 2 {
		t.Fatalf("in-flight: %d attempts, %v", n, err)
	}
	if c := told.calls(); len(c) != 1 || c[0] != learned {
		t.Errorf("OnRate told %v, want once with %v (the in-flight 429 must not relearn)", c, learned)
	}
	if hi := learnt(warm, 0); learned > hi+1e-9 || learned < minLearned {
		t.Errorf("learned %v, want at most %v", learned, hi)
	}
	st := p.Stats()
	// Only the two retries, both sent after the pause, are in the new sample.
	if st.Throttled != 2 || p.learner.admitted != 2 || p.learner.base != learned {
		t.Errorf("Throttled %d, admitted %d, base %v; want 2, 2, %v", st.Throttled, p.learner.admitted, p.learner.base, learned)
	}
}

func TestThrottledCountsOnly429(t *testing.T) {
	for _, learn := range []bool{false, true} {
		for _, tc := range []struct {
			name      string
			err       error
			throttled int
		}{
			{"429", transient("r", time.Second), 1},
			{"429 wrapped", fmt.Errorf("move: %w", transient("r", time.Second)), 1},
			{"429 without Retry-After", transient("r", 0), 1},
			{"503 with Retry-After", unavailable(time.Second), 0},
			{"plain error", fmt.Errorf("connection reset"), 0},
			{"success", nil, 0},
		} {
			t.Run(fmt.Sprintf("learn=%v/%s", learn, tc.name), func(t *testing.T) {
				var told rates
				p := New(Options{Learn: learn, OnRate: told.on}, 1)
				now := time.Now()
				p.learner.window = now
				p.observe(now, tc.err)
				st := p.Stats()
				if st.Throttled != tc.throttled {
					t.Errorf("Throttled = %d, want %d", st.Throttled, tc.throttled)
				}
				// Only a 429, and only with Learn, sets a rate.
				wantRate := learn && tc.throttled > 0
				if (st.Learned > 0) != wantRate || (len(told.calls()) > 0) != wantRate {
					t.Errorf("Learned %v, OnRate %v; want a rate: %v", st.Learned, told.calls(), wantRate)
				}
				if !learn && p.intervalAt(time.Now()) != 0 {
					t.Errorf("intervalAt = %v without Learn or RPS, want 0", p.intervalAt(time.Now()))
				}
			})
		}
	}
}

// Without Learn a throttled run keeps the old behaviour: pause, retry, no pacing.
func TestCallWithoutLearn(t *testing.T) {
	for _, tc := range []struct {
		rps          float64
		wantInterval time.Duration
	}{
		{0, 0},
		{10, 100 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("rps=%v", tc.rps), func(t *testing.T) {
			var told rates
			opts := fast
			opts.RPS, opts.OnRate = tc.rps, told.on
			p := New(opts, 1)
			f := &fakeFn{errs: []error{transient("r", time.Millisecond)}}
			if n, err := p.Call(context.Background(), f.call); err != nil || n != 2 {
				t.Fatalf("Call = %d, %v", n, err)
			}
			st := p.Stats()
			if st.Throttled != 1 || st.Learned != 0 || st.Pauses != 1 || len(told.calls()) != 0 {
				t.Errorf("stats %+v, OnRate %v; want 1 throttled, 1 pause, nothing learned", st, told.calls())
			}
			p.mu.Lock()
			iv := p.intervalAt(time.Now())
			p.mu.Unlock()
			if iv != tc.wantInterval {
				t.Errorf("intervalAt = %v, want %v", iv, tc.wantInterval)
			}
		})
	}
}

func TestLearnerRate(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	const base = 50.0
	ra := 10 * time.Second
	l := learner{base: base, last: t0, since: t0.Add(ra)}
	for _, tc := range []struct {
		name string
		now  time.Time
		want float64
	}{
		{"at the 429", t0, base},
		{"during the pause", t0.Add(ra / 2), base},
		{"at the pause's end", l.since, base},
		{"30s after the pause: 3% more", l.since.Add(30 * time.Second), base * 1.03},
		{"100s after the pause: 10% more", l.since.Add(100 * time.Second), base * 1.1},
		// forgetAfter is documented as ten minutes from the 429.
		{"at forgetAfter: still held", t0.Add(10 * time.Minute), base * (1 + learnGrowth*(10*time.Minute-ra).Seconds())},
		{"past forgetAfter: forgotten", t0.Add(10*time.Minute + time.Second), 0},
		{"long past: forgotten", t0.Add(24 * time.Hour), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := l.rate(tc.now); !near(got, tc.want) {
				t.Errorf("rate = %v, want %v", got, tc.want)
			}
		})
	}
	if got := (&learner{}).rate(t0); got != 0 {
		t.Errorf("no 429 yet: rate = %v, want 0", got)
	}
}

// Stats().Learned is the rate now, grown or forgotten, not the 429's base.
func TestStatsLearnedIsCurrentRate(t *testing.T) {
	const base = 50.0
	for _, tc := range []struct {
		name       string
		sincePause time.Duration // from the pause's end to now
		lo, hi     float64
	}{
		{"in the pause", -time.Minute, base, base},
		{"100s after the pause", 100 * time.Second, base * 1.1, base * 1.11}, // hi: up to 10s of a slow machine
		{"forgotten", forgetAfter + time.Second, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{Learn: true}, 1)
			since := time.Now().Add(-tc.sincePause)
			p.learner = learner{base: base, last: since, since: since, window: since}
			if got := p.Stats().Learned; got < tc.lo-1e-9 || got > tc.hi+1e-9 {
				t.Errorf("Learned = %v, want in [%v, %v]", got, tc.lo, tc.hi)
			}
		})
	}
}

func TestIntervalAtRPSCapsLearned(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rps     float64
		learned float64
		age     time.Duration // since the learning 429
		want    time.Duration
	}{
		{"RPS stricter", 10, 50, 0, 100 * time.Millisecond},
		{"learned stricter", 100, 50, 0, 20 * time.Millisecond},
		{"equal", 50, 50, 0, 20 * time.Millisecond},
		{"learned alone", 0, 50, 0, 20 * time.Millisecond},
		{"RPS alone", 10, 0, 0, 100 * time.Millisecond},
		{"neither", 0, 0, 0, 0},
		{"learned forgotten", 0, 50, forgetAfter + time.Second, 0},
		{"learned forgotten, RPS stays", 10, 50, forgetAfter + time.Second, 100 * time.Millisecond},
		{"minLearned", 0, minLearned, 0, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{RPS: tc.rps, Learn: true}, 1)
			now := time.Now()
			last := now.Add(-tc.age)
			// since = now: no growth, so the interval is exact.
			p.learner = learner{base: tc.learned, last: last, since: now, window: now}
			p.mu.Lock()
			got := p.intervalAt(now)
			p.mu.Unlock()
			if got != tc.want {
				t.Errorf("intervalAt = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCountStartsFirstWindow(t *testing.T) {
	p := New(Options{Learn: true}, 1)
	before := time.Now()
	p.count(1)
	w := p.learner.window
	if w.Before(before) || w.After(time.Now()) {
		t.Fatalf("window %v not set by the first attempt (at %v)", w, before)
	}
	p.count(2)
	if !p.learner.window.Equal(w) {
		t.Errorf("a later attempt moved the window from %v to %v", w, p.learner.window)
	}
}

// After N successes and a 429, attempts are paced at the learned rate.
// Timers never fire early, so only lower bounds are checked.
func TestCallPacesAtLearnedRate(t *testing.T) {
	const (
		warm  = 10 // sample under 1s: rate 9.7/s, about 103ms apart
		after = 2  // calls after the throttled one
		ra    = time.Millisecond
	)
	var told rates
	opts := fast
	opts.Learn, opts.OnRate = true, told.on
	p := New(opts, 1)
	f := &fakeFn{}
	for range warm {
		f.errs = append(f.errs, nil)
	}
	f.errs = append(f.errs, transient("throttled", ra))
	for range warm {
		if _, err := p.Call(context.Background(), f.call); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := p.Call(context.Background(), f.call); err != nil || n != 2 {
		t.Fatalf("throttled call = %d, %v; want 2 attempts, success", n, err)
	}
	for range after {
		if _, err := p.Call(context.Background(), f.call); err != nil {
			t.Fatal(err)
		}
	}

	c := told.calls()
	if len(c) != 1 {
		t.Fatalf("OnRate told %v, want once", c)
	}
	rate := c[0]
	if hi := learnt(warm, 0); rate > hi+1e-9 || rate < minLearned {
		t.Errorf("learned %v, want at most %v", rate, hi)
	}
	st := p.Stats()
	if st.Attempts != warm+2+after || st.Throttled != 1 || st.Pauses != 1 {
		t.Errorf("stats %+v", st)
	}
	if st.Learned < rate {
		t.Errorf("Stats().Learned = %v, below the learned %v", st.Learned, rate)
	}
	if st.RateWait <= 0 {
		t.Errorf("RateWait = %v: attempts after the 429 were not paced", st.RateWait)
	}
	// The retry took the first slot, at the pause's end at the earliest;
	// each later attempt one interval on (less the learner's growth, which
	// is well under 1% here).
	p.mu.Lock()
	pauseEnd, iv := p.pauseUntil, p.intervalAt(time.Now())
	p.mu.Unlock()
	if want := time.Duration(float64(time.Second) / rate); iv > want || float64(iv) < 0.99*float64(want) {
		t.Errorf("intervalAt = %v, want about 1/%v = %v", iv, rate, want)
	}
	last := f.start(f.attempts() - 1)
	if least := time.Duration(float64(after) * 0.99 * float64(iv)); last.Sub(pauseEnd) < least {
		t.Errorf("last attempt %v after the pause, want at least %v (%d intervals of %v)", last.Sub(pauseEnd), least, after, iv)
	}
}

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

// learnt is what observe computes from admitted attempts over the time asked.
func learnt(admitted int, asked time.Duration) float64 {
	return max(float64(admitted)/max(asked, minSample).Seconds()*learnMargin, minLearned)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// advance makes d pass for the learner: every instant it holds moves d
// into the past, as a jump of the clock would. Tests drive enter, leave
// and observe through hours this way instead of sleeping; the real time
// they take only adds to what they simulate.
func advance(p *Pacer, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := &p.learner
	for _, t := range []*time.Time{&l.since, &l.sampleFrom, &l.sampleTo, &l.window, &l.busySince} {
		if !t.IsZero() {
			*t = t.Add(-d)
		}
	}
}

// step: callers enter Call (> 0) or leave it (< 0), then time passes.
type step struct {
	callers int
	then    time.Duration
}

func play(p *Pacer, steps []step) {
	for _, s := range steps {
		for range s.callers {
			p.enter()
		}
		for range -s.callers {
			p.leave()
		}
		advance(p, s.then)
	}
}

// A 429 when nothing was admitted since the window teaches nothing: the
// rate stays (none here, or the one learnt before), OnRate is not told,
// and the next sample starts after the pause.
func TestNothingAdmittedLearnsNothing(t *testing.T) {
	for _, base := range []float64{0, 42} {
		var told rates
		p := New(Options{Learn: true, OnRate: told.on}, 1)
		p.enter()
		p.learner.base, p.learner.since = base, time.Now()
		advance(p, 5*time.Second)
		before := time.Now()
		p.observe(time.Now(), transient("r", time.Minute))
		l := p.learner
		if l.base != base || len(told.calls()) != 0 || l.window.Before(before.Add(time.Minute)) || l.admitted != 0 || p.Stats().Throttled != 1 {
			t.Errorf("base %v: after a 429 with nothing admitted: %+v, told %v; want the rate kept, nothing told, the window after the pause", base, l, told.calls())
		}
	}
}

func TestObserveLearnsAdmittedRate(t *testing.T) {
	// A Retry-After of an hour keeps rate() at base while the test reads
	// it: growth only starts when the pause ends.
	const ra = time.Hour
	for _, tc := range []struct {
		name     string
		admitted int
		elapsed  time.Duration // asked, from the window's start to the 429
		want     float64       // on an idle machine; the time asked only grows
	}{
		{"100 over 2s", 100, 2 * time.Second, 48.5},
		{"30 over 0.2s: at least a 1s sample", 30, 200 * time.Millisecond, 29.1},
		{"10 over 1s", 10, time.Second, 9.7},
		{"1 over 10s: floored at minLearned", 1, 10 * time.Second, minLearned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var told rates
			p := New(Options{Learn: true, OnRate: told.on}, 1)
			start := time.Now()
			// One caller inside Call from the window to the 429.
			p.enter()
			advance(p, tc.elapsed)
			window := p.learner.window
			for range tc.admitted {
				p.observe(window, nil)
			}
			if p.learner.admitted != tc.admitted {
				t.Fatalf("admitted = %d after %d successes, want %d", p.learner.admitted, tc.admitted, tc.admitted)
			}
			before := time.Now()
			p.observe(window, transient("r", ra))
			after := time.Now()

			l := p.learner
			if !l.sampleFrom.Equal(window) || l.sampleTo.Before(before) || l.sampleTo.After(after) || l.sampled != tc.admitted {
				t.Errorf("sample [%v, %v] of %d, want [window, the 429] of %d", l.sampleFrom, l.sampleTo, l.sampled, tc.admitted)
			}
			if real := after.Sub(start); l.sampleTime < tc.elapsed || l.sampleTime > tc.elapsed+real {
				t.Errorf("sampleTime = %v, want %v (+ up to %v of the test's own time)", l.sampleTime, tc.elapsed, real)
			}
			got := l.base
			if want := learnt(tc.admitted, l.sampleTime); !near(got, want) || got > tc.want+1e-9 {
				t.Errorf("learned %v, want %v (nominally %v)", got, want, tc.want)
			}
			if c := told.calls(); len(c) != 1 || c[0] != got {
				t.Errorf("OnRate told %v, want once with %v", c, got)
			}
			st := p.Stats()
			if st.Throttled != 1 || st.Learned != got {
				t.Errorf("stats: Throttled %d, Learned %v; want 1, %v", st.Throttled, st.Learned, got)
			}
			// The next sample starts at the pause's end, empty, and the
			// caller still inside Call asks only from there.
			if l.since.Sub(l.sampleTo) != ra || !l.window.Equal(l.since) || l.admitted != 0 ||
				l.busy != 0 || !l.busySince.Equal(l.since) || l.active != 1 {
				t.Errorf("learner after the 429: %+v; want since = the 429+%v, window = busySince = since, admitted and busy 0, 1 active", l, ra)
			}
		})
	}
}

// Answers to attempts sent before the window: those of the sample the last
// 429 ended raise its rate if admitted; none counts in the next sample or
// relearns on its own 429.
func TestObserveAnswersSentBeforeWindow(t *testing.T) {
	now := time.Now()
	to := now.Add(-time.Millisecond) // the last 429
	from := to.Add(-2 * time.Second)
	window := to.Add(time.Millisecond / 2) // its pause has ended
	const sampled = 100
	// Less than to-from: the rate is over the time asked, not the wall's.
	const asked = 1500 * time.Millisecond
	base := learnt(sampled, asked)
	for _, tc := range []struct {
		name         string
		started      time.Time
		err          error
		wantSampled  int
		wantAdmitted int
		wantRelearn  bool
	}{
		{"late success of the sample", from.Add(time.Second), nil, sampled + 1, 0, false},
		{"late success at the sample's start", from, nil, sampled + 1, 0, false},
		{"late 429 of the sample", from.Add(time.Second), transient("late", time.Millisecond), sampled, 0, false},
		{"late 429 with a longer Retry-After", from.Add(time.Second), transient("late", time.Hour), sampled, 0, false},
		{"success of an older sample", from.Add(-time.Nanosecond), nil, sampled, 0, false},
		{"429 of an older sample", from.Add(-time.Minute), transient("old", time.Millisecond), sampled, 0, false},
		{"success sent after the 429, before the window", to.Add(time.Microsecond), nil, sampled, 0, false},
		{"success sent at the window", window, nil, sampled, 1, false},
		// One admitted in the window (with none, the 429 teaches nothing:
		// TestNothingAdmittedLearnsNothing).
		{"429 sent in the window, one admitted in it", window.Add(time.Nanosecond), transient("next", time.Millisecond), 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var told rates
			p := New(Options{Learn: true, OnRate: told.on}, 1)
			p.learner = learner{base: base, since: window, sampleFrom: from, sampleTo: to, sampled: sampled, sampleTime: asked, window: window, busySince: window}
			if tc.wantRelearn {
				p.learner.admitted = 1
			}
			before := p.learner

			p.observe(tc.started, tc.err)

			l := p.learner
			if l.sampled != tc.wantSampled || l.admitted != tc.wantAdmitted {
				t.Errorf("sampled %d, admitted %d; want %d, %d", l.sampled, l.admitted, tc.wantSampled, tc.wantAdmitted)
			}
			wantThrottled := 0
			if tc.err != nil {
				wantThrottled = 1
			}
			if st := p.Stats(); st.Throttled != wantThrottled {
				t.Errorf("Throttled = %d, want %d: every 429 is counted, learnt from or not", st.Throttled, wantThrottled)
			}
			if relearnt := len(told.calls()) > 0; relearnt != tc.wantRelearn {
				t.Errorf("OnRate told %v; relearn %v, want %v", told.calls(), relearnt, tc.wantRelearn)
			}
			if tc.wantRelearn {
				// A new sample: from the window, nothing admitted nor asked
				// in it yet.
				if !l.sampleFrom.Equal(window) || !l.sampleTo.After(to) || l.sampleTime != 0 || l.base != learnt(1, 0) {
					t.Errorf("learner %+v not reset by a 429 sent in the window", l)
				}
				return
			}
			// Only the sample's count (and so its rate, over the same time
			// asked) may have moved.
			if want := learnt(tc.wantSampled, asked); !near(l.base, want) {
				t.Errorf("base = %v, want %v", l.base, want)
			}
			l.base, l.sampled, l.admitted = before.base, before.sampled, before.admitted
			if l != before {
				t.Errorf("learner changed from %+v to %+v", before, p.learner)
			}
		})
	}
}

// Through Call, with requests in flight when a 429 is learnt from: one
// answered 429 in its turn (no relearning, not counted), one admitted
// (counted in the sample it was sent in, raising the rate).
func TestCallInFlightAnswers(t *testing.T) {
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
	admittedLate := &fakeFn{}
	throttledLate := &fakeFn{errs: []error{transient("in-flight", ra)}}
	first := &fakeFn{errs: []error{transient("first", ra)}}
	var learned float64
	// Nested: each attempt is in flight while the inner call runs.
	admittedLate.during = func(int) {
		if n, err := p.Call(context.Background(), throttledLate.call); err != nil || n != 2 {
			t.Errorf("throttled in flight: %d attempts, %v", n, err)
		}
	}
	throttledLate.during = func(attempt int) {
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
	if n, err := p.Call(context.Background(), admittedLate.call); err != nil || n != 1 {
		t.Fatalf("admitted in flight: %d attempts, %v", n, err)
	}
	l := p.learner
	if asked := l.sampleTime; asked <= 0 || asked > l.sampleTo.Sub(l.sampleFrom) {
		t.Errorf("sampleTime = %v, want in (0, %v]: callers were inside Call, never longer than the sample", asked, l.sampleTo.Sub(l.sampleFrom))
	}
	if c := told.calls(); len(c) != 1 || c[0] != learned || !near(learned, learnt(warm, l.sampleTime)) {
		t.Errorf("OnRate told %v, want once with %v (the in-flight 429 must not relearn)", c, learnt(warm, l.sampleTime))
	}
	if want := learnt(warm+1, l.sampleTime); l.sampled != warm+1 || !near(l.base, want) {
		t.Errorf("sampled %d, base %v; want %d, %v (the late admitted answer counts)", l.sampled, l.base, warm+1, want)
	}
	// Only the two retries, both sent after the pause, are in the new sample.
	if st := p.Stats(); st.Throttled != 2 || l.admitted != 2 {
		t.Errorf("Throttled %d, admitted %d; want 2, 2", st.Throttled, l.admitted)
	}
	if l.active != 0 {
		t.Errorf("%d callers still inside Call after every Call returned", l.active)
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
				p.observe(now, nil) // one admitted: a 429 has a sample to learn from
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

// rate holds base through the pause, grows from its end, and is forgotten
// forgetAfter after that end, not after the 429: a Retry-After longer than
// forgetAfter must not forget the rate before it is ever used.
func TestLearnerRate(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC) // the 429
	const base = 50.0
	const short, long = 10 * time.Second, forgetAfter + 5*time.Minute
	for _, tc := range []struct {
		name string
		ra   time.Duration
		at   time.Duration // from the 429
		want float64
	}{
		{"at the 429", short, 0, base},
		{"during the pause", short, short / 2, base},
		{"at the pause's end", short, short, base},
		{"30s after the pause: 3% more", short, short + 30*time.Second, base * 1.03},
		{"100s after the pause: 10% more", short, short + 100*time.Second, base * 1.1},
		{"past forgetAfter from the 429: held", short, forgetAfter + time.Second, base * (1 + learnGrowth*(forgetAfter+time.Second-short).Seconds())},
		{"forgetAfter after the pause: held", short, short + forgetAfter, base * 1.6},
		{"past forgetAfter after the pause: forgotten", short, short + forgetAfter + time.Second, 0},
		{"long past: forgotten", short, 24 * time.Hour, 0},
		{"long Retry-After, past forgetAfter from the 429", long, forgetAfter + time.Second, base},
		{"long Retry-After, 1s before its end", long, long - time.Second, base},
		{"long Retry-After, forgetAfter after its end", long, long + forgetAfter, base * 1.6},
		{"long Retry-After, past forgetAfter after its end", long, long + forgetAfter + time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := learner{base: base, sampleTo: t0, since: t0.Add(tc.ra)}
			if got := l.rate(t0.Add(tc.at)); !near(got, tc.want) {
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
			p.learner = learner{base: base, since: since, window: since}
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
		age     time.Duration // since the pause's end
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
			// age 0: since = now, no growth, so the interval is exact.
			since := now.Add(-tc.age)
			p.learner = learner{base: tc.learned, since: since, window: since}
			p.mu.Lock()
			got := p.intervalAt(now)
			p.mu.Unlock()
			if got != tc.want {
				t.Errorf("intervalAt = %v, want %v", got, tc.want)
			}
		})
	}
}

// The first sample starts when the first Call does, not at its first
// attempt (count), and entering is what makes time asking time.
func TestEnterStartsFirstWindow(t *testing.T) {
	p := New(Options{Learn: true}, 1)
	p.count(1)
	if w := p.learner.window; !w.IsZero() {
		t.Fatalf("an attempt set the window (%v): only entering Call does", w)
	}
	before := time.Now()
	p.enter()
	l := p.learner
	if l.window.Before(before) || l.window.After(time.Now()) || !l.busySince.Equal(l.window) || l.active != 1 {
		t.Fatalf("after the first enter (at %v): %+v; want window = busySince = then, 1 active", before, l)
	}
	p.enter()
	if got := p.learner; !got.window.Equal(l.window) || !got.busySince.Equal(l.busySince) || got.active != 2 {
		t.Errorf("a second caller moved the window or busySince: %+v, was %+v", got, l)
	}
	p.leave()
	p.leave()
	if got := p.learner; got.active != 0 || got.busy < 0 || got.busy > time.Since(before) {
		t.Errorf("after both left: %d active, busy %v; want 0, at most %v", got.active, got.busy, time.Since(before))
	}

	// Through Call: inside, one caller; after, the time spent inside is busy.
	p = New(Options{Learn: true}, 1)
	const inside = time.Millisecond
	var active int
	if _, err := p.Call(context.Background(), func(context.Context) error {
		p.mu.Lock()
		active = p.learner.active
		p.mu.Unlock()
		time.Sleep(inside)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if l := p.learner; active != 1 || l.active != 0 || l.busy < inside {
		t.Errorf("Call: %d active inside, %d after, busy %v; want 1, 0, at least %v", active, l.active, l.busy, inside)
	}
}

// asked sums the time some caller was inside Call since the window, never
// counting before it.
func TestAsked(t *testing.T) {
	w := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC) // the window
	for _, tc := range []struct {
		name string
		l    learner
		now  time.Time
		want time.Duration
	}{
		{"nobody inside: the spells that ended", learner{window: w, busy: 3 * time.Second}, w.Add(time.Hour), 3 * time.Second},
		{"inside since after the window", learner{window: w, busy: 3 * time.Second, active: 2, busySince: w.Add(10 * time.Second)}, w.Add(12 * time.Second), 5 * time.Second},
		{"inside since before the window: from the window", learner{window: w, active: 1, busySince: w.Add(-time.Minute)}, w.Add(2 * time.Second), 2 * time.Second},
		{"inside, the window not reached yet", learner{window: w, active: 1, busySince: w.Add(-time.Minute)}, w.Add(-time.Second), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.asked(tc.now); got != tc.want {
				t.Errorf("asked = %v, want %v", got, tc.want)
			}
		})
	}
}

// A sample's rate is over the time the run was asking: time with no Call
// under way (a prompt, a pause between phases) is no time the service
// could admit anything in, and counting it would learn a rate far under
// the limit.
func TestIdleTimeNotAsked(t *testing.T) {
	const admitted = 30
	for _, tc := range []struct {
		name  string
		steps []step // from the first Call's entry; a caller is inside at the end
		want  time.Duration
	}{
		{"asking throughout", []step{{1, 3 * time.Second}}, 3 * time.Second},
		{"an hour idle between calls", []step{{1, 2 * time.Second}, {-1, time.Hour}, {1, time.Second}}, 3 * time.Second},
		{"overlapping callers count once", []step{{2, time.Second}, {-1, time.Second}, {1, time.Second}, {-2, 30 * time.Minute}, {1, time.Second}}, 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{Learn: true}, 1)
			start := time.Now()
			play(p, tc.steps)
			for range admitted {
				p.observe(time.Now(), nil)
			}
			p.observe(time.Now(), transient("r", time.Hour))
			real := time.Since(start)

			l := p.learner
			if l.sampled != admitted || l.sampleTime < tc.want || l.sampleTime > tc.want+real {
				t.Errorf("sample of %d over %v; want %d over %v (+ up to %v of the test's own time)", l.sampled, l.sampleTime, admitted, tc.want, real)
			}
			if lo, hi := learnt(admitted, tc.want+real), learnt(admitted, tc.want); l.base < lo-1e-9 || l.base > hi+1e-9 {
				t.Errorf("learned %v, want %v: admitted over the time asked (at least %v)", l.base, hi, lo)
			}
		})
	}
}

// A 429's pause is no asking time, even for callers inside Call waiting it
// out: the next sample starts at its end, with nothing of the last one.
func TestPauseNotAsked(t *testing.T) {
	const (
		ra       = time.Hour
		admitted = 10
	)
	for _, tc := range []struct {
		name  string
		steps []step // from the 429, its caller inside Call
		want  time.Duration
	}{
		{"its caller waits the pause out and goes on", []step{{0, ra + 2*time.Second}}, 2 * time.Second},
		{"a caller enters in the pause, nobody inside", []step{{-1, ra / 2}, {1, ra/2 + 2*time.Second}}, 2 * time.Second},
		{"a caller enters in the pause and leaves after it", []step{{-1, ra / 2}, {1, ra/2 + 2*time.Second}, {-1, time.Minute}}, 2 * time.Second},
		{"the call ends in the pause", []step{{-1, ra + time.Minute}}, 0},
		{"one call across the pause's end, another after it", []step{{0, ra + time.Second}, {-1, time.Minute}, {1, time.Second}}, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{Learn: true}, 1)
			start := time.Now()
			// The last sample: a spell that ended, then the throttled call.
			play(p, []step{{1, 5 * time.Second}, {-1, time.Second}, {1, time.Second}})
			for range 5 {
				p.observe(time.Now(), nil)
			}
			p.observe(time.Now(), transient("r", ra))
			play(p, tc.steps)
			for range admitted {
				p.observe(time.Now(), nil)
			}
			p.observe(time.Now(), transient("next", ra))
			real := time.Since(start)

			l := p.learner
			if l.sampled != admitted || l.sampleTime < tc.want || l.sampleTime > tc.want+real {
				t.Errorf("sample of %d over %v; want %d over %v (+ up to %v of the test's own time)", l.sampled, l.sampleTime, admitted, tc.want, real)
			}
			if lo, hi := learnt(admitted, tc.want+real), learnt(admitted, tc.want); l.base < lo-1e-9 || l.base > hi+1e-9 {
				t.Errorf("learned %v, want %v (at least %v)", l.base, hi, lo)
			}
		})
	}
}

// A Retry-After longer than forgetAfter: answers seen in the pause, past
// forgetAfter from the 429, neither forget the rate nor restart its
// sample (a late one still counts); forgetAfter after the pause it is gone.
func TestLongRetryAfterHoldsRate(t *testing.T) {
	const ra = forgetAfter + 5*time.Minute
	p := New(Options{Learn: true}, 1)
	p.enter()
	advance(p, 2*time.Second)
	for range 19 {
		p.observe(time.Now(), nil)
	}
	p.observe(time.Now(), transient("r", ra))
	if base := p.learner.base; !near(base, learnt(19, p.learner.sampleTime)) || base <= minLearned {
		t.Fatalf("learned %v, want %v", base, learnt(19, p.learner.sampleTime))
	}

	advance(p, forgetAfter+time.Second)
	held := p.learner
	p.observe(held.sampleFrom.Add(time.Second), nil) // a late answer of the sample
	l := p.learner
	if want := learnt(20, l.sampleTime); l.sampled != 20 || !near(l.base, want) || !l.window.Equal(held.window) {
		t.Errorf("after a late answer in the pause: %+v; want 20 sampled, base %v, window unchanged (%v)", l, want, held.window)
	}
	if got := p.Stats().Learned; got != l.base {
		t.Errorf("Learned = %v in the pause, want base %v", got, l.base)
	}

	// From the 429: ra + forgetAfter + 1s, i.e. forgetAfter + 1s after the pause.
	advance(p, ra)
	if got := p.Stats().Learned; got != 0 {
		t.Errorf("Learned = %v past forgetAfter after the pause, want 0", got)
	}
}

// A forgotten rate says nothing about the limit now: the first answer
// after it restarts the sample, so the next 429 learns from what was sent
// since, over the time asked since, not from the whole time since the old
// window (most of it at the old, slower pace).
func TestForgottenRateRestartsSample(t *testing.T) {
	const (
		old   = 30 // admitted at the old pace
		fresh = 20 // admitted after the restart
	)
	for _, tc := range []struct {
		name    string
		gap     time.Duration // from the pause's end to the answer
		answer  error
		restart bool
	}{
		{"forgotten, then a success", forgetAfter + time.Minute, nil, true},
		{"forgotten, then a failure", forgetAfter + time.Minute, fmt.Errorf("connection reset"), true},
		{"forgotten, then a 503", forgetAfter + time.Minute, unavailable(time.Second), true},
		{"held", forgetAfter - time.Minute, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var told rates
			p := New(Options{Learn: true, OnRate: told.on}, 1)
			start := time.Now()
			p.enter()
			for range 5 { // a rate to forget: 5 admitted over 5 s
				p.observe(time.Now(), nil)
			}
			advance(p, 5*time.Second)
			p.observe(time.Now(), transient("first", time.Second))
			advance(p, time.Second) // the pause
			for range old {
				p.observe(time.Now(), nil)
			}
			// Asking throughout, but in two spells: busy must restart too.
			play(p, []step{{0, tc.gap / 2}, {-1, 0}, {1, tc.gap / 2}})

			before := time.Now()
			p.observe(before.Add(-time.Millisecond), tc.answer)
			l := p.learner
			if tc.restart {
				// The new sample starts when the rate was forgotten: this
				// answer, sent at full speed since, is its first.
				if l.base != 0 || !l.window.Equal(l.since.Add(forgetAfter)) || l.admitted != 1 || l.busy != 0 {
					t.Fatalf("after a forgotten rate: %+v; want base 0, window at the forgetting (%v), this answer admitted, busy 0", l, l.since.Add(forgetAfter))
				}
			} else if l.base == 0 || l.admitted != old+1 {
				t.Fatalf("rate held, yet: %+v", l)
			}

			for range fresh {
				p.observe(time.Now(), nil)
			}
			advance(p, 2*time.Second)
			p.observe(time.Now(), transient("next", time.Second))
			real := time.Since(start)

			l = p.learner
			wantSampled, wantAsked := old+1+fresh, tc.gap+2*time.Second
			if tc.restart {
				wantSampled, wantAsked = 1+fresh, tc.gap-forgetAfter+2*time.Second
			}
			if l.sampled != wantSampled || l.sampleTime < wantAsked || l.sampleTime > wantAsked+real {
				t.Errorf("sample of %d over %v; want %d over %v (+ up to %v of the test's own time)", l.sampled, l.sampleTime, wantSampled, wantAsked, real)
			}
			if lo, hi := learnt(wantSampled, wantAsked+real), learnt(wantSampled, wantAsked); l.base < lo-1e-9 || l.base > hi+1e-9 {
				t.Errorf("learned %v, want %v (at least %v)", l.base, hi, lo)
			}
			if c := told.calls(); len(c) != 2 || c[1] != l.base {
				t.Errorf("OnRate told %v, want the two 429s' rates", c)
			}
		})
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

package pacer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"connrecon/internal/apierr"
)

// The zero Options' retry budget, and the apply flags' defaults.
const (
	// DefaultMaxAttempts: see Options.MaxAttempts for why eight.
	DefaultMaxAttempts = 8
	// DefaultMaxRetryTime: long enough to ride out a few Retry-After
	// pauses, short enough that a stuck call does not stall a run.
	DefaultMaxRetryTime = 2 * time.Minute
)

// Options bound the retries of one call and the pace of all of them.
type Options struct {
	// MaxAttempts per call, the first included (default
	// DefaultMaxAttempts). Eight rather
	// than six: against a tenant answering a quarter of requests 429/503,
	// six tries in a row fail about once in 3,000 moves (0.26^6), which a
	// nightly job of 2,000 moves would hit every other night; eight make it
	// once in 50,000. MaxRetryTime still bounds how long that can take.
	MaxAttempts int
	// MaxRetryTime is the total time a call may spend waiting to retry:
	// backoff and Retry-After pauses (default DefaultMaxRetryTime). Waiting for the rate
	// limit (RPS) is not counted: that is the pace the operator chose, not
	// a failure.
	MaxRetryTime time.Duration
	BaseDelay    time.Duration // first backoff when the service gave no Retry-After (default 500ms)
	MaxDelay     time.Duration // cap on one backoff (default 30s)
	// RPS caps how often attempts start, across every call through this
	// pacer: reads and writes, first attempts and retries. 0 means no cap.
	// The bucket holds one token (requests go out evenly spaced, 1/RPS
	// apart): a larger burst buys no throughput, since the long-run rate is
	// RPS either way, and after a shared pause it would release a volley of
	// requests into a tenant that has just throttled us.
	RPS float64
	// OnThrottle, if set, is told when a Retry-After pauses every caller: d
	// is how long the pause lasts from now. It is called once when a pause
	// begins, and again only when a later Retry-After pushes the pause's end
	// out by at least ReportExtension (the throttle got longer), never once
	// per worker: the answers of requests already in flight when the pause
	// began extend it by milliseconds and stay silent. It runs on the
	// goroutine that got the answer, without the pacer's lock held; calls
	// are serialised. It must not block.
	OnThrottle func(d time.Duration)
	// Learn paces attempts under the rate the service allowed, once it
	// has answered 429 (see learn); RPS, when set, stays the cap. Without
	// it a throttled run finds the limit again each time the tenant's
	// budget runs dry: one shared pause and a volley of 429s every time.
	Learn bool
	// OnRate, if set, is told the rate Learn settled on each time a 429
	// set it. Same rules as OnThrottle.
	OnRate func(rps float64)
}

// ReportExtension is how far a Retry-After must push an active pause's end
// out for OnThrottle to be called again.
const ReportExtension = time.Second

func (o *Options) defaults() {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxRetryTime <= 0 {
		o.MaxRetryTime = DefaultMaxRetryTime
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 500 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 30 * time.Second
	}
	if o.RPS < 0 {
		o.RPS = 0
	}
}

// Stats count what a pacer did; see Pacer.Stats.
type Stats struct {
	Attempts   int // attempts started, retries included
	Retries    int // attempts that were retries
	RetryAfter int // failures that carried a Retry-After (429, some 503s)
	// Pauses counts throttle windows: a Retry-After that paused every
	// caller while no pause was in force.
	Pauses int
	// Extensions counts Retry-Afters that pushed an active pause's end
	// further out: typically the answers of requests that were already in
	// flight when the pause began.
	Extensions int
	RateWait   time.Duration // total time callers waited for the rate limit
	Throttled  int           // attempts answered 429
	// Learned is the rate Learn paces at now, in attempts per second; 0
	// before the first 429 (or after a long quiet spell: see forgetAfter).
	Learned float64
}

// Pacer retries transient failures with backoff and a shared pause, and
// spaces attempts out to a rate limit.
type Pacer struct {
	opts     Options
	interval time.Duration // 1/RPS; 0 without a rate limit

	mu         sync.Mutex
	pauseUntil time.Time
	nextSlot   time.Time // earliest start of the next attempt under RPS
	rng        *rand.Rand
	stats      Stats
	learner    learner

	notifyMu sync.Mutex // serialises OnThrottle
}

// New returns a Pacer; seed makes the jitter repeatable in tests.
func New(opts Options, seed uint64) *Pacer {
	opts.defaults()
	p := &Pacer{opts: opts, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	if opts.RPS > 0 {
		p.interval = time.Duration(float64(time.Second) / opts.RPS)
	}
	return p
}

// Pauses reports how many throttle windows began: times a Retry-After
// paused every caller while no pause was in force.
func (p *Pacer) Pauses() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats.Pauses
}

// Stats returns a snapshot of the counters.
func (p *Pacer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats
	st.Learned = p.learner.rate(time.Now())
	return st
}

// GaveUpError wraps the last failure when the retry budget ran out.
type GaveUpError struct {
	Attempts int
	Err      error
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v", e.Attempts, e.Err)
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// InterruptedError: the context ended while a call was waiting to retry
// (or its attempt failed transiently after the context ended), so the
// retry was never sent. Both the context's error and the last attempt's
// failure are in the chain: errors.Is finds context.Canceled,
// apierr.CallOf finds the last attempt's trace ids.
type InterruptedError struct {
	Attempts int   // attempts made, at least 1
	Last     error // the last attempt's failure
	// CtxErr is ctx.Err(), deliberately not context.Cause: a cause set by
	// the caller (another worker's 403) would otherwise be found in this
	// call's chain by errors.As and taken for this call's own failure.
	CtxErr error
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted while waiting to retry after %v", e.Last)
}

func (e *InterruptedError) Unwrap() []error { return []error{e.CtxErr, e.Last} }

// Call runs fn until it succeeds, fails in a way retrying cannot help, the
// retry budget runs out, or ctx ends. It returns the number of attempts made.
//
// When ctx ends before the first attempt Call returns 0 and ctx's error.
// When it ends later, no further attempt is made: an attempt's own failure
// is returned as is unless it was transient (a retry would have followed),
// in which case Call returns an *InterruptedError. ctx is handed to fn; a
// caller that wants attempts in flight to outlive ctx (a grace period)
// gives fn a context of its own.
func (p *Pacer) Call(ctx context.Context, fn func(context.Context) error) (int, error) {
	var (
		waited time.Duration
		last   error
	)
	interrupted := func(attempts int) error {
		return &InterruptedError{Attempts: attempts, Last: last, CtxErr: ctx.Err()}
	}
	p.enter()
	defer p.leave()
	for attempt := 1; ; attempt++ {
		// A first attempt waits out any shared pause however long: the
		// service asked for it. A retry waits only within what is left of
		// MaxRetryTime, so another caller's long Retry-After cannot hold it
		// past its budget.
		budget := time.Duration(-1)
		if attempt > 1 {
			budget = p.opts.MaxRetryTime - waited
		}
		w, err := p.acquire(ctx, budget)
		waited += w
		switch {
		case errors.Is(err, errOverBudget):
			return attempt - 1, &GaveUpError{Attempts: attempt - 1, Err: last}
		case err != nil && attempt == 1:
			return 0, err
		case err != nil:
			return attempt - 1, interrupted(attempt - 1)
		}
		p.count(attempt)
		started := time.Now()
		err = fn(withAttempt(ctx, attempt))
		p.observe(started, err)
		if err == nil {
			return attempt, nil
		}
		last = err
		if apierr.ClassOf(err) != apierr.Transient {
			return attempt, err
		}
		if ctx.Err() != nil {
			return attempt, interrupted(attempt)
		}
		if attempt >= p.opts.MaxAttempts {
			return attempt, &GaveUpError{Attempts: attempt, Err: err}
		}
		delay := p.backoff(attempt)
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			delay = ae.RetryAfter
			p.pauseAll(delay)
		}
		if waited+delay > p.opts.MaxRetryTime {
			return attempt, &GaveUpError{Attempts: attempt, Err: err}
		}
		waited += delay
		if sleep(ctx, delay) != nil {
			return attempt, interrupted(attempt)
		}
	}
}

type attemptKey struct{}

func withAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

// Attempt is the number of the attempt whose context ctx is (1 for the
// first), as Call hands it to fn; 0 outside a Call. A retry is sent on
// its own, never coalesced into a batch with other requests.
func Attempt(ctx context.Context) int {
	n, _ := ctx.Value(attemptKey{}).(int)
	return n
}

// WithAttempt carries the attempt number of from (a context Call handed
// to fn) over to ctx: for a caller that sends the attempt on a context of
// its own (a grace period).
func WithAttempt(ctx, from context.Context) context.Context {
	if n := Attempt(from); n > 0 {
		return withAttempt(ctx, n)
	}
	return ctx
}

func (p *Pacer) count(attempt int) {
	p.mu.Lock()
	p.stats.Attempts++
	if attempt > 1 {
		p.stats.Retries++
	}
	p.mu.Unlock()
}

// backoff is exponential with full jitter in its upper half.
func (p *Pacer) backoff(attempt int) time.Duration {
	d := p.opts.BaseDelay << (attempt - 1)
	if d <= 0 || d > p.opts.MaxDelay {
		d = p.opts.MaxDelay
	}
	p.mu.Lock()
	j := p.rng.Float64()
	p.mu.Unlock()
	return d/2 + time.Duration(j*float64(d/2))
}

// pauseAll makes every caller wait d from now, unless a pause already in
// force lasts longer.
func (p *Pacer) pauseAll(d time.Duration) { p.pause(d, true) }

// Pause makes every caller wait d from now, as a Retry-After does, for a
// caller that heard of the throttle before the attempt's own answer is
// read (a batch's answer holding a 429 for some of its requests): the
// others' next attempts wait, instead of going out into the throttle while
// the answers are being read. The attempts' own Retry-After is still
// counted in Stats when their calls see it.
func (p *Pacer) Pause(d time.Duration) {
	if d > 0 {
		p.pause(d, false)
	}
}

func (p *Pacer) pause(d time.Duration, counted bool) {
	now := time.Now()
	until := now.Add(d)
	report := false
	p.mu.Lock()
	if counted {
		p.stats.RetryAfter++
	}
	switch {
	case !p.pauseUntil.After(now): // no pause in force: a new window
		p.stats.Pauses++
		p.pauseUntil = until
		report = true
	case until.After(p.pauseUntil):
		p.stats.Extensions++
		report = until.Sub(p.pauseUntil) >= ReportExtension
		p.pauseUntil = until
	}
	// Rate-limit slots reserved inside the pause are abandoned (their
	// holders see the pause and wait again); the next free slot is its end.
	if p.nextSlot.Before(p.pauseUntil) {
		p.nextSlot = p.pauseUntil
	}
	p.mu.Unlock()
	if report && p.opts.OnThrottle != nil {
		p.notifyMu.Lock()
		p.opts.OnThrottle(d)
		p.notifyMu.Unlock()
	}
}

// errOverBudget: a shared pause outlasts what is left of a retry's budget.
var errOverBudget = errors.New("pacer: shared pause exceeds the retry budget")

// acquire blocks until an attempt may start: no shared pause in force and,
// under RPS, this caller's slot reached. It reports how long it waited on
// pauses (rate-limit waits are not part of the retry budget). With budget
// >= 0 it returns errOverBudget instead of waiting on pauses longer than
// budget in all.
func (p *Pacer) acquire(ctx context.Context, budget time.Duration) (time.Duration, error) {
	var paused time.Duration
	for {
		w, err := p.wait(ctx, budget-paused, budget >= 0)
		paused += w
		if err != nil {
			return paused, err
		}
		p.mu.Lock()
		now := time.Now()
		interval := p.intervalAt(now)
		if interval == 0 {
			p.mu.Unlock()
			return paused, nil
		}
		slot := p.nextSlot
		if slot.Before(now) {
			slot = now
		}
		p.nextSlot = slot.Add(interval)
		if d := slot.Sub(now); d > 0 {
			p.stats.RateWait += d
		}
		p.mu.Unlock()
		if err := sleep(ctx, time.Until(slot)); err != nil {
			return paused, err
		}
		// A pause may have begun while this caller waited for its slot: an
		// attempt sent now would walk into the throttle. Wait again.
		p.mu.Lock()
		inPause := time.Now().Before(p.pauseUntil)
		p.mu.Unlock()
		if !inPause {
			return paused, nil
		}
	}
}

// intervalAt is the spacing of attempts at now: the stricter of RPS and
// the learnt rate; 0 for none. Called with mu held.
func (p *Pacer) intervalAt(now time.Time) time.Duration {
	r := p.learner.rate(now)
	if p.opts.RPS > 0 && (r == 0 || p.opts.RPS < r) {
		return p.interval
	}
	if r <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / r)
}

// wait blocks while a shared pause is in force, and reports how long it
// waited. With bounded it returns errOverBudget instead of waiting longer
// than budget in all.
func (p *Pacer) wait(ctx context.Context, budget time.Duration, bounded bool) (time.Duration, error) {
	var waited time.Duration
	for {
		p.mu.Lock()
		d := time.Until(p.pauseUntil)
		p.mu.Unlock()
		if d <= 0 {
			return waited, ctx.Err()
		}
		if bounded && waited+d > budget {
			return waited, errOverBudget
		}
		if err := sleep(ctx, d); err != nil {
			return waited, err
		}
		waited += d
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// learner estimates the rate the service allows from what it admitted.
// A throttle that refills a budget at a steady rate admits, while a run
// asks for more than that, exactly that rate (plus what was saved up). So
// at a 429 to an attempt sent since the last one it learnt from, the rate
// becomes what the service admitted of the attempts sent since then, over
// the time the run was asking (some Call under way: a prompt or a pause is
// no time the service could admit anything in; at least minSample), less
// learnMargin. Answers to that sample's attempts that come after the 429
// (the rest of a batch, requests in flight) still count: the rate is
// raised as they arrive, during the pause. From the end of the pause it
// grows by learnGrowth of itself a second, so that a limit that rose is
// found again, but slowly: each 429 costs a shared pause, and at this pace
// the next one comes minutes later, not seconds (docs/design.md,
// "Pacing").
type learner struct {
	base  float64   // the rate the last 429 set; 0: none
	since time.Time // when base took effect: the end of that 429's pause
	// The sample base is learnt from: attempts started from sampleFrom
	// until the 429 that ended it (sampleTo), how many of them the service
	// admitted so far, and the time the run was asking meanwhile.
	sampleFrom, sampleTo time.Time
	sampled              int
	sampleTime           time.Duration
	window               time.Time // attempts started since then are the next sample...
	admitted             int       // ...and this many of them were not answered 429
	// Asking time since window: callers inside Call, since when, and the
	// time summed over the spells that ended.
	active    int
	busySince time.Time
	busy      time.Duration
}

const (
	learnMargin = 0.97  // pace 3% under what was admitted
	learnGrowth = 0.001 // per second: 3% in 30 s
	minSample   = time.Second
	minLearned  = 0.5 // attempts per second: a tenant that admitted nothing still gets probed
	// forgetAfter: a rate not renewed by a 429 for this long after its
	// pause ended is forgotten (the run goes back to full speed).
	forgetAfter = 10 * time.Minute
)

// rate is the learnt rate at now, 0 for none.
func (l *learner) rate(now time.Time) float64 {
	if l.base == 0 || now.Sub(l.since) > forgetAfter {
		return 0
	}
	d := now.Sub(l.since)
	if d <= 0 {
		return l.base
	}
	return l.base * (1 + learnGrowth*d.Seconds())
}

// learn sets base from the sample.
func (l *learner) learn() {
	l.base = max(float64(l.sampled)/max(l.sampleTime, minSample).Seconds()*learnMargin, minLearned)
}

// asked is the time the run was asking since window, up to now.
func (l *learner) asked(now time.Time) time.Duration {
	d := l.busy
	if l.active > 0 {
		if from := later(l.busySince, l.window); now.After(from) {
			d += now.Sub(from)
		}
	}
	return d
}

// restart begins a new sample at t.
func (l *learner) restart(t time.Time) {
	l.window, l.admitted, l.busy, l.busySince = t, 0, 0, t
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// enter and leave bracket a Call: the time some caller is inside one is
// time the run asks the service for something.
func (p *Pacer) enter() {
	now := time.Now()
	p.mu.Lock()
	l := &p.learner
	if l.window.IsZero() {
		l.restart(now)
	}
	if l.active == 0 {
		l.busySince = now
	}
	l.active++
	p.mu.Unlock()
}

func (p *Pacer) leave() {
	now := time.Now()
	p.mu.Lock()
	l := &p.learner
	if l.active--; l.active == 0 {
		if from := later(l.busySince, l.window); now.After(from) {
			l.busy += now.Sub(from)
		}
	}
	p.mu.Unlock()
}

// observe counts an attempt's answer for the learner: started is when it
// was sent.
func (p *Pacer) observe(started time.Time, err error) {
	var ae *apierr.Error
	throttled := errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests
	now := time.Now()
	p.mu.Lock()
	l := &p.learner
	if throttled {
		p.stats.Throttled++
	}
	if l.base > 0 && l.rate(now) == 0 {
		// Forgotten: what the run sent at the old pace says nothing
		// about the limit now; what it sent since (at full speed) does,
		// this answer included.
		t, busySince := l.since.Add(forgetAfter), l.busySince
		l.base = 0
		l.restart(t)
		l.busySince = later(busySince, t)
	}
	switch {
	case !p.opts.Learn:
		p.mu.Unlock()
		return
	case started.Before(l.window):
		// Sent before the last 429: part of the sample it ended (or of an
		// older one), answered late.
		if !throttled && l.base > 0 && !started.Before(l.sampleFrom) && started.Before(l.sampleTo) {
			l.sampled++
			l.learn()
		}
		p.mu.Unlock()
		return
	case !throttled:
		l.admitted++
		p.mu.Unlock()
		return
	}
	if l.admitted == 0 {
		// Nothing admitted since the window (the first answer after a
		// quiet spell, the tenant's budget spent by someone else): no
		// rate to learn from it, and a guess (the floor) would crawl for
		// an hour. The rate stays; the next sample starts after the pause.
		l.restart(now.Add(ae.RetryAfter))
		p.mu.Unlock()
		return
	}
	l.sampleFrom, l.sampleTo, l.sampled, l.sampleTime = l.window, now, l.admitted, l.asked(now)
	l.learn()
	l.since = now.Add(ae.RetryAfter)
	l.restart(l.since)
	rate := l.base
	p.mu.Unlock()
	if p.opts.OnRate != nil {
		p.notifyMu.Lock()
		p.opts.OnRate(rate)
		p.notifyMu.Unlock()
	}
}

package pacer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"connrecon/internal/apierr"
)

// Options bound the retries of one call.
type Options struct {
	MaxAttempts  int           // attempts per call, first included (default 6)
	MaxRetryTime time.Duration // total time a call may spend waiting to retry (default 2m)
	BaseDelay    time.Duration // first backoff when the service gave no Retry-After (default 500ms)
	MaxDelay     time.Duration // cap on one backoff (default 30s)
}

func (o *Options) defaults() {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.MaxRetryTime <= 0 {
		o.MaxRetryTime = 2 * time.Minute
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 500 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 30 * time.Second
	}
}

// Pacer retries transient failures with backoff and a shared pause.
type Pacer struct {
	opts Options

	mu         sync.Mutex
	pauseUntil time.Time
	rng        *rand.Rand
	pauses     int // times a Retry-After extended the shared pause
}

// New returns a Pacer; seed makes the jitter repeatable in tests.
func New(opts Options, seed uint64) *Pacer {
	opts.defaults()
	return &Pacer{opts: opts, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Pauses reports how many times a Retry-After paused every caller.
func (p *Pacer) Pauses() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pauses
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

// Call runs fn until it succeeds, fails in a way retrying cannot help, the
// retry budget runs out, or ctx ends. It returns the number of attempts made.
func (p *Pacer) Call(ctx context.Context, fn func(context.Context) error) (int, error) {
	var (
		waited time.Duration
		last   error
	)
	for attempt := 1; ; attempt++ {
		// A first attempt waits out any shared pause however long: the
		// service asked for it. A retry waits only within what is left of
		// MaxRetryTime, so another caller's long Retry-After cannot hold it
		// past its budget.
		budget := time.Duration(-1)
		if attempt > 1 {
			budget = p.opts.MaxRetryTime - waited
		}
		w, err := p.wait(ctx, budget)
		waited += w
		if errors.Is(err, errOverBudget) {
			return attempt - 1, &GaveUpError{Attempts: attempt - 1, Err: last}
		}
		if err != nil {
			return attempt - 1, err
		}
		err = fn(ctx)
		if err == nil {
			return attempt, nil
		}
		last = err
		var ae *apierr.Error
		if apierr.ClassOf(err) != apierr.Transient || ctx.Err() != nil {
			return attempt, err
		}
		if attempt >= p.opts.MaxAttempts {
			return attempt, &GaveUpError{Attempts: attempt, Err: err}
		}
		delay := p.backoff(attempt)
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			delay = ae.RetryAfter
			p.pauseAll(delay)
		}
		if waited+delay > p.opts.MaxRetryTime {
			return attempt, &GaveUpError{Attempts: attempt, Err: err}
		}
		waited += delay
		if err := sleep(ctx, delay); err != nil {
			return attempt, err
		}
	}
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

func (p *Pacer) pauseAll(d time.Duration) {
	until := time.Now().Add(d)
	p.mu.Lock()
	if until.After(p.pauseUntil) {
		p.pauseUntil = until
		p.pauses++
	}
	p.mu.Unlock()
}

// errOverBudget: a shared pause outlasts what is left of a retry's budget.
var errOverBudget = errors.New("pacer: shared pause exceeds the retry budget")

// wait blocks while a shared pause is in force, and reports how long it
// waited. With budget >= 0 it returns errOverBudget instead of waiting
// longer than budget in all.
func (p *Pacer) wait(ctx context.Context, budget time.Duration) (time.Duration, error) {
	var waited time.Duration
	for {
		p.mu.Lock()
		d := time.Until(p.pauseUntil)
		p.mu.Unlock()
		if d <= 0 {
			return waited, ctx.Err()
		}
		if budget >= 0 && waited+d > budget {
			return waited, errOverBudget
		}
		if err := sleep(ctx, d); err != nil {
			return waited, err
		}
		waited += d
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

package executor

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"connrecon/internal/apierr"
	"connrecon/internal/pacer"
	"connrecon/plan"
)

// Mover is what the executor needs from Graph: one attempt at putting a
// connector into a group.
type Mover interface {
	MoveConnector(ctx context.Context, connectorID, groupID string) (apierr.Call, error)
}

// Outcome of one planned move.
type Outcome string

const (
	Succeeded    Outcome = "succeeded"
	Failed       Outcome = "failed"
	NotAttempted Outcome = "notAttempted" // the run stopped before this move was sent
)

// Result is what happened to one move.
type Result struct {
	Change     int         // index into plan.Plan.Changes
	Outcome    Outcome     // succeeded, failed or notAttempted
	Call       apierr.Call // the last attempt's status and trace ids
	Attempts   int
	Error      string // why it failed; empty on success
	Note       string // e.g. "already in place"
	StartedAt  time.Time
	FinishedAt time.Time
}

// Options for Run.
type Options struct {
	Concurrency int          // concurrent requests per wave (default 8)
	Pacer       *pacer.Pacer // shared retry policy; nil means one attempt per move
	// OnResult, if set, is called once per finished move (from worker
	// goroutines, serialised by Run).
	OnResult func(Result)
}

// FatalError stops a run: nothing more is sent (401/403).
type FatalError struct{ Err error }

func (e *FatalError) Error() string { return e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// Run applies the plan's moves and returns one Result per move, in apply
// order. The error is non-nil only when the run stopped early: a
// *FatalError (auth) or the context's error (interrupted). Failed moves are
// results, not errors.
func Run(ctx context.Context, p *plan.Plan, m Mover, opts Options) ([]Result, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	moves := p.Moves()
	results := make([]Result, len(moves))
	for i, ci := range moves {
		results[i] = Result{Change: ci, Outcome: NotAttempted}
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		mu    sync.Mutex
		fatal error
	)
	for start := 0; start < len(moves); {
		wave := p.Changes[moves[start]].Wave
		end := start
		for end < len(moves) && p.Changes[moves[end]].Wave == wave {
			end++
		}
		var g errgroup.Group
		g.SetLimit(opts.Concurrency)
		for i := start; i < end; i++ {
			if runCtx.Err() != nil {
				break
			}
			g.Go(func() error {
				if runCtx.Err() != nil {
					return nil // stopped while waiting for a slot
				}
				r, err := apply(runCtx, p.Changes[moves[i]], m, opts.Pacer)
				if r.Outcome == NotAttempted {
					return nil // interrupted before the request went out
				}
				r.Change = moves[i]
				mu.Lock()
				defer mu.Unlock()
				results[i] = r
				if apierr.ClassOf(err) == apierr.Auth && fatal == nil {
					fatal = &FatalError{Err: err}
					stop()
				}
				if opts.OnResult != nil {
					opts.OnResult(r)
				}
				return nil
			})
		}
		g.Wait()
		if runCtx.Err() != nil {
			break
		}
		start = end
	}
	if fatal != nil {
		return results, fatal
	}
	return results, ctx.Err()
}

// apply makes one move, with the pacer's retries. A move answered "already
// in place" succeeded: the tenant is as the plan wants it.
func apply(ctx context.Context, c plan.Change, m Mover, pc *pacer.Pacer) (Result, error) {
	r := Result{StartedAt: time.Now().UTC()}
	var last apierr.Call
	attempt := func(ctx context.Context) error {
		call, err := m.MoveConnector(ctx, c.ConnectorID, c.ToGroupID)
		last = call
		return err
	}
	var err error
	if pc != nil {
		r.Attempts, err = pc.Call(ctx, attempt)
	} else if err = ctx.Err(); err == nil {
		r.Attempts, err = 1, attempt(ctx)
	}
	r.FinishedAt = time.Now().UTC()
	r.Call = last
	switch {
	case r.Attempts == 0:
		r.Outcome = NotAttempted
	case err == nil:
		r.Outcome = Succeeded
	case apierr.ClassOf(err) == apierr.AlreadyInPlace:
		r.Outcome, r.Note, err = Succeeded, "already in place", nil
	default:
		r.Outcome, r.Error = Failed, err.Error()
	}
	return r, err
}

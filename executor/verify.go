package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"connrecon/internal/apierr"
	"connrecon/plan"
)

// Reader is what verification needs from Graph: the ids of a connector
// group's members. Retries and pacing are the Reader's business (the
// Graph client reads through the run's pacer); Verify adds only the
// polling that rides out replication delay.
type Reader interface {
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// VerifyOptions bound verification.
type VerifyOptions struct {
	// Timeout is how long to keep polling for moves not yet visible
	// (default 60s). It bounds when the last round starts, not a read in
	// flight: a read is bounded by the Reader's own retry budget.
	Timeout time.Duration
	// Interval is the first wait between rounds (default 500ms); each
	// wait doubles, up to MaxInterval (default 8s).
	Interval    time.Duration
	MaxInterval time.Duration
	// Concurrency is the number of group reads in flight at once (default 8).
	Concurrency int
	// OnWait, if set, is called before each wait with the number of moves
	// not yet seen in their target group.
	OnWait func(unverified int, wait time.Duration)
}

func (o *VerifyOptions) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = 8 * time.Second
	}
	if o.MaxInterval < o.Interval {
		o.MaxInterval = o.Interval
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
}

// UnverifiedError: verification ended with succeeded moves that were never
// seen in their target group (Verified false).
type UnverifiedError struct {
	Unverified int
	Timeout    time.Duration
	// LastReadErr is the last failed group read, if any: why a group may
	// never have been seen.
	LastReadErr error
}

func (e *UnverifiedError) Error() string {
	s := fmt.Sprintf("%d move(s) not seen in their target group within %v", e.Unverified, e.Timeout)
	if e.LastReadErr != nil {
		s += "; last failed read: " + e.LastReadErr.Error()
	}
	return s
}

func (e *UnverifiedError) Unwrap() error { return e.LastReadErr }

// Verify checks that every succeeded move shows in its target group. Graph
// writes are eventually consistent, so it polls: it reads each affected
// group, then re-reads only the groups with moves not yet seen, waiting
// Interval, then twice that, up to MaxInterval, until all are seen or
// Timeout has passed. It sets Verified on every succeeded result: true when
// seen, false when not seen in time (or the group is gone).
//
// It returns nil when every move was seen; an *UnverifiedError when some
// were not; ctx's error when interrupted (moves not yet seen keep Verified
// nil); and the read error when a read is refused (401/403: auth errors are
// not waited out).
func Verify(ctx context.Context, p *plan.Plan, results []Result, r Reader, opts VerifyOptions) error {
	if r == nil {
		return errNoReader
	}
	opts.defaults()
	pending := map[string][]int{} // group id → indexes into results not yet seen
	for i := range results {
		if results[i].Outcome == Succeeded {
			gid := p.Changes[results[i].Change].ToGroupID
			pending[gid] = append(pending[gid], i)
		}
	}
	setVerified := func(i int, v bool) { results[i].Verified = &v }
	var (
		lastErr  error
		notFound int // moves whose group is gone: false without waiting
	)
	deadline := time.Now().Add(opts.Timeout)
	wait := opts.Interval
	for len(pending) > 0 {
		members, readErrs := readGroups(ctx, r, pending, opts.Concurrency)
		if err := ctx.Err(); err != nil {
			return err
		}
		for gid, idx := range pending {
			if err := readErrs[gid]; err != nil {
				switch apierr.ClassOf(err) {
				case apierr.Auth:
					return fmt.Errorf("verify: %w", err)
				case apierr.NotFound:
					for _, i := range idx {
						setVerified(i, false)
					}
					notFound += len(idx)
					delete(pending, gid)
				}
				lastErr = err
				continue
			}
			var still []int
			for _, i := range idx {
				if members[gid][strings.ToLower(p.Changes[results[i].Change].ConnectorID)] {
					setVerified(i, true)
				} else {
					still = append(still, i)
				}
			}
			if len(still) == 0 {
				delete(pending, gid)
			} else {
				pending[gid] = still
			}
		}
		left := time.Until(deadline)
		if len(pending) == 0 || left <= 0 {
			break
		}
		w := min(wait, left)
		if opts.OnWait != nil {
			n := 0
			for _, idx := range pending {
				n += len(idx)
			}
			opts.OnWait(n, w)
		}
		t := time.NewTimer(w)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, opts.MaxInterval)
	}
	unverified := notFound
	for _, idx := range pending {
		for _, i := range idx {
			setVerified(i, false)
		}
		unverified += len(idx)
	}
	if unverified > 0 {
		return &UnverifiedError{Unverified: unverified, Timeout: opts.Timeout, LastReadErr: lastErr}
	}
	return nil
}

// readGroups reads the members of every pending group, at most limit at
// once. Members are keyed by lower-case id: Graph ids are GUIDs, which
// compare without regard to case.
func readGroups(ctx context.Context, r Reader, pending map[string][]int, limit int) (map[string]map[string]bool, map[string]error) {
	var (
		mu      sync.Mutex
		members = map[string]map[string]bool{}
		errs    = map[string]error{}
	)
	var g errgroup.Group
	g.SetLimit(limit)
	for gid := range pending {
		g.Go(func() error {
			ids, err := r.GroupMembers(ctx, gid)
			set := make(map[string]bool, len(ids))
			for _, id := range ids {
				set[strings.ToLower(id)] = true
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[gid] = fmt.Errorf("read members of group %s: %w", gid, err)
			} else {
				members[gid] = set
			}
			return nil
		})
	}
	_ = g.Wait() // reads report through errs, per group
	return members, errs
}

// errNoReader guards against a nil Reader: verification that silently
// verifies nothing would be worse than none.
var errNoReader = errors.New("verify: no reader")

package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"connrecon/internal/apierr"
	"connrecon/plan"
)

// Reader is what verification needs from Graph: the ids of a connector
// group's members, and of the applications it serves. Retries and pacing are the Reader's business (the
// Graph client reads through the run's pacer); Verify adds only the
// polling that rides out replication delay. The Call is the one that
// answered the read (its request-id is the settling read's in the audit
// trail).
type Reader interface {
	GroupMembers(ctx context.Context, groupID string) ([]string, apierr.Call, error)
	GroupApplications(ctx context.Context, groupID string) ([]string, apierr.Call, error)
}

// target is what verification reads for a move: the target group's
// members (a connector's move) or its applications (an application's).
type target struct {
	gid  string
	apps bool
}

func targetOf(c *plan.Change) target { return target{gid: c.ToGroupID, apps: c.IsApplication()} }

// read reads t.
func (t target) read(ctx context.Context, r Reader) ([]string, apierr.Call, error) {
	if t.apps {
		return r.GroupApplications(ctx, t.gid)
	}
	return r.GroupMembers(ctx, t.gid)
}

func (t target) what() string {
	if t.apps {
		return "applications"
	}
	return "members"
}

// readTarget reads change c's target group, as c's kind needs.
func readTarget(ctx context.Context, r Reader, c *plan.Change) ([]string, apierr.Call, error) {
	return targetOf(c).read(ctx, r)
}

// readWhat is what readTarget reads, in messages.
func readWhat(c *plan.Change) string { return targetOf(c).what() }

// VerifyOptions bound verification.
type VerifyOptions struct {
	// Timeout is how long to keep polling for moves not yet visible
	// (default DefaultVerifyTimeout). It bounds when the last round starts, not a read in
	// flight: a read is bounded by the Reader's own retry budget.
	Timeout time.Duration
	// Interval is the first wait between rounds (default 500ms); each
	// wait doubles, up to MaxInterval (default 8s).
	Interval    time.Duration
	MaxInterval time.Duration
	// Concurrency is the number of group reads in flight at once (default
	// DefaultConcurrency).
	Concurrency int
	// OnWait, if set, is called before each wait with the number of moves
	// not yet seen in their target group.
	OnWait func(unverified int, wait time.Duration)
	// Journal, if set, receives a JournalEntry line for every move of
	// unknown fate that a read settles (outcome succeeded, note
	// NoteConfirmedByRead), after the line Run wrote for it: the last line
	// for a move is its outcome. Synced when it has a Sync method. A write
	// that fails stops verification with its error.
	Journal io.Writer
}

func (o *VerifyOptions) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = DefaultVerifyTimeout
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
		o.Concurrency = DefaultConcurrency
	}
}

// UnverifiedError: verification ended with moves never seen in their
// target group (Verified false): succeeded moves not seen, and moves of
// unknown fate that stay unknown.
type UnverifiedError struct {
	Unverified int // succeeded moves not seen
	Unknown    int // moves of unknown fate not seen: still unknown
	Timeout    time.Duration
	// LastReadErr is the last failed group read, if any: why a group may
	// never have been seen.
	LastReadErr error
}

func (e *UnverifiedError) Error() string {
	var s string
	switch {
	case e.Unverified > 0 && e.Unknown > 0:
		s = fmt.Sprintf("%d move(s) not seen in their target group within %v, and %d move(s) of unknown fate not seen either (still unknown)", e.Unverified, e.Timeout, e.Unknown)
	case e.Unknown > 0:
		s = fmt.Sprintf("%d move(s) of unknown fate not seen in their target group within %v (still unknown)", e.Unknown, e.Timeout)
	default:
		s = fmt.Sprintf("%d move(s) not seen in their target group within %v", e.Unverified, e.Timeout)
	}
	if e.LastReadErr != nil {
		s += "; last failed read: " + e.LastReadErr.Error()
	}
	return s
}

func (e *UnverifiedError) Unwrap() error { return e.LastReadErr }

// Verify checks that every succeeded move shows in its target group, and
// reads the target groups of moves of unknown fate to settle them. Graph
// writes are eventually consistent, so it polls: it reads each affected
// group, then re-reads only the groups with moves not yet seen, waiting
// Interval, then twice that, up to MaxInterval, until all are seen or
// Timeout has passed.
//
// It sets Verified on every succeeded and unknown result: true when seen,
// false when not seen in time (or the group is gone). An unknown move seen
// becomes Succeeded with Note NoteConfirmedByRead (its Error, the lost
// answer, is kept). One not seen stays Unknown: not seeing it may be
// replication delay, so it is never made Failed, and it is no verified
// success either.
//
// It returns nil when every move was seen; an *UnverifiedError when some
// were not; ctx's error when interrupted (moves not yet seen keep Verified
// nil, unknown ones stay unknown); the read error when a read is refused
// (401/403: auth errors are not waited out); and the journal's error when
// a settled move cannot be journaled.
func Verify(ctx context.Context, p *plan.Plan, results []Result, r Reader, opts VerifyOptions) error {
	if r == nil {
		return errNoReader
	}
	opts.defaults()
	pending := map[target][]int{} // group read → indexes into results not yet seen
	for i := range results {
		if o := results[i].Outcome; o == Succeeded || o == Unknown {
			t := targetOf(&p.Changes[results[i].Change])
			pending[t] = append(pending[t], i)
		}
	}
	setVerified := func(i int, v bool) { results[i].Verified = &v }
	seen := func(i int) error {
		setVerified(i, true)
		if results[i].Outcome != Unknown {
			return nil
		}
		results[i].Outcome, results[i].Note = Succeeded, NoteConfirmedByRead
		if opts.Journal == nil {
			return nil
		}
		if err := journalLine(opts.Journal, EntryFor(p.Changes[results[i].Change], results[i])); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		return nil
	}
	var (
		lastErr  error
		notFound []int // moves whose group is gone: false without waiting
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
					notFound = append(notFound, idx...)
					delete(pending, gid)
				}
				lastErr = err
				continue
			}
			var still []int
			for _, i := range idx {
				if members[gid][strings.ToLower(p.Changes[results[i].Change].ObjectID())] {
					if err := seen(i); err != nil {
						return err
					}
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
	ue := &UnverifiedError{Timeout: opts.Timeout, LastReadErr: lastErr}
	count := func(i int) {
		if results[i].Outcome == Unknown {
			ue.Unknown++
		} else {
			ue.Unverified++
		}
	}
	for _, i := range notFound {
		count(i)
	}
	for _, idx := range pending {
		for _, i := range idx {
			setVerified(i, false)
			count(i)
		}
	}
	if ue.Unverified > 0 || ue.Unknown > 0 {
		return ue
	}
	return nil
}

// VerifyCounts is what verification found, counted from the results.
type VerifyCounts struct {
	Succeeded int // moves that succeeded in Run (not counting Confirmed)
	Seen      int // of those, seen in their target group
	Confirmed int // moves of unknown fate seen in their target group: now succeeded
	Unknown   int // moves still of unknown fate
}

// CountVerified counts the results after Verify.
func CountVerified(results []Result) VerifyCounts {
	var c VerifyCounts
	for _, r := range results {
		switch {
		case r.ConfirmedByRead():
			c.Confirmed++
		case r.Outcome == Succeeded:
			c.Succeeded++
			if r.Verified != nil && *r.Verified {
				c.Seen++
			}
		case r.Outcome == Unknown:
			c.Unknown++
		}
	}
	return c
}

// journalLine appends one entry in a single Write, and syncs it when w
// can: a settled move is rare, and its line is the audit trail's only
// record that the lost answer was a success.
func journalLine(w io.Writer, e JournalEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return err
	}
	if s, ok := w.(interface{ Sync() error }); ok {
		if err := s.Sync(); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	return nil
}

// readGroups reads the members of every pending group, at most limit at
// once. Members are keyed by lower-case id: Graph ids are GUIDs, which
// compare without regard to case.
func readGroups(ctx context.Context, r Reader, pending map[target][]int, limit int) (map[target]map[string]bool, map[target]error) {
	var (
		mu      sync.Mutex
		members = map[target]map[string]bool{}
		errs    = map[target]error{}
	)
	var g errgroup.Group
	g.SetLimit(limit)
	for gid := range pending {
		g.Go(func() error {
			ids, _, err := gid.read(ctx, r)
			set := make(map[string]bool, len(ids))
			for _, id := range ids {
				set[strings.ToLower(id)] = true
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[gid] = fmt.Errorf("read %s of group %s: %w", gid.what(), gid.gid, err)
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

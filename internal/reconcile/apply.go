package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"connrecon/executor"
	"connrecon/internal/pacer"
	"connrecon/internal/safetext"
	"connrecon/plan"
	"connrecon/plan/planfile"
)

// ApplyRequest is what apply is asked to do: plan from a mapping (Read),
// or check a saved plan again (PlanFile), then make the moves.
type ApplyRequest struct {
	Read     MappingReader // -m; nil when PlanFile or Drain is given
	ReadApps MappingReader // --apps: the application mapping; nil for none
	Drain    []string      // --drain: connectors to move into the default group
	PlanFile string        // --plan
	// Options are the planner's options with -m; with --plan, the guards
	// to run again (with the stricter of these and the saved plan's).
	Options plan.Options
	// Confirm, when set, is asked before the first move; an error stops
	// the run with nothing changed.
	Confirm func(moves int) error
	// Concurrency, Pacer: as executor.Options. The pacer is the one the
	// tenant's reads use too, so that a throttle pauses everything.
	Concurrency int
	Pacer       *pacer.Pacer
	// Verify re-reads the target groups after the last wave, for up to
	// VerifyTimeout (0: executor.VerifyOptions' default).
	Verify        bool
	VerifyTimeout time.Duration
	// Progress, when set, is started with the number of moves and told of
	// each finished one.
	Progress func(total int) Progress
}

// Progress shows how an apply is going.
type Progress interface {
	Result(executor.Result) // one move finished (calls are serialised)
	Finish()
}

// Apply plans (or checks a saved plan), asks, applies the moves wave by
// wave with a journal, and verifies. Its error says what the run came to.
// r.Tenant must be a Tenant: one that can move connectors.
func (r *Run) Apply(ctx context.Context, req ApplyRequest) error {
	t, ok := r.Tenant.(Tenant)
	if !ok {
		return errors.New("apply: this tenant cannot be changed (a read-only sign-in)")
	}
	var err error
	if req.PlanFile != "" {
		err = r.loadSaved(ctx, req.PlanFile, req.Options)
	} else {
		err = r.load(ctx, req.Read, req.ReadApps, req.Drain, req.Options)
	}
	if err != nil {
		return err
	}
	plan.WriteText(r.Out, r.Plan)
	verr := verdict(r.Plan)
	// Before the first move, so that whatever becomes of the run (a
	// failure, an interruption, a kill) the way back is on disk.
	if berr := r.writeBackout(); berr != nil {
		if verr != nil {
			r.Log.Error("could not write the back-out", "err", berr)
			return verr
		}
		return fmt.Errorf("%w: nothing was changed, as no move is made without its back-out", berr)
	}
	if verr != nil {
		return verr
	}
	n := r.Plan.Summary().Move
	if n == 0 {
		fmt.Fprintln(r.Out, "No changes: the tenant already matches the mapping.")
		return nil
	}
	if req.Confirm != nil {
		if err := req.Confirm(n); err != nil {
			return err
		}
	}
	return r.execute(ctx, t, req)
}

// execute applies the plan with a journal, verifies, and turns the
// outcome into the run's error.
func (r *Run) execute(ctx context.Context, t Tenant, req ApplyRequest) error {
	if err := os.MkdirAll(r.ReportDir, 0o700); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	path := filepath.Join(r.ReportDir, "journal.jsonl")
	jf, err := executor.OpenJournal(path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	r.Journal = path
	sum := r.Plan.Summary()
	batch := batchSize(t)
	r.Log.Info("applying", "moves", sum.Move, "waves", r.Plan.WaveCount(), "concurrency", req.Concurrency, "batchSize", batch, "journal", r.Journal)
	opts := executor.Options{Concurrency: req.Concurrency, BatchSize: batch, Pacer: req.Pacer, Journal: jf}
	var prog Progress
	if req.Progress != nil {
		prog = req.Progress(sum.Move)
		opts.OnResult = prog.Result
	}
	r.Results, err = executor.Run(ctx, r.Plan, t, opts)
	if prog != nil {
		prog.Finish()
	}
	counts := countOutcomes(r.Results)
	fmt.Fprintf(r.Out, "Apply: %s.\n", counts)
	if err != nil {
		if cerr := jf.Close(); cerr != nil {
			r.Log.Error("could not close the journal", "journal", r.Journal, "err", cerr)
		}
		unknown := ""
		if n := counts.unknown; n > 0 {
			unknown = fmt.Sprintf("; %d move(s) of unknown fate (in flight when it stopped, or their answer was lost): check those connectors (a rerun converges)", n)
		}
		if errors.Is(err, context.Canceled) {
			return &InterruptedError{What: fmt.Sprintf("interrupted: %d move(s) not attempted%s", counts.notAttempted, unknown)}
		}
		return fmt.Errorf("apply stopped: %w%s", err, unknown)
	}
	// The journal stays open through verification: a move of unknown fate
	// that a read settles gets its line there too.
	verr := r.verify(ctx, t, req, jf)
	if cerr := jf.Close(); cerr != nil && verr == nil {
		verr = fmt.Errorf("journal: %w", cerr)
	}
	if after := countOutcomes(r.Results); after != counts {
		// Verification settled moves: the apply line above is not the
		// final word.
		fmt.Fprintf(r.Out, "After verification: %s.\n", after)
		counts = after
	}
	if counts.failed+counts.notAttempted+counts.unknown > 0 {
		return &IncompleteError{Failed: counts.failed, HeldBack: counts.notAttempted, Unknown: counts.unknown}
	}
	return verr
}

// batchSizer is a tenant that sends requests in JSON batches: the run
// keeps that many more moves and reads in flight, so that batches fill.
type batchSizer interface{ BatchSize() int }

func concurrency(n int) int {
	if n <= 0 {
		return executor.DefaultConcurrency
	}
	return n
}

func batchSize(t any) int {
	if b, ok := t.(batchSizer); ok && b.BatchSize() > 1 {
		return b.BatchSize()
	}
	return 1
}

// outcomes counts results by outcome; it prints as the apply summary.
type outcomes struct{ succeeded, failed, unknown, notAttempted int }

func countOutcomes(results []executor.Result) outcomes {
	var c outcomes
	for _, res := range results {
		switch res.Outcome {
		case executor.Succeeded:
			c.succeeded++
		case executor.Failed:
			c.failed++
		case executor.NotAttempted:
			c.notAttempted++
		default: // unknown, or an outcome this version does not know
			c.unknown++
		}
	}
	return c
}

func (c outcomes) String() string {
	return fmt.Sprintf("%d succeeded, %d failed, %d unknown, %d not attempted", c.succeeded, c.failed, c.unknown, c.notAttempted)
}

// verify re-reads the target groups until every succeeded move shows
// (Graph replicates writes with a delay), and reads those of moves of
// unknown fate to settle them, unless not asked to. It prints what it
// verified, counted, never more.
func (r *Run) verify(ctx context.Context, t executor.Reader, req ApplyRequest, journal io.Writer) error {
	if !req.Verify {
		return nil
	}
	timeout := req.VerifyTimeout
	if timeout <= 0 {
		timeout = executor.DefaultVerifyTimeout
	}
	opts := executor.VerifyOptions{
		Timeout:     timeout,
		Concurrency: concurrency(req.Concurrency) * batchSize(t),
		OnWait: func(n int, d time.Duration) {
			r.Log.Info("waiting for Graph to show the moves", "unverified", n, "next", d.String())
		},
		Journal: journal,
	}
	r.Log.Info("verifying", "timeout", timeout.String())
	err := executor.Verify(ctx, r.Plan, r.Results, t, opts)
	var uv *executor.UnverifiedError
	switch {
	case err == nil || errors.As(err, &uv):
		fmt.Fprintln(r.Out, verifiedLine(executor.CountVerified(r.Results)))
	case errors.Is(err, context.Canceled):
		return &InterruptedError{What: "interrupted during verification: the moves were made, some not yet verified"}
	default:
		return fmt.Errorf("verification: %w", err)
	}
	if uv != nil {
		return &IncompleteError{Err: uv}
	}
	return nil
}

// verifiedLine says what verification saw, and only that, e.g.
// "Verified: 12 of 12 succeeded moves show in their target groups; 2 moves
// of unknown fate were confirmed by read; 1 is still unknown: check it."
func verifiedLine(c executor.VerifyCounts) string {
	var parts []string
	if c.Succeeded > 0 || c.Confirmed+c.Unknown == 0 {
		p := fmt.Sprintf("%d of %d succeeded %s", c.Seen, c.Succeeded, plural(c.Succeeded, "move shows in its target group", "moves show in their target groups"))
		if n := c.Succeeded - c.Seen; n > 0 {
			p += fmt.Sprintf(", %d not seen: check %s", n, plural(n, "it", "them"))
		}
		parts = append(parts, p)
	}
	if c.Confirmed > 0 {
		parts = append(parts, fmt.Sprintf("%d %s whose answer was lost or refused %s confirmed by read", c.Confirmed, plural(c.Confirmed, "move", "moves"), plural(c.Confirmed, "was", "were")))
	}
	switch {
	case c.Unknown > 0 && c.Confirmed > 0:
		parts = append(parts, fmt.Sprintf("%d %s still unknown: check %s", c.Unknown, plural(c.Unknown, "is", "are"), plural(c.Unknown, "it", "them")))
	case c.Unknown > 0:
		parts = append(parts, fmt.Sprintf("%d %s of unknown fate not seen in %s target group, still unknown: check %s",
			c.Unknown, plural(c.Unknown, "move", "moves"), plural(c.Unknown, "its", "their"), plural(c.Unknown, "it", "them")))
	}
	return "Verified: " + strings.Join(parts, "; ") + "."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// loadSaved reads a plan file and plans its moves again against the tenant
// as it is now (planfile.Saved.Replan): the same Graph URL, an unaltered file,
// the same state for everything the plan touches, every claim of the file
// true of the tenant, and every guard run again with the stricter of the
// plan's options and guards. r.Plan is then the replanned plan: the saved
// moves, with the tenant's names and waves worked out now. A plan refused
// for any of these leaves r.Plan the saved moves as the file has them, for
// the report to list as not attempted, with why.
func (r *Run) loadSaved(ctx context.Context, path string, guards plan.Options) error {
	// Non-blocking, so a named pipe with no writer is refused, not waited on.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return &PlanFileError{Err: err}
	}
	var sv *planfile.Saved
	if st, serr := f.Stat(); serr != nil {
		err = serr
	} else if !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file (%s)", path, st.Mode().Type())
	} else {
		sv, err = planfile.Load(f, path)
	}
	f.Close()
	if err != nil {
		var stale *plan.StaleError
		if errors.As(err, &stale) { // an altered file: the report says why
			r.Plan = &plan.Plan{Refusals: []plan.Refusal{{Guard: plan.GuardStalePlan, Message: err.Error()}}}
		}
		return planFileError(err)
	}
	// The saved plan keeps the mapping's identity and row count (Load
	// bounds it), not its rows: the report shows what the plan was made from.
	r.Mapping = &plan.Mapping{Path: sv.Mapping.Path, SHA256: sv.Mapping.SHA256, Rows: make([]plan.Row, sv.Mapping.Rows)}
	r.Plan = sv.Plan()
	// The mapping path is the file's own text: escaped, as outside text is.
	fmt.Fprintf(r.Out, "Saved plan %s, made %s from %s (%s).\n", safetext.Value(path), sv.CreatedAt.Format(time.RFC3339), safetext.Value(sv.Mapping.Path), sv.Summary.Line())
	if err := r.snapshot(ctx); err != nil {
		return err
	}
	p, err := sv.Replan(r.State, r.GraphURL, guards)
	if err != nil {
		// The report lists the saved moves (not attempted) and why.
		r.Plan.Refusals = append(r.Plan.Refusals, plan.Refusal{Guard: plan.GuardStalePlan, Message: err.Error()})
		return planFileError(err)
	}
	r.Plan = p
	used := fmt.Sprintf("--max-changes %d, --min-active %d", p.Options.MaxChanges, p.Options.MinActive)
	if p.Options.AllowCoverageGap {
		used += ", --allow-coverage-gap"
	}
	fmt.Fprintf(r.Out, "Planned again against the tenant as it is now, with %s; names and waves are the tenant's.\n\n", used)
	r.Log.Info("saved plan checked against the tenant", "file", path, "created", sv.CreatedAt.Format(time.RFC3339), "moves", len(sv.Changes), "refused", p.Refused())
	return nil
}

// planFileError: a stale, altered or contradicted plan is a guard's
// refusal; a file that is not a plan at all is the command line's error.
func planFileError(err error) error {
	var stale *plan.StaleError
	if errors.As(err, &stale) {
		return &RefusedError{Err: err}
	}
	return &PlanFileError{Err: err}
}

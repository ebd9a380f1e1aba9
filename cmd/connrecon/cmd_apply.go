package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
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

// progressPeriod is how often a plain progress line is logged when there
// is no terminal for a bar.
var progressPeriod = 10 * time.Second

type applyOptions struct {
	planningOptions
	fs            *flag.FlagSet // to tell flags given from defaults
	Report        reportOptions
	Plan          string
	Concurrency   int
	Yes           bool
	RPS           float64
	MaxAttempts   int
	MaxRetryTime  time.Duration
	NoVerify      bool
	VerifyTimeout time.Duration
}

func (o *applyOptions) AddFlags(fs *flag.FlagSet) {
	o.fs = fs
	o.planningOptions.AddFlags(fs)
	o.Report.AddFlags(fs)
	fs.StringVar(&o.Plan, "plan", "", "apply the moves of a plan saved with plan -o, checked again against the tenant (instead of -m)")
	fs.IntVar(&o.Concurrency, "concurrency", executor.DefaultConcurrency, "moves in flight at once (1-64)")
	fs.BoolVar(&o.Yes, "yes", false, "apply without asking (required without a terminal)")
	fs.Float64Var(&o.RPS, "rps", 0, "at most this many Graph requests per second, reads and writes together (0: no cap)")
	fs.IntVar(&o.MaxAttempts, "max-attempts", pacer.DefaultMaxAttempts, "requests per call at most, retries included, when Graph throttles or fails transiently")
	fs.DurationVar(&o.MaxRetryTime, "max-retry-time", pacer.DefaultMaxRetryTime, "time one call may spend waiting to retry (backoff and Retry-After)")
	fs.BoolVar(&o.NoVerify, "no-verify", false, "do not re-read the groups after the last wave")
	fs.DurationVar(&o.VerifyTimeout, "verify-timeout", executor.DefaultVerifyTimeout, "how long verification polls for moves Graph has not yet replicated")
}

func (o *applyOptions) validate() error {
	switch {
	case o.Plan != "" && (o.Mapping != "" || o.Sheet != ""):
		return usageErrorf("apply: give either -m FILE or --plan PLAN.json, not both")
	case o.Plan != "":
		// --unlisted chose which moves the plan holds: it cannot change
		// a saved plan. The guards can: apply --plan runs them again,
		// with the stricter of the saved option and the one given here.
		unlisted := false
		if o.fs != nil {
			o.fs.Visit(func(f *flag.Flag) { unlisted = unlisted || f.Name == "unlisted" })
		}
		switch {
		case unlisted:
			return usageErrorf("apply --plan: --unlisted cannot change a saved plan: make the plan again with it (plan -o)")
		case o.MaxChanges < 0 || o.MinActive < 0:
			return usageErrorf("apply: --max-changes and --min-active must not be negative")
		}
	case o.Plan == "":
		if err := o.planningOptions.validate("apply"); err != nil {
			return err
		}
	}
	switch {
	case o.Concurrency < 1 || o.Concurrency > 64:
		return usageErrorf("apply: --concurrency %d: want 1 to 64", o.Concurrency)
	case o.RPS < 0:
		return usageErrorf("apply: --rps must not be negative")
	case o.MaxAttempts < 1:
		return usageErrorf("apply: --max-attempts must be at least 1")
	case o.MaxRetryTime <= 0 || o.VerifyTimeout <= 0:
		return usageErrorf("apply: --max-retry-time and --verify-timeout must be positive")
	}
	return o.Report.validate()
}

func runApply(ctx context.Context, s *session, o applyOptions) error {
	r := newRunState(s, "apply", o.Report)
	if err := prepareReportDir(s.log, o.Report.Dir, o.Report.Overwrite); err != nil {
		return err // no report: the directory is an earlier run's
	}
	// One pacer for the whole run, reads and writes: a throttle seen by
	// any call pauses them all.
	pc := pacer.New(pacer.Options{
		RPS: o.RPS, MaxAttempts: o.MaxAttempts, MaxRetryTime: o.MaxRetryTime,
		OnThrottle: func(d time.Duration) {
			s.log.Warn("Graph is throttling: every request waits", "for", d.Round(time.Millisecond).String())
		},
	}, uint64(r.started.UnixNano()))
	c, err := s.newClient(pc)
	if err != nil {
		return r.finish(s, err)
	}
	r.client, r.graphURL = c, c.GraphURL()
	if o.Plan != "" {
		err = r.loadSaved(ctx, s, o.Plan, o.options())
	} else {
		err = r.load(ctx, s, o.planningOptions)
	}
	if err != nil {
		return r.finish(s, err)
	}
	plan.WriteText(s.stdout, r.plan)
	if err := verdict(r.plan); err != nil {
		return r.finish(s, err)
	}
	sum := r.plan.Summary()
	if sum.Move == 0 {
		fmt.Fprintln(s.stdout, "No changes: the tenant already matches the mapping.")
		return r.finish(s, nil)
	}
	if !o.Yes {
		if err := confirm(s, sum.Move); err != nil {
			return r.finish(s, err)
		}
	}
	err = r.execute(ctx, s, o, pc)
	return r.finish(s, err)
}

// execute applies the plan with a journal, verifies, and turns the
// outcome into the run's exit error.
func (r *runState) execute(ctx context.Context, s *session, o applyOptions, pc *pacer.Pacer) error {
	if err := os.MkdirAll(r.reportDir, 0o700); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	r.journal = filepath.Join(r.reportDir, "journal.jsonl")
	jf, err := executor.OpenJournal(r.journal)
	if err != nil {
		r.journal = ""
		return fmt.Errorf("journal: %w", err)
	}
	sum := r.plan.Summary()
	s.log.Info("applying", "moves", sum.Move, "waves", r.plan.WaveCount(), "concurrency", o.Concurrency, "journal", r.journal)
	prog := newProgress(sum.Move, s, progressPeriod)
	r.results, err = executor.Run(ctx, r.plan, r.client, executor.Options{Concurrency: o.Concurrency, Pacer: pc, Journal: jf, OnResult: prog.result})
	prog.finish()
	counts := outcomeCounts(r.results)
	fmt.Fprintf(s.stdout, "Apply: %s.\n", counts)
	if err != nil {
		if cerr := jf.Close(); cerr != nil {
			s.log.Error("could not close the journal", "journal", r.journal, "err", cerr)
		}
		unknown := ""
		if n := counts.unknown; n > 0 {
			unknown = fmt.Sprintf("; %d move(s) of unknown fate (in flight when it stopped, or their answer was lost): check those connectors (a rerun converges)", n)
		}
		if errors.Is(err, context.Canceled) {
			return withCode(exitInterrupted, fmt.Errorf("interrupted: %d move(s) not attempted%s", counts.notAttempted, unknown))
		}
		return fmt.Errorf("apply stopped: %w%s", err, unknown)
	}
	// The journal stays open through verification: a move of unknown fate
	// that a read settles gets its line there too.
	verr := r.verify(ctx, s, o, jf)
	if cerr := jf.Close(); cerr != nil && verr == nil {
		verr = withCode(exitFailure, fmt.Errorf("journal: %w", cerr))
	}
	if after := outcomeCounts(r.results); after != counts {
		// Verification settled moves: the apply line above is not the
		// final word.
		fmt.Fprintf(s.stdout, "After verification: %s.\n", after)
		counts = after
	}
	var problems []string
	if n := counts.failed; n > 0 {
		problems = append(problems, fmt.Sprintf("%d move(s) failed", n))
	}
	if n := counts.notAttempted; n > 0 {
		problems = append(problems, fmt.Sprintf("%d move(s) held back", n))
	}
	if n := counts.unknown; n > 0 {
		problems = append(problems, fmt.Sprintf("%d move(s) of unknown fate (an answer was lost and no read settled it: check those connectors, a rerun converges)", n))
	}
	switch {
	case len(problems) > 0:
		return withCode(exitFailure, fmt.Errorf("%s: see the report for each error and its request-id", strings.Join(problems, ", ")))
	case verr != nil:
		return verr
	}
	return nil
}

// outcomes counts results by outcome; it prints as the apply summary.
type outcomes struct{ succeeded, failed, unknown, notAttempted int }

func outcomeCounts(results []executor.Result) outcomes {
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
// unknown fate to settle them, unless --no-verify. It prints what it
// verified, counted, never more.
func (r *runState) verify(ctx context.Context, s *session, o applyOptions, journal io.Writer) error {
	if o.NoVerify {
		return nil
	}
	s.log.Info("verifying", "timeout", o.VerifyTimeout.String())
	err := executor.Verify(ctx, r.plan, r.results, r.client, executor.VerifyOptions{
		Timeout: o.VerifyTimeout,
		OnWait: func(n int, d time.Duration) {
			s.log.Info("waiting for Graph to show the moves", "unverified", n, "next", d.String())
		},
		Journal: journal,
	})
	r.verified = map[int]bool{}
	for _, res := range r.results {
		if res.Verified != nil {
			r.verified[res.Change] = *res.Verified
		}
	}
	var uv *executor.UnverifiedError
	switch {
	case err == nil || errors.As(err, &uv):
		fmt.Fprintln(s.stdout, verifiedLine(executor.CountVerified(r.results)))
	case errors.Is(err, context.Canceled):
		return withCode(exitInterrupted, errors.New("interrupted during verification: the moves were made, some not yet verified"))
	default:
		return fmt.Errorf("verification: %w", err)
	}
	if uv != nil {
		return withCode(exitFailure, fmt.Errorf("verification: %w (see verified=false in the report; check those connectors)", err))
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
		parts = append(parts, fmt.Sprintf("%d %s of unknown fate %s confirmed by read", c.Confirmed, plural(c.Confirmed, "move", "moves"), plural(c.Confirmed, "was", "were")))
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
// plan's options and apply's own (guards). r.plan is then the replanned
// plan: the saved moves, with the tenant's names and waves worked out now.
// A plan refused for any of these leaves r.plan the saved moves as the
// file has them, for the report to list as not attempted, with why.
func (r *runState) loadSaved(ctx context.Context, s *session, path string, guards plan.Options) error {
	// Non-blocking, so a named pipe with no writer is refused, not waited on.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("apply --plan: %w", err))
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
			r.plan = &plan.Plan{Refusals: []plan.Refusal{{Guard: plan.GuardStalePlan, Message: err.Error()}}}
		}
		return planFileError(err)
	}
	// The saved plan keeps the mapping's identity and row count (Load
	// bounds it), not its rows: the report shows what the plan was made from.
	r.mapping = &plan.Mapping{Path: sv.Mapping.Path, SHA256: sv.Mapping.SHA256, Rows: make([]plan.Row, sv.Mapping.Rows)}
	r.plan = sv.Plan()
	// The mapping path is the file's own text: escaped, as outside text is.
	fmt.Fprintf(s.stdout, "Saved plan %s, made %s from %s (%s).\n", safetext.Value(path), sv.CreatedAt.Format(time.RFC3339), safetext.Value(sv.Mapping.Path), sv.Summary.Line())
	state, err := r.snapshot(ctx, s)
	if err != nil {
		return err
	}
	p, err := sv.Replan(state, r.graphURL, guards)
	if err != nil {
		// The report lists the saved moves (not attempted) and why.
		r.plan.Refusals = append(r.plan.Refusals, plan.Refusal{Guard: plan.GuardStalePlan, Message: err.Error()})
		return planFileError(err)
	}
	r.plan = p
	used := fmt.Sprintf("--max-changes %d, --min-active %d", p.Options.MaxChanges, p.Options.MinActive)
	if p.Options.AllowCoverageGap {
		used += ", --allow-coverage-gap"
	}
	fmt.Fprintf(s.stdout, "Planned again against the tenant as it is now, with %s; names and waves are the tenant's.\n\n", used)
	s.log.Info("saved plan checked against the tenant", "file", path, "created", sv.CreatedAt.Format(time.RFC3339), "moves", len(sv.Changes), "refused", p.Refused())
	return nil
}

// planFileError: a stale, altered or contradicted plan is a guard's
// refusal (3); a file that is not a plan at all is a usage error.
func planFileError(err error) error {
	var stale *plan.StaleError
	if errors.As(err, &stale) {
		return withCode(exitRefused, err)
	}
	return withCode(exitUsage, fmt.Errorf("apply --plan: %w", err))
}

// confirm asks on a terminal; without one, apply needs --yes.
func confirm(s *session, moves int) error {
	if s.env.StdinIsTerminal == nil || !s.env.StdinIsTerminal() {
		return usageErrorf("apply: no terminal to confirm on: pass --yes to apply without asking")
	}
	fmt.Fprintf(s.env.Stderr, "\nApply %d move(s)? Only 'yes' will be accepted: ", moves)
	line, _ := bufio.NewReader(s.env.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return withCode(exitFailure, errors.New("apply cancelled: nothing was changed"))
	}
	return nil
}

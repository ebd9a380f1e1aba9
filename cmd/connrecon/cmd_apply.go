package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"connrecon/executor"
	"connrecon/internal/pacer"
	"connrecon/plan"
)

// progressPeriod is how often a plain progress line is logged when there
// is no terminal for a bar.
var progressPeriod = 10 * time.Second

type applyOptions struct {
	planningOptions
	fs          *flag.FlagSet // to tell flags given from defaults
	Report      reportOptions
	Plan        string
	Concurrency int
	Yes         bool
}

func (o *applyOptions) AddFlags(fs *flag.FlagSet) {
	o.fs = fs
	o.planningOptions.AddFlags(fs)
	o.Report.AddFlags(fs)
	fs.StringVar(&o.Plan, "plan", "", "apply a plan saved with plan -o, exactly as saved (instead of -m)")
	fs.IntVar(&o.Concurrency, "concurrency", 8, "moves in flight at once (1-64)")
	fs.BoolVar(&o.Yes, "yes", false, "apply without asking (required without a terminal)")
}

func (o *applyOptions) validate() error {
	switch {
	case o.Plan != "" && (o.Mapping != "" || o.Sheet != ""):
		return usageErrorf("apply: give either -m FILE or --plan PLAN.json, not both")
	case o.Plan != "" && o.fs != nil:
		// A saved plan was checked with the options it was made with; a
		// guard given now would silently do nothing, so refuse it.
		var given []string
		o.fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "unlisted", "max-changes", "min-active", "allow-coverage-gap":
				given = append(given, "--"+f.Name)
			}
		})
		if len(given) > 0 {
			return usageErrorf("apply --plan: %s cannot change a saved plan: make the plan again with them (plan -o)", strings.Join(given, ", "))
		}
	case o.Plan == "":
		if err := o.planningOptions.validate("apply"); err != nil {
			return err
		}
	}
	if o.Concurrency < 1 || o.Concurrency > 64 {
		return usageErrorf("apply: --concurrency %d: want 1 to 64", o.Concurrency)
	}
	return o.Report.validate()
}

func runApply(ctx context.Context, s *session, o applyOptions) error {
	r := newRunState(s, "apply", o.Report)
	// One pacer for the whole run, reads and writes: a throttle seen by
	// any call pauses them all.
	pc := pacer.New(pacer.Options{}, uint64(r.started.UnixNano()))
	c, err := s.newClient(pc)
	if err != nil {
		return r.finish(s, err)
	}
	r.client, r.graphURL = c, c.GraphURL()
	if o.Plan != "" {
		err = r.loadSaved(ctx, s, o.Plan)
	} else {
		err = r.load(ctx, s, o.planningOptions)
	}
	if err != nil {
		return r.finish(s, err)
	}
	printPlan(s.stdout, r.plan)
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
	s.log.Info("applying", "moves", sum.Move, "waves", r.plan.WaveCount(), "concurrency", o.Concurrency)
	prog := newProgress(sum.Move, s, progressPeriod)
	r.results, err = executor.Run(ctx, r.plan, c, executor.Options{Concurrency: o.Concurrency, Pacer: pc, OnResult: prog.result})
	prog.finish()
	counts := map[executor.Outcome]int{}
	for _, res := range r.results {
		counts[res.Outcome]++
	}
	fmt.Fprintf(s.stdout, "Apply: %d succeeded, %d failed, %d not attempted.\n",
		counts[executor.Succeeded], counts[executor.Failed], counts[executor.NotAttempted])
	switch {
	case errors.Is(err, context.Canceled):
		err = withCode(exitInterrupted, fmt.Errorf("interrupted: %d move(s) not attempted", counts[executor.NotAttempted]))
	case err != nil:
		err = fmt.Errorf("apply stopped: %w", err)
	case counts[executor.Failed] > 0:
		err = withCode(exitFailure, fmt.Errorf("%d move(s) failed: see the report for each error and its request-id", counts[executor.Failed]))
	}
	return r.finish(s, err)
}

// loadSaved reads a plan file and checks it still fits the tenant: the
// same Graph URL, an unaltered file, and the same state for everything the
// plan touches. It applies exactly the saved moves, nothing re-resolved.
func (r *runState) loadSaved(ctx context.Context, s *session, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("apply --plan: %w", err))
	}
	sv, err := plan.LoadSaved(f, path)
	f.Close()
	if err != nil {
		var stale *plan.StaleError
		if errors.As(err, &stale) { // an altered file: the report says why
			r.plan = &plan.Plan{Refusals: []plan.Refusal{{Guard: plan.GuardStalePlan, Message: err.Error()}}}
		}
		return planFileError(err)
	}
	// The saved plan keeps the mapping's identity and row count, not its
	// rows: the report shows what the plan was made from.
	r.mapping = &plan.Mapping{Path: sv.Mapping.Path, SHA256: sv.Mapping.SHA256, Rows: make([]plan.Row, sv.Mapping.Rows)}
	r.plan = sv.Plan()
	fmt.Fprintf(s.stdout, "Saved plan %s, made %s from %s (%s).\n\n", path, sv.CreatedAt.Format(time.RFC3339), sv.Mapping.Path, sv.Summary.Line())
	state, err := r.snapshot(ctx, s)
	if err != nil {
		return err
	}
	if err := sv.Check(state, r.graphURL); err != nil {
		// The report lists the saved moves (not attempted) and why.
		r.plan.Refusals = append(r.plan.Refusals, plan.Refusal{Guard: plan.GuardStalePlan, Message: err.Error()})
		return planFileError(err)
	}
	s.log.Info("saved plan still fits the tenant", "file", path, "created", sv.CreatedAt.Format(time.RFC3339), "moves", len(sv.Changes))
	return nil
}

// planFileError: a stale or altered plan is a guard's refusal (3); a file
// that is not a plan at all is a usage error.
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

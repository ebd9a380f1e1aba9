package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"connrecon/executor"
	"connrecon/internal/pacer"
)

// progressPeriod is how often a plain progress line is logged when there
// is no terminal for a bar.
var progressPeriod = 10 * time.Second

type applyOptions struct {
	Mapping     string
	ReportDir   string
	Concurrency int
	Yes         bool
}

func (o *applyOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Mapping, "m", "", "mapping file (CSV)")
	fs.StringVar(&o.Mapping, "mapping", "", "same as -m")
	fs.StringVar(&o.ReportDir, "report-dir", "", reportDirHelp)
	fs.IntVar(&o.Concurrency, "concurrency", 8, "moves in flight at once")
	fs.BoolVar(&o.Yes, "yes", false, "apply without asking (required without a terminal)")
}

func (o *applyOptions) validate() error {
	if o.Mapping == "" {
		return usageErrorf("apply: -m FILE is required")
	}
	if o.Concurrency < 1 || o.Concurrency > 64 {
		return usageErrorf("apply: --concurrency %d: want 1 to 64", o.Concurrency)
	}
	return nil
}

func runApply(ctx context.Context, s *session, o applyOptions) error {
	r := &runState{mode: "apply", started: time.Now(), graphURL: s.g.graphURL()}
	r.reportDir = reportDir(o.ReportDir, r.mode, r.started)
	// One pacer for the whole run, reads and writes: a throttle seen by
	// any call pauses them all.
	pc := pacer.New(pacer.Options{}, uint64(r.started.UnixNano()))
	c, err := s.newClient(pc)
	if err != nil {
		return err
	}
	r.graphURL = c.GraphURL()
	if err := r.load(ctx, s, o.Mapping, c); err != nil {
		return r.finish(s, err)
	}
	printPlan(s.stdout, r.plan)
	sum := r.plan.Summary()
	if sum.Invalid > 0 {
		return r.finish(s, withCode(exitInvalid, fmt.Errorf("%d invalid mapping row(s): nothing was applied; fix them (see the report) and run again", sum.Invalid)))
	}
	if sum.Move == 0 {
		fmt.Fprintln(s.stdout, "No changes: the tenant already matches the mapping.")
		return r.finish(s, nil)
	}
	if !o.Yes {
		if err := confirm(s, sum.Move); err != nil {
			return r.finish(s, err)
		}
	}
	s.log.Info("applying", "moves", sum.Move, "concurrency", o.Concurrency)
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

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
	"connrecon/internal/reconcile"
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
	fs.IntVar(&o.Concurrency, "concurrency", executor.DefaultConcurrency, "requests in flight at once (1-64), each a batch of up to --batch-size moves")
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
	case o.Plan != "" && (o.Apps != "" || o.AppsSheet != ""):
		return usageErrorf("apply --plan: --apps is for -m: a saved plan holds no application moves")
	case o.Plan != "" && o.Drain != "":
		return usageErrorf("apply: give either --drain LIST or --plan PLAN.json, not both")
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
	r := newRun(s, "apply", o.Report)
	if err := prepareReportDir(s.log, o.Report.Dir, o.Report.Overwrite, o.Mapping); err != nil {
		return err // no report: the directory is an earlier run's
	}
	// One pacer for the whole run, reads and writes: a throttle seen by
	// any call pauses them all.
	pc := s.newPacer(pacer.Options{
		RPS: o.RPS, MaxAttempts: o.MaxAttempts, MaxRetryTime: o.MaxRetryTime,
		OnThrottle: func(d time.Duration) {
			s.log.Warn("Graph is throttling: every request waits", "for", d.Round(time.Millisecond).String())
		},
	}, uint64(r.Started.UnixNano()))
	if err := signIn(s, r, pc); err != nil {
		return finish(s, r, o.Report, err)
	}
	req := reconcile.ApplyRequest{
		PlanFile: o.Plan, Options: o.options(),
		Concurrency: o.Concurrency, Pacer: pc, Verify: !o.NoVerify, VerifyTimeout: o.VerifyTimeout,
		Progress: func(total int) reconcile.Progress { return newProgress(total, s, progressPeriod) },
	}
	if o.Plan == "" {
		req.Read, req.ReadApps, req.Drain = o.reader(s), o.appsReader(s), o.drainItems
	}
	if !o.Yes {
		req.Confirm = func(moves int) error { return confirm(s, moves) }
	}
	return finish(s, r, o.Report, r.Apply(ctx, req))
}

// confirm asks on a terminal; without one, apply needs --yes.
func confirm(s *session, moves int) error {
	if s.env.StdinIsTerminal == nil || !s.env.StdinIsTerminal() {
		return usageErrorf("apply: no terminal to confirm on: pass --yes to apply without asking")
	}
	fmt.Fprintf(s.env.Stderr, "\nApply %d move(s)? Only 'yes' will be accepted: ", moves)
	line, _ := bufio.NewReader(s.env.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return errors.New("apply cancelled: nothing was changed")
	}
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"

	"connrecon/internal/pacer"
	"connrecon/internal/reconcile"
)

type planOptions struct {
	planningOptions
	Report           reportOptions
	Out              string
	DetailedExitcode bool
}

func (o *planOptions) AddFlags(fs *flag.FlagSet) {
	o.planningOptions.AddFlags(fs)
	o.Report.AddFlags(fs)
	fs.StringVar(&o.Out, "o", "", "save the plan to this file, for apply --plan")
	fs.BoolVar(&o.DetailedExitcode, "detailed-exitcode", false, "exit 0 with no changes pending, 2 with changes, 3 refused, 4 invalid")
}

func (o *planOptions) validate() error {
	if err := o.planningOptions.validate("plan"); err != nil {
		return err
	}
	if o.Out != "" && o.Apps != "" {
		// A saved plan records and checks again the connectors it moves,
		// not applications.
		return usageErrorf("plan -o: a plan with --apps cannot be saved yet: review it with plan, then apply it with apply -m and --apps")
	}
	return o.Report.validate()
}

func runPlan(ctx context.Context, s *session, o planOptions) error {
	r := newRun(s, "plan", o.Report)
	if err := prepareReportDir(s.log, o.Report.Dir, o.Report.Overwrite, o.Mapping); err != nil {
		// No report: the directory is an earlier run's. Nor may an
		// earlier -o file stand for tonight's plan.
		if o.Out != "" {
			reconcile.DiscardSaved(s.log, o.Out)
		}
		return err
	}
	if err := signIn(s, r, s.newPacer(pacer.Options{}, uint64(r.Started.UnixNano()))); err != nil {
		if o.Out != "" {
			reconcile.DiscardSaved(s.log, o.Out)
		}
		return finish(s, r, o.Report, err)
	}
	err := r.MakePlan(ctx, reconcile.PlanRequest{
		Read: o.reader(s), ReadApps: o.appsReader(s), Drain: o.drainItems, Options: o.options(),
		SaveTo: o.Out, ApplyFlags: looserGuards(o.planningOptions), DetailedExitcode: o.DetailedExitcode,
	})
	return finish(s, r, o.Report, err)
}

// looserGuards is the guard flags apply --plan needs to apply this plan
// as planned: it checks with the stricter of the plan's options and its
// own, so a guard loosened here must be loosened there too.
func looserGuards(o planningOptions) string {
	var d planningOptions // apply's defaults
	d.AddFlags(flag.NewFlagSet("", flag.ContinueOnError))
	out := ""
	if o.MaxChanges == 0 && d.MaxChanges != 0 || o.MaxChanges > d.MaxChanges && d.MaxChanges != 0 {
		out += fmt.Sprintf(" --max-changes %d", o.MaxChanges)
	}
	if o.MinActive < d.MinActive {
		out += fmt.Sprintf(" --min-active %d", o.MinActive)
	}
	if o.AllowCoverageGap && !d.AllowCoverageGap {
		out += " --allow-coverage-gap"
	}
	return out
}

package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"connrecon/internal/pacer"
)

type planOptions struct {
	Mapping          string
	ReportDir        string
	DetailedExitcode bool
}

func (o *planOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Mapping, "m", "", "mapping file (CSV)")
	fs.StringVar(&o.Mapping, "mapping", "", "same as -m")
	fs.StringVar(&o.ReportDir, "report-dir", "", reportDirHelp)
	fs.BoolVar(&o.DetailedExitcode, "detailed-exitcode", false, "exit 0 with no changes pending, 2 with changes, 3 refused, 4 invalid")
}

func (o *planOptions) validate() error {
	if o.Mapping == "" {
		return usageErrorf("plan: -m FILE is required")
	}
	return nil
}

func runPlan(ctx context.Context, s *session, o planOptions) error {
	r := &runState{mode: "plan", started: time.Now(), graphURL: s.g.graphURL()}
	r.reportDir = reportDir(o.ReportDir, r.mode, r.started)
	c, err := s.newClient(pacer.New(pacer.Options{}, uint64(r.started.UnixNano())))
	if err != nil {
		return err
	}
	r.graphURL = c.GraphURL()
	if err := r.load(ctx, s, o.Mapping, c); err != nil {
		return r.finish(s, err)
	}
	printPlan(s.stdout, r.plan)
	sum := r.plan.Summary()
	switch {
	case sum.Invalid > 0:
		err = withCode(exitInvalid, fmt.Errorf("%d invalid mapping row(s): fix them and plan again", sum.Invalid))
	case o.DetailedExitcode && sum.Move > 0:
		err = withCode(exitChanges, fmt.Errorf("%d move(s) pending", sum.Move))
	}
	return r.finish(s, err)
}

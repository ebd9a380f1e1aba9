package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"connrecon/internal/pacer"
	"connrecon/plan"
	"connrecon/plan/planfile"
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
	return o.Report.validate()
}

func runPlan(ctx context.Context, s *session, o planOptions) error {
	r := newRunState(s, "plan", o.Report)
	if err := prepareReportDir(s.log, o.Report.Dir, o.Report.Overwrite); err != nil {
		// No report: the directory is an earlier run's. Nor may an
		// earlier -o file stand for tonight's plan.
		if o.Out != "" {
			r.discardSaved(s, o.Out)
		}
		return err
	}
	c, err := s.newClient(pacer.New(pacer.Options{}, uint64(r.started.UnixNano())))
	if err != nil {
		return r.finish(s, err)
	}
	r.client, r.graphURL = c, c.GraphURL()
	if err := r.load(ctx, s, o.planningOptions); err != nil {
		if o.Out != "" {
			r.discardSaved(s, o.Out)
		}
		return r.finish(s, err)
	}
	plan.WriteText(s.stdout, r.plan)
	err = verdict(r.plan)
	if o.Out != "" {
		if err != nil {
			r.discardSaved(s, o.Out)
		} else if serr := r.save(o.Out); serr != nil {
			return r.finish(s, serr)
		} else {
			fmt.Fprintf(s.stdout, "\nSaved the plan to %s. Apply exactly these moves with:\n  connrecon apply --plan %s%s\n", o.Out, o.Out, looserGuards(o.planningOptions))
		}
	}
	if err == nil && o.DetailedExitcode && r.plan.Summary().Move > 0 {
		err = withCode(exitChanges, fmt.Errorf("%d move(s) pending", r.plan.Summary().Move))
	}
	return r.finish(s, err)
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

// save writes the plan file atomically: apply --plan must never read half
// a plan.
func (r *runState) save(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	defer os.Remove(f.Name())
	err = planfile.Save(f, r.plan, r.state, planfile.SaveMeta{
		GraphURL: r.graphURL, MappingPath: r.mapping.Path, MappingSHA256: r.mapping.SHA256, MappingRows: len(r.mapping.Rows),
		Version: version(), CreatedAt: time.Now().UTC(),
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("save the plan to %s: %w", path, err)
	}
	return nil
}

// discardSaved removes an earlier plan file at path when this run cannot
// replace it: a cron job's apply --plan must not apply yesterday's plan
// because tonight's could not be made.
func (r *runState) discardSaved(s *session, path string) {
	err := os.Remove(path)
	switch {
	case err == nil:
		s.log.Warn("plan not saved, and the earlier plan file removed: this plan cannot be applied", "file", path)
	case errors.Is(err, os.ErrNotExist):
		s.log.Warn("plan not saved: it cannot be applied", "file", path)
	default:
		s.log.Error("plan not saved, and the earlier plan file could not be removed: do not apply it", "file", path, "err", err)
	}
}

package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"connrecon/internal/privfile"
	"connrecon/plan"
	"connrecon/plan/planfile"
)

// PlanRequest is what plan is asked to do.
type PlanRequest struct {
	Read MappingReader
	// ReadApps is --apps: the application mapping, planned with -m's
	// (nil for none).
	ReadApps MappingReader
	// Drain, instead of Read, is --drain's list of connectors (machine
	// names or ids) to move into the default group.
	Drain   []string
	Options plan.Options
	// SaveTo is -o: where to save the plan for apply --plan ("" = not
	// saved). A plan that cannot be saved, or may not be applied,
	// removes an earlier file there.
	SaveTo string
	// ApplyFlags are the guard flags apply --plan needs to apply the saved
	// plan as planned, for the line that says how to apply it.
	ApplyFlags string
	// DetailedExitcode: moves pending end in a *PendingError.
	DetailedExitcode bool
}

// MakePlan reads the mapping and the tenant, shows the plan, and saves it when
// asked. Its error says what the plan came to: nil, or a typed error
// (InvalidError, RefusedError, PendingError) or a failure to read.
func (r *Run) MakePlan(ctx context.Context, req PlanRequest) error {
	if req.SaveTo != "" && req.ReadApps != nil {
		// A saved plan records and checks again the connectors it moves,
		// not yet applications: saving one with application moves would
		// apply them unchecked.
		DiscardSaved(r.Log, req.SaveTo)
		return errAppsNotSaved
	}
	if err := r.load(ctx, req.Read, req.ReadApps, req.Drain, req.Options); err != nil {
		if req.SaveTo != "" {
			DiscardSaved(r.Log, req.SaveTo)
		}
		return err
	}
	plan.WriteText(r.Out, r.Plan)
	err := verdict(r.Plan)
	if berr := r.writeBackout(); berr != nil {
		if req.SaveTo != "" {
			DiscardSaved(r.Log, req.SaveTo)
		}
		if err != nil {
			// The verdict stands: nothing of this plan may be applied.
			r.Log.Error("could not write the back-out", "err", berr)
			return err
		}
		return berr
	}
	if req.SaveTo != "" {
		if err != nil {
			DiscardSaved(r.Log, req.SaveTo)
		} else if serr := r.save(req.SaveTo); serr != nil {
			DiscardSaved(r.Log, req.SaveTo)
			return serr
		} else {
			fmt.Fprintf(r.Out, "\nSaved the plan to %s. Apply exactly these moves with:\n  connrecon apply --plan %s%s\n", req.SaveTo, req.SaveTo, req.ApplyFlags)
		}
	}
	if n := r.Plan.Summary().Move; err == nil && req.DetailedExitcode && n > 0 {
		err = &PendingError{Moves: n}
	}
	return err
}

// save writes the plan file atomically: apply --plan must never read half
// a plan.
func (r *Run) save(path string) error {
	err := privfile.Write(path, func(w io.Writer) error {
		return planfile.Save(w, r.Plan, r.State, planfile.SaveMeta{
			GraphURL: r.GraphURL, MappingPath: r.Mapping.Path, MappingSHA256: r.Mapping.SHA256, MappingRows: len(r.Mapping.Rows),
			Version: r.Version, CreatedAt: time.Now().UTC(),
		})
	})
	if err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	return nil
}

// DiscardSaved removes an earlier plan file at path when this run cannot
// replace it: a cron job's apply --plan must not apply yesterday's plan
// because tonight's could not be made.
func DiscardSaved(log *slog.Logger, path string) {
	err := os.Remove(path)
	switch {
	case err == nil:
		log.Warn("plan not saved, and the earlier plan file removed: this plan cannot be applied", "file", path)
	case errors.Is(err, os.ErrNotExist):
		log.Warn("plan not saved: it cannot be applied", "file", path)
	default:
		log.Error("plan not saved, and the earlier plan file could not be removed: do not apply it", "file", path, "err", err)
	}
}

// errAppsNotSaved: plan -o with an application mapping. The command line
// refuses the flags together first; this keeps any other caller from
// saving a plan whose application moves apply --plan would not check.
var errAppsNotSaved = errors.New("plan -o: a plan with an application mapping (--apps) cannot be saved yet: apply it with -m and --apps")

package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"connrecon/executor"
	"connrecon/plan"
	"connrecon/report"
)

// Reader is the tenant as every workflow reads it: whole, and who signed
// in. The Graph client is one; tests use fakes.
type Reader interface {
	Snapshot(ctx context.Context) (*plan.State, error)
	// Operator is who signed in, once known ("" until then).
	Operator() string
}

// Tenant is the tenant as apply changes it: read, move a connector, read
// a group's members (verification).
type Tenant interface {
	Reader
	executor.Mover
	executor.Reader
}

// MappingReader reads the mapping (a file, or standard input).
type MappingReader func() (*plan.Mapping, error)

// Run is one plan or apply run, and what it has reached so far: a run
// that stops half way still reports how far it got.
type Run struct {
	Mode      string // plan or apply
	ID        string // the run's id: on its log lines, in its report and back-out
	Version   string // connrecon's, for the report and saved plans
	Started   time.Time
	GraphURL  string // shown in reports and kept in saved plans: never with a secret in it
	ReportDir string

	Log *slog.Logger
	Out io.Writer // what people read (standard output): the plan, summaries

	Tenant  Reader // nil when signing in could not even start; apply needs a Tenant
	Mapping *plan.Mapping
	Apps    *plan.Mapping // --apps: the application mapping; nil for none
	State   *plan.State   // the tenant as read, which a saved plan records
	Plan    *plan.Plan
	Results []executor.Result
	Journal string // path of journal.jsonl, once opened
	Backout string // path of backout.csv, once written
}

// Report assembles the report of what the run reached. code and outcome
// are the command line's verdict (the exit code and its word), message
// why it did not simply succeed.
func (r *Run) Report(code int, outcome, message string) *report.Report {
	run := report.Run{
		Version: r.Version, Mode: r.Mode, GraphURL: r.GraphURL,
		StartedAt: r.Started, FinishedAt: time.Now(), ExitCode: code, Outcome: outcome, Message: message,
		Journal: r.Journal, Backout: r.Backout, RunID: r.ID,
	}
	if r.Tenant != nil {
		run.Operator = r.Tenant.Operator()
	}
	if r.Mapping != nil {
		run.MappingSheet = r.Mapping.Sheet
	}
	return report.Build(run, r.Mapping, r.Plan, r.Results)
}

// load reads the mapping and the tenant and builds the plan, filling r as
// it goes; or, for a drain (a list of connectors to move into the default
// group), the tenant alone. A drain reads the tenant first: its mapping needs the default
// group.
func (r *Run) load(ctx context.Context, read, readApps MappingReader, drain []string, opts plan.Options) error {
	if drain != nil {
		return r.loadDrain(ctx, drain, opts)
	}
	m, err := read()
	if err != nil {
		return err
	}
	r.Mapping = m
	if readApps != nil {
		apps, err := readApps()
		if err != nil {
			return err
		}
		r.Apps = apps
	}
	if err := r.snapshot(ctx); err != nil {
		return err
	}
	r.Plan = plan.BuildWithApps(m, r.Apps, r.State, opts)
	return nil
}

// loadDrain plans a drain: the listed connectors into the default group,
// every other connector left out of the plan, under the same guards.
func (r *Run) loadDrain(ctx context.Context, items []string, opts plan.Options) error {
	if err := r.snapshot(ctx); err != nil {
		return err
	}
	m, err := plan.DrainMapping(items, r.State)
	if err != nil {
		return &RefusedError{Err: err}
	}
	r.Mapping = m
	opts.Unlisted = plan.UnlistedIgnore
	r.Plan = plan.Build(m, r.State, opts)
	for i := range r.Plan.Refusals {
		if f := &r.Plan.Refusals[i]; f.Guard == plan.GuardCoverage {
			f.Message += " (for a drain: drain that group's connectors one at a time, or first add an active connector to it)"
		}
	}
	return nil
}

func (r *Run) snapshot(ctx context.Context) error {
	r.Log.Info("reading the tenant", "graph", r.GraphURL)
	state, err := r.Tenant.Snapshot(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("reading the tenant: %w", err)
	}
	r.Log.Info("tenant read", "connectors", len(state.Connectors), "groups", len(state.Groups))
	for _, w := range state.Warnings {
		r.Log.Warn(w)
	}
	r.State = state
	return nil
}

// verdict is the error a plan earns before anything is applied: invalid
// rows first, then a guard's refusal.
func verdict(p *plan.Plan) error {
	if n := p.Summary().Invalid; n > 0 {
		return &InvalidError{Rows: n}
	}
	if p.Refused() {
		msgs := make([]string, len(p.Refusals))
		for i, f := range p.Refusals {
			msgs[i] = f.Message
		}
		return &RefusedError{Reasons: msgs}
	}
	return nil
}

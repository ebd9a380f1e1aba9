package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"time"

	"connrecon/executor"
	"connrecon/internal/graph"
	"connrecon/internal/pacer"
	"connrecon/plan"
	"connrecon/report"
)

// buildVersion is set with -ldflags "-X main.buildVersion=…" by make build.
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// reportDirFlag is --report-dir's help; the default keeps every run's
// report (cron runs would otherwise overwrite the last audit trail).
const reportDirHelp = "directory for report.json and report.csv (default connrecon-reports/UTC-TIMESTAMP-MODE)"

const defaultReportRoot = "connrecon-reports"

func reportDir(dir, mode string, started time.Time) string {
	if dir != "" {
		return dir
	}
	return filepath.Join(defaultReportRoot, started.UTC().Format("20060102T150405Z")+"-"+mode)
}

// reportRoot is where a run's default lock lives: the report directory
// given, or the parent of the per-run default ones, so that runs that
// write to the same place exclude each other.
func reportRoot(dir string) string {
	if dir != "" {
		return dir
	}
	return defaultReportRoot
}

// runState is what a plan or apply run accumulates for its report.
type runState struct {
	mode      string
	started   time.Time
	graphURL  string
	reportDir string
	mapping   *plan.Mapping
	plan      *plan.Plan
	results   []executor.Result
}

// finish writes the report for whatever the run reached, and returns err
// (or a report-writing failure) so the caller's exit code stands.
func (r *runState) finish(s *session, err error) error {
	code := exitCode(err)
	outcome, msg := outcomeOf(code), ""
	if err != nil {
		msg = redact(err.Error(), s.token)
	}
	rep := report.Build(report.Run{
		Version: version(), Mode: r.mode, GraphURL: r.graphURL,
		StartedAt: r.started, FinishedAt: time.Now(), ExitCode: code, Outcome: outcome, Message: msg,
	}, r.mapping, r.plan, r.results)
	if werr := report.Write(r.reportDir, rep); werr != nil {
		s.log.Error("could not write the report", "dir", r.reportDir, "err", werr)
		if err == nil {
			return withCode(exitFailure, werr)
		}
		return err
	}
	s.log.Info("report written", "dir", r.reportDir, "files", report.Files)
	return err
}

func outcomeOf(code int) string {
	switch code {
	case exitOK:
		return "success"
	case exitChanges:
		return "changesPending"
	case exitRefused:
		return "refused"
	case exitInvalid:
		return "invalidInput"
	case exitInterrupted:
		return "interrupted"
	default:
		return "failed"
	}
}

// newClient builds the Graph client for the session's options.
func (s *session) newClient(p *pacer.Pacer) (*graph.Client, error) {
	c, err := graph.New(graph.Config{
		GraphURL:  s.g.graphURL(),
		Auth:      graph.Auth{Mode: s.g.Auth, Token: s.token, ClientID: s.g.ClientID, Cloud: graph.Clouds[s.g.Cloud].Authority, Prompt: s.env.Stderr},
		Pacer:     p,
		UserAgent: "connrecon/" + version(),
	})
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return c, nil
}

// load reads the mapping and the tenant and builds the plan, filling r as
// it goes so a failure still leaves what was reached for the report.
func (r *runState) load(ctx context.Context, s *session, mappingPath string, c *graph.Client) error {
	m, err := plan.ReadMapping(mappingPath)
	if err != nil {
		return err
	}
	r.mapping = m
	s.log.Info("reading the tenant", "graph", r.graphURL)
	state, err := c.Snapshot(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("reading the tenant: %w", err)
	}
	s.log.Info("tenant read", "connectors", len(state.Connectors), "groups", len(state.Groups))
	r.plan = plan.Build(m, state)
	return nil
}

func printPlan(w io.Writer, p *plan.Plan) {
	plan.WriteText(w, p)
}

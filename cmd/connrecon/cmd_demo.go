package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"connrecon/internal/graph"
	"connrecon/internal/graphsim"
	"connrecon/report"
	"connrecon/samples"
)

type demoOptions struct {
	ReportDir string
}

func (o *demoOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.ReportDir, "report-dir", "demo-report", "directory for the demo's export and reports (plan/, apply/, replan/ and backout/ inside, replaced on every run)")
}

// runDemo starts the simulated tenant on a loopback port and runs the real
// job against it: an export, plan, apply, a second plan that finds
// nothing to do, and the apply's back-out, which puts the tenant back.
// The demo is run again and again, so each run replaces its own earlier
// reports (as --overwrite does) and says so; a real run's report
// directory is never replaced unasked.
func runDemo(ctx context.Context, s *session, o demoOptions) error {
	t, err := graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
	if err != nil {
		return err
	}
	sim := graphsim.New(t, graphsim.Options{Seed: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	if err := os.MkdirAll(o.ReportDir, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// The demo reads the workbook, as most administrators keep the mapping
	// in Excel; samples/mapping.csv holds the same rows.
	mapping := filepath.Join(o.ReportDir, "mapping.xlsx")
	if err := os.WriteFile(mapping, samples.MappingXLSX, 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	apps := filepath.Join(o.ReportDir, "apps.csv")
	if err := os.WriteFile(apps, samples.AppsCSV, 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// The demo signs in with a throwaway token to its own simulator; the
	// operator's CONNRECON_* settings do not apply.
	demo := *s
	demo.g.GraphURL = "http://" + ln.Addr().String() + "/beta"
	demo.g.Auth = graph.AuthToken
	demo.token = "demo-token"

	say := func(format string, a ...any) { fmt.Fprintf(s.stdout, "\n== "+format+"\n\n", a...) }
	say("Simulated tenant at %s (%d connectors, %d groups); mapping %s; earlier demo reports in %s are replaced",
		demo.g.GraphURL, len(t.Connectors), len(t.Groups), mapping, o.ReportDir)
	planning := planningOptions{Mapping: mapping, Apps: apps, Unlisted: "report", MaxChanges: 50, MinActive: 1}
	reports := func(sub string) reportOptions {
		return reportOptions{Dir: filepath.Join(o.ReportDir, sub), Overwrite: true}
	}
	export := filepath.Join(o.ReportDir, "export.xlsx")
	say("connrecon export -o %s   (where every connector is now)", export)
	if err := runExport(ctx, &demo, exportOptions{Out: export}); err != nil {
		return err
	}
	say("connrecon plan -m %s --apps %s", mapping, apps)
	if err := runPlan(ctx, &demo, planOptions{planningOptions: planning, Report: reports("plan")}); err != nil {
		return err
	}
	say("connrecon apply -m %s --apps %s --yes", mapping, apps)
	if err := runApply(ctx, &demo, applyOptions{planningOptions: planning, Report: reports("apply"), Concurrency: 4, Yes: true}); err != nil {
		return err
	}
	say("connrecon plan -m %s --apps %s --detailed-exitcode   (after apply)", mapping, apps)
	if err := runPlan(ctx, &demo, planOptions{planningOptions: planning, Report: reports("replan"), DetailedExitcode: true}); err != nil {
		return fmt.Errorf("demo: the tenant does not match the mapping after apply: %w", err)
	}
	backout := filepath.Join(o.ReportDir, "apply", report.BackoutCSV)
	backoutApps := filepath.Join(o.ReportDir, "apply", report.BackoutAppsCSV)
	say("connrecon apply -m %s --apps %s --yes   (the back-out: the tenant as the export found it)", backout, backoutApps)
	undo := planning
	undo.Mapping, undo.Apps = backout, backoutApps
	if err := runApply(ctx, &demo, applyOptions{planningOptions: undo, Report: reports("backout"), Concurrency: 4, Yes: true}); err != nil {
		return err
	}
	say("Done. Export: %s. Reports: %s/{plan,apply,replan,backout}/report.{json,csv,xlsx,md}", export, o.ReportDir)
	return nil
}

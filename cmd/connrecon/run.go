package main

import (
	"flag"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"connrecon/internal/graph"
	"connrecon/internal/mapping"
	"connrecon/internal/pacer"
	"connrecon/internal/reconcile"
	"connrecon/internal/safetext"
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

// reportDirHelp is --report-dir's help; the default keeps every run's
// report (cron runs would otherwise overwrite the last audit trail).
const reportDirHelp = "directory for the reports (default connrecon-reports/UTC-TIMESTAMP-MODE-RUNID)"

// reportOptions are the report flags of plan and apply.
type reportOptions struct {
	Dir     string
	Formats string
	// Overwrite lets a run replace the reports and journal an earlier run
	// left in --report-dir (prepareReportDir); its default comes from
	// CONNRECON_OVERWRITE.
	Overwrite bool
	formats   []report.Format // parsed by validate
}

func (o *reportOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Dir, "report-dir", "", reportDirHelp)
	fs.StringVar(&o.Formats, "report-format", "all", "report formats to write: all, or a comma list of json, csv, xlsx, md")
	fs.BoolVar(&o.Overwrite, "overwrite", o.Overwrite, "when --report-dir holds an earlier run's reports or journal, delete them and write this run's (default: refuse) (env CONNRECON_OVERWRITE)")
}

func (o *reportOptions) validate() error {
	f, err := report.ParseFormats(o.Formats)
	if err != nil {
		return usageErrorf("--report-format: %v", err)
	}
	o.formats = f
	return nil
}

// planningOptions are the flags that turn a mapping into a plan, shared by
// plan and apply -m so that plan shows what apply would do.
type planningOptions struct {
	Mapping          string
	Drain            string
	drainItems       []string // Drain's items, parsed by validate
	Sheet            string
	Apps             string // --apps: the application mapping
	AppsSheet        string
	Unlisted         string
	unlistedGiven    bool // --unlisted set, on the command line or from the environment
	MaxChanges       int
	MinActive        int
	AllowCoverageGap bool
}

func (o *planningOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Mapping, "m", "", "mapping file (CSV or XLSX)")
	fs.StringVar(&o.Mapping, "mapping", "", "same as -m")
	fs.StringVar(&o.Drain, "drain", "", "instead of -m: move these connectors (machine names or ids, comma-separated) to the default group, for maintenance")
	fs.StringVar(&o.Sheet, "sheet", "", "XLSX: the sheet to read (default: the first)")
	fs.StringVar(&o.Apps, "apps", "", "application mapping file (CSV or XLSX): applications to move between connector groups with the connectors, in the same plan")
	fs.StringVar(&o.AppsSheet, "apps-sheet", "", "XLSX: the sheet of --apps to read (default: Applications, else the first)")
	o.Unlisted = plan.UnlistedReport
	fs.Var(&givenString{p: &o.Unlisted, given: &o.unlistedGiven}, "unlisted", "connectors in the tenant but not in the mapping: `MODE` is ignore, report (list them as unmanaged) or default (move them to the default group)")
	fs.IntVar(&o.MaxChanges, "max-changes", 50, "refuse a plan with more moves than this (0: no limit)")
	fs.IntVar(&o.MinActive, "min-active", 1, "refuse a plan that leaves a group with applications below this many active connectors, even for a moment")
	fs.BoolVar(&o.AllowCoverageGap, "allow-coverage-gap", false, "apply even when some group with applications would fall below --min-active")
}

func (o *planningOptions) options() plan.Options {
	return plan.Options{Unlisted: o.Unlisted, MaxChanges: o.MaxChanges, MinActive: o.MinActive, AllowCoverageGap: o.AllowCoverageGap}
}

func (o *planningOptions) validate(cmd string) error {
	switch {
	case o.Mapping != "" && o.Drain != "":
		return usageErrorf("%s: give either -m FILE or --drain LIST, not both", cmd)
	case o.Drain != "":
		items, err := parseDrain(o.Drain)
		if err != nil {
			return usageErrorf("%s: %v", cmd, err)
		}
		o.drainItems = items
		switch {
		case o.Sheet != "":
			return usageErrorf("%s --drain: --sheet is for a mapping file", cmd)
		case o.unlistedGiven:
			// Even as "report", the default: a drain has no unlisted connectors.
			return usageErrorf("%s --drain: --unlisted does not apply: a drain moves the connectors it lists and no other", cmd)
		}
	case o.Mapping == "":
		return usageErrorf("%s: -m FILE (or --drain LIST) is required", cmd)
	}
	switch {
	case o.Apps != "" && o.Drain != "":
		return usageErrorf("%s --drain: --apps is for a mapping file (-m): a drain moves connectors only", cmd)
	case o.AppsSheet != "" && o.Apps == "":
		return usageErrorf("%s: --apps-sheet is for --apps FILE", cmd)
	case o.Apps == "-" && o.Mapping == "-":
		return usageErrorf("%s: -m - and --apps - cannot both read standard input: save one of them to a file", cmd)
	}
	if o.MaxChanges < 0 || o.MinActive < 0 {
		return usageErrorf("%s: --max-changes and --min-active must not be negative", cmd)
	}
	if err := o.options().Validate(); err != nil {
		return usageErrorf("%s: %v", cmd, err)
	}
	return nil
}

// givenString is a string flag that records being set. setFromEnv sets a
// flag through its Value, so given also covers the environment variable,
// which fs.Visit does not see.
type givenString struct {
	p     *string
	given *bool
}

func (v *givenString) String() string {
	if v == nil || v.p == nil { // flag.PrintDefaults asks a zero value
		return ""
	}
	return *v.p
}

func (v *givenString) Set(s string) error {
	*v.p, *v.given = s, true
	return nil
}

// parseDrain splits --drain's list: comma-separated machine names or ids,
// each trimmed as a mapping cell is. An empty item is a typo (a doubled or
// trailing comma) that might hide a name: refused.
func parseDrain(list string) ([]string, error) {
	parts := strings.Split(list, ",")
	items := make([]string, 0, len(parts))
	for i, p := range parts {
		it := plan.TrimSpace(p)
		if it == "" {
			return nil, fmt.Errorf("--drain: item %d of %d is empty: list machine names or ids separated by single commas", i+1, len(parts))
		}
		items = append(items, it)
	}
	return items, nil
}

const defaultReportRoot = "connrecon-reports"

// reportDir is --report-dir, or a directory of the run's own: the time
// alone would let two runs in the same second share one.
func reportDir(dir, mode string, started time.Time, runID string) string {
	if dir != "" {
		return dir
	}
	return filepath.Join(defaultReportRoot, started.UTC().Format("20060102T150405Z")+"-"+mode+"-"+runID)
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

// newRun starts a plan or apply run: what it reaches is kept for its
// report.
func newRun(s *session, mode string, ro reportOptions) *reconcile.Run {
	// Redacted: this goes into the report even when newClient refuses it.
	r := &reconcile.Run{Mode: mode, ID: s.runID, Version: version(), Started: time.Now(), GraphURL: redactedURL(s.g.graphURL()), Log: s.log, Out: s.stdout}
	r.ReportDir = reportDir(ro.Dir, mode, r.Started, s.runID)
	return r
}

// signIn makes the Graph client the run works with.
func signIn(s *session, r *reconcile.Run, p *pacer.Pacer) error {
	c, err := s.newClient(p)
	if err != nil {
		return err
	}
	r.Tenant, r.GraphURL = c, c.GraphURL()
	return nil
}

// finish writes the report for whatever the run reached, and returns err
// (or a report-writing failure) so the caller's exit code stands.
func finish(s *session, r *reconcile.Run, ro reportOptions, err error) error {
	code := exitCode(err)
	msg := ""
	if err != nil {
		// Cut after redacting, never before: a cut token would no longer
		// be found. The message quotes the mapping at most in short
		// prefixes, but a report must stay small whatever it quotes.
		msg = safetext.Truncate(redact(err.Error(), s.token), safetext.MaxText)
	}
	rep := r.Report(code, outcomeOf(code), msg)
	if werr := report.Write(r.ReportDir, rep, ro.formats); werr != nil {
		s.log.Error("could not write the report", "dir", r.ReportDir, "err", werr)
		if code != exitOK && code != exitChanges {
			return err // already says nothing was (fully) done
		}
		// A success or "changes pending" without its audit trail is a
		// failure: a scheduler must not read it as all well.
		// %v: the write's cause must not choose the exit code.
		return fmt.Errorf("could not write the report in %s: %v", r.ReportDir, werr)
	}
	formats := ro.formats
	if len(formats) == 0 {
		formats = report.AllFormats
	}
	files := make([]string, len(formats))
	for i, f := range formats {
		files[i] = f.File()
	}
	if r.Backout != "" {
		files = append(files, report.BackoutFiles...)
	}
	s.log.Info("report written", "dir", r.ReportDir, "files", strings.Join(files, ","))
	return err
}

// newClient builds the Graph client for the session's options. A bad
// Graph URL or a missing token is a usage error (64); a sign-in that cannot
// even be set up is a runtime failure (1).
func (s *session) newClient(p *pacer.Pacer) (*graph.Client, error) {
	// A password (or a token as the user name) in the URL would be
	// written to every log and report; Graph takes none there. A URL that
	// does not parse as scheme://host (http:user:pw@host, https//user:pw@host)
	// is taken to carry user information when it has an "@" where the
	// redaction masks one.
	u, err := url.Parse(s.g.graphURL())
	bad := err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != ""
	if bad && redactedURL(s.g.graphURL()) == s.g.graphURL() {
		return nil, usageErrorf("--graph-url %q: want an absolute http(s) URL such as %s", redactedURL(s.g.graphURL()), graph.DefaultURL)
	}
	if bad || u.User != nil {
		return nil, usageErrorf("--graph-url %q: remove the user information (user:password@): sign in with --auth, not in the URL", redactedURL(s.g.graphURL()))
	}
	if s.g.Auth == graph.AuthToken && strings.TrimSpace(s.token) == "" {
		return nil, usageErrorf("--auth token: CONNRECON_TOKEN is empty or not set")
	}
	c, err := graph.New(graph.Config{
		GraphURL:        s.g.graphURL(),
		Auth:            graph.Auth{Mode: s.g.Auth, Token: s.token, ClientID: s.g.ClientID, Cloud: graph.Clouds[s.g.Cloud].Authority, Prompt: s.env.Stderr},
		Pacer:           p,
		BatchSize:       s.g.BatchSize,
		ReadConcurrency: s.g.ReadConcurrency,
		OnNote:          func(note string) { s.log.Warn(note) },
		UserAgent:       "connrecon/" + version(),
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// newPacer is a run's pacer: opts, learning the rate the tenant allows
// once it throttles (--rps, when given, stays the cap), and saying so.
func (s *session) newPacer(opts pacer.Options, seed uint64) *pacer.Pacer {
	opts.Learn = true
	opts.OnRate = func(rps float64) {
		s.log.Info("Graph throttled: pacing requests under the rate it allowed", "requestsPerSecond", math.Round(rps*10)/10)
	}
	return pacer.New(opts, seed)
}

// readMapping reads -m: a file, or standard input for "-" (never a
// terminal: the read would wait for a person typing CSV).
func readMapping(s *session, path, sheet string) (*plan.Mapping, error) {
	return readMappingOf(s, path, mapping.Options{Sheet: sheet})
}

// readMappingOf reads a mapping of opts.Kind: -m's, or --apps'.
func readMappingOf(s *session, path string, opts mapping.Options) (*plan.Mapping, error) {
	if path == "-" {
		if s.env.StdinIsTerminal != nil && s.env.StdinIsTerminal() {
			if opts.Kind == plan.KindApplication {
				return nil, usageErrorf("--apps -: standard input is a terminal; pipe the application mapping in (connrecon plan -m mapping.csv --apps - < apps.csv)")
			}
			return nil, usageErrorf("-m -: standard input is a terminal; pipe the mapping in (connrecon plan -m - < mapping.csv)")
		}
		opts.Stdin = s.env.Stdin
	}
	return mapping.Read(path, opts)
}

// reader is -m's reader for a workflow, which reads when it is ready to;
// nil for a drain, which has no file.
func (o *planningOptions) reader(s *session) reconcile.MappingReader {
	if o.Mapping == "" {
		return nil
	}
	return func() (*plan.Mapping, error) { return readMapping(s, o.Mapping, o.Sheet) }
}

// appsReader is --apps' reader; nil without it.
func (o *planningOptions) appsReader(s *session) reconcile.MappingReader {
	if o.Apps == "" {
		return nil
	}
	return func() (*plan.Mapping, error) {
		return readMappingOf(s, o.Apps, mapping.Options{Sheet: o.AppsSheet, Kind: plan.KindApplication})
	}
}

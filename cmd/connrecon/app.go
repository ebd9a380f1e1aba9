package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"connrecon/internal/graph"
)

// Env is the process's outside world, injectable for in-process tests.
type Env struct {
	Stdin            io.Reader
	Stdout, Stderr   io.Writer
	Getenv           func(string) string
	StdinIsTerminal  func() bool
	StderrIsTerminal func() bool
}

func systemEnv() Env {
	return Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		StdinIsTerminal:  func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		StderrIsTerminal: func() bool { return term.IsTerminal(int(os.Stderr.Fd())) },
	}
}

// globalOptions apply to every command; like every flag, each also reads
// its environment variable (setFromEnv; the flag wins).
type globalOptions struct {
	GraphURL   string // "" = the cloud's
	Cloud      string
	Auth       string
	ClientID   string
	LogFormat  string
	NoProgress bool
	Lock       string
	// BatchSize and ReadConcurrency shape the traffic: requests per JSON
	// batch, and group reads (batches) in flight.
	BatchSize       int
	ReadConcurrency int
}

func (o *globalOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.GraphURL, "graph-url", o.GraphURL, "Graph base URL (env CONNRECON_GRAPH_URL; default: the --cloud's, "+graph.DefaultURL+" for public)")
	// The usage text shows the default (the environment's, or an earlier
	// --graph-url): never with a password in it.
	fs.Lookup("graph-url").DefValue = redactedURL(o.GraphURL)
	fs.StringVar(&o.Cloud, "cloud", o.Cloud, "national cloud, sets the Graph URL and the sign-in authority: "+strings.Join(graph.CloudNames(), "|")+" (env CONNRECON_CLOUD)")
	fs.StringVar(&o.Auth, "auth", o.Auth, "sign-in: "+strings.Join(graph.AuthModes, "|")+" (env CONNRECON_AUTH); token reads CONNRECON_TOKEN")
	fs.StringVar(&o.ClientID, "client-id", o.ClientID, "client id of a user-assigned managed identity (--auth msi) or of the app to sign in to (--auth device) (env CONNRECON_CLIENT_ID)")
	fs.StringVar(&o.LogFormat, "log-format", o.LogFormat, "log format on stderr: text|json (env CONNRECON_LOG_FORMAT)")
	fs.BoolVar(&o.NoProgress, "no-progress", o.NoProgress, "no progress display (env CONNRECON_NO_PROGRESS)")
	fs.StringVar(&o.Lock, "lock", o.Lock, "lock file: a second run holding it exits at once (env CONNRECON_LOCK)")
	fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, fmt.Sprintf("requests sent together in one JSON batch (POST /$batch), 1 to %d; 1 sends no batches (env CONNRECON_BATCH_SIZE)", graph.MaxBatchSize))
	fs.IntVar(&o.ReadConcurrency, "read-concurrency", o.ReadConcurrency, "requests (batches) in flight at once while reading the tenant's groups, 1 to 64 (env CONNRECON_READ_CONCURRENCY)")
}

// defaultGlobals are the global options before the environment
// (setFromEnv) and the command line.
func defaultGlobals() globalOptions {
	return globalOptions{Cloud: "public", Auth: graph.AuthDefault, LogFormat: "text",
		BatchSize: graph.MaxBatchSize, ReadConcurrency: graph.DefaultReadConcurrency}
}

// graphURL is --graph-url when given, otherwise the cloud's.
func (o *globalOptions) graphURL() string {
	if o.GraphURL != "" {
		return o.GraphURL
	}
	return graph.Clouds[o.Cloud].GraphURL
}

func (o *globalOptions) validate() error {
	if _, ok := graph.Clouds[o.Cloud]; !ok {
		return usageErrorf("--cloud %q: want one of %s", o.Cloud, strings.Join(graph.CloudNames(), ", "))
	}
	if !contains(graph.AuthModes, o.Auth) {
		return usageErrorf("--auth %q: want one of %s", o.Auth, strings.Join(graph.AuthModes, ", "))
	}
	if o.LogFormat != "text" && o.LogFormat != "json" {
		return usageErrorf("--log-format %q: want text or json", o.LogFormat)
	}
	if o.BatchSize < 1 || o.BatchSize > graph.MaxBatchSize {
		return usageErrorf("--batch-size %d: want 1 to %d (Graph's limit)", o.BatchSize, graph.MaxBatchSize)
	}
	if o.ReadConcurrency < 1 || o.ReadConcurrency > 64 {
		return usageErrorf("--read-concurrency %d: want 1 to 64", o.ReadConcurrency)
	}
	return nil
}

// command is one subcommand: its flags and what it runs.
type command struct {
	name, args, summary string
	flags               func(fs *flag.FlagSet) // the command's own flags
	check               func() error           // validation after parsing
	run                 func(ctx context.Context, s *session) error
	offline             bool // needs no Graph access
	// lockDir, for commands that read or change the tenant, is where the
	// default lock file goes when --lock is not given.
	lockDir func() string
}

// session is what a command runs with.
type session struct {
	env    Env
	g      globalOptions
	log    *slog.Logger
	token  string // CONNRECON_TOKEN; never logged
	stdout io.Writer
	runID  string // on every log line and in the report, to tie them together
}

func commands() []*command {
	var (
		po planOptions
		ao applyOptions
		vo validateOptions
		do demoOptions
		so simOptions
		co checkOptions
		eo exportOptions
	)
	return []*command{
		{name: "plan", args: "(-m FILE [--sheet NAME] | --drain LIST) [-o PLAN.json] [--report-dir DIR [--overwrite]] [--detailed-exitcode] [guard options]", summary: "read the tenant and show the moves the mapping needs",
			flags: po.AddFlags, check: po.validate, run: func(ctx context.Context, s *session) error { return runPlan(ctx, s, po) },
			lockDir: func() string { return reportRoot(po.Report.Dir) }},
		{name: "apply", args: "(-m FILE [--sheet NAME] | --plan PLAN.json | --drain LIST) [--concurrency N] [--yes] [--report-dir DIR [--overwrite]] [guard options]", summary: "make the moves, then write the audit report",
			flags: ao.AddFlags, check: ao.validate, run: func(ctx context.Context, s *session) error { return runApply(ctx, s, ao) },
			lockDir: func() string { return reportRoot(ao.Report.Dir) }},
		{name: "export", args: "-o FILE.csv|FILE.xlsx|-", summary: "write the tenant's connectors and their groups as a mapping (read-only)",
			flags: eo.AddFlags, check: eo.validate, run: func(ctx context.Context, s *session) error { return runExport(ctx, s, eo) }},
		{name: "check", args: "[--write-probe] [--json]", summary: "preflight: sign-in, permissions, reads (and a harmless write) against the tenant",
			flags: co.AddFlags, check: func() error { return nil }, run: func(ctx context.Context, s *session) error { return runCheck(ctx, s, co) }},
		{name: "validate", args: "-m FILE [--sheet NAME]", summary: "check the mapping file offline", offline: true,
			flags: vo.AddFlags, check: vo.validate, run: func(ctx context.Context, s *session) error { return runValidate(s, vo) }},
		{name: "demo", args: "[--report-dir DIR]", summary: "the whole job against the built-in simulated tenant", offline: true,
			flags: do.AddFlags, check: func() error { return nil }, run: func(ctx context.Context, s *session) error { return runDemo(ctx, s, do) }},
		{name: "sim", args: "[--addr 127.0.0.1:8080] [--tenant samples/tenant.json]", summary: "serve the simulated Graph tenant", offline: true,
			flags: so.AddFlags, check: so.validate, run: func(ctx context.Context, s *session) error { return runSim(ctx, s, so) }},
		{name: "version", summary: "print the version", offline: true,
			flags: func(*flag.FlagSet) {}, check: func() error { return nil },
			run: func(ctx context.Context, s *session) error {
				fmt.Fprintln(s.stdout, "connrecon", version())
				return nil
			}},
	}
}

// Main runs connrecon with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, env Env) int {
	// One writer owns stderr: a log line never lands inside the progress
	// bar.
	env.Stderr = newTerminal(env.Stderr)
	s := &session{env: env, g: defaultGlobals(), stdout: env.Stdout, token: env.Getenv("CONNRECON_TOKEN"), runID: newRunID()}
	// The environment's log format applies from the first line, usage
	// errors included; --log-format takes over once parsed.
	s.log = newLogger(env.Stderr, env.Getenv(envName("log-format"))).With("run", s.runID)
	err := dispatch(ctx, s, args)
	code := exitCode(err)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case code == exitChanges:
		s.log.Info(redact(err.Error(), s.token), "exit", code)
	default:
		s.log.Error(redact(err.Error(), s.token), "exit", code)
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return code
}

func dispatch(ctx context.Context, s *session, args []string) error {
	cmds := commands()
	top := flag.NewFlagSet("connrecon", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	s.g.AddFlags(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(s.stdout, cmds, top)
			return err
		}
		usage(s.env.Stderr, cmds, top)
		return usageErrorf("%v", err)
	}
	given := givenFlags(top, nil)
	fromEnv, err := setFromEnv(top, s.env.Getenv, given)
	if err != nil {
		return err
	}
	rest := top.Args()
	if len(rest) == 0 {
		usage(s.env.Stderr, cmds, top)
		return usageErrorf("no command given")
	}
	var cmd *command
	for _, c := range cmds {
		if c.name == rest[0] {
			cmd = c
		}
	}
	if cmd == nil {
		if rest[0] == "help" {
			usage(s.stdout, cmds, top)
			return flag.ErrHelp
		}
		usage(s.env.Stderr, cmds, top)
		return usageErrorf("unknown command %q", rest[0])
	}
	fs := flag.NewFlagSet("connrecon "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cmd.flags(fs)
	s.g.AddFlags(fs)
	if err := fs.Parse(rest[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(s.stdout, cmd, fs)
			return err
		}
		commandUsage(s.env.Stderr, cmd, fs)
		return usageErrorf("%s: %v", cmd.name, err)
	}
	cmdEnv, err := setFromEnv(fs, s.env.Getenv, givenFlags(fs, given))
	if err != nil {
		return err
	}
	fromEnv = append(fromEnv, cmdEnv...)
	if fs.NArg() > 0 {
		return usageErrorf("%s: unexpected argument %q (flags go before any other argument)", cmd.name, fs.Arg(0))
	}
	if err := s.g.validate(); err != nil {
		return withEnvNote(err, fromEnv)
	}
	if err := cmd.check(); err != nil {
		return withEnvNote(err, fromEnv)
	}
	s.log = newLogger(s.env.Stderr, s.g.LogFormat).With("run", s.runID)
	if lock := s.g.Lock; lock != "" || cmd.lockDir != nil {
		if lock == "" {
			lock = filepath.Join(cmd.lockDir(), ".connrecon.lock")
		}
		unlock, err := acquireLock(lock)
		if err != nil {
			return err
		}
		defer unlock()
	}
	return cmd.run(ctx, s)
}

func usage(w io.Writer, cmds []*command, top *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: connrecon [global options] COMMAND [options]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nGlobal options (also accepted after the command):")
	top.SetOutput(w)
	top.PrintDefaults()
	top.SetOutput(io.Discard)
	fmt.Fprintln(w, "\nRun 'connrecon COMMAND -h' for a command's options.")
}

func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: connrecon %s %s\n\n%s.\n\nOptions:\n", c.name, c.args, c.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// redact removes a secret from text that is about to be shown.
func redact(s, secret string) string {
	if len(secret) < 4 {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func newRunID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

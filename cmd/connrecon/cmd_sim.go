package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"connrecon/internal/graphsim"
	"connrecon/samples"
)

type simOptions struct {
	Addr     string
	Tenant   string
	Token    string
	Seed     int64
	Deny     bool
	DenyRead bool
	PageSize int
	Faults   graphsim.Faults
	// Guess is --guess: NAME=VALUE[,NAME=VALUE...] (graphsim.ParseGuess),
	// read into guesses by validate.
	Guess   string
	guesses graphsim.Guesses
}

const defaultSimTenant = "samples/tenant.json"

func (o *simOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.Tenant, "tenant", defaultSimTenant, "tenant JSON file (the built-in sample when the default path does not exist)")
	fs.StringVar(&o.Token, "token", "", "bearer token the simulator accepts (default: any non-empty token)")
	fs.Int64Var(&o.Seed, "seed", 1, "seed for every random fault, so runs repeat")
	fs.BoolVar(&o.Deny, "deny-writes", false, "answer every write 403 Authorization_RequestDenied")
	fs.BoolVar(&o.DenyRead, "deny-reads", false, "answer every read and write 403 Authorization_RequestDenied")
	fs.IntVar(&o.PageSize, "page-size", 0, "page size when a request has no $top (default 100)")
	fs.DurationVar(&o.Faults.Latency, "latency", 0, "response time of every answer, counted from the request's arrival")
	fs.DurationVar(&o.Faults.Jitter, "jitter", 0, "random extra latency, up to this much")
	fs.Float64Var(&o.Faults.ThrottleRPS, "throttle-rps", 0, "token-bucket limit for the tenant in requests/s, a batch's items each counted; 429 beyond it (0 = off)")
	fs.IntVar(&o.Faults.ThrottleBurst, "throttle-burst", 0, "token-bucket size (default: the rate)")
	fs.Float64Var(&o.Faults.ThrottleRate, "throttle-rate", 0, "fraction of requests answered 429 at random (0..1)")
	fs.DurationVar(&o.Faults.RetryAfter, "retry-after", time.Second, "Retry-After given with a random 429")
	fs.BoolVar(&o.Faults.RetryAfterDate, "retry-after-date", false, "send Retry-After as an HTTP date instead of seconds")
	fs.Float64Var(&o.Faults.ErrorRate, "error-rate", 0, "fraction of requests answered 503 or 504 (0..1)")
	fs.Float64Var(&o.Faults.ResetRate, "reset-rate", 0, "fraction of requests whose connection is reset (0..1)")
	fs.BoolVar(&o.Faults.ResetAfterApply, "reset-after-apply", false, "a reset write is applied first, its answer lost")
	fs.DurationVar(&o.Faults.StaleFor, "stale-for", 0, "eventual consistency: membership reads show the old group this long after a move")
	// A plain string, comma-separated, rather than a repeatable flag: every
	// flag reads CONNRECON_<FLAG> through its flag.Value, and one variable
	// holds one value (CONNRECON_GUESS=already=409,move=201).
	fs.StringVar(&o.Guess, "guess", "", "switch guessed answers, NAME=VALUE[,NAME=VALUE...]: "+
		"already=400|409|wording|204, move=204|201, maxtop=N, pagesize=N, top=refuse|cap, select=refuse|ignore, region=400|409|403, apponly=deny|allow, batch=taken|400|404|405|notbatch, batchid=lower|mixed|none")
}

func (o *simOptions) validate() error {
	for name, v := range map[string]float64{"--throttle-rate": o.Faults.ThrottleRate, "--error-rate": o.Faults.ErrorRate, "--reset-rate": o.Faults.ResetRate} {
		if v < 0 || v > 1 {
			return usageErrorf("sim: %s %v: want a fraction from 0 to 1", name, v)
		}
	}
	if o.PageSize < 0 {
		return usageErrorf("sim: --page-size must not be negative")
	}
	if o.Faults.ThrottleRPS < 0 {
		return usageErrorf("sim: --throttle-rps must not be negative")
	}
	o.guesses = graphsim.Guesses{}
	if o.Guess != "" {
		if err := graphsim.ParseGuess(o.Guess, &o.guesses); err != nil {
			return usageErrorf("sim: --guess: %w", err)
		}
	}
	return nil
}

// loadSimTenant reads the tenant file, falling back to the built-in sample
// only for the default path (a mistyped explicit path is an error).
func loadSimTenant(path string) (*graphsim.Tenant, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && path == defaultSimTenant {
		return graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
	}
	return graphsim.LoadTenantFile(path)
}

func runSim(ctx context.Context, s *session, o simOptions) error {
	t, err := loadSimTenant(o.Tenant)
	if err != nil {
		return &usageError{err: fmt.Errorf("sim: %w", err)}
	}
	sim := graphsim.New(t, graphsim.Options{Token: o.Token, Seed: o.Seed, DenyWrites: o.Deny, DenyReads: o.DenyRead, Permissions: true, PageSize: o.PageSize, Faults: o.Faults, Guesses: o.guesses})
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(s.stdout, "Simulated Graph tenant (%d connectors, %d groups) at http://%s/beta\n", len(t.Connectors), len(t.Groups), ln.Addr())
	fmt.Fprintf(s.stdout, "Try: CONNRECON_TOKEN=x connrecon plan --graph-url http://%s/beta --auth token -m samples/mapping.csv\n", ln.Addr())
	fmt.Fprintln(s.stdout, "Stop with Ctrl-C.")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("sim: %w", err)
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		return nil
	}
}

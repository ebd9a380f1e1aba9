package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connrecon/internal/graphsim"
)

// envSample is a value for a flag of v's type that no flag has as its
// default, and what the flag then shows.
func envSample(t *testing.T, name string, v flag.Value) (set, want string) {
	t.Helper()
	switch tp := fmt.Sprintf("%T", v); tp {
	case "*flag.boolValue":
		return "yes", "true" // any value but 0 or false
	case "*flag.intValue", "*flag.int64Value":
		return "7", "7"
	case "*flag.float64Value":
		return "0.25", "0.25"
	case "*flag.durationValue":
		return "3s", "3s"
	case "*flag.stringValue", "*main.givenString":
		return "env-" + name, "env-" + name
	default:
		t.Fatalf("--%s: no sample for %s", name, tp)
		return "", ""
	}
}

// commandFlagSet builds cmd's flags as dispatch does.
func commandFlagSet(s *session, cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cmd.flags(fs)
	s.g.AddFlags(fs)
	return fs
}

// Every long flag of every command reads CONNRECON_<FLAG>, and the flag
// given on the command line wins over it.
func TestEveryFlagReadsItsEnvironmentVariable(t *testing.T) {
	base := &session{g: defaultGlobals()}
	for _, cmd := range commands() {
		commandFlagSet(base, cmd).VisitAll(func(f *flag.Flag) {
			key := envName(f.Name)
			if key == "" {
				return // one-letter names: see TestShortFlagsHaveNoVariable
			}
			t.Run(cmd.name+"/"+f.Name, func(t *testing.T) {
				set, want := envSample(t, f.Name, f.Value)
				env := map[string]string{key: set}
				getenv := func(k string) string { return env[k] }

				s := &session{g: defaultGlobals()}
				fs := commandFlagSet(s, findCommand(t, s, cmd.name))
				if err := fs.Parse(nil); err != nil {
					t.Fatal(err)
				}
				used, err := setFromEnv(fs, getenv, givenFlags(fs, nil))
				if err != nil {
					t.Fatalf("%s=%s: %v", key, set, err)
				}
				if got := fs.Lookup(f.Name).Value.String(); got != want {
					t.Errorf("%s=%s: --%s is %q, want %q", key, set, f.Name, got, want)
				}
				if len(used) != 1 || used[0] != key {
					t.Errorf("used %v, want [%s]", used, key)
				}

				// The flag wins.
				s = &session{g: defaultGlobals()}
				fs = commandFlagSet(s, findCommand(t, s, cmd.name))
				def := fs.Lookup(f.Name).DefValue
				if err := fs.Parse([]string{"--" + f.Name + "=" + def}); err != nil {
					t.Fatal(err)
				}
				if _, err := setFromEnv(fs, getenv, givenFlags(fs, nil)); err != nil {
					t.Fatal(err)
				}
				if got := fs.Lookup(f.Name).Value.String(); got != fs.Lookup(f.Name).DefValue {
					t.Errorf("--%s=%s with %s=%s: %q, want the flag's", f.Name, def, key, set, got)
				}
			})
		})
	}
}

func findCommand(t *testing.T, s *session, name string) *command {
	t.Helper()
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no command %s", name)
	return nil
}

// -m is --mapping's alias: CONNRECON_MAPPING sets both, -m on the command
// line wins over it, and there is no CONNRECON_M (nor CONNRECON_O).
func TestShortFlagsHaveNoVariable(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"CONNRECON_MAPPING": "env.csv"}, nil, "env.csv"},
		{map[string]string{"CONNRECON_MAPPING": "env.csv"}, []string{"-m", "flag.csv"}, "flag.csv"},
		{map[string]string{"CONNRECON_MAPPING": "env.csv"}, []string{"--mapping", "flag.csv"}, "flag.csv"},
		{map[string]string{"CONNRECON_M": "env.csv"}, nil, ""},
	}
	for _, tc := range cases {
		s := &session{g: defaultGlobals()}
		fs := commandFlagSet(s, findCommand(t, s, "plan"))
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if _, err := setFromEnv(fs, func(k string) string { return tc.env[k] }, givenFlags(fs, nil)); err != nil {
			t.Fatal(err)
		}
		if got := fs.Lookup("mapping").Value.String(); got != tc.want {
			t.Errorf("%v %v: mapping %q, want %q", tc.env, tc.args, got, tc.want)
		}
	}
	s := &session{g: defaultGlobals()}
	fs := commandFlagSet(s, findCommand(t, s, "plan"))
	fs.Parse(nil)
	if _, err := setFromEnv(fs, func(k string) string { return map[string]string{"CONNRECON_O": "x.json"}[k] }, nil); err != nil || fs.Lookup("o").Value.String() != "" {
		t.Errorf("CONNRECON_O set -o: %v %q", err, fs.Lookup("o").Value)
	}
}

// A value a flag refuses, from the environment, is a usage error naming
// the variable; a global given before the command wins over the
// environment too.
func TestEnvironmentValueErrors(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	h.env["CONNRECON_CONCURRENCY"] = "many"
	if code := h.run("apply", "-m", sampleMapping, "--report-dir", t.TempDir(), "--yes"); code != exitUsage {
		t.Errorf("CONNRECON_CONCURRENCY=many: exit %d, want 64\n%s", code, &h.stderr)
	}
	if !strings.Contains(h.stderr.String(), "CONNRECON_CONCURRENCY=") || len(h.posts()) != 0 {
		t.Errorf("message does not name the variable, or moves were made: %s", &h.stderr)
	}
	// In range for the flag, out of range for the command: the message
	// says where the value came from.
	h.env["CONNRECON_CONCURRENCY"] = "65"
	if code := h.run("apply", "-m", sampleMapping, "--report-dir", t.TempDir(), "--yes"); code != exitUsage || !strings.Contains(h.stderr.String(), "CONNRECON_CONCURRENCY") {
		t.Errorf("CONNRECON_CONCURRENCY=65: exit %d\n%s", code, &h.stderr)
	}
	delete(h.env, "CONNRECON_CONCURRENCY")
	h.env["CONNRECON_LOG_FORMAT"] = "xml"
	if code := h.run("--log-format", "json", "validate", "-m", sampleMapping); code != exitOK {
		t.Errorf("--log-format json before the command with CONNRECON_LOG_FORMAT=xml: exit %d\n%s", code, &h.stderr)
	}
}

// CONNRECON_CONCURRENCY=1 connrecon apply makes one move at a time.
func TestConcurrencyFromEnvironment(t *testing.T) {
	for _, tc := range []struct {
		env     string
		oneOnly bool
	}{{"1", true}, {"", false}} {
		h := newHarness(t, graphsim.Options{Faults: graphsim.Faults{Latency: 50 * time.Millisecond}})
		var mu sync.Mutex
		inFlight, most := 0, 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				mu.Lock()
				inFlight++
				most = max(most, inFlight)
				mu.Unlock()
				defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
			}
			h.sim.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		h.env["CONNRECON_GRAPH_URL"] = srv.URL + "/beta"
		h.env["CONNRECON_CONCURRENCY"] = tc.env
		h.env["CONNRECON_BATCH_SIZE"] = "1" // one move per request, so moves in flight are requests
		if code := h.run("apply", "-m", sampleMapping, "--report-dir", t.TempDir(), "--yes"); code != exitOK {
			t.Fatalf("exit %d\n%s", code, &h.stderr)
		}
		if n := len(h.posts()); n < 2 {
			t.Fatalf("%d moves: too few to tell", n)
		}
		if tc.oneOnly && most != 1 {
			t.Errorf("CONNRECON_CONCURRENCY=1: %d moves in flight at once", most)
		}
		if !tc.oneOnly && most < 2 {
			// The control: without the variable, moves overlap, so the
			// check above can fail.
			t.Errorf("default concurrency: at most %d move in flight", most)
		}
	}
}

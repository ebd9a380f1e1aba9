package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"connrecon/internal/graphsim"
)

// --guess (and CONNRECON_GUESS) reach the simulator's Guesses; a bad one is
// a usage error naming the valid names before anything listens.
func TestSimGuessFlag(t *testing.T) {
	var want409 graphsim.Guesses
	if err := graphsim.ParseGuess("already=409,move=201", &want409); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		env  string
		want graphsim.Guesses
		err  string
	}{
		{nil, "", graphsim.Guesses{}, ""},
		{[]string{"--guess", "already=409,move=201"}, "", want409, ""},
		{nil, "already=409,move=201", want409, ""},
		{[]string{"--guess", "move=201,already=409"}, "select=ignore", want409, ""}, // the flag wins
		{[]string{"--guess", "colour=red"}, "", graphsim.Guesses{}, "unknown name \"colour\", want one of already, apponly, batch, batchid, maxtop, move"},
		{[]string{"--guess", "move=200"}, "", graphsim.Guesses{}, "want 204 (default), 201"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+"/"+tt.env, func(t *testing.T) {
			var o simOptions
			fs := flag.NewFlagSet("sim", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"CONNRECON_GUESS": tt.env}
			if _, err := setFromEnv(fs, func(k string) string { return env[k] }, givenFlags(fs, nil)); err != nil {
				t.Fatal(err)
			}
			err := o.validate()
			if tt.err != "" {
				if _, ok := err.(*usageError); !ok || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a usage error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.guesses != tt.want {
				t.Errorf("guesses %+v, want %+v", o.guesses, tt.want)
			}
		})
	}
	h := newHarness(t, graphsim.Options{})
	if code := h.run("sim", "--addr", "127.0.0.1:0", "--guess", "top=sometimes"); code != exitUsage || !strings.Contains(h.stderr.String(), "refuse (default), cap") {
		t.Errorf("sim --guess top=sometimes: exit %d\n%s", code, &h.stderr)
	}
}

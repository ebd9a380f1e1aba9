package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connrecon/internal/graphsim"
	"connrecon/samples"
)

// echoingProxy passes reads to the simulator and refuses every write with
// an OData error that quotes the request's Authorization header, as a
// proxy or a careless service might.
type echoingProxy struct{ sim *graphsim.Server }

func (e echoingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		e.sim.ServeHTTP(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	tok := strings.TrimPrefix(auth, "Bearer ")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	w.Write([]byte(`{"error":{"code":"Request_BadRequest","message":"you sent ` + auth + `; the token ` + tok + ` is not for this proxy"}}`))
}

// apply against a proxy whose refusals echo the token: the moves fail, and
// the token is in no output, no report file and not in the journal.
func TestApplyEchoedTokenIsInNoReport(t *testing.T) {
	const token = "SuperSecretTok3nValue.abcdef"
	tn, err := graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
	if err != nil {
		t.Fatal(err)
	}
	sim := graphsim.New(tn, graphsim.Options{})
	srv := httptest.NewServer(echoingProxy{sim: sim})
	t.Cleanup(srv.Close)
	h := &harness{t: t, sim: sim, url: srv.URL + "/beta", env: map[string]string{
		"CONNRECON_GRAPH_URL": srv.URL + "/beta", "CONNRECON_AUTH": "token", "CONNRECON_TOKEN": token,
	}}
	dir := t.TempDir()
	code := h.run("apply", "-m", sampleMapping, "--report-dir", dir, "--yes", "--max-attempts", "1")
	if code != exitFailure {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFailure, &h.stderr)
	}
	rep := readReport(t, dir)
	moves := 0
	for _, a := range rep.Actions {
		if a.Action != "move" {
			continue
		}
		moves++
		if a.Result != "failed" || !strings.Contains(a.Error, "[redacted]") {
			t.Errorf("row %d: %s, error %q; want failed, the echo masked", a.Row, a.Result, a.Error)
		}
	}
	if moves == 0 {
		t.Fatal("no moves in the report: the test proves nothing")
	}
	for _, s := range []string{token, "SuperSecret"} {
		if strings.Contains(h.stdout.String()+h.stderr.String(), s) {
			t.Errorf("%q is in the output:\nstdout: %s\nstderr: %s", s, &h.stdout, &h.stderr)
		}
		if f := filesContaining(t, dir, s); len(f) > 0 {
			t.Errorf("%q is in %v", s, f)
		}
	}
}

package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"connrecon/internal/golden"
	"connrecon/internal/graphsim"
	"connrecon/internal/preflight"
)

// check runs against the simulated tenant as a new user would: each sign-in
// and permission model, the exit code, the lines (golden), and that the
// only write the probe sends changes nothing.
func TestCheck(t *testing.T) {
	user := func(scp string) string {
		return graphsim.UnsignedToken(map[string]any{"upn": "admin@contoso.com", "tid": "tenant-1", "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "scp": scp})
	}
	app := graphsim.UnsignedToken(map[string]any{"idtyp": "app", "app_displayname": "connrecon-cron", "appid": "11111111-2222-3333-4444-555555555555", "tid": "tenant-1", "roles": []string{"Directory.ReadWrite.All"}})
	full := user("Directory.ReadWrite.All User.Read")
	for _, tc := range []struct {
		name  string
		opts  graphsim.Options
		token string
		args  []string
		code  int
		posts int // writes the simulator saw
	}{
		{"healthy", graphsim.Options{Permissions: true}, full, []string{"--write-probe"}, 0, 1},
		{"healthy-no-probe", graphsim.Options{Permissions: true}, full, nil, 0, 0},
		{"writes-denied", graphsim.Options{Permissions: true, DenyWrites: true}, full, []string{"--write-probe"}, 1, 1},
		{"reads-denied", graphsim.Options{Permissions: true, DenyReads: true}, full, []string{"--write-probe"}, 1, 0},
		{"app-only", graphsim.Options{Permissions: true}, app, []string{"--write-probe"}, 1, 0},
		{"app-only-allowed", graphsim.Options{Permissions: true, Guesses: graphsim.Guesses{AppOnly: graphsim.AppOnlyAllow}}, app, []string{"--write-probe"}, 0, 1},
		{"no-scope", graphsim.Options{Permissions: true}, user("User.Read Directory.Read.All"), nil, 1, 0},
		{"token-refused", graphsim.Options{Permissions: true, Token: "another-token"}, full, nil, 1, 0},
		{"paged-409", graphsim.Options{Permissions: true, MaxPageSize: 5, Guesses: graphsim.Guesses{TopAboveMax: graphsim.TopCap, AlreadyExistsStatus: 409, AlreadyExistsCode: "Conflict", AlreadyExistsMembersMessage: "Object already exists.", AlreadyExistsMemberOfMessage: "Object already exists."}}, full, []string{"--write-probe"}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts)
			h.env["CONNRECON_TOKEN"] = tc.token
			before := h.sim.State()
			code := h.run(append([]string{"check"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, h.stdout.String(), h.stderr.String())
			}
			writes := 0
			for _, p := range h.posts() {
				if strings.HasSuffix(p.Path, "/$ref") {
					writes++
				}
			}
			if writes != tc.posts {
				t.Errorf("%d writes, want %d", writes, tc.posts)
			}
			if after := h.sim.State(); !sameMembership(before, after) {
				t.Errorf("check changed the tenant")
			}
			if strings.Contains(h.stdout.String()+h.stderr.String(), tc.token) {
				t.Errorf("the token is printed")
			}
			golden.Check(t, filepath.Join("testdata", "check", tc.name+".txt"), normalizeCheck(h.stdout.String(), h.url))

			// --json says the same, for scripts.
			h.run(append([]string{"check", "--json"}, tc.args...)...)
			var r preflight.Report
			if err := json.Unmarshal(h.stdout.Bytes(), &r); err != nil {
				t.Fatalf("--json: %v\n%s", err, h.stdout.String())
			}
			if r.OK != (tc.code == 0) {
				t.Errorf("--json ok %v, exit %d", r.OK, tc.code)
			}
		})
	}
}

func sameMembership(a, b *graphsim.Tenant) bool {
	if len(a.Connectors) != len(b.Connectors) {
		return false
	}
	for i := range a.Connectors {
		if a.Connectors[i].ID != b.Connectors[i].ID || a.Connectors[i].Group != b.Connectors[i].Group {
			return false
		}
	}
	return true
}

var (
	guidText = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	rttText  = regexp.MustCompile(`round trip: [0-9.]+ ms`)
)

// normalizeCheck keeps what a golden file can hold: request-ids, the
// server's port and the round trip change from run to run.
func normalizeCheck(out, url string) []byte {
	out = strings.ReplaceAll(out, url, "GRAPH-URL")
	out = rttText.ReplaceAllString(out, "round trip: N ms")
	out = guidText.ReplaceAllStringFunc(out, func(s string) string {
		if strings.HasPrefix(s, "04b07795") || strings.HasPrefix(s, "11111111") {
			return s // app ids from the token
		}
		return "REQUEST-ID"
	})
	return []byte(out)
}

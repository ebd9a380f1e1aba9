package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connrecon/internal/graphsim"
)

func TestGuardsRefuseAndStillReport(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		guard  string
		stdout []string
	}{
		{"max changes", []string{"--max-changes", "3"}, "maxChanges", []string{"5 moves", "--max-changes"}},
		// Default serves "Legacy Intranet" and keeps only two active
		// connectors after the plan.
		{"coverage", []string{"--min-active", "3"}, "coverage", []string{"Default", "Legacy Intranet"}},
	}
	for _, tc := range cases {
		for _, cmd := range []string{"plan", "apply"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				h := newHarness(t, graphsim.Options{})
				dir := t.TempDir()
				args := append([]string{cmd, "-m", sampleMapping, "--report-dir", dir, "--detailed-exitcode"}, tc.args...)
				if cmd == "apply" {
					args = append([]string{cmd, "-m", sampleMapping, "--report-dir", dir, "--yes"}, tc.args...)
				}
				if code := h.run(args...); code != exitRefused {
					t.Fatalf("exit %d, want 3\n%s\n%s", code, &h.stdout, &h.stderr)
				}
				for _, s := range append([]string{"Refused"}, tc.stdout...) {
					if !strings.Contains(h.stdout.String(), s) {
						t.Errorf("plan output lacks %q:\n%s", s, &h.stdout)
					}
				}
				rep := readReport(t, dir)
				if rep.ExitCode != exitRefused || rep.Outcome != "refused" || len(rep.Refusals) == 0 || rep.Refusals[0].Guard != tc.guard {
					t.Errorf("report: exit %d outcome %s refusals %+v", rep.ExitCode, rep.Outcome, rep.Refusals)
				}
				if n := len(h.posts()); n != 0 {
					t.Errorf("%d POSTs sent for a refused plan", n)
				}
			})
		}
	}
	// --allow-coverage-gap lets the same plan through.
	h := newHarness(t, graphsim.Options{})
	if code := h.run("apply", "-m", sampleMapping, "--report-dir", t.TempDir(), "--yes", "--min-active", "3", "--allow-coverage-gap"); code != exitOK {
		t.Errorf("with --allow-coverage-gap: exit %d\n%s", code, &h.stderr)
	}
}

// moveBehindTheToolsBack changes the tenant the way another admin would.
func moveBehindTheToolsBack(t *testing.T, h *harness, connector, group string) {
	t.Helper()
	body := `{"@odata.id":"https://graph.microsoft.com/beta/onPremisesPublishingProfiles/applicationProxy/connectors/` + connector + `"}`
	req, _ := http.NewRequest(http.MethodPost, h.url+"/onPremisesPublishingProfiles/applicationProxy/connectorGroups/"+group+"/members/$ref", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer test-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("moving behind the tool's back: %d", resp.StatusCode)
	}
}

func TestSavedPlan(t *testing.T) {
	savePlan := func(t *testing.T, h *harness) string {
		t.Helper()
		file := filepath.Join(t.TempDir(), "plan.json")
		if code := h.run("plan", "-m", sampleMapping, "--report-dir", t.TempDir(), "-o", file); code != exitOK {
			t.Fatalf("plan -o: exit %d\n%s", code, &h.stderr)
		}
		if !strings.Contains(h.stdout.String(), "connrecon apply --plan "+file) {
			t.Errorf("plan -o does not say how to apply:\n%s", &h.stdout)
		}
		return file
	}

	t.Run("applies exactly the saved moves", func(t *testing.T) {
		h := newHarness(t, graphsim.Options{})
		file := savePlan(t, h)
		dir := t.TempDir()
		if code := h.run("apply", "--plan", file, "--report-dir", dir, "--yes"); code != exitOK {
			t.Fatalf("apply --plan: exit %d\n%s", code, &h.stderr)
		}
		if n := len(h.posts()); n != 5 {
			t.Errorf("%d POSTs, want the 5 saved moves", n)
		}
		rep := readReport(t, dir)
		if rep.Summary.Succeeded != 5 || rep.Mapping.SHA256 == "" {
			t.Errorf("report: %+v mapping %+v", rep.Summary, rep.Mapping)
		}
		if code := h.run("plan", "-m", sampleMapping, "--report-dir", t.TempDir(), "--detailed-exitcode"); code != exitOK {
			t.Errorf("plan after apply --plan: exit %d", code)
		}
	})

	stale := []struct {
		name   string
		change func(t *testing.T, h *harness, file string) []string
		want   string
	}{
		{"membership changed", func(t *testing.T, h *harness, file string) []string {
			tn := h.sim.State()
			var conn, group string
			for _, c := range tn.Connectors {
				if c.MachineName == "fra-appproxy-02.contoso.com" {
					conn = c.ID
				}
			}
			for _, g := range tn.Groups {
				if g.Name == "Staging" {
					group = g.ID
				}
			}
			moveBehindTheToolsBack(t, h, conn, group)
			return nil
		}, "fra-appproxy-02.contoso.com"},
		{"another Graph URL", func(t *testing.T, h *harness, file string) []string {
			other := newHarness(t, graphsim.Options{})
			return []string{"--graph-url", other.url}
		}, "the plan was made for " + "http://"},
		{"edited file", func(t *testing.T, h *harness, file string) []string {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			edited := strings.Replace(string(data), `"wave": 1`, `"wave": 2`, 1)
			if edited == string(data) {
				t.Fatal("nothing to edit in the plan file")
			}
			os.WriteFile(file, []byte(edited), 0o600)
			return nil
		}, "altered"},
	}
	for _, tc := range stale {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			h := newHarness(t, graphsim.Options{})
			file := savePlan(t, h)
			extra := tc.change(t, h, file)
			h.sim.ResetLog()
			dir := t.TempDir()
			args := append([]string{"apply", "--plan", file, "--report-dir", dir, "--yes"}, extra...)
			if code := h.run(args...); code != exitRefused {
				t.Fatalf("exit %d, want 3\n%s", code, &h.stderr)
			}
			// An edited file is refused as altered, not as stale: the
			// tenant did not change.
			prefix := "stale plan"
			if tc.name == "edited file" {
				prefix = "altered plan file"
			}
			if !strings.Contains(h.stderr.String(), prefix) || !strings.Contains(h.stderr.String(), tc.want) {
				t.Errorf("message lacks %q:\n%s", tc.want, &h.stderr)
			}
			if n := len(h.posts()); n != 0 {
				t.Errorf("%d POSTs from a stale plan", n)
			}
			rep := readReport(t, dir)
			if rep.Outcome != "refused" || len(rep.Refusals) != 1 || rep.Refusals[0].Guard != "stalePlan" || !strings.Contains(rep.Refusals[0].Message, tc.want) {
				t.Errorf("report outcome %s refusals %+v", rep.Outcome, rep.Refusals)
			}
			// The saved moves are listed, not attempted (an altered file
			// cannot be trusted to list them).
			if tc.name != "edited file" && (rep.Summary.Move != 5 || rep.Summary.NotAttempted != 5) {
				t.Errorf("report summary %+v, want the 5 saved moves not attempted", rep.Summary)
			}
		})
	}

	t.Run("usage", func(t *testing.T) {
		h := newHarness(t, graphsim.Options{})
		if code := h.run("apply", "--plan", "x.json", "-m", sampleMapping, "--yes"); code != exitUsage {
			t.Errorf("--plan with -m: exit %d, want 64", code)
		}
		// The guards run again on apply --plan (the stricter of the
		// plan's and apply's); --unlisted chose the moves and cannot.
		if code := h.run("apply", "--plan", "x.json", "--yes", "--unlisted", "default"); code != exitUsage || !strings.Contains(h.stderr.String(), "--unlisted cannot change a saved plan") {
			t.Errorf("--plan with --unlisted: exit %d, want 64\n%s", code, &h.stderr)
		}
		if code := h.run("apply", "--plan", "x.json", "--yes", "--min-active", "-1"); code != exitUsage || !strings.Contains(h.stderr.String(), "must not be negative") {
			t.Errorf("--plan with --min-active -1: exit %d, want 64\n%s", code, &h.stderr)
		}
		notPlan := writeFile(t, "notplan.json", `{"hello": "world"}`)
		if code := h.run("apply", "--plan", notPlan, "--yes", "--report-dir", t.TempDir()); code != exitUsage {
			t.Errorf("a file that is not a plan: exit %d, want 64\n%s", code, &h.stderr)
		}
	})
}

// A plan that cannot be saved removes the earlier plan file: a cron job's
// apply --plan must never pick up yesterday's plan.
func TestPlanOutRemovesStalePlanFile(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	file := filepath.Join(t.TempDir(), "plan.json")
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", t.TempDir(), "-o", file); code != exitOK {
		t.Fatalf("plan -o: exit %d", code)
	}
	bad := writeFile(t, "bad.csv", "connector,group\nno-such-host,EU - Frankfurt\n")
	if code := h.run("plan", "-m", bad, "--report-dir", t.TempDir(), "-o", file); code != exitInvalid {
		t.Fatalf("plan -o with an invalid row: exit %d, want 4", code)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the earlier plan file is still there (%v)", err)
	}
	if !strings.Contains(h.stderr.String(), "earlier plan file removed") {
		t.Errorf("stderr does not say the old plan was removed:\n%s", &h.stderr)
	}
}

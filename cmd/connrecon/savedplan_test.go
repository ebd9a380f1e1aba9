package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"connrecon/internal/graphsim"
	"connrecon/plan"
	"connrecon/plan/planfile"
)

// The forger's kit: what someone who can write a plan file and read the
// tenant computes to make an edited plan look untouched. It is written from
// the file format alone, as such a person would write it.

// recordState is the tenant state Save records for changes: each moved
// connector, and each group a move leaves or joins, with its members and
// applications.
func recordState(tn *graphsim.Tenant, changes []plan.Change) plan.Involved {
	def := ""
	names := map[string]string{}
	for _, g := range tn.Groups {
		names[g.ID] = g.Name
		if g.IsDefault {
			def = g.ID
		}
	}
	groupOf := func(c graphsim.Connector) string {
		if c.Group == "" {
			return def
		}
		return c.Group
	}
	moved, touched := map[string]bool{}, map[string]bool{}
	for _, c := range changes {
		moved[strings.ToLower(c.ConnectorID)] = true
		touched[strings.ToLower(c.FromGroupID)], touched[strings.ToLower(c.ToGroupID)] = true, true
	}
	inv := plan.Involved{Connectors: []plan.InvolvedConnector{}, Groups: []plan.InvolvedGroup{}}
	for _, c := range tn.Connectors {
		if moved[c.ID] {
			inv.Connectors = append(inv.Connectors, plan.InvolvedConnector{ID: c.ID, MachineName: c.MachineName, GroupID: groupOf(c), GroupName: names[groupOf(c)], Status: c.Status})
		}
	}
	for _, g := range tn.Groups {
		if !touched[g.ID] {
			continue
		}
		ig := plan.InvolvedGroup{ID: g.ID, Name: g.Name, Members: []plan.InvolvedMember{}, Applications: []plan.InvolvedApp{}}
		for _, c := range tn.Connectors {
			if groupOf(c) == g.ID {
				ig.Members = append(ig.Members, plan.InvolvedMember{ID: c.ID, MachineName: c.MachineName, Status: c.Status})
			}
		}
		for _, a := range g.Applications {
			ig.Applications = append(ig.Applications, plan.InvolvedApp{ID: a.ID, DisplayName: a.DisplayName})
		}
		slices.SortFunc(ig.Members, func(a, b plan.InvolvedMember) int { return strings.Compare(a.ID, b.ID) })
		slices.SortFunc(ig.Applications, func(a, b plan.InvolvedApp) int { return strings.Compare(a.ID, b.ID) })
		inv.Groups = append(inv.Groups, ig)
	}
	slices.SortFunc(inv.Connectors, func(a, b plan.InvolvedConnector) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(inv.Groups, func(a, b plan.InvolvedGroup) int { return strings.Compare(a.ID, b.ID) })
	return inv
}

// fingerprint hashes the recorded state as the file format describes.
func fingerprint(inv plan.Involved) string {
	var b strings.Builder
	for _, c := range inv.Connectors {
		fmt.Fprintf(&b, "connector\t%s\t%s\t%s\n", c.ID, c.GroupID, c.Status)
	}
	for _, g := range inv.Groups {
		fmt.Fprintf(&b, "group\t%s\n", g.ID)
		for _, m := range g.Members {
			fmt.Fprintf(&b, "member\t%s\t%s\n", m.ID, m.Status)
		}
		for _, a := range g.Applications {
			fmt.Fprintf(&b, "application\t%s\n", a.ID)
		}
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:])
}

// reseal records the state, the fingerprint, the totals and the checksum
// for sv as edited, and writes it to file; fixNames, when given, runs
// after the state is recorded (names are not in the fingerprint).
func reseal(t *testing.T, tn *graphsim.Tenant, sv *planfile.Saved, file string, fixNames func(sv *planfile.Saved)) {
	t.Helper()
	sv.Involved = recordState(tn, sv.Changes)
	if fixNames != nil {
		fixNames(sv)
	}
	sv.Fingerprint = fingerprint(sv.Involved)
	sv.Summary.Move, sv.Waves = len(sv.Changes), 0
	for _, c := range sv.Changes {
		sv.Waves = max(sv.Waves, c.Wave)
	}
	sv.Checksum = ""
	compact, err := json.Marshal(sv)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(compact)
	sv.Checksum = hex.EncodeToString(h[:])
	data, err := json.MarshalIndent(sv, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func simIDs(tn *graphsim.Tenant) (conns, groups map[string]string) {
	conns, groups = map[string]string{}, map[string]string{}
	for _, c := range tn.Connectors {
		conns[c.MachineName] = c.ID
	}
	for _, g := range tn.Groups {
		groups[g.Name] = g.ID
	}
	return conns, groups
}

// apply --plan with a hand-edited plan whose checksum and fingerprint were
// recomputed: every guard runs again on the live tenant, names come from
// the tenant, and what the file claims that the tenant contradicts is a
// refusal (exit 3) that names it. The tenant is left as it was.
func TestApplyForgedPlan(t *testing.T) {
	cases := []struct {
		name      string
		forge     func(t *testing.T, tn *graphsim.Tenant, sv *planfile.Saved, file string)
		stderr    []string // in the message, all of them
		guard     string   // the report's refusal
		stdout    []string
		moves     int  // the moves the report lists
		loads     bool // the forgery is good: the file loads, its checksum and fingerprint hold, and only the tenant can refuse it
		replanned bool // the report is of the plan made again (a guard refused it), not the file's moves
	}{
		{
			// Only the checksum recomputed: the file contradicts itself.
			name: "a move sent to another group, the checksum recomputed",
			forge: func(t *testing.T, tn *graphsim.Tenant, sv *planfile.Saved, file string) {
				_, groups := simIDs(tn)
				sv.Changes[0].ToGroupID = groups["Staging"] // fra-appproxy-02, still "EU - Frankfurt" by name
				inv := sv.Involved
				reseal(t, tn, sv, file, func(sv *planfile.Saved) { sv.Involved = inv })
			},
			stderr: []string{"altered plan file", `the move of "fra-appproxy-02.contoso.com" (row 3) to group e0a73486-a875-519c-974c-ef536df684ac named "EU - Frankfurt", but the tenant state it records names that group "Staging"`},
			guard:  "stalePlan",
			// An altered file is not trusted to list its moves.
			moves: 0,
		},
		{
			// Everything recomputed, the recorded names made to agree:
			// only the tenant can tell.
			name: "a move sent to another group under the approved group's name",
			forge: func(t *testing.T, tn *graphsim.Tenant, sv *planfile.Saved, file string) {
				_, groups := simIDs(tn)
				sv.Changes[0].ToGroupID = groups["Staging"]
				reseal(t, tn, sv, file, func(sv *planfile.Saved) {
					for i := range sv.Involved.Groups {
						if sv.Involved.Groups[i].ID == groups["Staging"] {
							sv.Involved.Groups[i].Name = "EU - Frankfurt"
						}
					}
					for i := range sv.Changes {
						if sv.Changes[i].ToGroupID == groups["Staging"] {
							sv.Changes[i].ToGroupName = "EU - Frankfurt"
						}
					}
				})
			},
			stderr: []string{"stale plan", `the move of "fra-appproxy-02.contoso.com" (row 3) to group "EU - Frankfurt", but the group it names, e0a73486-a875-519c-974c-ef536df684ac, is "Staging" in the tenant`},
			guard:  "stalePlan",
			moves:  5,
			loads:  true,
		},
		{
			// Two moves added that empty "Default" of its active
			// connectors (it serves Legacy Intranet), the file's coverage
			// guard turned off.
			name: "moves added that empty a group serving applications",
			forge: func(t *testing.T, tn *graphsim.Tenant, sv *planfile.Saved, file string) {
				conns, groups := simIDs(tn)
				for i, name := range []string{"dmz-appproxy-01.contoso.com", "legacy-appproxy-01.contoso.com"} {
					sv.Changes = append(sv.Changes, plan.Change{
						Row: 13 + i, ConnectorID: conns[name], MachineName: name, ConnectorStatus: "active",
						FromGroupID: groups["Default"], FromGroupName: "Default", ToGroupID: groups["Staging"], ToGroupName: "Staging",
						Action: plan.ActionMove, Wave: 1, MappedConnector: name, MappedGroup: "Staging",
					})
				}
				sv.Options.MinActive, sv.Options.AllowCoverageGap = 0, true
				reseal(t, tn, sv, file, nil)
			},
			stderr:    []string{"refused: after this plan, 1 connector group with applications would have fewer than --min-active 1 active connectors", `"Default" (applications: Legacy Intranet) would go from 7 to 0 active`},
			stdout:    []string{"the plan was saved with --min-active 0, --allow-coverage-gap; apply checks it with --min-active 1, without --allow-coverage-gap", "Planned again against the tenant as it is now, with --max-changes 50, --min-active 1;"},
			guard:     "coverage",
			moves:     7,
			loads:     true,
			replanned: true,
		},
		{
			name: "moves added beyond --max-changes, the file saying no limit",
			forge: func(t *testing.T, tn *graphsim.Tenant, sv *planfile.Saved, file string) {
				conns, groups := simIDs(tn)
				name := "dmz-appproxy-01.contoso.com"
				sv.Changes = append(sv.Changes, plan.Change{
					Row: 11, ConnectorID: conns[name], MachineName: name, ConnectorStatus: "active",
					FromGroupID: groups["Default"], FromGroupName: "Default", ToGroupID: groups["Staging"], ToGroupName: "Staging",
					Action: plan.ActionMove, Wave: 1, MappedConnector: name, MappedGroup: "Staging",
				})
				sv.Options.MaxChanges = 0
				reseal(t, tn, sv, file, nil)
			},
			stderr:    []string{"plan has 6 moves, more than --max-changes 5"},
			guard:     "maxChanges",
			moves:     6,
			loads:     true,
			replanned: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, graphsim.Options{})
			file := filepath.Join(t.TempDir(), "plan.json")
			if code := h.run("plan", "-m", sampleMapping, "--report-dir", t.TempDir(), "-o", file); code != exitOK {
				t.Fatalf("plan -o: exit %d\n%s", code, &h.stderr)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var sv planfile.Saved
			if err := json.Unmarshal(data, &sv); err != nil {
				t.Fatal(err)
			}
			before := h.sim.State()
			tc.forge(t, before, &sv, file)
			forged, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := planfile.Load(bytes.NewReader(forged), file); (err == nil) != tc.loads {
				t.Fatalf("the forged plan loads: %v, want %v", err, tc.loads)
			}
			h.sim.ResetLog()

			dir := t.TempDir()
			args := []string{"apply", "--plan", file, "--report-dir", dir, "--yes"}
			if tc.guard == "maxChanges" {
				args = append(args, "--max-changes", "5")
			}
			if code := h.run(args...); code != exitRefused {
				t.Fatalf("exit %d, want 3\n%s\n%s", code, &h.stdout, &h.stderr)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(h.stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, &h.stderr)
				}
			}
			for _, want := range tc.stdout {
				if !strings.Contains(h.stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, &h.stdout)
				}
			}
			if n := len(h.posts()); n != 0 {
				t.Errorf("%d POSTs from a forged plan", n)
			}
			if after := h.sim.State(); !reflect.DeepEqual(after, before) {
				t.Errorf("the tenant changed")
			}
			rep := readReport(t, dir)
			if rep.Outcome != "refused" || rep.ExitCode != exitRefused || len(rep.Refusals) == 0 || rep.Refusals[0].Guard != tc.guard {
				t.Errorf("report: outcome %s exit %d refusals %+v", rep.Outcome, rep.ExitCode, rep.Refusals)
			}
			if rep.Summary.Move != tc.moves || rep.Summary.NotAttempted != tc.moves || rep.Summary.Succeeded != 0 {
				t.Errorf("report summary %+v, want the %d moves not attempted", rep.Summary, tc.moves)
			}
			if tc.replanned {
				// A guard refused the plan made again: the report shows it,
				// with the tenant's names and group summaries.
				for _, a := range rep.Actions {
					if a.ToGroupName == "" || a.FromGroupName == "" {
						t.Errorf("action %+v without the tenant's names", a)
					}
				}
				if len(rep.Groups) == 0 {
					t.Errorf("report has no group summaries")
				}
			}
		})
	}
}

// A plan made with a looser guard than apply's defaults is applied when
// apply is given the same flag: the file alone cannot loosen a guard.
func TestApplyPlanLooserGuard(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	file := filepath.Join(t.TempDir(), "plan.json")
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", t.TempDir(), "-o", file, "--max-changes", "0", "--min-active", "1"); code != exitOK {
		t.Fatalf("plan -o: exit %d\n%s", code, &h.stderr)
	}
	// plan -o says how to apply it, the loosened guard included.
	if want := "connrecon apply --plan " + file + " --max-changes 0\n"; !strings.Contains(h.stdout.String(), want) {
		t.Errorf("plan -o output lacks %q:\n%s", want, &h.stdout)
	}
	if code := h.run("apply", "--plan", file, "--report-dir", t.TempDir(), "--yes", "--max-changes", "4"); code != exitRefused || !strings.Contains(h.stderr.String(), "more than --max-changes 4") {
		t.Errorf("--max-changes 4 on apply: exit %d, want 3\n%s", code, &h.stderr)
	}
	if n := len(h.posts()); n != 0 {
		t.Fatalf("%d POSTs", n)
	}
	if code := h.run("apply", "--plan", file, "--report-dir", t.TempDir(), "--yes", "--max-changes", "0"); code != exitOK {
		t.Errorf("--max-changes 0 on apply: exit %d\n%s", code, &h.stderr)
	}
	if n := len(h.posts()); n != 5 {
		t.Errorf("%d POSTs, want the 5 saved moves", n)
	}
}

// A plan file that is a named pipe with no writer is refused at once, not
// waited on.
func TestApplyPlanNotARegularFile(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := t.TempDir()
	if code := h.run("apply", "--plan", dir, "--yes", "--report-dir", t.TempDir()); code != exitUsage || !strings.Contains(h.stderr.String(), "is not a regular file") {
		t.Errorf("a directory: exit %d, want 64\n%s", code, &h.stderr)
	}
	fifo := filepath.Join(dir, "plan.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	if code := h.run("apply", "--plan", fifo, "--yes", "--report-dir", t.TempDir()); code != exitUsage || !strings.Contains(h.stderr.String(), "is not a regular file") {
		t.Errorf("a named pipe: exit %d, want 64\n%s", code, &h.stderr)
	}
}

package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"connrecon/internal/graphsim"
	"connrecon/plan"
	"connrecon/report"
)

// siteTenant: applications served by two connectors at an old site, two
// new connectors installed (so in the default group), an empty group for
// the new site; a third connector holds the default group.
func siteTenant() *graphsim.Tenant {
	id := func(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i) }
	tn := &graphsim.Tenant{Groups: []graphsim.Group{
		{ID: id(0xa, 1), Name: "Default", IsDefault: true},
		{ID: id(0xa, 2), Name: "Old site", Applications: []graphsim.Application{
			{ID: id(0xb, 1), AppID: id(0xc, 1), DisplayName: "Payroll"},
			{ID: id(0xb, 2), AppID: id(0xc, 2), DisplayName: "Wiki"},
		}},
		{ID: id(0xa, 3), Name: "New site"},
	}}
	for i, c := range []struct{ name, group string }{{"old1", "Old site"}, {"old2", "Old site"}, {"new1", "Default"}, {"new2", "Default"}, {"spare", "Default"}} {
		for _, g := range tn.Groups {
			if g.Name == c.group {
				tn.Connectors = append(tn.Connectors, graphsim.Connector{ID: id(0xe, i), MachineName: c.name + ".contoso.com", Status: "active", Version: "1.5", Group: g.ID})
			}
		}
	}
	return tn
}

// appGroups is where the simulator has each application now, by name.
func appGroups(tn *graphsim.Tenant) map[string]string {
	out := map[string]string{}
	for _, g := range tn.Groups {
		for _, a := range g.Applications {
			out[a.DisplayName] = g.Name
		}
	}
	return out
}

// TestSiteMigrationWithApplications: a whole site migration in one apply,
// with --min-active 2, against the simulator: the new connectors into the
// new group, the applications after them, the old connectors out last;
// at no moment is an application in a group with fewer than two active
// connectors (the simulator counts). The report has both kinds, and the
// back-out, applied with -m and --apps, restores both, again without an
// uncovered moment.
func TestSiteMigrationWithApplications(t *testing.T) {
	tn := siteTenant()
	h := newHarnessFor(t, tn, graphsim.Options{}, nil)
	dir := t.TempDir()
	m := writeFile(t, "mapping.csv", "connector,group\nnew1.contoso.com,New site\nnew2.contoso.com,New site\nold1.contoso.com,Default\nold2.contoso.com,Default\n")
	// The second row names Wiki by its appId.
	apps := writeFile(t, "apps.csv", fmt.Sprintf("application,connectorGroup\nPayroll,New site\n%08x-0000-4000-8000-%012x,New site\n", 0xc, 2))

	rdir := filepath.Join(dir, "apply")
	if code := h.run("apply", "-m", m, "--apps", apps, "--min-active", "2", "--unlisted", "ignore", "--yes", "--report-dir", rdir); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, &h.stdout, &h.stderr)
	}
	if got := appGroups(h.sim.State()); got["Payroll"] != "New site" || got["Wiki"] != "New site" {
		t.Errorf("applications after apply: %v", got)
	}
	if u := h.sim.UncoveredBelow(2); len(u) != 0 {
		t.Errorf("%d moments with an application short of 2 active connectors, first %+v", len(u), u[0])
	}
	if n := h.sim.ApplicationMoves(); n != 2 {
		t.Errorf("%d application moves, want 2", n)
	}
	rep := readReport(t, rdir)
	waves := map[string]int{}
	for _, a := range rep.Actions {
		name := a.MachineName
		if a.Kind == plan.KindApplication {
			name = a.DisplayName
			if a.ConnectorID != "" || a.ApplicationID == "" || a.Result != "succeeded" || a.BackoutRow == 0 {
				t.Errorf("application action %+v", a)
			}
		}
		waves[name] = a.Wave
	}
	if !(waves["new1.contoso.com"] < waves["Payroll"] && waves["Payroll"] == waves["Wiki"] && waves["Wiki"] < waves["old1.contoso.com"]) {
		t.Errorf("waves %v: want new connectors, the applications, then the old connectors", waves)
	}
	if rep.Summary.ApplicationMoves != 2 || rep.Summary.ConnectorMoves != 4 || rep.Summary.Succeeded != 6 {
		t.Errorf("summary %+v", rep.Summary)
	}

	// Back out both kinds in one run.
	before := len(h.sim.UncoveredBelow(2))
	bdir := filepath.Join(dir, "backout")
	if code := h.run("apply", "-m", filepath.Join(rdir, report.BackoutCSV), "--apps", filepath.Join(rdir, report.BackoutAppsCSV),
		"--min-active", "2", "--unlisted", "ignore", "--yes", "--report-dir", bdir); code != 0 {
		t.Fatalf("back-out: exit %d\n%s\n%s", code, &h.stdout, &h.stderr)
	}
	if got := appGroups(h.sim.State()); got["Payroll"] != "Old site" || got["Wiki"] != "Old site" {
		t.Errorf("applications after the back-out: %v", got)
	}
	for _, c := range h.sim.State().Connectors {
		if want := map[bool]string{true: "Old site", false: "Default"}[strings.HasPrefix(c.MachineName, "old")]; groupName(h.sim.State(), c.Group) != want {
			t.Errorf("%s in %s after the back-out, want %s", c.MachineName, groupName(h.sim.State(), c.Group), want)
		}
	}
	if u := h.sim.UncoveredBelow(2); len(u) != before {
		t.Errorf("the back-out left applications short: %+v", u[before:])
	}
}

// TestApplicationsLeftBehindRefused: moving the old site's connectors
// away while its applications stay is refused (exit 3), naming them, and
// nothing is sent.
func TestApplicationsLeftBehindRefused(t *testing.T) {
	h := newHarnessFor(t, siteTenant(), graphsim.Options{}, nil)
	dir := t.TempDir()
	m := writeFile(t, "mapping.csv", "connector,group\nold1.contoso.com,Default\nold2.contoso.com,Default\n")
	apps := writeFile(t, "apps.csv", "application,connectorGroup\nPayroll,Old site\n")
	code := h.run("apply", "-m", m, "--apps", apps, "--unlisted", "ignore", "--yes", "--report-dir", filepath.Join(dir, "r"))
	if code != 3 || h.sim.Moves()+h.sim.ApplicationMoves() != 0 || !strings.Contains(h.stdout.String(), "Payroll") {
		t.Errorf("exit %d after %d moves, want 3 and none, naming Payroll:\n%s", code, h.sim.Moves()+h.sim.ApplicationMoves(), &h.stdout)
	}
}

// TestAppsFlagsRefused: the combinations --apps does not take yet are
// usage errors (exit 64), and an invalid application row is exit 4 naming
// the file's row.
func TestAppsFlagsRefused(t *testing.T) {
	h := newHarnessFor(t, siteTenant(), graphsim.Options{}, nil)
	dir := t.TempDir()
	m := writeFile(t, "mapping.csv", "connector,group\nnew1.contoso.com,New site\n")
	apps := writeFile(t, "apps.csv", "application,connectorGroup\nNo such app,New site\n")
	for _, args := range [][]string{
		{"plan", "-m", m, "--apps", apps, "-o", filepath.Join(dir, "p.json")},
		{"apply", "--plan", filepath.Join(dir, "p.json"), "--apps", apps, "--yes"},
		{"plan", "--drain", "new1.contoso.com", "--apps", apps},
		{"plan", "-m", "-", "--apps", "-"},
		{"plan", "-m", m, "--apps-sheet", "Applications"},
	} {
		if code := h.run(args...); code != 64 {
			t.Errorf("%v: exit %d, want 64\n%s", args, code, &h.stderr)
		}
	}
	if code := h.run("plan", "-m", m, "--apps", apps, "--report-dir", filepath.Join(dir, "r")); code != 4 || !strings.Contains(h.stdout.String(), "--apps row 2") {
		t.Errorf("exit %d, want 4 naming --apps row 2:\n%s", code, &h.stdout)
	}
	if code := h.run("validate", "--apps", apps); code != 0 || !strings.Contains(h.stdout.String(), "application column A") {
		t.Errorf("validate --apps: exit %d\n%s%s", code, &h.stdout, &h.stderr)
	}
}

func groupName(tn *graphsim.Tenant, id string) string {
	for _, g := range tn.Groups {
		if strings.EqualFold(g.ID, id) {
			return g.Name
		}
	}
	return id
}

package graph

import (
	"context"
	"strings"
	"testing"

	"connrecon/executor"
	"connrecon/internal/graphsim"
	"connrecon/plan"
)

// Issue 14, the region rule, end to end: the plan read from the simulator
// warns about exactly the moves the simulator (EnforceRegionRule) then
// refuses, which end failed with the service's message; the others
// succeed. So the planner's rule (plan.UsesDefaultRegion) and the
// simulator's agree, and a warned move is still sent, not blocked.
func TestRegionRuleWarnedMoveFails(t *testing.T) {
	gid := func(n string) string { return "0a000000-0000-4000-8000-00000000000" + n }
	cid := func(n string) string { return "0b000000-0000-4000-8000-00000000000" + n }
	tn := &graphsim.Tenant{
		Groups: []graphsim.Group{
			{ID: gid("1"), Name: "Default", IsDefault: true, Region: "nam"},
			{ID: gid("2"), Name: "US - East", Region: "nam"},
			{ID: gid("3"), Name: "EU - Frankfurt", Region: "eur"},
			{ID: gid("4"), Name: "Asia - Tokyo", Region: "asia"},
			{ID: gid("5"), Name: "Japan", Region: "japan"},
			{ID: gid("6"), Name: "No region"},
		},
	}
	moves := []struct {
		conn, from, to string
		warned         bool
	}{
		{"1", "3", "Asia - Tokyo", true},    // region to region
		{"2", "1", "Asia - Tokyo", false},   // from the default group
		{"3", "2", "EU - Frankfurt", false}, // from a default-region group
		{"4", "4", "Default", false},        // into the default group
		{"5", "3", "Japan", true},           // into an off-list region
		{"6", "6", "EU - Frankfurt", false}, // from a group without region
		{"7", "4", "No region", false},      // into a group without region
		{"8", "5", "US - East", false},      // into a default-region group
		{"9", "5", "EU - Frankfurt", true},  // off-list region to region
	}
	m := &plan.Mapping{}
	for i, mv := range moves {
		tn.Connectors = append(tn.Connectors, graphsim.Connector{ID: cid(mv.conn), MachineName: "px-" + mv.conn + ".contoso.com", Status: "active", Version: "1.5.3437.0", Group: gid(mv.from)})
		m.Rows = append(m.Rows, plan.Row{Line: i + 2, Connector: "px-" + mv.conn + ".contoso.com", Group: mv.to})
	}
	sim := graphsim.New(tn, graphsim.Options{Seed: 7, EnforceRegionRule: true})
	f := newFixtureFor(t, sim, Config{Pacer: fastPacer()})
	state, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Build(m, state, plan.Options{})
	if p.Refused() || p.Summary().Move != len(moves) {
		t.Fatalf("plan: %+v refusals %+v, want %d moves", p.Summary(), p.Refusals, len(moves))
	}
	for i, mv := range moves {
		c := p.Changes[i]
		warned := len(c.Warnings) == 1 && strings.Contains(c.Warnings[0], "expect it to be refused")
		if warned != mv.warned || len(c.Warnings) > 1 {
			t.Errorf("row %d (%s into %s): warnings %q, want warned %v", c.Row, c.MachineName, c.ToGroupName, c.Warnings, mv.warned)
		}
	}
	results, err := executor.Run(context.Background(), p, f.client, executor.Options{Pacer: fastPacer()})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(moves) {
		t.Fatalf("%d results for %d moves", len(results), len(moves))
	}
	for _, r := range results {
		c := p.Changes[r.Change]
		mv := moves[r.Change]
		if mv.warned {
			if r.Outcome != executor.Failed || r.Call.Status != 400 || !strings.Contains(r.Error, "Request_BadRequest") ||
				!strings.Contains(r.Error, "only from a connector group that uses the default region") {
				t.Errorf("%s into %s: %s status %d error %q, want failed with the service's refusal", c.MachineName, c.ToGroupName, r.Outcome, r.Call.Status, r.Error)
			}
		} else if r.Outcome != executor.Succeeded {
			t.Errorf("%s into %s: %s %q, want succeeded", c.MachineName, c.ToGroupName, r.Outcome, r.Error)
		}
	}
	// The simulator's tenant: refused moves stayed where they were.
	want := map[string]string{}
	for i, mv := range moves {
		want[cid(mv.conn)] = p.Changes[i].ToGroupID
		if mv.warned {
			want[cid(mv.conn)] = gid(mv.from)
		}
	}
	for _, c := range sim.State().Connectors {
		if !strings.EqualFold(c.Group, want[c.ID]) {
			t.Errorf("%s in %s, want %s", c.MachineName, c.Group, want[c.ID])
		}
	}
}

package graph

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/graphsim"
	"connrecon/plan"
)

// appTenant: one group serving n applications, an empty one to move
// them to.
func appTenant(n int) *graphsim.Tenant {
	tn := &graphsim.Tenant{Groups: []graphsim.Group{
		{ID: "9c000000-0000-4000-8000-000000000001", Name: "Default", IsDefault: true},
		{ID: "9c000000-0000-4000-8000-000000000002", Name: "Old"},
		{ID: "9c000000-0000-4000-8000-000000000003", Name: "New"},
	}}
	for i := range n {
		tn.Groups[1].Applications = append(tn.Groups[1].Applications, graphsim.Application{
			ID: fmt.Sprintf("a0000000-0000-4000-8000-%012d", i), AppID: fmt.Sprintf("b0000000-0000-4000-8000-%012d", i), DisplayName: fmt.Sprintf("app %d", i)})
	}
	tn.Connectors = []graphsim.Connector{
		{ID: "cc000000-0000-4000-8000-000000000001", MachineName: "old1", Status: "active", Group: tn.Groups[1].ID},
		{ID: "cc000000-0000-4000-8000-000000000002", MachineName: "new1", Status: "active", Group: tn.Groups[2].ID},
	}
	return tn
}

// The snapshot, the plan and the executor together: an application move
// planned from the simulator's tenant is applied, settled and verified
// through the real client.
func TestApplicationMovePlannedAndApplied(t *testing.T) {
	tn := appTenant(2)
	f := newFixture(t, tn, graphsim.Options{}, Config{Pacer: fastPacer()})
	s, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	apps := &plan.Mapping{Rows: []plan.Row{{Line: 2, Connector: "app 0", Group: "New"}, {Line: 3, Connector: "b0000000-0000-4000-8000-000000000001", Group: "New"}}}
	p := plan.BuildWithApps(&plan.Mapping{}, apps, s, plan.Options{Unlisted: plan.UnlistedIgnore, MinActive: 1})
	if p.Summary().Move != 2 || p.Refused() {
		t.Fatalf("plan %+v, refusals %+v", p.Summary(), p.Refusals)
	}
	if got := verifyApplied(t, f, p); got != 2 {
		t.Errorf("%d moves verified, want 2", got)
	}
	if u := f.sim.Uncovered(); len(u) != 0 {
		t.Errorf("uncovered moments: %+v", u)
	}
}

// verifyApplied runs p through the executor with the client as mover
// and reader, then verifies; it returns the moves seen in place.
func verifyApplied(t *testing.T, f *fixture, p *plan.Plan) int {
	t.Helper()
	ctx := context.Background()
	results, err := executor.Run(ctx, p, f.client, executor.Options{Concurrency: 4, BatchSize: f.client.BatchSize(), Pacer: fastPacer(), Reader: f.client})
	if err != nil {
		t.Fatal(err)
	}
	if err := executor.Verify(ctx, p, results, f.client, executor.VerifyOptions{Timeout: 10 * time.Second, Interval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	return executor.CountVerified(results).Seen
}

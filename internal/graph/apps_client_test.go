package graph

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/apierr"
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

// MoveApplication sends the PUT the service documents, alone or in
// $batch items, and GroupApplications reads where each one is; an
// unknown application is a not-found failure with the service's answer.
func TestMoveApplicationThroughTheSimulator(t *testing.T) {
	for _, batch := range []int{1, 20} {
		t.Run(fmt.Sprintf("batch size %d", batch), func(t *testing.T) {
			tn := appTenant(30)
			f := newFixture(t, tn, graphsim.Options{}, Config{BatchSize: batch, Pacer: fastPacer()})
			newID := tn.Groups[2].ID
			var wg sync.WaitGroup
			errs := make([]error, len(tn.Groups[1].Applications))
			for i, a := range tn.Groups[1].Applications {
				wg.Add(1)
				go func() {
					defer wg.Done()
					call, err := f.client.MoveApplication(context.Background(), a.ID, newID)
					if err == nil && (call.RequestID == "" || call.Status/100 != 2) {
						err = fmt.Errorf("call %+v", call)
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("app %d: %v", i, err)
				}
			}
			if n := f.sim.ApplicationMoves(); n != 30 {
				t.Errorf("%d application moves, want 30", n)
			}
			puts := 0
			for _, r := range f.sim.Items() {
				if r.Method == "PUT" && strings.HasSuffix(r.Path, "/connectorGroup/$ref") && strings.HasPrefix(r.Path, "/beta/applications/") {
					puts++
				}
			}
			if puts != 30 {
				t.Errorf("%d PUT applications/{id}/connectorGroup/$ref items, want 30", puts)
			}
			if batched := len(f.sim.Requests()) - len(f.sim.Items()); batch > 1 && batched == 0 {
				t.Errorf("batch size %d: no $batch sent", batch)
			}
			ids, call, err := f.client.GroupApplications(context.Background(), newID)
			if err != nil || len(ids) != 30 || call.RequestID == "" {
				t.Errorf("GroupApplications(New): %d ids, %+v, %v; want 30", len(ids), call, err)
			}
			if ids, _, err := f.client.GroupApplications(context.Background(), tn.Groups[1].ID); err != nil || len(ids) != 0 {
				t.Errorf("GroupApplications(Old): %v, %v; want none", ids, err)
			}
			_, err = f.client.MoveApplication(context.Background(), "a0000000-0000-4000-8000-0000000000ff", newID)
			if apierr.ClassOf(err) != apierr.NotFound {
				t.Errorf("unknown application: %v (class %v), want not found", err, apierr.ClassOf(err))
			}
		})
	}
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

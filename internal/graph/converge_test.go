package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/internal/graphsim"
	"connrecon/internal/pacer"
	"connrecon/plan"
)

// hostileTenant has n connectors in the default group and a mapping that
// moves every one of them into one of four other groups.
func hostileTenant(n int) (*graphsim.Tenant, *plan.Mapping) {
	tn := &graphsim.Tenant{Groups: []graphsim.Group{{ID: "00000000-0000-0000-0000-000000000001", Name: "Default", IsDefault: true, Region: "nam"}}}
	for g := 2; g <= 5; g++ {
		tn.Groups = append(tn.Groups, graphsim.Group{ID: fmt.Sprintf("00000000-0000-0000-0000-%012d", g), Name: fmt.Sprintf("group %d", g), Region: "eur"})
	}
	m := &plan.Mapping{Path: "hostile.csv"}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("10000000-0000-0000-0000-%012d", i)
		tn.Connectors = append(tn.Connectors, graphsim.Connector{ID: id, MachineName: fmt.Sprintf("conn-%04d.contoso.com", i), Status: "active", Group: tn.Groups[0].ID})
		m.Rows = append(m.Rows, plan.Row{Line: i + 2, Connector: id, Group: tn.Groups[1+i%4].Name})
	}
	return tn, m
}

// connectorOf reads the connector id out of a logged $ref POST body.
func connectorOf(t *testing.T, body string) string {
	var ref map[string]string
	if err := json.Unmarshal([]byte(body), &ref); err != nil {
		t.Fatalf("POST body %q: %v", body, err)
	}
	id := ref["@odata.id"]
	return id[strings.LastIndex(id, "/")+1:]
}

// With 20% of requests throttled, 5% answered 503/504 and 1% reset (half
// of the resets after the move was applied), apply of 500 moves converges
// under each alternative of the guesses a write or a paged read meets:
// every move succeeds, each is reported with its attempts, and no
// connector is POSTed again once a POST for it succeeded.
func TestApplyConvergesUnderFaults(t *testing.T) {
	for _, guess := range []string{
		"already=400", "already=409", "already=wording", "already=204",
		"move=201", "maxtop=100,top=cap", "maxtop=100,top=refuse", "already=409,move=201,maxtop=64,top=cap",
	} {
		for _, afterApply := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s,reset-after-apply=%v", guess, afterApply), func(t *testing.T) {
				var g graphsim.Guesses
				if err := graphsim.ParseGuess(guess, &g); err != nil {
					t.Fatal(err)
				}
				convergeUnderFaults(t, g, afterApply)
			})
		}
	}
}

func convergeUnderFaults(t *testing.T, g graphsim.Guesses, afterApply bool) {
	const n = 500
	tn, m := hostileTenant(n)
	faults := graphsim.Faults{ThrottleRate: 0.20, RetryAfter: time.Millisecond, ErrorRate: 0.05, ResetRate: 0.01, ResetAfterApply: afterApply}
	sim := graphsim.New(tn, graphsim.Options{Seed: 42, Faults: faults, Guesses: g})
	pc := pacer.New(pacer.Options{MaxAttempts: 15, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}, 42)
	f := newFixtureFor(t, sim, Config{Pacer: pc})

	state, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Build(m, state, plan.Options{})
	if got := p.Summary().Move; got != n {
		t.Fatalf("plan has %d moves, want %d", got, n)
	}
	results, err := executor.Run(context.Background(), p, f.client, executor.Options{Concurrency: 16, Pacer: pc})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != n {
		t.Fatalf("%d results for %d moves", len(results), n)
	}
	retried, settled := 0, 0
	for _, r := range results {
		if r.Note != "" {
			settled++ // already in place, or confirmed by read
		}
		if r.Outcome != executor.Succeeded {
			t.Errorf("move %d: %s %s", r.Change, r.Outcome, r.Error)
		}
		if r.Attempts < 1 || r.Call.RequestID == "" || r.Call.Status/100 != 2 && r.Note == "" {
			t.Errorf("move %d: attempts %d call %+v", r.Change, r.Attempts, r.Call)
		}
		if r.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no move was retried: the faults did not bite")
	}
	if afterApply && g.AlreadyExistsStatus != http.StatusNoContent && settled == 0 {
		t.Error("no retry met the guessed \"already\" answer: the applied resets did not bite")
	}

	// The tenant matches the mapping.
	want := map[string]string{}
	for _, c := range p.Changes {
		want[c.ConnectorID] = c.ToGroupID
	}
	for _, c := range sim.State().Connectors {
		if c.Group != want[c.ID] {
			t.Errorf("%s in %s, want %s", c.MachineName, c.Group, want[c.ID])
		}
	}

	// No POST for a connector after one that succeeded; attempts in the
	// report equal the POSTs the server saw.
	done := map[string]bool{}
	posts := map[string]int{}
	faulted := 0
	for _, r := range sim.Requests() {
		if r.Method != http.MethodPost {
			if r.Fault != "" {
				faulted++
			}
			continue
		}
		if r.Fault != "" {
			faulted++
		}
		id := connectorOf(t, r.Body)
		if done[id] {
			t.Errorf("connector %s POSTed again after its move succeeded", id)
		}
		posts[id]++
		if r.Status/100 == 2 {
			done[id] = true
		}
	}
	for _, r := range results {
		id := p.Changes[r.Change].ConnectorID
		if posts[id] != r.Attempts {
			t.Errorf("connector %s: report says %d attempts, the server saw %d POSTs", id, r.Attempts, posts[id])
		}
	}
	t.Logf("%d moves, %d retried, %d faulted requests of %d", n, retried, faulted, len(sim.Requests()))
}

// A reset after the server applied the move ("the answer was lost"): the
// retry is answered "already exist", which counts as success.
func TestLostAnswerCountsAsSuccess(t *testing.T) {
	tn, m := hostileTenant(1)
	sim := graphsim.New(tn, graphsim.Options{})
	pc := pacer.New(pacer.Options{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}, 1)
	f := newFixtureFor(t, sim, Config{Pacer: pc})
	state, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Build(m, state, plan.Options{})
	sim.SetFaults(graphsim.Faults{ResetRate: 1, ResetAfterApply: true})
	n := 0
	mover := moverFunc(func(ctx context.Context, cid, gid string) (apierr.Call, error) {
		if n++; n == 2 {
			sim.SetFaults(graphsim.Faults{})
		}
		return f.client.MoveConnector(ctx, cid, gid)
	})
	results, err := executor.Run(context.Background(), p, mover, executor.Options{Pacer: pc})
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Outcome != executor.Succeeded || r.Note != "already in place" || r.Attempts != 2 || r.Call.Status != http.StatusBadRequest {
		t.Errorf("result %+v", r)
	}
}

type moverFunc func(ctx context.Context, cid, gid string) (apierr.Call, error)

func (f moverFunc) MoveConnector(ctx context.Context, cid, gid string) (apierr.Call, error) {
	return f(ctx, cid, gid)
}

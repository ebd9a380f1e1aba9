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

// movesSeen reads the simulator's log as the client lived it: each
// connector's POSTs (sent alone, or as items of a batch, counting the
// items of a batch refused or cut off before its items were logged), and
// an error for each POST sent after one whose success reached the client.
// A batch item's success reaches the client only when its batch's answer
// does.
func movesSeen(t *testing.T, log []graphsim.LoggedRequest) (posts map[string]int, faulted int) {
	t.Helper()
	answered := answeredBatches(log)
	hasItems := map[string]bool{}
	for _, r := range log {
		if r.BatchRequestID != "" {
			hasItems[r.BatchRequestID] = true
		}
	}
	posts = map[string]int{}
	done := map[string]bool{}
	post := func(id string, succeeded bool) {
		if done[id] {
			t.Errorf("connector %s POSTed again after its move succeeded", id)
		}
		posts[id]++
		done[id] = done[id] || succeeded
	}
	for _, r := range log {
		if r.Fault != "" {
			faulted++
		}
		switch {
		case r.OuterBatch():
			if hasItems[r.RequestID] {
				continue
			}
			var b struct {
				Requests []struct {
					Method string          `json:"method"`
					Body   json.RawMessage `json:"body"`
				} `json:"requests"`
			}
			if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
				t.Fatalf("$batch body %q: %v", r.Body, err)
			}
			for _, it := range b.Requests {
				if it.Method == http.MethodPost {
					post(connectorOf(t, string(it.Body)), false)
				}
			}
		case r.Method == http.MethodPost:
			post(connectorOf(t, r.Body), r.Status/100 == 2 && (r.BatchRequestID == "" || answered[r.BatchRequestID]))
		}
	}
	return posts, faulted
}

// answeredBatches maps each $batch's request-id to whether its answer
// reached the client.
func answeredBatches(log []graphsim.LoggedRequest) map[string]bool {
	answered := map[string]bool{}
	for _, r := range log {
		if r.OuterBatch() {
			answered[r.RequestID] = r.Status == http.StatusOK && r.Fault == ""
		}
	}
	return answered
}

// reachedClient is the log without the answers that never reached the
// client: those of items whose batch's answer was lost (reset, throttled
// or failed as a whole).
func reachedClient(log []graphsim.LoggedRequest) []graphsim.LoggedRequest {
	answered := answeredBatches(log)
	var out []graphsim.LoggedRequest
	for _, r := range log {
		if !r.OuterBatch() && (r.BatchRequestID == "" || answered[r.BatchRequestID]) {
			out = append(out, r)
		}
	}
	return out
}

// lostApplied counts the POSTs reset with ResetAfterApply set: applied,
// their answers lost. A plain POST's entry says so; a batched one is a 2xx
// item of a batch that was reset.
func lostApplied(log []graphsim.LoggedRequest) int {
	reset := map[string]bool{}
	for _, r := range log {
		if r.OuterBatch() && r.Fault == "reset" {
			reset[r.RequestID] = true
		}
	}
	n := 0
	for _, r := range log {
		if r.Method == http.MethodPost && !r.OuterBatch() && (r.BatchRequestID == "" && r.Fault == "reset" || reset[r.BatchRequestID] && r.Status/100 == 2) {
			n++
		}
	}
	return n
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
			for _, batch := range []int{1, MaxBatchSize} {
				t.Run(fmt.Sprintf("%s,reset-after-apply=%v,batch=%d", guess, afterApply, batch), func(t *testing.T) {
					var g graphsim.Guesses
					if err := graphsim.ParseGuess(guess, &g); err != nil {
						t.Fatal(err)
					}
					convergeUnderFaults(t, g, afterApply, batch)
				})
			}
		}
	}
}

func convergeUnderFaults(t *testing.T, g graphsim.Guesses, afterApply bool, batch int) {
	const n = 500
	tn, m := hostileTenant(n)
	faults := graphsim.Faults{ThrottleRate: 0.20, RetryAfter: time.Millisecond, ErrorRate: 0.05, ResetRate: 0.01, ResetAfterApply: afterApply}
	sim := graphsim.New(tn, graphsim.Options{Seed: 42, Faults: faults, Guesses: g})
	pc := pacer.New(pacer.Options{MaxAttempts: 15, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}, 42)
	f := newFixtureFor(t, sim, Config{Pacer: pc, BatchSize: batch})

	state, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Build(m, state, plan.Options{})
	if got := p.Summary().Move; got != n {
		t.Fatalf("plan has %d moves, want %d", got, n)
	}
	results, err := executor.Run(context.Background(), p, f.client, executor.Options{Concurrency: 16, Pacer: pc, BatchSize: f.client.BatchSize()})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != n {
		t.Fatalf("%d results for %d moves", len(results), n)
	}
	if st := f.client.BatchStats(); batch > 1 && (st.Batches == 0 || st.Off) || batch == 1 && st.Batches != 0 {
		t.Errorf("batch size %d: %+v", batch, st)
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
	// A move applied and its answer lost (a reset) is retried and met by
	// the "already" answer, or settled by a read. Batched, the few outer
	// requests may all escape the 1% of resets: then there is none.
	if lost := lostApplied(sim.Requests()); afterApply && g.AlreadyExistsStatus != http.StatusNoContent && settled == 0 && (batch == 1 || lost > 0) {
		t.Errorf("%d moves applied with their answers lost, and no retry met the guessed \"already\" answer", lost)
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
	posts, faulted := movesSeen(t, sim.Requests())
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

func (f moverFunc) MoveApplication(ctx context.Context, aid, gid string) (apierr.Call, error) {
	return f(ctx, aid, gid)
}

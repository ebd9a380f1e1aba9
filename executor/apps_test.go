package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"connrecon/internal/apierr"
	"connrecon/plan"
)

// appMove is an application's move in a test plan.
func appMove(id, from, to string, wave int) plan.Change {
	return plan.Change{Kind: plan.KindApplication, Action: plan.ActionMove, ApplicationID: id, DisplayName: "app " + id,
		FromGroupID: from, FromGroupName: from, ToGroupID: to, ToGroupName: to, Wave: wave}
}

func connMove(id, from, to string, wave int) plan.Change {
	return plan.Change{Action: plan.ActionMove, ConnectorID: id, MachineName: id, FromGroupID: from, FromGroupName: from, ToGroupID: to, ToGroupName: to, Wave: wave}
}

// A site migration: new connectors into New, the application into New,
// the old connectors out of Old. Each kind goes to its own Graph call, the
// journal says which kind each line is, and verification reads the
// target's members for a connector and its applications for an
// application.
func TestRunMovesApplications(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		connMove("n1", "Default", "New", 1),
		appMove("a1", "Old", "New", 2),
		connMove("o1", "Old", "Default", 3),
	}}
	f := newFakeMover()
	var journal bytes.Buffer
	results, err := Run(context.Background(), p, f, Options{Concurrency: 2, Journal: &journal})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Outcome != Succeeded {
			t.Errorf("%s: %s %s", p.Changes[r.Change].ObjectID(), r.Outcome, r.Error)
		}
	}
	if got := f.started(); strings.Join(got, " ") != "n1 a1 o1" {
		t.Errorf("sent %v, want the waves' order n1 a1 o1", got)
	}
	if !f.apps["a1"] || f.apps["n1"] || f.apps["o1"] || f.groups["a1"] != "New" {
		t.Errorf("application calls %v (groups %v): want a1 alone, into New", f.apps, f.groups)
	}
	kinds := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(journal.String()), "\n") {
		var e JournalEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("journal line %q: %v", line, err)
		}
		kinds[e.ConnectorID+e.ApplicationID] = e.Kind
	}
	if kinds["a1"] != plan.KindApplication || kinds["n1"] != "" {
		t.Errorf("journal kinds %v: want application for a1, none (a connector) for n1", kinds)
	}

	r := newFakeReader()
	r.members["New"] = []string{"n1"}
	r.members["apps:New"] = []string{"a1"}
	r.members["Default"] = []string{"o1"}
	for _, id := range []string{"n1", "a1", "o1"} {
		r.visibleFrom[id] = 1
	}
	if err := Verify(context.Background(), p, results, r, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if r.readsOf("apps:New") != 1 || r.readsOf("New") != 1 {
		t.Errorf("reads %v: want New's members and New's applications once each", r.reads)
	}
	// An application listed among New's connectors is no application
	// seen: verification reads the applications.
	r = newFakeReader()
	r.members["New"] = []string{"n1", "a1"}
	r.members["Default"] = []string{"o1"}
	for _, id := range []string{"n1", "a1", "o1"} {
		r.visibleFrom[id] = 1
	}
	for i := range results {
		results[i].Verified = nil
	}
	err = Verify(context.Background(), p, results, r, VerifyOptions{Timeout: 1, Interval: 1})
	if err == nil || *results[1].Verified || !*results[0].Verified {
		t.Errorf("err %v, verified %v %v: want the application unverified", err, *results[0].Verified, *results[1].Verified)
	}
}

// The hold-back rules by kind: an application moves into a group only if
// the connectors meant to arrive there first did; connectors leave a
// group only if the applications meant to leave it first did.
func TestApplicationsHeldBack(t *testing.T) {
	fail := reply{apierr.Call{Status: 400}, &apierr.Error{Call: apierr.Call{Status: 400}, Class: apierr.Other, Message: "nope"}}
	for _, tc := range []struct {
		name   string
		fails  string
		held   []string
		passes []string
	}{
		{"the connector into New fails", "n1", []string{"a1", "o1"}, []string{"n2"}},
		{"the application fails", "a1", []string{"o1"}, []string{"n1", "n2"}},
		{"all land", "", nil, []string{"n1", "n2", "a1", "o1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &plan.Plan{Changes: []plan.Change{
				connMove("n1", "Default", "New", 1),
				connMove("n2", "Default", "Other", 1),
				appMove("a1", "Old", "New", 2),
				connMove("o1", "Old", "Default", 3),
			}}
			f := newFakeMover()
			if tc.fails != "" {
				f.on(tc.fails, fail)
			}
			results, err := Run(context.Background(), p, f, Options{Concurrency: 1})
			if err != nil {
				t.Fatal(err)
			}
			by := map[string]Result{}
			for _, r := range results {
				by[p.Changes[r.Change].ObjectID()] = r
			}
			for _, id := range tc.held {
				if r := by[id]; r.Outcome != NotAttempted || !strings.Contains(r.Error, "not sent") || f.callCount(id) != 0 {
					t.Errorf("%s: %s %q after %d calls, want held back", id, r.Outcome, r.Error, f.callCount(id))
				}
			}
			for _, id := range tc.passes {
				if r := by[id]; r.Outcome != Succeeded {
					t.Errorf("%s: %s %q, want succeeded", id, r.Outcome, r.Error)
				}
			}
		})
	}
}

// A refused application move is settled by reading the target group's
// applications, as a connector's is by its members.
func TestApplicationRefusalSettledByRead(t *testing.T) {
	for _, inPlace := range []bool{true, false} {
		p := &plan.Plan{Changes: []plan.Change{appMove("a1", "Old", "New", 1)}}
		f := newFakeMover().on("a1", refusal(409, apierr.Other, "Conflict", "The application is already assigned."))
		r := newFakeReader()
		r.members["apps:New"] = []string{"a1"}
		if inPlace {
			r.visibleFrom["a1"] = 1
		}
		results, err := Run(context.Background(), p, f, Options{Concurrency: 1, Reader: r})
		if err != nil {
			t.Fatal(err)
		}
		want := Failed
		if inPlace {
			want = Succeeded
		}
		if got := results[0]; got.Outcome != want || r.readsOf("apps:New") != 1 || r.readsOf("New") != 0 {
			t.Errorf("in place %v: %s %q after reads %v, want %s after one read of New's applications", inPlace, got.Outcome, got.Error, r.reads, want)
		}
		if inPlace && !strings.Contains(results[0].Error, "shows the application is in the target group") {
			t.Errorf("error %q: want the settling read named", results[0].Error)
		}
	}
}

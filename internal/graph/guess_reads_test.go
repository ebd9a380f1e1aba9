package graph

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/graphsim"
	"connrecon/internal/pacer"
	"connrecon/plan"
)

// pagedTenant has n connectors spread over groups groups (the first the
// default), each group with apps applications, every field set so that a
// read that drops or mixes one up shows.
func pagedTenant(n, groups, apps int) *graphsim.Tenant {
	tn := &graphsim.Tenant{}
	for g := 0; g < groups; g++ {
		grp := graphsim.Group{ID: fmt.Sprintf("00000000-0000-0000-0000-%012d", g+1), Name: fmt.Sprintf("group %02d", g), IsDefault: g == 0,
			Region: []string{"nam", "eur", "aus"}[g%3], ConnectorGroupType: plan.GroupTypeApplicationProxy}
		for a := 0; a < apps; a++ {
			grp.Applications = append(grp.Applications, graphsim.Application{ID: fmt.Sprintf("20000000-0000-0000-%04d-%012d", g, a),
				AppID: fmt.Sprintf("30000000-0000-0000-%04d-%012d", g, a), DisplayName: fmt.Sprintf("app %02d-%03d", g, a)})
		}
		tn.Groups = append(tn.Groups, grp)
	}
	for i := 0; i < n; i++ {
		tn.Connectors = append(tn.Connectors, graphsim.Connector{ID: fmt.Sprintf("10000000-0000-0000-0000-%012d", i),
			MachineName: fmt.Sprintf("conn-%04d.contoso.com", i), ExternalIP: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1),
			Status: []string{"active", "inactive"}[i%2], Version: fmt.Sprintf("1.5.%d.0", i%7), Group: tn.Groups[i%groups].ID})
	}
	return tn
}

// diffState lists how s differs from the simulator's tenant tn: every
// connector with every field and its group, every group with its
// applications, and nothing more.
func diffState(s *plan.State, tn *graphsim.Tenant) []string {
	var d []string
	got := map[string]plan.Connector{}
	for _, c := range s.Connectors {
		if _, dup := got[c.ID]; dup {
			d = append(d, "connector "+c.ID+" read twice")
		}
		got[c.ID] = c
	}
	if len(s.Connectors) != len(tn.Connectors) {
		d = append(d, fmt.Sprintf("%d connectors, want %d", len(s.Connectors), len(tn.Connectors)))
	}
	for _, c := range tn.Connectors {
		want := plan.Connector{ID: c.ID, MachineName: c.MachineName, ExternalIP: c.ExternalIP, Status: c.Status, Version: c.Version, GroupID: c.Group}
		if g, ok := got[c.ID]; !ok || g != want {
			d = append(d, fmt.Sprintf("connector %+v, want %+v", g, want))
		}
	}
	gotG := map[string]plan.Group{}
	for _, g := range s.Groups {
		gotG[g.ID] = g
	}
	if len(s.Groups) != len(tn.Groups) {
		d = append(d, fmt.Sprintf("%d groups, want %d", len(s.Groups), len(tn.Groups)))
	}
	for _, w := range tn.Groups {
		g, ok := gotG[w.ID]
		if !ok || g.Name != w.Name || g.IsDefault != w.IsDefault || g.Region != w.Region || g.Type != w.ConnectorGroupType {
			d = append(d, fmt.Sprintf("group %+v, want %+v", g, w))
			continue
		}
		var wantApps []plan.Application
		for _, a := range w.Applications {
			wantApps = append(wantApps, plan.Application{ID: a.ID, AppID: a.AppID, DisplayName: a.DisplayName})
		}
		sort.Slice(wantApps, func(i, j int) bool { return wantApps[i].DisplayName < wantApps[j].DisplayName })
		if fmt.Sprint(g.Applications) != fmt.Sprint(wantApps) {
			d = append(d, fmt.Sprintf("group %s: %d applications %v, want %d", w.Name, len(g.Applications), g.Applications, len(wantApps)))
		}
	}
	return d
}

// badRequests counts the 400s in log.
func badRequests(log []graphsim.LoggedRequest) int {
	n := 0
	for _, r := range log {
		if r.Status == http.StatusBadRequest {
			n++
		}
	}
	return n
}

// countFaulted counts the requests in log the simulator faulted.
func countFaulted(log []graphsim.LoggedRequest) int {
	n := 0
	for _, r := range log {
		if r.Fault != "" {
			n++
		}
	}
	return n
}

// topWarnings are the warnings about a refused $top.
func topWarnings(ws []string) []string {
	var out []string
	for _, w := range ws {
		if strings.Contains(w, "refused $top") {
			out = append(out, w)
		}
	}
	return out
}

// Issue 14, the read side: under each alternative of the read guesses
// (page-size cap, what a $top above it gets, what an unknown $select
// gets), alone and with the write guesses, a tenant of several pages
// reads complete and exact, a refused $top costs one 400 and one warning
// for the whole run, and a dozen moves planned from that read apply,
// verify and leave the tenant as mapped.
func TestReadsAndMovesUnderEachReadGuess(t *testing.T) {
	const (
		n      = 1010 // over one page even at the default cap of 999
		groups = 6
		apps   = 120 // over one page of applications under a cap of 100 or 50
		moves  = 12
	)
	for _, tc := range []struct {
		guess  string
		refuse bool // a $top of 999 is refused: one 400, one warning
		faults graphsim.Faults
	}{
		{guess: ""},
		{guess: "maxtop=100,top=refuse", refuse: true},
		{guess: "maxtop=100,top=cap"},
		{guess: "maxtop=50,pagesize=20,top=cap"},
		{guess: "select=ignore"},
		{guess: "select=refuse"},
		{guess: "maxtop=100,top=refuse,move=201", refuse: true},
		{guess: "maxtop=100,top=refuse,already=409", refuse: true},
		{guess: "maxtop=50,pagesize=20,top=cap,move=201,already=409"},
		{guess: "select=ignore,move=201,already=409"},
		{guess: "maxtop=100,top=refuse,already=409,faults", refuse: true,
			faults: graphsim.Faults{ThrottleRate: 0.1, RetryAfter: time.Millisecond, ResetRate: 0.1, ResetAfterApply: true}},
	} {
		name := tc.guess
		if name == "" {
			name = "defaults"
		}
		t.Run(name, func(t *testing.T) {
			var g graphsim.Guesses
			if spec := strings.TrimSuffix(strings.TrimSuffix(tc.guess, "faults"), ","); spec != "" {
				if err := graphsim.ParseGuess(spec, &g); err != nil {
					t.Fatal(err)
				}
			}
			tn := pagedTenant(n, groups, apps)
			orig := map[string]string{}
			for _, c := range tn.Connectors {
				orig[c.ID] = c.Group
			}
			sim := graphsim.New(tn, graphsim.Options{Seed: 14, Guesses: g, Faults: tc.faults})
			pc := pacer.New(pacer.Options{MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryTime: 30 * time.Second}, 14)
			f := newFixtureFor(t, sim, Config{Pacer: pc})
			ctx := context.Background()

			s, err := f.client.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diffState(s, sim.State()) {
				t.Error(d)
			}
			wantWarn, want400 := 0, 0
			if tc.refuse {
				wantWarn, want400 = 1, 1
			}
			if w := topWarnings(s.Warnings); len(w) != wantWarn {
				t.Errorf("%d $top warnings %q, want %d", len(w), w, wantWarn)
			}
			if len(s.Warnings) != wantWarn {
				t.Errorf("warnings %q, want %d", s.Warnings, wantWarn)
			}
			if got := badRequests(sim.Requests()); got != want400 {
				t.Errorf("snapshot: %d 400s, want %d", got, want400)
			}
			// The pages the read took: more than one for connectors (a
			// page whose batch's answer was lost was read again).
			pages := 0
			for _, r := range reachedClient(sim.Requests()) {
				if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/connectors") && r.Status == http.StatusOK {
					pages++
				}
			}
			// Every page as full as the cap allows: the learnt $top (or the
			// capped page) holds for each page of the read.
			limit := g.MaxPageSize
			if limit == 0 {
				limit = 999
			}
			if want := (n + limit - 1) / limit; pages != want || pages < 2 {
				t.Errorf("connectors read in %d pages, want %d of %d", pages, want, limit)
			}
			faulted := countFaulted(sim.Requests())

			// A dozen moves, each to the next group but one.
			m := &plan.Mapping{Path: "guess.csv"}
			want := map[string]string{}
			for i := 0; i < moves; i++ {
				c := tn.Connectors[i*83]
				to := tn.Groups[(i*83%groups+1+i%(groups-1))%groups]
				m.Rows = append(m.Rows, plan.Row{Line: i + 2, Connector: c.ID, Group: to.Name})
				want[c.ID] = to.ID
			}
			p := plan.Build(m, s, plan.Options{})
			if got := p.Summary().Move; got != moves {
				t.Fatalf("plan has %d moves, want %d", got, moves)
			}
			sim.ResetLog()
			results, err := executor.Run(ctx, p, f.client, executor.Options{Concurrency: 4, Pacer: pc, Reader: f.client})
			if err != nil {
				t.Fatal(err)
			}
			if err := executor.Verify(ctx, p, results, f.client, executor.VerifyOptions{Timeout: 10 * time.Second, Interval: time.Millisecond}); err != nil {
				t.Errorf("Verify: %v", err)
			}
			moveStatus := g.MoveStatus
			if moveStatus == 0 {
				moveStatus = http.StatusNoContent
			}
			for _, r := range results {
				c := p.Changes[r.Change]
				if c.Action != plan.ActionMove {
					continue
				}
				if r.Outcome != executor.Succeeded || r.Verified == nil || !*r.Verified {
					t.Errorf("%s: %s verified %v (error %q)", c.MachineName, r.Outcome, r.Verified, r.Error)
				}
				if tc.faults == (graphsim.Faults{}) && (r.Call.Status != moveStatus || r.Attempts != 1) {
					t.Errorf("%s: status %d after %d attempts, want %d after 1", c.MachineName, r.Call.Status, r.Attempts, moveStatus)
				}
			}
			if tc.faults != (graphsim.Faults{}) {
				retried, confirmed := 0, 0
				for _, r := range results {
					if r.Attempts > 1 {
						retried++
					}
					if r.ConfirmedByRead() {
						confirmed++
					}
				}
				t.Logf("%d moves retried, %d confirmed by read", retried, confirmed)
			}
			if c := executor.CountVerified(results); c.Unknown != 0 || c.Seen+c.Confirmed != moves {
				t.Errorf("verify counts %+v, want %d seen or confirmed", c, moves)
			}

			// The second read of the run: it knows the cap, pays no 400,
			// warns no more, and finds the tenant as mapped.
			s2, err := f.client.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := badRequests(sim.Requests()); got != 0 {
				t.Errorf("apply, verify and the second read: %d 400s, want 0", got)
			}
			for _, r := range sim.Requests() {
				if r.Method == http.MethodGet && r.Status == http.StatusBadRequest {
					t.Errorf("GET %s?%s answered 400 again", r.Path, r.Query)
				}
			}
			if len(s2.Warnings) != 0 {
				t.Errorf("second read warnings %q, want none", s2.Warnings)
			}
			if faulted += countFaulted(sim.Requests()); (faulted > 0) != (tc.faults != graphsim.Faults{}) {
				t.Errorf("%d faulted requests with faults %+v", faulted, tc.faults)
			}
			final := sim.State()
			for _, d := range diffState(s2, final) {
				t.Error(d)
			}
			moved := 0
			for _, c := range final.Connectors {
				if to, ok := want[c.ID]; ok {
					moved++
					if c.Group != to {
						t.Errorf("%s in %s, want %s", c.MachineName, c.Group, to)
					}
				}
			}
			if moved != moves {
				t.Errorf("%d mapped connectors in the tenant, want %d", moved, moves)
			}
			// Everyone else stayed put.
			for _, c := range final.Connectors {
				if _, ok := want[c.ID]; !ok && c.Group != orig[c.ID] {
					t.Errorf("%s moved to %s", c.MachineName, c.Group)
				}
			}
		})
	}
}

package plan

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"weak"
)

const graphBeta = "https://graph.microsoft.com/beta"

// savedFixture: EU gets fra1 and loses fra3 (which idles in Default), in
// two waves because EU's only active connector is fra3; US and Lab are not
// involved.
func savedFixture() (*State, *Mapping) {
	s := tenant("Default! EU+2 US+ Lab", "fra1@Default fra2@EU- fra3@EU sea1@US sea2@US lab1@Lab")
	return s, mapping("fra1>EU fra3>Default sea1>US")
}

// claimsOf is what a plan file saved from p records, as package planfile
// hands it to the checks: the moves in apply order, the options and waves,
// and the tenant state the moves depend on with its fingerprint.
func claimsOf(p *Plan, s *State) *Claims {
	cl := &Claims{GraphURL: graphBeta, Options: p.Options, Waves: p.WaveCount(), Changes: movesOf(p)}
	inv := InvolvedState(s, p.Changes)
	cl.Involved, cl.Fingerprint = *inv, inv.Fingerprint()
	return cl
}

func TestClaimsCheckStale(t *testing.T) {
	s, m := savedFixture()
	sv := claimsOf(Build(m, s, Options{MinActive: 1}), s)
	conn := func(s *State, name string) *Connector {
		for i := range s.Connectors {
			if strings.HasPrefix(s.Connectors[i].MachineName, name+".") {
				return &s.Connectors[i]
			}
		}
		t.Fatalf("no connector %s", name)
		return nil
	}
	group := func(s *State, name string) *Group {
		for i := range s.Groups {
			if s.Groups[i].Name == name {
				return &s.Groups[i]
			}
		}
		t.Fatalf("no group %s", name)
		return nil
	}
	tests := []struct {
		name    string
		change  func(s *State)
		url     string
		reasons []string // exactly these, in order; nil: the plan is still good
	}{
		{name: "nothing changed"},
		{
			name:   "a change outside the involved groups does not matter",
			change: func(s *State) { conn(s, "sea2").Status = StatusInactive; conn(s, "lab1").GroupID = group(s, "US").ID },
		},
		{
			name:   "a group renamed does not matter",
			change: func(s *State) { group(s, "EU").Name = "Europe" },
		},
		{
			name:    "membership changed: a connector joined an involved group",
			change:  func(s *State) { conn(s, "sea2").GroupID = group(s, "EU").ID },
			reasons: []string{`group "EU" gained connector sea2.contoso.com`},
		},
		{
			name:    "membership changed: a connector left an involved group",
			change:  func(s *State) { conn(s, "fra2").GroupID = group(s, "Lab").ID },
			reasons: []string{`group "EU" lost connector fra2.contoso.com`},
		},
		{
			name:    "membership changed: a moved connector is elsewhere now",
			change:  func(s *State) { conn(s, "fra1").GroupID = group(s, "US").ID },
			reasons: []string{`connector fra1.contoso.com is now in group "US" (was "Default")`},
		},
		{
			name:    "a moved connector deactivated",
			change:  func(s *State) { conn(s, "fra3").Status = StatusInactive },
			reasons: []string{"connector fra3.contoso.com is now inactive (was active)"},
		},
		{
			name:    "a connector of an involved group reactivated",
			change:  func(s *State) { conn(s, "fra2").Status = StatusActive },
			reasons: []string{`connector fra2.contoso.com in group "EU" is now active (was inactive)`},
		},
		{
			name: "an application removed and one added",
			change: func(s *State) {
				eu := group(s, "EU")
				eu.Applications = append(eu.Applications[1:], Application{ID: "ab000000-0000-4000-8000-000000000001", DisplayName: "Payroll"})
			},
			reasons: []string{`group "EU" gained application Payroll`, `group "EU" lost application EU app 1`},
		},
		{
			name: "a moved connector uninstalled",
			change: func(s *State) {
				s.Connectors = slices.DeleteFunc(s.Connectors, func(c Connector) bool { return c.MachineName == "fra1.contoso.com" })
			},
			reasons: []string{"connector fra1.contoso.com (cc000000-0000-4000-8000-000000000001) is no longer in the tenant"},
		},
		{
			name: "an involved group deleted",
			change: func(s *State) {
				id := group(s, "EU").ID
				s.Groups = slices.DeleteFunc(s.Groups, func(g Group) bool { return g.ID == id })
			},
			reasons: []string{`group "EU" is no longer in the tenant`},
		},
		{
			name:    "another Graph URL",
			url:     "https://graph.microsoft.us/beta",
			reasons: []string{"the plan was made for https://graph.microsoft.com/beta, not https://graph.microsoft.us/beta"},
		},
		{
			name:   "another Graph URL and the tenant changed",
			url:    "http://127.0.0.1:8080/beta",
			change: func(s *State) { conn(s, "fra3").Status = StatusInactive },
			reasons: []string{
				"the plan was made for https://graph.microsoft.com/beta, not http://127.0.0.1:8080/beta",
				"connector fra3.contoso.com is now inactive (was active)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, _ := savedFixture()
			if tt.change != nil {
				tt.change(cur)
			}
			url := tt.url
			if url == "" {
				url = graphBeta
			}
			err := sv.Check(cur, url)
			if tt.reasons == nil {
				if err != nil {
					t.Errorf("Check = %v, want nil", err)
				}
				return
			}
			var stale *StaleError
			if !errors.As(err, &stale) {
				t.Fatalf("Check = %v, want a *StaleError", err)
			}
			if !slices.Equal(stale.Reasons, tt.reasons) {
				t.Errorf("reasons:\n got %q\nwant %q", stale.Reasons, tt.reasons)
			}
			if !strings.HasPrefix(err.Error(), "stale plan: ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// Claims the file contradicts itself in are refused as altered, and not
// compared with the tenant: a diff would blame the tenant for the edit.
// Another Graph URL is still said, first.
func TestClaimsCheckInconsistent(t *testing.T) {
	s, m := savedFixture()
	cur, _ := savedFixture()
	cur.Connectors[0].Status = StatusInactive // fra1: the tenant changed too
	for _, tt := range []struct {
		name    string
		url     string
		reasons []string
	}{
		{"same URL", graphBeta, []string{"plan.json: it lists one thing", "and another"}},
		{"another URL", "https://graph.microsoft.us/beta", []string{"the plan was made for https://graph.microsoft.com/beta, not https://graph.microsoft.us/beta", "plan.json: it lists one thing", "and another"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl := claimsOf(Build(m, s, Options{MinActive: 1}), s)
			cl.Inconsistent = []string{"plan.json: it lists one thing", "and another"}
			err := cl.Check(cur, tt.url)
			var stale *StaleError
			if !errors.As(err, &stale) || !stale.Altered || !slices.Equal(stale.Reasons, tt.reasons) {
				t.Fatalf("Check = %#v, want altered with %q", err, tt.reasons)
			}
			if !strings.HasPrefix(err.Error(), "altered plan file: ") {
				t.Errorf("message %q", err)
			}
			if p, err := cl.Replan(cur, tt.url, Options{}); p != nil || !errors.As(err, &stale) || !stale.Altered {
				t.Errorf("Replan = %v, %v; want no plan, altered", p, err)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	s, m := savedFixture()
	p := Build(m, s, Options{})
	fp := Fingerprint(s, p.Changes)
	if len(fp) != 64 {
		t.Fatalf("fingerprint %q", fp)
	}
	// Independent of the order Graph listed things in, and of id case.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		c := &State{Connectors: slices.Clone(s.Connectors), Groups: slices.Clone(s.Groups)}
		rng.Shuffle(len(c.Connectors), func(i, j int) { c.Connectors[i], c.Connectors[j] = c.Connectors[j], c.Connectors[i] })
		rng.Shuffle(len(c.Groups), func(i, j int) { c.Groups[i], c.Groups[j] = c.Groups[j], c.Groups[i] })
		for i := range c.Connectors {
			c.Connectors[i].ID = strings.ToUpper(c.Connectors[i].ID)
		}
		if got := Fingerprint(c, p.Changes); got != fp {
			t.Errorf("fingerprint changed with order or case: %s, %s", got, fp)
		}
	}
	// Only moves count: the same plan without its noop has the same one.
	moves := slices.DeleteFunc(slices.Clone(p.Changes), func(c Change) bool { return c.Action != ActionMove })
	if got := Fingerprint(s, moves); got != fp {
		t.Errorf("noops changed the fingerprint")
	}
	// And it changes with what it covers.
	c := &State{Connectors: slices.Clone(s.Connectors), Groups: slices.Clone(s.Groups)}
	c.Connectors[0].Status = StatusInactive // fra1, moved
	if Fingerprint(c, p.Changes) == fp {
		t.Errorf("fingerprint ignores a moved connector's status")
	}
}

// A plan keeps no reference to the tenant state it was built from: a
// snapshot of 100,000 connectors must not live as long as the plan (and
// the report and the saved plan) do. Whoever saves the plan passes the
// state along. The control keeps the state and must see it alive, so the
// test would notice a reference.
func TestPlanHoldsNoState(t *testing.T) {
	for _, tt := range []struct {
		name string
		keep bool // a reference to the state outside the plan
	}{
		{name: "the plan alone"},
		{name: "control: the state kept", keep: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, m := savedFixture()
			p := Build(m, s, Options{MinActive: 1, Unlisted: UnlistedDefault})
			if p.Summary().Move == 0 {
				t.Fatalf("fixture: no moves: %+v", p.Changes)
			}
			// The State and the arrays it owns: a plan holding a slice
			// of the connectors would keep those alive, not the State.
			ws, wc, wg := weak.Make(s), weak.Make(&s.Connectors[0]), weak.Make(&s.Groups[0])
			var kept *State
			if tt.keep {
				kept = s
			}
			s = nil
			collected := func() bool { return ws.Value() == nil && wc.Value() == nil && wg.Value() == nil }
			for i := 0; i < 10 && !collected(); i++ {
				runtime.GC()
			}
			if got := collected(); got == tt.keep {
				t.Errorf("state collected = %v while the plan is alive, want %v (state %v, connectors %v, groups %v alive)",
					got, !tt.keep, ws.Value() != nil, wc.Value() != nil, wg.Value() != nil)
			}
			runtime.KeepAlive(p)
			runtime.KeepAlive(kept)
		})
	}
}

package plan

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// tenant builds a small tenant from words, so that each case reads as a
// picture of the groups:
//
//	groups:     "Default! EU+ US+2 Lab"   ! the default group, +N N applications (+ is one)
//	connectors: "fra1@EU fra2@EU- sea1@US"   - an inactive connector
//
// Connector machine names are NAME.contoso.com; mapping rows use the short
// name. Ids are GUIDs derived from the position.
func tenant(groups, connectors string) *State {
	s := &State{}
	for i, w := range strings.Fields(groups) {
		g := Group{ID: fmt.Sprintf("9c000000-0000-4000-8000-%012x", i+1)}
		if strings.HasSuffix(w, "!") {
			g.IsDefault, w = true, strings.TrimSuffix(w, "!")
		}
		if name, apps, ok := strings.Cut(w, "+"); ok {
			n := 1
			if apps != "" {
				n, _ = strconv.Atoi(apps)
			}
			w = name
			for j := range n {
				g.Applications = append(g.Applications, Application{ID: fmt.Sprintf("a%d000000-0000-4000-8000-%012x", i+1, j+1), DisplayName: fmt.Sprintf("%s app %d", name, j+1)})
			}
		}
		g.Name = w
		s.Groups = append(s.Groups, g)
	}
	for i, w := range strings.Fields(connectors) {
		name, group, _ := strings.Cut(w, "@")
		c := Connector{ID: fmt.Sprintf("cc000000-0000-4000-8000-%012x", i+1), MachineName: name + ".contoso.com", Status: StatusActive}
		if strings.HasSuffix(group, "-") {
			c.Status, group = StatusInactive, strings.TrimSuffix(group, "-")
		}
		for _, g := range s.Groups {
			if g.Name == group {
				c.GroupID = g.ID
			}
		}
		s.Connectors = append(s.Connectors, c)
	}
	SortState(s)
	return s
}

// mapping builds rows from "fra1>US sea1>EU", rows 2, 3, … in that order.
func mapping(rows string) *Mapping {
	m := &Mapping{}
	for i, w := range strings.Fields(rows) {
		conn, group, _ := strings.Cut(w, ">")
		m.Rows = append(m.Rows, Row{Line: i + 2, Connector: conn, Group: group})
	}
	return m
}

// shortName is a connector's machine name up to the first dot.
func shortName(c Change) string {
	name, _, _ := strings.Cut(c.MachineName, ".")
	return name
}

func wavesOf(p *Plan) map[string]int {
	w := map[string]int{}
	for _, c := range p.Changes {
		if c.Action == ActionMove {
			w[shortName(c)] = c.Wave
		}
	}
	return w
}

func TestGuards(t *testing.T) {
	tests := []struct {
		name            string
		groups, conns   string
		rows            string
		opts            Options
		waves           map[string]int // every move, by short name
		refusals        []string       // guards, in order
		refusedGroups   []string       // names of the groups the coverage refusals list, in order
		messages        []string       // fragments of the refusal messages, in order
		warnings        []string       // fragments of the plan warnings, in order
		moveWarnings    map[string]string
		gaps            []string // groups whose summary says Coverage gap
		minActiveDuring map[string]int
	}{
		{
			name:  "max changes: at the limit",
			conns: "a@Default b@Default c@Default", groups: "Default! EU",
			rows:  "a>EU b>EU c>EU",
			opts:  Options{MaxChanges: 3, MinActive: 1},
			waves: map[string]int{"a": 1, "b": 1, "c": 1},
		},
		{
			name:  "max changes: over the limit",
			conns: "a@Default b@Default c@Default", groups: "Default! EU",
			rows:     "a>EU b>EU c>EU",
			opts:     Options{MaxChanges: 2, MinActive: 1},
			waves:    map[string]int{"a": 1, "b": 1, "c": 1},
			refusals: []string{GuardMaxChanges},
			messages: []string{"plan has 3 moves, more than --max-changes 2: raise --max-changes or split the mapping"},
		},
		{
			name:  "max changes: 0 means no limit",
			conns: "a@Default b@Default c@Default", groups: "Default! EU",
			rows:  "a>EU b>EU c>EU",
			opts:  Options{MaxChanges: 0, MinActive: 1},
			waves: map[string]int{"a": 1, "b": 1, "c": 1},
		},
		{
			name:  "max changes: connectors idled by --unlisted default count",
			conns: "a@Default b@EU c@EU d@Default", groups: "Default! EU",
			rows:     "a>EU",
			opts:     Options{MaxChanges: 2, MinActive: 1, Unlisted: UnlistedDefault},
			waves:    map[string]int{"a": 1, "b": 1, "c": 1},
			refusals: []string{GuardMaxChanges},
			messages: []string{"plan has 3 moves, more than --max-changes 2"},
		},
		{
			// B's only connector may leave only once A's has arrived.
			name:   "chain: into a group before out of it",
			groups: "Default! B+ C+", conns: "x@Default y@B c@C",
			rows:            "x>B y>C",
			opts:            Options{MinActive: 1},
			waves:           map[string]int{"x": 1, "y": 2},
			minActiveDuring: map[string]int{"B": 1, "C": 1},
		},
		{
			name:   "chain of three groups with one spare connector",
			groups: "A+ B+ C+ D", conns: "a1@A a2@A b@B c@C",
			rows:  "c>D b>C a1>B",
			opts:  Options{MinActive: 1},
			waves: map[string]int{"a1": 1, "b": 2, "c": 3},
		},
		{
			name:   "swap between two single-connector groups is refused",
			groups: "A+ B+2", conns: "a@A b@B",
			rows:            "a>B b>A",
			opts:            Options{MinActive: 1},
			waves:           map[string]int{"a": 1, "b": 1},
			refusals:        []string{GuardCoverage},
			refusedGroups:   []string{"A", "B"},
			messages:        []string{`no order of the moves keeps every connector group with applications at --min-active 1 active connectors during the apply: "A" (applications: A app 1) would drop to 0 active (1 before, 1 after); "B" (applications: B app 1, B app 2) would drop to 0 active (1 before, 1 after). The moves form a cycle`},
			moveWarnings:    map[string]string{"a": "no order of the moves keeps", "b": "it comes last, in wave 1"},
			gaps:            []string{"A", "B"},
			minActiveDuring: map[string]int{"A": 0, "B": 0},
		},
		{
			// z is inactive and x goes to a group without applications:
			// neither helps, so the swap comes last, after them.
			name:   "swap allowed with --allow-coverage-gap: last wave, and said so",
			groups: "A+ B+ C Default!", conns: "a@A b@B x@Default z@Default-",
			rows:         "z>A a>B b>A x>C",
			opts:         Options{MinActive: 1, AllowCoverageGap: true},
			waves:        map[string]int{"z": 1, "x": 1, "a": 2, "b": 2},
			warnings:     []string{"coverage gap allowed by --allow-coverage-gap: no order of the moves keeps"},
			moveWarnings: map[string]string{"a": "it comes last, in wave 2", "b": "it comes last, in wave 2", "z": "inactive"},
			gaps:         []string{"A", "B"},
		},
		{
			// A connector coming in from a group without applications is
			// the spare the swap needs.
			name:   "swap made safe by a connector from elsewhere",
			groups: "A+ B+ Default!", conns: "a@A b@B x@Default",
			rows:  "a>B b>A x>A",
			opts:  Options{MinActive: 1},
			waves: map[string]int{"x": 1, "a": 2, "b": 3},
		},
		{
			name:   "swap with a spare active connector goes in two waves",
			groups: "A+ B+", conns: "a@A a2@A b@B",
			rows:  "a>B b>A",
			opts:  Options{MinActive: 1},
			waves: map[string]int{"a": 1, "b": 2},
		},
		{
			name:   "an inactive spare does not make a swap safe",
			groups: "A+ B+", conns: "a@A a2@A- b@B",
			rows:          "a>B b>A",
			opts:          Options{MinActive: 1},
			waves:         map[string]int{"a": 1, "b": 1},
			refusals:      []string{GuardCoverage},
			refusedGroups: []string{"A", "B"},
			gaps:          []string{"A", "B"},
		},
		{
			name:   "cycle of three with one spare",
			groups: "A+ B+ C+", conns: "a@A a2@A b@B c@C",
			rows:  "c>A b>C a>B",
			opts:  Options{MinActive: 1},
			waves: map[string]int{"a": 1, "b": 2, "c": 3},
		},
		{
			// The only spare of D must go round the A–B cycle before it
			// leaves for E: sending it to E first would strand the cycle.
			// Rows list the tempting wrong moves first.
			name:   "a spare is not sent away from a cycle that still needs it",
			groups: "D+ E A+ B+", conns: "d1@D d2@D d3@D a1@A a2@A b1@B b2@B",
			rows:  "d1>E a2>D d2>A a1>B b1>A",
			opts:  Options{MinActive: 2},
			waves: map[string]int{"d2": 1, "a1": 2, "b1": 3, "a2": 4, "d1": 5},
		},
		{
			name:   "final state: a group with applications emptied",
			groups: "A+3 B", conns: "a@A",
			rows:            "a>B",
			opts:            Options{MinActive: 1},
			waves:           map[string]int{"a": 1},
			refusals:        []string{GuardCoverage},
			refusedGroups:   []string{"A"},
			messages:        []string{`after this plan, 1 connector group with applications would have fewer than --min-active 1 active connectors: "A" (applications: A app 1, A app 2, A app 3) would go from 1 to 0 active; map more active connectors to it, or pass --allow-coverage-gap`},
			gaps:            []string{"A"},
			minActiveDuring: map[string]int{"A": 0},
		},
		{
			name:   "final state: allowed with --allow-coverage-gap",
			groups: "A+ B", conns: "a@A",
			rows:     "a>B",
			opts:     Options{MinActive: 1, AllowCoverageGap: true},
			waves:    map[string]int{"a": 1},
			warnings: []string{"coverage gap allowed by --allow-coverage-gap: after this plan, 1 connector group"},
			gaps:     []string{"A"},
		},
		{
			name:   "final state: --min-active 2",
			groups: "A+ B+", conns: "a1@A a2@A a3@A b@B",
			rows:          "a1>B a2>B",
			opts:          Options{MinActive: 2},
			waves:         map[string]int{"a1": 1, "a2": 1},
			refusals:      []string{GuardCoverage},
			refusedGroups: []string{"A"},
			messages:      []string{"fewer than --min-active 2 active connectors"},
			gaps:          []string{"A", "B"},
		},
		{
			name:   "--min-active 2, kept",
			groups: "A+ B+", conns: "a1@A a2@A a3@A b@B",
			rows:  "a1>B",
			opts:  Options{MinActive: 2},
			waves: map[string]int{"a1": 1},
			gaps:  []string{"B"},
		},
		{
			name:   "a group without applications needs no connector",
			groups: "A B+", conns: "a@A b@B",
			rows:  "a>B b>A",
			opts:  Options{MinActive: 1},
			waves: map[string]int{"a": 1, "b": 2},
		},
		{
			name:   "inactive connectors move in wave 1 and do not count",
			groups: "A+ B+", conns: "a@A a2@A- b@B",
			rows:  "a2>B",
			opts:  Options{MinActive: 1},
			waves: map[string]int{"a2": 1},
		},
		{
			name:   "--min-active 0 turns the coverage guard off",
			groups: "A+ B+", conns: "a@A b@B",
			rows:  "a>B b>A",
			opts:  Options{},
			waves: map[string]int{"a": 1, "b": 1},
		},
		{
			// A has one active connector, fewer than 2, before the plan;
			// the plan brings one in and takes one out, in that order, so
			// it is never worse: a warning, no refusal. C is short and
			// untouched: a warning too.
			name:   "groups already short before the plan and not made worse",
			groups: "A+ B C+ D+", conns: "a@A b@B d1@D d2@D d3@D",
			rows:            "b>A a>B",
			opts:            Options{MinActive: 2},
			waves:           map[string]int{"b": 1, "a": 2},
			warnings:        []string{`connector group "A" (applications: A app 1) has 1 active connector before this plan, fewer than --min-active 2; the plan does not make that worse (1 after)`, `connector group "C" (applications: C app 1) has 0 active connectors before this plan`},
			gaps:            []string{"A", "C"},
			minActiveDuring: map[string]int{"A": 1, "C": 0, "D": 3},
		},
		{
			name:   "a group already short that the plan makes worse is refused",
			groups: "A+ B", conns: "a1@A a2@A",
			rows:          "a1>B",
			opts:          Options{MinActive: 3},
			waves:         map[string]int{"a1": 1},
			refusals:      []string{GuardCoverage},
			refusedGroups: []string{"A"},
			messages:      []string{`"A" (applications: A app 1) would go from 2 to 1 active`},
			gaps:          []string{"A"},
		},
		{
			name:   "both guards at once, max changes first",
			groups: "A+ B+", conns: "a@A b@B",
			rows:          "a>B b>A",
			opts:          Options{MinActive: 1, MaxChanges: 1},
			waves:         map[string]int{"a": 1, "b": 1},
			refusals:      []string{GuardMaxChanges, GuardCoverage},
			refusedGroups: []string{"A", "B"},
			gaps:          []string{"A", "B"},
		},
		{
			name:   "many applications are shortened in messages",
			groups: "A+7 B", conns: "a@A",
			rows:     "a>B",
			opts:     Options{MinActive: 1},
			waves:    map[string]int{"a": 1},
			refusals: []string{GuardCoverage},
			messages: []string{"(applications: A app 1, A app 2, A app 3, A app 4, A app 5 and 2 more)"},
			gaps:     []string{"A"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tenant(tt.groups, tt.conns)
			p := Build(mapping(tt.rows), s, tt.opts)
			if sum := p.Summary(); sum.Invalid != 0 {
				t.Fatalf("fixture has invalid rows: %+v", p.Changes)
			}
			if got := wavesOf(p); !reflect.DeepEqual(got, tt.waves) {
				t.Errorf("waves = %v, want %v", got, tt.waves)
			}
			var guards, groups, msgs []string
			for _, r := range p.Refusals {
				guards, msgs = append(guards, r.Guard), append(msgs, r.Message)
				for _, g := range r.Groups {
					groups = append(groups, g.Name)
				}
			}
			if !slices.Equal(guards, tt.refusals) {
				t.Errorf("refusals = %q, want %q\n%q", guards, tt.refusals, msgs)
			}
			if p.Refused() != (len(tt.refusals) > 0) {
				t.Errorf("Refused() = %v", p.Refused())
			}
			if tt.refusedGroups != nil && !slices.Equal(groups, tt.refusedGroups) {
				t.Errorf("refused groups = %q, want %q", groups, tt.refusedGroups)
			}
			inOrder(t, "refusal messages", msgs, tt.messages)
			inOrder(t, "warnings", p.Warnings, tt.warnings)
			if tt.warnings == nil && len(p.Warnings) > 0 {
				t.Errorf("unexpected warnings: %q", p.Warnings)
			}
			for name, frag := range tt.moveWarnings {
				found := false
				for _, c := range p.Changes {
					if shortName(c) == name && strings.Contains(strings.Join(c.Warnings, "\n"), frag) {
						found = true
					}
				}
				if !found {
					t.Errorf("move of %s: no warning containing %q", name, frag)
				}
			}
			var gaps []string
			during := map[string]int{}
			for _, g := range p.Groups {
				if g.Coverage == CoverageGap {
					gaps = append(gaps, g.Name)
				}
				during[g.Name] = g.MinActiveDuring
			}
			if !slices.Equal(gaps, tt.gaps) {
				t.Errorf("groups with a coverage gap = %q, want %q", gaps, tt.gaps)
			}
			for name, want := range tt.minActiveDuring {
				if during[name] != want {
					t.Errorf("group %s: MinActiveDuring = %d, want %d", name, during[name], want)
				}
			}
			checkReplay(t, s, p)
		})
	}
}

// inOrder: each fragment is in a later element than the one before.
func inOrder(t *testing.T, what string, got []string, frags []string) {
	t.Helper()
	i := 0
	for _, f := range frags {
		for i < len(got) && !strings.Contains(got[i], f) {
			i++
		}
		if i == len(got) {
			t.Errorf("%s: %q missing or out of order in\n%q", what, f, got)
			return
		}
		i++
	}
}

// checkReplay: the plan's group summary matches a replay of the waves, each
// in its worst order (every move out before any move in).
func checkReplay(t *testing.T, s *State, p *Plan) {
	t.Helper()
	active := activeCounts(s)
	low := maps(active)
	for w := 1; w <= p.WaveCount(); w++ {
		for _, c := range p.Changes {
			if c.Action == ActionMove && c.Wave == w && c.ConnectorStatus == StatusActive {
				active[c.FromGroupID]--
				low[c.FromGroupID] = min(low[c.FromGroupID], active[c.FromGroupID])
			}
		}
		for _, c := range p.Changes {
			if c.Action == ActionMove && c.Wave == w && c.ConnectorStatus == StatusActive {
				active[c.ToGroupID]++
			}
		}
	}
	for _, g := range p.Groups {
		if g.ActiveAfter != active[g.ID] || g.MinActiveDuring != low[g.ID] {
			t.Errorf("group %s: after %d, lowest %d; replay says %d, %d", g.Name, g.ActiveAfter, g.MinActiveDuring, active[g.ID], low[g.ID])
		}
	}
}

func activeCounts(s *State) map[string]int {
	n := map[string]int{}
	for _, g := range s.Groups {
		n[g.ID] = 0
	}
	for _, c := range s.Connectors {
		if c.Status == StatusActive {
			n[c.GroupID]++
		}
	}
	return n
}

func maps(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestUnlisted(t *testing.T) {
	s := tenant("Default! EU+ US", "a@EU b@EU c@US- d@Default e@US")
	tests := []struct {
		opts    Options
		want    []string // row action name to (or reason) for the changes after the mapping row
		summary Summary
	}{
		{
			opts:    Options{},
			want:    []string{"0 unmanaged b", "0 unmanaged c", "0 unmanaged d", "0 unmanaged e"},
			summary: Summary{Move: 1, Unmanaged: 4},
		},
		{
			opts:    Options{Unlisted: UnlistedReport},
			want:    []string{"0 unmanaged b", "0 unmanaged c", "0 unmanaged d", "0 unmanaged e"},
			summary: Summary{Move: 1, Unmanaged: 4},
		},
		{
			opts:    Options{Unlisted: UnlistedIgnore},
			summary: Summary{Move: 1},
		},
		{
			opts: Options{Unlisted: UnlistedDefault},
			want: []string{
				"0 move b Default not in the mapping: idled in the default group (--unlisted default)",
				"0 move c Default not in the mapping: idled in the default group (--unlisted default)",
				"0 noop d Default not in the mapping: already in the default group (--unlisted default)",
				"0 move e Default not in the mapping: idled in the default group (--unlisted default)",
			},
			summary: Summary{Move: 4, Noop: 1},
		},
	}
	for _, tt := range tests {
		t.Run("unlisted="+tt.opts.Unlisted, func(t *testing.T) {
			p := Build(mapping("a>US"), s, tt.opts)
			if p.Changes[0].Action != ActionMove || shortName(p.Changes[0]) != "a" {
				t.Fatalf("first change: %+v", p.Changes[0])
			}
			var got []string
			for _, c := range p.Changes[1:] {
				line := fmt.Sprintf("%d %s %s", c.Row, c.Action, shortName(c))
				if c.ToGroupName != "" {
					line += " " + c.ToGroupName + " " + c.Reason
				}
				got = append(got, line)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("changes after the mapping:\n got %q\nwant %q", got, tt.want)
			}
			if got := p.Summary(); got != tt.summary {
				t.Errorf("Summary = %+v, want %+v", got, tt.summary)
			}
			for _, c := range p.Changes {
				if c.Action == ActionMove && c.Wave != 1 {
					t.Errorf("move of %s in wave %d, want 1", c.MachineName, c.Wave)
				}
				if shortName(c) == "c" && c.Action == ActionMove && (len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "inactive")) {
					t.Errorf("inactive connector moved without its warning: %q", c.Warnings)
				}
			}
			if len(p.Warnings) > 0 {
				t.Errorf("warnings: %q", p.Warnings)
			}
		})
	}

	// Without a single default group there is nowhere to idle them: they
	// stay unmanaged, and the plan says why.
	for _, groups := range []string{"Default EU+ US", "Default! EU+! US"} {
		s := tenant(groups, "a@EU b@EU")
		p := Build(mapping("a>US"), s, Options{Unlisted: UnlistedDefault})
		if got := p.Summary(); got != (Summary{Move: 1, Unmanaged: 1}) {
			t.Errorf("%s: Summary = %+v", groups, got)
		}
		if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "no single default connector group") {
			t.Errorf("%s: warnings %q", groups, p.Warnings)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		err  string
	}{
		{Options{}, ""},
		{Options{Unlisted: "report", MaxChanges: 50, MinActive: 1}, ""},
		{Options{Unlisted: "ignore"}, ""},
		{Options{Unlisted: "default", AllowCoverageGap: true}, ""},
		{Options{Unlisted: "Default"}, `--unlisted "Default": use ignore, report or default`},
		{Options{MaxChanges: -1}, "--max-changes -1"},
		{Options{MinActive: -2}, "--min-active -2"},
	} {
		err := tt.opts.Validate()
		if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%+v: Validate() = %v, want %q", tt.opts, err, tt.err)
		}
	}
}

func TestGroupSummaries(t *testing.T) {
	s := tenant("us+ Default! EU+2 Lab", "a@Default b@Default- c@EU d@us x@Nowhere")
	p := Build(mapping("a>EU b>EU"), s, Options{MinActive: 1, Unlisted: UnlistedIgnore})
	want := []GroupSummary{
		{ID: s.Groups[0].ID, Name: "Default", IsDefault: true, Applications: []string{}, ConnectorsBefore: 2, ConnectorsAfter: 0, ActiveBefore: 1, ActiveAfter: 0, MinActiveDuring: 0, Coverage: CoverageNoApplications},
		{ID: s.Groups[1].ID, Name: "EU", Applications: []string{"EU app 1", "EU app 2"}, ConnectorsBefore: 1, ConnectorsAfter: 3, ActiveBefore: 1, ActiveAfter: 2, MinActiveDuring: 1, Coverage: CoverageOK},
		{ID: s.Groups[2].ID, Name: "Lab", Applications: []string{}, Coverage: CoverageNoApplications},
		{ID: s.Groups[3].ID, Name: "us", Applications: []string{"us app 1"}, ConnectorsBefore: 1, ConnectorsAfter: 1, ActiveBefore: 1, ActiveAfter: 1, MinActiveDuring: 1, Coverage: CoverageOK},
	}
	if !reflect.DeepEqual(p.Groups, want) {
		t.Errorf("Groups:\n got %+v\nwant %+v", p.Groups, want)
	}
}

// TestWavesProperty: over random tenants and mappings, replaying the waves
// in order, one move at a time in a random order within each wave, never
// leaves a group with applications below --min-active (or below where it
// started, for a group already short), unless the plan said so: refused, or
// the gap allowed with a warning. And the scheduler leaves a move over only
// when no order of the moves at all would keep coverage, which a brute-force
// search checks on the small cases.
func TestWavesProperty(t *testing.T) {
	const cases = 600
	rng := rand.New(rand.NewPCG(7, 11))
	stuckSeen, multiWave, refusedSeen := 0, 0, 0
	for n := range cases {
		s, m, opts := randomCase(rng)
		p := Build(m, s, opts)

		// Every move has a wave, waves are 1..k without holes, and the
		// rest have none.
		used := map[int]bool{}
		for _, c := range p.Changes {
			switch {
			case c.Action == ActionMove && c.Wave < 1:
				t.Fatalf("case %d: move without a wave: %+v", n, c)
			case c.Action == ActionMove:
				used[c.Wave] = true
			case c.Wave != 0:
				t.Fatalf("case %d: %s with wave %d", n, c.Action, c.Wave)
			}
		}
		for w := 1; w <= p.WaveCount(); w++ {
			if !used[w] {
				t.Fatalf("case %d: wave %d of %d is empty", n, w, p.WaveCount())
			}
		}
		if p.WaveCount() > 1 {
			multiWave++
		}
		if p.Refused() {
			refusedSeen++
		}
		if over := opts.MaxChanges > 0 && p.Summary().Move > opts.MaxChanges; over != hasGuard(p, GuardMaxChanges) {
			t.Fatalf("case %d: %d moves, --max-changes %d, refusals %+v", n, p.Summary().Move, opts.MaxChanges, p.Refusals)
		}

		saidSo := hasGuard(p, GuardCoverage) || slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.HasPrefix(w, "coverage gap allowed") })
		floor := map[string]int{}
		before := activeCounts(s)
		for _, g := range s.Groups {
			if len(g.Applications) > 0 {
				floor[g.ID] = min(opts.MinActive, before[g.ID])
			}
		}
		for range 3 {
			ok, where := replayRandomly(rng, p, s, floor)
			if !ok && !saidSo {
				t.Fatalf("case %d: %s, and the plan did not say so\n%s", n, where, describeCase(s, m, opts, p))
			}
		}
		checkReplay(t, s, p)

		// The scheduler against brute force: a move is left over (and
		// flagged) exactly when no order of the active moves keeps every
		// group with applications at its floor.
		stuck := slices.ContainsFunc(p.Changes, func(c Change) bool {
			return slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.HasPrefix(w, "no order of the moves") })
		})
		if stuck {
			stuckSeen++
		}
		if exists, tried := someOrderExists(p, s); tried && exists == stuck {
			t.Fatalf("case %d: scheduler stuck=%v, but brute force says an order exists=%v\n%s", n, stuck, exists, describeCase(s, m, opts, p))
		}
	}
	// The generator must reach the interesting cases, or the test proves little.
	t.Logf("%d stuck, %d multi-wave, %d refused of %d", stuckSeen, multiWave, refusedSeen, cases)
	if stuckSeen < 10 || multiWave < 30 || refusedSeen < 30 {
		t.Errorf("generator too tame: %d stuck, %d multi-wave, %d refused of %d", stuckSeen, multiWave, refusedSeen, cases)
	}
}

func hasGuard(p *Plan, guard string) bool {
	return slices.ContainsFunc(p.Refusals, func(r Refusal) bool { return r.Guard == guard })
}

// randomCase: 2–6 groups (three in four with applications), 1–13 connectors
// (a fifth inactive), a mapping naming most of them, and random options.
func randomCase(rng *rand.Rand) (*State, *Mapping, Options) {
	var groups, conns, rows []string
	ng := 2 + rng.IntN(5)
	names := make([]string, ng)
	for i := range ng {
		names[i] = fmt.Sprintf("G%d", i)
		w := names[i]
		if rng.IntN(4) != 0 {
			w += "+"
		}
		if i == 0 {
			w += "!"
		}
		groups = append(groups, w)
	}
	// Half the cases rotate connectors between groups along a random
	// permutation: every group loses some and gains some, the cycles that
	// only a careful order (or none) can apply.
	// Those have one or two connectors a group, so that spares are rare.
	rotate, perm := rng.IntN(2) == 0, rng.Perm(ng)
	nc := 1 + rng.IntN(13)
	if rotate {
		nc = ng + rng.IntN(ng+1)
	}
	for i := range nc {
		g := rng.IntN(ng)
		if rotate {
			g = i % ng
		}
		w := fmt.Sprintf("c%d@%s", i, names[g])
		if rng.IntN(5) == 0 {
			w += "-"
		}
		conns = append(conns, w)
		to := rng.IntN(ng)
		if rotate && rng.IntN(4) != 0 {
			to = perm[g]
		}
		if rng.IntN(10) < 8 {
			rows = append(rows, fmt.Sprintf("c%d>%s", i, names[to]))
		}
	}
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	opts := Options{
		Unlisted:         []string{"", UnlistedReport, UnlistedIgnore, UnlistedDefault}[rng.IntN(4)],
		MaxChanges:       []int{0, 0, 3, 8}[rng.IntN(4)],
		MinActive:        []int{0, 1, 1, 1, 2}[rng.IntN(5)],
		AllowCoverageGap: rng.IntN(4) == 0,
	}
	return tenant(strings.Join(groups, " "), strings.Join(conns, " ")), mapping(strings.Join(rows, " ")), opts
}

// replayRandomly applies the moves wave by wave, in a random order within
// each wave, one at a time, and checks every group with applications
// against its floor after every move.
func replayRandomly(rng *rand.Rand, p *Plan, s *State, floor map[string]int) (bool, string) {
	active := activeCounts(s)
	for w := 1; w <= p.WaveCount(); w++ {
		var wave []Change
		for _, c := range p.Changes {
			if c.Action == ActionMove && c.Wave == w {
				wave = append(wave, c)
			}
		}
		rng.Shuffle(len(wave), func(i, j int) { wave[i], wave[j] = wave[j], wave[i] })
		for _, c := range wave {
			if c.ConnectorStatus != StatusActive {
				continue
			}
			active[c.FromGroupID]--
			active[c.ToGroupID]++
			for id, f := range floor {
				if active[id] < f {
					return false, fmt.Sprintf("after moving %s in wave %d, group %s has %d active, floor %d", c.MachineName, w, id, active[id], f)
				}
			}
		}
	}
	return true, ""
}

// someOrderExists searches every order of the plan's active moves (up to
// 12 of them) for one that keeps each group with applications at
// min(--min-active, before, after) after every move: the floor the
// scheduler works to. tried is false when there are too many moves.
func someOrderExists(p *Plan, s *State) (exists, tried bool) {
	type mv struct{ from, to string }
	var moves []mv
	for _, c := range p.Changes {
		if c.Action == ActionMove && c.ConnectorStatus == StatusActive {
			moves = append(moves, mv{c.FromGroupID, c.ToGroupID})
		}
	}
	if len(moves) > 12 {
		return false, false
	}
	before := activeCounts(s)
	after := maps(before)
	for _, m := range moves {
		after[m.from]--
		after[m.to]++
	}
	floor := map[string]int{}
	if p.Options.MinActive > 0 {
		for _, g := range s.Groups {
			if len(g.Applications) > 0 {
				floor[g.ID] = min(p.Options.MinActive, before[g.ID], after[g.ID])
			}
		}
	}
	dead := map[int]bool{}
	var search func(done int, cur map[string]int) bool
	search = func(done int, cur map[string]int) bool {
		if done == 1<<len(moves)-1 {
			return true
		}
		if dead[done] {
			return false
		}
		for i, m := range moves {
			if done&(1<<i) != 0 {
				continue
			}
			if f, ok := floor[m.from]; ok && cur[m.from]-1 < f {
				continue
			}
			cur[m.from]--
			cur[m.to]++
			ok := search(done|1<<i, cur)
			cur[m.from]++
			cur[m.to]--
			if ok {
				return true
			}
		}
		dead[done] = true
		return false
	}
	return search(0, maps(before)), true
}

func describeCase(s *State, m *Mapping, opts Options, p *Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "options %+v\n", opts)
	for _, g := range s.Groups {
		fmt.Fprintf(&b, "group %s %s apps=%d\n", g.Name, g.ID, len(g.Applications))
	}
	for _, c := range s.Connectors {
		fmt.Fprintf(&b, "connector %s in %s %s\n", c.MachineName, c.GroupID, c.Status)
	}
	for _, r := range m.Rows {
		fmt.Fprintf(&b, "row %d %s > %s\n", r.Line, r.Connector, r.Group)
	}
	for _, c := range p.Changes {
		if c.Action == ActionMove {
			fmt.Fprintf(&b, "move %s %s→%s wave %d %s\n", c.MachineName, c.FromGroupName, c.ToGroupName, c.Wave, c.ConnectorStatus)
		}
	}
	fmt.Fprintf(&b, "refusals %+v\nwarnings %q\n", p.Refusals, p.Warnings)
	return b.String()
}

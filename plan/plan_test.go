package plan

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The fixture tenant. Ids are GUIDs as Graph returns them (lower case).
const (
	gDefault = "9a000000-0000-4000-8000-000000000001"
	gEurope  = "9a000000-0000-4000-8000-000000000002"
	gUSEast  = "9a000000-0000-4000-8000-000000000003"
	gLegacy1 = "9a000000-0000-4000-8000-000000000004"
	gLegacy2 = "9a000000-0000-4000-8000-000000000005"

	cApp1   = "c0000000-0000-4000-8000-000000000001"
	cApp2   = "c0000000-0000-4000-8000-000000000002"
	cApp3   = "c0000000-0000-4000-8000-000000000003" // inactive
	cWeb1   = "c0000000-0000-4000-8000-000000000004" // web.contoso.com
	cWeb2   = "c0000000-0000-4000-8000-000000000005" // WEB.contoso.com: same name, reinstalled
	cDB1    = "c0000000-0000-4000-8000-000000000006" // db.contoso.com
	cDB2    = "c0000000-0000-4000-8000-000000000007" // db.fabrikam.com: same short name
	cAlpha  = "c0000000-0000-4000-8000-000000000008"
	cBeta   = "c0000000-0000-4000-8000-000000000009"
	cZeta   = "c0000000-0000-4000-8000-00000000000a"
	cLegacy = "c0000000-0000-4000-8000-00000000000b"
)

func fixtureState() *State {
	return &State{
		Groups: []Group{
			{ID: gDefault, Name: "Default", IsDefault: true},
			{ID: gEurope, Name: "Europe"},
			{ID: gUSEast, Name: "US East"},
			{ID: gLegacy1, Name: "Legacy"},
			{ID: gLegacy2, Name: "LEGACY"},
		},
		Connectors: []Connector{
			{ID: cApp1, MachineName: "app1.contoso.com", Status: StatusActive, GroupID: gDefault},
			{ID: cApp2, MachineName: "app2.contoso.com", Status: StatusActive, GroupID: gEurope},
			{ID: cApp3, MachineName: "app3.contoso.com", Status: StatusInactive, GroupID: gDefault},
			{ID: cWeb1, MachineName: "web.contoso.com", Status: StatusActive, GroupID: gDefault},
			{ID: cWeb2, MachineName: "WEB.contoso.com", Status: StatusActive, GroupID: gEurope},
			{ID: cDB1, MachineName: "db.contoso.com", Status: StatusActive, GroupID: gDefault},
			{ID: cDB2, MachineName: "db.fabrikam.com", Status: StatusActive, GroupID: gUSEast},
			{ID: cAlpha, MachineName: "alpha.contoso.com", Status: StatusActive, GroupID: gEurope},
			{ID: cBeta, MachineName: "Beta.contoso.com", Status: StatusInactive, GroupID: gUSEast},
			{ID: cZeta, MachineName: "zeta.contoso.com", Status: StatusActive, GroupID: gDefault},
			{ID: cLegacy, MachineName: "legacy.contoso.com", Status: StatusActive, GroupID: gLegacy1},
		},
	}
}

// resolved is the expected identity part of a change, taken from the
// fixture so each case only says which connector and group it expects.
func resolved(s *State, row int, mc, mg, connID, groupID string, a Action) Change {
	ch := Change{Row: row, MappedConnector: mc, MappedGroup: mg, Action: a}
	for _, c := range s.Connectors {
		if c.ID == connID {
			ch.ConnectorID, ch.MachineName, ch.ConnectorStatus, ch.FromGroupID = c.ID, c.MachineName, c.Status, c.GroupID
			ch.FromGroupName = groupName(s, c.GroupID)
		}
	}
	if groupID != "" {
		ch.ToGroupID, ch.ToGroupName = groupID, groupName(s, groupID)
	}
	if a == ActionMove {
		ch.Wave = 1
	}
	return ch
}

func groupName(s *State, id string) string {
	for _, g := range s.Groups {
		if g.ID == id {
			return g.Name
		}
	}
	return ""
}

// wantChange is a mapping-row change: the fields compared exactly, and
// fragments the reason and each warning must contain.
type wantChange struct {
	Change
	reason   []string
	warnings [][]string
}

func TestBuild(t *testing.T) {
	s := fixtureState()
	mv := func(row int, mc, mg, conn, group string) Change {
		return resolved(s, row, mc, mg, conn, group, ActionMove)
	}
	noop := func(row int, mc, mg, conn, group string) Change {
		return resolved(s, row, mc, mg, conn, group, ActionNoop)
	}
	bad := func(row int, mc, mg, conn, group string) Change {
		return resolved(s, row, mc, mg, conn, group, ActionInvalid)
	}
	tests := []struct {
		name string
		rows []Row
		want []wantChange
	}{
		{
			name: "connector by id",
			rows: []Row{{Line: 2, Connector: cApp1, Group: "Europe"}},
			want: []wantChange{{Change: mv(2, cApp1, "Europe", cApp1, gEurope)}},
		},
		{
			name: "connector by upper-case id in braces",
			rows: []Row{{Line: 2, Connector: "{" + strings.ToUpper(cApp1) + "}", Group: "Europe"}},
			want: []wantChange{{Change: mv(2, "{"+strings.ToUpper(cApp1)+"}", "Europe", cApp1, gEurope)}},
		},
		{
			name: "connector by machine name, any case",
			rows: []Row{{Line: 2, Connector: "APP1.Contoso.COM", Group: "Europe"}},
			want: []wantChange{{Change: mv(2, "APP1.Contoso.COM", "Europe", cApp1, gEurope)}},
		},
		{
			name: "connector by unique short host name",
			rows: []Row{{Line: 2, Connector: "App1", Group: "Europe"}},
			want: []wantChange{{Change: mv(2, "App1", "Europe", cApp1, gEurope)}},
		},
		{
			name: "ambiguous machine name",
			rows: []Row{{Line: 2, Connector: "web.contoso.com", Group: "US East"}},
			want: []wantChange{{
				Change: bad(2, "web.contoso.com", "US East", "", gUSEast),
				reason: []string{"ambiguous", "web.contoso.com (" + cWeb1 + ")", "WEB.contoso.com (" + cWeb2 + ")"},
			}},
		},
		{
			name: "ambiguous short host name",
			rows: []Row{{Line: 2, Connector: "db", Group: "Europe"}},
			want: []wantChange{{
				Change: bad(2, "db", "Europe", "", gEurope),
				reason: []string{"ambiguous", "db.contoso.com (" + cDB1 + ")", "db.fabrikam.com (" + cDB2 + ")"},
			}},
		},
		{
			// A full name that is not in the tenant does not fall back to
			// a short name that is.
			name: "unknown full name with a known short host",
			rows: []Row{{Line: 2, Connector: "app1.fabrikam.com", Group: "Europe"}},
			want: []wantChange{{Change: bad(2, "app1.fabrikam.com", "Europe", "", gEurope), reason: []string{`no connector named "app1.fabrikam.com"`}}},
		},
		{
			name: "unknown connector name",
			rows: []Row{{Line: 2, Connector: "ghost.contoso.com", Group: "Europe"}},
			want: []wantChange{{Change: bad(2, "ghost.contoso.com", "Europe", "", gEurope), reason: []string{`no connector named "ghost.contoso.com"`}}},
		},
		{
			name: "unknown connector id",
			rows: []Row{{Line: 2, Connector: "c0000000-0000-4000-8000-0000000000ff", Group: "Europe"}},
			want: []wantChange{{Change: bad(2, "c0000000-0000-4000-8000-0000000000ff", "Europe", "", gEurope), reason: []string{"no connector with id c0000000-0000-4000-8000-0000000000ff"}}},
		},
		{
			name: "group by id in braces, upper case",
			rows: []Row{{Line: 2, Connector: "app1.contoso.com", Group: "{" + strings.ToUpper(gUSEast) + "}"}},
			want: []wantChange{{Change: mv(2, "app1.contoso.com", "{"+strings.ToUpper(gUSEast)+"}", cApp1, gUSEast)}},
		},
		{
			name: "group by name, any case",
			rows: []Row{{Line: 2, Connector: "app1.contoso.com", Group: "us EAST"}},
			want: []wantChange{{Change: mv(2, "app1.contoso.com", "us EAST", cApp1, gUSEast)}},
		},
		{
			name: "ambiguous group name",
			rows: []Row{{Line: 2, Connector: "app1.contoso.com", Group: "legacy"}},
			want: []wantChange{{
				Change: bad(2, "app1.contoso.com", "legacy", cApp1, ""),
				reason: []string{"ambiguous", "Legacy (" + gLegacy1 + ")", "LEGACY (" + gLegacy2 + ")"},
			}},
		},
		{
			name: "ambiguous group name, by id instead",
			rows: []Row{{Line: 2, Connector: "app1.contoso.com", Group: gLegacy2}},
			want: []wantChange{{Change: mv(2, "app1.contoso.com", gLegacy2, cApp1, gLegacy2)}},
		},
		{
			name: "unknown group name",
			rows: []Row{{Line: 2, Connector: "app1.contoso.com", Group: "Asia"}},
			want: []wantChange{{Change: bad(2, "app1.contoso.com", "Asia", cApp1, ""), reason: []string{`no connector group named "Asia"`}}},
		},
		{
			name: "unknown group id",
			rows: []Row{{Line: 2, Connector: "app1.contoso.com", Group: "9a000000-0000-4000-8000-0000000000ff"}},
			want: []wantChange{{Change: bad(2, "app1.contoso.com", "9a000000-0000-4000-8000-0000000000ff", cApp1, ""), reason: []string{"no connector group with id 9a000000-0000-4000-8000-0000000000ff"}}},
		},
		{
			// Both cells wrong: both reasons, so one run fixes both.
			name: "unknown connector and group",
			rows: []Row{{Line: 2, Connector: "ghost", Group: "Asia"}},
			want: []wantChange{{Change: bad(2, "ghost", "Asia", "", ""), reason: []string{`no connector named "ghost"`, `no connector group named "Asia"`}}},
		},
		{
			name: "already in the group",
			rows: []Row{{Line: 2, Connector: "app2.contoso.com", Group: "europe"}},
			want: []wantChange{{Change: noop(2, "app2.contoso.com", "europe", cApp2, gEurope)}},
		},
		{
			name: "inactive connector move warns",
			rows: []Row{{Line: 2, Connector: "app3.contoso.com", Group: "Europe"}},
			want: []wantChange{{Change: mv(2, "app3.contoso.com", "Europe", cApp3, gEurope), warnings: [][]string{{"inactive"}}}},
		},
		{
			name: "inactive connector noop does not warn",
			rows: []Row{{Line: 2, Connector: "app3.contoso.com", Group: "Default"}},
			want: []wantChange{{Change: noop(2, "app3.contoso.com", "Default", cApp3, gDefault)}},
		},
		{
			name: "same connector by id and by name, same group",
			rows: []Row{
				{Line: 2, Connector: cApp1, Group: "Europe"},
				{Line: 3, Connector: "app2.contoso.com", Group: "Europe"},
				{Line: 5, Connector: "app1", Group: gEurope},
			},
			want: []wantChange{
				{Change: mv(2, cApp1, "Europe", cApp1, gEurope), warnings: [][]string{{"row 5", "counted once"}}},
				{Change: noop(3, "app2.contoso.com", "Europe", cApp2, gEurope)},
			},
		},
		{
			name: "same connector by id and by name, different groups",
			rows: []Row{
				{Line: 2, Connector: cApp1, Group: "Europe"},
				{Line: 3, Connector: "app2.contoso.com", Group: "Europe"},
				{Line: 4, Connector: "APP1.contoso.com", Group: "US East"},
			},
			want: []wantChange{
				{Change: bad(2, cApp1, "Europe", cApp1, gEurope), reason: []string{"row 4", `"US East"`}},
				{Change: noop(3, "app2.contoso.com", "Europe", cApp2, gEurope)},
				{Change: bad(4, "APP1.contoso.com", "US East", cApp1, gUSEast), reason: []string{"row 2", `"Europe"`}},
			},
		},
		{
			// The first row keeps naming the row it first clashed with.
			name: "same connector three ways",
			rows: []Row{
				{Line: 2, Connector: cApp1, Group: "Europe"},
				{Line: 3, Connector: "app1.contoso.com", Group: "US East"},
				{Line: 4, Connector: "app1", Group: "Default"},
			},
			want: []wantChange{
				{Change: bad(2, cApp1, "Europe", cApp1, gEurope), reason: []string{"row 3", `"US East"`}},
				{Change: bad(3, "app1.contoso.com", "US East", cApp1, gUSEast), reason: []string{"row 2"}},
				{Change: bad(4, "app1", "Default", cApp1, gDefault), reason: []string{"row 2"}},
			},
		},
		{
			name: "duplicate rows marked by the reader are skipped",
			rows: []Row{
				{Line: 2, Connector: "app1", Group: "Europe"},
				{Line: 3, Connector: "APP1", Group: "europe", Duplicate: true},
			},
			want: []wantChange{{Change: mv(2, "app1", "Europe", cApp1, gEurope)}},
		},
		{
			// The reader already found the row invalid; its reason is kept
			// and the connector is still identified (and so not unmanaged).
			name: "row invalid in the file",
			rows: []Row{
				{Line: 2, Connector: "app1.contoso.com", Group: "Europe", Problem: `connector "app1.contoso.com" is also mapped on row 3 to group "US East": keep one of the two rows`},
				{Line: 3, Connector: "app1.contoso.com", Group: "US East", Problem: `connector "app1.contoso.com" is also mapped on row 2 to group "Europe": keep one of the two rows`},
				{Line: 4, Connector: "", Group: "Europe", Problem: "the connector cell is empty"},
				{Line: 5, Connector: "1234-5678-9abc-def0", Group: "Europe", Problem: "looks like an id but is not a valid GUID"},
			},
			want: []wantChange{
				{Change: bad(2, "app1.contoso.com", "Europe", cApp1, ""), reason: []string{"row 3"}},
				{Change: bad(3, "app1.contoso.com", "US East", cApp1, ""), reason: []string{"row 2"}},
				{Change: bad(4, "", "Europe", "", ""), reason: []string{"the connector cell is empty"}},
				{Change: bad(5, "1234-5678-9abc-def0", "Europe", "", ""), reason: []string{"not a valid GUID"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Build(&Mapping{Rows: tt.rows}, s, Options{})
			if len(p.Changes) < len(tt.want) {
				t.Fatalf("got %d changes, want at least %d: %+v", len(p.Changes), len(tt.want), p.Changes)
			}
			for i, w := range tt.want {
				got := p.Changes[i]
				checkChange(t, i, got, w)
			}
			checkUnmanaged(t, s, p, len(tt.want))
		})
	}
}

func checkChange(t *testing.T, i int, got Change, w wantChange) {
	t.Helper()
	bare := got
	bare.Reason, bare.Warnings = "", nil
	if !reflect.DeepEqual(bare, w.Change) {
		t.Errorf("change %d:\n got %+v\nwant %+v", i, bare, w.Change)
	}
	if (got.Reason != "") != (len(w.reason) > 0) {
		t.Errorf("change %d: reason %q, want one containing %q", i, got.Reason, w.reason)
	}
	for _, frag := range w.reason {
		if !strings.Contains(got.Reason, frag) {
			t.Errorf("change %d: reason %q does not contain %q", i, got.Reason, frag)
		}
	}
	if len(got.Warnings) != len(w.warnings) {
		t.Errorf("change %d: warnings %q, want %d", i, got.Warnings, len(w.warnings))
		return
	}
	for j, frags := range w.warnings {
		for _, frag := range frags {
			if !strings.Contains(got.Warnings[j], frag) {
				t.Errorf("change %d: warning %q does not contain %q", i, got.Warnings[j], frag)
			}
		}
	}
}

// checkUnmanaged: after the first n (mapping) changes come exactly the
// connectors no mapping change identified, by machine name.
func checkUnmanaged(t *testing.T, s *State, p *Plan, n int) {
	t.Helper()
	identified := map[string]bool{}
	for _, c := range p.Changes[:n] {
		if c.ConnectorID != "" {
			identified[c.ConnectorID] = true
		}
	}
	var want []Change
	for _, c := range s.Connectors {
		if !identified[c.ID] {
			want = append(want, Change{ConnectorID: c.ID, MachineName: c.MachineName, ConnectorStatus: c.Status,
				FromGroupID: c.GroupID, FromGroupName: groupName(s, c.GroupID), Action: ActionUnmanaged})
		}
	}
	slices.SortStableFunc(want, func(a, b Change) int {
		return strings.Compare(strings.ToLower(a.MachineName), strings.ToLower(b.MachineName))
	})
	if got := p.Changes[n:]; !reflect.DeepEqual(got, want) {
		t.Errorf("unmanaged:\n got %+v\nwant %+v", got, want)
	}
}

func TestBuildOrder(t *testing.T) {
	s := fixtureState()
	m := &Mapping{Rows: []Row{
		{Line: 2, Connector: "zeta.contoso.com", Group: "Europe"},
		{Line: 3, Connector: "ghost", Group: "Europe"},
		{Line: 5, Connector: "app2", Group: "Europe"},
		{Line: 7, Connector: "app1", Group: "US East"},
	}}
	p := Build(m, s, Options{})
	var got []string
	for _, c := range p.Changes {
		got = append(got, fmt.Sprintf("%d %s %s", c.Row, c.Action, c.MachineName))
	}
	// Mapping rows in file order, then unmanaged connectors by name,
	// case-insensitively (alpha before Beta before db).
	want := []string{
		"2 move zeta.contoso.com",
		"3 invalid ",
		"5 noop app2.contoso.com",
		"7 move app1.contoso.com",
		"0 unmanaged alpha.contoso.com",
		"0 unmanaged app3.contoso.com",
		"0 unmanaged Beta.contoso.com",
		"0 unmanaged db.contoso.com",
		"0 unmanaged db.fabrikam.com",
		"0 unmanaged legacy.contoso.com",
		"0 unmanaged web.contoso.com",
		"0 unmanaged WEB.contoso.com",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order:\n got %q\nwant %q", got, want)
	}
	if got, want := p.Summary(), (Summary{Move: 2, Noop: 1, Invalid: 1, Unmanaged: 8}); got != want {
		t.Errorf("Summary = %+v, want %+v", got, want)
	}
	if got, want := p.Moves(), []int{0, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("Moves = %v, want %v", got, want)
	}
}

func TestSummaryAndMoves(t *testing.T) {
	tests := []struct {
		name    string
		actions []Action
		waves   []int
		summary Summary
		moves   []int
	}{
		{"empty", nil, nil, Summary{}, nil},
		{"no moves", []Action{ActionNoop, ActionInvalid, ActionUnmanaged}, []int{0, 0, 0}, Summary{Noop: 1, Invalid: 1, Unmanaged: 1}, nil},
		{
			name:    "mixed",
			actions: []Action{ActionNoop, ActionMove, ActionInvalid, ActionMove, ActionUnmanaged, ActionUnmanaged},
			waves:   []int{0, 1, 0, 1, 0, 0},
			summary: Summary{Move: 2, Noop: 1, Invalid: 1, Unmanaged: 2},
			moves:   []int{1, 3},
		},
		{
			// Apply order is by wave, file order within a wave.
			name:    "later waves last",
			actions: []Action{ActionMove, ActionMove, ActionNoop, ActionMove, ActionMove},
			waves:   []int{2, 1, 0, 1, 2},
			summary: Summary{Move: 4, Noop: 1},
			moves:   []int{1, 3, 0, 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{}
			for i, a := range tt.actions {
				p.Changes = append(p.Changes, Change{Row: i + 2, Action: a, Wave: tt.waves[i]})
			}
			if got := p.Summary(); got != tt.summary {
				t.Errorf("Summary = %+v, want %+v", got, tt.summary)
			}
			if got := p.Moves(); !reflect.DeepEqual(got, tt.moves) {
				t.Errorf("Moves = %v, want %v", got, tt.moves)
			}
		})
	}
}

// TestBuildDeterministic: the service pages in any order; after SortState
// the plan must not depend on it.
func TestBuildDeterministic(t *testing.T) {
	base := genState(300, 12)
	// Same-name connectors make ties that only the id breaks.
	base.Connectors = append(base.Connectors,
		Connector{ID: "c1000000-0000-4000-8000-000000000002", MachineName: "twin.contoso.com", GroupID: base.Groups[0].ID, Status: StatusActive},
		Connector{ID: "c1000000-0000-4000-8000-000000000001", MachineName: "TWIN.contoso.com", GroupID: base.Groups[1].ID, Status: StatusActive},
	)
	m := &Mapping{Rows: genRows(base, 3)}
	m.Rows = append(m.Rows, Row{Line: len(m.Rows) + 2, Connector: "twin", Group: base.Groups[2].Name})

	var first *Plan
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5 {
		s := &State{Connectors: slices.Clone(base.Connectors), Groups: slices.Clone(base.Groups)}
		rng.Shuffle(len(s.Connectors), func(a, b int) { s.Connectors[a], s.Connectors[b] = s.Connectors[b], s.Connectors[a] })
		rng.Shuffle(len(s.Groups), func(a, b int) { s.Groups[a], s.Groups[b] = s.Groups[b], s.Groups[a] })
		SortState(s)
		p := Build(m, s, Options{})
		if i == 0 {
			first = p
			if sum := p.Summary(); sum.Move == 0 || sum.Noop == 0 || sum.Invalid == 0 {
				t.Fatalf("fixture too plain to show anything: %+v", sum)
			}
			continue
		}
		if !reflect.DeepEqual(p, first) {
			for j := range min(len(p.Changes), len(first.Changes)) {
				if !reflect.DeepEqual(p.Changes[j], first.Changes[j]) {
					t.Fatalf("shuffle %d: change %d differs:\n%+v\n%+v", i, j, p.Changes[j], first.Changes[j])
				}
			}
			t.Fatalf("shuffle %d: plans differ in length: %d, %d", i, len(p.Changes), len(first.Changes))
		}
	}
}

func TestSortState(t *testing.T) {
	s := &State{
		Connectors: []Connector{
			{ID: "3", MachineName: "b"}, {ID: "2", MachineName: "A"}, {ID: "1", MachineName: "a"}, {ID: "0", MachineName: "C"},
		},
		Groups: []Group{{ID: "z", Name: "x"}, {ID: "y", Name: "X"}, {ID: "a", Name: "Default"}},
	}
	SortState(s)
	var conns, groups []string
	for _, c := range s.Connectors {
		conns = append(conns, c.ID)
	}
	for _, g := range s.Groups {
		groups = append(groups, g.ID)
	}
	if want := []string{"1", "2", "3", "0"}; !reflect.DeepEqual(conns, want) {
		t.Errorf("connectors = %v, want %v", conns, want)
	}
	if want := []string{"a", "y", "z"}; !reflect.DeepEqual(groups, want) {
		t.Errorf("groups = %v, want %v", groups, want)
	}
}

// genState makes a tenant of n connectors spread over g groups, in no
// particular order. Shared by the determinism test and the benchmarks.
func genState(n, g int) *State {
	s := &State{Groups: make([]Group, g), Connectors: make([]Connector, n)}
	for i := range s.Groups {
		s.Groups[i] = Group{ID: fmt.Sprintf("9b000000-0000-4000-8000-%012x", i), Name: fmt.Sprintf("Site %05d", i)}
	}
	for i := range s.Connectors {
		status := StatusActive
		if i%17 == 0 {
			status = StatusInactive
		}
		s.Connectors[i] = Connector{
			ID:          fmt.Sprintf("cb000000-0000-4000-8000-%012x", i),
			MachineName: fmt.Sprintf("appproxy-%06d.site%05d.contoso.com", i, i%g),
			Status:      status,
			GroupID:     s.Groups[i%g].ID,
		}
	}
	return s
}

// genRows maps every connector by machine name: every tenth one to the
// next group (a move), every invalidEvery-th to a group that does not
// exist (0: none), the rest where it already is.
func genRows(s *State, invalidEvery int) []Row {
	rows := make([]Row, len(s.Connectors))
	for i, c := range s.Connectors {
		g := i % len(s.Groups)
		if i%10 == 0 {
			g = (g + 1) % len(s.Groups)
		}
		group := s.Groups[g].Name
		if invalidEvery > 0 && i%invalidEvery == 1 {
			group = "No such site"
		}
		rows[i] = Row{Line: i + 2, Connector: c.MachineName, Group: group}
	}
	return rows
}

// Rows built by other code than mapping.Read may carry empty cells without
// a Problem: they are invalid rows, never a panic.
func TestBuildEmptyCellsWithoutProblem(t *testing.T) {
	s := &State{
		Groups:     []Group{{ID: "g1", Name: "One", IsDefault: true}},
		Connectors: []Connector{{ID: "c1", MachineName: "a.contoso.com", Status: StatusActive, GroupID: "g1"}},
	}
	m := &Mapping{Rows: []Row{{Line: 2, Connector: "", Group: "One"}, {Line: 3, Connector: "a.contoso.com", Group: ""}}}
	p := Build(m, s, Options{})
	if got := p.Summary().Invalid; got != 2 {
		t.Fatalf("%d invalid rows, want 2: %+v", got, p.Changes)
	}
	for _, c := range p.Changes[:2] {
		if !strings.Contains(c.Reason, "cell is empty") {
			t.Errorf("row %d: reason %q", c.Row, c.Reason)
		}
	}
}

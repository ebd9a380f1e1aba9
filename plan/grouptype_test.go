package plan

import (
	"errors"
	"strings"
	"testing"
)

// typed is tenant with a connectorGroupType set on some groups, by name.
func typed(groups, connectors string, types map[string]string) *State {
	s := tenant(groups, connectors)
	for i := range s.Groups {
		s.Groups[i].Type = types[s.Groups[i].Name]
	}
	return s
}

// Only an application proxy group (or one of no stated type, as older
// answers send) takes connectors: a row naming a group of any other type,
// syncFabric or a value nobody has seen yet, is invalid and says which
// type the group is.
func TestRowsIntoGroupsOfOtherTypes(t *testing.T) {
	const notTargetTail = " connector group, not an application proxy one: connectors cannot be moved into it"
	for _, tt := range []struct {
		name   string
		typ    string // of the group "Sync agents"
		row    string // the mapping cell naming the group: "name" or "id"
		action Action
		reason string
	}{
		{name: "absent type", typ: "", row: "name", action: ActionMove},
		{name: "explicit applicationProxy", typ: "applicationProxy", row: "name", action: ActionMove},
		{name: "applicationProxy by id", typ: "applicationProxy", row: "id", action: ActionMove},
		{name: "applicationProxy in other case", typ: "ApplicationProxy", row: "name", action: ActionMove},
		{name: "syncFabric", typ: "syncFabric", row: "name", action: ActionInvalid,
			reason: `group "Sync agents" is a syncFabric` + notTargetTail},
		{name: "syncFabric by id", typ: "syncFabric", row: "id", action: ActionInvalid,
			reason: `group "Sync agents" is a syncFabric` + notTargetTail},
		{name: "unknownFutureValue", typ: "unknownFutureValue", row: "name", action: ActionInvalid,
			reason: `group "Sync agents" is an unknownFutureValue` + notTargetTail},
		{name: "an off-list value", typ: "hybridAgent2", row: "name", action: ActionInvalid,
			reason: `group "Sync agents" is a hybridAgent2` + notTargetTail},
		{name: "a value that is no word is quoted", typ: "sync fabric\x1b[2J", row: "name", action: ActionInvalid,
			reason: `group "Sync agents" is a "sync fabric\x1b[2J"` + notTargetTail},
		{name: "raw JSON of a non-string is quoted", typ: "42", row: "name", action: ActionInvalid,
			reason: `group "Sync agents" is a 42` + notTargetTail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := typed("Default! EU+ Sync", "fra1@Default fra2@EU", map[string]string{"Sync": tt.typ})
			for i := range s.Groups {
				if s.Groups[i].Name == "Sync" {
					s.Groups[i].Name = "Sync agents"
				}
			}
			cell := "Sync agents"
			if tt.row == "id" {
				cell = strings.ToUpper(groupID(t, s, "Sync agents"))
			}
			m := &Mapping{Rows: []Row{{Line: 2, Connector: "fra1", Group: cell}, {Line: 3, Connector: "fra2", Group: "Default"}}}
			p := Build(m, s, Options{MinActive: 1})
			got := p.Changes[0]
			if got.Action != tt.action || got.Reason != tt.reason {
				t.Errorf("row 2: %s %q, want %s %q", got.Action, got.Reason, tt.action, tt.reason)
			}
			// The change still names the group, so the report can show it.
			if got.ToGroupID != groupID(t, s, "Sync agents") || got.ToGroupName != "Sync agents" || got.MappedGroup != cell {
				t.Errorf("row 2 names group %q (%s), mapped %q", got.ToGroupName, got.ToGroupID, got.MappedGroup)
			}
			// The other row is planned as ever.
			if other := p.Changes[1]; other.Action != ActionMove || other.Reason != "" {
				t.Errorf("row 3: %s %q, want a move", other.Action, other.Reason)
			}
			wantSummary := Summary{Move: 2}
			if tt.action == ActionInvalid {
				wantSummary = Summary{Move: 1, Invalid: 1}
			}
			if got := p.Summary(); got != wantSummary {
				t.Errorf("Summary = %+v, want %+v", got, wantSummary)
			}
		})
	}
}

// A connector already in a group that takes none is not "already where the
// mapping wants it": the row is invalid all the same, so a mapping that
// names such a group is always flagged.
func TestRowIntoItsOwnSyncFabricGroupIsInvalid(t *testing.T) {
	s := typed("Default! Sync", "fra1@Sync", map[string]string{"Sync": "syncFabric"})
	p := Build(mapping("fra1>Sync"), s, Options{})
	if c := p.Changes[0]; c.Action != ActionInvalid || !strings.Contains(c.Reason, `group "Sync" is a syncFabric connector group`) {
		t.Errorf("got %s %q, want invalid naming the type", c.Action, c.Reason)
	}
}

// A row with a problem of its own and a group of another type gives both
// reasons.
func TestSyncFabricReasonJoinsTheOthers(t *testing.T) {
	s := typed("Default! Sync", "fra1@Default", map[string]string{"Sync": "syncFabric"})
	p := Build(mapping("nosuch>Sync"), s, Options{})
	want := `no connector named "nosuch" in the tenant; group "Sync" is a syncFabric connector group, not an application proxy one: connectors cannot be moved into it`
	if c := p.Changes[0]; c.Action != ActionInvalid || c.Reason != want {
		t.Errorf("got %s %q, want invalid %q", c.Action, c.Reason, want)
	}
}

// --unlisted default idles connectors in the application proxy default
// group. A syncFabric group is the default of its own kind: it is never
// chosen, and it does not make the application proxy one ambiguous.
func TestUnlistedDefaultSkipsOtherTypes(t *testing.T) {
	for _, tt := range []struct {
		name    string
		groups  string
		types   map[string]string
		to      string // where b goes; "" stays unmanaged
		warning bool   // "no single default connector group"
	}{
		{name: "application proxy default next to a syncFabric default", groups: "Default! EU Sync!",
			types: map[string]string{"Sync": "syncFabric"}, to: "Default"},
		{name: "explicit applicationProxy default next to an unknownFutureValue default", groups: "Default! EU Odd!",
			types: map[string]string{"Default": "applicationProxy", "Odd": "unknownFutureValue"}, to: "Default"},
		{name: "only a syncFabric default", groups: "Default EU Sync!",
			types: map[string]string{"Sync": "syncFabric"}, warning: true},
		{name: "two application proxy defaults stay ambiguous", groups: "Default! EU! Sync!",
			types: map[string]string{"Sync": "syncFabric"}, warning: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := typed(tt.groups, "a@EU b@EU", tt.types)
			p := Build(mapping("a>Default"), s, Options{Unlisted: UnlistedDefault})
			var b *Change
			for i := range p.Changes {
				if shortName(p.Changes[i]) == "b" {
					b = &p.Changes[i]
				}
			}
			if b == nil {
				t.Fatalf("no change for b: %+v", p.Changes)
			}
			switch {
			case tt.to == "" && (b.Action != ActionUnmanaged || b.ToGroupID != ""):
				t.Errorf("b: %s to %q, want unmanaged", b.Action, b.ToGroupName)
			case tt.to != "" && (b.Action != ActionMove || b.ToGroupName != tt.to):
				t.Errorf("b: %s to %q, want a move to %s", b.Action, b.ToGroupName, tt.to)
			}
			warned := len(p.Warnings) == 1 && strings.Contains(p.Warnings[0], "no single default connector group")
			if warned != tt.warning || (!tt.warning && len(p.Warnings) > 0) {
				t.Errorf("warnings %q, want the no-default one: %v", p.Warnings, tt.warning)
			}
		})
	}
}

// The type is not in the saved plan's fingerprint (Graph sets it when the
// group is made and it is read-only), yet apply --plan still refuses a
// saved move into a group that takes no connectors: Replan plans the
// moves again and the row comes out invalid.
func TestReplanRefusesMovesIntoOtherTypes(t *testing.T) {
	s, m := savedFixture()
	made := Build(m, s, Options{MinActive: 1})
	sv := claimsOf(made, s)
	now, _ := savedFixture()
	for i := range now.Groups {
		if now.Groups[i].Name == "EU" {
			now.Groups[i].Type = "syncFabric"
		}
	}
	if err := sv.Check(now, graphBeta); err != nil {
		t.Fatalf("Check: %v, want the fingerprint unchanged by the type", err)
	}
	_, err := sv.Replan(now, graphBeta, cliGuards)
	var stale *StaleError
	if !errors.As(err, &stale) || !strings.Contains(err.Error(), `group "EU" is a syncFabric connector group`) {
		t.Errorf("Replan: %v, want a stale plan naming the type", err)
	}
}

func TestGroupIsTarget(t *testing.T) {
	for typ, want := range map[string]bool{
		"": true, "applicationProxy": true, "APPLICATIONPROXY": true,
		"syncFabric": false, "unknownFutureValue": false, "applicationProxy ": false, "null": false,
	} {
		if got := (&Group{Type: typ}).IsTarget(); got != want {
			t.Errorf("IsTarget with type %q = %v, want %v", typ, got, want)
		}
	}
}

// --unlisted default never moves an agent out of a group of another kind
// into the application proxy default group.
func TestUnlistedDefaultLeavesOtherKinds(t *testing.T) {
	s := typed("Default! EU Sync", "a@EU b@Sync", map[string]string{"Sync": "syncFabric"})
	p := Build(mapping("a>EU"), s, Options{Unlisted: UnlistedDefault})
	seen := false
	for _, c := range p.Changes {
		if c.MachineName == "b.contoso.com" {
			seen = true
			if c.Action != ActionUnmanaged || !strings.Contains(c.Reason, "group of another kind") {
				t.Errorf("b: %s %q, want unmanaged, left in its syncFabric group", c.Action, c.Reason)
			}
		}
	}
	if !seen {
		t.Fatal("b is not in the plan")
	}
	if p.Summary().Move != 0 {
		t.Errorf("moves %d, want 0", p.Summary().Move)
	}
}

// An agent in a group of another kind is never moved out of it: its
// back-out could not put it back.
func TestAgentOfAnotherKindIsNotMoved(t *testing.T) {
	s := typed("Default! Sync", "a@Sync", map[string]string{"Sync": "syncFabric"})
	p := Build(mapping("a>Default"), s, Options{})
	if c := p.Changes[0]; c.Action != ActionInvalid || !strings.Contains(c.Reason, "group of another kind") {
		t.Errorf("got %s %q, want invalid", c.Action, c.Reason)
	}
}

// A connector the snapshot shows in no group (Graph replicating a move, or
// a group the snapshot lacks) is never moved, by a mapping row, a drain or
// --unlisted default: its back-out row would name no group to return it to.
func TestConnectorInNoGroupIsNotMoved(t *testing.T) {
	const lost = "e0000000-0000-4000-8000-000000000001"
	for _, tt := range []struct {
		name    string
		groupID string // of connector a
		reason  string // in its change's reason
	}{
		{name: "in no group's member list", groupID: "", reason: "the connector is in no group's member list (Graph may still be replicating a move)"},
		{name: "in a group the snapshot lacks", groupID: lost, reason: `the connector is in group "` + lost + `", which the tenant's list of groups lacks`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			state := func() *State {
				s := tenant("Default! EU+", "a@ b@EU c@EU")
				connByName(t, s, "a").GroupID = tt.groupID
				return s
			}
			dm, err := DrainMapping([]string{"a.contoso.com"}, state())
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range []struct {
				name   string
				m      *Mapping
				opts   Options
				action Action
				reason string
			}{
				{name: "mapping row", m: mapping("a>EU"), opts: Options{Unlisted: UnlistedIgnore}, action: ActionInvalid,
					reason: tt.reason + ": it is not moved, as its back-out could not return it; plan again once Graph lists it in its group"},
				{name: "mapping row into the default group", m: mapping("a>Default"), opts: Options{Unlisted: UnlistedIgnore}, action: ActionInvalid,
					reason: tt.reason + ": it is not moved"},
				{name: "drain", m: dm, opts: Options{Unlisted: UnlistedIgnore}, action: ActionInvalid,
					reason: tt.reason + ": it is not moved"},
				{name: "--unlisted default", m: mapping("b>EU c>EU"), opts: Options{Unlisted: UnlistedDefault}, action: ActionUnmanaged,
					reason: "not in the mapping: left where it is, as " + tt.reason + " and its back-out could not return it"},
			} {
				t.Run(run.name, func(t *testing.T) {
					s := state()
					p := Build(run.m, s, run.opts)
					var a *Change
					for i := range p.Changes {
						if shortName(p.Changes[i]) == "a" {
							a = &p.Changes[i]
						}
					}
					if a == nil {
						t.Fatalf("no change for a: %+v", p.Changes)
					}
					if a.Action != run.action || !strings.Contains(a.Reason, run.reason) || a.Wave != 0 || a.FromGroupID != tt.groupID {
						t.Errorf("a: %s (wave %d, from %q) %q, want %s %q", a.Action, a.Wave, a.FromGroupID, a.Reason, run.action, run.reason)
					}
					if n := p.Summary().Move; n != 0 {
						t.Errorf("%d moves, want none: %+v", n, p.Changes)
					}
				})
			}
		})
	}
}

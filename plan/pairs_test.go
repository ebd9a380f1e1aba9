package plan

import (
	"strings"
	"testing"
)

// TestBuildIDAndName covers a mapping that names the connector, or the
// group, both by id and by name (an export): the row is used when both
// name the same one, and invalid, naming both values and what each
// resolves to, when they do not.
func TestBuildIDAndName(t *testing.T) {
	tests := []struct {
		name      string
		row       Row
		action    Action
		toGroup   string
		reason    []string
		mentioned []string // connectors that must not be unmanaged
	}{
		{name: "connector id and name agree", row: Row{Connector: cApp1, ConnectorAlt: "app1.contoso.com", Group: "Europe"},
			action: ActionMove, toGroup: gEurope},
		{name: "name and braced upper-case id agree", row: Row{Connector: "APP1.contoso.com", ConnectorAlt: "{" + strings.ToUpper(cApp1) + "}", Group: "Europe"},
			action: ActionMove, toGroup: gEurope},
		{name: "group id and name agree", row: Row{Connector: cApp1, Group: gEurope, GroupAlt: "europe"},
			action: ActionMove, toGroup: gEurope},
		{name: "connector id and name disagree", row: Row{Connector: cApp1, ConnectorAlt: "app2.contoso.com", Group: "Europe"},
			action: ActionInvalid, mentioned: []string{cApp1, cApp2},
			reason: []string{"connectorId and machineName cells name different connectors", "connectorId \"" + cApp1 + "\" is app1.contoso.com (" + cApp1 + ")",
				"but machineName \"app2.contoso.com\" is app2.contoso.com (" + cApp2 + ")", "correct one of them"}},
		{name: "connector name unknown", row: Row{Connector: cApp1, ConnectorAlt: "gone.contoso.com", Group: "Europe"},
			action: ActionInvalid, mentioned: []string{cApp1},
			reason: []string{"machineName \"gone.contoso.com\" resolves to none (no connector named \"gone.contoso.com\" in the tenant)"}},
		{name: "connector id unknown, name known", row: Row{Connector: "c0000000-0000-4000-8000-0000000000ff", ConnectorAlt: "app2.contoso.com", Group: "Europe"},
			action: ActionInvalid, mentioned: []string{cApp2},
			reason: []string{"resolves to none (no connector with id", "machineName \"app2.contoso.com\" is app2.contoso.com"}},
		{name: "group id and name disagree", row: Row{Connector: cApp1, Group: gEurope, GroupAlt: "US East"},
			action: ActionInvalid, mentioned: []string{cApp1},
			reason: []string{"connectorGroupId and connectorGroup cells name different connector groups", "is Europe (" + gEurope + ")", "is US East (" + gUSEast + ")"}},
		// A name two groups (or connectors) share, beside the id of one of
		// them, is that one: an export of a tenant with a reinstalled
		// connector must read back.
		{name: "group name shared, beside the id of one", row: Row{Connector: cApp1, Group: gLegacy2, GroupAlt: "legacy"},
			action: ActionMove, toGroup: gLegacy2},
		{name: "shared group name first, the id second", row: Row{Connector: cApp1, Group: "Legacy", GroupAlt: gLegacy1},
			action: ActionMove, toGroup: gLegacy1},
		{name: "shared group name beside another group's id", row: Row{Connector: cApp1, Group: gEurope, GroupAlt: "legacy"},
			action: ActionInvalid, reason: []string{"connector group name \"legacy\" is ambiguous", "is Europe ("}},
		{name: "machine name shared, beside the id of one", row: Row{Connector: cWeb2, ConnectorAlt: "web.contoso.com", Group: "US East"},
			action: ActionMove, toGroup: gUSEast},
		{name: "shared machine name first, the id second", row: Row{Connector: "web.contoso.com", ConnectorAlt: cWeb1, Group: "US East"},
			action: ActionMove, toGroup: gUSEast},
		{name: "host part beside the id", row: Row{Connector: cDB2, ConnectorAlt: "DB", Group: "Europe"},
			action: ActionMove, toGroup: gEurope},
		{name: "shared machine name beside another connector's id", row: Row{Connector: cApp1, ConnectorAlt: "web.contoso.com", Group: "Europe"},
			action: ActionInvalid, mentioned: []string{cApp1}, reason: []string{"is ambiguous", "is app1.contoso.com ("}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixtureState()
			row := tt.row
			row.Line = 2
			m := &Mapping{ConnectorHeader: "connectorId", ConnectorAltHeader: "machineName", GroupHeader: "connectorGroupId", GroupAltHeader: "connectorGroup", Rows: []Row{row}}
			p := Build(m, s, Options{Unlisted: UnlistedDefault})
			ch := p.Changes[0]
			if ch.Action != tt.action {
				t.Fatalf("action %s (%s), want %s", ch.Action, ch.Reason, tt.action)
			}
			if tt.toGroup != "" && ch.ToGroupID != tt.toGroup {
				t.Errorf("to %s, want %s", ch.ToGroupID, tt.toGroup)
			}
			for _, r := range tt.reason {
				if !strings.Contains(ch.Reason, r) {
					t.Errorf("reason %q lacks %q", ch.Reason, r)
				}
			}
			// With --unlisted default, a connector the row names either
			// way is never moved to the default group as unlisted.
			for _, id := range tt.mentioned {
				for _, c := range p.Changes[1:] {
					if c.ConnectorID == id {
						t.Errorf("connector %s, named by the invalid row, is also planned as unlisted: %s", id, c.Action)
					}
				}
			}
		})
	}
}

// TestASCIIHint: a name with "?" that matches nothing says what Windows
// PowerShell's default encoding does to letters outside ASCII; one without
// does not.
func TestASCIIHint(t *testing.T) {
	s := fixtureState()
	m := &Mapping{Rows: []Row{
		{Line: 2, Connector: "app1.contoso.com", Group: "Z?rich"},
		{Line: 3, Connector: "m?nchen.contoso.com", Group: "Europe"},
		{Line: 4, Connector: "app2.contoso.com", Group: "Zurich"},
	}}
	p := Build(m, s, Options{})
	for i, want := range []bool{true, true, false} {
		ch := p.Changes[i]
		if ch.Action != ActionInvalid {
			t.Fatalf("row %d: %s, want invalid", ch.Row, ch.Action)
		}
		if got := strings.Contains(ch.Reason, "Export-Csv could not write in ASCII"); got != want {
			t.Errorf("row %d reason %q: hint %v, want %v", ch.Row, ch.Reason, got, want)
		}
	}
}

// A name the service holds with white space around it is found by the
// trimmed cell a mapping reader gives for it: an export must read back.
func TestNamesWithSurroundingSpace(t *testing.T) {
	s := fixtureState()
	s.Connectors[0].MachineName = " app1.contoso.com\u00a0"
	s.Groups[1].Name = "\u200bEurope "
	p := Build(mapping("app1.contoso.com>Europe"), s, Options{})
	if c := p.Changes[0]; c.Action != ActionMove || c.ConnectorID != cApp1 || c.ToGroupName != s.Groups[1].Name {
		t.Fatalf("got %s %s → %q (%s), want app1 moved to Europe", c.Action, c.ConnectorID, c.ToGroupName, c.Reason)
	}
}

// The host part of a machine name agrees with its id only when no
// connector has that text as its whole name: then the cell names that one.
func TestHostPartThatIsAnotherName(t *testing.T) {
	s := fixtureState()
	s.Connectors = append(s.Connectors, Connector{ID: "c0000000-0000-4000-8000-0000000000ee", MachineName: "app1", Status: StatusActive, GroupID: gEurope})
	m := &Mapping{Rows: []Row{{Line: 2, Connector: cApp1, ConnectorAlt: "app1", Group: "Europe"}}}
	p := Build(m, s, Options{Unlisted: UnlistedDefault})
	if c := p.Changes[0]; c.Action != ActionInvalid || !strings.Contains(c.Reason, "name different connectors") {
		t.Errorf("got %s %q, want the disagreement", c.Action, c.Reason)
	}
	for _, c := range p.Changes[1:] {
		if c.MachineName == "app1" && c.Action == ActionMove {
			t.Errorf("app1, named by the row, is moved as unlisted")
		}
	}
}

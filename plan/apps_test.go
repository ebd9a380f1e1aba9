package plan

import (
	"strings"
	"testing"
)

// TestApplicationRows covers how an application mapping's rows become
// changes: an application named by object id, appId or display name; a
// name two applications share (the candidates named); cells that
// disagree; unknown applications and groups; a group connectors are not
// moved into; the same application on two rows.
func TestApplicationRows(t *testing.T) {
	s := tenant("Default! EU+ US", "fra1@EU fra2@EU sea1@US sea2@US")
	payroll := Application{ID: "a0000000-0000-4000-8000-000000000001", AppID: "b0000000-0000-4000-8000-000000000001", DisplayName: "Payroll"}
	wiki1 := Application{ID: "a0000000-0000-4000-8000-000000000002", AppID: "b0000000-0000-4000-8000-000000000002", DisplayName: "Wiki"}
	wiki2 := Application{ID: "a0000000-0000-4000-8000-000000000003", AppID: "b0000000-0000-4000-8000-000000000003", DisplayName: "wiki"}
	eu := -1
	for i := range s.Groups {
		if s.Groups[i].Name == "EU" {
			eu = i
		}
	}
	s.Groups[eu].Applications = []Application{payroll, wiki1, wiki2}
	tests := []struct {
		name   string
		rows   []Row
		action []Action
		reason []string // substrings of the first change's reason
	}{
		{"by object id", []Row{{Connector: payroll.ID, Group: "US"}}, []Action{ActionMove}, nil},
		{"by appId, braced upper case", []Row{{Connector: "{" + strings.ToUpper(payroll.AppID) + "}", Group: "US"}}, []Action{ActionMove}, nil},
		{"by display name, any case", []Row{{Connector: "PAYROLL", Group: "US"}}, []Action{ActionMove}, nil},
		{"already there", []Row{{Connector: "Payroll", Group: "EU"}}, []Action{ActionNoop}, nil},
		{"ambiguous name lists the candidates", []Row{{Connector: "Wiki", Group: "US"}}, []Action{ActionInvalid},
			[]string{"ambiguous", wiki1.ID, wiki2.ID, "use the object id"}},
		{"shared name beside one's id", []Row{{Connector: wiki2.ID, ConnectorAlt: "Wiki", Group: "US"}}, []Action{ActionMove}, nil},
		{"id and name disagree", []Row{{Connector: payroll.ID, ConnectorAlt: "Mail", Group: "US"}}, []Action{ActionInvalid}, []string{"Mail"}},
		{"unknown application", []Row{{Connector: "Mail", Group: "US"}}, []Action{ActionInvalid}, []string{"no application named \"Mail\""}},
		{"unknown id", []Row{{Connector: "a0000000-0000-4000-8000-0000000000ff", Group: "US"}}, []Action{ActionInvalid}, []string{"no application with object id or appId"}},
		{"unknown group", []Row{{Connector: "Payroll", Group: "Asia"}}, []Action{ActionInvalid}, []string{"Asia"}},
		{"empty group cell", []Row{{Connector: "Payroll"}}, []Action{ActionInvalid}, []string{"group cell is empty"}},
		{"a problem the reader found", []Row{{Connector: "Payroll", Group: "US", Problem: "column 2 holds a formula"}}, []Action{ActionInvalid}, []string{"formula"}},
		{"two groups for one application", []Row{{Connector: "Payroll", Group: "US"}, {Connector: payroll.AppID, Group: "Default"}},
			[]Action{ActionInvalid, ActionInvalid}, []string{"also mapped on row 3"}},
		{"the same group twice counts once", []Row{{Connector: "Payroll", Group: "US"}, {Connector: payroll.ID, Group: "us"}}, []Action{ActionMove}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apps := &Mapping{}
			for i, r := range tt.rows {
				r.Line = i + 2
				apps.Rows = append(apps.Rows, r)
			}
			p := BuildWithApps(&Mapping{}, apps, s, Options{Unlisted: UnlistedIgnore, MinActive: 1})
			var got []Change
			for _, c := range p.Changes {
				if c.IsApplication() {
					got = append(got, c)
				}
			}
			if len(got) != len(tt.action) {
				t.Fatalf("%d application changes, want %d: %+v", len(got), len(tt.action), got)
			}
			for i, c := range got {
				if c.Action != tt.action[i] {
					t.Errorf("change %d: %s (%s), want %s", i, c.Action, c.Reason, tt.action[i])
				}
				if c.KindName() != KindApplication || c.ConnectorID != "" {
					t.Errorf("change %d: kind %q, connector %q", i, c.KindName(), c.ConnectorID)
				}
			}
			for _, want := range tt.reason {
				if !strings.Contains(got[0].Reason, want) {
					t.Errorf("reason %q lacks %q", got[0].Reason, want)
				}
			}
			if got[0].Action == ActionMove && (got[0].ApplicationID == "" || got[0].FromGroupName != "EU" || got[0].ToGroupName != "US" || got[0].Wave < 1) {
				t.Errorf("move %+v: want the application's ids, EU to US, and a wave", got[0])
			}
		})
	}
}

// TestMaxChangesCountsBothKinds: --max-changes is over connectors' and
// applications' moves together.
func TestMaxChangesCountsBothKinds(t *testing.T) {
	s := tenant("Default! EU+ US", "fra1@EU fra2@EU sea1@US sea2@US")
	m, apps := mapping("sea1>EU"), appsOf("EU_app_1>US")
	for _, tt := range []struct {
		max     int
		refused bool
	}{{1, true}, {2, false}} {
		p := BuildWithApps(m, apps, s, Options{Unlisted: UnlistedIgnore, MinActive: 1, MaxChanges: tt.max})
		if got := hasGuard(p, GuardMaxChanges); got != tt.refused {
			t.Errorf("--max-changes %d: refused %v, want %v (%+v)", tt.max, got, tt.refused, p.Refusals)
		}
	}
}

// TestSiteMigrationOrder: the applications of a site move to a new group
// only after its new connectors have arrived, and the old connectors
// leave only after the applications have gone.
func TestSiteMigrationOrder(t *testing.T) {
	s := tenant("Default! Old+2 New", "o1@Old o2@Old n1@Default n2@Default")
	p := BuildWithApps(mapping("n1>New n2>New o1>Default o2>Default"), appsOf("Old_app_1>New Old_app_2>New"), s,
		Options{Unlisted: UnlistedIgnore, MinActive: 2})
	if p.Refused() {
		t.Fatalf("refused: %+v", p.Refusals)
	}
	wave := map[string]int{}
	for _, c := range p.Changes {
		wave[c.ObjectName()] = c.Wave
	}
	newIn, appsAt, oldOut := max(wave["n1.contoso.com"], wave["n2.contoso.com"]), wave["Old app 1"], min(wave["o1.contoso.com"], wave["o2.contoso.com"])
	if wave["Old app 2"] != appsAt || !(newIn < appsAt && appsAt < oldOut) {
		t.Errorf("waves %v: want new connectors, then the applications, then the old connectors", wave)
	}
}

// TestWriteTextApplications: the plan's text names an application's move
// as an application, and an invalid --apps row as that file's.
func TestWriteTextApplications(t *testing.T) {
	s := tenant("Default! Old+ New", "o1@Old n1@Default")
	p := BuildWithApps(mapping("n1>New o1>Default"), appsOf("Old_app_1>New Nope>New"), s, Options{Unlisted: UnlistedIgnore, MinActive: 1})
	var buf strings.Builder
	if err := WriteText(&buf, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"~ application Old app 1", "~ n1.contoso.com", "! --apps row 3:", `no application named "Nope"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
}

// An application row into a group of another type is invalid, saying
// applications are not assigned to it.
func TestApplicationIntoGroupOfAnotherType(t *testing.T) {
	s := typed("Default! EU+ Sync", "fra1@EU", map[string]string{"Sync": "syncFabric"})
	p := BuildWithApps(&Mapping{}, appsOf("EU_app_1>Sync"), s, Options{Unlisted: UnlistedIgnore, MinActive: 1})
	c := p.Changes[len(p.Changes)-1]
	if c.Action != ActionInvalid || !strings.Contains(c.Reason, "syncFabric connector group, not an application proxy one: applications are not assigned to it") {
		t.Errorf("%s %q, want invalid: applications are not assigned to it", c.Action, c.Reason)
	}
}

package graph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connrecon/internal/graphsim"
	"connrecon/plan"
)

// A group's connectorGroupType comes through as sent: syncFabric,
// unknownFutureValue or any other value. None of them fails the read;
// absent or null reads as "" (an application proxy group, as older answers
// are), and a value that is not even a string is kept as its JSON text,
// which makes the group no move target.
func TestSnapshotReadsConnectorGroupType(t *testing.T) {
	groups := `{"value":[
		{"id":"g1","name":"Proxy","isDefault":true,"region":"eur","connectorGroupType":"applicationProxy"},
		{"id":"g2","name":"Sync agents","isDefault":true,"connectorGroupType":"syncFabric"},
		{"id":"g3","name":"Future","isDefault":false,"connectorGroupType":"unknownFutureValue"},
		{"id":"g4","name":"Old","isDefault":false},
		{"id":"g5","name":"Null","isDefault":false,"connectorGroupType":null},
		{"id":"g6","name":"Number","isDefault":false,"connectorGroupType":7},
		{"id":"g7","name":"Object","isDefault":false,"connectorGroupType":{"kind":"syncFabric","padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}
	]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/applicationProxy/connectors"):
			w.Write([]byte(`{"value":[{"id":"c1","machineName":"a.contoso.com","status":"active"}]}`))
		case strings.HasSuffix(r.URL.Path, "/applicationProxy/connectorGroups"):
			w.Write([]byte(groups))
		case strings.HasSuffix(r.URL.Path, "/connectorGroups/g1/members"):
			w.Write([]byte(`{"value":[{"id":"c1"}]}`))
		default:
			w.Write([]byte(`{"value":[]}`))
		}
	}))
	defer srv.Close()
	c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "test-token"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	want := map[string]struct {
		typ    string
		target bool
	}{
		"Proxy":       {"applicationProxy", true},
		"Sync agents": {"syncFabric", false},
		"Future":      {"unknownFutureValue", false},
		"Old":         {"", true},
		"Null":        {"", true},
		"Number":      {"7", false},
		"Object":      {`{"kind":"syncFabric","padding":"xxxxxxxx…`, false},
	}
	if len(s.Groups) != len(want) {
		t.Fatalf("%d groups, want %d: %+v", len(s.Groups), len(want), s.Groups)
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		w, ok := want[g.Name]
		if !ok || g.Type != w.typ || g.IsTarget() != w.target {
			t.Errorf("group %s: type %q (target %v), want %q (target %v)", g.Name, g.Type, g.IsTarget(), w.typ, w.target)
		}
	}

	// What the planner makes of it: the syncFabric group is no target and
	// not the default for --unlisted default, though it has isDefault too.
	m := &plan.Mapping{Rows: []plan.Row{{Line: 2, Connector: "a", Group: "Sync agents"}}}
	p := plan.Build(m, s, plan.Options{})
	if ch := p.Changes[0]; ch.Action != plan.ActionInvalid || !strings.Contains(ch.Reason, `group "Sync agents" is a syncFabric connector group`) {
		t.Errorf("row into the syncFabric group: %s %q, want invalid naming the type", ch.Action, ch.Reason)
	}
	p = plan.Build(&plan.Mapping{}, s, plan.Options{Unlisted: plan.UnlistedDefault})
	if ch := p.Changes[0]; ch.Action != plan.ActionNoop || ch.ToGroupName != "Proxy" || len(p.Warnings) != 0 {
		t.Errorf("--unlisted default: %s into %q, warnings %q; want a noop in Proxy", ch.Action, ch.ToGroupName, p.Warnings)
	}
}

// The simulator's groups come through with their type: the tenant file's
// when it names one, applicationProxy (as before) when it does not.
func TestSnapshotReadsSimulatedGroupType(t *testing.T) {
	tn := sampleTenant(t)
	tn.Groups[1].ConnectorGroupType = "syncFabric"
	f := newFixture(t, tn, graphsim.Options{}, Config{})
	s, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range s.Groups {
		want := "applicationProxy"
		if g.ID == tn.Groups[1].ID {
			want = "syncFabric"
		}
		if g.Type != want {
			t.Errorf("group %s: type %q, want %q", g.Name, g.Type, want)
		}
	}
}

package graphsim

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// A tenant file's group may name its connectorGroupType; the simulator
// serves it as written, off-list values included, and applicationProxy
// (its answer before the field existed) for a group that names none.
func TestGroupObjectServesConnectorGroupType(t *testing.T) {
	ten := fixture(t)
	types := map[string]string{gUS: "", gEU: "syncFabric", gJP: "unknownFutureValue", gDefault: "applicationProxy"}
	for i := range ten.Groups {
		ten.Groups[i].ConnectorGroupType = types[ten.Groups[i].ID]
	}
	want := map[string]string{gUS: "applicationProxy", gEU: "syncFabric", gJP: "unknownFutureValue", gDefault: "applicationProxy"}
	srv := httptest.NewServer(New(ten, Options{}))
	t.Cleanup(srv.Close)
	h := &harness{t: t, srv: srv, client: srv.Client()}

	for _, path := range []string{"/connectorGroups", "/connectorGroups?$select=name,connectorGroupType"} {
		r := h.do("GET", base+path, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		p := decode[page](t, r)
		if len(p.Value) != len(want) {
			t.Fatalf("%s: %d groups, want %d", path, len(p.Value), len(want))
		}
		for _, g := range p.Value {
			id, _ := g["id"].(string)
			if g["connectorGroupType"] != want[id] {
				t.Errorf("%s: group %s connectorGroupType %v, want %s", path, id, g["connectorGroupType"], want[id])
			}
		}
	}
	for id, typ := range want {
		m := decode[map[string]any](t, h.do("GET", base+"/connectorGroups/"+id, nil))
		if m["connectorGroupType"] != typ {
			t.Errorf("group %s: connectorGroupType %v, want %s", id, m["connectorGroupType"], typ)
		}
	}
	// memberOf serves the same object.
	p := decode[page](t, h.do("GET", base+"/connectors/"+c3+"/memberOf", nil))
	if len(p.Value) != 1 || p.Value[0]["connectorGroupType"] != "syncFabric" {
		t.Errorf("memberOf of a connector in the syncFabric group: %v", p.Value)
	}
}

// The field is part of the tenant file format: a file naming it loads
// (files are read strictly), and a tenant without it writes no such key.
func TestTenantFileConnectorGroupType(t *testing.T) {
	const file = `{"groups":[
		{"id":"g1","name":"Default","isDefault":true,"region":"","applications":[]},
		{"id":"g2","name":"Sync agents","isDefault":false,"region":"","connectorGroupType":"syncFabric","applications":[]}
	],"connectors":[]}`
	ten, err := LoadTenant(strings.NewReader(file))
	if err != nil {
		t.Fatalf("LoadTenant: %v", err)
	}
	if ten.Groups[0].ConnectorGroupType != "" || ten.Groups[1].ConnectorGroupType != "syncFabric" {
		t.Errorf("types %q, %q; want \"\", syncFabric", ten.Groups[0].ConnectorGroupType, ten.Groups[1].ConnectorGroupType)
	}
	b, err := json.Marshal(ten.Groups[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "connectorGroupType") {
		t.Errorf("a group without a type marshals as %s", b)
	}
	if c := ten.Clone(); c.Groups[1].ConnectorGroupType != "syncFabric" {
		t.Errorf("Clone lost the type: %+v", c.Groups[1])
	}
}

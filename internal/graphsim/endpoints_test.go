package graphsim

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestReadEndpoints(t *testing.T) {
	h := newHarness(t, Options{Token: testToken})
	root := h.srv.URL + "/beta"
	meta := root + "/$metadata#onPremisesPublishingProfiles('applicationProxy')"
	tests := []struct {
		name    string
		path    string
		context string
		key     string   // property listed in wantIDs
		wantIDs []string // nil for a single entity
		check   func(t *testing.T, r result)
	}{
		{name: "connectors", path: "/connectors", context: meta + "/connectors", key: "id", wantIDs: allConnectors,
			check: func(t *testing.T, r result) {
				p := decode[page](t, r)
				want := map[string]any{"id": c4, "machineName": "px-eu-02.contoso.com", "externalIp": "198.51.100.22", "status": "inactive", "version": "1.5.2846.0"}
				if fmt.Sprint(p.Value[3]) != fmt.Sprint(want) {
					t.Errorf("connector object %v, want %v", p.Value[3], want)
				}
			}},
		{name: "connector", path: "/connectors/" + c1, context: meta + "/connectors/$entity",
			check: func(t *testing.T, r result) {
				m := decode[map[string]any](t, r)
				if m["id"] != c1 || m["machineName"] != "px-us-01.contoso.com" || m["status"] != "active" || len(m) != 6 {
					t.Errorf("connector %v", m)
				}
			}},
		{name: "connector id case-insensitive", path: "/connectors/" + strings.ToUpper(c1), context: meta + "/connectors/$entity"},
		{name: "memberOf", path: "/connectors/" + c1 + "/memberOf", context: meta + "/connectors('" + c1 + "')/memberOf", key: "id", wantIDs: []string{gUS}},
		{name: "memberOf of a connector with empty group", path: "/connectors/" + c6 + "/memberOf", context: meta + "/connectors('" + c6 + "')/memberOf", key: "id", wantIDs: []string{gDefault}},
		{name: "memberOf $ref", path: "/connectors/" + c5 + "/memberOf/$ref", context: root + "/$metadata#Collection($ref)", key: "@odata.id",
			wantIDs: []string{root + "/onPremisesPublishingProfiles/applicationProxy/connectorGroups/" + gJP}},
		{name: "groups", path: "/connectorGroups", context: meta + "/connectorGroups", key: "id", wantIDs: []string{gDefault, gUS, gEU, gJP},
			check: func(t *testing.T, r result) {
				p := decode[page](t, r)
				want := map[string]any{"id": gJP, "name": "Tokyo", "connectorGroupType": "applicationProxy", "isDefault": false, "region": "japan"}
				if fmt.Sprint(p.Value[3]) != fmt.Sprint(want) {
					t.Errorf("group object %v, want %v", p.Value[3], want)
				}
				if p.Value[0]["isDefault"] != true {
					t.Errorf("default group %v", p.Value[0])
				}
			}},
		{name: "group", path: "/connectorGroups/" + gEU, context: meta + "/connectorGroups/$entity",
			check: func(t *testing.T, r result) {
				m := decode[map[string]any](t, r)
				if m["name"] != "Web-EU" || m["region"] != "eur" || m["connectorGroupType"] != "applicationProxy" {
					t.Errorf("group %v", m)
				}
			}},
		{name: "members", path: "/connectorGroups/" + gUS + "/members", context: meta + "/connectorGroups('" + gUS + "')/members", key: "id", wantIDs: []string{c1, c2}},
		{name: "members of default", path: "/connectorGroups/" + gDefault + "/members", context: meta + "/connectorGroups('" + gDefault + "')/members", key: "id", wantIDs: []string{c6, c7, c8}},
		{name: "members $ref", path: "/connectorGroups/" + gEU + "/members/$ref", context: root + "/$metadata#Collection($ref)", key: "@odata.id",
			wantIDs: []string{root + "/onPremisesPublishingProfiles/applicationProxy/connectors/" + c3, root + "/onPremisesPublishingProfiles/applicationProxy/connectors/" + c4}},
		{name: "members %24ref", path: "/connectorGroups/" + gEU + "/members/%24ref", context: root + "/$metadata#Collection($ref)", key: "@odata.id",
			wantIDs: []string{root + "/onPremisesPublishingProfiles/applicationProxy/connectors/" + c3, root + "/onPremisesPublishingProfiles/applicationProxy/connectors/" + c4}},
		{name: "empty members", path: "/connectorGroups/" + gJP + "/applications", context: meta + "/connectorGroups('" + gJP + "')/applications", key: "id", wantIDs: []string{}},
		{name: "applications", path: "/connectorGroups/" + gUS + "/applications", context: meta + "/connectorGroups('" + gUS + "')/applications", key: "displayName",
			wantIDs: []string{"Intranet", "Timesheets", "Wiki"},
			check: func(t *testing.T, r result) {
				p := decode[page](t, r)
				if p.Value[0]["appId"] != "0d000000-0000-4000-8000-000000000001" || len(p.Value[0]) != 3 {
					t.Errorf("application %v", p.Value[0])
				}
			}},
		{name: "segments case-insensitive", path: "/CONNECTORGROUPS/" + gUS + "/Members", context: meta + "/connectorGroups('" + gUS + "')/members", key: "id", wantIDs: []string{c1, c2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("GET", base+tt.path, nil)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			m := decode[map[string]any](t, r)
			if m["@odata.context"] != tt.context {
				t.Errorf("@odata.context %q, want %q", m["@odata.context"], tt.context)
			}
			if tt.wantIDs != nil {
				p := decode[page](t, r)
				if p.Value == nil {
					t.Fatalf("no value array: %s", r.body)
				}
				if got := ids(p, tt.key); !slices.Equal(got, tt.wantIDs) && !(len(got) == 0 && len(tt.wantIDs) == 0) {
					t.Errorf("got %v, want %v", got, tt.wantIDs)
				}
				if p.NextLink != "" {
					t.Errorf("unexpected nextLink %s", p.NextLink)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestNotFoundAndBadPaths(t *testing.T) {
	h := newHarness(t, Options{})
	nf := func(id string) string {
		return "Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."
	}
	const missing = "ffffffff-0000-4000-8000-000000000000"
	tests := []struct {
		name, method, path string
		body               []byte
		status             int
		code, message      string
		allow              string
	}{
		{"connector", "GET", base + "/connectors/" + missing, nil, 404, "Request_ResourceNotFound", nf(missing), ""},
		{"connector memberOf", "GET", base + "/connectors/" + missing + "/memberOf", nil, 404, "Request_ResourceNotFound", nf(missing), ""},
		{"group", "GET", base + "/connectorGroups/" + missing, nil, 404, "Request_ResourceNotFound", nf(missing), ""},
		{"group members", "GET", base + "/connectorGroups/" + missing + "/members", nil, 404, "Request_ResourceNotFound", nf(missing), ""},
		{"group members ref", "GET", base + "/connectorGroups/" + missing + "/members/$ref", nil, 404, "Request_ResourceNotFound", nf(missing), ""},
		{"group applications", "GET", base + "/connectorGroups/" + missing + "/applications", nil, 404, "Request_ResourceNotFound", nf(missing), ""},
		{"move into unknown group", "POST", base + "/connectorGroups/" + missing + "/members/$ref", refBody("connectors", c1), 404, "Request_ResourceNotFound", nf(missing), ""},
		{"move unknown connector", "POST", base + "/connectorGroups/" + gUS + "/members/$ref", refBody("connectors", missing), 404, "Request_ResourceNotFound", nf(missing), ""},
		{"memberOf move unknown connector", "POST", base + "/connectors/" + missing + "/memberOf/$ref", refBody("connectorGroups", gUS), 404, "Request_ResourceNotFound", nf(missing), ""},
		{"memberOf move unknown group", "POST", base + "/connectors/" + c1 + "/memberOf/$ref", refBody("connectorGroups", missing), 404, "Request_ResourceNotFound", nf(missing), ""},
		{"unknown segment", "GET", base + "/connectors/" + c1 + "/owners", nil, 404, "Request_UnsupportedQuery", "Resource not found for the segment 'owners'.", ""},
		{"unknown collection", "GET", base + "/agents", nil, 404, "Request_UnsupportedQuery", "Resource not found for the segment 'agents'.", ""},
		{"other profile", "GET", "/beta/onPremisesPublishingProfiles/provisioning/connectors", nil, 404, "Request_UnsupportedQuery", "", ""},
		{"v1.0", "GET", "/v1.0/onPremisesPublishingProfiles/applicationProxy/connectors", nil, 404, "Request_UnsupportedQuery", "", ""},
		{"root", "GET", "/", nil, 404, "Request_UnsupportedQuery", "", ""},
		{"POST on a read-only collection", "POST", base + "/connectors", []byte(`{}`), 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.", "GET"},
		{"DELETE on members $ref", "DELETE", base + "/connectorGroups/" + gUS + "/members/$ref", nil, 405, "Request_BadRequest", "", "GET, POST"},
		{"POST on members", "POST", base + "/connectorGroups/" + gUS + "/members", refBody("connectors", c1), 405, "Request_BadRequest", "", "GET"},
		{"PATCH group", "PATCH", base + "/connectorGroups/" + gUS, []byte(`{"name":"x"}`), 405, "Request_BadRequest", "", "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, tt.body)
			wantError(t, r, tt.status, tt.code, tt.message)
			if tt.allow != "" && r.header.Get("Allow") != tt.allow {
				t.Errorf("Allow %q, want %q", r.header.Get("Allow"), tt.allow)
			}
		})
	}
	if h.sim.Moves() != 0 {
		t.Errorf("%d moves applied by failing requests", h.sim.Moves())
	}
}

// followAll follows nextLinks verbatim until there is none.
func followAll(t *testing.T, h *harness, first, key string) (got []string, pages int, links []string) {
	t.Helper()
	next := first
	for next != "" {
		if pages++; pages > 50 {
			t.Fatal("too many pages")
		}
		r := h.do("GET", next, nil)
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", next, r.status, r.body)
		}
		p := decode[page](t, r)
		got = append(got, ids(p, key)...)
		next = p.NextLink
		if next != "" {
			links = append(links, next)
		}
	}
	return got, pages, links
}

func TestPaging(t *testing.T) {
	h := newHarness(t, Options{})
	root := h.srv.URL + "/beta/onPremisesPublishingProfiles/applicationProxy"
	tests := []struct {
		name, path, key string
		want            []string
		pages           int
	}{
		{"$top", base + "/connectors?$top=2", "id", allConnectors, 4},
		{"%24top", base + "/connectors?%24top=2", "id", allConnectors, 4},
		{"top without $ (beta)", base + "/connectors?top=3", "id", allConnectors, 3},
		{"groups", base + "/connectorGroups?%24top=3", "id", []string{gDefault, gUS, gEU, gJP}, 2},
		{"members", base + "/connectorGroups/" + gDefault + "/members?$top=2", "id", []string{c6, c7, c8}, 2},
		{"members $ref", base + "/connectorGroups/" + gDefault + "/members/%24ref?%24top=1", "@odata.id",
			[]string{root + "/connectors/" + c6, root + "/connectors/" + c7, root + "/connectors/" + c8}, 3},
		{"applications", base + "/connectorGroups/" + gUS + "/applications?$top=2", "displayName", []string{"Intranet", "Timesheets", "Wiki"}, 2},
		{"exact fit", base + "/connectors?$top=8", "id", allConnectors, 1},
		{"max", base + "/connectors?$top=999", "id", allConnectors, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages, links := followAll(t, h, tt.path, tt.key)
			if !slices.Equal(got, tt.want) {
				t.Errorf("items %v, want %v", got, tt.want)
			}
			if pages != tt.pages {
				t.Errorf("%d pages, want %d", pages, tt.pages)
			}
			for _, l := range links {
				u, err := url.Parse(l)
				if err != nil || !u.IsAbs() || !strings.HasPrefix(l, h.srv.URL+"/beta/") {
					t.Errorf("nextLink %q is not absolute on the server", l)
				}
				q := u.Query()
				if q.Get("$skiptoken") == "" {
					t.Errorf("nextLink %q has no $skiptoken", l)
				}
				if q.Get("$top") == "" {
					t.Errorf("nextLink %q lost $top", l)
				}
			}
		})
	}
}

func TestDefaultPageSize(t *testing.T) {
	h := newHarness(t, Options{PageSize: 3})
	r := h.do("GET", base+"/connectors", nil)
	p := decode[page](t, r)
	if len(p.Value) != 3 || p.NextLink == "" {
		t.Fatalf("first page: %d items, nextLink %q", len(p.Value), p.NextLink)
	}
	if strings.Contains(p.NextLink, "top") {
		t.Errorf("nextLink %q has a $top the client did not send", p.NextLink)
	}
	got, _, _ := followAll(t, h, base+"/connectors", "id")
	if !slices.Equal(got, allConnectors) {
		t.Errorf("got %v", got)
	}
}

func TestPagingSurvivesMoves(t *testing.T) {
	// Keyset skip tokens: a connector that moves out of the group between
	// pages does not make the client skip one that stays.
	h := newHarness(t, Options{})
	r := h.do("GET", base+"/connectorGroups/"+gDefault+"/members?$top=1", nil)
	p := decode[page](t, r)
	if ids(p, "id")[0] != c6 {
		t.Fatalf("first page %v", ids(p, "id"))
	}
	if r := h.move(gUS, c6); r.status != 204 {
		t.Fatalf("move: %d %s", r.status, r.body)
	}
	got, _, _ := followAll(t, h, p.NextLink, "id")
	if !slices.Equal(got, []string{c7, c8}) {
		t.Errorf("rest of the pages %v, want [c7 c8]", got)
	}
}

func TestBadQueryOptions(t *testing.T) {
	h := newHarness(t, Options{MaxPageSize: 5})
	r := h.do("GET", base+"/connectors?$top=2", nil)
	next := decode[page](t, r).NextLink
	u, _ := url.Parse(next)
	tok := u.Query().Get("$skiptoken")
	flip := []byte(tok)
	flip[3] ^= 1
	withToken := func(path, t string) string { return base + path + "?$top=2&$skiptoken=" + url.QueryEscape(t) }
	tests := []struct {
		name, path, message string
	}{
		{"top 0", base + "/connectors?$top=0", "Invalid page size specified: '0'. Must be between 1 and 5 inclusive."},
		{"top negative", base + "/connectors?%24top=-1", "Invalid page size specified: '-1'. Must be between 1 and 5 inclusive."},
		{"top not a number", base + "/connectors?$top=ten", "Invalid page size specified: 'ten'. Must be between 1 and 5 inclusive."},
		{"top above max", base + "/connectors?$top=6", "Invalid page size specified: '6'. Must be between 1 and 5 inclusive."},
		{"top twice", base + "/connectors?$top=2&%24top=3", "Query option '$top' was specified more than once, it must be specified at most once."},
		{"tampered skiptoken", withToken("/connectors", string(flip)), "The provided $skiptoken is not valid."},
		{"truncated skiptoken", withToken("/connectors", tok[:len(tok)-2]), "The provided $skiptoken is not valid."},
		{"garbage skiptoken", withToken("/connectors", "not-a-token!"), "The provided $skiptoken is not valid."},
		{"skiptoken from another collection", withToken("/connectorGroups", tok), "The provided $skiptoken is not valid."},
		{"unknown select property", base + "/connectors?$select=machineName,colour", "Could not find a property named 'colour' on type 'microsoft.graph.connector'."},
		{"unknown group property", base + "/connectorGroups/" + gUS + "?$select=members", "Could not find a property named 'members' on type 'microsoft.graph.connectorGroup'."},
		{"unsupported filter", base + "/connectors?$filter=status%20eq%20'active'", "The simulator does not support the query option '$filter'."},
		{"unsupported count", base + "/connectorGroups?%24count=true", "The simulator does not support the query option '$count'."},
		{"unknown system option", base + "/connectors?$frobnicate=1", "The query parameter '$frobnicate' is not supported."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, h.do("GET", tt.path, nil), 400, "Request_BadRequest", tt.message)
		})
	}
	if r := h.do("GET", base+"/connectors?customParam=1", nil); r.status != 200 {
		t.Errorf("custom query parameter: %d", r.status)
	}
	if r := h.do("GET", next, nil); r.status != 200 {
		t.Errorf("untampered nextLink: %d %s", r.status, r.body)
	}
}

func TestSelect(t *testing.T) {
	h := newHarness(t, Options{})
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	tests := []struct {
		name, path string
		want       []string
	}{
		{"connectors", "/connectors?$select=machineName,status", []string{"id", "machineName", "status"}},
		{"%24select", "/connectors?%24select=externalIp", []string{"externalIp", "id"}},
		{"case-insensitive", "/connectors?$select=MACHINENAME", []string{"id", "machineName"}},
		{"id only", "/connectors?$select=id", []string{"id"}},
		{"star", "/connectors?$select=*", []string{"externalIp", "id", "machineName", "status", "version"}},
		{"groups", "/connectorGroups?$select=name,region", []string{"id", "name", "region"}},
		{"members", "/connectorGroups/" + gUS + "/members?$select=status", []string{"id", "status"}},
		{"memberOf", "/connectors/" + c1 + "/memberOf?$select=isDefault", []string{"id", "isDefault"}},
		{"applications", "/connectorGroups/" + gUS + "/applications?$select=appId", []string{"appId", "id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("GET", base+tt.path, nil)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			for _, v := range decode[page](t, r).Value {
				if got := keys(v); !slices.Equal(got, tt.want) {
					t.Errorf("properties %v, want %v", got, tt.want)
				}
			}
		})
	}
	t.Run("single entity", func(t *testing.T) {
		m := decode[map[string]any](t, h.do("GET", base+"/connectors/"+c2+"?$select=version", nil))
		if got := keys(m); !slices.Equal(got, []string{"@odata.context", "id", "version"}) {
			t.Errorf("properties %v", got)
		}
	})
	t.Run("kept in nextLink", func(t *testing.T) {
		var pages int
		next := base + "/connectors?$top=3&$select=machineName"
		for next != "" {
			p := decode[page](t, h.do("GET", next, nil))
			pages++
			for _, v := range p.Value {
				if got := keys(v); !slices.Equal(got, []string{"id", "machineName"}) {
					t.Errorf("page %d: properties %v", pages, got)
				}
			}
			next = p.NextLink
		}
		if pages != 3 {
			t.Errorf("%d pages", pages)
		}
	})
}

func TestUnsetEnumsAreNull(t *testing.T) {
	ten := &Tenant{
		Groups:     []Group{{ID: "g1", Name: "Default", IsDefault: true}},
		Connectors: []Connector{{ID: "c1", MachineName: "m1"}},
	}
	srv := httptest.NewServer(New(ten, Options{}))
	defer srv.Close()
	h := &harness{t: t, srv: srv, client: srv.Client()}
	g := decode[map[string]any](t, h.do("GET", base+"/connectorGroups/g1", nil))
	if v, ok := g["region"]; !ok || v != nil {
		t.Errorf("region %v (present %v), want null", v, ok)
	}
	c := decode[map[string]any](t, h.do("GET", base+"/connectors/c1", nil))
	if v, ok := c["status"]; !ok || v != nil {
		t.Errorf("status %v, want null", v)
	}
}

package graphsim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// Application ids from testdata/tenant.json.
const (
	aIntranet   = "0c000000-0000-4000-8000-000000000001" // Web-US
	aTimesheets = "0c000000-0000-4000-8000-000000000002" // Web-US
	aWiki       = "0c000000-0000-4000-8000-000000000003" // Web-US
	aPayrollEU  = "0c000000-0000-4000-8000-000000000004" // Web-EU
	aLegacyHR   = "0c000000-0000-4000-8000-000000000011" // unpublished
	aNope       = "0c000000-0000-4000-8000-0000000000ff" // not in the tenant
)

const appsPath = "/beta/applications/"

func (h *harness) moveApp(aid, gid string) result {
	h.t.Helper()
	return h.do("PUT", appsPath+aid+"/connectorGroup/$ref", refBody("connectorGroups", gid))
}

func appsOf(t *testing.T, h *harness, gid string) []string {
	t.Helper()
	got, _, _ := followAll(t, h, base+"/connectorGroups/"+gid+"/applications", "id")
	return got
}

// appGroup is GET applications/{id}/connectorGroup's id.
func appGroup(t *testing.T, h *harness, aid string) string {
	t.Helper()
	r := h.do("GET", appsPath+aid+"/connectorGroup", nil)
	if r.status != 200 {
		t.Fatalf("GET connectorGroup of %s: %d %s", aid, r.status, r.body)
	}
	return decode[map[string]any](t, r)["id"].(string)
}

func stateAppGroup(tn *Tenant, aid string) string {
	for _, g := range tn.Groups {
		for _, a := range g.Applications {
			if strings.EqualFold(a.ID, aid) {
				return g.ID
			}
		}
	}
	return "<none>"
}

func TestApplicationMove(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.moveApp(aWiki, gEU)
	if r.status != http.StatusNoContent || len(r.body) != 0 || r.header.Get("Content-Type") != "" {
		t.Fatalf("status %d, body %q, Content-Type %q; want 204 and nothing", r.status, r.body, r.header.Get("Content-Type"))
	}
	if r.header.Get("request-id") == "" || r.header.Get("client-request-id") == "" {
		t.Errorf("no trace ids: %v", r.header)
	}
	if got := stateAppGroup(h.sim.State(), aWiki); got != gEU {
		t.Errorf("State: Wiki in %s, want %s", got, gEU)
	}
	if got := appsOf(t, h, gUS); !slices.Equal(got, []string{aIntranet, aTimesheets}) {
		t.Errorf("old group's applications %v: the application must leave it", got)
	}
	if got := appsOf(t, h, gEU); !slices.Equal(got, []string{aWiki, aPayrollEU}) {
		t.Errorf("new group's applications %v (served in the tenant file's order)", got)
	}
	if got := appGroup(t, h, aWiki); got != gEU {
		t.Errorf("applications/{id}/connectorGroup: %s, want %s", got, gEU)
	}
	g := decode[map[string]any](t, h.do("GET", appsPath+strings.ToUpper(aWiki)+"/connectorGroup?$select=name", nil))
	if g["name"] != "Web-EU" || g["region"] != nil || !strings.HasSuffix(g["@odata.context"].(string), "/connectorGroup(name)/$entity") {
		t.Errorf("$select=name: %v", g)
	}
	if h.sim.ApplicationMoves() != 1 || h.sim.Moves() != 0 {
		t.Errorf("ApplicationMoves %d, Moves %d; want 1 and 0", h.sim.ApplicationMoves(), h.sim.Moves())
	}
	// Into the group it is in: 204, nothing moves.
	if r := h.moveApp(aWiki, gEU); r.status != http.StatusNoContent {
		t.Errorf("PUT into its own group: %d %s", r.status, r.body)
	}
	if h.sim.ApplicationMoves() != 1 {
		t.Errorf("ApplicationMoves %d after a PUT that moved nothing", h.sim.ApplicationMoves())
	}
	// Ids compare without case, in the path and in the body; the body's
	// host is not the service's to judge.
	body := []byte(`{"@odata.id":"https://graph.test/beta/onPremisesPublishingProfiles/applicationProxy/connectorGroups/` + strings.ToUpper(gUS) + `"}`)
	if r := h.do("PUT", appsPath+strings.ToUpper(aWiki)+"/connectorGroup/$ref", body); r.status != http.StatusNoContent {
		t.Errorf("upper-case ids: %d %s", r.status, r.body)
	}
	if got := stateAppGroup(h.sim.State(), aWiki); got != gUS {
		t.Errorf("Wiki in %s, want back in %s", got, gUS)
	}
	for _, e := range h.sim.Requests() {
		if e.Method == "PUT" && (e.Status != 204 || !strings.HasSuffix(e.Path, "/connectorGroup/$ref") || !strings.Contains(e.Body, "@odata.id")) {
			t.Errorf("logged %+v", e)
		}
	}
}

func TestApplicationMoveUnknown(t *testing.T) {
	h := newHarness(t, Options{})
	wantError(t, h.moveApp(aNope, gEU), 404, "Request_ResourceNotFound", fmt.Sprintf(notFoundFormat, aNope))
	wantError(t, h.do("GET", appsPath+aNope+"/connectorGroup", nil), 404, "Request_ResourceNotFound", "")
	// A group the tenant does not have.
	wantError(t, h.moveApp(aWiki, "0a000000-0000-4000-8000-0000000000ff"), 404, "Request_ResourceNotFound", "")
	// Paths and methods the simulator does not take.
	wantError(t, h.do("GET", appsPath+aWiki, nil), 404, "Request_UnsupportedQuery", "Resource not found for the segment '"+aWiki+"'.")
	wantError(t, h.do("GET", appsPath+aWiki+"/owners", nil), 404, "Request_UnsupportedQuery", "Resource not found for the segment 'owners'.")
	r := h.do("POST", appsPath+aWiki+"/connectorGroup/$ref", refBody("connectorGroups", gEU))
	wantError(t, r, 405, "Request_BadRequest", "")
	if r.header.Get("Allow") != "PUT" {
		t.Errorf("Allow %q, want PUT", r.header.Get("Allow"))
	}
	if r := h.do("PUT", appsPath+aWiki+"/connectorGroup", refBody("connectorGroups", gEU)); r.status != 405 || r.header.Get("Allow") != "GET" {
		t.Errorf("PUT connectorGroup without $ref: %d, Allow %q", r.status, r.header.Get("Allow"))
	}
	if h.sim.ApplicationMoves() != 0 || stateAppGroup(h.sim.State(), aWiki) != gUS {
		t.Error("a refused request moved an application")
	}
}

func TestApplicationMoveUnpublished(t *testing.T) {
	for _, tt := range []struct {
		guess, code, format string
		status              int
	}{
		{"", unpublishedCode, unpublishedFormat, 404},
		{"unpublished=404", unpublishedCode, unpublishedFormat, 404},
		{"unpublished=400", unpublishedRefusedCode, unpublishedRefusedFormat, 400},
	} {
		t.Run(tt.guess, func(t *testing.T) {
			var g Guesses
			if tt.guess != "" {
				g = parsed(t, tt.guess)
			}
			h := newHarness(t, Options{Guesses: g})
			msg := fmt.Sprintf(tt.format, aLegacyHR)
			wantError(t, h.moveApp(aLegacyHR, gEU), tt.status, tt.code, msg)
			wantError(t, h.do("GET", appsPath+aLegacyHR+"/connectorGroup", nil), tt.status, tt.code, msg)
			// Not found comes first: a bad body does not change the answer.
			wantError(t, h.do("PUT", appsPath+aLegacyHR+"/connectorGroup/$ref", []byte(`{}`)), tt.status, tt.code, msg)
			st := h.sim.State()
			if h.sim.ApplicationMoves() != 0 || len(st.Unpublished) != 2 || stateAppGroup(st, aLegacyHR) != "<none>" {
				t.Errorf("the unpublished application moved: %+v", st)
			}
		})
	}
	if err := ParseGuess("unpublished=409", new(Guesses)); err == nil || !strings.Contains(err.Error(), "want 404 (default), 400") {
		t.Errorf("unpublished=409: %v", err)
	}
}

func TestApplicationMoveBadBody(t *testing.T) {
	h := newHarness(t, Options{})
	const abs = "https://graph.microsoft.com/beta/onPremisesPublishingProfiles/applicationProxy/"
	for _, tt := range []struct{ name, body, message string }{
		{"none", "", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."},
		{"not JSON", `{"@odata.id":`, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."},
		{"array", `[]`, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."},
		{"null", `null`, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."},
		{"no @odata.id", `{"id":"` + gEU + `"}`, missingRefMessage},
		{"a number", `{"@odata.id":42}`, invalidRefMessage + " It must be a non-empty string."},
		{"empty", `{"@odata.id":""}`, invalidRefMessage + " It must be a non-empty string."},
		{"relative", `{"@odata.id":"/onPremisesPublishingProfiles/applicationProxy/connectorGroups/` + gEU + `"}`, invalidRefMessage + " It must be an absolute URL."},
		{"a connector", `{"@odata.id":"` + abs + `connectors/` + c1 + `"}`, invalidRefMessage + " It must end in /connectorGroups/{id}."},
		{"no id", `{"@odata.id":"` + abs + `connectorGroups/"}`, invalidRefMessage + " It must end in /connectorGroups/{id}."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			wantError(t, h.do("PUT", appsPath+aWiki+"/connectorGroup/$ref", body), 400, "Request_BadRequest", tt.message)
		})
	}
	if h.sim.ApplicationMoves() != 0 || stateAppGroup(h.sim.State(), aWiki) != gUS {
		t.Error("a bad body moved the application")
	}
}

func TestApplicationMoveNotAppProxyGroup(t *testing.T) {
	tn := fixture(t)
	const gSync = "0a000000-0000-4000-8000-000000000009"
	tn.Groups = append(tn.Groups, Group{ID: gSync, Name: "Provisioning", ConnectorGroupType: "syncFabric"})
	sim := New(tn, Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	h := &harness{t: t, sim: sim, srv: srv, client: srv.Client()}
	wantError(t, h.moveApp(aWiki, gSync), 400, "Request_BadRequest", fmt.Sprintf(notAppProxyGroupFormat, gSync, "syncFabric"))
	// A group that names its type applicationProxy takes applications.
	if r := h.moveApp(aWiki, gEU); r.status != 204 {
		t.Errorf("into an applicationProxy group: %d %s", r.status, r.body)
	}
	if h.sim.ApplicationMoves() != 1 || stateAppGroup(h.sim.State(), aWiki) != gEU {
		t.Errorf("Wiki in %s after %d moves", stateAppGroup(h.sim.State(), aWiki), h.sim.ApplicationMoves())
	}
}

func TestApplicationMoveDenied(t *testing.T) {
	h := newHarness(t, Options{DenyWrites: true})
	wantError(t, h.moveApp(aWiki, gEU), 403, "Authorization_RequestDenied", "")
	if got := appGroup(t, h, aWiki); got != gUS {
		t.Errorf("reads still work with writes denied: %s", got)
	}
	h.sim.SetDenyWrites(false)
	if r := h.moveApp(aWiki, gEU); r.status != 204 {
		t.Errorf("writes allowed again: %d", r.status)
	}
	// With Permissions, a delegated token without Directory.ReadWrite.All.
	h = newHarness(t, Options{Permissions: true})
	tok := UnsignedToken(map[string]any{"scp": "Directory.Read.All"})
	wantError(t, h.do("PUT", appsPath+aWiki+"/connectorGroup/$ref", refBody("connectorGroups", gEU), "Authorization", "Bearer "+tok), 403, "Authorization_RequestDenied", "")
	wantError(t, h.do("PUT", appsPath+aWiki+"/connectorGroup/$ref", refBody("connectorGroups", gEU), "Authorization", ""), 401, "InvalidAuthenticationToken", "")
}

// An application's move is eventually consistent as a connector's is:
// the group's applications and the application's connectorGroup show the
// group before the first of a run of moves until StaleFor after the last;
// State and the coverage count see the truth at once.
func TestApplicationMoveStale(t *testing.T) {
	clock := newClock()
	h := newHarness(t, Options{Now: clock.Now, Faults: Faults{StaleFor: 10 * time.Second}})
	if r := h.moveApp(aWiki, gEU); r.status != 204 {
		t.Fatalf("move: %d", r.status)
	}
	clock.Advance(5 * time.Second)
	if r := h.moveApp(aWiki, gDefault); r.status != 204 {
		t.Fatalf("second move: %d", r.status)
	}
	if got := stateAppGroup(h.sim.State(), aWiki); got != gDefault {
		t.Errorf("State: %s", got)
	}
	clock.Advance(9 * time.Second)
	if got := appGroup(t, h, aWiki); got != gUS {
		t.Errorf("connectorGroup %s while stale, want %s", got, gUS)
	}
	if got := appsOf(t, h, gUS); !slices.Equal(got, []string{aIntranet, aTimesheets, aWiki}) {
		t.Errorf("old group's applications while stale: %v", got)
	}
	if got := appsOf(t, h, gDefault); len(got) != 0 {
		t.Errorf("new group's applications while stale: %v", got)
	}
	// Paged, one a page, while stale: nothing skipped nor repeated.
	if got, pages, _ := followAll(t, h, base+"/connectorGroups/"+gUS+"/applications?$top=1", "id"); !slices.Equal(got, []string{aIntranet, aTimesheets, aWiki}) || pages != 3 {
		t.Errorf("paged while stale: %v in %d pages", got, pages)
	}
	clock.Advance(2 * time.Second)
	if got := appGroup(t, h, aWiki); got != gDefault {
		t.Errorf("connectorGroup %s after StaleFor, want %s", got, gDefault)
	}
	if got := appsOf(t, h, gDefault); !slices.Equal(got, []string{aWiki}) {
		t.Errorf("new group's applications after StaleFor: %v", got)
	}
	if got := appsOf(t, h, gUS); !slices.Equal(got, []string{aIntranet, aTimesheets}) {
		t.Errorf("old group's applications after StaleFor: %v", got)
	}
}

// A reset after the write was applied: the PUT happened, its answer is
// lost; sent again it is a 204 that moves nothing.
func TestApplicationMoveLostAnswer(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{ResetRate: 1, ResetAfterApply: true}})
	if _, err := h.try(h.client, "PUT", appsPath+aWiki+"/connectorGroup/$ref", refBody("connectorGroups", gEU)); err == nil {
		t.Fatal("no reset")
	}
	if h.sim.ApplicationMoves() != 1 || stateAppGroup(h.sim.State(), aWiki) != gEU {
		t.Errorf("the lost PUT was not applied: %d moves", h.sim.ApplicationMoves())
	}
	h.sim.SetFaults(Faults{})
	if r := h.moveApp(aWiki, gEU); r.status != 204 || h.sim.ApplicationMoves() != 1 {
		t.Errorf("the retry: %d, %d moves", r.status, h.sim.ApplicationMoves())
	}
	// A reset before the write: nothing happens.
	h.sim.SetFaults(Faults{ResetRate: 1})
	if _, err := h.try(h.client, "PUT", appsPath+aWiki+"/connectorGroup/$ref", refBody("connectorGroups", gUS)); err == nil {
		t.Fatal("no reset")
	}
	if h.sim.ApplicationMoves() != 1 || stateAppGroup(h.sim.State(), aWiki) != gEU {
		t.Error("a write reset before it was applied moved the application")
	}
}

func TestApplicationMoveInBatch(t *testing.T) {
	clock := newClock()
	h := newHarness(t, Options{Seed: 3, Now: clock.Now, Faults: Faults{ThrottleRPS: 1, ThrottleBurst: 5}})
	put := func(id, aid, body string) string {
		return `{"id":"` + id + `","method":"PUT","url":"/applications/` + aid + `/connectorGroup/$ref","headers":{"Content-Type":"application/json","client-request-id":"cr-` + id + `"},"body":` + body + `}`
	}
	ref := string(refBody("connectorGroups", gEU))
	body := `{"requests":[` + strings.Join([]string{
		put("1", aWiki, ref),
		put("2", aNope, ref),
		put("3", aLegacyHR, ref),
		put("4", aTimesheets, `{"@odata.id":"nope"}`),
		`{"id":"5","method":"GET","url":"/onPremisesPublishingProfiles/applicationProxy/connectorGroups/` + gEU + `/applications?$select=id","dependsOn":["1"]}`,
		put("6", aIntranet, ref), // the bucket's sixth item
	}, ",") + `]}`
	r := h.do("POST", "/beta/$batch", []byte(body))
	if r.status != 200 {
		t.Fatalf("outer status %d: %s", r.status, r.body)
	}
	got := map[string]int{}
	for _, it := range decode[batchAnswer](t, r).Responses {
		got[it.ID] = it.Status
		if crid := it.Headers["client-request-id"]; !guidRE.MatchString(it.Headers["request-id"]) || (crid != "cr-"+it.ID && (it.ID != "5" || crid == "")) {
			t.Errorf("item %s headers %v", it.ID, it.Headers)
		}
		if it.ID == "5" && !strings.Contains(string(it.Body), aWiki) {
			t.Errorf("item 5 (after the move) %s", it.Body)
		}
		if it.ID == "1" && len(it.Body) != 0 {
			t.Errorf("item 1 has a body %s", it.Body)
		}
	}
	want := map[string]int{"1": 204, "2": 404, "3": 404, "4": 400, "5": 200, "6": 429}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if h.sim.ApplicationMoves() != 1 || stateAppGroup(h.sim.State(), aWiki) != gEU || stateAppGroup(h.sim.State(), aIntranet) != gUS {
		t.Errorf("%d moves; Wiki in %s, Intranet in %s", h.sim.ApplicationMoves(), stateAppGroup(h.sim.State(), aWiki), stateAppGroup(h.sim.State(), aIntranet))
	}
	log := h.sim.Requests()
	outer := log[len(log)-1]
	if !outer.OuterBatch() || len(h.sim.Items()) != 6 {
		t.Fatalf("log %+v", log)
	}
	for _, e := range log[:len(log)-1] {
		if e.BatchRequestID != outer.RequestID {
			t.Errorf("item %+v not tied to its batch %s", e, outer.RequestID)
		}
	}
	// The change names the item's request-id, not the batch's.
	u := h.sim.UncoveredBelow(9)
	if len(u) == 0 || u[0].Change != 1 || u[0].RequestID != log[0].RequestID {
		t.Errorf("coverage %+v; want change 1 by request %s", u, log[0].RequestID)
	}
}

// UncoveredMoments counts the changes after which some application's
// group was short of active connectors; UncoveredBelow lists them.
func TestUncovered(t *testing.T) {
	h := newHarness(t, Options{Now: newClock().Now})
	// At the start: Web-US has c1 c2 active, Web-EU c3 active (c4 is not).
	if u := fixture(t).Uncovered(2); len(u) != 1 || u[0].ApplicationID != aPayrollEU || u[0].Active != 1 || u[0].Change != 0 {
		t.Errorf("Tenant.Uncovered(2): %+v", u)
	}
	if u := fixture(t).Uncovered(1); len(u) != 0 {
		t.Errorf("Tenant.Uncovered(1): %+v", u)
	}
	steps := []struct {
		what string
		do   func() result
	}{
		{"c4 (inactive) to Default", func() result { return h.move(gDefault, c4) }},            // 1: EU still 1 active
		{"c3 to Default", func() result { return h.move(gDefault, c3) }},                       // 2: EU 0: Payroll EU down
		{"Payroll EU to Web-US", func() result { return h.moveApp(aPayrollEU, gUS) }},          // 3: all in US, 2 active
		{"c1 to Web-EU", func() result { return h.move(gEU, c1) }},                             // 4: US 1 active
		{"refused: c1 to Web-EU again", func() result { return h.move(gEU, c1) }},              // no change
		{"refused: unknown app", func() result { return h.moveApp(aNope, gUS) }},               // no change
		{"no move: Payroll EU to Web-US", func() result { return h.moveApp(aPayrollEU, gUS) }}, // no change
		{"c2 to Web-EU", func() result { return h.move(gEU, c2) }},                             // 5: US 0: all four down
		{"c1 back to Web-US", func() result { return h.move(gUS, c1) }},                        // 6: US 1
	}
	for _, st := range steps {
		r := st.do()
		if refused := strings.HasPrefix(st.what, "refused"); refused != (r.status >= 400) {
			t.Fatalf("%s: %d %s", st.what, r.status, r.body)
		}
	}
	for n, want := range map[int]int{0: 0, 1: 2, 2: 5, 3: 6} {
		if got := h.sim.UncoveredMoments(n); got != want {
			t.Errorf("UncoveredMoments(%d) = %d, want %d", n, got, want)
		}
	}
	u := h.sim.Uncovered()
	var changes []int
	for _, m := range u {
		changes = append(changes, m.Change)
		if m.Active != 0 {
			t.Errorf("Uncovered: %+v has active connectors", m)
		}
	}
	if !slices.Equal(changes, []int{2, 5, 5, 5, 5}) || u[0].ApplicationID != aPayrollEU || u[0].GroupID != gEU || u[1].GroupID != gUS {
		t.Errorf("Uncovered: %+v", u)
	}
	if req := h.sim.Requests()[1]; u[0].RequestID != req.RequestID || !u[0].Time.Equal(req.Time) {
		t.Errorf("the moment does not name its change's request %+v", u[0])
	}
	if len(h.sim.UncoveredBelow(2)) != 1+1+0+4+4+4 {
		t.Errorf("UncoveredBelow(2): %+v", h.sim.UncoveredBelow(2))
	}
	if h.sim.ApplicationMoves() != 1 || h.sim.Moves() != 5 {
		t.Errorf("ApplicationMoves %d, Moves %d", h.sim.ApplicationMoves(), h.sim.Moves())
	}
}

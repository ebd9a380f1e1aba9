package graphsim

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func membersOf(t *testing.T, h *harness, gid string) []string {
	t.Helper()
	got, _, _ := followAll(t, h, base+"/connectorGroups/"+gid+"/members", "id")
	return got
}

func TestMove(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.move(gEU, c1)
	if r.status != 204 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if len(r.body) != 0 || r.header.Get("Content-Type") != "" {
		t.Errorf("204 with body %q, Content-Type %q", r.body, r.header.Get("Content-Type"))
	}
	if got := groupOf(h.sim.State(), c1); got != gEU {
		t.Errorf("State: c1 in %s, want %s", got, gEU)
	}
	if got := membersOf(t, h, gUS); !slices.Equal(got, []string{c2}) {
		t.Errorf("old group members %v: the connector must leave its old group", got)
	}
	if got := membersOf(t, h, gEU); !slices.Equal(got, []string{c1, c3, c4}) {
		t.Errorf("new group members %v", got)
	}
	if got := ids(decode[page](t, h.do("GET", base+"/connectors/"+c1+"/memberOf", nil)), "id"); !slices.Equal(got, []string{gEU}) {
		t.Errorf("memberOf %v", got)
	}
	if h.sim.Moves() != 1 {
		t.Errorf("Moves() = %d", h.sim.Moves())
	}
	// Moving back to the default group is how connectors are idled.
	if r := h.move(gDefault, c1); r.status != 204 {
		t.Errorf("back to default: %d", r.status)
	}
}

func TestMoveAlreadyInGroup(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.move(gUS, c1)
	wantError(t, r, 400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.")
	r = h.do("POST", base+"/connectors/"+c1+"/memberOf/$ref", refBody("connectorGroups", gUS))
	wantError(t, r, 400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'memberOf'.")
	// A connector with an empty group in the file is in the default group.
	wantError(t, h.move(gDefault, c6), 400, "Request_BadRequest", "")
	if h.sim.Moves() != 0 {
		t.Errorf("Moves() = %d", h.sim.Moves())
	}
}

func TestMemberOfRefDirection(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.do("POST", base+"/connectors/"+c6+"/memberOf/%24ref", refBody("connectorGroups", gJP))
	if r.status != 204 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := groupOf(h.sim.State(), c6); got != gJP {
		t.Errorf("c6 in %s", got)
	}
	p := decode[page](t, h.do("GET", base+"/connectors/"+c6+"/memberOf/$ref", nil))
	if got := ids(p, "@odata.id"); len(got) != 1 || !strings.HasSuffix(got[0], "/connectorGroups/"+gJP) {
		t.Errorf("memberOf/$ref %v", got)
	}
	if got := membersOf(t, h, gDefault); !slices.Equal(got, []string{c7, c8}) {
		t.Errorf("default members %v", got)
	}
}

func TestMoveBadBodies(t *testing.T) {
	h := newHarness(t, Options{})
	path := base + "/connectorGroups/" + gEU + "/members/$ref"
	tests := []struct {
		name, body, message string
	}{
		{"not json", `{"@odata.id":`, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."},
		{"empty", ``, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."},
		{"array", `[]`, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."},
		{"missing @odata.id", `{"id":"` + c1 + `"}`, "The request body must contain an '@odata.id' property with the URL of the object to add."},
		{"not a string", `{"@odata.id":42}`, "Invalid URL format specified in @odata.id. It must be a non-empty string."},
		{"relative", `{"@odata.id":"connectors/` + c1 + `"}`, "Invalid URL format specified in @odata.id. It must be an absolute URL."},
		{"wrong kind", `{"@odata.id":"https://graph.microsoft.com/beta/onPremisesPublishingProfiles/applicationProxy/connectorGroups/` + gUS + `"}`,
			"Invalid URL format specified in @odata.id. It must end in /connectors/{id}."},
		{"bare id", `{"@odata.id":"` + c1 + `"}`, "Invalid URL format specified in @odata.id. It must be an absolute URL."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, h.do("POST", path, []byte(tt.body)), 400, "Request_BadRequest", tt.message)
		})
	}
	// Any absolute URL ending in /connectors/{id} will do: the host is not
	// checked, and a trailing slash is tolerated.
	body := []byte(`{"@odata.id":"http://example.test/whatever/connectors/` + c1 + `/"}`)
	if r := h.do("POST", path, body); r.status != 204 {
		t.Errorf("other host: %d %s", r.status, r.body)
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name, token, auth string
		status            int
		message           string
	}{
		{"no header", "", "", 401, "Access token is empty."},
		{"empty bearer", "", "Bearer ", 401, "Access token is empty."},
		{"basic", "", "Basic dXNlcjpwYXNz", 401, "Access token is empty."},
		{"any bearer accepted", "", "Bearer whatever", 200, ""},
		{"lower-case scheme", "", "bearer whatever", 200, ""},
		{"wrong token", "right", "Bearer wrong", 401, "Access token validation failure. Invalid audience."},
		{"right token", "right", "Bearer right", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Token: tt.token})
			for _, path := range []string{base + "/connectors", base + "/nope"} {
				r := h.do("GET", path, nil, "Authorization", tt.auth)
				if tt.status == 401 {
					// Auth comes before routing: even an unknown path is a 401.
					wantError(t, r, 401, "InvalidAuthenticationToken", tt.message)
					if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
					}
				} else if path == base+"/connectors" && r.status != 200 {
					t.Errorf("status %d: %s", r.status, r.body)
				}
			}
			// A write without a token is refused before it is applied.
			if tt.status == 401 {
				wantError(t, h.do("POST", base+"/connectorGroups/"+gEU+"/members/$ref", refBody("connectors", c1), "Authorization", tt.auth), 401, "InvalidAuthenticationToken", tt.message)
				if h.sim.Moves() != 0 {
					t.Error("unauthenticated move applied")
				}
			}
		})
	}
}

func TestDenyWrites(t *testing.T) {
	h := newHarness(t, Options{DenyWrites: true})
	const msg = "Insufficient privileges to complete the operation."
	wantError(t, h.move(gEU, c1), 403, "Authorization_RequestDenied", msg)
	wantError(t, h.do("POST", base+"/connectors/"+c1+"/memberOf/$ref", refBody("connectorGroups", gEU)), 403, "Authorization_RequestDenied", msg)
	if r := h.do("GET", base+"/connectors", nil); r.status != 200 {
		t.Errorf("read with DenyWrites: %d", r.status)
	}
	if h.sim.Moves() != 0 || groupOf(h.sim.State(), c1) != gUS {
		t.Error("denied move applied")
	}
	h.sim.SetDenyWrites(false)
	if r := h.move(gEU, c1); r.status != 204 {
		t.Errorf("after SetDenyWrites(false): %d %s", r.status, r.body)
	}
	h.sim.SetDenyWrites(true)
	wantError(t, h.move(gUS, c1), 403, "Authorization_RequestDenied", msg)
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzipBodies(t *testing.T) {
	h := newHarness(t, Options{})
	plain := refBody("connectors", c1)
	r := h.do("POST", base+"/connectorGroups/"+gEU+"/members/$ref", gzipped(t, plain), "Content-Encoding", "gzip")
	if r.status != 204 {
		t.Fatalf("gzip body: %d %s", r.status, r.body)
	}
	if groupOf(h.sim.State(), c1) != gEU {
		t.Error("gzip move not applied")
	}
	log := h.sim.Requests()
	if got := log[len(log)-1].Body; got != string(plain) {
		t.Errorf("logged body %q, want the decoded body", got)
	}

	// The body claims gzip but is plain JSON: the kiota retry-before-
	// compression bug described in docs/design.md.
	r = h.do("POST", base+"/connectorGroups/"+gUS+"/members/$ref", plain, "Content-Encoding", "gzip")
	e := wantError(t, r, 400, "Request_BadRequest", "")
	if !strings.Contains(e.Error.Message, "could not be decompressed") {
		t.Errorf("message %q", e.Error.Message)
	}
	if groupOf(h.sim.State(), c1) != gEU {
		t.Error("move with a bad body applied")
	}
	r = h.do("POST", base+"/connectorGroups/"+gUS+"/members/$ref", plain, "Content-Encoding", "br")
	wantError(t, r, 400, "Request_BadRequest", "")
}

func TestRequestIDHeaders(t *testing.T) {
	clock := newClock()
	h := newHarness(t, Options{Now: clock.Now})
	tests := []struct {
		name, method, path string
		body               []byte
		hdr                []string
		status             int
	}{
		{"success", "GET", base + "/connectors", nil, nil, 200},
		{"204", "POST", base + "/connectorGroups/" + gEU + "/members/$ref", refBody("connectors", c1), nil, 204},
		{"404", "GET", base + "/connectors/x", nil, nil, 404},
		{"401", "GET", base + "/connectors", nil, []string{"Authorization", ""}, 401},
	}
	for _, tt := range tests {
		for _, echo := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s echo=%v", tt.name, echo), func(t *testing.T) {
				hdr := tt.hdr
				const sent = "11111111-2222-4333-8444-555555555555"
				if echo {
					hdr = append(slices.Clone(hdr), "client-request-id", sent)
				}
				path := tt.path
				if tt.status == 204 && !echo { // move it back, or it is a 400
					path = strings.Replace(path, gEU, gUS, 1)
				}
				r := h.do(tt.method, path, tt.body, hdr...)
				if r.status != tt.status {
					t.Fatalf("status %d", r.status)
				}
				rid, crid := r.header.Get("request-id"), r.header.Get("client-request-id")
				if !guidRE.MatchString(rid) {
					t.Errorf("request-id %q", rid)
				}
				if echo && crid != sent {
					t.Errorf("client-request-id %q, want the echo %q", crid, sent)
				}
				if !echo && (!guidRE.MatchString(crid) || crid == rid) {
					t.Errorf("client-request-id %q (request-id %q)", crid, rid)
				}
				if d, err := http.ParseTime(r.header.Get("Date")); err != nil || !d.Equal(clock.Now()) {
					t.Errorf("Date %q (%v)", r.header.Get("Date"), err)
				}
				if r.status >= 400 {
					e := decode[odataErr](t, r)
					ie := e.Error.InnerError
					if ie["request-id"] != rid || ie["client-request-id"] != crid || ie["date"] != "2025-03-01T12:00:00Z" {
						t.Errorf("innerError %v", ie)
					}
				}
			})
		}
	}
	// Two requests never share a request-id.
	a := h.do("GET", base+"/connectors", nil).header.Get("request-id")
	b := h.do("GET", base+"/connectors", nil).header.Get("request-id")
	if a == b {
		t.Error("request-id repeated")
	}
}

func TestRequestLog(t *testing.T) {
	h := newHarness(t, Options{})
	h.do("GET", base+"/connectors?%24top=2", nil)
	h.do("POST", base+"/connectorGroups/"+gEU+"/members/%24ref", refBody("connectors", c1), "client-request-id", "abc")
	h.move(gEU, c1)
	h.do("GET", base+"/connectors", nil, "Authorization", "")
	log := h.sim.Requests()
	want := []struct {
		method, path, query string
		status              int
		body                string
	}{
		{"GET", base + "/connectors", "%24top=2", 200, ""},
		{"POST", base + "/connectorGroups/" + gEU + "/members/$ref", "", 204, string(refBody("connectors", c1))},
		{"POST", base + "/connectorGroups/" + gEU + "/members/$ref", "", 400, string(refBody("connectors", c1))},
		{"GET", base + "/connectors", "", 401, ""},
	}
	if len(log) != len(want) {
		t.Fatalf("%d entries: %+v", len(log), log)
	}
	for i, w := range want {
		g := log[i]
		if g.Method != w.method || g.Path != w.path || g.Query != w.query || g.Status != w.status || g.Body != w.body || g.Fault != "" {
			t.Errorf("entry %d: %+v, want %+v", i, g, w)
		}
		if !guidRE.MatchString(g.RequestID) || g.ClientRequestID == "" || g.Time.IsZero() {
			t.Errorf("entry %d ids/time: %+v", i, g)
		}
	}
	if log[1].ClientRequestID != "abc" {
		t.Errorf("client-request-id %q", log[1].ClientRequestID)
	}
	log[0].Method = "changed"
	if h.sim.Requests()[0].Method != "GET" {
		t.Error("Requests is not a copy")
	}
	h.sim.ResetLog()
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d entries after ResetLog", n)
	}
}

func TestStaleMembership(t *testing.T) {
	clock := newClock()
	h := newHarness(t, Options{Now: clock.Now, Faults: Faults{StaleFor: 30 * time.Second}})
	memberOf := func(cid string) []string {
		return ids(decode[page](t, h.do("GET", base+"/connectors/"+cid+"/memberOf", nil)), "id")
	}
	refs := func(gid string) int {
		return len(decode[page](t, h.do("GET", base+"/connectorGroups/"+gid+"/members/$ref", nil)).Value)
	}
	if r := h.move(gEU, c1); r.status != 204 {
		t.Fatal(r.status)
	}
	// Right after the move: the old membership shows, the true state is new.
	if got := membersOf(t, h, gUS); !slices.Equal(got, []string{c1, c2}) {
		t.Errorf("stale old group %v", got)
	}
	if got := membersOf(t, h, gEU); !slices.Equal(got, []string{c3, c4}) {
		t.Errorf("stale new group %v", got)
	}
	if got := memberOf(c1); !slices.Equal(got, []string{gUS}) {
		t.Errorf("stale memberOf %v", got)
	}
	if refs(gUS) != 2 {
		t.Error("stale members/$ref")
	}
	if groupOf(h.sim.State(), c1) != gEU {
		t.Error("State must show the true state")
	}
	// The "already there" check uses the true state.
	wantError(t, h.move(gEU, c1), 400, "Request_BadRequest", alreadyExistsMembersMessage)

	// A second move inside the window: reads still show the group before
	// the first move, until StaleFor after the second.
	clock.Advance(20 * time.Second)
	if r := h.move(gJP, c1); r.status != 204 {
		t.Fatal(r.status)
	}
	clock.Advance(20 * time.Second) // 40s after the first move, 20s after the second
	if got := memberOf(c1); !slices.Equal(got, []string{gUS}) {
		t.Errorf("memberOf after second move %v", got)
	}
	clock.Advance(11 * time.Second)
	if got := memberOf(c1); !slices.Equal(got, []string{gJP}) {
		t.Errorf("memberOf after the window %v", got)
	}
	if got := membersOf(t, h, gUS); !slices.Equal(got, []string{c2}) {
		t.Errorf("old group after the window %v", got)
	}
	if got := membersOf(t, h, gJP); !slices.Equal(got, []string{c1, c5}) {
		t.Errorf("new group after the window %v", got)
	}
	if refs(gUS) != 1 {
		t.Error("members/$ref after the window")
	}
}

func TestRegionRule(t *testing.T) {
	tests := []struct {
		name     string
		enforce  bool
		gid, cid string
		status   int
	}{
		{"off: region to region", false, gJP, c3, 204},
		{"on: region to region refused", true, gJP, c3, 400},
		{"on: default region to region", true, gJP, c6, 204},
		{"on: same-region group to region", true, gEU, c1, 204},
		{"on: region to default", true, gDefault, c3, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{EnforceRegionRule: tt.enforce})
			r := h.move(tt.gid, tt.cid)
			if r.status != tt.status {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if tt.status == 400 {
				wantError(t, r, 400, regionRuleCode, fmt.Sprintf(regionRuleFormat, tt.cid, tt.gid))
			}
		})
	}
}

func TestConcurrentMoves(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{StaleFor: time.Millisecond}})
	groups := []string{gDefault, gUS, gEU, gJP}
	var ok204, ok400 atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 0))
			for range 40 {
				cid := allConnectors[rnd.IntN(len(allConnectors))]
				gid := groups[rnd.IntN(len(groups))]
				var r result
				var err error
				if rnd.IntN(2) == 0 {
					r, err = h.try(h.client, "POST", base+"/connectorGroups/"+gid+"/members/$ref", refBody("connectors", cid))
				} else {
					r, err = h.try(h.client, "POST", base+"/connectors/"+cid+"/memberOf/$ref", refBody("connectorGroups", gid))
				}
				if err != nil {
					t.Error(err)
					return
				}
				switch r.status {
				case 204:
					ok204.Add(1)
				case 400:
					ok400.Add(1)
				default:
					t.Errorf("status %d: %s", r.status, r.body)
				}
				if _, err := h.try(h.client, "GET", base+"/connectorGroups/"+gid+"/members?$top=2", nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if int64(h.sim.Moves()) != ok204.Load() {
		t.Errorf("Moves() = %d, 204s = %d", h.sim.Moves(), ok204.Load())
	}
	time.Sleep(5 * time.Millisecond) // let the stale window pass
	seen := map[string]int{}
	for _, g := range groups {
		for _, c := range membersOf(t, h, g) {
			seen[c]++
		}
	}
	for _, c := range allConnectors {
		if seen[c] != 1 {
			t.Errorf("connector %s is in %d groups", c, seen[c])
		}
	}
	if n := len(h.sim.Requests()); n != 16*40*2+len(groups) {
		t.Errorf("%d log entries", n)
	}
}

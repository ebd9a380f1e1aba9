package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connrecon/internal/apierr"
)

// pickyService is a Graph stand-in whose page size and query options the
// test chooses (issue 14: the real service's are unknown). It serves a
// tenant of conns connectors spread over groups groups, each group with
// two applications; items are whole objects with properties connrecon
// never reads (nested ones too) unless $select trims them.
type pickyService struct {
	conns, groups int
	// pageSize serves at most this many items a page whatever $top asks
	// (0: $top's value, or defaultPage without one).
	pageSize    int
	defaultPage int
	ignoreTop   bool // page by pageSize/defaultPage, $top or not
	// refuse answers 400 with code and message when it returns a message.
	refuse func(kind string, q map[string]string) (code, msg string)
	delay  time.Duration // before each refusal: lets concurrent reads overlap

	srv *httptest.Server
	mu  *sync.Mutex // a pointer: the table's services are copied before start
	log []pickyRequest
}

type pickyRequest struct {
	kind, top, sel string
	status         int
}

func (p *pickyService) start(t *testing.T) *Client {
	t.Helper()
	p.mu = &sync.Mutex{}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	c, err := New(Config{GraphURL: p.srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "test-token"}, Pacer: fastPacer(), ReadConcurrency: 16, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *pickyService) requests() []pickyRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pickyRequest(nil), p.log...)
}

func (p *pickyService) refusals() int {
	n := 0
	for _, r := range p.requests() {
		if r.status == http.StatusBadRequest {
			n++
		}
	}
	return n
}

func (p *pickyService) items(kind, group string) []map[string]any {
	var out []map[string]any
	switch kind {
	case "connectors", "members":
		for i := 0; i < p.conns; i++ {
			g := strconv.Itoa(i % p.groups)
			if kind == "members" && g != group {
				continue
			}
			out = append(out, map[string]any{"id": fmt.Sprintf("c%d", i), "machineName": fmt.Sprintf("m%03d", i),
				"externalIp": "10.0.0." + strconv.Itoa(i%250), "status": "active", "version": "1.5",
				"connectorGroup": map[string]any{"id": g}, "tags": []any{"x", 1, nil}})
		}
	case "connectorGroups":
		for g := 0; g < p.groups; g++ {
			out = append(out, map[string]any{"id": strconv.Itoa(g), "name": "group " + strconv.Itoa(g), "isDefault": g == 0,
				"region": "eur", "connectorGroupType": "applicationProxy", "members": []any{}})
		}
	case "applications":
		for a := 0; a < 2; a++ {
			out = append(out, map[string]any{"id": "a" + group + "-" + strconv.Itoa(a), "appId": "app" + group + strconv.Itoa(a),
				"displayName": "App " + group + "/" + strconv.Itoa(a), "onPremisesPublishing": map[string]any{"externalUrl": "https://x"}})
		}
	}
	return out
}

func (p *pickyService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := path.Base(r.URL.Path)
	group := ""
	if kind == "members" || kind == "applications" {
		group = path.Base(path.Dir(r.URL.Path))
	}
	qv := r.URL.Query()
	q := map[string]string{}
	for k := range qv {
		q[k] = qv.Get(k)
	}
	rec := pickyRequest{kind: kind, top: q["$top"], sel: q["$select"], status: http.StatusOK}
	defer func() {
		p.mu.Lock()
		p.log = append(p.log, rec)
		p.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json")
	if p.refuse != nil {
		if code, msg := p.refuse(kind, q); msg != "" {
			time.Sleep(p.delay)
			rec.status = http.StatusBadRequest
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
			return
		}
	}
	size := p.defaultPage
	if n, err := strconv.Atoi(q["$top"]); err == nil && !p.ignoreTop {
		size = n
	}
	if n, err := strconv.Atoi(q["pagesize"]); err == nil {
		size = n // the nextLink's, as chosen for the first page
	}
	if p.pageSize > 0 && (size == 0 || size > p.pageSize) {
		size = p.pageSize
	}
	if size <= 0 {
		size = 1 << 30
	}
	all := p.items(kind, group)
	if sel := q["$select"]; sel != "" {
		keep := map[string]bool{}
		for _, f := range strings.Split(sel, ",") {
			keep[f] = true
		}
		for _, it := range all {
			for k := range it {
				if !keep[k] {
					delete(it, k)
				}
			}
		}
	}
	skip, _ := strconv.Atoi(q["$skiptoken"])
	end := min(skip+size, len(all))
	body := map[string]any{"value": all[skip:end]}
	if skip > len(all) {
		body["value"] = []any{}
	}
	if end < len(all) {
		// The service's own nextLink: no $top, no $select, its page size
		// in its own parameter.
		body["@odata.nextLink"] = p.srv.URL + r.URL.Path + "?$skiptoken=" + strconv.Itoa(end) + "&pagesize=" + strconv.Itoa(size)
	}
	json.NewEncoder(w).Encode(body)
}

// checkTenant holds a snapshot to the picky service's whole tenant.
func checkTenant(t *testing.T, p *pickyService, c *Client) []string {
	t.Helper()
	s, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if len(s.Connectors) != p.conns || len(s.Groups) != p.groups {
		t.Fatalf("%d connectors, %d groups; want %d, %d", len(s.Connectors), len(s.Groups), p.conns, p.groups)
	}
	for _, cn := range s.Connectors {
		i, _ := strconv.Atoi(strings.TrimPrefix(cn.ID, "c"))
		if cn.GroupID != strconv.Itoa(i%p.groups) || cn.MachineName != fmt.Sprintf("m%03d", i) || cn.ExternalIP == "" || cn.Status != "active" {
			t.Fatalf("connector %+v read wrong", cn)
		}
	}
	for _, g := range s.Groups {
		if len(g.Applications) != 2 || g.Applications[0].AppID == "" || g.Applications[0].DisplayName == "" {
			t.Fatalf("group %s: applications %+v", g.Name, g.Applications)
		}
	}
	return s.Warnings
}

const capMessage = "Invalid page size specified: '999'. Must be between 1 and 100 inclusive."

func TestReadsSurviveRefusedQueryOptions(t *testing.T) {
	capAt := func(n int, code, msg string) func(string, map[string]string) (string, string) {
		return func(_ string, q map[string]string) (string, string) {
			if top, err := strconv.Atoi(q["$top"]); err == nil && top > n {
				return code, msg
			}
			return "", ""
		}
	}
	cases := []struct {
		name   string
		svc    pickyService
		warn   []string // what the one warning says; none when nil
		check  func(t *testing.T, log []pickyRequest)
		fourHs int // 400 answers the run takes
	}{
		{name: "healthy", svc: pickyService{conns: 250, groups: 3}, check: func(t *testing.T, log []pickyRequest) {
			if len(log) != 2+2*3 {
				t.Errorf("%d requests, want %d", len(log), 2+2*3)
			}
		}},
		{name: "cap naming its limit", svc: pickyService{conns: 250, groups: 3, refuse: capAt(100, "BadRequest", capMessage)},
			warn: []string{"Graph refused $top=999 reading connectors", capMessage, "reading with $top=100 for the rest of the run"}, fourHs: 1,
			check: func(t *testing.T, log []pickyRequest) {
				// 1 refused, 3 pages of connectors, 1 of groups, 2 per group.
				if len(log) != 1+3+1+2*3 {
					t.Errorf("%d requests, want %d: %+v", len(log), 1+3+1+2*3, log)
				}
				for _, r := range log[1:] {
					if r.top != "" && r.top != "100" {
						t.Errorf("%s read with $top=%s after the cap was learnt", r.kind, r.top)
					}
				}
			}},
		{name: "cap in the code only", svc: pickyService{conns: 30, groups: 2, refuse: capAt(100, "InvalidPageSize", "Bad request: between 1 and 50.")},
			warn: []string{"reading with $top=50"}, fourHs: 1},
		{name: "cap without a limit", svc: pickyService{conns: 120, groups: 2, defaultPage: 50, refuse: capAt(100, "BadRequest", "Invalid page size specified.")},
			warn: []string{"Graph refused $top=999", "reading without $top, in pages of the service's size"}, fourHs: 1,
			check: func(t *testing.T, log []pickyRequest) {
				for _, r := range log[1:] {
					if r.top != "" {
						t.Errorf("%s read with $top=%s after $top was refused", r.kind, r.top)
					}
				}
			}},
		{name: "limit no lower than asked", svc: pickyService{conns: 10, groups: 1, refuse: capAt(100, "BadRequest", "Page size must be between 1 and 5000.")},
			warn: []string{"reading without $top"}, fourHs: 1},
		{name: "select refused naming a property", svc: pickyService{conns: 20, groups: 2, refuse: func(kind string, q map[string]string) (string, string) {
			if strings.Contains(q["$select"], "externalIp") {
				return "BadRequest", "Could not find a property named 'externalIp' on type 'microsoft.graph.connector'."
			}
			return "", ""
		}}, warn: []string{"Graph refused $select=id,machineName,externalIp,status,version reading connectors", "reading connectors without $select (whole objects)"}, fourHs: 1,
			check: func(t *testing.T, log []pickyRequest) {
				for _, r := range log[1:] {
					if (r.kind == "connectors" && r.sel != "") || ((r.kind == "members" || r.kind == "applications") && r.sel == "") {
						t.Errorf("%s read with $select=%q", r.kind, r.sel)
					}
				}
			}},
		{name: "select refused generically", svc: pickyService{conns: 20, groups: 1, refuse: func(kind string, q map[string]string) (string, string) {
			if kind == "applications" && q["$select"] != "" {
				return "BadRequest", "Query option 'Select' is not allowed."
			}
			return "", ""
		}}, warn: []string{"reading applications without $select"}, fourHs: 1},
		{name: "token echoed in the message", svc: pickyService{conns: 5, groups: 1, refuse: capAt(100, "BadRequest", "Invalid page size for Bearer test-token: between 1 and 100")},
			warn: []string{"reading with $top=100"}, fourHs: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.svc
			c := p.start(t)
			warnings := checkTenant(t, &p, c)
			if tc.warn == nil && len(warnings) != 0 {
				t.Errorf("warnings %q, want none", warnings)
			}
			if tc.warn != nil {
				if len(warnings) != 1 {
					t.Fatalf("warnings %q, want one", warnings)
				}
				for _, w := range tc.warn {
					if !strings.Contains(warnings[0], w) {
						t.Errorf("warning %q lacks %q", warnings[0], w)
					}
				}
				if strings.Contains(warnings[0], "test-token") {
					t.Errorf("warning %q shows the token", warnings[0])
				}
			}
			if n := p.refusals(); n != tc.fourHs {
				t.Errorf("%d refused requests, want %d", n, tc.fourHs)
			}
			if tc.check != nil {
				tc.check(t, p.requests())
			}
			// The lesson holds for the rest of the run, and is told once.
			before := p.refusals()
			if ids, _, err := c.GroupMembers(context.Background(), "0"); err != nil || len(ids) == 0 {
				t.Errorf("GroupMembers: %v, %v", ids, err)
			}
			warnings = checkTenant(t, &p, c)
			if p.refusals() != before || len(warnings) != 0 {
				t.Errorf("second snapshot: %d more refusals, warnings %q; want none", p.refusals()-before, warnings)
			}
		})
	}
}

// A 400 that names no option we send fails the read as before, with its
// message and class; one that keeps refusing every variant fails after one
// fallback per option, never more.
func TestRefusalsThatStandFailTheRead(t *testing.T) {
	always := func(code, msg string) func(string, map[string]string) (string, string) {
		return func(kind string, _ map[string]string) (string, string) {
			if kind == "connectors" {
				return code, msg
			}
			return "", ""
		}
	}
	cases := []struct {
		name, code, msg string
		requests        int
	}{
		{"unrelated", "Request_BadRequest", "Invalid object identifier 'c1'.", 1},
		{"bare words of a property", "BadRequest", "The request status is invalid for this version.", 1},
		{"refuses every variant", "BadRequest", "Invalid page size; query option $select is not allowed.", 3},
		{"refuses every page size", "BadRequest", capMessage, 2},
		{"refuses every selection", "BadRequest", "Could not find a property named 'machineName'.", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pickyService{conns: 5, groups: 1, refuse: always(tc.code, tc.msg)}
			c := p.start(t)
			s, err := c.Snapshot(context.Background())
			var ae *apierr.Error
			if s != nil || err == nil || !strings.Contains(err.Error(), "read connectors: page 1: graph: 400 "+tc.code+": "+tc.msg) ||
				!errors.As(err, &ae) || ae.Class != apierr.Other {
				t.Fatalf("got %v, %v (class %v), want the 400 with its message", s != nil, err, apierr.ClassOf(err))
			}
			if n := len(p.requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}

// Paging follows the service's page size, whatever $top asked for.
func TestPagingWhateverTheServicePageSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  pickyService
	}{
		{"fewer than $top a page", pickyService{conns: 95, groups: 3, pageSize: 10}},
		{"$top ignored", pickyService{conns: 95, groups: 3, ignoreTop: true, defaultPage: 7}},
		{"$top ignored, one a page", pickyService{conns: 12, groups: 2, ignoreTop: true, defaultPage: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.svc
			c := p.start(t)
			if w := checkTenant(t, &p, c); len(w) != 0 {
				t.Errorf("warnings %q", w)
			}
			pages := 0
			for _, r := range p.requests() {
				if r.kind == "connectors" {
					pages++
				}
			}
			if size := max(p.pageSize, p.defaultPage); pages != (p.conns+size-1)/size {
				t.Errorf("%d pages of connectors for %d connectors, %d a page", pages, p.conns, size)
			}
		})
	}
}

// Many group reads meeting the cap at once learn it together: each pays
// at most one 400, the run is told once, and -race finds the lesson
// shared safely.
func TestConcurrentReadsLearnTheCapOnce(t *testing.T) {
	p := pickyService{conns: 400, groups: 40, delay: 5 * time.Millisecond,
		refuse: func(kind string, q map[string]string) (string, string) {
			if top, err := strconv.Atoi(q["$top"]); err == nil && top > 5 && (kind == "members" || kind == "applications") {
				return "BadRequest", "Invalid page size specified: '999'. Must be between 1 and 5 inclusive."
			}
			return "", ""
		}}
	c := p.start(t)
	warnings := checkTenant(t, &p, c)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "reading with $top=5") {
		t.Errorf("warnings %q, want one about $top=5", warnings)
	}
	refused := p.refusals()
	// Only the reads in flight when the first 400 came back (at most
	// ReadConcurrency) pay one; those that start later ask for 5.
	if refused < 1 || refused > 16 {
		t.Errorf("%d refusals for %d group reads, 16 at a time", refused, 2*p.groups)
	}
	pages := 0
	for _, r := range p.requests() {
		if r.status == http.StatusOK && r.kind != "connectors" && r.kind != "connectorGroups" {
			pages++
		}
	}
	// Per group: 10 members in pages of 5, two applications in one.
	if pages != 3*p.groups {
		t.Errorf("%d pages of members and applications, want %d", pages, 3*p.groups)
	}
	t.Logf("%d of %d group reads paid a 400", refused, 2*p.groups)
}

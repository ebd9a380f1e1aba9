package graphsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const base = "/beta/onPremisesPublishingProfiles/applicationProxy"

// Ids from testdata/tenant.json.
const (
	gDefault = "0a000000-0000-4000-8000-000000000001"
	gUS      = "0a000000-0000-4000-8000-000000000002"
	gEU      = "0a000000-0000-4000-8000-000000000003"
	gJP      = "0a000000-0000-4000-8000-000000000004"
	c1       = "0b000000-0000-4000-8000-000000000001" // Web-US
	c2       = "0b000000-0000-4000-8000-000000000002" // Web-US
	c3       = "0b000000-0000-4000-8000-000000000003" // Web-EU
	c4       = "0b000000-0000-4000-8000-000000000004" // Web-EU, inactive
	c5       = "0b000000-0000-4000-8000-000000000005" // Tokyo
	c6       = "0b000000-0000-4000-8000-000000000006" // group "" = Default
	c7       = "0b000000-0000-4000-8000-000000000007" // Default
	c8       = "0b000000-0000-4000-8000-000000000008" // Default
)

var allConnectors = []string{c1, c2, c3, c4, c5, c6, c7, c8}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func fixture(t testing.TB) *Tenant {
	t.Helper()
	ten, err := LoadTenantFile("testdata/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	return ten
}

// harness is a simulator behind a real HTTP server.
type harness struct {
	t      testing.TB
	sim    *Server
	srv    *httptest.Server
	client *http.Client
}

const testToken = "test-token"

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	sim := New(fixture(t), opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: sim, srv: srv, client: srv.Client()}
}

type result struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. target is a path (relative to the server) or an
// absolute URL. hdr holds header name/value pairs; an Authorization pair
// replaces the default bearer token ("" sends none).
func (h *harness) do(method, target string, body []byte, hdr ...string) result {
	h.t.Helper()
	r, err := h.try(h.client, method, target, body, hdr...)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, target, err)
	}
	return r
}

func (h *harness) try(client *http.Client, method, target string, body []byte, hdr ...string) (result, error) {
	if strings.HasPrefix(target, "/") {
		target = h.srv.URL + target
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (h *harness) move(gid, cid string) result {
	h.t.Helper()
	return h.do("POST", base+"/connectorGroups/"+gid+"/members/$ref", refBody("connectors", cid))
}

func refBody(kind, id string) []byte {
	return []byte(`{"@odata.id":"https://graph.microsoft.com/beta/onPremisesPublishingProfiles/applicationProxy/` + kind + `/` + id + `"}`)
}

type page struct {
	Context  string           `json:"@odata.context"`
	NextLink string           `json:"@odata.nextLink"`
	Value    []map[string]any `json:"value"`
}

type odataErr struct {
	Error struct {
		Code       string            `json:"code"`
		Message    string            `json:"message"`
		InnerError map[string]string `json:"innerError"`
	} `json:"error"`
}

func decode[T any](t testing.TB, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return v
}

// wantError checks an OData error answer.
func wantError(t testing.TB, r result, status int, code, message string) odataErr {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	e := decode[odataErr](t, r)
	if e.Error.Code != code {
		t.Errorf("code %q, want %q", e.Error.Code, code)
	}
	if message != "" && e.Error.Message != message {
		t.Errorf("message %q, want %q", e.Error.Message, message)
	}
	return e
}

func ids(p page, key string) []string {
	var out []string
	for _, v := range p.Value {
		s, _ := v[key].(string)
		out = append(out, s)
	}
	return out
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func groupOf(t *Tenant, cid string) string {
	for _, c := range t.Connectors {
		if c.ID == cid {
			return c.Group
		}
	}
	return "<missing>"
}

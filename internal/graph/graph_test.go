package graph

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"
	khttp "github.com/microsoft/kiota-http-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"

	"connrecon/internal/apierr"
	"connrecon/internal/graphsim"
	"connrecon/internal/pacer"
)

const refPath = "/members/$ref"

func sampleTenant(t *testing.T) *graphsim.Tenant {
	t.Helper()
	data, err := os.ReadFile("../../samples/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	tn, err := graphsim.LoadTenant(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

type fixture struct {
	sim    *graphsim.Server
	srv    *httptest.Server
	client *Client
}

func newFixture(t *testing.T, tn *graphsim.Tenant, opts graphsim.Options, cfg Config) *fixture {
	t.Helper()
	return newFixtureFor(t, graphsim.New(tn, opts), cfg)
}

func newFixtureFor(t *testing.T, sim *graphsim.Server, cfg Config) *fixture {
	t.Helper()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg.GraphURL = srv.URL + "/beta"
	if cfg.Auth.Mode == "" {
		cfg.Auth = Auth{Mode: AuthToken, Token: "test-token"}
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, srv: srv, client: c}
}

// fastPacer retries quickly so tests stay fast.
func fastPacer() *pacer.Pacer {
	return pacer.New(pacer.Options{MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryTime: 30 * time.Second}, 1)
}

func TestSnapshotReadsWholeTenant(t *testing.T) {
	tn := sampleTenant(t)
	for _, pageSize := range []int{999, 2, 1} {
		f := newFixture(t, tn, graphsim.Options{}, Config{PageSize: pageSize})
		s, err := f.client.Snapshot(context.Background())
		if err != nil {
			t.Fatalf("page size %d: %v", pageSize, err)
		}
		if len(s.Connectors) != len(tn.Connectors) || len(s.Groups) != len(tn.Groups) {
			t.Fatalf("page size %d: got %d connectors, %d groups; want %d, %d", pageSize, len(s.Connectors), len(s.Groups), len(tn.Connectors), len(tn.Groups))
		}
		groupOf := map[string]string{}
		for _, c := range s.Connectors {
			groupOf[c.ID] = c.GroupID
		}
		for _, c := range tn.Connectors {
			if groupOf[c.ID] != c.Group {
				t.Errorf("page size %d: connector %s in group %q, want %q", pageSize, c.MachineName, groupOf[c.ID], c.Group)
			}
		}
		apps := 0
		for _, g := range s.Groups {
			apps += len(g.Applications)
			if g.Name == "APAC - Tokyo" && g.Region != "japan" {
				t.Errorf("off-list region lost: got %q, want japan", g.Region)
			}
		}
		wantApps := 0
		for _, g := range tn.Groups {
			wantApps += len(g.Applications)
		}
		if apps != wantApps {
			t.Errorf("page size %d: %d applications, want %d", pageSize, apps, wantApps)
		}
	}
}

// The request count for a known tenant: one page of connectors, one of
// groups, and per group one of members and one of applications.
func TestSnapshotRequestCount(t *testing.T) {
	tn := sampleTenant(t)
	for _, batch := range []int{1, MaxBatchSize} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			f := newFixture(t, tn, graphsim.Options{}, Config{BatchSize: batch})
			if _, err := f.client.Snapshot(context.Background()); err != nil {
				t.Fatal(err)
			}
			// Items: what Graph counts, batched or not.
			want := 2 + 2*len(tn.Groups)
			if got := len(f.sim.Items()); got != want {
				t.Errorf("snapshot made %d requests, want %d", got, want)
			}
			// The two lists are read alone, the per-group reads batched.
			outer := len(f.sim.Requests()) - want
			if batch == 1 && outer != 0 || batch > 1 && (outer < 1 || outer > len(tn.Groups)) {
				t.Errorf("batch size %d: %d batches for %d group reads", batch, outer, 2*len(tn.Groups))
			}
			// With a page size of 2 each collection takes ceil(n/2) pages.
			f = newFixture(t, tn, graphsim.Options{}, Config{PageSize: 2, BatchSize: batch})
			if _, err := f.client.Snapshot(context.Background()); err != nil {
				t.Fatal(err)
			}
			pages := func(n int) int {
				if n == 0 {
					return 1
				}
				return (n + 1) / 2
			}
			members := map[string]int{}
			for _, c := range tn.Connectors {
				members[c.Group]++
			}
			want = pages(len(tn.Connectors)) + pages(len(tn.Groups))
			for _, g := range tn.Groups {
				want += pages(members[g.ID]) + pages(len(g.Applications))
			}
			if got := len(f.sim.Items()); got != want {
				t.Errorf("paged snapshot made %d requests, want %d", got, want)
			}
		})
	}
}

func TestSnapshotManyPages(t *testing.T) {
	tn := bigTenant(250, 3)
	f := newFixture(t, tn, graphsim.Options{}, Config{PageSize: 7, ReadConcurrency: 4})
	s, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Connectors) != 250 {
		t.Fatalf("%d connectors, want 250", len(s.Connectors))
	}
	seen := map[string]bool{}
	for _, c := range s.Connectors {
		if seen[c.ID] {
			t.Fatalf("connector %s read twice", c.ID)
		}
		seen[c.ID] = true
		if c.GroupID == "" {
			t.Fatalf("connector %s has no group", c.ID)
		}
	}
	for _, r := range f.sim.Requests() {
		if r.Status != http.StatusOK {
			t.Errorf("%s %s?%s: %d", r.Method, r.Path, r.Query, r.Status)
		}
	}
}

func bigTenant(conns, groups int) *graphsim.Tenant {
	tn := &graphsim.Tenant{}
	for g := 0; g < groups; g++ {
		tn.Groups = append(tn.Groups, graphsim.Group{ID: uuid.NewString(), Name: "group " + string(rune('A'+g)), IsDefault: g == 0, Region: "eur"})
	}
	for c := 0; c < conns; c++ {
		tn.Connectors = append(tn.Connectors, graphsim.Connector{ID: uuid.NewString(), MachineName: "conn" + uuid.NewString()[:8], Status: "active", Group: tn.Groups[c%groups].ID})
	}
	return tn
}

func connectorByName(tn *graphsim.Tenant, name string) graphsim.Connector {
	for _, c := range tn.Connectors {
		if strings.HasPrefix(c.MachineName, name) {
			return c
		}
	}
	panic("no connector " + name)
}

func groupByName(tn *graphsim.Tenant, name string) graphsim.Group {
	for _, g := range tn.Groups {
		if g.Name == name {
			return g
		}
	}
	panic("no group " + name)
}

func TestMoveConnector(t *testing.T) {
	tn := sampleTenant(t)
	conn := connectorByName(tn, "fra-appproxy-02")
	eu := groupByName(tn, "EU - Frankfurt")
	f := newFixture(t, tn, graphsim.Options{}, Config{})

	call, err := f.client.MoveConnector(context.Background(), conn.ID, eu.ID)
	if err != nil {
		t.Fatal(err)
	}
	if call.Status != http.StatusNoContent {
		t.Errorf("status %d, want 204", call.Status)
	}
	if _, err := uuid.Parse(call.ClientRequestID); err != nil {
		t.Errorf("client-request-id %q is not a GUID", call.ClientRequestID)
	}
	log := f.sim.Requests()
	last := log[len(log)-1]
	if call.RequestID == "" || call.RequestID != last.RequestID || call.ClientRequestID != last.ClientRequestID {
		t.Errorf("call ids %+v do not match the server's %s/%s", call, last.RequestID, last.ClientRequestID)
	}
	if !strings.HasSuffix(last.Path, "/connectorGroups/"+eu.ID+refPath) || last.Method != http.MethodPost {
		t.Errorf("sent %s %s", last.Method, last.Path)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(last.Body), &body); err != nil || !strings.HasSuffix(body["@odata.id"], "/connectors/"+conn.ID) {
		t.Errorf("body %q, want an @odata.id naming the connector", last.Body)
	}
	for _, c := range f.sim.State().Connectors {
		if c.ID == conn.ID && c.Group != eu.ID {
			t.Errorf("connector still in %s", c.Group)
		}
	}

	// Every call gets its own client-request-id.
	call2, err := f.client.MoveConnector(context.Background(), conn.ID, eu.ID)
	if apierr.ClassOf(err) != apierr.AlreadyInPlace {
		t.Fatalf("second move: %v (class %v), want alreadyInPlace", err, apierr.ClassOf(err))
	}
	if call2.ClientRequestID == call.ClientRequestID {
		t.Error("client-request-id reused")
	}
}

func TestErrorsAreClassed(t *testing.T) {
	tn := sampleTenant(t)
	conn := connectorByName(tn, "fra-appproxy-02")
	eu := groupByName(tn, "EU - Frankfurt")
	cases := []struct {
		name      string
		opts      graphsim.Options
		auth      Auth
		conn, grp string
		class     apierr.Class
		status    int
		contains  []string
	}{
		{"unknown group", graphsim.Options{}, Auth{}, conn.ID, uuid.NewString(), apierr.NotFound, 404, []string{"Request_ResourceNotFound"}},
		{"unknown connector", graphsim.Options{}, Auth{}, uuid.NewString(), eu.ID, apierr.NotFound, 404, nil},
		{"wrong token", graphsim.Options{Token: "right"}, Auth{Mode: AuthToken, Token: "wrong"}, conn.ID, eu.ID, apierr.Auth, 401, []string{"InvalidAuthenticationToken", "--auth token"}},
		{"writes denied", graphsim.Options{DenyWrites: true}, Auth{}, conn.ID, eu.ID, apierr.Auth, 403, []string{"Authorization_RequestDenied", "Directory.ReadWrite.All", "delegated"}},
		{"throttled", graphsim.Options{Faults: graphsim.Faults{ThrottleRate: 1, RetryAfter: 3 * time.Second}}, Auth{}, conn.ID, eu.ID, apierr.Transient, 429, nil},
		{"unavailable", graphsim.Options{Faults: graphsim.Faults{ErrorRate: 1}}, Auth{}, conn.ID, eu.ID, apierr.Transient, 0, nil},
		{"reset", graphsim.Options{Faults: graphsim.Faults{ResetRate: 1}}, Auth{}, conn.ID, eu.ID, apierr.Transient, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tn, tc.opts, Config{Auth: tc.auth})
			call, err := f.client.MoveConnector(context.Background(), tc.conn, tc.grp)
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *apierr.Error", err)
			}
			if ae.Class != tc.class {
				t.Errorf("class %v, want %v (%v)", ae.Class, tc.class, err)
			}
			if tc.status != 0 && (ae.Status != tc.status || call.Status != tc.status) {
				t.Errorf("status %d / call %d, want %d", ae.Status, call.Status, tc.status)
			}
			if ae.Status != 0 && ae.RequestID == "" {
				t.Error("an answered call has no request-id")
			}
			if ae.ClientRequestID == "" {
				t.Error("no client-request-id recorded")
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not mention %q", err, s)
				}
			}
			if tc.name == "throttled" && ae.RetryAfter != 3*time.Second {
				t.Errorf("RetryAfter %v, want 3s", ae.RetryAfter)
			}
			if strings.Contains(err.Error(), "test-token") || strings.Contains(err.Error(), "wrong") && tc.name == "wrong token" {
				t.Errorf("the token leaked into %q", err)
			}
		})
	}
}

// A POST retried after a 429 must arrive with a valid body: the retry is
// a fresh request, not a replay through the compression handler.
func TestRetriedPostArrivesWhole(t *testing.T) {
	tn := sampleTenant(t)
	conn := connectorByName(tn, "sea-appproxy-03")
	us := groupByName(tn, "US - Seattle")
	pc := fastPacer()
	// First attempt throttled, second answered 503, third goes through.
	f := newFixture(t, tn, graphsim.Options{Faults: graphsim.Faults{ThrottleRate: 1, RetryAfter: time.Second}}, Config{})
	n := 0
	attempts, err := pc.Call(context.Background(), func(ctx context.Context) error {
		n++
		switch n {
		case 2:
			f.sim.SetFaults(graphsim.Faults{ErrorRate: 1})
		case 3:
			f.sim.SetFaults(graphsim.Faults{})
		}
		_, err := f.client.MoveConnector(ctx, conn.ID, us.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	posts, faulted := 0, 0
	for _, r := range f.sim.Requests() {
		if r.Method != http.MethodPost {
			continue
		}
		posts++
		if r.Fault != "" {
			faulted++
			continue
		}
		if r.Status != http.StatusNoContent {
			t.Errorf("POST answered %d: %s", r.Status, r.Body)
		}
		var body map[string]string
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["@odata.id"] == "" {
			t.Errorf("retried POST arrived with body %q", r.Body)
		}
	}
	if posts != attempts || faulted != attempts-1 {
		t.Errorf("%d POSTs (%d faulted) for %d attempts", posts, faulted, attempts)
	}
	if attempts != 3 {
		t.Errorf("%d attempts, want 3", attempts)
	}
}

func TestSnapshotRetriesTransientReads(t *testing.T) {
	tn := sampleTenant(t)
	f := newFixture(t, tn, graphsim.Options{Seed: 3}, Config{Pacer: fastPacer(), PageSize: 3})
	f.sim.SetFaults(graphsim.Faults{ThrottleRate: 0.2, ErrorRate: 0.1, ResetRate: 0.05})
	s, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Connectors) != len(tn.Connectors) {
		t.Fatalf("%d connectors, want %d", len(s.Connectors), len(tn.Connectors))
	}
	faults := 0
	for _, r := range f.sim.Requests() {
		if r.Fault != "" {
			faults++
		}
	}
	if faults == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"7", 7 * time.Second}, {"-3", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		// Absurd answers are capped, not obeyed for hours (or overflowed).
		{"86400", maxRetryAfter}, {"99999999999999999", maxRetryAfter},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	}
	for _, tc := range cases {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRetryAfterAsHTTPDate(t *testing.T) {
	tn := sampleTenant(t)
	f := newFixture(t, tn, graphsim.Options{Faults: graphsim.Faults{ThrottleRate: 1, RetryAfter: 5 * time.Second, RetryAfterDate: true}}, Config{})
	_, err := f.client.MoveConnector(context.Background(), tn.Connectors[0].ID, tn.Groups[1].ID)
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Class != apierr.Transient {
		t.Fatalf("got %v", err)
	}
	// An HTTP date has one-second resolution.
	if ae.RetryAfter < 3*time.Second || ae.RetryAfter > 6*time.Second {
		t.Errorf("RetryAfter %v from an HTTP date, want about 5s", ae.RetryAfter)
	}
}

func TestTokenStaysOnGraphHost(t *testing.T) {
	var sawAuth bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = r.Header.Get("Authorization") != ""
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"value":[]}`))
	}))
	defer other.Close()
	// A Graph host whose nextLink points at another host.
	graphSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"value":[],"@odata.nextLink":"` + strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + `/beta/x"}`))
	}))
	defer graphSrv.Close()
	c, err := New(Config{GraphURL: graphSrv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "secret-token-value"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Snapshot(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing to send the token") {
		t.Fatalf("got %v, want a refusal", err)
	}
	if strings.Contains(err.Error(), "secret-token-value") {
		t.Error("token in the error message")
	}
	if sawAuth {
		t.Error("the token reached another host")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []Config{
		{GraphURL: "graph.microsoft.com/beta", Auth: Auth{Mode: AuthToken, Token: "x"}},
		{GraphURL: "ftp://graph.microsoft.com/beta", Auth: Auth{Mode: AuthToken, Token: "x"}},
		{GraphURL: DefaultURL, Auth: Auth{Mode: AuthToken}},
		{GraphURL: DefaultURL, Auth: Auth{Mode: "password"}},
		{GraphURL: DefaultURL, Auth: Auth{Mode: AuthToken, Token: "abc\x00def"}},
	}
	for _, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// A sign-in that fails before any request is sent is fatal, not retried.
func TestSignInFailureIsFatal(t *testing.T) {
	f := newFixture(t, sampleTenant(t), graphsim.Options{}, Config{Pacer: fastPacer()})
	// The token provider refuses to sign for a host other than the Graph
	// URL's, before anything is sent.
	c, err := New(Config{GraphURL: f.srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "x"}, Pacer: fastPacer()})
	if err != nil {
		t.Fatal(err)
	}
	c.adapter.SetBaseUrl(strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1) + "/beta")
	_, err = c.Snapshot(context.Background())
	if apierr.ClassOf(err) != apierr.Auth {
		t.Fatalf("got %v (class %v), want auth", err, apierr.ClassOf(err))
	}
	if n := len(f.sim.Requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// A move's body (about 130 bytes) goes out plain: gzip cannot shrink it.
func TestSmallPostBodyIsPlain(t *testing.T) {
	tn := sampleTenant(t)
	sim := graphsim.New(tn, graphsim.Options{})
	var encodings []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			encodings = append(encodings, r.Header.Get("Content-Encoding"))
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	conn := connectorByName(tn, "stg-appproxy-01")
	if _, err := c.MoveConnector(context.Background(), conn.ID, groupByName(tn, "Staging").ID); err != nil {
		t.Fatal(err)
	}
	if len(encodings) != 1 || encodings[0] != "" {
		t.Errorf("POST Content-Encoding %q, want one plain", encodings)
	}
}

// gzipEcho sends one POST of body through gzipHandler to a server that
// answers refuse (e.g. 415) to gzip bodies, and returns each attempt's
// Content-Encoding and decoded body as the server saw them.
func gzipEcho(t *testing.T, body []byte, refuse int) (encodings []string, bodies [][]byte, status int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc := r.Header.Get("Content-Encoding")
		var rd io.Reader = r.Body
		if enc == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("not gzip: %v", err)
				return
			}
			rd = zr
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		encodings, bodies = append(encodings, enc), append(bodies, b)
		if enc == "gzip" && refuse != 0 {
			w.WriteHeader(refuse)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	hc := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(http.DefaultTransport, gzipHandler{minSize: gzipMinSize})}
	resp, err := hc.Post(srv.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return encodings, bodies, resp.StatusCode
}

// Bodies from gzipMinSize up are compressed and arrive whole; smaller ones
// go plain.
func TestGzipHandler(t *testing.T) {
	for _, size := range []int{gzipMinSize - 1, gzipMinSize, 64 << 10} {
		body := bytes.Repeat([]byte("a"), size)
		encodings, bodies, status := gzipEcho(t, body, 0)
		want := "gzip"
		if size < gzipMinSize {
			want = ""
		}
		if len(encodings) != 1 || encodings[0] != want || !bytes.Equal(bodies[0], body) || status != http.StatusNoContent {
			t.Errorf("%d bytes: encodings %q, body intact %v, status %d; want one %q", size, encodings, len(bodies) == 1 && bytes.Equal(bodies[0], body), status, want)
		}
	}
}

// An endpoint that refuses gzip (415) gets the plain body once.
func TestUncompressedAfter415(t *testing.T) {
	body := bytes.Repeat([]byte("b"), 4096)
	encodings, bodies, status := gzipEcho(t, body, http.StatusUnsupportedMediaType)
	if status != http.StatusNoContent {
		t.Errorf("status %d after the plain resend, want 204", status)
	}
	if len(encodings) != 2 || encodings[0] != "gzip" || encodings[1] != "" {
		t.Fatalf("encodings %q, want gzip then plain", encodings)
	}
	for i, b := range bodies {
		if !bytes.Equal(b, body) {
			t.Errorf("attempt %d: body of %d bytes, want the %d sent", i+1, len(b), len(body))
		}
	}
}

// Values outside the documented enums (a region "japan", a connector
// status nobody has seen yet) are read as sent, never dropped.
func TestUnknownEnumValuesAreKept(t *testing.T) {
	tn := sampleTenant(t)
	tn.Connectors[0].Status = "degraded"
	f := newFixture(t, tn, graphsim.Options{}, Config{})
	s, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var status string
	for _, c := range s.Connectors {
		if c.ID == tn.Connectors[0].ID {
			status = c.Status
		}
	}
	if status != "degraded" {
		t.Errorf("status %q, want degraded", status)
	}
}

// A CRLF-saved environment file leaves "token\r": trimmed, it works.
func TestTokenWithTrailingCRIsTrimmed(t *testing.T) {
	f := newFixture(t, sampleTenant(t), graphsim.Options{Token: "tok"}, Config{Auth: Auth{Mode: AuthToken, Token: "tok\r\n"}})
	if _, err := f.client.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// failingCredential stands in for a token endpoint that answers status.
type failingCredential struct{ status int }

func (f failingCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, &azcore.ResponseError{StatusCode: f.status, ErrorCode: "x"}
}

// The identity service failing for a moment is retried like Graph; a
// refusal is fatal at once.
func TestSignInFailuresAreClassed(t *testing.T) {
	for _, tc := range []struct {
		status int
		class  apierr.Class
	}{{503, apierr.Transient}, {429, apierr.Transient}, {401, apierr.Auth}, {400, apierr.Auth}} {
		f := newFixture(t, sampleTenant(t), graphsim.Options{}, Config{Auth: Auth{Mode: AuthDefault, Credential: failingCredential{tc.status}}})
		_, err := f.client.MoveConnector(context.Background(), "c", "g")
		if got := apierr.ClassOf(err); got != tc.class {
			t.Errorf("token endpoint %d: class %v, want %v (%v)", tc.status, got, tc.class, err)
		}
		if n := len(f.sim.Requests()); n != 0 {
			t.Errorf("token endpoint %d: %d requests reached Graph", tc.status, n)
		}
	}
}

// Mid-replication a connector may show in two groups or in none: the
// snapshot keeps one answer and says so.
func TestSnapshotWarnsAboutMembershipOddities(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		p := strings.TrimPrefix(r.URL.Path, "/beta/onPremisesPublishingProfiles/applicationProxy/")
		switch {
		case p == "connectors":
			w.Write([]byte(`{"value":[{"id":"c1","machineName":"one","status":"active"},{"id":"c2","machineName":"two","status":"active"}]}`))
		case p == "connectorGroups":
			w.Write([]byte(`{"value":[{"id":"g1","name":"A","isDefault":true},{"id":"g2","name":"B"}]}`))
		case strings.HasSuffix(p, "/members"):
			w.Write([]byte(`{"value":[{"id":"c1"}]}`))
		default:
			w.Write([]byte(`{"value":[]}`))
		}
	}))
	defer srv.Close()
	c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(s.Warnings, "\n")
	if len(s.Warnings) != 2 || !strings.Contains(joined, "c1 is listed in two groups") || !strings.Contains(joined, "two (c2) is in no group") {
		t.Errorf("warnings %q", s.Warnings)
	}
	for _, cn := range s.Connectors {
		if cn.ID == "c1" && cn.GroupID != "g1" {
			t.Errorf("c1 taken as in %q, want the first group g1", cn.GroupID)
		}
	}
}

// A move goes to the URL the SDK's request builders would expand, whatever
// characters the group id holds.
func TestMoveURLMatchesTheSDK(t *testing.T) {
	c, err := New(Config{GraphURL: "https://graph.example/beta", Auth: Auth{Mode: AuthToken, Token: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		"3b9c2f7e-1d4a-4f0b-9a52-6c1e8d7f0a21",
		"a b", "x/y", "a+b", "a$b:c@d", "50%", "q?r#s", "ü-~._", "(x)!*',;=&",
	} {
		info, err := c.profile.ConnectorGroups().ByConnectorGroupId(id).Members().Ref().ToPostRequestInformation(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		info.PathParameters["baseurl"] = c.base // as the adapter sets it when sending
		u, err := info.GetUri()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.moveURL(id), u.String(); got != want {
			t.Errorf("group id %q: move URL\n%s\nthe SDK's\n%s", id, got, want)
		}
	}
}

// With no tracer provider installed, the client installs the no-op one, so
// the SDK's spans cost next to nothing.
func TestNoopTracerProvider(t *testing.T) {
	if _, err := New(Config{GraphURL: "https://graph.example/beta", Auth: Auth{Mode: AuthToken, Token: "x"}}); err != nil {
		t.Fatal(err)
	}
	if tp, ok := otel.GetTracerProvider().(noop.TracerProvider); !ok {
		t.Errorf("global tracer provider %T, want noop.TracerProvider", tp)
	}
}

package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"connrecon/internal/apierr"
	"connrecon/internal/graphsim"
)

// oddAnswer is what a proxy in front of Graph might send instead of a
// collection.
type oddAnswer struct {
	status int
	header map[string]string
	body   string
}

// oddProxy answers the requests (GETs, unless method says otherwise)
// whose path ends in suffix with answer (the first times answers, or
// always when times is 0) and passes everything else to the simulator.
type oddProxy struct {
	sim    *graphsim.Server
	method string
	suffix string
	answer oddAnswer
	times  int

	mu  sync.Mutex
	hit int
}

func (p *oddProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := p.method
	if method == "" {
		method = http.MethodGet
	}
	if r.Method == method && strings.HasSuffix(r.URL.Path, p.suffix) {
		p.mu.Lock()
		p.hit++
		odd := p.times == 0 || p.hit <= p.times
		p.mu.Unlock()
		if odd {
			for k, v := range p.answer.header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(p.answer.status)
			w.Write([]byte(p.answer.body))
			return
		}
	}
	p.sim.ServeHTTP(w, r)
}

func (p *oddProxy) hits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hit
}

func newOddFixture(t *testing.T, suffix string, a oddAnswer, times int, cfg Config) (*Client, *oddProxy) {
	t.Helper()
	p := &oddProxy{sim: graphsim.New(sampleTenant(t), graphsim.Options{}), suffix: suffix, answer: a, times: times}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	cfg.GraphURL = srv.URL + "/beta"
	cfg.Auth = Auth{Mode: AuthToken, Token: "test-token"}
	// The proxy rewrites plain answers; a batch item's answer is decoded by
	// the same code once the batcher has unpacked it (batch_test.go).
	cfg.BatchSize = 1
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

const (
	jwtInBody   = "eyJhbGciOiJSUzI1NiJ9.eyJ1cG4iOiJhQGIifQ.c2lnbmF0dXJl"
	loginPage   = `<html><head><title>Sign in</title></head><body>Authorization: Bearer ` + jwtInBody + `</body></html>`
	htmlHeaders = "text/html; charset=utf-8"
)

// A group's member list answered with anything but 200 and a Graph
// collection fails the read, with what was wrong; it never reads as an
// empty group (which made a group serving applications look already
// short, and apply emptied it).
func TestOddAnswersAreErrorsNotEmptyGroups(t *testing.T) {
	tn := sampleTenant(t)
	eu := groupByName(tn, "EU - Frankfurt")
	html := map[string]string{"Content-Type": htmlHeaders}
	cases := []struct {
		name   string
		answer oddAnswer
		want   []string
		class  apierr.Class // after the retries
		tries  int          // requests one read makes with a pacer
	}{
		{"200 empty body", oddAnswer{200, nil, ""}, []string{"200", "an empty body"}, apierr.Other, maxOddAnswers},
		{"200 blank body", oddAnswer{200, map[string]string{"Content-Type": "application/json"}, " \r\n"}, []string{"an empty body"}, apierr.Other, maxOddAnswers},
		{"200 {}", oddAnswer{200, nil, `{}`}, []string{`no "value"`}, apierr.Other, maxOddAnswers},
		{"200 value null", oddAnswer{200, nil, `{"value":null}`}, []string{`no "value"`}, apierr.Other, maxOddAnswers},
		{"200 value object", oddAnswer{200, nil, `{"value":{}}`}, []string{`"value" is JSON an object, not an array`}, apierr.Other, maxOddAnswers},
		{"200 null", oddAnswer{200, nil, `null`}, []string{"JSON null, not an object"}, apierr.Other, maxOddAnswers},
		{"200 array", oddAnswer{200, nil, `[]`}, []string{"JSON an array, not an object"}, apierr.Other, maxOddAnswers},
		{"200 nextLink number", oddAnswer{200, nil, `{"value":[],"@odata.nextLink":5}`}, []string{"nextLink", "not a string"}, apierr.Other, maxOddAnswers},
		{"200 truncated JSON", oddAnswer{200, map[string]string{"Content-Type": "application/json"}, `{"value":[{"id":"x"}`}, []string{"not JSON (Content-Type application/json)"}, apierr.Other, maxOddAnswers},
		{"200 HTML", oddAnswer{200, html, loginPage}, []string{"200", "not JSON (Content-Type text/html; charset=utf-8)", `"<html><head><title>Sign in`, "…"}, apierr.Other, maxOddAnswers},
		{"204", oddAnswer{204, nil, ""}, []string{"204", "no content"}, apierr.Other, maxOddAnswers},
		{"203 with a collection", oddAnswer{203, nil, `{"value":[]}`}, []string{"HTTP 203 Non-Authoritative Information"}, apierr.Other, maxOddAnswers},
		{"302 to a login page", oddAnswer{302, map[string]string{"Location": "https://login.example.com/sso?state=s3cr3t-state"}, ""},
			[]string{"302", "a redirect to https://login.example.com/sso?… (not followed)"}, apierr.Other, 1},
		{"302 with a page", oddAnswer{302, map[string]string{"Location": "https://login.example.com/", "Content-Type": htmlHeaders}, loginPage},
			[]string{"a redirect to https://login.example.com/ (not followed)"}, apierr.Other, 1},
		{"301 with user information", oddAnswer{301, map[string]string{"Location": "http://admin:s3cr3t-pw@proxy.example.com/beta"}, ""},
			[]string{"a redirect to http://xxxxx@proxy.example.com/beta (not followed)"}, apierr.Other, 1},
		{"307 without Location", oddAnswer{307, nil, ""}, []string{"a redirect with no Location"}, apierr.Other, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error", what)
				}
				for _, s := range tc.want {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s: %q does not say %q", what, err, s)
					}
				}
				for _, secret := range []string{"test-token", jwtInBody, "s3cr3t"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("%s: %q quotes %q", what, err, secret)
					}
				}
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Class != tc.class || ae.Status != tc.answer.status || ae.ClientRequestID == "" {
					t.Errorf("%s: %#v, want an *apierr.Error of class %v, status %d, with its client-request-id", what, err, tc.class, tc.answer.status)
				}
			}
			c, p := newOddFixture(t, "/connectorGroups/"+eu.ID+"/members", tc.answer, 0, Config{Pacer: fastPacer()})
			s, err := c.Snapshot(context.Background())
			if s != nil {
				t.Errorf("Snapshot returned a state along with %v", err)
			}
			check("Snapshot", err)
			if !strings.Contains(err.Error(), "members of group EU - Frankfurt") {
				t.Errorf("Snapshot: %q does not name the read", err)
			}
			if p.hits() != tc.tries {
				t.Errorf("Snapshot: the member list was asked %d times, want %d", p.hits(), tc.tries)
			}
			// The read verification repeats after apply.
			ids, _, err := c.GroupMembers(context.Background(), eu.ID)
			if ids != nil {
				t.Errorf("GroupMembers returned %v along with %v", ids, err)
			}
			check("GroupMembers", err)
			if p.hits() != 2*tc.tries {
				t.Errorf("GroupMembers: the member list was asked %d times, want %d", p.hits()-tc.tries, tc.tries)
			}
			// Without a pacer: one request, the same error (odd answers
			// other than redirects stay transient for a caller's retry).
			c, _ = newOddFixture(t, "/connectorGroups/"+eu.ID+"/members", tc.answer, 0, Config{})
			if _, err := c.Snapshot(context.Background()); err == nil || (tc.tries == 1) != (apierr.ClassOf(err) == apierr.Other) {
				t.Errorf("Snapshot without a pacer: %v (class %v)", err, apierr.ClassOf(err))
			}
		})
	}
}

// Every collection the snapshot reads is held to the same rule, not only
// member lists.
func TestOddAnswersFailEveryCollection(t *testing.T) {
	tn := sampleTenant(t)
	eu := groupByName(tn, "EU - Frankfurt")
	for _, suffix := range []string{"/applicationProxy/connectors", "/applicationProxy/connectorGroups", "/connectorGroups/" + eu.ID + "/applications"} {
		for _, a := range []oddAnswer{{200, nil, ""}, {200, nil, `{}`}, {302, map[string]string{"Location": "https://login.example.com/"}, ""}} {
			c, p := newOddFixture(t, suffix, a, 0, Config{})
			s, err := c.Snapshot(context.Background())
			if err == nil || s != nil || p.hits() == 0 {
				t.Errorf("%s answered %d %q: state %v, error %v (%d hits)", suffix, a.status, a.body, s != nil, err, p.hits())
			}
		}
	}
}

// One odd answer between good ones (a proxy mid-failover) is retried and
// the read completes with the real members.
func TestOddAnswerOnceIsRetried(t *testing.T) {
	tn := sampleTenant(t)
	eu := groupByName(tn, "EU - Frankfurt")
	want := 0
	for _, cn := range tn.Connectors {
		if cn.Group == eu.ID {
			want++
		}
	}
	if want == 0 {
		t.Fatal("the sample's EU group has no members: the test proves nothing")
	}
	c, p := newOddFixture(t, "/connectorGroups/"+eu.ID+"/members", oddAnswer{200, nil, ""}, maxOddAnswers-1, Config{Pacer: fastPacer()})
	s, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, cn := range s.Connectors {
		if cn.GroupID == eu.ID {
			got++
		}
	}
	if got != want || p.hits() != maxOddAnswers {
		t.Errorf("%d members of EU after %d reads, want %d after %d", got, p.hits(), want, maxOddAnswers)
	}
}

// staticCredential is a token endpoint that always gives token.
type staticCredential struct{ token string }

func (s staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: s.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// A nextLink is followed only on the Graph URL's scheme, host and port,
// whatever the sign-in. The Azure identity provider alone compares host
// names without ports (its token went to another port) and sends a
// request for a host off its list on without a token (whose answer would
// be read as the tenant's).
func TestNextLinkStaysOnGraphOrigin(t *testing.T) {
	var (
		mu       sync.Mutex
		reached  int
		sawToken bool
	)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached++
		sawToken = sawToken || r.Header.Get("Authorization") != ""
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"value":[{"id":"c9","machineName":"planted"}]}`))
	}))
	defer other.Close()
	var next string
	graphSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/applicationProxy/connectors") {
			w.Write([]byte(`{"value":[],"@odata.nextLink":"` + next + `"}`))
			return
		}
		// Anything else is a nextLink followed to this host.
		mu.Lock()
		reached++
		mu.Unlock()
		w.Write([]byte(`{"value":[]}`))
	}))
	defer graphSrv.Close()
	sameHost := strings.TrimPrefix(graphSrv.URL, "http://")
	cases := []struct{ name, link string }{
		{"another port", other.URL + "/beta/x?$skiptoken=abc"},
		{"another host", strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/beta/x"},
		{"https on the same host", "https://" + sameHost + "/beta/x"},
		{"user information", "http://u:s3cr3t@" + sameHost + "/beta/x"},
	}
	auths := []Auth{{Mode: AuthDefault, Credential: staticCredential{"azure-token-value"}}, {Mode: AuthToken, Token: "static-token-value"}}
	for _, tc := range cases {
		for _, auth := range auths {
			next = tc.link
			c, err := New(Config{GraphURL: graphSrv.URL + "/beta", Auth: auth, BatchSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Snapshot(context.Background())
			if err == nil || !strings.Contains(err.Error(), "refusing to send the token to another host") || apierr.ClassOf(err) != apierr.Auth {
				t.Errorf("%s, --auth %s: %v (class %v), want a refusal", tc.name, auth, err, apierr.ClassOf(err))
			}
			if err != nil && (strings.Contains(err.Error(), "token-value") || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "skiptoken")) {
				t.Errorf("%s: a secret in %q", tc.name, err)
			}
		}
	}
	if reached != 0 || sawToken {
		t.Errorf("a refused nextLink was followed %d times (a token to the other server: %v)", reached, sawToken)
	}
}

// The same origin spelled differently (case, the default port) is the
// same place.
func TestOrigin(t *testing.T) {
	base := mustParse(t, "https://graph.microsoft.com/beta")
	for _, link := range []string{"https://graph.microsoft.com/beta/x", "https://GRAPH.microsoft.com:443/beta/x", "HTTPS://graph.microsoft.com/v1.0"} {
		if origin(mustParse(t, link)) != origin(base) {
			t.Errorf("%s is not on %s", link, origin(base))
		}
	}
	for _, link := range []string{"http://graph.microsoft.com/beta/x", "https://graph.microsoft.com:8443/beta/x", "https://graph.microsoft.com.evil.example/beta"} {
		if origin(mustParse(t, link)) == origin(base) {
			t.Errorf("%s taken as on %s", link, origin(base))
		}
	}
}

func TestSnippetAndRedactURL(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct{ in, secret, want string }{
		{"  <html>\n", "", `"<html>"`},
		{long, "", `"` + long[:snippetLen] + `"…`},
		{"Authorization: Bearer abc.def", "", `"Authorization: [redacted]"`},
		{"token=" + jwtInBody, "", `"token=[redacted]"`},
		{"echo my-static-token here", "my-static-token", `"echo [redacted] here"`},
		{strings.Repeat("é", 40), "", `"` + strings.Repeat("é", 32) + `"…`},
	} {
		if got := snippet([]byte(tc.in), snippetLen, tc.secret); got != tc.want {
			t.Errorf("snippet(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"https://login.example.com/a?b=c#d", "https://login.example.com/a?…"},
		{"https://u:p@login.example.com/", "https://xxxxx@login.example.com/"},
		{"https://u@login.example.com/", "https://xxxxx@login.example.com/"},
		{"http://u:p w@[::1/x?y", "http://xxxxx@[::1/x?…"},
		{"http:u:s3cr3t@h/x?q=1", "xxxxx@h/x?…"},
		{"https:/u:s3cr3t@h/x#f", "xxxxx@h/x"},
		{"https://h/" + strings.Repeat("a", 200), "https://h/" + strings.Repeat("a", maxURLLen-len("https://h/")) + "…"},
	} {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A Graph URL carrying user information is refused, and the refusal does
// not repeat the password.
func TestNewRefusesUserInformation(t *testing.T) {
	for _, u := range []string{"http://user:s3cr3t@127.0.0.1:1/beta", "https://s3cr3t@graph.microsoft.com/beta",
		// not scheme://host: opaque, host-less, no scheme
		"http:usr:s3cr3t@127.0.0.1:18080/beta", "https//usr:s3cr3t@graph.microsoft.com/beta", "https:/usr:s3cr3t@host/beta", "usr:s3cr3t@127.0.0.1:18080/beta"} {
		_, err := New(Config{GraphURL: u, Auth: Auth{Mode: AuthToken, Token: "x"}})
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "xxxxx@") || !strings.Contains(err.Error(), "remove the user information") {
			t.Errorf("New(%s): %v", u, err)
		}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A nextLink that leads back to a page already read is an error, not a
// read that never ends.
func TestNextLinkLoopIsAnError(t *testing.T) {
	var srv *httptest.Server
	var mu sync.Mutex
	asked := 0
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked++
		n := asked
		mu.Unlock()
		if n > 10 {
			http.Error(w, "stop", http.StatusGone) // the old code would go on for ever
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// connectors → page a → page b → page a …
		next := srv.URL + "/beta/a"
		if r.URL.Path == "/beta/a" {
			next = srv.URL + "/beta/b"
		}
		w.Write([]byte(`{"value":[],"@odata.nextLink":"` + next + `"}`))
	}))
	defer srv.Close()
	c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "x"}, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Snapshot(context.Background())
	if err == nil || !strings.Contains(err.Error(), "points back to an earlier page") {
		t.Errorf("got %v, want a loop refused", err)
	}
	if asked != 3 {
		t.Errorf("%d pages asked for, want 3", asked)
	}
}

// A move answered with a redirect did not happen: the SDK takes any
// status under 400 for success.
func TestMoveAnsweredByARedirectFails(t *testing.T) {
	tn := sampleTenant(t)
	conn := connectorByName(tn, "fra-appproxy-02")
	us := groupByName(tn, "US - Seattle")
	p := &oddProxy{sim: graphsim.New(tn, graphsim.Options{}), method: http.MethodPost, suffix: "/members/$ref",
		answer: oddAnswer{302, map[string]string{"Location": "https://login.example.com/?s=s3cr3t"}, ""}}
	srv := httptest.NewServer(p)
	defer srv.Close()
	c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "test-token"}, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	call, err := c.MoveConnector(context.Background(), conn.ID, us.ID)
	if err == nil || apierr.ClassOf(err) != apierr.Other || call.Status != 302 ||
		!strings.Contains(err.Error(), "a redirect to https://login.example.com/?… (not followed)") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("move answered 302: call %+v, error %v (class %v), want a failure", call, err, apierr.ClassOf(err))
	}
	if p.hits() != 1 || p.sim.Moves() != 0 {
		t.Errorf("%d requests, %d moves: the proxy was not in the way", p.hits(), p.sim.Moves())
	}
}

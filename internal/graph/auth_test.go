package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"connrecon/internal/graphsim"
)

// fakeJWT builds an unsigned token with the given claims: Graph (here the
// simulator) checks it; connrecon only reads who it names.
func fakeJWT(claims map[string]string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + ".c2ln"
}

// tokenEndpoint is a local Entra ID stand-in over TLS: OpenID discovery and
// the v2.0 token endpoint for the client-credentials grant.
type tokenEndpoint struct {
	*httptest.Server
	token  string
	mu     sync.Mutex
	scopes []string
	grants []string
}

func newTokenEndpoint(t *testing.T, token string) *tokenEndpoint {
	te := &tokenEndpoint{token: token}
	te.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
			tenant := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[0]
			base := te.URL + "/" + tenant
			json.NewEncoder(w).Encode(map[string]any{
				"token_endpoint":         base + "/oauth2/v2.0/token",
				"authorization_endpoint": base + "/oauth2/v2.0/authorize",
				"issuer":                 base + "/v2.0",
			})
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
			r.ParseForm()
			te.mu.Lock()
			te.scopes = append(te.scopes, r.PostForm.Get("scope"))
			te.grants = append(te.grants, r.PostForm.Get("grant_type")+":"+r.PostForm.Get("client_id")+":"+r.PostForm.Get("client_secret"))
			te.mu.Unlock()
			json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": te.token})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(te.Close)
	return te
}

// The real sign-in path end to end: azidentity's ClientSecretCredential
// gets a token from a local TLS token endpoint (custom authority, instance
// discovery off, the test certificate trusted), and the simulator, which
// accepts only that token, serves the snapshot.
func TestClientSecretSignInDrivesGraphsim(t *testing.T) {
	token := fakeJWT(map[string]string{"app_displayname": "connrecon-cron", "appid": "11111111-2222-3333-4444-555555555555", "idtyp": "app"})
	te := newTokenEndpoint(t, token)
	cred, err := azidentity.NewClientSecretCredential("contoso-tenant", "11111111-2222-3333-4444-555555555555", "client-secret-value", &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: te.URL + "/"}, Transport: te.Client()},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tn := sampleTenant(t)
	f := newFixture(t, tn, graphsim.Options{Token: token}, Config{Auth: Auth{Mode: AuthDefault, Credential: cred}})
	if f.client.Operator() != "" {
		t.Errorf("operator %q before any sign-in", f.client.Operator())
	}
	s, err := f.client.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Connectors) != len(tn.Connectors) {
		t.Fatalf("%d connectors, want %d", len(s.Connectors), len(tn.Connectors))
	}
	if _, err := f.client.MoveConnector(context.Background(), connectorByName(tn, "stg-appproxy-01").ID, groupByName(tn, "Staging").ID); err != nil {
		t.Fatal(err)
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	// One token for the whole run (cached), scoped to the Graph URL's host.
	if len(te.scopes) != 1 {
		t.Errorf("%d token requests, want 1 (the token is cached)", len(te.scopes))
	}
	wantScope := f.srv.URL + "/.default"
	if len(te.scopes) > 0 && !strings.Contains(te.scopes[0], wantScope) {
		t.Errorf("scope %q, want %q", te.scopes[0], wantScope)
	}
	if len(te.grants) > 0 && te.grants[0] != "client_credentials:11111111-2222-3333-4444-555555555555:client-secret-value" {
		t.Errorf("grant %q", te.grants[0])
	}
	if got, want := f.client.Operator(), "connrecon-cron (app 11111111-2222-3333-4444-555555555555)"; got != want {
		t.Errorf("operator %q, want %q", got, want)
	}
}

func TestCloudsSetGraphHostAndAuthority(t *testing.T) {
	cases := map[string]struct{ host, authority string }{
		"public":   {"graph.microsoft.com", "login.microsoftonline.com"},
		"usgov":    {"graph.microsoft.us", "login.microsoftonline.us"},
		"usgovdod": {"dod-graph.microsoft.us", "login.microsoftonline.us"},
		"china":    {"microsoftgraph.chinacloudapi.cn", "login.chinacloudapi.cn"},
	}
	if len(Clouds) != len(cases) {
		t.Fatalf("%d clouds, want %d", len(Clouds), len(cases))
	}
	for name, want := range cases {
		c, ok := Clouds[name]
		if !ok {
			t.Errorf("no cloud %q", name)
			continue
		}
		if !strings.HasPrefix(c.GraphURL, "https://"+want.host+"/") {
			t.Errorf("%s: Graph URL %s, want host %s", name, c.GraphURL, want.host)
		}
		if !strings.Contains(c.Authority.ActiveDirectoryAuthorityHost, want.authority) {
			t.Errorf("%s: authority %s, want %s", name, c.Authority.ActiveDirectoryAuthorityHost, want.authority)
		}
	}
}

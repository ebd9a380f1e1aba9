package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connrecon/internal/apierr"
	"connrecon/internal/graphsim"
)

// echoToken stands for a static token (CONNRECON_TOKEN): not a JWT, so
// only the client's knowing it can mask it.
const echoToken = "SuperSecretTok3nValue.abcdef"

// A service's or a proxy's error that echoes the token (or anything
// token-like) never carries it into the error the client returns, for
// writes and reads, OData errors and plain ones, whatever signed in; a
// long message is cut. The class is decided on the service's words as
// sent.
func TestErrorsMaskEchoedTokens(t *testing.T) {
	tn := sampleTenant(t)
	conn := connectorByName(tn, "fra-appproxy-02")
	us := groupByName(tn, "US - Seattle")
	odata := func(status int, code, msg string) oddAnswer {
		return oddAnswer{status, map[string]string{"Content-Type": "application/json"},
			`{"error":{"code":"` + code + `","message":"` + msg + `"}}`}
	}
	html := map[string]string{"Content-Type": htmlHeaders}
	azure := Auth{Mode: AuthDefault, Credential: staticCredential{"azure-opaque-token-value"}}
	static := Auth{Mode: AuthToken, Token: echoToken}
	cases := []struct {
		name    string
		method  string // GET: a read of the connectors; POST: a move
		auth    Auth
		answer  oddAnswer
		secrets []string
		class   apierr.Class
		long    bool // the message was far over maxMessageLen
	}{
		{"move, 400, Bearer and the token", http.MethodPost, static,
			odata(400, "Request_BadRequest", "you sent Bearer "+echoToken+" and then "+echoToken+" again"), []string{echoToken, "SuperSecret"}, apierr.Other, false},
		{"move, 400 already exist, echoing the token", http.MethodPost, static,
			odata(400, "Request_BadRequest", alreadyExists+" (Authorization: Bearer "+echoToken+")"), []string{echoToken}, apierr.AlreadyInPlace, false},
		{"move, 403, the token in the code", http.MethodPost, static,
			odata(403, "Denied_"+echoToken, "no"), []string{echoToken}, apierr.Auth, false},
		{"move, 400, a JWT", http.MethodPost, static,
			odata(400, "Request_BadRequest", "token "+jwtInBody+" is not valid"), []string{jwtInBody, "eyJhbGci"}, apierr.Other, false},
		{"move, 500 page echoing the token (no OData error)", http.MethodPost, static,
			oddAnswer{500, html, "<p>Authorization: Bearer " + echoToken + "</p>"}, []string{echoToken}, apierr.Other, false},
		{"move, 400, the Azure sign-in's token echoed bare", http.MethodPost, azure,
			odata(400, "Request_BadRequest", "you sent azure-opaque-token-value"), []string{"azure-opaque-token-value"}, apierr.Other, false},
		{"read, 500, Bearer and the token", http.MethodGet, static,
			odata(500, "UnknownError", "upstream refused Bearer "+echoToken), []string{echoToken}, apierr.Other, false},
		{"read, 400, the token, a long message", http.MethodGet, static,
			odata(400, "Request_BadRequest", strings.Repeat("a", 5000)+echoToken), []string{echoToken}, apierr.Other, true},
		{"read, 400, the Azure sign-in's token", http.MethodGet, azure,
			odata(400, "Request_BadRequest", "you sent azure-opaque-token-value"), []string{"azure-opaque-token-value"}, apierr.Other, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			suffix := "/applicationProxy/connectors"
			if tc.method == http.MethodPost {
				suffix = "/members/$ref"
			}
			p := &oddProxy{sim: graphsim.New(tn, graphsim.Options{}), method: tc.method, suffix: suffix, answer: tc.answer}
			srv := httptest.NewServer(p)
			defer srv.Close()
			c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: tc.auth, BatchSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			if tc.method == http.MethodPost {
				_, err = c.MoveConnector(context.Background(), conn.ID, us.ID)
			} else {
				_, err = c.Snapshot(context.Background())
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || p.hits() != 1 {
				t.Fatalf("%d requests, error %#v: want an *apierr.Error", p.hits(), err)
			}
			if ae.Class != tc.class || ae.Status != tc.answer.status {
				t.Errorf("class %v status %d, want %v %d", ae.Class, ae.Status, tc.class, tc.answer.status)
			}
			for _, s := range tc.secrets {
				for what, v := range map[string]string{"Error()": err.Error(), "Message": ae.Message, "Code": ae.Code} {
					if strings.Contains(v, s) {
						t.Errorf("%s quotes %q: %q", what, s, v)
					}
				}
			}
			if tc.answer.status != 500 && !tc.long && !strings.Contains(ae.Message+ae.Code, "[redacted]") {
				t.Errorf("message %q code %q: nothing says what was masked", ae.Message, ae.Code)
			}
			if len(ae.Message) > maxMessageLen+len("…") || tc.long != strings.HasSuffix(ae.Message, "…") {
				t.Errorf("message of %d bytes (cut: %v), want at most %d, cut %v", len(ae.Message), strings.HasSuffix(ae.Message, "…"), maxMessageLen, tc.long)
			}
		})
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n       int
		secrets []string
		want    string
		cut     bool
	}{
		{"you sent Bearer abc.def", 100, nil, "you sent [redacted]", false},
		{"echo " + echoToken, 100, []string{"", echoToken}, "echo [redacted]", false},
		{"x" + jwtInBody, 10, nil, "x[redacted]", true}, // a JWT cut short still masked
		{strings.Repeat("é", 10), 5, nil, "éé", true},
		{"plain", 5, []string{""}, "plain", false},
	} {
		got, cut := mask(tc.in, tc.n, tc.secrets...)
		if got != tc.want || cut != tc.cut {
			t.Errorf("mask(%q, %d) = %q, %v; want %q, %v", tc.in, tc.n, got, cut, tc.want, tc.cut)
		}
	}
}

package claims

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func jwt(payload any) string {
	b, _ := json.Marshal(payload)
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

func TestParse(t *testing.T) {
	cases := []struct {
		name        string
		token       string
		ok          bool
		kind, op    string
		has, hasNot string
	}{
		{"delegated user", jwt(map[string]any{"upn": "admin@contoso.com", "appid": "x", "scp": "Directory.ReadWrite.All User.Read", "tid": "t1"}), true, KindUser, "admin@contoso.com", "directory.readwrite.all", "Directory.Read.All"},
		{"v2 user", jwt(map[string]any{"preferred_username": "ops@contoso.com", "scp": "User.Read"}), true, KindUser, "ops@contoso.com", "User.Read", "Directory.ReadWrite.All"},
		{"app only with idtyp", jwt(map[string]any{"idtyp": "app", "appid": "abc", "app_displayname": "cron", "roles": []string{"Directory.ReadWrite.All"}}), true, KindApp, "cron (app abc)", "Directory.ReadWrite.All", "User.Read"},
		{"app only by roles", jwt(map[string]any{"azp": "abc", "roles": []string{"Directory.Read.All"}}), true, KindApp, "app abc", "Directory.Read.All", "Directory.ReadWrite.All"},
		{"empty payload", jwt(map[string]any{}), true, "", "", "", "Directory.ReadWrite.All"},
		{"aud as a list", jwt(map[string]any{"aud": []string{"https://graph.microsoft.com"}, "upn": "a@b"}), true, KindUser, "a@b", "", "x"},
		{"opaque", "opaque-token", false, "", "", "", "x"},
		{"bad base64", "a.!!!.c", false, "", "", "", "x"},
		{"not an object", "a." + base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + ".c", false, "", "", "", "x"},
		{"roles of the wrong type", jwt(map[string]any{"roles": "Directory.ReadWrite.All", "upn": "a@b"}), false, "", "", "", "Directory.ReadWrite.All"},
		{"too long", "a." + strings.Repeat("A", MaxToken) + ".c", false, "", "", "", "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := Parse(tc.token)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if c.Kind() != tc.kind || c.Operator() != tc.op {
				t.Errorf("kind %q operator %q, want %q %q", c.Kind(), c.Operator(), tc.kind, tc.op)
			}
			if tc.has != "" && !c.Has(tc.has) {
				t.Errorf("Has(%q) = false, claims %+v", tc.has, c)
			}
			if c.Has(tc.hasNot) {
				t.Errorf("Has(%q) = true, claims %+v", tc.hasNot, c)
			}
		})
	}
}

func TestParseKeepsTenantAudienceExpiry(t *testing.T) {
	c, ok := Parse(jwt(map[string]any{"tid": "72f988bf", "aud": "https://graph.microsoft.us", "exp": 1800000000, "iss": "https://sts.windows.net/72f988bf/", "oid": "o1"}))
	if !ok {
		t.Fatal("not parsed")
	}
	want := Claims{TenantID: "72f988bf", Audience: "https://graph.microsoft.us", Expires: time.Unix(1800000000, 0).UTC(), Issuer: "https://sts.windows.net/72f988bf/", ObjectID: "o1", Scopes: []string{}}
	if c.TenantID != want.TenantID || c.Audience != want.Audience || !c.Expires.Equal(want.Expires) || c.Issuer != want.Issuer || c.ObjectID != want.ObjectID {
		t.Errorf("got %+v, want %+v", c, want)
	}
}

// FuzzParse: a token is outside input; whatever it holds, Parse returns
// and what it keeps is no longer than the token.
func FuzzParse(f *testing.F) {
	f.Add(jwt(map[string]any{"upn": "a@b", "scp": "x y", "roles": []string{"r"}, "exp": 1}))
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		c, ok := Parse(tok)
		if !ok {
			return
		}
		if n := len(c.User) + len(c.AppID) + len(c.AppName) + len(c.TenantID) + len(c.Audience); n > len(tok) {
			t.Errorf("claims hold %d bytes from a %d-byte token", n, len(tok))
		}
		_ = c.Kind()
		_ = c.Operator()
	})
}

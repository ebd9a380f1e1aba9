package graphsim

import (
	"net/http"
	"testing"
)

// Options.Permissions answers as the service would for the token's
// claims; DenyReads and DenyWrites refuse whatever the token.
func TestPermissions(t *testing.T) {
	user := func(scp string) string {
		return UnsignedToken(map[string]any{"upn": "admin@contoso.com", "scp": scp, "tid": "t"})
	}
	app := func(roles ...string) string {
		return UnsignedToken(map[string]any{"idtyp": "app", "appid": "a", "roles": roles, "tid": "t"})
	}
	allow := func(g *Guesses) { g.AppOnly = AppOnlyAllow }
	for _, tc := range []struct {
		name        string
		opts        Options
		guess       func(*Guesses)
		token       string
		read, write int
	}{
		{"delegated with the scope", Options{Permissions: true}, nil, user("User.Read Directory.ReadWrite.All"), 200, 400},
		{"scope in other case", Options{Permissions: true}, nil, user("directory.readwrite.all"), 200, 400},
		{"delegated without it", Options{Permissions: true}, nil, user("User.Read Directory.Read.All"), 403, 403},
		{"app-only, guess deny", Options{Permissions: true}, nil, app("Directory.ReadWrite.All"), 403, 403},
		{"app-only, guess allow", Options{Permissions: true}, allow, app("Directory.ReadWrite.All"), 200, 400},
		{"app-only, allow, no role", Options{Permissions: true}, allow, app("Directory.Read.All"), 403, 403},
		{"opaque token passes", Options{Permissions: true}, nil, "opaque", 200, 400},
		{"claims ignored without Permissions", Options{}, nil, user("User.Read"), 200, 400},
		{"writes denied", Options{DenyWrites: true}, nil, user("Directory.ReadWrite.All"), 200, 403},
		{"reads denied", Options{DenyReads: true}, nil, user("Directory.ReadWrite.All"), 403, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.guess != nil {
				tc.guess(&tc.opts.Guesses)
			}
			h := newHarness(t, tc.opts)
			auth := []string{"Authorization", "Bearer " + tc.token}
			r := h.do("GET", base+"/connectorGroups", nil, auth...)
			if r.status != tc.read {
				t.Errorf("read: %d %s, want %d", r.status, r.body, tc.read)
			}
			if r.status == http.StatusForbidden {
				wantError(t, r, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			}
			// c1 is already in gUS: a permitted write is the guessed
			// "already exist" 400, and changes nothing either way.
			w := h.do("POST", base+"/connectorGroups/"+gUS+"/members/$ref", refBody("connectors", c1), auth...)
			if w.status != tc.write {
				t.Errorf("write: %d %s, want %d", w.status, w.body, tc.write)
			}
			// A batch item is judged by the outer request's token.
			b := h.do("POST", "/beta/$batch", []byte(`{"requests":[{"id":"1","method":"GET","url":"/onPremisesPublishingProfiles/applicationProxy/connectorGroups"}]}`), auth...)
			items := decode[struct {
				Responses []struct{ Status int } `json:"responses"`
			}](t, b)
			if b.status != 200 || len(items.Responses) != 1 || items.Responses[0].Status != tc.read {
				t.Errorf("batch: %d %s, want 200 with an item %d", b.status, b.body, tc.read)
			}
		})
	}
}

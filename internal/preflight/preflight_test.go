package preflight

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connrecon/internal/apierr"
	"connrecon/internal/claims"
	"connrecon/internal/golden"
	"connrecon/plan"
)

// fakeTenant is a hand-written Tenant: a fixed state, scripted answers,
// and a log of the writes it was sent.
type fakeTenant struct {
	state    *plan.State
	readErr  error
	claims   claims.Claims
	seen     bool
	readable bool
	pageSize int
	pingErr  error
	batchErr error
	moveErr  error
	// members answers GroupMembers: before the probe's write, and after.
	before, after []string
	memberReads   int
	moves         []string
}

func (f *fakeTenant) Snapshot(context.Context) (*plan.State, error) {
	if f.readErr != nil {
		return nil, f.readErr
	}
	return f.state, nil
}
func (f *fakeTenant) Identity() (claims.Claims, bool, bool) { return f.claims, f.seen, f.readable }
func (f *fakeTenant) Paging() (int, int)                    { return 4, f.pageSize }
func (f *fakeTenant) PageSizeAsked() int                    { return 999 }
func (f *fakeTenant) Ping(context.Context) (apierr.Call, time.Duration, error) {
	return apierr.Call{Status: 200}, 42 * time.Millisecond, f.pingErr
}
func (f *fakeTenant) ProbeBatch(context.Context) (apierr.Call, error) {
	return apierr.Call{Status: 200, RequestID: "req-batch"}, f.batchErr
}
func (f *fakeTenant) MoveConnector(_ context.Context, cid, gid string) (apierr.Call, error) {
	f.moves = append(f.moves, cid+"→"+gid)
	if f.moveErr != nil {
		return apierr.CallOf(f.moveErr), f.moveErr
	}
	return apierr.Call{Status: 204, RequestID: "req-move"}, nil
}
func (f *fakeTenant) GroupMembers(context.Context, string) ([]string, apierr.Call, error) {
	f.memberReads++
	if f.memberReads == 1 {
		return f.before, apierr.Call{Status: 200, RequestID: "req-read-1"}, nil
	}
	return f.after, apierr.Call{Status: 200, RequestID: "req-read-2"}, nil
}

func tenantState() *plan.State {
	return &plan.State{
		Connectors: []plan.Connector{
			{ID: "c-off", MachineName: "OLD01", Status: "inactive", GroupID: "g-us"},
			{ID: "c-1", MachineName: "WEB01", Status: "active", GroupID: "g-us"},
			{ID: "c-2", MachineName: "WEB02", Status: "active", GroupID: "g-default"},
		},
		Groups: []plan.Group{
			{ID: "g-default", Name: "Default", IsDefault: true},
			{ID: "g-us", Name: "US", Region: "nam", Applications: []plan.Application{{ID: "a1", DisplayName: "HR"}}},
			{ID: "g-sync", Name: "Sync", Type: "syncFabric"},
		},
	}
}

var (
	admin     = claims.Claims{User: "admin@contoso.com", TenantID: "tenant-1", AppID: "app-cli", Scopes: []string{"Directory.ReadWrite.All", "User.Read"}}
	reader    = claims.Claims{User: "ops@contoso.com", TenantID: "tenant-1", AppID: "app-cli", Scopes: []string{"Directory.Read.All"}}
	appOnly   = claims.Claims{AppName: "cron", AppID: "app-cron", TenantID: "tenant-1", IDType: "app", Roles: []string{"Directory.ReadWrite.All"}}
	appNoRole = claims.Claims{AppName: "cron", AppID: "app-cron", TenantID: "tenant-1", IDType: "app", Roles: []string{"Application.Read.All"}}
	denied    = &apierr.Error{Call: apierr.Call{Status: 403, RequestID: "req-403"}, Class: apierr.Auth, Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation.", Hint: "a hint the check does not repeat"}
	expired   = &apierr.Error{Call: apierr.Call{Status: 401, RequestID: "req-401"}, Class: apierr.Auth, Code: "InvalidAuthenticationToken", Message: "Lifetime validation failed, the token is expired."}
	already   = &apierr.Error{Call: apierr.Call{Status: 400, RequestID: "req-move"}, Class: apierr.AlreadyInPlace, Code: "Request_BadRequest", Message: "One or more added object references already exist"}
	conflict  = &apierr.Error{Call: apierr.Call{Status: 409, RequestID: "req-move"}, Class: apierr.Other, Code: "Conflict", Message: "Object already exists."}
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name                string
		tenant              fakeTenant
		probe               bool
		ok, canPlan, canApp bool
		moves               int // writes sent
	}{
		{name: "healthy", tenant: fakeTenant{claims: admin, seen: true, readable: true, moveErr: already, before: []string{"C-1"}}, probe: true,
			ok: true, canPlan: true, canApp: true, moves: 1},
		{name: "healthy-paged-no-probe", tenant: fakeTenant{claims: admin, seen: true, readable: true, pageSize: 100},
			ok: true, canPlan: true, canApp: true},
		{name: "writes-denied", tenant: fakeTenant{claims: admin, seen: true, readable: true, moveErr: denied, before: []string{"c-1"}}, probe: true,
			canPlan: true, moves: 1},
		{name: "reads-denied", tenant: fakeTenant{claims: reader, seen: true, readable: true, readErr: denied}, probe: true},
		{name: "app-only", tenant: fakeTenant{claims: appOnly, seen: true, readable: true},
			ok: true, canPlan: true, canApp: true},
		{name: "app-only-without-role", tenant: fakeTenant{claims: appNoRole, seen: true, readable: true}, canPlan: true},
		{name: "no-scope", tenant: fakeTenant{claims: reader, seen: true, readable: true}, canPlan: true},
		{name: "no-scope-but-writes-allowed", tenant: fakeTenant{claims: reader, seen: true, readable: true, before: []string{"c-1"}}, probe: true,
			ok: true, canPlan: true, canApp: true, moves: 1},
		{name: "no-sign-in", tenant: fakeTenant{readErr: &apierr.Error{Message: "sign-in (--auth cli): Azure CLI not found on path"}}},
		{name: "token-expired", tenant: fakeTenant{claims: admin, seen: true, readable: true, readErr: expired}},
		{name: "opaque-token", tenant: fakeTenant{seen: true}, ok: true, canPlan: true, canApp: true},
		{name: "opaque-token-probed", tenant: fakeTenant{seen: true, before: []string{"c-1"}}, probe: true, ok: true, canPlan: true, canApp: true, moves: 1},
		{name: "opaque-token-writes-denied", tenant: fakeTenant{seen: true, moveErr: denied, before: []string{"c-1"}}, probe: true, canPlan: true, moves: 1},
		{name: "probe-answered-409", tenant: fakeTenant{claims: admin, seen: true, readable: true, moveErr: conflict, before: []string{"c-1"}, after: []string{"c-1"}}, probe: true,
			ok: true, canPlan: true, canApp: true, moves: 1},
		{name: "probe-connector-moved-meanwhile", tenant: fakeTenant{claims: admin, seen: true, readable: true, before: []string{"c-other"}}, probe: true,
			ok: true, canPlan: true, canApp: true},
		{name: "probe-lost-answer", tenant: fakeTenant{claims: admin, seen: true, readable: true, before: []string{"c-1"}, after: []string{"c-1"},
			moveErr: &apierr.Error{Call: apierr.Call{ClientRequestID: "crid"}, Class: apierr.Transient, Message: "connection reset by peer"}}, probe: true,
			ok: true, canPlan: true, canApp: true, moves: 1},
		{name: "probe-lost-answer-no-scope", tenant: fakeTenant{claims: reader, seen: true, readable: true, before: []string{"c-1"}, after: []string{"c-1"},
			moveErr: &apierr.Error{Call: apierr.Call{Status: 503, RequestID: "req-503"}, Class: apierr.Transient, Code: "serviceNotAvailable", Message: "The service is temporarily unavailable."}}, probe: true,
			canPlan: true, moves: 1},
		{name: "batch-refused-slow-link", tenant: fakeTenant{claims: admin, seen: true, readable: true,
			batchErr: &apierr.Error{Call: apierr.Call{Status: 400, RequestID: "req-batch"}, Code: "BadRequest", Message: "Batch is not supported."}},
			ok: true, canPlan: true, canApp: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := tc.tenant
			if ft.readErr == nil {
				ft.state = tenantState()
			}
			f := Gather(context.Background(), &ft, Options{Auth: "cli", Cloud: "public", GraphURL: "https://graph.microsoft.com/beta", WriteProbe: tc.probe})
			if tc.name == "batch-refused-slow-link" {
				f.RTT = 2500 * time.Millisecond
			}
			r := Judge(f)
			if r.OK != tc.ok || r.CanPlan != tc.canPlan || r.CanApply != tc.canApp {
				t.Errorf("ok %v plan %v apply %v, want %v %v %v", r.OK, r.CanPlan, r.CanApply, tc.ok, tc.canPlan, tc.canApp)
			}
			if len(ft.moves) != tc.moves {
				t.Errorf("writes %v, want %d", ft.moves, tc.moves)
			}
			for _, m := range ft.moves {
				// The probe only ever re-adds an active connector to the
				// group it is in.
				if m != "c-1→g-us" {
					t.Errorf("probe wrote %s, want c-1→g-us", m)
				}
			}
			fails := 0
			for _, c := range r.Checks {
				if c.Status == Fail {
					fails++
					if c.Fix == "" {
						t.Errorf("check %s fails without saying what to do", c.Name)
					}
				}
			}
			if (fails == 0) != r.OK {
				t.Errorf("%d failed checks but ok %v", fails, r.OK)
			}
			var text bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".txt"), text.Bytes())
			if tc.name == "healthy" {
				var js bytes.Buffer
				if err := r.WriteJSON(&js); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("testdata", "healthy.json"), js.Bytes())
			}
			if strings.Contains(text.String(), "a hint the check does not repeat") {
				t.Errorf("the Graph client's hint is repeated:\n%s", text.String())
			}
			var js bytes.Buffer
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.OK != r.OK || len(back.Checks) != len(r.Checks) {
				t.Errorf("JSON does not read back: %v\n%s", err, js.String())
			}
		})
	}
}

// A token given as it is (--auth token) that runs out soon is worth a
// word; one that lasts, or a sign-in that renews its token, is not.
func TestCheckWarnsOfShortLivedToken(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		auth string
		in   time.Duration
		want Status
	}{
		{"token", 5 * time.Minute, Warn},
		{"token", time.Hour, Pass},
		{"cli", 5 * time.Minute, Pass},
	} {
		cl := admin
		cl.Expires = now.Add(tc.in)
		ft := fakeTenant{claims: cl, seen: true, readable: true, state: tenantState()}
		f := Gather(context.Background(), &ft, Options{Auth: tc.auth})
		f.Now = now
		r := Judge(f)
		if c := r.Checks[0]; c.Status != tc.want || (tc.want == Warn && !strings.Contains(c.Detail, "expires at 10:05 UTC, in 5m0s")) {
			t.Errorf("--auth %s, expiring in %s: %s %q", tc.auth, tc.in, c.Status, c.Detail)
		}
		if !r.OK {
			t.Errorf("--auth %s: a short-lived token fails the check", tc.auth)
		}
	}
}

// A tenant's text cannot drive the terminal through check's output.
func TestCheckEscapesTenantText(t *testing.T) {
	ft := fakeTenant{claims: admin, seen: true, readable: true, state: tenantState()}
	ft.state.Groups[0].Name = "Default\x1b[2J\r"
	r := Judge(Gather(context.Background(), &ft, Options{}))
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b\r") {
		t.Errorf("control characters reach the terminal: %q", b.String())
	}
}

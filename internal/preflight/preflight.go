package preflight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"connrecon/internal/apierr"
	"connrecon/internal/claims"
	"connrecon/plan"
)

// Tenant is what check needs from Graph (the Graph client).
type Tenant interface {
	Snapshot(ctx context.Context) (*plan.State, error)
	// Identity: the first token's claims; seen is false before a token
	// was issued, readable false for an opaque one.
	Identity() (c claims.Claims, seen, readable bool)
	// Paging: the largest page's items so far, and the page size the
	// service chose where it paged (else 0).
	Paging() (largest, pageSize int)
	PageSizeAsked() int
	Ping(ctx context.Context) (apierr.Call, time.Duration, error)
	ProbeBatch(ctx context.Context) (apierr.Call, error)
	MoveConnector(ctx context.Context, connectorID, groupID string) (apierr.Call, error)
	GroupMembers(ctx context.Context, groupID string) ([]string, apierr.Call, error)
}

// Options for Run.
type Options struct {
	Auth     string // the --auth mode, for advice
	Cloud    string // the --cloud name
	GraphURL string // redacted
	// WriteProbe adds one active connector to the group it is already in
	// (no change) to learn whether writes are allowed.
	WriteProbe bool
	// Pings is how many round trips to time (default 3); the best counts.
	Pings int
}

// The permission every call of connrecon needs (delegated).
const permission = "Directory.ReadWrite.All"

// Facts are what Run gathered, before judging.
type Facts struct {
	Options
	Now             time.Time // when the check ran, for the token's expiry
	Claims          claims.Claims
	Seen, Readable  bool
	State           *plan.State
	ReadErr         error
	Largest         int
	PageSize, Asked int
	RTT             time.Duration
	PingErr         error
	BatchCall       apierr.Call
	BatchErr        error
	Probe           *Probe // nil: not asked for, or reads failed
}

// Probe is what the write probe did.
type Probe struct {
	Connector plan.Connector
	Group     plan.Group
	Skipped   string // why no write was sent ("" when one was)
	Call      apierr.Call
	Err       error
	// After the write: was the connector still listed in its group, and
	// the read that said so (nil when the read was not needed or failed).
	StillThere *bool
	ReadCall   apierr.Call
	ReadErr    error
}

// Gather runs the checks against t: sign-in and reads first (the token is
// issued on the first call), then the round trip, $batch, and the write
// probe when asked.
func Gather(ctx context.Context, t Tenant, opts Options) Facts {
	if opts.Pings <= 0 {
		opts.Pings = 3
	}
	f := Facts{Options: opts, Asked: t.PageSizeAsked(), Now: time.Now()}
	f.State, f.ReadErr = t.Snapshot(ctx)
	f.Claims, f.Seen, f.Readable = t.Identity()
	f.Largest, f.PageSize = t.Paging()
	if f.ReadErr != nil {
		return f
	}
	for range opts.Pings {
		_, took, err := t.Ping(ctx)
		if err != nil {
			f.PingErr = err
			continue
		}
		if f.RTT == 0 || took < f.RTT {
			f.RTT = took
		}
	}
	f.BatchCall, f.BatchErr = t.ProbeBatch(ctx)
	if opts.WriteProbe {
		f.Probe = probe(ctx, t, f.State)
	}
	return f
}

// probe re-adds one active connector to the group it is in. The group is
// read again just before, so that a connector someone moved since the
// snapshot is never put back: the write changes nothing only if it is
// still there.
func probe(ctx context.Context, t Tenant, s *plan.State) *Probe {
	p := &Probe{}
	groups := map[string]plan.Group{}
	for _, g := range s.Groups {
		groups[g.ID] = g
	}
	i := slices.IndexFunc(s.Connectors, func(c plan.Connector) bool {
		g, ok := groups[c.GroupID]
		return strings.EqualFold(c.Status, "active") && ok && g.IsTarget()
	})
	if i < 0 {
		p.Skipped = "no active connector in an application proxy group to probe with"
		return p
	}
	p.Connector, p.Group = s.Connectors[i], groups[s.Connectors[i].GroupID]
	ids, _, err := t.GroupMembers(ctx, p.Group.ID)
	if err != nil {
		p.Skipped = fmt.Sprintf("the read of group %q before the write failed: %v", p.Group.Name, err)
		return p
	}
	if !containsFold(ids, p.Connector.ID) {
		p.Skipped = fmt.Sprintf("connector %s is no longer in group %q (moved since the read?)", p.Connector.MachineName, p.Group.Name)
		return p
	}
	p.Call, p.Err = t.MoveConnector(ctx, p.Connector.ID, p.Group.ID)
	switch apierr.ClassOf(p.Err) {
	case apierr.AlreadyInPlace, apierr.Auth, apierr.Transient:
		// Answered for sure, or not answered at all: a read adds nothing.
		return p
	}
	if p.Err == nil {
		return p
	}
	// Any other refusal: the tenant says whether anything changed.
	ids, p.ReadCall, p.ReadErr = t.GroupMembers(ctx, p.Group.ID)
	if p.ReadErr == nil {
		there := containsFold(ids, p.Connector.ID)
		p.StillThere = &there
	}
	return p
}

func containsFold(ids []string, id string) bool {
	return slices.ContainsFunc(ids, func(s string) bool { return strings.EqualFold(s, id) })
}

// Status of one check.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn" // works, but worth knowing; does not fail the check
	Skip Status = "skip" // not run
)

// Check is one line of the report.
type Check struct {
	Name      string `json:"name"`
	Status    Status `json:"status"`
	Detail    string `json:"detail"`
	Fix       string `json:"fix,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// Report is check's verdict.
type Report struct {
	OK       bool     `json:"ok"`       // plan and apply could run
	CanPlan  bool     `json:"canPlan"`  // sign-in and reads work
	CanApply bool     `json:"canApply"` // and writes are allowed (probed) or granted (claims)
	Identity Identity `json:"identity"`
	Tenant   *Counts  `json:"tenant,omitempty"`
	Checks   []Check  `json:"checks"`
}

// Identity is who signed in, from the token's claims.
type Identity struct {
	Kind     string   `json:"kind,omitempty"` // user or application
	Name     string   `json:"name,omitempty"`
	TenantID string   `json:"tenantId,omitempty"`
	AppID    string   `json:"appId,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Cloud    string   `json:"cloud"`
	GraphURL string   `json:"graphUrl"`
	Auth     string   `json:"auth"`
}

// Counts are what the reads found.
type Counts struct {
	Connectors   int `json:"connectors"`
	Active       int `json:"activeConnectors"`
	Groups       int `json:"groups"`
	Members      int `json:"members"`
	Applications int `json:"applications"`
	PageSize     int `json:"pageSize,omitempty"` // the service's, when it paged
	LargestPage  int `json:"largestPage"`
	PageSizeAsk  int `json:"pageSizeAsked"`
	RoundTripMS  int `json:"roundTripMs,omitempty"`
}

// Names of the checks, in the order they are shown.
const (
	CheckSignIn       = "sign-in"
	CheckPermissions  = "permissions"
	CheckConnectors   = "connectors"
	CheckGroups       = "connector groups"
	CheckMembers      = "members"
	CheckApplications = "applications"
	CheckReadNotes    = "reads"
	CheckPaging       = "paging"
	CheckBatch        = "$batch"
	CheckRoundTrip    = "round trip"
	CheckWrites       = "writes"
)

// slowRTT is a round trip worth a word: an apply of many moves will take
// a while.
const slowRTT = 2 * time.Second

// Judge turns the facts into the report.
func Judge(f Facts) Report {
	r := Report{Identity: Identity{
		Kind: f.Claims.Kind(), Name: f.Claims.Operator(), TenantID: f.Claims.TenantID, AppID: f.Claims.AppID,
		Scopes: f.Claims.Scopes, Roles: f.Claims.Roles, Cloud: f.Cloud, GraphURL: f.GraphURL, Auth: f.Auth,
	}}
	add := func(c Check) { r.Checks = append(r.Checks, c) }

	signedIn := f.Seen && !isStatus(f.ReadErr, 401)
	add(signInCheck(f, signedIn))
	perm := permissionCheck(f)
	add(perm)
	if !signedIn {
		r.Checks[len(r.Checks)-1] = Check{Name: CheckPermissions, Status: Skip, Detail: "not signed in"}
		return r
	}
	if f.ReadErr != nil {
		add(Check{Name: CheckConnectors + ", groups, members, applications", Status: Fail,
			Detail: "the read failed: " + shortError(f.ReadErr), Fix: readFix(f), RequestID: apierr.CallOf(f.ReadErr).RequestID})
		return r
	}
	r.CanPlan = true
	s := f.State
	c := &Counts{Connectors: len(s.Connectors), Groups: len(s.Groups), LargestPage: f.Largest, PageSizeAsk: f.Asked, PageSize: f.PageSize}
	for _, cn := range s.Connectors {
		if cn.GroupID != "" {
			c.Members++
		}
		if strings.EqualFold(cn.Status, "active") {
			c.Active++
		}
	}
	var defaults, others []string
	for _, g := range s.Groups {
		c.Applications += len(g.Applications)
		if g.IsDefault {
			defaults = append(defaults, fmt.Sprintf("%q", g.Name))
		}
		if !g.IsTarget() {
			others = append(others, fmt.Sprintf("%q (%s)", g.Name, g.Type))
		}
	}
	r.Tenant = c
	add(Check{Name: CheckConnectors, Status: Pass, Detail: fmt.Sprintf("%d readable, %d active", c.Connectors, c.Active)})
	g := Check{Name: CheckGroups, Status: Pass, Detail: fmt.Sprintf("%d readable; default: %s", c.Groups, orNone(defaults))}
	if len(defaults) != 1 {
		g.Status, g.Fix = Warn, "a tenant has one default connector group; --unlisted default cannot be used until it does"
	}
	if len(others) > 0 {
		g.Detail += fmt.Sprintf("; not application proxy groups (never a move target): %s", strings.Join(others, ", "))
	}
	add(g)
	add(Check{Name: CheckMembers, Status: Pass, Detail: fmt.Sprintf("%d of %d connectors listed in a group", c.Members, c.Connectors)})
	add(Check{Name: CheckApplications, Status: Pass, Detail: fmt.Sprintf("%d readable", c.Applications)})
	for _, w := range s.Warnings {
		add(Check{Name: CheckReadNotes, Status: Warn, Detail: w})
	}
	add(pagingCheck(f))
	add(batchCheck(f))
	rt := Check{Name: CheckRoundTrip, Status: Pass}
	switch {
	case f.RTT == 0 && f.PingErr != nil:
		rt.Status, rt.Detail = Warn, "not measured: "+f.PingErr.Error()
	default:
		c.RoundTripMS = int((f.RTT + time.Millisecond/2) / time.Millisecond)
		rt.Detail = fmt.Sprintf("%s (best of %d reads)", millis(f.RTT), f.Pings)
		if f.RTT >= slowRTT {
			rt.Status, rt.Fix = Warn, "a slow link: apply takes about this long per request (a batch of up to --batch-size moves) and worker; raise --concurrency if the tenant does not throttle"
		}
	}
	add(rt)
	w := writesCheck(f)
	add(w)
	// A probe that could not tell leaves it to the claims, as no probe does.
	r.CanApply = w.Status == Pass || (w.Status != Fail && perm.Status != Fail)
	if w.Status == Pass && perm.Status == Warn {
		// The probe answered what the token could not say, or what Learn
		// left open for app-only sign-in.
		for i := range r.Checks {
			if r.Checks[i].Name == CheckPermissions {
				r.Checks[i].Fix = ""
			}
		}
	}
	if w.Status == Pass && perm.Status == Fail {
		// The service allowed what the claims did not show: the tenant
		// decides.
		for i := range r.Checks {
			if r.Checks[i].Name == CheckPermissions {
				r.Checks[i].Status = Warn
				r.Checks[i].Detail = "the token's scopes (" + strings.Join(f.Claims.Scopes, ", ") + ") do not list " + permission + ", yet the service allowed the reads and the write probe"
				r.Checks[i].Fix = "nothing to do now; if a later run is refused, grant " + permission + " (delegated)"
			}
		}
	}
	r.OK = r.CanPlan && r.CanApply
	return r
}

// millis shows a round trip in milliseconds, with a tenth under 10 ms (a
// link on the same host or region).
func millis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	if ms < 10 {
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func isStatus(err error, status int) bool {
	var e *apierr.Error
	return errors.As(err, &e) && e.Status == status
}

func signInCheck(f Facts, signedIn bool) Check {
	c := Check{Name: CheckSignIn}
	where := fmt.Sprintf("cloud %s, %s", f.Cloud, f.GraphURL)
	switch {
	case !f.Seen:
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("no token (--auth %s, %s): %s", f.Auth, where, shortError(f.ReadErr)), signInFix(f.Auth)
	case !signedIn:
		c.Status, c.Detail = Fail, fmt.Sprintf("the service refused the token (--auth %s, %s): %s", f.Auth, where, shortError(f.ReadErr))
		c.Fix = "sign in again: the token is expired, revoked, or for another cloud's Graph host (--cloud)"
		c.RequestID = apierr.CallOf(f.ReadErr).RequestID
		if aud := f.Claims.Audience; aud != "" {
			c.Detail += "; the token is for " + aud
		}
	case !f.Readable:
		c.Status, c.Detail = Warn, fmt.Sprintf("signed in (--auth %s, %s); the token is no readable JWT, so who and which permissions cannot be shown", f.Auth, where)
	default:
		who := f.Claims.Operator()
		if who == "" {
			who = "an unnamed identity"
		}
		kind := map[string]string{claims.KindUser: "a user", claims.KindApp: "an application"}[f.Claims.Kind()]
		if kind == "" {
			kind = "user or application not stated"
		}
		tenant := f.Claims.TenantID
		if tenant == "" {
			tenant = "not stated"
		}
		c.Status, c.Detail = Pass, fmt.Sprintf("%s, %s; tenant %s; %s", who, kind, tenant, where)
		// Only a token given as it is runs out mid-run: the other
		// sign-ins renew theirs.
		if exp := f.Claims.Expires; f.Auth == "token" && !exp.IsZero() && !f.Now.IsZero() && exp.Sub(f.Now) < shortLived {
			c.Status = Warn
			c.Detail += fmt.Sprintf("; the token expires at %s UTC, in %s", exp.UTC().Format("15:04"), exp.Sub(f.Now).Round(time.Minute))
			c.Fix = "a long apply would be refused once it expires: get a fresh token, or sign in with --auth cli, device or msi, which renew theirs"
		}
	}
	return c
}

// shortLived: a token given with --auth token that expires sooner may not
// last through an apply of many moves.
const shortLived = 15 * time.Minute

func signInFix(auth string) string {
	switch auth {
	case "cli":
		return "run `az login` (for a national cloud, `az cloud set` first) as an account allowed to manage application proxy"
	case "device":
		return "complete the device code sign-in shown above; --client-id names your own app registration if the Azure CLI's is blocked"
	case "msi":
		return "run where a managed identity is assigned (an Azure VM, Container Apps, Functions), or name a user-assigned one with --client-id"
	case "token":
		return "set CONNRECON_TOKEN to a current access token for the Graph host"
	}
	return "sign in with `az login`, or set the AZURE_* variables of a service principal, or use --auth device"
}

func permissionCheck(f Facts) Check {
	c := Check{Name: CheckPermissions}
	cl := f.Claims
	list := func(kind string, p []string) string {
		if len(p) == 0 {
			return kind + " none"
		}
		return kind + " " + strings.Join(p, ", ")
	}
	consent := "grant (admin consent) the delegated permission " + permission + " to the app you sign in with"
	if cl.AppID != "" {
		consent += " (app " + cl.AppID + ")"
	}
	consent += ", then sign in again as a user with the Application Administrator role"
	switch {
	case !f.Readable:
		c.Status, c.Detail = Warn, "the token does not say which permissions it carries"
		c.Fix = "run with --write-probe to learn whether writes are allowed"
	case cl.Kind() == claims.KindApp && !cl.Has(permission):
		c.Status, c.Detail = Fail, "app-only sign-in with "+list("roles", cl.Roles)+": "+permission+" is missing"
		c.Fix = "sign in as a user with delegated " + permission + " (--auth cli or --auth device): Learn lists application permissions as not supported for these calls"
	case cl.Kind() == claims.KindApp:
		c.Status, c.Detail = Warn, "app-only sign-in with "+list("roles", cl.Roles)+": Learn lists application permissions as not supported for these calls"
		c.Fix = "if a call is refused, sign in as a user with delegated " + permission + " (--auth cli or --auth device); --write-probe tells before a real move"
	case cl.Has(permission):
		c.Status, c.Detail = Pass, "delegated, "+list("scopes", cl.Scopes)
	default:
		c.Status, c.Detail = Fail, "delegated, "+list("scopes", cl.Scopes)+": "+permission+" is missing, and every call of connrecon needs it"
		c.Fix = consent
	}
	return c
}

func readFix(f Facts) string {
	switch {
	case isStatus(f.ReadErr, 403):
		return "the sign-in may not read application proxy: it needs delegated " + permission + " (admin consent) and an account with the Application Administrator role; app-only sign-in is not supported for these calls per Learn"
	case isStatus(f.ReadErr, 404):
		return "check --graph-url and --cloud: the application proxy endpoints were not found there (is application proxy enabled in the tenant?)"
	case apierr.ClassOf(f.ReadErr) == apierr.Transient:
		return "the service did not answer in time or throttled: try again later; give Microsoft support the request-id if it persists"
	}
	return "see the error; give Microsoft support the request-id if it persists"
}

func pagingCheck(f Facts) Check {
	c := Check{Name: CheckPaging, Status: Pass}
	if f.PageSize > 0 {
		c.Detail = fmt.Sprintf("the service sends %d items a page (asked for %d); every page was followed", f.PageSize, f.Asked)
	} else {
		c.Detail = fmt.Sprintf("every collection came on one page (the largest held %d items; asked for up to %d)", f.Largest, f.Asked)
	}
	return c
}

func batchCheck(f Facts) Check {
	c := Check{Name: CheckBatch, Status: Pass, Detail: "accepted", RequestID: f.BatchCall.RequestID}
	if f.BatchErr != nil {
		c.Status, c.Detail = Warn, "not accepted: "+f.BatchErr.Error()
		c.Fix = "nothing to do: plan and apply send single requests instead (slower); --batch-size 1 skips trying"
		if id := apierr.CallOf(f.BatchErr).RequestID; id != "" {
			c.RequestID = id
		}
	}
	return c
}

func writesCheck(f Facts) Check {
	c := Check{Name: CheckWrites}
	p := f.Probe
	if p == nil {
		c.Status, c.Detail = Skip, "not probed"
		c.Fix = "add --write-probe to learn whether writes are allowed (it re-adds one connector to the group it is in, which changes nothing)"
		return c
	}
	if p.Skipped != "" {
		c.Status, c.Detail = Warn, "not probed: "+p.Skipped
		return c
	}
	what := fmt.Sprintf("re-adding connector %s to its own group %q", p.Connector.MachineName, p.Group.Name)
	c.RequestID = p.Call.RequestID
	if e := (*apierr.Error)(nil); errors.As(p.Err, &e) && e.RequestID != "" {
		c.RequestID = e.RequestID
	}
	switch {
	case p.Err == nil:
		c.Status, c.Detail = Pass, fmt.Sprintf("allowed: %s was answered %d (nothing changed)", what, p.Call.Status)
	case apierr.ClassOf(p.Err) == apierr.AlreadyInPlace:
		c.Status, c.Detail = Pass, fmt.Sprintf("allowed: %s was answered \"already a member\" (nothing changed)", what)
	case isStatus(p.Err, 403):
		c.Status, c.Detail = Fail, fmt.Sprintf("refused: %s: %s", what, shortError(p.Err))
		c.Fix = "moves need the delegated permission " + permission + " (admin consent) and a user with the Application Administrator role: sign in with --auth cli (after `az login`) or --auth device; app-only sign-in (managed identity, client secret) is not supported for moves per Learn"
	case apierr.ClassOf(p.Err) == apierr.Auth:
		c.Status, c.Detail = Fail, fmt.Sprintf("refused: %s: %s", what, shortError(p.Err))
		c.Fix = "sign in again: the token was refused"
	case apierr.ClassOf(p.Err) == apierr.Transient:
		// Throttled, unavailable or no answer: nothing was allowed or
		// refused, whatever a read shows.
		c.Status = Warn
		c.Detail = fmt.Sprintf("cannot tell: %s was answered %s", what, shortError(p.Err))
		c.Fix = "run check again when the service answers; give Microsoft support the request-id if it persists"
	case p.StillThere != nil && *p.StillThere:
		c.Status = Pass
		c.Detail = fmt.Sprintf("allowed: %s was answered %s; a read (request-id %s) shows it still in its group, so nothing changed (this is how the service says \"already a member\")", what, shortError(p.Err), p.ReadCall.RequestID)
	case p.StillThere != nil:
		c.Status = Warn
		c.Detail = fmt.Sprintf("%s was answered %s, and a read (request-id %s) no longer lists it in its group", what, shortError(p.Err), p.ReadCall.RequestID)
		c.Fix = "check the connector in the Entra admin center; run `connrecon plan` to see where it is"
	default:
		c.Status = Warn
		c.Detail = fmt.Sprintf("cannot tell: %s was answered %s", what, shortError(p.Err))
		if p.ReadErr != nil {
			c.Detail += "; the read after it failed: " + shortError(p.ReadErr)
		}
		c.Fix = "run check again; if it persists, give Microsoft support the request-id"
	}
	return c
}

// shortError is an error without the permission hint the Graph client
// adds (the check's Fix says it better).
func shortError(err error) string {
	var e *apierr.Error
	if errors.As(err, &e) {
		cp := *e
		cp.Hint = ""
		return strings.TrimPrefix(cp.Error(), "graph: ")
	}
	return strings.TrimPrefix(err.Error(), "graph: ")
}

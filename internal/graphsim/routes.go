package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"connrecon/internal/claims"
)

// Routing is by path segment, compared case-insensitively as Graph does;
// ids are compared case-insensitively too (they are GUIDs in the service).
func (s *Server) route(c *call) *response {
	segs := c.segs
	if len(segs) == 1 && eq(segs[0], "$batch") && !c.batchItem {
		return dispatch(c, nil, func() *response { return s.batch(c) })
	}
	if len(segs) >= 1 && eq(segs[0], "applications") {
		if resp := s.denied(c); resp != nil {
			return resp
		}
		n := len(segs)
		switch {
		case n == 3 && eq(segs[2], "connectorGroup"):
			return dispatch(c, func() *response { return s.applicationGroup(c, segs[1]) }, nil)
		case n == 4 && eq(segs[2], "connectorGroup") && segs[3] == "$ref":
			return serve(c, handlers{put: func() *response { return s.putApplicationGroup(c, segs[1]) }})
		}
		return unknownPath(c)
	}
	if len(segs) < 3 || !eq(segs[0], "onPremisesPublishingProfiles") || !eq(segs[1], "applicationProxy") {
		return unknownPath(c)
	}
	if resp := s.denied(c); resp != nil {
		return resp
	}
	rest := segs[2:]
	n := len(rest)
	switch {
	case eq(rest[0], "connectors"):
		switch {
		case n == 1:
			return dispatch(c, func() *response { return s.listConnectors(c) }, nil)
		case n == 2:
			return dispatch(c, func() *response { return s.getConnector(c, rest[1]) }, nil)
		case n == 3 && eq(rest[2], "memberOf"):
			return dispatch(c, func() *response { return s.memberOf(c, rest[1], false) }, nil)
		case n == 4 && eq(rest[2], "memberOf") && rest[3] == "$ref":
			return dispatch(c,
				func() *response { return s.memberOf(c, rest[1], true) },
				func() *response { return s.postMemberOf(c, rest[1]) })
		}
	case eq(rest[0], "connectorGroups"):
		switch {
		case n == 1:
			return dispatch(c, func() *response { return s.listGroups(c) }, nil)
		case n == 2:
			return dispatch(c, func() *response { return s.getGroup(c, rest[1]) }, nil)
		case n == 3 && eq(rest[2], "members"):
			return dispatch(c, func() *response { return s.members(c, rest[1], false) }, nil)
		case n == 3 && eq(rest[2], "applications"):
			return dispatch(c, func() *response { return s.applications(c, rest[1]) }, nil)
		case n == 4 && eq(rest[2], "members") && rest[3] == "$ref":
			return dispatch(c,
				func() *response { return s.members(c, rest[1], true) },
				func() *response { return s.postMembers(c, rest[1]) })
		}
	}
	return unknownPath(c)
}

func eq(a, b string) bool { return strings.EqualFold(a, b) }

// dispatch runs get or post by method; any other method on a known path is
// a 405 with an OData error and an Allow header.
func dispatch(c *call, get, post func() *response) *response {
	return serve(c, handlers{get: get, post: post})
}

// handlers are a path's handlers by method; nil: not taken.
type handlers struct{ get, post, put func() *response }

// serve is dispatch for paths that take other methods than GET and POST.
func serve(c *call, h handlers) *response {
	switch {
	case c.method == http.MethodGet && h.get != nil:
		return h.get()
	case c.method == http.MethodPost && h.post != nil:
		return h.post()
	case c.method == http.MethodPut && h.put != nil:
		return h.put()
	}
	var allow []string
	if h.get != nil {
		allow = append(allow, http.MethodGet)
	}
	if h.post != nil {
		allow = append(allow, http.MethodPost)
	}
	if h.put != nil {
		allow = append(allow, http.MethodPut)
	}
	resp := odataError(c, http.StatusMethodNotAllowed, c.g.MethodNotAllowedCode, c.g.MethodNotAllowedMessage)
	resp.header.Set("Allow", strings.Join(allow, ", "))
	return resp
}

// unknownPath names the first segment the simulator does not know.
func unknownPath(c *call) *response {
	seg := c.path
	if c.segs != nil {
		seg = firstUnknownSegment(c.segs)
	}
	return odataError(c, c.g.UnknownPathStatus, c.g.UnknownPathCode, fmt.Sprintf(c.g.UnknownPathFormat, seg))
}

func firstUnknownSegment(segs []string) string {
	if eq(segs[0], "applications") {
		for i, s := range segs {
			switch {
			case i == 1 && s != "", i == 2 && eq(s, "connectorGroup"), i == 3 && s == "$ref":
			case i == 0:
			default:
				return s
			}
		}
		return segs[len(segs)-1]
	}
	okAt := func(i int) bool {
		s := segs[i]
		switch i {
		case 0:
			return eq(s, "onPremisesPublishingProfiles")
		case 1:
			return eq(s, "applicationProxy")
		case 2:
			return eq(s, "connectors") || eq(s, "connectorGroups")
		case 3:
			return s != ""
		case 4:
			if eq(segs[2], "connectors") {
				return eq(s, "memberOf")
			}
			return eq(s, "members") || eq(s, "applications")
		case 5:
			return s == "$ref" && !eq(segs[4], "applications")
		}
		return false
	}
	for i := range segs {
		if !okAt(i) {
			return segs[i]
		}
	}
	return segs[len(segs)-1]
}

// Properties served per type, in the service's order. $select picks among
// them; id is always included.
var (
	connectorProps   = []string{"id", "machineName", "externalIp", "status", "version"}
	groupProps       = []string{"id", "name", "connectorGroupType", "isDefault", "region"}
	applicationProps = []string{"id", "appId", "displayName"}
)

func connectorObject(cn *Connector) object {
	return object{
		{"id", cn.ID},
		{"machineName", cn.MachineName},
		{"externalIp", cn.ExternalIP},
		{"status", nullable(cn.Status)},
		{"version", cn.Version},
	}
}

func groupObject(g *Group) object {
	return object{
		{"id", g.ID},
		{"name", g.Name},
		{"connectorGroupType", groupType(g)},
		{"isDefault", g.IsDefault},
		{"region", nullable(g.Region)},
	}
}

// groupType is the connectorGroupType served for g: the tenant file's,
// or applicationProxy when it names none.
func groupType(g *Group) string {
	if g.ConnectorGroupType == "" {
		return "applicationProxy"
	}
	return g.ConnectorGroupType
}

func applicationObject(a *Application) object {
	return object{{"id", a.ID}, {"appId", a.AppID}, {"displayName", a.DisplayName}}
}

func project(o object, sel []string) object {
	if sel == nil {
		return o
	}
	out := object{}
	for _, f := range o {
		if f.k == "id" || slices.Contains(sel, f.k) {
			out = append(out, f)
		}
	}
	return out
}

// queryOpts are the parsed OData query options of one request.
type queryOpts struct {
	top    int
	topSet bool
	sel    []string // canonical property names; nil = all
	after  int      // position of the last item already served; -1 = none
}

// Query options the real service supports but the simulator does not: it
// refuses them rather than answer as if they were not there.
var unsupportedOptions = []string{"filter", "count", "skip", "orderby", "expand", "search", "format", "compute", "apply", "levels", "deltatoken"}

// parseQuery reads $top, $select and $skiptoken. On beta the $ prefix is
// optional, so "top" is $top too. Go has already decoded %24top to $top.
// props nil means $select does not apply (a $ref collection).
func (s *Server) parseQuery(c *call, typeName string, props []string) (queryOpts, *response) {
	o := queryOpts{top: s.pageSize, after: -1}
	keys := make([]string, 0, len(c.query))
	for k := range c.query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, key := range keys {
		vals := c.query[key]
		hasDollar := strings.HasPrefix(key, "$")
		name := strings.ToLower(strings.TrimPrefix(key, "$"))
		switch {
		case name == "top" || name == "select" || name == "skiptoken":
			if seen[name] || len(vals) > 1 {
				return o, badRequest(c, fmt.Sprintf("Query option '$%s' was specified more than once, it must be specified at most once.", name))
			}
			seen[name] = true
		case slices.Contains(unsupportedOptions, name):
			return o, badRequest(c, fmt.Sprintf(unsupportedQueryFormat, key))
		case hasDollar:
			return o, badRequest(c, fmt.Sprintf("The query parameter '%s' is not supported.", key))
		default:
			continue // Graph ignores custom query parameters
		}
		v := vals[0]
		switch name {
		case "top":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			switch {
			case err == nil && n > s.maxPage && s.g.TopAboveMax == TopCap:
				n = s.maxPage // the nextLink then carries the capped $top
			case err != nil || n < 1 || n > s.maxPage:
				return o, badRequest(c, fmt.Sprintf(s.g.InvalidTopFormat, v, s.maxPage))
			}
			o.top, o.topSet = n, true
		case "select":
			if props == nil {
				continue
			}
			o.sel = []string{}
			for _, p := range strings.Split(v, ",") {
				p = strings.TrimSpace(p)
				if p == "" {
					continue
				}
				if p == "*" {
					o.sel = nil
					break
				}
				i := slices.IndexFunc(props, func(q string) bool { return eq(q, p) })
				if i < 0 && s.g.UnknownSelect == SelectIgnore {
					continue
				}
				if i < 0 {
					return o, badRequest(c, fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, typeName))
				}
				if !slices.Contains(o.sel, props[i]) {
					o.sel = append(o.sel, props[i])
				}
			}
		case "skiptoken":
			pos, ok := s.parseSkipToken(collectionKey(c), v)
			if !ok {
				return o, badRequest(c, s.g.InvalidSkipTokenMessage)
			}
			o.after = pos
		}
	}
	return o, nil
}

func collectionKey(c *call) string { return strings.Join(c.segs, "/") }

// selectSuffix is the "(a,b)" part of an @odata.context after $select.
func selectSuffix(sel []string) string {
	if sel == nil {
		return ""
	}
	return "(" + strings.Join(sel, ",") + ")"
}

func (c *call) metadata() string {
	return c.root + "/$metadata#onPremisesPublishingProfiles('applicationProxy')"
}

// page serves one page of a collection. positions are the items' stable
// positions, ascending; the skip token carries the last one served.
func (s *Server) page(c *call, o queryOpts, positions []int, render func(int) any, context string) *response {
	start := sort.SearchInts(positions, o.after+1)
	end := min(len(positions), start+o.top)
	values := make([]any, 0, end-start)
	for _, p := range positions[start:end] {
		values = append(values, render(p))
	}
	body := object{{"@odata.context", context}}
	if end < len(positions) {
		body = append(body, field{"@odata.nextLink", s.nextLink(c, o, positions[end-1])})
	}
	body = append(body, field{"value", values})
	return jsonResponse(body)
}

// nextLink is absolute, built from the request's own scheme and host, and
// keeps $top and $select so following it verbatim gives the same shape.
func (s *Server) nextLink(c *call, o queryOpts, last int) string {
	segs := make([]string, len(c.segs))
	for i, sg := range c.segs {
		segs[i] = url.PathEscape(sg)
	}
	var q []string
	if o.topSet {
		q = append(q, "$top="+strconv.Itoa(o.top))
	}
	if o.sel != nil {
		q = append(q, "$select="+strings.Join(o.sel, ","))
	}
	q = append(q, "$skiptoken="+s.skipToken(collectionKey(c), last))
	return c.root + "/" + strings.Join(segs, "/") + "?" + strings.Join(q, "&")
}

func (s *Server) refObject(c *call, kind, id string) object {
	return object{{"@odata.id", c.root + "/onPremisesPublishingProfiles/applicationProxy/" + kind + "/" + id}}
}

func seq(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

func (s *Server) listConnectors(c *call) *response {
	o, errResp := s.parseQuery(c, "connector", connectorProps)
	if errResp != nil {
		return errResp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.page(c, o, seq(len(s.conns)), func(i int) any {
		return project(connectorObject(&s.conns[i]), o.sel)
	}, c.metadata()+"/connectors"+selectSuffix(o.sel))
}

func (s *Server) getConnector(c *call, id string) *response {
	o, errResp := s.parseQuery(c, "connector", connectorProps)
	if errResp != nil {
		return errResp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, ok := s.connIdx[strings.ToLower(id)]
	if !ok {
		return notFound(c, id)
	}
	ctx := field{"@odata.context", c.metadata() + "/connectors" + selectSuffix(o.sel) + "/$entity"}
	return jsonResponse(append(object{ctx}, project(connectorObject(&s.conns[ci]), o.sel)...))
}

func (s *Server) listGroups(c *call) *response {
	o, errResp := s.parseQuery(c, "connectorGroup", groupProps)
	if errResp != nil {
		return errResp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.page(c, o, seq(len(s.groups)), func(i int) any {
		return project(groupObject(&s.groups[i]), o.sel)
	}, c.metadata()+"/connectorGroups"+selectSuffix(o.sel))
}

func (s *Server) getGroup(c *call, id string) *response {
	o, errResp := s.parseQuery(c, "connectorGroup", groupProps)
	if errResp != nil {
		return errResp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gi, ok := s.groupIdx[strings.ToLower(id)]
	if !ok {
		return notFound(c, id)
	}
	ctx := field{"@odata.context", c.metadata() + "/connectorGroups" + selectSuffix(o.sel) + "/$entity"}
	return jsonResponse(append(object{ctx}, project(groupObject(&s.groups[gi]), o.sel)...))
}

// viewGroup is the group membership reads show for connector ci at now:
// the previous group while a recent move is still propagating. Caller holds
// s.mu.
func (s *Server) viewGroup(ci int, c *call) string {
	if e, ok := s.stale[ci]; ok {
		if c.now.Before(e.until) {
			return e.shown
		}
		delete(s.stale, ci)
	}
	return s.conns[ci].Group
}

func (s *Server) members(c *call, gid string, refs bool) *response {
	props := connectorProps
	if refs {
		props = nil
	}
	o, errResp := s.parseQuery(c, "connector", props)
	if errResp != nil {
		return errResp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gi, ok := s.groupIdx[strings.ToLower(gid)]
	if !ok {
		return notFound(c, gid)
	}
	var pos []int
	for i := range s.conns {
		if s.viewGroup(i, c) == s.groups[gi].ID {
			pos = append(pos, i)
		}
	}
	if refs {
		return s.page(c, o, pos, func(i int) any {
			return s.refObject(c, "connectors", s.conns[i].ID)
		}, c.root+"/$metadata#Collection($ref)")
	}
	return s.page(c, o, pos, func(i int) any {
		return project(connectorObject(&s.conns[i]), o.sel)
	}, fmt.Sprintf("%s/connectorGroups('%s')/members%s", c.metadata(), s.groups[gi].ID, selectSuffix(o.sel)))
}

func (s *Server) memberOf(c *call, cid string, refs bool) *response {
	props := groupProps
	if refs {
		props = nil
	}
	o, errResp := s.parseQuery(c, "connectorGroup", props)
	if errResp != nil {
		return errResp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, ok := s.connIdx[strings.ToLower(cid)]
	if !ok {
		return notFound(c, cid)
	}
	gi := s.groupIdx[strings.ToLower(s.viewGroup(ci, c))]
	if refs {
		return s.page(c, o, []int{gi}, func(i int) any {
			return s.refObject(c, "connectorGroups", s.groups[i].ID)
		}, c.root+"/$metadata#Collection($ref)")
	}
	return s.page(c, o, []int{gi}, func(i int) any {
		return project(groupObject(&s.groups[i]), o.sel)
	}, fmt.Sprintf("%s/connectors('%s')/memberOf%s", c.metadata(), s.conns[ci].ID, selectSuffix(o.sel)))
}

// directoryReadWrite is the permission Learn lists, delegated, for every
// call this service takes.
const directoryReadWrite = "Directory.ReadWrite.All"

// denied answers 403 Authorization_RequestDenied, as the service does for
// a caller without the permission: every write when writes are denied,
// every call when reads are, and (Options.Permissions) whatever the
// token's claims do not grant.
func (s *Server) denied(c *call) *response {
	write := c.method == http.MethodPost || c.method == http.MethodPut
	s.mu.Lock()
	deny := s.denyReads || (write && s.denyWrites)
	perms := s.perms
	s.mu.Unlock()
	if !deny && perms {
		_, tok, _ := strings.Cut(strings.TrimSpace(c.auth), " ")
		if cl, ok := claims.Parse(strings.TrimSpace(tok)); ok {
			switch cl.Kind() {
			case claims.KindApp:
				deny = s.g.AppOnly == AppOnlyDeny || !cl.Has(directoryReadWrite)
			default:
				deny = !slices.ContainsFunc(cl.Scopes, func(p string) bool { return strings.EqualFold(p, directoryReadWrite) })
			}
		}
	}
	if !deny {
		return nil
	}
	return odataError(c, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// parseRef reads a $ref body and returns the id at the end of its
// @odata.id, which must be an absolute URL ending in /{kind}/{id}.
func parseRef(c *call, kind string) (string, *response) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &body); err != nil || body == nil {
		return "", badRequest(c, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	raw, ok := body["@odata.id"]
	if !ok {
		return "", badRequest(c, c.g.MissingRefMessage)
	}
	var ref string
	if err := json.Unmarshal(raw, &ref); err != nil || ref == "" {
		return "", badRequest(c, c.g.InvalidRefMessage+" It must be a non-empty string.")
	}
	u, err := url.Parse(ref)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", badRequest(c, c.g.InvalidRefMessage+" It must be an absolute URL.")
	}
	segs := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	n := len(segs)
	if n < 2 || !eq(segs[n-2], kind) || segs[n-1] == "" {
		return "", badRequest(c, fmt.Sprintf("%s It must end in /%s/{id}.", c.g.InvalidRefMessage, kind))
	}
	return segs[n-1], nil
}

// postMembers is POST connectorGroups/{gid}/members/$ref: move the
// connector named in the body into the group.
func (s *Server) postMembers(c *call, gid string) *response {
	cid, refErr := parseRef(c, "connectors")
	s.mu.Lock()
	defer s.mu.Unlock()
	gi, ok := s.groupIdx[strings.ToLower(gid)]
	if !ok {
		return notFound(c, gid)
	}
	if refErr != nil {
		return refErr
	}
	ci, ok := s.connIdx[strings.ToLower(cid)]
	if !ok {
		return notFound(c, cid)
	}
	return s.applyMove(c, ci, gi, s.g.AlreadyExistsMembersMessage)
}

// postMemberOf is POST connectors/{cid}/memberOf/$ref: the same move from
// the connector's side (what Set-EntraBetaApplicationProxyConnector uses).
func (s *Server) postMemberOf(c *call, cid string) *response {
	gid, refErr := parseRef(c, "connectorGroups")
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, ok := s.connIdx[strings.ToLower(cid)]
	if !ok {
		return notFound(c, cid)
	}
	if refErr != nil {
		return refErr
	}
	gi, ok := s.groupIdx[strings.ToLower(gid)]
	if !ok {
		return notFound(c, gid)
	}
	return s.applyMove(c, ci, gi, s.g.AlreadyExistsMemberOfMessage)
}

// applyMove moves connector ci into group gi. A connector is in exactly one
// group, so adding it to gi takes it out of its old group. The "already
// there" check uses the true state, not the stale view. Caller holds s.mu.
func (s *Server) applyMove(c *call, ci, gi int, alreadyMsg string) *response {
	cn := &s.conns[ci]
	target := &s.groups[gi]
	if cn.Group == target.ID {
		if st := s.g.AlreadyExistsStatus; st >= 200 && st <= 299 {
			return &response{status: st} // idempotent: nothing moves
		}
		return odataError(c, s.g.AlreadyExistsStatus, s.g.AlreadyExistsCode, alreadyMsg)
	}
	if s.regionRule {
		cur := &s.groups[s.groupIdx[strings.ToLower(cn.Group)]]
		if !s.usesDefaultRegion(target) && !s.usesDefaultRegion(cur) {
			return odataError(c, s.g.RegionRuleStatus, s.g.RegionRuleCode, fmt.Sprintf(s.g.RegionRuleFormat, cn.ID, target.ID))
		}
	}
	// Eventual consistency: reads keep showing the group the connector was
	// in before the first of a run of moves until StaleFor after the last.
	if sf := s.faults.StaleFor; sf > 0 {
		e, ok := s.stale[ci]
		if !ok || !c.now.Before(e.until) {
			e.shown = cn.Group
		}
		e.until = c.now.Add(sf)
		s.stale[ci] = e
	}
	from := s.groupIdx[strings.ToLower(cn.Group)]
	cn.Group = target.ID
	s.moves++
	s.recordChange(c, tenantChange{from: from, to: gi, active: isActive(cn.Status)})
	return &response{status: s.g.MoveStatus}
}

// usesDefaultRegion is plan.UsesDefaultRegion's rule (a GUESS, described
// there), written out again rather than imported: the simulator stands in
// for the service and does not depend on the client's code. Keep the two
// alike; internal/graph's TestRegionRuleWarnedMoveFails checks they agree.
func (s *Server) usesDefaultRegion(g *Group) bool {
	return g.Region == "" || eq(g.Region, s.groups[s.defaultGroup].Region)
}

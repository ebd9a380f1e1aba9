package graphsim

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Applications move between connector groups with
// PUT applications/{id}/connectorGroup/$ref, body
// {"@odata.id": ".../onPremisesPublishingProfiles/applicationProxy/connectorGroups/{gid}"}
// ({id} is the application's object id): 204, documented. An application
// is in exactly one group; the PUT takes it out of the one it was in, and
// a PUT into that group is a 204 that changes nothing.
// GET applications/{id}/connectorGroup is the group, as the navigation of
// the same name is on the real service.

// applicationMoveStatus answers a successful PUT: documented (204), not a
// guess.
const applicationMoveStatus = http.StatusNoContent

// appIndex finds the published applications. Each is in exactly one
// group's Applications list, which is the true state; pos is the order
// they are served in (the tenant file's, fixed at New), so that keyset
// paging over a group's applications neither skips nor repeats one that
// stays put while others move.
type appIndex struct {
	group map[string]int // lower-case id -> index of the group it is in
	pos   map[string]int // lower-case id -> serving position
	ids   []string       // by position, as the tenant file spells them
	keys  []string       // by position, lower-case
}

func newAppIndex(groups []Group) appIndex {
	x := appIndex{group: map[string]int{}, pos: map[string]int{}}
	for gi := range groups {
		for _, a := range groups[gi].Applications {
			k := strings.ToLower(a.ID)
			x.group[k] = gi
			x.pos[k] = len(x.ids)
			x.ids = append(x.ids, a.ID)
			x.keys = append(x.keys, k)
		}
	}
	return x
}

// appViewGroup is the index of the group reads show application key (a
// lower-case id) in at c.now: the one it was in before a recent move while
// the move is still propagating (Faults.StaleFor). Caller holds s.mu.
func (s *Server) appViewGroup(key string, c *call) int {
	if e, ok := s.appStale[key]; ok {
		if c.now.Before(e.until) {
			return s.groupIdx[strings.ToLower(e.shown)]
		}
		delete(s.appStale, key)
	}
	return s.apps.group[key]
}

// applications is GET connectorGroups/{gid}/applications.
func (s *Server) applications(c *call, gid string) *response {
	o, errResp := s.parseQuery(c, "application", applicationProps)
	if errResp != nil {
		return errResp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gi, ok := s.groupIdx[strings.ToLower(gid)]
	if !ok {
		return notFound(c, gid)
	}
	byPos := map[int]*Application{}
	add := func(a *Application) { byPos[s.apps.pos[strings.ToLower(a.ID)]] = a }
	if len(s.appStale) == 0 {
		for i := range s.groups[gi].Applications {
			add(&s.groups[gi].Applications[i])
		}
	} else {
		for gj := range s.groups {
			for i := range s.groups[gj].Applications {
				if a := &s.groups[gj].Applications[i]; s.appViewGroup(strings.ToLower(a.ID), c) == gi {
					add(a)
				}
			}
		}
	}
	pos := make([]int, 0, len(byPos))
	for p := range byPos {
		pos = append(pos, p)
	}
	sort.Ints(pos)
	return s.page(c, o, pos, func(p int) any {
		return project(applicationObject(byPos[p]), o.sel)
	}, fmt.Sprintf("%s/connectorGroups('%s')/applications%s", c.metadata(), s.groups[gi].ID, selectSuffix(o.sel)))
}

// unknownApplication answers a request naming an application that is not
// published through application proxy: the guessed refusal for one the
// tenant has unpublished, 404 Request_ResourceNotFound (a guess by analogy
// too) for one it does not have. Caller holds s.mu.
func (s *Server) unknownApplication(c *call, appID string) *response {
	if _, ok := s.unpubIdx[strings.ToLower(appID)]; ok {
		return odataError(c, s.g.UnpublishedStatus, s.g.UnpublishedCode, fmt.Sprintf(s.g.UnpublishedFormat, appID))
	}
	return notFound(c, appID)
}

// applicationGroup is GET applications/{id}/connectorGroup: the group the
// application is in, as reads show it (eventually consistent, as the
// groups' applications are).
func (s *Server) applicationGroup(c *call, appID string) *response {
	o, errResp := s.parseQuery(c, "connectorGroup", groupProps)
	if errResp != nil {
		return errResp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(appID)
	if _, ok := s.apps.group[key]; !ok {
		return s.unknownApplication(c, appID)
	}
	g := &s.groups[s.appViewGroup(key, c)]
	ctx := field{"@odata.context", fmt.Sprintf("%s/$metadata#applications('%s')/connectorGroup%s/$entity", c.root, s.apps.ids[s.apps.pos[key]], selectSuffix(o.sel))}
	return jsonResponse(append(object{ctx}, project(groupObject(g), o.sel)...))
}

// putApplicationGroup is PUT applications/{id}/connectorGroup/$ref: move
// the application into the group the body names. Checked in this order:
// the application (404, or the unpublished guess), the body (400, as for
// the connectors' $ref POST), the group (404), its type (the
// not-application-proxy guess).
func (s *Server) putApplicationGroup(c *call, appID string) *response {
	gid, refErr := parseRef(c, "connectorGroups")
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(appID)
	from, ok := s.apps.group[key]
	if !ok {
		return s.unknownApplication(c, appID)
	}
	if refErr != nil {
		return refErr
	}
	to, ok := s.groupIdx[strings.ToLower(gid)]
	if !ok {
		return notFound(c, gid)
	}
	target := &s.groups[to]
	if t := groupType(target); !eq(t, "applicationProxy") {
		return odataError(c, s.g.NotAppProxyGroupStatus, s.g.NotAppProxyGroupCode, fmt.Sprintf(s.g.NotAppProxyGroupFormat, target.ID, t))
	}
	if from == to {
		return &response{status: applicationMoveStatus} // idempotent: nothing moves
	}
	src := &s.groups[from]
	i := slices.IndexFunc(src.Applications, func(a Application) bool { return strings.EqualFold(a.ID, appID) })
	app := src.Applications[i]
	src.Applications = slices.Delete(src.Applications, i, i+1)
	target.Applications = append(target.Applications, app)
	s.apps.group[key] = to
	// Eventual consistency, as for connectors: reads keep showing the group
	// before the first of a run of moves until StaleFor after the last.
	if sf := s.faults.StaleFor; sf > 0 {
		e, ok := s.appStale[key]
		if !ok || !c.now.Before(e.until) {
			e.shown = src.ID
		}
		e.until = c.now.Add(sf)
		s.appStale[key] = e
	}
	s.appMoves++
	s.recordChange(c, tenantChange{app: key, from: from, to: to})
	return &response{status: applicationMoveStatus}
}

// UncoveredMoment is an application whose group had too few active
// connectors (none, for Uncovered) right after a change the tenant
// accepted: an outage of that application, as the tenant stood then.
type UncoveredMoment struct {
	// Change numbers the accepted changes (connector moves and application
	// moves, sent alone or in a $batch) from 1, the first since New.
	Change int
	// RequestID is the request-id of the request (or $batch item) that
	// made the change: its entry in Requests().
	RequestID     string
	Time          time.Time // the simulator's clock (Options.Now) at the change
	ApplicationID string
	GroupID       string
	Active        int // active connectors in the group after the change
}

// tenantChange is one accepted change, as the coverage log keeps it.
type tenantChange struct {
	reqID string
	at    time.Time
	app   string // lower-case id of the application moved; "" for a connector move
	from  int    // group indexes
	to    int
	// active: the connector moved is active (a move of an inactive one
	// changes no group's cover).
	active bool
}

// coverageLog keeps what Uncovered needs: where applications were and
// how many active connectors each group had at New, and every accepted
// change since, replayed when asked (so any minimum can be asked for
// after the fact, at the cost of the replay).
type coverageLog struct {
	group0  map[string]int
	active0 []int
	changes []tenantChange
}

func isActive(status string) bool { return strings.EqualFold(status, "active") }

func (l *coverageLog) start(s *Server) {
	l.group0 = make(map[string]int, len(s.apps.group))
	for k, v := range s.apps.group {
		l.group0[k] = v
	}
	l.active0 = make([]int, len(s.groups))
	for i := range s.conns {
		if isActive(s.conns[i].Status) {
			l.active0[s.groupIdx[strings.ToLower(s.conns[i].Group)]]++
		}
	}
}

// recordChange logs an accepted change. Caller holds s.mu.
func (s *Server) recordChange(c *call, ch tenantChange) {
	ch.reqID, ch.at = c.reqID, c.now
	s.coverage.changes = append(s.coverage.changes, ch)
}

// Uncovered is UncoveredBelow(1): each application whose group had no
// active connector, after each change the tenant accepted. The state at
// New is not counted (Tenant.Uncovered checks it), so a migration that
// started covered and never left an application without a connector has
// none. An application left uncovered is counted again after every later
// change until its group is covered again: the count measures how long
// (in changes) the outage lasted.
func (s *Server) Uncovered() []UncoveredMoment { return s.UncoveredBelow(1) }

// UncoveredBelow is Uncovered for a minimum of n active connectors per
// group serving applications (Microsoft recommends at least 2): each
// application whose group had fewer than n, after each accepted change,
// in the order of the changes and, within one, the applications' serving
// order. Connectors' status never changes in the simulator; only moves
// change a group's cover. The true state counts, not the stale view
// reads may show.
func (s *Server) UncoveredBelow(n int) []UncoveredMoment {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.coverage
	group := make(map[string]int, len(l.group0))
	for k, v := range l.group0 {
		group[k] = v
	}
	active := slices.Clone(l.active0)
	var out []UncoveredMoment
	for i, ch := range l.changes {
		switch {
		case ch.app != "":
			group[ch.app] = ch.to
		case ch.active:
			active[ch.from]--
			active[ch.to]++
		}
		for p, key := range s.apps.keys {
			gi := group[key]
			if active[gi] < n {
				out = append(out, UncoveredMoment{Change: i + 1, RequestID: ch.reqID, Time: ch.at,
					ApplicationID: s.apps.ids[p], GroupID: s.groups[gi].ID, Active: active[gi]})
			}
		}
	}
	return out
}

// UncoveredMoments is the number of accepted changes (connector moves
// and application moves, since New) right after which at least one
// application's group had fewer than minActive active connectors: the
// moments of an outage (minActive 1) or of a cover below the wanted
// minimum (minActive 2, Microsoft's recommendation). UncoveredBelow lists
// them, one entry per application; a change that leaves several
// applications short counts once here. 0 when every change kept every
// application covered, and for minActive <= 0.
func (s *Server) UncoveredMoments(minActive int) int {
	n, last := 0, 0
	for _, m := range s.UncoveredBelow(minActive) {
		if m.Change != last {
			n, last = n+1, m.Change
		}
	}
	return n
}

// Uncovered lists the applications of t whose group has fewer than n
// active connectors (Change 0, no request): what Server.UncoveredBelow
// leaves out, the state before any change. A connector with an empty
// Group is in the default group.
func (t *Tenant) Uncovered(n int) []UncoveredMoment {
	active := map[string]int{}
	def := ""
	for _, g := range t.Groups {
		if g.IsDefault {
			def = strings.ToLower(g.ID)
		}
	}
	for _, c := range t.Connectors {
		g := strings.ToLower(c.Group)
		if g == "" {
			g = def
		}
		if isActive(c.Status) {
			active[g]++
		}
	}
	var out []UncoveredMoment
	for _, g := range t.Groups {
		k := active[strings.ToLower(g.ID)]
		for _, a := range g.Applications {
			if k < n {
				out = append(out, UncoveredMoment{ApplicationID: a.ID, GroupID: g.ID, Active: k})
			}
		}
	}
	return out
}

package plan

import (
	"fmt"
	"sort"
	"strings"
)

// This file resolves an application mapping (--apps): each row names an
// application, by object id, appId or display name, and the connector
// group it is to be assigned to. The applications known are those the
// snapshot lists under the groups (Group.Applications): the service
// shows an application published through application proxy in the group
// that serves it, the default group when none was assigned.

// appIndex is the applications of a State, each once, with the groups
// that list it (usually one; two while Graph replicates an assignment).
type appIndex struct {
	apps     []appEntry
	byID     map[string]int32 // lower-cased object id
	byAppID  map[string]int32 // lower-cased appId
	byName   map[string]int32 // nameKey(displayName) → first application with it
	nameMore map[string][]int32
	appIDDup map[string][]int32 // an appId two entries share (not expected)
}

type appEntry struct {
	app    Application
	groups []int32 // positions in State.Groups
}

func newAppIndex(s *State) *appIndex {
	ax := &appIndex{byID: map[string]int32{}, byAppID: map[string]int32{}, byName: map[string]int32{}, nameMore: map[string][]int32{}, appIDDup: map[string][]int32{}}
	for gi := range s.Groups {
		for _, a := range s.Groups[gi].Applications {
			key := strings.ToLower(a.ID)
			if i, ok := ax.byID[key]; ok {
				ax.apps[i].groups = append(ax.apps[i].groups, int32(gi))
				continue
			}
			i := int32(len(ax.apps))
			ax.apps = append(ax.apps, appEntry{app: a, groups: []int32{int32(gi)}})
			ax.byID[key] = i
			if a.AppID != "" {
				k := strings.ToLower(a.AppID)
				if j, ok := ax.byAppID[k]; ok {
					ax.appIDDup[k] = append(ax.appIDDup[k], j, i)
				} else {
					ax.byAppID[k] = i
				}
			}
			addName(ax.byName, ax.nameMore, nameKey(a.DisplayName), i)
		}
	}
	return ax
}

// resolve finds the application cell v names: a GUID is an object id or
// an appId (they never collide in a tenant, and when they do the cell is
// ambiguous), anything else a display name, compared as names are. -1
// and the reason when it names none, or more than one.
func (ax *appIndex) resolve(v string) (int32, string) {
	var found []int32
	if IsGUID(v) {
		k := NormalizeGUID(v)
		if i, ok := ax.byID[k]; ok {
			found = append(found, i)
		}
		if i, ok := ax.byAppID[k]; ok && (len(found) == 0 || found[0] != i) {
			found = append(found, i)
		}
		found = append(found, ax.appIDDup[k]...)
		found = uniq(found)
		if len(found) == 0 {
			return -1, fmt.Sprintf("no application with object id or appId %s is published through the tenant's connector groups", v)
		}
	} else {
		first, more, ok := lookup(ax.byName, ax.nameMore, []byte(cellKey(v)))
		if !ok {
			return -1, fmt.Sprintf("no application named %s is published through the tenant's connector groups", QuoteShort(v)) + asciiHint(v)
		}
		found = append([]int32{first}, more...)
	}
	if len(found) == 1 {
		return found[0], ""
	}
	names := make([]string, 0, len(found))
	for _, i := range found {
		a := &ax.apps[i].app
		names = append(names, fmt.Sprintf("%s (object id %s, appId %s)", a.DisplayName, a.ID, a.AppID))
	}
	sort.Strings(names)
	return -1, fmt.Sprintf("application %s is ambiguous: it names %s; use the object id of the one meant", QuoteShort(v), strings.Join(names, ", "))
}

// is reports whether cell v could name application i: its object id,
// its appId or its display name.
func (ax *appIndex) is(i int32, v string) bool {
	a := &ax.apps[i].app
	if IsGUID(v) {
		k := NormalizeGUID(v)
		if k == strings.ToLower(a.ID) || a.AppID != "" && k == strings.ToLower(a.AppID) {
			return true
		}
	}
	return cellKey(v) == nameKey(a.DisplayName)
}

func uniq(s []int32) []int32 {
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// appMove is an application's move as the scheduler sees it: its change
// and the groups it leaves and joins (positions in State.Groups).
type appMove struct {
	change   int32
	from, to int32
}

// addApplications adds a change for each row of the application mapping
// apps (nil: none), in file order, and returns the moves among them.
func (p *Plan) addApplications(apps *Mapping, s *State, ix *index) []appMove {
	if apps == nil {
		return nil
	}
	ax := newAppIndex(s)
	var moves []appMove
	moveOf := map[int]int{}  // change index → index in moves
	byApp := map[int32]int{} // application → 1 + index of its change
	for _, r := range apps.Rows {
		if r.Duplicate {
			continue
		}
		ch := Change{Kind: KindApplication, Row: r.Line, MappedApplication: r.Connector, MappedGroup: r.Group}
		var reasons []string
		if r.Problem != "" {
			reasons = append(reasons, r.Problem)
		}
		ai := int32(-1)
		if r.Connector != "" {
			var why string
			ai, why = ax.resolve(r.Connector)
			if r.ConnectorAlt != "" && r.Problem == "" {
				bi, whyAlt := ax.resolve(r.ConnectorAlt)
				switch {
				case ai >= 0 && ai == bi:
				case ai >= 0 && ax.is(ai, r.ConnectorAlt):
				case bi >= 0 && ax.is(bi, r.Connector):
					ai, why = bi, "" // a shared display name beside the id of one of them
				case ai < 0 && bi < 0:
				default:
					name := func(i int32) string {
						return fmt.Sprintf("%s (%s)", ax.apps[i].app.DisplayName, ax.apps[i].app.ID)
					}
					reasons = []string{disagree("application", header(apps.ConnectorHeader, "application"), r.Connector, ai, why,
						header(apps.ConnectorAltHeader, "second application"), r.ConnectorAlt, bi, whyAlt, name)}
					ai, why = -1, ""
				}
			}
			if ai < 0 && r.Problem == "" && why != "" {
				reasons = append(reasons, why)
			}
		} else if r.Problem == "" {
			reasons = append(reasons, "the application cell is empty")
		}
		from := int32(-1)
		if ai >= 0 {
			e := &ax.apps[ai]
			ch.ApplicationID, ch.AppID, ch.DisplayName = e.app.ID, e.app.AppID, e.app.DisplayName
			from = e.groups[0]
			ch.FromGroupID, ch.FromGroupName = s.Groups[from].ID, s.Groups[from].Name
			if len(e.groups) > 1 && len(reasons) == 0 {
				names := make([]string, len(e.groups))
				for i, g := range e.groups {
					names[i] = QuoteShort(s.Groups[g].Name)
				}
				reasons = append(reasons, fmt.Sprintf("the application is listed in %d connector groups (%s), as while Graph replicates an assignment: it is not moved; plan again in a few minutes", len(e.groups), strings.Join(names, ", ")))
			}
		}
		gi := int32(-1)
		if r.Problem == "" && r.Group == "" {
			reasons = append(reasons, "the group cell is empty")
		} else if r.Problem == "" {
			var why string
			gi, why = ix.rowGroup(s, apps, &r, "applications are not assigned to it")
			if gi >= 0 {
				ch.ToGroupID, ch.ToGroupName = s.Groups[gi].ID, s.Groups[gi].Name
			}
			if why != "" {
				reasons = append(reasons, why)
			}
		}
		switch {
		case len(reasons) > 0:
			ch.Action, ch.Reason = ActionInvalid, strings.Join(reasons, "; ")
		case from == gi:
			ch.Action = ActionNoop
		default:
			ch.Action, ch.Wave = ActionMove, 1
		}
		if ai >= 0 && ch.Action != ActionInvalid {
			if j := byApp[ai] - 1; j >= 0 {
				prev := &p.Changes[j]
				if strings.EqualFold(prev.ToGroupID, ch.ToGroupID) {
					prev.Warnings = append(prev.Warnings, fmt.Sprintf("row %d maps the same application to the same group: counted once", r.Line))
					continue
				}
				ch.Action, ch.Wave, ch.Reason = ActionInvalid, 0, fmt.Sprintf("application %s is also mapped on row %d to group %s: keep one of the two rows", QuoteShort(ch.DisplayName), prev.Row, QuoteShort(prev.ToGroupName))
				if prev.Action != ActionInvalid {
					prev.Warnings = nil
					prev.Action, prev.Wave, prev.Reason = ActionInvalid, 0, fmt.Sprintf("application %s is also mapped on row %d to group %s: keep one of the two rows", QuoteShort(prev.DisplayName), r.Line, QuoteShort(ch.ToGroupName))
					if k, ok := moveOf[j]; ok {
						moves[k].change = -1 // no longer a move
					}
				}
			} else {
				byApp[ai] = len(p.Changes) + 1
			}
		}
		if ch.Action == ActionMove {
			moveOf[len(p.Changes)] = len(moves)
			moves = append(moves, appMove{change: int32(len(p.Changes)), from: from, to: gi})
		}
		p.Changes = append(p.Changes, ch)
	}
	out := moves[:0]
	for _, m := range moves {
		if m.change >= 0 {
			out = append(out, m)
		}
	}
	return out
}

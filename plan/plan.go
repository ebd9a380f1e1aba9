package plan

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Action is what the plan does with one connector.
type Action string

const (
	ActionMove      Action = "move"      // the connector changes group
	ActionNoop      Action = "noop"      // already where the mapping wants it
	ActionInvalid   Action = "invalid"   // the row cannot be used; see Reason
	ActionUnmanaged Action = "unmanaged" // in the tenant, not in the mapping: left alone
)

// Kinds of change (Change.Kind): what a row of the plan places in a
// connector group.
const (
	KindConnector   = "connector"   // a connector joins a group (Change.Kind empty means this too)
	KindApplication = "application" // an application is assigned to a group
)

// Change is one row of the plan: a connector (Kind empty or
// KindConnector) or an application (KindApplication) and the group it
// goes to. An application's change leaves the connector fields empty and
// names the application in ApplicationID, AppID and DisplayName.
type Change struct {
	// Kind is KindApplication for an application; empty for a connector,
	// so saved plans and journals written before applications were
	// planned read as they were.
	Kind            string   `json:"kind,omitempty"`
	Row             int      `json:"row,omitempty"` // mapping file row (the --apps file's for an application); 0 for unmanaged
	ConnectorID     string   `json:"connectorId,omitempty"`
	MachineName     string   `json:"machineName,omitempty"`
	ConnectorStatus string   `json:"connectorStatus,omitempty"`
	FromGroupID     string   `json:"fromGroupId,omitempty"`
	FromGroupName   string   `json:"fromGroupName,omitempty"`
	ToGroupID       string   `json:"toGroupId,omitempty"`
	ToGroupName     string   `json:"toGroupName,omitempty"`
	Action          Action   `json:"action"`
	Wave            int      `json:"wave,omitempty"` // moves only: applied wave by wave, in order
	Reason          string   `json:"reason,omitempty"`
	Warnings        []string `json:"warnings,omitempty"`
	// The application, for KindApplication: its object id (what the
	// assignment's PUT names), its appId and its display name.
	ApplicationID string `json:"applicationId,omitempty"`
	AppID         string `json:"appId,omitempty"`
	DisplayName   string `json:"displayName,omitempty"`
	// The mapping's own cells, so an invalid row can be found and fixed.
	MappedConnector   string `json:"mappedConnector,omitempty"`
	MappedApplication string `json:"mappedApplication,omitempty"`
	MappedGroup       string `json:"mappedGroup,omitempty"`
}

// IsApplication reports whether c places an application rather than a
// connector.
func (c *Change) IsApplication() bool { return c.Kind == KindApplication }

// KindName is c's kind as reports show it: KindConnector or
// KindApplication, never empty.
func (c *Change) KindName() string {
	if c.IsApplication() {
		return KindApplication
	}
	return KindConnector
}

// ObjectID is the id of what c places: the application's object id or
// the connector's id.
func (c *Change) ObjectID() string {
	if c.IsApplication() {
		return c.ApplicationID
	}
	return c.ConnectorID
}

// ObjectName is the name of what c places, for messages: the application's
// display name or the connector's machine name, else its id.
func (c *Change) ObjectName() string {
	name := c.MachineName
	if c.IsApplication() {
		name = c.DisplayName
	}
	if name == "" {
		return c.ObjectID()
	}
	return name
}

// Values of Options.Unlisted: what to do with connectors that are in the
// tenant but not in the mapping.
const (
	UnlistedReport  = "report"  // list them as unmanaged, change nothing (the default)
	UnlistedIgnore  = "ignore"  // leave them out of the plan altogether
	UnlistedDefault = "default" // move them to the default group, Microsoft's way of idling a connector
)

// Options are the planner's switches. The zero value plans without guards:
// no change limit and no coverage requirement. The command line passes its
// own defaults (--max-changes 50, --min-active 1).
type Options struct {
	Unlisted         string `json:"unlisted"`         // UnlistedReport, UnlistedIgnore or UnlistedDefault; "" means report
	MaxChanges       int    `json:"maxChanges"`       // more moves than this refuse the plan; 0 means no limit
	MinActive        int    `json:"minActive"`        // active connectors every group with applications keeps; 0 turns the coverage guard off
	AllowCoverageGap bool   `json:"allowCoverageGap"` // turn coverage refusals into warnings
}

// Validate reports an option the planner cannot use, in the words of the
// command-line flag, so the command line can exit with a usage error.
func (o Options) Validate() error {
	switch o.Unlisted {
	case "", UnlistedReport, UnlistedIgnore, UnlistedDefault:
	default:
		return fmt.Errorf("--unlisted %q: use ignore, report or default", o.Unlisted)
	}
	if o.MaxChanges < 0 {
		return fmt.Errorf("--max-changes %d: use 0 (no limit) or more", o.MaxChanges)
	}
	if o.MinActive < 0 {
		return fmt.Errorf("--min-active %d: use 0 (no coverage check) or more", o.MinActive)
	}
	return nil
}

// normalized fills the default Unlisted mode. An unknown mode (which
// Validate rejects) is treated as report, the one mode that moves nothing.
func (o Options) normalized() Options {
	switch o.Unlisted {
	case UnlistedIgnore, UnlistedDefault:
	default:
		o.Unlisted = UnlistedReport
	}
	return o
}

// Plan is the ordered list of changes: mapping rows in file order, then
// connectors the mapping does not name, by machine name. It also carries
// what the guards found, so that every view (text, report, saved plan)
// shows the same verdict. It is pure data.
type Plan struct {
	Changes  []Change       `json:"changes"`
	Options  Options        `json:"options"`            // as Build used them (Unlisted filled in)
	Groups   []GroupSummary `json:"groups,omitempty"`   // every group, by name: active connectors before, during and after
	Refusals []Refusal      `json:"refusals,omitempty"` // guards that refuse the plan; empty when it may be applied
	Warnings []string       `json:"warnings,omitempty"` // plan-wide notes for the administrator (per-move ones are on the change)
	// No reference to the State it was built from: a plan outlives the
	// tenant snapshot, and whoever saves it passes the state along
	// (planfile.Save).
}

// Refused reports whether a guard refuses the plan: nothing of it may be
// applied (exit 3).
func (p *Plan) Refused() bool { return len(p.Refusals) > 0 }

// WaveCount is the number of waves the moves are applied in (0 without moves).
func (p *Plan) WaveCount() int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == ActionMove && c.Wave > n {
			n = c.Wave
		}
	}
	return n
}

// Summary counts changes by action.
type Summary struct {
	Move      int `json:"move"`
	Noop      int `json:"noop"`
	Invalid   int `json:"invalid"`
	Unmanaged int `json:"unmanaged"`
}

// Summary counts the plan's changes by action.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, c := range p.Changes {
		switch c.Action {
		case ActionMove:
			s.Move++
		case ActionNoop:
			s.Noop++
		case ActionInvalid:
			s.Invalid++
		case ActionUnmanaged:
			s.Unmanaged++
		}
	}
	return s
}

// Moves returns the indexes in Changes of the moves, in apply order.
func (p *Plan) Moves() []int {
	var idx []int
	for i, c := range p.Changes {
		if c.Action == ActionMove {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.Changes[idx[a]].Wave < p.Changes[idx[b]].Wave })
	return idx
}

// Build resolves the mapping against the tenant state, works out the
// changes, orders the moves in waves and runs the guards. It never fails:
// problems become invalid changes, and guards that say no become Refusals.
func Build(m *Mapping, s *State, opts Options) *Plan { return BuildWithApps(m, nil, s, opts) }

// BuildWithApps is Build with an application mapping as well (apps; nil
// for none): its rows follow the connectors' changes, each an
// application's change, and the waves order both kinds so that no
// application is ever in a group short of --min-active active connectors.
func BuildWithApps(m *Mapping, apps *Mapping, s *State, opts Options) *Plan {
	opts = opts.normalized()
	ix := newIndex(s)
	n := len(m.Rows) + len(s.Connectors)/8
	p := &Plan{Options: opts, Changes: make([]Change, 0, n)}
	// Parallel to p.Changes: the connector and destination group of each
	// change as positions in s (-1: none), so the coverage analysis needs
	// no second lookup by id.
	conns, dests := make([]int32, 0, n), make([]int32, 0, n)
	mentioned := make([]bool, len(s.Connectors))
	byConnector := make([]int32, len(s.Connectors)) // connector → 1 + index of its change; 0: none yet

	for _, r := range m.Rows {
		if r.Duplicate {
			continue
		}
		ch := Change{Row: r.Line, MappedConnector: r.Connector, MappedGroup: r.Group}
		ci, gi := int32(-1), int32(-1)
		var reasons []string
		if r.Problem != "" {
			reasons = append(reasons, r.Problem)
		}
		if r.Connector != "" {
			// Resolved even when the row is invalid in the file, so the
			// change names the connector and it is not also unmanaged.
			var why string
			ci, why = ix.connector(s, r.Connector)
			if r.ConnectorAlt != "" && r.Problem == "" {
				ai, whyAlt := ix.connector(s, r.ConnectorAlt)
				switch {
				case ci >= 0 && ci == ai: // the same connector: no need to compare the cells
				case ci >= 0 && ix.connectorIs(ci, r.ConnectorAlt):
				case ai >= 0 && ix.connectorIs(ai, r.Connector):
					// A name shared by several connectors (a machine
					// set up again) beside the id of one of them.
					ci, why = ai, ""
				case ci < 0 && ai < 0:
				default:
					if ai >= 0 {
						// Named by the row either way: never unlisted.
						mentioned[ai] = true
					}
					name := func(i int32) string { return fmt.Sprintf("%s (%s)", s.Connectors[i].MachineName, s.Connectors[i].ID) }
					reasons = []string{disagree("connector", header(m.ConnectorHeader, "connector"), r.Connector, ci, why,
						header(m.ConnectorAltHeader, "second connector"), r.ConnectorAlt, ai, whyAlt, name)}
					why = ""
				}
			}
			if ci < 0 && r.Problem == "" && why != "" {
				reasons = append(reasons, why)
			}
		} else if r.Problem == "" {
			// mapping.Read flags empty cells; a Mapping built by other
			// code may not, and must not reach the lookups below.
			reasons = append(reasons, "the connector cell is empty")
		}
		var conn *Connector
		if ci >= 0 {
			conn = &s.Connectors[ci]
			mentioned[ci] = true
			ch.ConnectorID, ch.MachineName, ch.ConnectorStatus = conn.ID, conn.MachineName, conn.Status
			ch.FromGroupID = conn.GroupID
			if g := ix.connGroup[ci]; g >= 0 {
				ch.FromGroupName = s.Groups[g].Name
			}
		}
		if r.Problem == "" && r.Group == "" {
			reasons = append(reasons, "the group cell is empty")
		} else if r.Problem == "" {
			var why string
			gi, why = ix.rowGroup(s, m, &r, "connectors cannot be moved into it")
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
		case ix.connGroup[ci] < 0:
			// Its back-out row would name no group to return it to.
			ch.Action, ch.Reason = ActionInvalid, notInAGroup(conn)+": it is not moved, as its back-out could not return it; plan again once Graph lists it in its group"
		case ix.connGroup[ci] == gi:
			ch.Action = ActionNoop
		case !s.Groups[ix.connGroup[ci]].IsTarget():
			// An agent of another kind (provisioning): no back-out could
			// return it to its group, and it is no connector to move.
			ch.Action, ch.Reason = ActionInvalid, fmt.Sprintf("the connector is in %s, a group of another kind than application proxy: it is not moved out of it", QuoteShort(s.Groups[ix.connGroup[ci]].Name))
		default:
			ch.Action, ch.Wave = ActionMove, 1
			ch.Warnings = inactiveWarning(conn, ch.Warnings)
			ch.Warnings = regionWarning(s, ix, ix.connGroup[ci], gi, ch.Warnings)
		}
		// Two rows that name the same connector differently (id and name,
		// or two spellings) are caught here, after resolution.
		if ci >= 0 && ch.Action != ActionInvalid {
			if j := byConnector[ci] - 1; j >= 0 {
				prev := &p.Changes[j]
				if strings.EqualFold(prev.ToGroupID, ch.ToGroupID) {
					prev.Warnings = append(prev.Warnings, fmt.Sprintf("row %d maps the same connector to the same group: counted once", r.Line))
					continue
				}
				// An invalid row moves nothing: a move's warnings no longer apply.
				ch.Warnings = nil
				ch.Action, ch.Wave, ch.Reason = ActionInvalid, 0, fmt.Sprintf("connector %s is also mapped on row %d to group %q: keep one of the two rows", conn.MachineName, prev.Row, prev.ToGroupName)
				// A row already in a clash keeps naming its first partner.
				if prev.Action != ActionInvalid {
					prev.Warnings = nil
					prev.Action, prev.Wave, prev.Reason = ActionInvalid, 0, fmt.Sprintf("connector %s is also mapped on row %d to group %q: keep one of the two rows", conn.MachineName, r.Line, ch.ToGroupName)
				}
			} else {
				byConnector[ci] = int32(len(p.Changes)) + 1
			}
		}
		p.Changes = append(p.Changes, ch)
		conns, dests = append(conns, ci), append(dests, gi)
	}

	conns, dests = p.addUnlisted(s, ix, mentioned, conns, dests)
	appMoves := p.addApplications(apps, s, ix)
	for len(conns) < len(p.Changes) {
		conns, dests = append(conns, -1), append(dests, -1)
	}
	if moves := p.Summary().Move; opts.MaxChanges > 0 && moves > opts.MaxChanges {
		what := fmt.Sprintf("%d moves", moves)
		if len(appMoves) > 0 {
			what = fmt.Sprintf("%d moves (%d of connectors, %d of applications)", moves, moves-len(appMoves), len(appMoves))
		}
		p.Refusals = append(p.Refusals, Refusal{
			Guard:   GuardMaxChanges,
			Message: fmt.Sprintf("plan has %s, more than --max-changes %d: raise --max-changes or split the mapping", what, opts.MaxChanges),
		})
	}
	p.schedule(s, ix, conns, dests, appMoves)
	return p
}

// disagree is the reason a row that names its connector (or group) in two
// cells, by id and by name, is invalid when they do not name the same
// one: both values and what each resolves to (name(i), or why not).
func disagree(what, h1, v1 string, i1 int32, why1, h2, v2 string, i2 int32, why2 string, name func(int32) string) string {
	is := func(h, v string, i int32, why string) string {
		if i >= 0 {
			return fmt.Sprintf("%s %s is %s", h, QuoteShort(v), name(i))
		}
		return fmt.Sprintf("%s %s resolves to none (%s)", h, QuoteShort(v), why)
	}
	return fmt.Sprintf("the %s and %s cells name different %ss: %s, but %s: correct one of them, or clear one to go by the other",
		h1, h2, what, is(h1, v1, i1, why1), is(h2, v2, i2, why2))
}

// header is a mapping column's header as written (cut short), or what to call it
// when the mapping does not say (one built by other code).
func header(h, otherwise string) string {
	if h == "" {
		return otherwise
	}
	return ShortText(h, MaxQuoted)
}

// addUnlisted adds the connectors no mapping row identified, by machine
// name, as Options.Unlisted says: unmanaged (report), moves to the default
// group (default), or nothing (ignore).
func (p *Plan) addUnlisted(s *State, ix *index, mentioned []bool, conns, dests []int32) ([]int32, []int32) {
	mode := p.Options.Unlisted
	if mode == UnlistedIgnore {
		return conns, dests
	}
	type unlisted struct {
		key string // lower-cased machine name, computed once for the sort
		i   int32
	}
	var todo []unlisted
	for i := range s.Connectors {
		if !mentioned[i] {
			todo = append(todo, unlisted{strings.ToLower(s.Connectors[i].MachineName), int32(i)})
		}
	}
	sort.SliceStable(todo, func(a, b int) bool { return todo[a].key < todo[b].key })
	def := ix.defaultGroup
	if mode == UnlistedDefault && def < 0 && len(todo) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("--unlisted default: the tenant has no single default connector group, so the %d connectors not in the mapping are left where they are", len(todo)))
	}
	for _, u := range todo {
		c := &s.Connectors[u.i]
		ch := Change{ConnectorID: c.ID, MachineName: c.MachineName, ConnectorStatus: c.Status, FromGroupID: c.GroupID, Action: ActionUnmanaged}
		if g := ix.connGroup[u.i]; g >= 0 {
			ch.FromGroupName = s.Groups[g].Name
		}
		to := int32(-1)
		if g := ix.connGroup[u.i]; mode == UnlistedDefault && g < 0 {
			// No group its back-out could return it to.
			ch.Reason = "not in the mapping: left where it is, as " + notInAGroup(c) + " and its back-out could not return it (--unlisted default)"
		} else if mode == UnlistedDefault && !s.Groups[g].IsTarget() {
			// An agent of another kind (a provisioning agent in a
			// syncFabric group) is no application proxy connector to idle.
			ch.Reason = "not in the mapping: left where it is, in a group of another kind (--unlisted default idles only application proxy connectors)"
		} else if mode == UnlistedDefault && def >= 0 {
			to = def
			ch.ToGroupID, ch.ToGroupName = s.Groups[def].ID, s.Groups[def].Name
			if ix.connGroup[u.i] == def {
				ch.Action, ch.Reason = ActionNoop, "not in the mapping: already in the default group (--unlisted default)"
			} else {
				ch.Action, ch.Wave = ActionMove, 1
				ch.Reason = "not in the mapping: idled in the default group (--unlisted default)"
				// Into the default group, which uses the default region by
				// definition: the region rule never applies.
				ch.Warnings = inactiveWarning(c, nil)
			}
		}
		p.Changes = append(p.Changes, ch)
		conns, dests = append(conns, u.i), append(dests, to)
	}
	return conns, dests
}

// notInAGroup says why connector c has no group in the snapshot: in no
// group's member list (Graph replicating a move), or in one the snapshot
// does not list.
func notInAGroup(c *Connector) string {
	if c.GroupID == "" {
		return "the connector is in no group's member list (Graph may still be replicating a move)"
	}
	return fmt.Sprintf("the connector is in group %s, which the tenant's list of groups lacks", QuoteShort(c.GroupID))
}

func inactiveWarning(c *Connector, warnings []string) []string {
	if c.Status == StatusActive {
		return warnings
	}
	return append(warnings, fmt.Sprintf("connector is %s: it is moved, but serves nothing until it is active again", statusWord(c.Status)))
}

// UsesDefaultRegion reports whether a group whose region is region uses the
// default region, given defaultRegion, the region of the tenant's default
// connector group. Learn says a connector can be moved into a
// region-specific group only from a group that uses the default region, but
// says not what the default region is. GUESS: a group without a region, or
// with the default group's region (compared as the service's enum values
// are, case-insensitively), uses it; any other region, off-list ones such as
// "japan" or "unknownFutureValue" included, is region-specific. The live
// default group has been seen reporting "japan", so the default region is
// read from the tenant, not fixed to nam. The simulator
// (internal/graphsim, Options.EnforceRegionRule) applies this same rule.
func UsesDefaultRegion(region, defaultRegion string) bool {
	return region == "" || strings.EqualFold(region, defaultRegion)
}

// regionWarning adds the region rule's warning to a move from group from
// into group to (positions in s.Groups) when the rule forbids it: the
// target is region-specific and the source is not in the default region.
// The move is not blocked: the service decides, and its refusal is a
// failed row. A source group missing from the snapshot (-1) is not judged.
// Without a single default group the default region is taken as none, so
// only groups without a region use it.
func regionWarning(s *State, ix *index, from, to int32, warnings []string) []string {
	if from < 0 || to < 0 {
		return warnings
	}
	def := ""
	if ix.defaultGroup >= 0 {
		def = s.Groups[ix.defaultGroup].Region
	}
	src, dst := &s.Groups[from], &s.Groups[to]
	if UsesDefaultRegion(dst.Region, def) || UsesDefaultRegion(src.Region, def) {
		return warnings
	}
	return append(warnings, fmt.Sprintf("moves into %s (region %s) from %s (region %s): the service lets a connector into a region-specific group only from a group that uses the default region; expect it to be refused (move it through the default group first)",
		QuoteShort(dst.Name), regionWord(dst.Region), QuoteShort(src.Name), regionWord(src.Region)))
}

// regionWord shows a region as the service's word when it is one, quoted
// otherwise, so an odd value cannot pass for part of the sentence.
func regionWord(r string) string {
	if isWord(r) {
		return r
	}
	return QuoteShort(r)
}

func statusWord(s string) string {
	if s == "" {
		return "of unknown status"
	}
	return s
}

// connector resolves a mapping cell to a position in s.Connectors: a GUID
// by id, otherwise the machine name case-insensitively, falling back to a
// unique match on the host part before the first dot. -1 and the reason
// when it does not resolve.
func (ix *index) connector(s *State, v string) (int32, string) {
	if IsGUID(v) {
		if i, ok := ix.byID()[NormalizeGUID(v)]; ok {
			return i, ""
		}
		return -1, fmt.Sprintf("no connector with id %s in the tenant", v)
	}
	key := ix.cellKeyOf(v)
	keys, shared := ix.byName()
	first, more, ok := lookup(keys, shared, key)
	if !ok && bytes.IndexByte(key, '.') < 0 {
		keys, shared = ix.byShort()
		first, more, ok = lookup(keys, shared, key)
	}
	switch {
	case !ok:
		return -1, fmt.Sprintf("no connector named %s in the tenant", QuoteShort(v)) + asciiHint(v)
	case len(more) == 0:
		return first, ""
	}
	names := make([]string, 0, 1+len(more))
	for _, i := range append([]int32{first}, more...) {
		c := &s.Connectors[i]
		names = append(names, fmt.Sprintf("%s (%s)", c.MachineName, c.ID))
	}
	sort.Strings(names)
	return -1, fmt.Sprintf("connector name %s is ambiguous: use one of the ids %s", QuoteShort(v), strings.Join(names, ", "))
}

// connectorIs reports whether cell v could name connector i: its id, or
// its machine name (or the host part of it) as resolution compares them.
// Two cells of a row agree when one resolves to a connector the other
// could name, even if the other alone is ambiguous.
func (ix *index) connectorIs(i int32, v string) bool {
	c := &ix.s.Connectors[i]
	if IsGUID(v) && NormalizeGUID(v) == strings.ToLower(c.ID) {
		return true
	}
	// A name cell that looks like a GUID may still be the name.
	k, name := ix.cellKeyOf(v), ix.connKey(i)
	if string(k) == name {
		return true
	}
	short, _, ok := strings.Cut(name, ".")
	if !ok || bytes.IndexByte(k, '.') >= 0 || short != string(k) {
		return false
	}
	// The host part counts only when no connector has it as its whole
	// name, as in resolution: "app1" beside app1.contoso.com's id, with a
	// connector named app1, names that one, and the cells disagree.
	names, _ := ix.byName()
	_, found := names[string(k)]
	return !found
}

// groupIs reports whether cell v could name group i: its id or its name.
func (ix *index) groupIs(i int32, v string) bool {
	g := &ix.s.Groups[i]
	if IsGUID(v) && NormalizeGUID(v) == strings.ToLower(g.ID) {
		return true
	}
	return string(ix.cellKeyOf(v)) == ix.groupKeys[i]
}

// asciiHint explains a name with a question mark that matched nothing:
// Windows PowerShell 5.1's Export-Csv writes ASCII unless told otherwise,
// and puts "?" for every letter it cannot write.
func asciiHint(v string) string {
	if !strings.Contains(v, "?") {
		return ""
	}
	return ` (a "?" may be a letter that Windows PowerShell's Export-Csv could not write in ASCII, its default encoding: export with -Encoding UTF8)`
}

// notTarget is the reason a row naming g, a group that is no move target
// (Group.IsTarget), is invalid. The type is the service's word: shown bare
// when it is one, quoted when it is anything else.
func notTarget(g *Group, consequence string) string {
	kind := QuoteShort(g.Type)
	if isWord(g.Type) {
		kind = g.Type
	}
	article := "a"
	if strings.ContainsRune("aeiouAEIOU", rune(kind[0])) {
		article = "an"
	}
	return fmt.Sprintf("group %s is %s %s connector group, not an application proxy one: %s", QuoteShort(g.Name), article, kind, consequence)
}

// rowGroup resolves row r's group cell of mapping m (checking it against
// the second group cell, when the file has one): the group's position in
// s, and why the row cannot use it ("" when it can). A group found that is
// no target (of another type) comes back with its position and why, the
// consequence saying what that means for the row's object.
func (ix *index) rowGroup(s *State, m *Mapping, r *Row, consequence string) (int32, string) {
	gi, why := ix.group(s, r.Group)
	if r.GroupAlt != "" {
		ai, whyAlt := ix.group(s, r.GroupAlt)
		switch {
		case gi >= 0 && gi == ai:
		case gi >= 0 && ix.groupIs(gi, r.GroupAlt):
		case ai >= 0 && ix.groupIs(ai, r.Group):
			gi, why = ai, "" // a shared group name beside the id of one of them
		case gi < 0 && ai < 0:
		default:
			name := func(i int32) string { return fmt.Sprintf("%s (%s)", s.Groups[i].Name, s.Groups[i].ID) }
			return -1, disagree("connector group", header(m.GroupHeader, "group"), r.Group, gi, why,
				header(m.GroupAltHeader, "second group"), r.GroupAlt, ai, whyAlt, name)
		}
	}
	if gi >= 0 && !s.Groups[gi].IsTarget() {
		return gi, notTarget(&s.Groups[gi], consequence)
	}
	return gi, why
}

// isWord: 1 to 40 ASCII letters and digits, as Graph's enum values are.
func isWord(v string) bool {
	if len(v) == 0 || len(v) > 40 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// group resolves a mapping cell to a position in s.Groups: a GUID by id,
// otherwise the group name case-insensitively. Whether the group may take
// connectors (Group.IsTarget) is the caller's check: a name shared by an
// application proxy group and another kind stays ambiguous, as the ids
// are the safe way to tell them apart.
func (ix *index) group(s *State, v string) (int32, string) {
	if IsGUID(v) {
		if i, ok := ix.groupByID[NormalizeGUID(v)]; ok {
			return i, ""
		}
		return -1, fmt.Sprintf("no connector group with id %s in the tenant", v)
	}
	first, more, ok := lookup(ix.groupByName, ix.groupNameMore, ix.cellKeyOf(v))
	switch {
	case !ok:
		return -1, fmt.Sprintf("no connector group named %s in the tenant", QuoteShort(v)) + asciiHint(v)
	case len(more) == 0:
		return first, ""
	}
	names := make([]string, 0, 1+len(more))
	for _, i := range append([]int32{first}, more...) {
		g := &s.Groups[i]
		names = append(names, fmt.Sprintf("%s (%s)", g.Name, g.ID))
	}
	sort.Strings(names)
	return -1, fmt.Sprintf("connector group name %s is ambiguous: use one of the ids %s", QuoteShort(v), strings.Join(names, ", "))
}

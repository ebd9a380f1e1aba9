package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"connrecon/internal/safetext"
)

// This file checks a saved plan (plan -o, apply --plan) against the tenant:
// what a plan depends on (Involved, Fingerprint), whether the tenant moved
// away from it (Claims.Check), and planning its moves again (Claims.Replan).
// The file format (encoding, checksum, decoding limits, a file that
// contradicts itself) is package plan/planfile's.

// Involved is the part of the tenant state a plan depends on: every
// connector it moves, and every group such a connector leaves or joins,
// with that group's members and applications. Names are kept for messages
// only; the fingerprint covers ids and statuses.
type Involved struct {
	Connectors []InvolvedConnector `json:"connectors"` // by id
	Groups     []InvolvedGroup     `json:"groups"`     // by id
}

// InvolvedConnector is a moved connector as the tenant had it.
type InvolvedConnector struct {
	ID          string `json:"id"`
	MachineName string `json:"machineName"`
	GroupID     string `json:"groupId"`
	GroupName   string `json:"groupName,omitempty"`
	Status      string `json:"status"`
}

// InvolvedGroup is a group a move leaves or joins, as the tenant had it.
// Members carry their status because the coverage verdict depends on how
// many of them are active, not only on who they are.
type InvolvedGroup struct {
	ID           string           `json:"id"`
	Name         string           `json:"name"`
	Members      []InvolvedMember `json:"members"`      // by id
	Applications []InvolvedApp    `json:"applications"` // by id
}

// InvolvedMember is one connector in an involved group.
type InvolvedMember struct {
	ID          string `json:"id"`
	MachineName string `json:"machineName"`
	Status      string `json:"status"`
}

// InvolvedApp is one application of an involved group.
type InvolvedApp struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// StaleError is a saved plan that must not be applied: the tenant changed
// where the plan depends on it, the plan was made against another Graph
// URL, the file contradicts the tenant, or the file was altered. The
// command line exits 3.
type StaleError struct {
	Reasons []string // each in words an administrator knows, most telling first
	// Altered: the file contradicts itself (it was edited or damaged after
	// it was written), so nothing it says about the tenant is compared
	// with the tenant: a diff would blame the tenant for the edit.
	Altered bool
}

func (e *StaleError) Error() string {
	const show = 10
	rs, more := e.Reasons, ""
	if len(rs) > show {
		rs, more = rs[:show], fmt.Sprintf("; and %d more", len(e.Reasons)-show)
	}
	if e.Altered {
		return "altered plan file: " + strings.Join(rs, "; ") + more + ": make the plan again (plan -o), and keep plan files where only administrators can write"
	}
	return "stale plan: " + strings.Join(rs, "; ") + more + ": make the plan again"
}

// unlistedMoveReason is the reason Build gives a move of a connector the
// mapping does not name (--unlisted default); Replan gives it again
// rather than show a file's text.
const unlistedMoveReason = "not in the mapping: idled in the default group (--unlisted default)"

// Claims is what a saved plan says, as apply --plan checks it against the
// tenant: the moves, the options and Graph URL they were planned with, and
// the tenant state they depend on. Package planfile reads it from a plan
// file. Whoever can write the file can change any of it, so nothing here
// is trusted beyond which connector goes to which group.
type Claims struct {
	GraphURL    string
	Options     Options
	Waves       int
	Changes     []Change // the moves only, in apply order, with their waves
	Fingerprint string   // of Involved, as the file gives it
	Involved    Involved
	// Inconsistent lists where the file contradicts itself (planfile
	// finds it). When it has any, Check refuses the plan as altered and
	// does not compare it with the tenant: a diff would blame the tenant
	// for the edit.
	Inconsistent []string
}

// DescribeMove names a saved move in a message, by the file's own words
// (escaped and cut short: a file may say anything), as both the checks
// here and package planfile name one.
func DescribeMove(c *Change) string {
	name := savedText(c.MachineName)
	if c.MachineName == "" {
		name = savedText(c.ConnectorID)
	}
	if c.Row == 0 {
		return "the move of " + name + " (not in the mapping)"
	}
	return fmt.Sprintf("the move of %s (row %d)", name, c.Row)
}

// lazyMoveWord is DescribeMove(c) for a message, worked out only when
// printed: most moves never appear in one, and a plan may have 100,000.
type lazyMoveWord struct{ c *Change }

func (w lazyMoveWord) String() string { return DescribeMove(w.c) }

// Check compares the saved plan with the tenant as it is now: it returns a
// *StaleError listing what changed when the Graph URL differs or the tenant
// state the plan depends on is no longer what it was, and nil when that
// state is unchanged. A plan that contradicts itself (Inconsistent) is
// refused as altered, saying where, and not compared with the tenant: the
// difference would name the edit as a change in the tenant. Replan checks
// the rest.
func (cl *Claims) Check(current *State, graphURL string) error {
	var reasons []string
	// A trailing slash or a capital letter does not make another service.
	if !strings.EqualFold(strings.TrimRight(cl.GraphURL, "/"), strings.TrimRight(graphURL, "/")) {
		reasons = append(reasons, fmt.Sprintf("the plan was made for %s, not %s", plainText(cl.GraphURL), graphURL))
	}
	if len(cl.Inconsistent) > 0 {
		return &StaleError{Reasons: append(reasons, cl.Inconsistent...), Altered: true}
	}
	now := InvolvedState(current, cl.Changes)
	if now.Fingerprint() != cl.Fingerprint {
		diff := diffInvolved(&cl.Involved, now)
		if len(diff) == 0 {
			diff = []string{"the tenant state the plan depends on changed"}
		}
		reasons = append(reasons, diff...)
	}
	if len(reasons) > 0 {
		return &StaleError{Reasons: reasons}
	}
	return nil
}

// Replan checks a saved plan against the tenant as it is now and makes the
// plan apply executes. A plan file is data anyone who can write it may
// have changed, checksum and fingerprint included, so nothing in it is
// trusted beyond which connector goes to which group:
//
//   - Check first: the Graph URL, and the tenant state the moves depend on.
//   - The moves are planned again from the tenant, as a mapping of the
//     saved connector and group ids would be, so the waves, the group
//     summaries and every guard (--max-changes, coverage with --min-active,
//     during and after) are worked out afresh. A guard that refuses is a
//     Refusal in the returned plan, as for any plan.
//   - Each saved move is compared with the tenant: the connector and its
//     group, its status, the names the file shows (machine name, both
//     group names), the mapping cells it was made from, and for a
//     connector not in the mapping, that it goes to the default group.
//     Any contradiction is a *StaleError, and no plan.
//
// The guards run with guards as apply was given them, each combined with
// the saved option to the stricter of the two (see stricter). The returned
// plan carries the tenant's names and the waves worked out now.
func (cl *Claims) Replan(current *State, graphURL string, guards Options) (*Plan, error) {
	if err := cl.Check(current, graphURL); err != nil {
		return nil, err
	}
	opts := stricter(cl.Options, guards)
	// In the order Build made them (mapping rows, then connectors not in
	// the mapping by name), so that an unchanged tenant gives the saved
	// waves back: the scheduler takes moves in plan order.
	order := make([]int, len(cl.Changes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := &cl.Changes[a], &cl.Changes[b]
		if (ca.Row == 0) != (cb.Row == 0) {
			if ca.Row == 0 {
				return 1
			}
			return -1
		}
		if c := ca.Row - cb.Row; c != 0 {
			return c
		}
		if c := strings.Compare(strings.ToLower(ca.MachineName), strings.ToLower(cb.MachineName)); c != 0 {
			return c
		}
		return strings.Compare(ca.ConnectorID, cb.ConnectorID)
	})
	m := &Mapping{Rows: make([]Row, 0, len(order))}
	for _, i := range order {
		c := &cl.Changes[i]
		m.Rows = append(m.Rows, Row{Line: c.Row, Connector: c.ConnectorID, Group: c.ToGroupID})
	}
	// Unlisted ignore: the saved moves already hold those of connectors
	// not in the mapping; the tenant's other connectors are not the plan's.
	p := Build(m, current, Options{Unlisted: UnlistedIgnore, MaxChanges: opts.MaxChanges, MinActive: opts.MinActive, AllowCoverageGap: opts.AllowCoverageGap})
	if len(p.Changes) != len(order) {
		// Cannot happen for a consistent file (no connector twice): refuse
		// rather than apply something else.
		return nil, &StaleError{Reasons: []string{fmt.Sprintf("planning the %d saved moves again gave %d changes", len(order), len(p.Changes))}}
	}
	ix := newIndex(current)
	var reasons []string
	wavesDiffer := p.WaveCount() != cl.Waves
	for k, i := range order {
		saved, now := &cl.Changes[i], &p.Changes[k]
		reasons = append(reasons, contradictions(saved, now, current, ix)...)
		// What the report shows comes from the tenant, or was checked
		// against it just now.
		now.MappedConnector, now.MappedGroup = saved.MappedConnector, saved.MappedGroup
		if saved.Row == 0 {
			now.Reason = unlistedMoveReason
		}
		if now.Action == ActionMove && now.Wave != saved.Wave {
			wavesDiffer = true
		}
	}
	if len(reasons) > 0 {
		const most = 30
		if len(reasons) > most {
			reasons = append(reasons[:most], fmt.Sprintf("and %d more contradictions", len(reasons)-most))
		}
		return nil, &StaleError{Reasons: reasons}
	}
	p.Options = opts
	if wavesDiffer {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the waves were worked out again from the tenant and differ from the saved plan's (%s): the %s shown here are applied", plural(cl.Waves, "wave", "waves"), plural(p.WaveCount(), "wave", "waves")))
	}
	if w := tightened(cl.Options, opts); w != "" {
		p.Warnings = append(p.Warnings, w)
	}
	return p, nil
}

// contradictions compares one saved move with the same move planned again
// from the tenant (now): each difference in words.
func contradictions(saved, now *Change, s *State, ix *index) []string {
	what := lazyMoveWord{saved}
	switch now.Action {
	case ActionInvalid:
		return []string{fmt.Sprintf("%s: %s", what, now.Reason)}
	case ActionNoop:
		return []string{fmt.Sprintf("%s to group %s: it is in that group already", what, savedText(now.ToGroupName))}
	case ActionMove:
	default:
		return []string{fmt.Sprintf("%s is no move in the tenant (%s)", what, now.Action)}
	}
	// The file's names next to the tenant's: the names are what a
	// reviewer approved, the ids what is applied, and only the tenant
	// can say whether they still agree.
	const either = "renamed since the plan was made, or the file was edited"
	var out []string
	if !strings.EqualFold(now.ConnectorID, saved.ConnectorID) {
		out = append(out, fmt.Sprintf("%s names connector %s, which is no connector id in the tenant", what, savedText(saved.ConnectorID)))
	}
	if !strings.EqualFold(now.ToGroupID, saved.ToGroupID) {
		out = append(out, fmt.Sprintf("%s names group %s, which is no group id in the tenant", what, savedText(saved.ToGroupID)))
	}
	if len(out) > 0 {
		return out // the names below would compare other objects
	}
	if !strings.EqualFold(now.FromGroupID, saved.FromGroupID) {
		out = append(out, fmt.Sprintf("%s from group %s, but the connector is in group %s (%s)", what, plainText(saved.FromGroupID), savedText(now.FromGroupName), now.FromGroupID))
	}
	if now.ConnectorStatus != saved.ConnectorStatus {
		out = append(out, fmt.Sprintf("%s says it is %s, but it is %s", what, savedText(saved.ConnectorStatus), savedText(now.ConnectorStatus)))
	}
	if now.MachineName != saved.MachineName {
		out = append(out, fmt.Sprintf("%s: connector %s is %s in the tenant (%s)", what, now.ConnectorID, savedText(now.MachineName), either))
	}
	if now.FromGroupName != saved.FromGroupName && strings.EqualFold(now.FromGroupID, saved.FromGroupID) {
		out = append(out, fmt.Sprintf("%s from group %s, but group %s is %s in the tenant (%s)", what, savedText(saved.FromGroupName), now.FromGroupID, savedText(now.FromGroupName), either))
	}
	if now.ToGroupName != saved.ToGroupName {
		out = append(out, fmt.Sprintf("%s to group %s, but the group it names, %s, is %s in the tenant (%s)", what, savedText(saved.ToGroupName), now.ToGroupID, savedText(now.ToGroupName), either))
	}
	if saved.Row == 0 {
		if d := ix.defaultGroup; d < 0 || !strings.EqualFold(s.Groups[d].ID, now.ToGroupID) {
			out = append(out, fmt.Sprintf("%s to group %s: the plan idles it in the default group, but that is not the tenant's default group", what, savedText(now.ToGroupName)))
		}
		return out
	}
	// The mapping's cells, as the report shows them, must name the same
	// connector and group as the ids.
	if ci, why := ix.connector(s, saved.MappedConnector); ci < 0 {
		out = append(out, fmt.Sprintf("%s: its mapping cell %s names no connector now: %s", what, savedText(saved.MappedConnector), why))
	} else if !strings.EqualFold(s.Connectors[ci].ID, now.ConnectorID) {
		out = append(out, fmt.Sprintf("%s: its mapping cell %s is connector %s (%s), not the one the plan moves (%s)", what, savedText(saved.MappedConnector), savedText(s.Connectors[ci].MachineName), s.Connectors[ci].ID, now.ConnectorID))
	}
	if gi, why := ix.group(s, saved.MappedGroup); gi < 0 {
		out = append(out, fmt.Sprintf("%s: its mapping cell %s names no group now: %s", what, savedText(saved.MappedGroup), why))
	} else if !strings.EqualFold(s.Groups[gi].ID, now.ToGroupID) {
		out = append(out, fmt.Sprintf("%s: its mapping cell %s is group %s (%s), not the one the plan moves it to (%s, %s)", what, savedText(saved.MappedGroup), savedText(s.Groups[gi].Name), s.Groups[gi].ID, savedText(now.ToGroupName), now.ToGroupID))
	}
	return out
}

// stricter is the guard options apply --plan plans with: for each guard
// the stricter of the saved option and apply's own (its flags, defaults
// included). The file can tighten a guard but not loosen one: whoever can
// write a plan file can change its options, so a plan saved with
// --max-changes 200, --min-active 0 or --allow-coverage-gap needs the same
// flag on apply to be applied that way.
func stricter(saved, given Options) Options {
	nonNeg := func(n int) int { return max(n, 0) }
	sm, gm := nonNeg(saved.MaxChanges), nonNeg(given.MaxChanges)
	o := Options{
		Unlisted:         saved.normalized().Unlisted,
		MinActive:        max(nonNeg(saved.MinActive), nonNeg(given.MinActive)),
		AllowCoverageGap: saved.AllowCoverageGap && given.AllowCoverageGap,
	}
	switch { // 0 is no limit
	case sm == 0:
		o.MaxChanges = gm
	case gm == 0:
		o.MaxChanges = sm
	default:
		o.MaxChanges = min(sm, gm)
	}
	return o
}

// tightened says which saved guard options apply --plan did not plan with
// (its own were stricter), or "" when it used them all.
func tightened(saved, used Options) string {
	limit := func(n int) string {
		if n <= 0 {
			return "0 (no limit)"
		}
		return strconv.Itoa(n)
	}
	var was, now []string
	if max(saved.MaxChanges, 0) != used.MaxChanges {
		was, now = append(was, "--max-changes "+limit(saved.MaxChanges)), append(now, "--max-changes "+limit(used.MaxChanges))
	}
	if max(saved.MinActive, 0) != used.MinActive {
		was, now = append(was, fmt.Sprintf("--min-active %d", saved.MinActive)), append(now, fmt.Sprintf("--min-active %d", used.MinActive))
	}
	if saved.AllowCoverageGap && !used.AllowCoverageGap {
		was, now = append(was, "--allow-coverage-gap"), append(now, "without --allow-coverage-gap")
	}
	if len(was) == 0 {
		return ""
	}
	return fmt.Sprintf("the plan was saved with %s; apply checks it with %s, the stricter of the plan's options and its own (a plan file never loosens a guard: give the flag to apply for that)",
		strings.Join(was, ", "), strings.Join(now, ", "))
}

// Fingerprint is the sha256 of a canonical, sorted serialization of the
// tenant state the changes depend on: for each moved connector its id,
// group and status; for each group a move leaves or joins, its id, its
// members' ids and statuses, and its applications' ids. Names are left out:
// renaming a group does not change what a move does.
func Fingerprint(s *State, changes []Change) string {
	return InvolvedState(s, changes).Fingerprint()
}

// Fingerprint is the sha256 of inv as the package Fingerprint describes:
// what a saved plan records of the tenant state it depends on.
func (inv *Involved) Fingerprint() string {
	var b strings.Builder
	conns := slices.Clone(inv.Connectors)
	slices.SortFunc(conns, func(a, c InvolvedConnector) int { return strings.Compare(a.ID, c.ID) })
	for _, c := range conns {
		fmt.Fprintf(&b, "connector\t%s\t%s\t%s\n", c.ID, c.GroupID, c.Status)
	}
	groups := slices.Clone(inv.Groups)
	slices.SortFunc(groups, func(a, c InvolvedGroup) int { return strings.Compare(a.ID, c.ID) })
	for _, g := range groups {
		fmt.Fprintf(&b, "group\t%s\n", g.ID)
		members := slices.Clone(g.Members)
		slices.SortFunc(members, func(a, c InvolvedMember) int { return strings.Compare(a.ID, c.ID) })
		for _, m := range members {
			fmt.Fprintf(&b, "member\t%s\t%s\n", m.ID, m.Status)
		}
		apps := make([]string, len(g.Applications))
		for i, a := range g.Applications {
			apps[i] = a.ID
		}
		slices.Sort(apps)
		for _, a := range apps {
			fmt.Fprintf(&b, "application\t%s\n", a)
		}
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:])
}

// InvolvedState extracts from s what the moves among changes depend on:
// what a saved plan records (planfile.Save), and what Check compares it
// with.
// Ids are lower-cased (Graph's GUIDs compare without case). A connector or
// group no longer in s is simply absent, which the fingerprint and
// diffInvolved both notice.
func InvolvedState(s *State, changes []Change) *Involved {
	moved := map[string]bool{}
	groups := map[string]bool{}
	for _, c := range changes {
		if c.Action != ActionMove {
			continue
		}
		moved[strings.ToLower(c.ConnectorID)] = true
		groups[strings.ToLower(c.FromGroupID)] = true
		groups[strings.ToLower(c.ToGroupID)] = true
	}
	names := make(map[string]string, len(s.Groups))
	inv := &Involved{Connectors: []InvolvedConnector{}, Groups: []InvolvedGroup{}}
	at := map[string]int{} // group id → position in inv.Groups
	for _, g := range s.Groups {
		id := strings.ToLower(g.ID)
		names[id] = g.Name
		if !groups[id] {
			continue
		}
		ig := InvolvedGroup{ID: id, Name: g.Name, Members: []InvolvedMember{}, Applications: []InvolvedApp{}}
		for _, a := range g.Applications {
			ig.Applications = append(ig.Applications, InvolvedApp{ID: strings.ToLower(a.ID), DisplayName: a.DisplayName})
		}
		slices.SortFunc(ig.Applications, func(a, b InvolvedApp) int { return strings.Compare(a.ID, b.ID) })
		at[id] = len(inv.Groups)
		inv.Groups = append(inv.Groups, ig)
	}
	for _, c := range s.Connectors {
		id, gid := strings.ToLower(c.ID), strings.ToLower(c.GroupID)
		if moved[id] {
			inv.Connectors = append(inv.Connectors, InvolvedConnector{ID: id, MachineName: c.MachineName, GroupID: gid, GroupName: names[gid], Status: c.Status})
		}
		if i, ok := at[gid]; ok {
			inv.Groups[i].Members = append(inv.Groups[i].Members, InvolvedMember{ID: id, MachineName: c.MachineName, Status: c.Status})
		}
	}
	slices.SortFunc(inv.Connectors, func(a, b InvolvedConnector) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(inv.Groups, func(a, b InvolvedGroup) int { return strings.Compare(a.ID, b.ID) })
	for i := range inv.Groups {
		slices.SortFunc(inv.Groups[i].Members, func(a, b InvolvedMember) int { return strings.Compare(a.ID, b.ID) })
	}
	return inv
}

// diffInvolved says what changed between the saved and the current
// involved state: moved connectors first, then each group.
func diffInvolved(was, now *Involved) []string {
	var out []string
	nowConn := map[string]InvolvedConnector{}
	for _, c := range now.Connectors {
		nowConn[c.ID] = c
	}
	moved := map[string]bool{}
	for _, c := range was.Connectors {
		moved[c.ID] = true
		n, ok := nowConn[c.ID]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("connector %s (%s) is no longer in the tenant", plainText(c.MachineName), plainText(c.ID)))
			continue
		case n.GroupID != c.GroupID:
			out = append(out, fmt.Sprintf("connector %s is now in group %s (was %s)", plainText(c.MachineName), groupWord(n.GroupName, n.GroupID), groupWord(c.GroupName, c.GroupID)))
		}
		if n.Status != c.Status {
			out = append(out, fmt.Sprintf("connector %s is now %s (was %s)", plainText(c.MachineName), plainText(statusWord(n.Status)), plainText(statusWord(c.Status))))
		}
	}
	nowGroup := map[string]InvolvedGroup{}
	for _, g := range now.Groups {
		nowGroup[g.ID] = g
	}
	for _, g := range was.Groups {
		n, ok := nowGroup[g.ID]
		if !ok {
			out = append(out, fmt.Sprintf("group %s is no longer in the tenant", groupWord(g.Name, g.ID)))
			continue
		}
		name := groupWord(g.Name, g.ID)
		wasMember := map[string]InvolvedMember{}
		for _, m := range g.Members {
			wasMember[m.ID] = m
		}
		nowMember := map[string]InvolvedMember{}
		for _, m := range n.Members {
			nowMember[m.ID] = m
			// A moved connector's own line above already says where it went.
			if _, ok := wasMember[m.ID]; !ok && !moved[m.ID] {
				out = append(out, fmt.Sprintf("group %s gained connector %s", name, plainText(m.MachineName)))
			}
		}
		for _, m := range g.Members {
			nm, ok := nowMember[m.ID]
			switch {
			case moved[m.ID]:
			case !ok:
				out = append(out, fmt.Sprintf("group %s lost connector %s", name, plainText(m.MachineName)))
			case nm.Status != m.Status:
				out = append(out, fmt.Sprintf("connector %s in group %s is now %s (was %s)", plainText(m.MachineName), name, plainText(statusWord(nm.Status)), plainText(statusWord(m.Status))))
			}
		}
		wasApp := map[string]bool{}
		for _, a := range g.Applications {
			wasApp[a.ID] = true
		}
		nowApp := map[string]bool{}
		for _, a := range n.Applications {
			nowApp[a.ID] = true
			if !wasApp[a.ID] {
				out = append(out, fmt.Sprintf("group %s gained application %s", name, appWord(a)))
			}
		}
		for _, a := range g.Applications {
			if !nowApp[a.ID] {
				out = append(out, fmt.Sprintf("group %s lost application %s", name, appWord(a)))
			}
		}
	}
	return out
}

// savedText quotes text from a plan file for a message, and plainText
// shows it unquoted (a URL, an id, a number): escaped, so it cannot drive
// or disguise itself on a terminal, and cut short, so a huge value stays a
// short message.
func savedText(s string) string { return safetext.Quote(s) }

func plainText(s string) string { return safetext.Value(s) }

// groupWord and appWord name what a plan file recorded, bounded and
// escaped: the file may say anything.
func groupWord(name, id string) string {
	if name == "" {
		return plainText(id)
	}
	return savedText(name)
}

func appWord(a InvolvedApp) string {
	if a.DisplayName == "" {
		return plainText(a.ID)
	}
	return plainText(a.DisplayName)
}

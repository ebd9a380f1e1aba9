package plan

import (
	"fmt"
	"sort"
	"strings"
)

// Guards that can refuse a plan (Refusal.Guard).
const (
	GuardMaxChanges = "maxChanges" // more moves than --max-changes
	GuardStalePlan  = "stalePlan"  // apply --plan: the tenant, the Graph URL or the file changed
	GuardCoverage   = "coverage"   // a group with applications would run short of active connectors
)

// Values of GroupSummary.Coverage, the only definition: report.json,
// report.csv, report.xlsx and report.md show these strings.
const (
	CoverageOK             = "ok"             // applications, never below --min-active active connectors
	CoverageGap            = "gap"            // applications, and below --min-active before, during or after the plan
	CoverageNoApplications = "noApplications" // serves nothing, so needs no connector
)

// Refusal is one guard saying no. Nothing of a refused plan is applied.
// The report shows it through report.Refusal (the groups by name); a field
// added here must be shown or left out there (report/records_test.go).
type Refusal struct {
	Guard   string         `json:"guard"`            // GuardMaxChanges, GuardCoverage or GuardStalePlan
	Message string         `json:"message"`          // for the administrator: what is wrong and what to do
	Groups  []RefusedGroup `json:"groups,omitempty"` // coverage: the groups that would run short
}

// RefusedGroup is a group a coverage refusal names, with what it serves.
type RefusedGroup struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Applications    []string `json:"applications"` // display names, sorted
	ActiveBefore    int      `json:"activeBefore"`
	ActiveAfter     int      `json:"activeAfter"`
	MinActiveDuring int      `json:"minActiveDuring"` // the fewest active connectors at any moment of the apply
}

// GroupSummary is one connector group before and after the plan, for the
// report's groups (report.Group shows every field but MinActiveDuring; a
// field added here must be shown or left out there, report/records_test.go).
// Counts during the apply assume the worst order inside each wave: all of a
// wave's moves out of a group before any move in.
type GroupSummary struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	IsDefault        bool     `json:"isDefault"`
	Applications     []string `json:"applications"` // display names, sorted
	ConnectorsBefore int      `json:"connectorsBefore"`
	ConnectorsAfter  int      `json:"connectorsAfter"`
	ActiveBefore     int      `json:"activeBefore"`
	ActiveAfter      int      `json:"activeAfter"`
	MinActiveDuring  int      `json:"minActiveDuring"`
	Coverage         string   `json:"coverage"` // CoverageOK, CoverageGap or CoverageNoApplications
}

// unlimited stands for the tokens of a group that needs no coverage.
const unlimited = 1 << 40

// coverage is the working state of the coverage analysis. Groups are
// positions in State.Groups; one extra vertex at the end stands for groups
// the snapshot does not list (a connector may point at one), which serve
// no known application and so need no coverage.
//
// The model: a group that must stay covered has tokens = active connectors
// beyond its floor (see floor below). An active move out of it spends one
// token and gives one to the destination. Groups without applications have
// unlimited tokens. Inactive connectors are not moved through this model at
// all: they serve nothing, so moving them never changes coverage.
type coverage struct {
	nv          int // vertices: len(State.Groups) + 1
	constrained []bool
	floor       []int
	before      []int // active connectors
	after       []int
	connsBefore []int // all connectors
	connsAfter  []int

	// The active moves as a graph.
	edges     []edge
	outStart  []int32 // out-edges of v: outList[outStart[v]:outStart[v+1]]
	outList   []int32
	incStart  []int32 // all edges touching v, both directions
	incList   []int32
	removed   []bool  // fired (scheduled) already
	pending   []int32 // out-edges of v not yet fired
	tokens    []int   // after every edge fired so far
	waveStart []int   // tokens at the start of the current wave
	firedOut  []int   // out-edges of v fired in the current wave
	waveOf    []int32 // each edge's wave; 0 while (or if forever) unscheduled
	seen      []int32 // search marks, by generation
	gen       int32
	queue     []int32
}

type edge struct {
	change   int32 // index in Plan.Changes
	from, to int32
}

// schedule orders the moves in waves, computes every group's before, during
// and after, and adds the coverage refusals and notes. conns and dests are
// parallel to p.Changes (positions in s; -1 for none).
func (p *Plan) schedule(s *State, ix *index, conns, dests []int32) {
	minActive := p.Options.MinActive
	ng := len(s.Groups)
	cv := &coverage{nv: ng + 1}
	vertex := func(g int32) int32 {
		if g < 0 {
			return int32(ng)
		}
		return g
	}
	cv.before, cv.connsBefore = make([]int, cv.nv), make([]int, cv.nv)
	for i := range s.Connectors {
		v := vertex(ix.connGroup[i])
		cv.connsBefore[v]++
		if s.Connectors[i].Status == StatusActive {
			cv.before[v]++
		}
	}
	cv.after, cv.connsAfter = append([]int(nil), cv.before...), append([]int(nil), cv.connsBefore...)
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Action != ActionMove {
			continue
		}
		from, to := vertex(ix.connGroup[conns[i]]), dests[i]
		cv.connsAfter[from]--
		cv.connsAfter[to]++
		if s.Connectors[conns[i]].Status != StatusActive {
			c.Wave = 1 // serves nothing: safe at any time, so as early as possible
			continue
		}
		cv.after[from]--
		cv.after[to]++
		cv.edges = append(cv.edges, edge{change: int32(i), from: from, to: to})
	}

	// The floor a group may not go below at any moment. Normally
	// --min-active. Two exceptions, so that the scheduler always has a
	// consistent target and every shortfall is reported once, by the right
	// rule:
	//   - A group already below --min-active before the plan only has to
	//     stay where it is: the plan did not cause that gap, and refusing
	//     every plan while some unrelated group is short would block the
	//     fix too. It is noted in a warning instead.
	//   - A group that ends below its floor is refused by the final-state
	//     rule; during the apply it then only has to stay at its final count,
	//     so the order still does the least harm if the gap is allowed.
	cv.constrained, cv.floor = make([]bool, cv.nv), make([]int, cv.nv)
	cv.tokens = make([]int, cv.nv)
	for v := range cv.nv {
		if minActive > 0 && v < ng && len(s.Groups[v].Applications) > 0 {
			cv.constrained[v] = true
			cv.floor[v] = min(minActive, cv.before[v], cv.after[v])
			cv.tokens[v] = cv.before[v] - cv.floor[v]
		} else {
			cv.tokens[v] = unlimited
		}
	}

	// Waves: inactive moves are wave 1, active ones as waves() says, and
	// moves no order can keep covered in a wave of their own after the rest.
	waves := cv.waves()
	for i, e := range cv.edges {
		p.Changes[e.change].Wave = int(cv.waveOf[i])
	}
	if waves == 0 && len(cv.edges) < p.Summary().Move {
		waves = 1 // inactive moves only
	}
	for i, e := range cv.edges {
		if cv.waveOf[i] == 0 {
			c := &p.Changes[e.change]
			c.Wave = waves + 1
			c.Warnings = append(c.Warnings, fmt.Sprintf("no order of the moves keeps every group with applications at --min-active %d during this move: it comes last, in wave %d", minActive, waves+1))
		}
	}
	p.verdicts(s, cv, cv.during(p))
}

// waves is the greedy scheduler. Each wave takes, in plan order, every move
// whose source group can give a connector even if all of the wave's moves
// out of it finish before any move into it: a group may spend at most the
// tokens it had when the wave started. That is the worst interleaving of
// concurrent moves, so any order inside a wave is safe.
//
// Which moves to take matters when a group has more moves out than tokens:
// sending its only spare connector down a path that never comes back can
// strand a cycle of moves that needed it. So a move from such a group is
// taken only if the rest stays schedulable. The remaining moves can all be
// ordered exactly when every group keeps a non-negative final token count
// (true by construction of the floor) and every connected piece of the
// remaining move graph touches a group holding a token: the moves then split
// into paths that each carry one token plus cycles that can be spliced into
// a path (or started by a token) where they meet it, as in Hierholzer's
// construction of an Euler path. Firing one move can only break the second
// condition by cutting its source's side off from the token it carries
// away, which safe checks with a search that stops at the first token. A
// group that can pay for all its remaining moves at once takes them all
// without a check: that never strands anything, since it keeps no moves
// out that would need a token. As every step keeps the rest schedulable,
// the scheduler finishes whenever some order exists, and the moves it cannot
// place are exactly those no order can place. The property test checks this
// against a brute-force search.
//
// It returns the number of waves used; cv.waveOf is 0 for moves left over.
func (cv *coverage) waves() int {
	ne := len(cv.edges)
	cv.waveOf = make([]int32, ne)
	cv.removed = make([]bool, ne)
	if ne == 0 {
		return 0
	}
	cv.outStart, cv.outList = csr(cv.nv, ne, func(i int, add func(v int32)) { add(cv.edges[i].from) })
	cv.incStart, cv.incList = csr(cv.nv, ne, func(i int, add func(v int32)) { add(cv.edges[i].from); add(cv.edges[i].to) })
	cv.pending = make([]int32, cv.nv)
	for v := range cv.nv {
		cv.pending[v] = cv.outStart[v+1] - cv.outStart[v]
	}
	cv.waveStart = append([]int(nil), cv.tokens...)
	cv.firedOut = make([]int, cv.nv)
	cv.seen = make([]int32, cv.nv)

	remaining := make([]int32, ne)
	for i := range remaining {
		remaining[i] = int32(i)
	}
	var touched []int32 // groups whose tokens changed in this wave
	wave := int32(0)
	for len(remaining) > 0 {
		wave++
		fired := 0
		for _, e := range remaining {
			if cv.removed[e] {
				continue // fired with the rest of its source's moves
			}
			u := cv.edges[e].from
			avail := cv.waveStart[u] - cv.firedOut[u]
			switch {
			case avail <= 0:
				continue
			case int(cv.pending[u]) <= avail:
				for _, f := range cv.outList[cv.outStart[u]:cv.outStart[u+1]] {
					if !cv.removed[f] {
						cv.fire(f, wave)
						fired++
						touched = append(touched, cv.edges[f].to)
					}
				}
			case cv.safe(e):
				cv.fire(e, wave)
				fired++
				touched = append(touched, cv.edges[e].to)
			default:
				continue
			}
			touched = append(touched, u)
		}
		if fired == 0 {
			return int(wave - 1)
		}
		for _, v := range touched {
			cv.waveStart[v], cv.firedOut[v] = cv.tokens[v], 0
		}
		touched = touched[:0]
		next := remaining[:0]
		for _, e := range remaining {
			if !cv.removed[e] {
				next = append(next, e)
			}
		}
		remaining = next
	}
	return int(wave)
}

func (cv *coverage) fire(e int32, wave int32) {
	ed := cv.edges[e]
	cv.removed[e] = true
	cv.waveOf[e] = wave
	cv.pending[ed.from]--
	cv.firedOut[ed.from]++
	cv.tokens[ed.from]--
	cv.tokens[ed.to]++
}

// safe reports whether firing e leaves the remaining moves schedulable. The
// token goes to e's destination, so the only piece that can be stranded is
// the source's side, if e was its last link to the destination. Search that
// side for a group holding a token, or for the destination itself (then e
// was no bridge); a side with no moves left needs no token.
func (cv *coverage) safe(e int32) bool {
	u, v := cv.edges[e].from, cv.edges[e].to
	if cv.tokens[u]-1 > 0 {
		return true
	}
	cv.gen++
	cv.seen[u] = cv.gen
	cv.queue = append(cv.queue[:0], u)
	hasMoves := false
	for len(cv.queue) > 0 {
		x := cv.queue[len(cv.queue)-1]
		cv.queue = cv.queue[:len(cv.queue)-1]
		for _, f := range cv.incList[cv.incStart[x]:cv.incStart[x+1]] {
			if f == e || cv.removed[f] {
				continue
			}
			hasMoves = true
			y := cv.edges[f].from
			if y == x {
				y = cv.edges[f].to
			}
			if cv.seen[y] == cv.gen {
				continue
			}
			if y == v || cv.tokens[y] > 0 {
				return true
			}
			cv.seen[y] = cv.gen
			cv.queue = append(cv.queue, y)
		}
	}
	return !hasMoves
}

// csr builds compressed adjacency lists: each(i, add) calls add(v) for
// every vertex v edge i is to be listed under.
func csr(nv, ne int, each func(i int, add func(v int32))) (start, list []int32) {
	start = make([]int32, nv+1)
	for i := range ne {
		each(i, func(v int32) { start[v+1]++ })
	}
	for v := range nv {
		start[v+1] += start[v]
	}
	list = make([]int32, start[nv])
	fill := append([]int32(nil), start[:nv]...)
	for i := range ne {
		each(i, func(v int32) { list[fill[v]] = int32(i); fill[v]++ })
	}
	return start, list
}

// during replays the waves, each in its worst interleaving (all moves out
// before any move in), and returns the fewest active connectors each group
// has at any moment, before and after included.
func (cv *coverage) during(p *Plan) []int {
	cur := append([]int(nil), cv.before...)
	low := append([]int(nil), cv.before...)
	byWave := make([]int32, len(cv.edges))
	for i := range byWave {
		byWave[i] = int32(i)
	}
	wave := func(i int32) int { return p.Changes[cv.edges[i].change].Wave }
	sort.SliceStable(byWave, func(a, b int) bool { return wave(byWave[a]) < wave(byWave[b]) })
	for lo := 0; lo < len(byWave); {
		hi := lo
		for hi < len(byWave) && wave(byWave[hi]) == wave(byWave[lo]) {
			hi++
		}
		for _, e := range byWave[lo:hi] {
			u := cv.edges[e].from
			cur[u]--
			low[u] = min(low[u], cur[u])
		}
		for _, e := range byWave[lo:hi] {
			cur[cv.edges[e].to]++
		}
		lo = hi
	}
	return low
}

// verdicts fills p.Groups and adds the coverage refusals (or, with
// --allow-coverage-gap, warnings) and the notes on groups already short.
func (p *Plan) verdicts(s *State, cv *coverage, during []int) {
	minActive := p.Options.MinActive
	order := make([]int, len(s.Groups))
	for i := range order {
		order[i] = i
	}
	// By name then id, whether or not the caller sorted the state.
	sort.SliceStable(order, func(a, b int) bool {
		ga, gb := &s.Groups[order[a]], &s.Groups[order[b]]
		if la, lb := strings.ToLower(ga.Name), strings.ToLower(gb.Name); la != lb {
			return la < lb
		}
		return ga.ID < gb.ID
	})
	var short, dips []RefusedGroup
	p.Groups = make([]GroupSummary, 0, len(s.Groups))
	for _, v := range order {
		g := &s.Groups[v]
		apps := appNames(g)
		sum := GroupSummary{
			ID: g.ID, Name: g.Name, IsDefault: g.IsDefault, Applications: apps,
			ConnectorsBefore: cv.connsBefore[v], ConnectorsAfter: cv.connsAfter[v],
			ActiveBefore: cv.before[v], ActiveAfter: cv.after[v], MinActiveDuring: during[v],
			Coverage: CoverageOK,
		}
		switch {
		case len(apps) == 0:
			sum.Coverage = CoverageNoApplications
		case during[v] < minActive:
			sum.Coverage = CoverageGap
		}
		p.Groups = append(p.Groups, sum)
		if !cv.constrained[v] {
			continue
		}
		rg := RefusedGroup{ID: g.ID, Name: g.Name, Applications: apps, ActiveBefore: cv.before[v], ActiveAfter: cv.after[v], MinActiveDuring: during[v]}
		switch {
		case cv.after[v] < minActive && cv.after[v] < cv.before[v]:
			short = append(short, rg)
		case during[v] < cv.floor[v]:
			// Only moves no order could place dip below the floor.
			dips = append(dips, rg)
		case cv.before[v] < minActive && cv.after[v] < minActive:
			// Already short before the plan, and no worse at any moment
			// (the floor held): not this plan's doing, so no refusal.
			p.Warnings = append(p.Warnings, fmt.Sprintf("connector group %s has %s before this plan, fewer than --min-active %d; the plan does not make that worse (%d after)",
				groupLabel(rg), activeWord(cv.before[v]), minActive, cv.after[v]))
		}
	}
	if len(short) > 0 {
		p.coverageRefusal(fmt.Sprintf("after this plan, %s with applications would have fewer than --min-active %d active connectors: %s; map more active connectors to %s, or pass --allow-coverage-gap to accept the outage",
			plural(len(short), "connector group", "connector groups"), minActive, describe(short, false), them(len(short))), short)
	}
	if len(dips) > 0 {
		p.coverageRefusal(fmt.Sprintf("no order of the moves keeps every connector group with applications at --min-active %d active connectors during the apply: %s. The moves form a cycle (such as two groups swapping their only connectors) with no spare active connector to go first; give %s an extra active connector first (install one, or move one in with an earlier plan), or pass --allow-coverage-gap to accept a short outage",
			minActive, describe(dips, true), oneOf(len(dips))), dips)
	}
}

// coverageRefusal records a coverage shortfall: a refusal, or a warning
// when the administrator allowed the gap.
func (p *Plan) coverageRefusal(msg string, groups []RefusedGroup) {
	if p.Options.AllowCoverageGap {
		p.Warnings = append(p.Warnings, "coverage gap allowed by --allow-coverage-gap: "+msg)
		return
	}
	p.Refusals = append(p.Refusals, Refusal{Guard: GuardCoverage, Message: msg, Groups: groups})
}

func appNames(g *Group) []string {
	names := make([]string, 0, len(g.Applications))
	for _, a := range g.Applications {
		name := a.DisplayName
		if name == "" {
			name = a.ID
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// groupLabel names a group and, shortened, what it serves.
func groupLabel(g RefusedGroup) string {
	const show = 5
	apps, more := g.Applications, ""
	if len(apps) > show {
		apps, more = apps[:show], fmt.Sprintf(" and %d more", len(g.Applications)-show)
	}
	return fmt.Sprintf("%q (applications: %s%s)", g.Name, strings.Join(apps, ", "), more)
}

// describe lists the groups for a message, the first ten of them: the
// refusal's Groups field has them all.
func describe(gs []RefusedGroup, during bool) string {
	const show = 10
	var parts []string
	for i, g := range gs {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(gs)-show))
			break
		}
		if during {
			parts = append(parts, fmt.Sprintf("%s would drop to %d active (%d before, %d after)", groupLabel(g), g.MinActiveDuring, g.ActiveBefore, g.ActiveAfter))
		} else {
			parts = append(parts, fmt.Sprintf("%s would go from %d to %d active", groupLabel(g), g.ActiveBefore, g.ActiveAfter))
		}
	}
	return strings.Join(parts, "; ")
}

func activeWord(n int) string { return plural(n, "active connector", "active connectors") }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func oneOf(n int) string {
	if n == 1 {
		return "it"
	}
	return "one of them"
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

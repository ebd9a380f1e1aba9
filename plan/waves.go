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
// The model: a group that serves applications has tokens = active
// connectors beyond its floor (see floor below). An active move out of it
// spends one token and gives one to the destination. Groups serving no
// application have unlimited tokens. Inactive connectors are not moved
// through this model at all: they serve nothing, so moving them never
// changes coverage.
//
// Applications move in waves of their own, between connector waves, so
// that inside any wave either the connectors or the applications stand
// still: an application moves into a group only when the group has
// --min-active active connectors, which no move of its wave can change,
// and a group it leaves needs no connector for it from the next wave on.
type coverage struct {
	nv          int // vertices: len(State.Groups) + 1
	minActive   int
	floor       []int
	before      []int // active connectors
	after       []int
	cur         []int // active connectors after every move fired so far
	connsBefore []int // all connectors
	connsAfter  []int

	// Applications each group serves: before the plan, now (as the
	// scheduler places application moves) and after it.
	appsStart []int
	apps      []int
	appsAfter []int
	gains     []bool // some application moves into the group
	appEdges  []appMove
	appWaveOf []int32 // each application move's wave; 0 while (or if forever) unscheduled
	awaited   []int   // application moves into the group not yet placed
	reserve   bool    // a group awaiting applications keeps its floor (see schedule)

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

// serving reports whether group v serves an application now and so must
// keep its floor.
func (cv *coverage) serving(v int32) bool {
	return cv.minActive > 0 && int(v) < cv.nv-1 && cv.apps[v] > 0
}

// tokensOf is what group v may give now: its active connectors beyond its
// floor while it serves applications (or, when the scheduler reserves,
// while applications wait to move into it), unlimited otherwise.
func (cv *coverage) tokensOf(v int32) int {
	if cv.serving(v) || cv.reserve && cv.minActive > 0 && int(v) < cv.nv-1 && cv.awaited[v] > 0 {
		return cv.cur[v] - cv.floor[v]
	}
	return unlimited
}

// unplaced counts the moves of both kinds the last waves() left over.
func (cv *coverage) unplaced() int {
	n := 0
	for _, w := range cv.waveOf {
		if w == 0 {
			n++
		}
	}
	for _, w := range cv.appWaveOf {
		if w == 0 {
			n++
		}
	}
	return n
}

// lastWave is the last wave the last waves() used.
func (cv *coverage) lastWave() int {
	w := int32(0)
	for _, x := range cv.waveOf {
		w = max(w, x)
	}
	for _, x := range cv.appWaveOf {
		w = max(w, x)
	}
	return int(w)
}

// schedule orders the moves in waves, computes every group's before, during
// and after, and adds the coverage refusals and notes. conns and dests are
// parallel to p.Changes (positions in s; -1 for none); apps are the
// application moves.
func (p *Plan) schedule(s *State, ix *index, conns, dests []int32, apps []appMove) {
	minActive := p.Options.MinActive
	ng := len(s.Groups)
	cv := &coverage{nv: ng + 1, minActive: minActive}
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
	inactive := 0
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Action != ActionMove || c.IsApplication() {
			continue
		}
		from, to := vertex(ix.connGroup[conns[i]]), dests[i]
		cv.connsAfter[from]--
		cv.connsAfter[to]++
		if s.Connectors[conns[i]].Status != StatusActive {
			c.Wave = 1 // serves nothing: safe at any time, so as early as possible
			inactive++
			continue
		}
		cv.after[from]--
		cv.after[to]++
		cv.edges = append(cv.edges, edge{change: int32(i), from: from, to: to})
	}
	cv.appsStart, cv.gains = make([]int, cv.nv), make([]bool, cv.nv)
	for v := range ng {
		cv.appsStart[v] = len(s.Groups[v].Applications)
	}
	cv.apps, cv.appsAfter = append([]int(nil), cv.appsStart...), append([]int(nil), cv.appsStart...)
	cv.appEdges = apps
	for _, m := range apps {
		cv.appsAfter[m.from]--
		cv.appsAfter[m.to]++
		cv.gains[m.to] = true
	}

	// The floor a group may not go below while it serves applications.
	// Normally --min-active. Two exceptions, so that the scheduler always
	// has a consistent target and every shortfall is reported once, by the
	// right rule:
	//   - A group already below --min-active before the plan only has to
	//     stay where it is: the plan did not cause that gap, and refusing
	//     every plan while some unrelated group is short would block the
	//     fix too. It is noted in a warning instead.
	//   - A group that ends below its floor, still serving, is refused by
	//     the final-state rule; during the apply it then only has to stay
	//     at its final count, so the order still does the least harm if
	//     the gap is allowed.
	// A group that serves nothing before the plan gets --min-active: an
	// application moves in only when it has that many.
	cv.floor = make([]int, cv.nv)
	for v := range cv.nv {
		switch {
		case minActive <= 0 || v == ng:
		case cv.appsStart[v] > 0 && cv.appsAfter[v] > 0:
			cv.floor[v] = min(minActive, cv.before[v], cv.after[v])
		case cv.appsStart[v] > 0:
			cv.floor[v] = min(minActive, cv.before[v]) // until its last application has left
		default:
			cv.floor[v] = minActive
		}
	}

	// Waves: inactive moves are wave 1, the rest as waves() says, and
	// moves no order can keep covered in waves of their own after the
	// rest: connectors, then applications.
	//
	// A group that serves nothing yet but awaits applications may give
	// its connectors away freely, or keep them for the applications. Each
	// is right for some plans (a connector it gives may be what another
	// group's application needs; one it keeps may be what its own
	// arrivals need), so the scheduler tries giving first and, if that
	// leaves moves it cannot place, keeping, and takes the try that
	// places more.
	waves := cv.waves(false)
	if left := cv.unplaced(); left > 0 && len(cv.appEdges) > 0 {
		if cv.waves(true); cv.unplaced() >= left {
			waves = cv.waves(false)
		} else {
			waves = cv.lastWave()
		}
	}
	for i, e := range cv.edges {
		p.Changes[e.change].Wave = int(cv.waveOf[i])
	}
	for i, m := range cv.appEdges {
		p.Changes[m.change].Wave = int(cv.appWaveOf[i])
	}
	if waves == 0 && inactive > 0 {
		waves = 1 // inactive moves only
	}
	last := waves
	for i, e := range cv.edges {
		if cv.waveOf[i] == 0 {
			c := &p.Changes[e.change]
			c.Wave = waves + 1
			last = waves + 1
			c.Warnings = append(c.Warnings, fmt.Sprintf("no order of the moves keeps every group with applications at --min-active %d during this move: it comes last, in wave %d", minActive, waves+1))
		}
	}
	for i, m := range cv.appEdges {
		if cv.appWaveOf[i] == 0 {
			c := &p.Changes[m.change]
			c.Wave = last + 1
			c.Warnings = append(c.Warnings, fmt.Sprintf("no order of the moves gives %s --min-active %d active connectors before this application moves in: it comes last, in wave %d", QuoteShort(c.ToGroupName), minActive, last+1))
		}
	}
	p.verdicts(s, cv)
}

// waves is the scheduler: connector waves as long as some connector can
// move (connectorWaves), then one wave of every application that can move,
// then connector waves again (groups its applications left no longer need
// their connectors), and so on until neither kind can move. It returns the
// number of waves used; waveOf and appWaveOf are 0 for moves left over.
//
// Connectors go first: a group that serves nothing yet gives its
// connectors away at once, and an application waits for its target to
// have --min-active. An application moved early would make its target
// keep connectors that a swap between groups needed.
func (cv *coverage) waves(reserve bool) int {
	ne := len(cv.edges)
	cv.reserve = reserve
	cv.cur = append(cv.cur[:0], cv.before...)
	cv.apps = append(cv.apps[:0], cv.appsStart...)
	cv.awaited = make([]int, cv.nv)
	for _, m := range cv.appEdges {
		cv.awaited[m.to]++
	}
	cv.tokens = make([]int, cv.nv)
	for v := range cv.nv {
		cv.tokens[v] = cv.tokensOf(int32(v))
	}
	cv.waveOf = make([]int32, ne)
	cv.removed = make([]bool, ne)
	cv.appWaveOf = make([]int32, len(cv.appEdges))
	if ne == 0 && len(cv.appEdges) == 0 {
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
	// Connectors bound for a group applications are to move into go
	// first: a group that can spare one connector of two sends it where
	// an application waits for it, and the other after the application
	// has left (the order among safe moves is free; this one serves the
	// applications).
	if len(cv.appEdges) > 0 {
		sort.SliceStable(remaining, func(a, b int) bool {
			return cv.gains[cv.edges[remaining[a]].to] && !cv.gains[cv.edges[remaining[b]].to]
		})
	}
	wave := int32(0)
	for {
		wave, remaining = cv.connectorWaves(wave, remaining)
		if !cv.appWave(wave+1, true) && !cv.appWave(wave+1, false) {
			return int(wave)
		}
		wave++
	}
}

// connectorWaves is the greedy connector scheduler, from wave+1 on, while
// applications stand still. Each wave takes, in plan order, every move
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
// place are exactly those no order can place (with applications standing
// still). The property test checks this against a brute-force search.
//
// It returns the last wave used and the moves not yet placed.
func (cv *coverage) connectorWaves(wave int32, remaining []int32) (int32, []int32) {
	var touched []int32 // groups whose tokens changed in this wave
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
			return wave - 1, remaining
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
	return wave, remaining
}

// appWave places, as wave w, every application move not yet placed whose
// target group has --min-active active connectors now (connectors stand
// still during the wave, so it keeps them throughout). It reports whether
// it placed any. A group its last application left gives its connectors
// freely from the next wave on; a group an application joined keeps
// --min-active.
//
// With settled, only applications whose target has no connector left to
// give: one moved into a group that still has connectors to send away
// would hold them there, and a swap of connectors between two groups
// may need exactly those (the property test found such a case). The
// scheduler tries settled targets first, the rest when nothing else can
// move.
func (cv *coverage) appWave(w int32, settled bool) bool {
	var touched []int32
	for i, m := range cv.appEdges {
		if cv.appWaveOf[i] != 0 || cv.minActive > 0 && cv.cur[m.to] < cv.minActive {
			continue
		}
		if settled && cv.pending != nil && cv.pending[m.to] > 0 {
			continue
		}
		cv.appWaveOf[i] = w
		cv.apps[m.from]--
		cv.apps[m.to]++
		cv.awaited[m.to]--
		touched = append(touched, m.from, m.to)
	}
	for _, v := range touched {
		cv.tokens[v] = cv.tokensOf(v)
		cv.waveStart[v], cv.firedOut[v] = cv.tokens[v], 0
	}
	return len(touched) > 0
}

func (cv *coverage) fire(e int32, wave int32) {
	ed := cv.edges[e]
	cv.removed[e] = true
	cv.waveOf[e] = wave
	cv.pending[ed.from]--
	cv.firedOut[ed.from]++
	cv.tokens[ed.from]--
	cv.tokens[ed.to]++
	cv.cur[ed.from]--
	cv.cur[ed.to]++
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

// replay walks the waves as applied, each in its worst interleaving: the
// wave's applications arrive before anything else and leave after
// everything else, and its connector moves all leave before any arrives.
// It returns, for each group, the fewest active connectors at any moment
// (low, before and after included), the fewest at a moment it served an
// application (lowServing; unlimited if it never did).
func (cv *coverage) replay(p *Plan) (low, lowServing []int) {
	cur := append([]int(nil), cv.before...)
	low = append([]int(nil), cv.before...)
	apps := append([]int(nil), cv.appsStart...)
	lowServing = make([]int, cv.nv)
	for v := range cv.nv {
		lowServing[v] = unlimited
		if apps[v] > 0 {
			lowServing[v] = cur[v]
		}
	}
	waves := 0
	for _, e := range cv.edges {
		waves = max(waves, p.Changes[e.change].Wave)
	}
	for _, m := range cv.appEdges {
		waves = max(waves, p.Changes[m.change].Wave)
	}
	connsIn := make([][]int32, waves+1)
	appsIn := make([][]int32, waves+1)
	for i, e := range cv.edges {
		w := p.Changes[e.change].Wave
		connsIn[w] = append(connsIn[w], int32(i))
	}
	for i, m := range cv.appEdges {
		w := p.Changes[m.change].Wave
		appsIn[w] = append(appsIn[w], int32(i))
	}
	seen := func(v int32) {
		low[v] = min(low[v], cur[v])
		if apps[v] > 0 {
			lowServing[v] = min(lowServing[v], cur[v])
		}
	}
	for w := 1; w <= waves; w++ {
		for _, i := range appsIn[w] {
			to := cv.appEdges[i].to
			apps[to]++
			seen(to)
		}
		for _, i := range connsIn[w] {
			cur[cv.edges[i].from]--
			seen(cv.edges[i].from)
		}
		for _, i := range connsIn[w] {
			cur[cv.edges[i].to]++
		}
		for _, i := range appsIn[w] {
			apps[cv.appEdges[i].from]--
		}
	}
	return low, lowServing
}

// verdicts fills p.Groups and adds the coverage refusals (or, with
// --allow-coverage-gap, warnings) and the notes on groups already short.
func (p *Plan) verdicts(s *State, cv *coverage) {
	minActive := p.Options.MinActive
	low, lowServing := cv.replay(p)
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
	after := cv.appNamesAfter(p, s)
	// The applications the scheduler could not place, by target group.
	late := map[int32][]string{}
	for i, m := range cv.appEdges {
		if cv.appWaveOf[i] == 0 {
			late[m.to] = append(late[m.to], p.Changes[m.change].DisplayName)
		}
	}
	var short, dips, unplaced []RefusedGroup
	p.Groups = make([]GroupSummary, 0, len(s.Groups))
	for _, v := range order {
		g := &s.Groups[v]
		served := cv.appsStart[v] > 0 || cv.gains[v]
		during := low[v]
		if served {
			during = lowServing[v]
		}
		sum := GroupSummary{
			ID: g.ID, Name: g.Name, IsDefault: g.IsDefault, Applications: after[v],
			ConnectorsBefore: cv.connsBefore[v], ConnectorsAfter: cv.connsAfter[v],
			ActiveBefore: cv.before[v], ActiveAfter: cv.after[v], MinActiveDuring: during,
			Coverage: CoverageOK,
		}
		switch {
		case !served:
			sum.Coverage = CoverageNoApplications
		case during < minActive:
			sum.Coverage = CoverageGap
		}
		p.Groups = append(p.Groups, sum)
		if minActive <= 0 || !served {
			continue
		}
		rg := RefusedGroup{ID: g.ID, Name: g.Name, Applications: after[v], ActiveBefore: cv.before[v], ActiveAfter: cv.after[v], MinActiveDuring: during}
		switch {
		case cv.appsAfter[v] > 0 && cv.after[v] < minActive && (cv.after[v] < cv.before[v] || cv.gains[v]):
			short = append(short, rg)
		case len(late[int32(v)]) > 0:
			rg.Applications = sortedCopy(late[int32(v)])
			unplaced = append(unplaced, rg)
		case during < cv.floor[v]:
			// Only moves no order could place dip below the floor.
			dips = append(dips, rg)
		case cv.appsStart[v] > 0 && cv.before[v] < minActive && cv.after[v] < minActive:
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
	if len(unplaced) > 0 {
		p.coverageRefusal(fmt.Sprintf("no order of the moves gives these applications a connector group with --min-active %d active connectors when they move in: %s. Their connectors cannot arrive first without leaving the applications where they are short; move active connectors into the target first (an earlier plan, or a new connector), or pass --allow-coverage-gap to accept the outage",
			minActive, describeApps(unplaced)), unplaced)
	}
	if len(dips) > 0 {
		p.coverageRefusal(fmt.Sprintf("no order of the moves keeps every connector group with applications at --min-active %d active connectors during the apply: %s. The moves form a cycle (such as two groups swapping their only connectors) with no spare active connector to go first; give %s an extra active connector first (install one, or move one in with an earlier plan), or pass --allow-coverage-gap to accept a short outage",
			minActive, describe(dips, true), oneOf(len(dips))), dips)
	}
}

// appNamesAfter is, for each group, the display names (the id when it has
// none) of the applications it serves once the plan is applied, sorted.
func (cv *coverage) appNamesAfter(p *Plan, s *State) [][]string {
	out := make([][]string, len(s.Groups))
	leaving := map[string]bool{}
	in := make([][]string, len(s.Groups))
	for _, m := range cv.appEdges {
		c := &p.Changes[m.change]
		leaving[strings.ToLower(c.ApplicationID)+"\x00"+strings.ToLower(s.Groups[m.from].ID)] = true
		in[m.to] = append(in[m.to], appName(Application{ID: c.ApplicationID, DisplayName: c.DisplayName}))
	}
	for v := range s.Groups {
		g := &s.Groups[v]
		names := make([]string, 0, len(g.Applications)+len(in[v]))
		for _, a := range g.Applications {
			if len(leaving) > 0 && leaving[strings.ToLower(a.ID)+"\x00"+strings.ToLower(g.ID)] {
				continue
			}
			names = append(names, appName(a))
		}
		names = append(names, in[v]...)
		sort.Strings(names)
		out[v] = names
	}
	return out
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// describeApps lists the groups that applications could not move into,
// each with the applications, for a message (the first ten groups).
func describeApps(gs []RefusedGroup) string {
	const show = 10
	var parts []string
	for i, g := range gs {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more groups", len(gs)-show))
			break
		}
		parts = append(parts, fmt.Sprintf("%s into %q (%d active before, %d after)", joinShort(g.Applications), g.Name, g.ActiveBefore, g.ActiveAfter))
	}
	return strings.Join(parts, "; ")
}

func joinShort(names []string) string {
	const show = 5
	if len(names) > show {
		return strings.Join(names[:show], ", ") + fmt.Sprintf(" and %d more", len(names)-show)
	}
	return strings.Join(names, ", ")
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

// appName is how a group's list shows application a: its display name,
// its id when it has none.
func appName(a Application) string {
	if a.DisplayName == "" {
		return a.ID
	}
	return a.DisplayName
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

package plan

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Connector status values as Graph reports them.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
)

// Connector is one application proxy connector and the group it is in.
type Connector struct {
	ID          string `json:"id"`
	MachineName string `json:"machineName"`
	ExternalIP  string `json:"externalIp,omitempty"`
	Status      string `json:"status"`
	Version     string `json:"version,omitempty"`
	GroupID     string `json:"groupId"`
}

// Application is an application published through a connector group.
type Application struct {
	ID          string `json:"id"`
	AppID       string `json:"appId,omitempty"`
	DisplayName string `json:"displayName"`
}

// GroupTypeApplicationProxy is the connectorGroupType of an application
// proxy connector group, the only kind connectors are moved into. Graph
// also lists syncFabric (provisioning agents) and may send
// unknownFutureValue or values added later.
const GroupTypeApplicationProxy = "applicationProxy"

// Group is one connector group.
type Group struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsDefault bool   `json:"isDefault"`
	Region    string `json:"region,omitempty"` // as the service sent it, even off-list values
	// Type is the connectorGroupType as the service sent it, off-list
	// values included; empty when it sent none (older answers), which
	// counts as GroupTypeApplicationProxy.
	Type         string        `json:"type,omitempty"`
	Applications []Application `json:"applications,omitempty"`
}

// IsTarget reports whether connectors may be moved into g: only an
// application proxy group (or one of no stated type) takes them. Any other
// type, including one this code does not know, is no target, so a new
// kind of group is never filled with application proxy connectors.
func (g *Group) IsTarget() bool {
	return g.Type == "" || strings.EqualFold(g.Type, GroupTypeApplicationProxy)
}

// State is a snapshot of the tenant: every connector with its group, every
// group with its applications.
type State struct {
	Connectors []Connector `json:"connectors"`
	Groups     []Group     `json:"groups"`
	// Warnings are oddities met while reading the tenant (a connector
	// listed in two groups while Graph replicates a move).
	Warnings []string `json:"warnings,omitempty"`
}

// index gives the lookups resolution and the coverage analysis need, built
// once per Build. Values are positions in State.Connectors / State.Groups
// rather than pointers or slices per key: at 100,000 connectors the index is
// most of the planner's cost, and one int32 per key keeps it small. A name
// shared by several connectors (or groups) is rare, so the extra candidates
// live in a side map that is usually empty.
//
// The three connector lookups are built on first use: a mapping usually
// names connectors one way (all ids, or all machine names), and a map of
// 100,000 keys that is never read costs as much as resolving every row.
type index struct {
	s             *State
	connByID      map[string]int32   // lower-cased id
	connByName    map[string]int32   // lower-cased machineName → first connector with it
	connNameMore  map[string][]int32 // the others with that name
	connByShort   map[string]int32   // lower-cased host part before the first dot
	connShortMore map[string][]int32
	groupByID     map[string]int32 // lower-cased id
	groupByName   map[string]int32 // lower-cased name → first group with it
	groupNameMore map[string][]int32
	connKeys      []string // each connector's nameKey, as connKey needs them
	groupKeys     []string // each group's nameKey
	key           []byte   // a cell's key, reused from row to row (cellKeyOf)
	connGroup     []int32  // each connector's group; -1 when the snapshot lacks that group
	// The one target group (Group.IsTarget) with isDefault; -1 when there
	// is none or more than one. A syncFabric group may be its kind's
	// default too: it is neither counted nor chosen.
	defaultGroup int32
}

func newIndex(s *State) *index {
	ix := &index{
		s:             s,
		groupByID:     make(map[string]int32, len(s.Groups)),
		groupByName:   make(map[string]int32, len(s.Groups)),
		groupNameMore: map[string][]int32{},
		groupKeys:     make([]string, len(s.Groups)),
		connGroup:     make([]int32, len(s.Connectors)),
		defaultGroup:  -1,
	}
	defaults := 0
	for i := range s.Groups {
		g := &s.Groups[i]
		ix.groupByID[strings.ToLower(g.ID)] = int32(i)
		ix.groupKeys[i] = nameKey(g.Name)
		addName(ix.groupByName, ix.groupNameMore, ix.groupKeys[i], int32(i))
		if g.IsDefault && g.IsTarget() {
			defaults++
			ix.defaultGroup = int32(i)
		}
	}
	if defaults != 1 {
		ix.defaultGroup = -1
	}
	var lastID string // connectors of one group often come together: spare the lookup
	last := int32(-1)
	for i := range s.Connectors {
		id := s.Connectors[i].GroupID
		if id != lastID || i == 0 {
			g, ok := ix.groupByID[strings.ToLower(id)]
			if !ok {
				g = -1
			}
			lastID, last = id, g
		}
		ix.connGroup[i] = last
	}
	return ix
}

func (ix *index) byID() map[string]int32 {
	if ix.connByID == nil {
		ix.connByID = make(map[string]int32, len(ix.s.Connectors))
		for i := range ix.s.Connectors {
			ix.connByID[strings.ToLower(ix.s.Connectors[i].ID)] = int32(i)
		}
	}
	return ix.connByID
}

func (ix *index) byName() (map[string]int32, map[string][]int32) {
	if ix.connByName == nil {
		ix.connByName, ix.connNameMore = make(map[string]int32, len(ix.s.Connectors)), map[string][]int32{}
		for i := range ix.s.Connectors {
			addName(ix.connByName, ix.connNameMore, nameKey(ix.s.Connectors[i].MachineName), int32(i))
		}
	}
	return ix.connByName, ix.connNameMore
}

// connKey is connector i's nameKey, computed once. The table is made on
// first use: most mappings never compare two cells of a row (Build skips
// the comparison when both resolve to the same connector), and 100,000
// strings more would cost every Build a GC scan.
func (ix *index) connKey(i int32) string {
	if ix.connKeys == nil {
		ix.connKeys = make([]string, len(ix.s.Connectors))
	}
	if ix.connKeys[i] == "" { // a name whose key is "" is recomputed, at no cost
		ix.connKeys[i] = nameKey(ix.s.Connectors[i].MachineName)
	}
	return ix.connKeys[i]
}

func (ix *index) byShort() (map[string]int32, map[string][]int32) {
	if ix.connByShort == nil {
		ix.connByShort, ix.connShortMore = make(map[string]int32, len(ix.s.Connectors)), map[string][]int32{}
		for i := range ix.s.Connectors {
			if short, _, ok := strings.Cut(nameKey(ix.s.Connectors[i].MachineName), "."); ok {
				addName(ix.connByShort, ix.connShortMore, short, int32(i))
			}
		}
	}
	return ix.connByShort, ix.connShortMore
}

// nameKey is a tenant name as a mapping cell naming it is compared:
// without the white space a cell loses (TrimSpace), case-insensitively. A
// name the service holds with a trailing space is still found by the cell
// an export wrote for it.
func nameKey(name string) string {
	return cellKey(TrimSpace(name))
}

// cellKey is a mapping cell as it is compared with names: case-insensitive,
// and with its line ends as LF, as CSV readers and XML (so every workbook)
// read a CR LF or a lone CR inside a cell. A cell that is its own key (ASCII
// without capitals or CR, as machine names are) is returned as it is,
// after one pass.
func cellKey(v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c >= utf8.RuneSelf || c == '\r' || 'A' <= c && c <= 'Z' {
			return cellKeySlow(v)
		}
	}
	return v
}

func cellKeySlow(v string) string {
	if strings.IndexByte(v, '\r') >= 0 {
		v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n")
	}
	return strings.ToLower(v)
}

// cellKeyOf is cellKey(v) in ix.key, valid until the next call: a lookup
// with it (m[string(k)]) allocates nothing, even for a cell with capitals.
func (ix *index) cellKeyOf(v string) []byte {
	k := append(ix.key[:0], v...)
	for i, c := range k {
		switch {
		case c >= utf8.RuneSelf || c == '\r':
			k = append(k[:0], cellKeySlow(v)...)
			ix.key = k
			return k
		case 'A' <= c && c <= 'Z':
			k[i] = c + 'a' - 'A'
		}
	}
	ix.key = k
	return k
}

func addName(first map[string]int32, more map[string][]int32, key string, i int32) {
	if _, ok := first[key]; ok {
		more[key] = append(more[key], i)
		return
	}
	first[key] = i
}

// lookup returns the first position stored under key and the others, if any.
// It allocates nothing: a name is looked up once per mapping row.
func lookup(first map[string]int32, more map[string][]int32, key []byte) (int32, []int32, bool) {
	i, ok := first[string(key)]
	if !ok {
		return -1, nil, false
	}
	if len(more) == 0 { // the usual case: no shared names at all
		return i, nil, true
	}
	return i, more[string(key)], true
}

// SortState puts connectors and groups in a stable order (by name, then
// id), so that plans and reports do not depend on the service's paging order.
func SortState(s *State) {
	sort.Slice(s.Connectors, func(i, j int) bool {
		a, b := s.Connectors[i], s.Connectors[j]
		if la, lb := strings.ToLower(a.MachineName), strings.ToLower(b.MachineName); la != lb {
			return la < lb
		}
		return a.ID < b.ID
	})
	sort.Slice(s.Groups, func(i, j int) bool {
		a, b := s.Groups[i], s.Groups[j]
		if la, lb := strings.ToLower(a.Name), strings.ToLower(b.Name); la != lb {
			return la < lb
		}
		return a.ID < b.ID
	})
}

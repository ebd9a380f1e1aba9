package plan

import (
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

// Change is one row of the plan.
type Change struct {
	Row             int      `json:"row,omitempty"` // mapping file row; 0 for unmanaged
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
	// The mapping's own cells, so an invalid row can be found and fixed.
	MappedConnector string `json:"mappedConnector,omitempty"`
	MappedGroup     string `json:"mappedGroup,omitempty"`
}

// Plan is the ordered list of changes: mapping rows in file order, then
// unmanaged connectors by name. It is pure data.
type Plan struct {
	Changes []Change `json:"changes"`
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

// Build resolves the mapping against the tenant state and works out the
// changes. It never fails: problems become invalid changes.
func Build(m *Mapping, s *State) *Plan {
	ix := newIndex(s)
	p := &Plan{Changes: make([]Change, 0, len(m.Rows)+len(s.Connectors)/8)}
	mentioned := make(map[string]bool, len(m.Rows))
	byConnector := make(map[string]int, len(m.Rows)) // connector id → index of its change

	for _, r := range m.Rows {
		if r.Duplicate {
			continue
		}
		ch := Change{Row: r.Line, MappedConnector: r.Connector, MappedGroup: r.Group}
		var conn *Connector
		var reasons []string
		if r.Problem != "" {
			reasons = append(reasons, r.Problem)
		}
		if r.Connector != "" {
			// Resolved even when the row is invalid in the file, so the
			// change names the connector and it is not also unmanaged.
			var why string
			if conn, why = ix.connector(r.Connector); conn == nil && r.Problem == "" {
				reasons = append(reasons, why)
			}
		}
		if conn != nil {
			mentioned[conn.ID] = true
			ch.ConnectorID, ch.MachineName, ch.ConnectorStatus = conn.ID, conn.MachineName, conn.Status
			ch.FromGroupID = conn.GroupID
			if g := ix.groupByID[strings.ToLower(conn.GroupID)]; g != nil {
				ch.FromGroupName = g.Name
			}
		}
		if r.Problem == "" {
			if g, why := ix.group(r.Group); g == nil {
				reasons = append(reasons, why)
			} else {
				ch.ToGroupID, ch.ToGroupName = g.ID, g.Name
			}
		}
		switch {
		case len(reasons) > 0:
			ch.Action, ch.Reason = ActionInvalid, strings.Join(reasons, "; ")
		case strings.EqualFold(conn.GroupID, ch.ToGroupID):
			ch.Action = ActionNoop
		default:
			ch.Action, ch.Wave = ActionMove, 1
			if conn.Status != StatusActive {
				ch.Warnings = append(ch.Warnings, fmt.Sprintf("connector is %s: it is moved, but serves nothing until it is active again", statusWord(conn.Status)))
			}
		}
		// Two rows that name the same connector differently (id and name,
		// or two spellings) are caught here, after resolution.
		if conn != nil && ch.Action != ActionInvalid {
			if j, ok := byConnector[conn.ID]; ok {
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
				byConnector[conn.ID] = len(p.Changes)
			}
		}
		p.Changes = append(p.Changes, ch)
	}

	var unmanaged []Change
	for _, c := range s.Connectors {
		if mentioned[c.ID] {
			continue
		}
		ch := Change{ConnectorID: c.ID, MachineName: c.MachineName, ConnectorStatus: c.Status, FromGroupID: c.GroupID, Action: ActionUnmanaged}
		if g := ix.groupByID[strings.ToLower(c.GroupID)]; g != nil {
			ch.FromGroupName = g.Name
		}
		unmanaged = append(unmanaged, ch)
	}
	sort.SliceStable(unmanaged, func(i, j int) bool {
		return strings.ToLower(unmanaged[i].MachineName) < strings.ToLower(unmanaged[j].MachineName)
	})
	p.Changes = append(p.Changes, unmanaged...)
	return p
}

func statusWord(s string) string {
	if s == "" {
		return "of unknown status"
	}
	return s
}

// connector resolves a mapping cell: a GUID by id, otherwise the machine
// name case-insensitively, falling back to a unique match on the host part
// before the first dot.
func (ix *index) connector(v string) (*Connector, string) {
	if IsGUID(v) {
		if c := ix.connByID[NormalizeGUID(v)]; c != nil {
			return c, ""
		}
		return nil, fmt.Sprintf("no connector with id %s in the tenant", v)
	}
	key := strings.ToLower(v)
	cands := ix.connByName[key]
	if len(cands) == 0 && !strings.Contains(key, ".") {
		cands = ix.connByShort[key]
	}
	switch len(cands) {
	case 0:
		return nil, fmt.Sprintf("no connector named %q in the tenant", v)
	case 1:
		return cands[0], ""
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = fmt.Sprintf("%s (%s)", c.MachineName, c.ID)
	}
	sort.Strings(names)
	return nil, fmt.Sprintf("connector name %q is ambiguous: use one of the ids %s", v, strings.Join(names, ", "))
}

// group resolves a mapping cell: a GUID by id, otherwise the group name
// case-insensitively.
func (ix *index) group(v string) (*Group, string) {
	if IsGUID(v) {
		if g := ix.groupByID[NormalizeGUID(v)]; g != nil {
			return g, ""
		}
		return nil, fmt.Sprintf("no connector group with id %s in the tenant", v)
	}
	cands := ix.groupByName[strings.ToLower(v)]
	switch len(cands) {
	case 0:
		return nil, fmt.Sprintf("no connector group named %q in the tenant", v)
	case 1:
		return cands[0], ""
	}
	names := make([]string, len(cands))
	for i, g := range cands {
		names[i] = fmt.Sprintf("%s (%s)", g.Name, g.ID)
	}
	sort.Strings(names)
	return nil, fmt.Sprintf("connector group name %q is ambiguous: use one of the ids %s", v, strings.Join(names, ", "))
}

package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// SavedFormat is the version of the saved-plan file this code writes and
// reads. Bump it when a field changes meaning; an older connrecon then
// refuses the file instead of misreading it.
const SavedFormat = 1

// SaveMeta is what Save needs from outside the plan. The clock is the
// caller's: the package reads none.
type SaveMeta struct {
	GraphURL      string // the Graph base URL the tenant was read from
	MappingPath   string
	MappingSHA256 string
	MappingRows   int
	Version       string // connrecon's version
	CreatedAt     time.Time
}

// SavedMapping identifies the mapping file a saved plan was made from.
type SavedMapping struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
}

// Saved is a plan written by `plan -o` and read back by `apply --plan`. It
// holds the moves to apply, nothing to resolve again, and the part of the
// tenant state they depend on, so that apply can refuse a plan the tenant
// has moved away from and say what changed.
type Saved struct {
	Format      int            `json:"format"`
	Tool        string         `json:"tool"`
	Version     string         `json:"version"`
	CreatedAt   time.Time      `json:"createdAt"`
	GraphURL    string         `json:"graphUrl"`
	Mapping     SavedMapping   `json:"mapping"`
	Options     Options        `json:"options"`
	Summary     Summary        `json:"summary"` // of the whole plan as it was shown (noops, unmanaged …)
	Waves       int            `json:"waves"`
	Changes     []Change       `json:"changes"` // the moves only, in apply order, with their waves
	Groups      []GroupSummary `json:"groups,omitempty"`
	Warnings    []string       `json:"warnings,omitempty"`
	Fingerprint string         `json:"fingerprint"` // Fingerprint of Involved
	Involved    Involved       `json:"involved"`
	// Checksum is the sha256 of the file's content without this field. It
	// catches a hand-edited or damaged file; it is not a signature (anyone
	// can recompute it), so keep plan files where only administrators
	// can write them.
	Checksum string `json:"checksum"`
}

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
// URL, or the file was altered. The command line exits 3.
type StaleError struct {
	Reasons []string // each in words an administrator knows, most telling first
}

func (e *StaleError) Error() string {
	const show = 10
	rs, more := e.Reasons, ""
	if len(rs) > show {
		rs, more = rs[:show], fmt.Sprintf("; and %d more", len(e.Reasons)-show)
	}
	return "stale plan: " + strings.Join(rs, "; ") + more + ": make the plan again"
}

const altered = "the plan file was altered after it was written"

// Save writes p as a saved plan. A refused plan, or one with invalid rows,
// is not saved: apply would refuse it anyway, and a file that looks
// appliable but is not invites the wrong fix.
func Save(w io.Writer, p *Plan, meta SaveMeta) error {
	switch {
	case p.Refused():
		return fmt.Errorf("not saving the plan: it is refused (%s)", p.Refusals[0].Message)
	case p.Summary().Invalid > 0:
		return fmt.Errorf("not saving the plan: it has %d invalid rows", p.Summary().Invalid)
	case meta.GraphURL == "":
		return errors.New("not saving the plan: no Graph URL to record")
	}
	inv := p.involved
	if inv == nil {
		if p.snapshot == nil {
			return errors.New("not saving the plan: it was not made by Build, so the tenant state it depends on is unknown")
		}
		inv = involvedState(p.snapshot, p.Changes)
	}
	sv := &Saved{
		Format:    SavedFormat,
		Tool:      "connrecon",
		Version:   meta.Version,
		CreatedAt: meta.CreatedAt.UTC(),
		GraphURL:  meta.GraphURL,
		Mapping:   SavedMapping{Path: meta.MappingPath, SHA256: meta.MappingSHA256, Rows: meta.MappingRows},
		Options:   p.Options,
		Summary:   p.Summary(),
		Waves:     p.WaveCount(),
		Changes:   []Change{},
		Groups:    p.Groups,
		Warnings:  p.Warnings,
		Involved:  *inv,
	}
	for _, i := range p.Moves() {
		sv.Changes = append(sv.Changes, p.Changes[i])
	}
	sv.Fingerprint = inv.fingerprint()
	sum, err := checksum(sv)
	if err != nil {
		return err
	}
	sv.Checksum = sum
	// Indented for a person reviewing the file at a change board; the
	// checksum is over the compact form, so layout does not matter.
	data, err := json.MarshalIndent(sv, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// LoadSaved reads a saved plan; name is used in messages. A file that is
// not a connrecon plan, or is of another format, is an error; a plan file
// whose content no longer matches its checksum is a *StaleError.
func LoadSaved(r io.Reader, name string) (*Saved, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var sv Saved
	if err := json.Unmarshal(data, &sv); err != nil {
		return nil, fmt.Errorf("%s: not a connrecon plan file: %w", name, err)
	}
	if sv.Tool != "connrecon" {
		return nil, fmt.Errorf("%s: not a connrecon plan file (no \"tool\": \"connrecon\")", name)
	}
	if sv.Format != SavedFormat {
		return nil, fmt.Errorf("%s: plan file format %d, but this connrecon reads format %d: make the plan again with this version", name, sv.Format, SavedFormat)
	}
	// A field added by hand would be dropped by the checksum's
	// re-encoding and so go unnoticed; refuse it as an alteration too.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var strict Saved
	if err := dec.Decode(&strict); err != nil {
		return nil, &StaleError{Reasons: []string{fmt.Sprintf("%s: %s (%v)", altered, name, err)}}
	}
	sum, err := checksum(&sv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if sv.Checksum != sum {
		return nil, &StaleError{Reasons: []string{fmt.Sprintf("%s: %s (its checksum does not match)", altered, name)}}
	}
	return &sv, nil
}

// checksum is the sha256 of the compact JSON of sv without its checksum.
// encoding/json writes struct fields in declaration order and the saved
// plan has no maps, so the encoding is canonical.
func checksum(sv *Saved) (string, error) {
	c := *sv
	c.Checksum = ""
	data, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:]), nil
}

// Plan gives back a plan whose moves are exactly the saved ones, with their
// waves: nothing is resolved again from a mapping.
func (sv *Saved) Plan() *Plan {
	inv := sv.Involved
	return &Plan{
		Changes:  slices.Clone(sv.Changes),
		Options:  sv.Options,
		Groups:   slices.Clone(sv.Groups),
		Warnings: slices.Clone(sv.Warnings),
		involved: &inv,
	}
}

// Check compares the saved plan with the tenant as it is now: it returns a
// *StaleError listing what changed when the Graph URL differs or the tenant
// state the plan depends on is no longer what it was, and nil when the plan
// may be applied as saved.
func (sv *Saved) Check(current *State, graphURL string) error {
	var reasons []string
	// A trailing slash or a capital letter does not make another service.
	if !strings.EqualFold(strings.TrimRight(sv.GraphURL, "/"), strings.TrimRight(graphURL, "/")) {
		reasons = append(reasons, fmt.Sprintf("the plan was made for %s, not %s", sv.GraphURL, graphURL))
	}
	if sv.Involved.fingerprint() != sv.Fingerprint {
		// Only a Saved built or edited in code gets here: LoadSaved's
		// checksum catches an edited file first.
		reasons = append(reasons, altered)
	}
	now := involvedState(current, sv.Changes)
	if now.fingerprint() != sv.Fingerprint {
		diff := diffInvolved(&sv.Involved, now)
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

// Fingerprint is the sha256 of a canonical, sorted serialization of the
// tenant state the changes depend on: for each moved connector its id,
// group and status; for each group a move leaves or joins, its id, its
// members' ids and statuses, and its applications' ids. Names are left out:
// renaming a group does not change what a move does.
func Fingerprint(s *State, changes []Change) string {
	return involvedState(s, changes).fingerprint()
}

func (inv *Involved) fingerprint() string {
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

// involvedState extracts from s what the moves among changes depend on.
// Ids are lower-cased (Graph's GUIDs compare without case). A connector or
// group no longer in s is simply absent, which the fingerprint and
// diffInvolved both notice.
func involvedState(s *State, changes []Change) *Involved {
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
			out = append(out, fmt.Sprintf("connector %s (%s) is no longer in the tenant", c.MachineName, c.ID))
			continue
		case n.GroupID != c.GroupID:
			out = append(out, fmt.Sprintf("connector %s is now in group %s (was %s)", c.MachineName, groupWord(n.GroupName, n.GroupID), groupWord(c.GroupName, c.GroupID)))
		}
		if n.Status != c.Status {
			out = append(out, fmt.Sprintf("connector %s is now %s (was %s)", c.MachineName, statusWord(n.Status), statusWord(c.Status)))
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
				out = append(out, fmt.Sprintf("group %s gained connector %s", name, m.MachineName))
			}
		}
		for _, m := range g.Members {
			nm, ok := nowMember[m.ID]
			switch {
			case moved[m.ID]:
			case !ok:
				out = append(out, fmt.Sprintf("group %s lost connector %s", name, m.MachineName))
			case nm.Status != m.Status:
				out = append(out, fmt.Sprintf("connector %s in group %s is now %s (was %s)", m.MachineName, name, statusWord(nm.Status), statusWord(m.Status)))
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

func groupWord(name, id string) string {
	if name == "" {
		return id
	}
	return fmt.Sprintf("%q", name)
}

func appWord(a InvolvedApp) string {
	if a.DisplayName == "" {
		return a.ID
	}
	return a.DisplayName
}

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
	"strconv"
	"strings"
	"time"

	"connrecon/internal/safetext"
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

// Bounds on what a plan file may claim, so that a hostile one costs no
// more than an honest one. A plan of 100,000 moves is well under 100 MiB.
const (
	maxSavedBytes = 256 << 20
	// The largest mapping a saved plan records (the XLSX row limit):
	// apply keeps a row count for its report, and a count read from a
	// file must not make it allocate gigabytes.
	maxSavedMappingRows = 1 << 20
)

// unlistedMoveReason is the reason Build gives a move of a connector the
// mapping does not name (--unlisted default); Replan gives it again
// rather than show a file's text.
const unlistedMoveReason = "not in the mapping: idled in the default group (--unlisted default)"

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
	case meta.MappingRows < 0 || meta.MappingRows > maxSavedMappingRows:
		return fmt.Errorf("not saving the plan: its mapping has %d rows, more than a saved plan records (%d): apply it with -m", meta.MappingRows, maxSavedMappingRows)
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
// that was altered after it was written (its checksum does not match, or
// its content contradicts itself) is a *StaleError with Altered set, whose
// reasons say what is wrong with it.
//
// The checksum catches accidents and damage, not a person who can write
// the file: anyone can recompute it. What protects the tenant from a
// hostile file is Replan, which checks every claim against the tenant.
func LoadSaved(r io.Reader, name string) (*Saved, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSavedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxSavedBytes {
		return nil, fmt.Errorf("%s: not a connrecon plan file: larger than %d MiB, more than any plan connrecon writes", name, maxSavedBytes>>20)
	}
	// First what the file says it is: the wrong file is a usage error, a
	// connrecon plan that does not decode is an altered one.
	var head struct {
		Tool   json.RawMessage `json:"tool"`
		Format json.RawMessage `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: not a connrecon plan file: a JSON %s, not an object", name, te.Value)
		}
		return nil, fmt.Errorf("%s: not a connrecon plan file: %w", name, err)
	}
	var tool string
	if json.Unmarshal(head.Tool, &tool) != nil || tool != "connrecon" {
		return nil, fmt.Errorf("%s: not a connrecon plan file (no \"tool\": \"connrecon\")", name)
	}
	if format, err := strconv.Atoi(string(head.Format)); err != nil || format != SavedFormat {
		return nil, fmt.Errorf("%s: plan file format %s, but this connrecon reads format %d: make the plan again with this version", name, plainText(string(head.Format)), SavedFormat)
	}
	// Strict: a field added by hand would be dropped by the checksum's
	// re-encoding and so go unnoticed.
	var sv Saved
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sv); err != nil {
		return nil, alteredFile(name, decodeProblem(err))
	}
	sum, err := checksum(&sv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	switch {
	case sv.Checksum == "":
		return nil, alteredFile(name, "it has no checksum")
	case !isDigest(sv.Checksum):
		return nil, alteredFile(name, fmt.Sprintf("its checksum %s is not a sha256 digest as connrecon writes one (64 lower-case hex digits): the checksum was edited or damaged", savedText(sv.Checksum)))
	case sv.Checksum != sum:
		// Either side may have changed. What contradicts itself in the
		// content names the part that was edited; when nothing does, the
		// checksum is as likely the part.
		if inc := sv.inconsistencies(); len(inc) > 0 {
			return nil, alteredFile(name, append([]string{"its content does not match its checksum: the content was edited or damaged after it was written"}, inc...)...)
		}
		return nil, alteredFile(name, "its checksum does not match its content, which is otherwise consistent: the checksum, or a part of the content that nothing else repeats, was edited or damaged after the file was written")
	}
	if inc := sv.inconsistencies(); len(inc) > 0 {
		// The checksum matches: it was recomputed after an edit.
		return nil, alteredFile(name, inc...)
	}
	return &sv, nil
}

func alteredFile(name string, reasons ...string) *StaleError {
	reasons = slices.Clone(reasons)
	reasons[0] = name + ": " + reasons[0]
	return &StaleError{Reasons: reasons, Altered: true}
}

// decodeProblem says which field of a plan file does not decode. The
// decoder's own words may quote a field name of any length.
func decodeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("its field %s holds a JSON %s, not the %s connrecon writes there", savedText(te.Field), te.Value, te.Type)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "it has a field connrecon does not write: " + savedText(strings.Trim(msg, `"`))
	}
	return "it does not decode as a plan: " + savedText(err.Error())
}

func isDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// savedText quotes text from a plan file for a message, and plainText
// shows it unquoted (a URL, an id, a number): escaped, so it cannot drive
// or disguise itself on a terminal, and cut short, so a huge value stays a
// short message.
func savedText(s string) string { return safetext.Quote(s) }

func plainText(s string) string { return safetext.Value(s) }

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

// inconsistencies lists what in sv contradicts itself. A file Save wrote
// never does, so each finding is an edit whose checksum was recomputed (or
// a Saved changed in code), and names the part that was edited. At most
// a few dozen are listed.
func (sv *Saved) inconsistencies() []string {
	const most = 30
	var out []string
	add := func(format string, args ...any) {
		if len(out) < most {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	o := sv.Options
	switch o.Unlisted {
	case "", UnlistedReport, UnlistedIgnore, UnlistedDefault:
	default:
		add("it records --unlisted %s, which connrecon does not accept", savedText(o.Unlisted))
	}
	if o.MaxChanges < 0 || o.MinActive < 0 {
		add("it records --max-changes %d and --min-active %d: neither is ever negative", o.MaxChanges, o.MinActive)
	}
	if r := sv.Mapping.Rows; r < 0 || r > maxSavedMappingRows {
		add("it records a mapping of %d rows (connrecon saves plans of 0 to %d)", r, maxSavedMappingRows)
	}
	sum := sv.Summary
	if sum.Invalid != 0 {
		add("its summary counts %d invalid rows, but a plan with invalid rows is never saved", sum.Invalid)
	}
	if sum.Noop < 0 || sum.Unmanaged < 0 {
		add("its summary counts %d unchanged and %d unmanaged", sum.Noop, sum.Unmanaged)
	}
	if sum.Move != len(sv.Changes) {
		add("its summary counts %d moves, but it lists %d", sum.Move, len(sv.Changes))
	}

	conns := make(map[string]*InvolvedConnector, len(sv.Involved.Connectors))
	for i := range sv.Involved.Connectors {
		c := &sv.Involved.Connectors[i]
		conns[strings.ToLower(c.ID)] = c
	}
	groups := make(map[string]*InvolvedGroup, len(sv.Involved.Groups))
	memberOf := map[string]string{} // connector id → the involved group listing it
	for i := range sv.Involved.Groups {
		g := &sv.Involved.Groups[i]
		id := strings.ToLower(g.ID)
		groups[id] = g
		for _, m := range g.Members {
			memberOf[strings.ToLower(m.ID)] = id
		}
	}
	moved := make(map[string]int, len(sv.Changes)) // connector id → its change
	touched := map[string]bool{}                   // groups a move leaves or joins
	waves := 0
	for i := range sv.Changes {
		c := &sv.Changes[i]
		what := lazyMoveWord{c}
		if c.Action != ActionMove {
			add("it lists %s as %s, but a saved plan holds moves only", what, savedText(string(c.Action)))
			continue
		}
		if c.ConnectorID == "" || c.ToGroupID == "" {
			add("%s lacks its connector or group id", what)
			continue
		}
		id, from, to := strings.ToLower(c.ConnectorID), strings.ToLower(c.FromGroupID), strings.ToLower(c.ToGroupID)
		if j, dup := moved[id]; dup {
			add("it moves connector %s twice (%s and %s)", plainText(c.ConnectorID), moveWord(&sv.Changes[j]), what)
			continue
		}
		moved[id] = i
		touched[from], touched[to] = true, true
		switch {
		case c.Row < 0:
			add("%s has a negative row number", what)
		case c.Wave < 1:
			add("%s has no wave", what)
		case from == to:
			add("%s moves it to the group it is in", what)
		}
		waves = max(waves, c.Wave)
		if c.Row == 0 {
			if o.normalized().Unlisted != UnlistedDefault {
				add("%s is of a connector not in the mapping, but the plan was not made with --unlisted default", what)
			}
			if c.MappedConnector != "" || c.MappedGroup != "" {
				add("%s is of a connector not in the mapping, yet it has mapping cells", what)
			}
		} else if c.MappedConnector == "" || c.MappedGroup == "" {
			add("%s lacks the mapping cells it was made from", what)
		}
		// Save records each moved connector and each group it joins
		// (and leaves, when the tenant listed that group) as they were.
		if ic, ok := conns[id]; !ok {
			add("%s, but the tenant state it records lacks that connector", what)
		} else {
			if !strings.EqualFold(ic.GroupID, c.FromGroupID) {
				add("%s from group %s, but the tenant state it records has it in group %s", what, plainText(c.FromGroupID), plainText(ic.GroupID))
			}
			if ic.Status != c.ConnectorStatus {
				add("%s says it is %s, but the tenant state it records says %s", what, savedText(c.ConnectorStatus), savedText(ic.Status))
			}
			if ic.MachineName != c.MachineName || ic.GroupName != c.FromGroupName {
				add("%s names it %s in group %s, but the tenant state it records says %s in %s", what,
					savedText(c.MachineName), savedText(c.FromGroupName), savedText(ic.MachineName), savedText(ic.GroupName))
			}
		}
		if g, ok := groups[to]; !ok {
			add("%s to group %s, which the tenant state it records lacks", what, plainText(c.ToGroupID))
		} else if g.Name != c.ToGroupName {
			add("%s to group %s named %s, but the tenant state it records names that group %s", what, plainText(c.ToGroupID), savedText(c.ToGroupName), savedText(g.Name))
		}
		if _, ok := groups[from]; ok && memberOf[id] != from {
			add("%s from group %s, but that group's recorded members do not include it", what, plainText(c.FromGroupID))
		}
	}
	if waves != sv.Waves {
		add("it says its moves run in %d waves, but they are in %d", sv.Waves, waves)
	}
	for _, c := range sv.Involved.Connectors {
		if _, ok := moved[strings.ToLower(c.ID)]; !ok {
			add("the tenant state it records has connector %s (%s), which it does not move", savedText(c.MachineName), plainText(c.ID))
		}
	}
	for _, g := range sv.Involved.Groups {
		if !touched[strings.ToLower(g.ID)] {
			add("the tenant state it records has group %s (%s), which no move leaves or joins", savedText(g.Name), plainText(g.ID))
		}
	}
	if sv.Involved.fingerprint() != sv.Fingerprint {
		add("its fingerprint is not that of the tenant state it records")
	}
	return out
}

// moveWord names a saved move in a message, by the file's own words.
func moveWord(c *Change) string {
	name := savedText(c.MachineName)
	if c.MachineName == "" {
		name = savedText(c.ConnectorID)
	}
	if c.Row == 0 {
		return "the move of " + name + " (not in the mapping)"
	}
	return fmt.Sprintf("the move of %s (row %d)", name, c.Row)
}

// lazyMoveWord is moveWord(c) for a message, worked out only when
// printed: most moves never appear in one, and a plan may have 100,000.
type lazyMoveWord struct{ c *Change }

func (w lazyMoveWord) String() string { return moveWord(w.c) }

// Plan gives back a plan whose moves are exactly the saved ones, with their
// waves, names and all, as the file has them: for a report of a plan that
// is refused. The plan to apply is Replan's.
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
// state the plan depends on is no longer what it was, and nil when that
// state is unchanged. A plan that contradicts itself is refused as altered,
// saying where, and not compared with the tenant: the difference would
// name the edit as a change in the tenant. Replan checks the rest.
func (sv *Saved) Check(current *State, graphURL string) error {
	var reasons []string
	// A trailing slash or a capital letter does not make another service.
	if !strings.EqualFold(strings.TrimRight(sv.GraphURL, "/"), strings.TrimRight(graphURL, "/")) {
		reasons = append(reasons, fmt.Sprintf("the plan was made for %s, not %s", plainText(sv.GraphURL), graphURL))
	}
	if inc := sv.inconsistencies(); len(inc) > 0 {
		return &StaleError{Reasons: append(reasons, inc...), Altered: true}
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
func (sv *Saved) Replan(current *State, graphURL string, guards Options) (*Plan, error) {
	if err := sv.Check(current, graphURL); err != nil {
		return nil, err
	}
	opts := stricter(sv.Options, guards)
	// In the order Build made them (mapping rows, then connectors not in
	// the mapping by name), so that an unchanged tenant gives the saved
	// waves back: the scheduler takes moves in plan order.
	order := make([]int, len(sv.Changes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := &sv.Changes[a], &sv.Changes[b]
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
		c := &sv.Changes[i]
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
	wavesDiffer := p.WaveCount() != sv.Waves
	for k, i := range order {
		saved, now := &sv.Changes[i], &p.Changes[k]
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
		p.Warnings = append(p.Warnings, fmt.Sprintf("the waves were worked out again from the tenant and differ from the saved plan's (%s): the %s shown here are applied", plural(sv.Waves, "wave", "waves"), plural(p.WaveCount(), "wave", "waves")))
	}
	if w := tightened(sv.Options, opts); w != "" {
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

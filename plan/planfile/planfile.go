package planfile

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
	"connrecon/plan"
)

// Format is the version of the saved-plan file this code writes and
// reads. Bump it when a field changes meaning; an older connrecon then
// refuses the file instead of misreading it.
const Format = 1

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
	Format      int                 `json:"format"`
	Tool        string              `json:"tool"`
	Version     string              `json:"version"`
	CreatedAt   time.Time           `json:"createdAt"`
	GraphURL    string              `json:"graphUrl"`
	Mapping     SavedMapping        `json:"mapping"`
	Options     plan.Options        `json:"options"`
	Summary     plan.Summary        `json:"summary"` // of the whole plan as it was shown (noops, unmanaged …)
	Waves       int                 `json:"waves"`
	Changes     []plan.Change       `json:"changes"` // the moves only, in apply order, with their waves
	Groups      []plan.GroupSummary `json:"groups,omitempty"`
	Warnings    []string            `json:"warnings,omitempty"`
	Fingerprint string              `json:"fingerprint"` // Fingerprint of Involved
	Involved    plan.Involved       `json:"involved"`
	// Checksum is the sha256 of the file's content without this field. It
	// catches a hand-edited or damaged file; it is not a signature (anyone
	// can recompute it), so keep plan files where only administrators
	// can write them.
	Checksum string `json:"checksum"`
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

// Save writes p as a saved plan, recording what of state (the tenant p
// was built from) its moves depend on, so that apply --plan can refuse
// the plan once the tenant has moved away from it. A refused plan, or one
// with invalid rows, is not saved: apply would refuse it anyway, and a
// file that looks appliable but is not invites the wrong fix.
func Save(w io.Writer, p *plan.Plan, state *plan.State, meta SaveMeta) error {
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
	if state == nil {
		return errors.New("not saving the plan: no tenant state given, so what it depends on is unknown")
	}
	inv := plan.InvolvedState(state, p.Changes)
	sv := &Saved{
		Format:    Format,
		Tool:      "connrecon",
		Version:   meta.Version,
		CreatedAt: meta.CreatedAt.UTC(),
		GraphURL:  meta.GraphURL,
		Mapping:   SavedMapping{Path: meta.MappingPath, SHA256: meta.MappingSHA256, Rows: meta.MappingRows},
		Options:   p.Options,
		Summary:   p.Summary(),
		Waves:     p.WaveCount(),
		Changes:   []plan.Change{},
		Groups:    p.Groups,
		Warnings:  p.Warnings,
		Involved:  *inv,
	}
	for _, i := range p.Moves() {
		sv.Changes = append(sv.Changes, p.Changes[i])
	}
	sv.Fingerprint = inv.Fingerprint()
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

// Load reads a saved plan; name is used in messages. A file that is
// not a connrecon plan, or is of another format, is an error; a plan file
// that was altered after it was written (its checksum does not match, or
// its content contradicts itself) is a *StaleError with Altered set, whose
// reasons say what is wrong with it.
//
// The checksum catches accidents and damage, not a person who can write
// the file: anyone can recompute it. What protects the tenant from a
// hostile file is Replan, which checks every claim against the tenant.
func Load(r io.Reader, name string) (*Saved, error) {
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
	if format, err := strconv.Atoi(string(head.Format)); err != nil || format != Format {
		return nil, fmt.Errorf("%s: plan file format %s, but this connrecon reads format %d: make the plan again with this version", name, plainText(string(head.Format)), Format)
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

func alteredFile(name string, reasons ...string) *plan.StaleError {
	reasons = slices.Clone(reasons)
	reasons[0] = name + ": " + reasons[0]
	return &plan.StaleError{Reasons: reasons, Altered: true}
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
	case "", plan.UnlistedReport, plan.UnlistedIgnore, plan.UnlistedDefault:
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

	conns := make(map[string]*plan.InvolvedConnector, len(sv.Involved.Connectors))
	for i := range sv.Involved.Connectors {
		c := &sv.Involved.Connectors[i]
		conns[strings.ToLower(c.ID)] = c
	}
	groups := make(map[string]*plan.InvolvedGroup, len(sv.Involved.Groups))
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
		if c.Action != plan.ActionMove {
			add("it lists %s as %s, but a saved plan holds moves only", what, savedText(string(c.Action)))
			continue
		}
		if c.ConnectorID == "" || c.ToGroupID == "" {
			add("%s lacks its connector or group id", what)
			continue
		}
		id, from, to := strings.ToLower(c.ConnectorID), strings.ToLower(c.FromGroupID), strings.ToLower(c.ToGroupID)
		if j, dup := moved[id]; dup {
			add("it moves connector %s twice (%s and %s)", plainText(c.ConnectorID), plan.DescribeMove(&sv.Changes[j]), what)
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
			if o.Unlisted != plan.UnlistedDefault {
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
	if sv.Involved.Fingerprint() != sv.Fingerprint {
		add("its fingerprint is not that of the tenant state it records")
	}
	return out
}

// lazyMoveWord is plan.DescribeMove(c) for a message, worked out only
// when printed: most moves never appear in one, and a plan may have 100,000.
type lazyMoveWord struct{ c *plan.Change }

func (w lazyMoveWord) String() string { return plan.DescribeMove(w.c) }

// Plan gives back a plan whose moves are exactly the saved ones, with their
// waves, names and all, as the file has them: for a report of a plan that
// is refused. The plan to apply is Replan's.
func (sv *Saved) Plan() *plan.Plan {
	return &plan.Plan{
		Changes:  slices.Clone(sv.Changes),
		Options:  sv.Options,
		Groups:   slices.Clone(sv.Groups),
		Warnings: slices.Clone(sv.Warnings),
	}
}

// Claims is what the file says, for plan's checks against the tenant,
// with where the file contradicts itself.
func (sv *Saved) Claims() *plan.Claims {
	return &plan.Claims{
		GraphURL:     sv.GraphURL,
		Options:      sv.Options,
		Waves:        sv.Waves,
		Changes:      sv.Changes,
		Fingerprint:  sv.Fingerprint,
		Involved:     sv.Involved,
		Inconsistent: sv.inconsistencies(),
	}
}

// Check compares the saved plan with the tenant as it is now (see
// plan.Claims.Check): nil when the Graph URL and the tenant state the plan
// depends on are as the file recorded them, otherwise a *plan.StaleError
// saying what changed. A Saved that contradicts itself (one changed in
// code after Load) is refused as altered, and not compared with the
// tenant.
func (sv *Saved) Check(current *plan.State, graphURL string) error {
	return sv.Claims().Check(current, graphURL)
}

// Replan checks the saved plan against the tenant as it is now and plans
// its moves again, with every guard: see plan.Claims.Replan.
func (sv *Saved) Replan(current *plan.State, graphURL string, guards plan.Options) (*plan.Plan, error) {
	return sv.Claims().Replan(current, graphURL, guards)
}

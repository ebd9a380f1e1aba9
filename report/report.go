package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"connrecon/executor"
	"connrecon/internal/privfile"
	"connrecon/plan"
)

// Results of an action that the report decides itself. The others are the
// executor's outcomes, as strings: executor.Succeeded, Failed, NotAttempted
// and Unknown (an action with no outcome, or one this version does not
// know, is counted as unknown rather than dropped; see unknownResult).
// Coverage verdicts are plan.CoverageOK, CoverageGap and
// CoverageNoApplications.
const (
	ResultPlanned = "planned" // plan mode: a move that apply would send
	ResultSkipped = "skipped" // not a move: noop, invalid or unmanaged
)

// Report is report.json. Field names and meanings are fixed (the README's schema);
// fields are only ever added. Actions stays last so that WriteJSON can
// stream it after the small header.
type Report struct {
	Tool       string    `json:"tool"`
	Version    string    `json:"version"`
	Mode       string    `json:"mode"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	GraphURL   string    `json:"graphUrl"`
	Operator   string    `json:"operator"` // who signed in (UPN or app id); empty when the sign-in does not say
	Mapping    Mapping   `json:"mapping"`
	Journal    string    `json:"journal"` // path of journal.jsonl; empty when the run kept none
	// Backout is the path of backout.csv (backout-apps.csv and
	// backout.xlsx are beside it): the mappings that undo the run's moves,
	// the connectors' and the applications'. Empty when none was written.
	Backout  string    `json:"backout"`
	RunID    string    `json:"runId"` // the run's id, on every log line too
	Summary  Summary   `json:"summary"`
	ExitCode int       `json:"exitCode"`
	Outcome  string    `json:"outcome"`  // what the run came to, in a word
	Message  string    `json:"message"`  // why, when it did not simply succeed; empty on success
	Refusals []Refusal `json:"refusals"` // the guards that refused the run; empty when none did
	Groups   []Group   `json:"groups"`   // per connector group, before and after; empty when not known
	Actions  []Action  `json:"actions"`
}

// Mapping describes the mapping file the run read.
type Mapping struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
	Sheet  string `json:"sheet,omitempty"` // the XLSX sheet read; empty for CSV
}

// Summary counts actions and their results, of both kinds: a connector's
// move and an application's are each one move, and their results count
// alike. ConnectorMoves and ApplicationMoves split Move by kind, so a run
// without applications has ConnectorMoves equal to Move, as Move meant
// before applications were planned.
//
// The two are the last fields, added after the others, so that
// report.json's summary keeps its earlier fields in their order.
type Summary struct {
	Move             int `json:"move"`
	Noop             int `json:"noop"`
	Invalid          int `json:"invalid"`
	Unmanaged        int `json:"unmanaged"`
	Succeeded        int `json:"succeeded"`
	Failed           int `json:"failed"`
	NotAttempted     int `json:"notAttempted"`
	Unknown          int `json:"unknown"` // moves whose fate is not known (in flight when interrupted)
	ConnectorMoves   int `json:"connectorMoves"`
	ApplicationMoves int `json:"applicationMoves"`
}

// Refusal is report.json's view of a plan.Refusal: the groups concerned by
// name only, their figures being in the report's groups. refusalOf builds
// it, and nothing else does; records_test.go fails when plan.Refusal or
// plan.RefusedGroup gains a field the report has not decided to show or
// leave out.
type Refusal struct {
	Guard   string   `json:"guard"`            // plan.GuardMaxChanges, GuardCoverage or GuardStalePlan
	Message string   `json:"message"`          // why, in words an admin can act on
	Groups  []string `json:"groups,omitempty"` // the groups concerned, when the guard is about groups
}

func refusalOf(f plan.Refusal) Refusal {
	rf := Refusal{Guard: f.Guard, Message: f.Message}
	for _, g := range f.Groups {
		rf.Groups = append(rf.Groups, g.Name)
	}
	return rf
}

// Group is report.json's view of a plan.GroupSummary: one connector group
// as the planner saw it, and as the plan leaves it. It shows every field
// but MinActiveDuring, which the README's schema does not have (a gap
// during the run is already the coverage verdict). groupOf builds it, and
// nothing else does; records_test.go fails when plan.GroupSummary gains a
// field the report has not decided to show or leave out.
type Group struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	IsDefault        bool     `json:"isDefault"`
	Applications     []string `json:"applications"` // applications published through the group
	ConnectorsBefore int      `json:"connectorsBefore"`
	ConnectorsAfter  int      `json:"connectorsAfter"`
	ActiveBefore     int      `json:"activeBefore"`
	ActiveAfter      int      `json:"activeAfter"`
	Coverage         string   `json:"coverage"` // plan.CoverageOK, CoverageGap, CoverageNoApplications; empty when unknown
}

func groupOf(g plan.GroupSummary) Group {
	return Group{
		ID: g.ID, Name: g.Name, IsDefault: g.IsDefault,
		// A copy, and [] rather than null, so consumers need no null checks.
		Applications:     append([]string{}, g.Applications...),
		ConnectorsBefore: g.ConnectorsBefore, ConnectorsAfter: g.ConnectorsAfter,
		ActiveBefore: g.ActiveBefore, ActiveAfter: g.ActiveAfter, Coverage: g.Coverage,
	}
}

// Action is one row of the report: one change of the plan and what became
// of it. The fields it shares with the journal's line for the move come
// from executor.EntryFor, the one place a change and its result become
// those fields (see actionOf).
//
// A change places a connector or an application (Kind). An application's
// action leaves the connector fields (connectorId, machineName,
// connectorStatus, mappedConnector) empty and names the application in
// ApplicationID, AppID, DisplayName and MappedApplication; its Row is the
// --apps file's row. The fields are appended after BackoutRow, so that
// report.json's and report.csv's earlier fields keep their places.
type Action struct {
	Row             int    `json:"row"`
	ConnectorID     string `json:"connectorId"`
	MachineName     string `json:"machineName"`
	ConnectorStatus string `json:"connectorStatus"`
	FromGroupID     string `json:"fromGroupId"`
	FromGroupName   string `json:"fromGroupName"`
	ToGroupID       string `json:"toGroupId"`
	ToGroupName     string `json:"toGroupName"`
	Action          string `json:"action"`
	Wave            int    `json:"wave"`
	Result          string `json:"result"` // the executor's Outcome, ResultPlanned or ResultSkipped
	HTTPStatus      int    `json:"httpStatus"`
	RequestID       string `json:"requestId"`
	ClientRequestID string `json:"clientRequestId"`
	// BatchRequestID is the request-id of the $batch that carried the
	// move's last attempt; "" when it went out alone.
	BatchRequestID  string   `json:"batchRequestId,omitempty"`
	Attempts        int      `json:"attempts"`
	Error           string   `json:"error"`
	StartedAt       string   `json:"startedAt"`
	FinishedAt      string   `json:"finishedAt"`
	Verified        *bool    `json:"verified"` // null until verification has run
	Reason          string   `json:"reason,omitempty"`
	Warnings        []string `json:"warnings,omitempty"`
	MappedConnector string   `json:"mappedConnector,omitempty"`
	MappedGroup     string   `json:"mappedGroup,omitempty"`
	// BackoutRow is the line the move's back-out row starts on, of
	// backout.csv for a connector, of backout-apps.csv for an application
	// (the same row of backout.xlsx's Backout or Applications sheet, unless
	// a name above it holds a line break); 0 when the action is no move or
	// none was written.
	BackoutRow int `json:"backoutRow,omitempty"`
	// Kind is plan.KindConnector or plan.KindApplication, never empty
	// (plan.Change.KindName): the journal leaves it out for a connector,
	// the report always says.
	Kind string `json:"kind"`
	// The application, for an application's action: its object id, appId
	// and display name as the tenant has them, and the --apps file's own
	// cell. Absent for a connector's.
	ApplicationID     string `json:"applicationId,omitempty"`
	AppID             string `json:"appId,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
	MappedApplication string `json:"mappedApplication,omitempty"`
}

// IsApplication reports whether a places an application.
func (a *Action) IsApplication() bool { return a.Kind == plan.KindApplication }

// objectText names what a places the way an admin knows it: a
// connector's machine name, else the mapping's cell, else its id; an
// application's display name, else the --apps file's cell, else its
// object id.
func (a *Action) objectText() string {
	name, cell, id := a.MachineName, a.MappedConnector, a.ConnectorID
	if a.IsApplication() {
		name, cell, id = a.DisplayName, a.MappedApplication, a.ApplicationID
	}
	switch {
	case name != "":
		return name
	case cell != "":
		return cell
	}
	return id
}

// mappedObject is the mapping's own cell for what a places: the
// connector's, or for an application the --apps file's.
func (a *Action) mappedObject() string {
	if a.IsApplication() {
		return a.MappedApplication
	}
	return a.MappedConnector
}

// hasApplications reports whether any of r's actions is an application's
// (a move, a no-op or an invalid row of --apps): the human views then
// show each action's kind and count the moves of each kind, and name the
// applications' back-out. A run without applications reads as before.
func (r *Report) hasApplications() bool {
	for i := range r.Actions {
		if r.Actions[i].IsApplication() {
			return true
		}
	}
	return false
}

// actionOf is the report's row for change c with the given result; res is
// the zero Result when nothing was sent for it.
func actionOf(c plan.Change, res executor.Result, result string) Action {
	e := executor.EntryFor(c, res)
	a := Action{
		Row: e.Row, ConnectorID: e.ConnectorID, MachineName: e.MachineName, ConnectorStatus: c.ConnectorStatus,
		FromGroupID: e.FromGroupID, FromGroupName: c.FromGroupName, ToGroupID: e.ToGroupID, ToGroupName: c.ToGroupName,
		Action: string(c.Action), Wave: e.Wave, Result: result,
		HTTPStatus: e.HTTPStatus, RequestID: e.RequestID, ClientRequestID: e.ClientRequestID, BatchRequestID: e.BatchRequestID,
		Attempts: e.Attempts, Error: e.Error, StartedAt: timeText(e.StartedAt), FinishedAt: timeText(e.FinishedAt),
		Reason: c.Reason, Warnings: c.Warnings, MappedConnector: c.MappedConnector, MappedGroup: c.MappedGroup,
		Kind: c.KindName(), ApplicationID: e.ApplicationID, AppID: e.AppID, DisplayName: e.DisplayName,
		MappedApplication: c.MappedApplication,
	}
	if a.Reason == "" {
		a.Reason = e.Note // e.g. already in place; the plan's reason comes first
	}
	return a
}

// unknownResult reports whether an action's result counts as unknown: in
// flight when interrupted, no outcome at all, or an outcome this version
// does not know. Such actions are counted and listed, never lost.
func unknownResult(result string) bool {
	switch executor.Outcome(result) {
	case executor.Succeeded, executor.Failed, executor.NotAttempted:
		return false
	}
	return result != ResultPlanned && result != ResultSkipped
}

// Run is what the caller knows about the run besides mapping, plan and
// results (refusals and groups are the plan's).
type Run struct {
	Version      string
	Mode         string // plan or apply
	GraphURL     string
	Operator     string // who signed in (UPN or app id); empty when unknown
	MappingSheet string // the XLSX sheet read; empty for CSV
	Journal      string // path of journal.jsonl, when the run kept one
	Backout      string // path of backout.csv, when the run wrote one (WriteBackout)
	RunID        string
	StartedAt    time.Time
	FinishedAt   time.Time
	ExitCode     int
	Outcome      string
	Message      string
}

// Build assembles the report. p may be nil when the run stopped before a
// plan existed (an unreadable mapping); results may be nil (plan mode, or
// apply refused before sending anything). The refusals and groups are
// p's, through refusalOf and groupOf.
func Build(run Run, m *plan.Mapping, p *plan.Plan, results []executor.Result) *Report {
	r := &Report{
		Tool: "connrecon", Version: run.Version, Mode: run.Mode,
		StartedAt: run.StartedAt.UTC(), FinishedAt: run.FinishedAt.UTC(), GraphURL: run.GraphURL,
		Operator: run.Operator, Journal: run.Journal, Backout: run.Backout, RunID: run.RunID,
		ExitCode: run.ExitCode, Outcome: run.Outcome, Message: run.Message,
		// Empty arrays, not null, so consumers need no null checks.
		Refusals: []Refusal{},
		Groups:   []Group{},
		Actions:  []Action{},
	}
	if m != nil {
		r.Mapping = Mapping{Path: m.Path, SHA256: m.SHA256, Rows: len(m.Rows), Sheet: run.MappingSheet}
	}
	if p == nil {
		return r
	}
	r.Refusals = make([]Refusal, 0, len(p.Refusals))
	for _, f := range p.Refusals {
		r.Refusals = append(r.Refusals, refusalOf(f))
	}
	r.Groups = make([]Group, 0, len(p.Groups))
	for _, g := range p.Groups {
		r.Groups = append(r.Groups, groupOf(g))
	}
	byChange := make(map[int]*executor.Result, len(results))
	for i := range results {
		byChange[results[i].Change] = &results[i]
	}
	var backoutRow map[int]int
	if run.Backout != "" {
		backoutRow = backoutLines(p)
	}
	r.Actions = make([]Action, 0, len(p.Changes))
	for i, c := range p.Changes {
		var res executor.Result // zero: nothing was sent
		var result string
		switch {
		case c.Action != plan.ActionMove:
			result = ResultSkipped
		case run.Mode == "plan":
			result = ResultPlanned
		case byChange[i] == nil:
			result = string(executor.NotAttempted)
		default:
			res = *byChange[i]
			result = string(res.Outcome)
			if result == "" {
				result = string(executor.Unknown)
			}
		}
		a := actionOf(c, res, result)
		// Whether verification saw the move in its target group is the
		// result's (executor.Verify sets it); null when not verified.
		a.Verified = res.Verified
		a.BackoutRow = backoutRow[i]
		r.Actions = append(r.Actions, a)
		switch c.Action {
		case plan.ActionMove:
			r.Summary.Move++
			if c.IsApplication() {
				r.Summary.ApplicationMoves++
			} else {
				r.Summary.ConnectorMoves++
			}
		case plan.ActionNoop:
			r.Summary.Noop++
		case plan.ActionInvalid:
			r.Summary.Invalid++
		case plan.ActionUnmanaged:
			r.Summary.Unmanaged++
		}
		switch {
		case unknownResult(a.Result):
			r.Summary.Unknown++
		case a.Result == string(executor.Succeeded):
			r.Summary.Succeeded++
		case a.Result == string(executor.Failed):
			r.Summary.Failed++
		case a.Result == string(executor.NotAttempted):
			r.Summary.NotAttempted++
		}
	}
	return r
}

// Format is one report file format.
type Format string

// The report formats, in the order Write writes them.
const (
	FormatJSON Format = "json"
	FormatCSV  Format = "csv"
	FormatXLSX Format = "xlsx"
	FormatMD   Format = "md"
	FormatHTML Format = "html"
)

// AllFormats lists every format, in the order Write writes them: JSON
// first, as it is the contract other tools read.
var AllFormats = []Format{FormatJSON, FormatCSV, FormatXLSX, FormatMD, FormatHTML}

// Files written by Write when it writes every format, in order.
var Files = []string{"report.json", "report.csv", "report.xlsx", "report.md", "report.html"}

// File is the name of the file a format is written to.
func (f Format) File() string { return "report." + string(f) }

// ParseFormats parses a comma-separated list of formats, as --report-format
// takes it. "all", or an empty string, selects every format. The result is
// in the canonical order without duplicates.
func ParseFormats(s string) ([]Format, error) {
	if strings.TrimSpace(s) == "" {
		return append([]Format(nil), AllFormats...), nil
	}
	want := make(map[Format]bool, len(AllFormats))
	for _, item := range strings.Split(s, ",") {
		f := Format(strings.ToLower(strings.TrimSpace(item)))
		switch {
		case f == "all":
			for _, a := range AllFormats {
				want[a] = true
			}
		case f.valid():
			want[f] = true
		default:
			return nil, fmt.Errorf("report format %q: accepted values are %s, or all (comma-separated)", strings.TrimSpace(item), formatList())
		}
	}
	var out []Format
	for _, f := range AllFormats {
		if want[f] {
			out = append(out, f)
		}
	}
	return out, nil
}

func (f Format) valid() bool {
	for _, a := range AllFormats {
		if f == a {
			return true
		}
	}
	return false
}

func formatList() string {
	names := make([]string, len(AllFormats))
	for i, f := range AllFormats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// writers maps each format to the function writing its content.
var writers = map[Format]func(io.Writer, *Report) error{
	FormatJSON: WriteJSON,
	FormatCSV:  WriteCSV,
	FormatXLSX: WriteXLSX,
	FormatMD:   WriteMarkdown,
	FormatHTML: WriteHTML,
}

// Write writes the report into dir in the given formats (nil or empty: all
// of them), creating dir if needed. Each file is written to a temporary
// name and renamed, with mode 0600, so a reader never sees half a report.
// A format that fails does not stop the others: the run should leave as
// much of its audit trail as it can. The error joins every failure.
func Write(dir string, r *Report, formats []Format) error {
	if r == nil {
		return errors.New("write report: no report")
	}
	if len(formats) == 0 {
		formats = AllFormats
	}
	for _, f := range formats {
		if !f.valid() {
			return fmt.Errorf("write report: unknown format %q: accepted values are %s", f, formatList())
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	var errs []error
	done := make(map[Format]bool, len(formats))
	for _, f := range formats {
		if done[f] {
			continue
		}
		done[f] = true
		write := writers[f]
		if err := privfile.Write(filepath.Join(dir, f.File()), func(w io.Writer) error { return write(w, r) }); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

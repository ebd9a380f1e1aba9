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
	"connrecon/plan"
)

// Result values of an action.
const (
	ResultPlanned      = "planned"
	ResultSucceeded    = "succeeded"
	ResultFailed       = "failed"
	ResultSkipped      = "skipped"
	ResultNotAttempted = "notAttempted"
	// ResultUnknown: the request was in flight when the run stopped, so it
	// may or may not have taken effect. Any result string the report does
	// not know is also counted as unknown rather than dropped.
	ResultUnknown = "unknown"
)

// Coverage verdicts of a group (Group.Coverage).
const (
	CoverageOK             = "ok"             // applications are served by at least one active connector
	CoverageGap            = "gap"            // applications, and fewer than --min-active active connectors before, during or after the run
	CoverageNoApplications = "noApplications" // nothing is published through the group
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
	Summary    Summary   `json:"summary"`
	ExitCode   int       `json:"exitCode"`
	Outcome    string    `json:"outcome"`  // what the run came to, in a word
	Message    string    `json:"message"`  // why, when it did not simply succeed; empty on success
	Refusals   []Refusal `json:"refusals"` // the guards that refused the run; empty when none did
	Groups     []Group   `json:"groups"`   // per connector group, before and after; empty when not known
	Actions    []Action  `json:"actions"`
}

// Mapping describes the mapping file the run read.
type Mapping struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
	Sheet  string `json:"sheet,omitempty"` // the XLSX sheet read; empty for CSV
}

// Summary counts actions and their results.
type Summary struct {
	Move         int `json:"move"`
	Noop         int `json:"noop"`
	Invalid      int `json:"invalid"`
	Unmanaged    int `json:"unmanaged"`
	Succeeded    int `json:"succeeded"`
	Failed       int `json:"failed"`
	NotAttempted int `json:"notAttempted"`
	Unknown      int `json:"unknown"` // moves whose fate is not known (in flight when interrupted)
}

// Refusal is one safety guard that refused the run.
type Refusal struct {
	Guard   string   `json:"guard"`            // e.g. maxChanges, minActive, coverage, stalePlan
	Message string   `json:"message"`          // why, in words an admin can act on
	Groups  []string `json:"groups,omitempty"` // the groups concerned, when the guard is about groups
}

// Group is one connector group as the planner saw it, and as the plan
// leaves it.
type Group struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	IsDefault        bool     `json:"isDefault"`
	Applications     []string `json:"applications"` // applications published through the group
	ConnectorsBefore int      `json:"connectorsBefore"`
	ConnectorsAfter  int      `json:"connectorsAfter"`
	ActiveBefore     int      `json:"activeBefore"`
	ActiveAfter      int      `json:"activeAfter"`
	Coverage         string   `json:"coverage"` // ok, gap, noApplications; empty when unknown
}

// Action is one row of the report: one change of the plan and what became
// of it.
type Action struct {
	Row             int      `json:"row"`
	ConnectorID     string   `json:"connectorId"`
	MachineName     string   `json:"machineName"`
	ConnectorStatus string   `json:"connectorStatus"`
	FromGroupID     string   `json:"fromGroupId"`
	FromGroupName   string   `json:"fromGroupName"`
	ToGroupID       string   `json:"toGroupId"`
	ToGroupName     string   `json:"toGroupName"`
	Action          string   `json:"action"`
	Wave            int      `json:"wave"`
	Result          string   `json:"result"`
	HTTPStatus      int      `json:"httpStatus"`
	RequestID       string   `json:"requestId"`
	ClientRequestID string   `json:"clientRequestId"`
	Attempts        int      `json:"attempts"`
	Error           string   `json:"error"`
	StartedAt       string   `json:"startedAt"`
	FinishedAt      string   `json:"finishedAt"`
	Verified        *bool    `json:"verified"` // null until verification has run
	Reason          string   `json:"reason,omitempty"`
	Warnings        []string `json:"warnings,omitempty"`
	MappedConnector string   `json:"mappedConnector,omitempty"`
	MappedGroup     string   `json:"mappedGroup,omitempty"`
}

// Run is what the caller knows about the run besides plan and results.
type Run struct {
	Version      string
	Mode         string // plan or apply
	GraphURL     string
	Operator     string // who signed in (UPN or app id); empty when unknown
	MappingSheet string // the XLSX sheet read; empty for CSV
	Journal      string // path of journal.jsonl, when the run kept one
	StartedAt    time.Time
	FinishedAt   time.Time
	ExitCode     int
	Outcome      string
	Message      string
	Refusals     []Refusal
	Groups       []Group // from the planner; empty when the run stopped before it
	// Verified says, per change index, whether verification after apply
	// found the connector in its target group. Changes not in the map were
	// not verified and report verified: null.
	Verified map[int]bool
}

// Build assembles the report. p may be nil when the run stopped before a
// plan existed (an unreadable mapping); results may be nil (plan mode, or
// apply refused before sending anything).
func Build(run Run, m *plan.Mapping, p *plan.Plan, results []executor.Result) *Report {
	r := &Report{
		Tool: "connrecon", Version: run.Version, Mode: run.Mode,
		StartedAt: run.StartedAt.UTC(), FinishedAt: run.FinishedAt.UTC(), GraphURL: run.GraphURL,
		Operator: run.Operator, Journal: run.Journal,
		ExitCode: run.ExitCode, Outcome: run.Outcome, Message: run.Message,
		// Empty arrays, not null, so consumers need no null checks.
		Refusals: append([]Refusal{}, run.Refusals...),
		Groups:   make([]Group, 0, len(run.Groups)),
		Actions:  []Action{},
	}
	for _, g := range run.Groups {
		g.Applications = append([]string{}, g.Applications...)
		r.Groups = append(r.Groups, g)
	}
	if m != nil {
		r.Mapping = Mapping{Path: m.Path, SHA256: m.SHA256, Rows: len(m.Rows), Sheet: run.MappingSheet}
	}
	if p == nil {
		return r
	}
	byChange := make(map[int]*executor.Result, len(results))
	for i := range results {
		byChange[results[i].Change] = &results[i]
	}
	r.Actions = make([]Action, 0, len(p.Changes))
	for i, c := range p.Changes {
		a := Action{
			Row: c.Row, ConnectorID: c.ConnectorID, MachineName: c.MachineName, ConnectorStatus: c.ConnectorStatus,
			FromGroupID: c.FromGroupID, FromGroupName: c.FromGroupName, ToGroupID: c.ToGroupID, ToGroupName: c.ToGroupName,
			Action: string(c.Action), Wave: c.Wave, Reason: c.Reason, Warnings: c.Warnings,
			MappedConnector: c.MappedConnector, MappedGroup: c.MappedGroup,
		}
		switch {
		case c.Action != plan.ActionMove:
			a.Result = ResultSkipped
		case run.Mode == "plan":
			a.Result = ResultPlanned
		case byChange[i] == nil:
			a.Result = ResultNotAttempted
		default:
			res := byChange[i]
			a.Result = string(res.Outcome)
			if a.Result == "" {
				a.Result = ResultUnknown
			}
			a.HTTPStatus, a.RequestID, a.ClientRequestID = res.Call.Status, res.Call.RequestID, res.Call.ClientRequestID
			a.Attempts, a.Error = res.Attempts, res.Error
			if res.Note != "" && a.Reason == "" {
				a.Reason = res.Note
			}
			if !res.StartedAt.IsZero() {
				a.StartedAt = res.StartedAt.UTC().Format(time.RFC3339Nano)
			}
			if !res.FinishedAt.IsZero() {
				a.FinishedAt = res.FinishedAt.UTC().Format(time.RFC3339Nano)
			}
		}
		if v, ok := run.Verified[i]; ok {
			a.Verified = &v
		}
		r.Actions = append(r.Actions, a)
		switch c.Action {
		case plan.ActionMove:
			r.Summary.Move++
		case plan.ActionNoop:
			r.Summary.Noop++
		case plan.ActionInvalid:
			r.Summary.Invalid++
		case plan.ActionUnmanaged:
			r.Summary.Unmanaged++
		}
		switch a.Result {
		case ResultSucceeded:
			r.Summary.Succeeded++
		case ResultFailed:
			r.Summary.Failed++
		case ResultNotAttempted:
			r.Summary.NotAttempted++
		case ResultPlanned, ResultSkipped:
		default:
			// In flight when interrupted, or an outcome this version does
			// not know: counted, never lost.
			r.Summary.Unknown++
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
)

// AllFormats lists every format, in the order Write writes them: JSON
// first, as it is the contract other tools read.
var AllFormats = []Format{FormatJSON, FormatCSV, FormatXLSX, FormatMD}

// Files written by Write when it writes every format, in order.
var Files = []string{"report.json", "report.csv", "report.xlsx", "report.md"}

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
		if err := writeAtomic(filepath.Join(dir, f.File()), func(w io.Writer) error { return write(w, r) }); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
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
)

// Report is report.json. Field names and meanings are fixed (DESIGN.md).
type Report struct {
	Tool       string    `json:"tool"`
	Version    string    `json:"version"`
	Mode       string    `json:"mode"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	GraphURL   string    `json:"graphUrl"`
	Mapping    Mapping   `json:"mapping"`
	Summary    Summary   `json:"summary"`
	ExitCode   int       `json:"exitCode"`
	Outcome    string    `json:"outcome"`           // what the run came to, in a word
	Message    string    `json:"message,omitempty"` // why, when it did not simply succeed
	Actions    []Action  `json:"actions"`
}

// Mapping describes the mapping file the run read.
type Mapping struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
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
	Version    string
	Mode       string // plan or apply
	GraphURL   string
	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int
	Outcome    string
	Message    string
}

// Build assembles the report. p may be nil when the run stopped before a
// plan existed (an unreadable mapping); results may be nil (plan mode, or
// apply refused before sending anything).
func Build(run Run, m *plan.Mapping, p *plan.Plan, results []executor.Result) *Report {
	r := &Report{
		Tool: "connrecon", Version: run.Version, Mode: run.Mode,
		StartedAt: run.StartedAt.UTC(), FinishedAt: run.FinishedAt.UTC(), GraphURL: run.GraphURL,
		ExitCode: run.ExitCode, Outcome: run.Outcome, Message: run.Message,
		Actions: []Action{},
	}
	if m != nil {
		r.Mapping = Mapping{Path: m.Path, SHA256: m.SHA256, Rows: len(m.Rows)}
	}
	if p == nil {
		return r
	}
	byChange := make(map[int]*executor.Result, len(results))
	for i := range results {
		byChange[results[i].Change] = &results[i]
	}
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
			a.HTTPStatus, a.RequestID, a.ClientRequestID = res.Call.Status, res.Call.RequestID, res.Call.ClientRequestID
			a.Attempts, a.Error = res.Attempts, res.Error
			if res.Note != "" && a.Reason == "" {
				a.Reason = res.Note
			}
			if !res.StartedAt.IsZero() {
				a.StartedAt = res.StartedAt.UTC().Format(time.RFC3339Nano)
				a.FinishedAt = res.FinishedAt.UTC().Format(time.RFC3339Nano)
			}
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
		}
	}
	return r
}

// Files written by Write, in order.
var Files = []string{"report.json", "report.csv"}

// Write writes every report format into dir, creating it if needed. Each
// file is written to a temporary name and renamed, so a reader never sees
// half a report.
func Write(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, "report.json"), func(w io.Writer) error { return WriteJSON(w, r) }); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "report.csv"), func(w io.Writer) error { return WriteCSV(w, r) })
}

// WriteJSON writes report.json's content.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is report.csv's header row; the README documents each column.
var CSVHeader = []string{
	"row", "connectorId", "machineName", "connectorStatus", "fromGroupId", "fromGroupName",
	"toGroupId", "toGroupName", "action", "wave", "result", "httpStatus", "requestId",
	"clientRequestId", "attempts", "error", "startedAt", "finishedAt", "verified", "reason", "warnings",
}

// WriteCSV writes report.csv's content: one row per action.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, a := range r.Actions {
		verified := ""
		if a.Verified != nil {
			verified = strconv.FormatBool(*a.Verified)
		}
		rec := []string{
			itoa(a.Row), a.ConnectorID, a.MachineName, a.ConnectorStatus, a.FromGroupID, a.FromGroupName,
			a.ToGroupID, a.ToGroupName, a.Action, itoa(a.Wave), a.Result, itoa(a.HTTPStatus), a.RequestID,
			a.ClientRequestID, itoa(a.Attempts), a.Error, a.StartedAt, a.FinishedAt, verified, a.Reason,
			strings.Join(a.Warnings, "; "),
		}
		for i := range rec {
			rec[i] = neutralise(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// neutralise keeps text from the tenant or the mapping from becoming a
// formula when the CSV is opened in a spreadsheet (CSV injection).
func neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
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

package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"connrecon/internal/mapping"
	"connrecon/internal/privfile"
	"connrecon/plan"
)

// The back-out's files, beside the reports: the connectors' mapping, the
// applications' (read with --apps), and the workbook holding both.
const (
	BackoutCSV     = "backout.csv"
	BackoutAppsCSV = "backout-apps.csv"
	BackoutXLSX    = "backout.xlsx"
)

// BackoutFiles are the back-out's files, as Write's Files are the reports'.
var BackoutFiles = []string{BackoutCSV, BackoutAppsCSV, BackoutXLSX}

// BackoutHeader is the connectors' back-out mapping's header. The first
// four columns are an export's (connector by id and name, group by id and
// name), so the file is a mapping that plan and apply read, checking each
// id against its name; the others (backoutDone) say what the forward run
// did, for people, and are not read.
var BackoutHeader = append([]string{"machineName", "connectorId", "connectorGroup", "connectorGroupId"}, backoutDone...)

// BackoutApplicationHeader is an application mapping's header: the
// application by display name, appId and object id, and its connector
// group by name and id. The export's Applications sheet has it
// (reconcile.ExportApplicationHeader is this one), and so does
// backout-apps.csv, followed there by the columns for people the
// connectors' back-out has (backoutAppsHeader), so the file reads as an
// application mapping.
var BackoutApplicationHeader = []string{"application", "appId", "objectId", "connectorGroup", "connectorGroupId"}

// backoutDone are the columns after a back-out's mapping columns: where
// the forward run moved the row's object, and which run that was.
var backoutDone = []string{"movedTo", "movedToId", "undoes"}

// backoutAppsHeader is backout-apps.csv's header (and the Applications
// sheet's): BackoutApplicationHeader, then backoutDone.
var backoutAppsHeader = append(append([]string{}, BackoutApplicationHeader...), backoutDone...)

// The back-out workbook's sheets, in order: BackoutSheet is the
// connectors' mapping (the first sheet, which -m reads),
// BackoutApplicationsSheet the applications', and BackoutAboutSheet says
// which run they undo.
const (
	BackoutSheet             = "Backout"
	BackoutApplicationsSheet = "Applications"
	BackoutAboutSheet        = "About"
)

// Undoes names the run a back-out undoes.
type Undoes struct {
	RunID     string
	Mode      string // plan or apply
	StartedAt string // RFC 3339, UTC
	ReportDir string
	Mapping   string // what the forward plan was made from: a file, or --drain's list
}

func (u Undoes) String() string {
	return fmt.Sprintf("run %s (%s started %s, reports in %s)", u.RunID, u.Mode, u.StartedAt, u.ReportDir)
}

// backoutTail is what the human views say after the back-out's path
// (r.Backout): the files beside it and how to apply them. It names
// backout-apps.csv only when applications are involved, so a run without
// them reads as before.
func backoutTail(r *Report) string {
	if r.hasApplications() {
		return " (and " + BackoutAppsCSV + " for the applications, and " + BackoutXLSX + " with both): apply it with --apps " +
			BackoutAppsCSV + " to undo this run's moves"
	}
	return " (and " + BackoutXLSX + "): apply it to undo this run's moves"
}

// backoutText is the back-out's path and backoutTail, for the views that
// escape the whole line alike.
func backoutText(r *Report) string { return r.Backout + backoutTail(r) }

// backoutMoves are the changes a back-out file has a row for, in its row
// order: every move of the plan of one kind (applications, or
// connectors), in the plan's order. A move that never happened (failed,
// held back, interrupted) is back in place already, so its row is a no-op
// when the back-out is applied; one that happened, or whose fate is
// unknown, goes back. So the files are written before the first move and
// are right whatever the apply comes to. The connectors' back-out never
// lists an application, nor the applications' a connector.
func backoutMoves(p *plan.Plan, applications bool) []int {
	var idx []int
	for i, c := range p.Changes {
		if c.Action == plan.ActionMove && c.IsApplication() == applications {
			idx = append(idx, i)
		}
	}
	return idx
}

// BackoutTable is the connectors' back-out mapping of p (backout.csv):
// each connector p moves, back into the group it was read in.
func BackoutTable(p *plan.Plan, u Undoes) mapping.Table {
	return backoutTable(p, u, false)
}

// BackoutApplicationTable is the applications' back-out mapping of p
// (backout-apps.csv): each application p moves, back to the group it was
// read in. It has its header alone when p moves no application.
func BackoutApplicationTable(p *plan.Plan, u Undoes) mapping.Table {
	return backoutTable(p, u, true)
}

func backoutTable(p *plan.Plan, u Undoes, applications bool) mapping.Table {
	t := mapping.Table{Header: backoutHeaderOf(applications)}
	undoes := u.String()
	for _, i := range backoutMoves(p, applications) {
		t.Rows = append(t.Rows, backoutRecord(&p.Changes[i], undoes))
	}
	return t
}

func backoutHeaderOf(applications bool) []string {
	if applications {
		return backoutAppsHeader
	}
	return BackoutHeader
}

// backoutRecord is c's row in its back-out file, in the order of
// BackoutHeader or backoutAppsHeader.
func backoutRecord(c *plan.Change, undoes string) []string {
	if c.IsApplication() {
		return []string{c.DisplayName, c.AppID, c.ApplicationID, c.FromGroupName, c.FromGroupID, c.ToGroupName, c.ToGroupID, undoes}
	}
	return []string{c.MachineName, c.ConnectorID, c.FromGroupName, c.FromGroupID, c.ToGroupName, c.ToGroupID, undoes}
}

// backoutLines maps each move of p (its index in p.Changes) to the line
// its row starts on in its back-out file (backout.csv for a connector,
// backout-apps.csv for an application), as the mapping reader numbers
// lines (and so names them in its messages): a name holding a line break
// makes its row span more than one.
func backoutLines(p *plan.Plan) map[int]int {
	lines := make(map[int]int)
	for _, applications := range []bool{false, true} {
		line := 2 + strings.Count(strings.Join(backoutHeaderOf(applications), ""), "\n")
		for _, i := range backoutMoves(p, applications) {
			lines[i] = line
			for _, cell := range backoutRecord(&p.Changes[i], "") {
				line += strings.Count(cell, "\n")
			}
			line++
		}
	}
	return lines
}

// WriteBackout writes p's back-out into dir as backout.csv (the
// connectors), backout-apps.csv (the applications) and backout.xlsx (both,
// on its Backout and Applications sheets), with the reports' private
// mode, each atomically. It returns the path of backout.csv. The
// workbook's first sheet is the connectors' mapping; its About sheet
// names the run and how to apply the files.
//
// backout-apps.csv is written whatever p holds, with its header alone
// when p moves no application, so that one back-out command, connrecon
// apply -m backout.csv --apps backout-apps.csv, undoes any run.
func WriteBackout(dir string, p *plan.Plan, u Undoes) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("back-out: report directory: %w", err)
	}
	t, apps := BackoutTable(p, u), BackoutApplicationTable(p, u)
	csvPath, appsPath := filepath.Join(dir, BackoutCSV), filepath.Join(dir, BackoutAppsCSV)
	for _, f := range []struct {
		path  string
		table mapping.Table
	}{{csvPath, t}, {appsPath, apps}} {
		if err := privfile.Write(f.path, func(w io.Writer) error { return mapping.WriteCSV(w, f.table) }); err != nil {
			return "", fmt.Errorf("back-out: %w", err)
		}
	}
	command := "connrecon apply -m " + csvPath
	if len(apps.Rows) > 0 {
		command += " --apps " + appsPath
	}
	about := mapping.Table{Header: []string{"field", "value"}, Rows: [][]string{
		{"undoes", u.String()},
		{"run", u.RunID},
		{"mode", u.Mode},
		{"started (UTC)", u.StartedAt},
		{"reports", u.ReportDir},
		{"forward mapping", u.Mapping},
		{"moves undone", fmt.Sprint(len(t.Rows) + len(apps.Rows))},
		{"connectors", fmt.Sprintf("%d, on the %s sheet (and in %s)", len(t.Rows), BackoutSheet, BackoutCSV)},
		{"applications", fmt.Sprintf("%d, on the %s sheet (and in %s)", len(apps.Rows), BackoutApplicationsSheet, BackoutAppsCSV)},
		{"apply it with", command + " (with the guard flags the forward run needed)"},
	}}
	sheets := []mapping.Sheet{{Name: BackoutSheet, Table: t}, {Name: BackoutApplicationsSheet, Table: apps}, {Name: BackoutAboutSheet, Table: about}}
	if blanked := mapping.BlankUnwritable(sheets); blanked > 0 {
		// The ids are GUIDs and always fit: a row keeps what restores it.
		last := &sheets[len(sheets)-1].Table
		last.Rows = append(last.Rows, []string{"note", fmt.Sprintf("%d cell(s) held characters a workbook cannot hold and are empty here: %s and %s have them", blanked, BackoutCSV, BackoutAppsCSV)})
	}
	if err := privfile.Write(filepath.Join(dir, BackoutXLSX), func(w io.Writer) error { return mapping.WriteWorkbook(w, sheets) }); err != nil {
		return "", fmt.Errorf("back-out: %w", err)
	}
	return csvPath, nil
}

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

// The back-out's files, beside the reports.
const (
	BackoutCSV  = "backout.csv"
	BackoutXLSX = "backout.xlsx"
)

// BackoutFiles are the back-out's files, as Write's Files are the reports'.
var BackoutFiles = []string{BackoutCSV, BackoutXLSX}

// BackoutHeader is the back-out mapping's header. The first four columns
// are an export's (connector by id and name, group by id and name), so the
// file is a mapping that plan and apply read, checking each id against its
// name; the others say what the forward run did, for people, and are not
// read.
var BackoutHeader = []string{"machineName", "connectorId", "connectorGroup", "connectorGroupId", "movedTo", "movedToId", "undoes"}

// BackoutSheet is the back-out workbook's mapping sheet; BackoutAboutSheet
// says which run it undoes.
const (
	BackoutSheet      = "Backout"
	BackoutAboutSheet = "About"
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

// backoutMoves are the changes the back-out has a row for, in its row
// order: every move of the plan, in the plan's order. A move that never
// happened (failed, held back, interrupted) is back in place already, so
// its row is a no-op when the back-out is applied; one that happened, or
// whose fate is unknown, goes back. So the file is written before the
// first move and is right whatever the apply comes to.
func backoutMoves(p *plan.Plan) []int {
	var idx []int
	for i, c := range p.Changes {
		if c.Action == plan.ActionMove {
			idx = append(idx, i)
		}
	}
	return idx
}

// BackoutTable is the back-out mapping of p: each connector p moves, back
// into the group it was read in.
func BackoutTable(p *plan.Plan, u Undoes) mapping.Table {
	t := mapping.Table{Header: BackoutHeader}
	undoes := u.String()
	for _, i := range backoutMoves(p) {
		t.Rows = append(t.Rows, backoutRecord(&p.Changes[i], undoes))
	}
	return t
}

func backoutRecord(c *plan.Change, undoes string) []string {
	return []string{c.MachineName, c.ConnectorID, c.FromGroupName, c.FromGroupID, c.ToGroupName, c.ToGroupID, undoes}
}

// backoutLines maps each move of p (its index in p.Changes) to the line
// of backout.csv its row starts on, as the mapping reader numbers lines
// (and so names them in its messages): a name holding a line break makes
// its row span more than one.
func backoutLines(p *plan.Plan) map[int]int {
	lines := make(map[int]int)
	line := 2 + strings.Count(strings.Join(BackoutHeader, ""), "\n")
	for _, i := range backoutMoves(p) {
		lines[i] = line
		for _, cell := range backoutRecord(&p.Changes[i], "") {
			line += strings.Count(cell, "\n")
		}
		line++
	}
	return lines
}

// WriteBackout writes p's back-out into dir as backout.csv and
// backout.xlsx, with the reports' private mode, each atomically. It
// returns the path of backout.csv. The workbook's first sheet is the
// mapping; its About sheet names the run and how to apply the file.
func WriteBackout(dir string, p *plan.Plan, u Undoes) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("back-out: report directory: %w", err)
	}
	t := BackoutTable(p, u)
	csvPath := filepath.Join(dir, BackoutCSV)
	if err := privfile.Write(csvPath, func(w io.Writer) error { return mapping.WriteCSV(w, t) }); err != nil {
		return "", fmt.Errorf("back-out: %w", err)
	}
	about := mapping.Table{Header: []string{"field", "value"}, Rows: [][]string{
		{"undoes", u.String()},
		{"run", u.RunID},
		{"mode", u.Mode},
		{"started (UTC)", u.StartedAt},
		{"reports", u.ReportDir},
		{"forward mapping", u.Mapping},
		{"moves undone", fmt.Sprint(len(t.Rows))},
		{"apply it with", "connrecon apply -m " + csvPath + " (with the guard flags the forward run needed)"},
	}}
	sheets := []mapping.Sheet{{Name: BackoutSheet, Table: t}, {Name: BackoutAboutSheet, Table: about}}
	if blanked := mapping.BlankUnwritable(sheets); blanked > 0 {
		// The ids are GUIDs and always fit: a row keeps what restores it.
		sheets[1].Table.Rows = append(sheets[1].Table.Rows, []string{"note", fmt.Sprintf("%d cell(s) held characters a workbook cannot hold and are empty here: backout.csv has them", blanked)})
	}
	if err := privfile.Write(filepath.Join(dir, BackoutXLSX), func(w io.Writer) error { return mapping.WriteWorkbook(w, sheets) }); err != nil {
		return "", fmt.Errorf("back-out: %w", err)
	}
	return csvPath, nil
}

package report

import (
	"archive/zip"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"connrecon/executor"
	"connrecon/internal/safetext"
	"connrecon/plan"
)

// Sheet names of report.xlsx, in workbook order.
const (
	SheetSummary = "Summary"
	SheetActions = "Actions"
	SheetInvalid = "Invalid rows"
	SheetGroups  = "Groups"
)

// InvalidHeader is the header of the XLSX "Invalid rows" sheet: the
// mapping's own cells first, so the row can be found and fixed. The
// columns added with applications come last: kind (a row of -m's
// mapping, or of --apps's), the --apps file's cell, and the application
// when it was found; an application's row leaves mappedConnector,
// connectorId and machineName empty.
var InvalidHeader = []string{"row", "mappedConnector", "mappedGroup", "reason", "connectorId", "machineName",
	"kind", "mappedApplication", "applicationId", "displayName"}

// GroupsHeader is the header of the XLSX Groups sheet. The chart on the
// Summary sheet reads the name and the two "active" columns.
var GroupsHeader = []string{
	"group", "groupId", "default", "connectorsBefore", "connectorsAfter",
	"activeBefore", "activeAfter", "applications", "coverage", "applicationNames",
}

// Columns of GroupsHeader the chart uses (1-based letters).
const (
	groupsNameCol         = "A"
	groupsActiveBeforeCol = "F"
	groupsActiveAfterCol  = "G"
)

// Messages shown when a part of the report has no data.
const (
	noGroupsText  = "Group data was not available for this run."
	noInvalidText = "No invalid rows."
)

// Fill colours: Excel's own "Bad" and "Neutral" cell styles, which admins
// recognise.
const (
	badFill     = "FFC7CE"
	badFont     = "9C0006"
	neutralFill = "FFEB9C"
	neutralFont = "9C5700"
	headerFill  = "D9E1F2"
)

// actionWidths are the Actions sheet's column widths, by header: wide
// enough for a GUID, a host name, a timestamp; the free text columns are
// capped so a row stays on screen.
var actionWidths = map[string]float64{
	"row": 6, "connectorId": 38, "machineName": 32, "connectorStatus": 10,
	"fromGroupId": 38, "fromGroupName": 24, "toGroupId": 38, "toGroupName": 24,
	"action": 10, "wave": 6, "result": 13, "httpStatus": 8, "requestId": 38,
	"clientRequestId": 38, "attempts": 8, "error": 60, "startedAt": 26, "finishedAt": 26,
	"verified": 8, "reason": 40, "warnings": 40, "mappedConnector": 32, "mappedGroup": 24, "backout": 20,
	"kind": 13, "applicationId": 38, "appId": 38, "displayName": 32, "mappedApplication": 32,
}

type xlsxStyles struct {
	title, bold, header, bad, neutral int
}

func newXLSXStyles(f *excelize.File) (xlsxStyles, error) {
	var s xlsxStyles
	for _, x := range []struct {
		id    *int
		style excelize.Style
	}{
		{&s.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}},
		{&s.bold, excelize.Style{Font: &excelize.Font{Bold: true}}},
		{&s.header, excelize.Style{Font: &excelize.Font{Bold: true},
			Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{headerFill}},
			Border: []excelize.Border{{Type: "bottom", Color: "8EA9DB", Style: 1}}}},
		{&s.bad, excelize.Style{Font: &excelize.Font{Color: badFont},
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{badFill}}}},
		{&s.neutral, excelize.Style{Font: &excelize.Font{Color: neutralFont},
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{neutralFill}}}},
	} {
		id, err := f.NewStyle(&x.style)
		if err != nil {
			return s, fmt.Errorf("xlsx style: %w", err)
		}
		*x.id = id
	}
	return s, nil
}

// WriteXLSX writes report.xlsx's content: Summary (run metadata, totals,
// refusals, a chart of active connectors per group), Actions (one row per
// action, as in report.csv), Invalid rows, and Groups.
//
// Actions and Invalid rows, which grow with the mapping, go through
// excelize's StreamWriter, which spills rows to a temporary file instead
// of building the sheet in memory; Summary and Groups are small.
//
// Text from the tenant or the mapping is always written as a string cell,
// never as a formula, whatever its first character: unlike CSV, XLSX says
// what a cell is, so no quote prefix is needed. The text stays exact
// unless XML cannot hold it or it could disguise itself (see xlsxCells);
// the Summary sheet counts the cells where that was not so.
func WriteXLSX(w io.Writer, r *Report) error {
	f := excelize.NewFile()
	defer f.Close() // removes the stream writers' temporary files
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	for _, name := range []string{SheetActions, SheetInvalid, SheetGroups} {
		if _, err := f.NewSheet(name); err != nil {
			return fmt.Errorf("xlsx sheet %s: %w", name, err)
		}
	}
	st, err := newXLSXStyles(f)
	if err != nil {
		return err
	}
	// The Summary goes last: it says how many cells of the other sheets
	// could not keep their exact text.
	cells := &xlsxCells{}
	if err := writeGroupsSheet(f, r, st, cells); err != nil {
		return fmt.Errorf("xlsx sheet %s: %w", SheetGroups, err)
	}
	if err := writeActionsSheet(f, r, st, cells); err != nil {
		return fmt.Errorf("xlsx sheet %s: %w", SheetActions, err)
	}
	if err := writeInvalidSheet(f, r, st, cells); err != nil {
		return fmt.Errorf("xlsx sheet %s: %w", SheetInvalid, err)
	}
	if err := writeSummarySheet(f, r, st, cells); err != nil {
		return fmt.Errorf("xlsx sheet %s: %w", SheetSummary, err)
	}
	f.SetActiveSheet(0)
	// File.Write builds the whole archive in a bytes.Buffer and then copies
	// it to w, so memory would grow with the report. Its ZipWriter hook is
	// handed that buffer; a zip writer on w instead streams the archive
	// straight to the file, and the buffer stays empty. (The buffer only
	// matters to excelize for encryption, which is not used, and for
	// patching entries over 4 GiB, which Excel's row limit rules out.)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	if err := f.Write(w); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}

// xlsxCellChars is Excel's limit on the length of a cell's text, in
// UTF-16 code units; excelize would cut a longer text silently.
const xlsxCellChars = excelize.TotalCellChars

// xlsxCells makes text from outside fit for a cell and counts the cells
// whose text it could not keep exact, for the Summary sheet to say so.
//
// XML 1.0 cannot hold most C0 control characters, and excelize would turn
// them (and bytes that are not UTF-8) into U+FFFD without a word. Those,
// and the characters that could disguise a name in Excel as on a terminal
// (bidirectional overrides, zero-width and other invisible characters),
// are written as the visible escapes every human view uses (safetext):
// \x1b, \u202e. Line breaks stay: a cell shows them. Text past Excel's
// cell limit is cut. report.csv and report.json keep the exact text.
type xlsxCells struct {
	escaped int // cells with characters written as escapes
	cut     int // cells cut at Excel's limit
}

// text is s for a stream writer's cell (an inline string).
func (x *xlsxCells) text(s string) string {
	if s == "" {
		return s
	}
	if e := safetext.EscapeText(s); len(e) != len(s) { // an escape is always longer than what it stands for
		x.escaped++
		s = e
	}
	if len(s) > xlsxCellChars/2 { // otherwise it fits whatever the characters
		if t, cut := cutUTF16(s, xlsxCellChars); cut {
			x.cut++
			s = t
		}
	}
	return s
}

// shared is text for a cell set with SetCellStr (a shared string). Excel
// reads _xHHHH_ in a shared string as the character U+HHHH (ECMA-376's
// escape for characters XML cannot hold), and excelize does not escape
// such text in shared strings as its stream writer does: "_x202E_" in a
// group name would become a right-to-left override. The escape for a
// literal underscore, _x005F_, keeps the text as written.
func (x *xlsxCells) shared(s string) string {
	s = x.text(s)
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && isXMLEscape(s[i:]) {
			b.WriteString("_x005F")
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isXMLEscape reports whether s starts with _xHHHH_.
func isXMLEscape(s string) bool {
	if len(s) < 7 || s[1] != 'x' || s[6] != '_' {
		return false
	}
	for _, c := range []byte(s[2:6]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// cutUTF16 cuts s to at most limit UTF-16 code units, an ellipsis
// included, at a character boundary.
func cutUTF16(s string, limit int) (string, bool) {
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > limit-1 { // room for the ellipsis
			rest := 0
			for _, r := range s[i:] {
				rest += max(utf16.RuneLen(r), 1)
			}
			if n+rest <= limit {
				return s, false
			}
			return s[:i] + safetext.Ellipsis, true
		}
		n += w
	}
	return s, false
}

// note is the Summary's line about the cells changed.
func (x *xlsxCells) note() string {
	if x.escaped == 0 && x.cut == 0 {
		return "none: every cell holds the exact text"
	}
	var parts []string
	if x.escaped > 0 {
		parts = append(parts, fmt.Sprintf("%d cell(s) hold control, invisible or bidirectional characters, or bytes that are not UTF-8: "+
			"they are shown as \\xNN or \\uNNNN escapes (XML cannot hold control characters, and the others could disguise a name)", x.escaped))
	}
	if x.cut > 0 {
		parts = append(parts, fmt.Sprintf("%d cell(s) were cut at Excel's limit of %d characters", x.cut, xlsxCellChars))
	}
	return strings.Join(parts, "; ") + "; report.csv and report.json hold the exact text"
}

// cellName is excelize.CoordinatesToCellName for coordinates known to be
// valid (the sheets here are far from Excel's limits).
func cellName(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col, row)
	return name
}

func colName(col int) string {
	name, _ := excelize.ColumnNumberToName(col)
	return name
}

// headerRange is "A1:X<rows>" for a header of n columns over rows rows.
func headerRange(n, rows int) string {
	return "A1:" + cellName(n, rows)
}

// writeActionsSheet streams one row per action, in CSVHeader order. The
// header is frozen and filtered, failed moves are red and moves of
// unknown fate amber, so the rows that need a look stand out.
func writeActionsSheet(f *excelize.File, r *Report, st xlsxStyles, cells *xlsxCells) error {
	// The filter must be set before the stream writer takes the sheet: the
	// stream writer writes the sheet's settings around the rows it streams.
	if err := f.AutoFilter(SheetActions, headerRange(len(CSVHeader), xlsxActionRows(r)+1), nil); err != nil {
		return err
	}
	widths := make([]float64, len(CSVHeader))
	for i, h := range CSVHeader {
		// Room for the filter button beside the header text.
		widths[i] = max(actionWidths[h], float64(len(h))+3)
	}
	// So must the print layout (see setPrintLayout), and after the filter,
	// which replaces the sheet's properties.
	if err := setPrintLayout(f, SheetActions, r, columnsPx(widths), true, ""); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(SheetActions)
	if err != nil {
		return err
	}
	for i, w := range widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(frozenHeader()); err != nil {
		return err
	}
	if err := sw.SetRow("A1", stringRow(CSVHeader), excelize.RowOpts{StyleID: st.header}); err != nil {
		return err
	}
	rec := make([]string, len(CSVHeader))
	row := make([]any, len(CSVHeader))
	for i := range r.Actions[:xlsxActionRows(r)] {
		a := &r.Actions[i]
		actionRecord(a, rec)
		for j, s := range rec {
			row[j] = actionCell(j, a, s, cells)
		}
		var opts excelize.RowOpts
		switch {
		case a.Result == string(executor.Failed):
			opts.StyleID = st.bad
		case unknownResult(a.Result):
			opts.StyleID = st.neutral
		}
		if err := sw.SetRow(cellName(1, i+2), row, opts); err != nil {
			return fmt.Errorf("row %d: %w", i+2, err)
		}
	}
	return sw.Flush()
}

// xlsxMaxRows is Excel's limit on rows per sheet (a variable so that a
// test can lower it).
var xlsxMaxRows = excelize.TotalRows

// xlsxActionRows is how many actions fit on the Actions sheet under its
// header. A report beyond Excel's limit keeps the first ones and says so
// on the Summary sheet; report.csv and report.json hold them all.
func xlsxActionRows(r *Report) int { return min(len(r.Actions), xlsxMaxRows-1) }

// actionCell is the value of column j: numbers where Excel should sort and
// sum them, nil (an empty cell) where the CSV has an empty cell, and the
// text otherwise.
func actionCell(j int, a *Action, s string, cells *xlsxCells) any {
	if s == "" {
		return nil
	}
	switch CSVHeader[j] {
	case "row":
		return a.Row
	case "wave":
		return a.Wave
	case "httpStatus":
		return a.HTTPStatus
	case "attempts":
		return a.Attempts
	}
	return cells.text(s)
}

func stringRow(cells []string) []any {
	row := make([]any, len(cells))
	for i, c := range cells {
		row[i] = c
	}
	return row
}

func frozenHeader() *excelize.Panes {
	return &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}
}

// writeInvalidSheet streams the invalid rows: an invalid mapping can be as
// long as the mapping itself.
func writeInvalidSheet(f *excelize.File, r *Report, st xlsxStyles, cells *xlsxCells) error {
	n := 0
	for i := range r.Actions {
		if r.Actions[i].Action == string(plan.ActionInvalid) {
			n++
		}
	}
	n = min(n, xlsxMaxRows-1) // as for Actions; the CSV has every row
	if n > 0 {
		if err := f.AutoFilter(SheetInvalid, headerRange(len(InvalidHeader), n+1), nil); err != nil {
			return err
		}
	}
	widths := []float64{6, 32, 24, 70, 38, 32, 13, 32, 38, 32}
	for i, w := range widths {
		widths[i] = max(w, float64(len(InvalidHeader[i]))+3)
	}
	// Before the stream writer and after the filter, as for Actions.
	if err := setPrintLayout(f, SheetInvalid, r, columnsPx(widths), true, ""); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(SheetInvalid)
	if err != nil {
		return err
	}
	for i, w := range widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(frozenHeader()); err != nil {
		return err
	}
	if err := sw.SetRow("A1", stringRow(InvalidHeader), excelize.RowOpts{StyleID: st.header}); err != nil {
		return err
	}
	if n == 0 {
		if err := sw.SetRow("A2", []any{noInvalidText}); err != nil {
			return err
		}
		return sw.Flush()
	}
	row, line := make([]any, len(InvalidHeader)), 2
	for i := 0; i < len(r.Actions) && line <= n+1; i++ {
		a := &r.Actions[i]
		if a.Action != string(plan.ActionInvalid) {
			continue
		}
		var rowNum any
		if a.Row != 0 {
			rowNum = a.Row
		}
		row[0] = rowNum
		for j, s := range []string{a.MappedConnector, a.MappedGroup, a.Reason, a.ConnectorID, a.MachineName,
			a.Kind, a.MappedApplication, a.ApplicationID, a.DisplayName} {
			row[j+1] = orNil(cells.text(s))
		}
		if err := sw.SetRow(cellName(1, line), row); err != nil {
			return fmt.Errorf("row %d: %w", line, err)
		}
		line++
	}
	return sw.Flush()
}

// orNil makes an empty string an empty cell rather than an empty string
// cell, as in the Actions sheet.
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// writeGroupsSheet writes one row per group; groups whose applications
// lose every active connector are red.
func writeGroupsSheet(f *excelize.File, r *Report, st xlsxStyles, cells *xlsxCells) error {
	const sh = SheetGroups
	if len(r.Groups) == 0 {
		// A note, no table: nothing to repeat, and a portrait page is wide
		// enough.
		if err := setPrintLayout(f, sh, r, defaultColPx, false, ""); err != nil {
			return err
		}
		return f.SetCellStr(sh, "A1", noGroupsText)
	}
	for i, h := range GroupsHeader {
		if err := f.SetCellStr(sh, cellName(i+1, 1), h); err != nil {
			return err
		}
	}
	if err := f.SetRowStyle(sh, 1, 1, st.header); err != nil {
		return err
	}
	widths := []float64{28, 38, 9, 18, 17, 14, 13, 15, 16, 60}
	for i, w := range widths {
		if err := f.SetColWidth(sh, colName(i+1), colName(i+1), w); err != nil {
			return err
		}
	}
	for i, g := range r.Groups {
		line := i + 2
		def := ""
		if g.IsDefault {
			def = "yes"
		}
		vals := []any{g.Name, g.ID, def, g.ConnectorsBefore, g.ConnectorsAfter, g.ActiveBefore, g.ActiveAfter,
			len(g.Applications), coverageText(g.Coverage), strings.Join(g.Applications, "; ")}
		for j, v := range vals {
			var err error
			switch v := v.(type) {
			case string:
				// SetCellStr, not SetCellValue: a string cell whatever the
				// text looks like.
				err = f.SetCellStr(sh, cellName(j+1, line), cells.shared(v))
			case int:
				err = f.SetCellInt(sh, cellName(j+1, line), int64(v))
			}
			if err != nil {
				return err
			}
		}
		if g.Coverage == plan.CoverageGap {
			if err := f.SetCellStyle(sh, cellName(1, line), cellName(len(GroupsHeader), line), st.bad); err != nil {
				return err
			}
		}
	}
	if err := f.SetPanes(sh, frozenHeader()); err != nil {
		return err
	}
	if err := f.AutoFilter(sh, headerRange(len(GroupsHeader), len(r.Groups)+1), nil); err != nil {
		return err
	}
	// After the filter: AutoFilter replaces the sheet's properties, and
	// with them fitToPage.
	return setPrintLayout(f, sh, r, columnsPx(widths), true, "")
}

func coverageText(c string) string {
	if c == "" {
		return "unknown"
	}
	return c
}

// writeSummarySheet writes the run metadata, totals and refusals as label
// and value pairs, and the chart when there are groups to chart.
func writeSummarySheet(f *excelize.File, r *Report, st xlsxStyles, cells *xlsxCells) error {
	const sh = SheetSummary
	line := 1
	var err error
	set := func(col int, v any) {
		if err != nil {
			return
		}
		ref := cellName(col, line)
		switch v := v.(type) {
		case string:
			err = f.SetCellStr(sh, ref, cells.shared(v))
		case int:
			err = f.SetCellInt(sh, ref, int64(v))
		}
	}
	pair := func(label string, v any) {
		set(1, label)
		set(2, v)
		line++
	}
	heading := func(text string, style int) {
		set(1, text)
		if err == nil {
			err = f.SetCellStyle(sh, cellName(1, line), cellName(1, line), style)
		}
		line++
	}

	heading(fmt.Sprintf("connrecon %s: %s (exit %d)", r.Mode, r.Outcome, r.ExitCode), st.title)
	line++
	pair("Tool", r.Tool)
	pair("Version", r.Version)
	pair("Mode", r.Mode)
	pair("Outcome", r.Outcome)
	pair("Exit code", r.ExitCode)
	pair("Message", r.Message)
	pair("Started (UTC)", timeText(r.StartedAt))
	pair("Finished (UTC)", timeText(r.FinishedAt))
	pair("Graph URL", r.GraphURL)
	pair("Operator", orUnknown(r.Operator))
	pair("Mapping file", r.Mapping.Path)
	pair("Mapping sheet", r.Mapping.Sheet)
	pair("Mapping SHA-256", r.Mapping.SHA256)
	pair("Mapping rows", r.Mapping.Rows)
	pair("Journal", r.Journal)
	if r.Backout != "" {
		pair("Back-out", backoutText(r))
	}
	pair("Run id", r.RunID)
	if n := xlsxActionRows(r); n < len(r.Actions) {
		pair("Actions sheet", fmt.Sprintf("the first %d of %d actions (Excel's row limit): report.csv and report.json hold them all", n, len(r.Actions)))
	}
	// Filled in last, once every cell of the workbook is written.
	noteLine := line
	line++
	line++
	heading("Totals", st.bold)
	for _, t := range summaryTotals(r) {
		pair(t.label, t.n)
	}
	line++
	heading("Refusals", st.bold)
	if len(r.Refusals) == 0 {
		set(1, "none")
		line++
	} else {
		set(1, "guard")
		set(2, "message")
		set(3, "groups")
		if err == nil {
			err = f.SetCellStyle(sh, cellName(1, line), cellName(3, line), st.header)
		}
		line++
		for _, rf := range r.Refusals {
			set(1, rf.Guard)
			set(2, rf.Message)
			set(3, strings.Join(rf.Groups, "; "))
			line++
		}
	}
	line++
	heading("Groups", st.bold)
	if len(r.Groups) == 0 {
		set(1, noGroupsText)
	} else {
		set(1, "Per group before and after: see the Groups sheet. The chart shows active connectors per group.")
	}
	if err != nil {
		return err
	}
	if err := f.SetCellStr(sh, cellName(1, noteLine), "Text changed"); err != nil {
		return err
	}
	if err := f.SetCellStr(sh, cellName(2, noteLine), cells.note()); err != nil {
		return err
	}
	for i, w := range summaryWidths {
		if err := f.SetColWidth(sh, colName(i+1), colName(i+1), w); err != nil {
			return err
		}
	}
	// The facts print on the left of the first page, the chart beside them
	// on its right; the print area is both, and no more, so that text
	// running on past column C is not what sets the page's scale.
	lastCol, lastRow := len(summaryWidths), line
	width := columnsPx(summaryWidths)
	if len(r.Groups) > 0 {
		rows := summaryChartRows(len(r.Groups))
		lastCol = summaryChartCol + summaryChartCols - 1
		lastRow = max(lastRow, summaryChartRow+rows-1)
		width = summaryPrintPx
		if err := addActiveChart(f, len(r.Groups), rows); err != nil {
			return err
		}
	}
	// Nothing to chart without groups: an empty chart would only suggest
	// zero connectors.
	area := "'" + sh + "'!$A$1:$" + colName(lastCol) + "$" + strconv.Itoa(lastRow)
	return setPrintLayout(f, sh, r, width, true, area)
}

// The Summary's layout: the facts in columns A to C, column D a gap, and
// the chart from E3, ten default columns wide, as many rows high as
// summaryChartRows says. Not from E2: a chart touching row 1, which
// repeats at the top of every page, is drawn on every page by LibreOffice
// (its top edge, clipped, across the repeated row), as if it went on.
var summaryWidths = []float64{18, 70, 30}

const (
	summaryChartCol  = 5 // E
	summaryChartRow  = 3
	summaryChartCols = 10
)

// summaryPrintPx is the width of the Summary's print area with the chart,
// as Excel draws it.
var summaryPrintPx = columnsPx(summaryWidths) + float64((summaryChartCol-1-len(summaryWidths)+summaryChartCols)*defaultColPx)

// summaryChartRows is the chart's height in rows: room for each group's
// pair of bars, but never more than fits on the first printed page below
// the title row, with a tenth of the page to spare for what this estimate
// cannot know (a title row grown for its large font, a printer's own
// margins, another application's column widths). A chart of many groups
// is dense, then, but whole; the Groups sheet has the numbers.
func summaryChartRows(groups int) int {
	room := math.Inf(1) // the first page's height, in sheet pixels
	for _, p := range printPapers {
		w, h := printablePx(p, true)
		room = min(room, h/min(1, w/summaryPrintPx))
	}
	limit := int(room*0.9)/defaultRowPx - (summaryChartRow - 1)
	want := (160 + 24*groups + defaultRowPx - 1) / defaultRowPx
	return min(want, limit)
}

// excelizeRowPx is a default row's height (15 points) as excelize (2.11.1)
// counts it when it anchors a chart to the cells it covers: Excel and
// LibreOffice draw that row 20 pixels high. The chart is given to excelize
// in whole rows of its size, so that it covers the rows meant.
const excelizeRowPx = 18

// Printing: report.xlsx goes into change tickets, printed or saved as PDF.
// Every sheet prints one page wide and as many pages down as it takes,
// landscape when its columns are wider than a portrait page, with its
// header row repeated at the top of every page and a footer naming the
// sheet, the run and the page.
//
// The paper is not set: the file format's default is Letter, which Excel
// and LibreOffice use until the user picks another in the print dialog.
// The layout is planned for Letter and A4 alike (printPapers), with these
// margins in inches (Excel's "Normal" ones, but half an inch at the sides
// instead of 0.7).
const (
	printMarginSide   = 0.5
	printMarginTop    = 0.75 // and bottom
	printMarginHeader = 0.3  // to the header and the footer, from the edge
	pxPerInch         = 96   // Excel's pixels, at 100%
)

// printPapers are A4 and Letter, portrait, in inches.
var printPapers = [...]struct{ w, h float64 }{{8.27, 11.69}, {8.5, 11}}

// Excel's default column width and row height (15 points) in pixels.
const (
	defaultColPx = 64
	defaultRowPx = 20
)

// printablePx is the size of the printable area of paper p, in pixels at
// 100%.
func printablePx(p struct{ w, h float64 }, landscape bool) (w, h float64) {
	if landscape {
		p.w, p.h = p.h, p.w
	}
	return (p.w - 2*printMarginSide) * pxPerInch, (p.h - 2*printMarginTop) * pxPerInch
}

// columnPx is a column width (in characters, as stored) in pixels as Excel
// draws it with its default font (Calibri 11, whose digits are 7 pixels
// wide).
func columnPx(width float64) float64 {
	return math.Trunc((256*width + math.Trunc(128.0/7)) / 256 * 7)
}

func columnsPx(widths []float64) float64 {
	var px float64
	for _, w := range widths {
		px += columnPx(w)
	}
	return px
}

// setPrintLayout sets how sheet prints (see Printing): one page wide,
// landscape when its columns, widthPx wide, are wider than a portrait page;
// row 1 repeated on every page when titleRow; printing only area when it
// is not empty.
//
// For a sheet that a StreamWriter writes, it must be called before
// NewStreamWriter: the stream writer writes the sheet's properties (where
// fitToPage is) when it starts and the page setup it found when it is
// flushed, and after Flush the sheet is no longer there to change. The
// defined names are the workbook's, and the stream writer keeps nothing of
// this per row: memory does not grow with the rows.
func setPrintLayout(f *excelize.File, sheet string, r *Report, widthPx float64, titleRow bool, area string) error {
	orientation := "portrait"
	for _, p := range printPapers {
		if w, _ := printablePx(p, false); widthPx > w {
			orientation = "landscape"
		}
	}
	fit, one, zero := true, 1, 0
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	// fitToHeight 0: as many pages down as the rows take.
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &orientation, FitToWidth: &one, FitToHeight: &zero}); err != nil {
		return err
	}
	side, top, hf := printMarginSide, printMarginTop, printMarginHeader
	if err := f.SetPageMargins(sheet, &excelize.PageLayoutMarginsOptions{
		Left: &side, Right: &side, Top: &top, Bottom: &top, Header: &hf, Footer: &hf,
	}); err != nil {
		return err
	}
	// Not scaled with the sheet: the Actions sheet prints small, its footer
	// need not.
	noScale := false
	if err := f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{
		ScaleWithDoc: &noScale,
		OddFooter:    "&L&A&C" + footerText("connrecon "+r.Mode+" run "+r.RunID) + "&RPage &P of &N",
	}); err != nil {
		return err
	}
	quoted := "'" + sheet + "'!"
	if titleRow {
		if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: quoted + "$1:$1", Scope: sheet}); err != nil {
			return err
		}
	}
	if area != "" {
		if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Area", RefersTo: area, Scope: sheet}); err != nil {
			return err
		}
	}
	return nil
}

// footerText is s for a header or footer, where "&" starts a code.
func footerText(s string) string {
	return strings.ReplaceAll(s, "&", "&&")
}

// total is one line of the totals, shared by XLSX and Markdown.
type total struct {
	label string // as in report.json's summary
	n     int
}

// summaryTotals are the totals the human views show (XLSX, Markdown,
// HTML). When applications are involved (hasApplications), the moves of
// each kind follow move; a run without applications shows the totals it
// always showed.
func summaryTotals(r *Report) []total {
	s := r.Summary
	t := []total{{"actions", len(r.Actions)}, {"move", s.Move}}
	if r.hasApplications() {
		t = append(t, total{"connectorMoves", s.ConnectorMoves}, total{"applicationMoves", s.ApplicationMoves})
	}
	return append(t,
		total{"noop", s.Noop}, total{"invalid", s.Invalid}, total{"unmanaged", s.Unmanaged},
		total{"succeeded", s.Succeeded}, total{"failed", s.Failed},
		total{"notAttempted", s.NotAttempted}, total{"unknown", s.Unknown})
}

// addActiveChart puts a clustered bar chart of active connectors per group,
// before and after, on the Summary sheet, reading the Groups sheet's data.
func addActiveChart(f *excelize.File, groups, rows int) error {
	noVary := false
	last := strconv.Itoa(groups + 1)
	ref := func(col string) string { return "'" + SheetGroups + "'!$" + col + "$2:$" + col + "$" + last }
	return f.AddChart(SheetSummary, cellName(summaryChartCol, summaryChartRow), &excelize.Chart{
		Type: excelize.Bar,
		Series: []excelize.ChartSeries{
			{Name: "'" + SheetGroups + "'!$" + groupsActiveBeforeCol + "$1", Categories: ref(groupsNameCol), Values: ref(groupsActiveBeforeCol)},
			{Name: "'" + SheetGroups + "'!$" + groupsActiveAfterCol + "$1", Categories: ref(groupsNameCol), Values: ref(groupsActiveAfterCol)},
		},
		Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Active connectors per group: before and after"}}},
		Legend: excelize.ChartLegend{Position: "bottom"},
		// One colour per series (before, after), not per group.
		VaryColors: &noVary,
		Dimension:  excelize.ChartDimension{Width: summaryChartCols * defaultColPx, Height: uint(rows * excelizeRowPx)},
		// Groups top to bottom in sheet order, as a reader expects.
		XAxis: excelize.ChartAxis{ReverseOrder: true},
		YAxis: excelize.ChartAxis{MajorGridLines: true},
	})
}

// timeText is t in RFC 3339 (UTC in a built report); empty when unset.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

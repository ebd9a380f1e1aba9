package mapping

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"connrecon/plan"
)

// A table is what the writers take: a header and rows of cells, all of
// one width. Table makes one from a mapping; the exports make their own.
type Table struct {
	Header []string
	Rows   [][]string
}

// MappingTable is the table of a mapping's usable rows, so that reading
// what is written gives the same rows: the connector and group columns,
// and the second ones when the file had them, under headers that read
// back as the same kind of column whatever the original ones were (a bare
// "Id" is a connector's only beside its other columns). Rows that are
// invalid on their own are left out: a malformed CSV line has no cells to
// write, and a cell that is not UTF-8 is not text a workbook can hold. So
// are repeats of a row, which count once.
func MappingTable(m *plan.Mapping) Table {
	alt, galt := m.ConnectorAltHeader != "", m.GroupAltHeader != ""
	t := Table{Header: []string{"connector"}}
	if alt {
		t.Header = []string{"connectorId", "machineName"}
	}
	if galt {
		t.Header = append(t.Header, "groupId", "groupName")
	} else {
		t.Header = append(t.Header, "group")
	}
	for _, r := range m.Rows {
		if r.Problem != "" || r.Duplicate {
			continue
		}
		row := []string{r.Connector}
		if alt {
			row = append(row, r.ConnectorAlt)
		}
		row = append(row, r.Group)
		if galt {
			row = append(row, r.GroupAlt)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// WriteCSV writes t as CSV the way Excel reads it best and the reader here
// reads it back exactly: UTF-8 with a byte order mark (without one, Excel
// on Windows takes the file for its code page), CRLF line ends, a cell
// quoted when it holds a comma, quote, line break or surrounding space,
// with quotes doubled. A cell a spreadsheet would take for a formula
// (starting with = + - @) gets a leading apostrophe, which ParseCSV removes
// again (csvUnescape): the file is safe to open and still reads back the
// same.
func WriteCSV(w io.Writer, t Table) error {
	bw := bufio.NewWriter(w)
	bw.Write(utf8BOM)
	writeRecord := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				bw.WriteByte(',')
			}
			c = csvEscape(c)
			if !needsQuotes(c) {
				bw.WriteString(c)
				continue
			}
			bw.WriteByte('"')
			bw.WriteString(strings.ReplaceAll(c, `"`, `""`))
			bw.WriteByte('"')
		}
		bw.WriteString("\r\n")
	}
	writeRecord(t.Header)
	for _, r := range t.Rows {
		writeRecord(r)
	}
	return bw.Flush()
}

// needsQuotes: the cell holds what CSV must quote (any of the three
// delimiters the reader detects), or white space at either end.
func needsQuotes(c string) bool {
	return strings.ContainsAny(c, ",;\t\"\r\n") || trimCell(c) != c
}

// formulaStart reports whether a spreadsheet opening a CSV file takes a
// cell starting with b for a formula (CSV injection).
func formulaStart(b byte) bool {
	return b == '=' || b == '+' || b == '-' || b == '@'
}

// csvEscape prefixes an apostrophe to a cell a spreadsheet would take for
// a formula, and to one that starts with an apostrophe that csvUnescape
// would otherwise remove.
func csvEscape(c string) string {
	if c == "" {
		return c
	}
	if formulaStart(c[0]) || c[0] == '\'' && len(c) > 1 && (formulaStart(c[1]) || c[1] == '\'') {
		return "'" + c
	}
	return c
}

// csvUnescape undoes csvEscape: a cell starting with an apostrophe and
// then a formula character or a second apostrophe loses the first. A
// spreadsheet user types the same apostrophe to keep "=x" from being a
// formula, so such a cell in any CSV means what follows it.
func csvUnescape(c []byte) []byte {
	if len(c) > 1 && c[0] == '\'' && (formulaStart(c[1]) || c[1] == '\'') {
		return c[1:]
	}
	return c
}

// ErrUnwritable is a cell a workbook cannot hold: a control character,
// which XML 1.0 forbids, or more than a cell's limit.
var ErrUnwritable = errors.New("a cell a workbook cannot hold")

// WriteXLSX writes t as a workbook of one sheet (WriteWorkbook).
func WriteXLSX(w io.Writer, sheet string, t Table) error {
	return WriteWorkbook(w, []Sheet{{Name: sheet, Table: t}})
}

// Sheet is one worksheet of a workbook: its name and its table.
type Sheet struct {
	Name string
	Table
}

// WriteWorkbook writes the sheets in order (the first is the one a mapping
// is read from), every cell a string (never a formula or a number,
// whatever it holds: "0123" stays "0123"), each header frozen and
// filtered. Rows stream through excelize's StreamWriter, so a large table
// is not built in memory. A cell a workbook cannot hold (CellFits) refuses
// the whole workbook before anything is written.
func WriteWorkbook(w io.Writer, sheets []Sheet) error {
	if len(sheets) == 0 {
		return errors.New("xlsx: a workbook needs a sheet")
	}
	for _, sh := range sheets {
		t := sh.Table
		for i := -1; i < len(t.Rows); i++ {
			r := t.Header
			if i >= 0 {
				r = t.Rows[i]
			}
			for j, c := range r {
				if err := CellFits(c); err != nil {
					return fmt.Errorf("sheet %s, row %d, column %s: %w", plan.QuoteShort(sh.Name), i+2, plan.ColumnName(j), err)
				}
			}
		}
	}
	f := excelize.NewFile()
	defer f.Close()
	for i, sh := range sheets {
		var err error
		if i == 0 {
			err = f.SetSheetName("Sheet1", sh.Name)
		} else {
			_, err = f.NewSheet(sh.Name)
		}
		if err != nil {
			return fmt.Errorf("xlsx: sheet %s: %w", plan.QuoteShort(sh.Name), err)
		}
		if err := writeSheet(f, sh); err != nil {
			return fmt.Errorf("xlsx: sheet %s: %w", plan.QuoteShort(sh.Name), err)
		}
	}
	f.SetActiveSheet(0)
	_, err := f.WriteTo(w)
	return err
}

func writeSheet(f *excelize.File, sh Sheet) error {
	t, sheet := sh.Table, sh.Name
	width := len(t.Header)
	if width > 0 {
		last, _ := excelize.CoordinatesToCellName(width, len(t.Rows)+1)
		if err := f.AutoFilter(sheet, "A1:"+last, nil); err != nil {
			return err
		}
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	for i := 1; i <= width; i++ {
		if err := sw.SetColWidth(i, i, 36); err != nil {
			return err
		}
	}
	row := make([]any, width)
	put := func(n int, cells []string) error {
		for j := range row {
			row[j] = nil
			if j < len(cells) && cells[j] != "" {
				row[j] = excelize.Cell{Value: cellValue(cells[j])}
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, n)
		return sw.SetRow(cell, row)
	}
	if err := put(1, t.Header); err != nil {
		return err
	}
	for i, r := range t.Rows {
		if err := put(i+2, r); err != nil {
			return fmt.Errorf("row %d: %w", i+2, err)
		}
	}
	return sw.Flush()
}

// CellFits says why a workbook cannot hold c, if it cannot: a control
// character (XML 1.0 has no way to write one), text that is not UTF-8, or
// more than a cell's limit.
func CellFits(c string) error {
	if len(c) > maxCellBytes || utf8.RuneCountInString(c) > maxCellChars {
		return fmt.Errorf("%w: more than %d characters", ErrUnwritable, maxCellChars)
	}
	if !utf8.ValidString(c) {
		return fmt.Errorf("%w: text that is not UTF-8", ErrUnwritable)
	}
	for _, r := range c {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return fmt.Errorf("%w: the control character %U", ErrUnwritable, r)
		}
	}
	return nil
}

// BlankUnwritable leaves empty every cell of the sheets that a workbook
// cannot hold (CellFits), and returns how many it emptied. Tables with
// such a cell are replaced by copies: the caller's rows are not changed.
// An export or back-out row names its connector and group by id as well,
// so a name left out still reads back as the same row.
func BlankUnwritable(sheets []Sheet) int {
	n := 0
	for k := range sheets {
		t := &sheets[k].Table
		copied := false
		for i, r := range t.Rows {
			rowCopied := false
			for j, c := range r {
				if c == "" || CellFits(c) == nil {
					continue
				}
				if !copied {
					t.Rows = append([][]string(nil), t.Rows...)
					copied = true
				}
				if !rowCopied {
					t.Rows[i] = append([]string(nil), r...)
					rowCopied = true
				}
				t.Rows[i][j] = ""
				n++
			}
		}
	}
	return n
}

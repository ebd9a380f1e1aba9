package plan

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// maxUnzipSize bounds what a workbook may unpack to. A mapping of 100,000
// rows unpacks to about 15 MB; the limit turns a zip bomb into an error
// instead of exhausting memory or the temporary directory.
const maxUnzipSize = 1 << 30

// What to do with the formats that are not read. Each message says how to
// get a file that is.
const (
	xlsMessage      = "an Excel 97-2003 workbook (.xls) cannot be read: open it in Excel and save it as .xlsx (Excel Workbook) or CSV UTF-8"
	xlsmMessage     = "a macro-enabled workbook (.xlsm) is not accepted as a mapping: save a copy as .xlsx (Excel Workbook) or CSV UTF-8"
	xlsbMessage     = "an Excel binary workbook (.xlsb) cannot be read: save it as .xlsx (Excel Workbook) or CSV UTF-8"
	odsMessage      = "an OpenDocument spreadsheet (.ods) cannot be read: save it as .xlsx (Excel 2007-365) or CSV (UTF-8)"
	passwordMessage = "the workbook is password-protected (encrypted) and cannot be read: remove the password " +
		"(File > Info > Protect Workbook > Encrypt with Password, clear it, save) or export the sheet as CSV UTF-8"
	damagedMessage = "the workbook cannot be read; it may be damaged or not an Excel workbook: open it in Excel and save it again as .xlsx, or export CSV UTF-8"
)

// workbookOpener opens the workbook with excelize: from the file by name
// (excelize then reads it in place) or, in tests and fuzzing, from memory.
type workbookOpener func(excelize.Options) (*excelize.File, error)

func openFileWorkbook(path string) workbookOpener {
	return func(o excelize.Options) (*excelize.File, error) { return excelize.OpenFile(path, o) }
}

func openReaderWorkbook(r io.ReaderAt, size int64) workbookOpener {
	return func(o excelize.Options) (*excelize.File, error) {
		return excelize.OpenReader(io.NewSectionReader(r, 0, size), o)
	}
}

// oleFileError explains an OLE compound file: an encrypted OOXML workbook
// keeps its package in a stream named EncryptedPackage; anything else in
// that container is taken for an Excel 97-2003 workbook.
func oleFileError(name string, r io.ReaderAt, size int64) error {
	encrypted, err := containsAt(r, size, utf16LE("EncryptedPackage"))
	if err != nil {
		return &FileError{Path: name, Msg: "cannot read mapping", Err: err}
	}
	if encrypted {
		return &FileError{Path: name, Msg: passwordMessage}
	}
	return &FileError{Path: name, Msg: xlsMessage}
}

// readWorkbook reads a zip-based file: an XLSX workbook, or one of the
// zip-based formats that are refused with a message.
func readWorkbook(name string, r io.ReaderAt, size int64, ext string, opts ReadOptions, open workbookOpener) (*Mapping, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &FileError{Path: name, Msg: damagedMessage, Cause: err}
	}
	switch kind := zipKind(zr); {
	case kind == "ods" || ext == ".ods":
		return nil, &FileError{Path: name, Msg: odsMessage}
	case kind == "xlsb" || ext == ".xlsb":
		return nil, &FileError{Path: name, Msg: xlsbMessage}
	case kind == "xlsm" || ext == ".xlsm":
		return nil, &FileError{Path: name, Msg: xlsmMessage}
	case kind == "":
		return nil, &FileError{Path: name, Msg: "this is a zip archive but not an Excel workbook (it has no xl/workbook.xml): export the mapping as .xlsx or CSV UTF-8"}
	}
	return readXLSX(name, zr, r, size, opts, open)
}

// zipKind tells the zip-based formats apart by their declared content
// types, so a renamed file is recognised for what it is: "xlsx", "xlsm",
// "xlsb", "ods", or "" for none of them.
func zipKind(zr *zip.Reader) string {
	if mt, err := readZipPart(zr, "mimetype", 256); err == nil && bytes.HasPrefix(mt, []byte("application/vnd.oasis.opendocument")) {
		return "ods"
	}
	ct, err := readZipPart(zr, "[Content_Types].xml", 1<<20)
	switch {
	case err != nil:
		// No content types: let excelize try if the workbook part is there.
		if zipFile(zr, "xl/workbook.xml") != nil {
			return "xlsx"
		}
		return ""
	case bytes.Contains(ct, []byte("sheet.binary.macroEnabled.main")):
		return "xlsb"
	case bytes.Contains(ct, []byte("macroEnabled")): // .xlsm, .xltm, .xlam
		return "xlsm"
	case bytes.Contains(ct, []byte("spreadsheetml.sheet.main+xml")), bytes.Contains(ct, []byte("spreadsheetml.template.main+xml")):
		return "xlsx"
	}
	return ""
}

// readXLSX reads one worksheet through excelize's streaming row reader.
//
// Cells are read raw (RawCellValue), so an id or a number is the text that
// is stored, never reformatted by the cell's number format; a formula gives
// its saved (cached) result. A formula with no saved result, as programs
// that do not calculate write them, comes back from excelize as "", the
// same as an empty cell; explainEmpty tells the two apart, and nothing is
// calculated here. Row numbers are the sheet's own, whatever rows
// are blank or missing from the file. Hidden rows and columns are read like
// any other: hiding is a view setting, and a mapping row that is hidden is
// still part of the mapping (validate lists every row it reads).
func readXLSX(name string, zr *zip.Reader, r io.ReaderAt, size int64, opts ReadOptions, open workbookOpener) (*Mapping, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return nil, &FileError{Path: name, Msg: "cannot read mapping", Err: err}
	}
	f, err := open(excelize.Options{UnzipSizeLimit: maxUnzipSize})
	if err != nil {
		return nil, workbookError(name, err)
	}
	defer f.Close()
	sheet, err := pickSheet(name, f, opts.Sheet)
	if err != nil {
		return nil, err
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, &FileError{Path: name, Msg: fmt.Sprintf("cannot read sheet %q", sheet), Cause: err}
	}
	defer rows.Close()

	b := newRowBuilder(name, rowsHint(zr, sheetPart(zr, sheet)))
	b.m.Sheet = sheet
	raw := excelize.Options{RawCellValue: true}
	line, headerLine := 0, 0
	// Until the header is found: the non-blank rows looked at, the last
	// of them, and the first, which the error names when none is the
	// header.
	looked, lastLooked, firstLine := 0, 0, 0
	var firstCells []string
	// Next steps through every row number, blank or absent ones included,
	// so line is the spreadsheet's row number.
	for rows.Next() {
		line++
		cells, err := rows.Columns(raw)
		if err != nil {
			if b.ci < 0 {
				return nil, &FileError{Path: name, Line: line, Msg: fmt.Sprintf("cannot read row %d of sheet %q", line, sheet), Cause: err}
			}
			b.invalid(line, -1, "cannot read this row: "+err.Error())
			continue
		}
		// Leading blank rows and columns are tolerated, and columns keep
		// their letters. Trailing empty cells are not returned at all.
		if blankCells(cells) {
			continue
		}
		if b.ci < 0 {
			// The header is the first of the first few non-blank rows
			// that names both columns: a title or a note above the table
			// is skipped, never read as data.
			looked, lastLooked = looked+1, line
			if ci, gi := headerColumns(cells); ci >= 0 && gi >= 0 {
				if err := b.header(line, cells); err != nil {
					return nil, err
				}
				headerLine = line
				continue
			}
			if looked == 1 {
				firstLine, firstCells = line, slices.Clone(cells)
			}
			if looked == maxHeaderSearch {
				return nil, b.noHeader(firstLine, firstCells, looked, lastLooked)
			}
			continue
		}
		b.row(line, trimCell(cell(cells, b.ci)), trimCell(cell(cells, b.gi)))
	}
	if err := rows.Error(); err != nil {
		return nil, &FileError{Path: name, Line: line, Msg: fmt.Sprintf("cannot read sheet %q", sheet), Cause: err}
	}
	if b.ci < 0 && looked > 0 {
		return nil, b.noHeader(firstLine, firstCells, looked, lastLooked)
	}
	if b.ci < 0 {
		return nil, &FileError{Path: name, Msg: fmt.Sprintf("sheet %q is empty: the mapping needs a header row naming a connector column and a group column (%s)",
			sheet, sheetList(f, "the workbook's sheets are"))}
	}
	// Repeats first: they index rows, and explainEmpty may drop some.
	b.repeats()
	if len(b.empty) > 0 {
		b.explainEmpty(zr, sheet, headerLine)
	}
	m := b.done()
	m.SHA256 = hex.EncodeToString(h.Sum(nil))
	return m, nil
}

// maxHeaderSearch is how many non-blank rows of a sheet may hold the
// header: room for a title, a note or two and a two-row heading above the
// table, while a sheet that is no mapping at all is refused after reading
// a few rows, not all of them.
const maxHeaderSearch = 10

// noHeader is the error for a sheet none of whose first non-blank rows
// names both columns: it is about the first of them, as when the header
// had to be the first non-blank row, and says how far the search went
// (looked rows, the last at row last).
func (b *rowBuilder) noHeader(firstLine int, firstCells []string, looked, last int) error {
	ci, gi := headerColumns(firstCells)
	err := b.headerError(firstLine, firstCells, ci, gi)
	if looked > 1 {
		err.Msg += fmt.Sprintf(" (looked at the first %d non-blank rows, to row %d)", looked, last)
	}
	return err
}

// workbookError turns an excelize open failure into what to do about it.
func workbookError(name string, err error) error {
	msg := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, excelize.ErrWorkbookPassword), strings.Contains(msg, "password"), strings.Contains(msg, "encrypt"):
		return &FileError{Path: name, Msg: passwordMessage, Cause: err}
	case strings.Contains(msg, "unzip size"):
		return &FileError{Path: name, Msg: fmt.Sprintf("the workbook unpacks to more than %d MiB, far beyond any mapping: export the mapping sheet alone as .xlsx or CSV UTF-8", maxUnzipSize>>20), Cause: err}
	}
	return &FileError{Path: name, Msg: damagedMessage, Cause: err}
}

// pickSheet returns the sheet to read: the one named (Excel's sheet names
// are case-insensitive, so is the match; a hidden sheet may be named), or
// else the first visible sheet in the workbook's tab order.
//
// Hidden sheets do not count as "the first sheet": the administrator who
// checks the workbook sees the first visible tab, and a hidden draft or
// lookup sheet in front of it must not silently become the mapping that
// is applied. Only a workbook with no visible sheet at all (Excel does
// not save one; a program might) falls back to the first sheet.
// Mapping.Sheet says which sheet was read.
func pickSheet(name string, f *excelize.File, want string) (string, error) {
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return "", &FileError{Path: name, Msg: "the workbook has no sheets: " + damagedMessage}
	}
	if want == "" {
		for _, s := range sheets {
			if visible, err := f.GetSheetVisible(s); err == nil && visible {
				return s, nil
			}
		}
		return sheets[0], nil
	}
	for _, s := range sheets {
		if s == want {
			return s, nil
		}
	}
	for _, s := range sheets {
		if strings.EqualFold(s, want) {
			return s, nil
		}
	}
	return "", &FileError{Path: name, Msg: fmt.Sprintf("no sheet %q in the workbook: %s", want, sheetList(f, "its sheets are"))}
}

// sheetList names the workbook's sheets for a message, marking hidden ones.
func sheetList(f *excelize.File, lead string) string {
	var names []string
	for _, s := range f.GetSheetList() {
		q := strconv.Quote(s)
		if visible, err := f.GetSheetVisible(s); err == nil && !visible {
			q += " (hidden)"
		}
		names = append(names, q)
	}
	if len(names) == 0 {
		return "the workbook has no sheets"
	}
	return lead + " " + strings.Join(names, ", ")
}

// cellAt is a cell position: a 1-based row and a 0-based column.
type cellAt struct{ line, col int }

// cellRange is a merged range, inclusive.
type cellRange struct{ top, left, bottom, right int }

func (r cellRange) contains(line, col int) bool {
	return line >= r.top && line <= r.bottom && col >= r.left && col <= r.right
}

func (r cellRange) String() string {
	return ColumnName(r.left) + strconv.Itoa(r.top) + ":" + ColumnName(r.right) + strconv.Itoa(r.bottom)
}

// explainEmpty looks again at a sheet that has empty connector or group
// cells. excelize's row reader gives the value of merged cells only in the
// top-left cell and gives "" for a formula that has no saved result; the
// sheet's own XML says which is which:
//
//   - A connector or group header merged downwards (A1:A2, a two-row
//     header) makes the rows it covers part of the header, not data rows
//     with an empty cell: they are dropped.
//   - An empty cell inside a merged range below the header gets a message
//     saying so, since the sheet shows a value there.
//   - A formula with no saved result (files written by a program and never
//     opened in a spreadsheet) is reported as such; nothing computes it
//     here.
//
// This second pass is made only when such cells exist, so a clean sheet is
// read once. It streams the sheet, so memory stays flat.
func (b *rowBuilder) explainEmpty(zr *zip.Reader, sheet string, headerLine int) {
	part := sheetPart(zr, sheet)
	if part == "" {
		return
	}
	want := make(map[cellAt]bool, len(b.empty))
	for _, e := range b.empty {
		want[cellAt{e.line, e.col}] = true
	}
	merges, formulas := scanSheet(zr, part, want)
	bottom := headerLine
	for _, r := range merges {
		if r.contains(headerLine, b.ci) || r.contains(headerLine, b.gi) {
			bottom = max(bottom, r.bottom)
		}
	}
	m := b.m
	for _, e := range b.empty {
		if e.line <= bottom {
			continue
		}
		p := &m.Problems[e.problem]
		msg := p.Message
		if f, ok := formulas[cellAt{e.line, e.col}]; ok {
			what := "group"
			if e.col == b.ci {
				what = "connector"
			}
			formula := "formula =" + f.text
			if f.text == "" {
				formula = "formula" // a shared formula, whose text is in the first cell
			}
			if f.saved {
				msg = fmt.Sprintf("the %s cell is empty: its %s gives an empty result", what, formula)
			} else {
				msg = fmt.Sprintf("the %s cell holds a %s with no saved result (the file was written by a program and never saved by a spreadsheet): "+
					"open it in Excel or LibreOffice and save it, or paste the values", what, formula)
			}
		} else {
			for _, r := range merges {
				if r.contains(e.line, e.col) {
					msg += fmt.Sprintf(": it is inside the merged cells %s, and only the first cell of a merge holds its value; unmerge them and fill in every row", r)
					break
				}
			}
		}
		if m.Rows[e.row].Problem == p.Message {
			m.Rows[e.row].Problem = msg
		}
		p.Message = msg
	}
	if bottom == headerLine {
		return
	}
	inHeader := func(line int) bool { return line > headerLine && line <= bottom }
	rows := m.Rows[:0]
	for _, r := range m.Rows {
		if !inHeader(r.Line) {
			rows = append(rows, r)
		}
	}
	m.Rows = rows
	problems := m.Problems[:0]
	for _, p := range m.Problems {
		if !inHeader(p.Line) {
			problems = append(problems, p)
		}
	}
	m.Problems = problems
}

// formulaCell is a formula whose result is empty.
type formulaCell struct {
	text  string // the formula, shortened for a message
	saved bool   // a result is saved (and empty); false: no result at all
}

// scanSheet streams a worksheet's XML and returns its merged ranges and
// those of the wanted cells that hold a formula with an empty or no saved
// result. It reads what it can: a damaged part yields what came before the
// damage.
func scanSheet(zr *zip.Reader, part string, want map[cellAt]bool) ([]cellRange, map[cellAt]formulaCell) {
	formulas := map[cellAt]formulaCell{}
	zf := zipFile(zr, part)
	if zf == nil {
		return nil, formulas
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, formulas
	}
	defer rc.Close()
	var (
		merges             []cellRange
		line, col          = 0, -1
		cur                cellAt
		wanted, inF, inV   bool
		hasF, hasV, fullV  bool
		formula            strings.Builder
		d                  = xml.NewDecoder(io.LimitReader(rc, maxUnzipSize))
		attr               = func(t xml.StartElement, name string) string { return xmlAttr(t.Attr, name) }
		maxFormulaInMsgLen = 80
	)
	for {
		// RawToken: no namespace bookkeeping, and prefixed elements
		// (x:row) still have their local names.
		tok, err := d.RawToken()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				if n, err := strconv.Atoi(attr(t, "r")); err == nil && n > 0 {
					line = n
				} else {
					line++
				}
				col = -1
			case "c":
				if c, _, err := excelize.CellNameToCoordinates(attr(t, "r")); err == nil {
					col = c - 1
				} else {
					col++
				}
				cur = cellAt{line, col}
				wanted, hasF, hasV, fullV = want[cur], false, false, false
				formula.Reset()
			case "f":
				inF, hasF = wanted, hasF || wanted
			case "v":
				inV, hasV = wanted, hasV || wanted
			case "mergeCell":
				if r, ok := parseRange(attr(t, "ref")); ok {
					merges = append(merges, r)
				}
			}
		case xml.CharData:
			if inF && formula.Len() < 4*maxFormulaInMsgLen {
				formula.Write(t)
			}
			if inV && len(bytes.TrimSpace(t)) > 0 {
				fullV = true
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "f":
				inF = false
			case "v":
				inV = false
			case "c":
				if wanted && hasF && !fullV {
					f := strings.TrimSpace(formula.String())
					if len(f) > maxFormulaInMsgLen {
						f = strings.ToValidUTF8(f[:maxFormulaInMsgLen], "") + "…"
					}
					formulas[cur] = formulaCell{text: f, saved: hasV}
				}
				wanted = false
			}
		}
	}
	return merges, formulas
}

func xmlAttr(attrs []xml.Attr, name string) string {
	for _, a := range attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// parseRange parses "B1:C2" (or a single cell) into a range.
func parseRange(ref string) (cellRange, bool) {
	from, to, _ := strings.Cut(ref, ":")
	if to == "" {
		to = from
	}
	c1, r1, err1 := excelize.CellNameToCoordinates(from)
	c2, r2, err2 := excelize.CellNameToCoordinates(to)
	if err1 != nil || err2 != nil {
		return cellRange{}, false
	}
	return cellRange{top: min(r1, r2), left: min(c1, c2) - 1, bottom: max(r1, r2), right: max(c1, c2) - 1}, true
}

// sheetPart finds the zip part that holds the named sheet, following the
// package's relationships as excelize does: _rels/.rels to the workbook,
// the workbook's <sheet r:id>, the workbook's rels to the part. "" when
// any link is missing.
func sheetPart(zr *zip.Reader, sheet string) string {
	wb := "xl/workbook.xml"
	var rels struct {
		Rel []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if data, err := readZipPart(zr, "_rels/.rels", 1<<20); err == nil && xml.Unmarshal(data, &rels) == nil {
		for _, r := range rels.Rel {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				wb = path.Clean(strings.TrimPrefix(r.Target, "/"))
			}
		}
	}
	var book struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			// No namespace in the tag: transitional and strict OOXML put
			// r:id in different namespaces.
			ID string `xml:"id,attr"`
		} `xml:"sheets>sheet"`
	}
	data, err := readZipPart(zr, wb, 16<<20)
	if err != nil || xml.Unmarshal(data, &book) != nil {
		return ""
	}
	id := ""
	for _, s := range book.Sheets {
		if s.Name == sheet {
			id = s.ID
		}
	}
	rels.Rel = nil
	data, err = readZipPart(zr, path.Join(path.Dir(wb), "_rels", path.Base(wb)+".rels"), 1<<20)
	if id == "" || err != nil || xml.Unmarshal(data, &rels) != nil {
		return ""
	}
	for _, r := range rels.Rel {
		if r.ID == id {
			if strings.HasPrefix(r.Target, "/") {
				return strings.TrimPrefix(r.Target, "/")
			}
			return path.Join(path.Dir(wb), r.Target)
		}
	}
	return ""
}

var dimensionRE = regexp.MustCompile(`<(?:\w+:)?dimension\s+ref="[A-Za-z]+[0-9]+:[A-Za-z]+([0-9]+)"`)

// rowsHint guesses a worksheet's row count, to size the rows once:
// growing them by appending 100,000 rows allocates several times their
// size. Excel and LibreOffice declare the used range in a <dimension>
// element near the start of the part; other writers (excelize) leave it at
// "A1", and then the part's size says roughly how many rows there are (a
// row of a few cells takes 100 bytes or more). A wrong guess only costs
// memory, and is capped.
func rowsHint(zr *zip.Reader, part string) int {
	zf := zipFile(zr, part)
	if zf == nil {
		return 0
	}
	bySize := int(min(zf.UncompressedSize64/128, 1<<20))
	rc, err := zf.Open()
	if err != nil {
		return bySize
	}
	defer rc.Close()
	head := make([]byte, 4<<10)
	n, _ := io.ReadFull(rc, head)
	if m := dimensionRE.FindSubmatch(head[:n]); m != nil {
		if rows, err := strconv.Atoi(string(m[1])); err == nil && rows > 1 {
			return min(rows, 1<<20)
		}
	}
	return bySize
}

// zipFile finds a part by name; part names are case-insensitive in OOXML.
func zipFile(zr *zip.Reader, name string) *zip.File {
	for _, f := range zr.File {
		if f.Name == name {
			return f
		}
	}
	for _, f := range zr.File {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// readZipPart reads a small part, at most limit bytes of it.
func readZipPart(zr *zip.Reader, name string, limit int64) ([]byte, error) {
	f := zipFile(zr, name)
	if f == nil {
		return nil, fmt.Errorf("no part %s: %w", name, errNoPart)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("part %s: %w", name, err)
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}

var errNoPart = errors.New("missing from the package")

// containsAt reports whether r holds pat, reading it in chunks so a large
// file is never held in memory.
func containsAt(r io.ReaderAt, size int64, pat []byte) (bool, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk+len(pat))
	for off := int64(0); off < size; off += chunk {
		n, err := r.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if bytes.Contains(buf[:n], pat) {
			return true, nil
		}
	}
	return false, nil
}

// utf16LE encodes ASCII text the way OLE directory entries store names.
func utf16LE(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

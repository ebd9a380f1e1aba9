package mapping

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
	"unicode/utf8"

	"connrecon/plan"
)

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
func readWorkbook(name string, r io.ReaderAt, size int64, ext string, opts Options, v *vocabulary) (*plan.Mapping, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &FileError{Path: name, Msg: damagedMessage, Cause: err}
	}
	switch kind, declared := zipKind(zr); {
	case kind == "ods" || ext == ".ods":
		return nil, &FileError{Path: name, Msg: odsMessage}
	case kind == "xlsb" || ext == ".xlsb":
		return nil, &FileError{Path: name, Msg: xlsbMessage}
	case kind == "xlsm" || ext == ".xlsm":
		return nil, &FileError{Path: name, Msg: xlsmMessage}
	case kind == "" && declared != "":
		return nil, &FileError{Path: name, Msg: fmt.Sprintf("this is not an Excel workbook: its main part is declared as %s: export the mapping as .xlsx or CSV UTF-8", plan.QuoteShort(declared))}
	case kind == "":
		return nil, &FileError{Path: name, Msg: "this is a zip archive but not an Excel workbook (it declares no workbook part): export the mapping as .xlsx or CSV UTF-8"}
	}
	return readXLSX(name, zr, r, size, opts, v)
}

// zipKind tells the zip-based formats apart by the content type the
// package declares for its main part (the officeDocument target of
// _rels/.rels, xl/workbook.xml when it names none), so a renamed file is
// recognised for what it is: "xlsx" (a workbook or template), "xlsm"
// (macro-enabled: .xlsm, .xltm, .xlam), "xlsb", "ods", or "" for none of
// them. Only that part's own declaration counts: a workbook that mentions
// a macro-enabled or binary content type for some other part (a
// producer's leftover Default, an embedded object) is still a workbook.
// The declared type is returned too, for the message about a package
// that is no workbook.
func zipKind(zr *zip.Reader) (kind, declared string) {
	if mt, err := readZipPart(zr, "mimetype", 256); err == nil && bytes.HasPrefix(mt, []byte("application/vnd.oasis.opendocument")) {
		return "ods", string(mt)
	}
	part := mainPart(zr)
	var types struct {
		Defaults []struct {
			Extension   string `xml:"Extension,attr"`
			ContentType string `xml:"ContentType,attr"`
		} `xml:"Default"`
		Overrides []struct {
			PartName    string `xml:"PartName,attr"`
			ContentType string `xml:"ContentType,attr"`
		} `xml:"Override"`
	}
	if err := readXMLPart(zr, "[Content_Types].xml", &types); err != nil {
		// No (readable) content types: let the reader try if the
		// workbook part is there, and judge it by its own XML.
		if zipFile(zr, part) != nil && strings.HasSuffix(strings.ToLower(part), ".xml") {
			return "xlsx", ""
		}
		return "", ""
	}
	// Part names are compared without regard to case (OPC); an Override
	// for the part wins over the Default for its extension.
	for _, o := range types.Overrides {
		if strings.EqualFold(strings.TrimPrefix(o.PartName, "/"), part) {
			declared = o.ContentType
			break
		}
	}
	if declared == "" {
		ext := strings.TrimPrefix(path.Ext(part), ".")
		for _, d := range types.Defaults {
			if strings.EqualFold(d.Extension, ext) {
				declared = d.ContentType
				break
			}
		}
	}
	ct := strings.ToLower(strings.TrimSpace(declared))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i]) // parameters do not change the kind
	}
	switch ct {
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml":
		return "xlsx", declared
	case "application/vnd.ms-excel.sheet.macroenabled.main+xml",
		"application/vnd.ms-excel.template.macroenabled.main+xml",
		"application/vnd.ms-excel.addin.macroenabled.main+xml":
		return "xlsm", declared
	case "application/vnd.ms-excel.sheet.binary.macroenabled.main":
		return "xlsb", declared
	}
	return "", declared
}

// mainPart is the package's main part: the officeDocument relationship of
// _rels/.rels (transitional or strict), or xl/workbook.xml, where every
// spreadsheet puts it, when there is none.
func mainPart(zr *zip.Reader) string {
	var rels xmlRels
	if err := readXMLPart(zr, "_rels/.rels", &rels); err == nil {
		for _, r := range rels.Rel {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				return partPath("", r.Target)
			}
		}
	}
	return "xl/workbook.xml"
}

// Limits on a workbook, beyond the per-piece ones of xmlGuard: what it may
// unpack to in all (a zip bomb is refused before anything is unpacked),
// what its shared-strings table may hold in memory, the characters in one
// cell (Excel's own limit), and a sheet's rows and columns (Excel's too).
// Reading a workbook holds the shared strings and little else; the rows
// it returns are the caller's.
const (
	maxUnzipSize      = 256 << 20
	maxSharedText     = 64 << 20
	maxSharedStrings  = 2_000_000
	maxCellChars      = 32_767
	maxSheetRows      = 1_048_576
	maxSheetColumns   = 16_384
	maxCellBytes      = 4 * maxCellChars // no cell text of maxCellChars characters is longer in UTF-8
	maxSheetsInList   = 20               // sheet names a message lists
	spreadsheetLimits = "a spreadsheet's own limit"
)

// workbook is what readXLSX needs of the package: its parts, sheets in tab
// order, and where the shared strings are.
type workbook struct {
	zr     *zip.Reader
	part   string // the workbook part, e.g. xl/workbook.xml
	sheets []wbSheet
	shared string // the shared-strings part; "" when there is none
}

type wbSheet struct {
	name    string
	visible bool
	part    string // "" when the workbook's relationships do not say
}

// openWorkbook follows the package's relationships: _rels/.rels to the
// workbook, the workbook's sheets and its relationships to their parts.
// Each is parsed strictly: a damaged one refuses the file.
func openWorkbook(zr *zip.Reader) (*workbook, error) {
	if err := checkUnzipSize(zr); err != nil {
		return nil, err
	}
	wb := &workbook{zr: zr, part: "xl/workbook.xml"}
	var rels xmlRels
	switch err := readXMLPart(zr, "_rels/.rels", &rels); {
	case errors.Is(err, errNoPart):
	case err != nil:
		return nil, err
	}
	for _, r := range rels.Rel {
		if strings.HasSuffix(r.Type, "/officeDocument") {
			wb.part = partPath("", r.Target)
		}
	}
	var book struct {
		Sheets []struct {
			Name  string `xml:"name,attr"`
			State string `xml:"state,attr"`
			// No namespace in the tag: transitional and strict OOXML put
			// r:id in different namespaces.
			ID string `xml:"id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := readXMLPart(zr, wb.part, &book); err != nil {
		return nil, err
	}
	rels.Rel = nil
	relsPart := path.Join(path.Dir(wb.part), "_rels", path.Base(wb.part)+".rels")
	switch err := readXMLPart(zr, relsPart, &rels); {
	case errors.Is(err, errNoPart):
	case err != nil:
		return nil, err
	}
	targets := map[string]string{}
	for _, r := range rels.Rel {
		t := partPath(path.Dir(wb.part), r.Target)
		targets[r.ID] = t
		if strings.HasSuffix(r.Type, "/sharedStrings") {
			wb.shared = t
		}
	}
	if wb.shared == "" && zipFile(zr, "xl/sharedStrings.xml") != nil {
		wb.shared = "xl/sharedStrings.xml" // where every writer puts it
	}
	for _, s := range book.Sheets {
		wb.sheets = append(wb.sheets, wbSheet{name: s.Name, visible: s.State == "" || s.State == "visible", part: targets[s.ID]})
	}
	return wb, nil
}

type xmlRels struct {
	Rel []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

// partPath resolves a relationship target against the folder of its
// source part; an absolute target starts at the package root.
func partPath(dir, target string) string {
	if strings.HasPrefix(target, "/") {
		return path.Clean(strings.TrimPrefix(target, "/"))
	}
	return path.Clean(path.Join(dir, target))
}

// checkUnzipSize refuses a package that unpacks to more than maxUnzipSize.
// The sizes are the zip's own; archive/zip fails a part that unpacks to
// more than it declared, so they cannot lie.
func checkUnzipSize(zr *zip.Reader) error {
	var total uint64
	names := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		// Part names are case-insensitive; two parts of one name leave
		// readers to disagree on which is the workbook (excelize took the
		// last, this reader the first).
		key := strings.ToLower(f.Name)
		if names[key] {
			return &partError{part: f.Name, err: errors.New("the package holds two parts of this name")}
		}
		names[key] = true
		total += f.UncompressedSize64
		if total > maxUnzipSize {
			return &limitError{fmt.Sprintf("the workbook unpacks to more than %d MiB, far beyond any mapping", maxUnzipSize>>20)}
		}
	}
	return nil
}

// limitError is a workbook beyond one of the limits above.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// sharedStrings is the shared-strings table: every string's text, end to
// end in one string, and where each ends. One allocation for the text and
// four bytes a string, where a string per entry would cost a header and an
// allocation each.
type sharedStrings struct {
	text string
	ends []uint32
}

func (s *sharedStrings) get(i int) (string, bool) {
	if s == nil || i < 0 || i >= len(s.ends) {
		return "", false
	}
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.text[start:s.ends[i]], true
}

// readSharedStrings reads the table: each <si>'s text is its <t>, or its
// rich-text runs' <t>s end to end; phonetic guides (<rPh>) are not part of
// the cell's text, as a spreadsheet shows it.
func readSharedStrings(zr *zip.Reader, name string) (*sharedStrings, error) {
	if name == "" {
		return nil, nil
	}
	zf := zipFile(zr, name)
	if zf == nil {
		return nil, nil // a relationship to nothing: cells that use it fail on their own
	}
	p, err := openXMLPart(zf)
	if err != nil {
		return nil, err
	}
	defer p.close()
	var (
		text strings.Builder
		ends []uint32
		// Where in an <si> the reader is: inside a <t> that counts, and
		// how deep inside a phonetic run, which does not.
		inT      bool
		inPhon   int
		tText    []byte // the <t>'s text, decoded at its end (decodeXstring)
		siStart  = -1
		siChars  int
		siNumber int
	)
	// The text is never longer than the part: reserving that (up to the
	// cap) once costs less at the peak than doubling as it fills, which
	// holds the old and the new buffer at once.
	text.Grow(int(min(zf.UncompressedSize64, maxSharedText)))
	p.where = func() string { return fmt.Sprintf("in shared string %d", siNumber) }
	for {
		tok, err := p.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				siStart, siChars, siNumber = text.Len(), 0, len(ends)+1
			case "rPh":
				inPhon++
			case "t":
				inT, tText = siStart >= 0 && inPhon == 0, tText[:0]
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				if len(ends) == maxSharedStrings {
					return nil, &limitError{fmt.Sprintf("the workbook's shared-strings table holds more than %d strings, far beyond any mapping", maxSharedStrings)}
				}
				ends = append(ends, uint32(text.Len()))
				siStart = -1
			case "rPh":
				inPhon--
			case "t":
				if !inT {
					continue
				}
				inT = false
				v := decodeXstring(tText)
				siChars += utf8.RuneCount(v)
				if siChars > maxCellChars {
					return nil, &limitError{fmt.Sprintf("shared string %d holds more than %d characters, %s for a cell", siNumber, maxCellChars, spreadsheetLimits)}
				}
				if text.Len()+len(v) > maxSharedText {
					return nil, &limitError{fmt.Sprintf("the workbook's shared strings hold more than %d MiB of text, far beyond any mapping", maxSharedText>>20)}
				}
				text.Write(v)
			}
		case xml.CharData:
			if !inT {
				continue
			}
			if len(tText)+len(t) > maxEscapedCellBytes {
				return nil, &limitError{fmt.Sprintf("shared string %d holds more than %d characters, %s for a cell", siNumber, maxCellChars, spreadsheetLimits)}
			}
			tText = append(tText, t...)
		}
	}
	return &sharedStrings{text: text.String(), ends: ends}, nil
}

// readXLSX reads one worksheet, streaming its XML strictly (xmlPart): a
// part that does not parse to its end refuses the file, never reads as a
// shorter mapping.
//
// Cells are read raw: an id or a number is the text that is stored, never
// reformatted by the cell's number format (only the format's _xHHHH_
// escapes are decoded, decodeXstring); a formula gives its saved
// (cached) result, and one with no saved result reads "", which
// explainEmpty tells from an empty cell; nothing is calculated here. Row
// numbers and column letters are the sheet's own, whatever rows are blank
// or missing from the file. Hidden rows and columns are read like any
// other: hiding is a view setting, and a mapping row that is hidden is
// still part of the mapping (validate lists every row it reads).
func readXLSX(name string, zr *zip.Reader, r io.ReaderAt, size int64, opts Options, v *vocabulary) (*plan.Mapping, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return nil, &FileError{Path: name, Msg: "cannot read mapping", Err: err}
	}
	wb, err := openWorkbook(zr)
	if err != nil {
		return nil, workbookError(name, err)
	}
	sheet, err := pickSheet(name, wb, opts.Sheet, v.sheet)
	if err != nil {
		return nil, err
	}
	if sheet.part == "" || zipFile(zr, sheet.part) == nil {
		return nil, &FileError{Path: name, Msg: fmt.Sprintf("sheet %s has no worksheet part in the package: %s", plan.QuoteShort(sheet.name), damagedMessage)}
	}
	sst, err := readSharedStrings(zr, wb.shared)
	if err != nil {
		return nil, workbookError(name, err)
	}
	b := newRowBuilder(name, rowsHint(zr, sheet.part), v)
	b.m.Sheet = sheet.name
	headerLine, err := b.readSheet(zr, sheet, sst)
	var fe *FileError
	if errors.As(err, &fe) && fe.noHeader && opts.Sheet == "" {
		// The first visible sheet is not the mapping: Numbers puts an
		// "Export Summary" sheet first, and others put a cover sheet.
		for _, s := range wb.sheets {
			if s.visible && s.name != sheet.name {
				fe.Msg += fmt.Sprintf("; to read another sheet, name it, as in %s %s (%s)", v.sheetFlag, plan.QuoteShort(s.name), sheetList(wb, "the workbook's sheets are"))
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if b.ci < 0 {
		return nil, &FileError{Path: name, Msg: fmt.Sprintf("sheet %s is empty: the %s needs a header row naming %s %s column and a group column (%s)",
			plan.QuoteShort(sheet.name), v.mapping, v.article, v.noun, sheetList(wb, "the workbook's sheets are"))}
	}
	// Repeats first: they index rows, and explainEmpty may drop some.
	b.repeats()
	if len(b.empty) > 0 {
		b.explainEmpty(zr, sheet.part, headerLine)
	}
	m := b.done()
	m.SHA256 = hex.EncodeToString(h.Sum(nil))
	return m, nil
}

// xlsxCell is the cell being read.
type xlsxCell struct {
	col              int    // 0-based
	typ              string // the t attribute
	value            []byte // <v>, or an inline string's text
	start            int    // where in value the <v> or <t> being read starts
	inValue          bool
	inInline, inPhon int
	bad              string // why the cell cannot be read
}

// readSheet streams the sheet's rows into the builder and returns the
// header's row number. Until the header is found every cell of a row is
// kept (the header may be in any column); after it, only the connector and
// group cells and whether anything else is in the row.
func (b *rowBuilder) readSheet(zr *zip.Reader, sheet wbSheet, sst *sharedStrings) (int, error) {
	name := b.m.Path
	p, err := openXMLPart(zipFile(zr, sheet.part))
	if err != nil {
		return 0, workbookError(name, err)
	}
	defer p.close()
	var (
		line, headerLine int
		lastRow          int // rows and cells must ascend, as every writer writes them
		lastCol          int
		seenData         bool
		inData           bool
		inRow            bool
		c                *xlsxCell
		cells            []string // this row's cells, by column, until the header is found
		conn, group      string   // after it
		conn2, group2    string   // the second connector and group columns
		other            bool     // a non-blank cell in another column
		rowBad           string
		col              int
		// Until the header is found: the non-blank rows looked at, the
		// last of them, and the first, which the error names when none
		// is the header.
		looked, lastLooked, firstLine int
		firstCells                    []string
		// The first of them that is the other kind of mapping's header,
		// which the error names instead (0: none).
		otherLine  int
		otherCells []string
	)
	p.where = func() string {
		if line > 0 {
			return fmt.Sprintf("in row %d of sheet %s", line, plan.QuoteShort(sheet.name))
		}
		return "in sheet " + plan.QuoteShort(sheet.name)
	}
	endRow := func() error {
		if rowBad != "" {
			if b.ci < 0 {
				return &FileError{Path: name, Line: line, Msg: fmt.Sprintf("cannot read row %d of sheet %s: %s", line, plan.QuoteShort(sheet.name), rowBad)}
			}
			b.invalid(line, -1, "cannot read this row: "+rowBad)
			return nil
		}
		if b.ci >= 0 {
			if conn == "" && group == "" && !other {
				return nil
			}
			if b.full() {
				return b.tooMuchText(line)
			}
			// One allocation for the cells, and none of the shared
			// strings' text kept alive by the rows.
			all := conn + conn2 + group + group2
			n1, n2, n3 := len(conn), len(conn)+len(conn2), len(conn)+len(conn2)+len(group)
			b.row(line, cut(all, 0, n1), cut(all, n1, n2), cut(all, n2, n3), cut(all, n3, len(all)))
			return nil
		}
		if blankCells(cells) {
			return nil
		}
		// The header is the first of the first few non-blank rows that
		// names both columns: a title or a note above the table is
		// skipped, never read as data.
		looked, lastLooked = looked+1, line
		h := b.v.columns(cells)
		if h.ok() {
			headerLine = line
			return b.header(line, cells)
		}
		if looked == 1 {
			firstLine, firstCells = line, slices.Clone(cells)
		}
		if h.otherKind && otherLine == 0 {
			otherLine, otherCells = line, slices.Clone(cells)
		}
		if looked == maxHeaderSearch {
			return b.noHeader(firstLine, firstCells, otherLine, otherCells, looked, lastLooked)
		}
		return nil
	}
	for {
		tok, err := p.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, workbookError(name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if inData && !spreadsheetNS(t.Name.Space) {
				return 0, workbookError(name, p.fail(fmt.Errorf("an element <%s> in the namespace %s inside the sheet's data", plan.ShortText(t.Name.Local, 40), plan.QuoteShort(t.Name.Space))))
			}
			switch local := t.Name.Local; {
			case local == "sheetData" && seenData:
				return 0, workbookError(name, p.fail(errors.New("a second <sheetData>")))
			case local == "sheetData":
				inData, seenData = true, true
			case !inData:
			case local == "row" && inRow, local == "c" && (!inRow || c != nil):
				return 0, workbookError(name, p.fail(fmt.Errorf("a <%s> inside a <%s>", local, map[bool]string{true: "c", false: "row"}[c != nil])))
			case local == "row":
				inRow, rowBad, col, lastCol = true, "", -1, -1
				cells, conn, group, conn2, group2, other = cells[:0], "", "", "", "", false
				if v := xmlAttr(t.Attr, "r"); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil || n < 1 || n > maxSheetRows {
						return 0, &FileError{Path: name, Line: line + 1, Msg: fmt.Sprintf("sheet %s has a row numbered %s: rows are 1 to %d; %s", plan.QuoteShort(sheet.name), plan.QuoteShort(v), maxSheetRows, damagedMessage)}
					}
					line = n
				} else {
					line++
				}
				if line <= lastRow {
					return 0, workbookError(name, p.fail(fmt.Errorf("row %d comes after row %d: rows out of order or repeated", line, lastRow)))
				}
				lastRow = line
				if line > maxSheetRows {
					return 0, &FileError{Path: name, Line: line, Msg: fmt.Sprintf("sheet %s has more than %d rows, %s", plan.QuoteShort(sheet.name), maxSheetRows, spreadsheetLimits)}
				}
			case local == "c":
				c = &xlsxCell{typ: xmlAttr(t.Attr, "t")}
				col++
				if ref := xmlAttr(t.Attr, "r"); ref != "" {
					cc, _, ok := cellRef(ref)
					if !ok {
						c.bad = fmt.Sprintf("the cell reference %s is not a cell", plan.QuoteShort(ref))
					} else {
						col = cc
					}
				}
				if col >= maxSheetColumns {
					c.bad = fmt.Sprintf("a cell beyond column %s, %s", plan.ColumnName(maxSheetColumns-1), spreadsheetLimits)
				}
				if c.bad == "" && col <= lastCol {
					return 0, workbookError(name, p.fail(fmt.Errorf("cell %s%d comes after %s%d: cells out of order or repeated", plan.ColumnName(col), line, plan.ColumnName(lastCol), line)))
				}
				lastCol = max(lastCol, col)
				c.col = col
			case c == nil:
			case local == "v" && c.inInline == 0:
				c.inValue, c.value, c.start = true, c.value[:0], 0
			case local == "is":
				c.inInline++
			case local == "rPh" && c.inInline > 0:
				c.inPhon++
			case local == "t" && c.inInline > 0 && c.inPhon == 0:
				c.inValue, c.start = true, len(c.value)
			}
		case xml.CharData:
			if c != nil && c.inValue {
				if len(c.value)+len(t) > maxEscapedCellBytes {
					return 0, &FileError{Path: name, Line: line, Column: plan.ColumnName(c.col), Msg: fmt.Sprintf("the cell holds more than %d characters, %s", maxCellChars, spreadsheetLimits)}
				}
				c.value = append(c.value, t...)
			}
		case xml.EndElement:
			switch local := t.Name.Local; {
			case local == "sheetData":
				inData = false
			case !inData:
			case local == "row" && inRow:
				inRow = false
				if err := endRow(); err != nil {
					return 0, err
				}
			case local == "c" && c != nil:
				v, bad := c.text(sst)
				if bad == "" {
					bad = c.bad
				}
				switch {
				case bad != "":
					if rowBad == "" {
						rowBad = bad
					}
				case utf8.RuneCountInString(v) > maxCellChars:
					return 0, &FileError{Path: name, Line: line, Column: plan.ColumnName(c.col), Msg: fmt.Sprintf("the cell holds more than %d characters, %s", maxCellChars, spreadsheetLimits)}
				case b.ci < 0:
					for len(cells) < c.col {
						cells = append(cells, "")
					}
					if c.col < len(cells) {
						cells[c.col] = v // a column given twice: the last wins
					} else {
						cells = append(cells, v)
					}
				case c.col == b.ci:
					conn = trimCell(v)
				case c.col == b.gi:
					group = trimCell(v)
				case c.col == b.ci2:
					conn2 = trimCell(v)
				case c.col == b.gi2:
					group2 = trimCell(v)
				case !other:
					other = trimCell(v) != ""
				}
				c = nil
			case c == nil:
			case local == "v" && c.inInline == 0:
				if c.inValue && c.typ != "s" { // a shared string's index is no text
					c.decode()
				}
				c.inValue = false
			case local == "is":
				c.inInline--
			case local == "rPh" && c.inInline > 0:
				c.inPhon--
			case local == "t" && c.inInline > 0:
				if c.inValue {
					c.decode()
				}
				c.inValue = false
			}
		}
	}
	if b.ci < 0 && looked > 0 {
		return 0, b.noHeader(firstLine, firstCells, otherLine, otherCells, looked, lastLooked)
	}
	return headerLine, nil
}

// decode decodes the escapes of the <v> or <t> just read, each element on
// its own.
func (c *xlsxCell) decode() {
	c.value = c.value[:c.start+len(decodeXstring(c.value[c.start:]))]
}

// cut is s[i:j], or a plain "" when that is empty: an empty slice of s
// would keep all of s alive, and a row of two huge cells cut short and two
// empty ones kept 64 KiB each.
func cut(s string, i, j int) string {
	if i == j {
		return ""
	}
	return s[i:j]
}

// text is the cell's value as stored: a shared string's text, an inline
// string, or the saved value (a number, a formula's result, an error such
// as #N/A, a boolean 0/1) as written. bad says why it cannot be read.
func (c *xlsxCell) text(sst *sharedStrings) (v, bad string) {
	if c.typ != "s" {
		return string(c.value), ""
	}
	idx := strings.TrimSpace(string(c.value))
	if idx == "" {
		return "", ""
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		return "", fmt.Sprintf("the shared-string index %s is not a number", plan.QuoteShort(idx))
	}
	s, ok := sst.get(i)
	if !ok {
		return "", fmt.Sprintf("the cell refers to shared string %d, which the workbook does not have", i)
	}
	return s, ""
}

// spreadsheetNS: elements of a sheet's data are SpreadsheetML's (the
// transitional or the strict namespace), or in no namespace as some
// writers leave them; an element in any other (or an undeclared prefix,
// which encoding/xml leaves as the prefix) is not one a reader may take
// for a row, cell or value.
func spreadsheetNS(ns string) bool {
	switch ns {
	case "", "http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main":
		return true
	}
	return false
}

// cellRef parses a cell reference such as B12 (or $B$12) into a 0-based
// column and a 1-based row.
func cellRef(ref string) (col, row int, ok bool) {
	ref = strings.ReplaceAll(ref, "$", "")
	i := 0
	for i < len(ref) && i < 3 && isLetter(ref[i]) {
		col = col*26 + int(ref[i]|0x20-'a'+1)
		i++
	}
	if i == 0 || i == len(ref) || col > maxSheetColumns {
		return 0, 0, false
	}
	n, err := strconv.Atoi(ref[i:])
	if err != nil || n < 1 || n > maxSheetRows || ref[i] == '+' || ref[i] == '-' {
		return 0, 0, false
	}
	return col - 1, n, true
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// maxHeaderSearch is how many non-blank rows of a sheet may hold the
// header: room for a title, a note or two and a two-row heading above the
// table, while a sheet that is no mapping at all is refused after reading
// a few rows, not all of them.
const maxHeaderSearch = 10

// noHeader is the error for a sheet none of whose first non-blank rows
// names both columns: it is about the first of them, as when the header
// had to be the first non-blank row, or about the first that is the
// header of the other kind of mapping (otherLine, 0 for none), and says
// how far the search went (looked rows, the last at row last).
func (b *rowBuilder) noHeader(firstLine int, firstCells []string, otherLine int, otherCells []string, looked, last int) error {
	if otherLine > 0 {
		firstLine, firstCells = otherLine, otherCells
	}
	err := b.headerError(firstLine, firstCells, b.v.columns(firstCells))
	err.noHeader = true
	if looked > 1 {
		err.Msg += fmt.Sprintf(" (looked at the first %d non-blank rows, to row %d)", looked, last)
	}
	return err
}

// workbookError turns a failure to read the package into what to do
// about it: a damaged part (naming it and where it broke) or a limit.
func workbookError(name string, err error) error {
	var fe *FileError
	var pe *partError
	var le *limitError
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &le):
		return &FileError{Path: name, Msg: le.msg + ": export the mapping sheet alone as .xlsx or CSV UTF-8"}
	case errors.As(err, &pe) && (errors.Is(err, errXMLRun) || errors.Is(err, errXMLDTD)):
		return &FileError{Path: name, Msg: fmt.Sprintf("the workbook holds %s (%s); nothing in it is used: open it in Excel and save it again, or export CSV UTF-8", errors.Unwrap(pe), pe.location())}
	case errors.As(err, &pe):
		return &FileError{Path: name, Msg: fmt.Sprintf("the workbook is damaged: %s; nothing in it is used, since a part read only up to where it breaks would be a shorter mapping: open it in Excel and save it again, or export CSV UTF-8", pe)}
	}
	return &FileError{Path: name, Msg: damagedMessage, Cause: err}
}

// location is where a part broke, without the error.
func (e *partError) location() string {
	c := *e
	s := c.Error()
	return strings.TrimSuffix(s, ": "+e.err.Error())
}

// pickSheet returns the sheet to read: the one named (Excel's sheet names
// are case-insensitive, so is the match; a hidden sheet may be named), or
// else the visible sheet called prefer (in any case; "" for none: an
// application mapping prefers ApplicationSheet, the export's sheet of
// applications), or else the first visible sheet in the workbook's tab
// order.
//
// Hidden sheets do not count as "the first sheet": the administrator who
// checks the workbook sees the first visible tab, and a hidden draft or
// lookup sheet in front of it must not silently become the mapping that
// is applied. Only a workbook with no visible sheet at all (Excel does
// not save one; a program might) falls back to the first sheet.
// Mapping.Sheet says which sheet was read.
func pickSheet(name string, wb *workbook, want, prefer string) (wbSheet, error) {
	if len(wb.sheets) == 0 {
		return wbSheet{}, &FileError{Path: name, Msg: "the workbook has no sheets: " + damagedMessage}
	}
	if want == "" {
		// A hidden sheet is not preferred, as it is not "the first sheet"
		// either: the administrator looking at the workbook never sees it.
		for _, s := range wb.sheets {
			if prefer != "" && s.visible && strings.EqualFold(s.name, prefer) {
				return s, nil
			}
		}
		for _, s := range wb.sheets {
			if s.visible {
				return s, nil
			}
		}
		return wb.sheets[0], nil
	}
	for _, s := range wb.sheets {
		if s.name == want {
			return s, nil
		}
	}
	for _, s := range wb.sheets {
		if strings.EqualFold(s.name, want) {
			return s, nil
		}
	}
	return wbSheet{}, &FileError{Path: name, Msg: fmt.Sprintf("no sheet %s in the workbook: %s", plan.QuoteShort(want), sheetList(wb, "its sheets are"))}
}

// sheetList names the workbook's sheets for a message, marking hidden
// ones; a workbook of thousands of sheets gets the first few and a count.
func sheetList(wb *workbook, lead string) string {
	var names []string
	for i, s := range wb.sheets {
		if i == maxSheetsInList {
			names = append(names, fmt.Sprintf("and %d more", len(wb.sheets)-i))
			break
		}
		q := plan.QuoteShort(s.name)
		if !s.visible {
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
	return plan.ColumnName(r.left) + strconv.Itoa(r.top) + ":" + plan.ColumnName(r.right) + strconv.Itoa(r.bottom)
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
func (b *rowBuilder) explainEmpty(zr *zip.Reader, part string, headerLine int) {
	want := make(map[cellAt]bool, len(b.empty))
	for _, e := range b.empty {
		want[cellAt{e.line, e.col}] = true
	}
	merges, formulas := scanSheet(zr, part, want)
	bottom := headerLine
	for _, r := range merges {
		if r.contains(headerLine, b.ci) || r.contains(headerLine, b.gi) || r.contains(headerLine, b.ci2) || r.contains(headerLine, b.gi2) {
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
			if e.col == b.ci || e.col == b.ci2 {
				what = b.v.noun
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
	// A row under the merged header is part of the header when its
	// connector and group cells are empty. One with a value there is not
	// a header row, nor can it be trusted as data (is it a sub-heading or
	// a connector?): it is invalid, and says why.
	under := func(line int) bool { return line > headerLine && line <= bottom }
	merged := cellRange{top: headerLine, bottom: bottom}
	for _, r := range merges {
		if r.top == headerLine && r.bottom == bottom {
			merged = r
			break
		}
	}
	msg := fmt.Sprintf("this row is under the header's merged cells %s, yet has %s %s or group value: unmerge the header cells, or leave the row empty", merged, b.v.article, b.v.noun)
	rows := m.Rows[:0]
	var invalid []int
	for _, r := range m.Rows {
		switch {
		case !under(r.Line):
		case r.Connector == "" && r.Group == "":
			continue // part of the header
		default:
			r.Problem, r.Duplicate = msg, false
			invalid = append(invalid, r.Line)
		}
		rows = append(rows, r)
	}
	m.Rows = rows
	problems := m.Problems[:0]
	for _, p := range m.Problems {
		if !under(p.Line) {
			problems = append(problems, p)
		}
	}
	for _, line := range invalid {
		problems = append(problems, plan.Problem{Line: line, Severity: plan.SeverityError, Message: msg})
	}
	slices.SortStableFunc(problems, func(x, y plan.Problem) int { return x.Line - y.Line })
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
				if c, _, ok := cellRef(attr(t, "r")); ok {
					col = c
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
	c1, r1, ok1 := cellRef(from)
	c2, r2, ok2 := cellRef(to)
	if !ok1 || !ok2 {
		return cellRange{}, false
	}
	return cellRange{top: min(r1, r2), left: min(c1, c2), bottom: max(r1, r2), right: max(c1, c2)}, true
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

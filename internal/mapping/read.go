package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"connrecon/plan"
)

// Accepted header names, compared after lower-casing and removing spaces,
// underscores and dashes (README, "The mapping file"). A file may name
// the connector, and the group, in two columns, an id and a name, as
// exports do: both are read, and must agree.
var (
	connectorIDHeaders   = []string{"connectorid"}
	connectorNameHeaders = []string{"machinename", "connectorname"}
	connectorAnyHeaders  = []string{"connector"}
	groupIDHeaders       = []string{"groupid", "connectorgroupid"}
	groupNameHeaders     = []string{"groupname", "connectorgroupname"}
	groupAnyHeaders      = []string{"group", "connectorgroup"}
	// The other properties of a connector object as Entra PowerShell and
	// Graph PowerShell export them: beside them, Id is the connector's.
	connectorExportHeaders = []string{"externalip", "status", "version", "memberof"}
)

// The accepted headers as the README writes them, for error messages.
const acceptedHeaders = "accepted connector headers: connector, connectorId, connector id, machineName, connectorName " +
	"(and Id, in an export of connectors); accepted group headers: group, groupId, connectorGroup, connectorGroupId, groupName, " +
	"connectorGroupName (and Name, or Id and Name in an export of groups)"

// Options says how to read a mapping file.
type Options struct {
	// Sheet is the worksheet of an XLSX workbook to read; empty means the
	// first visible one, or for an application mapping the visible sheet
	// named Applications (in any case) when the workbook has one, as an
	// export does. Setting it for a CSV file is an error, so a misplaced
	// --sheet never goes unnoticed.
	Sheet string
	// Stdin is read for the path "-". The caller decides whether standard
	// input may be used (not when it is a terminal).
	Stdin io.Reader
	// Kind is what the file's rows place in connector groups:
	// plan.KindConnector (or empty) for connectors, the mapping of -m, and
	// plan.KindApplication for applications, the mapping of --apps. Both
	// are read alike (formats, bounds, encodings, row checks, repeats);
	// the kind decides the header vocabulary (applicationHeaders), the
	// sheet read when none is named, and the word for the row's object in
	// every message. An application mapping's rows use the connector
	// fields: Row.Connector and Row.ConnectorAlt are the application's
	// cells, and Mapping.ConnectorHeader, ConnectorColumn,
	// ConnectorAltHeader and ConnectorAltColumn its columns. The Mapping
	// does not say which kind it is: the caller knows what it asked for.
	// Any other value is refused with a FileError whose Err is set.
	Kind string
}

// vocabulary is what one kind of mapping calls the object its rows place,
// and how its header row is read. The row builder carries one, so the CSV
// and XLSX readers word every message alike for either kind; a connector
// mapping's messages are the ones it always had.
type vocabulary struct {
	kind    string // plan.KindConnector or plan.KindApplication
	noun    string // the row's object in messages
	article string // before noun: "a connector", "an application"
	mapping string // the file, in messages
	flag    string // the flag a mapping of this kind is given with
	// sheetFlag is the flag that names the worksheet of such a mapping.
	sheetFlag string
	// sheet is the worksheet read when none is named and the workbook
	// has a visible one of this name (in any case); "" for none.
	sheet    string
	accepted string // the accepted headers, for messages
	columns  func(cells []string) headerCols
	// otherKind is the hint for a header of the other kind's mapping.
	otherKind string
}

var (
	connectorVocabulary = &vocabulary{
		kind: plan.KindConnector, noun: "connector", article: "a", mapping: "mapping", flag: "-m", sheetFlag: "--sheet",
		accepted:  acceptedHeaders,
		columns:   connectorColumns,
		otherKind: " (this looks like an application mapping: give it with --apps)",
	}
	applicationVocabulary = &vocabulary{
		kind: plan.KindApplication, noun: "application", article: "an", mapping: "application mapping", flag: "--apps", sheetFlag: "--apps-sheet",
		sheet:     ApplicationSheet,
		accepted:  acceptedApplicationHeaders(),
		columns:   applicationColumns,
		otherKind: " (this is a connector mapping: give it with -m)",
	}
)

// ApplicationSheet is the worksheet an application mapping is read from
// when Options.Sheet is empty and the workbook has it (the export's
// applications sheet).
const ApplicationSheet = "Applications"

// vocabularyOf is the vocabulary of opts.Kind.
func vocabularyOf(path string, opts Options) (*vocabulary, error) {
	switch opts.Kind {
	case "", plan.KindConnector:
		return connectorVocabulary, nil
	case plan.KindApplication:
		return applicationVocabulary, nil
	}
	return nil, &FileError{Path: path, Msg: "cannot read mapping",
		Err: fmt.Errorf("mapping: unknown kind %s (want %q or %q)", plan.QuoteShort(opts.Kind), plan.KindConnector, plan.KindApplication)}
}

// FileError is a mapping file that cannot be used at all: unreadable, in a
// format that is not read, no recognisable header. Nothing in it is applied.
//
// Err is set only when the file could not be read (an I/O failure, which
// cmd reports as a runtime failure); when the content itself is unusable Err
// is nil and Cause, if any, is the underlying error. Unwrap returns
// whichever is set, so errors.Is and errors.As see both.
type FileError struct {
	Path   string
	Line   int
	Column string
	Msg    string
	Err    error
	Cause  error
	// noHeader: no row of the sheet read is a header, so the message may
	// point at the workbook's other sheets.
	noHeader bool
}

func (e *FileError) Error() string {
	p := plan.Problem{Line: e.Line, Column: e.Column, Message: e.Msg}
	s := p.Format(e.Path)
	if err := e.Unwrap(); err != nil {
		s += ": " + err.Error()
	}
	return s
}

func (e *FileError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return e.Cause
}

var (
	zipMagic = []byte("PK\x03\x04")
	// oleMagic starts an OLE compound file: an Excel 97-2003 .xls, and also
	// an encrypted (password-protected) .xlsx, which is an OLE container
	// around the encrypted package.
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// Read reads a mapping file: CSV (any extension) or an XLSX
// workbook. The format is decided by the file's first bytes, so a CSV
// saved as .xls by a CMDB export, or a workbook without an extension, is
// read for what it is. The formats that are refused (.xls, .xlsm, .xlsb,
// .ods, a password-protected workbook) are recognised by their content,
// and .xlsm, .xlsb and .ods by their extension too.
//
// Row-level problems are collected in Mapping.Problems so one run reports
// all of them; an error (a *FileError) is returned only when the file as a
// whole cannot be used.
func Read(path string, opts Options) (*plan.Mapping, error) {
	name := path
	if path == "-" {
		name = StdinName
	}
	v, err := vocabularyOf(name, opts)
	if err != nil {
		return nil, err
	}
	if path == "-" {
		return readStdin(opts, v)
	}
	// Opened without waiting: a named pipe with no writer would block
	// open(2) itself, so it is opened non-blocking and then refused.
	f, err := openNoWait(path)
	if err != nil {
		return nil, &FileError{Path: path, Msg: "cannot open mapping", Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &FileError{Path: path, Msg: "cannot open mapping", Err: err}
	}
	switch {
	case fi.IsDir():
		return nil, &FileError{Path: path, Msg: "is a directory, not a mapping file"}
	case !fi.Mode().IsRegular():
		// A pipe, a device or a socket may never end, and a named pipe
		// may never get a writer: a cron job would hang on it.
		return nil, &FileError{Path: path, Msg: fmt.Sprintf("is not a regular file (%s): save the %s to a file, or pass it on standard input with %s -", fileKind(fi.Mode()), v.mapping, v.flag)}
	}
	return readMapping(path, f, fi.Size(), opts)
}

// StdinName is what messages and reports call a mapping read from
// standard input (-m -).
const StdinName = "stdin"

// maxStdinSize bounds a mapping read from standard input, which is held in
// memory (a workbook is read at offsets): some ten times a 100,000-row
// mapping, and while it is read the buffer may grow to twice that.
const maxStdinSize = 64 << 20

// readStdin reads -m - (or --apps -): all of standard input, at most
// maxStdinSize.
func readStdin(opts Options, v *vocabulary) (*plan.Mapping, error) {
	if opts.Stdin == nil {
		return nil, &FileError{Path: StdinName, Msg: fmt.Sprintf("%s - reads the %s from standard input, and there is none", v.flag, v.mapping)}
	}
	data, err := io.ReadAll(io.LimitReader(opts.Stdin, maxStdinSize+1))
	if err != nil {
		return nil, &FileError{Path: StdinName, Msg: "cannot read mapping", Err: err}
	}
	if len(data) > maxStdinSize {
		return nil, &FileError{Path: StdinName, Msg: fmt.Sprintf("standard input holds more than %d MiB, far beyond any mapping", maxStdinSize>>20)}
	}
	r := bytes.NewReader(data)
	return readMapping(StdinName, r, r.Size(), opts)
}

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0, m&os.ModeCharDevice != 0:
		return "a device"
	}
	return "not a plain file"
}

// readMapping dispatches on the first bytes; Read gives it a file,
// the fuzz tests bytes in memory.
func readMapping(path string, r io.ReaderAt, size int64, opts Options) (*plan.Mapping, error) {
	v, err := vocabularyOf(path, opts)
	if err != nil {
		return nil, err
	}
	magic := make([]byte, 8)
	n, err := r.ReadAt(magic, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, &FileError{Path: path, Msg: "cannot read mapping", Err: err}
	}
	magic = magic[:n]
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case bytes.HasPrefix(magic, oleMagic):
		return nil, oleFileError(path, r, size)
	case bytes.HasPrefix(magic, zipMagic):
		return readWorkbook(path, r, size, ext, opts, v)
	}
	if err := textChecks(path, opts, v); err != nil {
		return nil, err
	}
	return parseCSV(path, io.NewSectionReader(r, 0, size), size, v)
}

// textChecks refuses what cannot be a CSV mapping before reading one.
func textChecks(path string, opts Options, v *vocabulary) error {
	if opts.Sheet != "" {
		return &FileError{Path: path, Msg: fmt.Sprintf("%s %s applies only to XLSX workbooks, and this file is text (read as CSV)", v.sheetFlag, plan.QuoteShort(opts.Sheet))}
	}
	if strings.EqualFold(filepath.Ext(path), ".ods") {
		// Not a zip but named .ods: a flat or damaged OpenDocument file.
		return &FileError{Path: path, Msg: odsMessage}
	}
	return nil
}

// rowBuilder turns a reader's cells into Rows and Problems. The CSV and
// XLSX readers share it, so both apply the same header rules and row checks.
type rowBuilder struct {
	m *plan.Mapping
	v *vocabulary // the kind of mapping, and its words
	// The connector (or application) and group column indexes: "ci" is the
	// row's object whatever its kind.
	ci, gi int
	// The second connector and group columns, naming the same one by id
	// and by name; -1 when there is none.
	ci2, gi2 int
	// altID: the second connector column holds an id too (an
	// application's appId beside its object id), so it is checked as the
	// first one is, not as a name.
	altID bool
	seed  maphash.Seed
	// keys has one entry per usable row: the top 32 bits of its
	// connector's hash, then its index in Rows, so that sorting them
	// sorts by hash and then by row.
	keys []uint64
	// empty records the empty connector and group cells, which the XLSX
	// reader can explain better once it knows the sheet's merged cells and
	// formulas; the CSV reader ignores it.
	empty []emptyCell
	// kept counts the bytes of text the mapping holds (cells and problem
	// messages), against maxKeptText.
	kept int
}

// Bounds on what a mapping holds, whatever the file: a cell the planner
// keeps (no machine name or group name comes near it), and all the text
// of the rows and their problems. A small workbook can point thousands of
// rows at one 32,767-character shared string: without these, each row's
// copy made gigabytes of a 43 KB file.
const (
	maxMappedCell = 1024
	maxKeptText   = 64 << 20
)

// full reports whether the mapping holds more text than maxKeptText: the
// reader refuses the file.
func (b *rowBuilder) full() bool { return b.kept > maxKeptText }

// tooMuchText is the refusal when full.
func (b *rowBuilder) tooMuchText(line int) *FileError {
	return &FileError{Path: b.m.Path, Line: line, Msg: fmt.Sprintf("the mapping's cells and problems hold more than %d MiB of text by this row, far beyond any mapping: is this the mapping?", maxKeptText>>20)}
}

type emptyCell struct {
	row, problem int // indexes in m.Rows and m.Problems
	line, col    int // where the cell is (col 0-based)
}

func newRowBuilder(path string, capHint int, v *vocabulary) *rowBuilder {
	// Capped: the hint is a guess, and a wrong one should not cost more
	// than a mapping four times the benchmark size would.
	capHint = min(max(capHint, 0), 1<<18)
	var rows []plan.Row
	if capHint > 0 {
		rows = make([]plan.Row, 0, capHint)
	}
	return &rowBuilder{
		m:    &plan.Mapping{Path: path, Rows: rows},
		v:    v,
		ci:   -1,
		gi:   -1,
		ci2:  -1,
		gi2:  -1,
		seed: maphash.MakeSeed(),
		keys: make([]uint64, 0, capHint),
	}
}

// header finds the connector (or application) and group columns in the
// header row, or explains which headers were found and which are
// accepted. The builder changes only when both are found.
func (b *rowBuilder) header(line int, cells []string) error {
	h := b.v.columns(cells)
	if h.ambiguous != "" {
		return &FileError{Path: b.m.Path, Line: line, Column: plan.ColumnName(h.idColumn), Msg: h.ambiguous}
	}
	if h.otherKind || h.ci < 0 || h.gi < 0 {
		return b.headerError(line, cells, h)
	}
	b.ci, b.ci2, b.gi, b.gi2, b.altID = h.ci, h.ci2, h.gi, h.gi2, h.altID
	m := b.m
	m.ConnectorHeader, m.GroupHeader = trimCell(cells[h.ci]), trimCell(cells[h.gi])
	m.ConnectorColumn, m.GroupColumn = plan.ColumnName(h.ci), plan.ColumnName(h.gi)
	if h.ci2 >= 0 {
		m.ConnectorAltHeader, m.ConnectorAltColumn = trimCell(cells[h.ci2]), plan.ColumnName(h.ci2)
	}
	if h.gi2 >= 0 {
		m.GroupAltHeader, m.GroupAltColumn = trimCell(cells[h.gi2]), plan.ColumnName(h.gi2)
	}
	return nil
}

// headerCols is what a header row says: the connector column and a second
// one naming the same connector (-1: none), the same for the group, and
// why an Id column cannot be placed.
type headerCols struct {
	ci, ci2, gi, gi2 int
	ambiguous        string
	idColumn         int
	groupExport      bool // Id and Name, no connector column: a list of groups
	// otherKind: the row is the header of the other kind's mapping (a
	// connector mapping's, read as an application mapping, or the other
	// way round) and names none of this kind's objects.
	otherKind bool
	// For an application mapping: ci2 holds an id too (appId beside the
	// object id); the bare Id and Name columns left unread (-1: none), and
	// whether the file is an export of service principals, whose Id is not
	// the application's. They make the header error's hints.
	altID              bool
	unreadID, unreadNm int
	servicePrincipals  bool
}

// ok reports whether the row is a header: it names both a connector (or
// application) and a group column, or is one that cannot be read for an
// ambiguous Id. A header of the other kind of mapping is not one: a
// workbook's search for its header goes on past it, as it always did
// for a connector mapping, and names it only when no header follows
// (readSheet).
func (h headerCols) ok() bool { return h.ambiguous != "" || h.ci >= 0 && h.gi >= 0 }

// connectorColumns reads a connector mapping's header (headerColumns),
// noting when it is an application mapping's instead.
func connectorColumns(cells []string) headerCols {
	h := headerColumns(cells)
	if h.ci < 0 && h.ambiguous == "" {
		if a := appHeaderColumns(cells); a.ci >= 0 && a.gi >= 0 {
			h.otherKind = true
		}
	}
	return h
}

// headerColumns finds the columns among cells. The first header of each
// kind counts. An id column and a name column for one object are both
// used, the id first; a column that may hold either ("connector",
// "group") takes the place the others leave. Exports name columns after
// the object's own properties: a connector has an Id and a MachineName
// but no Name, and a connector group has an Id and a Name; so Name is the
// group's, and Id is the connector's unless the file has Name and no
// machine name, when it is the group's.
func headerColumns(cells []string) headerCols {
	const (
		cID = iota
		cName
		cAny
		gID
		gName
		gAny
		bareID
		bareName
		connExport
		kinds
	)
	var at [kinds]int
	for i := range at {
		at[i] = -1
	}
	for i, h := range cells {
		name := trimCell(h)
		if name == "" {
			continue
		}
		key, k := headerKey(name), -1
		switch {
		case slices.Contains(connectorIDHeaders, key):
			k = cID
		case slices.Contains(connectorNameHeaders, key):
			k = cName
		case slices.Contains(connectorAnyHeaders, key):
			k = cAny
		case slices.Contains(groupIDHeaders, key):
			k = gID
		case slices.Contains(groupNameHeaders, key):
			k = gName
		case slices.Contains(groupAnyHeaders, key):
			k = gAny
		case key == "id":
			k = bareID
		case key == "name":
			k = bareName
		case slices.Contains(connectorExportHeaders, key):
			k = connExport
		}
		if k >= 0 && at[k] < 0 {
			at[k] = i
		}
	}
	h := headerCols{ci: -1, ci2: -1, gi: -1, gi2: -1, idColumn: -1, unreadID: -1, unreadNm: -1}
	hasConnName := at[cName] >= 0 || at[cAny] >= 0
	if at[bareName] >= 0 && at[gName] < 0 {
		at[gName] = at[bareName]
	}
	// An Id column is read only where the file says whose it is: beside
	// a connector's own columns it is the connector's, beside a bare Name
	// the group's. Anything else ("Group, Id" as a lookup table of group
	// ids) is not taken for a connector column.
	if id := at[bareID]; id >= 0 {
		switch {
		case at[bareName] >= 0 && hasConnName:
			h.idColumn = id
			h.ambiguous = fmt.Sprintf("the column %s (%s) may be the connector's id or the group's, as the file has both a connector name and a group Name column: rename it connectorId or groupId",
				plan.QuoteShort(trimCell(cells[id])), plan.ColumnName(id))
		case at[bareName] >= 0:
			if at[gID] < 0 {
				at[gID] = id
			}
			h.groupExport = at[cID] < 0 && !hasConnName
		case at[cID] < 0 && (hasConnName || at[connExport] >= 0):
			at[cID] = id
		}
	}
	h.ci, h.ci2 = pair(at[cID], at[cName], at[cAny])
	h.gi, h.gi2 = pair(at[gID], at[gName], at[gAny])
	return h
}

// pair places an id column, a name column and one that may hold either
// (-1: not in the file) as the column read first and the second one.
func pair(id, name, either int) (int, int) {
	switch {
	case id < 0:
		id = either
	case name < 0:
		name = either
	}
	if id < 0 {
		return name, -1
	}
	return id, name
}

// headerError says which column the header row at line lacks, the headers
// it has (the first 20) and the ones accepted.
func (b *rowBuilder) headerError(line int, cells []string, h headerCols) *FileError {
	var found []string
	for i, c := range cells {
		name := trimCell(c)
		if name == "" {
			continue
		}
		if len(found) == 20 {
			found = append(found, "…")
			break
		}
		found = append(found, fmt.Sprintf("%s (%s)", plan.QuoteShort(name), plan.ColumnName(i)))
	}
	where := "the header row"
	if b.m.Sheet != "" {
		where += " of sheet " + plan.QuoteShort(b.m.Sheet)
	}
	hint := ""
	switch {
	case h.otherKind:
		hint = b.v.otherKind
	case b.v.kind == plan.KindApplication:
		hint = applicationHints(cells, h)
	case h.groupExport:
		hint = " (this looks like an export of connector groups, whose Id and Name are the group's: add a column naming each group's connector, or start from an export of connectors)"
	case h.ci >= 0 && h.gi < 0:
		hint = " (this is a list of connectors: add a column, such as ConnectorGroupName, naming the group each one goes to)"
	}
	return &FileError{Path: b.m.Path, Line: line, Msg: fmt.Sprintf(
		"no %s column in %s (found %s)%s; %s",
		missingWhat(b.v.noun, h.ci, h.gi), where, strings.Join(found, ", "), hint, b.v.accepted)}
}

// invalid adds a row that could not be read at all (a malformed CSV line,
// an unreadable spreadsheet row).
func (b *rowBuilder) invalid(line, col int, msg string) {
	b.kept += len(msg)
	b.m.Problems = append(b.m.Problems, plan.Problem{Line: line, Column: plan.ColumnName(col), Severity: plan.SeverityError, Message: msg})
	b.m.Rows = append(b.m.Rows, plan.Row{Line: line, Problem: msg})
}

// row checks one data row. The cells are trimmed (trimCell): the
// connector, a second cell naming it (b.ci2; "" when there is none), the
// group and its second cell; blank rows must already have been skipped.
// When only the second cell of a pair has a value, it is read alone.
func (b *rowBuilder) row(line int, connector, connector2, group, group2 string) {
	cc, cc2, gc, gc2 := b.ci, b.ci2, b.gi, b.gi2
	if connector == "" && connector2 != "" {
		connector, connector2, cc = connector2, "", cc2
	}
	if group == "" && group2 != "" {
		group, group2, gc = group2, "", gc2
	}
	var long []string
	noun := b.v.noun
	connector, long = b.capCell(noun, connector, cc, long)
	connector2, long = b.capCell(noun, connector2, cc2, long)
	group, long = b.capCell("group", group, gc, long)
	group2, long = b.capCell("group", group2, gc2, long)
	idx := len(b.m.Rows)
	b.m.Rows = append(b.m.Rows, plan.Row{Line: line, Connector: connector, Group: group, ConnectorAlt: connector2, GroupAlt: group2})
	r := &b.m.Rows[idx]
	scan := b.check(r, idx, noun, connector, cc, false)
	if connector2 != "" {
		b.check(r, idx, noun, connector2, cc2, !b.altID)
	}
	b.check(r, idx, "group", group, gc, false)
	if group2 != "" {
		b.check(r, idx, "group", group2, gc2, true)
	}
	for i := 0; i < len(long); i += 2 {
		if r.Problem == "" {
			r.Problem = long[i+1]
		}
		b.m.Problems = append(b.m.Problems, plan.Problem{Line: line, Column: long[i], Severity: plan.SeverityError, Message: long[i+1]})
	}
	b.kept += len(connector) + len(connector2) + len(group) + len(group2) + len(r.Problem)
	if r.Problem == "" {
		// Repeats are looked for once all rows are in (repeats).
		key := connector
		if !scan.plain {
			key = cellKey(connector)
		}
		b.keys = append(b.keys, maphash.String(b.seed, key)&^0xFFFFFFFF|uint64(uint32(idx)))
	}
}

// capCell cuts a cell longer than maxMappedCell characters to its start,
// and notes (column, message) pairs in long: the row is invalid.
func (b *rowBuilder) capCell(what, v string, col int, long []string) (string, []string) {
	if len(v) <= maxMappedCell {
		return v, long
	}
	n := utf8.RuneCountInString(v)
	if n <= maxMappedCell {
		return v, long
	}
	return plan.ShortText(v, plan.MaxQuoted), append(long, plan.ColumnName(col), fmt.Sprintf("the %s cell holds %d characters, and no %s or group name has more than %d", what, n, b.v.noun, maxMappedCell))
}

// check applies the checks that need nothing but the cell itself, and
// reports the first problem found as the row's. A second cell (second) is
// a name beside the row's id, so the checks for a mangled id or a formula's
// error do not apply to it: a group may be named "#N/A" and a machine
// "ad-01-02-03", and the id decides which one the row means (plan.Build
// checks that the name agrees).
func (b *rowBuilder) check(r *plan.Row, idx int, what, v string, col int, second bool) cellScan {
	m := b.m
	msg := ""
	c := scanCell(v)
	switch {
	case v == "":
		b.empty = append(b.empty, emptyCell{row: idx, problem: len(m.Problems), line: r.Line, col: col})
		msg = "the " + what + " cell is empty"
	case !c.ascii && !utf8.ValidString(v):
		msg = notUTF8(what, v)
	case !second && v[0] == '#' && spreadsheetErrors[strings.ToUpper(v)]:
		msg = fmt.Sprintf("the %s cell holds the spreadsheet error %s: fix the formula that produced it, or type the value", what, v)
	case !second && c.idShaped && !plan.IsGUID(v):
		msg = fmt.Sprintf("%s %s looks like an id but is not a valid GUID", what, plan.QuoteShort(v))
	default:
		return c
	}
	if r.Problem == "" {
		r.Problem = msg
	}
	m.Problems = append(m.Problems, plan.Problem{Line: r.Line, Column: plan.ColumnName(col), Severity: plan.SeverityError, Message: msg})
	return c
}

// notUTF8 is the problem of a cell that is not UTF-8: text in a Windows
// or Mac code page, as Excel's "CSV (Comma delimited)", "CSV (MS-DOS)" and
// "CSV (Macintosh)" and Windows PowerShell's -Encoding Default and OEM
// write it. Such a file has no mark of which code page it is in, and a
// wrong guess reads another name, so it is not decoded: the message shows
// how the cell reads in Windows-1252, the likeliest, so the administrator
// knows which cell it is.
func notUTF8(what, v string) string {
	guess, err := charmap.Windows1252.NewDecoder().String(v)
	as := ""
	if err == nil && utf8.ValidString(guess) {
		as = fmt.Sprintf(" (in the Windows-1252 code page it would read %s)", plan.QuoteShort(guess))
	}
	return fmt.Sprintf("the %s cell %s is not UTF-8 text%s: the file is in a code page, which is not read; "+
		"save it as \"CSV UTF-8\" (or UTF-16 \"Unicode Text\"), or export it with -Encoding UTF8", what, plan.QuoteShort(v), as)
}

// cellScan is what the checks need to know about a cell, found in one pass
// over it: the checks run on every cell of every row.
type cellScan struct {
	ascii bool // no byte above 0x7F, so valid UTF-8
	plain bool // ASCII with no upper-case letter or brace: it is its own cellKey
	// idShaped: only hex digits, dashes and braces, with at least three
	// dashes. Machine names are never like that; a mangled GUID is.
	idShaped bool
}

// Byte classes for scanCell, OR-ed over a cell.
const (
	classNonASCII = 1 << iota
	classNotPlain // upper case or a brace: cellKey differs from the cell
	classNotID    // not a hex digit, dash or brace
)

var cellClasses = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = classNonASCII | classNotPlain | classNotID
		case c == '{' || c == '}' || 'A' <= c && c <= 'F':
			t[c] = classNotPlain
		case 'G' <= c && c <= 'Z':
			t[c] = classNotPlain | classNotID
		case c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f':
		default:
			t[c] = classNotID
		}
	}
	return t
}()

func scanCell(s string) cellScan {
	var f uint8
	for i := 0; i < len(s); i++ {
		f |= cellClasses[s[i]]
	}
	return cellScan{
		ascii:    f&classNonASCII == 0,
		plain:    f&classNotPlain == 0,
		idShaped: f&classNotID == 0 && strings.Count(s, "-") >= 3,
	}
}

// repeats finds connectors on more than one usable row. The first row of
// a connector is the one the others are compared with: the same group is a
// repeat (a warning, counted once); another group makes both rows invalid,
// each naming the other.
//
// Done once at the end by sorting hashes, rather than by a map lookup per
// row as the rows come: on 100,000 rows the map's cache misses cost more
// than parsing the file, and sorting integers walks memory in order.
func (b *rowBuilder) repeats() {
	b.keys = sortByHash(b.keys)
	for i := 0; i < len(b.keys); {
		j := i + 1
		for j < len(b.keys) && b.keys[j]>>32 == b.keys[i]>>32 {
			j++
		}
		if j-i > 1 {
			b.sameConnector(b.keys[i:j])
		}
		i = j
	}
	b.keys = b.keys[:0] // done: a second call finds nothing
}

// sortByHash sorts keys by their top 32 bits (the hash), keeping the order
// of equal ones, which is row order as they were appended: a radix sort,
// three passes of 11 bits, several times faster than a comparison sort of
// 100,000 keys. It returns the sorted keys, in keys or in a new slice.
func sortByHash(keys []uint64) []uint64 {
	if len(keys) < 2 {
		return keys
	}
	const bits = 11
	tmp := make([]uint64, len(keys))
	var count [1<<bits + 1]int
	for shift := 32; shift < 64; shift += bits {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&(1<<bits-1)+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, k := range keys {
			d := (k >> shift) & (1<<bits - 1)
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}

// sameConnector handles rows whose connectors hash alike (32 bits), in row
// order. Different connectors with one hash, about one pair in 100,000
// rows, are told apart by their keys.
func (b *rowBuilder) sameConnector(keys []uint64) {
	m := b.m
	first := map[string]int{} // cellKey → its first row
	for _, k := range keys {
		idx := int(uint32(k))
		r := &m.Rows[idx]
		key := cellKey(r.Connector)
		j, ok := first[key]
		if !ok {
			first[key] = idx
			continue
		}
		prev := &m.Rows[j]
		if sameCell(prev.Group, r.Group) {
			r.Duplicate = true
			m.Problems = append(m.Problems, plan.Problem{Line: r.Line, Column: m.ConnectorColumn, Severity: plan.SeverityWarning,
				Message: fmt.Sprintf("%s %s repeats row %d with the same group: counted once", b.v.noun, plan.QuoteShort(r.Connector), prev.Line)})
			continue
		}
		r.Problem = fmt.Sprintf("%s %s is also mapped on row %d to group %s: keep one of the two rows", b.v.noun, plan.QuoteShort(r.Connector), prev.Line, plan.QuoteShort(prev.Group))
		m.Problems = append(m.Problems, plan.Problem{Line: r.Line, Column: m.GroupColumn, Severity: plan.SeverityError, Message: r.Problem})
		if prev.Problem == "" {
			prev.Problem = fmt.Sprintf("%s %s is also mapped on row %d to group %s: keep one of the two rows", b.v.noun, plan.QuoteShort(prev.Connector), r.Line, plan.QuoteShort(r.Group))
			m.Problems = append(m.Problems, plan.Problem{Line: prev.Line, Column: m.GroupColumn, Severity: plan.SeverityError, Message: prev.Problem})
		}
	}
}

// done finishes the mapping: repeats found, problems in row order.
func (b *rowBuilder) done() *plan.Mapping {
	b.repeats()
	// Found in row order except for back-references to an earlier row; a
	// stable sort keeps the connector column before the group column.
	slices.SortStableFunc(b.m.Problems, func(x, y plan.Problem) int { return x.Line - y.Line })
	return b.m
}

// spreadsheetErrors are the error values a spreadsheet shows in a cell whose
// formula failed; exported CSV files carry them as text. No connector or
// group is called that, and the message can say what happened.
var spreadsheetErrors = map[string]bool{
	"#N/A": true, "#REF!": true, "#VALUE!": true, "#DIV/0!": true, "#NAME?": true, "#NULL!": true,
	"#NUM!": true, "#SPILL!": true, "#CALC!": true, "#GETTING_DATA": true, "#FIELD!": true,
	"#BLOCKED!": true, "#CONNECT!": true, "#BUSY!": true, "#UNKNOWN!": true,
}

// cellKey compares cells the way resolution will: a GUID with or without
// braces is one id, and names are case-insensitive.
func cellKey(s string) string {
	if plan.IsGUID(s) {
		return plan.NormalizeGUID(s)
	}
	return strings.ToLower(s)
}

func sameCell(a, b string) bool { return a == b || cellKey(a) == cellKey(b) }

// trimCell trims a cell as plan.TrimSpace does: resolution compares the
// tenant's names trimmed the same way.
func trimCell(s string) string { return plan.TrimSpace(s) }

// trimCellBytes is trimCell for bytes.
func trimCellBytes(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || (b[0] < utf8.RuneSelf && b[len(b)-1] < utf8.RuneSelf) {
		return b
	}
	return bytes.TrimFunc(b, isCellSpace)
}

func isCellSpace(r rune) bool { return plan.IsSpace(r) }

// blankCells reports whether every cell is empty after trimming.
func blankCells(cells []string) bool {
	for _, c := range cells {
		if trimCell(c) != "" {
			return false
		}
	}
	return true
}

// headerKey folds a header for comparison: case, spaces (including line
// breaks typed with Alt+Enter in a spreadsheet header), '_' and '-'.
func headerKey(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || isCellSpace(r) {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

func missingWhat(noun string, ci, gi int) string {
	switch {
	case ci < 0 && gi < 0:
		return noun + " or group"
	case ci < 0:
		return noun
	default:
		return "group"
	}
}

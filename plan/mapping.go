package plan

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Accepted header names, compared after lower-casing and removing spaces,
// underscores and dashes (DESIGN.md, "Mapping file").
var (
	connectorHeaders = []string{"connector", "connectorid", "machinename"}
	groupHeaders     = []string{"group", "groupid", "connectorgroup", "connectorgroupid", "groupname", "connectorgroupname"}
)

// Severity of a mapping problem.
type Severity string

const (
	SeverityError   Severity = "error"   // the row is invalid
	SeverityWarning Severity = "warning" // the row is used or skipped harmlessly
)

// Problem is one thing wrong with the mapping file, at a row and column.
type Problem struct {
	Line     int      `json:"row"`
	Column   string   `json:"column,omitempty"` // spreadsheet letter: A, B, …
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// Format renders the problem as file:row:column: message.
func (p Problem) Format(path string) string {
	loc := path
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
	}
	if p.Column != "" {
		loc += ":" + p.Column
	}
	if p.Severity == SeverityWarning {
		return loc + ": warning: " + p.Message
	}
	return loc + ": " + p.Message
}

// Row is one data row of the mapping.
type Row struct {
	Line      int    // the row number in the file (the header is row 1)
	Connector string // trimmed cell: a GUID or a machine name
	Group     string // trimmed cell: a GUID or a group name
	Problem   string // why the row is invalid on its own; empty when it is usable
	Duplicate bool   // a repeat of an earlier identical row: skipped
}

// Mapping is a parsed mapping file.
type Mapping struct {
	Path            string
	SHA256          string
	ConnectorHeader string // the header cell used for connectors, as written
	GroupHeader     string
	ConnectorColumn string // its column letter
	GroupColumn     string
	Rows            []Row
	Problems        []Problem
}

// Invalid counts rows that have a problem of their own.
func (m *Mapping) Invalid() int {
	n := 0
	for _, r := range m.Rows {
		if r.Problem != "" {
			n++
		}
	}
	return n
}

// FileError is a mapping file that cannot be used at all: unreadable, no
// recognisable header. Nothing in it is applied.
type FileError struct {
	Path   string
	Line   int
	Column string
	Msg    string
	Err    error
}

func (e *FileError) Error() string {
	p := Problem{Line: e.Line, Column: e.Column, Message: e.Msg}
	s := p.Format(e.Path)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FileError) Unwrap() error { return e.Err }

// ReadMapping reads a CSV mapping file. Row-level problems are collected in
// Mapping.Problems so one run reports all of them; an error is returned only
// when the file as a whole cannot be used.
func ReadMapping(path string) (*Mapping, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx", ".xls", ".xlsm":
		return nil, &FileError{Path: path, Msg: "spreadsheet mappings are not supported yet: save the sheet as CSV (UTF-8)"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: path, Msg: "cannot open mapping", Err: err}
	}
	defer f.Close()
	return ParseCSV(path, f)
}

// ParseCSV reads a CSV mapping from r; name is used in messages.
func ParseCSV(name string, r io.Reader) (*Mapping, error) {
	h := sha256.New()
	m, err := readCSV(name, io.TeeReader(r, h))
	if err != nil {
		return nil, err
	}
	// Hash whatever the reader did not consume, so the digest covers the file.
	if _, err := io.Copy(h, r); err != nil {
		return nil, &FileError{Path: name, Msg: "cannot read mapping", Err: err}
	}
	m.SHA256 = hex.EncodeToString(h.Sum(nil))
	return m, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func readCSV(path string, r io.Reader) (*Mapping, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	first, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, &FileError{Path: path, Msg: "cannot read mapping", Err: err}
	}
	cr := csv.NewReader(br)
	cr.Comma = detectDelimiter(first)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	m := &Mapping{Path: path}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &FileError{Path: path, Line: 1, Msg: "the file is empty: expected a header row naming a connector column and a group column"}
	}
	if err != nil {
		return nil, csvFileError(path, header, err)
	}
	ci, gi := -1, -1
	found := make([]string, 0, len(header))
	for i, h := range header {
		name := strings.TrimSpace(h)
		found = append(found, strconv.Quote(name))
		key := headerKey(name)
		if ci < 0 && contains(connectorHeaders, key) {
			ci, m.ConnectorHeader = i, name
		} else if gi < 0 && contains(groupHeaders, key) {
			gi, m.GroupHeader = i, name
		}
	}
	if ci < 0 || gi < 0 {
		return nil, &FileError{Path: path, Line: 1, Msg: fmt.Sprintf(
			"no %s column in the header row (found %s); accepted connector headers: connector, connectorId, connector id, machineName; accepted group headers: group, groupId, connectorGroup, connectorGroupId, groupName, connectorGroupName",
			missingWhat(ci, gi), strings.Join(found, ", "))}
	}
	m.ConnectorColumn, m.GroupColumn = ColumnName(ci), ColumnName(gi)

	seen := map[string]int{} // lower-cased connector cell → index in m.Rows of its first usable row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// pe.Column is a byte offset; the partial record holds the
				// fields before the bad one, so its length is the bad field's index.
				m.Problems = append(m.Problems, Problem{Line: pe.StartLine, Column: ColumnName(len(rec)), Severity: SeverityError, Message: "malformed CSV: " + pe.Err.Error()})
				m.Rows = append(m.Rows, Row{Line: pe.StartLine, Problem: "malformed CSV: " + pe.Err.Error()})
				// encoding/csv cannot resynchronise reliably after a
				// quoting error: stop here rather than misread what follows.
				break
			}
			return nil, &FileError{Path: path, Msg: "cannot read mapping", Err: err}
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		row := Row{Line: line, Connector: cell(rec, ci), Group: cell(rec, gi)}
		m.checkRow(&row)
		if row.Problem == "" {
			key := cellKey(row.Connector)
			if j, ok := seen[key]; ok {
				prev := &m.Rows[j]
				if cellKey(prev.Group) == cellKey(row.Group) {
					row.Duplicate = true
					m.Problems = append(m.Problems, Problem{Line: row.Line, Column: m.ConnectorColumn, Severity: SeverityWarning,
						Message: fmt.Sprintf("connector %q repeats row %d with the same group: counted once", row.Connector, prev.Line)})
				} else {
					row.Problem = fmt.Sprintf("connector %q is also mapped on row %d to group %q: keep one of the two rows", row.Connector, prev.Line, prev.Group)
					m.Problems = append(m.Problems, Problem{Line: row.Line, Column: m.GroupColumn, Severity: SeverityError, Message: row.Problem})
					if prev.Problem == "" {
						prev.Problem = fmt.Sprintf("connector %q is also mapped on row %d to group %q: keep one of the two rows", prev.Connector, row.Line, row.Group)
						m.Problems = append(m.Problems, Problem{Line: prev.Line, Column: m.GroupColumn, Severity: SeverityError, Message: prev.Problem})
					}
				}
			} else {
				seen[key] = len(m.Rows)
			}
		}
		m.Rows = append(m.Rows, row)
	}
	sortProblems(m.Problems)
	return m, nil
}

// cellKey compares cells the way resolution will: a GUID with or without
// braces is one id, and names are case-insensitive.
func cellKey(s string) string {
	if IsGUID(s) {
		return NormalizeGUID(s)
	}
	return strings.ToLower(s)
}

// checkRow applies the checks that need nothing but the row itself.
func (m *Mapping) checkRow(r *Row) {
	add := func(col, msg string) {
		if r.Problem == "" {
			r.Problem = msg
		}
		m.Problems = append(m.Problems, Problem{Line: r.Line, Column: col, Severity: SeverityError, Message: msg})
	}
	if r.Connector == "" {
		add(m.ConnectorColumn, "the connector cell is empty")
	} else if looksLikeID(r.Connector) && !IsGUID(r.Connector) {
		add(m.ConnectorColumn, fmt.Sprintf("connector %q looks like an id but is not a valid GUID", r.Connector))
	}
	if r.Group == "" {
		add(m.GroupColumn, "the group cell is empty")
	} else if looksLikeID(r.Group) && !IsGUID(r.Group) {
		add(m.GroupColumn, fmt.Sprintf("group %q looks like an id but is not a valid GUID", r.Group))
	}
}

// csvFileError reports a header that cannot be parsed; partial is what
// encoding/csv returned with the error (the fields before the bad one).
func csvFileError(path string, partial []string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FileError{Path: path, Line: pe.StartLine, Column: ColumnName(len(partial)), Msg: "malformed CSV", Err: pe.Err}
	}
	return &FileError{Path: path, Msg: "cannot read mapping", Err: err}
}

// detectDelimiter picks , ; or tab: whichever occurs most in the header
// line outside quotes (European Excel exports use ;).
func detectDelimiter(b []byte) rune {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	counts := map[rune]int{}
	inQuote := false
	for _, c := range string(b) {
		switch {
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

func headerKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '\u00a0':
			return -1
		}
		return r
	}, strings.ToLower(s))
}

func missingWhat(ci, gi int) string {
	switch {
	case ci < 0 && gi < 0:
		return "connector or group"
	case ci < 0:
		return "connector"
	default:
		return "group"
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func cell(rec []string, i int) string {
	if i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// ColumnName turns a 0-based column index into a spreadsheet letter.
func ColumnName(i int) string {
	if i < 0 {
		return ""
	}
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}

var guidRE = regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$`)

// IsGUID reports whether s is a GUID, with or without braces.
// The length check spares the regexp on machine and group names, which are
// looked at once per row.
func IsGUID(s string) bool {
	if n := len(s); n != 36 && n != 38 {
		return false
	}
	return guidRE.MatchString(s) && (s[0] == '{') == (s[len(s)-1] == '}')
}

// NormalizeGUID strips braces and lower-cases a GUID.
func NormalizeGUID(s string) string {
	return strings.ToLower(strings.Trim(s, "{}"))
}

// looksLikeID: only hex digits, dashes and braces, with at least three
// dashes. Machine names are never like that; a mangled GUID is.
func looksLikeID(s string) bool {
	if strings.Count(s, "-") < 3 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '-', c == '{', c == '}':
		default:
			return false
		}
	}
	return true
}

func sortProblems(ps []Problem) {
	// Found in line order except for back-references to an earlier row.
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
}

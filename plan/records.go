package plan

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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
	// ConnectorAlt and GroupAlt are a second cell naming the same
	// connector or group, from a file with both an id and a name column
	// (an export): both must resolve to the same one, or the row is
	// invalid. Empty when the file has one such column, or the cell is.
	ConnectorAlt string
	GroupAlt     string
	Problem      string // why the row is invalid on its own; empty when it is usable
	Duplicate    bool   // a repeat of an earlier identical row: skipped
}

// Mapping is a parsed mapping file.
type Mapping struct {
	Path            string
	SHA256          string
	Sheet           string // the worksheet read, for an XLSX mapping; empty for CSV
	ConnectorHeader string // the header cell used for connectors, as written
	GroupHeader     string
	ConnectorColumn string // its column letter
	GroupColumn     string
	// The second connector and group columns (Row.ConnectorAlt,
	// Row.GroupAlt), when the file has them; empty otherwise.
	ConnectorAltHeader, GroupAltHeader string
	ConnectorAltColumn, GroupAltColumn string
	Rows                               []Row
	Problems                           []Problem
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

// IsGUID reports whether s is a GUID, with or without braces. Written out
// rather than as a regexp: it runs on every cell of every row.
func IsGUID(s string) bool {
	switch len(s) {
	case 36:
	case 38:
		if s[0] != '{' || s[37] != '}' {
			return false
		}
		s = s[1:37]
	default:
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !isHex(c) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// NormalizeGUID strips braces and lower-cases a GUID.
func NormalizeGUID(s string) string {
	return strings.ToLower(strings.Trim(s, "{}"))
}

// TrimSpace trims what a mapping cell loses around its value: white
// space, including the no-break and zero-width spaces and stray byte order
// marks that copying from web pages and chat messages leaves behind.
func TrimSpace(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || (s[0] < utf8.RuneSelf && s[len(s)-1] < utf8.RuneSelf) {
		return s // the common case: no Unicode at either end
	}
	return strings.TrimFunc(s, IsSpace)
}

// IsSpace is the white space TrimSpace trims.
func IsSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff'
}

// MaxQuoted is how many characters of a value a message quotes: enough to
// recognise it, while a 100 MB cell never becomes a 100 MB message.
const MaxQuoted = 80

// ShortText is s cut to its first n characters, with "…" when it was cut.
func ShortText(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return strings.ToValidUTF8(s[:j], "\uFFFD") + "…"
		}
		i++
	}
	return s
}

// QuoteShort quotes the start of a value for a message.
func QuoteShort(s string) string {
	return strconv.Quote(ShortText(s, MaxQuoted))
}

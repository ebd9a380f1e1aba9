package mapping

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"

	"connrecon/plan"
)

const bom = "\xef\xbb\xbf"

// wantProblem matches a Problem on everything but the exact wording: the
// message must contain each fragment.
type wantProblem struct {
	Line     int
	Column   string
	Severity plan.Severity
	Contains []string
}

func checkProblems(t *testing.T, got []plan.Problem, want []wantProblem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), formatProblems(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.Line || g.Column != w.Column || g.Severity != w.Severity {
			t.Errorf("problem %d = %d:%s %s, want %d:%s %s (%q)", i, g.Line, g.Column, g.Severity, w.Line, w.Column, w.Severity, g.Message)
		}
		for _, frag := range w.Contains {
			if !strings.Contains(g.Message, frag) {
				t.Errorf("problem %d message %q does not contain %q", i, g.Message, frag)
			}
		}
	}
}

func formatProblems(ps []plan.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Format("in.csv") + "\n")
	}
	return b.String()
}

func parse(t *testing.T, input string) *plan.Mapping {
	t.Helper()
	m, err := ParseCSV("in.csv", strings.NewReader(input))
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	return m
}

func TestParseCSVHeaders(t *testing.T) {
	tests := []struct {
		name                  string
		input                 string
		connHeader, grpHeader string
		connCol, grpCol       string
		connector, group      string
	}{
		{"connector group", "connector,group\na,Europe\n", "connector", "group", "A", "B", "a", "Europe"},
		{"connectorId groupId", "connectorId,groupId\na,Europe\n", "connectorId", "groupId", "A", "B", "a", "Europe"},
		{"spaced title case", "Connector Id,Connector Group\na,Europe\n", "Connector Id", "Connector Group", "A", "B", "a", "Europe"},
		{"machineName connectorGroupId", "machineName,connectorGroupId\na,Europe\n", "machineName", "connectorGroupId", "A", "B", "a", "Europe"},
		{"Machine Name groupName", "Machine Name,groupName\na,Europe\n", "Machine Name", "groupName", "A", "B", "a", "Europe"},
		{"connectorGroup", "connector,connectorGroup\na,Europe\n", "connector", "connectorGroup", "A", "B", "a", "Europe"},
		{"connectorGroupName", "connector,connectorGroupName\na,Europe\n", "connector", "connectorGroupName", "A", "B", "a", "Europe"},
		{"upper case", "CONNECTOR,GROUP\na,Europe\n", "CONNECTOR", "GROUP", "A", "B", "a", "Europe"},
		{"header cells trimmed", "  Connector  ,  Group \na,Europe\n", "Connector", "Group", "A", "B", "a", "Europe"},
		{"group first", "group,connector\nEurope,a\n", "connector", "group", "B", "A", "a", "Europe"},
		{"extra columns any order", "notes,Connector Group,site,Connector Id,owner\nx,Europe,paris,a,me\n", "Connector Id", "Connector Group", "D", "B", "a", "Europe"},
		{"first column of a kind wins", "machineName,connectorName,groupName,connectorGroupName\na,b,Europe,Asia\n", "machineName", "groupName", "A", "C", "a", "Europe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse(t, tt.input)
			if m.ConnectorHeader != tt.connHeader || m.GroupHeader != tt.grpHeader {
				t.Errorf("headers = %q, %q; want %q, %q", m.ConnectorHeader, m.GroupHeader, tt.connHeader, tt.grpHeader)
			}
			if m.ConnectorColumn != tt.connCol || m.GroupColumn != tt.grpCol {
				t.Errorf("columns = %s, %s; want %s, %s", m.ConnectorColumn, m.GroupColumn, tt.connCol, tt.grpCol)
			}
			want := []plan.Row{{Line: 2, Connector: tt.connector, Group: tt.group}}
			if !reflect.DeepEqual(m.Rows, want) {
				t.Errorf("rows = %+v, want %+v", m.Rows, want)
			}
			if len(m.Problems) != 0 {
				t.Errorf("unexpected problems:\n%s", formatProblems(m.Problems))
			}
		})
	}
}

// TestParseCSVFormats covers what spreadsheets and editors actually write.
// None of these inputs has a problem.
func TestParseCSVFormats(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []plan.Row
	}{
		{
			name:  "LF",
			input: "connector,group\napp1,Europe\napp2,US East\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 3, Connector: "app2", Group: "US East"}},
		},
		{
			name:  "CRLF",
			input: "connector,group\r\napp1,Europe\r\napp2,US East\r\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 3, Connector: "app2", Group: "US East"}},
		},
		{
			name:  "no final newline",
			input: "connector,group\napp1,Europe",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}},
		},
		{
			name:  "UTF-8 BOM",
			input: bom + "connector,group\napp1,Europe\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}},
		},
		{
			name:  "semicolon",
			input: "Connector Id;Connector Group\r\napp1;Europe, West\r\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe, West"}},
		},
		{
			// The header has more commas than semicolons, but inside quotes.
			name:  "semicolon with quoted commas in the header",
			input: "connector;group;\"notes, free text, more\"\napp1;Europe, West;x\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe, West"}},
		},
		{
			name:  "tab",
			input: "connector\tgroup\napp1\tEurope; West, North\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe; West, North"}},
		},
		{
			name:  "BOM CRLF semicolon",
			input: bom + "Machine Name;Connector Group\r\napp1;Europe\r\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}},
		},
		{
			name:  "quoted fields with delimiters and quotes",
			input: "connector,group\n\"app1\",\"Europe, West\"\napp2,\"Team \"\"A\"\"\"\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe, West"}, {Line: 3, Connector: "app2", Group: `Team "A"`}},
		},
		{
			// Row numbers are file lines: skipped blank rows still count.
			name:  "blank rows skipped",
			input: "connector,group\n\napp1,Europe\n,\n  ,  \r\n\t\napp2,US East\n\n",
			want:  []plan.Row{{Line: 3, Connector: "app1", Group: "Europe"}, {Line: 7, Connector: "app2", Group: "US East"}},
		},
		{
			name:  "values trimmed",
			input: "connector,group\n  app1 ,\t Europe \u00a0\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}},
		},
		{
			// A quoted line break makes one row span two lines; the next row
			// is numbered by the line it starts on.
			name:  "multi-line quoted field",
			input: "connector,group\napp1,\"Europe\nWest\"\napp2,US East\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe\nWest"}, {Line: 4, Connector: "app2", Group: "US East"}},
		},
		{
			name:  "GUIDs with and without braces",
			input: "connector,group\n{C0000000-0000-4000-8000-000000000001},9a000000-0000-4000-8000-000000000002\nc0000000-0000-4000-8000-000000000002,{9A000000-0000-4000-8000-000000000002}\n",
			want: []plan.Row{
				{Line: 2, Connector: "{C0000000-0000-4000-8000-000000000001}", Group: "9a000000-0000-4000-8000-000000000002"},
				{Line: 3, Connector: "c0000000-0000-4000-8000-000000000002", Group: "{9A000000-0000-4000-8000-000000000002}"},
			},
		},
		{
			name:  "header only",
			input: "connector,group\n",
			want:  nil,
		},
		{
			name:  "UTF-16LE with BOM",
			input: utf16Text("connector\tgroup\r\napp1\tEU - Zürich\r\n", false),
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "EU - Zürich"}},
		},
		{
			name:  "UTF-16BE with BOM",
			input: utf16Text("connector,group\napp1,APAC - 東京\n", true),
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "APAC - 東京"}},
		},
		{
			// Characters outside the BMP are surrogate pairs in UTF-16.
			name:  "UTF-16LE surrogate pair",
			input: utf16Text("connector,group\napp1,lab 🚀\n", false),
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "lab 🚀"}},
		},
		{
			name:  "BOM-less UTF-8 with non-ASCII names",
			input: "connector,group\nfra-01,EU - Zürich\ntyo-01,APAC - 東京\n",
			want:  []plan.Row{{Line: 2, Connector: "fra-01", Group: "EU - Zürich"}, {Line: 3, Connector: "tyo-01", Group: "APAC - 東京"}},
		},
		{
			// Excel's sep= line names the delimiter; it is line 1.
			name:  "sep line",
			input: "sep=;\r\nconnector;group\r\napp1;Europe, West\r\n",
			want:  []plan.Row{{Line: 3, Connector: "app1", Group: "Europe, West"}},
		},
		{
			// The header is the first non-blank line, and its delimiter
			// is the one detected.
			name:  "blank lines before the header",
			input: "\n  \r\n;;\nconnector;group\napp1;Europe, West\n",
			want:  []plan.Row{{Line: 5, Connector: "app1", Group: "Europe, West"}},
		},
		{
			name:  "zero-width and no-break spaces trimmed",
			input: "connector,group\n\u200bapp1\ufeff,\u00a0Europe\u200b\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}},
		},
		{
			// A header typed with Alt+Enter in a spreadsheet.
			name:  "line break inside a header cell",
			input: "\"Connector\nId\",\"Connector\r\nGroup\"\napp1,Europe\n",
			want:  []plan.Row{{Line: 4, Connector: "app1", Group: "Europe"}},
		},
		{
			name:  "CRLF inside a quoted cell is a line feed",
			input: "connector,group\r\napp1,\"Europe\r\nWest\"\r\napp2,Asia\r\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe\nWest"}, {Line: 4, Connector: "app2", Group: "Asia"}},
		},
		{
			name:  "quoted last cell without a final newline",
			input: "connector,group\napp1,\"Europe\"",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}},
		},
		{
			name:  "lone CR at the end of the file",
			input: "connector,group\napp1,Europe\r",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}},
		},
		{
			name:  "quoted empty cells are a blank row",
			input: "connector,group\n\"\",\"  \"\napp1,Europe\n",
			want:  []plan.Row{{Line: 3, Connector: "app1", Group: "Europe"}},
		},
		{
			// Longer than the reader's 64 KiB buffer.
			name:  "a very long line",
			input: "connector,group,notes\napp1,Europe," + strings.Repeat("x", 200<<10) + "\napp2,Asia\n",
			want:  []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 3, Connector: "app2", Group: "Asia"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse(t, tt.input)
			if !reflect.DeepEqual(m.Rows, tt.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", m.Rows, tt.want)
			}
			if len(m.Problems) != 0 {
				t.Errorf("unexpected problems:\n%s", formatProblems(m.Problems))
			}
			if m.Invalid() != 0 {
				t.Errorf("Invalid() = %d, want 0", m.Invalid())
			}
		})
	}
}

func TestDetectDelimiter(t *testing.T) {
	tests := []struct {
		header string
		want   rune
	}{
		{"connector,group", ','},
		{"connector;group", ';'},
		{"connector\tgroup", '\t'},
		{"connector", ','},
		{"a;b,c;d", ';'},
		{"a,b\tc,d", ','},
		{"a\tb;c\td", '\t'},
		{`"a;b;c",group`, ','},
		{`"a,b,c";group`, ';'},
		{"a;b\n,,,,,", ';'},           // only the header line counts
		{"a;b\r\nc,d,e,f", ';'},       // CRLF ends the header line too
		{"\n\r\n  \na;b\nc,d,e", ';'}, // blank lines are not the header
		{"\"a\n,,,\";b;c", ';'},       // a quoted line break does not end it
		{"", ','},
	}
	for _, tt := range tests {
		if got := detectDelimiter([]byte(tt.header)); got != tt.want {
			t.Errorf("detectDelimiter(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestParseCSVProblems(t *testing.T) {
	const (
		connID    = "c0000000-0000-4000-8000-000000000001"
		europeID  = "9a000000-0000-4000-8000-000000000002"
		braceConn = "{C0000000-0000-4000-8000-000000000001}"
		braceEU   = "{9A000000-0000-4000-8000-000000000002}"
	)
	tests := []struct {
		name     string
		input    string
		want     []plan.Row // Problem compared by fragments below, not here
		reasons  [][]string
		problems []wantProblem
	}{
		{
			name:     "empty connector cell",
			input:    "connector,group\n,Europe\n",
			want:     []plan.Row{{Line: 2, Group: "Europe"}},
			reasons:  [][]string{{"connector cell is empty"}},
			problems: []wantProblem{{2, "A", plan.SeverityError, []string{"connector cell is empty"}}},
		},
		{
			name:     "empty group cell",
			input:    "group,connector\n ,app1\n",
			want:     []plan.Row{{Line: 2, Connector: "app1"}},
			reasons:  [][]string{{"group cell is empty"}},
			problems: []wantProblem{{2, "A", plan.SeverityError, []string{"group cell is empty"}}},
		},
		{
			name:     "short row has no group cell",
			input:    "notes,connector,group\nx,app1\n",
			want:     []plan.Row{{Line: 2, Connector: "app1"}},
			reasons:  [][]string{{"group cell is empty"}},
			problems: []wantProblem{{2, "C", plan.SeverityError, []string{"group cell is empty"}}},
		},
		{
			// Not blank (the notes cell is filled): both cells reported,
			// the row keeps the first reason.
			name:    "both cells empty",
			input:   "notes,connector,group\nhello,,\n",
			want:    []plan.Row{{Line: 2}},
			reasons: [][]string{{"connector cell is empty"}},
			problems: []wantProblem{
				{2, "B", plan.SeverityError, []string{"connector cell is empty"}},
				{2, "C", plan.SeverityError, []string{"group cell is empty"}},
			},
		},
		{
			name:     "mangled connector GUID",
			input:    "connector,group\n1234-5678-9abc-def0,Europe\n",
			want:     []plan.Row{{Line: 2, Connector: "1234-5678-9abc-def0", Group: "Europe"}},
			reasons:  [][]string{{`"1234-5678-9abc-def0"`, "looks like an id but is not a valid GUID"}},
			problems: []wantProblem{{2, "A", plan.SeverityError, []string{"connector", "looks like an id but is not a valid GUID"}}},
		},
		{
			name:     "mangled group GUID with one brace",
			input:    "connector,group\napp1,{9a000000-0000-4000-8000-000000000002\n",
			want:     []plan.Row{{Line: 2, Connector: "app1", Group: "{9a000000-0000-4000-8000-000000000002"}},
			reasons:  [][]string{{"group", "looks like an id but is not a valid GUID"}},
			problems: []wantProblem{{2, "B", plan.SeverityError, []string{"group", "looks like an id but is not a valid GUID"}}},
		},
		{
			name:     "truncated GUID",
			input:    "connector,group\nc0000000-0000-4000-8000-00000000001,Europe\n",
			want:     []plan.Row{{Line: 2, Connector: "c0000000-0000-4000-8000-00000000001", Group: "Europe"}},
			reasons:  [][]string{{"not a valid GUID"}},
			problems: []wantProblem{{2, "A", plan.SeverityError, []string{"not a valid GUID"}}},
		},
		{
			// Dashed machine names are names, not mangled ids.
			name:    "dashed machine name",
			input:   "connector,group\nfra-appproxy-01-b.contoso.com,EU - Frankfurt\n",
			want:    []plan.Row{{Line: 2, Connector: "fra-appproxy-01-b.contoso.com", Group: "EU - Frankfurt"}},
			reasons: [][]string{nil},
		},
		{
			name:    "same connector twice, same group",
			input:   "connector,group\napp1,Europe\napp2,US\nAPP1 , europe\n",
			want:    []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 3, Connector: "app2", Group: "US"}, {Line: 4, Connector: "APP1", Group: "europe", Duplicate: true}},
			reasons: [][]string{nil, nil, nil},
			problems: []wantProblem{
				{4, "A", plan.SeverityWarning, []string{"repeats row 2"}},
			},
		},
		{
			// The same ids written with and without braces are the same
			// connector and the same group.
			name:    "same connector twice, same group, braces differ",
			input:   "connector,group\n" + connID + "," + europeID + "\n" + braceConn + "," + braceEU + "\n",
			want:    []plan.Row{{Line: 2, Connector: connID, Group: europeID}, {Line: 3, Connector: braceConn, Group: braceEU, Duplicate: true}},
			reasons: [][]string{nil, nil},
			problems: []wantProblem{
				{3, "A", plan.SeverityWarning, []string{"repeats row 2"}},
			},
		},
		{
			name:    "same connector twice, group id with and without braces",
			input:   "connector,group\napp1," + europeID + "\napp1," + braceEU + "\n",
			want:    []plan.Row{{Line: 2, Connector: "app1", Group: europeID}, {Line: 3, Connector: "app1", Group: braceEU, Duplicate: true}},
			reasons: [][]string{nil, nil},
			problems: []wantProblem{
				{3, "A", plan.SeverityWarning, []string{"repeats row 2"}},
			},
		},
		{
			name:    "same connector twice, different groups",
			input:   "connector,group\napp1,Europe\napp2,US\napp1,Asia\n",
			want:    []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 3, Connector: "app2", Group: "US"}, {Line: 4, Connector: "app1", Group: "Asia"}},
			reasons: [][]string{{"row 4", `"Asia"`}, nil, {"row 2", `"Europe"`}},
			problems: []wantProblem{
				{2, "B", plan.SeverityError, []string{"row 4"}},
				{4, "B", plan.SeverityError, []string{"row 2"}},
			},
		},
		{
			// The first row keeps naming the row it first clashed with.
			name:    "same connector three times",
			input:   "connector,group\napp1,Europe\napp1,Asia\napp1,US\n",
			want:    []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 3, Connector: "app1", Group: "Asia"}, {Line: 4, Connector: "app1", Group: "US"}},
			reasons: [][]string{{"row 3"}, {"row 2"}, {"row 2"}},
			problems: []wantProblem{
				{2, "B", plan.SeverityError, []string{"row 3"}},
				{3, "B", plan.SeverityError, []string{"row 2"}},
				{4, "B", plan.SeverityError, []string{"row 2"}},
			},
		},
		{
			// An invalid row does not claim its connector: the later row
			// is the only usable one.
			name:     "invalid row then the same connector",
			input:    "connector,group\napp1,\napp1,Europe\n",
			want:     []plan.Row{{Line: 2, Connector: "app1"}, {Line: 3, Connector: "app1", Group: "Europe"}},
			reasons:  [][]string{{"group cell is empty"}, nil},
			problems: []wantProblem{{2, "B", plan.SeverityError, []string{"group cell is empty"}}},
		},
		{
			// Reading goes on at the next line.
			name:     "malformed quote",
			input:    "connector,group\napp1,Europe\napp2,\"US\" East\napp3,Asia\n",
			want:     []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 3}, {Line: 4, Connector: "app3", Group: "Asia"}},
			reasons:  [][]string{nil, {"malformed CSV", csv.ErrQuote.Error(), "text follows the closing quote"}, nil},
			problems: []wantProblem{{3, "B", plan.SeverityError, []string{"malformed CSV"}}},
		},
		{
			name:     "bare quote",
			input:    "connector,group\napp1,Europe\n\napp\"2,US\napp3,Asia\n",
			want:     []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 4}, {Line: 5, Connector: "app3", Group: "Asia"}},
			reasons:  [][]string{nil, {"malformed CSV", csv.ErrBareQuote.Error(), `"app""1"`}, nil},
			problems: []wantProblem{{4, "A", plan.SeverityError, []string{"malformed CSV"}}},
		},
		{
			// Reported once, where the quote opens; it took the rest of
			// the file, so nothing after it is a row.
			name:     "unterminated quote",
			input:    "connector,group\napp1,Europe\napp2,\"US East\napp3,Asia\napp4,Asia\n",
			want:     []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 3}},
			reasons:  [][]string{nil, {"malformed CSV", "never closed", "lines 3 to 5"}},
			problems: []wantProblem{{3, "B", plan.SeverityError, []string{"malformed CSV", "never closed"}}},
		},
		{
			name:     "unterminated quote on the last line",
			input:    "connector,group\napp1,Europe\napp2,\"US East\n",
			want:     []plan.Row{{Line: 2, Connector: "app1", Group: "Europe"}, {Line: 3}},
			reasons:  [][]string{nil, {"never closed before the file ends"}},
			problems: []wantProblem{{3, "B", plan.SeverityError, []string{"never closed"}}},
		},
		{
			name:     "malformed quote in a later column",
			input:    "notes,owner,connector,group\nx,y,app1,\"Eu\"rope\n",
			want:     []plan.Row{{Line: 2}},
			reasons:  [][]string{{"malformed CSV"}},
			problems: []wantProblem{{2, "D", plan.SeverityError, []string{"malformed CSV"}}},
		},
		{
			// encoding/csv drops the rest of a bad line and then reads the
			// second line of the quoted note as a record of its own; the
			// record ends where the quoted note does.
			name:    "multi-line cell after a bad quote stays in its record",
			input:   "connector,group,notes\napp1,\"Asia\" x,\"a note\nover two lines\"\napp2,Asia\n",
			want:    []plan.Row{{Line: 2}, {Line: 4, Connector: "app2", Group: "Asia"}},
			reasons: [][]string{{"malformed CSV"}, nil},
			problems: []wantProblem{
				{2, "B", plan.SeverityError, []string{"malformed CSV"}},
			},
		},
		{
			name: "every malformed line reported",
			input: "connector,group\n" +
				"app\"1,Europe\n" +
				"app2,\"US\"East\n" +
				"app3,Europe\n" +
				"app4,Eu\"rope\n" +
				"app5,\"Asia\"\"\" \n",
			want:    []plan.Row{{Line: 2}, {Line: 3}, {Line: 4, Connector: "app3", Group: "Europe"}, {Line: 5}, {Line: 6}},
			reasons: [][]string{{csv.ErrBareQuote.Error()}, {csv.ErrQuote.Error()}, nil, {csv.ErrBareQuote.Error()}, {csv.ErrQuote.Error()}},
			problems: []wantProblem{
				{2, "A", plan.SeverityError, []string{"malformed CSV"}},
				{3, "B", plan.SeverityError, []string{"malformed CSV"}},
				{5, "B", plan.SeverityError, []string{"malformed CSV"}},
				{6, "B", plan.SeverityError, []string{"malformed CSV"}},
			},
		},
		{
			// The unterminated quote matters more than the bare one.
			name:     "bare quote then an unterminated quote in one record",
			input:    "connector,group,notes\napp1,x\"y,\"open\napp2,Asia\n",
			want:     []plan.Row{{Line: 2}},
			reasons:  [][]string{{"never closed", "lines 2 to 3"}},
			problems: []wantProblem{{2, "C", plan.SeverityError, []string{"never closed"}}},
		},
		{
			name:    "spreadsheet error values",
			input:   "connector,group\napp1,#N/A\n#REF!,Europe\napp3,#name?\n",
			want:    []plan.Row{{Line: 2, Connector: "app1", Group: "#N/A"}, {Line: 3, Connector: "#REF!", Group: "Europe"}, {Line: 4, Connector: "app3", Group: "#name?"}},
			reasons: [][]string{{"spreadsheet error #N/A"}, {"spreadsheet error #REF!"}, {"#name?"}},
			problems: []wantProblem{
				{2, "B", plan.SeverityError, []string{"group cell holds the spreadsheet error"}},
				{3, "A", plan.SeverityError, []string{"connector cell holds the spreadsheet error"}},
				{4, "B", plan.SeverityError, []string{"spreadsheet error"}},
			},
		},
		{
			// A Windows "CSV (Comma delimited)" export: ü is the byte 0xFC.
			name:     "not UTF-8",
			input:    "connector,group\napp1,EU - Z\xfcrich\n",
			want:     []plan.Row{{Line: 2, Connector: "app1", Group: "EU - Z\xfcrich"}},
			reasons:  [][]string{{"not UTF-8", "CSV UTF-8"}},
			problems: []wantProblem{{2, "B", plan.SeverityError, []string{"group cell", "not UTF-8"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse(t, tt.input)
			if len(m.Rows) != len(tt.want) {
				t.Fatalf("got %d rows, want %d: %+v", len(m.Rows), len(tt.want), m.Rows)
			}
			invalid := 0
			for i, w := range tt.want {
				g := m.Rows[i]
				w.Problem = g.Problem
				if !reflect.DeepEqual(g, w) {
					t.Errorf("row %d = %+v, want %+v", i, g, w)
				}
				if len(tt.reasons[i]) == 0 && g.Problem != "" {
					t.Errorf("row %d: unexpected problem %q", i, g.Problem)
				}
				if len(tt.reasons[i]) > 0 {
					invalid++
					if g.Problem == "" {
						t.Errorf("row %d: no problem, want one containing %q", i, tt.reasons[i])
					}
				}
				for _, frag := range tt.reasons[i] {
					if !strings.Contains(g.Problem, frag) {
						t.Errorf("row %d: problem %q does not contain %q", i, g.Problem, frag)
					}
				}
			}
			if m.Invalid() != invalid {
				t.Errorf("Invalid() = %d, want %d", m.Invalid(), invalid)
			}
			checkProblems(t, m.Problems, tt.problems)
		})
	}
}

func TestParseCSVFileErrors(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		line     int
		column   string
		contains []string
		is       error
	}{
		{
			name:  "no connector column",
			input: "Host,Connector Group,Notes\napp1,Europe,x\n",
			line:  1,
			contains: []string{
				"no connector column",
				`found "Host" (A), "Connector Group" (B), "Notes" (C)`,
				"connector, connectorId, connector id, machineName",
				"group, groupId, connectorGroup, connectorGroupId, groupName, connectorGroupName",
			},
		},
		{
			name:     "no group column",
			input:    "connector;target\napp1;Europe\n",
			line:     1,
			contains: []string{"no group column", `found "connector" (A), "target" (B)`},
		},
		{
			name:     "neither column",
			input:    "a,b\n",
			line:     1,
			contains: []string{"no connector or group column", `found "a" (A), "b" (B)`},
		},
		{name: "empty file", input: "", line: 1, contains: []string{"the file is empty"}},
		{name: "BOM only", input: bom, line: 1, contains: []string{"the file is empty"}},
		{name: "blank lines only", input: "\n\r\n\n", line: 1, contains: []string{"the file is empty"}},
		{name: "delimiters only", input: ",,\n , \n\t,\n", line: 1, contains: []string{"the file is empty"}},
		{name: "sep line only", input: "sep=;\r\n", line: 1, contains: []string{"the file is empty"}},
		{name: "unterminated quote in the header", input: "\"connector,group\napp1,Europe\n", line: 1, column: "A", contains: []string{"in.csv:1:A: malformed CSV"}, is: csv.ErrQuote},
		{name: "bad quote in the second header cell", input: "connector,\"gr\"oup\napp1,Europe\n", line: 1, column: "B", contains: []string{"in.csv:1:B: malformed CSV"}, is: csv.ErrQuote},
		{name: "header after blank lines", input: "\n\nhost,group\n", line: 3, contains: []string{"in.csv:3: no connector column"}},
		{
			// Only the first 20 header cells are listed.
			name:     "very wide header",
			input:    strings.Repeat("x,", 30) + "group\n",
			line:     1,
			contains: []string{`"x" (T), …); accepted`},
		},
		{
			name:     "UTF-16 without a byte order mark",
			input:    utf16Text("connector,group\napp1,Europe\n", false)[2:],
			line:     1,
			contains: []string{"NUL bytes", "CSV UTF-8"},
		},
		{
			name:     "HTML saved as a spreadsheet",
			input:    "<html><body><table><tr><td>connector</td></tr></table></body></html>\n",
			line:     1,
			contains: []string{"HTML", ".xlsx or CSV UTF-8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseCSV("in.csv", strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("no error; mapping %+v", m)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FileError", err, err)
			}
			if fe.Path != "in.csv" || fe.Line != tt.line || fe.Column != tt.column {
				t.Errorf("FileError at %s:%d:%s, want in.csv:%d:%s", fe.Path, fe.Line, fe.Column, tt.line, tt.column)
			}
			if !strings.HasPrefix(err.Error(), "in.csv:") {
				t.Errorf("error %q does not start with the file name", err)
			}
			for _, frag := range tt.contains {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not contain %q", err, frag)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			// The content is at fault, not the reading: cmd exits 4
			// for these, not 1.
			if fe.Err != nil {
				t.Errorf("FileError.Err = %v, want nil for a content error", fe.Err)
			}
		})
	}
}

func TestParseCSVProblemsFormatted(t *testing.T) {
	m, err := Read(filepath.Join("testdata", "mapping", "problems.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "mapping", "problems.csv")
	want := []string{
		path + `:2:A: the connector cell is empty`,
		path + `:3:B: the group cell is empty`,
		path + `:4:A: connector "1234-5678-9abc-def0" looks like an id but is not a valid GUID`,
		path + `:7:A: warning: connector "APP4.contoso.com" repeats row 6 with the same group: counted once`,
		path + `:8:B: connector "app5.contoso.com" is also mapped on row 9 to group "US East": keep one of the two rows`,
		path + `:9:B: connector "app5.contoso.com" is also mapped on row 8 to group "Europe": keep one of the two rows`,
	}
	var got []string
	for _, p := range m.Problems {
		got = append(got, p.Format(m.Path))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
	if m.Invalid() != 5 || len(m.Rows) != 7 {
		t.Errorf("%d rows, %d invalid; want 7 rows, 5 invalid", len(m.Rows), m.Invalid())
	}
}

func TestParseCSVSHA256(t *testing.T) {
	heavy(t)
	big := func(head string) string {
		var b strings.Builder
		b.WriteString(head)
		for b.Len() < 300<<10 { // well past the reader's 64 KiB buffer
			b.WriteString("app.contoso.com,Europe\n")
		}
		return b.String()
	}
	tests := []struct {
		name  string
		input string
	}{
		{"small", "connector,group\napp1,Europe\n"},
		{"BOM and CRLF", bom + "connector;group\r\napp1;Europe\r\n"},
		{"large", big("connector,group\n")},
		// Parsing stops at the bad quote; the digest must still cover the rest.
		{"malformed early in a large file", big("connector,group\napp1,\"x\"y\n")},
		// The quote swallows the rest: the digest must still cover it.
		{"unterminated quote early in a large file", big("connector,group\napp1,\"x\n")},
		{"UTF-16", utf16Text(big("connector,group\n"), false)},
	}
	// The digest is computed on another goroutine from copies of what is
	// read: small and uneven reads make many copies in flight.
	readers := map[string]func(io.Reader) io.Reader{
		"whole":  func(r io.Reader) io.Reader { return r },
		"halves": iotest.HalfReader,
		"bytes":  iotest.OneByteReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				m, err := ParseCSV("in.csv", wrap(strings.NewReader(tt.input)))
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256([]byte(tt.input))
				if want := hex.EncodeToString(sum[:]); m.SHA256 != want {
					t.Errorf("SHA256 = %s, want %s", m.SHA256, want)
				}
			})
		}
	}
}

func TestScanCell(t *testing.T) {
	tests := []struct {
		s    string
		want cellScan
	}{
		{"app1.contoso.com", cellScan{ascii: true, plain: true}},
		{"App1.contoso.com", cellScan{ascii: true}},
		{"EU - Zürich", cellScan{}},
		{"c0000000-0000-4000-8000-000000000001", cellScan{ascii: true, plain: true, idShaped: true}},
		{"{C0000000-0000-4000-8000-000000000001}", cellScan{ascii: true, idShaped: true}},
		{"1234-5678-9abc-def0", cellScan{ascii: true, plain: true, idShaped: true}},
		{"12-34-56", cellScan{ascii: true, plain: true}},                      // two dashes: a name
		{"fra-appproxy-01-b.contoso.com", cellScan{ascii: true, plain: true}}, // letters past f
		{"dead-beef-cafe-face", cellScan{ascii: true, plain: true, idShaped: true}},
		{"", cellScan{ascii: true, plain: true}},
	}
	for _, tt := range tests {
		if got := scanCell(tt.s); got != tt.want {
			t.Errorf("scanCell(%q) = %+v, want %+v", tt.s, got, tt.want)
		}
	}
}

// utf16Text encodes s as UTF-16 with a byte order mark, as Excel's
// "Unicode text" (little-endian) does.
func utf16Text(s string, bigEndian bool) string {
	var b []byte
	if bigEndian {
		b = binary.BigEndian.AppendUint16(b, 0xFEFF)
	} else {
		b = binary.LittleEndian.AppendUint16(b, 0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = binary.BigEndian.AppendUint16(b, u)
		} else {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
	}
	return string(b)
}

// TestUTF16Reader decodes across every read boundary: a reader that
// returns one byte at a time splits code units and surrogate pairs.
func TestUTF16Reader(t *testing.T) {
	le := func(units ...uint16) []byte {
		var b []byte
		for _, u := range units {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		return b
	}
	tests := []struct {
		name      string
		in        []byte
		bigEndian bool
		want      string
	}{
		{"ASCII", []byte(utf16Text("connector,group\r\n", false)[2:]), false, "connector,group\r\n"},
		{"big-endian", []byte(utf16Text("Zürich 東京", true)[2:]), true, "Zürich 東京"},
		{"surrogate pair", []byte(utf16Text("a🚀b", false)[2:]), false, "a🚀b"},
		{"unpaired high surrogate before a letter", le(0xD83D, 'x'), false, "\uFFFDx"},
		{"lone low surrogate", le('a', 0xDE80, 'b'), false, "a\uFFFDb"},
		{"high surrogate at the end", le('a', 0xD83D), false, "a\uFFFD"},
		{"odd trailing byte", append(le('a'), 'b'), false, "a\uFFFD"},
		{"empty", nil, false, ""},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				got, err := io.ReadAll(&utf16Reader{r: wrap(bytes.NewReader(tt.in)), bigEndian: tt.bigEndian})
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tt.want {
					t.Errorf("decoded %q, want %q", got, tt.want)
				}
			})
		}
	}
}

// lineSource makes a CSV on the fly, so the input itself takes no memory:
// head, then n copies of line.
type lineSource struct {
	head, line string
	n, off     int // lines left; bytes of the current one already read
}

func (s *lineSource) Read(p []byte) (int, error) {
	if s.head != "" {
		k := copy(p, s.head)
		s.head = s.head[k:]
		return k, nil
	}
	k := 0
	for k < len(p) && s.n > 0 {
		c := copy(p[k:], s.line[s.off:])
		k += c
		if s.off += c; s.off == len(s.line) {
			s.off, s.n = 0, s.n-1
		}
	}
	if k == 0 {
		return 0, io.EOF
	}
	return k, nil
}

// TestParseCSVMemoryFlat: reading streams. Rows that are not kept (blank
// ones here) cost no memory, however many there are: 6 MB of input must
// not allocate anything near that. A reader that held the file, or every
// record, would.
func TestParseCSVMemoryFlat(t *testing.T) {
	const lines = 1_000_000
	src := &lineSource{head: "connector,group\napp1,Europe\n", line: " , \t\n", n: lines}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := ParseCSV("stream.csv", src)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Rows) != 1 || len(m.Problems) != 0 {
		t.Fatalf("got %d rows, %d problems; want 1 row", len(m.Rows), len(m.Problems))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("reading %d blank lines allocated %d bytes; want under 1 MiB", lines, alloc)
	}
}

// TestSortByHash: sorted by the top 32 bits, rows in order within a hash.
func TestSortByHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 100, 5000} {
		keys := make([]uint64, n)
		for i := range keys {
			// Few distinct hashes, so most have several rows.
			keys[i] = uint64(rng.Uint32N(uint32(n/3+1)))<<32 | uint64(rng.Uint32())<<32&(1<<63) | uint64(i)
		}
		want := slices.Clone(keys)
		slices.SortStableFunc(want, func(x, y uint64) int { return cmp.Compare(x>>32, y>>32) })
		if got := sortByHash(keys); !slices.Equal(got, want) {
			t.Errorf("n=%d: sortByHash differs from a stable sort by hash", n)
		}
	}
}

// TestRepeatsHashCollision: rows whose connectors share a 32-bit hash are
// compared by their connectors, so a collision never makes a repeat.
func TestRepeatsHashCollision(t *testing.T) {
	b := newRowBuilder("in.csv", 0, connectorVocabulary)
	b.m.ConnectorColumn, b.m.GroupColumn = "A", "B"
	for i, r := range []plan.Row{
		{Line: 2, Connector: "app1", Group: "Europe"},
		{Line: 3, Connector: "app2", Group: "Asia"},   // another connector, same hash
		{Line: 4, Connector: "APP1", Group: "europe"}, // a real repeat of row 2
		{Line: 5, Connector: "app2", Group: "US"},     // a real conflict with row 3
	} {
		b.m.Rows = append(b.m.Rows, r)
		b.keys = append(b.keys, 0xABCD_0000_0000_0000|uint64(i))
	}
	m := b.done()
	checkProblems(t, m.Problems, []wantProblem{
		{3, "B", plan.SeverityError, []string{"also mapped on row 5"}},
		{4, "A", plan.SeverityWarning, []string{"repeats row 2"}},
		{5, "B", plan.SeverityError, []string{"also mapped on row 3"}},
	})
	if !m.Rows[2].Duplicate || m.Rows[0].Problem != "" || m.Rows[1].Problem == "" || m.Rows[3].Problem == "" {
		t.Errorf("rows: %+v", m.Rows)
	}
}

// endless is a reader that never ends: a header, then blank lines.
type endless struct {
	head  string
	reads int
}

func (e *endless) Read(p []byte) (int, error) {
	e.reads++
	if e.head != "" {
		n := copy(p, e.head)
		e.head = e.head[n:]
		return n, nil
	}
	for i := range p {
		p[i] = '\n'
	}
	return len(p), nil
}

// TestParseCSVStopsReading: when the header is refused, ParseCSV returns
// at once, though the input goes on, and reads nothing more: the race
// detector would see a read after the return touch reads.
func TestParseCSVStopsReading(t *testing.T) {
	src := &endless{head: "host,target\n"}
	_, err := ParseCSV("in.csv", src)
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "no connector or group column") {
		t.Fatalf("error = %v, want the header refused", err)
	}
	if src.reads == 0 {
		t.Errorf("nothing was read")
	}
}

// TestHeaderPairs: which columns a header row makes the connector and the
// group, and the second column of each that must agree with it.
func TestHeaderPairs(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		want   plan.Row // Line 2
		cols   [4]string
		errHas []string
	}{
		{name: "connrecon export", input: "machineName,connectorId,connectorGroup,connectorGroupId\nm1,c1,Europe,g1\n",
			want: plan.Row{Connector: "c1", ConnectorAlt: "m1", Group: "g1", GroupAlt: "Europe"}, cols: [4]string{"B", "A", "D", "C"}},
		{name: "Entra connector export with a group", input: "Id,MachineName,ExternalIp,Status,Version,ConnectorGroupName\nc1,m1,1.2.3.4,active,1,Europe\n",
			want: plan.Row{Connector: "c1", ConnectorAlt: "m1", Group: "Europe"}, cols: [4]string{"A", "B", "F", ""}},
		{name: "Id beside connector properties only", input: "Id,Status,Group\nc1,active,Europe\n",
			want: plan.Row{Connector: "c1", Group: "Europe"}, cols: [4]string{"A", "", "C", ""}},
		{name: "generic connector beside an id", input: "connector,connectorId,group\nm1,c1,Europe\n",
			want: plan.Row{Connector: "c1", ConnectorAlt: "m1", Group: "Europe"}, cols: [4]string{"B", "A", "C", ""}},
		{name: "only the second cell filled", input: "connectorId,machineName,groupId,groupName\n,m1,g1,\n",
			want: plan.Row{Connector: "m1", Group: "g1"}, cols: [4]string{"A", "B", "C", "D"}},
		{name: "Name is the group's", input: "MachineName,Name\nm1,Europe\n",
			want: plan.Row{Connector: "m1", Group: "Europe"}, cols: [4]string{"A", "", "B", ""}},
		{name: "a lookup of group ids is no mapping", input: "Group,Id\nEurope,g1\n",
			errHas: []string{"no connector column", `"Id" (B)`}},
		{name: "an export of groups", input: "Id,Name,Region,IsDefault\ng1,Europe,eur,False\n",
			errHas: []string{"no connector column", "an export of connector groups"}},
		{name: "an export of connectors", input: "Id,MachineName,Status\nc1,m1,active\n",
			errHas: []string{"no group column", "a list of connectors: add a column"}},
		{name: "whose Id", input: "MachineName,Name,Id\nm1,Europe,x\n",
			errHas: []string{`the column "Id" (C) may be the connector's id or the group's`, "rename it connectorId or groupId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseCSV("h.csv", strings.NewReader(tt.input))
			if tt.errHas != nil {
				if err == nil {
					t.Fatalf("read %+v; want an error", m.Rows)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Line = 2
			if !reflect.DeepEqual(m.Rows, []plan.Row{want}) {
				t.Errorf("rows %+v, want %+v", m.Rows, want)
			}
			if got := [4]string{m.ConnectorColumn, m.ConnectorAltColumn, m.GroupColumn, m.GroupAltColumn}; got != tt.cols {
				t.Errorf("columns %v, want %v", got, tt.cols)
			}
		})
	}
}

// TestProducerTextForms: the text forms the producer corpus does not hold
// in every variant.
func TestProducerTextForms(t *testing.T) {
	utf32BE := func(s string) string {
		b := []byte{0, 0, 0xFE, 0xFF}
		for _, r := range s {
			b = append(b, byte(r>>24), byte(r>>16), byte(r>>8), byte(r))
		}
		return string(b)
	}
	tests := []struct {
		name, input string
		want        []plan.Row
	}{
		{"UTF-32 big-endian", utf32BE("connector,group\napp1,Zürich 🚀\n"), []plan.Row{{Line: 2, Connector: "app1", Group: "Zürich 🚀"}}},
		{"UTF-32 cut short", string([]byte{0xFF, 0xFE, 0, 0, 'c', 0, 0, 0, 0x0A, 0}), nil},
		{"CR line ends with a quoted line break", "connector,group\r\"app\r1\",Europe\rapp2,Asia\r", []plan.Row{{Line: 2, Connector: "app\n1", Group: "Europe"}, {Line: 4, Connector: "app2", Group: "Asia"}}},
		{"#TYPE then a semicolon header", "#TYPE System.Management.Automation.PSCustomObject\r\n\"Connector\";\"Group\"\r\n\"app1\";\"a,b\"\r\n", []plan.Row{{Line: 3, Connector: "app1", Group: "a,b"}}},
		{"apostrophe before a formula character", "connector,group\n'=app1,'+g\n'-app2,''x\n'app3,'@\n", []plan.Row{
			{Line: 2, Connector: "=app1", Group: "+g"}, {Line: 3, Connector: "-app2", Group: "'x"}, {Line: 4, Connector: "'app3", Group: "@"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseCSV("f.csv", strings.NewReader(tt.input))
			if tt.want == nil {
				if err == nil && len(m.Rows) > 0 {
					t.Fatalf("read %+v from a cut-short file", m.Rows)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.Rows, tt.want) {
				t.Errorf("rows %+v, want %+v", m.Rows, tt.want)
			}
		})
	}
}

// A name beside an id (an export's second column) may look like a mangled
// id or a spreadsheet error: a group can be named "#N/A" and a machine
// "ad-01-02-03". The id decides and plan checks the name agrees, so such
// a name is read. The same text in a column of its own is still refused.
func TestSecondCellsAreNames(t *testing.T) {
	const id, gid = "0b60514d-25e6-5ebb-a432-91511587c142", "75b5c10a-a3cf-5def-9e0f-4e2f545344f7"
	m := parse(t, "connectorId,machineName,connectorGroupId,connectorGroup\r\n"+id+",ad-01-02-03,"+gid+",#N/A\r\n")
	if r := m.Rows[0]; r.Problem != "" || r.ConnectorAlt != "ad-01-02-03" || r.GroupAlt != "#N/A" {
		t.Errorf("row %+v, want the names read", r)
	}
	m = parse(t, "connector,group\r\nad-01-02-03,#N/A\r\n")
	if r := m.Rows[0]; !strings.Contains(r.Problem, "looks like an id") {
		t.Errorf("alone, the id-shaped name gives %q", r.Problem)
	}
	m = parse(t, "connector,group\r\napp1,#N/A\r\n")
	if r := m.Rows[0]; !strings.Contains(r.Problem, "spreadsheet error") {
		t.Errorf("alone, #N/A gives %q", r.Problem)
	}
}

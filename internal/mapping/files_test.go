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
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"connrecon/plan"
)

// The corpus in testdata/mapping: files shaped like the ones administrators
// export. Each fixture's name says what wrote it (see testdata/gen):
// "libreoffice-*" were written by LibreOffice 7.4, "*-lookalike*" imitate
// an Excel export without being one, the other workbooks were written by
// excelize (go run ./internal/mapping/testdata/gen), the other text files
// by hand.

func fixture(name string) string { return filepath.Join("testdata", "mapping", name) }

// Guards: the tests mean nothing if an editor or git changed the bytes a
// fixture is about.
func hasPrefix(p string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

func hasAll(subs ...string) func([]byte) bool {
	return func(b []byte) bool {
		for _, s := range subs {
			if !bytes.Contains(b, []byte(s)) {
				return false
			}
		}
		return true
	}
}

// writtenBy checks a workbook's docProps/app.xml names the application.
func writtenBy(app string) func([]byte) bool {
	return func(b []byte) bool {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return false
		}
		data, err := readZipPart(zr, "docProps/app.xml", 1<<20)
		return err == nil && bytes.Contains(data, []byte("<Application>"+app))
	}
}

func TestReadMappingCorpus(t *testing.T) {
	const utf16LE, utf16BE = "\xff\xfe", "\xfe\xff"
	tests := []struct {
		name, file, sheet string
		guard             func([]byte) bool
		wantSheet         string
		connHeader        string
		grpHeader         string
		connCol, grpCol   string
		rows              []plan.Row // Problem compared by the fragments in problems
		problems          []wantProblem
	}{
		{
			name: "plain CSV", file: "plain.csv",
			connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 2, Connector: "app1.contoso.com", Group: "Europe"}, {Line: 3, Connector: "app2.contoso.com", Group: "US East"}},
		},
		{
			// Excel's "CSV UTF-8" in a European locale: BOM, ';', CRLF.
			name: "Excel CSV with BOM and semicolons (lookalike)", file: "excel-semicolon.csv", guard: hasPrefix(bom), // and CRLF below
			connHeader: "Machine Name", grpHeader: "Connector Group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 2, Connector: "app1.contoso.com", Group: "Europe"}, {Line: 4, Connector: "app2.contoso.com", Group: "US East"}},
		},
		{
			name: "tab-separated, columns in another order", file: "export.tsv", guard: hasAll("\t"),
			connHeader: "Connector Id", grpHeader: "Connector Group Id", connCol: "C", grpCol: "B",
			rows: []plan.Row{
				{Line: 2, Connector: "{C0000000-0000-4000-8000-000000000001}", Group: "9a000000-0000-4000-8000-000000000002"},
				{Line: 4, Connector: "app2", Group: "US East"},
			},
		},
		{
			name: "UTF-8 without BOM", file: "utf8-no-bom.csv", guard: func(b []byte) bool { return !bytes.HasPrefix(b, []byte(bom)) && bytes.Contains(b, []byte("ü")) },
			connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 2, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Zürich"}, {Line: 3, Connector: "tyo-appproxy-01.contoso.com", Group: "APAC - 東京"}},
		},
		{
			// Excel's "Unicode text": UTF-16LE with BOM, tabs, CRLF, a
			// quoted cell holding a tab.
			name: "Excel Unicode text (lookalike)", file: "excel-unicode-text-lookalike.txt", guard: hasPrefix(utf16LE),
			connHeader: "Machine Name", grpHeader: "Connector Group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 2, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Zürich"}, {Line: 3, Connector: "tyo-appproxy-01.contoso.com", Group: "APAC - 東京"}},
		},
		{
			// LibreOffice's UTF-16 text export of libreoffice.xlsx's first
			// sheet: every text cell quoted, LF.
			name: "LibreOffice UTF-16 text export", file: "libreoffice-unicode-text.txt", guard: hasPrefix(utf16LE),
			connHeader: "Machine Name", grpHeader: "Connector Group", connCol: "A", grpCol: "C",
			rows: []plan.Row{
				{Line: 2, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Frankfurt"},
				{Line: 3, Connector: "fra-appproxy-02.contoso.com", Group: "EU - Frankfurt"},
				{Line: 4, Connector: "sea-appproxy-01.contoso.com", Group: "US - Seattle"},
			},
		},
		{
			name: "UTF-16BE with BOM", file: "utf16be.csv", guard: hasPrefix(utf16BE),
			connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 2, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Zürich"}},
		},
		{
			name: "sep= line", file: "sep-line.csv", guard: hasPrefix("sep=;\r\n"),
			connHeader: "Machine Name", grpHeader: "Connector Group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 3, Connector: "app1.contoso.com", Group: "Europe, West"}},
		},
		{
			// Excel's "CSV (Comma delimited)" on Western Windows: ANSI.
			name: "Windows-1252 CSV (lookalike)", file: "windows-1252-lookalike.csv", guard: hasAll("Z\xfcrich"),
			connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows:     []plan.Row{{Line: 2, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Z\xfcrich"}, {Line: 3, Connector: "sea-appproxy-01.contoso.com", Group: "US - Seattle"}},
			problems: []wantProblem{{2, "B", plan.SeverityError, []string{"not UTF-8", `save it as "CSV UTF-8"`}}},
		},
		{
			name: "malformed line", file: "malformed.csv",
			connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows:     []plan.Row{{Line: 2, Connector: "app1.contoso.com", Group: "Europe"}, {Line: 3}, {Line: 4, Connector: "app3.contoso.com", Group: "Europe"}},
			problems: []wantProblem{{3, "B", plan.SeverityError, []string{"malformed CSV"}}},
		},
		{
			// Every malformed line, and the rows between them; a quoted
			// note over two lines keeps its record together.
			name: "several malformed lines", file: "malformed-many.csv",
			connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows: []plan.Row{
				{Line: 2, Connector: "app1.contoso.com", Group: "Europe"},
				{Line: 3}, {Line: 4},
				{Line: 5, Connector: "app4.contoso.com", Group: "Europe"},
				{Line: 7},
				{Line: 9, Connector: "app6.contoso.com", Group: "Asia"},
			},
			problems: []wantProblem{
				{3, "A", plan.SeverityError, []string{"bare \""}},
				{4, "B", plan.SeverityError, []string{"text follows the closing quote"}},
				{7, "B", plan.SeverityError, []string{"text follows the closing quote"}},
			},
		},
		{
			name: "unterminated quote", file: "unterminated.csv",
			connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows:     []plan.Row{{Line: 2, Connector: "app1.contoso.com", Group: "Europe"}, {Line: 3}},
			problems: []wantProblem{{3, "B", plan.SeverityError, []string{"never closed", "lines 3 to 5"}}},
		},
		{
			name: "several sheets: the first", file: "several-sheets.xlsx",
			wantSheet: "Mapping", connHeader: "Machine Name", grpHeader: "Connector Group", connCol: "A", grpCol: "B",
			rows: []plan.Row{
				{Line: 2, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Frankfurt"},
				{Line: 3, Connector: "sea-appproxy-01.contoso.com", Group: "US - Seattle"},
				{Line: 4, Connector: "tyo-appproxy-01.contoso.com", Group: "APAC - Tokyo"},
			},
		},
		{
			name: "several sheets: --sheet", file: "several-sheets.xlsx", sheet: "Retired",
			wantSheet: "Retired", connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 2, Connector: "old-appproxy-01.contoso.com", Group: "Default"}, {Line: 3, Connector: "old-appproxy-02.contoso.com", Group: "Default"}},
		},
		{
			name: "several sheets: --sheet in another case", file: "several-sheets.xlsx", sheet: "RETIRED",
			wantSheet: "Retired", connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 2, Connector: "old-appproxy-01.contoso.com", Group: "Default"}, {Line: 3, Connector: "old-appproxy-02.contoso.com", Group: "Default"}},
		},
		{
			// The hidden Draft sheet comes first in the file; the first
			// visible sheet is read.
			name: "hidden first sheet skipped", file: "hidden-first-sheet.xlsx",
			wantSheet: "Mapping", connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 2, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Frankfurt"}},
		},
		{
			name: "hidden sheet by name", file: "hidden-first-sheet.xlsx", sheet: "Draft",
			wantSheet: "Draft", connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows: []plan.Row{{Line: 2, Connector: "draft-appproxy-01.contoso.com", Group: "Staging"}},
		},
		{
			// The table starts at C3; row 5 is hidden and read; row 6 is
			// blank; F:H are styled but empty; rows 8-11 have problems.
			name: "leading blank rows and columns, hidden row, problems", file: "layout.xlsx",
			wantSheet: "Connectors", connHeader: "Connector Id", grpHeader: "Connector Group", connCol: "D", grpCol: "E",
			rows: []plan.Row{
				{Line: 4, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Frankfurt"},
				{Line: 5, Connector: "fra-appproxy-02.contoso.com", Group: "EU - Frankfurt"},
				{Line: 7, Connector: "sea-appproxy-01.contoso.com", Group: "US - Seattle"},
				{Line: 8, Group: "US - Seattle"},
				{Line: 9, Connector: "1234-5678-9abc-def0", Group: "US - Seattle"},
				{Line: 10, Connector: "fra-appproxy-01.contoso.com", Group: "US - Seattle"},
				{Line: 11, Connector: "SEA-APPPROXY-01.contoso.com", Group: "us - seattle", Duplicate: true},
			},
			problems: []wantProblem{
				{4, "E", plan.SeverityError, []string{"also mapped on row 10"}},
				{8, "D", plan.SeverityError, []string{"the connector cell is empty"}},
				{9, "D", plan.SeverityError, []string{"not a valid GUID"}},
				{10, "E", plan.SeverityError, []string{"also mapped on row 4"}},
				{11, "D", plan.SeverityWarning, []string{"repeats row 7"}},
			},
		},
		{
			// Rows 1-2 are the header (A1:A2 and B1:B2 merged); B4:B5 is
			// merged too, so B5 reads empty and says why; row 6 repeats
			// row 3 (found after the header rows are dropped).
			name: "merged header cells", file: "merged-header.xlsx",
			wantSheet: "Mapping", connHeader: "Machine Name", grpHeader: "Connector Group", connCol: "A", grpCol: "B",
			rows: []plan.Row{
				{Line: 3, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Frankfurt"},
				{Line: 4, Connector: "sea-appproxy-01.contoso.com", Group: "US - Seattle"},
				{Line: 5, Connector: "sea-appproxy-02.contoso.com"},
				{Line: 6, Connector: "FRA-appproxy-01.contoso.com", Group: "EU - Frankfurt", Duplicate: true},
			},
			problems: []wantProblem{
				{5, "B", plan.SeverityError, []string{"the group cell is empty", "merged cells B4:B5", "unmerge"}},
				{6, "A", plan.SeverityWarning, []string{"repeats row 3"}},
			},
		},
		{
			// Connector merged across A1:B1: its column is A, where the
			// value is.
			name: "header merged across", file: "merged-header.xlsx", sheet: "Across",
			wantSheet: "Across", connHeader: "Connector", grpHeader: "Group", connCol: "A", grpCol: "C",
			rows: []plan.Row{{Line: 2, Connector: "tyo-appproxy-01.contoso.com", Group: "APAC - Tokyo"}},
		},
		{
			name: "formulas without saved results", file: "formulas.xlsx",
			wantSheet: "Mapping", connHeader: "Machine Name", grpHeader: "Connector Group", connCol: "A", grpCol: "C",
			rows: []plan.Row{
				{Line: 2, Connector: "fra-appproxy-01.contoso.com"},
				{Line: 3, Connector: "sea-appproxy-01.contoso.com", Group: "US - Seattle"},
				{Line: 4, Connector: "tyo-appproxy-01.contoso.com", Group: "#N/A"},
			},
			problems: []wantProblem{
				{2, "C", plan.SeverityError, []string{"group cell holds a formula =VLOOKUP(B2,Sites!A:B,2,FALSE) with no saved result", "save it"}},
				{4, "C", plan.SeverityError, []string{"spreadsheet error #N/A"}},
			},
		},
		{
			// LibreOffice calculated the VLOOKUPs and saved the results;
			// row 3 is hidden.
			name: "LibreOffice workbook with formulas", file: "libreoffice.xlsx", guard: writtenBy("LibreOffice"),
			wantSheet: "Mapping", connHeader: "Machine Name", grpHeader: "Connector Group", connCol: "A", grpCol: "C",
			rows: []plan.Row{
				{Line: 2, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Frankfurt"},
				{Line: 3, Connector: "fra-appproxy-02.contoso.com", Group: "EU - Frankfurt"},
				{Line: 4, Connector: "sea-appproxy-01.contoso.com", Group: "US - Seattle"},
			},
		},
		{
			// Raw values: 12345 is shown "12,345" and 123456789012 as a
			// date, but the stored number is what is read.
			name: "numeric cells", file: "numeric.xlsx",
			wantSheet: "Mapping", connHeader: "connector", grpHeader: "group", connCol: "A", grpCol: "B",
			rows: []plan.Row{
				{Line: 2, Connector: "fra-appproxy-01.contoso.com", Group: "2024"},
				{Line: 3, Connector: "sea-appproxy-01.contoso.com", Group: "12345"},
				{Line: 4, Connector: "c0000000-0000-4000-8000-000000000001", Group: "123456789012"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fixture(tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.guard != nil && !tt.guard(data) {
				t.Fatalf("fixture %s is not what the test is about any more (BOM, encoding, line endings or writer changed)", path)
			}
			m, err := Read(path, Options{Sheet: tt.sheet})
			if err != nil {
				t.Fatal(err)
			}
			if m.Path != path || m.Sheet != tt.wantSheet {
				t.Errorf("Path, Sheet = %q, %q; want %q, %q", m.Path, m.Sheet, path, tt.wantSheet)
			}
			if m.ConnectorHeader != tt.connHeader || m.GroupHeader != tt.grpHeader || m.ConnectorColumn != tt.connCol || m.GroupColumn != tt.grpCol {
				t.Errorf("header %q %s / %q %s, want %q %s / %q %s", m.ConnectorHeader, m.ConnectorColumn, m.GroupHeader, m.GroupColumn,
					tt.connHeader, tt.connCol, tt.grpHeader, tt.grpCol)
			}
			got := make([]plan.Row, len(m.Rows))
			invalid := map[int]bool{}
			for i, r := range m.Rows {
				if r.Problem != "" {
					invalid[r.Line] = true
				}
				r.Problem = ""
				got[i] = r
			}
			if !reflect.DeepEqual(got, tt.rows) {
				t.Errorf("rows:\n got %+v\nwant %+v", got, tt.rows)
			}
			checkProblems(t, m.Problems, tt.problems)
			// A row is invalid exactly when it has an error.
			wantInvalid := map[int]bool{}
			for _, p := range tt.problems {
				if p.Severity == plan.SeverityError {
					wantInvalid[p.Line] = true
				}
			}
			if !reflect.DeepEqual(invalid, wantInvalid) {
				t.Errorf("invalid rows %v, want %v", invalid, wantInvalid)
			}
			sum := sha256.Sum256(data)
			if m.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("SHA256 = %s, want the file's digest", m.SHA256)
			}
		})
	}
	if data, _ := os.ReadFile(fixture("excel-semicolon.csv")); !bytes.Contains(data, []byte("\r\n")) {
		t.Errorf("excel-semicolon.csv lost its CRLF line endings")
	}
}

// TestReadMappingFileErrors: files that cannot be used at all, each with
// a message that says what to do.
func TestReadMappingFileErrors(t *testing.T) {
	dir := t.TempDir()
	// copyAs puts a fixture under another name, to show the content, not
	// the extension, decides.
	copyAs := func(from, name string) string {
		data, err := os.ReadFile(fixture(from))
		if err != nil {
			t.Fatal(err)
		}
		return writeTemp(t, dir, name, data)
	}
	half := func(from, name string) string {
		data, err := os.ReadFile(fixture(from))
		if err != nil {
			t.Fatal(err)
		}
		return writeTemp(t, dir, name, data[:len(data)/2])
	}
	var notWorkbook bytes.Buffer
	zw := zip.NewWriter(&notWorkbook)
	if w, err := zw.Create("readme.txt"); err == nil {
		io.WriteString(w, "connector,group\n")
	}
	zw.Close()

	tests := []struct {
		name, path, sheet string
		line              int
		contains          []string
		ioErr             error // set for a failure to read, which is FileError.Err
	}{
		{name: "CSV without a connector column", path: fixture("no-connector-column.csv"), line: 1,
			contains: []string{"no-connector-column.csv:1: no connector column", `found "Host" (A), "Connector Group" (B)`, "machineName"}},
		{name: "XLSX without a group column", path: fixture("no-group-column.xlsx"), line: 2,
			contains: []string{`no-group-column.xlsx:2: no group column in the header row of sheet "Sheet1"`, `found "Machine Name" (B), "Target" (C)`, "connectorGroupName"}},
		{name: "empty sheet", path: fixture("empty-sheet.xlsx"),
			contains: []string{`sheet "Sheet1" is empty`, "header row"}},
		{name: "empty sheet by name", path: fixture("several-sheets.xlsx"), sheet: "Empty",
			contains: []string{`sheet "Empty" is empty`, `"Mapping", "Retired", "Lookup" (hidden), "Empty"`}},
		{name: "unknown sheet", path: fixture("several-sheets.xlsx"), sheet: "Nope",
			contains: []string{`no sheet "Nope" in the workbook`, `its sheets are "Mapping", "Retired", "Lookup" (hidden), "Empty"`}},
		{name: "sheet without the columns", path: fixture("several-sheets.xlsx"), sheet: "Lookup", line: 1,
			contains: []string{`no connector column in the header row of sheet "Lookup"`, `"Group" (A), "Id" (B)`}},
		{name: "--sheet on a CSV", path: fixture("plain.csv"), sheet: "Mapping",
			contains: []string{`--sheet "Mapping" applies only to XLSX workbooks`}},
		{name: "password-protected workbook", path: fixture("encrypted.xlsx"),
			contains: []string{"password-protected", "remove the password", "File > Info > Protect Workbook", "CSV UTF-8"}},
		{name: "password-protected workbook named .xls", path: copyAs("encrypted.xlsx", "protected.xls"),
			contains: []string{"password-protected"}},
		{name: "macro workbook", path: fixture("macro.xlsm"),
			contains: []string{"macro-enabled workbook (.xlsm)", "save a copy as .xlsx"}},
		{name: "macro workbook named .xlsx", path: copyAs("macro.xlsm", "renamed.xlsx"),
			contains: []string{"macro-enabled workbook (.xlsm)"}},
		{name: "Excel 97-2003 workbook", path: fixture("libreoffice.xls"),
			contains: []string{"Excel 97-2003 workbook (.xls)", "save it as .xlsx (Excel Workbook) or CSV UTF-8"}},
		{name: "Excel 97-2003 workbook named .xlsx", path: copyAs("libreoffice.xls", "old.xlsx"),
			contains: []string{"Excel 97-2003 workbook (.xls)"}},
		{name: "OpenDocument spreadsheet", path: fixture("libreoffice.ods"),
			contains: []string{"OpenDocument spreadsheet (.ods)", "save it as .xlsx"}},
		{name: "HTML named .xls", path: fixture("html-export.xls"), line: 1,
			contains: []string{"HTML", "save it as .xlsx or CSV UTF-8"}},
		{name: "zip magic only", path: writeTemp(t, dir, "mapping.xlsx", []byte("PK\x03\x04")),
			contains: []string{"mapping.xlsx: the workbook cannot be read", "not a valid zip file"}},
		{name: "truncated workbook", path: half("several-sheets.xlsx", "truncated.xlsx"),
			contains: []string{"the workbook cannot be read", "save it again"}},
		{name: "a zip that is not a workbook", path: writeTemp(t, dir, "archive.xlsx", notWorkbook.Bytes()),
			contains: []string{"not an Excel workbook"}},
		{name: "empty file named .xlsx", path: writeTemp(t, dir, "empty.xlsx", nil), line: 1,
			contains: []string{"the file is empty"}},
		{name: "directory", path: dir, contains: []string{"is a directory"}},
		{name: "missing file", path: filepath.Join(dir, "nope.csv"), ioErr: os.ErrNotExist,
			contains: []string{"nope.csv: cannot open mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Read(tt.path, Options{Sheet: tt.sheet})
			if err == nil {
				t.Fatalf("no error; mapping %+v", m)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FileError", err, err)
			}
			if fe.Path != tt.path || fe.Line != tt.line {
				t.Errorf("FileError at %s:%d, want %s:%d", fe.Path, fe.Line, tt.path, tt.line)
			}
			if !strings.HasPrefix(err.Error(), tt.path+":") {
				t.Errorf("error %q does not start with the path", err)
			}
			for _, frag := range tt.contains {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not contain %q", err, frag)
				}
			}
			// Err is for failures to read (cmd: exit 1); a file that reads
			// but cannot be used leaves it nil (cmd: exit 4).
			if tt.ioErr != nil {
				if !errors.Is(fe.Err, tt.ioErr) {
					t.Errorf("FileError.Err = %v, want %v", fe.Err, tt.ioErr)
				}
			} else if fe.Err != nil {
				t.Errorf("FileError.Err = %v, want nil for unusable content", fe.Err)
			}
		})
	}
}

func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSampleMappingXLSX: samples/mapping.xlsx holds exactly what
// samples/mapping.csv does, so the demo can use either.
func TestSampleMappingXLSX(t *testing.T) {
	fromCSV, err := Read(filepath.Join("..", "..", "samples", "mapping.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	fromXLSX, err := Read(filepath.Join("..", "..", "samples", "mapping.xlsx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fromCSV.Rows) == 0 || !reflect.DeepEqual(fromXLSX.Rows, fromCSV.Rows) {
		t.Errorf("rows differ:\n xlsx %+v\n  csv %+v", fromXLSX.Rows, fromCSV.Rows)
	}
	if len(fromXLSX.Problems) != 0 || len(fromCSV.Problems) != 0 {
		t.Errorf("problems: xlsx %v, csv %v", fromXLSX.Problems, fromCSV.Problems)
	}
	type header struct{ ch, gh, cc, gc string }
	hx := header{fromXLSX.ConnectorHeader, fromXLSX.GroupHeader, fromXLSX.ConnectorColumn, fromXLSX.GroupColumn}
	hc := header{fromCSV.ConnectorHeader, fromCSV.GroupHeader, fromCSV.ConnectorColumn, fromCSV.GroupColumn}
	if hx != hc {
		t.Errorf("headers differ: xlsx %+v, csv %+v", hx, hc)
	}
	if fromXLSX.Sheet != "Mapping" || fromCSV.Sheet != "" {
		t.Errorf("Sheet = %q (xlsx), %q (csv)", fromXLSX.Sheet, fromCSV.Sheet)
	}
}

// TestReadMappingStdin: -m - reads standard input, CSV and XLSX alike,
// as the same file would read.
func TestReadMappingStdin(t *testing.T) {
	for _, file := range []string{"plain.csv", "several-sheets.xlsx"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(fixture(file))
			if err != nil {
				t.Fatal(err)
			}
			want, err := Read(fixture(file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Read("-", Options{Stdin: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Rows, want.Rows) || got.SHA256 != want.SHA256 || got.Sheet != want.Sheet || got.Path != StdinName {
				t.Errorf("from stdin: %+v (sheet %q, %s, %q); from the file: %+v (sheet %q, %s)", got.Rows, got.Sheet, got.SHA256, got.Path, want.Rows, want.Sheet, want.SHA256)
			}
		})
	}
	if _, err := Read("-", Options{}); err == nil {
		t.Error("-m - without a standard input read as a mapping")
	}
}

// TestReadMappingNotRegular: a named pipe (with no writer: it used to hang
// validate and plan for ever), a pipe and a device are refused at once.
func TestReadMappingNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "mapping.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, path := range []string{fifo, fmt.Sprintf("/proc/self/fd/%d", r.Fd()), "/dev/zero"} {
		t.Run(path, func(t *testing.T) {
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Read(path, Options{})
				done <- err
			}()
			select {
			case err := <-done:
				var fe *FileError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), "is not a regular file") {
					t.Fatalf("error %v; want it refused as not a regular file", err)
				}
			case <-time.After(10 * time.Second): // a guard against the old hang, not a timing
				t.Fatal("Read is still waiting on the file")
			}
		})
	}
}

// TestReadXLSXFormulaResults: what a formula cell reads as, by what the
// file saved for it. The sheet XML is written here, inside formulas.xlsx,
// since no spreadsheet writes the odd cases on demand.
func TestReadXLSXFormulaResults(t *testing.T) {
	const head = `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
		`<row r="1"><c r="A1" t="inlineStr"><is><t>connector</t></is></c><c r="B1" t="inlineStr"><is><t>group</t></is></c></row>`
	tests := []struct {
		name, cell string
		group      string // what the row reads
		problem    []string
	}{
		{"saved text result", `<c r="B2" t="str"><f>Sites!B1</f><v>EU - Frankfurt</v></c>`, "EU - Frankfurt", nil},
		{"saved number result", `<c r="B2"><f>2000+24</f><v>2024</v></c>`, "2024", nil},
		{"no saved result", `<c r="B2"><f>Sites!B1</f></c>`, "", []string{"group cell holds a formula =Sites!B1 with no saved result"}},
		{"empty saved result", `<c r="B2" t="str"><f>IF(1,"","")</f><v></v></c>`, "", []string{`group cell is empty: its formula =IF(1,"","") gives an empty result`}},
		{"saved error", `<c r="B2" t="e"><f>VLOOKUP(A2,Sites!A:B,2,FALSE)</f><v>#N/A</v></c>`, "#N/A", []string{"spreadsheet error #N/A"}},
		{"shared formula without text", `<c r="B2"><f t="shared" si="0"/></c>`, "", []string{"group cell holds a formula with no saved result"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sheet := head + `<row r="2"><c r="A2" t="inlineStr"><is><t>app1</t></is></c>` + tt.cell + `</row></sheetData></worksheet>`
			m, err := readSheetXML(t, "f.xlsx", []byte(sheet))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Rows) != 1 || m.Rows[0].Group != tt.group {
				t.Fatalf("rows %+v, want one with group %q", m.Rows, tt.group)
			}
			var want []wantProblem
			if tt.problem != nil {
				want = []wantProblem{{2, "B", plan.SeverityError, tt.problem}}
			}
			checkProblems(t, m.Problems, want)
		})
	}
}

// readSheetXML reads a workbook whose first sheet ("Mapping") is the given
// worksheet XML, put inside formulas.xlsx, as name.
func readSheetXML(t *testing.T, name string, sheet []byte) (*plan.Mapping, error) {
	t.Helper()
	base, err := os.ReadFile(fixture("formulas.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := replaceEntry(base, "xl/worksheets/sheet1.xml", sheet)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(data)
	return readMapping(name, r, r.Size(), Options{})
}

// sheetXML writes worksheet XML: rows[i] is row i+1, its cells inline
// strings from column A on ("" leaves a cell out, a nil row leaves the row
// out), then the merged ranges.
func sheetXML(rows [][]string, merges ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for i, cells := range rows {
		if cells == nil {
			continue
		}
		fmt.Fprintf(&b, `<row r="%d">`, i+1)
		for j, v := range cells {
			if v == "" {
				continue
			}
			fmt.Fprintf(&b, `<c r="%s%d" t="inlineStr"><is><t>`, plan.ColumnName(j), i+1)
			xml.EscapeText(&b, []byte(v))
			b.WriteString(`</t></is></c>`)
		}
		b.WriteString(`</row>`)
	}
	b.WriteString(`</sheetData>`)
	if len(merges) > 0 {
		fmt.Fprintf(&b, `<mergeCells count="%d">`, len(merges))
		for _, m := range merges {
			fmt.Fprintf(&b, `<mergeCell ref="%s"/>`, m)
		}
		b.WriteString(`</mergeCells>`)
	}
	b.WriteString(`</worksheet>`)
	return b.Bytes()
}

// TestReadXLSXTitleRows: the header is the first of the first 10 non-blank
// rows that names both a connector and a group column; rows above it are
// skipped, and row numbers stay the sheet's.
func TestReadXLSXTitleRows(t *testing.T) {
	const title = "Connector assignments – Q4 change 1234"
	// titled puts n non-blank title rows, each followed by a blank row,
	// above the given rows.
	titled := func(n int, rows ...[]string) [][]string {
		var out [][]string
		for i := range n {
			out = append(out, []string{fmt.Sprintf("note %d", i+1)}, nil)
		}
		return append(out, rows...)
	}
	tests := []struct {
		name   string
		rows   [][]string
		merges []string
		// On success: the header found, the rows and problems read.
		connHeader, connCol, grpHeader, grpCol string
		want                                   []plan.Row
		problems                               []wantProblem
		// On failure: the error's row and fragments.
		errLine     int
		errContains []string
	}{
		{
			name: "title, blank row, header in row 3",
			rows: [][]string{{title}, nil, {"Machine Name", "Connector Group", "Owner"},
				{"fra-appproxy-01.contoso.com", "EU - Frankfurt", "Ann"}, nil, {"sea-appproxy-01.contoso.com", "US - Seattle"}},
			connHeader: "Machine Name", connCol: "A", grpHeader: "Connector Group", grpCol: "B",
			want: []plan.Row{{Line: 4, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Frankfurt"}, {Line: 6, Connector: "sea-appproxy-01.contoso.com", Group: "US - Seattle"}},
		},
		{
			// B1 is an accepted group header, but row 1 has no connector
			// column: it is not the header.
			name:       "title with a value in the group column only",
			rows:       [][]string{{"", "Connector Group"}, {"connector", "group"}, {"app1", "Europe"}},
			connHeader: "connector", connCol: "A", grpHeader: "group", grpCol: "B",
			want: []plan.Row{{Line: 3, Connector: "app1", Group: "Europe"}},
		},
		{
			name:       "note with a connector header only, header in another column",
			rows:       [][]string{{"Connector", "moves approved by CAB"}, {"", "", "connectorId", "groupName"}, {"", "", "app1", "Europe"}},
			connHeader: "connectorId", connCol: "C", grpHeader: "groupName", grpCol: "D",
			want: []plan.Row{{Line: 3, Connector: "app1", Group: "Europe"}},
		},
		{
			// A3:A4 and B3:B4 merged downwards: row 4 is header; B6:B7
			// merged below it leaves B7 empty, and says so.
			name: "two-row merged header below a title",
			rows: [][]string{{title}, nil, {"Machine Name", "Connector Group", "Contact"}, {"", "", "Name"},
				{"fra-appproxy-01.contoso.com", "EU - Frankfurt", "Ann"}, {"sea-appproxy-01.contoso.com", "US - Seattle", "Bo"}, {"sea-appproxy-02.contoso.com", "", "Bo"}},
			merges:     []string{"A1:C1", "A3:A4", "B3:B4", "B6:B7"},
			connHeader: "Machine Name", connCol: "A", grpHeader: "Connector Group", grpCol: "B",
			want: []plan.Row{
				{Line: 5, Connector: "fra-appproxy-01.contoso.com", Group: "EU - Frankfurt"},
				{Line: 6, Connector: "sea-appproxy-01.contoso.com", Group: "US - Seattle"},
				{Line: 7, Connector: "sea-appproxy-02.contoso.com"},
			},
			problems: []wantProblem{{7, "B", plan.SeverityError, []string{"the group cell is empty", "merged cells B6:B7"}}},
		},
		{
			// Only the first row naming both columns is the header: a
			// repeated header below is data, as it always was.
			name:       "a header-like row below the header is data",
			rows:       [][]string{{title}, {"connector", "group"}, {"app1", "Europe"}, {"Machine Name", "Connector Group"}, {"connector", ""}},
			connHeader: "connector", connCol: "A", grpHeader: "group", grpCol: "B",
			want: []plan.Row{
				{Line: 3, Connector: "app1", Group: "Europe"},
				{Line: 4, Connector: "Machine Name", Group: "Connector Group"},
				{Line: 5, Connector: "connector"},
			},
			problems: []wantProblem{{5, "B", plan.SeverityError, []string{"the group cell is empty"}}},
		},
		{
			name:       "header on the 10th non-blank row",
			rows:       titled(9, []string{"connector", "group"}, []string{"app1", "Europe"}),
			connHeader: "connector", connCol: "A", grpHeader: "group", grpCol: "B",
			want: []plan.Row{{Line: 20, Connector: "app1", Group: "Europe"}},
		},
		{
			name:    "header on the 11th non-blank row",
			rows:    append([][]string{nil, {title, "", "Group"}}, titled(9, []string{"connector", "group"}, []string{"app1", "Europe"})...),
			errLine: 2,
			errContains: []string{`title.xlsx:2: no connector column in the header row of sheet "Mapping"`,
				`found "` + title + `" (A), "Group" (C)`, "accepted connector headers", "connectorGroupName",
				"(looked at the first 10 non-blank rows, to row 19)"},
		},
		{
			name:    "no header in a short sheet",
			rows:    [][]string{nil, nil, {title}, nil, {"Host", "Target"}, {"app1", "Europe"}},
			errLine: 3,
			errContains: []string{`title.xlsx:3: no connector or group column in the header row of sheet "Mapping"`,
				`(found "` + title + `" (A));`, "machineName", "(looked at the first 3 non-blank rows, to row 6)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := readSheetXML(t, "title.xlsx", sheetXML(tt.rows, tt.merges...))
			if tt.errContains != nil {
				if err == nil {
					t.Fatalf("no error; header %q %q at %s %s, rows %+v", m.ConnectorHeader, m.GroupHeader, m.ConnectorColumn, m.GroupColumn, m.Rows)
				}
				checkFileError(t, "title.xlsx", err)
				var fe *FileError
				if errors.As(err, &fe) && fe.Line != tt.errLine {
					t.Errorf("error at row %d, want %d", fe.Line, tt.errLine)
				}
				for _, frag := range tt.errContains {
					if !strings.Contains(err.Error(), frag) {
						t.Errorf("error %q does not contain %q", err, frag)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkMapping(t, m)
			if m.ConnectorHeader != tt.connHeader || m.GroupHeader != tt.grpHeader || m.ConnectorColumn != tt.connCol || m.GroupColumn != tt.grpCol {
				t.Errorf("header %q %s / %q %s, want %q %s / %q %s", m.ConnectorHeader, m.ConnectorColumn, m.GroupHeader, m.GroupColumn,
					tt.connHeader, tt.connCol, tt.grpHeader, tt.grpCol)
			}
			got := make([]plan.Row, len(m.Rows))
			for i, r := range m.Rows {
				r.Problem = ""
				got[i] = r
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", got, tt.want)
			}
			checkProblems(t, m.Problems, tt.problems)
		})
	}
}

package mapping

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"connrecon/plan"
)

// checkMapping holds for any input that reads: problems are located,
// rows come in file order, and a row is invalid exactly when an error is
// reported on its line.
func checkMapping(t *testing.T, m *plan.Mapping) {
	t.Helper()
	last := 0
	invalidLines := map[int]bool{}
	for _, r := range m.Rows {
		if r.Line <= last {
			t.Fatalf("row line %d after %d: rows must keep increasing", r.Line, last)
		}
		last = r.Line
		if r.Connector != trimCell(r.Connector) || r.Group != trimCell(r.Group) {
			t.Fatalf("row %d not trimmed: %q, %q", r.Line, r.Connector, r.Group)
		}
		if r.Problem == "" && (r.Connector == "" || r.Group == "") {
			t.Fatalf("row %d is usable with an empty cell: %+v", r.Line, r)
		}
		if r.Problem != "" {
			invalidLines[r.Line] = true
		}
	}
	errorLines := map[int]bool{}
	for _, p := range m.Problems {
		if p.Line < 1 {
			t.Fatalf("problem without a line: %+v", p)
		}
		if p.Severity == plan.SeverityError {
			errorLines[p.Line] = true
		}
	}
	for l := range errorLines {
		if !invalidLines[l] {
			t.Fatalf("an error on line %d but no invalid row there", l)
		}
	}
	for l := range invalidLines {
		if !errorLines[l] {
			t.Fatalf("row %d is invalid but no error names its line", l)
		}
	}
}

// checkFileError: an error is always a located *FileError.
func checkFileError(t *testing.T, name string, err error) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v is not a *FileError", err, err)
	}
	if fe.Path != name || !strings.HasPrefix(err.Error(), name+":") {
		t.Fatalf("error %q does not name %s", err, name)
	}
}

func addFileSeeds(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		files, err := filepath.Glob(pat)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// FuzzParseCSV: any bytes either read as a mapping or give a *FileError;
// never a panic.
func FuzzParseCSV(f *testing.F) {
	addFileSeeds(f, fixture("*.csv"), fixture("*.tsv"), fixture("*.txt"), fixture("*.xls"), filepath.Join("..", "..", "samples", "mapping.csv"),
		filepath.Join(producersDir, "*.csv"), filepath.Join(producersDir, "*.txt"))
	for _, s := range []string{
		"",
		"connector,group\n",
		"sep=;\nconnector;group\napp1;Europe\n",
		"connector,group\napp1,\"Eu\nrope\"\r\napp\"2,x\napp3,\"a\"b\napp4,\"open\n",
		"connector\tgroup\n{C0000000-0000-4000-8000-000000000001}\t#N/A\n",
		utf16Text("connector,group\napp1,lab 🚀\n", false),
		// Application mappings: the export's header, Entra PowerShell's,
		// a service principal export, and refused ones.
		"application,appId,objectId,connectorGroup,connectorGroupId\nHR portal," + testAppID + "," + testObjectID + ",Europe," + testGroupID + "\n",
		"Id,AppId,DisplayName,ConnectorGroupName\n" + testObjectID + ",{" + testAppID + "},#N/A,Europe\n,,Payroll,Asia\n",
		"objectId;appId;group\n" + testObjectID + ";1-2-3-4;Europe\n" + testObjectID + ";" + testAppID + ";Asia\n",
		"Id,AppId,DisplayName,ServicePrincipalType,groupId\nx," + testAppID + ",HR,Application," + testGroupID + "\n",
		"DisplayName,Name\nHR,Europe\n",
		"Id,Name\nx,y\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Every input is read as both kinds of mapping.
		for _, v := range []*vocabulary{connectorVocabulary, applicationVocabulary} {
			m, err := parseCSV("fuzz.csv", bytes.NewReader(data), 0, v)
			if err != nil {
				checkFileError(t, "fuzz.csv", err)
				checkWording(t, v, err.Error())
				continue
			}
			checkMapping(t, m)
			for _, p := range m.Problems {
				checkWording(t, v, p.Message)
			}
			if sum := sha256.Sum256(data); m.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("SHA256 %s does not cover the input", m.SHA256)
			}
		}
	})
}

// quoted is a Go-quoted string (plan.QuoteShort), as messages quote cells.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// checkWording: an application mapping's messages never call its rows'
// objects connectors, whatever the file holds (msg quotes at most a short
// piece of a cell, which may say anything: only the reader's own words
// are looked at).
func checkWording(t *testing.T, v *vocabulary, msg string) {
	t.Helper()
	if v != applicationVocabulary {
		return
	}
	msg = quoted.ReplaceAllString(msg, `""`)
	for _, s := range []string{"connector cell", "connector column", "accepted connector headers", "a connector or group value", "no connector or group name", "connector \"", "-m -", "--sheet"} {
		if strings.Contains(msg, s) {
			t.Fatalf("an application mapping's message %q says %q", msg, s)
		}
	}
}

// FuzzReadXLSX reads a workbook from memory. With sheetXML false, data is
// the whole file (any bytes, starting from the fixtures); with it true,
// data replaces the first worksheet of a valid workbook, so the mutations
// reach the sheet parsers instead of failing the zip checksums.
// fuzzParts are the parts of layout.xlsx FuzzReadXLSX may replace with
// its input (part 0 is the whole file): the sheet, and the shared
// strings, workbook and relationships the reader follows to it.
var fuzzParts = []string{"", "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "_rels/.rels"}

// FuzzReadXLSX: no workbook makes the reader panic or return something
// inconsistent, and a part that encoding/xml rejects is never read as a
// mapping (reading up to where it broke would be a shorter one).
func FuzzReadXLSX(f *testing.F) {
	base, err := os.ReadFile(fixture("layout.xlsx"))
	if err != nil {
		f.Fatal(err)
	}
	for _, pat := range []string{fixture("*.xlsx"), fixture("*.xlsm"), fixture("*.xls"), fixture("*.ods"), filepath.Join("..", "..", "samples", "mapping.xlsx"),
		filepath.Join(producersDir, "*.xlsx"), filepath.Join(producersDir, "*.xltx")} {
		files, _ := filepath.Glob(pat)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, uint8(0))
			for i, part := range fuzzParts[1:] {
				if p, err := zipEntry(data, part); err == nil {
					f.Add(p, uint8(i+1))
				}
			}
		}
	}
	f.Add([]byte(`<worksheet><sheetData><row r="1048576"><c r="A1048576" t="s"><v>99</v></c></row></sheetData><mergeCells><mergeCell ref="A1:XFD1048576"/></mergeCells></worksheet>`), uint8(1))
	f.Add([]byte(`<worksheet><sheetData><row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row><row><c/><c><f>1+</f></c></row></sheetData></worksheet>`), uint8(1))
	// A title above a two-row merged header.
	f.Add(sheetXML([][]string{{"Q4 change"}, nil, {"connector", "group"}, nil, {"app1", "Europe"}}, "A1:B1", "A3:A4", "B3:B4"), uint8(1))
	f.Add([]byte(`<sst><si><t>connector</t></si><si><r><t>gr</t></r><r><t>oup</t></r><rPh><t>x</t></rPh></si></sst>`), uint8(2))
	// Application mappings: an export's workbook (whose Applications sheet
	// an application mapping reads), and sheets with application headers.
	f.Add(exportWorkbook(f, exportApps), uint8(0))
	f.Add(sheetXML([][]string{{"Application assignments"}, {"machineName", "group"}, {"Id", "AppId", "DisplayName", "ConnectorGroup"},
		{testObjectID, testAppID, "HR portal", "Europe"}, {"", testAppID, "", "Asia"}, {"#REF!", "", "", "Europe"}}, "D3:D4"), uint8(1))
	f.Add(sheetXML([][]string{{"objectId", "appId", "groupId", "groupName"}, {testObjectID, "1-2-3-4", testGroupID, "Europe"}}), uint8(1))
	f.Add([]byte(`<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`+
		`<sheets><sheet name="applications" sheetId="1" r:id="rId1"/></sheets></workbook>`), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, part uint8) {
		name := fuzzParts[int(part)%len(fuzzParts)]
		file := data
		if name != "" {
			var err error
			if file, err = replaceEntry(base, name, data); err != nil {
				t.Skip(err)
			}
		}
		// Every workbook is read as both kinds of mapping.
		for _, v := range []*vocabulary{connectorVocabulary, applicationVocabulary} {
			r := bytes.NewReader(file)
			m, err := readMapping("fuzz.xlsx", r, r.Size(), Options{Kind: v.kind})
			if err != nil {
				checkFileError(t, "fuzz.xlsx", err)
				checkWording(t, v, err.Error())
				continue
			}
			if name != "" && !wellFormedXML(data) {
				t.Fatalf("part %s is not well-formed XML, yet the file read as a %s of %d rows", name, v.mapping, len(m.Rows))
			}
			checkMapping(t, m)
			for _, p := range m.Problems {
				checkWording(t, v, p.Message)
			}
		}
	})
}

// wellFormedXML is the fuzzer's own judge, independent of the reader:
// encoding/xml reads data to its end without an error. (The reader refuses
// more: DTDs, huge pieces, a second root; the property is one way.) UTF-16
// is left to the reader.
func wellFormedXML(data []byte) bool {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return true
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) { return in, nil }
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

func zipEntry(data []byte, name string) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	return readZipPart(zr, name, 1<<20)
}

// replaceEntry rewrites a zip with one entry's content replaced.
func replaceEntry(data []byte, name string, content []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		w, err := zw.Create(zf.Name)
		if err != nil {
			return nil, err
		}
		if zf.Name == name {
			_, err = w.Write(content)
		} else {
			var rc io.ReadCloser
			if rc, err = zf.Open(); err == nil {
				_, err = io.Copy(w, rc)
				rc.Close()
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// FuzzWriteCSV: whatever a CSV file reads as, the mapping writer writes
// it so that it reads back as the same rows, as CSV and as a workbook
// (the round trip of an export, edited and given back).
func FuzzWriteCSV(f *testing.F) {
	addFileSeeds(f, fixture("*.csv"), filepath.Join(producersDir, "*.csv"), filepath.Join(producersDir, "*.txt"))
	for _, s := range []string{
		"connector,group\n'=cmd,\"'@x\"\n''=y,+1\n-z,'''q\n",
		"Id,MachineName,ConnectorGroupId,ConnectorGroupName\n,app1,,Europe\napp2,app2,g,\"a\r\nb\"\n",
		"connector;group\n\"a,b\";\"c;d\"\n\"e\tf\";\"\"\"q\"\"\"\n",
	} {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		"application,appId,objectId,connectorGroup,connectorGroupId\nHR portal," + testAppID + "," + testObjectID + ",Europe," + testGroupID + "\n",
		"objectId,appId,group\n" + testObjectID + "," + testAppID + ",Europe\n," + testAppID + ",Asia\n",
		"Id,AppId,DisplayName,ConnectorGroupName\n" + testObjectID + ",,'=x,Europe\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Both kinds of mapping: an application mapping's rows written
		// under application headers (applicationTable) read back alike.
		writeReadBack(t, data, connectorVocabulary, MappingTable)
		writeReadBack(t, data, applicationVocabulary, applicationTable)
	})
}

// writeReadBack reads data as a mapping of v's kind, writes its rows with
// table, as CSV and as a workbook, and reads them back: the same rows.
func writeReadBack(t *testing.T, data []byte, v *vocabulary, tableOf func(*plan.Mapping) Table) {
	t.Helper()
	m, err := parseCSV("fuzz.csv", bytes.NewReader(data), 0, v)
	if err != nil {
		return
	}
	table := tableOf(m)
	var out bytes.Buffer
	if err := WriteCSV(&out, table); err != nil {
		t.Fatal(err)
	}
	back, err := parseCSV("back.csv", bytes.NewReader(out.Bytes()), 0, v)
	if err != nil {
		t.Fatalf("the written %s is refused: %v\n%q", v.mapping, err, out.Bytes())
	}
	if got, want := usableRows(back.Rows), usableRows(m.Rows); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s CSV round trip:\n%+v\nwant:\n%+v\nwritten:\n%q", v.mapping, got, want, out.Bytes())
	}
	out.Reset()
	if err := WriteXLSX(&out, "Mapping", table); err != nil {
		if errors.Is(err, ErrUnwritable) {
			return // a control character: no workbook holds it
		}
		t.Fatal(err)
	}
	r := bytes.NewReader(out.Bytes())
	back, err = readMapping("back.xlsx", r, r.Size(), Options{Kind: v.kind})
	if err != nil {
		t.Fatalf("the written %s workbook is refused: %v", v.mapping, err)
	}
	if got, want := usableRows(back.Rows), usableRows(m.Rows); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s XLSX round trip:\n%+v\nwant:\n%+v", v.mapping, got, want)
	}
}

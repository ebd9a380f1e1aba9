package mapping

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"connrecon/plan"
)

// Hostile and broken workbooks, built here part by part: every one must be
// refused as a whole (a *FileError naming what broke), never read as a
// shorter mapping, and quickly, in little memory.

const (
	ctTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`
	rootRels  = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`
	bookXML   = `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Mapping" sheetId="1" r:id="rId1"/></sheets></workbook>`
	bookRels  = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`
	sheetHead = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`
	sheetTail = `</sheetData></worksheet>`
)

// workbookParts is a minimal workbook: a sheet "Mapping" with the header
// and n data rows (connector app<i>, group Europe) in inline strings, and
// an empty shared-strings table. Tests replace parts.
func workbookParts(n int) map[string][]byte {
	var s bytes.Buffer
	s.WriteString(sheetHead)
	s.WriteString(`<row r="1"><c r="A1" t="inlineStr"><is><t>connector</t></is></c><c r="B1" t="inlineStr"><is><t>group</t></is></c></row>`)
	for i := 2; i <= n+1; i++ {
		fmt.Fprintf(&s, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>app%d</t></is></c><c r="B%d" t="inlineStr"><is><t>Europe</t></is></c></row>`, i, i, i, i)
	}
	s.WriteString(sheetTail)
	return map[string][]byte{
		"[Content_Types].xml":        []byte(ctTypes),
		"_rels/.rels":                []byte(rootRels),
		"xl/workbook.xml":            []byte(bookXML),
		"xl/_rels/workbook.xml.rels": []byte(bookRels),
		"xl/worksheets/sheet1.xml":   s.Bytes(),
		"xl/sharedStrings.xml":       []byte(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"></sst>`),
	}
}

// zipParts packs parts (in a fixed order: [Content_Types].xml first).
func zipParts(t testing.TB, parts map[string][]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	names := []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for n := range parts {
		if !seen[n] {
			names = append(names, n)
		}
	}
	for _, n := range names {
		data, ok := parts[n]
		if !ok {
			continue
		}
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func readBytes(data []byte, opts Options) (*plan.Mapping, error) {
	r := bytes.NewReader(data)
	return readMapping("hostile.xlsx", r, r.Size(), opts)
}

// TestReadXLSXBrokenXMLRefused: XML that does not parse to its end, in any
// part the reader uses, refuses the file, naming the part and where it
// broke. Before, excelize's row reader stopped at the error and the sheet
// read as the rows above it: a 300-row workbook with a stray & in row 151
// validated as 150 rows.
func TestReadXLSXBrokenXMLRefused(t *testing.T) {
	good := workbookParts(300)
	sheet := string(good["xl/worksheets/sheet1.xml"])
	row151 := `<row r="151"><c r="A151" t="inlineStr"><is><t>app151</t></is></c>`
	if !strings.Contains(sheet, row151) {
		t.Fatal("generator changed")
	}
	tests := []struct {
		name  string
		part  string
		data  string
		wants []string
	}{
		{"unescaped ampersand in row 151", "xl/worksheets/sheet1.xml",
			strings.Replace(sheet, row151, `<row r="151"><c r="A151" t="inlineStr"><is><t>app151 R&D</t></is></c>`, 1),
			[]string{"xl/worksheets/sheet1.xml", "row 151", "damaged"}},
		{"truncated sheet", "xl/worksheets/sheet1.xml", sheet[:len(sheet)/2], []string{"xl/worksheets/sheet1.xml", "damaged"}},
		{"mismatched closing tag", "xl/worksheets/sheet1.xml",
			strings.Replace(sheet, row151, `<row r="151"><c r="A151" t="inlineStr"><is><t>app151</is></t></c>`, 1),
			[]string{"xl/worksheets/sheet1.xml", "row 151"}},
		{"DTD with an entity", "xl/worksheets/sheet1.xml",
			strings.Replace(sheet, `<worksheet`, `<!DOCTYPE worksheet [<!ENTITY x "Europe">]><worksheet`, 1),
			[]string{"xl/worksheets/sheet1.xml", "document type declaration"}},
		{"undeclared entity", "xl/worksheets/sheet1.xml",
			strings.Replace(sheet, `<t>app151</t>`, `<t>&x;</t>`, 1),
			[]string{"xl/worksheets/sheet1.xml", "row 151"}},
		{"junk after the root element", "xl/worksheets/sheet1.xml", sheet + "<row>", []string{"xl/worksheets/sheet1.xml"}},
		{"second root element", "xl/worksheets/sheet1.xml", sheet + "<worksheet/>", []string{"xl/worksheets/sheet1.xml"}},
		{"broken shared strings", "xl/sharedStrings.xml", `<sst><si><t>a</t></si><si><t>b & c</t></si></sst>`, []string{"xl/sharedStrings.xml", "shared string 2"}},
		{"truncated shared strings", "xl/sharedStrings.xml", `<sst><si><t>a</t></si><si><t>b`, []string{"xl/sharedStrings.xml"}},
		{"broken workbook part", "xl/workbook.xml", strings.Replace(bookXML, `</sheets>`, `</sheet>`, 1), []string{"xl/workbook.xml"}},
		{"broken workbook relationships", "xl/_rels/workbook.xml.rels", bookRels[:len(bookRels)-20], []string{"xl/_rels/workbook.xml.rels"}},
		{"broken package relationships", "_rels/.rels", strings.Replace(rootRels, `"/>`, `">`, 1), []string{"_rels/.rels"}},
		{"nested too deep", "xl/worksheets/sheet1.xml",
			strings.Replace(sheet, `</sheetData>`, strings.Repeat("<x>", 100)+strings.Repeat("</x>", 100)+`</sheetData>`, 1),
			[]string{"xl/worksheets/sheet1.xml", "nested"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := workbookParts(300)
			parts[tt.part] = []byte(tt.data)
			m, err := readBytes(zipParts(t, parts), Options{})
			if err == nil {
				t.Fatalf("read as a mapping of %d rows; want the file refused", len(m.Rows))
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Err != nil {
				t.Fatalf("error %T %v: want a *FileError about the content", err, err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// The same workbook unbroken reads every row: the refusals above are
	// about the damage, not the generator.
	m, err := readBytes(zipParts(t, workbookParts(300)), Options{})
	if err != nil || len(m.Rows) != 300 {
		t.Fatalf("the intact workbook: %v, %d rows; want 300", err, len(m.Rows))
	}
}

// peakHeapOf returns the most heap f held live above what was live
// before, sampled every millisecond from runtime/metrics (a sample can
// miss a short peak, never invent one), with the garbage collector made
// eager so that what is counted is what f keeps, not garbage.
func peakHeapOf(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base := read()
	peak := base
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return peak - base
}

// TestReadXLSXHugeCellsRefused: a small file that unpacks to one huge cell
// or a huge shared-strings table is refused within a bounded allocation,
// naming the limit. Before, a 1 MB workbook with one huge inline cell took
// 48 s and 5.75 GB.
func TestReadXLSXHugeCellsRefused(t *testing.T) {
	heavy(t)
	huge := strings.Repeat("A", 200<<20) // 200 MiB, compresses to about 200 KiB
	manyShared := func() []byte {
		var b bytes.Buffer
		b.WriteString(`<sst>`)
		for range maxSharedStrings + 1 {
			b.WriteString(`<si><t>x</t></si>`)
		}
		b.WriteString(`</sst>`)
		return b.Bytes()
	}
	tests := []struct {
		name  string
		part  string
		data  func() []byte
		wants string
	}{
		{"huge inline string", "xl/worksheets/sheet1.xml", func() []byte {
			return []byte(sheetHead + `<row r="1"><c r="A1" t="inlineStr"><is><t>` + huge + `</t></is></c></row>` + sheetTail)
		}, "longer than 1024 KiB"},
		{"huge value", "xl/worksheets/sheet1.xml", func() []byte {
			return []byte(sheetHead + `<row r="1"><c r="A1" t="str"><v>` + huge + `</v></c></row>` + sheetTail)
		}, "longer than 1024 KiB"},
		{"huge shared string", "xl/sharedStrings.xml", func() []byte { return []byte(`<sst><si><t>` + huge + `</t></si></sst>`) }, "longer than 1024 KiB"},
		{"cell over Excel's limit in pieces", "xl/sharedStrings.xml", func() []byte {
			return []byte(`<sst><si>` + strings.Repeat(`<r><t>`+strings.Repeat("b", 1000)+`</t></r>`, 40) + `</si></sst>`)
		}, "more than 32767 characters"},
		{"inline cell over Excel's limit in pieces", "xl/worksheets/sheet1.xml", func() []byte {
			return []byte(sheetHead + `<row r="1"><c r="A1" t="inlineStr"><is>` + strings.Repeat(`<r><t>`+strings.Repeat("b", 1000)+`</t></r>`, 140) + `</is></c></row>` + sheetTail)
		}, "more than 32767 characters"},
		{"too many shared strings", "xl/sharedStrings.xml", manyShared, "more than 2000000 strings"},
		{"huge comment", "xl/worksheets/sheet1.xml", func() []byte { return []byte(`<!--` + huge + `-->` + sheetHead + sheetTail) }, "longer than 1024 KiB"},
		{"huge CDATA with '<' inside", "xl/worksheets/sheet1.xml", func() []byte {
			return []byte(sheetHead + `<row r="1"><c r="A1" t="str"><v><![CDATA[` + strings.Repeat(strings.Repeat("a", 1000)+"<", 2000) + `]]></v></c></row>` + sheetTail)
		}, "longer than 1024 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := workbookParts(2)
			parts[tt.part] = tt.data()
			data := zipParts(t, parts)
			var err error
			peak := peakHeapOf(func() { _, err = readBytes(data, Options{}) })
			if err == nil || !strings.Contains(err.Error(), tt.wants) && !strings.Contains(err.Error(), "more than 32767 characters") {
				t.Fatalf("error %v; want one saying %q", err, tt.wants)
			}
			if len(err.Error()) > 600 {
				t.Errorf("the message is %d bytes long", len(err.Error()))
			}
			// Within the reader's bound (the shared-strings cap, its
			// index, buffers); nothing in proportion to the huge part.
			if limit := uint64(maxSharedText + 32<<20); peak > limit {
				t.Errorf("held %d MiB refusing it; want under %d MiB", peak>>20, limit>>20)
			}
		})
	}
}

// TestReadXLSXUnzipLimit: a package declaring more than maxUnzipSize is
// refused before anything is unpacked.
func TestReadXLSXUnzipLimit(t *testing.T) {
	heavy(t)
	parts := workbookParts(1)
	parts["xl/media/filler.bin"] = bytes.Repeat([]byte{0}, maxUnzipSize-len(parts["xl/worksheets/sheet1.xml"])+1)
	data := zipParts(t, parts)
	var err error
	peak := peakHeapOf(func() { _, err = readBytes(data, Options{}) })
	if err == nil || !strings.Contains(err.Error(), "unpacks to more than 256 MiB") {
		t.Fatalf("error %v; want the unzip limit", err)
	}
	if peak > 16<<20 {
		t.Errorf("held %d MiB; want the size checked before unpacking", peak>>20)
	}
}

// TestReadXLSXManySheetsBoundedMessage: --sheet with an unknown name on a
// workbook of 100,000 sheets names a few of them, not all (it printed
// 989 KB of names).
func TestReadXLSXManySheetsBoundedMessage(t *testing.T) {
	heavy(t)
	parts := workbookParts(1)
	var book bytes.Buffer
	book.WriteString(`<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>`)
	for i := range 100_000 {
		fmt.Fprintf(&book, `<sheet name="Sheet number %d" sheetId="%d" r:id="rId1"/>`, i+1, i+1)
	}
	book.WriteString(`</sheets></workbook>`)
	parts["xl/workbook.xml"] = book.Bytes()
	_, err := readBytes(zipParts(t, parts), Options{Sheet: "nosuch"})
	if err == nil || !strings.Contains(err.Error(), `no sheet "nosuch"`) || !strings.Contains(err.Error(), "and 99980 more") {
		t.Fatalf("error %v; want the unknown sheet with 20 names and a count", err)
	}
	if n := len(err.Error()); n > 1000 {
		t.Errorf("the message is %d bytes", n)
	}
}

// TestReadXLSXLongHeaderQuotedShort: a header cell of 30,000 characters is
// quoted by its start in the no-header message.
func TestReadXLSXLongHeaderQuotedShort(t *testing.T) {
	parts := workbookParts(0)
	long := strings.Repeat("h", 30_000)
	parts["xl/worksheets/sheet1.xml"] = []byte(sheetHead + `<row r="1"><c r="A1" t="inlineStr"><is><t>` + long + `</t></is></c><c r="B1" t="inlineStr"><is><t>group</t></is></c></row>` + sheetTail)
	_, err := readBytes(zipParts(t, parts), Options{})
	if err == nil || !strings.Contains(err.Error(), "no connector column") {
		t.Fatalf("error %v; want no connector column", err)
	}
	if n := len(err.Error()); n > 1000 {
		t.Errorf("the message is %d bytes", n)
	}
}

// TestReadXLSXRowsAndCellsBeyondLimits: a row number or a column beyond
// a spreadsheet's limits is refused or an invalid row, never a panic.
func TestReadXLSXRowsAndCellsBeyondLimits(t *testing.T) {
	head := `<row r="1"><c r="A1" t="inlineStr"><is><t>connector</t></is></c><c r="B1" t="inlineStr"><is><t>group</t></is></c></row>`
	for _, tt := range []struct{ name, rows, want string }{
		{"row past the last", `<row r="1048577"><c t="inlineStr"><is><t>a</t></is></c></row>`, "rows are 1 to 1048576"},
		{"row number not a number", `<row r="x"><c t="inlineStr"><is><t>a</t></is></c></row>`, "rows are 1 to 1048576"},
		{"shared string out of range", `<row r="2"><c r="A2" t="s"><v>7</v></c><c r="B2" t="inlineStr"><is><t>g</t></is></c></row>`, "shared string 7"},
		{"bad cell reference", `<row r="2"><c r="A!2" t="inlineStr"><is><t>a</t></is></c></row>`, "not a cell"},
		{"column past the last", `<row r="2"><c r="XFE2" t="inlineStr"><is><t>a</t></is></c></row>`, "not a cell"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts := workbookParts(0)
			parts["xl/worksheets/sheet1.xml"] = []byte(sheetHead + head + tt.rows + sheetTail)
			m, err := readBytes(zipParts(t, parts), Options{})
			msg := ""
			if err != nil {
				msg = err.Error()
			} else {
				for _, p := range m.Problems {
					msg += p.Message + "\n"
				}
			}
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("got %q; want %q", msg, tt.want)
			}
		})
	}
}

// TestXMLGuard: the guard's view of where pieces of XML end.
func TestXMLGuard(t *testing.T) {
	long := strings.Repeat("a", maxXMLRun+1)
	for _, tt := range []struct {
		name string
		in   string
		err  error
	}{
		{"short pieces", strings.Repeat("<a>"+strings.Repeat("b", maxXMLRun-10)+"</a>", 3), nil},
		{"long text", "<a>" + long + "</a>", errXMLRun},
		{"long tag", "<a x=\"" + long + "\"/>", errXMLRun},
		{"'>' in text does not end it", "<a>" + strings.Repeat(">", maxXMLRun+1) + "</a>", errXMLRun},
		{"comment", "<!--" + strings.Repeat("<", maxXMLRun+1) + "-->", errXMLRun},
		{"short comments", strings.Repeat("<!--"+strings.Repeat("<", 1000)+"-->", 2000), nil},
		{"processing instruction", "<?x " + strings.Repeat("<", maxXMLRun+1) + "?>", errXMLRun},
		{"comment closed by its own opening dashes", "<!--->" + strings.Repeat(strings.Repeat("a", 1000)+"<", 2000) + "-->", errXMLRun},
		{"empty comment", "<!---->" + strings.Repeat("<a/>", 10), nil},
		{"PI closed by its own opening", "<?>" + strings.Repeat("<", maxXMLRun+1) + "?>", errXMLRun},
		{"doctype", "<!DOCTYPE a><a/>", errXMLDTD},
		{"entity", "<!ENTITY a 'b'><a/>", errXMLDTD},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := io.Copy(io.Discard, &xmlGuard{r: strings.NewReader(tt.in)})
			if !errors.Is(err, tt.err) && (err != nil || tt.err != nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
		})
	}
}

// TestParseCSVBounded: a CSV line or quoted record past maxCSVRecord, and
// more rows than a sheet holds, refuse the file naming where, without
// echoing it. A 100 MB header line came back as a 100 MB message.
func TestParseCSVBounded(t *testing.T) {
	heavy(t)
	long := strings.Repeat("x", maxCSVRecord+10)
	for _, tt := range []struct {
		name, in string
		line     int
	}{
		{"long header line", long + ",group\n", 1},
		{"long data line", "connector,group\napp1,Europe\n" + long + ",Europe\n", 3},
		{"quote never closed", "connector,group\napp1,\"Eur\n" + strings.Repeat("ope\n", maxCSVRecord/4+10), 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCSV("big.csv", strings.NewReader(tt.in))
			var fe *FileError
			if !errors.As(err, &fe) || fe.Line != tt.line || !strings.Contains(err.Error(), "longer than 1024 KiB") {
				t.Fatalf("error %v; want the record at line %d refused", err, tt.line)
			}
			if len(err.Error()) > 400 {
				t.Errorf("the message is %d bytes", len(err.Error()))
			}
		})
	}
	t.Run("exactly as many rows as a sheet holds", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("connector,group\n")
		for range maxMappingRows {
			b.WriteString("a,b\n")
		}
		if m, err := ParseCSV("full.csv", strings.NewReader(b.String())); err != nil || len(m.Rows) != maxMappingRows {
			t.Fatalf("error %v; want all %d rows read", err, maxMappingRows)
		}
	})
	t.Run("too many rows", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("connector,group\n")
		for range maxMappingRows + 1 {
			b.WriteString("a,b\n")
		}
		_, err := ParseCSV("many.csv", strings.NewReader(b.String()))
		if err == nil || !strings.Contains(err.Error(), "more than 1048576 rows") {
			t.Fatalf("error %v; want the row limit", err)
		}
	})
}

// sstParts is workbookParts with a shared-strings table and a sheet whose
// rows all point at shared strings 2 and 3 (0 and 1 are the header).
func sstParts(rows int, strs ...string) map[string][]byte {
	parts := workbookParts(0)
	var sst bytes.Buffer
	sst.WriteString(`<sst><si><t>connector</t></si><si><t>group</t></si>`)
	for _, v := range strs {
		fmt.Fprintf(&sst, `<si><t>%s</t></si>`, v)
	}
	sst.WriteString(`</sst>`)
	parts["xl/sharedStrings.xml"] = sst.Bytes()
	var sheet bytes.Buffer
	sheet.WriteString(sheetHead + `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>`)
	for r := 2; r <= rows+1; r++ {
		fmt.Fprintf(&sheet, `<row r="%d"><c r="A%d" t="s"><v>2</v></c><c r="B%d" t="s"><v>3</v></c></row>`, r, r, r)
	}
	sheet.WriteString(sheetTail)
	parts["xl/worksheets/sheet1.xml"] = sheet.Bytes()
	return parts
}

// TestReadXLSXSharedStringAmplification: thousands of rows pointing at one
// huge shared string cost a bounded amount. Each row's copy of two
// 32,767-character strings made 1.3 GB of a 167 KB workbook; now such a
// cell makes its row invalid and is kept cut, and a mapping whose cells and
// problems pass maxKeptText is refused.
func TestReadXLSXSharedStringAmplification(t *testing.T) {
	heavy(t)
	t.Run("cells past the cell cap", func(t *testing.T) {
		data := zipParts(t, sstParts(20_000, strings.Repeat("a", 32_767), strings.Repeat("b", 32_767)))
		var m *plan.Mapping
		var err error
		peak := peakHeapOf(func() { m, err = readBytes(data, Options{}) })
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Rows) != 20_000 || m.Invalid() != 20_000 || !strings.Contains(m.Rows[0].Problem, "holds 32767 characters") {
			t.Fatalf("%d rows, %d invalid, first problem %q; want every row invalid for its long cells", len(m.Rows), m.Invalid(), m.Rows[0].Problem)
		}
		if len(m.Rows[0].Connector) > 4*plan.MaxQuoted {
			t.Errorf("kept a %d-byte cell", len(m.Rows[0].Connector))
		}
		if peak > 96<<20 {
			t.Errorf("held %d MiB", peak>>20)
		}
	})
	t.Run("all cells past the mapping's text cap", func(t *testing.T) {
		data := zipParts(t, sstParts(40_000, strings.Repeat("a", maxMappedCell), strings.Repeat("b", maxMappedCell)))
		_, err := readBytes(data, Options{})
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "more than 64 MiB of text") {
			t.Fatalf("error %v; want the file refused for its text", err)
		}
	})
}

// TestReadXLSXStrictStructure: what encoding/xml lets through but XML or
// SpreadsheetML forbids, and readers would read differently, refuses the
// file.
func TestReadXLSXStrictStructure(t *testing.T) {
	head := `<row r="1"><c r="A1" t="inlineStr"><is><t>connector</t></is></c><c r="B1" t="inlineStr"><is><t>group</t></is></c></row>`
	row2 := `<row r="2"><c r="A2" t="inlineStr"><is><t>c1</t></is></c><c r="B2" t="inlineStr"><is><t>g1</t></is></c></row>`
	for _, tt := range []struct{ name, sheet, want string }{
		{"attribute given twice", sheetHead + head + `<row r="2" r="900"><c r="A2" t="inlineStr"><is><t>c1</t></is></c></row>` + sheetTail, "given twice"},
		{"undeclared prefix", sheetHead + head + `<q:row r="2"><c r="A2" t="inlineStr"><is><t>c1</t></is></c></q:row>` + sheetTail, "namespace"},
		{"value in a foreign namespace", sheetHead + head + `<row r="2" xmlns:e="urn:evil"><c r="A2" t="str"><e:v>evil</e:v><v>c1</v></c></row>` + sheetTail, "namespace"},
		{"second sheetData", sheetHead + head + `</sheetData><sheetData>` + row2 + sheetTail, "second <sheetData>"},
		{"row repeated", sheetHead + head + row2 + row2 + sheetTail, "rows out of order or repeated"},
		{"rows out of order", sheetHead + head + `<row r="3"><c r="A3" t="inlineStr"><is><t>c</t></is></c></row>` + row2 + sheetTail, "rows out of order"},
		{"cell repeated", sheetHead + head + `<row r="2"><c r="A2" t="inlineStr"><is><t>c1</t></is></c><c r="A2" t="inlineStr"><is><t>c2</t></is></c></row>` + sheetTail, "cells out of order or repeated"},
		{"row inside a row", sheetHead + `<row r="1"><row r="2"/></row>` + sheetTail, "inside a <row>"},
		{"comment that ends in its own opening", sheetHead + head + `</sheetData><!--->` + strings.Repeat(strings.Repeat("x", 500_000)+"<", 4) + `--><sheetData>` + sheetTail, "longer than 1024 KiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts := workbookParts(0)
			parts["xl/worksheets/sheet1.xml"] = []byte(tt.sheet)
			m, err := readBytes(zipParts(t, parts), Options{})
			if err == nil {
				t.Fatalf("read as %d rows %+v; want the file refused", len(m.Rows), m.Rows)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want %q", err, tt.want)
			}
		})
	}
	t.Run("two parts of one name", func(t *testing.T) {
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		parts := workbookParts(2)
		for _, n := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet1.xml"} {
			w, _ := zw.Create(n)
			w.Write(parts[n])
		}
		zw.Close()
		if _, err := readBytes(out.Bytes(), Options{}); err == nil || !strings.Contains(err.Error(), "two parts of this name") {
			t.Fatalf("error %v; want the duplicate part refused", err)
		}
	})
}

// TestReadXLSXLegalOddities: what XML allows and some writers write still
// reads: a UTF-8 byte order mark, a part declared in ISO-8859-1 or
// Windows-1252, elements in no namespace.
func TestReadXLSXLegalOddities(t *testing.T) {
	for _, tt := range []struct {
		name  string
		sheet []byte
		want  string
	}{
		{"UTF-8 byte order mark", append([]byte("\xef\xbb\xbf"), workbookParts(1)["xl/worksheets/sheet1.xml"]...), "app2"},
		{"ISO-8859-1", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>connector</t></is></c><c t="inlineStr"><is><t>group</t></is></c></row><row r="2"><c t="inlineStr"><is><t>app2</t></is></c><c t="inlineStr"><is><t>Z` + "\xfc" + `rich</t></is></c></row></sheetData></worksheet>`), "Zürich"},
		{"Windows-1252", []byte(`<?xml version="1.0" encoding="windows-1252"?><worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>connector</t></is></c><c t="inlineStr"><is><t>group</t></is></c></row><row r="2"><c t="inlineStr"><is><t>app2</t></is></c><c t="inlineStr"><is><t>EU ` + "\x96" + ` Paris</t></is></c></row></sheetData></worksheet>`), "EU – Paris"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts := workbookParts(0)
			parts["xl/worksheets/sheet1.xml"] = tt.sheet
			m, err := readBytes(zipParts(t, parts), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Rows) != 1 || (m.Rows[0].Connector != tt.want && m.Rows[0].Group != tt.want) {
				t.Fatalf("rows %+v; want one with %q", m.Rows, tt.want)
			}
		})
	}
}

// TestReadXLSXValuesUnderMergedHeader: a row under a header merged
// downwards that has a connector or group value is invalid, not silently
// dropped as part of the header (with --unlisted default, the connectors
// it named were idled).
func TestReadXLSXValuesUnderMergedHeader(t *testing.T) {
	parts := workbookParts(0)
	parts["xl/worksheets/sheet1.xml"] = sheetXML([][]string{
		{"Machine Name", "Connector Group"},
		{"fra-appproxy-01.contoso.com"},
		{"sea-appproxy-01.contoso.com"},
		{"fra-appproxy-02.contoso.com", "EU - Frankfurt"},
	}, "B1:B3")
	m, err := readBytes(zipParts(t, parts), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Rows) != 3 || m.Invalid() != 2 || !strings.Contains(m.Rows[0].Problem, "under the header's merged cells B1:B3") {
		t.Fatalf("rows %+v; want rows 2 and 3 invalid", m.Rows)
	}
}

// endlessReader is an endless stream of one byte.
type endlessReader byte

func (e endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

// TestReadStdinBounded: standard input past maxStdinSize is refused, not
// read for ever.
func TestReadStdinBounded(t *testing.T) {
	heavy(t)
	_, err := Read("-", Options{Stdin: endlessReader('a')})
	if err == nil || !strings.Contains(err.Error(), "more than 64 MiB") {
		t.Fatalf("error %v; want the stdin limit", err)
	}
}

// heavy skips a test that builds files of tens or hundreds of MiB (slow
// under the race detector) when -short is given: make test-light's quick
// loop. make test, and so CI, runs them.
func heavy(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds files of tens or hundreds of MiB; make test runs it")
	}
}

// TestParseCSVLongCellsNotKept: rows of near-record-size cells, cut short
// for their rows' problems, keep nothing of the text they were cut from.
// An empty cell cut from the same arena block as a huge one (a file with
// no second connector or group column has two per row) kept the block, a
// megabyte a row.
func TestParseCSVLongCellsNotKept(t *testing.T) {
	heavy(t)
	var b strings.Builder
	b.WriteString("connector,group\n")
	long := strings.Repeat("a", maxCSVRecord-16)
	for range 100 {
		b.WriteString(long + ",Europe\n")
	}
	data := []byte(b.String())
	var m *plan.Mapping
	var err error
	peak := peakHeapOf(func() { m, err = readBytes(data, Options{}) })
	if err != nil {
		t.Fatal(err)
	}
	if m.Invalid() != 100 {
		t.Fatalf("%d invalid rows, want 100", m.Invalid())
	}
	if peak > 32<<20 {
		t.Errorf("held %d MiB for 100 rows of cut cells", peak>>20)
	}
}

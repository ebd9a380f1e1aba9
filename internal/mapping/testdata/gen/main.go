// Command gen writes the generated mapping fixtures: the workbooks in
// internal/mapping/testdata/mapping, the UTF-16 and Windows-1252 text files
// there that no editor writes by accident, and samples/mapping.xlsx (the
// content of samples/mapping.csv). Run it from the repository root:
//
//	go run ./internal/mapping/testdata/gen                # the files made here, with excelize
//	go run ./internal/mapping/testdata/gen -libreoffice   # and the ones LibreOffice writes (needs soffice)
//
// It has no build tag: the go command leaves testdata directories out of
// ./... anyway, and a tag would stop `go run ./internal/mapping/testdata/gen`
// from working.
//
// The output is committed; the tests read it and never run this. Every
// file's name says what wrote it: "libreoffice-*" were converted by
// LibreOffice (soffice --headless --convert-to) from a workbook made here;
// "*-lookalike*" imitate what Excel writes, byte for byte where documented,
// but were not written by Excel; everything else is plainly excelize's.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

const dir = "internal/mapping/testdata/mapping"

func main() {
	lo := flag.Bool("libreoffice", false, "also write the files LibreOffice converts (needs soffice on PATH)")
	flag.Parse()
	if _, err := os.Stat("go.mod"); err != nil {
		log.Fatal("run from the repository root: go run ./internal/mapping/testdata/gen")
	}
	steps := []struct {
		name string
		make func(string) error
	}{
		{"several-sheets.xlsx", severalSheets},
		{"hidden-first-sheet.xlsx", hiddenFirstSheet},
		{"layout.xlsx", layout},
		{"merged-header.xlsx", mergedHeader},
		{"formulas.xlsx", formulas},
		{"numeric.xlsx", numeric},
		{"empty-sheet.xlsx", emptySheet},
		{"no-group-column.xlsx", noGroupColumn},
		{"encrypted.xlsx", encrypted},
		{"macro.xlsm", macro},
		{"excel-unicode-text-lookalike.txt", unicodeTextLookalike},
		{"utf16be.csv", utf16BE},
		{"windows-1252-lookalike.csv", windows1252},
	}
	for _, s := range steps {
		if err := s.make(filepath.Join(dir, s.name)); err != nil {
			log.Fatalf("%s: %v", s.name, err)
		}
	}
	if err := sampleXLSX("samples/mapping.csv", "samples/mapping.xlsx"); err != nil {
		log.Fatalf("samples/mapping.xlsx: %v", err)
	}
	if *lo {
		if err := libreOffice(); err != nil {
			log.Fatalf("libreoffice: %v", err)
		}
	}
}

// book collects the first error of a chain of excelize calls, so the
// builders below read as the sheet they make.
type book struct {
	*excelize.File
	err error
}

func newBook(first string) *book {
	b := &book{File: excelize.NewFile()}
	b.do(b.SetSheetName("Sheet1", first))
	return b
}

func (b *book) do(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *book) row(sheet, cell string, values ...any) {
	b.do(b.SetSheetRow(sheet, cell, &values))
}

func (b *book) sheet(name string) {
	_, err := b.NewSheet(name)
	b.do(err)
}

func (b *book) save(path string, opts ...excelize.Options) error {
	if b.err != nil {
		return b.err
	}
	if err := b.SaveAs(path, opts...); err != nil {
		return err
	}
	// excelize creates files executable (0755); fixtures are data.
	return os.Chmod(path, 0o644)
}

// severalSheets: the mapping first, an older mapping, a hidden lookup
// sheet and an empty one.
func severalSheets(path string) error {
	b := newBook("Mapping")
	b.row("Mapping", "A1", "Machine Name", "Connector Group", "Owner")
	b.row("Mapping", "A2", "fra-appproxy-01.contoso.com", "EU - Frankfurt", "Network team")
	b.row("Mapping", "A3", "sea-appproxy-01.contoso.com", "US - Seattle", "Identity team")
	b.row("Mapping", "A4", "tyo-appproxy-01.contoso.com", "APAC - Tokyo", "APAC ops")
	b.sheet("Retired")
	b.row("Retired", "A1", "connector", "group")
	b.row("Retired", "A2", "old-appproxy-01.contoso.com", "Default")
	b.row("Retired", "A3", "old-appproxy-02.contoso.com", "Default")
	b.sheet("Lookup")
	b.row("Lookup", "A1", "Group", "Id")
	b.row("Lookup", "A2", "EU - Frankfurt", "0d0b1d23-6c41-5d3d-8a55-d6d9b3c2c2f1")
	b.do(b.SetSheetVisible("Lookup", false))
	b.sheet("Empty")
	return b.save(path)
}

// hiddenFirstSheet: a hidden draft before the visible mapping, the trap
// that "first sheet" must not fall into.
func hiddenFirstSheet(path string) error {
	b := newBook("Draft")
	b.row("Draft", "A1", "connector", "group")
	b.row("Draft", "A2", "draft-appproxy-01.contoso.com", "Staging")
	b.sheet("Mapping")
	b.row("Mapping", "A1", "connector", "group")
	b.row("Mapping", "A2", "fra-appproxy-01.contoso.com", "EU - Frankfurt")
	b.SetActiveSheet(1)
	b.do(b.SetSheetVisible("Draft", false))
	return b.save(path)
}

// layout: the table starts at C3 (blank rows and columns before it), row 5
// is hidden, styled empty cells trail every row, and rows 8-11 have the
// row-level problems.
func layout(path string) error {
	const s = "Connectors"
	b := newBook(s)
	b.row(s, "C3", "Notes", "Connector Id", "Connector Group")
	b.row(s, "C4", "primary", "fra-appproxy-01.contoso.com", "EU - Frankfurt")
	b.row(s, "C5", "hidden row", "fra-appproxy-02.contoso.com", "EU - Frankfurt")
	b.do(b.SetRowVisible(s, 5, false))
	b.row(s, "C7", "padded", "  sea-appproxy-01.contoso.com ", "\u00a0US - Seattle")
	b.row(s, "C8", "no connector", "", "US - Seattle")
	b.row(s, "C9", "mangled id", "1234-5678-9abc-def0", "US - Seattle")
	b.row(s, "C10", "second group", "fra-appproxy-01.contoso.com", "US - Seattle")
	b.row(s, "C11", "same again", "SEA-APPPROXY-01.contoso.com", "us - seattle")
	// Formatting without values, as a sheet gets when a whole row or a
	// block is styled: cells that exist in the file but hold nothing.
	style, err := b.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFF2CC"}}})
	b.do(err)
	b.do(b.SetCellStyle(s, "F3", "H11", style))
	b.do(b.SetColWidth(s, "D", "E", 32))
	return b.save(path)
}

// mergedHeader: a two-row header. Machine Name (A1:A2) and Connector Group
// (B1:B2) are merged downwards, Contact (C1:D1) across with Name and Email
// under it. Group cells B4:B5 are merged too, which leaves B5 empty; row 6
// repeats row 3. A second sheet, Across, has the connector header merged
// across A1:B1.
func mergedHeader(path string) error {
	const s = "Mapping"
	b := newBook(s)
	b.row(s, "A1", "Machine Name", "Connector Group", "Contact")
	b.row(s, "C2", "Name", "Email")
	b.do(b.MergeCell(s, "A1", "A2"))
	b.do(b.MergeCell(s, "B1", "B2"))
	b.do(b.MergeCell(s, "C1", "D1"))
	b.row(s, "A3", "fra-appproxy-01.contoso.com", "EU - Frankfurt", "Ann", "ann@contoso.com")
	b.row(s, "A4", "sea-appproxy-01.contoso.com", "US - Seattle", "Bo", "bo@contoso.com")
	b.row(s, "A5", "sea-appproxy-02.contoso.com", nil, "Bo", "bo@contoso.com")
	b.do(b.MergeCell(s, "B4", "B5"))
	b.row(s, "A6", "FRA-appproxy-01.contoso.com", "EU - Frankfurt", "Ann", "ann@contoso.com")
	b.sheet("Across")
	b.row("Across", "A1", "Connector", nil, "Group")
	b.do(b.MergeCell("Across", "A1", "B1"))
	b.row("Across", "A2", "tyo-appproxy-01.contoso.com", "rack 4", "APAC - Tokyo")
	return b.save(path)
}

// formulas: the group is looked up from the Sites sheet. excelize saves
// formulas without a result, as any program that does not calculate does
// (libreoffice.xlsx has the same formulas with LibreOffice's results).
// Row 3 is typed in; row 4 holds the text Excel shows for a failed lookup.
func formulas(path string) error {
	const s = "Mapping"
	b := newBook(s)
	b.row(s, "A1", "Machine Name", "Site", "Connector Group")
	b.row(s, "A2", "fra-appproxy-01.contoso.com", "FRA")
	b.do(b.SetCellFormula(s, "C2", "VLOOKUP(B2,Sites!A:B,2,FALSE)"))
	b.row(s, "A3", "sea-appproxy-01.contoso.com", "SEA", "US - Seattle")
	b.row(s, "A4", "tyo-appproxy-01.contoso.com", "TYO", "#N/A")
	b.sheet("Sites")
	b.row("Sites", "A1", "FRA", "EU - Frankfurt")
	b.row("Sites", "A2", "SEA", "US - Seattle")
	return b.save(path)
}

// numeric: numbers where names are expected, and number formats that
// would change them if cells were read formatted.
func numeric(path string) error {
	const s = "Mapping"
	b := newBook(s)
	b.row(s, "A1", "connector", "group", "rack")
	b.row(s, "A2", "fra-appproxy-01.contoso.com", 2024, 0.1)
	b.row(s, "A3", "sea-appproxy-01.contoso.com", 12345, 3)
	b.row(s, "A4", "c0000000-0000-4000-8000-000000000001", 123456789012, 4)
	thousands, err := b.NewStyle(&excelize.Style{NumFmt: 3}) // #,##0
	b.do(err)
	b.do(b.SetCellStyle(s, "B3", "B3", thousands))
	date, err := b.NewStyle(&excelize.Style{NumFmt: 14}) // m/d/yy
	b.do(err)
	b.do(b.SetCellStyle(s, "B4", "B4", date))
	return b.save(path)
}

// emptySheet: formatted cells, no values.
func emptySheet(path string) error {
	b := newBook("Sheet1")
	style, err := b.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	b.do(err)
	b.do(b.SetCellStyle("Sheet1", "A1", "C3", style))
	return b.save(path)
}

func noGroupColumn(path string) error {
	b := newBook("Sheet1")
	b.row("Sheet1", "B2", "Machine Name", "Target")
	b.row("Sheet1", "B3", "fra-appproxy-01.contoso.com", "EU - Frankfurt")
	return b.save(path)
}

// encrypted: Excel's "Encrypt with Password" (agile encryption in an OLE
// container), as excelize writes it.
func encrypted(path string) error {
	b := newBook("Mapping")
	b.row("Mapping", "A1", "connector", "group")
	b.row("Mapping", "A2", "fra-appproxy-01.contoso.com", "EU - Frankfurt")
	return b.save(path, excelize.Options{Password: "connrecon"})
}

// macro: a macro-enabled workbook (excelize sets the .xlsm content type).
func macro(path string) error {
	b := newBook("Mapping")
	b.row("Mapping", "A1", "connector", "group")
	b.row("Mapping", "A2", "fra-appproxy-01.contoso.com", "EU - Frankfurt")
	return b.save(path)
}

// unicodeText imitates Excel's "Unicode Text (*.txt)": UTF-16LE with a
// byte order mark, tab-separated, CRLF, a cell with a tab quoted.
var unicodeText = "Machine Name\tConnector Group\tNotes\r\n" +
	"fra-appproxy-01.contoso.com\tEU - Zürich\t\"rack 1\tshelf 2\"\r\n" +
	"tyo-appproxy-01.contoso.com\tAPAC - 東京\tlab 🚀\r\n"

func unicodeTextLookalike(path string) error {
	return os.WriteFile(path, encodeUTF16(unicodeText, binary.LittleEndian, []byte{0xFF, 0xFE}), 0o644)
}

func utf16BE(path string) error {
	text := "connector,group\n\"fra-appproxy-01.contoso.com\",EU - Zürich\n"
	return os.WriteFile(path, encodeUTF16(text, binary.BigEndian, []byte{0xFE, 0xFF}), 0o644)
}

func encodeUTF16(s string, order binary.AppendByteOrder, bom []byte) []byte {
	out := bom
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

// windows1252 imitates Excel's "CSV (Comma delimited)" on a Western
// European Windows: ANSI code page, so ü is the single byte 0xFC.
func windows1252(path string) error {
	text := []byte("connector;group\r\nfra-appproxy-01.contoso.com;EU - Z\xfcrich\r\nsea-appproxy-01.contoso.com;US - Seattle\r\n")
	return os.WriteFile(path, text, 0o644)
}

// sampleXLSX writes the sample mapping's cells, every one as text, into
// the first sheet of a workbook.
func sampleXLSX(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return err
	}
	b := newBook("Mapping")
	for i, rec := range records {
		cells := make([]any, len(rec))
		for j, v := range rec {
			cells[j] = v
		}
		b.row("Mapping", fmt.Sprintf("A%d", i+1), cells...)
	}
	b.do(b.SetColWidth("Mapping", "A", "B", 36))
	return b.save(to)
}

// libreOffice converts a workbook made here with LibreOffice, which
// recalculates its formulas and writes the results, and writes the formats
// that are refused (.ods, .xls) and a UTF-16 text export.
func libreOffice() error {
	tmp, err := os.MkdirTemp("", "connrecon-gen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "libreoffice.xlsx")
	b := newBook("Mapping")
	const s = "Mapping"
	b.row(s, "A1", "Machine Name", "Site", "Connector Group", "Notes")
	b.row(s, "A2", "fra-appproxy-01.contoso.com", "FRA", nil, "primary")
	b.row(s, "A3", "fra-appproxy-02.contoso.com", "FRA", nil, "hidden row")
	b.row(s, "A4", "sea-appproxy-01.contoso.com", "SEA", nil, 42)
	for r := 2; r <= 4; r++ {
		b.do(b.SetCellFormula(s, fmt.Sprintf("C%d", r), fmt.Sprintf("VLOOKUP(B%d,Sites!A:B,2,FALSE)", r)))
	}
	b.do(b.SetRowVisible(s, 3, false))
	b.sheet("Sites")
	b.row("Sites", "A1", "FRA", "EU - Frankfurt")
	b.row("Sites", "A2", "SEA", "US - Seattle")
	if err := b.save(src); err != nil {
		return err
	}
	convert := func(to, ext string) error {
		out := filepath.Join(tmp, "out")
		cmd := exec.Command("soffice", "--headless", "--convert-to", to, "--outdir", out, src)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("soffice --convert-to %s: %v: %s", to, err, msg)
		}
		data, err := os.ReadFile(filepath.Join(out, "libreoffice."+ext))
		if err != nil {
			return err
		}
		name := "libreoffice." + ext
		if ext == "txt" {
			name = "libreoffice-unicode-text.txt"
		}
		return os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	for _, c := range []struct{ to, ext string }{
		{"xlsx:Calc MS Excel 2007 XML", "xlsx"},
		{"ods", "ods"},
		{"xls:MS Excel 97", "xls"},
		// Tab, double quote, charset 65535 (UTF-16), first sheet only.
		{"txt:Text - txt - csv (StarCalc):9,34,65535,1", "txt"},
	} {
		if err := convert(c.to, c.ext); err != nil {
			return err
		}
	}
	return nil
}

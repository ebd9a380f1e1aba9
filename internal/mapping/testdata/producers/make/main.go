// Command make writes the producer corpus in internal/mapping/testdata/producers:
// one mapping file per producer and flavour, each as that producer writes
// it. Run it from the repository root:
//
//	go run ./internal/mapping/testdata/producers/make              # the files made from documented formats, and excelize's
//	go run ./internal/mapping/testdata/producers/make -tools       # and those the tools installed here write (soffice, python3-openpyxl, node with SheetJS)
//
// The files are committed; the tests read them and never run this. The
// README beside them says where each file's bytes come from.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

const dir = "internal/mapping/testdata/producers"

// The mapping every file holds: four connectors, each with its id, and
// the group each goes to, with an id too. The names carry what files get
// wrong: a letter outside ASCII, a comma, quotes.
var connectors = []struct{ id, name, ip, group, groupID string }{
	{"1b7c1d0e-0c7a-4d8e-9a51-3f1c0f7a2b01", "sea-appproxy-01.contoso.com", "203.0.113.10", "US West", "5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b01"},
	{"1b7c1d0e-0c7a-4d8e-9a51-3f1c0f7a2b02", "sea-appproxy-02.contoso.com", "203.0.113.11", `Ops "blue" team`, "5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b04"},
	{"1b7c1d0e-0c7a-4d8e-9a51-3f1c0f7a2b03", "fra-appproxy-01.contoso.com", "198.51.100.20", "EU - Zürich", "5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b02"},
	{"1b7c1d0e-0c7a-4d8e-9a51-3f1c0f7a2b04", "tyo-appproxy-01.contoso.com", "192.0.2.30", "Asia, Tokyo", "5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b03"},
}

// table is the simple mapping: a header, then connector and group names.
func table(header ...string) [][]string {
	t := [][]string{header}
	for _, c := range connectors {
		t = append(t, []string{c.name, c.group})
	}
	return t
}

// exportTable is an export of connector objects as Entra PowerShell lists
// their properties, with the group's id and name added by Select-Object.
func exportTable() [][]string {
	t := [][]string{{"Id", "MachineName", "ExternalIp", "Status", "Version", "ConnectorGroupId", "ConnectorGroupName"}}
	for _, c := range connectors {
		t = append(t, []string{c.id, c.name, c.ip, "active", "1.5.3437.0", c.groupID, c.group})
	}
	return t
}

func main() {
	tools := flag.Bool("tools", false, "also run the tools installed here: soffice, python3 (openpyxl), node (SheetJS)")
	flag.Parse()
	if _, err := os.Stat("go.mod"); err != nil {
		log.Fatal("run from the repository root: go run ./internal/mapping/testdata/producers/make")
	}
	for name, data := range documented() {
		write(name, data)
	}
	excelizeFiles()
	if *tools {
		libreOffice()
		run("/usr/bin/python3", filepath.Join(dir, "make", "write_openpyxl.py"), dir)
		run("node", filepath.Join(dir, "make", "write_sheetjs.js"), dir)
	}
}

func write(name string, data []byte) {
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		log.Fatal(err)
	}
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
}

// csvStyle is how a producer writes CSV text, before its encoding.
type csvStyle struct {
	delim    string
	eol      string
	quoteAll bool   // PowerShell quotes every field
	typeLine string // Windows PowerShell's "#TYPE …" line, or ""
	finalEOL bool   // a line end after the last record
}

func (st csvStyle) text(t [][]string) string {
	var b strings.Builder
	if st.typeLine != "" {
		b.WriteString(st.typeLine + st.eol)
	}
	for i, rec := range t {
		for j, f := range rec {
			if j > 0 {
				b.WriteString(st.delim)
			}
			if st.quoteAll || strings.ContainsAny(f, st.delim+"\"\r\n") {
				f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			}
			b.WriteString(f)
		}
		if i < len(t)-1 || st.finalEOL {
			b.WriteString(st.eol)
		}
	}
	return b.String()
}

const psType = "#TYPE System.Management.Automation.PSCustomObject"

var (
	ps51 = csvStyle{delim: ",", eol: "\r\n", quoteAll: true, typeLine: psType, finalEOL: true}
	ps7  = csvStyle{delim: ",", eol: "\r\n", quoteAll: true, finalEOL: true}
	// Excel's CSV: fields quoted only when they must be, CRLF after every
	// record, the last too.
	excelCSV = csvStyle{delim: ",", eol: "\r\n", finalEOL: true}
)

// Encodings, as the producers name them.
func utf8BOM(s string) []byte   { return append([]byte{0xEF, 0xBB, 0xBF}, s...) }
func utf8NoBOM(s string) []byte { return []byte(s) }

func utf16Text(s string, big bool) []byte {
	var out []byte
	var order binary.AppendByteOrder = binary.LittleEndian
	out = append(out, 0xFF, 0xFE)
	if big {
		order = binary.BigEndian
		out = []byte{0xFE, 0xFF}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

func utf32BE(s string) []byte {
	out := []byte{0, 0, 0xFE, 0xFF}
	for _, r := range s {
		out = binary.BigEndian.AppendUint32(out, uint32(r))
	}
	return out
}

func utf32LE(s string) []byte {
	out := []byte{0xFF, 0xFE, 0, 0}
	for _, r := range s {
		out = binary.LittleEndian.AppendUint32(out, uint32(r))
	}
	return out
}

// ascii is .NET's ASCIIEncoding: every character it cannot write becomes
// "?", one per UTF-16 code unit.
func ascii(s string) []byte {
	var out []byte
	for _, r := range s {
		switch {
		case r < 0x80:
			out = append(out, byte(r))
		case r > 0xFFFF:
			out = append(out, '?', '?')
		default:
			out = append(out, '?')
		}
	}
	return out
}

func codePage(cm *charmap.Charmap) func(string) []byte {
	return func(s string) []byte {
		b, err := encoding.ReplaceUnsupported(cm.NewEncoder()).Bytes([]byte(s))
		if err != nil {
			log.Fatal(err)
		}
		return b
	}
}

var (
	cp1252   = codePage(charmap.Windows1252)
	cp437    = codePage(charmap.CodePage437)
	macRoman = codePage(charmap.Macintosh)
)

// documented are the files made from the producers' documented output,
// for the tools that do not install here.
func documented() map[string][]byte {
	names := table("Connector", "Group")
	files := map[string][]byte{
		// Windows PowerShell 5.1, a connector export with the group added:
		// Get-EntraBetaApplicationProxyConnector | Select-Object Id, MachineName, …, ConnectorGroupId, ConnectorGroupName | Export-Csv -NoTypeInformation -Encoding UTF8
		"ps51-entra-connector-export-utf8.csv": utf8BOM(ps7.text(exportTable())),
		// PowerShell 7's other options: LF on Linux, -UseQuotes AsNeeded,
		// -UseCulture with a German list separator.
		"ps7-export-csv-linux.csv":              utf8NoBOM(csvStyle{delim: ",", eol: "\n", quoteAll: true, finalEOL: true}.text(names)),
		"ps7-export-csv-usequotes-asneeded.csv": utf8NoBOM(excelCSV.text(names)),
		"ps7-export-csv-useculture-de.csv":      utf8NoBOM(csvStyle{delim: ";", eol: "\r\n", quoteAll: true, finalEOL: true}.text(names)),
		// Graph PowerShell: Get-MgBetaOnPremisePublishingProfileConnector
		// -OnPremisesPublishingProfileId applicationProxy | Export-Csv:
		// every property of the object, collections as their type name,
		// and no group column: a list of connectors, not a mapping.
		"ps7-graph-connector-export.csv": utf8NoBOM(ps7.text(graphConnectorExport())),
		// Get-EntraBetaApplicationProxyConnectorGroup | Export-Csv: groups only.
		"ps7-entra-connector-group-export.csv":      utf8NoBOM(ps7.text(groupExport())),
		"ps7-entra-connector-export-with-group.csv": utf8NoBOM(ps7.text(exportTable())),

		// Excel for Windows, File > Save As.
		"excel-win-csv-utf8.csv":               utf8BOM(excelCSV.text(names)),
		"excel-win-csv-comma-delimited.csv":    cp1252(excelCSV.text(names)),
		"excel-win-csv-comma-delimited-de.csv": cp1252(csvStyle{delim: ";", eol: "\r\n", finalEOL: true}.text(names)),
		"excel-win-csv-macintosh.csv":          macRoman(csvStyle{delim: ",", eol: "\r", finalEOL: true}.text(names)),
		"excel-win-csv-ms-dos.csv":             codePage(charmap.CodePage850)(excelCSV.text(names)),
		"excel-win-text-tab-delimited.txt":     cp1252(csvStyle{delim: "\t", eol: "\r\n", finalEOL: true}.text(names)),
		"excel-win-unicode-text.txt":           utf16Text(csvStyle{delim: "\t", eol: "\r\n", finalEOL: true}.text(names), false),
		// Excel for Mac, File > Save As.
		"excel-mac-csv-utf8.csv":                    utf8BOM(excelCSV.text(names)),
		"excel-mac-csv-comma-separated.csv":         macRoman(csvStyle{delim: ",", eol: "\r", finalEOL: true}.text(names)),
		"excel-mac-csv-windows-comma-separated.csv": cp1252(excelCSV.text(names)),
		"excel-mac-tab-delimited-text.txt":          macRoman(csvStyle{delim: "\t", eol: "\r", finalEOL: true}.text(names)),
		"excel-mac-csv-ms-dos.csv":                  cp437(excelCSV.text(names)),
		"excel-mac-utf16-unicode-text.txt":          utf16Text(csvStyle{delim: "\t", eol: "\r\n", finalEOL: true}.text(names), false),

		// Google Sheets, File > Download > Comma-separated values: UTF-8
		// without a mark, CRLF between records and none after the last.
		"google-sheets.csv": utf8NoBOM(csvStyle{delim: ",", eol: "\r\n"}.text(names)),
		// Apple Numbers, Export To > CSV, Text Encoding Unicode (UTF-8).
		"numbers.csv": utf8NoBOM(csvStyle{delim: ",", eol: "\n", finalEOL: true}.text(names)),
	}
	for name, data := range workbooks() {
		files[name] = data
	}
	for name, data := range powerShell(names) {
		files[name] = data
	}
	return files
}

// powerShell is every -Encoding of Export-Csv and of ConvertTo-Csv |
// Out-File, with and without the type line, in Windows PowerShell 5.1
// and PowerShell 7, for [pscustomobject]@{Connector=…; Group=…} objects.
// Named ps51-<cmdlet>[-notypeinformation|-includetypeinformation][-encoding-<name>].csv,
// no -encoding part for the cmdlet's default.
//
// Windows PowerShell 5.1: a "#TYPE" first line unless -NoTypeInformation,
// every field quoted, CRLF; Export-Csv writes ASCII by default and Out-File
// UTF-16 LE; every Unicode encoding but UTF-7 with a byte order mark;
// Default is the ANSI code page (Windows-1252 on a western system) and
// OEM the OEM one (437). PowerShell 7: UTF-8 without a mark by default,
// no type line unless -IncludeTypeInformation, fields quoted; ansi is the
// ANSI code page (7.4), utf8 has no mark.
func powerShell(names [][]string) map[string][]byte {
	files := map[string][]byte{}
	type enc struct {
		name string
		fn   func(string) []byte
	}
	unicode := func(s string) []byte { return utf16Text(s, false) }
	bigEndian := func(s string) []byte { return utf16Text(s, true) }
	ps51Encodings := []enc{{"default", cp1252}, {"ascii", ascii}, {"utf8", utf8BOM}, {"unicode", unicode},
		{"bigendianunicode", bigEndian}, {"utf32", utf32LE}, {"oem", cp437}}
	ps7Encodings := []enc{{"ascii", ascii}, {"ansi", cp1252}, {"bigendianunicode", bigEndian}, {"bigendianutf32", utf32BE},
		{"oem", cp437}, {"unicode", unicode}, {"utf8", utf8NoBOM}, {"utf8bom", utf8BOM}, {"utf8nobom", utf8NoBOM}, {"utf32", utf32LE}}
	for _, cmdlet := range []struct {
		name      string
		ps51, ps7 enc // the cmdlet's default encoding
	}{
		{"export-csv", enc{"", ascii}, enc{"", utf8NoBOM}},
		{"convertto-csv-out-file", enc{"", unicode}, enc{"", utf8NoBOM}},
	} {
		for _, typed := range []bool{true, false} {
			st, suffix := ps51, ""
			if !typed {
				st, suffix = ps7, "-notypeinformation"
			}
			for _, e := range append([]enc{cmdlet.ps51}, ps51Encodings...) {
				files[psName("ps51", cmdlet.name, suffix, e.name)] = e.fn(st.text(names))
			}
			st, suffix = ps7, ""
			if typed {
				st, suffix = ps51, "-includetypeinformation"
			}
			for _, e := range append([]enc{cmdlet.ps7}, ps7Encodings...) {
				files[psName("ps7", cmdlet.name, suffix, e.name)] = e.fn(st.text(names))
			}
		}
	}
	return files
}

func psName(version, cmdlet, suffix, encoding string) string {
	if encoding != "" {
		encoding = "-encoding-" + encoding
	}
	return version + "-" + cmdlet + suffix + encoding + ".csv"
}

func graphConnectorExport() [][]string {
	t := [][]string{{"ExternalIP", "Id", "MachineName", "MemberOf", "Status", "Version", "AdditionalProperties"}}
	for _, c := range connectors {
		t = append(t, []string{c.ip, c.id, c.name, "Microsoft.Graph.Beta.PowerShell.Models.MicrosoftGraphConnectorGroup[]", "active", "1.5.3437.0",
			"System.Collections.Generic.Dictionary`2[System.String,System.Object]"})
	}
	return t
}

func groupExport() [][]string {
	return [][]string{
		{"Id", "Name", "ConnectorGroupType", "IsDefault", "Region"},
		{"5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b01", "US West", "applicationProxy", "False", "nam"},
		{"5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b02", "EU - Zürich", "applicationProxy", "False", "eur"},
	}
}

// excelizeFiles: excelize, the Go library, through its cell API and its
// stream writer.
func excelizeFiles() {
	names := table("Connector", "Group")
	f := excelize.NewFile()
	for i, rec := range names {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		row := []any{rec[0], rec[1]}
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			log.Fatal(err)
		}
	}
	save(f, "excelize.xlsx")

	f = excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		log.Fatal(err)
	}
	for i, rec := range exportTable() {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		row := make([]any, len(rec))
		for j, v := range rec {
			row[j] = v
		}
		if err := sw.SetRow(cell, row); err != nil {
			log.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		log.Fatal(err)
	}
	save(f, "excelize-stream-writer.xlsx")
}

func save(f *excelize.File, name string) {
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		log.Fatal(err)
	}
	write(name, b.Bytes())
}

// libreOffice converts a CSV UTF-8 source with soffice, as Calc's File >
// Save As writes each format (filter options: delimiter, quote, charset,
// first line).
func libreOffice() {
	tmp, err := os.MkdirTemp("", "connrecon-producers-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "libreoffice.csv")
	if err := os.WriteFile(src, []byte(excelCSV.text(table("Connector", "Group"))), 0o644); err != nil {
		log.Fatal(err)
	}
	for _, c := range []struct{ to, ext, name string }{
		{"csv:Text - txt - csv (StarCalc):44,34,76,1", "csv", "libreoffice-calc-utf8.csv"},
		{"csv:Text - txt - csv (StarCalc):59,34,76,1", "csv", "libreoffice-calc-utf8-semicolon.csv"},
		{"csv:Text - txt - csv (StarCalc):44,34,1,1", "csv", "libreoffice-calc-windows-1252.csv"},
		{"csv:Text - txt - csv (StarCalc):9,34,65535,1", "csv", "libreoffice-calc-utf16.csv"},
		{"xlsx:Calc MS Excel 2007 XML", "xlsx", "libreoffice-calc.xlsx"},
	} {
		out := filepath.Join(tmp, "out")
		os.RemoveAll(out)
		// The import filter says the source is UTF-8 comma-separated.
		cmd := exec.Command("soffice", "--headless", "--infilter=CSV:44,34,76,1", "--convert-to", c.to, "--outdir", out, src)
		if msg, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("soffice --convert-to %s: %v: %s", c.to, err, msg)
		}
		data, err := os.ReadFile(filepath.Join(out, "libreoffice."+c.ext))
		if err != nil {
			log.Fatal(err)
		}
		write(c.name, data)
	}
}

// part is one part of a package as a producer writes it.
type part struct{ name, body string }

// pkg zips parts in order, deflated, with a fixed time so the bytes do not
// change from run to run.
func pkg(parts []part) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, p := range parts {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			log.Fatal(err)
		}
		w.Write([]byte(p.body))
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	return b.Bytes()
}

const (
	xmlDecl   = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n"
	nsMain    = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	nsRel     = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsPkgRel  = "http://schemas.openxmlformats.org/package/2006/relationships"
	relDoc    = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
	relSheet  = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
	relShared = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
	relStyles = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
	ctMain    = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
	ctSheet   = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
	ctShared  = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
	ctStyles  = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
)

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// book describes a workbook in the shape one producer writes.
type book struct {
	prefix   string // "x:" for the Open XML SDK's prefixed elements
	cellType string // "s" (shared strings), "str" or "inlineStr"
	sheets   []bookSheet
	sheetDir string // where the sheets go: "worksheets"
	sheetAt  func(i int) string
	relID    func(i int) string
	extra    []part // producer-specific parts (docProps, theme, tables)
	ctExtra  string // their content types
	mainCT   string // the workbook part's declared type; ctMain unless set
	rowAttrs string
	styles   bool
}

type bookSheet struct {
	name  string
	state string
	rows  [][]string
}

func (b book) bytes() []byte {
	p := b.prefix
	ns := fmt.Sprintf(`xmlns="%s"`, nsMain)
	if p != "" {
		ns = fmt.Sprintf(`xmlns:%s="%s"`, strings.TrimSuffix(p, ":"), nsMain)
	}
	var shared []string
	index := map[string]int{}
	sheetParts := []part{}
	var overrides strings.Builder
	var sheetsXML, wbRels strings.Builder
	for i, s := range b.sheets {
		var d strings.Builder
		fmt.Fprintf(&d, `%s<%sworksheet %s xmlns:r="%s"><%ssheetData>`, xmlDecl, p, ns, nsRel, p)
		for r, rec := range s.rows {
			fmt.Fprintf(&d, `<%srow r="%d"%s>`, p, r+1, b.rowAttrs)
			for c, v := range rec {
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				switch b.cellType {
				case "s":
					k, ok := index[v]
					if !ok {
						k = len(shared)
						index[v] = k
						shared = append(shared, v)
					}
					fmt.Fprintf(&d, `<%sc r="%s" t="s"><%sv>%d</%sv></%sc>`, p, ref, p, k, p, p)
				case "str":
					fmt.Fprintf(&d, `<%sc r="%s" t="str"><%sv>%s</%sv></%sc>`, p, ref, p, esc(v), p, p)
				default:
					fmt.Fprintf(&d, `<%sc r="%s" t="inlineStr"><%sis><%st>%s</%st></%sis></%sc>`, p, ref, p, p, esc(v), p, p, p)
				}
			}
			fmt.Fprintf(&d, `</%srow>`, p)
		}
		fmt.Fprintf(&d, `</%ssheetData></%sworksheet>`, p, p)
		name := b.sheetAt(i)
		sheetParts = append(sheetParts, part{"xl/" + name, d.String()})
		fmt.Fprintf(&overrides, `<Override PartName="/xl/%s" ContentType="%s"/>`, name, ctSheet)
		state := ""
		if s.state != "" {
			state = fmt.Sprintf(` state="%s"`, s.state)
		}
		fmt.Fprintf(&sheetsXML, `<%ssheet name="%s" sheetId="%d"%s r:id="%s"/>`, p, esc(s.name), i+1, state, b.relID(i))
		fmt.Fprintf(&wbRels, `<Relationship Id="%s" Type="%s" Target="%s"/>`, b.relID(i), relSheet, name)
	}
	parts := []part{}
	mainCT := b.mainCT
	if mainCT == "" {
		mainCT = ctMain
	}
	ct := fmt.Sprintf(`%s<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="%s"/>%s`, xmlDecl, mainCT, overrides.String())
	if len(shared) > 0 {
		ct += fmt.Sprintf(`<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/>`, ctShared)
		fmt.Fprintf(&wbRels, `<Relationship Id="rIdShared" Type="%s" Target="sharedStrings.xml"/>`, relShared)
	}
	if b.styles {
		ct += fmt.Sprintf(`<Override PartName="/xl/styles.xml" ContentType="%s"/>`, ctStyles)
		fmt.Fprintf(&wbRels, `<Relationship Id="rIdStyles" Type="%s" Target="styles.xml"/>`, relStyles)
	}
	ct += b.ctExtra + `</Types>`
	parts = append(parts, part{"[Content_Types].xml", ct})
	parts = append(parts, part{"_rels/.rels", fmt.Sprintf(`%s<Relationships xmlns="%s"><Relationship Id="rId1" Type="%s" Target="xl/workbook.xml"/></Relationships>`, xmlDecl, nsPkgRel, relDoc)})
	parts = append(parts, part{"xl/workbook.xml", fmt.Sprintf(`%s<%sworkbook %s xmlns:r="%s"><%ssheets>%s</%ssheets></%sworkbook>`, xmlDecl, p, ns, nsRel, p, sheetsXML.String(), p, p)})
	parts = append(parts, part{"xl/_rels/workbook.xml.rels", fmt.Sprintf(`%s<Relationships xmlns="%s">%s</Relationships>`, xmlDecl, nsPkgRel, wbRels.String())})
	parts = append(parts, sheetParts...)
	if len(shared) > 0 {
		var s strings.Builder
		fmt.Fprintf(&s, `%s<%ssst %s count="%d" uniqueCount="%d">`, xmlDecl, p, ns, len(shared), len(shared))
		for _, v := range shared {
			fmt.Fprintf(&s, `<%ssi><%st>%s</%st></%ssi>`, p, p, esc(v), p, p)
		}
		fmt.Fprintf(&s, `</%ssst>`, p)
		parts = append(parts, part{"xl/sharedStrings.xml", s.String()})
	}
	if b.styles {
		parts = append(parts, part{"xl/styles.xml", fmt.Sprintf(`%s<styleSheet xmlns="%s"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="1"><xf/></cellXfs></styleSheet>`, xmlDecl, nsMain)})
	}
	return pkg(append(parts, b.extra...))
}

func numbered(dir string) func(int) string {
	return func(i int) string { return fmt.Sprintf("%s/sheet%d.xml", dir, i+1) }
}

func rid(i int) string { return fmt.Sprintf("rId%d", i+1) }

const coreProps = `<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>`

func docProps(app string) []part {
	return []part{
		{"docProps/core.xml", xmlDecl + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>admin</dc:creator></cp:coreProperties>`},
		{"docProps/app.xml", xmlDecl + `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>` + app + `</Application></Properties>`},
	}
}

// workbooks are the .xlsx files of the producers that do not install here,
// in the shape each is documented to write, and the packages that test how
// a zip-based file is told apart.
func workbooks() map[string][]byte {
	names := table("Connector", "Group")
	mapping := []bookSheet{{name: "Sheet1", rows: names}}
	excel := book{cellType: "s", sheetAt: numbered("worksheets"), relID: rid, styles: true,
		rowAttrs: ` spans="1:2"`, extra: docProps("Microsoft Excel"), ctExtra: coreProps}
	files := map[string][]byte{}
	e := excel
	e.sheets = mapping
	files["excel-win.xlsx"] = e.bytes()
	e.extra = docProps("Microsoft Macintosh Excel")
	files["excel-mac.xlsx"] = e.bytes()

	// Google Sheets, File > Download > Microsoft Excel: shared strings,
	// the sheet named as in Sheets.
	g := book{cellType: "s", sheetAt: numbered("worksheets"), relID: rid, styles: true, sheets: []bookSheet{{name: "Sheet1", rows: names}}}
	files["google-sheets.xlsx"] = g.bytes()

	// Apple Numbers, Export To > Excel: each table becomes a sheet named
	// "<sheet> - <table>", and with "Include a summary worksheet" the
	// first sheet lists them.
	n := book{cellType: "s", sheetAt: numbered("worksheets"), relID: rid, styles: true, extra: docProps("Numbers"), ctExtra: coreProps,
		sheets: []bookSheet{{name: "Sheet 1 - Table 1", rows: names}}}
	files["numbers.xlsx"] = n.bytes()
	n.sheets = append([]bookSheet{{name: "Export Summary", rows: [][]string{
		{"This document was exported from Numbers.  Each table was converted to an Excel worksheet. All other objects on each Numbers sheet were placed on separate worksheets. Please be aware that formula calculations may differ in Excel."},
		{},
		{"Numbers Sheet Name", "Numbers Table Name", "Excel Worksheet Name"},
		{"Sheet 1", "Table 1", "Sheet 1 - Table 1"},
	}}}, n.sheets...)
	files["numbers-with-summary.xlsx"] = n.bytes()

	// EPPlus, as PowerShell's ImportExcel writes with
	// Get-EntraBetaApplicationProxyConnector | Select-Object … | Export-Excel:
	// shared strings, the sheet "Sheet1".
	ep := book{cellType: "s", sheetAt: numbered("worksheets"), relID: rid, styles: true, extra: docProps(""), ctExtra: coreProps,
		sheets: []bookSheet{{name: "Sheet1", rows: exportTable()}}}
	files["epplus-importexcel.xlsx"] = ep.bytes()

	// ClosedXML: shared strings, relationship ids of its own ("R" and hex).
	cx := book{cellType: "s", sheetAt: numbered("worksheets"), styles: true, extra: docProps("ClosedXML"), ctExtra: coreProps,
		relID:  func(i int) string { return fmt.Sprintf("R%016x", 0x3a9e1f00c2d4b6a8+i) },
		sheets: []bookSheet{{name: "Mapping", rows: names}}}
	files["closedxml.xlsx"] = cx.bytes()

	// The Open XML SDK as its documentation's samples use it: elements in
	// the "x:" prefix, the sheet part named sheet.xml, no styles or
	// shared strings, cells of type String (t="str") or InlineString.
	sdk := book{prefix: "x:", cellType: "str", relID: func(i int) string { return fmt.Sprintf("R%016x", 0x7c2b9d04e1f3a560+i) },
		sheetAt: func(i int) string {
			if i == 0 {
				return "worksheets/sheet.xml"
			}
			return fmt.Sprintf("worksheets/sheet%d.xml", i+1)
		}, sheets: []bookSheet{{name: "mySheet", rows: names}}}
	files["openxml-sdk-string.xlsx"] = sdk.bytes()
	sdk.cellType = "inlineStr"
	files["openxml-sdk-inlinestring.xlsx"] = sdk.bytes()

	// Told apart by the workbook part's own content type.
	emb := excel
	emb.sheets = mapping
	emb.ctExtra += `<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.oleObject"/><Override PartName="/xl/embeddings/Microsoft_Excel_Macro-Enabled_Worksheet1.xlsm" ContentType="application/vnd.ms-excel.sheet.macroEnabled.12"/>`
	files["zip-xlsx-with-embedded-xlsm.xlsx"] = emb.bytes()
	tmpl := excel
	tmpl.sheets = mapping
	tmpl.mainCT = "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml"
	files["zip-template.xltx"] = tmpl.bytes()
	macro := excel
	macro.sheets = mapping
	macro.mainCT = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
	files["zip-macro-enabled-named.xlsx"] = macro.bytes()
	files["zip-word-document-named.xlsx"] = pkg([]part{
		{"[Content_Types].xml", xmlDecl + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", fmt.Sprintf(`%s<Relationships xmlns="%s"><Relationship Id="rId1" Type="%s" Target="word/document.xml"/></Relationships>`, xmlDecl, nsPkgRel, relDoc)},
		{"word/document.xml", xmlDecl + `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Connector, Group</w:t></w:r></w:p></w:body></w:document>`},
	})
	return files
}

package mapping

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"connrecon/plan"
)

// The producer corpus: testdata/producers holds one mapping file per
// producer and flavour, written by the producer itself where it installs
// here and from its documented output otherwise (the README there says
// which). Every file holds the same mapping, the one below.
const producersDir = "testdata/producers"

// producerRows is the mapping every corpus file holds, in its simple form
// (connector name, group name) and as an export with ids (pairs).
var producerRows = []struct{ id, name, groupID, group string }{
	{"1b7c1d0e-0c7a-4d8e-9a51-3f1c0f7a2b01", "sea-appproxy-01.contoso.com", "5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b01", "US West"},
	{"1b7c1d0e-0c7a-4d8e-9a51-3f1c0f7a2b02", "sea-appproxy-02.contoso.com", "5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b04", `Ops "blue" team`},
	{"1b7c1d0e-0c7a-4d8e-9a51-3f1c0f7a2b03", "fra-appproxy-01.contoso.com", "5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b02", "EU - Zürich"},
	{"1b7c1d0e-0c7a-4d8e-9a51-3f1c0f7a2b04", "tyo-appproxy-01.contoso.com", "5e0c4a7b-2f6d-4c1a-8b3e-9d7f6a5c4b03", "Asia, Tokyo"},
}

// What a corpus file reads as.
type readsAs int

const (
	asNames    readsAs = iota // the four rows, by name
	asPairs                   // the four rows, by id and name, for connector and group
	asASCII                   // by name, "Zürich" written by .NET's ASCII encoding as "Z?rich"
	asCodePage                // by name, the row with "Zürich" invalid: a code page is not read
	asRefused                 // the file is refused (refused says with what)
)

func TestProducerCorpus(t *testing.T) {
	tests := map[string]struct {
		reads   readsAs
		header  int    // the header's line; 1 unless set
		sheet   string // the sheet read, for a workbook
		refused []string
	}{
		// PowerShell's other files; the -Encoding matrix is psExpect's.
		"ps51-entra-connector-export-utf8.csv":      {reads: asPairs},
		"ps7-export-csv-linux.csv":                  {reads: asNames},
		"ps7-export-csv-usequotes-asneeded.csv":     {reads: asNames},
		"ps7-export-csv-useculture-de.csv":          {reads: asNames},
		"ps7-entra-connector-export-with-group.csv": {reads: asPairs},
		"ps7-graph-connector-export.csv":            {reads: asRefused, refused: []string{"no group column", `"MachineName" (C)`}},
		"ps7-entra-connector-group-export.csv":      {reads: asRefused, refused: []string{"no connector column", "an export of connector groups"}},
		"excel-win-csv-utf8.csv":                    {reads: asNames},
		"excel-win-csv-comma-delimited.csv":         {reads: asCodePage},
		"excel-win-csv-comma-delimited-de.csv":      {reads: asCodePage},
		"excel-win-csv-macintosh.csv":               {reads: asCodePage},
		"excel-win-csv-ms-dos.csv":                  {reads: asCodePage},
		"excel-win-text-tab-delimited.txt":          {reads: asCodePage},
		"excel-win-unicode-text.txt":                {reads: asNames},
		"excel-win.xlsx":                            {reads: asNames, sheet: "Sheet1"},
		"excel-mac-csv-utf8.csv":                    {reads: asNames},
		"excel-mac-csv-comma-separated.csv":         {reads: asCodePage},
		"excel-mac-csv-windows-comma-separated.csv": {reads: asCodePage},
		"excel-mac-tab-delimited-text.txt":          {reads: asCodePage},
		"excel-mac-csv-ms-dos.csv":                  {reads: asCodePage},
		"excel-mac-utf16-unicode-text.txt":          {reads: asNames},
		"excel-mac.xlsx":                            {reads: asNames, sheet: "Sheet1"},
		"libreoffice-calc-utf8.csv":                 {reads: asNames},
		"libreoffice-calc-utf8-semicolon.csv":       {reads: asNames},
		"libreoffice-calc-windows-1252.csv":         {reads: asCodePage},
		"libreoffice-calc-utf16.csv":                {reads: asNames},
		"libreoffice-calc.xlsx":                     {reads: asNames, sheet: "libreoffice"},
		"google-sheets.csv":                         {reads: asNames},
		"google-sheets.xlsx":                        {reads: asNames, sheet: "Sheet1"},
		"numbers.csv":                               {reads: asNames},
		"numbers.xlsx":                              {reads: asNames, sheet: "Sheet 1 - Table 1"},
		"numbers-with-summary.xlsx":                 {reads: asRefused, refused: []string{`sheet "Export Summary"`, `--sheet "Sheet 1 - Table 1"`}},
		"excelize.xlsx":                             {reads: asNames, sheet: "Sheet1"},
		"excelize-stream-writer.xlsx":               {reads: asPairs, sheet: "Sheet1"},
		"openpyxl.xlsx":                             {reads: asNames, sheet: "Mapping"},
		"openpyxl-write-only.xlsx":                  {reads: asNames, sheet: "Mapping"},
		"sheetjs-inline-strings.xlsx":               {reads: asNames, sheet: "Mapping"},
		"sheetjs-shared-strings.xlsx":               {reads: asNames, sheet: "Mapping"},
		"epplus-importexcel.xlsx":                   {reads: asPairs, sheet: "Sheet1"},
		"closedxml.xlsx":                            {reads: asNames, sheet: "Mapping"},
		"openxml-sdk-string.xlsx":                   {reads: asNames, sheet: "mySheet"},
		"openxml-sdk-inlinestring.xlsx":             {reads: asNames, sheet: "mySheet"},
		"zip-xlsx-with-embedded-xlsm.xlsx":          {reads: asNames, sheet: "Sheet1"},
		"zip-template.xltx":                         {reads: asNames, sheet: "Sheet1"},
		"zip-macro-enabled-named.xlsx":              {reads: asRefused, refused: []string{"macro-enabled workbook (.xlsm)"}},
		"zip-word-document-named.xlsx":              {reads: asRefused, refused: []string{"not an Excel workbook", "wordprocessingml.document.main+xml"}},
	}
	files, err := os.ReadDir(producersDir)
	if err != nil {
		t.Fatal(err)
	}
	matrix := 0
	for _, f := range files {
		if kind, header, ok := psExpect(f.Name()); ok {
			tests[f.Name()] = struct {
				reads   readsAs
				header  int
				sheet   string
				refused []string
			}{reads: kind, header: header}
			matrix++
		}
	}
	// 2 cmdlets × with and without the type line × the cmdlet's default
	// and 7 encodings (5.1) or 10 (7).
	if want := 2 * 2 * (8 + 11); matrix != want {
		t.Errorf("%d files of the PowerShell -Encoding matrix, want %d", matrix, want)
	}
	seen := 0
	for _, f := range files {
		name := f.Name()
		if f.IsDir() || name == "README.md" {
			continue
		}
		seen++
		tt, ok := tests[name]
		if !ok {
			t.Errorf("%s: in the corpus but not in this test: say what it reads as", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(producersDir, name)
			m, err := Read(path, Options{})
			if tt.reads == asRefused {
				if err == nil {
					t.Fatalf("read %d rows; want it refused", len(m.Rows))
				}
				for _, s := range tt.refused {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Sheet != tt.sheet {
				t.Errorf("sheet %q, want %q", m.Sheet, tt.sheet)
			}
			header := max(tt.header, 1)
			want := wantProducerRows(tt.reads, header)
			if !reflect.DeepEqual(stripProblems(m.Rows), want) {
				t.Errorf("rows:\n%+v\nwant:\n%+v", m.Rows, want)
			}
			wantInvalid := 0
			if tt.reads == asCodePage {
				wantInvalid = 1
				if p := m.Rows[2].Problem; !strings.Contains(p, "not UTF-8") || !strings.Contains(p, `CSV UTF-8`) {
					t.Errorf("code page row problem %q", p)
				}
			}
			if got := m.Invalid(); got != wantInvalid {
				t.Errorf("%d invalid rows, want %d:\n%s", got, wantInvalid, formatProblems(m.Problems))
			}
			if tt.reads != asCodePage && len(m.Problems) != 0 {
				t.Errorf("problems:\n%s", formatProblems(m.Problems))
			}
			roundTrip(t, m)
		})
	}
	if seen != len(tests) {
		t.Errorf("the test names %d files, the corpus has %d", len(tests), seen)
	}
}

// psExpect is what a file of the PowerShell -Encoding matrix reads as,
// from its name (see make/main.go): ok false for any other file.
func psExpect(name string) (kind readsAs, header int, ok bool) {
	rest, found := strings.CutPrefix(name, "ps51-")
	ps51 := found
	if !found {
		if rest, found = strings.CutPrefix(name, "ps7-"); !found {
			return 0, 0, false
		}
	}
	rest, found = strings.CutSuffix(rest, ".csv")
	if !found || !(strings.HasPrefix(rest, "export-csv") || strings.HasPrefix(rest, "convertto-csv-out-file")) {
		return 0, 0, false
	}
	enc := ""
	if i := strings.Index(rest, "-encoding-"); i >= 0 {
		enc, rest = rest[i+len("-encoding-"):], rest[:i]
	}
	rest = strings.TrimPrefix(strings.TrimPrefix(rest, "export-csv"), "convertto-csv-out-file")
	switch rest {
	case "", "-notypeinformation", "-includetypeinformation":
	default:
		return 0, 0, false // another variant, in the table
	}
	header = 1
	if ps51 && rest == "" || rest == "-includetypeinformation" {
		header = 2
	}
	switch {
	case enc == "ascii", ps51 && enc == "" && strings.HasPrefix(name, "ps51-export-csv"):
		kind = asASCII // Windows PowerShell's Export-Csv writes ASCII by default
	case enc == "default" || enc == "ansi" || enc == "oem":
		kind = asCodePage
	default:
		kind = asNames
	}
	return kind, header, true
}

// wantProducerRows is what a corpus file of the given kind reads as.
func wantProducerRows(kind readsAs, header int) []plan.Row {
	var rows []plan.Row
	for i, r := range producerRows {
		row := plan.Row{Line: header + 1 + i, Connector: r.name, Group: r.group}
		switch kind {
		case asPairs:
			row = plan.Row{Line: header + 1 + i, Connector: r.id, ConnectorAlt: r.name, Group: r.groupID, GroupAlt: r.group}
		case asASCII:
			row.Group = strings.ReplaceAll(r.group, "ü", "?")
		case asCodePage:
			if i == 2 {
				row.Group = "" // compared without the undecoded cell
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// stripProblems drops what wantProducerRows does not predict: the text of
// a problem, and the undecoded cell of an invalid row.
func stripProblems(rows []plan.Row) []plan.Row {
	out := make([]plan.Row, len(rows))
	for i, r := range rows {
		if r.Problem != "" {
			r.Group = ""
		}
		r.Problem = ""
		out[i] = r
	}
	return out
}

// usableRows are the rows a written mapping holds (MappingTable), without
// their line numbers.
func usableRows(rows []plan.Row) []plan.Row {
	var out []plan.Row
	for _, r := range rows {
		if r.Problem == "" && !r.Duplicate {
			r.Line = 0
			out = append(out, r)
		}
	}
	return out
}

// roundTrip writes the rows read with the mapping writer, as CSV and as a
// workbook, and reads them again: the same rows, whatever the line numbers.
func roundTrip(t *testing.T, m *plan.Mapping) {
	t.Helper()
	table := MappingTable(m)
	usable := usableRows
	var csvOut, xlsxOut bytes.Buffer
	if err := WriteCSV(&csvOut, table); err != nil {
		t.Fatal(err)
	}
	back, err := ParseCSV("round-trip.csv", bytes.NewReader(csvOut.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := usable(back.Rows), usable(m.Rows); !reflect.DeepEqual(got, want) {
		t.Errorf("CSV round trip:\n%+v\nwant:\n%+v\nfile:\n%s", got, want, csvOut.Bytes())
	}
	if err := WriteXLSX(&xlsxOut, "Mapping", table); err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(xlsxOut.Bytes())
	back, err = readMapping("round-trip.xlsx", r, r.Size(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := usable(back.Rows), usable(m.Rows); !reflect.DeepEqual(got, want) {
		t.Errorf("XLSX round trip:\n%+v\nwant:\n%+v", got, want)
	}
}

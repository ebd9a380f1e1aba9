package mapping

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// Names that look like OOXML's escapes (ST_Xstring, ECMA-376 Part 1,
// 22.9.2.19: _xHHHH_ is the UTF-16 code unit HHHH, _x005F_ an underscore)
// read back as written from a workbook WriteWorkbook made. excelize writes
// a literal _x0041_ as _x005F_x0041_; before, the reader returned that
// escaped text.
func TestWorkbookRoundTripsEscapeLikeText(t *testing.T) {
	names := []string{
		"a_x0041_b", "_x005F_", "_xD800_", "_xDC00_", "_x005F_x0041_", "_x005F_xD800_",
		"_xD83D__xDE00_", "x_x000d_y", "_x0000_", "_xFFFF_", "__x0041__", "_x0041", "_x00G1_", "_X0041_",
		"_xD800_x0041_", "_x0041_xD800_", "a\nb_x000A_", "plain.contoso.com",
	}
	tbl := Table{Header: []string{"connector", "group"}}
	for _, n := range names {
		tbl.Rows = append(tbl.Rows, []string{n, "g" + n})
	}
	var buf bytes.Buffer
	if err := WriteWorkbook(&buf, []Sheet{{Name: "Mapping", Table: tbl}}); err != nil {
		t.Fatal(err)
	}
	m, err := readBytes(buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Rows) != len(names) {
		t.Fatalf("%d rows, want %d: %+v", len(m.Rows), len(names), m.Rows)
	}
	for i, n := range names {
		if r := m.Rows[i]; r.Connector != n || r.Group != "g"+n || r.Problem != "" {
			t.Errorf("row %d: %q, %q (%s), want %q, %q", r.Line, r.Connector, r.Group, r.Problem, n, "g"+n)
		}
	}
	// excelize reads the same text, as Excel would, where it can hold it
	// (it drops an escaped lone surrogate).
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Mapping")
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		if strings.Contains(strings.ToUpper(n), "_XD") {
			continue
		}
		if got := rows[i+1][0]; got != n {
			t.Errorf("excelize reads row %d as %q, want %q", i+2, got, n)
		}
	}
}

// The reader decodes ST_Xstring escapes as Excel writes them, in inline
// strings, shared strings and formula results, per element: an escape
// split across two rich-text runs is no escape.
func TestReadXLSXDecodesEscapes(t *testing.T) {
	for _, tt := range []struct {
		name, cell, want string
	}{
		{name: "a letter", cell: `<c r="A2" t="inlineStr"><is><t>a_x0041_b</t></is></c>`, want: "aAb"},
		{name: "lower-case hex", cell: `<c r="A2" t="inlineStr"><is><t>a_x004a_b</t></is></c>`, want: "aJb"},
		{name: "an escaped underscore", cell: `<c r="A2" t="inlineStr"><is><t>_x005F_x0041_</t></is></c>`, want: "_x0041_"},
		{name: "an underscore escaped alone", cell: `<c r="A2" t="inlineStr"><is><t>a_x005F_b</t></is></c>`, want: "a_b"},
		{name: "CR LF as Excel writes it", cell: `<c r="A2" t="inlineStr"><is><t>a_x000D_` + "\n" + `b</t></is></c>`, want: "a\r\nb"},
		{name: "a surrogate pair", cell: `<c r="A2" t="inlineStr"><is><t>_xD83D__xDE00_</t></is></c>`, want: "\U0001F600"},
		{name: "a lone surrogate", cell: `<c r="A2" t="inlineStr"><is><t>a_xD800_b</t></is></c>`, want: "a\uFFFDb"},
		{name: "a low surrogate first", cell: `<c r="A2" t="inlineStr"><is><t>_xDE00__xD83D_</t></is></c>`, want: "\uFFFD\uFFFD"},
		{name: "no escape: upper-case X", cell: `<c r="A2" t="inlineStr"><is><t>_X0041_</t></is></c>`, want: "_X0041_"},
		{name: "no escape: short", cell: `<c r="A2" t="inlineStr"><is><t>_x041_x_x0041</t></is></c>`, want: "_x041_x_x0041"},
		{name: "split by CDATA, one element", cell: `<c r="A2" t="inlineStr"><is><t>_x00<![CDATA[41]]>_</t></is></c>`, want: "A"},
		{name: "split across runs", cell: `<c r="A2" t="inlineStr"><is><r><t>_x00</t></r><r><t>41_</t></r></is></c>`, want: "_x0041_"},
		{name: "runs each escaped", cell: `<c r="A2" t="inlineStr"><is><r><t>_x0041_</t></r><r><t>_x005F_x0042_</t></r></is></c>`, want: "A_x0042_"},
		{name: "a formula's string result", cell: `<c r="A2" t="str"><f>"A"</f><v>_x0041_x</v></c>`, want: "Ax"},
		{name: "a shared string", cell: `<c r="A2" t="s"><v>2</v></c>`, want: "_x0041_A"},
		{name: "a shared string in runs", cell: `<c r="A2" t="s"><v>3</v></c>`, want: "_x0041_B"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts := workbookParts(0)
			parts["xl/sharedStrings.xml"] = []byte(`<sst><si><t>connector</t></si><si><t>group</t></si>` +
				`<si><t>_x005F_x0041__x0041_</t></si><si><r><t>_x005F_x00</t></r><r><t>41_</t></r><r><t>_x0042_</t></r></si></sst>`)
			parts["xl/worksheets/sheet1.xml"] = []byte(sheetHead + `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>` +
				`<row r="2">` + tt.cell + `<c r="B2" t="inlineStr"><is><t>Europe</t></is></c></row>` + sheetTail)
			m, err := readBytes(zipParts(t, parts), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Rows) != 1 || m.Rows[0].Connector != tt.want {
				t.Errorf("rows %+v, want connector %q", m.Rows, tt.want)
			}
		})
	}
}

// Every text made of the pieces of escapes reads back as written: 3,000
// of them, in one workbook.
func TestWorkbookRoundTripsEscapePieces(t *testing.T) {
	pieces := []string{"_", "x", "_x", "005F", "005f", "0041", "D800", "dbff", "DC00", "DE00", "D83D", "000D", "00G1", "a"}
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	tbl := Table{Header: []string{"connector", "group"}}
	for len(tbl.Rows) < 3000 {
		var b strings.Builder
		for n := 1 + rng.IntN(8); n > 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if s := b.String(); !seen[s] {
			seen[s] = true
			tbl.Rows = append(tbl.Rows, []string{s, "g" + s})
		}
	}
	var buf bytes.Buffer
	if err := WriteWorkbook(&buf, []Sheet{{Name: "Mapping", Table: tbl}}); err != nil {
		t.Fatal(err)
	}
	m, err := readBytes(buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Rows) != len(tbl.Rows) {
		t.Fatalf("%d rows, want %d", len(m.Rows), len(tbl.Rows))
	}
	for i, r := range m.Rows {
		if want := tbl.Rows[i]; r.Connector != want[0] || r.Group != want[1] {
			t.Errorf("row %d: %q, %q; want %q, %q", r.Line, r.Connector, r.Group, want[0], want[1])
		}
	}
}

package mapping

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"connrecon/plan"
)

// The mapping reader benchmarks pair Read with a bare scan of the
// same file: encoding/csv reading every record, or excelize's Rows and
// Columns reading every row. At 100,000 rows reading and checking must
// cost at most 1.5 times the bare scan: compare the ns/op of baseline and
// ReadMapping under the same rows= (the README has the figures). The files
// are generated into a temporary directory, not committed; the 10,000-row
// pair shows how cost and memory scale.
//
// kept-B/row is the heap the returned mapping holds per row. The CSV
// reader holds nothing else that grows with the file (TestParseCSVMemoryFlat
// checks that); the XLSX reader holds what excelize holds.

func benchSizes() []int { return []int{10_000, 100_000} }

// benchRow is a row as a CMDB export has it: an FQDN, a group name, and a
// note that needs quoting in CSV.
func benchRow(i int) (connector, group, notes string) {
	return fmt.Sprintf("appproxy-%06d.site%05d.contoso.com", i, i%5000), fmt.Sprintf("Site %05d", (i+1)%5000), fmt.Sprintf("rack %d, row %d", i%40, i%7)
}

func writeBenchCSV(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), fmt.Sprintf("mapping-%d.csv", n))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("Machine Name,Connector Group,Notes\r\n")
	for i := range n {
		c, g, notes := benchRow(i)
		fmt.Fprintf(w, "%s,%s,\"%s\"\r\n", c, g, notes)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// writeBenchXLSX writes cells through SetSheetRow, so text goes to the
// shared string table as Excel and LibreOffice write it.
func writeBenchXLSX(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), fmt.Sprintf("mapping-%d.xlsx", n))
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetRow("Sheet1", "A1", &[]any{"Machine Name", "Connector Group", "Notes"}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		c, g, notes := benchRow(i)
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+2), &[]any{c, g, notes}); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.SaveAs(path); err != nil {
		b.Fatal(err)
	}
	return path
}

func bareCSV(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	n := 0
	for {
		_, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func bareXLSX(path string) (int, error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rows, err := f.Rows(f.GetSheetList()[0])
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if _, err := rows.Columns(excelize.Options{RawCellValue: true}); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Error()
}

func benchReader(b *testing.B, path string, n int, bare func(string) (int, error)) {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline", func(b *testing.B) {
		if got, err := bare(path); err != nil || got != n+1 {
			b.Fatalf("bare scan: %d records, %v", got, err)
		}
		b.SetBytes(fi.Size())
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bare(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadMapping", func(b *testing.B) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m, err := Read(path, Options{})
		if err != nil || len(m.Rows) != n || len(m.Problems) != 0 {
			b.Fatalf("unexpected read for the benchmark: %v", err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		runtime.KeepAlive(m)
		b.SetBytes(fi.Size())
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Read(path, Options{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(kept, "kept-B/row")
	})
}

func BenchmarkReadMappingCSV(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			benchReader(b, writeBenchCSV(b, n), n, bareCSV)
		})
	}
}

func BenchmarkReadMappingXLSX(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			benchReader(b, writeBenchXLSX(b, n), n, bareXLSX)
		})
	}
}

// BenchmarkReadXLSXWorstCase measures the memory of the workbook reader at
// its limits, for the bound the README states: a shared-strings table at
// both caps (2,000,000 strings, 64 MiB of text), a sheet of as many rows
// as a sheet holds (whose rows are the mapping returned: the caller's), and
// a small file that unpacks to one huge cell (refused). peak-heap-MiB is
// the most live heap during the read, above what was live before (the
// README gives the process's peak RSS too, measured with /usr/bin/time).
func BenchmarkReadXLSXWorstCase(b *testing.B) {
	cases := []struct {
		name   string
		parts  func() map[string][]byte
		refuse bool
	}{
		{"shared-strings-at-cap", func() map[string][]byte {
			parts := workbookParts(0)
			var sst bytes.Buffer
			sst.WriteString(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
			for i := range maxSharedStrings {
				fmt.Fprintf(&sst, `<si><t>%033d</t></si>`, i)
			}
			sst.WriteString(`</sst>`)
			parts["xl/sharedStrings.xml"] = sst.Bytes()
			var sheet bytes.Buffer
			sheet.WriteString(sheetHead + `<row r="1"><c r="A1" t="inlineStr"><is><t>connector</t></is></c><c r="B1" t="inlineStr"><is><t>group</t></is></c></row>`)
			for i := 2; i <= 1001; i++ {
				fmt.Fprintf(&sheet, `<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d" t="s"><v>%d</v></c></row>`, i, i, i*1000, i, i*1000+1)
			}
			sheet.WriteString(sheetTail)
			parts["xl/worksheets/sheet1.xml"] = sheet.Bytes()
			return parts
		}, false},
		{"rows-at-cap", func() map[string][]byte { return workbookParts(maxSheetRows - 1) }, false},
		{"huge-cell-refused", func() map[string][]byte {
			parts := workbookParts(0)
			parts["xl/worksheets/sheet1.xml"] = []byte(sheetHead + `<row r="1"><c r="A1" t="inlineStr"><is><t>` + strings.Repeat("A", 255<<20) + `</t></is></c></row>` + sheetTail)
			return parts
		}, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "worst.xlsx")
			if err := os.WriteFile(path, zipParts(b, c.parts()), 0o600); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var heap uint64
			for b.Loop() {
				var m *plan.Mapping
				var err error
				h := peakHeapOf(func() { m, err = Read(path, Options{}) })
				if (err != nil) != c.refuse {
					b.Fatalf("read: %v", err)
				}
				heap = max(heap, h)
				runtime.KeepAlive(m)
			}
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkParseCSV: 100k rows with a quoted column, as a spreadsheet
// export would have them.
func BenchmarkParseCSV(b *testing.B) {
	const n = 100_000
	var buf bytes.Buffer
	buf.WriteString("Machine Name,Connector Group,Notes\r\n")
	for i := range n {
		fmt.Fprintf(&buf, "appproxy-%06d.site%05d.contoso.com,Site %05d,\"rack %d, row %d\"\r\n", i, i%5000, (i+1)%5000, i%40, i%7)
	}
	data := buf.Bytes()
	if m, err := ParseCSV("bench.csv", bytes.NewReader(data)); err != nil || len(m.Rows) != n || len(m.Problems) != 0 {
		b.Fatalf("unexpected parse for the benchmark: err=%v", err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ParseCSV("bench.csv", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

package plan

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/xuri/excelize/v2"
)

// The mapping reader benchmarks pair ReadMapping with a bare scan of the
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
		m, err := ReadMapping(path, ReadOptions{})
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
			if _, err := ReadMapping(path, ReadOptions{}); err != nil {
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

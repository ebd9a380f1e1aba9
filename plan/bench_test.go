package plan

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkBuild: a whole tenant mapped by machine name, ~10% moves.
// Generated here rather than committed: 100k rows would be megabytes.
func BenchmarkBuild(b *testing.B) {
	for _, size := range []struct{ connectors, groups int }{{1_000, 50}, {10_000, 500}, {100_000, 5_000}} {
		b.Run(fmt.Sprintf("connectors=%d/groups=%d", size.connectors, size.groups), func(b *testing.B) {
			s := genState(size.connectors, size.groups)
			SortState(s)
			m := &Mapping{Rows: genRows(s, 0)}
			if sum := Build(m, s).Summary(); sum.Move != size.connectors/10 || sum.Invalid != 0 || sum.Unmanaged != 0 {
				b.Fatalf("unexpected plan for the benchmark: %+v", sum)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				Build(m, s)
			}
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

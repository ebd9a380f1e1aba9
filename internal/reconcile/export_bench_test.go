package reconcile

import (
	"fmt"
	"io"
	"testing"

	"connrecon/internal/mapping"
	"connrecon/plan"
)

// BenchmarkExport writes the export of a tenant of 100,000 connectors in
// 300 groups, as CSV and as the three-sheet workbook (the snapshot's read
// is not counted: Graph's latency decides it).
func BenchmarkExport(b *testing.B) {
	s := &plan.State{}
	for g := 0; g < 300; g++ {
		s.Groups = append(s.Groups, plan.Group{ID: fmt.Sprintf("a0000000-0000-4000-8000-%012x", g), Name: fmt.Sprintf("Group %d", g), Region: "eur",
			Applications: []plan.Application{{ID: fmt.Sprintf("b0000000-0000-4000-8000-%012x", g), AppID: fmt.Sprintf("c0000000-0000-4000-8000-%012x", g), DisplayName: fmt.Sprintf("App %d", g)}}})
	}
	for i := 0; i < 100_000; i++ {
		s.Connectors = append(s.Connectors, plan.Connector{ID: fmt.Sprintf("e0000000-0000-4000-8000-%012x", i), MachineName: fmt.Sprintf("appproxy-%06d.contoso.com", i),
			Status: plan.StatusActive, Version: "1.5.3437.0", ExternalIP: "203.0.113.7", GroupID: s.Groups[i%300].ID})
	}
	b.Run("csv", func(b *testing.B) {
		for b.Loop() {
			conns, _, _, _ := ExportTables(s)
			if err := mapping.WriteCSV(io.Discard, conns); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xlsx", func(b *testing.B) {
		for b.Loop() {
			conns, groups, apps, _ := ExportTables(s)
			sheets := []mapping.Sheet{{Name: SheetConnectors, Table: conns}, {Name: SheetGroups, Table: groups}, {Name: SheetApplications, Table: apps}}
			mapping.BlankUnwritable(sheets)
			if err := mapping.WriteWorkbook(io.Discard, sheets); err != nil {
				b.Fatal(err)
			}
		}
	})
}

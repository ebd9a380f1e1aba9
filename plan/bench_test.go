package plan

import (
	"fmt"
	"testing"
)

// BenchmarkBuild: a whole tenant mapped by machine name, with the guards on
// as the command line sets them (no change limit, --min-active 1): 20
// connectors a group, 9 groups in 10 serving an application, and 10% of
// the connectors moving on to the next group in a ring. One group in 25 has
// only the two connectors that leave it active, so it has to wait for the
// ones coming in: the plan takes two waves, and the scheduler meets groups
// with fewer spare connectors than moves out. Generated here rather than
// committed: 100k rows would be megabytes.
func BenchmarkBuild(b *testing.B) {
	for _, size := range []struct{ connectors, groups int }{{1_000, 50}, {10_000, 500}, {100_000, 5_000}} {
		b.Run(fmt.Sprintf("connectors=%d/groups=%d", size.connectors, size.groups), func(b *testing.B) {
			s, m := genMigration(size.connectors, size.groups)
			opts := Options{MaxChanges: 0, MinActive: 1}
			p := Build(m, s, opts)
			if sum := p.Summary(); sum.Move != size.connectors/10 || sum.Invalid != 0 || sum.Unmanaged != 0 || p.Refused() || p.WaveCount() != 2 {
				b.Fatalf("unexpected plan for the benchmark: %+v, %d waves, refusals %+v", sum, p.WaveCount(), p.Refusals)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				Build(m, s, opts)
			}
		})
	}
}

// BenchmarkBuildExportShaped: BenchmarkBuild's tenant and moves, with the
// mapping shaped as an export edited is: each connector and group named by
// id and by name, so every row has its two cells checked for agreement.
func BenchmarkBuildExportShaped(b *testing.B) {
	for _, size := range []struct{ connectors, groups int }{{10_000, 500}, {100_000, 5_000}} {
		b.Run(fmt.Sprintf("connectors=%d/groups=%d", size.connectors, size.groups), func(b *testing.B) {
			s, m := genMigration(size.connectors, size.groups)
			ids := make(map[string]string, len(s.Connectors)+len(s.Groups))
			for _, c := range s.Connectors {
				ids[c.MachineName] = c.ID
			}
			for _, g := range s.Groups {
				ids[g.Name] = g.ID
			}
			m.ConnectorHeader, m.ConnectorAltHeader, m.GroupHeader, m.GroupAltHeader = "connectorId", "machineName", "connectorGroupId", "connectorGroup"
			for i := range m.Rows {
				r := &m.Rows[i]
				r.Connector, r.ConnectorAlt, r.Group, r.GroupAlt = ids[r.Connector], r.Connector, ids[r.Group], r.Group
			}
			opts := Options{MaxChanges: 0, MinActive: 1}
			p := Build(m, s, opts)
			if sum := p.Summary(); sum.Move != size.connectors/10 || sum.Invalid != 0 || sum.Unmanaged != 0 || p.Refused() || p.WaveCount() != 2 {
				b.Fatalf("unexpected plan for the benchmark: %+v, %d waves, refusals %+v", sum, p.WaveCount(), p.Refusals)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				Build(m, s, opts)
			}
		})
	}
}

// genMigration: n connectors in g groups (n a multiple of g), as described
// at BenchmarkBuild, and the mapping for it.
func genMigration(n, g int) (*State, *Mapping) {
	s := &State{Groups: make([]Group, g), Connectors: make([]Connector, n)}
	for k := range s.Groups {
		s.Groups[k] = Group{ID: fmt.Sprintf("9b000000-0000-4000-8000-%012x", k), Name: fmt.Sprintf("Site %05d", k)}
		if k%10 != 0 {
			s.Groups[k].Applications = []Application{{ID: fmt.Sprintf("ab000000-0000-4000-8000-%012x", k), DisplayName: fmt.Sprintf("App %05d", k)}}
		}
	}
	m := &Mapping{Rows: make([]Row, n)}
	for i := range s.Connectors {
		k, j := i%g, i/g // group, and the connector's place in it
		status := StatusActive
		if k%25 == 3 && j >= 2 || i%17 == 0 && k%25 != 2 && k%25 != 3 {
			status = StatusInactive
		}
		s.Connectors[i] = Connector{
			ID:          fmt.Sprintf("cb000000-0000-4000-8000-%012x", i),
			MachineName: fmt.Sprintf("appproxy-%06d.site%05d.contoso.com", i, k),
			Status:      status,
			GroupID:     s.Groups[k].ID,
		}
		to := k
		if j < 2 {
			to = (k + 1) % g
		}
		m.Rows[i] = Row{Line: i + 2, Connector: s.Connectors[i].MachineName, Group: s.Groups[to].Name}
	}
	SortState(s)
	return s, m
}

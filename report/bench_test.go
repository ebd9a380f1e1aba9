package report

import (
	"testing"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/plan"
)

// benchReport is a 100,000-action apply: mostly successes, 1% failed (the
// XLSX highlighting path), every 50th row invalid, and group data.
func benchReport(n int) *Report {
	p := &plan.Plan{Changes: make([]plan.Change, 0, n), Groups: fixtureGroups()}
	results := make([]executor.Result, 0, n)
	base := fixturePlan().Changes[0]
	invalid := fixturePlan().Changes[4]
	for i := range n {
		if i%50 == 49 {
			c := invalid
			c.Row = i + 2
			p.Changes = append(p.Changes, c)
			continue
		}
		c := base
		c.Row = i + 2
		p.Changes = append(p.Changes, c)
		res := executor.Result{Change: i, Outcome: executor.Succeeded, Attempts: 1,
			Call:      apierr.Call{Status: 204, RequestID: "5f1d3c2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f", ClientRequestID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
			StartedAt: at(1, i%1000), FinishedAt: at(2, i%1000)}
		if i%100 == 7 {
			res.Outcome, res.Call.Status, res.Error = executor.Failed, 403, "graph: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation."
		}
		results = append(results, res)
	}
	return Build(applyRun(), fixtureMapping(), p, results)
}

// BenchmarkWriteAll writes a 100,000-action report in every format, as a
// run does. The README quotes its time and, measured with /usr/bin/time -v
// on the test binary, its peak memory.
func BenchmarkWriteAll(b *testing.B) {
	r := benchReport(100_000)
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(dir, r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFormat writes the same report one format at a time, to
// see where the time goes.
func BenchmarkWriteFormat(b *testing.B) {
	r := benchReport(100_000)
	for _, f := range AllFormats {
		b.Run(string(f), func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			for b.Loop() {
				if err := Write(dir, r, []Format{f}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuildOnly is the baseline for peak memory: the report itself,
// held in memory before any file is written.
func BenchmarkBuildOnly(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if r := benchReport(100_000); len(r.Actions) != 100_000 {
			b.Fatal(len(r.Actions))
		}
	}
}

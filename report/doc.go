// Package report owns the audit trail every run leaves behind: report.json
// (the schema in DESIGN.md) and report.csv, built from the plan and the
// executor's results, written atomically so a crash never leaves half a
// report.
package report

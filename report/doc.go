// Package report owns the audit trail every run leaves behind: report.json
// (the schema in the README), report.csv, report.xlsx and report.md, built
// from the plan and the executor's results, each written atomically so a
// crash never leaves half a report. Text from the tenant or the mapping is
// kept inert in every format: never a formula in CSV or XLSX, never markup
// in Markdown.
package report

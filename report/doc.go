// Package report owns the audit trail every run leaves behind: report.json
// (the schema in the README), report.csv, report.xlsx, report.md and
// report.html, built from the plan and the executor's results, and the
// back-out (backout.csv for the connectors, backout-apps.csv for the
// applications, backout.xlsx with both), each written atomically so a
// crash never leaves half a report. A change places a connector or an
// application (Action.Kind); every format shows both. Text from the
// tenant or the mapping is kept inert in every format: never a formula in
// CSV or XLSX, never markup in Markdown or HTML.
package report

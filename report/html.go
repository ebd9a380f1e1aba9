package report

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html"
	"html/template"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"connrecon/executor"
	"connrecon/internal/safetext"
	"connrecon/plan"
)

// report.html is the page a change board or an auditor opens, often from
// an email attachment: one file, nothing fetched (no script, style sheet,
// font or image from anywhere), a Content-Security-Policy that allows only
// its own inline style and script by their hashes. html/template escapes
// every value for the context it lands in (text, attribute, URL); tenant
// and mapping text is also shown escaped as every view shows it
// (safetext: control and invisible characters made visible). The action
// table is a plain table: the script only adds filtering and sorting.

//go:embed html/report.css
var htmlCSS string

//go:embed html/report.js
var htmlJS string

//go:embed html/report.html.tmpl
var htmlTemplate string

var (
	htmlPage = template.Must(template.New("report.html").Funcs(template.FuncMap{
		"t":       htmlText,
		"num":     itoa,
		"time":    timeText,
		"svgY":    func(i int) int { return chartTop + i*chartRow },
		"barLen":  barLen,
		"gap":     func(c string) bool { return c == plan.CoverageGap },
		"cov":     coverageText,
		"join":    strings.Join,
		"numeric": numericColumn,
		"add":     func(a, b int) int { return a + b },
		"name":    func(a *Action) string { return a.objectText() },
	}).Parse(htmlTemplate))
	// htmlCSP admits the page's own style and script only, by hash, so
	// that nothing else can run or load even if some text escaped its
	// context.
	htmlCSP = "default-src 'none'; style-src '" + cspHash(htmlCSS) + "'; script-src '" + cspHash(htmlJS) +
		"'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// htmlText is text from outside as the page shows it: control and
// invisible characters made visible (line breaks kept, the page wraps
// them); html/template then escapes it for its context.
func htmlText(s string) string { return safetext.EscapeText(s) }

// The chart: one row per group, two bars (active before, after).
const (
	chartTop    = 28
	chartRow    = 26
	chartLabel  = 260 // px for the group names
	chartBars   = 420 // px for the longest bar
	chartGroups = 60  // groups drawn; the table below has them all
)

func barLen(n, most int) int {
	if most <= 0 || n <= 0 {
		return 0
	}
	return max(2, n*chartBars/most)
}

type htmlFact struct{ Label, Value string }

type htmlTotal struct {
	Label string
	N     int
}

type htmlView struct {
	*Report
	CSP       template.HTMLAttr
	CSS       template.CSS
	JS        template.JS
	Headline  string
	Class     string // the outcome's colour
	Facts     []htmlFact
	Totals    []htmlTotal
	Chart     []Group
	ChartMore int
	ChartMost int
	ChartH    int
	Failed    []*Action
	Unknown   []*Action
	Header    []string
	Apps      bool // applications are involved: the lists show each row's kind
}

// WriteHTML writes report.html's content: the whole report (every field of
// report.json) as one self-contained page.
func WriteHTML(w io.Writer, r *Report) error {
	v := htmlView{Report: r, CSP: template.HTMLAttr(htmlCSP), CSS: template.CSS(htmlCSS), JS: template.JS(htmlJS),
		Header: htmlHeader, Apps: r.hasApplications()}
	for _, t := range summaryTotals(r) {
		v.Totals = append(v.Totals, htmlTotal{t.label, t.n})
	}
	v.Headline, v.Class = headline(r)
	fact := func(label, value string) { v.Facts = append(v.Facts, htmlFact{label, value}) }
	fact("Mode", r.Mode)
	fact("Outcome", r.Outcome)
	fact("Exit code", strconv.Itoa(r.ExitCode))
	fact("Started (UTC)", timeText(r.StartedAt))
	fact("Finished (UTC)", timeText(r.FinishedAt))
	fact("Graph URL", r.GraphURL)
	fact("Operator", orUnknown(r.Operator))
	fact("Mapping", fmt.Sprintf("%s (%d rows)", r.Mapping.Path, r.Mapping.Rows))
	if r.Mapping.Sheet != "" {
		fact("Mapping sheet", r.Mapping.Sheet)
	}
	fact("Mapping SHA-256", r.Mapping.SHA256)
	fact("Journal", r.Journal)
	fact("Back-out", r.Backout)
	if v.Apps && r.Backout != "" {
		fact("Applications' back-out", filepath.Join(filepath.Dir(r.Backout), BackoutAppsCSV))
	}
	fact("Run id", r.RunID)
	fact("Tool", r.Tool+" "+r.Version)

	v.Chart = r.Groups
	if len(v.Chart) > chartGroups {
		v.Chart, v.ChartMore = v.Chart[:chartGroups], len(r.Groups)-chartGroups
	}
	for _, g := range v.Chart {
		v.ChartMost = max(v.ChartMost, g.ActiveBefore, g.ActiveAfter)
	}
	v.ChartH = chartTop + len(v.Chart)*chartRow + 8
	for i := range r.Actions {
		a := &r.Actions[i]
		switch {
		case a.Action == string(plan.ActionInvalid):
		case a.Result == string(executor.Failed):
			v.Failed = append(v.Failed, a)
		case unknownResult(a.Result):
			v.Unknown = append(v.Unknown, a)
		}
	}
	b := bufio.NewWriterSize(w, 64<<10)
	if err := htmlPage.ExecuteTemplate(b, "head", v); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	writeActionRows(b, r.Actions)
	if err := htmlPage.ExecuteTemplate(b, "tail", v); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	return b.Flush()
}

// writeActionRows writes the action table's rows: by hand rather than
// through html/template, which takes ten times as long for 100,000 rows.
// Every cell is element text, and html.EscapeString is that context's
// escaping (TestHTMLIsSafeAndComplete parses the result).
func writeActionRows(b *bufio.Writer, actions []Action) {
	rec := make([]string, len(CSVHeader))
	for i := range actions {
		a := &actions[i]
		b.WriteString("\n<tr data-result=\"")
		b.WriteString(html.EscapeString(a.Result))
		b.WriteByte('"')
		switch {
		case a.Result == string(executor.Failed):
			b.WriteString(` class="failed"`)
		case unknownResult(a.Result):
			b.WriteString(` class="unknown"`)
		}
		b.WriteByte('>')
		actionRecord(a, rec)
		for _, c := range rec {
			writeCell(b, c)
		}
		writeCell(b, a.BatchRequestID)
		b.WriteString("</tr>")
	}
}

func writeCell(b *bufio.Writer, c string) {
	b.WriteString("<td>")
	if c != "" {
		b.WriteString(html.EscapeString(htmlText(c)))
	}
	b.WriteString("</td>")
}

// htmlHeader is the action table's header: report.csv's columns, and
// report.json's batchRequestId, which the CSV has not.
var htmlHeader = append(append([]string(nil), CSVHeader...), "batchRequestId")

// headline says what the run came to, in words, and its colour.
func headline(r *Report) (string, string) {
	s := r.Summary
	switch r.Outcome {
	case "success":
		if r.Mode == "plan" {
			return fmt.Sprintf("Plan: %d to move, nothing refused", s.Move), "ok"
		}
		return fmt.Sprintf("Applied: %d of %d moves succeeded", s.Succeeded, s.Move), "ok"
	case "changesPending":
		return fmt.Sprintf("Plan: %d moves pending", s.Move), "info"
	case "refused":
		return "Refused: nothing was moved", "bad"
	case "invalidInput":
		return "Invalid input: nothing was moved", "bad"
	case "interrupted":
		return fmt.Sprintf("Interrupted: %d succeeded, %d not attempted, %d unknown", s.Succeeded, s.NotAttempted, s.Unknown), "warn"
	}
	return fmt.Sprintf("Failed: %d succeeded, %d failed, %d unknown", s.Succeeded, s.Failed, s.Unknown), "bad"
}

// numericColumn says whether column i of htmlHeader sorts as a number.
func numericColumn(i int) bool {
	switch htmlHeader[i] {
	case "row", "wave", "httpStatus", "attempts":
		return true
	}
	return false
}

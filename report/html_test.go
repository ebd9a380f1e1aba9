package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"connrecon/internal/safetext"
	"connrecon/plan"
)

// What a tenant or a mapping can throw at a page: markup, an event
// handler breaking out of an attribute, a javascript: URL, a closing tag
// breaking out of a table or a script, and invisible characters.
var hostileHTML = []string{
	`<script>alert("group")</script>`,
	`x" onerror="alert(1)`,
	`' onmouseover='alert(2)`,
	`javascript:alert(3)`,
	`</td></tr></table><img src=x onerror=alert(4)>`,
	`</script><script>alert(5)</script>`,
	`<!-- comment --> &amp; <b>bold</b>`,
	hostile,
}

// hostileHTMLReport puts each hostile text in every field a view shows:
// names, mapping cells, reasons, errors, the message, refusals, groups and
// applications, and the applications' own rows (changes 7 to 10: display
// names and --apps cells; 8 fails, so its name is in the failures too).
func hostileHTMLReport() *Report {
	p := appsPlan()
	h := func(i int) string { return hostileHTML[i%len(hostileHTML)] }
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.IsApplication() {
			c.DisplayName, c.MappedApplication = h(i), h(i+3)
		} else {
			c.MachineName, c.MappedConnector = h(i), h(i+3)
		}
		c.ToGroupName, c.FromGroupName = h(i+1), h(i+2)
		c.MappedGroup = h(i + 4)
		c.Reason = "because " + h(i+5)
		c.Warnings = []string{h(i + 6)}
	}
	for i := range p.Groups {
		p.Groups[i].Name = h(i)
		p.Groups[i].Applications = []string{h(i + 1), h(i + 2)}
	}
	p.Groups[0].Coverage = plan.CoverageGap
	p.Refusals = []plan.Refusal{{Guard: plan.GuardCoverage, Message: "refused " + h(3), Groups: []plan.RefusedGroup{{Name: h(4)}}}}
	run := applyRun()
	run.Message = "1 move failed for " + h(0)
	run.Operator = h(1)
	m := fixtureMapping()
	m.Path = h(4) + ".csv"
	results := appsResults()
	for i := range results {
		results[i].Error = "404 " + h(i+7)
		results[i].Call.RequestID = h(i + 3)
	}
	return Build(run, m, p, results)
}

// report.html parsed as a browser does: hostile text only ever as text (or
// an attribute's value), no element or attribute it smuggled in, no
// resource from anywhere, the one style and script the policy names by
// hash, and every action with every one of its cells.
func TestHTMLIsSafeAndComplete(t *testing.T) {
	r := hostileHTMLReport()
	page := render(t, WriteHTML, r)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var (
		scripts, styles []string
		csp             string
		text            strings.Builder
		rows            [][]string
	)
	var walk func(n *html.Node, inActions bool)
	walk = func(n *html.Node, inActions bool) {
		switch n.Type {
		case html.TextNode:
			text.WriteString(n.Data)
		case html.CommentNode:
			t.Errorf("a comment in the page: %q", n.Data)
		case html.ElementNode:
			switch n.DataAtom {
			case atom.Img, atom.Iframe, atom.Object, atom.Embed, atom.Link, atom.Base, atom.Form, atom.Input, atom.A, atom.Audio, atom.Video, atom.Image:
				t.Errorf("element <%s> in the page", n.Data)
			case atom.Script:
				scripts = append(scripts, innerText(n))
			case atom.Style:
				styles = append(styles, innerText(n))
			case atom.Meta:
				if attr(n, "http-equiv") == "Content-Security-Policy" {
					csp = attr(n, "content")
				}
			case atom.Table:
				inActions = attr(n, "id") == "actions-table"
			case atom.Tr:
				if inActions && n.Parent != nil && n.Parent.DataAtom == atom.Tbody {
					var cells []string
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						if c.DataAtom == atom.Td {
							cells = append(cells, innerText(c))
						}
					}
					rows = append(rows, cells)
				}
			}
			for _, a := range n.Attr {
				k, v := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(k, "on") || k == "src" || k == "href" || k == "srcdoc" || k == "action" || k == "formaction" || k == "style" {
					t.Errorf("<%s %s=%q>: an attribute that runs, loads or styles", n.Data, a.Key, a.Val)
				}
				if strings.Contains(v, "javascript:") && n.DataAtom != atom.Title && k != "data-result" {
					// Only as the text of a title or cell: never an attribute.
					t.Errorf("<%s %s=%q>: a javascript: value", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inActions)
		}
	}
	walk(doc, false)

	if len(scripts) != 1 || scripts[0] != htmlJS || len(styles) != 1 || styles[0] != htmlCSS {
		t.Fatalf("%d scripts and %d styles; want exactly the page's own", len(scripts), len(styles))
	}
	for _, want := range []string{"default-src 'none'", "script-src '" + cspHash(scripts[0]) + "'", "style-src '" + cspHash(styles[0]) + "'", "img-src 'none'", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	// Each hostile text, as the views show it, is there as text.
	all := text.String()
	for _, h := range hostileHTML {
		if !strings.Contains(all, safetext.EscapeText(h)) {
			t.Errorf("%q is not in the page's text", h)
		}
	}
	if strings.Contains(all, hostile) {
		t.Error("the invisible characters are in the page unescaped")
	}
	// Every action, every cell, as report.csv has it (and the batch id).
	if len(rows) != len(r.Actions) {
		t.Fatalf("%d action rows, want %d", len(rows), len(r.Actions))
	}
	for i := range r.Actions {
		want := htmlCells(&r.Actions[i])
		for j := range want {
			want[j] = safetext.EscapeText(want[j])
		}
		if fmt.Sprint(rows[i]) != fmt.Sprint(want) {
			t.Errorf("action %d: cells %q, want %q", i, rows[i], want)
		}
	}
	// The failed application, by its hostile display name, as text in its
	// failure's row.
	var failedApp []string
	for _, row := range parseTables(t, page)["failures"] {
		if len(row) > 2 && row[1] == plan.KindApplication {
			failedApp = row
		}
	}
	if want := safetext.EscapeText(r.Actions[8].DisplayName); len(failedApp) == 0 || failedApp[2] != want || want == "" {
		t.Errorf("the failed application's row %q, want its name %q", failedApp, want)
	}
	// The facts of report.json are on the page.
	for _, want := range []string{r.RunID, r.Mapping.SHA256, r.Journal, r.Backout, r.GraphURL, r.StartedAt.Format("2006-01-02T15:04:05")} {
		if !strings.Contains(all, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// htmlCells is an action's cells in htmlHeader order, as report.csv has
// them and the batch id.
func htmlCells(a *Action) []string {
	rec := make([]string, len(CSVHeader), len(htmlHeader))
	actionRecord(a, rec)
	return append(rec, a.BatchRequestID)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func innerText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// The headline says what the run came to, for each outcome.
func TestHTMLHeadline(t *testing.T) {
	for _, tc := range []struct{ mode, outcome, want, class string }{
		{"apply", "success", "Applied: 0 of 2 moves succeeded", "ok"},
		{"plan", "success", "Plan: 2 to move, nothing refused", "ok"},
		{"plan", "changesPending", "Plan: 2 moves pending", "info"},
		{"apply", "refused", "Refused: nothing was moved", "bad"},
		{"apply", "invalidInput", "Invalid input: nothing was moved", "bad"},
		{"apply", "interrupted", "Interrupted: 0 succeeded, 0 not attempted, 0 unknown", "warn"},
		{"apply", "failed", "Failed: 0 succeeded, 0 failed, 0 unknown", "bad"},
	} {
		r := &Report{Mode: tc.mode, Outcome: tc.outcome, Summary: Summary{Move: 2}}
		if got, class := headline(r); got != tc.want || class != tc.class {
			t.Errorf("%s %s: %q (%s), want %q (%s)", tc.mode, tc.outcome, got, class, tc.want, tc.class)
		}
		var b bytes.Buffer
		if err := WriteHTML(&b, r); err != nil || !strings.Contains(b.String(), `class="outcome `+tc.class+`"`) {
			t.Errorf("%s %s: %v, or no %s headline", tc.mode, tc.outcome, err, tc.class)
		}
	}
}

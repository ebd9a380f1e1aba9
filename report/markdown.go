package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"connrecon/executor"
	"connrecon/internal/safetext"
	"connrecon/plan"
)

// mdListCap bounds each list in report.md, so that the file stays short
// enough to paste into a change ticket whatever the size of the run; the
// other formats hold every row. The terminal's lists stop at the same
// count.
const mdListCap = safetext.MaxList

// md escapes text from the tenant or the mapping for a Markdown table cell
// or paragraph: "|" would end the cell, a newline the row, and the other
// punctuation would turn a name into a link, an image, emphasis, code or
// HTML in the rendered ticket ("<" starts HTML and autolinks; ">" and "!"
// do nothing on their own here). Backslash escapes are CommonMark's own, so
// the rendered text is the original text. An underscore inside a word
// (Request_ResourceNotFound) cannot start emphasis in GFM and is left
// alone, so the pasted text stays readable.
//
// Before that, control characters, bidirectional overrides and other
// invisible characters become visible escapes (safetext), so a name cannot
// disguise itself in the ticket or drive the terminal of someone who cats
// the file, and the value is cut to safetext.MaxValue characters: a 100 MB
// cell must not make a 100 MB ticket.
func md(s string) string {
	return mdEscape(safetext.Truncate(s, safetext.MaxValue))
}

// mdText is md for free text (a message, an error, a reason, a path), cut
// at safetext.MaxText characters instead.
func mdText(s string) string {
	return mdEscape(safetext.Truncate(s, safetext.MaxText))
}

func mdEscape(s string) string {
	// Line breaks stay for escapeMD, which makes them <br>.
	return breakAutolinks(escapeMD(safetext.EscapeText(s)))
}

// autolinkBreaker puts a zero-width space where GitHub-flavoured Markdown
// would turn text from the tenant or the mapping into a link (its
// "extended autolinks": http://, https://, www.), so a name can never
// become something to click in the ticket; it reads the same.
var autolinkBreaker = strings.NewReplacer("://", "\u200b://", "www.", "www\u200b.", "WWW.", "WWW\u200b.")

func breakAutolinks(s string) string {
	if !strings.Contains(s, "://") && !strings.Contains(s, "www.") && !strings.Contains(s, "WWW.") {
		return s
	}
	return autolinkBreaker.Replace(s)
}

func escapeMD(s string) string {
	if !strings.ContainsAny(s, "\\|`*_[]<~\r\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '|', '`', '*', '[', ']', '<', '~':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '_':
			if i > 0 && i < len(s)-1 && isWordByte(s[i-1]) && isWordByte(s[i+1]) {
				b.WriteByte(c)
			} else {
				b.WriteString(`\_`)
			}
		case '\r', '\n':
			// <br> is GFM's line break inside a cell, and the only HTML this
			// file contains. CRLF is one break.
			if c == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			b.WriteString("<br>")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// WriteMarkdown writes report.md's content: a summary of the run for a
// change ticket, with totals, groups, failures with their trace ids,
// refusals and invalid rows; long lists are cut at mdListCap rows.
func WriteMarkdown(w io.Writer, r *Report) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	p("# connrecon %s: %s (exit %d)\n\n", md(r.Mode), md(r.Outcome), r.ExitCode)
	if r.Message != "" {
		p("> %s\n\n", mdText(r.Message))
	}
	p("| Run | |\n|---|---|\n")
	row := func(label, value string) { p("| %s | %s |\n", label, value) }
	row("Mode", md(r.Mode))
	row("Outcome", md(r.Outcome))
	row("Exit code", strconv.Itoa(r.ExitCode))
	row("Started (UTC)", md(timeText(r.StartedAt)))
	row("Finished (UTC)", md(timeText(r.FinishedAt)))
	// Not tenant text: a code span keeps it whole and unlinked.
	row("Graph URL", "`"+safetext.Text(strings.NewReplacer("`", "", "|", "%7C").Replace(r.GraphURL))+"`")
	row("Operator", md(orUnknown(r.Operator)))
	row("Mapping", fmt.Sprintf("%s (%d rows)", mdText(r.Mapping.Path), r.Mapping.Rows))
	if r.Mapping.Sheet != "" {
		row("Mapping sheet", md(r.Mapping.Sheet))
	}
	row("Mapping SHA-256", md(r.Mapping.SHA256))
	if r.Journal != "" {
		row("Journal", mdText(r.Journal))
	}
	if r.Backout != "" {
		row("Back-out", mdText(r.Backout)+backoutTail(r))
	}
	if r.RunID != "" {
		row("Run id", md(r.RunID))
	}
	row("Tool", md(r.Tool+" "+r.Version))

	p("\n## Totals\n\n")
	totals := summaryTotals(r)
	var head, rule, vals strings.Builder
	for _, t := range totals {
		head.WriteString(" " + t.label + " |")
		rule.WriteString("---:|")
		vals.WriteString(" " + strconv.Itoa(t.n) + " |")
	}
	p("|%s\n|%s\n|%s\n", head.String(), rule.String(), vals.String())

	if len(r.Refusals) > 0 {
		p("\n## Refusals (%d)\n\n| Guard | Reason | Groups |\n|---|---|---|\n", len(r.Refusals))
		for i, rf := range r.Refusals {
			if i == mdListCap {
				p("\n…and %d more refusals: see report.json or the Summary sheet of report.xlsx.\n", len(r.Refusals)-mdListCap)
				break
			}
			groups := make([]string, 0, min(len(rf.Groups), mdListCap+1))
			for i, g := range rf.Groups {
				if i == mdListCap {
					groups = append(groups, fmt.Sprintf("…and %d more", len(rf.Groups)-mdListCap))
					break
				}
				groups = append(groups, md(g))
			}
			p("| %s | %s | %s |\n", md(rf.Guard), mdText(rf.Message), strings.Join(groups, ", "))
		}
	}

	p("\n## Groups\n\n")
	if len(r.Groups) == 0 {
		p("%s\n", noGroupsText)
	} else {
		p("| Group | Default | Connectors before | Connectors after | Active before | Active after | Applications | Coverage |\n")
		p("|---|---|---:|---:|---:|---:|---:|---|\n")
		for i, g := range r.Groups {
			if i == mdListCap {
				p("\n…and %d more groups: see the Groups sheet of report.xlsx, or report.json.\n", len(r.Groups)-mdListCap)
				break
			}
			def := ""
			if g.IsDefault {
				def = "yes"
			}
			cov := md(coverageText(g.Coverage))
			if g.Coverage == plan.CoverageGap {
				cov = "**gap**" // the one verdict that needs action
			}
			p("| %s | %s | %d | %d | %d | %d | %d | %s |\n", md(g.Name), def, g.ConnectorsBefore, g.ConnectorsAfter,
				g.ActiveBefore, g.ActiveAfter, len(g.Applications), cov)
		}
	}

	// With applications, each list says what each row places, and names
	// it by its own name; without, the lists read as they always did.
	apps := r.hasApplications()
	kindHead, kindRule, objectHead, what := "", "", "Connector", "the connector"
	if apps {
		kindHead, kindRule, objectHead, what = " Kind |", "---|", "Connector or application", "the connector or application"
	}
	kind := func(a *Action) string {
		if !apps {
			return ""
		}
		return " " + md(a.Kind) + " |"
	}
	var failed, unknown, invalid []*Action
	for i := range r.Actions {
		a := &r.Actions[i]
		switch {
		case a.Action == string(plan.ActionInvalid):
			invalid = append(invalid, a)
		case a.Result == string(executor.Failed):
			failed = append(failed, a)
		case unknownResult(a.Result):
			unknown = append(unknown, a)
		}
	}
	if len(failed) > 0 {
		p("\n## Failures (%d)\n\n", len(failed))
		p("| Row |%s %s | To group | HTTP | Attempts | Error | request-id | client-request-id |\n", kindHead, objectHead)
		p("|---:|%s---|---|---:|---:|---|---|---|\n", kindRule)
		for i, a := range failed {
			if i == mdListCap {
				p("\n…and %d more failures: see report.csv or the Actions sheet of report.xlsx.\n", len(failed)-mdListCap)
				break
			}
			p("| %s |%s %s | %s | %s | %s | %s | %s | %s |\n", itoa(a.Row), kind(a), md(a.objectText()), md(a.ToGroupName),
				itoa(a.HTTPStatus), itoa(a.Attempts), mdText(a.Error), md(a.RequestID), md(a.ClientRequestID))
		}
	}
	if len(unknown) > 0 {
		p("\n## Outcome unknown (%d)\n\n", len(unknown))
		p("In flight when the run stopped, or an answer was lost and no read showed %s in its target group: each may or may not have taken effect. Check the tenant (or plan again) before re-running.\n\n", what)
		p("| Row |%s %s | To group | Result | request-id | client-request-id |\n", kindHead, objectHead)
		p("|---:|%s---|---|---|---|---|\n", kindRule)
		for i, a := range unknown {
			if i == mdListCap {
				p("\n…and %d more: see report.csv or the Actions sheet of report.xlsx.\n", len(unknown)-mdListCap)
				break
			}
			p("| %s |%s %s | %s | %s | %s | %s |\n", itoa(a.Row), kind(a), md(a.objectText()), md(a.ToGroupName),
				md(a.Result), md(a.RequestID), md(a.ClientRequestID))
		}
	}
	if len(invalid) > 0 {
		p("\n## Invalid rows (%d)\n\n", len(invalid))
		p("| Row |%s %s | Group | Reason |\n|---:|%s---|---|---|\n", kindHead, objectHead, kindRule)
		for i, a := range invalid {
			if i == mdListCap {
				p("\n…and %d more invalid rows: see the Invalid rows sheet of report.xlsx, or report.csv.\n", len(invalid)-mdListCap)
				break
			}
			p("| %s |%s %s | %s | %s |\n", itoa(a.Row), kind(a), md(a.mappedObject()), md(a.MappedGroup), mdText(a.Reason))
		}
	}

	p("\n---\n\nEvery action, with its result, HTTP status, attempts, request-id, client-request-id and timestamps, is in report.csv, report.xlsx (Actions sheet) and report.json.\n")
	return b.Flush()
}

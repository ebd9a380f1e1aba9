package report

import (
	"fmt"
	"strings"
	"testing"

	"connrecon/executor"
)

func TestMarkdownEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"appproxy-01.corp.example", "appproxy-01.corp.example"},
		{`+cmd|' /C calc'!A0`, `+cmd\|' /C calc'!A0`},
		{"line one\nline two\r\nthree\rfour", "line one<br>line two<br>three<br>four"},
		{"[click](http://evil.example)", "\\[click\\](http\u200b://evil.example)"},
		{"![](http://tracker.example/p.png)", "!\\[\\](http\u200b://tracker.example/p.png)"},
		// GFM's extended autolinks need no brackets: broken by a zero-width space.
		{"see https://evil.example/x", "see https\u200b://evil.example/x"},
		{"www.evil.example", "www\u200b.evil.example"},
		{"<img src=x onerror=alert(1)>", `\<img src=x onerror=alert(1)>`},
		{"`code` *bold* ~~gone~~", "\\`code\\` \\*bold\\* \\~\\~gone\\~\\~"},
		{`C:\path\|x`, `C:\\path\\\|x`},
		// Inside a word an underscore cannot start emphasis: left readable.
		{"Request_ResourceNotFound", "Request_ResourceNotFound"},
		{"_lead and trail_", `\_lead and trail\_`},
		{"R&D > ops", "R&D > ops"},
	} {
		if got := md(tc.in); got != tc.want {
			t.Errorf("md(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A run with thousands of failures still gives a report.md short enough
// to paste: each list stops at mdListCap rows and says how many more the
// other files hold.
func TestMarkdownCapsLongLists(t *testing.T) {
	r := &Report{Tool: "connrecon", Mode: "apply", Outcome: "failed", ExitCode: 1}
	for i := range 120 {
		r.Actions = append(r.Actions, Action{Row: i + 2, MachineName: fmt.Sprintf("m%03d", i), Action: "move", Result: string(executor.Failed),
			RequestID: fmt.Sprintf("req-%03d", i), ClientRequestID: fmt.Sprintf("cli-%03d", i), Error: "boom\nsecond line|x"})
		r.Summary.Move++
		r.Summary.Failed++
	}
	for i := range 70 {
		r.Actions = append(r.Actions, Action{Row: i + 200, Action: "invalid", Result: ResultSkipped, MappedConnector: "x", Reason: "bad"})
		r.Summary.Invalid++
	}
	for i := range 60 {
		r.Groups = append(r.Groups, Group{Name: fmt.Sprintf("g%02d", i)})
	}
	out := string(render(t, WriteMarkdown, r))
	for _, want := range []string{
		"## Failures (120)", "| req-049 | cli-049 |", "…and 70 more failures",
		"## Invalid rows (70)", "…and 20 more invalid rows",
		"| g49 |", "…and 10 more groups",
		"| 190 | 120 | 0 | 70 | 0 | 0 | 120 | 0 | 0 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, unwanted := range []string{"req-050", "| g50 |", "| 250 |"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("report.md holds %q past the cap", unwanted)
		}
	}
	if n := strings.Count(out, "\n"); n > 250 {
		t.Errorf("report.md has %d lines: too long to paste", n)
	}
	checkTables(t, out)
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"connrecon/internal/graphsim"
	"connrecon/internal/safetext"
	"connrecon/samples"
)

// hostile is a name a tenant or a mapping can hold: a right-to-left
// override ("evil\u202egpj.exe" shows as "evilexe.jpg"), an escape
// sequence that clears the screen, a NUL.
const (
	hostile      = "evil\u202egpj.exe\x1b[2J\x00"
	hostileShown = `evil\u202egpj.exe\x1b[2J\x00`
)

// rawUnsafe returns the first line of out that holds a character a
// terminal would act on or hide.
func rawUnsafe(out string) (string, bool) {
	for _, line := range strings.Split(out, "\n") {
		if safetext.NeedsEscape(line) {
			return line, true
		}
	}
	return "", false
}

func TestLogLinesEscapeOutsideText(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := newLogger(&buf, format)
			log.Warn("connector "+hostile+" is in two groups", "file", hostile, "group", "EU "+hostile, "err", errors.New("read "+hostile))
			log.Error(strings.Repeat("m", 1<<20), "value", strings.Repeat("v", 1<<20))
			out := buf.String()
			if line, ok := rawUnsafe(out); ok {
				t.Errorf("raw control or invisible character in %q", line)
			}
			if format == "json" {
				// JSON escapes a backslash: decode to see the text shown.
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var rec map[string]any
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("not JSON: %q", line)
					}
					for k, v := range rec {
						if s, ok := v.(string); ok && safetext.NeedsEscape(s) {
							t.Errorf("%s decodes to %q, raw", k, s)
						}
					}
				}
				out = strings.ReplaceAll(out, `\\`, `\`)
			}
			if n := strings.Count(out, hostileShown); n != 4 {
				t.Errorf("the hostile text is shown escaped %d times, want 4:\n%s", n, out)
			}
			if len(out) > 4*safetext.MaxText+2000 {
				t.Errorf("%d bytes of log for two lines", len(out))
			}
		})
	}
}

// A mapping of thousands of bad rows: validate shows the first problems,
// says how many more there are and where they are all listed, and quotes
// a huge header only in part.
func TestValidateIsBounded(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("conn" + strings.Repeat(" ", 20000) + "ector,group\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "host%05d\xff,EU\n", i) // not UTF-8: a problem each
	}
	path := filepath.Join(dir, "mapping.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, graphsim.Options{})
	if code := h.run("validate", "-m", path); code != exitInvalid {
		t.Fatalf("exit %d, want 4\n%.2000s", code, &h.stderr)
	}
	out := h.stdout.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != safetext.MaxList+2 {
		t.Errorf("%d lines, want %d problems, the line that ends the list, and the summary", len(lines), safetext.MaxList)
	}
	if want := "… and 9950 more problems: connrecon plan lists every invalid row, with its reason, in report.csv"; !strings.Contains(out, want) {
		t.Errorf("no %q in:\n%.3000s", want, out)
	}
	if len(out) > 64<<10 {
		t.Errorf("validate printed %d bytes", len(out))
	}
	summary := lines[len(lines)-1]
	if !strings.Contains(summary, "10000 row(s), 10000 invalid") || utf8.RuneCountInString(summary) > 2*safetext.MaxValue+300 {
		t.Errorf("summary line of %d characters: %.300s", utf8.RuneCountInString(summary), summary)
	}
	if line, ok := rawUnsafe(out); ok {
		t.Errorf("raw character in %q", line)
	}
}

// A tenant whose connector and group names hold control and bidi
// characters: plan's text, its log lines and report.md show them
// escaped; report.json keeps them exact.
func TestHostileTenantNamesAreShownEscaped(t *testing.T) {
	tn, err := graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
	if err != nil {
		t.Fatal(err)
	}
	conn := &tn.Connectors[0]
	conn.MachineName = hostile + conn.MachineName
	var to *graphsim.Group
	for i := range tn.Groups {
		if tn.Groups[i].ID != conn.Group && len(tn.Groups[i].Applications) > 0 {
			to = &tn.Groups[i]
			break
		}
	}
	to.Name = hostile + to.Name
	srv := httptest.NewServer(graphsim.New(tn, graphsim.Options{}))
	t.Cleanup(srv.Close)
	h := &harness{t: t, url: srv.URL + "/beta", env: map[string]string{
		"CONNRECON_GRAPH_URL": srv.URL + "/beta", "CONNRECON_AUTH": "token", "CONNRECON_TOKEN": "test-token",
	}}
	dir := t.TempDir()
	mapping := filepath.Join(dir, "mapping.csv")
	// By id, so the row resolves whatever the names; and a row whose cell
	// names the hostile group, which is an invalid row quoting it.
	os.WriteFile(mapping, []byte("connector,group\n"+conn.ID+","+to.ID+"\nnobody.example,"+hostile+"\n"), 0o600)
	reports := filepath.Join(dir, "reports")
	if code := h.run("plan", "-m", mapping, "--report-dir", reports); code != exitInvalid {
		t.Fatalf("exit %d, want 4\n%s\n%s", code, &h.stdout, &h.stderr)
	}
	for what, out := range map[string]string{"stdout": h.stdout.String(), "stderr": h.stderr.String()} {
		if line, ok := rawUnsafe(out); ok {
			t.Errorf("%s: raw character in %q", what, line)
		}
	}
	if !strings.Contains(h.stdout.String(), hostileShown+conn.MachineName[len(hostile):]) || !strings.Contains(h.stdout.String(), `"`+hostileShown) {
		t.Errorf("plan text does not show the names escaped:\n%s", &h.stdout)
	}
	md, err := os.ReadFile(filepath.Join(reports, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if line, ok := rawUnsafe(string(md)); ok {
		t.Errorf("report.md: raw character in %q", line)
	}
	// Markdown escapes the backslashes and the bracket, to render as shown.
	if !strings.Contains(string(md), strings.NewReplacer(`\`, `\\`, "[", `\[`).Replace(hostileShown)) {
		t.Errorf("report.md does not show the names escaped:\n%s", md)
	}
	rep := readReport(t, reports)
	if rep.Actions[0].MachineName != conn.MachineName || rep.Actions[0].ToGroupName != to.Name {
		t.Errorf("report.json: %q into %q, want the exact names", rep.Actions[0].MachineName, rep.Actions[0].ToGroupName)
	}
}

package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	cases := []struct{ in, want, text string }{
		{"sea-appproxy-03.contoso.com", "sea-appproxy-03.contoso.com", ""},
		{"München – Zürich 東京", "München – Zürich 東京", ""},
		{`DOMAIN\group`, `DOMAIN\group`, ""},
		{"evil\u202egpj.exe", `evil\u202egpj.exe`, ""},
		{"\x1b[2J\x1b]0;owned\x07", `\x1b[2J\x1b]0;owned\x07`, ""},
		{"a\x00b", `a\x00b`, ""},
		{"a\tb\nc\r\n", `a\tb\nc\r\n`, "a\\tb\nc\r\n"},
		{"del\x7f c1\u0085\u009b", `del\x7f c1\u0085\u009b`, ""},
		{"not utf-8 \xff\xfe", `not utf-8 \xff\xfe`, ""},
		{"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069", `\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069`, ""},
		{"zero\u200bwidth\u200c\u200d\u2060\ufeff soft\u00adhyphen", `zero\u200bwidth\u200c\u200d\u2060\ufeff soft\u00adhyphen`, ""},
		{"EU\u00a0Frankfurt", `EU\u00a0Frankfurt`, ""},
		{"filler\u3164\u115f", `filler\u3164\u115f`, ""},
		{"tag\U000e0041", `tag\U000e0041`, ""},
		{"line\u2028sep", `line\u2028sep`, ""},
		{"replacement \ufffd stays", "replacement \ufffd stays", ""},
	}
	for _, tc := range cases {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		text := tc.text
		if text == "" {
			text = tc.want
		}
		if got := EscapeText(tc.in); got != text {
			t.Errorf("EscapeText(%q) = %q, want %q", tc.in, got, text)
		}
		if NeedsEscape(tc.in) != (tc.want != tc.in) {
			t.Errorf("NeedsEscape(%q) = %v", tc.in, !(tc.want != tc.in))
		}
	}
}

// Whatever goes in, what comes out is printable ASCII or printable
// Unicode, valid UTF-8, and one line.
func TestEscapeOutputIsSafe(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	all.WriteString("\xff\xc3\x28\xed\xa0\x80")
	out := Escape(all.String())
	if !utf8.ValidString(out) {
		t.Fatal("output is not UTF-8")
	}
	if i := firstUnsafe(out, false); i >= 0 {
		t.Errorf("output still has %q at %d", out[i:min(len(out), i+8)], i)
	}
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven chars", 6, "eleven…"},
		{"Zürich-Zürich", 3, "Zür…"},
		{"\xff\xfe\xfd\xfc", 2, "\xff\xfe…"},
	}
	for _, tc := range cases {
		if got := Truncate(tc.in, tc.max); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
	// A 10 MB header comes back as a short line.
	huge := strings.Repeat("connector\u202e", 1<<20)
	if got := Value(huge); utf8.RuneCountInString(got) > MaxValue*6+1 || !strings.HasSuffix(got, Ellipsis) {
		t.Errorf("Value of a huge string is %d characters", utf8.RuneCountInString(got))
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"EU - Frankfurt":         `"EU - Frankfurt"`,
		`a "quoted" name`:        `"a \"quoted\" name"`,
		"evil\u202egpj\x1b":      `"evil\u202egpj\x1b"`,
		"filler\u3164":           `"filler\u3164"`,
		strings.Repeat("x", 300): `"` + strings.Repeat("x", MaxValue) + `…"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestMore(t *testing.T) {
	if got := More(12, "invalid rows", "report.csv lists them all"); got != "… and 12 more invalid rows: report.csv lists them all" {
		t.Errorf("More = %q", got)
	}
}

func BenchmarkEscapeClean(b *testing.B) {
	s := "sea-appproxy-03.contoso.com in EU - Frankfurt, München"
	for b.Loop() {
		Escape(s)
	}
}

package safetext

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// How much of outside text a human view shows: one source, so the
// terminal, the logs and report.md cut at the same places.
const (
	// MaxValue is the longest value (a name, a cell, an id) quoted in a
	// message or shown in a view, in characters.
	MaxValue = 200
	// MaxText is the longest free text (a message, an error, a reason)
	// shown whole, in characters. It is long enough for every message the
	// program itself composes.
	MaxText = 4000
	// MaxList is how many items a list shows before it says how many more
	// there are and where they all are.
	MaxList = 50
)

// Ellipsis ends a value that Truncate cut.
const Ellipsis = "…"

// Escape returns s with every character that could disguise it replaced by
// a visible escape: C0 controls and DEL as \xNN (tab, line feed and
// carriage return as \t, \n, \r), C1 controls, bidirectional controls
// (U+202E would show "evil\u202egpj.exe" as "evilexe.jpg"), zero-width and
// other format characters, non-ASCII spaces and every other character that
// Unicode does not count as printable as \uNNNN (or \UNNNNNNNN), invisible
// fillers that Unicode does count as letters (U+3164 and the like) the
// same way, and each byte that is not UTF-8 as \xNN. A backslash stays as
// it is, so ordinary text reads unchanged. s itself is returned when there
// is nothing to escape.
func Escape(s string) string { return escape(s, false) }

// EscapeText is Escape for a view that shows line breaks itself (a
// Markdown table turns them into <br>, a spreadsheet cell wraps): line
// feeds and carriage returns stay; everything else Escape escapes is
// escaped.
func EscapeText(s string) string { return escape(s, true) }

// NeedsEscape reports whether Escape would change s.
func NeedsEscape(s string) bool { return firstUnsafe(s, false) >= 0 }

func escape(s string, keepBreaks bool) string {
	i := firstUnsafe(s, keepBreaks)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unsafe(r, size, keepBreaks) {
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		switch {
		case r == utf8.RuneError && size == 1:
			writeHex(&b, `\x`, uint32(s[i]), 2)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			writeHex(&b, `\x`, uint32(r), 2)
		case r <= 0xffff:
			writeHex(&b, `\u`, uint32(r), 4)
		default:
			writeHex(&b, `\U`, uint32(r), 8)
		}
		i += size
	}
	return b.String()
}

func writeHex(b *strings.Builder, prefix string, v uint32, width int) {
	b.WriteString(prefix)
	h := strconv.FormatUint(uint64(v), 16)
	for n := len(h); n < width; n++ {
		b.WriteByte('0')
	}
	b.WriteString(h)
}

// firstUnsafe is the byte offset of the first character to escape, or -1.
// Printable ASCII, nearly all of what the views show, costs one
// comparison a byte.
func firstUnsafe(s string, keepBreaks bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafe(r, size, keepBreaks) {
			return i
		}
		i += size
	}
	return -1
}

func unsafe(r rune, size int, keepBreaks bool) bool {
	switch {
	case r == utf8.RuneError && size == 1: // not UTF-8
		return true
	case r < 0x20:
		return !(keepBreaks && (r == '\n' || r == '\r'))
	case r < 0x7f:
		return false
	case r < 0xa0: // DEL and the C1 controls
		return true
	}
	// strconv.IsPrint is false for controls, format characters (the
	// bidirectional ones, U+200B-U+200F, U+2060, U+FEFF, the soft hyphen,
	// tag characters), separators other than the ASCII space, private-use
	// and unassigned code points.
	return !strconv.IsPrint(r) || invisible(r)
}

// invisible lists characters that Unicode calls letters or marks but that
// render as nothing, so they could make two names look the same.
func invisible(r rune) bool {
	switch r {
	case 0x034f, // combining grapheme joiner
		0x115f, 0x1160, 0x3164, 0xffa0, // Hangul fillers
		0x17b4, 0x17b5, // Khmer inherent vowels
		0x180b, 0x180c, 0x180d, 0x180f: // Mongolian variation selectors
		return true
	}
	return false
}

// Truncate returns s cut to at most max characters (each byte that is not
// UTF-8 counts as one), with Ellipsis after a cut. Cut before Escape, so a
// cut never falls inside an escape.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := 0
	for i := range s { // range steps over runes; invalid bytes one at a time
		if n == max {
			return s[:i] + Ellipsis
		}
		n++
	}
	return s
}

// Value is s as a view shows a value from outside: at most MaxValue
// characters, escaped.
func Value(s string) string { return Escape(Truncate(s, MaxValue)) }

// Text is s as a view shows free text that may quote outside values: at
// most MaxText characters, escaped.
func Text(s string) string { return Escape(Truncate(s, MaxText)) }

// Quote is strconv.Quote of at most MaxValue characters of s, with the
// invisible characters strconv leaves alone escaped too: for a name shown
// in quotes, where a quote inside it must not end it.
func Quote(s string) string { return Escape(strconv.Quote(Truncate(s, MaxValue))) }

// More is the line that ends a list cut at MaxList items: "… and 12 more
// invalid rows: report.csv lists them all" for More(12, "invalid rows",
// "report.csv lists them all").
func More(n int, what, where string) string {
	s := Ellipsis + " and " + strconv.Itoa(n) + " more"
	if what != "" {
		s += " " + what
	}
	if where != "" {
		s += ": " + where
	}
	return s
}

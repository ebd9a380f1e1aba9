package mapping

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// A cell's text in SpreadsheetML is an ST_Xstring (ECMA-376 Part 1,
// 22.9.2.19): _xHHHH_ stands for the UTF-16 code unit HHHH, which is how
// Excel writes a character XML cannot hold (a CR is _x000D_), and
// _x005F_ for an underscore, which is how text that looks like an escape
// is kept ("_x0041_" is written _x005F_x0041_). Each <t> and <v> element
// is one such string: an escape split across two rich-text runs is none.

// maxEscapedCellBytes bounds a cell's text before its escapes are
// decoded: at most seven bytes (_xHHHH_) for each of maxCellChars code
// units, so a longer text is more than a cell holds.
const maxEscapedCellBytes = 7 * maxCellChars

// decodeXstring decodes the escapes of b in place and returns the text. A
// pair of escapes that form a surrogate pair is one character; a lone
// surrogate, which is no character, reads as U+FFFD, as encoding/json
// reads one in the tenant's names.
func decodeXstring(b []byte) []byte {
	i := bytes.Index(b, []byte("_x"))
	if i < 0 {
		return b
	}
	out := b[:i] // decoding only shortens: writes never pass reads
	for i < len(b) {
		u, ok := xEscape(b[i:])
		if !ok {
			j := bytes.Index(b[i+1:], []byte("_x"))
			if j < 0 {
				return append(out, b[i:]...)
			}
			out = append(out, b[i:i+1+j]...)
			i += 1 + j
			continue
		}
		r, n := rune(u), 7
		if utf16.IsSurrogate(r) {
			r = utf8.RuneError
			if lo, ok := xEscape(b[i+7:]); ok {
				if pair := utf16.DecodeRune(rune(u), rune(lo)); pair != utf8.RuneError {
					r, n = pair, 14
				}
			}
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

// xEscape reports whether b starts with an escape, and its code unit.
func xEscape[T string | []byte](b T) (uint16, bool) {
	if len(b) < 7 || b[0] != '_' || b[1] != 'x' || b[6] != '_' {
		return 0, false
	}
	var u uint16
	for k := 2; k < 6; k++ {
		switch c := b[k]; {
		case '0' <= c && c <= '9':
			u = u<<4 | uint16(c-'0')
		case 'a' <= c|0x20 && c|0x20 <= 'f':
			u = u<<4 | uint16(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	return u, true
}

// cellValue is what WriteWorkbook gives excelize for cell text c. excelize
// escapes an escape-like text as ST_Xstring says, except one naming a
// surrogate (_xD800_), which it drops. So such a text is written as
// rich-text runs that end just after the underscore starting each of
// them: no run holds one, and each run is its own ST_Xstring.
func cellValue(c string) any {
	var runs []excelize.RichTextRun
	start := 0
	for i := strings.Index(c, "_x"); i >= 0; {
		if u, ok := xEscape(c[i:]); ok && utf16.IsSurrogate(rune(u)) {
			runs = append(runs, excelize.RichTextRun{Text: c[start : i+1]})
			start = i + 1
		}
		j := strings.Index(c[i+1:], "_x")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if runs == nil {
		return c
	}
	return append(runs, excelize.RichTextRun{Text: c[start:]})
}

package mapping

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"

	"connrecon/plan"
)

// Limits on what a workbook part may hold. encoding/xml keeps a whole text
// run, tag, comment or CDATA section in memory as one token, and a zip
// lets a few kilobytes unpack into a gigabyte of one cell: so every part is
// read through xmlGuard, which refuses a piece of XML longer than
// maxXMLRun before the decoder has buffered it, and the decoder's element
// stack is capped at maxXMLDepth. A spreadsheet cell holds at most 32,767
// characters (Excel's own limit), about 128 KiB of UTF-8 with escapes, so
// maxXMLRun never refuses a file a spreadsheet wrote.
const (
	maxXMLRun   = 1 << 20
	maxXMLDepth = 64
)

var (
	errXMLRun = fmt.Errorf("a single piece of XML (a text, tag or comment) longer than %d KiB, far beyond any spreadsheet cell", maxXMLRun>>10)
	errXMLDTD = errors.New("a document type declaration (<!DOCTYPE …> or <!ENTITY …>), which no spreadsheet writes")
)

// xmlGuard passes XML through and fails as soon as a text run, a tag or a
// comment, CDATA section or processing instruction grows past maxXMLRun,
// or a DTD starts. It follows just enough of the syntax to know where each
// piece ends: text and tags end at the next '<' (neither may contain one),
// the others at their own terminators.
type xmlGuard struct {
	r     io.Reader
	state uint8
	run   int
	prev  [2]byte // the last two bytes, for the terminators
	err   error
}

const (
	guardText     = iota // in text or a tag: the next '<' starts a new piece
	guardLT              // just after '<'
	guardBang            // just after "<!"
	guardBangDash        // just after "<!-": a comment needs a second '-'
	guardCDATA           // in <![CDATA[ … ]]>
	guardPI              // in <? … ?>
	guardComment         // in <!-- … -->
)

func (g *xmlGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		c := p[i]
		g.run++
		switch g.state {
		case guardText:
			if c == '<' {
				g.state, g.run = guardLT, 0
			}
		case guardLT:
			switch c {
			case '!':
				g.state = guardBang
			case '?':
				g.state, c = guardPI, 0 // "<?>" does not end it
			default:
				g.state = guardText
				if c == '<' {
					g.state, g.run = guardLT, 0
				}
			}
		case guardBang:
			switch c {
			case '-':
				g.state = guardBangDash
			case '[':
				g.state = guardCDATA
			default:
				g.err = errXMLDTD
			}
		case guardBangDash:
			if c != '-' {
				g.err = errors.New(`"<!-" that does not start a comment`)
			}
			// The dashes that open a comment never close it ("<!--->" is
			// not a whole comment): the terminator is looked for afresh.
			g.state, c = guardComment, 0
		case guardCDATA:
			if c == '>' && g.prev == [2]byte{']', ']'} {
				g.state = guardText
			}
		case guardComment:
			if c == '>' && g.prev == [2]byte{'-', '-'} {
				g.state = guardText
			}
		case guardPI:
			if c == '>' && g.prev[1] == '?' {
				g.state = guardText
			}
		}
		g.prev = [2]byte{g.prev[1], c}
		if g.run > maxXMLRun && g.err == nil {
			g.err = errXMLRun
		}
		if g.err != nil {
			// Hand over what came before, so the decoder's position
			// points at the piece that broke the rule.
			return i, g.err
		}
	}
	return n, err
}

// xmlPart reads one part of a workbook strictly: any XML error, a DTD, a
// piece of XML over maxXMLRun or nesting over maxXMLDepth is a *partError,
// and the part must parse to its end.
type xmlPart struct {
	name  string
	rc    io.ReadCloser
	d     *xml.Decoder
	depth int
	// rooted: the root element has started. encoding/xml reads on after
	// it ends; XML allows only white space, comments and processing
	// instructions there.
	rooted bool
	// where, if set, says where in the part's content the reader was, for
	// messages ("in row 151").
	where func() string
}

func openXMLPart(zf *zip.File) (*xmlPart, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, &partError{part: zf.Name, err: err}
	}
	br := bufio.NewReaderSize(rc, 64<<10)
	var r io.Reader = br
	b, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(b, utf8BOM):
		br.Discard(3) // XML allows it; encoding/xml would read it as text
	case bytes.HasPrefix(b, utf16LEBOM) || bytes.HasPrefix(b, utf16BEBOM):
		// OOXML parts may be UTF-16 (with a byte order mark); the XML
		// declaration then says so, and is taken at its word below.
		br.Discard(2)
		r = &utf16Reader{r: br, bigEndian: b[0] == 0xFE}
	}
	d := xml.NewDecoder(&xmlGuard{r: r})
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-16", "utf-16le", "utf-16be", "us-ascii", "ascii":
			return in, nil // already UTF-8 (transcoded above), or a subset of it
		case "iso-8859-1", "latin1", "latin-1", "l1":
			return charmap.ISO8859_1.NewDecoder().Reader(in), nil
		case "windows-1252", "cp1252":
			return charmap.Windows1252.NewDecoder().Reader(in), nil
		}
		return nil, fmt.Errorf("the part declares the character set %q; only UTF-8 and UTF-16 are read", plan.ShortText(label, 40))
	}
	return &xmlPart{name: zf.Name, rc: rc, d: d}, nil
}

func (p *xmlPart) close() { p.rc.Close() }

// next returns the next token, or io.EOF once the part has parsed to its
// end; any other error is a *partError.
func (p *xmlPart) next() (xml.Token, error) {
	tok, err := p.d.Token()
	if err != nil {
		if errors.Is(err, io.EOF) && p.depth == 0 {
			return nil, io.EOF
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, p.fail(err)
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if a, ok := repeatedAttr(t.Attr); ok {
			return nil, p.fail(fmt.Errorf("the attribute %s is given twice", plan.ShortText(a, 40)))
		}
		if p.depth == 0 && p.rooted {
			return nil, p.fail(errors.New("a second root element after the end of the first"))
		}
		p.depth++
		p.rooted = true
		if p.depth > maxXMLDepth {
			return nil, p.fail(fmt.Errorf("elements nested more than %d deep", maxXMLDepth))
		}
	case xml.EndElement:
		p.depth--
	case xml.Directive:
		return nil, p.fail(errXMLDTD)
	case xml.CharData:
		if p.depth == 0 && len(bytes.TrimSpace(t)) > 0 {
			return nil, p.fail(errors.New("text outside the root element"))
		}
	}
	return tok, nil
}

// repeatedAttr finds an attribute given twice (XML forbids it; encoding/xml
// does not check, and readers would disagree on which one counts).
func repeatedAttr(attrs []xml.Attr) (string, bool) {
	for i := 1; i < len(attrs); i++ {
		for j := range i {
			if attrs[i].Name == attrs[j].Name {
				return attrs[i].Name.Local, true
			}
		}
	}
	return "", false
}

// fail wraps err with the part's name and where it broke.
func (p *xmlPart) fail(err error) error {
	pe := &partError{part: p.name, offset: p.d.InputOffset(), err: err}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		pe.line, pe.err = se.Line, errors.New(se.Msg)
	}
	if p.where != nil {
		pe.where = p.where()
	}
	return pe
}

// drain reads the rest of the part, so that a part is used only when all
// of it is well-formed.
func (p *xmlPart) drain() error {
	for {
		if _, err := p.next(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// partError is a workbook part that cannot be used: not well-formed XML,
// or beyond a limit. The whole file is refused: a part read only up to
// where it broke would be a shorter mapping than the one in the file.
type partError struct {
	part   string
	line   int   // XML line, when the decoder knows it
	offset int64 // bytes into the (unpacked) part
	where  string
	err    error
}

func (e *partError) Error() string {
	s := "part " + e.part
	if e.line > 0 {
		s += fmt.Sprintf(" line %d", e.line)
	}
	if e.offset > 0 {
		s += fmt.Sprintf(" (byte %d)", e.offset)
	}
	if e.where != "" {
		s += ", " + e.where
	}
	return s + ": " + e.err.Error()
}

func (e *partError) Unwrap() error { return e.err }

// readXMLPart parses a whole (small) part into v, strictly, through the
// same guard; io.EOF-free. A missing part is errNoPart.
func readXMLPart(zr *zip.Reader, name string, v any) error {
	zf := zipFile(zr, name)
	if zf == nil {
		return fmt.Errorf("no part %s: %w", name, errNoPart)
	}
	p, err := openXMLPart(zf)
	if err != nil {
		return err
	}
	defer p.close()
	for {
		tok, err := p.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return &partError{part: zf.Name, err: errors.New("no root element")}
			}
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			p.depth--
			if err := p.d.DecodeElement(v, &se); err != nil {
				return p.fail(err)
			}
			return p.drain()
		}
	}
}

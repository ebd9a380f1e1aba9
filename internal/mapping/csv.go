package mapping

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"connrecon/plan"
)

// ParseCSV reads a CSV mapping from r; name is used in messages.
//
// The text may be UTF-8 with or without a byte order mark, or UTF-16 with
// one (Excel's "Unicode text"); lines end in CRLF or LF; the delimiter is
// ',', ';' or tab, whichever the header line uses (a first line "sep=;", as
// Excel writes and reads it, also sets it). Quoting is strict (RFC 4180): a
// malformed record is an error at its line and reading goes on after it.
func ParseCSV(name string, r io.Reader) (*plan.Mapping, error) {
	return parseCSV(name, r, 0, connectorVocabulary)
}

// parseCSV is ParseCSV with the input's size when known, so the rows and
// the duplicate index can be sized once instead of grown.
func parseCSV(name string, r io.Reader, size int64, v *vocabulary) (*plan.Mapping, error) {
	hr := newHashingReader(r)
	defer hr.stop()
	m, err := readCSV(name, hr, size, v)
	if err != nil {
		return nil, err
	}
	// Hash whatever the reader did not consume (after an unterminated
	// quote, say), so the digest covers the file.
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return nil, &FileError{Path: name, Msg: "cannot read mapping", Err: err}
	}
	m.SHA256 = hex.EncodeToString(hr.sum())
	return m, nil
}

// hashingReader passes r through and computes the SHA-256 of exactly the
// bytes read, as io.TeeReader into the hash would, but on another
// goroutine: hashing costs about a fifth of parsing, and a second core
// takes it off the reading path. Copies of what was read go to the hasher
// in at most hashBuffers buffers, reused, so memory stays flat.
type hashingReader struct {
	r       io.Reader
	h       hash.Hash
	chunks  chan []byte // copies of what was read, to hash in order
	free    chan []byte // hashed buffers, to reuse
	buffers int         // buffers made so far
	done    chan struct{}
	closed  bool
}

const hashBuffers = 4

func newHashingReader(r io.Reader) *hashingReader {
	hr := &hashingReader{
		r:      r,
		h:      sha256.New(),
		chunks: make(chan []byte, hashBuffers),
		free:   make(chan []byte, hashBuffers), // room for every buffer: the hasher never waits
		done:   make(chan struct{}),
	}
	go func() {
		defer close(hr.done)
		for b := range hr.chunks {
			hr.h.Write(b)
			hr.free <- b
		}
	}()
	return hr
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	if n > 0 {
		var b []byte
		select {
		case b = <-hr.free:
		default:
			if hr.buffers < hashBuffers {
				hr.buffers++ // a new one, made by append below
			} else {
				b = <-hr.free // all are with the hasher: wait for one
			}
		}
		hr.chunks <- append(b[:0], p[:n]...)
	}
	return n, err
}

// stop ends the hashing goroutine; sum calls it too.
func (hr *hashingReader) stop() {
	if !hr.closed {
		hr.closed = true
		close(hr.chunks)
		<-hr.done
	}
}

// sum is the digest of everything read.
func (hr *hashingReader) sum() []byte {
	hr.stop()
	return hr.h.Sum(nil)
}

const csvBufSize = 64 << 10

var (
	utf8BOM    = []byte{0xEF, 0xBB, 0xBF}
	utf16LEBOM = []byte{0xFF, 0xFE}
	utf16BEBOM = []byte{0xFE, 0xFF}
	utf32LEBOM = []byte{0xFF, 0xFE, 0, 0}
	utf32BEBOM = []byte{0, 0, 0xFE, 0xFF}
)

// maxCSVRecord bounds one CSV record (a line, or lines joined by a quoted
// line break): what a reader holds at once, and what a message can quote.
const maxCSVRecord = 1 << 20

var errLongRecord = errors.New("record too long")

// maxMappingRows bounds the rows of a mapping, CSV or XLSX: a sheet's
// own limit, and some thousand times the connectors of any tenant.
const maxMappingRows = maxSheetRows

func readCSV(path string, r io.Reader, size int64, v *vocabulary) (*plan.Mapping, error) {
	br := bufio.NewReaderSize(r, csvBufSize)
	// UTF-32 before UTF-16: FF FE also starts the UTF-32 little-endian
	// mark (PowerShell's -Encoding UTF32).
	switch b, _ := br.Peek(4); {
	case bytes.HasPrefix(b, utf8BOM):
		br.Discard(3)
	case bytes.HasPrefix(b, utf32LEBOM), bytes.HasPrefix(b, utf32BEBOM):
		br.Discard(4)
		br = bufio.NewReaderSize(&utf32Reader{r: br, bigEndian: b[0] == 0}, csvBufSize)
	case bytes.HasPrefix(b, utf16LEBOM), bytes.HasPrefix(b, utf16BEBOM):
		br.Discard(2)
		br = bufio.NewReaderSize(&utf16Reader{r: br, bigEndian: b[0] == 0xFE}, csvBufSize)
	}
	first, err := peekAll(br)
	if err != nil {
		return nil, &FileError{Path: path, Msg: "cannot read mapping", Err: err}
	}
	if bytes.IndexByte(first, '\r') >= 0 && bytes.IndexByte(first, '\n') < 0 {
		// Lines end in CR alone: classic Mac text, as Excel for Mac's
		// "CSV (Macintosh)" writes it.
		br = bufio.NewReaderSize(crReader{br}, csvBufSize)
		if first, err = peekAll(br); err != nil {
			return nil, &FileError{Path: path, Msg: "cannot read mapping", Err: err}
		}
	}
	s := &csvScanner{br: br}
	if c, ok := sepLine(first); ok {
		s.comma = c
		if _, err := s.readLine(); err != nil {
			return nil, &FileError{Path: path, Msg: "cannot read mapping", Err: err}
		}
	} else {
		if typeLine(first) {
			// Windows PowerShell's Export-Csv starts with the type of
			// the objects exported ("#TYPE System.Management.…"), unless
			// told -NoTypeInformation; PowerShell 7 with
			// -IncludeTypeInformation does too.
			if _, err := s.readLine(); err != nil {
				return nil, &FileError{Path: path, Msg: "cannot read mapping", Err: err}
			}
			first = first[min(len(first), bytes.IndexByte(first, '\n')+1):]
		}
		s.comma = byte(detectDelimiter(first))
	}
	if bytes.IndexByte(headerLine(first), 0) >= 0 {
		return nil, &FileError{Path: path, Line: 1, Msg: "the header line contains NUL bytes: this is not UTF-8 text " +
			"(UTF-16 without a byte order mark, or not a text file at all); save the mapping as CSV UTF-8 or as .xlsx"}
	}
	if len(first) > 0 && first[0] == '<' {
		return nil, &FileError{Path: path, Line: 1, Msg: "this looks like an HTML or XML document, not CSV " +
			"(some tools export web pages named .xls): open it in Excel and save it as .xlsx or CSV UTF-8"}
	}
	b := newRowBuilder(path, estimateRows(first, size), v)
	for {
		ok, err := s.next()
		if errors.Is(err, errLongRecord) {
			return nil, &FileError{Path: path, Line: s.start, Msg: fmt.Sprintf("a record (from this line) longer than %d KiB, far beyond any mapping row: is this the mapping? (a quote that is never closed takes the rest of the file)", maxCSVRecord>>10)}
		}
		if err != nil {
			return nil, &FileError{Path: path, Msg: "cannot read mapping", Err: err}
		}
		if !ok {
			break
		}
		if b.ci >= 0 && len(b.m.Rows) == maxMappingRows && !s.blank() {
			return nil, &FileError{Path: path, Line: s.start, Msg: fmt.Sprintf("more than %d rows, a spreadsheet's own limit and far beyond any tenant: split the mapping", maxMappingRows)}
		}
		if b.full() {
			return nil, b.tooMuchText(s.start)
		}
		if s.fault.err != nil {
			if b.ci < 0 {
				// The header itself is malformed: nothing can be read.
				return nil, &FileError{Path: path, Line: s.fault.line, Column: plan.ColumnName(s.fault.field), Msg: "malformed CSV in the header row", Cause: s.fault.err}
			}
			b.invalid(s.fault.line, s.fault.field, s.faultMessage())
			continue
		}
		if b.ci < 0 {
			if s.blank() {
				continue
			}
			if err := b.header(s.start, s.strings()); err != nil {
				return nil, err
			}
			continue
		}
		c, g := csvUnescape(s.field(b.ci)), csvUnescape(s.field(b.gi))
		c2, g2 := csvUnescape(s.field(b.ci2)), csvUnescape(s.field(b.gi2))
		// A row with a connector or a group is not blank: only look at
		// the other cells when these are empty.
		if len(c) == 0 && len(g) == 0 && len(c2) == 0 && len(g2) == 0 && s.blank() {
			continue
		}
		cells := s.arena.cells(c, c2, g, g2)
		b.row(s.start, cells[0], cells[1], cells[2], cells[3])
	}
	if b.ci < 0 {
		return nil, &FileError{Path: path, Line: 1, Msg: fmt.Sprintf("the file is empty: expected a header row naming %s %s column and a group column", v.article, v.noun)}
	}
	return b.done(), nil
}

// estimateRows guesses the number of rows from the file size and the
// lines in the first buffer; zero when the size is unknown.
func estimateRows(first []byte, size int64) int {
	lines := bytes.Count(first, []byte{'\n'})
	if size <= 0 || lines == 0 {
		return 0
	}
	// A tenth more than the guess, so a slightly longer first buffer
	// does not make the rows grow (and copy) once near the end.
	return int(size/int64(len(first)/lines+1))*11/10 + 16
}

// csvScanner reads CSV records with strict quoting, keeping only the
// current record. On a quoting error it records the fault and reads the
// rest of the record as Excel would (a quote closes the quoted part of a
// cell; the text after it, up to the delimiter, is taken as it is), which
// finds where the record ends, so reading resumes on the next record
// without misreading it.
type csvScanner struct {
	br    *bufio.Reader
	comma byte
	line  int    // physical lines read so far
	start int    // the line the current record starts on
	buf   []byte // the current record's fields, unescaped, back to back
	ends  []int  // where each field ends in buf
	long  []byte // a line longer than the bufio buffer
	arena cellArena
	fault csvFault
}

// csvFault is the first quoting error in the current record.
type csvFault struct {
	err          error // csv.ErrBareQuote or csv.ErrQuote
	line         int   // the physical line of the error
	field        int   // 0-based field index
	unterminated bool  // a quoted field that never closes: it ran to the end of the file
}

func (s *csvScanner) setFault(err error, field int) {
	if s.fault.err == nil {
		s.fault = csvFault{err: err, line: s.line, field: field}
	}
}

func (s *csvScanner) faultMessage() string {
	f := s.fault
	switch {
	case f.unterminated && f.line == s.line:
		return fmt.Sprintf("malformed CSV: %v: the quote that opens this cell is never closed before the file ends", f.err)
	case f.unterminated:
		return fmt.Sprintf("malformed CSV: %v: the quote that opens this cell is never closed, so everything after it (lines %d to %d) would be one cell; nothing after this line was read", f.err, f.line, s.line)
	case errors.Is(f.err, csv.ErrBareQuote):
		return fmt.Sprintf(`malformed CSV: %v: a cell that contains a quote must be quoted as a whole with the quote doubled, as in "app""1"`, f.err)
	default:
		return fmt.Sprintf(`malformed CSV: %v: text follows the closing quote of this cell; a quote inside a quoted cell is written twice ("")`, f.err)
	}
}

// readLine returns the next physical line with its line ending, or io.EOF.
// The slice is only valid until the next call.
func (s *csvScanner) readLine() ([]byte, error) {
	line, err := s.br.ReadSlice('\n')
	if err == nil && len(line) <= maxCSVRecord {
		s.line++ // the common case, without the error checks below
		return line, nil
	}
	if len(line) > maxCSVRecord {
		s.line++
		return nil, errLongRecord
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		s.long = append(s.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(s.long) > maxCSVRecord {
				s.line++ // the message points at it
				return nil, errLongRecord
			}
			line, err = s.br.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		if len(s.long) > maxCSVRecord {
			s.line++
			return nil, errLongRecord
		}
		line = s.long
	}
	if len(line) > 0 {
		s.line++
		if errors.Is(err, io.EOF) {
			err = nil // a last line without a line ending
		}
	}
	return line, err
}

// next reads one record; false at the end of the input.
func (s *csvScanner) next() (bool, error) {
	s.buf, s.ends, s.fault = s.buf[:0], s.ends[:0], csvFault{}
	line, err := s.readLine()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		s.start = s.line
		return false, err
	}
	s.start = s.line
	if bytes.IndexByte(line, '"') < 0 {
		// Fast path: no quotes, so the line is the record.
		line = trimEOL(line)
		for {
			i := bytes.IndexByte(line, s.comma)
			if i < 0 {
				s.buf = append(s.buf, line...)
				s.ends = append(s.ends, len(s.buf))
				return true, nil
			}
			s.buf = append(s.buf, line[:i]...)
			s.ends = append(s.ends, len(s.buf))
			line = line[i+1:]
		}
	}
fields:
	for {
		field := len(s.ends)
		if len(line) == 0 || line[0] != '"' {
			// An unquoted field: up to the delimiter or the line end.
			i := bytes.IndexByte(line, s.comma)
			text := line
			if i >= 0 {
				text = line[:i]
			} else {
				text = trimEOL(line)
			}
			if bytes.IndexByte(text, '"') >= 0 {
				s.setFault(csv.ErrBareQuote, field)
			}
			s.buf = append(s.buf, text...)
			s.ends = append(s.ends, len(s.buf))
			if i < 0 {
				return true, nil
			}
			line = line[i+1:]
			continue
		}
		// A quoted field, perhaps over several lines.
		line = line[1:]
		open := s.line
		for {
			i := bytes.IndexByte(line, '"')
			if i < 0 {
				if len(line) > 0 {
					// A line break inside quotes is part of the cell.
					s.buf = append(s.buf, line...)
					if n := len(s.buf); n >= 2 && s.buf[n-2] == '\r' && s.buf[n-1] == '\n' {
						s.buf[n-2], s.buf = '\n', s.buf[:n-1]
					}
				}
				if len(s.buf) > maxCSVRecord {
					return false, errLongRecord
				}
				next, err := s.readLine()
				if errors.Is(err, io.EOF) {
					// The quote never closes: it took the rest of the file.
					// That outweighs any earlier fault in the record, and
					// is reported where the quote opens.
					s.fault = csvFault{err: csv.ErrQuote, line: open, field: field, unterminated: true}
					s.ends = append(s.ends, len(s.buf))
					return true, nil
				}
				if err != nil {
					return false, err
				}
				line = next
				continue
			}
			s.buf = append(s.buf, line[:i]...)
			line = line[i+1:]
			switch {
			case len(line) > 0 && line[0] == '"': // "" is one quote
				s.buf = append(s.buf, '"')
				line = line[1:]
			case len(line) > 0 && line[0] == s.comma:
				s.ends = append(s.ends, len(s.buf))
				line = line[1:]
				continue fields
			case len(trimEOL(line)) == 0:
				s.ends = append(s.ends, len(s.buf))
				return true, nil
			default:
				// Text after the closing quote: strict CSV forbids it;
				// Excel keeps it, up to the delimiter.
				s.setFault(csv.ErrQuote, field)
				k := bytes.IndexByte(line, s.comma)
				if k < 0 {
					s.buf = append(s.buf, trimEOL(line)...)
					s.ends = append(s.ends, len(s.buf))
					return true, nil
				}
				s.buf = append(s.buf, line[:k]...)
				s.ends = append(s.ends, len(s.buf))
				line = line[k+1:]
				continue fields
			}
		}
	}
}

func (s *csvScanner) fieldStart(i int) int {
	if i == 0 || i > len(s.ends) {
		return 0
	}
	return s.ends[i-1]
}

// field returns field i of the current record, trimmed; empty when the
// record is shorter. Valid until the next record.
func (s *csvScanner) field(i int) []byte {
	if i < 0 || i >= len(s.ends) {
		return nil
	}
	return trimCellBytes(s.buf[s.fieldStart(i):s.ends[i]])
}

func (s *csvScanner) strings() []string {
	out := make([]string, len(s.ends))
	for i := range s.ends {
		out[i] = string(s.buf[s.fieldStart(i):s.ends[i]])
	}
	return out
}

// blank reports whether every field of the record is white space.
func (s *csvScanner) blank() bool {
	if len(bytes.TrimSpace(s.buf)) == 0 {
		return true // the common blank line, without looking at fields
	}
	for i := range s.ends {
		if len(trimCellBytes(s.buf[s.fieldStart(i):s.ends[i]])) > 0 {
			return false
		}
	}
	return true
}

// cellArena makes the strings of the cells that are kept. They are cut
// from one block per 64 KiB of cells rather than allocated one by one:
// allocating two small strings per row costs as much as parsing the row.
// The strings.Builder only ever appends, so a string cut from it never
// changes; when the block is full a new one starts and the old one lives
// on in the strings cut from it, which the rows keep anyway. A row with a
// cell longer than any name is the exception (see cells): its cut-short
// cell must not keep a block of its text alive through its neighbours.
type cellArena struct {
	b strings.Builder
}

const arenaBlock = 64 << 10

func (a *cellArena) cells(c, c2, g, g2 []byte) [4]string {
	parts := [4][]byte{c, c2, g, g2}
	n := len(c) + len(c2) + len(g) + len(g2)
	var out [4]string
	if n > maxMappedCell {
		// A cell longer than any name is cut short by the row check: each
		// gets a string of its own, so the short ones of its row do not
		// keep its text alive in a shared block.
		for i, p := range parts {
			out[i] = string(p)
		}
		return out
	}
	if a.b.Cap()-a.b.Len() < n {
		a.b = strings.Builder{}
		a.b.Grow(arenaBlock)
	}
	start := a.b.Len()
	for _, p := range parts {
		a.b.Write(p)
	}
	all := a.b.String()
	for i, p := range parts {
		out[i] = cut(all, start, start+len(p))
		start += len(p)
	}
	return out
}

// trimEOL removes a line ending: LF, CRLF, or a lone CR at the end of the
// file.
func trimEOL(line []byte) []byte {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
	}
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	return line[:n]
}

// headerLine is the first line with anything but white space on it, up to
// its end (outside quotes).
func headerLine(b []byte) []byte {
	for len(b) > 0 {
		end := lineEnd(b)
		line := b[:end]
		if len(bytes.TrimSpace(line)) > 0 {
			return line
		}
		if end == len(b) {
			break
		}
		b = b[end+1:]
	}
	return nil
}

// lineEnd is the index of the first line feed outside quotes, or len(b).
func lineEnd(b []byte) int {
	inQuote := false
	for i, c := range b {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == '\n' && !inQuote:
			return i
		}
	}
	return len(b)
}

// detectDelimiter picks , ; or tab: whichever occurs most in the header
// line outside quotes (European Excel exports use ;). Leading blank lines
// are not the header.
func detectDelimiter(b []byte) rune {
	var counts [3]int // , ; tab
	inQuote := false
	for _, c := range headerLine(b) {
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == ',':
			counts[0]++
		case c == ';':
			counts[1]++
		case c == '\t':
			counts[2]++
		}
	}
	best, delims := 0, [3]rune{',', ';', '\t'}
	for i := 1; i < 3; i++ {
		if counts[i] > counts[best] {
			best = i
		}
	}
	return delims[best]
}

// peekAll peeks at the first buffer of br, or all of a shorter input.
func peekAll(br *bufio.Reader) ([]byte, error) {
	// Peek returns what it has with an error when the input is shorter
	// than the buffer; only a failed read matters here.
	first, err := br.Peek(csvBufSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	return first, nil
}

// typeLine recognises PowerShell's "#TYPE …" first line.
func typeLine(b []byte) bool {
	return len(b) >= 6 && bytes.EqualFold(b[:6], []byte("#TYPE "))
}

// crReader turns each CR into a line feed, for text whose lines end in CR
// alone. A CR inside a quoted cell becomes a line feed too, which is how
// the cell's line break reads in any other file.
type crReader struct{ r io.Reader }

func (c crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// sepLine recognises Excel's "sep=;" first line, which names the delimiter.
func sepLine(b []byte) (byte, bool) {
	line := trimEOL(b[:min(len(b), bytes.IndexByte(b, '\n')+1)])
	if len(line) == 5 && bytes.EqualFold(line[:4], []byte("sep=")) {
		switch line[4] {
		case ',', ';', '\t':
			return line[4], true
		}
	}
	return 0, false
}

// utf16Reader decodes UTF-16 (after its byte order mark) to UTF-8 as it is
// read, so a UTF-16 file is never held in memory as a whole. Unpaired
// surrogates and a trailing odd byte become U+FFFD, as in utf16.Decode.
type utf16Reader struct {
	r         io.Reader
	bigEndian bool
	in        [16 << 10]byte
	odd       []byte // a byte left over from the previous read (0 or 1)
	high      rune   // a high surrogate waiting for its pair, or 0
	decoded
}

func (u *utf16Reader) Read(p []byte) (int, error) { return u.decoded.read(p, u.fill) }

// decoded is what a decoding reader has decoded and not yet returned, and
// the error that ends its input.
type decoded struct {
	out []byte
	err error
}

// read returns what is decoded, calling fill for more until there is some
// or the input has ended.
func (d *decoded) read(p []byte, fill func()) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		fill()
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

func (u *utf16Reader) fill() {
	copy(u.in[:], u.odd)
	n, err := u.r.Read(u.in[len(u.odd):])
	n += len(u.odd)
	u.odd = nil
	buf := u.in[:n]
	out := make([]byte, 0, n*3/2+4)
	for len(buf) >= 2 {
		var c rune
		if u.bigEndian {
			c = rune(buf[0])<<8 | rune(buf[1])
		} else {
			c = rune(buf[1])<<8 | rune(buf[0])
		}
		buf = buf[2:]
		if u.high != 0 {
			h := u.high
			u.high = 0
			if r := utf16.DecodeRune(h, c); r != utf8.RuneError {
				out = utf8.AppendRune(out, r)
				continue
			}
			out = utf8.AppendRune(out, utf8.RuneError)
		}
		switch {
		case utf16.IsSurrogate(c) && c < 0xDC00:
			u.high = c
		case utf16.IsSurrogate(c):
			out = utf8.AppendRune(out, utf8.RuneError)
		default:
			out = utf8.AppendRune(out, c)
		}
	}
	if len(buf) == 1 {
		u.odd = []byte{buf[0]}
	}
	if err != nil {
		if u.high != 0 || len(u.odd) > 0 {
			out = utf8.AppendRune(out, utf8.RuneError)
			u.high, u.odd = 0, nil
		}
		u.err = err
	}
	u.out = out
}

// utf32Reader decodes UTF-32 (after its byte order mark) to UTF-8 as it is
// read. A code point that is no Unicode scalar value, and a trailing
// partial one, become U+FFFD.
type utf32Reader struct {
	r         io.Reader
	bigEndian bool
	in        [16 << 10]byte
	part      []byte // the start of a code point left from the previous read
	decoded
}

func (u *utf32Reader) Read(p []byte) (int, error) { return u.decoded.read(p, u.fill) }

func (u *utf32Reader) fill() {
	k := copy(u.in[:], u.part)
	n, err := u.r.Read(u.in[k:])
	buf := u.in[:k+n]
	out := make([]byte, 0, len(buf))
	for len(buf) >= 4 {
		var c uint32
		if u.bigEndian {
			c = uint32(buf[0])<<24 | uint32(buf[1])<<16 | uint32(buf[2])<<8 | uint32(buf[3])
		} else {
			c = uint32(buf[3])<<24 | uint32(buf[2])<<16 | uint32(buf[1])<<8 | uint32(buf[0])
		}
		buf = buf[4:]
		r := rune(c)
		if c > utf8.MaxRune || !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		out = utf8.AppendRune(out, r)
	}
	u.part = append(u.part[:0], buf...)
	if err != nil {
		if len(u.part) > 0 {
			out = utf8.AppendRune(out, utf8.RuneError)
			u.part = u.part[:0]
		}
		u.err = err
	}
	u.out = out
}

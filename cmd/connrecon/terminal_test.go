package main

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"connrecon/executor"
)

// fakeTTY is an io.Writer that keeps what a terminal would show: every
// line of the screen and its scrollback. It knows \r, \n (the tty's
// onlcr makes it a carriage return too), CSI K (0 or 2) and text that
// overwrites from the cursor; any other control is an error, so a new
// sequence from the progress bar is noticed rather than drawn as text.
//
// It has no lock on purpose: the code under test must serialise its
// writes. Two Write calls that overlap are counted (and the race
// detector sees the unguarded state too).
type fakeTTY struct {
	inWrite  atomic.Int32
	overlaps atomic.Int32

	lines    [][]rune
	row, col int
	pending  []byte // an escape sequence or a UTF-8 rune cut by a Write
	errs     []string

	barDraws    int // writes that draw the bar
	logsOverBar int // writes by others (a log line, or the clear before it) that began with the bar on the cursor's line
}

func newFakeTTY() *fakeTTY { return &fakeTTY{lines: [][]rune{nil}} }

var barMark = "moving connectors"

func (f *fakeTTY) Write(p []byte) (int, error) {
	if !f.inWrite.CompareAndSwap(0, 1) {
		f.overlaps.Add(1)
		// Go on: the screen shows what the overlap made of it.
		f.inWrite.Add(1)
	}
	defer f.inWrite.Add(-1)
	// Widen the window in which an unserialised writer would overlap.
	runtime.Gosched()

	text := string(p)
	if strings.Contains(text, barMark) {
		f.barDraws++
	}
	if (strings.HasPrefix(text, clearLine) || logLevel.MatchString(text)) && strings.Contains(string(f.lines[f.row]), barMark) {
		f.logsOverBar++
	}
	f.pending = append(f.pending, p...)
	for len(f.pending) > 0 {
		n := f.step(f.pending)
		if n == 0 {
			break // incomplete: wait for the next Write
		}
		f.pending = f.pending[n:]
	}
	return len(p), nil
}

var csi = regexp.MustCompile(`^\x1b\[([0-9;]*)([@-~])`)

// step interprets the start of b and returns how many bytes it used, 0 if
// b holds only the start of a sequence or a rune.
func (f *fakeTTY) step(b []byte) int {
	switch b[0] {
	case '\r':
		f.col = 0
		return 1
	case '\n':
		f.row, f.col = f.row+1, 0
		if f.row == len(f.lines) {
			f.lines = append(f.lines, nil)
		}
		return 1
	case '\x1b':
		if len(b) < 2 || (b[1] == '[' && !csi.Match(b)) && len(b) < 16 {
			return 0
		}
		m := csi.FindSubmatch(b)
		if m == nil {
			f.errs = append(f.errs, fmt.Sprintf("unknown escape %q", b[:min(len(b), 8)]))
			return 1
		}
		line := f.lines[f.row]
		switch {
		case string(m[2]) == "K" && (len(m[1]) == 0 || string(m[1]) == "0"):
			if f.col < len(line) {
				f.lines[f.row] = line[:f.col]
			}
		case string(m[2]) == "K" && string(m[1]) == "2":
			f.lines[f.row] = nil
		default:
			f.errs = append(f.errs, fmt.Sprintf("unknown escape %q", m[0]))
		}
		return len(m[0])
	}
	if !utf8.FullRune(b) {
		return 0
	}
	r, n := utf8.DecodeRune(b)
	if r < ' ' || r == 0x7f {
		f.errs = append(f.errs, fmt.Sprintf("unknown control %q", r))
		return n
	}
	line := f.lines[f.row]
	for len(line) < f.col {
		line = append(line, ' ')
	}
	if f.col < len(line) {
		line[f.col] = r
	} else {
		line = append(line, r)
	}
	f.lines[f.row] = line
	f.col++
	return n
}

// screen is every line, trailing blanks cut (a clear with spaces leaves
// them, and no one sees them).
func (f *fakeTTY) screen() []string {
	out := make([]string, len(f.lines))
	for i, l := range f.lines {
		out[i] = strings.TrimRight(string(l), " ")
	}
	return out
}

func (f *fakeTTY) check(t *testing.T) {
	t.Helper()
	if n := f.overlaps.Load(); n > 0 {
		t.Errorf("%d Write calls overlapped another: stderr's writes are not serialised", n)
	}
	for _, e := range f.errs {
		t.Errorf("terminal: %s", e)
	}
	if len(f.pending) > 0 {
		t.Errorf("terminal: %q left unfinished", f.pending)
	}
}

// logLevel finds a log line's start, wherever it landed.
var logLevel = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARN|ERROR) `)

// logLine is a whole log line: its timestamp and level first.
var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARN) (.*)$`)

// TestProgressBarAndLogShareTerminal draws the real bar while goroutines
// log and results arrive, on one fake terminal wired as Main wires stderr,
// and reads the screen: each log line whole on a line of its own, never
// in the bar, and no bar left at the end (issue 13, item 7).
func TestProgressBarAndLogShareTerminal(t *testing.T) {
	old := barThrottle
	barThrottle = time.Millisecond
	t.Cleanup(func() { barThrottle = old })

	tty := newFakeTTY()
	stderr := newTerminal(tty)
	s := &session{
		env: Env{Stderr: stderr, StderrIsTerminal: func() bool { return true }},
		g:   defaultGlobals(),
		log: newLogger(stderr, "text").With("run", "r1"),
	}
	const total, loggers, perLogger = 60, 3, 8
	p := newProgress(total, s, time.Hour)
	if p.bar == nil {
		t.Fatal("no bar although stderr is a terminal")
	}

	want := map[string]int{} // the text after timestamp and level, as it must appear
	var wg sync.WaitGroup
	// Two feeders: the bar must also hold when results race each other.
	for f := 0; f < 2; f++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < total/2; i++ {
				out := executor.Succeeded
				if i%7 == 3 {
					out = executor.Failed
				}
				p.Result(executor.Result{Outcome: out})
				time.Sleep(300 * time.Microsecond)
			}
		}()
	}
	for g := 0; g < loggers; g++ {
		for i := 0; i < perLogger; i++ {
			msg := fmt.Sprintf("Graph is throttling (logger %d, line %d); waiting 2s before the next call", g, i)
			level := "WARN"
			if i%2 == 1 {
				msg = fmt.Sprintf("moved connector %d-%d to its new connection", g, i)
				level = "INFO"
			}
			want[fmt.Sprintf("%s %s run=r1 logger=%d line=%d", level, msg, g, i)]++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perLogger; i++ {
				if i%2 == 1 {
					s.log.Info(fmt.Sprintf("moved connector %d-%d to its new connection", g, i), "logger", g, "line", i)
				} else {
					s.log.Warn(fmt.Sprintf("Graph is throttling (logger %d, line %d); waiting 2s before the next call", g, i), "logger", g, "line", i)
				}
				time.Sleep(700 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	p.Finish()
	// After the bar is done, a line is only a line: no bar drawn again.
	s.log.Info("apply finished", "moved", 51)
	want["INFO apply finished run=r1 moved=51"]++

	tty.check(t)
	if tty.barDraws < 3 {
		t.Errorf("the bar was drawn %d times: the test did not exercise it", tty.barDraws)
	}
	if tty.logsOverBar == 0 {
		t.Error("no log line was written while the bar was shown: the test did not exercise the collision")
	}
	screen := tty.screen()
	for i, l := range screen {
		if l == "" {
			continue
		}
		hasBar := strings.Contains(l, barMark) || strings.Contains(l, "|")
		if hasBar && logLevel.MatchString(l) {
			t.Errorf("line %d mixes the bar and a log line: %q", i, l)
			continue
		}
		if hasBar {
			t.Errorf("line %d: the bar is still on the screen: %q", i, l)
			continue
		}
		m := logLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %d is not a whole log line: %q", i, l)
			continue
		}
		body := m[1] + " " + m[2]
		if want[body] == 0 {
			t.Errorf("line %d is not a line that was logged (cut, or joined with another): %q", i, l)
			continue
		}
		want[body]--
	}
	for body, n := range want {
		if n > 0 {
			t.Errorf("log line %q is not on the screen whole", body)
		}
	}
	if last := screen[len(screen)-1]; last != "" {
		t.Errorf("the cursor's line after finish is %q, want it empty", last)
	}
	if t.Failed() {
		t.Logf("screen:\n%s", strings.Join(screen, "\n"))
	}
}

// TestTerminalWrite: writes by others around a bar that is shown, cleared
// or absent.
func TestTerminalWrite(t *testing.T) {
	const frame = "\rmoving connectors  50% |█████     | (1/2, 2 moves/s)"
	const clear = "\r                                                    \r"
	type step struct {
		bar  bool // through bar(), else through Write
		text string
	}
	tests := []struct {
		name    string
		steps   []step
		want    []string
		wantCol int
	}{
		{"no bar: as it is", []step{{false, "one\ntwo"}}, []string{"one", "two"}, 3},
		{"a line over the bar: the bar drawn again below it",
			[]step{{true, frame}, {false, "2026-12-01T21:43:50Z WARN Graph is throttling\n"}},
			[]string{"2026-12-01T21:43:50Z WARN Graph is throttling", strings.TrimPrefix(frame, "\r")}, utf8.RuneCountInString(frame) - 1},
		{"several lines in one write",
			[]step{{true, frame}, {false, "first\nsecond\nthird\n"}},
			[]string{"first", "second", "third", strings.TrimPrefix(frame, "\r")}, utf8.RuneCountInString(frame) - 1},
		{"a prompt: the bar cleared, not drawn after it",
			[]step{{true, frame}, {false, "Apply 3 move(s)? Only 'yes' will be accepted: "}},
			[]string{"Apply 3 move(s)? Only 'yes' will be accepted:"}, len("Apply 3 move(s)? Only 'yes' will be accepted: ")},
		{"the bar cleared: a line is only a line",
			[]step{{true, frame}, {true, clear}, {false, "after\n"}},
			[]string{"after", ""}, 0},
		{"the bar redrawn shorter: the last frame comes back",
			[]step{{true, frame}, {true, clear + "\rmoving connectors 100%"}, {false, "x\n"}},
			[]string{"x", "moving connectors 100%"}, len("moving connectors 100%")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tty := newFakeTTY()
			term := newTerminal(tty)
			for _, st := range tc.steps {
				w := term.Write
				if st.bar {
					w = term.bar().Write
				}
				if n, err := w([]byte(st.text)); err != nil || n != len(st.text) {
					t.Fatalf("Write(%q) = %d, %v", st.text, n, err)
				}
			}
			tty.check(t)
			if got := tty.screen(); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if tty.col != tc.wantCol {
				t.Errorf("cursor at column %d, want %d", tty.col, tc.wantCol)
			}
		})
	}
}

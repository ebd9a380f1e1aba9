package main

import (
	"bytes"
	"io"
	"sync"
)

// clearLine takes the cursor to the start of the line and erases it.
const clearLine = "\r\033[K"

// terminal is the one owner of stderr (restic's termstatus idea): log
// lines, the prompt and the signal notice write through it, and so does
// the progress bar, through bar(). Writes are serialised, and while a bar
// is on screen a line written by anyone else first clears the bar, then
// the bar is drawn again below it: a log line never lands inside the bar.
type terminal struct {
	mu    sync.Mutex
	w     io.Writer
	frame []byte // the bar as last drawn: what follows its last \r
	shown bool   // the bar is on the screen's last line
}

// newTerminal wraps w, unless it is a terminal already (main makes one for
// its signal notice).
func newTerminal(w io.Writer) *terminal {
	if t, ok := w.(*terminal); ok {
		return t
	}
	return &terminal{w: w}
}

// Write writes p for anyone but the bar: whole lines, normally.
func (t *terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.shown {
		return t.w.Write(p)
	}
	if _, err := io.WriteString(t.w, clearLine); err != nil {
		return 0, err
	}
	n, err := t.w.Write(p)
	if err != nil {
		return n, err
	}
	if !bytes.HasSuffix(p, []byte("\n")) {
		// Part of a line (a prompt): the bar stays off the screen until
		// it draws itself again.
		t.shown = false
		return n, nil
	}
	_, err = t.w.Write(t.frame)
	return n, err
}

// bar is the writer the progress bar draws with.
func (t *terminal) bar() io.Writer { return barWriter{t} }

// barDone: the bar has cleared itself and draws no more.
func (t *terminal) barDone() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.shown, t.frame = false, nil
}

type barWriter struct{ t *terminal }

func (b barWriter) Write(p []byte) (int, error) {
	t := b.t
	t.mu.Lock()
	defer t.mu.Unlock()
	// The bar redraws its line with \r; the frame is what it leaves on
	// it. A clear ("\r" + spaces + "\r") leaves nothing.
	if i := bytes.LastIndexAny(p, "\r\n"); i >= 0 {
		t.frame = append(t.frame[:0], p[i+1:]...)
	} else {
		t.frame = append(t.frame, p...)
	}
	t.shown = len(t.frame) > 0
	return t.w.Write(p)
}

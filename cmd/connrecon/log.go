package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"connrecon/internal/safetext"
)

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: safeJSONAttr}))
	}
	return slog.New(&textHandler{w: w, mu: &sync.Mutex{}})
}

// safeJSONAttr escapes text in JSON log lines as the text handler does.
// encoding/json escapes control characters only as JSON escapes, which
// `jq -r` or a log viewer turns back into the raw character, and leaves
// bidirectional overrides and invisible characters as they are; log lines
// are read by people, and the exact text is in report.json. Every value is
// also cut at safetext.MaxText characters, so a huge cell quoted in an
// error cannot make a huge log line.
func safeJSONAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value.Resolve(); {
	case v.Kind() == slog.KindString:
		a.Value = slog.StringValue(safetext.Text(v.String()))
	case v.Kind() == slog.KindAny:
		if err, ok := v.Any().(error); ok {
			a.Value = slog.StringValue(safetext.Text(err.Error()))
		}
	}
	return a
}

// textHandler writes one readable line per record: the message as it is
// (slog's TextHandler would quote it and escape every quote inside, which
// hurts messages that quote the mapping's headers), then key=value pairs.
// Control, bidirectional and invisible characters in either are shown as
// escapes (safetext) and each is cut at safetext.MaxText characters: a
// tenant's name or a mapping's cell can drive neither the terminal nor a
// log viewer.
type textHandler struct {
	w     io.Writer
	mu    *sync.Mutex
	attrs []slog.Attr
}

var oneLine = strings.NewReplacer("\r\n", " | ", "\n", " | ", "\r", " | ", "\t", " ")

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Time.UTC().Format(time.RFC3339))
	b.WriteString(" ")
	b.WriteString(r.Level.String())
	b.WriteString(" ")
	// One record, one line: a multi-line error (azidentity's list of
	// credentials tried) must not break a log pipeline's framing.
	b.WriteString(safetext.Escape(oneLine.Replace(safetext.Truncate(r.Message, safetext.MaxText))))
	write := func(a slog.Attr) bool {
		v := safetext.Truncate(a.Value.Resolve().String(), safetext.MaxText)
		if v == "" || strings.ContainsAny(v, " \t\"=\r\n") {
			// strconv escapes controls and most invisible characters;
			// safetext the rest.
			v = safetext.Escape(strconv.Quote(v))
		} else {
			v = safetext.Escape(v)
		}
		fmt.Fprintf(&b, " %s=%s", safetext.Value(a.Key), v)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteString("\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &textHandler{w: h.w, mu: h.mu, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *textHandler) WithGroup(string) slog.Handler { return h }

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
)

func newLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(&textHandler{w: w, mu: &sync.Mutex{}})
}

// textHandler writes one readable line per record: the message as it is
// (slog's TextHandler would quote it and escape every quote inside, which
// hurts messages that quote the mapping's headers), then key=value pairs.
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
	b.WriteString(oneLine.Replace(r.Message))
	write := func(a slog.Attr) bool {
		v := a.Value.Resolve().String()
		if v == "" || strings.ContainsAny(v, " \t\"=\r\n") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, v)
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

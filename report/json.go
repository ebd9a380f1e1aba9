package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes report.json's content. The output is byte for byte what
// json.Encoder with a two-space indent makes of the whole Report, but it is
// produced piecewise: the small header once, then each action on its own,
// so a large report is never held in memory a second time as one encoded
// document. HTML escaping is off so that "R&D" stays readable.
func WriteJSON(w io.Writer, r *Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)

	// Everything but the actions: the outer Actions field, less nested,
	// shadows the embedded one and is omitted while nil.
	enc.SetIndent("", "  ")
	head := struct {
		*Report
		Actions []Action `json:"actions,omitempty"`
	}{Report: r}
	if err := enc.Encode(head); err != nil {
		return fmt.Errorf("encode report header: %w", err)
	}
	// The header ends "\n}\n"; the actions array goes where the brace was.
	b := buf.Bytes()
	if !bytes.HasSuffix(b, []byte("\n}\n")) {
		return fmt.Errorf("encode report header: unexpected end %q", b[max(0, len(b)-8):])
	}
	bw.Write(b[:len(b)-3])
	bw.WriteString(",\n  \"actions\": [")

	// Each action is indented as an element of the top-level array.
	enc.SetIndent("    ", "  ")
	for i := range r.Actions {
		buf.Reset()
		if err := enc.Encode(&r.Actions[i]); err != nil {
			return fmt.Errorf("encode action %d: %w", i, err)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	if len(r.Actions) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	// bufio keeps the first write error and Flush returns it.
	return bw.Flush()
}

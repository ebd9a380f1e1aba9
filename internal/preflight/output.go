package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"connrecon/internal/safetext"
)

// Marks, one per status. Plain symbols that Windows Terminal, PowerShell 7
// and every Linux terminal show.
var marks = map[Status]string{Pass: "✔", Fail: "✘", Warn: "⚠", Skip: "-"}

// Verdict is the report's last line.
func (r Report) Verdict() string {
	switch {
	case r.OK:
		return "plan and apply can run"
	case r.CanPlan:
		return "plan can run; apply cannot until the check marked ✘ is fixed"
	}
	return "neither plan nor apply can run until the check marked ✘ is fixed"
}

// WriteText writes one line per check, each with its fix (indented) when
// there is one, then the verdict. Text from the tenant and the service is
// escaped: a group name cannot drive the terminal.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, c := range r.Checks {
		line := c.Detail
		if c.RequestID != "" && !strings.Contains(line, c.RequestID) {
			line += " (request-id " + c.RequestID + ")"
		}
		fmt.Fprintf(&b, "%s %s: %s\n", marks[c.Status], c.Name, safetext.Text(line))
		if c.Fix != "" {
			fmt.Fprintf(&b, "    → %s\n", safetext.Text(c.Fix))
		}
	}
	fmt.Fprintf(&b, "%s\n", r.Verdict())
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON document, for scripts.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Report
		Verdict string `json:"verdict"`
	}{r, r.Verdict()})
}

package plan

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteText writes the plan for a person: moves grouped by destination
// group, then invalid rows and unmanaged connectors, then a one-line total.
func WriteText(w io.Writer, p *Plan) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	// Keyed by group id: two groups may share a name.
	byDest := map[string][]Change{}
	var dests []string
	var invalid, unmanaged []Change
	for _, c := range p.Changes {
		switch c.Action {
		case ActionMove:
			if _, ok := byDest[c.ToGroupID]; !ok {
				dests = append(dests, c.ToGroupID)
			}
			byDest[c.ToGroupID] = append(byDest[c.ToGroupID], c)
		case ActionInvalid:
			invalid = append(invalid, c)
		case ActionUnmanaged:
			unmanaged = append(unmanaged, c)
		}
	}
	sort.Slice(dests, func(i, j int) bool {
		a, b := strings.ToLower(byDest[dests[i]][0].ToGroupName), strings.ToLower(byDest[dests[j]][0].ToGroupName)
		if a != b {
			return a < b
		}
		return dests[i] < dests[j]
	})
	for _, d := range dests {
		moves := byDest[d]
		fmt.Fprintf(tw, "Into %q (%d):\n", moves[0].ToGroupName, len(moves))
		for _, c := range moves {
			// Warnings are a last cell, not lines of their own: a line
			// without cells would restart the column alignment.
			warn := ""
			if len(c.Warnings) > 0 {
				warn = "\twarning: " + strings.Join(c.Warnings, "; ")
			}
			fmt.Fprintf(tw, "  ~ %s\tfrom %q\trow %d\twave %d%s\n", c.MachineName, c.FromGroupName, c.Row, c.Wave, warn)
		}
		fmt.Fprintln(tw)
	}
	if len(invalid) > 0 {
		fmt.Fprintf(tw, "Invalid rows (%d), not applied:\n", len(invalid))
		for _, c := range invalid {
			fmt.Fprintf(tw, "  ! row %d:\t%s\n", c.Row, c.Reason)
		}
		fmt.Fprintln(tw)
	}
	if len(unmanaged) > 0 {
		fmt.Fprintf(tw, "Not in the mapping (%d), left where they are:\n", len(unmanaged))
		for _, c := range unmanaged {
			fmt.Fprintf(tw, "  ? %s\tin %q\t%s\n", c.MachineName, c.FromGroupName, c.ConnectorStatus)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, p.Summary().Line())
	return tw.Flush()
}

// Line is the one-line total, as Terraform prints it.
func (s Summary) Line() string {
	return fmt.Sprintf("Plan: %d to move, %d unchanged, %d invalid, %d unmanaged.", s.Move, s.Noop, s.Invalid, s.Unmanaged)
}

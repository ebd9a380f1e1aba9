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
	byDest := map[string][]Change{}
	var dests []string
	var invalid, unmanaged []Change
	for _, c := range p.Changes {
		switch c.Action {
		case ActionMove:
			if _, ok := byDest[c.ToGroupName]; !ok {
				dests = append(dests, c.ToGroupName)
			}
			byDest[c.ToGroupName] = append(byDest[c.ToGroupName], c)
		case ActionInvalid:
			invalid = append(invalid, c)
		case ActionUnmanaged:
			unmanaged = append(unmanaged, c)
		}
	}
	sort.Slice(dests, func(i, j int) bool { return strings.ToLower(dests[i]) < strings.ToLower(dests[j]) })
	for _, d := range dests {
		moves := byDest[d]
		fmt.Fprintf(tw, "Into %q (%d):\n", d, len(moves))
		for _, c := range moves {
			fmt.Fprintf(tw, "  ~ %s\tfrom %q\trow %d\twave %d\n", c.MachineName, c.FromGroupName, c.Row, c.Wave)
			for _, wmsg := range c.Warnings {
				fmt.Fprintf(tw, "      warning: %s\n", wmsg)
			}
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

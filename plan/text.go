package plan

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes the plan for a person: how many waves when more than
// one, moves grouped by destination group, then invalid rows, connectors
// not in the mapping, plan-wide warnings and refusals, then a one-line
// total.
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
	// With one wave every move runs at once and a wave column says nothing.
	waves := p.WaveCount()
	if waves > 1 {
		fmt.Fprintf(tw, "Moves run in %d waves, each after the one before has finished: moves into a group come before moves out of it.\n\n", waves)
	}
	for _, d := range dests {
		moves := byDest[d]
		// In apply order: by wave, then as in the plan.
		sort.SliceStable(moves, func(i, j int) bool { return moves[i].Wave < moves[j].Wave })
		fmt.Fprintf(tw, "Into %q (%d):\n", moves[0].ToGroupName, len(moves))
		for _, c := range moves {
			row := fmt.Sprintf("row %d", c.Row)
			if c.Row == 0 {
				row = "not in the mapping"
			}
			if waves > 1 {
				row += fmt.Sprintf("\twave %d", c.Wave)
			}
			// Warnings are a last cell, not lines of their own: a line
			// without cells would restart the column alignment.
			warn := ""
			if len(c.Warnings) > 0 {
				warn = "\twarning: " + strings.Join(c.Warnings, "; ")
			}
			fmt.Fprintf(tw, "  ~ %s\tfrom %q\t%s%s\n", printable(c.MachineName), c.FromGroupName, row, warn)
		}
		fmt.Fprintln(tw)
	}
	if len(invalid) > 0 {
		fmt.Fprintf(tw, "Invalid rows (%d), not applied:\n", len(invalid))
		for _, c := range invalid {
			fmt.Fprintf(tw, "  ! row %d:\t%s\n", c.Row, printable(c.Reason))
		}
		fmt.Fprintln(tw)
	}
	if len(unmanaged) > 0 {
		fmt.Fprintf(tw, "Not in the mapping (%d), left where they are:\n", len(unmanaged))
		for _, c := range unmanaged {
			fmt.Fprintf(tw, "  ? %s\tin %q\t%s\n", printable(c.MachineName), c.FromGroupName, printable(c.ConnectorStatus))
		}
		fmt.Fprintln(tw)
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintf(tw, "Warnings (%d):\n", len(p.Warnings))
		for _, msg := range p.Warnings {
			fmt.Fprintf(tw, "  - %s\n", msg)
		}
		fmt.Fprintln(tw)
	}
	// Last before the total, where the eye lands: why nothing will happen.
	if len(p.Refusals) > 0 {
		fmt.Fprintf(tw, "Refused (%d), nothing will be applied:\n", len(p.Refusals))
		for _, r := range p.Refusals {
			fmt.Fprintf(tw, "  x %s: %s\n", guardWord(r.Guard), r.Message)
			for _, g := range r.Groups {
				fmt.Fprintf(tw, "      group %q (%s): applications %s; active connectors %d before, %d after, %d at the lowest during the apply\n",
					g.Name, g.ID, strings.Join(g.Applications, ", "), g.ActiveBefore, g.ActiveAfter, g.MinActiveDuring)
			}
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, p.Summary().Line())
	return tw.Flush()
}

// guardWord names a guard as the flag an administrator knows it by.
func guardWord(g string) string {
	switch g {
	case GuardMaxChanges:
		return "--max-changes"
	case GuardCoverage:
		return "coverage (--min-active)"
	case GuardStalePlan:
		return "stale plan"
	}
	return g
}

// Line is the one-line total, as Terraform prints it.
func (s Summary) Line() string {
	return fmt.Sprintf("Plan: %d to move, %d unchanged, %d invalid, %d unmanaged.", s.Move, s.Noop, s.Invalid, s.Unmanaged)
}

// printable keeps text from the tenant or the mapping from driving the
// terminal: a name with control characters (an escape sequence) is shown
// quoted, with them escaped.
func printable(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

package plan

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"connrecon/internal/safetext"
)

// fullList says where a list cut on the terminal is whole.
const fullList = "report.csv lists them all"

// WriteText writes the plan for a person: how many waves when more than
// one, moves grouped by destination group, then invalid rows, connectors
// not in the mapping, plan-wide warnings and refusals, then a one-line
// total.
//
// Every name, cell and message from the tenant or the mapping is shown
// escaped (safetext), so it cannot drive the terminal or disguise itself,
// and cut to a short prefix. Lists stop after safetext.MaxList items and
// say how many more the report holds. The moves are the exception while
// the plan can be applied: whoever approves it sees every move it makes
// (--max-changes bounds them); a plan that will not be applied lists the
// first moves only.
func WriteText(w io.Writer, p *Plan) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	// Keyed by group id: two groups may share a name.
	byDest := map[string][]Change{}
	var dests []string
	var invalid, unmanaged []Change
	moves := 0
	for _, c := range p.Changes {
		switch c.Action {
		case ActionMove:
			if _, ok := byDest[c.ToGroupID]; !ok {
				dests = append(dests, c.ToGroupID)
			}
			byDest[c.ToGroupID] = append(byDest[c.ToGroupID], c)
			moves++
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
	moveCap := moves
	if p.Refused() || len(invalid) > 0 {
		moveCap = safetext.MaxList
	}
	// With one wave every move runs at once and a wave column says nothing.
	waves := p.WaveCount()
	if waves > 1 {
		fmt.Fprintf(tw, "Moves run in %d waves, each after the one before has finished: moves into a group come before moves out of it.\n\n", waves)
	}
	shown := 0
	for _, d := range dests {
		if shown == moveCap {
			break
		}
		group := byDest[d]
		// In apply order: by wave, then as in the plan.
		sort.SliceStable(group, func(i, j int) bool { return group[i].Wave < group[j].Wave })
		fmt.Fprintf(tw, "Into %s (%d):\n", safetext.Quote(group[0].ToGroupName), len(group))
		for _, c := range group {
			if shown == moveCap {
				break
			}
			shown++
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
				warn = "\twarning: " + joinText(c.Warnings)
			}
			fmt.Fprintf(tw, "  ~ %s\tfrom %s\t%s%s\n", objectWord(&c), safetext.Quote(c.FromGroupName), row, warn)
		}
		fmt.Fprintln(tw)
	}
	if shown < moves {
		fmt.Fprintf(tw, "%s\n\n", safetext.More(moves-shown, "moves", fullList+" (this plan is not applied)"))
	}
	if len(invalid) > 0 {
		fmt.Fprintf(tw, "Invalid rows (%d), not applied:\n", len(invalid))
		for i, c := range invalid {
			if i == safetext.MaxList {
				fmt.Fprintf(tw, "  %s\n", safetext.More(len(invalid)-i, "invalid rows", fullList))
				break
			}
			file := ""
			if c.IsApplication() {
				file = "--apps "
			}
			fmt.Fprintf(tw, "  ! %srow %d:\t%s\n", file, c.Row, safetext.Text(c.Reason))
		}
		fmt.Fprintln(tw)
	}
	if len(unmanaged) > 0 {
		fmt.Fprintf(tw, "Not in the mapping (%d), left where they are:\n", len(unmanaged))
		for i, c := range unmanaged {
			if i == safetext.MaxList {
				fmt.Fprintf(tw, "  %s\n", safetext.More(len(unmanaged)-i, "", fullList))
				break
			}
			fmt.Fprintf(tw, "  ? %s\tin %s\t%s\n", safetext.Value(c.MachineName), safetext.Quote(c.FromGroupName), safetext.Value(c.ConnectorStatus))
		}
		fmt.Fprintln(tw)
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintf(tw, "Warnings (%d):\n", len(p.Warnings))
		for i, msg := range p.Warnings {
			if i == safetext.MaxList {
				// Plan-wide warnings are not rows of the report: the
				// groups they are about are, in the Groups sheet.
				fmt.Fprintf(tw, "  %s\n", safetext.More(len(p.Warnings)-i, "warnings", "see the groups in report.json or the Groups sheet of report.xlsx"))
				break
			}
			fmt.Fprintf(tw, "  - %s\n", safetext.Text(msg))
		}
		fmt.Fprintln(tw)
	}
	// Last before the total, where the eye lands: why nothing will happen.
	if len(p.Refusals) > 0 {
		fmt.Fprintf(tw, "Refused (%d), nothing will be applied:\n", len(p.Refusals))
		for _, r := range p.Refusals {
			fmt.Fprintf(tw, "  x %s: %s\n", guardWord(r.Guard), safetext.Text(r.Message))
			for i, g := range r.Groups {
				if i == safetext.MaxList {
					fmt.Fprintf(tw, "      %s\n", safetext.More(len(r.Groups)-i, "groups", "see the Groups sheet of report.xlsx, or report.json"))
					break
				}
				fmt.Fprintf(tw, "      group %s (%s): applications %s; active connectors %d before, %d after, %d at the lowest during the apply\n",
					safetext.Quote(g.Name), safetext.Value(g.ID), joinNames(g.Applications), g.ActiveBefore, g.ActiveAfter, g.MinActiveDuring)
			}
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, p.Summary().Line())
	return tw.Flush()
}

// joinText joins messages, each escaped and cut, the list cut too.
func joinText(msgs []string) string {
	parts := make([]string, 0, min(len(msgs), safetext.MaxList))
	for i, m := range msgs {
		if i == safetext.MaxList {
			parts = append(parts, safetext.More(len(msgs)-i, "", ""))
			break
		}
		parts = append(parts, safetext.Text(m))
	}
	return strings.Join(parts, "; ")
}

// namesShown is how many application names a refused group's line lists:
// enough to recognise the group, a line still.
const namesShown = 10

func joinNames(names []string) string {
	parts := make([]string, 0, min(len(names), namesShown+1))
	for i, n := range names {
		if i == namesShown {
			parts = append(parts, "and "+strconv.Itoa(len(names)-i)+" more")
			break
		}
		parts = append(parts, safetext.Value(n))
	}
	return strings.Join(parts, ", ")
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
	return safetext.Value(g)
}

// Line is the one-line total, as Terraform prints it.
func (s Summary) Line() string {
	return fmt.Sprintf("Plan: %d to move, %d unchanged, %d invalid, %d unmanaged.", s.Move, s.Noop, s.Invalid, s.Unmanaged)
}

// objectWord is what a move line names: the connector's machine name, or
// "application" and the application's display name.
func objectWord(c *Change) string {
	if c.IsApplication() {
		return "application " + safetext.Value(c.DisplayName)
	}
	return safetext.Value(c.MachineName)
}

package plan

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"connrecon/internal/safetext"
)

// hostile is text a tenant or a mapping can hold: a right-to-left
// override that shows "evil\u202egpj.exe" as "evilexe.jpg", an escape
// sequence that clears the screen, a NUL, a zero-width space, a tab that
// would break the columns.
const hostile = "evil\u202egpj.exe\x1b[2J\x00\u200b\tx"

const hostileShown = `evil\u202egpj.exe\x1b[2J\x00\u200b\tx`

// rawControl reports the first character of out that a terminal would act
// on or hide, other than the line feeds and the alignment spaces WriteText
// writes itself.
func rawControl(out string) (rune, bool) {
	for _, line := range strings.Split(out, "\n") {
		if safetext.NeedsEscape(line) {
			for _, r := range line {
				if safetext.NeedsEscape(string(r)) {
					return r, true
				}
			}
		}
	}
	return 0, false
}

func TestWriteTextEscapesEveryOutsideText(t *testing.T) {
	p := &Plan{
		Changes: []Change{
			{Row: 2, ConnectorID: "c1", MachineName: hostile, FromGroupName: hostile, ToGroupID: "g1", ToGroupName: hostile,
				Action: ActionMove, Wave: 1, Warnings: []string{"warn " + hostile}},
			{Row: 3, Action: ActionInvalid, Reason: "no connector named " + hostile, MappedConnector: hostile},
			{MachineName: hostile, FromGroupName: hostile, ConnectorStatus: hostile, Action: ActionUnmanaged},
		},
		Warnings: []string{"plan-wide " + hostile},
		Refusals: []Refusal{{Guard: GuardCoverage, Message: "refused " + hostile, Groups: []RefusedGroup{
			{ID: hostile, Name: hostile, Applications: []string{hostile}},
		}}},
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if r, ok := rawControl(out); ok {
		t.Errorf("%U reached the terminal raw:\n%s", r, out)
	}
	// Every place: the move, its groups and warning, the invalid row, the
	// unmanaged connector, the plan's warning, the refusal and its group.
	if n := strings.Count(out, hostileShown); n < 12 {
		t.Errorf("the hostile text is shown escaped %d times, want 12 or more:\n%s", n, out)
	}
}

// A huge value (a 1 MB cell, group name or message) comes back as a short
// prefix, never whole.
func TestWriteTextCutsLongValues(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	p := &Plan{Changes: []Change{
		{Row: 2, MachineName: huge, FromGroupName: huge, ToGroupID: "g", ToGroupName: huge, Action: ActionMove, Wave: 1, Warnings: []string{huge}},
		{Row: 3, Action: ActionInvalid, Reason: "bad header " + huge},
	}, Warnings: []string{huge}}
	var buf bytes.Buffer
	if err := WriteText(&buf, p); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 20*safetext.MaxText {
		t.Errorf("the plan text is %d bytes for 1 MB values", buf.Len())
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if utf8.RuneCountInString(line) > 3*safetext.MaxText {
			t.Errorf("a line of %d characters", utf8.RuneCountInString(line))
		}
	}
	if !strings.Contains(buf.String(), strings.Repeat("x", safetext.MaxValue)+safetext.Ellipsis) {
		t.Errorf("no cut value with an ellipsis:\n%.600s", buf.String())
	}
}

func manyChanges(n int, a Action) []Change {
	out := make([]Change, n)
	for i := range out {
		name := fmt.Sprintf("host%06d", i)
		out[i] = Change{Row: i + 2, ConnectorID: "id" + name, MachineName: name, FromGroupID: "g0", FromGroupName: "Old", Action: a}
		switch a {
		case ActionMove:
			out[i].ToGroupID, out[i].ToGroupName, out[i].Wave = "g1", "New", 1
		case ActionInvalid:
			out[i].Reason = "no connector named " + name
		}
	}
	return out
}

func TestWriteTextBoundsLists(t *testing.T) {
	const n = 10000
	groups := make([]RefusedGroup, n)
	for i := range groups {
		groups[i] = RefusedGroup{ID: fmt.Sprint(i), Name: fmt.Sprint("G", i), Applications: strings.Split(strings.Repeat("svc,", 100), ",")}
	}
	tests := []struct {
		name  string
		plan  *Plan
		lines int    // "  ~ " / "  ! " / "  ? " / "  - " / "group " lines at most
		want  string // the line that ends the list
	}{
		{"invalid rows", &Plan{Changes: manyChanges(n, ActionInvalid)}, safetext.MaxList,
			"… and 9950 more invalid rows: report.csv lists them all"},
		{"unmanaged", &Plan{Changes: manyChanges(n, ActionUnmanaged)}, safetext.MaxList,
			"… and 9950 more: report.csv lists them all"},
		{"warnings", &Plan{Warnings: strings.Split(strings.Repeat("w\n", n-1)+"w", "\n")}, safetext.MaxList,
			"… and 9950 more warnings"},
		{"refused groups", &Plan{Refusals: []Refusal{{Guard: GuardCoverage, Message: "m", Groups: groups}}}, safetext.MaxList,
			"… and 9950 more groups"},
		// Refused: nothing will be applied, so the first moves are enough.
		{"moves of a refused plan", &Plan{Changes: manyChanges(n, ActionMove), Refusals: []Refusal{{Guard: GuardMaxChanges, Message: "too many"}}},
			safetext.MaxList, "… and 9950 more moves: report.csv lists them all (this plan is not applied)"},
		{"moves beside invalid rows", &Plan{Changes: append(manyChanges(n, ActionMove), manyChanges(1, ActionInvalid)...)},
			safetext.MaxList + 1, "… and 9950 more moves"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteText(&buf, tc.plan); err != nil {
				t.Fatal(err)
			}
			items := 0
			for _, line := range strings.Split(buf.String(), "\n") {
				for _, p := range []string{"  ~ ", "  ! ", "  ? ", "  - ", "      group "} {
					if strings.HasPrefix(line, p) {
						items++
					}
				}
				if strings.HasPrefix(line, "      group ") && strings.Count(line, "svc") > 10 {
					t.Errorf("a refused group lists %d applications", strings.Count(line, "svc"))
				}
			}
			if items > tc.lines {
				t.Errorf("%d items listed, want at most %d", items, tc.lines)
			}
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("no %q in:\n%.3000s", tc.want, buf.String())
			}
		})
	}
}

// A plan that can be applied lists every move: the person who approves it
// approves each one.
func TestWriteTextListsEveryMoveOfAnApplicablePlan(t *testing.T) {
	const n = 500
	var buf bytes.Buffer
	if err := WriteText(&buf, &Plan{Changes: manyChanges(n, ActionMove)}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "  ~ host"); got != n {
		t.Errorf("%d of %d moves listed", got, n)
	}
	if strings.Contains(buf.String(), "more moves") {
		t.Error("an applicable plan's moves were cut")
	}
}

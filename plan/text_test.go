package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loadState(t *testing.T, path string) *State {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	SortState(&s)
	return &s
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestWriteTextWavesGolden renders a plan that uses everything the
// planner adds on top of resolution: three waves, connectors idled in the
// default group (--unlisted default), an inactive connector, a group
// already short, and both guards refusing.
func TestWriteTextWavesGolden(t *testing.T) {
	s := tenant("Default! EU+2 US+ APAC+ Lab", "fra1@Default fra2@EU fra3@EU- sea1@US sea2@US tyo1@APAC- lab1@Lab old1@EU")
	p := Build(mapping("fra1>EU fra2>US sea1>EU old1>Lab"), s, Options{Unlisted: UnlistedDefault, MaxChanges: 5, MinActive: 2})
	var buf bytes.Buffer
	if err := WriteText(&buf, p); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "plan-waves.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./plan/ -run TestWriteTextWavesGolden -update to create it)", err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("WriteText differs from %s (rerun with -update if the change is intended):\n--- got\n%s--- want\n%s", golden, got, want)
	}
	if got, want := lastLine(buf.String()), "Plan: 8 to move, 0 unchanged, 0 invalid, 0 unmanaged."; got != want {
		t.Errorf("last line = %q, want %q", got, want)
	}
	if got := p.WaveCount(); got != 3 {
		t.Errorf("%d waves, want 3", got)
	}
}

func TestWriteText(t *testing.T) {
	move := func(row int, name, toID, toName string) Change {
		return Change{Row: row, ConnectorID: "id-" + name, MachineName: name, FromGroupName: "Default", ToGroupID: toID, ToGroupName: toName, Action: ActionMove, Wave: 1}
	}
	tests := []struct {
		name     string
		changes  []Change
		plan     *Plan // instead of changes
		last     string
		contains []string // in this order
		absent   []string
	}{
		{
			name:   "empty plan",
			last:   "Plan: 0 to move, 0 unchanged, 0 invalid, 0 unmanaged.",
			absent: []string{"Into", "Invalid", "Not in the mapping"},
		},
		{
			name: "one of each, two moves",
			changes: []Change{
				move(2, "app1", "g-eu", "Europe"),
				{Row: 3, MachineName: "app2", Action: ActionNoop},
				{Row: 4, Action: ActionInvalid, Reason: `no connector named "ghost"`},
				move(5, "app3", "g-eu", "Europe"),
				{MachineName: "lab", FromGroupName: "Default", ConnectorStatus: StatusInactive, Action: ActionUnmanaged},
			},
			last: "Plan: 2 to move, 1 unchanged, 1 invalid, 1 unmanaged.",
			contains: []string{
				`Into "Europe" (2):`, "~ app1", "row 2", "~ app3", "row 5",
				"Invalid rows (1), not applied:", `! row 4:  no connector named "ghost"`,
				"Not in the mapping (1), left where they are:", "? lab", `in "Default"`, "inactive",
			},
			absent: []string{"app2"},
		},
		{
			// Destination groups by name, case-insensitively; two groups
			// with one name stay apart.
			name: "groups sorted, same-name groups kept apart",
			changes: []Change{
				move(2, "app1", "g-us", "us East"),
				move(3, "app2", "g-leg2", "Legacy"),
				move(4, "app3", "g-asia", "Asia"),
				move(5, "app4", "g-leg1", "Legacy"),
				move(6, "app5", "g-leg2", "Legacy"),
			},
			last: "Plan: 5 to move, 0 unchanged, 0 invalid, 0 unmanaged.",
			contains: []string{
				`Into "Asia" (1):`, "~ app3",
				`Into "Legacy" (1):`, "~ app4",
				`Into "Legacy" (2):`, "~ app2", "~ app5",
				`Into "us East" (1):`, "~ app1",
			},
		},
		{
			// One wave: no wave column and no waves line.
			name:    "single wave says nothing about waves",
			changes: []Change{move(2, "app1", "g-eu", "Europe"), move(3, "app2", "g-eu", "Europe")},
			last:    "Plan: 2 to move, 0 unchanged, 0 invalid, 0 unmanaged.",
			absent:  []string{"wave", "Refused", "Warnings"},
		},
		{
			name: "several waves: a line, and each move's wave, in apply order",
			changes: []Change{
				func() Change { c := move(2, "app1", "g-eu", "Europe"); c.Wave = 2; return c }(),
				move(3, "app2", "g-eu", "Europe"),
				func() Change { c := move(0, "app3", "g-def", "Default"); c.Wave = 3; return c }(),
			},
			last: "Plan: 3 to move, 0 unchanged, 0 invalid, 0 unmanaged.",
			contains: []string{
				"Moves run in 3 waves, each after the one before has finished",
				`Into "Default" (1):`, "~ app3", "not in the mapping", "wave 3",
				`Into "Europe" (2):`, "~ app2", "row 3", "wave 1", "~ app1", "row 2", "wave 2",
			},
		},
		{
			name: "warnings and refusals before the total",
			plan: &Plan{
				Changes:  []Change{move(2, "app1", "g-eu", "Europe")},
				Warnings: []string{"connector group \"Asia\" has 0 active connectors before this plan"},
				Refusals: []Refusal{
					{Guard: GuardMaxChanges, Message: "plan has 1 moves, more than --max-changes 0"},
					{Guard: GuardCoverage, Message: "after this plan, 1 connector group …", Groups: []RefusedGroup{
						{ID: "g-us", Name: "US", Applications: []string{"Payroll", "Wiki"}, ActiveBefore: 1, ActiveAfter: 0, MinActiveDuring: 0},
					}},
				},
			},
			last: "Plan: 1 to move, 0 unchanged, 0 invalid, 0 unmanaged.",
			contains: []string{
				`Into "Europe" (1):`,
				"Warnings (1):", `- connector group "Asia" has 0 active connectors`,
				"Refused (2), nothing will be applied:",
				"x --max-changes: plan has 1 moves",
				"x coverage (--min-active): after this plan",
				`group "US" (g-us): applications Payroll, Wiki; active connectors 1 before, 0 after, 0 at the lowest during the apply`,
			},
		},
		{
			name: "warnings on their move's line",
			changes: []Change{
				func() Change {
					c := move(2, "app1", "g-eu", "Europe")
					c.Warnings = []string{"connector is inactive", "row 9 maps the same connector"}
					return c
				}(),
				move(3, "app2", "g-eu", "Europe"),
			},
			last:     "Plan: 2 to move, 0 unchanged, 0 invalid, 0 unmanaged.",
			contains: []string{"~ app1", "warning: connector is inactive; row 9 maps", "\n", "~ app2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := tt.plan
			if p == nil {
				p = &Plan{Changes: tt.changes}
			}
			if err := WriteText(&buf, p); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if got := lastLine(out); got != tt.last {
				t.Errorf("last line = %q, want %q\n%s", got, tt.last, out)
			}
			if !strings.HasSuffix(out, tt.last+"\n") {
				t.Errorf("output does not end with the total and a newline:\n%s", out)
			}
			rest := out
			for _, frag := range tt.contains {
				i := strings.Index(rest, frag)
				if i < 0 {
					t.Errorf("%q missing or out of order in:\n%s", frag, out)
					break
				}
				rest = rest[i+len(frag):]
			}
			for _, frag := range tt.absent {
				if strings.Contains(out, frag) {
					t.Errorf("%q should not appear in:\n%s", frag, out)
				}
			}
		})
	}
}

type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriteTextWriteError(t *testing.T) {
	p := &Plan{Changes: []Change{{Row: 2, MachineName: "app1", ToGroupID: "g", ToGroupName: "Europe", Action: ActionMove, Wave: 1}}}
	if err := WriteText(failWriter{}, p); !errors.Is(err, errDiskFull) {
		t.Errorf("WriteText error = %v, want %v", err, errDiskFull)
	}
}

// Names from the tenant cannot send escape sequences to the terminal.
func TestWriteTextEscapesControlCharacters(t *testing.T) {
	var buf bytes.Buffer
	p := &Plan{Changes: []Change{{Action: ActionUnmanaged, MachineName: "evil\x1b[2Jhost", FromGroupName: "G\x1b[31m", ConnectorStatus: "active"}}}
	if err := WriteText(&buf, p); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(buf.String(), 0x1b) {
		t.Errorf("an escape character reached the output: %q", buf.String())
	}
	if !strings.Contains(buf.String(), `evil\x1b[2Jhost`) {
		t.Errorf("the name is not shown escaped: %q", buf.String())
	}
}

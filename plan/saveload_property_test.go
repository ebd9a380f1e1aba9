package plan_test

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"connrecon/plan"
	"connrecon/plan/planfile"
)

// An honest plan, saved, loaded and planned again against the same tenant
// with the options it was made with, comes back exactly as it was made:
// the same moves in the same waves, with the same warnings, and the same
// group summaries. A Replan that got this wrong would refuse good plans,
// or apply them in another order than the one shown; a field the file
// dropped (omitempty on a row 0, a wave) would show here the same way.
func TestSaveLoadReplanProperty(t *testing.T) {
	const cases = 600
	const graphBeta = "https://graph.microsoft.com/beta"
	rng := rand.New(rand.NewPCG(5, 8))
	saved, multiWave, unlisted := 0, 0, 0
	for n := range cases {
		s, m, opts := plan.RandomCase(rng)
		p := plan.Build(m, s, opts)
		if p.Refused() || p.Summary().Invalid > 0 {
			continue
		}
		var file bytes.Buffer
		meta := planfile.SaveMeta{GraphURL: graphBeta, MappingPath: "mapping.csv", MappingRows: len(m.Rows), Version: "test", CreatedAt: time.Unix(0, 0)}
		if err := planfile.Save(&file, p, s, meta); err != nil {
			t.Fatalf("case %d: Save: %v\n%s", n, err, plan.DescribeCase(s, m, opts, p))
		}
		sv, err := planfile.Load(&file, "plan.json")
		if err != nil {
			t.Fatalf("case %d: Load: %v\n%s", n, err, plan.DescribeCase(s, m, opts, p))
		}
		q, err := sv.Replan(s, graphBeta, opts)
		if err != nil {
			t.Fatalf("case %d: Replan: %v\n%s", n, err, plan.DescribeCase(s, m, opts, p))
		}
		saved++
		if p.WaveCount() > 1 {
			multiWave++
		}
		if slices.ContainsFunc(p.Changes, func(c plan.Change) bool { return c.Action == plan.ActionMove && c.Row == 0 }) {
			unlisted++
		}
		if got, want := plan.MovesOf(q), plan.MovesOf(p); !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: moves\n got %+v\nwant %+v\n%s", n, got, want, plan.DescribeCase(s, m, opts, p))
		}
		if !reflect.DeepEqual(q.Groups, p.Groups) || q.Refused() || q.Options != p.Options {
			t.Fatalf("case %d: groups, refusals or options differ: %+v %+v %+v", n, q.Groups, q.Refusals, q.Options)
		}
		// Plan-wide warnings: the same, but for the one about connectors
		// not in the mapping (there are none to add on a replan).
		want := slices.DeleteFunc(slices.Clone(p.Warnings), func(w string) bool { return strings.HasPrefix(w, "--unlisted default:") })
		if !slices.Equal(q.Warnings, want) {
			t.Fatalf("case %d: warnings\n got %q\nwant %q", n, q.Warnings, want)
		}
	}
	t.Logf("%d saved, %d multi-wave, %d with connectors not in the mapping, of %d", saved, multiWave, unlisted, cases)
	if saved < 150 || multiWave < 20 || unlisted < 20 {
		t.Errorf("generator too tame: %d saved, %d multi-wave, %d with connectors not in the mapping", saved, multiWave, unlisted)
	}
}

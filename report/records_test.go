package report

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/plan"
)

// The report shows the plan's records through views of its own (Group,
// Refusal: report.json's schema differs from the plan's) and takes each
// action's fields that the journal also has from executor.EntryFor. These
// tests fail when one of those records gains a field the report has not
// decided about: show it (a field of the same name, type and JSON name in
// the view, copied by groupOf or refusalOf) or leave it out (listed here,
// with why).

// leftOut lists the plan's fields that report.json does not show, and why.
var leftOut = map[string]string{
	"GroupSummary.MinActiveDuring": "not in the README's schema: a dip during the run shows as the verdict gap",
	"RefusedGroup.ID":              "a refusal names its groups; their ids and figures are in groups",
	"RefusedGroup.Applications":    "a refusal names its groups; their applications are in groups",
	"RefusedGroup.ActiveBefore":    "a refusal names its groups; their figures are in groups",
	"RefusedGroup.ActiveAfter":     "a refusal names its groups; their figures are in groups",
	"RefusedGroup.MinActiveDuring": "not in the README's schema, as for groups",
}

// reshaped lists the plan's fields that report.json shows in a shape of
// its own.
var reshaped = map[string]string{
	"Refusal.Groups":    "the groups' names, a list of strings",
	"RefusedGroup.Name": "in Refusal.Groups",
}

// viewPairs: each plan record and the report type that shows it (nil: no
// type of its own, its fields are left out or reshaped).
var viewPairs = []struct{ record, view reflect.Type }{
	{reflect.TypeFor[plan.GroupSummary](), reflect.TypeFor[Group]()},
	{reflect.TypeFor[plan.Refusal](), reflect.TypeFor[Refusal]()},
	{reflect.TypeFor[plan.RefusedGroup](), nil},
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func TestReportDecidesEveryPlanRecordField(t *testing.T) {
	known := map[string]bool{}
	for _, p := range viewPairs {
		for i := range p.record.NumField() {
			f := p.record.Field(i)
			key := p.record.Name() + "." + f.Name
			known[key] = true
			var vf reflect.StructField
			var shown bool
			if p.view != nil {
				vf, shown = p.view.FieldByName(f.Name)
			}
			switch {
			case leftOut[key] != "":
				if shown {
					t.Errorf("plan.%s is listed as left out, but report.%s shows it", key, p.view.Name())
				}
			case reshaped[key] != "":
			case !shown:
				t.Errorf("plan.%s: the report neither shows it (a field of its view of plan.%s) nor leaves it out (leftOut in records_test.go)", key, p.record.Name())
			case vf.Type != f.Type || jsonName(vf) != jsonName(f):
				t.Errorf("report.%s.%s is %v %q, plan.%s is %v %q: a view shows a field as the plan has it",
					p.view.Name(), f.Name, vf.Type, jsonName(vf), key, f.Type, jsonName(f))
			}
		}
		if p.view == nil {
			continue
		}
		for i := range p.view.NumField() {
			if name := p.view.Field(i).Name; !hasField(p.record, name) {
				t.Errorf("report.%s.%s has no counterpart in plan.%s: a view shows the plan's record, nothing else", p.view.Name(), name, p.record.Name())
			}
		}
	}
	for _, m := range []map[string]string{leftOut, reshaped} {
		for key := range m {
			if !known[key] {
				t.Errorf("records_test.go lists %s, which the plan's records no longer have", key)
			}
		}
	}
}

func hasField(t reflect.Type, name string) bool {
	_, ok := t.FieldByName(name)
	return ok
}

// fill gives every field of v a value of its own, so that a field the view
// forgets to copy, or copies from the wrong field, shows.
func fill(t *testing.T, v reflect.Value, seed *int) {
	t.Helper()
	*seed++
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i), seed)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *seed))
	case reflect.Int:
		v.SetInt(int64(*seed))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range s.Len() {
			fill(t, s.Index(i), seed)
		}
		v.Set(s)
	default:
		t.Fatalf("fill: a field of type %s; teach fill its kind", v.Type())
	}
}

// checkShown compares every field view and record have in common.
func checkShown(t *testing.T, record, view any) {
	t.Helper()
	rv, vv := reflect.ValueOf(record), reflect.ValueOf(view)
	for i := range rv.NumField() {
		name := rv.Type().Field(i).Name
		if reshaped[rv.Type().Name()+"."+name] != "" {
			continue
		}
		if f := vv.FieldByName(name); f.IsValid() && !reflect.DeepEqual(f.Interface(), rv.Field(i).Interface()) {
			t.Errorf("report.%s.%s = %v, plan's is %v", vv.Type().Name(), name, f.Interface(), rv.Field(i).Interface())
		}
	}
}

func TestViewsCopyEveryShownField(t *testing.T) {
	seed := 0
	var g plan.GroupSummary
	fill(t, reflect.ValueOf(&g).Elem(), &seed)
	checkShown(t, g, groupOf(g))

	var f plan.Refusal
	fill(t, reflect.ValueOf(&f).Elem(), &seed)
	rf := refusalOf(f)
	checkShown(t, f, rf)
	if want := []string{f.Groups[0].Name, f.Groups[1].Name}; !reflect.DeepEqual(rf.Groups, want) {
		t.Errorf("refusal groups %q, want the names %q", rf.Groups, want)
	}

	// Through Build, as a run gets them.
	r := Build(applyRun(), nil, &plan.Plan{Groups: []plan.GroupSummary{g}, Refusals: []plan.Refusal{f}}, nil)
	if !reflect.DeepEqual(r.Groups, []Group{groupOf(g)}) || !reflect.DeepEqual(r.Refusals, []Refusal{rf}) {
		t.Errorf("Build: groups %+v refusals %+v", r.Groups, r.Refusals)
	}
}

// renamed maps the journal's fields that a report action shows under
// another JSON name to that name.
var renamed = map[string]string{
	"outcome": "result", // which also has planned and skipped
	"note":    "reason", // when the plan gives none
}

// A report action and the journal's line for the same move say the same
// thing: every journal field is an action field of the same name (or
// renamed, above), with the same value in report.json as in journal.jsonl.
func TestActionSharesTheJournalsFields(t *testing.T) {
	jt, act := reflect.TypeFor[executor.JournalEntry](), reflect.TypeFor[Action]()
	byJSON := map[string]reflect.StructField{}
	for i := range act.NumField() {
		byJSON[jsonName(act.Field(i))] = act.Field(i)
	}
	for i := range jt.NumField() {
		f := jt.Field(i)
		if to := renamed[jsonName(f)]; to != "" {
			if _, ok := byJSON[to]; !ok {
				t.Errorf("journal field %q is shown as action field %q, which Action lacks", jsonName(f), to)
			}
			continue
		}
		if af, ok := byJSON[jsonName(f)]; !ok || af.Name != f.Name {
			t.Errorf("journal field %s (%q) is not a report action field of the same name: show it in Action, or list it in renamed", f.Name, jsonName(f))
		}
	}

	// A connector's move and an application's: each leaves the other
	// kind's fields empty (omitted from its line), and between them they
	// set every field of the journal.
	res := executor.Result{Change: 0, Outcome: executor.Failed, Attempts: 3, Error: "graph: 503 busy", Note: "retried",
		Call:      apierr.Call{Status: 503, RequestID: "req-9", ClientRequestID: "cli-9", BatchRequestID: "batch-9"},
		StartedAt: at(1, 250).In(paris), FinishedAt: at(2, 5).In(paris)}
	set := map[string]bool{}
	for _, c := range []plan.Change{fixturePlan().Changes[0], fixtureAppChanges()[0]} {
		c.Reason = ""
		entry := executor.EntryFor(c, res)
		var journalLine, action map[string]any
		decode := func(v any, into *map[string]any) {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, into); err != nil {
				t.Fatal(err)
			}
		}
		decode(entry, &journalLine)
		decode(Build(applyRun(), nil, &plan.Plan{Changes: []plan.Change{c}}, []executor.Result{res}).Actions[0], &action)
		for k, v := range journalLine {
			set[k] = true
			want := k
			if to := renamed[k]; to != "" {
				want = to
			}
			if !reflect.DeepEqual(action[want], v) {
				t.Errorf("%s: journal %s = %v, report action %s = %v", c.KindName(), k, v, want, action[want])
			}
		}
		// The journal leaves a connector's kind out; the report says it.
		if action["kind"] != c.KindName() {
			t.Errorf("%s: report action kind = %v", c.KindName(), action["kind"])
		}
	}
	if len(set) != jt.NumField() {
		var unset []string
		for i := range jt.NumField() {
			if name := jsonName(jt.Field(i)); !set[name] {
				unset = append(unset, name)
			}
		}
		t.Fatalf("the fixtures leave journal fields empty (%d of %d set, not %v): set them all", len(set), jt.NumField(), unset)
	}
}

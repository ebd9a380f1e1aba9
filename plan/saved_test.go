package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const graphBeta = "https://graph.microsoft.com/beta"

var saveMeta = SaveMeta{
	GraphURL:      graphBeta,
	MappingPath:   "mapping.csv",
	MappingSHA256: "5e0c7a1d9b2f4c6e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f",
	MappingRows:   4,
	Version:       "v1.2.3",
	CreatedAt:     time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600)),
}

// savedFixture: EU gets fra1 and loses fra3 (which idles in Default), in
// two waves because EU's only active connector is fra3; US and Lab are not
// involved.
func savedFixture() (*State, *Mapping) {
	s := tenant("Default! EU+2 US+ Lab", "fra1@Default fra2@EU- fra3@EU sea1@US sea2@US lab1@Lab")
	return s, mapping("fra1>EU fra3>Default sea1>US")
}

func saveToBytes(t *testing.T, p *Plan) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Save(&buf, p, saveMeta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSavedRoundTrip(t *testing.T) {
	s, m := savedFixture()
	p := Build(m, s, Options{MinActive: 1, MaxChanges: 50})
	if p.Refused() || p.WaveCount() != 2 {
		t.Fatalf("fixture: refused %v, %d waves: %+v", p.Refusals, p.WaveCount(), p.Changes)
	}
	data := saveToBytes(t, p)
	sv, err := LoadSaved(bytes.NewReader(data), "plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := sv.Check(s, graphBeta); err != nil {
		t.Errorf("Check against the same tenant: %v", err)
	}
	if err := sv.Check(s, graphBeta+"/"); err != nil {
		t.Errorf("a trailing slash is the same URL: %v", err)
	}

	// What the file records.
	if sv.Format != SavedFormat || sv.Tool != "connrecon" || sv.Version != "v1.2.3" || sv.GraphURL != graphBeta {
		t.Errorf("header: %+v", sv)
	}
	if want := saveMeta.CreatedAt.UTC(); !sv.CreatedAt.Equal(want) || sv.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", sv.CreatedAt, want)
	}
	if sv.Mapping != (SavedMapping{Path: "mapping.csv", SHA256: saveMeta.MappingSHA256, Rows: 4}) {
		t.Errorf("Mapping = %+v", sv.Mapping)
	}
	if sv.Options != p.Options || sv.Summary != p.Summary() || sv.Waves != 2 || sv.Fingerprint != Fingerprint(s, p.Changes) {
		t.Errorf("options %+v summary %+v waves %d fingerprint %s", sv.Options, sv.Summary, sv.Waves, sv.Fingerprint)
	}
	if got := len(sv.Involved.Connectors); got != 2 {
		t.Errorf("%d involved connectors, want fra1 and fra3", got)
	}
	var groups []string
	for _, g := range sv.Involved.Groups {
		groups = append(groups, g.Name)
	}
	slices.Sort(groups)
	if want := []string{"Default", "EU"}; !slices.Equal(groups, want) {
		t.Errorf("involved groups %q, want %q (sea1 is a noop: US is not involved)", groups, want)
	}

	// Plan() gives back exactly the saved moves, in apply order.
	q := sv.Plan()
	var want []Change
	for _, i := range p.Moves() {
		want = append(want, p.Changes[i])
	}
	if !reflect.DeepEqual(q.Changes, want) {
		t.Errorf("Plan().Changes:\n got %+v\nwant %+v", q.Changes, want)
	}
	if q.Refused() || q.WaveCount() != 2 || q.Options != p.Options || !reflect.DeepEqual(q.Groups, p.Groups) {
		t.Errorf("Plan(): %+v", q)
	}
	// A loaded plan can be saved again, to the same content.
	again := saveToBytes(t, q)
	sv2, err := LoadSaved(bytes.NewReader(again), "again.json")
	if err != nil {
		t.Fatal(err)
	}
	sv2.Summary = sv.Summary // Plan() keeps the moves only
	sv2.Checksum, sv.Checksum = "", ""
	if !reflect.DeepEqual(sv, sv2) {
		t.Errorf("saved again differs:\n%+v\n%+v", sv, sv2)
	}
}

func TestSaveRefuses(t *testing.T) {
	s, _ := savedFixture()
	for _, tt := range []struct {
		name string
		p    *Plan
		meta SaveMeta
		err  string
	}{
		{"refused plan", Build(mapping("fra3>US"), s, Options{MinActive: 1}), saveMeta, "it is refused (after this plan"},
		{"invalid rows", Build(mapping("fra1>EU ghost>EU"), s, Options{MinActive: 1}), saveMeta, "it has 1 invalid rows"},
		{"no Graph URL", Build(mapping("fra1>EU"), s, Options{MinActive: 1}), SaveMeta{}, "no Graph URL"},
		{"not built", &Plan{}, saveMeta, "not made by Build"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Save(&buf, tt.p, tt.meta)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Save error = %v, want one containing %q", err, tt.err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes", buf.Len())
			}
		})
	}
}

func TestSavedCheckStale(t *testing.T) {
	s, m := savedFixture()
	sv, err := LoadSaved(bytes.NewReader(saveToBytes(t, Build(m, s, Options{MinActive: 1}))), "plan.json")
	if err != nil {
		t.Fatal(err)
	}
	conn := func(s *State, name string) *Connector {
		for i := range s.Connectors {
			if strings.HasPrefix(s.Connectors[i].MachineName, name+".") {
				return &s.Connectors[i]
			}
		}
		t.Fatalf("no connector %s", name)
		return nil
	}
	group := func(s *State, name string) *Group {
		for i := range s.Groups {
			if s.Groups[i].Name == name {
				return &s.Groups[i]
			}
		}
		t.Fatalf("no group %s", name)
		return nil
	}
	tests := []struct {
		name    string
		change  func(s *State)
		url     string
		reasons []string // exactly these, in order; nil: the plan is still good
	}{
		{name: "nothing changed"},
		{
			name:   "a change outside the involved groups does not matter",
			change: func(s *State) { conn(s, "sea2").Status = StatusInactive; conn(s, "lab1").GroupID = group(s, "US").ID },
		},
		{
			name:   "a group renamed does not matter",
			change: func(s *State) { group(s, "EU").Name = "Europe" },
		},
		{
			name:    "membership changed: a connector joined an involved group",
			change:  func(s *State) { conn(s, "sea2").GroupID = group(s, "EU").ID },
			reasons: []string{`group "EU" gained connector sea2.contoso.com`},
		},
		{
			name:    "membership changed: a connector left an involved group",
			change:  func(s *State) { conn(s, "fra2").GroupID = group(s, "Lab").ID },
			reasons: []string{`group "EU" lost connector fra2.contoso.com`},
		},
		{
			name:    "membership changed: a moved connector is elsewhere now",
			change:  func(s *State) { conn(s, "fra1").GroupID = group(s, "US").ID },
			reasons: []string{`connector fra1.contoso.com is now in group "US" (was "Default")`},
		},
		{
			name:    "a moved connector deactivated",
			change:  func(s *State) { conn(s, "fra3").Status = StatusInactive },
			reasons: []string{"connector fra3.contoso.com is now inactive (was active)"},
		},
		{
			name:    "a connector of an involved group reactivated",
			change:  func(s *State) { conn(s, "fra2").Status = StatusActive },
			reasons: []string{`connector fra2.contoso.com in group "EU" is now active (was inactive)`},
		},
		{
			name: "an application removed and one added",
			change: func(s *State) {
				eu := group(s, "EU")
				eu.Applications = append(eu.Applications[1:], Application{ID: "ab000000-0000-4000-8000-000000000001", DisplayName: "Payroll"})
			},
			reasons: []string{`group "EU" gained application Payroll`, `group "EU" lost application EU app 1`},
		},
		{
			name: "a moved connector uninstalled",
			change: func(s *State) {
				s.Connectors = slices.DeleteFunc(s.Connectors, func(c Connector) bool { return c.MachineName == "fra1.contoso.com" })
			},
			reasons: []string{"connector fra1.contoso.com (cc000000-0000-4000-8000-000000000001) is no longer in the tenant"},
		},
		{
			name: "an involved group deleted",
			change: func(s *State) {
				id := group(s, "EU").ID
				s.Groups = slices.DeleteFunc(s.Groups, func(g Group) bool { return g.ID == id })
			},
			reasons: []string{`group "EU" is no longer in the tenant`},
		},
		{
			name:    "another Graph URL",
			url:     "https://graph.microsoft.us/beta",
			reasons: []string{"the plan was made for https://graph.microsoft.com/beta, not https://graph.microsoft.us/beta"},
		},
		{
			name:   "another Graph URL and the tenant changed",
			url:    "http://127.0.0.1:8080/beta",
			change: func(s *State) { conn(s, "fra3").Status = StatusInactive },
			reasons: []string{
				"the plan was made for https://graph.microsoft.com/beta, not http://127.0.0.1:8080/beta",
				"connector fra3.contoso.com is now inactive (was active)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, _ := savedFixture()
			if tt.change != nil {
				tt.change(cur)
			}
			url := tt.url
			if url == "" {
				url = graphBeta
			}
			err := sv.Check(cur, url)
			if tt.reasons == nil {
				if err != nil {
					t.Errorf("Check = %v, want nil", err)
				}
				return
			}
			var stale *StaleError
			if !errors.As(err, &stale) {
				t.Fatalf("Check = %v, want a *StaleError", err)
			}
			if !slices.Equal(stale.Reasons, tt.reasons) {
				t.Errorf("reasons:\n got %q\nwant %q", stale.Reasons, tt.reasons)
			}
			if !strings.HasPrefix(err.Error(), "stale plan: ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// reseal encodes sv as a plan file with its checksum recomputed, as anyone
// who can write the file can do; the fingerprint is left as it is.
func reseal(t *testing.T, sv *Saved) []byte {
	t.Helper()
	c := *sv
	sum, err := checksum(&c)
	if err != nil {
		t.Fatal(err)
	}
	c.Checksum = sum
	out, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Each way of altering a plan file is refused as altered (exit 3), and
// the refusal names what is wrong with the file, not the tenant.
func TestLoadSavedAltered(t *testing.T) {
	s, m := savedFixture()
	data := saveToBytes(t, Build(m, s, Options{MinActive: 1}))
	orig, err := LoadSaved(bytes.NewReader(data), "plan.json")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(doc map[string]any)) []byte {
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		f(doc)
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// resealed: the content edited and its checksum recomputed, the
	// fingerprint left alone.
	resealed := func(f func(sv *Saved)) []byte {
		sv := *orig
		sv.Changes = slices.Clone(orig.Changes)
		sv.Involved.Connectors = slices.Clone(orig.Involved.Connectors)
		f(&sv)
		return reseal(t, &sv)
	}
	us := s.Groups[slices.IndexFunc(s.Groups, func(g Group) bool { return g.Name == "US" })].ID
	flipInChange := func() []byte {
		// One byte of the first change's destination group id.
		i := bytes.Index(data, []byte(`"changes": [`))
		j := bytes.Index(data[i:], []byte(`"toGroupId": "`))
		out := bytes.Clone(data)
		k := i + j + len(`"toGroupId": "`)
		out[k] ^= 0x01
		return out
	}
	const (
		onlyChecksum = "plan.json: its checksum does not match its content, which is otherwise consistent"
		mismatch     = "plan.json: its content does not match its checksum: the content was edited or damaged after it was written"
	)
	for _, tt := range []struct {
		name    string
		data    []byte
		reasons []string // altered: the reasons, each containing these, in order
		err     string   // otherwise: a plain error containing this
	}{
		// The checksum alone edited: the content is whole, so that is
		// the only reason.
		{name: "the checksum replaced by another digest", data: edit(func(doc map[string]any) { doc["checksum"] = strings.Repeat("ab", 32) }), reasons: []string{onlyChecksum}},
		{name: "the checksum removed", data: edit(func(doc map[string]any) { delete(doc, "checksum") }), reasons: []string{"plan.json: it has no checksum"}},
		{name: "the checksum emptied", data: edit(func(doc map[string]any) { doc["checksum"] = "" }), reasons: []string{"plan.json: it has no checksum"}},
		{name: "the checksum in capitals", data: edit(func(doc map[string]any) { doc["checksum"] = strings.ToUpper(doc["checksum"].(string)) }), reasons: []string{"plan.json: its checksum \"", "is not a sha256 digest as connrecon writes one"}},
		{name: "the checksum cut short", data: edit(func(doc map[string]any) { doc["checksum"] = doc["checksum"].(string)[:10] }), reasons: []string{"is not a sha256 digest"}},
		{name: "the checksum a number", data: edit(func(doc map[string]any) { doc["checksum"] = 12345.0 }), reasons: []string{"plan.json: its field \"checksum\" holds a JSON number, not the string connrecon writes there"}},
		// The content edited, the checksum left: which part, when it shows.
		{name: "one byte flipped inside a change", data: flipInChange(), reasons: []string{mismatch, "which the tenant state it records lacks"}},
		{name: "a change removed", data: edit(func(doc map[string]any) { doc["changes"] = doc["changes"].([]any)[1:] }), reasons: []string{mismatch, "its summary counts 2 moves, but it lists 1"}},
		{name: "a wave changed", data: edit(func(doc map[string]any) { doc["changes"].([]any)[1].(map[string]any)["wave"] = 1.0 }), reasons: []string{mismatch, "it says its moves run in 2 waves, but they are in 1"}},
		{name: "the fingerprint replaced", data: edit(func(doc map[string]any) { doc["fingerprint"] = strings.Repeat("0", 64) }), reasons: []string{mismatch, "its fingerprint is not that of the tenant state it records"}},
		{name: "a group name changed", data: edit(func(doc map[string]any) { doc["changes"].([]any)[0].(map[string]any)["toGroupName"] = "US" }), reasons: []string{mismatch, `named "US", but the tenant state it records names that group "EU"`}},
		{name: "a field added", data: edit(func(doc map[string]any) { doc["approvedBy"] = "someone" }), reasons: []string{`plan.json: it has a field connrecon does not write: "approvedBy"`}},
		{name: "a wave of the wrong type", data: edit(func(doc map[string]any) { doc["changes"].([]any)[0].(map[string]any)["wave"] = "1" }), reasons: []string{`its field "changes.wave" holds a JSON string, not the int connrecon writes there`}},
		// The content edited and the checksum recomputed, the fingerprint
		// not: the file contradicts itself, and the refusal says where
		// (today's code blamed the tenant: "the tenant state the plan
		// depends on changed").
		{name: "resealed: a move sent to another group", data: resealed(func(sv *Saved) { sv.Changes[0].ToGroupID = us }), reasons: []string{"plan.json: the move of \"fra1.contoso.com\" (row 2) to group " + us + ", which the tenant state it records lacks"}},
		{name: "resealed: a status changed", data: resealed(func(sv *Saved) { sv.Changes[0].ConnectorStatus = StatusInactive }), reasons: []string{`says it is "inactive", but the tenant state it records says "active"`}},
		{name: "resealed: the recorded state changed", data: resealed(func(sv *Saved) { sv.Involved.Connectors[0].Status = StatusInactive }), reasons: []string{`the tenant state it records says "inactive"`, "its fingerprint is not that of the tenant state it records"}},
		{name: "resealed: a move listed twice", data: resealed(func(sv *Saved) { sv.Changes = append(sv.Changes, sv.Changes[0]); sv.Summary.Move++ }), reasons: []string{"plan.json: it moves connector cc000000-0000-4000-8000-000000000001 twice"}},
		{name: "resealed: a noop listed", data: resealed(func(sv *Saved) { sv.Changes[0].Action = ActionNoop }), reasons: []string{`as "noop", but a saved plan holds moves only`}},
		{name: "resealed: a huge mapping", data: resealed(func(sv *Saved) { sv.Mapping.Rows = 1 << 40 }), reasons: []string{"plan.json: it records a mapping of 1099511627776 rows"}},
		{name: "resealed: an unknown option", data: resealed(func(sv *Saved) { sv.Options.Unlisted = "everything\x1b[2J" }), reasons: []string{`it records --unlisted "everything\x1b[2J"`}},
		{name: "resealed: an unlisted move without --unlisted default", data: resealed(func(sv *Saved) {
			sv.Changes[0].Row, sv.Changes[0].MappedConnector, sv.Changes[0].MappedGroup = 0, "", ""
		}), reasons: []string{"is of a connector not in the mapping, but the plan was not made with --unlisted default"}},
		{name: "only the layout changed", data: edit(func(map[string]any) {})},
		{name: "not JSON", data: []byte("Machine Name,Connector Group\n"), err: "plan.json: not a connrecon plan file"},
		{name: "another tool's JSON", data: []byte(`{"format": 1, "changes": []}`), err: "not a connrecon plan file"},
		{name: "a JSON array", data: []byte(`[1, 2]`), err: "plan.json: not a connrecon plan file: a JSON array, not an object"},
		{name: "a newer format", data: edit(func(doc map[string]any) { doc["format"] = 2.0 }), err: "plan file format 2, but this connrecon reads format 1"},
		{name: "a format that is no number", data: edit(func(doc map[string]any) { doc["format"] = "one" }), err: `plan file format "one", but this connrecon reads format 1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sv, err := LoadSaved(bytes.NewReader(tt.data), "plan.json")
			var stale *StaleError
			switch {
			case tt.reasons != nil:
				if !errors.As(err, &stale) || !stale.Altered {
					t.Fatalf("LoadSaved error = %v, want an altered plan file", err)
				}
				if !strings.HasPrefix(err.Error(), "altered plan file: plan.json: ") {
					t.Errorf("message %q", err)
				}
				at := 0
				for _, want := range tt.reasons {
					for at < len(stale.Reasons) && !strings.Contains(stale.Reasons[at], want) {
						at++
					}
					if at == len(stale.Reasons) {
						t.Fatalf("reasons %q\nlack %q (in this order: %q)", stale.Reasons, want, tt.reasons)
					}
				}
				if tt.reasons[0] == onlyChecksum && len(stale.Reasons) != 1 {
					t.Errorf("only the checksum was edited, but the reasons are %q", stale.Reasons)
				}
				for _, r := range stale.Reasons {
					if strings.Contains(r, "tenant state the plan depends on changed") || strings.Contains(r, "\x1b") {
						t.Errorf("reason %q", r)
					}
				}
			case tt.err != "":
				if err == nil || errors.As(err, &stale) || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("LoadSaved error = %v, want a plain one containing %q", err, tt.err)
				}
			default:
				if err != nil {
					t.Errorf("LoadSaved error = %v", err)
				} else if err := sv.Check(s, graphBeta); err != nil {
					t.Errorf("Check = %v", err)
				}
			}
		})
	}
}

// A Saved changed in code (not read from a file) is caught by Check, as
// altered, and not compared with the tenant: a diff would blame the tenant
// for the edit.
func TestSavedCheckInconsistent(t *testing.T) {
	s, m := savedFixture()
	us := s.Groups[slices.IndexFunc(s.Groups, func(g Group) bool { return g.Name == "US" })].ID
	for _, tt := range []struct {
		name   string
		change func(sv *Saved)
		reason string
	}{
		{"recorded status", func(sv *Saved) { sv.Involved.Connectors[0].Status = StatusInactive }, `the tenant state it records says "inactive"`},
		{"destination", func(sv *Saved) { sv.Changes[0].ToGroupID = us }, "which the tenant state it records lacks"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sv, err := LoadSaved(bytes.NewReader(saveToBytes(t, Build(m, s, Options{MinActive: 1}))), "plan.json")
			if err != nil {
				t.Fatal(err)
			}
			tt.change(sv)
			var stale *StaleError
			err = sv.Check(s, graphBeta)
			if !errors.As(err, &stale) || !stale.Altered || !strings.Contains(stale.Reasons[0], tt.reason) {
				t.Fatalf("Check = %v, want altered: %s", err, tt.reason)
			}
			for _, r := range stale.Reasons {
				if strings.Contains(r, " is now ") || strings.Contains(r, "no longer in the tenant") || strings.Contains(r, "changed") {
					t.Errorf("reason %q blames the tenant", r)
				}
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	s, m := savedFixture()
	p := Build(m, s, Options{})
	fp := Fingerprint(s, p.Changes)
	if len(fp) != 64 {
		t.Fatalf("fingerprint %q", fp)
	}
	// Independent of the order Graph listed things in, and of id case.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		c := &State{Connectors: slices.Clone(s.Connectors), Groups: slices.Clone(s.Groups)}
		rng.Shuffle(len(c.Connectors), func(i, j int) { c.Connectors[i], c.Connectors[j] = c.Connectors[j], c.Connectors[i] })
		rng.Shuffle(len(c.Groups), func(i, j int) { c.Groups[i], c.Groups[j] = c.Groups[j], c.Groups[i] })
		for i := range c.Connectors {
			c.Connectors[i].ID = strings.ToUpper(c.Connectors[i].ID)
		}
		if got := Fingerprint(c, p.Changes); got != fp {
			t.Errorf("fingerprint changed with order or case: %s, %s", got, fp)
		}
	}
	// Only moves count: the same plan without its noop has the same one.
	moves := slices.DeleteFunc(slices.Clone(p.Changes), func(c Change) bool { return c.Action != ActionMove })
	if got := Fingerprint(s, moves); got != fp {
		t.Errorf("noops changed the fingerprint")
	}
	// And it changes with what it covers.
	c := &State{Connectors: slices.Clone(s.Connectors), Groups: slices.Clone(s.Groups)}
	c.Connectors[0].Status = StatusInactive // fra1, moved
	if Fingerprint(c, p.Changes) == fp {
		t.Errorf("fingerprint ignores a moved connector's status")
	}
}

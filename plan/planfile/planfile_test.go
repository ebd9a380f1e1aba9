package planfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"connrecon/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files (only when the format is meant to change: bump Format)")

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
// involved. The tenant (testdata/tenant.json) is package plan's test
// tenant "Default! EU+2 US+ Lab" with "fra1@Default fra2@EU- fra3@EU
// sea1@US sea2@US lab1@Lab", whose ids the golden files hold.
func savedFixture() (*plan.State, *plan.Mapping) {
	b, err := os.ReadFile(filepath.Join("testdata", "tenant.json"))
	s := &plan.State{}
	if err == nil {
		err = json.Unmarshal(b, s)
	}
	if err != nil {
		panic(err)
	}
	return s, mapping("fra1>EU fra3>Default sea1>US")
}

// mapping builds rows from "fra1>US sea1>EU", rows 2, 3, … in that order.
func mapping(rows string) *plan.Mapping {
	m := &plan.Mapping{}
	for i, w := range strings.Fields(rows) {
		conn, group, _ := strings.Cut(w, ">")
		m.Rows = append(m.Rows, plan.Row{Line: i + 2, Connector: conn, Group: group})
	}
	return m
}

func saveToBytes(t *testing.T, p *plan.Plan, s *plan.State) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Save(&buf, p, s, saveMeta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func movesOf(p *plan.Plan) []plan.Change {
	var out []plan.Change
	for _, i := range p.Moves() {
		out = append(out, p.Changes[i])
	}
	return out
}

// The file format on disk does not change without a new Format: the
// golden files were written by connrecon before the format had a package
// of its own, and Save writes them again byte for byte, and Load reads
// them, with the same moves back.
func TestGolden(t *testing.T) {
	s, m := savedFixture()
	for _, tt := range []struct {
		file string
		opts plan.Options
	}{
		{"saved.golden", plan.Options{MinActive: 1, MaxChanges: 50}},
		{"saved-unlisted.golden", plan.Options{MinActive: 1, Unlisted: plan.UnlistedDefault}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			p := plan.Build(m, s, tt.opts)
			got := saveToBytes(t, p, s)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Save wrote other bytes than %s:\n%s", path, got)
			}
			sv, err := Load(bytes.NewReader(want), tt.file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(sv.Changes, movesOf(p)) {
				t.Errorf("loaded moves:\n got %+v\nwant %+v", sv.Changes, movesOf(p))
			}
		})
	}
}

func TestSavedRoundTrip(t *testing.T) {
	s, m := savedFixture()
	p := plan.Build(m, s, plan.Options{MinActive: 1, MaxChanges: 50})
	if p.Refused() || p.WaveCount() != 2 {
		t.Fatalf("fixture: refused %v, %d waves: %+v", p.Refusals, p.WaveCount(), p.Changes)
	}
	data := saveToBytes(t, p, s)
	sv, err := Load(bytes.NewReader(data), "plan.json")
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
	if sv.Format != Format || sv.Tool != "connrecon" || sv.Version != "v1.2.3" || sv.GraphURL != graphBeta {
		t.Errorf("header: %+v", sv)
	}
	if want := saveMeta.CreatedAt.UTC(); !sv.CreatedAt.Equal(want) || sv.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", sv.CreatedAt, want)
	}
	if sv.Mapping != (SavedMapping{Path: "mapping.csv", SHA256: saveMeta.MappingSHA256, Rows: 4}) {
		t.Errorf("Mapping = %+v", sv.Mapping)
	}
	if sv.Options != p.Options || sv.Summary != p.Summary() || sv.Waves != 2 || sv.Fingerprint != plan.Fingerprint(s, p.Changes) {
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
	var want []plan.Change
	for _, i := range p.Moves() {
		want = append(want, p.Changes[i])
	}
	if !reflect.DeepEqual(q.Changes, want) {
		t.Errorf("Plan().Changes:\n got %+v\nwant %+v", q.Changes, want)
	}
	if q.Refused() || q.WaveCount() != 2 || q.Options != p.Options || !reflect.DeepEqual(q.Groups, p.Groups) {
		t.Errorf("Plan(): %+v", q)
	}
	// A loaded plan saved again with the same tenant has the same content:
	// nothing Save records is lost on the way.
	again := saveToBytes(t, q, s)
	sv2, err := Load(bytes.NewReader(again), "again.json")
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
		name  string
		p     *plan.Plan
		state *plan.State
		meta  SaveMeta
		err   string
	}{
		{"refused plan", plan.Build(mapping("fra3>US"), s, plan.Options{MinActive: 1}), s, saveMeta, "it is refused (after this plan"},
		{"invalid rows", plan.Build(mapping("fra1>EU ghost>EU"), s, plan.Options{MinActive: 1}), s, saveMeta, "it has 1 invalid rows"},
		{"no Graph URL", plan.Build(mapping("fra1>EU"), s, plan.Options{MinActive: 1}), s, SaveMeta{}, "no Graph URL"},
		{"a huge mapping", plan.Build(mapping("fra1>EU"), s, plan.Options{MinActive: 1}), s, SaveMeta{GraphURL: graphBeta, MappingRows: 1<<20 + 1}, "its mapping has 1048577 rows, more than a saved plan records (1048576): apply it with -m"},
		{"no tenant state", plan.Build(mapping("fra1>EU"), s, plan.Options{MinActive: 1}), nil, saveMeta, "not saving the plan: no tenant state given, so what it depends on is unknown"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Save(&buf, tt.p, tt.state, tt.meta)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Save error = %v, want one containing %q", err, tt.err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes", buf.Len())
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
func TestLoadAltered(t *testing.T) {
	s, m := savedFixture()
	data := saveToBytes(t, plan.Build(m, s, plan.Options{MinActive: 1}), s)
	orig, err := Load(bytes.NewReader(data), "plan.json")
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
	us := s.Groups[slices.IndexFunc(s.Groups, func(g plan.Group) bool { return g.Name == "US" })].ID
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
		{name: "resealed: a status changed", data: resealed(func(sv *Saved) { sv.Changes[0].ConnectorStatus = plan.StatusInactive }), reasons: []string{`says it is "inactive", but the tenant state it records says "active"`}},
		{name: "resealed: the recorded state changed", data: resealed(func(sv *Saved) { sv.Involved.Connectors[0].Status = plan.StatusInactive }), reasons: []string{`the tenant state it records says "inactive"`, "its fingerprint is not that of the tenant state it records"}},
		{name: "resealed: a move listed twice", data: resealed(func(sv *Saved) { sv.Changes = append(sv.Changes, sv.Changes[0]); sv.Summary.Move++ }), reasons: []string{"plan.json: it moves connector cc000000-0000-4000-8000-000000000001 twice"}},
		{name: "resealed: a noop listed", data: resealed(func(sv *Saved) { sv.Changes[0].Action = plan.ActionNoop }), reasons: []string{`as "noop", but a saved plan holds moves only`}},
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
			sv, err := Load(bytes.NewReader(tt.data), "plan.json")
			var stale *plan.StaleError
			switch {
			case tt.reasons != nil:
				if !errors.As(err, &stale) || !stale.Altered {
					t.Fatalf("Load error = %v, want an altered plan file", err)
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
					t.Errorf("Load error = %v, want a plain one containing %q", err, tt.err)
				}
			default:
				if err != nil {
					t.Errorf("Load error = %v", err)
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
	us := s.Groups[slices.IndexFunc(s.Groups, func(g plan.Group) bool { return g.Name == "US" })].ID
	for _, tt := range []struct {
		name   string
		change func(sv *Saved)
		reason string
	}{
		{"recorded status", func(sv *Saved) { sv.Involved.Connectors[0].Status = plan.StatusInactive }, `the tenant state it records says "inactive"`},
		{"destination", func(sv *Saved) { sv.Changes[0].ToGroupID = us }, "which the tenant state it records lacks"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sv, err := Load(bytes.NewReader(saveToBytes(t, plan.Build(m, s, plan.Options{MinActive: 1}), s)), "plan.json")
			if err != nil {
				t.Fatal(err)
			}
			tt.change(sv)
			var stale *plan.StaleError
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

// BenchmarkLoad: reading the plan file of 10,000 moves among 100,000
// connectors (package plan's BenchmarkReplan is what apply does next).
func BenchmarkLoad(b *testing.B) {
	const n, g = 100_000, 5_000
	s := &plan.State{Groups: make([]plan.Group, g), Connectors: make([]plan.Connector, n)}
	for k := range s.Groups {
		s.Groups[k] = plan.Group{ID: fmt.Sprintf("9b000000-0000-4000-8000-%012x", k), Name: fmt.Sprintf("Site %05d", k),
			Applications: []plan.Application{{ID: fmt.Sprintf("ab000000-0000-4000-8000-%012x", k), DisplayName: fmt.Sprintf("App %05d", k)}}}
	}
	m := &plan.Mapping{}
	for i := range s.Connectors {
		k := i % g
		s.Connectors[i] = plan.Connector{ID: fmt.Sprintf("cb000000-0000-4000-8000-%012x", i), MachineName: fmt.Sprintf("appproxy-%06d.contoso.com", i), Status: plan.StatusActive, GroupID: s.Groups[k].ID}
		if i/g < 2 { // two of each group's 20 move on to the next group
			m.Rows = append(m.Rows, plan.Row{Line: len(m.Rows) + 2, Connector: s.Connectors[i].MachineName, Group: s.Groups[(k+1)%g].Name})
		}
	}
	plan.SortState(s)
	p := plan.Build(m, s, plan.Options{MinActive: 1})
	var buf bytes.Buffer
	if err := Save(&buf, p, s, saveMeta); err != nil || p.Summary().Move != 10_000 {
		b.Fatalf("Save: %v, %+v", err, p.Summary())
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(bytes.NewReader(data), "plan.json"); err != nil {
			b.Fatal(err)
		}
	}
}

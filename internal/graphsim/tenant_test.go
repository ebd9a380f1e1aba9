package graphsim

import (
	"strings"
	"testing"
)

func TestLoadTenantFixture(t *testing.T) {
	ten := fixture(t)
	if len(ten.Groups) != 4 || len(ten.Connectors) != 8 {
		t.Fatalf("got %d groups, %d connectors", len(ten.Groups), len(ten.Connectors))
	}
	if ten.Groups[3].Region != "japan" {
		t.Errorf("off-list region not kept: %q", ten.Groups[3].Region)
	}
}

func TestLoadTenantErrors(t *testing.T) {
	g := func(id, name string, def bool) string {
		return `{"id":"` + id + `","name":"` + name + `","isDefault":` + map[bool]string{true: "true", false: "false"}[def] + `}`
	}
	c := func(id, name, group string) string {
		return `{"id":"` + id + `","machineName":"` + name + `","status":"active","group":"` + group + `"}`
	}
	tenant := func(groups, conns []string) string {
		return `{"groups":[` + strings.Join(groups, ",") + `],"connectors":[` + strings.Join(conns, ",") + `]}`
	}
	tests := []struct {
		name, json string
		want       []string // substrings of the error
	}{
		{"unknown field", `{"groups":[],"connectors":[],"extra":1}`, []string{`unknown field "extra"`}},
		{"unknown nested field", `{"groups":[{"id":"g","isDefault":true,"colour":"red"}]}`, []string{`unknown field "colour"`}},
		{"bad json", `{"groups":[`, []string{"tenant"}},
		{"trailing data", tenant([]string{g("g1", "D", true)}, nil) + `{}`, []string{"after the JSON object"}},
		{"no default", tenant([]string{g("g1", "A", false)}, nil), []string{"no default group"}},
		{"two defaults", tenant([]string{g("g1", "A", true), g("g2", "B", true)}, nil), []string{`group #2 "B"`, "second default", `group #1 "A"`}},
		{"duplicate group id", tenant([]string{g("g1", "A", true), g("G1", "B", false)}, nil), []string{`group #2 "B"`, `"G1"`, `group #1 "A"`}},
		{"duplicate connector id", tenant([]string{g("g1", "A", true)}, []string{c("c1", "m1", ""), c("c1", "m2", "")}), []string{`connector #2 "m2"`, `connector #1 "m1"`}},
		{"connector id used by group", tenant([]string{g("x", "A", true)}, []string{c("x", "m1", "")}), []string{`connector #1 "m1"`, `group #1 "A"`}},
		{"empty connector id", tenant([]string{g("g1", "A", true)}, []string{c("", "m1", "")}), []string{`connector #1 "m1"`, "empty id"}},
		{"empty group id", tenant([]string{g("", "A", true)}, nil), []string{`group #1 "A"`, "empty id"}},
		{"missing group", tenant([]string{g("g1", "A", true)}, []string{c("c1", "m1", "nope")}), []string{`connector #1 "m1"`, "c1", `"nope"`, "does not exist"}},
		{"duplicate application id", `{"groups":[{"id":"g1","isDefault":true,"applications":[{"id":"a"},{"id":"a","displayName":"App2"}]}]}`, []string{`application #2 "App2"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadTenant(strings.NewReader(tt.json))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadTenantFileErrors(t *testing.T) {
	if _, err := LoadTenantFile("testdata/nope.json"); err == nil {
		t.Error("missing file: no error")
	}
}

func TestCloneIsDeep(t *testing.T) {
	a := fixture(t)
	b := a.Clone()
	b.Groups[1].Applications[0].DisplayName = "changed"
	b.Groups[0].Name = "changed"
	b.Connectors[0].Group = "changed"
	if a.Groups[1].Applications[0].DisplayName == "changed" || a.Groups[0].Name == "changed" || a.Connectors[0].Group == "changed" {
		t.Error("Clone shares memory with the original")
	}
	if b.Groups[0].Applications == nil {
		t.Error("Clone turned an empty application list into nil")
	}
	if (*Tenant)(nil).Clone() != nil {
		t.Error("nil Clone")
	}
}

func TestNewPanicsOnInvalidTenant(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	New(&Tenant{}, Options{})
}

func TestNewNormalisesAndCopies(t *testing.T) {
	ten := fixture(t)
	s := New(ten, Options{})
	ten.Connectors[0].Group = gJP // must not reach the server
	st := s.State()
	if got := groupOf(st, c1); got != gUS {
		t.Errorf("c1 in %s, want %s (New must deep-copy)", got, gUS)
	}
	if got := groupOf(st, c6); got != gDefault {
		t.Errorf("c6 (empty group) in %q, want the default group", got)
	}
	st.Connectors[0].Group = "x"
	if groupOf(s.State(), c1) != gUS {
		t.Error("State is not a copy")
	}
}

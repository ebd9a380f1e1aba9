package plan

import (
	"bytes"
	"strings"
	"testing"
)

// regionTenant: a default group in region def and one group per entry of
// regions (name → region), each holding one active connector named
// "c-"+group name; the default group holds "c-Default".
func regionTenant(def string, regions map[string]string) *State {
	s := &State{Groups: []Group{{ID: "g-default", Name: "Default", IsDefault: true, Region: def}}}
	s.Connectors = append(s.Connectors, Connector{ID: "c-default", MachineName: "c-Default", Status: StatusActive, GroupID: "g-default"})
	for name, r := range regions {
		s.Groups = append(s.Groups, Group{ID: "g-" + name, Name: name, Region: r})
		s.Connectors = append(s.Connectors, Connector{ID: "c-" + name, MachineName: "c-" + name, Status: StatusActive, GroupID: "g-" + name})
	}
	return s
}

const regionTail = ": the service lets a connector into a region-specific group only from a group that uses the default region; expect it to be refused (move it through the default group first)"

// The region rule: a move into a region-specific group from a group that
// does not use the default region is warned about, naming both groups and
// regions; every other move is not. Nothing is blocked.
func TestRegionRuleWarnings(t *testing.T) {
	groups := map[string]string{
		"Asia - Tokyo":    "asia",
		"EU - Frankfurt":  "eur",
		"EU - Paris":      "EUR",
		"US - East":       "nam",
		"No region":       "",
		"Japan":           "japan",
		"Future":          "unknownFutureValue",
		"Odd\x1b[2J":      "as ia",
		"Also no region":  "",
		"US - West (nam)": "nam",
	}
	for _, tt := range []struct {
		name     string
		def      string // the default group's region
		noDef    bool   // the tenant has no default group
		from, to string // connector "c-"+from moves into group to
		want     string // the warning, "" for none
	}{
		{name: "from the default group into a region", def: "nam", from: "Default", to: "Asia - Tokyo"},
		{name: "from a default-region group into a region", def: "nam", from: "US - East", to: "EU - Frankfurt"},
		{name: "from a group without region into a region", def: "nam", from: "No region", to: "Asia - Tokyo"},
		{name: "region to region", def: "nam", from: "EU - Frankfurt", to: "Asia - Tokyo",
			want: `moves into "Asia - Tokyo" (region asia) from "EU - Frankfurt" (region eur)` + regionTail},
		{name: "same region, other group", def: "nam", from: "EU - Frankfurt", to: "EU - Paris",
			want: `moves into "EU - Paris" (region EUR) from "EU - Frankfurt" (region eur)` + regionTail},
		{name: "into the default group", def: "nam", from: "EU - Frankfurt", to: "Default"},
		{name: "into a default-region group", def: "nam", from: "Asia - Tokyo", to: "US - West (nam)"},
		{name: "into a group without region", def: "nam", from: "Asia - Tokyo", to: "No region"},
		{name: "groups without region", def: "", from: "No region", to: "Also no region"},
		{name: "default region compared without case", def: "NAM", from: "US - East", to: "Asia - Tokyo"},
		{name: "off-list region is region-specific", def: "nam", from: "EU - Frankfurt", to: "Japan",
			want: `moves into "Japan" (region japan) from "EU - Frankfurt" (region eur)` + regionTail},
		{name: "unknownFutureValue is region-specific", def: "nam", from: "Future", to: "Asia - Tokyo",
			want: `moves into "Asia - Tokyo" (region asia) from "Future" (region unknownFutureValue)` + regionTail},
		{name: "off-list default region (seen live: japan)", def: "japan", from: "Japan", to: "Asia - Tokyo"},
		{name: "off-list default region, nam is then region-specific", def: "japan", from: "US - East", to: "EU - Frankfurt",
			want: `moves into "EU - Frankfurt" (region eur) from "US - East" (region nam)` + regionTail},
		{name: "default group without region: nam is region-specific", def: "", from: "US - East", to: "Asia - Tokyo",
			want: `moves into "Asia - Tokyo" (region asia) from "US - East" (region nam)` + regionTail},
		{name: "no default group: only no region is default", noDef: true, from: "US - East", to: "Asia - Tokyo",
			want: `moves into "Asia - Tokyo" (region asia) from "US - East" (region nam)` + regionTail},
		{name: "a region that is no word is quoted", def: "nam", from: "EU - Frankfurt", to: "Odd\x1b[2J",
			want: `moves into "Odd\x1b[2J" (region "as ia") from "EU - Frankfurt" (region eur)` + regionTail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := regionTenant(tt.def, groups)
			if tt.noDef {
				s.Groups[0].IsDefault = false
			}
			m := &Mapping{Rows: []Row{{Line: 2, Connector: "c-" + tt.from, Group: tt.to}}}
			p := Build(m, s, Options{})
			c := p.Changes[0]
			if c.Action != ActionMove {
				t.Fatalf("action %s (%s), want move: the rule warns, it does not block", c.Action, c.Reason)
			}
			if p.Refused() {
				t.Fatalf("plan refused: %+v", p.Refusals)
			}
			var got string
			switch len(c.Warnings) {
			case 0:
			case 1:
				got = c.Warnings[0]
			default:
				t.Fatalf("warnings %q, want at most one", c.Warnings)
			}
			if got != tt.want {
				t.Errorf("warning\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// --unlisted default idles connectors in the default group: never warned,
// whatever region they come from.
func TestRegionRuleUnlistedDefault(t *testing.T) {
	s := regionTenant("nam", map[string]string{"Asia - Tokyo": "asia", "Japan": "japan"})
	p := Build(&Mapping{}, s, Options{Unlisted: UnlistedDefault})
	moves := 0
	for _, c := range p.Changes {
		if c.Action == ActionMove {
			moves++
			if len(c.Warnings) > 0 {
				t.Errorf("%s: warnings %q, want none", c.MachineName, c.Warnings)
			}
		}
	}
	if moves != 2 {
		t.Errorf("%d moves, want 2", moves)
	}
}

// The plan text shows the warning on the move's line.
func TestRegionRuleWarningInText(t *testing.T) {
	s := regionTenant("nam", map[string]string{"Asia - Tokyo": "asia", "EU - Frankfurt": "eur"})
	m := &Mapping{Rows: []Row{{Line: 2, Connector: "c-EU - Frankfurt", Group: "Asia - Tokyo"}, {Line: 3, Connector: "c-Default", Group: "EU - Frankfurt"}}}
	var b bytes.Buffer
	if err := WriteText(&b, Build(m, s, Options{})); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	var warned, plain string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "~ c-EU - Frankfurt"):
			warned = l
		case strings.Contains(l, "~ c-Default"):
			plain = l
		}
	}
	if !strings.Contains(warned, `warning: moves into "Asia - Tokyo" (region asia) from "EU - Frankfurt" (region eur): the service lets`) {
		t.Errorf("warned move's line %q lacks the region warning\n%s", warned, b.String())
	}
	if plain == "" || strings.Contains(plain, "warning") {
		t.Errorf("unwarned move's line %q\n%s", plain, b.String())
	}
}

package plan

import (
	"strings"
	"testing"
)

// cellKey and cellKeyOf give the key the slow path (lower case, line ends
// as LF) gives, for every kind of text; on the common path cellKey returns
// the cell itself.
func TestCellKey(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		same     bool // returned as it is
	}{
		{in: "appproxy-01.contoso.com", want: "appproxy-01.contoso.com", same: true},
		{in: "", want: "", same: true},
		{in: "APPPROXY-01.Contoso.COM", want: "appproxy-01.contoso.com"},
		{in: "Site 00001", want: "site 00001"},
		{in: "a\r\nb\rc\n", want: "a\nb\nc\n"},
		{in: "A\r\nB", want: "a\nb"},
		{in: "Straße ÄÖÜ", want: "straße äöü"},
		{in: "İstanbul", want: strings.ToLower("İstanbul")},
		{in: "\xff\xfeAB", want: strings.ToLower("\xff\xfeAB")},
		{in: "[@`{~]", want: "[@`{~]", same: true}, // next to the capitals in ASCII
	} {
		got := cellKey(tt.in)
		if got != tt.want {
			t.Errorf("cellKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if n := testing.AllocsPerRun(10, func() { got = cellKey(tt.in) }); tt.same && n != 0 {
			t.Errorf("cellKey(%q): %v allocations, want none", tt.in, n)
		}
		ix := newIndex(&State{})
		if got := string(ix.cellKeyOf(tt.in)); got != tt.want {
			t.Errorf("cellKeyOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Resolving a row's cells allocates nothing when they resolve, whatever
// their case: at 100,000 rows an allocation a row was a tenth of Build.
// The agreement check of a row naming its connector and group by id and
// by name allocates nothing either.
func TestResolutionDoesNotAllocate(t *testing.T) {
	s := tenant("Default! EU-Frankfurt+ US", "app1@EU-Frankfurt app2@US")
	ix := newIndex(s)
	c := connByName(t, s, "app1")
	gid := groupID(t, s, "EU-Frankfurt")
	g, _ := ix.group(s, gid)
	ci, _ := ix.connector(s, c.ID)
	for _, tt := range []struct {
		name string
		f    func() bool
	}{
		{"connector by lower-case name", func() bool { i, _ := ix.connector(s, "app1.contoso.com"); return i == ci }},
		{"connector by name with capitals", func() bool { i, _ := ix.connector(s, "APP1.Contoso.com"); return i == ci }},
		{"connector by host part", func() bool { i, _ := ix.connector(s, "App1"); return i == ci }},
		{"group by name with capitals", func() bool { i, _ := ix.group(s, "EU-Frankfurt"); return i == g }},
		{"group by lower-case name", func() bool { i, _ := ix.group(s, "eu-frankfurt"); return i == g }},
		{"connector's name agrees", func() bool { return ix.connectorIs(ci, "APP1.contoso.com") }},
		{"connector's host part agrees", func() bool { return ix.connectorIs(ci, "app1") }},
		{"group's name agrees", func() bool { return ix.groupIs(g, "EU-Frankfurt") }},
	} {
		var ok bool
		if n := testing.AllocsPerRun(100, func() { ok = tt.f() }); n != 0 || !ok {
			t.Errorf("%s: %v allocations, resolved %v; want none, resolved", tt.name, n, ok)
		}
	}
}

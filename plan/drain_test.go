package plan

import (
	"errors"
	"strings"
	"testing"
)

// A drain plans each listed connector into the default group: a move for
// one elsewhere, a no-op for one already there, an invalid row for a name
// that is not in the tenant, a repeat counted once; row numbers are the
// items' places in the list.
func TestDrainMapping(t *testing.T) {
	s := fixtureState()
	m, err := DrainMapping([]string{"app2.contoso.com", "APP1.contoso.com", "nosuch", "{" + strings.ToUpper(cApp2) + "}"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if m.Path != DrainPath || len(m.SHA256) != 64 {
		t.Errorf("path %q, sha %q", m.Path, m.SHA256)
	}
	p := Build(m, s, Options{Unlisted: UnlistedIgnore})
	want := []struct {
		row    int
		action Action
	}{{1, ActionMove}, {2, ActionNoop}, {3, ActionInvalid}}
	if len(p.Changes) != len(want) {
		t.Fatalf("changes %+v", p.Changes)
	}
	for i, w := range want {
		c := p.Changes[i]
		if c.Row != w.row || c.Action != w.action {
			t.Errorf("change %d: row %d %s (%s), want row %d %s", i, c.Row, c.Action, c.Reason, w.row, w.action)
		}
	}
	if c := p.Changes[0]; c.ToGroupID != gDefault || c.FromGroupID != gEurope {
		t.Errorf("move %s → %s, want Europe → Default", c.FromGroupID, c.ToGroupID)
	}
}

// Without exactly one default application proxy group there is nowhere to
// drain to: an error, never a guess.
func TestDrainWithoutOneDefault(t *testing.T) {
	for _, n := range []int{0, 2} {
		s := fixtureState()
		for i := range s.Groups {
			s.Groups[i].IsDefault = i < n
		}
		_, err := DrainMapping([]string{"app1.contoso.com"}, s)
		var nd *NoDefaultGroupError
		if !errors.As(err, &nd) || nd.Defaults != n {
			t.Errorf("%d defaults: err %v", n, err)
		}
	}
}

package plan

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// forge rewrites saved claims as someone who can write the plan file and
// read the tenant would: edit them, then record the tenant state the
// edited moves depend on, its fingerprint and the wave count, so that the
// file's own checks (package planfile) and Check all accept them. names,
// when given, runs after the state is recorded: names are not in the
// fingerprint, so a forger can make them agree with whatever the moves
// claim.
func forge(t *testing.T, orig *Claims, s *State, edit, names func(cl *Claims)) *Claims {
	t.Helper()
	cl := *orig
	cl.Changes = slices.Clone(orig.Changes)
	if edit != nil {
		edit(&cl)
	}
	cl.Involved = *InvolvedState(s, cl.Changes)
	if names != nil {
		names(&cl)
	}
	cl.Fingerprint = cl.Involved.Fingerprint()
	cl.Waves = 0
	for _, c := range cl.Changes {
		cl.Waves = max(cl.Waves, c.Wave)
	}
	if err := cl.Check(s, graphBeta); err != nil {
		t.Fatalf("the forged plan fails Check: %v", err)
	}
	return &cl
}

func groupID(t *testing.T, s *State, name string) string {
	t.Helper()
	for _, g := range s.Groups {
		if g.Name == name {
			return g.ID
		}
	}
	t.Fatalf("no group %s", name)
	return ""
}

func connByName(t *testing.T, s *State, short string) *Connector {
	t.Helper()
	for i := range s.Connectors {
		if strings.HasPrefix(s.Connectors[i].MachineName, short+".") {
			return &s.Connectors[i]
		}
	}
	t.Fatalf("no connector %s", short)
	return nil
}

func changeOf(t *testing.T, sv *Claims, short string) *Change {
	t.Helper()
	for i := range sv.Changes {
		if strings.HasPrefix(sv.Changes[i].MachineName, short+".") {
			return &sv.Changes[i]
		}
	}
	t.Fatalf("no saved move of %s", short)
	return nil
}

// moveOf is a move of the connector from its group into to, as Build
// makes one for mapping row row.
func moveOf(t *testing.T, s *State, short, to string, row int) Change {
	c := connByName(t, s, short)
	from := ""
	for _, g := range s.Groups {
		if g.ID == c.GroupID {
			from = g.Name
		}
	}
	return Change{
		Row: row, ConnectorID: c.ID, MachineName: c.MachineName, ConnectorStatus: c.Status,
		FromGroupID: c.GroupID, FromGroupName: from, ToGroupID: groupID(t, s, to), ToGroupName: to,
		Action: ActionMove, Wave: 1, MappedConnector: short, MappedGroup: to,
	}
}

var cliGuards = Options{MaxChanges: 50, MinActive: 1} // apply's defaults

func movesOf(p *Plan) []Change {
	var out []Change
	for _, i := range p.Moves() {
		out = append(out, p.Changes[i])
	}
	return out
}

// Replan checks a saved plan against the tenant as it is now: every guard
// runs again, names come from the tenant, and a file whose claims the
// tenant contradicts is refused, however well its checksum and fingerprint
// were forged.
func TestReplan(t *testing.T) {
	s, m := savedFixture()
	made := Build(m, s, Options{MinActive: 1, MaxChanges: 50})
	honest := claimsOf(made, s)
	// The same tenant with --unlisted default: fra2, lab1 and sea2 idle in
	// Default (rows 0).
	madeUnlisted := Build(m, s, Options{MinActive: 1, Unlisted: UnlistedDefault})
	if madeUnlisted.Refused() || madeUnlisted.Summary().Move != 5 {
		t.Fatalf("fixture: %+v %+v", madeUnlisted.Refusals, madeUnlisted.Summary())
	}
	unlisted := claimsOf(madeUnlisted, s)

	tests := []struct {
		name   string
		saved  func(t *testing.T) *Claims
		tenant func(s *State) // a change in the live tenant
		guards Options
		// One of:
		contradicts []string // a *StaleError (not altered) with reasons containing these, in order
		refused     string   // the plan comes back refused by this guard, naming refusedGroup
		check       func(t *testing.T, p *Plan)
	}{
		{
			name:   "an honest plan comes back as it was made",
			saved:  func(*testing.T) *Claims { return honest },
			guards: cliGuards,
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(movesOf(p), movesOf(made)) || !reflect.DeepEqual(p.Groups, made.Groups) || p.Refused() || len(p.Warnings) != 0 {
					t.Errorf("replanned:\n got %+v\n%+v\n%v %q\nwant %+v\n%+v", movesOf(p), p.Groups, p.Refusals, p.Warnings, movesOf(made), made.Groups)
				}
			},
		},
		{
			name:   "an honest plan with connectors not in the mapping comes back as it was made",
			saved:  func(*testing.T) *Claims { return unlisted },
			guards: Options{MaxChanges: 50, MinActive: 1},
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(movesOf(p), movesOf(madeUnlisted)) || p.Refused() {
					t.Errorf("replanned:\n got %+v\nwant %+v", movesOf(p), movesOf(madeUnlisted))
				}
			},
		},
		{
			// The attack: the id changed, the approved name kept, here and
			// in the recorded state.
			name: "a move sent to another group under the approved group's name",
			saved: func(t *testing.T) *Claims {
				us := strings.ToLower(groupID(t, s, "US"))
				return forge(t, honest, s, func(sv *Claims) { changeOf(t, sv, "fra1").ToGroupID = us }, func(sv *Claims) {
					for i := range sv.Involved.Groups {
						if sv.Involved.Groups[i].ID == us {
							sv.Involved.Groups[i].Name = "EU"
						}
					}
				})
			},
			guards: cliGuards,
			contradicts: []string{
				`the move of "fra1.contoso.com" (row 2) to group "EU", but the group it names, ` + strings.ToLower(groupID(t, s, "US")) + `, is "US" in the tenant (renamed since the plan was made, or the file was edited)`,
				`its mapping cell "EU" is group "EU" (` + groupID(t, s, "EU") + `), not the one the plan moves it to ("US", `,
			},
		},
		{
			name: "moves added that empty a group serving applications",
			saved: func(t *testing.T) *Claims {
				return forge(t, honest, s, func(sv *Claims) {
					sv.Changes = append(sv.Changes, moveOf(t, s, "sea1", "Lab", 5), moveOf(t, s, "sea2", "Lab", 6))
				}, nil)
			},
			guards:  cliGuards,
			refused: GuardCoverage,
		},
		{
			name: "moves added, and the file's guards loosened",
			saved: func(t *testing.T) *Claims {
				return forge(t, honest, s, func(sv *Claims) {
					sv.Changes = append(sv.Changes, moveOf(t, s, "sea1", "Lab", 5), moveOf(t, s, "sea2", "Lab", 6))
					sv.Options = Options{Unlisted: UnlistedReport, MaxChanges: 0, MinActive: 0, AllowCoverageGap: true}
				}, nil)
			},
			guards:  cliGuards,
			refused: GuardCoverage,
			check: func(t *testing.T, p *Plan) {
				if !slices.ContainsFunc(p.Warnings, func(w string) bool {
					return strings.HasPrefix(w, "the plan was saved with --max-changes 0 (no limit), --min-active 0, --allow-coverage-gap; apply checks it with --max-changes 50, --min-active 1, without --allow-coverage-gap")
				}) {
					t.Errorf("warnings %q", p.Warnings)
				}
				if p.Options != (Options{Unlisted: UnlistedReport, MaxChanges: 50, MinActive: 1}) {
					t.Errorf("options %+v", p.Options)
				}
			},
		},
		{
			name: "a gap allowed on apply too goes through, with its warning",
			saved: func(t *testing.T) *Claims {
				return forge(t, honest, s, func(sv *Claims) {
					sv.Changes = append(sv.Changes, moveOf(t, s, "sea1", "Lab", 5), moveOf(t, s, "sea2", "Lab", 6))
					sv.Options.AllowCoverageGap = true
				}, nil)
			},
			guards: Options{MaxChanges: 50, MinActive: 1, AllowCoverageGap: true},
			check: func(t *testing.T, p *Plan) {
				if p.Refused() || !slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.HasPrefix(w, "coverage gap allowed by --allow-coverage-gap") }) {
					t.Errorf("refusals %+v warnings %q", p.Refusals, p.Warnings)
				}
			},
		},
		{
			name: "more moves than apply's --max-changes, the file saying no limit",
			saved: func(t *testing.T) *Claims {
				return forge(t, honest, s, func(sv *Claims) { sv.Options.MaxChanges = 0 }, nil)
			},
			guards:  Options{MaxChanges: 1, MinActive: 1},
			refused: GuardMaxChanges,
		},
		{
			name: "a stricter --max-changes in the file holds",
			saved: func(t *testing.T) *Claims {
				return forge(t, honest, s, func(sv *Claims) { sv.Options.MaxChanges = 1 }, nil)
			},
			guards:  cliGuards,
			refused: GuardMaxChanges,
		},
		{
			name:  "a group renamed in the tenant since",
			saved: func(*testing.T) *Claims { return honest },
			tenant: func(s *State) {
				s.Groups[slices.IndexFunc(s.Groups, func(g Group) bool { return g.Name == "EU" })].Name = "Europe"
			},
			guards: cliGuards,
			contradicts: []string{
				`the move of "fra1.contoso.com" (row 2) to group "EU", but the group it names, ` + groupID(t, s, "EU") + `, is "Europe" in the tenant`,
				`the move of "fra3.contoso.com" (row 3) from group "EU", but group ` + groupID(t, s, "EU") + ` is "Europe" in the tenant`,
			},
		},
		{
			name: "a machine name changed in the file",
			saved: func(t *testing.T) *Claims {
				return forge(t, honest, s, func(sv *Claims) { changeOf(t, sv, "fra1").MachineName = "fra9.contoso.com" }, func(sv *Claims) {
					for i := range sv.Involved.Connectors {
						if sv.Involved.Connectors[i].MachineName == "fra1.contoso.com" {
							sv.Involved.Connectors[i].MachineName = "fra9.contoso.com"
						}
					}
				})
			},
			guards:      cliGuards,
			contradicts: []string{`the move of "fra9.contoso.com" (row 2): connector ` + connByName(t, s, "fra1").ID + ` is "fra1.contoso.com" in the tenant`},
		},
		{
			name: "a mapping cell that names another group",
			saved: func(t *testing.T) *Claims {
				return forge(t, honest, s, func(sv *Claims) { changeOf(t, sv, "fra1").MappedGroup = "Lab" }, nil)
			},
			guards:      cliGuards,
			contradicts: []string{`the move of "fra1.contoso.com" (row 2): its mapping cell "Lab" is group "Lab"`},
		},
		{
			name: "a mapping cell that names no connector",
			saved: func(t *testing.T) *Claims {
				return forge(t, honest, s, func(sv *Claims) { changeOf(t, sv, "fra1").MappedConnector = "ghost" }, nil)
			},
			guards:      cliGuards,
			contradicts: []string{`its mapping cell "ghost" names no connector now: no connector named`},
		},
		{
			// Waves are the tool's own ordering, worked out from the
			// tenant: the file's are replaced, and the change said.
			name: "waves edited",
			saved: func(t *testing.T) *Claims {
				return forge(t, honest, s, func(sv *Claims) { changeOf(t, sv, "fra3").Wave = 1 }, nil)
			},
			guards: cliGuards,
			check: func(t *testing.T, p *Plan) {
				if got := wavesOf(p); !reflect.DeepEqual(got, map[string]int{"fra1": 1, "fra3": 2}) || p.Refused() {
					t.Errorf("waves %v, refusals %+v", got, p.Refusals)
				}
				if !slices.ContainsFunc(p.Warnings, func(w string) bool {
					return strings.HasPrefix(w, "the waves were worked out again from the tenant and differ from the saved plan's (1 wave): the 2 waves shown here are applied")
				}) {
					t.Errorf("warnings %q", p.Warnings)
				}
			},
		},
		{
			name: "a connector not in the mapping sent elsewhere than the default group",
			saved: func(t *testing.T) *Claims {
				return forge(t, unlisted, s, func(sv *Claims) {
					c := changeOf(t, sv, "lab1")
					c.ToGroupID, c.ToGroupName = groupID(t, s, "US"), "US"
				}, nil)
			},
			guards:      cliGuards,
			contradicts: []string{`the move of "lab1.contoso.com" (not in the mapping) to group "US": the plan idles it in the default group, but that is not the tenant's default group`},
		},
		{
			name:  "the default group changed in the tenant since",
			saved: func(*testing.T) *Claims { return unlisted },
			tenant: func(s *State) {
				for i := range s.Groups {
					s.Groups[i].IsDefault = s.Groups[i].Name == "Lab"
				}
			},
			guards:      cliGuards,
			contradicts: []string{`the move of "fra2.contoso.com" (not in the mapping) to group "Default": the plan idles it in the default group, but that is not the tenant's default group`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sv := tt.saved(t)
			cur, _ := savedFixture()
			if tt.tenant != nil {
				tt.tenant(cur)
			}
			p, err := sv.Replan(cur, graphBeta, tt.guards)
			if tt.contradicts != nil {
				var stale *StaleError
				if !errors.As(err, &stale) || stale.Altered || p != nil {
					t.Fatalf("Replan = %v, %v; want a stale plan, no plan", p, err)
				}
				at := 0
				for _, want := range tt.contradicts {
					for at < len(stale.Reasons) && !strings.Contains(stale.Reasons[at], want) {
						at++
					}
					if at == len(stale.Reasons) {
						t.Fatalf("reasons %q\nlack %q", stale.Reasons, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Replan: %v", err)
			}
			if tt.refused != "" && !hasGuard(p, tt.refused) {
				t.Errorf("refusals %+v, want %s", p.Refusals, tt.refused)
			}
			if tt.refused == GuardCoverage {
				if r := p.Refusals[0]; len(r.Groups) != 1 || r.Groups[0].Name != "US" || r.Groups[0].ActiveAfter != 0 {
					t.Errorf("coverage refusal %+v, want US emptied", r)
				}
			}
			if tt.check != nil {
				tt.check(t, p)
			}
			// Whatever it says, the plan speaks with the tenant's names.
			for _, c := range p.Changes {
				live := connByName(t, cur, shortName(c))
				if c.ConnectorID != live.ID || c.FromGroupID != live.GroupID || c.ConnectorStatus != live.Status {
					t.Errorf("change %+v is not the tenant's %+v", c, live)
				}
				for _, g := range cur.Groups {
					if g.ID == c.ToGroupID && g.Name != c.ToGroupName {
						t.Errorf("change to %s named %q, the tenant says %q", c.ToGroupID, c.ToGroupName, g.Name)
					}
				}
			}
		})
	}
}

// Check runs first: a tenant that moved on is a stale plan, as before.
func TestReplanStale(t *testing.T) {
	s, m := savedFixture()
	sv := claimsOf(Build(m, s, Options{MinActive: 1}), s)
	cur, _ := savedFixture()
	connByName(t, cur, "fra3").Status = StatusInactive
	var stale *StaleError
	if p, err := sv.Replan(cur, graphBeta, cliGuards); !errors.As(err, &stale) || stale.Altered || p != nil || !slices.Equal(stale.Reasons, []string{"connector fra3.contoso.com is now inactive (was active)"}) {
		t.Errorf("Replan = %v, %v", p, err)
	}
	if p, err := sv.Replan(s, "https://graph.microsoft.us/beta", cliGuards); !errors.As(err, &stale) || p != nil {
		t.Errorf("another Graph URL: Replan = %v, %v", p, err)
	}
}

func TestStricter(t *testing.T) {
	for _, tt := range []struct {
		saved, given, want Options
	}{
		{Options{MaxChanges: 50, MinActive: 1}, Options{MaxChanges: 50, MinActive: 1}, Options{Unlisted: UnlistedReport, MaxChanges: 50, MinActive: 1}},
		{Options{MaxChanges: 0}, Options{MaxChanges: 50}, Options{Unlisted: UnlistedReport, MaxChanges: 50}},
		{Options{MaxChanges: 200}, Options{MaxChanges: 0}, Options{Unlisted: UnlistedReport, MaxChanges: 200}},
		{Options{MaxChanges: 200}, Options{MaxChanges: 50}, Options{Unlisted: UnlistedReport, MaxChanges: 50}},
		{Options{MaxChanges: 5}, Options{MaxChanges: 50}, Options{Unlisted: UnlistedReport, MaxChanges: 5}},
		{Options{MaxChanges: -3}, Options{MaxChanges: -1}, Options{Unlisted: UnlistedReport}},
		{Options{MinActive: 0}, Options{MinActive: 1}, Options{Unlisted: UnlistedReport, MinActive: 1}},
		{Options{MinActive: 3}, Options{MinActive: 1}, Options{Unlisted: UnlistedReport, MinActive: 3}},
		{Options{AllowCoverageGap: true}, Options{}, Options{Unlisted: UnlistedReport}},
		{Options{}, Options{AllowCoverageGap: true}, Options{Unlisted: UnlistedReport}},
		{Options{AllowCoverageGap: true}, Options{AllowCoverageGap: true}, Options{Unlisted: UnlistedReport, AllowCoverageGap: true}},
		// Unlisted is the plan's: apply cannot change which moves it holds.
		{Options{Unlisted: UnlistedDefault}, Options{Unlisted: UnlistedIgnore}, Options{Unlisted: UnlistedDefault}},
	} {
		if got := stricter(tt.saved, tt.given); got != tt.want {
			t.Errorf("stricter(%+v, %+v) = %+v, want %+v", tt.saved, tt.given, got, tt.want)
		}
	}
}

// BenchmarkReplan: apply --plan's work on the plan of BenchmarkBuild at
// 100,000 connectors (10,000 moves in two waves) once the file is read
// (planfile's BenchmarkLoad is reading it): checking it against
// the tenant, and planning it again.
func BenchmarkReplan(b *testing.B) {
	s, m := genMigration(100_000, 5_000)
	opts := Options{MinActive: 1}
	cl := claimsOf(Build(m, s, opts), s)
	b.ReportAllocs()
	for b.Loop() {
		p, err := cl.Replan(s, graphBeta, opts)
		if err != nil || p.Refused() || p.Summary().Move != 10_000 || p.WaveCount() != 2 {
			b.Fatalf("Replan: %v", err)
		}
	}
}

// Text from a plan file reaches messages escaped and cut short: a forged
// name cannot drive the terminal or flood the log.
func TestReplanHostileText(t *testing.T) {
	s, m := savedFixture()
	sv := claimsOf(Build(m, s, Options{MinActive: 1}), s)
	evil := "evil\x1b]0;owned\x07\u202egpj.exe" + strings.Repeat("x", 100_000)
	ghost := "cc000000-0000-4000-8000-0000000000ff" // in no tenant
	c := changeOf(t, sv, "fra1")
	c.ConnectorID, c.MachineName = ghost, evil
	// Recorded as the forger likes, names and all, and fingerprinted.
	sv.Involved = *InvolvedState(s, sv.Changes)
	sv.Involved.Connectors = append(sv.Involved.Connectors, InvolvedConnector{ID: ghost, MachineName: evil, GroupID: strings.ToLower(c.FromGroupID), GroupName: c.FromGroupName, Status: c.ConnectorStatus})
	for i := range sv.Involved.Groups {
		if sv.Involved.Groups[i].ID == strings.ToLower(c.FromGroupID) {
			sv.Involved.Groups[i].Members = append(sv.Involved.Groups[i].Members, InvolvedMember{ID: ghost, MachineName: evil, Status: c.ConnectorStatus})
		}
	}
	sv.Fingerprint = sv.Involved.Fingerprint()
	_, err := sv.Replan(s, graphBeta, cliGuards)
	var stale *StaleError
	if !errors.As(err, &stale) || !strings.Contains(err.Error(), `is no longer in the tenant`) {
		t.Fatalf("Replan = %v", err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\x1b\x07\u202e") || len(msg) > 2000 || !strings.Contains(msg, `connector evil\x1b]0;owned\x07\u202egpj.exexxx`) {
		t.Errorf("message (%d bytes): %.300q", len(msg), msg)
	}
}

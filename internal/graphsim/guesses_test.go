package graphsim

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The zero Guesses is today's behaviour, field for field, and every guess
// has a default (a zero default would make its field unswitchable).
func TestDefaultGuesses(t *testing.T) {
	d := DefaultGuesses()
	if got := (Guesses{}).withDefaults(); !reflect.DeepEqual(got, d) {
		t.Errorf("zero Guesses gives %+v, want %+v", got, d)
	}
	v := reflect.ValueOf(d)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if v.Field(i).IsZero() && f.Type != reflect.TypeOf(TopRefuse) && f.Type != reflect.TypeOf(SelectRefuse) && f.Type != reflect.TypeOf(AppOnlyDeny) &&
			f.Type != reflect.TypeOf(BatchTaken) && f.Type != reflect.TypeOf(ItemIDLower) {
			t.Errorf("DefaultGuesses().%s is zero", f.Name)
		}
	}
	// A partly set Guesses keeps what it sets and takes the rest.
	got := (Guesses{MoveStatus: 201, PageSize: -1}).withDefaults()
	want := d
	want.MoveStatus = 201
	if !reflect.DeepEqual(got, want) {
		t.Errorf("partial Guesses gives %+v", got)
	}
}

// Options{} and Options{Guesses: DefaultGuesses()} answer byte for byte
// alike, headers included, over one answer of each guessed kind.
func TestDefaultGuessesAnswerAsToday(t *testing.T) {
	requests := []struct{ method, path, body string }{
		{"GET", base + "/connectors?$top=3", ""},
		{"GET", base + "/connectors?$top=1000", ""},
		{"GET", base + "/connectors?$select=colour", ""},
		{"GET", base + "/connectors/nope", ""},
		{"GET", base + "/frob", ""},
		{"DELETE", base + "/connectors", ""},
		{"GET", base + "/connectors?$skiptoken=x", ""},
		{"POST", base + "/connectorGroups/" + gUS + "/members/$ref", string(refBody("connectors", c1))},
		{"POST", base + "/connectors/" + c1 + "/memberOf/$ref", string(refBody("connectorGroups", gUS))},
		{"POST", base + "/connectorGroups/" + gJP + "/members/$ref", string(refBody("connectors", c3))},
		{"POST", base + "/connectorGroups/" + gJP + "/members/$ref", string(refBody("connectors", c6))},
		{"POST", base + "/connectorGroups/" + gJP + "/members/$ref", `{}`},
		{"POST", "/beta/$batch", `{"requests":[{"id":"1","method":"GET","url":"/nope"},{"id":"2","method":"GET","url":"/onPremisesPublishingProfiles/applicationProxy/connectors","dependsOn":["1"]}]}`},
	}
	answers := func(g Guesses) []string {
		clock := newClock()
		sim := New(fixture(t), Options{Seed: 7, Now: clock.Now, EnforceRegionRule: true, Guesses: g})
		var out []string
		for _, rq := range requests {
			req := httptest.NewRequest(rq.method, "http://graph.test"+rq.path, strings.NewReader(rq.body))
			req.Header.Set("Authorization", "Bearer x")
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, req)
			var b bytes.Buffer
			w.Result().Header.Write(&b)
			out = append(out, fmt.Sprintf("%s %s: %d\n%s%s", rq.method, rq.path, w.Code, &b, w.Body))
		}
		return out
	}
	zero, def := answers(Guesses{}), answers(DefaultGuesses())
	for i := range zero {
		if zero[i] != def[i] {
			t.Errorf("Options{} answered\n%s\nDefaultGuesses answered\n%s", zero[i], def[i])
		}
	}
	if !strings.Contains(zero[7], ": 400") || !strings.Contains(zero[7], alreadyExistsMembersMessage) {
		t.Errorf("the control: already a member answered %s", zero[7])
	}
}

func parsed(t *testing.T, s string) Guesses {
	t.Helper()
	var g Guesses
	if err := ParseGuess(s, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// Each alternative changes the answer it names, in both $ref directions.
func TestGuessedWriteAnswers(t *testing.T) {
	viaMembers := func(h *harness, gid, cid string) result { return h.move(gid, cid) }
	viaMemberOf := func(h *harness, gid, cid string) result {
		return h.do("POST", base+"/connectors/"+cid+"/memberOf/$ref", refBody("connectorGroups", gid))
	}
	type mover func(h *harness, gid, cid string) result
	tests := []struct {
		name, guess string
		gid, cid    string
		status      int
		code, msg   string // "" code: no body
		moves       int
	}{
		{"move 204", "move=204", gEU, c1, 204, "", "", 1},
		{"move 201", "move=201", gEU, c1, 201, "", "", 1},
		{"already 400", "already=400", gUS, c1, 400, "Request_BadRequest", "", 0},
		{"already 409", "already=409", gUS, c1, 409, "Conflict", "Object already exists.", 0},
		{"already wording", "already=wording", gUS, c1, 400, "Request_BadRequest", conflictingObjectsText, 0},
		{"already 204", "already=204", gUS, c1, 204, "", "", 0},
		{"already 204, move 201", "already=204,move=201", gUS, c1, 204, "", "", 0},
		{"region 400", "region=400", gJP, c3, 400, "Request_BadRequest", fmt.Sprintf(regionRuleFormat, c3, gJP), 0},
		{"region 409", "region=409", gJP, c3, 409, "Conflict", fmt.Sprintf(regionRuleFormat, c3, gJP), 0},
		{"region 403", "region=403", gJP, c3, 403, "Authorization_RequestDenied", fmt.Sprintf(regionRuleFormat, c3, gJP), 0},
		{"region guess, allowed move", "region=409", gJP, c6, 204, "", "", 1},
	}
	for _, tt := range tests {
		for dir, move := range map[string]mover{"members": viaMembers, "memberOf": viaMemberOf} {
			t.Run(tt.name+"/"+dir, func(t *testing.T) {
				h := newHarness(t, Options{EnforceRegionRule: true, Guesses: parsed(t, tt.guess)})
				r := move(h, tt.gid, tt.cid)
				if tt.code == "" {
					if r.status != tt.status || len(r.body) != 0 || r.header.Get("Content-Type") != "" {
						t.Errorf("status %d, Content-Type %q, body %q: want %d and no body", r.status, r.header.Get("Content-Type"), r.body, tt.status)
					}
				} else {
					msg := tt.msg
					if msg == "" && dir == "members" {
						msg = alreadyExistsMembersMessage
					} else if msg == "" {
						msg = alreadyExistsMemberOfMessage
					}
					wantError(t, r, tt.status, tt.code, msg)
				}
				if n := h.sim.Moves(); n != tt.moves {
					t.Errorf("%d moves, want %d", n, tt.moves)
				}
				if want := map[int]string{1: tt.gid, 0: ""}[tt.moves]; want != "" && groupOf(h.sim.State(), tt.cid) != want {
					t.Errorf("connector in %s, want %s", groupOf(h.sim.State(), tt.cid), want)
				}
			})
		}
	}
}

// Page-size guesses: the pages change size, the nextLinks still give
// every item exactly once.
func TestGuessedPaging(t *testing.T) {
	tests := []struct {
		name, guess, path string
		firstPage, pages  int
		topInLinks        string // "" = the nextLinks carry no $top
	}{
		{"default page size", "pagesize=3", "/connectors", 3, 3, ""},
		{"max page below the default page", "maxtop=2", "/connectors", 2, 4, ""},
		{"top within max", "maxtop=5,top=cap", "/connectors?$top=4", 4, 2, "$top=4"},
		{"top above max, capped", "maxtop=3,top=cap", "/connectors?$top=6", 3, 3, "$top=3"},
		{"top far above max, capped", "maxtop=50,top=cap", "/connectors?%24top=5000", 8, 1, ""},
		{"members, capped", "maxtop=2,top=cap", "/connectorGroups/" + gDefault + "/members?$top=999", 2, 2, "$top=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Guesses: parsed(t, tt.guess)})
			first := decode[page](t, h.do("GET", base+tt.path, nil))
			if len(first.Value) != tt.firstPage {
				t.Errorf("first page %d items, want %d", len(first.Value), tt.firstPage)
			}
			got, pages, links := followAll(t, h, base+tt.path, "id")
			want := allConnectors
			if strings.Contains(tt.path, "members") {
				want = []string{c6, c7, c8}
			}
			if !slices.Equal(got, want) || pages != tt.pages {
				t.Errorf("%d pages of %v, want %d of %v", pages, got, tt.pages, want)
			}
			for _, l := range links {
				if tt.topInLinks == "" && strings.Contains(l, "top") || tt.topInLinks != "" && !strings.Contains(l, tt.topInLinks) {
					t.Errorf("nextLink %s, want $top %q", l, tt.topInLinks)
				}
			}
		})
	}
}

// The query guesses that refuse: the wording follows the guessed maximum,
// and refuse/ignore switch the answer.
func TestGuessedQueryAnswers(t *testing.T) {
	tests := []struct {
		name, guess, path string
		status            int
		msg               string
		keys              []string // properties of the first item, on a 200
	}{
		{"top above max refused", "maxtop=5", "/connectors?$top=6", 400, "Invalid page size specified: '6'. Must be between 1 and 5 inclusive.", nil},
		{"top above max refused explicitly", "maxtop=100,top=refuse", "/connectors?$top=101", 400, "Invalid page size specified: '101'. Must be between 1 and 100 inclusive.", nil},
		{"top 0 refused even when capping", "top=cap", "/connectors?$top=0", 400, "Invalid page size specified: '0'. Must be between 1 and 999 inclusive.", nil},
		{"top not a number refused when capping", "top=cap", "/connectors?$top=many", 400, "Invalid page size specified: 'many'. Must be between 1 and 999 inclusive.", nil},
		{"unknown select refused", "select=refuse", "/connectors?$select=machineName,colour", 400, "Could not find a property named 'colour' on type 'microsoft.graph.connector'.", nil},
		{"unknown select ignored", "select=ignore", "/connectors?$select=machineName,colour", 200, "", []string{"id", "machineName"}},
		{"unknown select ignored on one", "select=ignore", "/connectorGroups/" + gUS + "?$select=members,name", 200, "", []string{"@odata.context", "id", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Guesses: parsed(t, tt.guess)})
			r := h.do("GET", base+tt.path, nil)
			if tt.status != 200 {
				wantError(t, r, tt.status, "Request_BadRequest", tt.msg)
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			obj := decode[map[string]any](t, r)
			if vals, ok := obj["value"].([]any); ok {
				obj = vals[0].(map[string]any)
			}
			var keys []string
			for k := range obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.keys) {
				t.Errorf("properties %v, want %v", keys, tt.keys)
			}
		})
	}
}

func TestParseGuess(t *testing.T) {
	d := DefaultGuesses()
	tests := []struct {
		in      string
		want    func(g *Guesses) // applied to a zero Guesses
		wantErr string           // substring of the error
	}{
		{"move=201", func(g *Guesses) { g.MoveStatus = 201 }, ""},
		{"MOVE = 204", func(g *Guesses) { g.MoveStatus = 204 }, ""},
		{"already=409", func(g *Guesses) {
			g.AlreadyExistsStatus, g.AlreadyExistsCode = 409, "Conflict"
			g.AlreadyExistsMembersMessage, g.AlreadyExistsMemberOfMessage = "Object already exists.", "Object already exists."
		}, ""},
		{"already=400", func(g *Guesses) {
			g.AlreadyExistsStatus, g.AlreadyExistsCode = 400, d.AlreadyExistsCode
			g.AlreadyExistsMembersMessage, g.AlreadyExistsMemberOfMessage = d.AlreadyExistsMembersMessage, d.AlreadyExistsMemberOfMessage
		}, ""},
		{"already=204", func(g *Guesses) { g.AlreadyExistsStatus = 204 }, ""},
		{"maxtop=100", func(g *Guesses) { g.MaxPageSize = 100 }, ""},
		{"pagesize=50", func(g *Guesses) { g.PageSize = 50 }, ""},
		{"top=cap", func(g *Guesses) { g.TopAboveMax = TopCap }, ""},
		{"top=refuse", func(g *Guesses) {}, ""},
		{"select=ignore", func(g *Guesses) { g.UnknownSelect = SelectIgnore }, ""},
		{"apponly=allow", func(g *Guesses) { g.AppOnly = AppOnlyAllow }, ""},
		{"apponly=deny", func(g *Guesses) {}, ""},
		{"region=403", func(g *Guesses) { g.RegionRuleStatus, g.RegionRuleCode = 403, "Authorization_RequestDenied" }, ""},
		{"maxtop=50, top=cap", func(g *Guesses) { g.MaxPageSize, g.TopAboveMax = 50, TopCap }, ""},
		{"colour=red", nil, `unknown name "colour", want one of already, apponly, batch, batchid, maxtop, move, pagesize, region, select, top`},
		{"move=200", nil, `unknown value "200" for move, want 204 (default), 201`},
		{"already=418", nil, "want 400 (default), 409, wording, 204"},
		{"maxtop=0", nil, "want 1 to 999"},
		{"maxtop=1000", nil, "want 1 to 999"},
		{"pagesize=x", nil, "want 1 to 999"},
		{"top=sometimes", nil, "want refuse (default), cap"},
		{"select=", nil, "want NAME=VALUE"},
		{"already", nil, "want NAME=VALUE, NAME one of already,"},
		{"", nil, "want NAME=VALUE"},
		{"move=201,", nil, "want NAME=VALUE"},
		{"region=500", nil, "want 400 (default), 409, 403"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var g Guesses
			err := ParseGuess(tt.in, &g)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want Guesses
			tt.want(&want)
			if !reflect.DeepEqual(g, want) {
				t.Errorf("got %+v, want %+v", g, want)
			}
		})
	}
	// Later values win, as a repeated flag's should.
	g := parsed(t, "move=201")
	if err := ParseGuess("move=204", &g); err != nil || g.MoveStatus != http.StatusNoContent {
		t.Errorf("move=201 then move=204: %v %d", err, g.MoveStatus)
	}
}

package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connrecon/internal/apierr"
)

// Every item of every collection read is a JSON object with a non-empty
// string id, listed once: anything else fails the read at once (asking
// again will not help), never becomes data. Members answered
// {"value":[{},{}]} put every connector in no group, and the plan moved
// them all; a connector without an id was POSTed with the id "".
func TestItemsWithoutAnIDFailTheRead(t *testing.T) {
	tn := sampleTenant(t)
	eu := groupByName(tn, "EU - Frankfurt")
	reads := []struct{ suffix, what string }{
		{"/applicationProxy/connectors", "read connectors"},
		{"/applicationProxy/connectorGroups", "read connector groups"},
		{"/connectorGroups/" + eu.ID + "/members", "read members of group EU - Frankfurt"},
		{"/connectorGroups/" + eu.ID + "/applications", "read applications of group EU - Frankfurt"},
	}
	for _, tc := range []struct{ name, body, want string }{
		{"null", `{"value":[null]}`, "item 1 is JSON null, not an object"},
		{"empty objects", `{"value":[{},{}]}`, `item 1 has no "id"`},
		{"a string", `{"value":["c1"]}`, "item 1 is JSON a string, not an object"},
		{"an array", `{"value":[[]]}`, "item 1 is JSON an array, not an object"},
		{"id null", `{"value":[{"id":null}]}`, `item 1 has an "id" that is JSON null, not a string`},
		{"id a number", `{"value":[{"id":5}]}`, `item 1 has an "id" that is JSON a number, not a string`},
		{"id empty", `{"value":[{"id":""}]}`, `item 1 has an empty "id"`},
		{"id blank", `{"value":[{"id":" \t"}]}`, `item 1 has an empty "id"`},
		{"the second without an id", `{"value":[{"id":"x1","name":"a"},{"name":"b"}]}`, `item 2 has no "id"`},
		{"listed twice", `{"value":[{"id":"x1"},{"id":"x2"},{"id":"X1"}]}`, `item 3 has the id "X1" of item 1: an object listed twice`},
	} {
		for _, rd := range reads {
			t.Run(tc.name+" "+rd.what, func(t *testing.T) {
				a := oddAnswer{200, map[string]string{"Content-Type": "application/json"}, tc.body}
				c, p := newOddFixture(t, rd.suffix, a, 0, Config{Pacer: fastPacer()})
				s, err := c.Snapshot(context.Background())
				check := func(what, read string, err error) {
					t.Helper()
					if err == nil || !strings.Contains(err.Error(), read+": page 1: ") || !strings.Contains(err.Error(), tc.want) ||
						!strings.Contains(err.Error(), "not a Graph collection") || !errors.Is(err, errBadItem) || apierr.ClassOf(err) != apierr.Other {
						t.Errorf("%s: %v (class %v), want %q from %s", what, err, apierr.ClassOf(err), tc.want, read)
					}
				}
				check("Snapshot", rd.what, err)
				if s != nil || p.hits() != 1 {
					t.Errorf("Snapshot: a state (%v) after %d requests, want none after 1", s != nil, p.hits())
				}
				if strings.HasSuffix(rd.suffix, "/members") {
					ids, _, err := c.GroupMembers(context.Background(), eu.ID)
					check("GroupMembers", "read members of group "+eu.ID, err)
					if ids != nil || p.hits() != 2 {
						t.Errorf("GroupMembers: %v after %d requests, want none after 1", ids, p.hits()-1)
					}
				}
			})
		}
	}
}

// An id listed on two pages of one collection fails the read too.
func TestItemListedOnTwoPagesFailsTheRead(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/applicationProxy/connectors"):
			w.Write([]byte(`{"value":[{"id":"c1","machineName":"a"}],"@odata.nextLink":"` + srv.URL + `/beta/page2"}`))
		case r.URL.Path == "/beta/page2":
			w.Write([]byte(`{"value":[{"id":"c2","machineName":"b"},{"id":"C1","machineName":"c"}]}`))
		default:
			w.Write([]byte(`{"value":[]}`))
		}
	}))
	defer srv.Close()
	c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "test-token"}, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Snapshot(context.Background())
	if err == nil || !strings.Contains(err.Error(), `read connectors: page 2: graph: item 3 has the id "C1" of item 1: an object listed twice`) {
		t.Errorf("got %v, want the second listing refused", err)
	}
}

package graph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connrecon/internal/graphsim"
)

// What check reads from the client: the page size the service chose, the
// round trip, $batch, and the claims of the token it signed in with.
func TestPreflightReads(t *testing.T) {
	tn := sampleTenant(t)
	tok := graphsim.UnsignedToken(map[string]any{"upn": "admin@contoso.com", "tid": "t-1", "scp": "Directory.ReadWrite.All"})
	f := newFixture(t, tn, graphsim.Options{MaxPageSize: 3, Guesses: graphsim.Guesses{TopAboveMax: graphsim.TopCap}, Permissions: true},
		Config{Auth: Auth{Mode: AuthToken, Token: tok}})
	if _, err := f.client.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	largest, size := f.client.Paging()
	if size != 3 || largest != 3 {
		t.Errorf("paging: largest %d, size %d; want the service's 3", largest, size)
	}
	if f.client.PageSizeAsked() != 999 {
		t.Errorf("asked %d", f.client.PageSizeAsked())
	}
	call, took, err := f.client.Ping(context.Background())
	if err != nil || call.Status != 200 || call.RequestID == "" || took <= 0 {
		t.Errorf("ping %+v %v %v", call, took, err)
	}
	if call, err := f.client.ProbeBatch(context.Background()); err != nil || call.RequestID == "" {
		t.Errorf("batch %+v %v", call, err)
	}
	cl, seen, readable := f.client.Identity()
	if !seen || !readable || cl.User != "admin@contoso.com" || cl.TenantID != "t-1" {
		t.Errorf("identity %+v seen %v readable %v", cl, seen, readable)
	}
}

// A service that refuses $batch, or one of its items, is a plain error
// naming which.
func TestProbeBatchRefused(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		status       int
		want         string
	}{
		{"outer 400", `{"error":{"code":"BadRequest","message":"Batch is not supported."}}`, 400, "Batch is not supported"},
		{"item 403", `{"responses":[{"id":"1","status":403,"body":{"error":{"code":"Authorization_RequestDenied"}}}]}`, 200, "its item was answered HTTP 403 Forbidden"},
		{"not a batch answer", `{"value":[]}`, 200, "not a $batch answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("request-id", "req-1")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.answer))
			}))
			defer srv.Close()
			c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "secret-token-value"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ProbeBatch(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

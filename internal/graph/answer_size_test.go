package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connrecon/internal/graphsim"
)

// An answer past maxAnswerSize fails its read instead of being held in
// memory whole (the SDK reads an answer at once): a proxy that streams an
// endless page cannot exhaust the process.
func TestHugeAnswerFailsTheRead(t *testing.T) {
	sim := graphsim.New(sampleTenant(t), graphsim.Options{})
	item := []byte(`{"id":"00000000-0000-0000-0000-000000000000"},`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/members") {
			sim.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"value":[`))
		// Bounded, so the test ends whatever the client does: 1.25 times
		// the limit.
		for sent := 0; sent < maxAnswerSize+maxAnswerSize/4; sent += len(item) {
			if _, err := w.Write(item); err != nil {
				return // the client stopped reading
			}
		}
		w.Write([]byte(`{"id":"x"}]}`))
	}))
	defer srv.Close()
	c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "test-token"}, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Snapshot(context.Background())
	if err == nil || !errors.Is(err, errAnswerTooLarge) {
		t.Fatalf("Snapshot: %v; want the answer refused as too large", err)
	}
	if len(err.Error()) > 1000 {
		t.Errorf("the message is %d bytes", len(err.Error()))
	}
}

// limitedBody passes a body of exactly the limit.
func TestLimitedBodyExactly(t *testing.T) {
	b := &limitedBody{rc: nopCloser{strings.NewReader("abcd")}, left: 4}
	var got []byte
	buf := make([]byte, 3)
	for {
		n, err := b.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("read: %v", err)
			}
			break
		}
	}
	if string(got) != "abcd" {
		t.Fatalf("read %q", got)
	}
	b = &limitedBody{rc: nopCloser{strings.NewReader("abcde")}, left: 4}
	buf = make([]byte, 8)
	n, _ := b.Read(buf)
	if _, err := b.Read(buf); n != 4 || !errors.Is(err, errAnswerTooLarge) {
		t.Fatalf("5 bytes past a limit of 4: %d then %v", n, err)
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

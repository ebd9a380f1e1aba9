package graph

import (
	"context"
	"errors"
	"strings"
	"testing"

	"connrecon/internal/apierr"
)

// An error answer whose body is not a Graph error (a gateway's or a
// proxy's HTML page) is classed by its status like any other: a 503 or
// 504 is retried, a 401 stops the run with the hint, a 404 is not found.
// The SDK's own complaint about the content type is not the message.
func TestErrorPagesAreClassedByStatus(t *testing.T) {
	html := map[string]string{"Content-Type": htmlHeaders}
	page := "<html><body>Service Unavailable</body></html>"
	for _, tc := range []struct {
		status int
		times  int // how many reads the proxy answers so
		class  apierr.Class
		hits   int // requests the snapshot's connector read made
	}{
		{503, 1, apierr.Other, 2}, // retried, then read: no error
		{504, 2, apierr.Other, 3},
		{401, 0, apierr.Auth, 1},
		{403, 0, apierr.Auth, 1},
		{404, 0, apierr.NotFound, 1},
		{502, 0, apierr.Other, 1},
	} {
		c, p := newOddFixture(t, "/applicationProxy/connectors", oddAnswer{tc.status, html, page}, tc.times, Config{Pacer: fastPacer()})
		_, err := c.Snapshot(context.Background())
		if p.hits() != tc.hits {
			t.Errorf("%d: %d requests, want %d (%v)", tc.status, p.hits(), tc.hits, err)
		}
		if tc.times > 0 {
			if err != nil {
				t.Errorf("%d answered %d times, then the collection: %v", tc.status, tc.times, err)
			}
			continue
		}
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Class != tc.class || ae.Status != tc.status {
			t.Fatalf("%d: %#v, want an *apierr.Error of class %v", tc.status, err, tc.class)
		}
		if strings.Contains(err.Error(), "factory") || !strings.Contains(err.Error(), "is not a Graph error") {
			t.Errorf("%d: %q", tc.status, err)
		}
		if (tc.class == apierr.Auth) != (ae.Hint != "") {
			t.Errorf("%d: hint %q", tc.status, ae.Hint)
		}
	}
}

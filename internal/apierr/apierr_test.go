package apierr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorMessageAndClass(t *testing.T) {
	cause := errors.New("connection reset by peer")
	cases := []struct {
		err   *Error
		want  []string
		class Class
	}{
		{&Error{Call: Call{Status: 404, RequestID: "r1"}, Class: NotFound, Code: "Request_ResourceNotFound", Message: "gone"},
			[]string{"404 Request_ResourceNotFound: gone", "(request-id r1)"}, NotFound},
		{&Error{Call: Call{Status: 403}, Class: Auth, Message: "denied", Hint: "needs Directory.ReadWrite.All"},
			[]string{"403: denied", ". needs Directory.ReadWrite.All"}, Auth},
		{&Error{Class: Transient, Message: cause.Error(), Err: cause},
			[]string{"graph: connection reset by peer"}, Transient},
	}
	for _, tc := range cases {
		// Wrapped the way callers wrap it: classes and calls survive.
		wrapped := fmt.Errorf("read connectors: %w", tc.err)
		for _, s := range tc.want {
			if !strings.Contains(wrapped.Error(), s) {
				t.Errorf("%q lacks %q", wrapped, s)
			}
		}
		if got := ClassOf(wrapped); got != tc.class {
			t.Errorf("ClassOf(%q) = %v, want %v", wrapped, got, tc.class)
		}
		if got := CallOf(wrapped); got != tc.err.Call {
			t.Errorf("CallOf = %+v, want %+v", got, tc.err.Call)
		}
	}
	if !errors.Is(&Error{Err: cause}, cause) {
		t.Error("Unwrap does not reach the cause")
	}
	if ClassOf(errors.New("plain")) != Other || (CallOf(errors.New("plain")) != Call{}) {
		t.Error("a plain error has a class or a call")
	}
	for c, s := range map[Class]string{Other: "other", Transient: "transient", AlreadyInPlace: "alreadyInPlace", NotFound: "notFound", Auth: "auth"} {
		if c.String() != s {
			t.Errorf("%d.String() = %q, want %q", c, c.String(), s)
		}
	}
}

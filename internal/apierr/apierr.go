package apierr

import (
	"errors"
	"fmt"
	"time"
)

// Call is what every Graph request reports, success or not.
type Call struct {
	Status          int    // HTTP status; 0 when no response arrived
	RequestID       string // the service's request-id header
	ClientRequestID string // the GUID this client sent (echoed by the service)
	// BatchRequestID is the request-id of the $batch that carried the
	// request, if one did. RequestID is then the item's own, or the
	// batch's when the item's answer had none.
	BatchRequestID string
}

// Class says what the caller should do next with a failed call.
type Class int

const (
	// Other failures are not retried; the action fails.
	Other Class = iota
	// Transient failures (429, 503, 504, resets, timeouts) are retried,
	// after RetryAfter when the service gave one.
	Transient
	// AlreadyInPlace means the desired state already holds: a success.
	AlreadyInPlace
	// NotFound means the connector or group is gone: the action fails,
	// the run goes on.
	NotFound
	// Auth (401, 403) is fatal for the whole run: nothing more is sent.
	Auth
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case AlreadyInPlace:
		return "alreadyInPlace"
	case NotFound:
		return "notFound"
	case Auth:
		return "auth"
	default:
		return "other"
	}
}

// Error is a failed Graph call.
type Error struct {
	Call
	Class      Class
	Code       string        // the OData error code, e.g. Request_ResourceNotFound
	Message    string        // the service's message, or the transport error text
	RetryAfter time.Duration // from Retry-After; 0 when absent
	Hint       string        // what the operator can do (set for Auth)
	Err        error         // the underlying error, when there is one
}

func (e *Error) Error() string {
	var s string
	switch {
	case e.Status != 0 && e.Code != "":
		s = fmt.Sprintf("graph: %d %s: %s", e.Status, e.Code, e.Message)
	case e.Status != 0:
		s = fmt.Sprintf("graph: %d: %s", e.Status, e.Message)
	default:
		s = "graph: " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID + ")"
	}
	if e.Hint != "" {
		s += ". " + e.Hint
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the Class of the *Error in err's chain, or Other.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Other
}

// CallOf returns the Call carried by err, if any.
func CallOf(err error) Call {
	var e *Error
	if errors.As(err, &e) {
		return e.Call
	}
	return Call{}
}

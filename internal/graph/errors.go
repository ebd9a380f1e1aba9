package graph

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models/odataerrors"

	"connrecon/internal/apierr"
)

// alreadyExists is the start of the service's answer to adding a
// connector to the group it is already in (a guess by analogy with
// directory $ref writes; see graph-notes).
const alreadyExists = "One or more added object references already exist"

// permissionHint explains the permission model when Graph says 401/403.
func permissionHint(status int, auth Auth) string {
	if status == http.StatusUnauthorized {
		return "The sign-in (--auth " + auth.String() + ") produced no token Graph accepts: sign in again, or check that the token is for this cloud's Graph host"
	}
	return "The signed-in identity (--auth " + auth.String() + ") lacks permission. These endpoints need the delegated permission Directory.ReadWrite.All, " +
		"granted to an account holding the Application Administrator role (sign in with --auth cli or --auth device); " +
		"Microsoft documents no application permission for them, so a service principal or managed identity may be refused even with Directory.ReadWrite.All"
}

// classify turns what the SDK returned into an *apierr.Error carrying the
// trace ids, classed by what the caller does next.
func (c *Client) classify(ctx context.Context, err error, rec *recorder) error {
	call := rec.call()
	if err == nil {
		return nil
	}
	e := &apierr.Error{Call: call, Err: err}
	var odata *odataerrors.ODataError
	var api *abs.ApiError
	switch {
	case errors.As(err, &odata):
		e.Status = odata.ResponseStatusCode
		if me := odata.GetErrorEscaped(); me != nil {
			e.Code, e.Message = deref(me.GetCode()), deref(me.GetMessage())
		}
		if e.Message == "" {
			e.Message = http.StatusText(e.Status)
		}
		// ODataError.Error() dereferences the message and panics when the
		// body had none: keep it out of the chain, its content is in e.
		e.Err = nil
	case errors.As(err, &api):
		e.Status = api.ResponseStatusCode
		e.Message = http.StatusText(e.Status)
	default:
		e.Message = err.Error()
		switch {
		case ctx.Err() != nil:
			// cancelled or timed out by the caller: Other, and errors.Is
			// still finds the context error through Err.
		case call.ClientRequestID == "":
			// The request never entered the HTTP pipeline: signing in
			// (or attaching the token) failed. Retrying will not help.
			e.Class = apierr.Auth
			e.Message = "sign-in (--auth " + c.cfg.Auth.String() + ") failed: " + e.Message
		case e.Status == 0 && isTransportError(err):
			e.Class = apierr.Transient
		}
		return e
	}
	if e.Status == 0 {
		e.Status = call.Status
	}
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusServiceUnavailable, e.Status == http.StatusGatewayTimeout:
		e.Class = apierr.Transient
		e.RetryAfter = parseRetryAfter(rec.retryAfterValue(), time.Now())
	case e.Status == http.StatusBadRequest && strings.Contains(e.Message, alreadyExists):
		e.Class = apierr.AlreadyInPlace
	case e.Status == http.StatusNotFound:
		e.Class = apierr.NotFound
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden:
		e.Class = apierr.Auth
		e.Hint = permissionHint(e.Status, c.cfg.Auth)
	}
	return e
}

// isTransportError: the request may not have reached the service, or its
// answer was lost (reset, timeout, EOF). Retrying a move is safe: the
// service answers "already exist" if the first one landed.
func isTransportError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "EOF") || errors.Is(err, context.DeadlineExceeded)
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func (r *recorder) call() apierr.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return apierr.Call{Status: r.status, RequestID: r.requestID, ClientRequestID: r.clientRequestID}
}

func (r *recorder) retryAfterValue() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.retryAfter
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

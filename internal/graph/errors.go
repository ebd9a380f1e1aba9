package graph

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models/odataerrors"

	"connrecon/internal/apierr"
)

// alreadyExists is the start of the service's answer to adding a
// connector to the group it is already in (a guess by analogy with
// directory $ref writes; see docs/simulator.md).
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

// Bounds on what an error keeps of a service's (or a proxy's) words.
const (
	maxMessageLen = 1024
	maxCodeLen    = snippetLen
)

// classify turns what the SDK returned into an *apierr.Error carrying the
// trace ids, classed by what the caller does next. Its Code and Message
// come from outside (Graph, a proxy, the identity service, the transport)
// and go to reports and the journal: they are masked (see mask), since a
// proxy's error can echo the request's Authorization header, and cut.
func (c *Client) classify(ctx context.Context, err error, rec *recorder) error {
	if err == nil {
		return nil
	}
	e := c.classifyRaw(ctx, err, rec)
	secrets := c.secrets(rec)
	var cut bool
	if e.Message, cut = mask(e.Message, maxMessageLen, secrets...); cut {
		e.Message += "…"
	}
	if e.Code, cut = mask(e.Code, maxCodeLen, secrets...); cut {
		e.Code += "…"
	}
	return e
}

// secrets are the tokens an error must never quote: the static token, and
// the one the request carried (from any sign-in).
func (c *Client) secrets(rec *recorder) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return []string{strings.TrimSpace(c.cfg.Auth.Token), rec.token}
}

// classifyRaw is classify before the masking.
func (c *Client) classifyRaw(ctx context.Context, err error, rec *recorder) *apierr.Error {
	call := rec.call()
	e := &apierr.Error{Call: call, Err: err}
	var odata *odataerrors.ODataError
	var api *abs.ApiError
	byStatus := true // classed by the HTTP status below
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
		byStatus = false
		switch {
		case ctx.Err() != nil:
			// cancelled or timed out by the caller: Other, and errors.Is
			// still finds the context error through Err.
		case errors.Is(err, errForeignHost):
			// A nextLink pointing away from the Graph host: never follow
			// it with the token, and do not retry.
			e.Class = apierr.Auth
		case call.ClientRequestID == "" && signInTransient(err):
			// The identity service itself failed (a 5xx, a timeout):
			// the pacer tries again, as for Graph.
			e.Class = apierr.Transient
			e.Message = "sign-in (--auth " + c.cfg.Auth.String() + "): " + e.Message
		case call.ClientRequestID == "":
			// The request never entered the HTTP pipeline: signing in
			// was refused or is not set up. Retrying will not help.
			e.Class = apierr.Auth
			e.Message = "sign-in (--auth " + c.cfg.Auth.String() + ") failed: " + e.Message
		case e.Status == 0 && isTransportError(err):
			e.Class = apierr.Transient
		case e.Status >= 400 && !errors.Is(err, errAnswerTooLarge):
			// An error answer the SDK could not parse (a gateway's or a
			// proxy's HTML page: "content type text/html does not have a
			// factory registered"): classed by its status like any other,
			// so a proxy's 503 or 504 is retried and its 401 stops the run.
			e.Message = http.StatusText(e.Status) + " (the body, Content-Type " + contentType(rec.contentTypeValue()) + ", is not a Graph error)"
			e.Err = nil
			byStatus = true
		}
		if !byStatus {
			return e
		}
	}
	if e.Status == 0 {
		e.Status = call.Status
	}
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusServiceUnavailable, e.Status == http.StatusGatewayTimeout:
		e.Class = apierr.Transient
		e.RetryAfter = parseRetryAfter(rec.retryAfterValue(), time.Now())
	case e.Status == http.StatusFailedDependency:
		// A $batch item held back because another failed: not a failure
		// of its own. Sent again (alone).
		e.Class = apierr.Transient
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
// service answers "already exist" if the first one landed. Not every
// net.Error qualifies: *url.Error wraps every client failure, including
// permanent ones (a malformed header, a certificate that does not verify).
func isTransportError(err error) bool {
	var ne net.Error
	var op *net.OpError
	return (errors.As(err, &ne) && ne.Timeout()) || errors.As(err, &op) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}

// signInTransient: the token endpoint (Entra ID, the managed identity
// endpoint) failed in a way that passes: a 5xx or 429, or the network.
func signInTransient(err error) bool {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests
	}
	return isTransportError(err)
}

// maxRetryAfter caps what a Retry-After can ask for: an absurd value (or a
// far-future date) would otherwise hold every worker for hours.
const maxRetryAfter = 5 * time.Minute

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

func (r *recorder) call() apierr.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return apierr.Call{Status: r.status, RequestID: r.requestID, ClientRequestID: r.clientRequestID, BatchRequestID: r.batchRequestID}
}

func (r *recorder) retryAfterValue() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.retryAfter
}

func (r *recorder) locationValue() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.location
}

func (r *recorder) contentTypeValue() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.contentType
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

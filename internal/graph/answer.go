package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"connrecon/internal/apierr"
)

// maxOddAnswers is how many odd answers one read takes (the first
// included) before it fails for good. An odd answer is a success status
// that is not a Graph collection: 200 with an empty, non-JSON or
// value-less body, 204, another 2xx. Most likely a proxy, a captive portal
// or a load balancer answered rather than Graph; one caught mid-failover
// passes, a login page does not, so a few quick tries (the pacer's
// backoff, about 1.5 s at its defaults) and then a plain error, rather
// than the pacer's full budget of eight tries and two minutes.
//
// A redirect (3xx) is never retried: it is configuration (a wrong
// --graph-url, a proxy demanding its own sign-in), and asking again gets
// the same answer.
const maxOddAnswers = 3

// snippetLen bounds how much of an odd body an error quotes.
const snippetLen = 64

// decodePage checks one answer to a collection read and decodes it. Every
// read needs 200 and a JSON object whose "value" is an array; anything
// else is an error of the read, never an empty collection: a proxy's
// empty 200 for a group's members would make a group serving
// applications look already short, and apply would empty it. The SDK
// checks none of this: SendPrimitive takes any status under 400 for
// success, returns nil for a 204 or an empty body, and a 3xx's body as
// the answer. The error is an *apierr.Error: Other for a redirect,
// Transient for the other odd answers (readPage bounds their retries).
func (c *Client) decodePage(rec *recorder, body []byte) (page, error) {
	call := rec.call()
	odd := func(format string, a ...any) error {
		return &apierr.Error{Call: call, Class: apierr.Transient, Message: fmt.Sprintf(format, a...)}
	}
	switch status := call.Status; {
	case status >= 300 && status < 400:
		return page{}, redirectError(rec)
	case status == http.StatusNoContent:
		return page{}, odd("no content, not a Graph collection (want 200 with a JSON body)")
	case status != http.StatusOK:
		return page{}, odd("%s, not a Graph collection (want 200 with a JSON body)", statusText(status))
	case len(bytes.TrimSpace(body)) == 0:
		return page{}, odd("an empty body, not a Graph collection")
	}
	if !json.Valid(body) {
		return page{}, odd("not JSON (Content-Type %s), not a Graph collection: the body begins %s", contentType(rec.contentTypeValue()), snippet(body, snippetLen, c.secrets(rec)...))
	}
	var raw struct {
		Value    json.RawMessage `json:"value"`
		NextLink json.RawMessage `json:"@odata.nextLink"`
	}
	if trimmed := bytes.TrimSpace(body); trimmed[0] != '{' {
		return page{}, odd("not a Graph collection: JSON %s, not an object", jsonKind(trimmed[0]))
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return page{}, odd("not a Graph collection: %v", err)
	}
	var p page
	switch v := bytes.TrimSpace(raw.Value); {
	case len(v) == 0 || string(v) == "null":
		return page{}, odd(`not a Graph collection: no "value"`)
	case v[0] != '[':
		return page{}, odd(`not a Graph collection: "value" is JSON %s, not an array`, jsonKind(v[0]))
	}
	if err := json.Unmarshal(raw.Value, &p.Value); err != nil {
		return page{}, odd(`not a Graph collection: "value": %v`, err)
	}
	if nl := bytes.TrimSpace(raw.NextLink); len(nl) > 0 && string(nl) != "null" {
		if err := json.Unmarshal(nl, &p.NextLink); err != nil {
			return page{}, odd(`not a Graph collection: "@odata.nextLink" is JSON %s, not a string`, jsonKind(nl[0]))
		}
	}
	return p, nil
}

// contentType is a Content-Type header as an error may show it: printable
// and short.
func contentType(ct string) string {
	ct = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(ct))
	switch {
	case ct == "":
		return "none"
	case len(ct) > snippetLen:
		return strings.ToValidUTF8(ct[:snippetLen], "") + "…"
	}
	return ct
}

// redirectError is the error of a request answered with a redirect. The
// client does not follow redirects (CheckRedirect), and the SDK takes a
// 3xx for success: a read gets its body (often empty) as the answer, a
// move reports done.
func redirectError(rec *recorder) error {
	msg := "a redirect with no Location (not followed)"
	if loc := rec.locationValue(); loc != "" {
		msg = "a redirect to " + redactURL(loc) + " (not followed)"
	}
	return &apierr.Error{Call: rec.call(), Class: apierr.Other,
		Message: msg + ": Graph does not redirect these calls, so a proxy or a wrong --graph-url answered"}
}

// writeAnswer checks the status of a write the SDK took for success: only
// a 2xx is.
func writeAnswer(rec *recorder) error {
	switch status := rec.call().Status; {
	case status >= 300 && status < 400:
		return redirectError(rec)
	case status < 200 || status >= 300:
		return &apierr.Error{Call: rec.call(), Class: apierr.Other, Message: statusText(status) + ", not a Graph answer to a write"}
	}
	return nil
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return fmt.Sprintf("HTTP %d %s", status, t)
	}
	return fmt.Sprintf("HTTP %d", status)
}

func jsonKind(first byte) string {
	switch first {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// secretLike matches what might be a credential in a body a proxy sent
// back: a bearer token after "Bearer", or a JWT (base64url parts, the
// first starting with the encoding of `{"`), whole or cut short.
var secretLike = regexp.MustCompile(`(?i)bearer\s+[^\s"'<>&,;]+|eyJ[A-Za-z0-9_-]{4,}(\.[A-Za-z0-9_-]*){0,2}`)

// snippet quotes the start of b for an error message: at most n bytes,
// control characters escaped, masked as mask does. A proxy's page could
// echo the request's Authorization header back.
func snippet(b []byte, n int, secrets ...string) string {
	s, cut := mask(string(bytes.TrimSpace(b)), n, secrets...)
	q := fmt.Sprintf("%q", s)
	if cut {
		q += "…"
	}
	return q
}

// mask is the one rule for text from outside (a body, a service's or a
// proxy's error message) that an error quotes: every secret (the client's
// own tokens) replaced, cut to at most n bytes on a character boundary,
// and then anything token-like (secretLike) replaced, a token cut short
// included. It reports whether it cut.
func mask(s string, n int, secrets ...string) (string, bool) {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	cut := len(s) > n
	if cut {
		s = s[:n]
		for !utf8.ValidString(s) && len(s) > 0 { // do not split a character
			s = s[:len(s)-1]
		}
	}
	return secretLike.ReplaceAllString(s, "[redacted]"), cut
}

// RedactUserinfo is a URL as logs, errors and reports may show it: user
// information (user:password@, or a token as the user name) masked as
// xxxxx, the rest as given. Only a URL that parses as scheme://host is
// trusted to say where its user information is. Any other (unparsable,
// opaque like http:user:pw@host, host-less like https:/user:pw@host or
// https//user:pw@host, or no scheme at all) is masked from after its
// "scheme://", if any, up to the last "@" before any "?" or "#": too
// much, perhaps, but never the password.
func RedactUserinfo(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Opaque == "" && u.Host != "" {
		if u.User == nil {
			return raw
		}
		u.User = url.User("xxxxx")
		return u.String()
	}
	prefix, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	head := rest
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		head = rest[:i]
	}
	if i := strings.LastIndex(head, "@"); i >= 0 {
		return prefix + "xxxxx" + rest[i:]
	}
	return raw
}

// maxURLLen bounds how much of a foreign URL an error quotes.
const maxURLLen = 120

// redactURL is a URL as an error may quote it: user information masked,
// no query or fragment (a login page's query can carry a session or a
// state), at most maxURLLen bytes. An unparsable URL is masked the same
// way as far as its shape allows.
func redactURL(raw string) string {
	raw = strings.TrimSpace(raw)
	var s string
	if u, err := url.Parse(raw); err == nil {
		if u.RawQuery != "" || u.ForceQuery {
			u.RawQuery, u.ForceQuery = "…", false
		}
		u.Fragment, u.RawFragment = "", ""
		s = RedactUserinfo(u.String())
	} else {
		s = raw
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i] + "?…"
		}
		s = RedactUserinfo(s)
	}
	if len(s) > maxURLLen {
		s = s[:maxURLLen]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// origin is a URL's scheme and host, the port spelled out, lower case:
// what decides where a request (and its token) goes.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

package graphsim

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Token, if non-empty, is the only bearer token accepted (401
	// otherwise); if empty any non-empty bearer token is accepted.
	Token string
	// PageSize is the page size when a request has no $top. Default
	// Guesses.PageSize (100): a GUESS (see guesses.go).
	PageSize int
	// MaxPageSize is the largest page; a larger $top is a 400 or a
	// smaller page (Guesses.TopAboveMax). Default Guesses.MaxPageSize
	// (999): a GUESS (see guesses.go).
	MaxPageSize int
	// Guesses are the answers no public source shows; a zero field is
	// today's guess (DefaultGuesses).
	Guesses Guesses
	// DenyWrites answers every write 403 Authorization_RequestDenied, as
	// the service does for a caller without Directory.ReadWrite.All.
	DenyWrites bool
	// DenyReads answers every read 403 Authorization_RequestDenied too, as
	// for a sign-in without any of the permissions these calls need.
	DenyReads bool
	// Permissions enforces what a JWT bearer token's claims grant, as the
	// service does: delegated calls need the Directory.ReadWrite.All scope
	// (Learn lists no lesser one for these reads or writes), and app-only
	// calls are what Guesses.AppOnly says. Tokens that are no readable JWT
	// (the tests' "test-token") pass as before.
	Permissions bool
	// Faults to inject from the start; see also SetFaults.
	Faults Faults
	// Seed seeds every random choice (faults, request ids, skip-token
	// secret), so runs with the same request order repeat exactly.
	Seed int64
	// Now is the clock, for tests; default time.Now. Latency and Jitter are
	// real sleeps regardless.
	Now func() time.Time
	// EnforceRegionRule refuses a move into a group whose region differs
	// from the default group's while the connector sits in such a group too
	// (Microsoft's documented topology rule; the error is a GUESS). Off by
	// default, because the real rule's details are not public.
	EnforceRegionRule bool
}

// Faults are the injected failures. The zero value injects nothing.
type Faults struct {
	// Latency is the service's response time: an answer leaves this long
	// after its request arrived, the simulator's own work included (its
	// timers are set early by their average lateness; see timerLag).
	Latency time.Duration
	Jitter  time.Duration // plus uniform random [0,Jitter)
	// ThrottleRPS is the tenant's token bucket rate; 0 = off. A request
	// that finds the bucket empty is answered 429 with Retry-After set to
	// the time until a token is available; it does not consume a token.
	ThrottleRPS float64
	// ThrottleBurst is the bucket size (default max(1, int(ThrottleRPS))).
	ThrottleBurst int
	// ThrottleRate is the fraction of requests answered 429 at random, in
	// addition to the bucket (0..1).
	ThrottleRate float64
	// RetryAfter is given on random 429s and on some 503s (default 1s;
	// sent rounded up to whole seconds). A value under a second is sent as
	// "Retry-After: 0" (retry at once), which keeps fault-heavy tests fast.
	RetryAfter time.Duration
	// RetryAfterDate sends Retry-After as an HTTP date instead of seconds.
	RetryAfterDate bool
	// ErrorRate is the fraction answered 503 or 504 (half each); half of
	// the 503s carry Retry-After.
	ErrorRate float64
	// ResetRate is the fraction whose connection is reset with no answer:
	// the connection is hijacked and closed with RST. Where it cannot be
	// hijacked (HTTP/2, a ResponseRecorder) the handler panics with
	// http.ErrAbortHandler, which net/http turns into an aborted stream.
	ResetRate float64
	// ResetAfterApply: when a reset hits a write, apply the write first,
	// then reset ("the request succeeded but the answer was lost").
	// Default false: reset before applying.
	ResetAfterApply bool
	// StaleFor is how long after a move the membership reads (members,
	// members/$ref, memberOf, memberOf/$ref) still show the connector in
	// its previous group, and after an application's move the reads of
	// connectorGroups/{id}/applications and applications/{id}/connectorGroup
	// the application in its previous group. Writes, State() and
	// Uncovered see the true state at once.
	StaleFor time.Duration
}

func (f Faults) retryAfter() time.Duration {
	if f.RetryAfter <= 0 {
		return time.Second
	}
	return f.RetryAfter
}

func (f Faults) burst() float64 {
	if f.ThrottleBurst > 0 {
		return float64(f.ThrottleBurst)
	}
	return math.Max(1, math.Floor(f.ThrottleRPS))
}

// LoggedRequest is one entry of the request log.
type LoggedRequest struct {
	Time   time.Time
	Method string
	// Path is the decoded URL path, e.g.
	// /beta/onPremisesPublishingProfiles/applicationProxy/connectorGroups/ID/members/$ref.
	// $batch items are logged too, each with its own path under /beta.
	Path   string
	Query  string // raw query
	Status int    // status sent; 0 when no answer was sent (reset, canceled)
	Body   string // request body after gzip decoding
	// Fault is "" or "throttle", "503", "504", "reset"; "canceled" when the
	// client went away during injected latency.
	Fault                      string
	RequestID, ClientRequestID string
	// BatchRequestID is, for a $batch item, the request-id of the batch
	// that carried it (its entry comes after the items').
	BatchRequestID string
	// Took is the real time from the request's arrival to its answer being
	// handed to net/http (or to the reset, or to the client going away):
	// the service time, injected latency included, by the real clock, not
	// Now. It is 0 for $batch items; the outer request's entry has it.
	Took time.Duration
}

// OuterBatch reports whether r is a POST /$batch itself, not one of its
// items: Graph counts (and tests mostly look at) the items.
func (r LoggedRequest) OuterBatch() bool {
	return r.BatchRequestID == "" && strings.HasSuffix(r.Path, "/$batch")
}

// Server is the simulated tenant. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	token      string
	pageSize   int
	maxPage    int
	clock      func() time.Time
	regionRule bool
	secret     uint64
	g          Guesses // defaults filled in

	mu         sync.Mutex
	faults     Faults
	denyWrites bool
	denyReads  bool
	perms      bool
	rng        *rand.Rand // fault decisions and $batch order
	idRng      *rand.Rand // GUIDs, a separate stream so ids don't shift faults
	tokens     float64    // token bucket
	bucketAt   time.Time
	bucketInit bool

	groups       []Group // applications included (the true state); order is the serving order
	groupIdx     map[string]int
	conns        []Connector // Group always holds the canonical group id
	connIdx      map[string]int
	defaultGroup int
	stale        map[int]staleEntry // connector index -> what reads still show
	moves        int
	log          []LoggedRequest

	// Applications: each published one is in exactly one group's
	// Applications (the true state); apps indexes them. Unpublished ones
	// are in no group.
	apps        appIndex
	unpublished []Application
	unpubIdx    map[string]int        // lower-case id -> index in unpublished
	appStale    map[string]staleEntry // lower-case application id -> what reads still show
	appMoves    int
	coverage    coverageLog

	lag      timerLag                        // how late the latency timers fire
	newTimer func(time.Duration) *time.Timer // time.NewTimer; tests see the durations
}

// staleEntry is the eventually consistent view of one moved connector.
type staleEntry struct {
	shown string // group id that membership reads still show
	until time.Time
}

// New returns a Server over a deep copy of t. Connectors with an empty
// Group are placed in the default group. New panics if t fails
// Tenant.Validate: a simulator over an inconsistent tenant would answer
// nonsense.
func New(t *Tenant, opts Options) *Server {
	if err := t.Validate(); err != nil {
		panic(err)
	}
	t = t.Clone()
	s := &Server{
		token:      opts.Token,
		pageSize:   opts.PageSize,
		maxPage:    opts.MaxPageSize,
		clock:      opts.Now,
		regionRule: opts.EnforceRegionRule,
		g:          opts.Guesses.withDefaults(),
		faults:     opts.Faults,
		denyWrites: opts.DenyWrites,
		denyReads:  opts.DenyReads,
		perms:      opts.Permissions,
		rng:        rand.New(rand.NewPCG(uint64(opts.Seed), 1)),
		idRng:      rand.New(rand.NewPCG(uint64(opts.Seed), 2)),
		secret:     rand.New(rand.NewPCG(uint64(opts.Seed), 3)).Uint64(),
		newTimer:   time.NewTimer,
		groups:     t.Groups,
		groupIdx:   map[string]int{},
		conns:      t.Connectors,
		connIdx:    map[string]int{},
		stale:      map[int]staleEntry{},
	}
	if s.maxPage <= 0 {
		s.maxPage = s.g.MaxPageSize
	}
	if s.pageSize <= 0 {
		s.pageSize = s.g.PageSize
	}
	s.pageSize = min(s.pageSize, s.maxPage)
	if s.clock == nil {
		s.clock = time.Now
	}
	for i, g := range s.groups {
		s.groupIdx[strings.ToLower(g.ID)] = i
		if g.IsDefault {
			s.defaultGroup = i
		}
	}
	for i := range s.conns {
		c := &s.conns[i]
		s.connIdx[strings.ToLower(c.ID)] = i
		gi := s.defaultGroup
		if c.Group != "" {
			gi = s.groupIdx[strings.ToLower(c.Group)]
		}
		c.Group = s.groups[gi].ID
	}
	s.apps = newAppIndex(s.groups)
	s.unpublished, s.unpubIdx, s.appStale = t.Unpublished, map[string]int{}, map[string]staleEntry{}
	for i, a := range s.unpublished {
		s.unpubIdx[strings.ToLower(a.ID)] = i
	}
	s.coverage.start(s)
	return s
}

// SetFaults changes the injected faults; it also refills the token bucket.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.bucketInit = false
}

// SetDenyWrites turns the 403 answer to writes on or off.
func (s *Server) SetDenyWrites(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyWrites = deny
}

// State returns a deep copy of the true current state (not the stale view
// reads may show). Every connector's Group is set explicitly.
func (s *Server) State() *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return (&Tenant{Groups: s.groups, Connectors: s.conns, Unpublished: s.unpublished}).Clone()
}

// Moves returns how many connector moves have been applied.
func (s *Server) Moves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.moves
}

// ApplicationMoves returns how many application moves (a PUT
// applications/{id}/connectorGroup/$ref into another group) have been
// applied; a PUT into the group the application is in moves nothing.
func (s *Server) ApplicationMoves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appMoves
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []LoggedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LoggedRequest(nil), s.log...)
}

// Items is Requests without the outer $batch entries: each request as
// Graph counts it, sent alone or in a batch.
func (s *Server) Items() []LoggedRequest {
	var out []LoggedRequest
	for _, r := range s.Requests() {
		if !r.OuterBatch() {
			out = append(out, r)
		}
	}
	return out
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

func (s *Server) now() time.Time { return s.clock() }

func (s *Server) appendLog(e LoggedRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, e)
}

func (s *Server) newGUID() string {
	s.mu.Lock()
	hi, lo := s.idRng.Uint64(), s.idRng.Uint64()
	s.mu.Unlock()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// draws are the random numbers one request may need. Every request takes
// the same number, whatever faults are on, so the decisions for request N
// depend only on N and the seed.
type draws struct{ jitter, reset, throttle, err, kind, retry float64 }

func (s *Server) draw() (Faults, draws) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rng
	return s.faults, draws{r.Float64(), r.Float64(), r.Float64(), r.Float64(), r.Float64(), r.Float64()}
}

// call is one request as the handlers see it: a plain request or a $batch
// item.
type call struct {
	method      string
	path        string   // decoded URL path
	segs        []string // path segments after /beta; nil outside /beta
	query       url.Values
	body        []byte
	bodyErr     error  // the body could not be decoded
	root        string // scheme://host/beta, for absolute URLs in answers
	auth        string // Authorization header
	reqID       string
	clientReqID string
	now         time.Time
	batchItem   bool
	g           *Guesses // the server's, for the answers
}

const maxBody = 4 << 20 // Graph's request size limit

// ServeHTTP applies the faults in order latency → reset → throttle (bucket,
// then random) → 503/504 → auth, then handles the request. Latency counts
// from the request's arrival, as a service's response time does: the
// simulator's own work before the wait is part of it, not added to it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	arrived := s.now()
	reqID := s.newGUID()
	clientReqID := r.Header.Get("client-request-id")
	if clientReqID == "" {
		clientReqID = s.newGUID()
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		// The client is gone mid-body; there is nobody to answer.
		s.appendLog(LoggedRequest{Time: arrived, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Fault: "canceled", RequestID: reqID, ClientRequestID: clientReqID, Took: time.Since(start)})
		return
	}
	body, bodyErr := decodeBody(r.Header.Get("Content-Encoding"), raw)
	entry := LoggedRequest{Time: arrived, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Body: string(body), RequestID: reqID, ClientRequestID: clientReqID}
	if bodyErr != nil {
		entry.Body = string(raw)
	}

	f, d := s.draw()
	delay := f.Latency + time.Duration(d.jitter*float64(f.Jitter))
	if delay > 0 {
		if !s.waitUntil(r.Context(), start.Add(delay)) {
			entry.Fault = "canceled"
			entry.Took = time.Since(start)
			s.appendLog(entry)
			return
		}
	}

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	c := &call{
		method:      r.Method,
		path:        r.URL.Path,
		segs:        splitPath(r.URL.Path),
		query:       r.URL.Query(),
		body:        body,
		bodyErr:     bodyErr,
		root:        scheme + "://" + r.Host + "/beta",
		auth:        r.Header.Get("Authorization"),
		reqID:       reqID,
		clientReqID: clientReqID,
		now:         s.now(),
		g:           &s.g,
	}
	if len(raw) > maxBody {
		c.bodyErr = errTooLarge
	}

	if f.ResetRate > 0 && d.reset < f.ResetRate {
		if f.ResetAfterApply && isWrite(r.Method) {
			s.authAndHandle(c) // the answer is lost with the connection
		}
		entry.Fault = "reset"
		entry.Took = time.Since(start)
		s.appendLog(entry)
		abortConnection(w)
		return
	}

	resp := s.gate(c, f, d)
	if resp == nil {
		resp = s.authAndHandle(c)
	}
	entry.Status, entry.Fault = resp.status, resp.fault
	entry.Took = time.Since(start)
	s.appendLog(entry) // before answering, so a client that got its answer finds the entry
	writeResponse(w, c, resp)
}

// waitUntil sleeps until the answer is due, or returns false when the
// client goes away first. The timer is set early by the timers' average
// lateness (see timerLag).
func (s *Server) waitUntil(ctx context.Context, due time.Time) bool {
	wait := time.Until(due)
	if wait <= 0 {
		return ctx.Err() == nil
	}
	d := s.lag.timerFor(wait)
	set := time.Now()
	t := s.newTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		s.lag.observe(time.Since(set) - d)
		return true
	case <-ctx.Done():
		return false
	}
}

var errTooLarge = errors.New("the request body is larger than 4 MB")

// splitPath returns the segments after /beta, or nil for paths outside
// /beta. A trailing slash is tolerated.
func splitPath(p string) []string {
	rest, found := strings.CutPrefix(p, "/beta/")
	rest = strings.TrimSuffix(rest, "/")
	if !found || rest == "" {
		return nil
	}
	return strings.Split(rest, "/")
}

func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// decodeBody undoes Content-Encoding: Graph decodes gzip request bodies and
// refuses a body that claims gzip but is not.
func decodeBody(encoding string, raw []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		if len(raw) == 0 {
			return raw, nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("the request body could not be decompressed (Content-Encoding: gzip): %v", err)
		}
		b, err := io.ReadAll(io.LimitReader(zr, maxBody+1))
		if err != nil {
			return nil, fmt.Errorf("the request body could not be decompressed (Content-Encoding: gzip): %v", err)
		}
		if len(b) > maxBody {
			return nil, errTooLarge
		}
		return b, nil
	default:
		return nil, fmt.Errorf("the request body could not be decompressed: unsupported Content-Encoding %q", encoding)
	}
}

// outerBatch: c is a POST /$batch itself, not one of its items.
func (c *call) outerBatch() bool {
	return !c.batchItem && len(c.segs) == 1 && strings.EqualFold(c.segs[0], "$batch")
}

// gate applies the throttle and 503/504 faults; nil means the request goes
// on.
func (s *Server) gate(c *call, f Faults, d draws) *response {
	if f.ThrottleRPS > 0 && !c.outerBatch() { // Graph counts a batch's items
		if ok, wait := s.takeToken(c.now, f); !ok {
			return s.throttled(c, f, wait, false)
		}
	}
	if f.ThrottleRate > 0 && d.throttle < f.ThrottleRate {
		return s.throttled(c, f, f.retryAfter(), f.RetryAfter > 0 && f.RetryAfter < time.Second)
	}
	if f.ErrorRate > 0 && d.err < f.ErrorRate {
		if d.kind < 0.5 {
			resp := odataError(c, http.StatusServiceUnavailable, s.g.UnavailableCode, s.g.UnavailableMessage)
			if d.retry < 0.5 {
				resp.header.Set("Retry-After", retryAfterValue(c.now, f.retryAfter(), f.RetryAfterDate, f.RetryAfter > 0 && f.RetryAfter < time.Second))
			}
			resp.fault = "503"
			return resp
		}
		resp := odataError(c, http.StatusGatewayTimeout, s.g.TimeoutCode, s.g.TimeoutMessage)
		resp.fault = "504"
		return resp
	}
	return nil
}

// takeToken takes one token from the tenant's bucket, or says how long until
// one is available. A refused request takes nothing.
func (s *Server) takeToken(now time.Time, f Faults) (bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	burst := f.burst()
	if !s.bucketInit {
		s.tokens, s.bucketAt, s.bucketInit = burst, now, true
	}
	if el := now.Sub(s.bucketAt); el > 0 {
		s.tokens = math.Min(burst, s.tokens+el.Seconds()*f.ThrottleRPS)
		s.bucketAt = now
	}
	if s.tokens >= 1 {
		s.tokens--
		return true, 0
	}
	return false, time.Duration((1 - s.tokens) / f.ThrottleRPS * float64(time.Second))
}

// throttled answers 429. now says "Retry-After: 0" (retry at once, legal
// HTTP): what a configured RetryAfter under a second means, so that
// fault-heavy tests need not sleep a second per throttle.
func (s *Server) throttled(c *call, f Faults, wait time.Duration, now bool) *response {
	secs := retrySeconds(wait)
	if now {
		secs = 0
	}
	resp := odataError(c, http.StatusTooManyRequests, s.g.ThrottleCode, fmt.Sprintf(s.g.ThrottleFormat, secs))
	resp.header.Set("Retry-After", retryAfterValue(c.now, wait, f.RetryAfterDate, now))
	resp.fault = "throttle"
	return resp
}

// retrySeconds rounds up to whole seconds, minimum 1, so a client that
// waits what it is told always finds capacity.
func retrySeconds(d time.Duration) int64 {
	secs := int64((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}

func retryAfterValue(now time.Time, d time.Duration, asDate, zero bool) string {
	secs := retrySeconds(d)
	if zero {
		secs = 0
	}
	if !asDate {
		return strconv.FormatInt(secs, 10)
	}
	t := now.Add(time.Duration(secs) * time.Second)
	if t.Nanosecond() != 0 { // HTTP dates have whole seconds: round up
		t = t.Truncate(time.Second).Add(time.Second)
	}
	return t.UTC().Format(http.TimeFormat)
}

// checkAuth answers 401 like Graph: missing or empty bearer token, or (with
// Options.Token) a different one.
func (s *Server) checkAuth(c *call) *response {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(c.auth), " ")
	tok = strings.TrimSpace(tok)
	var msg string
	switch {
	case !strings.EqualFold(scheme, "Bearer") || tok == "":
		msg = "Access token is empty."
	case s.token != "" && tok != s.token:
		msg = "Access token validation failure. Invalid audience."
	default:
		return nil
	}
	resp := odataError(c, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
	resp.header.Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	return resp
}

func (s *Server) authAndHandle(c *call) *response {
	if resp := s.checkAuth(c); resp != nil {
		return resp
	}
	if c.bodyErr != nil {
		if c.bodyErr == errTooLarge {
			return odataError(c, http.StatusRequestEntityTooLarge, s.g.BadRequestCode, "The request body is larger than 4 MB.")
		}
		return badRequest(c, capitalize(c.bodyErr.Error())+".")
	}
	return s.route(c)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func writeResponse(w http.ResponseWriter, c *call, resp *response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("request-id", c.reqID)
	h.Set("client-request-id", c.clientReqID)
	h.Set("Date", c.now.UTC().Format(http.TimeFormat))
	if resp.body != nil {
		h.Set("Content-Type", resp.contentType)
		h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	w.WriteHeader(resp.status)
	if resp.body != nil {
		_, _ = w.Write(resp.body)
	}
}

// abortConnection resets the TCP connection with no answer. Linger 0 makes
// Close send RST rather than FIN, as a dropped load balancer connection
// does.
func abortConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2 or a recorder: net/http aborts the stream
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// UnsignedToken is a JWT with these claims and no signature: what a test
// (or a person trying `connrecon sim` with Options.Permissions) signs in
// with to play a user or an application. The simulator, like connrecon,
// reads claims without verifying them.
func UnsignedToken(claims map[string]any) string {
	b, err := json.Marshal(claims)
	if err != nil {
		panic(err) // claims of plain values always marshal
	}
	return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + base64.RawURLEncoding.EncodeToString(b) + ".unsigned"
}

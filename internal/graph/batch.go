package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"connrecon/internal/pacer"
)

// MaxBatchSize is Graph's limit on the requests of one JSON batch, and
// the default of Config.BatchSize.
const MaxBatchSize = 20

// batchLinger is how long a request waits for others to share its batch.
// Requests that run together (a wave's moves, a snapshot's group reads)
// arrive within microseconds of each other; a request alone waits this
// long and then goes out as a plain request.
const batchLinger = 2 * time.Millisecond

// maxBatchedBody: a larger request body goes out on its own (Graph's
// bodies here are a few hundred bytes).
const maxBatchedBody = 64 << 10

// errBatchLost: a request went out in a $batch whose answer did not say
// what became of it. It wraps io.ErrUnexpectedEOF so that it is what it
// is for the caller: an answer lost after the request was sent (retried,
// and for a move settled by reading the tenant).
var errBatchLost = fmt.Errorf("its answer was lost with the $batch that carried it: %w", io.ErrUnexpectedEOF)

// batcher is the transport under the middleware chain. Requests to the
// Graph URL that are in flight at the same moment go out together as one
// POST /$batch, up to size at a time; each caller gets its own answer
// back as an *http.Response built from its item of the batch's answer.
// Everything above it works per request as before: each request has its
// own client-request-id, recorder, pacer call (Graph counts every item
// against its throttle, and so does the pacer), retries and classing. A
// retry (pacer.Attempt > 1) goes out on its own.
//
// A batch whose answer is lost is a lost answer for each of its requests.
// A service that refuses $batch (400, 404 or 405 on it) or answers it with
// something that is not a batch turns batching off for the rest of the
// run; the refused requests are sent again one by one (a refused batch ran
// none of them), and so are the reads of an answer that is not a batch;
// its writes are lost answers, which the caller settles by reading.
type batcher struct {
	next    http.RoundTripper
	size    int
	origin  string // scheme://host[:port] of the Graph URL
	root    string // its escaped path: the version root, e.g. /beta
	timeout time.Duration
	linger  time.Duration       // batchLinger; tests that count batches wait longer
	onOff   func(reason string) // told once, when batching is turned off
	pause   func(time.Duration) // the pacer's shared pause; nil without a pacer

	off     atomic.Bool
	offOnce sync.Once

	mu    sync.Mutex
	open  map[string]*batch // being filled, by Authorization header
	stats BatchStats
}

// BatchStats count what the batcher sent.
type BatchStats struct {
	Batches int // POST /$batch sent
	Items   int // requests sent inside them
	Off     bool
}

type batch struct {
	key     string
	items   []*batchItem
	timer   *time.Timer
	sent    bool
	waiting int                // callers still waiting for the answer
	cancel  context.CancelFunc // ends the outer request
}

type batchItem struct {
	req  *http.Request
	body []byte
	id   string
	done chan batchResult // buffered: the sender never blocks
}

type batchResult struct {
	resp *http.Response
	err  error
}

type singleKey struct{}

// single marks ctx's requests as never to be batched: a round trip timed
// on its own (Ping), or a probe of $batch itself.
func single(ctx context.Context) context.Context { return context.WithValue(ctx, singleKey{}, true) }

func newBatcher(next http.RoundTripper, cfg Config, origin, root string) *batcher {
	b := &batcher{next: next, size: cfg.BatchSize, origin: origin, root: root, timeout: cfg.Timeout,
		linger: batchLinger, onOff: cfg.OnNote, open: map[string]*batch{}}
	if cfg.Pacer != nil {
		b.pause = cfg.Pacer.Pause
	}
	return b
}

// Stats says what was sent in batches so far.
func (b *batcher) Stats() BatchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	st.Off = b.off.Load()
	return st
}

func (b *batcher) RoundTrip(req *http.Request) (*http.Response, error) {
	if !b.wants(req) {
		return b.next.RoundTrip(req)
	}
	body, ok, err := readBatchable(req)
	if err != nil {
		return nil, err
	}
	it := &batchItem{req: req, body: body, done: make(chan batchResult, 1)}
	if !ok {
		return b.next.RoundTrip(it.alone())
	}
	bt := b.enqueue(it)
	select {
	case r := <-it.done:
		return r.resp, r.err
	case <-req.Context().Done():
		if b.withdraw(bt, it) {
			return nil, req.Context().Err() // never sent
		}
		return nil, fmt.Errorf("stopped waiting for the $batch that carried it: %w", req.Context().Err())
	}
}

// wants says whether req may share a batch: a request to the Graph URL
// (not $batch itself) that is not a retry, batching being on.
func (b *batcher) wants(req *http.Request) bool {
	if b.size < 2 || b.off.Load() || pacer.Attempt(req.Context()) > 1 || req.Context().Value(singleKey{}) != nil {
		return false
	}
	p := req.URL.EscapedPath()
	if origin(req.URL) != b.origin || !strings.HasPrefix(p, b.root+"/") || strings.EqualFold(p, b.root+"/$batch") {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	return req.Header.Get("Content-Encoding") == ""
}

// readBatchable reads req's body: a batch item's body must be JSON, and
// small. ok is false for one that is not (the request goes out alone).
func readBatchable(req *http.Request) (body []byte, ok bool, err error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, true, nil
	}
	body, err = io.ReadAll(io.LimitReader(req.Body, maxBatchedBody+1))
	req.Body.Close()
	if err != nil {
		return nil, false, err
	}
	if len(body) == 0 {
		return nil, true, nil
	}
	ok = len(body) <= maxBatchedBody && strings.Contains(strings.ToLower(req.Header.Get("Content-Type")), "json") && json.Valid(body)
	return body, ok, nil
}

// alone is the request as it goes out on its own, its body restored.
func (it *batchItem) alone() *http.Request {
	r := it.req.Clone(it.req.Context())
	if it.body == nil {
		return r
	}
	body := it.body
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return r
}

func (b *batcher) enqueue(it *batchItem) *batch {
	key := it.req.Header.Get("Authorization") // one batch carries one token
	b.mu.Lock()
	bt := b.open[key]
	if bt == nil {
		bt = &batch{key: key}
		b.open[key] = bt
		bt.timer = time.AfterFunc(b.linger, func() { b.flush(bt) })
	}
	bt.items = append(bt.items, it)
	full := len(bt.items) >= b.size
	if full {
		delete(b.open, key) // later requests start the next batch
	}
	b.mu.Unlock()
	if full && bt.timer.Stop() {
		go b.flush(bt)
	}
	return bt
}

// withdraw takes it out of bt if bt has not been sent; it reports whether
// it did. A caller that stops waiting for a sent batch counts down its
// waiters: when none is left, the batch's request is given up.
func (b *batcher) withdraw(bt *batch, it *batchItem) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !bt.sent {
		for i, x := range bt.items {
			if x == it {
				bt.items = append(bt.items[:i], bt.items[i+1:]...)
				break
			}
		}
		return true
	}
	if bt.waiting--; bt.waiting == 0 && bt.cancel != nil {
		bt.cancel()
	}
	return false
}

func (b *batcher) flush(bt *batch) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	b.mu.Lock()
	if bt.sent {
		b.mu.Unlock()
		return
	}
	bt.sent = true
	if b.open[bt.key] == bt {
		delete(b.open, bt.key)
	}
	items := bt.items
	bt.waiting, bt.cancel = len(items), cancel
	if len(items) > 1 {
		b.stats.Batches++
		b.stats.Items += len(items)
	}
	b.mu.Unlock()
	switch len(items) {
	case 0:
	case 1:
		b.alone(items[0])
	default:
		b.send(ctx, items)
	}
}

// alone sends it as a plain request.
func (b *batcher) alone(it *batchItem) {
	resp, err := b.next.RoundTrip(it.alone())
	it.done <- batchResult{resp, err}
}

// batchRequest is one request of a $batch, as Graph takes it.
type batchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// batchAnswer is Graph's answer to a $batch. Header values are kept raw:
// a value that is not a string must not fail the whole answer.
type batchAnswer struct {
	Responses []struct {
		ID      string                     `json:"id"`
		Status  int                        `json:"status"`
		Headers map[string]json.RawMessage `json:"headers"`
		Body    json.RawMessage            `json:"body"`
	} `json:"responses"`
}

func (b *batcher) send(ctx context.Context, items []*batchItem) {
	reqs := make([]batchRequest, len(items))
	for i, it := range items {
		it.id = strconv.Itoa(i + 1)
		u := strings.TrimPrefix(it.req.URL.EscapedPath(), b.root)
		if it.req.URL.RawQuery != "" {
			u += "?" + it.req.URL.RawQuery
		}
		h := map[string]string{"client-request-id": it.req.Header.Get("client-request-id")}
		if it.body != nil {
			h["Content-Type"] = it.req.Header.Get("Content-Type")
		}
		reqs[i] = batchRequest{ID: it.id, Method: it.req.Method, URL: u, Headers: h, Body: it.body}
	}
	payload, err := json.Marshal(struct {
		Requests []batchRequest `json:"requests"`
	}{reqs})
	if err != nil { // cannot happen: every body is valid JSON
		b.fail(items, err)
		return
	}
	outer, err := http.NewRequestWithContext(ctx, http.MethodPost, b.origin+b.root+"/$batch", bytes.NewReader(payload))
	if err != nil {
		b.fail(items, err)
		return
	}
	outer.Header.Set("Authorization", items[0].req.Header.Get("Authorization"))
	outer.Header.Set("Content-Type", "application/json")
	outer.Header.Set("Accept", "application/json")
	outer.Header.Set("User-Agent", items[0].req.Header.Get("User-Agent"))
	outer.Header.Set("client-request-id", uuid.NewString())
	resp, err := b.next.RoundTrip(outer)
	if err != nil {
		b.fail(items, fmt.Errorf("$batch: %w", err))
		return
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerSize+1))
	resp.Body.Close()
	switch {
	case err != nil:
		b.fail(items, fmt.Errorf("$batch: reading its answer: %w", err))
		return
	case len(raw) > maxAnswerSize:
		b.fail(items, errAnswerTooLarge)
		return
	}
	batchID := resp.Header.Get("request-id")
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		// Refused as a whole: none of it ran.
		b.turnOff(fmt.Sprintf("Graph refused $batch (%s, request-id %s): sending requests one by one", statusText(resp.StatusCode), batchID))
		b.eachAlone(items, func(*batchItem) bool { return true })
		return
	default:
		// The batch itself was throttled, refused or failed: so is each
		// of its requests, as if sent alone.
		b.pauseFor(resp.StatusCode, resp.Header.Get("Retry-After"))
		for _, it := range items {
			b.noteBatch(it, batchID) // before the caller reads its recorder
			it.done <- batchResult{resp: copyAnswer(resp, raw, it.req), err: nil}
		}
		return
	}
	var ans batchAnswer
	if json.Unmarshal(raw, &ans) != nil || ans.Responses == nil {
		b.turnOff(fmt.Sprintf("Graph answered $batch with something that is not a batch answer (request-id %s, Content-Type %s): sending requests one by one", batchID, contentType(resp.Header.Get("Content-Type"))))
		// Reads are sent again; a write may have happened.
		b.eachAlone(items, func(it *batchItem) bool { return it.req.Method == http.MethodGet })
		return
	}
	byID := make(map[string]int, len(ans.Responses))
	for i, r := range ans.Responses {
		if _, dup := byID[r.ID]; !dup {
			byID[r.ID] = i
		}
		// Pause everyone before any answer is handed out: the callers
		// of the items admitted would otherwise send again into the
		// throttle while the 429s are still being read.
		for k, v := range r.Headers {
			if strings.EqualFold(k, "Retry-After") {
				b.pauseFor(r.Status, headerValue(v))
			}
		}
	}
	for _, it := range items {
		i, ok := byID[it.id]
		if !ok || ans.Responses[i].Status < 100 || ans.Responses[i].Status > 999 {
			b.noteBatch(it, batchID)
			it.done <- batchResult{err: errBatchLost}
			continue
		}
		r := ans.Responses[i]
		h := http.Header{}
		for k, v := range r.Headers {
			h.Add(k, headerValue(v)) // canonical: names come in any case
		}
		if h.Get("request-id") == "" {
			// The batch's own id is what support can trace.
			h.Set("request-id", batchID)
		}
		body := itemBody(r.Body, h.Get("Content-Type"))
		b.noteBatch(it, batchID)
		it.done <- batchResult{resp: &http.Response{
			Status: fmt.Sprintf("%d %s", r.Status, http.StatusText(r.Status)), StatusCode: r.Status,
			Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: it.req,
		}}
	}
}

// pauseFor starts the pacer's shared pause for a throttle's answer.
func (b *batcher) pauseFor(status int, retryAfter string) {
	if b.pause != nil && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		b.pause(parseRetryAfter(retryAfter, time.Now()))
	}
}

// eachAlone answers each item: again on its own when again says so, else
// as a lost answer.
func (b *batcher) eachAlone(items []*batchItem, again func(*batchItem) bool) {
	for _, it := range items {
		if !again(it) {
			it.done <- batchResult{err: errBatchLost}
			continue
		}
		go b.alone(it)
	}
}

func (b *batcher) fail(items []*batchItem, err error) {
	for _, it := range items {
		it.done <- batchResult{err: err}
	}
}

func (b *batcher) turnOff(reason string) {
	b.off.Store(true)
	b.offOnce.Do(func() {
		if b.onOff != nil {
			b.onOff(reason)
		}
	})
}

// noteBatch records on the item's recorder the batch that carried it.
func (b *batcher) noteBatch(it *batchItem, batchID string) {
	if r := recorderFrom(it.req.Context()); r != nil {
		r.mu.Lock()
		r.batchRequestID = batchID
		r.mu.Unlock()
	}
}

// copyAnswer is the batch's own answer, as the answer to one request.
func copyAnswer(resp *http.Response, raw []byte, req *http.Request) *http.Response {
	c := *resp
	c.Header = resp.Header.Clone()
	c.Body = io.NopCloser(bytes.NewReader(raw))
	c.ContentLength = int64(len(raw))
	c.Request = req
	return &c
}

func headerValue(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(v))
}

// itemBody is an item's body as the bytes a plain answer would carry:
// JSON as it stands; a string, for a content type other than JSON, is
// base64 as Graph sends non-JSON bodies (or the text itself, if not).
func itemBody(raw json.RawMessage, contentType string) []byte {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	if v[0] != '"' {
		return v
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return v
	}
	if !strings.Contains(strings.ToLower(contentType), "json") {
		if d, err := base64.StdEncoding.DecodeString(s); err == nil {
			return d
		}
		return []byte(s)
	}
	return v
}

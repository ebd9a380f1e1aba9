package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/graphsim"
	"connrecon/internal/pacer"
	"connrecon/plan"
)

// batchedRun applies plan p through c in batches (concurrency 1, so each
// batch is full), with pacer pc.
func batchedRun(t *testing.T, c *Client, p *plan.Plan, pc *pacer.Pacer) []executor.Result {
	t.Helper()
	results, err := executor.Run(context.Background(), p, c, executor.Options{Concurrency: 1, BatchSize: c.BatchSize(), Pacer: pc})
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// patient makes c's batcher wait long for company, so that which requests
// share a batch does not depend on how fast goroutines start (the race
// detector, a loaded machine): a full batch still goes at once.
func patient(c *Client) *Client {
	c.batch.linger = time.Second
	return c
}

// itemsByConnector is the simulator's log of each connector's POSTs.
func itemsByConnector(t *testing.T, log []graphsim.LoggedRequest) map[string][]graphsim.LoggedRequest {
	out := map[string][]graphsim.LoggedRequest{}
	for _, r := range log {
		if r.Method == http.MethodPost && !r.OuterBatch() {
			id := connectorOf(t, r.Body)
			out[id] = append(out[id], r)
		}
	}
	return out
}

// Each move of a batch is its own result: its status, its own request-id
// (from the item's headers, whatever their case; the batch's when the item
// has none) and the batch's request-id beside it. The run's first move
// goes out alone.
func TestBatchItemsAreTheirOwnResults(t *testing.T) {
	for _, guess := range []string{"batchid=lower", "batchid=mixed", "batchid=none"} {
		t.Run(guess, func(t *testing.T) {
			var g graphsim.Guesses
			if err := graphsim.ParseGuess(guess, &g); err != nil {
				t.Fatal(err)
			}
			const n = 41 // the first alone, then two full batches
			tn, p := spreadTenant(n)
			sim := graphsim.New(tn, graphsim.Options{Guesses: g})
			f := newFixtureFor(t, sim, Config{})
			results := batchedRun(t, patient(f.client), p, nil)
			outer := map[string]bool{}
			for _, r := range sim.Requests() {
				if r.OuterBatch() {
					outer[r.RequestID] = true
				}
			}
			if len(outer) != 2 {
				t.Errorf("%d batches, want 2", len(outer))
			}
			items := itemsByConnector(t, sim.Requests())
			for i, r := range results {
				logged := items[p.Changes[r.Change].ConnectorID]
				if r.Outcome != executor.Succeeded || r.Attempts != 1 || len(logged) != 1 {
					t.Fatalf("move %d: %s after %d attempts, %d POSTs", r.Change, r.Outcome, r.Attempts, len(logged))
				}
				e := logged[0]
				if i == 0 {
					if r.Call.BatchRequestID != "" || e.BatchRequestID != "" || r.Call.RequestID != e.RequestID {
						t.Errorf("the first move: %+v, logged %+v; want it sent alone", r.Call, e)
					}
					continue
				}
				want := e.RequestID
				if g.BatchItemID == graphsim.ItemIDNone {
					want = e.BatchRequestID // all support can trace
				}
				if r.Call.Status != e.Status || r.Call.RequestID != want || r.Call.BatchRequestID != e.BatchRequestID || !outer[r.Call.BatchRequestID] {
					t.Errorf("move %d: call %+v; logged item %+v", r.Change, r.Call, e)
				}
				if r.Call.ClientRequestID == "" || r.Call.ClientRequestID != e.ClientRequestID {
					t.Errorf("move %d: client-request-id %q, the item carried %q", r.Change, r.Call.ClientRequestID, e.ClientRequestID)
				}
			}
			if st := f.client.BatchStats(); st.Batches != 2 || st.Items != n-1 || st.Off {
				t.Errorf("batch stats %+v", st)
			}
		})
	}
}

// A batch's items answered 429 with their own Retry-After (the tenant's
// token bucket counts items) go through the pacer: a shared pause, then
// each is sent again on its own, and all land; the pacer counts each.
func TestBatchItemsThrottledOnTheirOwn(t *testing.T) {
	const n = 20 // the first alone, then 19 in a batch: 9 admitted, 10 throttled
	tn, p := spreadTenant(n)
	sim := graphsim.New(tn, graphsim.Options{Faults: graphsim.Faults{ThrottleRPS: 50, ThrottleBurst: 10}})
	pc := pacer.New(pacer.Options{MaxAttempts: 4, BaseDelay: time.Millisecond}, 1)
	f := newFixtureFor(t, sim, Config{Pacer: pc})
	results := batchedRun(t, patient(f.client), p, pc)
	items := itemsByConnector(t, sim.Requests())
	throttled, inBatch := 0, 0
	for _, r := range results {
		logged := items[p.Changes[r.Change].ConnectorID]
		if r.Outcome != executor.Succeeded || r.Attempts != len(logged) {
			t.Errorf("move %d: %s after %d attempts, %d POSTs", r.Change, r.Outcome, r.Attempts, len(logged))
			continue
		}
		for i, e := range logged {
			if e.Status == http.StatusTooManyRequests {
				throttled++
				if e.BatchRequestID != "" {
					inBatch++
				}
			}
			if i > 0 && e.BatchRequestID != "" {
				t.Errorf("move %d: a retry went out in batch %s; want alone", r.Change, e.BatchRequestID)
			}
		}
	}
	// On a loaded machine a latecomer may miss the batch and go alone:
	// most are in it.
	st := pc.Stats()
	if inBatch < 5 || st.Throttled != throttled || st.Pauses < 1 {
		t.Errorf("%d 429s (%d to batch items); pacer %+v; want 10 or so in the batch, each counted, a shared pause", throttled, inBatch, st)
	}
}

// loseWriteBatch passes everything to the simulator but the first $batch
// that carries a write: the simulator runs it, and the client is told
// something else (how is lose's business).
type loseWriteBatch struct {
	sim  *graphsim.Server
	lose func(w http.ResponseWriter, answer *httptest.ResponseRecorder)
	done atomic.Bool
}

func (l *loseWriteBatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !strings.HasSuffix(r.URL.Path, "/$batch") || !bytes.Contains(body, []byte(`"method":"POST"`)) || l.done.Swap(true) {
		l.sim.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	l.sim.ServeHTTP(rec, r)
	l.lose(w, rec)
}

// A batch of moves whose answer is lost, after the tenant made them: each
// move is retried on its own and settled by what the tenant says (its
// "already a member"), never counted failed, and no connector is sent
// again unless its answer was lost (convergeUnderFaults has the same
// under random resets).
func TestLostBatchAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(w http.ResponseWriter, answer *httptest.ResponseRecorder)
		off  bool // batching is turned off after it
	}{
		{name: "connection reset", lose: func(w http.ResponseWriter, _ *httptest.ResponseRecorder) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			conn.Close()
		}},
		{name: "items missing from the answer", lose: func(w http.ResponseWriter, answer *httptest.ResponseRecorder) {
			var a map[string][]json.RawMessage
			_ = json.Unmarshal(answer.Body.Bytes(), &a)
			a["responses"] = a["responses"][:len(a["responses"])/2]
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(a)
		}},
		{name: "an answer that is not a batch", off: true, lose: func(w http.ResponseWriter, _ *httptest.ResponseRecorder) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>Signed out</body></html>")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 21
			tn, p := spreadTenant(n)
			sim := graphsim.New(tn, graphsim.Options{})
			srv := httptest.NewServer(&loseWriteBatch{sim: sim, lose: tc.lose})
			t.Cleanup(srv.Close)
			var notes []string
			pc := pacer.New(pacer.Options{MaxAttempts: 3, BaseDelay: time.Millisecond}, 1)
			c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "test-token"}, Pacer: pc,
				OnNote: func(s string) { notes = append(notes, s) }})
			if err != nil {
				t.Fatal(err)
			}
			results := batchedRun(t, patient(c), p, pc)
			// The simulator's log shows each batch answered: what the
			// client heard is the results'.
			posts := itemsByConnector(t, sim.Requests())
			retried := 0
			for _, r := range results {
				id := p.Changes[r.Change].ConnectorID
				if r.Outcome != executor.Succeeded || len(posts[id]) != r.Attempts {
					t.Errorf("move %d: %s %q after %d attempts, %d POSTs", r.Change, r.Outcome, r.Error, r.Attempts, len(posts[id]))
				}
				if r.Attempts == 2 {
					retried++
					if r.Note != "already in place" {
						t.Errorf("move %d: note %q; want the tenant's \"already a member\"", r.Change, r.Note)
					}
				}
			}
			lost := n - 1
			if tc.name == "items missing from the answer" {
				lost = (n - 1) - (n-1)/2
			}
			if retried != lost {
				t.Errorf("%d moves retried, want the %d whose answers were lost", retried, lost)
			}
			for _, cn := range sim.State().Connectors {
				if want := p.Changes[0].ToGroupID; cn.ID == p.Changes[0].ConnectorID && cn.Group != want {
					t.Errorf("%s in %s", cn.ID, cn.Group)
				}
			}
			if got := c.BatchStats().Off; got != tc.off || len(notes) != map[bool]int{false: 0, true: 1}[tc.off] {
				t.Errorf("batching off %v with notes %q; want off %v", got, notes, tc.off)
			}
		})
	}
}

// A tenant that refuses $batch (400, 404 or 405 on it, or answers it with
// something that is not a batch) is read and written with single
// requests: said once, everything read and moved, each request answered
// once.
func TestBatchFallback(t *testing.T) {
	for _, guess := range []string{"batch=400", "batch=404", "batch=405", "batch=notbatch"} {
		t.Run(guess, func(t *testing.T) {
			var g graphsim.Guesses
			if err := graphsim.ParseGuess(guess, &g); err != nil {
				t.Fatal(err)
			}
			tn, m := hostileTenant(60)
			sim := graphsim.New(tn, graphsim.Options{Guesses: g})
			var mu sync.Mutex
			var notes []string
			f := newFixtureFor(t, sim, Config{ReadConcurrency: 2, OnNote: func(s string) { mu.Lock(); notes = append(notes, s); mu.Unlock() }})
			s, err := f.client.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Connectors) != len(tn.Connectors) || len(s.Groups) != len(tn.Groups) || len(s.Warnings) != 0 {
				t.Fatalf("snapshot: %d connectors, %d groups, warnings %q", len(s.Connectors), len(s.Groups), s.Warnings)
			}
			p := plan.Build(m, s, plan.Options{})
			results := batchedRun(t, f.client, p, fastPacer())
			for _, r := range results {
				if r.Outcome != executor.Succeeded || r.Attempts != 1 || r.Call.BatchRequestID != "" {
					t.Errorf("move %d: %s after %d attempts, call %+v", r.Change, r.Outcome, r.Attempts, r.Call)
				}
			}
			if len(notes) != 1 || !strings.Contains(notes[0], "one by one") {
				t.Errorf("notes %q; want one saying requests go one by one", notes)
			}
			outer := 0
			for _, r := range sim.Requests() {
				if r.OuterBatch() {
					outer++
				} else if r.BatchRequestID != "" {
					t.Errorf("%s %s ran in a batch the tenant refuses", r.Method, r.Path)
				}
			}
			// Only the batches in flight when the first refusal came back.
			if outer == 0 || outer > 2 {
				t.Errorf("%d batches sent; want 1 or 2 (read concurrency 2)", outer)
			}
			if st := f.client.BatchStats(); !st.Off {
				t.Errorf("batch stats %+v: not off", st)
			}
		})
	}
}

// oddBatch answers every $batch itself, each item as the test says; a
// request sent alone gets a plain answer.
type oddBatch struct {
	mu     sync.Mutex
	alone  []string // paths of requests sent on their own
	answer func(id, url string) map[string]any
}

func (o *oddBatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasSuffix(r.URL.Path, "/$batch") {
		o.mu.Lock()
		o.alone = append(o.alone, r.URL.Path)
		o.mu.Unlock()
		w.Header().Set("request-id", "alone-1")
		io.WriteString(w, `{"value":[{"id":"c1"}]}`)
		return
	}
	var b struct {
		Requests []struct{ ID, URL string } `json:"requests"`
	}
	_ = json.NewDecoder(r.Body).Decode(&b)
	var out []map[string]any
	for _, it := range b.Requests {
		a := o.answer(it.ID, it.URL)
		a["id"] = it.ID
		out = append(out, a)
	}
	w.Header().Set("request-id", "batch-1")
	_ = json.NewEncoder(w).Encode(map[string]any{"responses": out})
}

// Item answers are read as a plain answer would be: header names in any
// case, header values that are not strings, a body Graph base64-encodes
// (not JSON); a 424 (held back by another item's failure) is no failure
// of its own: it is sent again, alone.
func TestBatchItemAnswers(t *testing.T) {
	groups := []string{"g-ok", "g-424", "g-text", "g-odd-headers"}
	o := &oddBatch{answer: func(id, url string) map[string]any {
		switch {
		case strings.Contains(url, "g-424"):
			return map[string]any{"status": 424, "headers": map[string]any{"Content-Type": "application/json"},
				"body": map[string]any{"error": map[string]any{"code": "FailedDependency", "message": "depends on a failed request"}}}
		case strings.Contains(url, "g-text"):
			return map[string]any{"status": 400, "headers": map[string]any{"content-type": "text/plain", "REQUEST-ID": "item-text"},
				"body": "VGhlIHJlcXVlc3QgaXMgbWFsZm9ybWVkLg=="} // base64 of "The request is malformed."
		case strings.Contains(url, "g-odd-headers"):
			return map[string]any{"status": 200, "headers": map[string]any{"Content-Type": "application/json", "Retry-After": 5, "x-ms-ags-diagnostic": map[string]any{"a": 1}, "Request-Id": "item-odd"},
				"body": map[string]any{"value": []any{map[string]any{"id": "c4"}}}}
		}
		return map[string]any{"status": 200, "headers": map[string]any{"Content-Type": "application/json", "Request-ID": "item-ok"},
			"body": map[string]any{"value": []any{map[string]any{"id": "c2"}}}}
	}}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	// One batch of exactly these four, whenever they arrive: it goes out
	// when full, never on a timer, so a slow machine cannot split it.
	c, err := New(Config{GraphURL: srv.URL + "/beta", Auth: Auth{Mode: AuthToken, Token: "test-token"}, Pacer: fastPacer(), BatchSize: len(groups)})
	if err != nil {
		t.Fatal(err)
	}
	c.batch.linger = time.Hour
	type got struct {
		ids  []string
		call string
		err  error
	}
	res := make([]got, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() {
			ids, call, err := c.GroupMembers(context.Background(), g)
			res[i] = got{ids, call.RequestID + "/" + call.BatchRequestID, err}
		})
	}
	wg.Wait()
	check := func(g string, wantIDs, wantCall, wantErr string) {
		t.Helper()
		r := res[indexOf(groups, g)]
		if fmt.Sprint(r.ids) != wantIDs || r.call != wantCall || (wantErr == "") != (r.err == nil) || r.err != nil && !strings.Contains(r.err.Error(), wantErr) {
			t.Errorf("%s: ids %v, call %s, err %v; want %s, %s, %q", g, r.ids, r.call, r.err, wantIDs, wantCall, wantErr)
		}
	}
	check("g-ok", "[c2]", "item-ok/batch-1", "")
	check("g-odd-headers", "[c4]", "item-odd/batch-1", "")
	check("g-424", "[c1]", "alone-1/", "") // sent again alone
	// As a plain answer with a text body: no Graph error, said so.
	check("g-text", "[]", "item-text/batch-1", "400: Bad Request (the body, Content-Type text/plain, is not a Graph error)")
	if len(o.alone) != 1 || !strings.Contains(o.alone[0], "g-424") {
		t.Errorf("sent alone: %v; want only the 424's retry", o.alone)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// An item's body becomes the bytes a plain answer would carry.
func TestItemBody(t *testing.T) {
	for _, tc := range []struct {
		raw, contentType, want string
	}{
		{`{"value":[]}`, "application/json", `{"value":[]}`},
		{` {"a":1} `, "application/json; odata.metadata=minimal", `{"a":1}`},
		{`"VGhlIHJlcXVlc3QgaXMgbWFsZm9ybWVkLg=="`, "text/plain", "The request is malformed."},
		{`"not base64!"`, "text/html", "not base64!"},
		{`"a JSON string"`, "application/json", `"a JSON string"`},
		{`null`, "application/json", ""},
		{``, "", ""},
	} {
		if got := string(itemBody(json.RawMessage(tc.raw), tc.contentType)); got != tc.want {
			t.Errorf("itemBody(%s, %s) = %q, want %q", tc.raw, tc.contentType, got, tc.want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A batch answer holding a 429 for one request starts the pacer's shared
// pause before any answer is handed out; its other answers are delivered
// as they are.
func TestBatchThrottledItemPausesEveryone(t *testing.T) {
	pc := pacer.New(pacer.Options{}, 1)
	answer := `{"responses":[{"id":"1","status":429,"headers":{"Retry-After":"2","Content-Type":"application/json"},"body":{"error":{"code":"TooManyRequests","message":"slow down"}}},` +
		`{"id":"2","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[]}}]}`
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(answer))}, nil
	})
	b := newBatcher(next, Config{BatchSize: 20, Pacer: pc, Timeout: time.Minute}, "http://graph.test", "/beta")
	var items []*batchItem
	for _, g := range []string{"a", "b"} {
		req, _ := http.NewRequest(http.MethodGet, "http://graph.test/beta/x/"+g, nil)
		items = append(items, &batchItem{req: req, done: make(chan batchResult, 1)})
	}
	b.send(context.Background(), items)
	if st := pc.Stats(); st.Pauses != 1 || st.RetryAfter != 0 {
		t.Errorf("pacer %+v after the batch's answer: want one pause, no Retry-After counted yet (the calls count theirs)", st)
	}
	for i, want := range []int{429, 200} {
		r := <-items[i].done
		if r.err != nil || r.resp.StatusCode != want {
			t.Errorf("item %d: %v, %+v; want %d", i+1, r.err, r.resp, want)
		}
	}
}

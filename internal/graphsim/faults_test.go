package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestThrottleTokenBucket(t *testing.T) {
	clock := newClock()
	h := newHarness(t, Options{Now: clock.Now, Faults: Faults{ThrottleRPS: 0.5, ThrottleBurst: 2}})
	get := func() result { return h.do("GET", base+"/connectors", nil) }
	want429 := func(retryAfter string) {
		t.Helper()
		r := get()
		e := wantError(t, r, 429, "TooManyRequests", "Too many requests. Retry after "+retryAfter+" seconds.")
		if r.header.Get("Retry-After") != retryAfter {
			t.Errorf("Retry-After %q, want %q", r.header.Get("Retry-After"), retryAfter)
		}
		if e.Error.InnerError["request-id"] != r.header.Get("request-id") || r.header.Get("request-id") == "" {
			t.Error("429 without request-id")
		}
	}
	// The burst passes, then the bucket is empty: a token every 2 s.
	for i := range 2 {
		if r := get(); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	want429("2")
	want429("2") // refused requests take no token
	clock.Advance(500 * time.Millisecond)
	want429("2") // 1.5 s to go, rounded up
	clock.Advance(600 * time.Millisecond)
	want429("1") // 0.9 s to go, rounded up
	clock.Advance(900 * time.Millisecond)
	if r := get(); r.status != 200 {
		t.Fatalf("after the wait: %d", r.status)
	}
	want429("2")
	// A long idle refills the bucket to its burst, no more.
	clock.Advance(time.Hour)
	for i := range 2 {
		if r := get(); r.status != 200 {
			t.Fatalf("after idle, request %d: %d", i, r.status)
		}
	}
	want429("2")

	log := h.sim.Requests()
	var throttled int
	for _, e := range log {
		if e.Fault == "throttle" {
			throttled++
			if e.Status != 429 {
				t.Errorf("throttled entry with status %d", e.Status)
			}
		}
	}
	if throttled != 6 {
		t.Errorf("%d throttled log entries, want 6", throttled)
	}

	// SetFaults refills the bucket and can turn throttling off.
	h.sim.SetFaults(Faults{})
	for range 5 {
		if r := get(); r.status != 200 {
			t.Fatalf("throttling off: %d", r.status)
		}
	}
}

func TestThrottleDefaultBurst(t *testing.T) {
	clock := newClock()
	h := newHarness(t, Options{Now: clock.Now, Faults: Faults{ThrottleRPS: 3}})
	var codes []int
	for range 4 {
		codes = append(codes, h.do("GET", base+"/connectors", nil).status)
	}
	if !slices.Equal(codes, []int{200, 200, 200, 429}) {
		t.Errorf("statuses %v, want a burst of 3", codes)
	}
}

func TestThrottleRetryAfterDate(t *testing.T) {
	clock := newClock()
	clock.Advance(300 * time.Millisecond) // a fraction: the date must round up
	h := newHarness(t, Options{Now: clock.Now, Faults: Faults{ThrottleRate: 1, RetryAfter: 2500 * time.Millisecond, RetryAfterDate: true}})
	r := h.do("GET", base+"/connectors", nil)
	wantError(t, r, 429, "TooManyRequests", "Too many requests. Retry after 3 seconds.")
	d, err := http.ParseTime(r.header.Get("Retry-After"))
	if err != nil {
		t.Fatalf("Retry-After %q: %v", r.header.Get("Retry-After"), err)
	}
	if want := time.Date(2025, 3, 1, 12, 0, 4, 0, time.UTC); !d.Equal(want) {
		t.Errorf("Retry-After %v, want %v (now + 3 s, rounded up to the second)", d, want)
	}

	h.sim.SetFaults(Faults{ThrottleRate: 1, RetryAfter: 2500 * time.Millisecond})
	if got := h.do("GET", base+"/connectors", nil).header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3 (rounded up)", got)
	}
	h.sim.SetFaults(Faults{ThrottleRate: 1})
	if got := h.do("GET", base+"/connectors", nil).header.Get("Retry-After"); got != "1" {
		t.Errorf("default Retry-After %q, want 1", got)
	}
}

// outcome is what a client saw for one request, for comparing runs.
type outcome struct {
	status     int
	retryAfter string
	err        bool
}

func runFaulty(t *testing.T, seed int64, n int) ([]outcome, []LoggedRequest) {
	clock := newClock()
	h := newHarness(t, Options{Seed: seed, Now: clock.Now, Faults: Faults{ThrottleRate: 0.15, ErrorRate: 0.3, ResetRate: 0.1, Jitter: time.Millisecond}})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var out []outcome
	for i := range n {
		var r result
		var err error
		if i%3 == 0 {
			gid := []string{gUS, gEU}[i%2]
			r, err = h.try(client, "POST", base+"/connectorGroups/"+gid+"/members/$ref", refBody("connectors", c1))
		} else {
			r, err = h.try(client, "GET", base+"/connectors?$top=3", nil)
		}
		out = append(out, outcome{r.status, r.header.Get("Retry-After"), err != nil})
	}
	return out, h.sim.Requests()
}

func TestRandomFaultsRepeatWithSeed(t *testing.T) {
	const n = 150
	a, logA := runFaulty(t, 42, n)
	b, logB := runFaulty(t, 42, n)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different outcomes:\n%v\n%v", a, b)
	}
	for i := range logA {
		if logA[i].Fault != logB[i].Fault || logA[i].Status != logB[i].Status || logA[i].RequestID != logB[i].RequestID {
			t.Errorf("log entry %d differs: %+v vs %+v", i, logA[i], logB[i])
			break
		}
	}
	c, _ := runFaulty(t, 7, n)
	if slices.Equal(a, c) {
		t.Error("different seeds, same outcomes")
	}
	count := map[string]int{}
	for i, o := range a {
		switch {
		case o.err:
			count["reset"]++
			if logA[i].Fault != "reset" || logA[i].Status != 0 {
				t.Errorf("reset logged as %+v", logA[i])
			}
		case o.status == 503 && o.retryAfter != "":
			count["503+Retry-After"]++
		case o.status == 503:
			count["503"]++
		case o.status == 504:
			count["504"]++
		case o.status == 429:
			count["429"]++
			if o.retryAfter != "1" {
				t.Errorf("429 Retry-After %q", o.retryAfter)
			}
		case o.status < 300 || o.status == 400:
			count["handled"]++
		default:
			t.Errorf("unexpected outcome %+v", o)
		}
	}
	for _, k := range []string{"reset", "503+Retry-After", "503", "504", "429", "handled"} {
		if count[k] == 0 {
			t.Errorf("no %q among %d requests: %v", k, n, count)
		}
	}
}

func TestReset(t *testing.T) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	t.Run("read", func(t *testing.T) {
		h := newHarness(t, Options{Faults: Faults{ResetRate: 1}})
		if _, err := h.try(client, "GET", base+"/connectors", nil); err == nil {
			t.Fatal("no connection error")
		}
		log := h.sim.Requests()
		if len(log) != 1 || log[0].Fault != "reset" || log[0].Status != 0 {
			t.Errorf("log %+v", log)
		}
	})
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("write ResetAfterApply=%v", after), func(t *testing.T) {
			h := newHarness(t, Options{Faults: Faults{ResetRate: 1, ResetAfterApply: after}})
			if _, err := h.try(client, "POST", base+"/connectorGroups/"+gEU+"/members/$ref", refBody("connectors", c1)); err == nil {
				t.Fatal("no connection error")
			}
			want := gUS
			if after {
				want = gEU
			}
			if got := groupOf(h.sim.State(), c1); got != want {
				t.Errorf("c1 in %s, want %s", got, want)
			}
			log := h.sim.Requests()
			if len(log) != 1 || log[0].Fault != "reset" || log[0].Body == "" {
				t.Errorf("log %+v", log)
			}
			// The answer was lost, but the retry sees the true state.
			h.sim.SetFaults(Faults{})
			r, err := h.try(client, "POST", base+"/connectorGroups/"+gEU+"/members/$ref", refBody("connectors", c1))
			if err != nil {
				t.Fatal(err)
			}
			if (after && r.status != 400) || (!after && r.status != 204) {
				t.Errorf("retry: %d", r.status)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Latency: 60 * time.Millisecond, Jitter: 20 * time.Millisecond}})
	start := time.Now()
	if r := h.do("GET", base+"/connectors", nil); r.status != 200 {
		t.Fatal(r.status)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("answered after %v, want at least 60ms", d)
	}
}

// Latency counts from arrival, and the log says how long each answer took.
func TestLatencyIsLogged(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Latency: 60 * time.Millisecond}})
	if r := h.do("GET", base+"/connectors", nil); r.status != 200 {
		t.Fatal(r.status)
	}
	log := h.sim.Requests()
	if len(log) != 1 || log[0].Took < 60*time.Millisecond {
		t.Errorf("log %+v, want one request that took at least 60ms", log)
	}
}

// The lateness estimate is a moving average of timers' lateness (weight
// 1/16), with each sample taken between 0 and maxTimerLag, and a timer is
// never set more than a quarter of its wait early.
func TestTimerLag(t *testing.T) {
	var l timerLag
	for _, tc := range []struct {
		late, want time.Duration
	}{
		{1600 * time.Microsecond, 100 * time.Microsecond},
		{-time.Second, 93750 * time.Nanosecond}, // taken as 0: (0-100µs)/16 off
		{time.Hour, 93750*time.Nanosecond + (maxTimerLag-93750*time.Nanosecond)/16},
	} {
		l.observe(tc.late)
		if got := l.estimate(); got != tc.want {
			t.Fatalf("after a timer %v late: estimate %v, want %v", tc.late, got, tc.want)
		}
	}
	l.ns.Store(int64(maxTimerLag))
	for _, tc := range []struct{ wait, want time.Duration }{
		{20 * time.Millisecond, 18 * time.Millisecond},
		{4 * time.Millisecond, 3 * time.Millisecond}, // a quarter at most
		{time.Millisecond, 750 * time.Microsecond},
	} {
		if got := l.timerFor(tc.wait); got != tc.want {
			t.Errorf("timer for a %v wait with a 2ms estimate: %v, want %v", tc.wait, got, tc.want)
		}
	}
}

// The server learns from its latency timers and sets the next one early by
// what it learnt.
func TestLatencyTimerSetEarly(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Latency: 100 * time.Millisecond}})
	var set []time.Duration
	h.sim.newTimer = func(d time.Duration) *time.Timer {
		set = append(set, d) // one request at a time
		return time.NewTimer(d)
	}
	for range 2 {
		if r := h.do("GET", base+"/connectors", nil); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	est := h.sim.lag.estimate()
	if est <= 0 {
		t.Fatalf("estimate %v after two timers, want above 0 (no timer fires to the nanosecond)", est)
	}
	h.sim.lag.ns.Store(int64(maxTimerLag))
	if r := h.do("GET", base+"/connectors", nil); r.status != 200 {
		t.Fatal(r.status)
	}
	// The wait is the latency less the time spent before it: at most the
	// latency, and (with a wide margin for a loaded machine) not much less.
	if len(set) != 3 || set[0] > 100*time.Millisecond || set[0] < 50*time.Millisecond ||
		set[2] > 100*time.Millisecond-maxTimerLag || set[2] < 50*time.Millisecond {
		t.Errorf("timers set for %v; want the first at most 100ms and the last at most %v", set, 100*time.Millisecond-maxTimerLag)
	}
}

func TestFaultOrder(t *testing.T) {
	// Throttling comes before auth: a 429 even without a token, as the
	// gateway throttles before the token is checked.
	h := newHarness(t, Options{Faults: Faults{ThrottleRate: 1}})
	wantError(t, h.do("GET", base+"/connectors", nil, "Authorization", ""), 429, "TooManyRequests", "")
	h.sim.SetFaults(Faults{ErrorRate: 1})
	r := h.do("GET", base+"/connectors", nil, "Authorization", "")
	if r.status != 503 && r.status != 504 {
		t.Errorf("status %d, want 503 or 504", r.status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

type batchAnswer struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

func TestBatch(t *testing.T) {
	h := newHarness(t, Options{Seed: 1})
	body := `{"requests":[
		{"id":"1","method":"GET","url":"/onPremisesPublishingProfiles/applicationProxy/connectors?$top=2&$select=machineName"},
		{"id":"2","method":"POST","url":"/onPremisesPublishingProfiles/applicationProxy/connectorGroups/` + gEU + `/members/$ref",
		 "headers":{"Content-Type":"application/json"},"body":` + string(refBody("connectors", c1)) + `},
		{"id":"3","method":"POST","url":"/onPremisesPublishingProfiles/applicationProxy/connectorGroups/` + gEU + `/members/$ref",
		 "headers":{"Content-Type":"application/json"},"body":` + string(refBody("connectors", c1)) + `},
		{"id":"4","method":"GET","url":"/onPremisesPublishingProfiles/applicationProxy/connectors/` + c2 + `","dependsOn":["3"]},
		{"id":"5","method":"GET","url":"onPremisesPublishingProfiles/applicationProxy/connectorGroups/nope"}
	]}`
	r := h.do("POST", "/beta/$batch", []byte(body))
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	ans := decode[batchAnswer](t, r)
	got := map[string]int{}
	var order []string
	for _, it := range ans.Responses {
		got[it.ID] = it.Status
		order = append(order, it.ID)
		if it.ID == "1" {
			var p page
			if err := json.Unmarshal(it.Body, &p); err != nil || len(p.Value) != 2 || !strings.HasPrefix(p.NextLink, h.srv.URL+"/beta/") {
				t.Errorf("item 1 body %s", it.Body)
			}
		}
		if it.ID == "3" && !strings.Contains(string(it.Body), alreadyExistsMembersMessage) {
			t.Errorf("item 3 body %s", it.Body)
		}
		if it.Status >= 400 && it.Headers["Content-Type"] != "application/json" {
			t.Errorf("item %s headers %v", it.ID, it.Headers)
		}
	}
	want := map[string]int{"1": 200, "2": 204, "3": 400, "4": 424, "5": 404}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	t.Logf("answer order %v", order)
	if groupOf(h.sim.State(), c1) != gEU {
		t.Error("batched move not applied")
	}
	if n := len(h.sim.Requests()); n != 6 {
		t.Errorf("%d log entries, want 5 items + the batch", n)
	}

	tooMany := `{"requests":[`
	for i := range 21 {
		if i > 0 {
			tooMany += ","
		}
		tooMany += fmt.Sprintf(`{"id":"%d","method":"GET","url":"/onPremisesPublishingProfiles/applicationProxy/connectors"}`, i)
	}
	tooMany += `]}`
	wantError(t, h.do("POST", "/beta/%24batch", []byte(tooMany)), 400, "Request_BadRequest", "Number of batch request steps exceeds the maximum of 20.")
	wantError(t, h.do("POST", "/beta/$batch", []byte(`{"requests":[{"id":"1","method":"GET","url":"/x","dependsOn":["9"]}]}`)), 400, "Request_BadRequest", "")
	wantError(t, h.do("GET", "/beta/$batch", nil), 405, "Request_BadRequest", "")
	wantError(t, h.do("POST", "/beta/$batch", []byte(`{}`), "Authorization", ""), 401, "InvalidAuthenticationToken", "")
}

func TestBatchItemsThrottledOnTheirOwn(t *testing.T) {
	clock := newClock()
	h := newHarness(t, Options{Now: clock.Now, Faults: Faults{ThrottleRPS: 1, ThrottleBurst: 3}})
	body := `{"requests":[`
	for i := range 4 {
		if i > 0 {
			body += ","
		}
		body += fmt.Sprintf(`{"id":"%d","method":"GET","url":"/onPremisesPublishingProfiles/applicationProxy/connectors"}`, i)
	}
	body += `]}`
	r := h.do("POST", "/beta/$batch", []byte(body))
	if r.status != 200 {
		t.Fatalf("outer status %d", r.status)
	}
	var ok, throttled int
	for _, it := range decode[batchAnswer](t, r).Responses {
		switch it.Status {
		case 200:
			ok++
		case 429:
			throttled++
			if it.Headers["Retry-After"] != "1" {
				t.Errorf("item Retry-After %q", it.Headers["Retry-After"])
			}
		}
	}
	// The bucket counts the items, not the batch: three tokens, three items.
	if ok != 3 || throttled != 1 {
		t.Errorf("%d ok, %d throttled; want 3 and 1", ok, throttled)
	}
}

func TestClientGoneDuringLatency(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Latency: 2 * time.Second}})
	client := &http.Client{Timeout: 50 * time.Millisecond}
	if _, err := h.try(client, "GET", base+"/connectors", nil); err == nil {
		t.Fatal("no timeout")
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if log := h.sim.Requests(); len(log) == 1 {
			if log[0].Fault != "canceled" || log[0].Status != 0 {
				t.Errorf("log %+v", log[0])
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Error("canceled request not logged")
}

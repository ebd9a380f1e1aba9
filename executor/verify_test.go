package executor

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connrecon/internal/apierr"
	"connrecon/plan"
)

// fakeReader is a hand-written Reader modelling replication delay: a
// connector shows in its group from the visibleFrom-th read of that group
// on (1 = at once; 0 = never). It counts reads per group and can fail them.
type fakeReader struct {
	mu          sync.Mutex
	members     map[string][]string // group → connectors eventually listed
	visibleFrom map[string]int      // connector → first read that lists it
	reads       map[string]int
	fail        map[string][]error // group → errors for its first reads
	during      func(group string, read int)
}

func newFakeReader() *fakeReader {
	return &fakeReader{members: map[string][]string{}, visibleFrom: map[string]int{}, reads: map[string]int{}, fail: map[string][]error{}}
}

func (f *fakeReader) GroupMembers(ctx context.Context, groupID string) ([]string, apierr.Call, error) {
	f.mu.Lock()
	f.reads[groupID]++
	n := f.reads[groupID]
	during := f.during
	var err error
	if errs := f.fail[groupID]; n <= len(errs) {
		err = errs[n-1]
	}
	var ids []string
	for _, c := range f.members[groupID] {
		if v := f.visibleFrom[c]; v > 0 && n >= v {
			ids = append(ids, strings.ToUpper(c)) // ids compare without case
		}
	}
	f.mu.Unlock()
	if during != nil {
		during(groupID, n)
	}
	call := apierr.Call{Status: 200, RequestID: "read-" + groupID + "-" + strconv.Itoa(n)}
	if err != nil {
		return nil, call, err
	}
	return append(ids, "someone-else"), call, nil
}

// GroupApplications reads the group's applications: members["apps:"+group].
func (f *fakeReader) GroupApplications(ctx context.Context, groupID string) ([]string, apierr.Call, error) {
	return f.GroupMembers(ctx, "apps:"+groupID)
}

func (f *fakeReader) readsOf(g string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads[g]
}

// verifyFixture: moves c1, c2 → gA; c3 → gB, all succeeded; c4 failed and
// c5 not attempted (neither is verified).
func verifyFixture() (*plan.Plan, []Result, *fakeReader) {
	p := &plan.Plan{}
	for _, c := range []struct{ id, to string }{{"c1", "gA"}, {"c2", "gA"}, {"c3", "gB"}, {"c4", "gB"}, {"c5", "gC"}} {
		p.Changes = append(p.Changes, plan.Change{ConnectorID: c.id, FromGroupID: "g-old", ToGroupID: c.to, Action: plan.ActionMove, Wave: 1})
	}
	results := []Result{
		{Change: 0, Outcome: Succeeded}, {Change: 1, Outcome: Succeeded}, {Change: 2, Outcome: Succeeded},
		{Change: 3, Outcome: Failed}, {Change: 4, Outcome: NotAttempted},
	}
	r := newFakeReader()
	r.members["gA"] = []string{"c1", "c2"}
	r.members["gB"] = []string{"c3", "c4"}
	return p, results, r
}

func verified(results []Result) []any {
	var out []any
	for _, r := range results {
		if r.Verified == nil {
			out = append(out, nil)
		} else {
			out = append(out, *r.Verified)
		}
	}
	return out
}

var quickPoll = VerifyOptions{Timeout: watchdog, Interval: time.Microsecond, MaxInterval: 10 * time.Microsecond}

// Replication delay: Verify polls only the groups still missing a move,
// until every move is seen.
func TestVerifyRidesOutReplicationDelay(t *testing.T) {
	p, results, r := verifyFixture()
	r.visibleFrom = map[string]int{"c1": 1, "c2": 3, "c3": 2, "c4": 1}
	var waits []int
	opts := quickPoll
	opts.OnWait = func(n int, _ time.Duration) { waits = append(waits, n) }
	if err := Verify(watchdogCtx(t), p, results, r, opts); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got, want := verified(results), []any{true, true, true, nil, nil}; !reflect.DeepEqual(got, want) {
		t.Errorf("verified %v, want %v", got, want)
	}
	// gA until its third read (c2), gB until its second (c3); gC holds no
	// succeeded move and is never read.
	if r.readsOf("gA") != 3 || r.readsOf("gB") != 2 || r.readsOf("gC") != 0 {
		t.Errorf("reads gA %d, gB %d, gC %d; want 3, 2, 0", r.readsOf("gA"), r.readsOf("gB"), r.readsOf("gC"))
	}
	if want := []int{2, 1}; !reflect.DeepEqual(waits, want) {
		t.Errorf("unverified before each wait %v, want %v", waits, want)
	}
}

func TestVerifyTimeoutLeavesUnseenMovesFalse(t *testing.T) {
	p, results, r := verifyFixture()
	r.visibleFrom = map[string]int{"c1": 1, "c3": 1} // c2 never shows
	opts := VerifyOptions{Timeout: 20 * time.Millisecond, Interval: time.Millisecond}
	err := Verify(watchdogCtx(t), p, results, r, opts)
	var ue *UnverifiedError
	if !errors.As(err, &ue) || ue.Unverified != 1 || ue.LastReadErr != nil {
		t.Fatalf("err = %v, want one move unverified", err)
	}
	if !strings.Contains(err.Error(), "1 move(s) not seen in their target group within 20ms") {
		t.Errorf("message %q", err)
	}
	if got, want := verified(results), []any{true, false, true, nil, nil}; !reflect.DeepEqual(got, want) {
		t.Errorf("verified %v, want %v", got, want)
	}
}

func TestVerifyBackoffDoublesToCap(t *testing.T) {
	p, results, r := verifyFixture()
	r.visibleFrom = map[string]int{"c1": 6, "c2": 1, "c3": 1}
	var waits []time.Duration
	opts := VerifyOptions{Timeout: time.Hour, Interval: time.Millisecond, MaxInterval: 4 * time.Millisecond,
		OnWait: func(_ int, d time.Duration) { waits = append(waits, d) }}
	if err := Verify(watchdogCtx(t), p, results, r, opts); err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	if want := []time.Duration{ms, 2 * ms, 4 * ms, 4 * ms, 4 * ms}; !reflect.DeepEqual(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
}

func TestVerifyReadErrors(t *testing.T) {
	transient := &apierr.Error{Call: apierr.Call{Status: 503}, Class: apierr.Transient, Message: "Service unavailable"}
	notFound := &apierr.Error{Call: apierr.Call{Status: 404}, Class: apierr.NotFound, Message: "Resource 'gB' does not exist"}
	denied := &apierr.Error{Call: apierr.Call{Status: 403}, Class: apierr.Auth, Message: "denied", Hint: "needs Directory.ReadWrite.All"}

	t.Run("a failed read is polled again", func(t *testing.T) {
		p, results, r := verifyFixture()
		r.visibleFrom = map[string]int{"c1": 1, "c2": 1, "c3": 1}
		r.fail["gB"] = []error{transient, transient}
		if err := Verify(watchdogCtx(t), p, results, r, quickPoll); err != nil {
			t.Fatal(err)
		}
		if got, want := verified(results), []any{true, true, true, nil, nil}; !reflect.DeepEqual(got, want) {
			t.Errorf("verified %v, want %v", got, want)
		}
		if r.readsOf("gB") != 3 || r.readsOf("gA") != 1 {
			t.Errorf("reads gA %d gB %d, want 1 and 3", r.readsOf("gA"), r.readsOf("gB"))
		}
	})
	t.Run("a group that is gone is false at once", func(t *testing.T) {
		p, results, r := verifyFixture()
		r.visibleFrom = map[string]int{"c1": 1, "c2": 1}
		r.fail["gB"] = []error{notFound}
		err := Verify(watchdogCtx(t), p, results, r, quickPoll)
		var ue *UnverifiedError
		if !errors.As(err, &ue) || ue.Unverified != 1 || !errors.Is(err, notFound) || !strings.Contains(err.Error(), "gB") {
			t.Fatalf("err = %v, want c3 unverified because gB is gone", err)
		}
		if got, want := verified(results), []any{true, true, false, nil, nil}; !reflect.DeepEqual(got, want) {
			t.Errorf("verified %v, want %v", got, want)
		}
		if r.readsOf("gB") != 1 {
			t.Errorf("gB read %d times; a 404 is not polled", r.readsOf("gB"))
		}
	})
	t.Run("a refused read stops verification", func(t *testing.T) {
		p, results, r := verifyFixture()
		r.visibleFrom = map[string]int{"c1": 1, "c2": 1}
		r.fail["gB"] = []error{denied}
		err := Verify(watchdogCtx(t), p, results, r, quickPoll)
		if apierr.ClassOf(err) != apierr.Auth || !strings.Contains(err.Error(), denied.Hint) {
			t.Fatalf("err = %v, want the 403", err)
		}
		if results[2].Verified != nil {
			t.Errorf("c3 verified %v; an unread group proves nothing", *results[2].Verified)
		}
	})
}

func TestVerifyInterrupted(t *testing.T) {
	p, results, r := verifyFixture()
	r.visibleFrom = map[string]int{"c1": 1, "c3": 1} // c2 never shows
	ctx, cancel := context.WithCancel(watchdogCtx(t))
	r.during = func(g string, n int) {
		if g == "gA" && n == 2 {
			cancel() // Ctrl-C during the second round
		}
	}
	err := Verify(ctx, p, results, r, VerifyOptions{Timeout: time.Hour, Interval: time.Microsecond})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// Seen moves keep true; the undecided one stays nil, not false.
	if got, want := verified(results), []any{true, nil, true, nil, nil}; !reflect.DeepEqual(got, want) {
		t.Errorf("verified %v, want %v", got, want)
	}
}

func TestVerifyNothingToVerify(t *testing.T) {
	p, results, r := verifyFixture()
	for i := range results {
		results[i].Outcome = Failed
	}
	if err := Verify(context.Background(), p, results, r, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if r.readsOf("gA")+r.readsOf("gB") != 0 {
		t.Error("groups read with no succeeded move")
	}
	if err := Verify(context.Background(), p, results, nil, VerifyOptions{}); err == nil {
		t.Error("nil reader accepted")
	}
}

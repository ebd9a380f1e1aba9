package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/internal/graphsim"
	"connrecon/plan"
)

// Ids of appTenant (apps_client_test.go).
const (
	appOld = "9c000000-0000-4000-8000-000000000002"
	appNew = "9c000000-0000-4000-8000-000000000003"
)

func appID(i int) string { return fmt.Sprintf("a0000000-0000-4000-8000-%012d", i) }

// appPuts are the logged PUTs that move applications (alone or as $batch
// items).
func appPuts(sim *graphsim.Server) []graphsim.LoggedRequest {
	var out []graphsim.LoggedRequest
	for _, r := range sim.Items() {
		if r.Method == http.MethodPut && strings.HasPrefix(r.Path, "/beta/applications/") && strings.HasSuffix(r.Path, "/connectorGroup/$ref") {
			out = append(out, r)
		}
	}
	return out
}

// The PUT is what Learn documents: the application's object id in the
// path, the group's absolute URL under the Graph URL in the body; the Call
// names the request the service logged.
func TestMoveApplicationRequest(t *testing.T) {
	f := newFixture(t, appTenant(2), graphsim.Options{}, Config{BatchSize: 1})
	call, err := f.client.MoveApplication(context.Background(), appID(0), appNew)
	if err != nil {
		t.Fatal(err)
	}
	puts := appPuts(f.sim)
	if len(puts) != 1 {
		t.Fatalf("%d PUTs logged, want 1", len(puts))
	}
	r := puts[0]
	if r.Path != "/beta/applications/"+appID(0)+"/connectorGroup/$ref" || r.Query != "" {
		t.Errorf("path %s?%s", r.Path, r.Query)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || len(body) != 1 ||
		body["@odata.id"] != f.srv.URL+"/beta/onPremisesPublishingProfiles/applicationProxy/connectorGroups/"+appNew {
		t.Errorf("body %s (%v)", r.Body, err)
	}
	if call.Status != http.StatusNoContent || call.RequestID != r.RequestID || call.ClientRequestID != r.ClientRequestID || call.BatchRequestID != "" {
		t.Errorf("call %+v, logged %+v", call, r)
	}
	if got := f.sim.State(); f.sim.ApplicationMoves() != 1 || !slices.ContainsFunc(got.Groups[2].Applications, func(a graphsim.Application) bool { return a.ID == appID(0) }) {
		t.Errorf("after the move: %d moves, New serves %+v", f.sim.ApplicationMoves(), got.Groups[2].Applications)
	}
	// Again into the group it is in: a success that moves nothing.
	if call, err := f.client.MoveApplication(context.Background(), appID(0), appNew); err != nil || call.Status != http.StatusNoContent || f.sim.ApplicationMoves() != 1 {
		t.Errorf("the same move again: %+v, %v, %d moves", call, err, f.sim.ApplicationMoves())
	}
	// An odd id is one path segment, escaped as the SDK escapes.
	if got := f.client.applicationMoveURL("a/b c"); got != f.client.base+"/applications/a%2Fb%20c/connectorGroup/$ref" {
		t.Errorf("URL %s", got)
	}
}

// Moves sent together share a $batch; each Call has the item's own
// request-id and the batch's.
func TestMoveApplicationBatched(t *testing.T) {
	f := newFixture(t, appTenant(6), graphsim.Options{}, Config{BatchSize: MaxBatchSize})
	f.client.batch.linger = 200 * time.Millisecond // all six in one batch
	calls := make([]apierr.Call, 6)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() { calls[i], errs[i] = f.client.MoveApplication(context.Background(), appID(i), appNew) })
	}
	wg.Wait()
	byID := map[string]graphsim.LoggedRequest{}
	for _, r := range appPuts(f.sim) {
		byID[r.RequestID] = r
	}
	for i := range 6 {
		r, ok := byID[calls[i].RequestID]
		if errs[i] != nil || calls[i].Status != http.StatusNoContent || !ok || calls[i].BatchRequestID == "" || r.BatchRequestID != calls[i].BatchRequestID {
			t.Errorf("move %d: %+v, %v; logged %+v", i, calls[i], errs[i], r)
		}
	}
	if st := f.client.BatchStats(); st.Batches != 1 || st.Items != 6 || f.sim.ApplicationMoves() != 6 {
		t.Errorf("stats %+v, %d moves; want one batch of 6", st, f.sim.ApplicationMoves())
	}
}

// A 429 is one attempt's Transient answer with its Retry-After; the
// pacer's retry lands the move. The token bucket counts batched items.
func TestMoveApplicationThrottled(t *testing.T) {
	for _, batch := range []int{1, MaxBatchSize} {
		t.Run(fmt.Sprintf("batch size %d", batch), func(t *testing.T) {
			f := newFixture(t, appTenant(3), graphsim.Options{}, Config{BatchSize: batch})
			f.sim.SetFaults(graphsim.Faults{ThrottleRate: 1, RetryAfter: time.Millisecond})
			call, err := f.client.MoveApplication(context.Background(), appID(0), appNew)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Class != apierr.Transient || call.Status != http.StatusTooManyRequests || call.RequestID == "" {
				t.Fatalf("throttled: %+v, %v", call, err)
			}
			if f.sim.ApplicationMoves() != 0 {
				t.Fatal("a throttled PUT moved the application")
			}
			f.sim.SetFaults(graphsim.Faults{})
			pc := fastPacer()
			n := 0
			_, err = pc.Call(context.Background(), func(ctx context.Context) error {
				if n++; n == 1 {
					f.sim.SetFaults(graphsim.Faults{ThrottleRate: 1, RetryAfter: time.Millisecond})
					defer f.sim.SetFaults(graphsim.Faults{})
				}
				_, err := f.client.MoveApplication(ctx, appID(1), appNew)
				return err
			})
			if err != nil || n != 2 || f.sim.ApplicationMoves() != 1 {
				t.Errorf("through the pacer: %v after %d attempts, %d moves", err, n, f.sim.ApplicationMoves())
			}
			// Three moves together against a bucket of two: one item is
			// throttled on its own.
			f.sim.SetFaults(graphsim.Faults{ThrottleRPS: 0.001, ThrottleBurst: 2})
			f.client.batch.linger = 200 * time.Millisecond
			var throttled, ok int
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, i := range []int{0, 1, 2} {
				wg.Go(func() {
					call, err := f.client.MoveApplication(context.Background(), appID(i), appOld)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case apierr.ClassOf(err) == apierr.Transient && call.Status == http.StatusTooManyRequests:
						throttled++
					default:
						t.Errorf("move %d: %+v, %v", i, call, err)
					}
				})
			}
			wg.Wait()
			if ok != 2 || throttled != 1 {
				t.Errorf("%d moved, %d throttled; want 2 and 1", ok, throttled)
			}
		})
	}
}

// An answer lost after the PUT was applied (a reset, alone or with the
// $batch that carried it) is a Transient error with the request's
// client-request-id and no status; sent again, the PUT is a 204 that
// moves nothing, and the executor reports one success.
func TestMoveApplicationLostAnswer(t *testing.T) {
	for _, batch := range []int{1, MaxBatchSize} {
		t.Run(fmt.Sprintf("batch size %d", batch), func(t *testing.T) {
			f := newFixture(t, appTenant(2), graphsim.Options{}, Config{BatchSize: batch})
			f.client.batch.linger = 200 * time.Millisecond
			f.sim.SetFaults(graphsim.Faults{ResetRate: 1, ResetAfterApply: true})
			var wg sync.WaitGroup
			calls, errs := make([]apierr.Call, 2), make([]error, 2)
			for i := range 2 {
				wg.Go(func() { calls[i], errs[i] = f.client.MoveApplication(context.Background(), appID(i), appNew) })
			}
			wg.Wait()
			for i := range 2 {
				if apierr.ClassOf(errs[i]) != apierr.Transient || calls[i].Status != 0 || calls[i].ClientRequestID == "" {
					t.Errorf("move %d: %+v, %v; want a lost answer", i, calls[i], errs[i])
				}
			}
			if f.sim.ApplicationMoves() != 2 {
				t.Errorf("%d moves applied, want 2 (the answers were lost, not the writes)", f.sim.ApplicationMoves())
			}
			// Through the executor: the first attempt's answer is lost, the
			// retry (alone) is answered 204.
			f.sim.SetFaults(graphsim.Faults{ResetRate: 1, ResetAfterApply: true})
			p := &plan.Plan{Changes: []plan.Change{{Row: 2, Kind: plan.KindApplication, ApplicationID: appID(0), DisplayName: "app 0",
				FromGroupID: appNew, FromGroupName: "New", ToGroupID: appOld, ToGroupName: "Old", Action: plan.ActionMove, Wave: 1}}}
			n := 0
			mover := moverFunc(func(ctx context.Context, aid, gid string) (apierr.Call, error) {
				if n++; n == 2 {
					f.sim.SetFaults(graphsim.Faults{})
				}
				return f.client.MoveApplication(ctx, aid, gid)
			})
			results, err := executor.Run(context.Background(), p, mover, executor.Options{Pacer: fastPacer(), BatchSize: f.client.BatchSize()})
			if err != nil {
				t.Fatal(err)
			}
			if r := results[0]; r.Outcome != executor.Succeeded || r.Attempts != 2 || r.Call.Status != http.StatusNoContent || f.sim.ApplicationMoves() != 3 {
				t.Errorf("result %+v after %d moves", r, f.sim.ApplicationMoves())
			}
		})
	}
}

// Refusals are classed as MoveConnector's are: an unknown application
// or group is NotFound, an unpublished one NotFound or Other by the
// guess, a group of another type Other, writes denied Auth with the hint.
func TestMoveApplicationRefused(t *testing.T) {
	tn := appTenant(1)
	tn.Unpublished = []graphsim.Application{{ID: appID(50), DisplayName: "not published"}}
	tn.Groups = append(tn.Groups, graphsim.Group{ID: "9c000000-0000-4000-8000-000000000009", Name: "Sync", ConnectorGroupType: "syncFabric"})
	for _, tt := range []struct {
		name, guess, app, group string
		class                   apierr.Class
		status                  int
		code                    string
	}{
		{"unknown application", "", appID(99), appNew, apierr.NotFound, 404, "Request_ResourceNotFound"},
		{"unknown group", "", appID(0), "9c000000-0000-4000-8000-0000000000ff", apierr.NotFound, 404, "Request_ResourceNotFound"},
		{"unpublished", "", appID(50), appNew, apierr.NotFound, 404, "Application_NotFound"},
		{"unpublished=400", "unpublished=400", appID(50), appNew, apierr.Other, 400, "Request_BadRequest"},
		{"syncFabric group", "", appID(0), "9c000000-0000-4000-8000-000000000009", apierr.Other, 400, "Request_BadRequest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var g graphsim.Guesses
			if tt.guess != "" {
				if err := graphsim.ParseGuess(tt.guess, &g); err != nil {
					t.Fatal(err)
				}
			}
			f := newFixture(t, tn, graphsim.Options{Guesses: g}, Config{})
			call, err := f.client.MoveApplication(context.Background(), tt.app, tt.group)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Class != tt.class || ae.Status != tt.status || ae.Code != tt.code || ae.Message == "" || call.RequestID == "" {
				t.Errorf("%+v, %v (%#v)", call, err, ae)
			}
			if f.sim.ApplicationMoves() != 0 {
				t.Error("a refused PUT moved an application")
			}
		})
	}
	f := newFixture(t, tn, graphsim.Options{DenyWrites: true}, Config{})
	_, err := f.client.MoveApplication(context.Background(), appID(0), appNew)
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Class != apierr.Auth || !strings.Contains(ae.Hint, "Directory.ReadWrite.All") {
		t.Errorf("writes denied: %v", err)
	}
}

// GroupApplications follows every page, takes its Call from the first,
// shares $batches with other reads, and sees an application's move once
// the service shows it.
func TestGroupApplications(t *testing.T) {
	clock := &fakeNow{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	f := newFixture(t, appTenant(7), graphsim.Options{Now: clock.Now, Faults: graphsim.Faults{StaleFor: time.Minute}}, Config{PageSize: 3, Pacer: fastPacer(), BatchSize: 1})
	ids, call, err := f.client.GroupApplications(context.Background(), appOld)
	if err != nil || len(ids) != 7 || ids[0] != appID(0) || ids[6] != appID(6) || call.Status != 200 {
		t.Fatalf("%v, %+v, %v", ids, call, err)
	}
	var reads []graphsim.LoggedRequest
	for _, r := range f.sim.Items() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/connectorGroups/"+appOld+"/applications") {
			reads = append(reads, r)
		}
	}
	if len(reads) != 3 || call.RequestID != reads[0].RequestID || !strings.Contains(reads[0].Query, "select=id") || !strings.Contains(reads[0].Query, "top=3") {
		t.Errorf("%d pages (want 3), first %+v, call %+v", len(reads), reads, call)
	}
	if ids, _, err := f.client.GroupApplications(context.Background(), appNew); err != nil || ids == nil || len(ids) != 0 {
		t.Errorf("an empty group: %#v, %v", ids, err)
	}
	if _, _, err := f.client.GroupApplications(context.Background(), "9c000000-0000-4000-8000-0000000000ff"); apierr.ClassOf(err) != apierr.NotFound {
		t.Errorf("an unknown group: %v", err)
	}
	// Eventually consistent: the move shows after StaleFor.
	if _, err := f.client.MoveApplication(context.Background(), appID(3), appNew); err != nil {
		t.Fatal(err)
	}
	if ids, _, _ := f.client.GroupApplications(context.Background(), appNew); len(ids) != 0 {
		t.Errorf("the move shows before StaleFor: %v", ids)
	}
	clock.Advance(2 * time.Minute)
	if ids, _, _ := f.client.GroupApplications(context.Background(), appNew); !slices.Equal(ids, []string{appID(3)}) {
		t.Errorf("after StaleFor: %v", ids)
	}

	// Batched: reads sent together share one $batch.
	b := newFixture(t, appTenant(4), graphsim.Options{}, Config{BatchSize: MaxBatchSize})
	b.client.batch.linger = 200 * time.Millisecond
	var wg sync.WaitGroup
	got := make([][]string, 4)
	calls := make([]apierr.Call, 4)
	for i, g := range []string{appOld, appNew, appOld, appNew} {
		wg.Go(func() {
			var err error
			if got[i], calls[i], err = b.client.GroupApplications(context.Background(), g); err != nil {
				t.Errorf("read %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i := range 4 {
		if want := map[bool]int{true: 4, false: 0}[i%2 == 0]; len(got[i]) != want || calls[i].BatchRequestID == "" || calls[i].RequestID == calls[i].BatchRequestID {
			t.Errorf("read %d: %v, %+v", i, got[i], calls[i])
		}
	}
	if st := b.client.BatchStats(); st.Batches != 1 || st.Items != 4 {
		t.Errorf("stats %+v, want one batch of four", st)
	}
}

// GroupApplications retries a throttled or lost read through the pacer.
func TestGroupApplicationsRetried(t *testing.T) {
	f := newFixture(t, appTenant(2), graphsim.Options{}, Config{Pacer: fastPacer(), BatchSize: 1})
	f.sim.SetFaults(graphsim.Faults{ThrottleRate: 0.5, ResetRate: 0.3, RetryAfter: time.Millisecond})
	for range 5 {
		ids, _, err := f.client.GroupApplications(context.Background(), appOld)
		if err != nil || len(ids) != 2 {
			t.Fatalf("%v, %v", ids, err)
		}
	}
	var faults int
	for _, r := range f.sim.Requests() {
		if r.Fault != "" {
			faults++
		}
	}
	if faults == 0 {
		t.Error("no fault was injected: the test tests nothing")
	}
}

// fakeNow is a settable clock for graphsim.Options.Now.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeNow) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

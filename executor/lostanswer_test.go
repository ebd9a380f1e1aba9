package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"connrecon/internal/apierr"
	"connrecon/internal/pacer"
)

// lost is an attempt whose request went out (it has a client-request-id)
// and whose answer never came: the connection was reset after the write.
func lost(n int) reply {
	c := apierr.Call{ClientRequestID: fmt.Sprintf("cli-lost-%d", n)}
	return reply{c, &apierr.Error{Call: c, Class: apierr.Transient, Message: "read tcp: connection reset by peer", Err: syscall.ECONNRESET}}
}

func answered(status int, class apierr.Class, msg string) reply {
	c := apierr.Call{Status: status, RequestID: fmt.Sprintf("req-%d", status), ClientRequestID: fmt.Sprintf("cli-%d", status)}
	return reply{c, &apierr.Error{Call: c, Class: class, Message: msg}}
}

// A move that may have happened is never reported failed: once an
// attempt's answer was lost, anything but a success ends Unknown.
func TestApplyLostAnswer(t *testing.T) {
	unavailable := answered(503, apierr.Transient, "Service unavailable")
	badRequest := answered(400, apierr.Other, "region mismatch")
	notFound := answered(404, apierr.NotFound, "Resource 'c2' does not exist")
	already := answered(400, apierr.AlreadyInPlace, "One or more added object references already exist")
	denied := answered(403, apierr.Auth, "Insufficient privileges")
	// A gateway's answer in place of Graph's: the request was passed on.
	gatewayTimeout := answered(504, apierr.Transient, "Gateway Timeout")
	badGateway := answered(502, apierr.Other, "Bad Gateway")
	// Status 0, but nothing was sent: signing in failed (no
	// client-request-id), or the connection was never opened.
	signIn := reply{apierr.Call{}, &apierr.Error{Class: apierr.Transient, Message: "sign-in (--auth cli): timeout"}}
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	refused := reply{apierr.Call{ClientRequestID: "cli-dial"}, &apierr.Error{Call: apierr.Call{ClientRequestID: "cli-dial"}, Class: apierr.Transient, Message: dialErr.Error(), Err: dialErr}}

	for _, tc := range []struct {
		name     string
		replies  []reply
		pacer    *pacer.Pacer
		want     Outcome
		attempts int
		errHas   []string
		fatal    bool
	}{
		{name: "lost, then 503 until attempts run out", replies: []reply{lost(1), unavailable, unavailable}, pacer: fastPacer(3),
			want: Unknown, attempts: 3, errHas: []string{"attempt 1 of 3", "may have happened", "connection reset", "gave up after 3 attempts"}},
		{name: "lost, then a 400 that is not already-exist", replies: []reply{lost(1), badRequest}, pacer: fastPacer(6),
			want: Unknown, attempts: 2, errHas: []string{"attempt 1 of 2", "region mismatch"}},
		{name: "lost, then 404", replies: []reply{lost(1), notFound}, pacer: fastPacer(6),
			want: Unknown, attempts: 2, errHas: []string{"attempt 1 of 2", "does not exist"}},
		{name: "lost on every attempt", replies: []reply{lost(1), lost(2)}, pacer: fastPacer(2),
			want: Unknown, attempts: 2, errHas: []string{"attempt 1 of 2", "connection reset"}},
		{name: "lost on the only attempt", replies: []reply{lost(1)},
			want: Unknown, attempts: 1, errHas: []string{"no answer came back to attempt 1", "may have happened"}},
		{name: "lost, then 403: the run stops, the move is unknown", replies: []reply{lost(1), denied}, pacer: fastPacer(6),
			want: Unknown, attempts: 2, errHas: []string{"Insufficient privileges"}, fatal: true},
		{name: "lost, then already in place", replies: []reply{lost(1), already}, pacer: fastPacer(6),
			want: Succeeded, attempts: 2},
		{name: "504 on the only attempt", replies: []reply{gatewayTimeout},
			want: Unknown, attempts: 1, errHas: []string{"attempt 1 was answered 504 Gateway Timeout", "may have happened"}},
		{name: "502 on the only attempt", replies: []reply{badGateway},
			want: Unknown, attempts: 1, errHas: []string{"attempt 1 was answered 502 Bad Gateway", "may have happened"}},
		{name: "504 until attempts run out", replies: []reply{gatewayTimeout, gatewayTimeout, gatewayTimeout}, pacer: fastPacer(3),
			want: Unknown, attempts: 3, errHas: []string{"attempt 1 of 3 was answered 504", "gave up after 3 attempts"}},
		{name: "504, then a 400 that is not already-exist", replies: []reply{gatewayTimeout, badRequest}, pacer: fastPacer(6),
			want: Unknown, attempts: 2, errHas: []string{"attempt 1 of 2", "region mismatch"}},
		{name: "503 then 504: the 504 was passed on", replies: []reply{unavailable, gatewayTimeout}, pacer: fastPacer(2),
			want: Unknown, attempts: 2, errHas: []string{"attempt 2 was answered 504"}},
		{name: "504, then already in place", replies: []reply{gatewayTimeout, already}, pacer: fastPacer(6),
			want: Succeeded, attempts: 2},
		{name: "504, then success", replies: []reply{gatewayTimeout}, pacer: fastPacer(6),
			want: Succeeded, attempts: 2},
		{name: "503 until attempts run out: Graph refused it", replies: []reply{unavailable, unavailable}, pacer: fastPacer(2),
			want: Failed, attempts: 2, errHas: []string{"gave up"}},
		{name: "sign-in failures sent nothing", replies: []reply{signIn, signIn}, pacer: fastPacer(2),
			want: Failed, attempts: 2, errHas: []string{"gave up"}},
		{name: "a connection never opened sent nothing", replies: []reply{refused, refused}, pacer: fastPacer(2),
			want: Failed, attempts: 2, errHas: []string{"connection refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := movesPlan(3)
			f := newFakeMover().on("c2", tc.replies...)
			results, err := Run(watchdogCtx(t), p, f, Options{Concurrency: 1, Pacer: tc.pacer})
			var fe *FatalError
			if got := errors.As(err, &fe); got != tc.fatal || !tc.fatal && err != nil {
				t.Fatalf("Run: %v; want a fatal error: %v", err, tc.fatal)
			}
			r := byConnector(p, results)["c2"]
			if r.Outcome != tc.want || r.Attempts != tc.attempts {
				t.Errorf("c2: %s after %d attempts (%s), want %s after %d", r.Outcome, r.Attempts, r.Error, tc.want, tc.attempts)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(r.Error, s) {
					t.Errorf("c2 Error %q lacks %q", r.Error, s)
				}
			}
			if last := tc.replies[len(tc.replies)-1].call; tc.attempts == len(tc.replies) && r.Call != last {
				t.Errorf("c2 Call %+v, want the last attempt's %+v", r.Call, last)
			}
		})
	}
}

// unknownFixture: c1 → gA succeeded; c2 → gA and c3 → gB of unknown fate
// (their answers were lost).
func unknownFixture() ([]Result, *fakeReader) {
	results := []Result{
		{Change: 0, Outcome: Succeeded, Attempts: 1},
		{Change: 1, Outcome: Unknown, Attempts: 2, Error: "no answer came back to attempt 1 of 2 (reset); the last attempt: 503"},
		{Change: 2, Outcome: Unknown, Attempts: 1, Error: "no answer came back to attempt 1 (reset)"},
	}
	r := newFakeReader()
	r.members["gA"] = []string{"c1", "c2"}
	r.members["gB"] = []string{"c3"}
	return results, r
}

// Verify reads the groups of moves of unknown fate: one seen is a success
// "confirmed by read", journaled, with its lost answer kept; one never
// seen stays unknown, unverified, and is not made a failure.
func TestVerifySettlesUnknownMoves(t *testing.T) {
	p, _, _ := verifyFixture()
	for _, tc := range []struct {
		name         string
		visible      map[string]int
		fail         map[string][]error
		wantOutcomes []Outcome
		wantVerified []any
		wantErr      *UnverifiedError // nil: Verify returns nil
		wantCounts   VerifyCounts
		wantLines    []string // connector ids journaled, in order
	}{
		{name: "both seen", visible: map[string]int{"c1": 1, "c2": 2, "c3": 1},
			wantOutcomes: []Outcome{Succeeded, Succeeded, Succeeded}, wantVerified: []any{true, true, true},
			wantCounts: VerifyCounts{Succeeded: 1, Seen: 1, Confirmed: 2}, wantLines: []string{"c3", "c2"}},
		{name: "c3 never seen", visible: map[string]int{"c1": 1, "c2": 1},
			wantOutcomes: []Outcome{Succeeded, Succeeded, Unknown}, wantVerified: []any{true, true, false},
			wantErr: &UnverifiedError{Unknown: 1}, wantCounts: VerifyCounts{Succeeded: 1, Seen: 1, Confirmed: 1, Unknown: 1}, wantLines: []string{"c2"}},
		{name: "c3's group is gone", visible: map[string]int{"c1": 1, "c2": 1},
			fail:         map[string][]error{"gB": {&apierr.Error{Call: apierr.Call{Status: 404}, Class: apierr.NotFound, Message: "gone"}}},
			wantOutcomes: []Outcome{Succeeded, Succeeded, Unknown}, wantVerified: []any{true, true, false},
			wantErr: &UnverifiedError{Unknown: 1}, wantCounts: VerifyCounts{Succeeded: 1, Seen: 1, Confirmed: 1, Unknown: 1}, wantLines: []string{"c2"}},
		{name: "nothing seen", visible: map[string]int{},
			wantOutcomes: []Outcome{Succeeded, Unknown, Unknown}, wantVerified: []any{false, false, false},
			wantErr: &UnverifiedError{Unverified: 1, Unknown: 2}, wantCounts: VerifyCounts{Succeeded: 1, Unknown: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results, r := unknownFixture()
			before := append([]Result(nil), results...)
			r.visibleFrom = tc.visible
			if tc.fail != nil {
				r.fail = tc.fail
			}
			var journal bytes.Buffer
			opts := VerifyOptions{Timeout: 20 * time.Millisecond, Interval: time.Millisecond, Journal: &journal}
			err := Verify(watchdogCtx(t), p, results, r, opts)

			var ue *UnverifiedError
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.wantErr != nil && (!errors.As(err, &ue) || ue.Unverified != tc.wantErr.Unverified || ue.Unknown != tc.wantErr.Unknown):
				t.Fatalf("Verify = %v, want %d unverified and %d still unknown", err, tc.wantErr.Unverified, tc.wantErr.Unknown)
			}
			if ue != nil && ue.Unknown > 0 && !strings.Contains(err.Error(), "still unknown") {
				t.Errorf("message %q does not say some moves are still unknown", err)
			}
			var outcomes []Outcome
			for _, res := range results {
				outcomes = append(outcomes, res.Outcome)
			}
			if !reflect.DeepEqual(outcomes, tc.wantOutcomes) {
				t.Errorf("outcomes %v, want %v", outcomes, tc.wantOutcomes)
			}
			if got := verified(results); !reflect.DeepEqual(got, tc.wantVerified) {
				t.Errorf("verified %v, want %v", got, tc.wantVerified)
			}
			for i, res := range results {
				settled := before[i].Outcome == Unknown && res.Outcome == Succeeded
				if settled != res.ConfirmedByRead() || settled != (res.Note == NoteConfirmedByRead) {
					t.Errorf("result %d: %s note %q, ConfirmedByRead %v", i, res.Outcome, res.Note, res.ConfirmedByRead())
				}
				// The audit trail keeps why its fate was open.
				if res.Error != before[i].Error || res.Attempts != before[i].Attempts {
					t.Errorf("result %d: error %q attempts %d, want them kept: %q %d", i, res.Error, res.Attempts, before[i].Error, before[i].Attempts)
				}
			}
			if got := CountVerified(results); got != tc.wantCounts {
				t.Errorf("CountVerified = %+v, want %+v", got, tc.wantCounts)
			}
			entries, jerr := ReadJournal(&journal)
			if jerr != nil {
				t.Fatal(jerr)
			}
			var lines []string
			for _, e := range entries {
				lines = append(lines, e.ConnectorID)
				if e.Outcome != Succeeded || e.Note != NoteConfirmedByRead || e.Error == "" {
					t.Errorf("journal line %+v, want succeeded, confirmed by read, with the lost answer", e)
				}
			}
			// Groups are read concurrently, but gB is seen in round 1 and
			// gA's c2 only in round 2 in the first case; elsewhere one line.
			if !reflect.DeepEqual(lines, tc.wantLines) {
				t.Errorf("journaled %v, want %v", lines, tc.wantLines)
			}
		})
	}
}

// Interrupted: a move of unknown fate not yet seen keeps Verified nil and
// stays unknown.
func TestVerifyInterruptedLeavesUnknown(t *testing.T) {
	p, _, _ := verifyFixture()
	results, r := unknownFixture()
	r.visibleFrom = map[string]int{"c1": 1, "c2": 1} // c3 never shows
	ctx, cancel := context.WithCancel(watchdogCtx(t))
	r.during = func(g string, n int) {
		if g == "gB" && n == 2 {
			cancel()
		}
	}
	err := Verify(ctx, p, results, r, VerifyOptions{Timeout: time.Hour, Interval: time.Microsecond})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if results[2].Outcome != Unknown || results[2].Verified != nil {
		t.Errorf("c3: %s verified %v, want unknown and not verified", results[2].Outcome, results[2].Verified)
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestVerifyJournalFailureStops(t *testing.T) {
	p, _, _ := verifyFixture()
	results, r := unknownFixture()
	r.visibleFrom = map[string]int{"c1": 1, "c2": 1, "c3": 1}
	err := Verify(watchdogCtx(t), p, results, r, VerifyOptions{Timeout: watchdog, Interval: time.Microsecond, Journal: failWriter{}})
	if err == nil || !strings.Contains(err.Error(), "journal: disk full") {
		t.Fatalf("Verify = %v, want the journal's error", err)
	}
}

// End to end in the executor: Run journals the move as unknown, Verify
// settles it and journals it again; the last line for it is succeeded.
func TestLostAnswerJournalThenConfirmed(t *testing.T) {
	p := movesPlan(2)
	f := newFakeMover().on("c2", lost(1), answered(503, apierr.Transient, "Service unavailable"))
	var journal bytes.Buffer
	results, err := Run(watchdogCtx(t), p, f, Options{Concurrency: 1, Pacer: fastPacer(2), Journal: &journal})
	if err != nil {
		t.Fatal(err)
	}
	if r := results[1]; r.Outcome != Unknown {
		t.Fatalf("c2: %s (%s), want unknown", r.Outcome, r.Error)
	}
	r := newFakeReader()
	r.members["g-c1"] = []string{"c1"}
	r.members["g-c2"] = []string{"c2"}
	r.visibleFrom = map[string]int{"c1": 1, "c2": 1}
	if err := Verify(watchdogCtx(t), p, results, r, VerifyOptions{Timeout: watchdog, Interval: time.Microsecond, Journal: &journal}); err != nil {
		t.Fatal(err)
	}
	entries, err := ReadJournal(&journal)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.ConnectorID+":"+string(e.Outcome)+":"+e.Note)
	}
	want := []string{"c1:succeeded:", "c2:unknown:", "c2:succeeded:" + NoteConfirmedByRead}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("journal %v, want %v", got, want)
	}
	if last := entries[len(entries)-1]; last.Attempts != 2 || last.HTTPStatus != 503 || !strings.Contains(last.Error, "connection reset") {
		t.Errorf("settled line %+v, want the attempts, last status and lost answer kept", last)
	}
}

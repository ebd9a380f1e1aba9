package executor

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"connrecon/internal/apierr"
)

// refusal is an answer with an OData code, as Graph sends it.
func refusal(status int, class apierr.Class, code, msg string) reply {
	c := apierr.Call{Status: status, RequestID: "req-move", ClientRequestID: "cli-move"}
	return reply{c, &apierr.Error{Call: c, Class: class, Code: code, Message: msg}}
}

// A refused move is settled by the tenant, not by the refusal's wording:
// in place → succeeded (confirmed by read), not in place → the answer
// stands, read failed → never succeeded. The known "already exist" wording,
// a success, a 401/403 and a 429 need no read.
func TestRunSettlesRefusalsByRead(t *testing.T) {
	otherWording := refusal(400, apierr.Other, "Request_BadRequest", "The connector is already a member of this group.")
	conflict := refusal(409, apierr.Other, "Conflict", "Member already exists.")
	unprocessable := refusal(422, apierr.Other, "Request_Unprocessable", "The connector cannot join this group.")
	preconditionFailed := refusal(412, apierr.Other, "PreconditionFailed", "Precondition failed.")
	notFound := refusal(404, apierr.NotFound, "Request_ResourceNotFound", "Resource 'c1' does not exist.")
	known := refusal(400, apierr.AlreadyInPlace, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.")
	denied := refusal(403, apierr.Auth, "Authorization_RequestDenied", "Insufficient privileges.")
	throttled := refusal(429, apierr.Transient, "TooManyRequests", "Too many requests.")
	readBroken := &apierr.Error{Call: apierr.Call{Status: 500, RequestID: "req-read"}, Message: "Internal Server Error"}
	readDenied := &apierr.Error{Call: apierr.Call{Status: 403, RequestID: "req-read"}, Class: apierr.Auth, Message: "Insufficient privileges."}

	for _, tc := range []struct {
		name      string
		replies   []reply
		inPlace   bool    // the reader lists c1 in g-c1
		readErr   error   // the reader's answer to the settling read
		want      Outcome // c1's outcome
		note      string
		reads     int      // settling reads of g-c1
		errHas    []string // in c1's Error
		errEmpty  bool
		fatal     bool
		attempts  int
		maxPacing int
	}{
		{name: "400 in other wording, in place", replies: []reply{otherWording}, inPlace: true,
			want: Succeeded, note: NoteConfirmedByRead, reads: 1, errHas: []string{"already a member", "a read right after (request-id read-g-c1-1) shows the connector is in the target group"}},
		{name: "409, in place", replies: []reply{conflict}, inPlace: true,
			want: Succeeded, note: NoteConfirmedByRead, reads: 1, errHas: []string{"409", "Member already exists"}},
		{name: "412, in place", replies: []reply{preconditionFailed}, inPlace: true,
			want: Succeeded, note: NoteConfirmedByRead, reads: 1},
		{name: "422, not in place", replies: []reply{unprocessable},
			want: Failed, reads: 1, errHas: []string{"422", "Request_Unprocessable", "cannot join this group", "req-move"}},
		{name: "409, not in place", replies: []reply{conflict},
			want: Failed, reads: 1, errHas: []string{"409 Conflict: Member already exists."}},
		{name: "404, the group is gone too", replies: []reply{notFound}, readErr: notFound.err,
			want: Failed, note: NoteSettleReadFailed, reads: 1, errHas: []string{"Resource 'c1' does not exist", "would settle it failed"}},
		{name: "400, the read fails", replies: []reply{otherWording}, inPlace: true, readErr: readBroken,
			want: Failed, note: NoteSettleReadFailed, reads: 1, errHas: []string{"already a member", "would settle it failed", "Internal Server Error"}},
		{name: "400, the read is denied: the run stops", replies: []reply{otherWording}, inPlace: true, readErr: readDenied,
			want: Failed, note: NoteSettleReadFailed, reads: 1, fatal: true, errHas: []string{"already a member", "Insufficient privileges"}},
		{name: "known wording: no read", replies: []reply{known}, inPlace: true,
			want: Succeeded, note: "already in place", reads: 0, errEmpty: true},
		{name: "success: no read", replies: nil,
			want: Succeeded, reads: 0, errEmpty: true},
		{name: "403: no read, the run stops", replies: []reply{denied}, inPlace: true,
			want: Failed, reads: 0, fatal: true, errHas: []string{"Insufficient privileges"}},
		{name: "429 until attempts run out: no read", replies: []reply{throttled, throttled}, inPlace: true, maxPacing: 2,
			want: Failed, reads: 0, attempts: 2},
		{name: "lost, then 409, in place", replies: []reply{lost(1), conflict}, inPlace: true, maxPacing: 3,
			want: Succeeded, note: NoteConfirmedByRead, reads: 1, attempts: 2, errHas: []string{"409"}},
		{name: "lost, then 409, not in place: still unknown", replies: []reply{lost(1), conflict}, maxPacing: 3,
			want: Unknown, reads: 1, attempts: 2, errHas: []string{"may have happened", "right after (request-id read-g-c1-1) did not show the connector"}},
		{name: "lost, then 400, the read fails: still unknown", replies: []reply{lost(1), otherWording}, inPlace: true, readErr: readBroken, maxPacing: 3,
			want: Unknown, note: NoteSettleReadFailed, reads: 1, attempts: 2, errHas: []string{"may have happened", "would settle it failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := movesPlan(2) // c2 succeeds: a bystander the read must not confuse
			m := newFakeMover().on("c1", tc.replies...)
			r := newFakeReader()
			if tc.inPlace {
				r.members["g-c1"] = []string{"c1"}
				r.visibleFrom["c1"] = 1
			}
			if tc.readErr != nil {
				r.fail["g-c1"] = []error{tc.readErr}
			}
			var journal bytes.Buffer
			opts := Options{Concurrency: 1, Reader: r, Journal: &journal}
			if tc.maxPacing > 0 {
				opts.Pacer = fastPacer(tc.maxPacing)
			}
			results, err := Run(watchdogCtx(t), p, m, opts)
			var fe *FatalError
			if got := errors.As(err, &fe); got != tc.fatal {
				t.Fatalf("Run error %v, want fatal %v", err, tc.fatal)
			}
			if !tc.fatal && err != nil {
				t.Fatalf("Run: %v", err)
			}
			got := byConnector(p, results)["c1"]
			if got.Outcome != tc.want || got.Note != tc.note {
				t.Errorf("c1: %s note %q, want %s note %q; error %q", got.Outcome, got.Note, tc.want, tc.note, got.Error)
			}
			if got.ConfirmedByRead() != (tc.note == NoteConfirmedByRead) {
				t.Errorf("ConfirmedByRead %v", got.ConfirmedByRead())
			}
			for _, s := range tc.errHas {
				if !strings.Contains(got.Error, s) {
					t.Errorf("c1 error %q lacks %q", got.Error, s)
				}
			}
			if tc.errEmpty && got.Error != "" {
				t.Errorf("c1 error %q, want none", got.Error)
			}
			if tc.attempts > 0 && got.Attempts != tc.attempts {
				t.Errorf("c1: %d attempts, want %d", got.Attempts, tc.attempts)
			}
			if n := r.readsOf("g-c1"); n != tc.reads {
				t.Errorf("%d reads of g-c1, want %d", n, tc.reads)
			}
			if n := r.readsOf("g-c2"); n != 0 {
				t.Errorf("%d reads of g-c2 (a success), want 0", n)
			}
			// The journal's one line for c1 is the final outcome.
			entries, jerr := ReadJournal(&journal)
			if jerr != nil {
				t.Fatal(jerr)
			}
			var lines int
			for _, e := range entries {
				if e.ConnectorID != "c1" {
					continue
				}
				lines++
				if e.Outcome != got.Outcome || e.Note != got.Note || e.Error != got.Error {
					t.Errorf("journal %s %q %q, result %s %q %q", e.Outcome, e.Note, e.Error, got.Outcome, got.Note, got.Error)
				}
			}
			if lines != 1 {
				t.Errorf("%d journal lines for c1, want 1", lines)
			}
		})
	}
}

// Without a Reader (and a Mover that is none), a refusal is final as
// answered: nothing to read with.
func TestRunWithoutReaderKeepsRefusal(t *testing.T) {
	p := movesPlan(1)
	m := newFakeMover().on("c1", refusal(409, apierr.Other, "Conflict", "Member already exists."))
	results, err := Run(watchdogCtx(t), p, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Outcome != Failed || r.Note != "" || !strings.Contains(r.Error, "409 Conflict") {
		t.Errorf("result %+v", r)
	}
}

// A Mover that is also a Reader (the Graph client) settles refusals
// without Options.Reader.
func TestRunUsesMoverAsReader(t *testing.T) {
	p := movesPlan(1)
	r := newFakeReader()
	r.members["g-c1"] = []string{"c1"}
	r.visibleFrom["c1"] = 1
	m := moverReader{newFakeMover().on("c1", refusal(409, apierr.Other, "Conflict", "Member already exists.")), r}
	results, err := Run(watchdogCtx(t), p, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := results[0]; !got.ConfirmedByRead() || r.readsOf("g-c1") != 1 {
		t.Errorf("result %+v, %d reads", got, r.readsOf("g-c1"))
	}
}

type moverReader struct {
	*fakeMover
	*fakeReader
}

package graph

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/internal/graphsim"
	"connrecon/internal/pacer"
)

// membersReads counts the GETs of a group's members in log, per group id.
func membersReads(log []graphsim.LoggedRequest) map[string]int {
	n := map[string]int{}
	for _, r := range log {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.Path, "/members") {
			continue
		}
		p := strings.TrimSuffix(r.Path, "/members")
		n[strings.ToLower(p[strings.LastIndex(p, "/")+1:])]++
	}
	return n
}

// The service's answer to "already a member" is a guess. Whatever it is,
// a move whose first answer was lost after the service applied it, retried
// and answered "already", converges through the real client: every move
// succeeds, each result says what happened (the known wording a fast path,
// any other refusal confirmed by a read of the target group, a 2xx a plain
// success), the journal's line for each move is that outcome, and Verify
// sees every connector. The last move is not faulted, so the "move" guess
// answers it.
func TestLostAnswerThenAlreadyConvergesForEachGuess(t *testing.T) {
	const n = 4
	for _, already := range []struct {
		value  string
		status int    // the retry's answer
		note   string // the result's Note
		reads  int    // settling reads per faulted move
	}{
		{"400", http.StatusBadRequest, "already in place", 0},
		{"409", http.StatusConflict, executor.NoteConfirmedByRead, 1},
		{"wording", http.StatusBadRequest, executor.NoteConfirmedByRead, 1},
		{"204", http.StatusNoContent, "", 0},
	} {
		for _, move := range []struct {
			value  string
			status int
		}{{"204", http.StatusNoContent}, {"201", http.StatusCreated}} {
			guess := "already=" + already.value + ",move=" + move.value
			t.Run(guess, func(t *testing.T) {
				var g graphsim.Guesses
				if err := graphsim.ParseGuess(guess, &g); err != nil {
					t.Fatal(err)
				}
				tn, p := spreadTenant(n)
				sim := graphsim.New(tn, graphsim.Options{Seed: 7, Guesses: g})
				pc := pacer.New(pacer.Options{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryTime: time.Minute}, 7)
				f := newFixtureFor(t, sim, Config{Pacer: pc})
				clean := p.Changes[n-1].ConnectorID
				calls := map[string]int{}
				// Concurrency 1: each attempt's faults are set before it
				// is sent; the settling read after it goes out clean.
				mover := moverFunc(func(ctx context.Context, cid, gid string) (apierr.Call, error) {
					if calls[cid] == 0 && cid != clean {
						sim.SetFaults(graphsim.Faults{ResetRate: 1, ResetAfterApply: true})
					} else {
						sim.SetFaults(graphsim.Faults{})
					}
					calls[cid]++
					call, err := f.client.MoveConnector(ctx, cid, gid)
					sim.SetFaults(graphsim.Faults{})
					return call, err
				})
				journalPath := filepath.Join(t.TempDir(), "journal.jsonl")
				jf, err := executor.OpenJournal(journalPath)
				if err != nil {
					t.Fatal(err)
				}
				defer jf.Close()
				// moverFunc is no Reader: the client reads, as in a real run.
				results, err := executor.Run(context.Background(), p, mover, executor.Options{Concurrency: 1, Pacer: pc, Journal: jf, Reader: f.client})
				if err != nil {
					t.Fatal(err)
				}
				reads := membersReads(sim.Requests())

				state := map[string]string{}
				for _, c := range sim.State().Connectors {
					state[c.ID] = c.Group
				}
				for _, r := range results {
					c := p.Changes[r.Change]
					if state[c.ConnectorID] != c.ToGroupID {
						t.Errorf("%s in %s, want %s", c.MachineName, state[c.ConnectorID], c.ToGroupID)
					}
					wantStatus, wantNote, wantAttempts, wantReads := already.status, already.note, 2, already.reads
					if c.ConnectorID == clean {
						wantStatus, wantNote, wantAttempts, wantReads = move.status, "", 1, 0
					}
					if r.Outcome != executor.Succeeded || r.Note != wantNote || r.Attempts != wantAttempts || r.Call.Status != wantStatus {
						t.Errorf("%s: %s note %q, %d attempts, last %d; want succeeded note %q, %d attempts, last %d (error %q)",
							c.MachineName, r.Outcome, r.Note, r.Attempts, r.Call.Status, wantNote, wantAttempts, wantStatus, r.Error)
					}
					if r.ConfirmedByRead() && !strings.Contains(r.Error, strconv.Itoa(already.status)) {
						t.Errorf("%s: confirmed by read, error %q does not keep the refusal", c.MachineName, r.Error)
					}
					if r.Note != executor.NoteConfirmedByRead && r.Error != "" {
						t.Errorf("%s: succeeded with error %q", c.MachineName, r.Error)
					}
					if got := reads[strings.ToLower(c.ToGroupID)]; wantReads > 0 && got < wantReads {
						t.Errorf("%s: %d reads of its target group, want %d", c.MachineName, got, wantReads)
					}
				}
				// Groups get one settling read per faulted move into them,
				// and none when the answer needs none.
				var total int
				for _, v := range reads {
					total += v
				}
				if want := (n - 1) * already.reads; total != want {
					t.Errorf("%d members reads during the run, want %d", total, want)
				}

				jf.Close()
				data, err := os.ReadFile(journalPath)
				if err != nil {
					t.Fatal(err)
				}
				entries, err := executor.ReadJournal(strings.NewReader(string(data)))
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != n {
					t.Fatalf("%d journal lines, want %d", len(entries), n)
				}
				byID := map[string]executor.Result{}
				for _, r := range results {
					byID[p.Changes[r.Change].ConnectorID] = r
				}
				for _, e := range entries {
					r := byID[e.ConnectorID]
					if e.Outcome != executor.Succeeded || e.Note != r.Note || e.HTTPStatus != r.Call.Status {
						t.Errorf("journal %s: %s note %q status %d; result note %q status %d", e.ConnectorID, e.Outcome, e.Note, e.HTTPStatus, r.Note, r.Call.Status)
					}
				}

				if err := executor.Verify(context.Background(), p, results, f.client, executor.VerifyOptions{Timeout: 5 * time.Second, Interval: time.Millisecond}); err != nil {
					t.Errorf("Verify: %v", err)
				}
				if c := executor.CountVerified(results); c.Unknown != 0 || c.Seen+c.Confirmed != n {
					t.Errorf("verify counts %+v", c)
				}
			})
		}
	}
}

// A refusal the tenant bears out is a failure with the service's code and
// message, whatever its status: the region rule's answer, in each guess,
// after one settling read that finds the connector still elsewhere.
func TestRefusedMoveNotInPlaceFails(t *testing.T) {
	for _, region := range []struct {
		value, code string
		status      int
	}{{"400", "Request_BadRequest", http.StatusBadRequest}, {"409", "", http.StatusConflict}} {
		t.Run("region="+region.value, func(t *testing.T) {
			var g graphsim.Guesses
			if err := graphsim.ParseGuess("region="+region.value, &g); err != nil {
				t.Fatal(err)
			}
			tn, p := spreadTenant(4)
			// Every connector starts in a region-specific group and moves
			// to another: the rule refuses all but the moves into their
			// own group (none here).
			from := tn.Groups[1].ID
			for i := range tn.Connectors {
				tn.Connectors[i].Group = from
			}
			p.Changes = p.Changes[1:2] // into tn.Groups[2]
			p.Changes[0].FromGroupID = from
			sim := graphsim.New(tn, graphsim.Options{Seed: 7, Guesses: g, EnforceRegionRule: true})
			f := newFixtureFor(t, sim, Config{Pacer: fastPacer()})
			results, err := executor.Run(context.Background(), p, f.client, executor.Options{Pacer: fastPacer()})
			if err != nil {
				t.Fatal(err)
			}
			r := results[0]
			c := p.Changes[0]
			if r.Outcome != executor.Failed || r.Note != "" || r.Call.Status != region.status || r.Attempts != 1 {
				t.Errorf("result %s note %q status %d attempts %d, want failed, no note, %d, 1 (error %q)", r.Outcome, r.Note, r.Call.Status, r.Attempts, region.status, r.Error)
			}
			if region.code != "" && !strings.Contains(r.Error, region.code) || !strings.Contains(r.Error, "only from a connector group that uses the default region") {
				t.Errorf("error %q lacks the service's code and message", r.Error)
			}
			if got := membersReads(sim.Requests())[strings.ToLower(c.ToGroupID)]; got != 1 {
				t.Errorf("%d reads of the target group, want 1 settling read", got)
			}
			for _, cn := range sim.State().Connectors {
				if cn.ID == c.ConnectorID && cn.Group != from {
					t.Errorf("connector moved to %s", cn.Group)
				}
			}
		})
	}
}

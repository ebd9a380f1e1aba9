package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"connrecon/internal/apierr"
	"connrecon/internal/pacer"
	"connrecon/plan"
)

// Mover is what the executor needs from Graph: one attempt at putting a
// connector, or an application, into a group. The Call's ClientRequestID is set once the
// request was handed to the HTTP pipeline: an error with Status 0 and a
// ClientRequestID is an answer lost on the way back (the move may have
// happened), one without is a request never sent. A 502 or 504 is a
// gateway's answer in place of Graph's: lost too.
type Mover interface {
	MoveConnector(ctx context.Context, connectorID, groupID string) (apierr.Call, error)
	MoveApplication(ctx context.Context, applicationID, groupID string) (apierr.Call, error)
}

// moveOnce is one attempt at change c, by its kind.
func moveOnce(ctx context.Context, m Mover, c *plan.Change) (apierr.Call, error) {
	if c.IsApplication() {
		return m.MoveApplication(ctx, c.ApplicationID, c.ToGroupID)
	}
	return m.MoveConnector(ctx, c.ConnectorID, c.ToGroupID)
}

// Outcome of one planned move.
type Outcome string

const (
	Succeeded Outcome = "succeeded" // Graph accepted the move, said it was already in place, or a read found it in place
	Failed    Outcome = "failed"    // Graph refused it, retries ran out, or the run stopped before a retry
	// NotAttempted: the run stopped before this move's first request was
	// sent. Nothing about the connector changed.
	NotAttempted Outcome = "notAttempted"
	// Unknown: the move may or may not have happened. Either a request for
	// it was still in flight when the grace period after an interrupt (or a
	// fatal error) ran out and was cut off, or an attempt's answer was lost
	// (a reset, a timeout, an EOF after the request went out, or a
	// gateway's 502 or 504 in place of Graph's answer) and no later attempt
	// settled it. Verify settles it by reading the target group
	// (NoteConfirmedByRead); otherwise check the connector (a rerun reads
	// the live state and converges either way). Kept apart from Failed
	// because "failed" tells the operator nothing changed, which here may
	// be false.
	Unknown Outcome = "unknown"
)

// NoteConfirmedByRead is the Note of a move that a read of its target
// group settled as Succeeded: one whose outcome was Unknown and that Verify
// then saw there, or one refused by Graph (other than the known "already
// exist" wording) that Run's settling read found there. Its Error still
// says why its fate was open: the lost answer, or the refusal.
const NoteConfirmedByRead = "confirmed by read"

// Result is what happened to one move.
type Result struct {
	Change   int         // index into plan.Plan.Changes
	Outcome  Outcome     // succeeded, failed, notAttempted or unknown
	Call     apierr.Call // the last attempt's status and trace ids
	Attempts int
	// Error says why the move failed or why its fate is unknown; empty on
	// success, except for a move NoteConfirmedByRead, where it keeps the
	// lost answer or the refusal for the audit trail.
	Error      string
	Note       string // e.g. "already in place", NoteConfirmedByRead
	StartedAt  time.Time
	FinishedAt time.Time
	// Verified is set by Verify for succeeded and unknown moves: whether
	// the connector was seen in its target group. An unknown move seen
	// there becomes Succeeded (NoteConfirmedByRead); one not seen stays
	// Unknown with Verified false. nil: not verified (failed or not
	// attempted, verification off, or it did not finish).
	Verified *bool
}

// ConfirmedByRead: the move's answer was lost or refused, and a read then
// saw the connector in its target group.
func (r Result) ConfirmedByRead() bool {
	return r.Outcome == Succeeded && r.Note == NoteConfirmedByRead
}

// DefaultConcurrency is Run's and Verify's requests in flight when the
// options leave it 0: enough to hide Graph's latency, few enough not to
// draw throttling from a tenant's default limits.
const DefaultConcurrency = 8

// DefaultVerifyTimeout is how long Verify polls when the options leave it
// 0: Graph usually shows a move in its group within seconds, rarely after
// a minute.
const DefaultVerifyTimeout = 60 * time.Second

// DefaultGrace is how long requests in flight may take to finish after the
// run is told to stop.
const DefaultGrace = 10 * time.Second

// Options for Run.
type Options struct {
	Concurrency int // concurrent requests per wave (default DefaultConcurrency)
	// BatchSize is how many moves the Mover sends in one request (a JSON
	// batch) when that many are in flight together: Run keeps
	// Concurrency×BatchSize moves in flight. 0 or 1: one per request.
	BatchSize int

	Pacer *pacer.Pacer // shared retry policy; nil means one attempt per move
	// Grace bounds how long requests already in flight may take to finish
	// once the run stops (ctx cancelled, or a fatal error); then they are
	// cut off and their moves are Unknown. Default DefaultGrace.
	Grace time.Duration
	// Journal, if set, receives one JSON line (a JournalEntry) per finished
	// move, written before the worker takes its next move, so a kill -9
	// loses at most the moves in flight. When it has a Sync method (an
	// *os.File) a goroutine syncs as soon as lines are pending, and every
	// line is synced when Run returns. Writes are serialised; a failed
	// write or sync stops the run with a *FatalError.
	Journal io.Writer
	// OnResult, if set, is called once per finished move (from worker
	// goroutines, serialised by Run). Moves never sent get no call: the
	// total to expect is len(p.Moves()), whatever happens.
	OnResult func(Result)
	// Reader settles refused moves (see settle): a move answered anything
	// but a 2xx, 401/403, 429, a transient 5xx or the known "already
	// exist" wording is final only once a read of its target group says
	// whether the connector is there. nil: the Mover, when it is also a
	// Reader (the Graph client is); else refusals are final as answered.
	Reader Reader
	// SettleTimeout bounds that read (default DefaultSettleTimeout).
	SettleTimeout time.Duration
}

// DefaultSettleTimeout bounds the read that settles a refused move: long
// enough for the Reader's own retries, short enough not to hold a worker.
const DefaultSettleTimeout = 30 * time.Second

// FatalError stops a run: nothing more is sent. Err is the 401/403 that
// Graph answered, or the journal write that failed.
type FatalError struct{ Err error }

func (e *FatalError) Error() string { return e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// errGraceOver is the cause given to requests cut off by the grace deadline.
var errGraceOver = errors.New("the grace period after the stop ran out")

// Run applies the plan's moves and returns one Result per move, in apply
// order. Waves run in order; within a wave at most Concurrency×BatchSize
// moves are in flight (batched, after the run's first move, which goes out
// alone).
//
// Stopping: when ctx is cancelled, or a move meets a fatal error, no new
// move starts (those are NotAttempted) and no retry is sent, but requests
// already in flight run on a context of their own, cancelled only Grace
// later; their answers are recorded as usual. The error is non-nil only
// when the run stopped early: a *FatalError (auth, journal), else ctx's
// error (interrupted). Failed moves are results, not errors.
func Run(ctx context.Context, p *plan.Plan, m Mover, opts Options) ([]Result, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.SettleTimeout <= 0 {
		opts.SettleTimeout = DefaultSettleTimeout
	}
	if opts.Reader == nil {
		// The wording of a refusal is a guess; the tenant is not.
		opts.Reader, _ = m.(Reader)
	}
	moves := p.Moves()
	results := make([]Result, len(moves))
	for i, ci := range moves {
		results[i] = Result{Change: ci, Outcome: NotAttempted}
	}

	// sendCtx says whether to send: it ends on the caller's cancel or on a
	// fatal error. reqCtx carries the requests themselves (and ctx's values)
	// and ends only Grace after sendCtx, or when Run returns.
	sendCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	reqCtx, cutOff := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cutOff(nil)
	returned := make(chan struct{})
	defer close(returned)
	go func() {
		select {
		case <-sendCtx.Done():
		case <-returned:
			return
		}
		t := time.NewTimer(opts.Grace)
		defer t.Stop()
		select {
		case <-t.C:
			cutOff(errGraceOver)
		case <-returned:
		}
	}()

	rec := &recorder{p: p, results: results, onResult: opts.OnResult, journal: newJournal(opts.Journal), stop: func(f *FatalError) { stop(f) }}
	if rec.journal != nil {
		// Also on a panic a caller recovers from: the syncer goroutine
		// stops. The normal path closes it below, for the error.
		defer rec.journal.close()
	}
	// short holds groups that are not as an earlier wave left them in
	// the plan, with why: a connector meant to arrive did not, or an
	// application meant to leave did not. The waves were ordered for
	// coverage on the assumption that every earlier move lands, so later
	// waves' connector moves out of such a group, and application moves
	// into it, are held back (holdBack).
	short := map[string]string{}
	sentFirst := false
	for start := 0; start < len(moves); {
		wave := p.Changes[moves[start]].Wave
		end := start
		for end < len(moves) && p.Changes[moves[end]].Wave == wave {
			end++
		}
		var g errgroup.Group
		g.SetLimit(opts.Concurrency * max(opts.BatchSize, 1))
		for i := start; i < end; i++ {
			if sendCtx.Err() != nil {
				break
			}
			c := p.Changes[moves[i]]
			if why, ok := holdBack(short, &c); ok {
				// The planner put this move after one it depends on; that
				// one did not happen, so this one could leave an
				// application without connectors. Hold it back, and with
				// it whatever was waiting on it in turn.
				results[i].Error = "not sent: " + why
				markShort(short, &c, "was not sent")
				continue
			}
			send := func() {
				if sendCtx.Err() != nil {
					return // stopped while waiting for a slot
				}
				r, err := apply(sendCtx, reqCtx, p.Changes[moves[i]], m, opts.Pacer)
				if r.Outcome != NotAttempted {
					r, err = settle(reqCtx, p.Changes[moves[i]], r, err, opts.Reader, opts.SettleTimeout)
				}
				if r.Outcome == NotAttempted {
					return // stopped before the request went out
				}
				r.Change = moves[i]
				rec.record(i, r, err) // stops the run itself on a fatal error
			}
			if !sentFirst && opts.BatchSize > 1 {
				// Batched, the run's first move goes out alone, before any
				// other: a run the tenant refuses (no write permission) is
				// refused once, not once for each move of a batch.
				sentFirst = true
				send()
				continue
			}
			g.Go(func() error { send(); return nil })
		}
		_ = g.Wait() // workers never return errors: a failed move is a result
		if sendCtx.Err() != nil {
			break
		}
		for i := start; i < end; i++ {
			if r := results[i]; r.Outcome != Succeeded {
				c := p.Changes[moves[i]]
				markShort(short, &c, fmt.Sprintf("ended %s", r.Outcome))
			}
		}
		start = end
	}
	if rec.journal != nil {
		if err := rec.journal.close(); err != nil {
			rec.stopWith(err)
		}
	}
	if fatal := rec.fatalErr(); fatal != nil {
		return results, fatal
	}
	return results, ctx.Err()
}

// holdBack says whether change c must wait, and why: a connector leaving
// a group, or an application joining one, that an earlier wave left
// short (see short in Run).
func holdBack(short map[string]string, c *plan.Change) (string, bool) {
	gid := c.FromGroupID
	if c.IsApplication() {
		gid = c.ToGroupID
	}
	why, ok := short[gid]
	return why, ok
}

// markShort records that change c did not happen (how: its outcome, or
// that it was held back): a connector's target lacks it, an
// application's source still holds it. The first reason for a group is
// kept.
func markShort(short map[string]string, c *plan.Change, how string) {
	gid, gname, what := c.ToGroupID, c.ToGroupName, "into"
	if c.IsApplication() {
		gid, gname, what = c.FromGroupID, c.FromGroupName, "out of"
	}
	if _, ok := short[gid]; !ok {
		short[gid] = fmt.Sprintf("the move of %s %s %s that it depended on %s", c.ObjectName(), what, groupLabel(gname, gid), how)
	}
}

// recorder keeps the results and the journal; it serialises OnResult.
type recorder struct {
	p        *plan.Plan
	results  []Result
	onResult func(Result)
	journal  *journal // nil without a journal
	// stop ends sending. It is called as soon as a fatal error is seen,
	// before OnResult: whatever OnResult lets happen next (in tests, other
	// requests finishing and freeing a worker) must find the run stopped.
	stop func(*FatalError)

	mu    sync.Mutex
	fatal *FatalError
}

// record stores the result of move i, journals it and reports it. It
// returns a *FatalError when this result stops the run (the first fatal
// only).
func (rc *recorder) record(i int, r Result, err error) *FatalError {
	rc.mu.Lock()
	rc.results[i] = r
	var fatal *FatalError
	if apierr.ClassOf(err) == apierr.Auth && rc.fatal == nil {
		fatal = &FatalError{Err: err}
		rc.fatal = fatal
		rc.stop(fatal)
	}
	var jerr error
	if rc.journal != nil {
		_, jerr = rc.journal.write(EntryFor(rc.p.Changes[r.Change], r))
	}
	if rc.onResult != nil {
		rc.onResult(r)
	}
	rc.mu.Unlock()

	// The journal syncs in the background; a sync that failed since the
	// last result stops the run here.
	if jerr == nil && rc.journal != nil {
		jerr = rc.journal.err()
	}
	if jerr != nil {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.fatal == nil {
			// An audit trail that cannot be written is a reason to stop.
			fatal = &FatalError{Err: fmt.Errorf("journal: %w", jerr)}
			rc.fatal = fatal
			rc.stop(fatal)
		}
	}
	return fatal
}

// stopWith records a journal failure found after the last move.
func (rc *recorder) stopWith(jerr error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fatal == nil {
		rc.fatal = &FatalError{Err: fmt.Errorf("journal: %w", jerr)}
	}
}

func (rc *recorder) fatalErr() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fatal == nil {
		return nil // not a typed nil in an interface
	}
	return rc.fatal
}

// apply makes one move, with the pacer's retries: sendCtx decides whether
// an attempt starts, reqCtx carries the attempt. A move answered "already
// in place" succeeded: the tenant is as the plan wants it.
//
// A move that ends in anything else after an attempt whose answer was lost
// is Unknown, not Failed: that attempt may have moved the connector, and
// what a later attempt heard does not undo it. That holds for a final
// 401/403 (the run still stops: the error goes back for the recorder) and
// for a final 404 too: "not found" says the connector or the group is gone
// now, not that it was gone when the lost attempt arrived (nor, with
// Graph's replication, that every replica agrees), so the lost attempt
// could have landed. Verify reads the group and settles it either way.
func apply(sendCtx, reqCtx context.Context, c plan.Change, m Mover, pc *pacer.Pacer) (Result, error) {
	r := Result{StartedAt: time.Now().UTC()}
	var (
		last     apierr.Call
		cutOff   bool        // the last attempt was still in flight when reqCtx ended
		attempts int         // attempts made so far
		lostAt   int         // the first attempt whose answer was lost; 0: none
		lostErr  error       // and its error
		lostCall apierr.Call // and its call
	)
	attempt := func(actx context.Context) error {
		// reqCtx, not actx: a request in flight outlives the stop by the
		// grace period. It carries the attempt number (a retry goes out
		// alone, never in a batch).
		call, err := moveOnce(pacer.WithAttempt(reqCtx, actx), m, &c)
		attempts++
		last = call
		// No answer (status 0) and the grace deadline passed: the request
		// was cut off, not refused. An answer that raced the deadline counts.
		cutOff = err != nil && call.Status == 0 && reqCtx.Err() != nil
		if lostAt == 0 && answerLost(call, err) {
			lostAt, lostErr, lostCall = attempts, err, call
		}
		return err
	}
	var err error
	if pc != nil {
		r.Attempts, err = pc.Call(sendCtx, attempt)
	} else if err = sendCtx.Err(); err == nil {
		r.Attempts, err = 1, attempt(sendCtx)
	}
	r.FinishedAt = time.Now().UTC()
	r.Call = last
	switch {
	case r.Attempts == 0:
		r.Outcome = NotAttempted
	case err == nil:
		r.Outcome = Succeeded
	case cutOff:
		r.Outcome = Unknown
		r.Error = fmt.Sprintf("the request was cut off when %v: it may or may not have reached Graph; check the connector's group (a rerun converges): %v",
			context.Cause(reqCtx), err)
	case apierr.ClassOf(err) == apierr.AlreadyInPlace:
		r.Outcome, r.Note, err = Succeeded, "already in place", nil
	case lostAt == r.Attempts:
		r.Outcome = Unknown
		r.Error = fmt.Sprintf("%s, so the move may have happened; check the connector's group (a rerun converges): %v", lostWhy(fmt.Sprint(lostAt), lostCall), err)
	case lostAt > 0:
		r.Outcome = Unknown
		r.Error = fmt.Sprintf("%s (%v), so the move may have happened; check the connector's group (a rerun converges); the last attempt: %v",
			lostWhy(fmt.Sprintf("%d of %d", lostAt, r.Attempts), lostCall), lostErr, err)
	default:
		r.Outcome, r.Error = Failed, err.Error()
	}
	return r, err
}

// answerLost: an attempt whose request went out and whose answer from
// Graph never came back, so Graph may have acted on it. Either no HTTP
// answer at all (status 0: a reset, a timeout, an EOF), or a gateway's in
// its place: 504 (it gave up waiting for the service) and 502 (it got no
// usable answer from it) both come after the request was passed on.
// Two status-0 failures cannot have moved anything and are not lost
// answers: a request that never entered the HTTP pipeline (signing in
// failed; the client sends a client-request-id with every request, so a
// Call without one was never sent) and a connection that could not be
// opened (a dial error: refused, unreachable, DNS). Anything else without
// an answer counts as lost: the cost of being wrong is a read in Verify,
// against reporting "failed" for a connector that moved.
func answerLost(call apierr.Call, err error) bool {
	switch {
	case err == nil:
		return false
	case call.Status == http.StatusBadGateway, call.Status == http.StatusGatewayTimeout:
		return true
	case call.Status != 0 || call.ClientRequestID == "":
		return false
	}
	var op *net.OpError
	return !errors.As(err, &op) || op.Op != "dial"
}

// lostWhy says how the answer to attempt (a number, or "n of m") was
// lost.
func lostWhy(attempt string, call apierr.Call) string {
	if call.Status != 0 {
		return fmt.Sprintf("attempt %s was answered %d %s (a gateway passed the request on, and Graph's answer was lost)",
			attempt, call.Status, http.StatusText(call.Status))
	}
	return fmt.Sprintf("no answer came back to attempt %s after it was sent", attempt)
}

func groupLabel(name, id string) string {
	if name != "" {
		return fmt.Sprintf("%q", name)
	}
	return id
}

// NoteSettleReadFailed is the Note of a refused move whose settling read
// (see settle) failed: its outcome is the answer's, unconfirmed.
const NoteSettleReadFailed = "settling read failed"

// settle gives a refused move its outcome from the tenant, not from the
// refusal's wording: what the service answers for "already a member" is a
// guess (a 400 in another wording, a 409, ...), and reporting such a move
// failed would tell the operator nothing changed when the plan's state
// holds. So a refused move is final only after one read of its target
// group, bounded by timeout (the Reader paces and retries it):
//
//   - the connector is there: Succeeded, NoteConfirmedByRead; Error keeps
//     the refusal for the audit trail;
//   - it is not: the result stands (Failed with the service's code and
//     message, or Unknown when an earlier attempt's answer was lost, since
//     that attempt may have landed and the read may lag; Verify polls);
//   - the read fails: the result stands too, never Succeeded, with
//     NoteSettleReadFailed and why in Error. A 401/403 on the read comes
//     back as the error, so it stops the run like a move's would.
//
// Results of anything but a refusal (see refused) pass through.
func settle(ctx context.Context, c plan.Change, r Result, err error, rd Reader, timeout time.Duration) (Result, error) {
	if rd == nil || (r.Outcome != Failed && r.Outcome != Unknown) || !refused(r.Call, err) {
		return r, err
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	ids, read, rerr := readTarget(rctx, rd, &c)
	cancel()
	r.FinishedAt = time.Now().UTC()
	if rerr != nil {
		r.Note = NoteSettleReadFailed
		r.Error = fmt.Sprintf("%s; the read of the target group %s that would settle it failed: %v", r.Error, c.ToGroupID, rerr)
		if apierr.ClassOf(rerr) == apierr.Auth {
			return r, fmt.Errorf("settle the move of %s: read %s of group %s: %w", c.ObjectID(), readWhat(&c), c.ToGroupID, rerr)
		}
		return r, err
	}
	for _, id := range ids {
		if strings.EqualFold(id, c.ObjectID()) {
			r.Outcome, r.Note = Succeeded, NoteConfirmedByRead
			// Keep what the attempts heard (a lost answer too) for the
			// audit trail.
			r.Error += "; a read right after" + readID(read) + " shows the " + c.KindName() + " is in the target group"
			return r, nil
		}
	}
	if r.Outcome == Unknown {
		r.Error += "; a read of the target group right after" + readID(read) + " did not show the " + c.KindName() + " (yet)"
	}
	return r, err
}

// readID names a settling read for the audit trail: support traces it by
// its request-id.
func readID(c apierr.Call) string {
	if c.RequestID == "" {
		return ""
	}
	return " (request-id " + c.RequestID + ")"
}

// refused: the last attempt got an answer from Graph that refuses the move
// and that says nothing reliable about the tenant: anything but a 2xx,
// 401/403 (the run stops), 429 and the transient 5xx (retried until the
// pacer gave up: nothing was refused), a lost answer (Unknown already) and
// the known "already exist" wording (a success without a read).
func refused(call apierr.Call, err error) bool {
	if err == nil {
		return false
	}
	if call.Status == 0 {
		call = apierr.CallOf(err)
	}
	if call.Status < 300 || answerLost(call, err) {
		return false
	}
	switch apierr.ClassOf(err) {
	case apierr.Auth, apierr.Transient, apierr.AlreadyInPlace:
		return false
	}
	switch call.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return false
	}
	return true
}

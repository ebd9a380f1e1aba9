package executor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"connrecon/plan"
)

// JournalEntry is one line of the journal (journal.jsonl): one finished
// move, written as it finishes. The report's action for a move takes the
// fields the two share from it too (report.Build calls EntryFor), so both
// say the same of every move. The field names are those of the report's
// actions, but for outcome (the report's result) and note (the report's
// reason, when the plan gives none). A move of unknown fate that
// verification then saw in its target group gets a second, later line
// (outcome succeeded, note NoteConfirmedByRead), so a move may have two
// lines: the last is its outcome. (OpenJournal appends, but the command
// line never lets a second run write into a directory that holds a
// journal, unless --overwrite removed it first.)
type JournalEntry struct {
	// Kind is plan.KindApplication for an application's assignment;
	// absent for a connector's move (as in journals written before
	// applications were planned).
	Kind            string    `json:"kind,omitempty"`
	Row             int       `json:"row,omitempty"` // mapping file row (the --apps file's for an application)
	Wave            int       `json:"wave"`
	ConnectorID     string    `json:"connectorId,omitempty"`
	MachineName     string    `json:"machineName,omitempty"`
	ApplicationID   string    `json:"applicationId,omitempty"` // the application's object id
	AppID           string    `json:"appId,omitempty"`
	DisplayName     string    `json:"displayName,omitempty"`
	FromGroupID     string    `json:"fromGroupId"`
	ToGroupID       string    `json:"toGroupId"`
	Outcome         Outcome   `json:"outcome"`
	HTTPStatus      int       `json:"httpStatus"`
	RequestID       string    `json:"requestId,omitempty"`
	ClientRequestID string    `json:"clientRequestId,omitempty"`
	BatchRequestID  string    `json:"batchRequestId,omitempty"` // the $batch that carried the last attempt
	Attempts        int       `json:"attempts"`
	Error           string    `json:"error,omitempty"`
	Note            string    `json:"note,omitempty"`
	StartedAt       time.Time `json:"startedAt"`
	FinishedAt      time.Time `json:"finishedAt"`
}

// EntryFor is the one place a change and what happened to it become the
// record of the move: row, wave, connector and group ids, machine name,
// outcome, HTTP status, request ids (the batch's too), attempts, error, note, and times in
// UTC. For a change nothing was sent for, r is the zero Result and only
// the change's fields are set.
func EntryFor(c plan.Change, r Result) JournalEntry {
	return JournalEntry{
		Kind: c.Kind, Row: c.Row, Wave: c.Wave, ConnectorID: c.ConnectorID, MachineName: c.MachineName,
		ApplicationID: c.ApplicationID, AppID: c.AppID, DisplayName: c.DisplayName,
		FromGroupID: c.FromGroupID, ToGroupID: c.ToGroupID,
		Outcome: r.Outcome, HTTPStatus: r.Call.Status, RequestID: r.Call.RequestID, ClientRequestID: r.Call.ClientRequestID,
		BatchRequestID: r.Call.BatchRequestID, Attempts: r.Attempts, Error: r.Error, Note: r.Note,
		StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt.UTC(),
	}
}

// OpenJournal opens path for appending (created with mode 0600 if
// missing). When a previous run was killed in the middle of a line, the
// torn line is ended first, so that this run's lines each stand on their
// own and ReadJournal reports only the torn one.
//
// It refuses a path that is not a regular file: a symbolic link (never
// followed, or lines would be appended to wherever someone planted it to
// point), a named pipe, a directory, a device. The error wraps
// ErrNotRegular and names the path.
func OpenJournal(path string) (*os.File, error) {
	if err := checkRegular(path); err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	// O_NOFOLLOW closes the window between the check and the open: a link
	// planted meanwhile fails the open instead of being followed.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|oNoFollow, 0o600)
	if err != nil {
		if isLinkLoop(err) {
			err = &NotRegularError{Path: path, Kind: "a symbolic link"}
		}
		return nil, fmt.Errorf("open journal: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open journal: %w", &NotRegularError{Path: path, Kind: kindOf(st.Mode())})
	}
	if st.Size() == 0 {
		// A new file: make its directory entry durable too, or a crash
		// could lose the whole journal however often its lines are synced.
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			_ = d.Sync() // best effort: some systems cannot sync a directory
			d.Close()
		}
		return f, nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		f.Close()
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if last[0] != '\n' {
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.Close()
			return nil, fmt.Errorf("open journal: end torn line: %w", err)
		}
	}
	return f, nil
}

// ErrNotRegular is wrapped by a NotRegularError.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError: a file the run writes (the journal) is something else
// than a regular file, which the run refuses rather than write through it.
type NotRegularError struct {
	Path string
	Kind string // "a symbolic link", "a named pipe", "a directory", …
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file: refusing to write through it (remove it, or use another report directory)", e.Path, e.Kind)
}

func (e *NotRegularError) Unwrap() error { return ErrNotRegular }

// checkRegular refuses a path that exists and is not a regular file; a
// missing one is fine (it will be created).
func checkRegular(path string) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return &NotRegularError{Path: path, Kind: kindOf(st.Mode())}
	}
	return nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// TornLinesError reports journal lines that are not complete entries: what
// a kill -9 in the middle of a write leaves (at the end of the file, or in
// the middle once a later run appended after it). The moves they were
// about are the ones whose fate the journal cannot tell.
type TornLinesError struct {
	Lines []int // 1-based line numbers
}

func (e *TornLinesError) Error() string {
	return fmt.Sprintf("journal: %d incomplete line(s) (a write cut off by a kill), line(s) %v", len(e.Lines), e.Lines)
}

// ReadJournal reads every complete entry. Lines that are not a complete
// JSON entry are skipped and reported in a *TornLinesError returned with
// the entries; a caller may treat it as a warning. Any other error is a
// failure to read.
func ReadJournal(r io.Reader) ([]JournalEntry, error) {
	br := bufio.NewReader(r)
	var (
		entries []JournalEntry
		torn    []int
	)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return entries, fmt.Errorf("read journal: line %d: %w", n, err)
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			var e JournalEntry
			if json.Unmarshal(t, &e) == nil && (e.ConnectorID != "" || e.Kind == plan.KindApplication && e.ApplicationID != "") {
				entries = append(entries, e)
			} else {
				torn = append(torn, n)
			}
		}
		if err != nil { // io.EOF
			break
		}
	}
	if len(torn) > 0 {
		return entries, &TornLinesError{Lines: torn}
	}
	return entries, nil
}

// journal appends entries to a writer. Writes are serialised by the
// caller (recorder.mu), one Write per line, so a kill -9 keeps every line
// written: the kernel has it. Syncing (for an operating-system crash or a
// power cut) runs in a goroutine of its own, as soon as lines are
// pending, so a worker does not wait for the disk before its next request:
// that wait cost a tenth of the throughput at 16 workers. Workers finishing
// together share one sync; a sync error stops the run at the next result.
type journal struct {
	w       io.Writer
	syncer  interface{ Sync() error } // nil when w cannot sync
	written atomic.Int64              // lines written
	failed  error                     // the first write error; nothing is written after it

	kick      chan struct{} // a sync is wanted
	done      chan struct{} // the syncer has stopped
	closeOnce sync.Once

	mu      sync.Mutex
	synced  int64 // lines known durable
	syncErr error // the first sync error
}

func newJournal(w io.Writer) *journal {
	if w == nil {
		return nil
	}
	j := &journal{w: w}
	j.syncer, _ = w.(interface{ Sync() error })
	if j.syncer != nil {
		j.kick, j.done = make(chan struct{}, 1), make(chan struct{})
		go func() {
			defer close(j.done)
			for range j.kick {
				j.syncNow()
			}
		}()
	}
	return j
}

// write appends one line and returns its sequence number, and asks for a
// sync. One Write call per line, so a kill tears at most the line being
// written.
func (j *journal) write(e JournalEntry) (int64, error) {
	if j.failed != nil {
		return 0, j.failed
	}
	line, err := json.Marshal(e)
	if err != nil {
		j.failed = err
		return 0, err
	}
	if _, err := j.w.Write(append(line, '\n')); err != nil {
		j.failed = err
		return 0, err
	}
	n := j.written.Add(1)
	if j.kick != nil {
		select {
		case j.kick <- struct{}{}:
		default: // a sync is already due; it will cover this line
		}
	}
	return n, nil
}

func (j *journal) syncNow() {
	upTo := j.written.Load() // every line written so far goes out with this sync
	err := j.syncer.Sync()
	j.mu.Lock()
	defer j.mu.Unlock()
	if err != nil {
		if j.syncErr == nil {
			j.syncErr = fmt.Errorf("sync: %w", err)
		}
		return
	}
	j.synced = max(j.synced, upTo)
}

// err is the first sync error so far.
func (j *journal) err() error {
	if j.syncer == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.syncErr
}

// close stops the syncer and syncs what is left: when Run returns, every
// line is durable. Calls after the first do nothing but report the error.
func (j *journal) close() error {
	if j.kick == nil {
		return nil
	}
	j.closeOnce.Do(func() {
		close(j.kick)
		<-j.done
		j.syncNow()
	})
	return j.err()
}

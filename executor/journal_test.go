package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"connrecon/internal/apierr"
)

// syncBuffer is a journal writer with a Sync method, like an *os.File. It
// records how many complete lines each Sync covered.
type syncBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	syncedLen int // bytes covered by the last Sync
	syncs     int
	failWrite int   // fail the n-th Write (1-based); 0 = never
	failSync  error // returned by every Sync when set
	writes    int
}

var errDiskFull = errors.New("no space left on device")

func (s *syncBuffer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writes++; s.writes == s.failWrite {
		return 0, errDiskFull
	}
	return s.buf.Write(b)
}

func (s *syncBuffer) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSync != nil {
		return s.failSync
	}
	s.syncs++
	s.syncedLen = s.buf.Len()
	return nil
}

// syncedLines is how many lines a crash right now would keep.
func (s *syncBuffer) syncedLines() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Count(s.buf.Bytes()[:s.syncedLen], []byte{'\n'})
}

func (s *syncBuffer) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.buf.Bytes()...)
}

// Every finished move is one journal line, written before the worker sends
// its next request (a kill -9 loses at most the moves in flight), and
// synced by the time Run returns.
func TestJournalLineWrittenBeforeNextMove(t *testing.T) {
	p := movesPlan(5)
	nf := &apierr.Error{Call: apierr.Call{Status: 404, RequestID: "req-404"}, Class: apierr.NotFound, Message: "gone"}
	f := newFakeMover().on("c3", reply{nf.Call, nf})
	j := &syncBuffer{}
	calls := 0
	f.gate = func(ctx context.Context, id string) error {
		// Concurrency 1: before call n, the n-1 finished moves are written.
		if calls++; bytes.Count(j.bytes(), []byte{'\n'}) != calls-1 {
			t.Errorf("sending %s: %d journal lines written, want %d", id, bytes.Count(j.bytes(), []byte{'\n'}), calls-1)
		}
		return nil
	}
	results, err := Run(context.Background(), p, f, Options{Concurrency: 1, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ReadJournal(bytes.NewReader(j.bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if j.syncedLines() != 5 {
		t.Errorf("%d lines synced at the end, want 5", j.syncedLines())
	}
	if len(entries) != len(results) {
		t.Fatalf("%d entries for %d results", len(entries), len(results))
	}
	for i, e := range entries {
		if want := EntryFor(p.Changes[results[i].Change], results[i]); !reflect.DeepEqual(e, want) {
			t.Errorf("entry %d\n got  %+v\n want %+v", i, e, want)
		}
	}
	if e := entries[2]; e.Outcome != Failed || e.HTTPStatus != 404 || e.RequestID != "req-404" || !strings.Contains(e.Error, "gone") {
		t.Errorf("c3 entry %+v, want the 404 with its request id", e)
	}
}

// Concurrent workers: every line is complete, valid JSON, one per finished
// move; workers finishing together may share a sync.
func TestJournalConcurrentLinesAreValidJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	jf, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	p := movesPlan(60)
	nf := &apierr.Error{Call: apierr.Call{Status: 404}, Class: apierr.NotFound, Message: "Resource 'c7' does not exist,\nnewline \"quoted\""}
	f := newFakeMover().on("c7", reply{nf.Call, nf})
	results, err := Run(context.Background(), p, f, Options{Concurrency: 8, Journal: jf})
	if err != nil {
		t.Fatal(err)
	}
	if err := jf.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, want 0600", st.Mode().Perm())
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(results) {
		t.Fatalf("%d lines for %d moves", len(lines), len(results))
	}
	seen := map[string]JournalEntry{}
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("line %d is not valid JSON: %q", i+1, l)
		}
		var e JournalEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
		seen[e.ConnectorID] = e
	}
	for _, r := range results {
		c := p.Changes[r.Change]
		if got, want := seen[c.ConnectorID], EntryFor(c, r); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: journal %+v, want %+v", c.ConnectorID, got, want)
		}
	}
}

// Moves never sent leave no line: the journal is what happened.
func TestJournalOnlyFinishedMoves(t *testing.T) {
	p := movesPlan(4)
	j := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	results, err := Run(ctx, p, newFakeMover(), Options{Concurrency: 1, Journal: j, OnResult: func(Result) {
		if n++; n == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	entries, err := ReadJournal(bytes.NewReader(j.bytes()))
	if err != nil || len(entries) != 2 || entries[0].ConnectorID != "c1" || entries[1].ConnectorID != "c2" {
		t.Errorf("entries %+v, %v; want c1 and c2 only", entries, err)
	}
	if results[2].Outcome != NotAttempted {
		t.Errorf("c3 %s", results[2].Outcome)
	}
}

// An audit trail that cannot be written stops the run like a 403: nothing
// more is sent, and the error says why.
func TestJournalFailureStopsTheRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		journal *syncBuffer
	}{
		{"write fails", &syncBuffer{failWrite: 2}},
		{"sync fails", &syncBuffer{failSync: errDiskFull}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := movesPlan(4)
			f := newFakeMover()
			results, err := Run(context.Background(), p, f, Options{Concurrency: 1, Journal: tc.journal, Pacer: fastPacer(6)})
			var fatal *FatalError
			if !errors.As(err, &fatal) || !errors.Is(err, errDiskFull) || !strings.HasPrefix(err.Error(), "journal: ") {
				t.Fatalf("err = %v (%T), want a *FatalError wrapping the journal's error", err, err)
			}
			// A failed write stops the run at once; a failed sync (in the
			// background) at the next result, or at the end.
			wantCalls := f.totalCalls()
			if tc.name == "write fails" && wantCalls != 2 {
				t.Errorf("%d calls, want 2: the run stops at the move whose line failed", wantCalls)
			}
			// The results still say what happened to the moves sent.
			for i, r := range results {
				want := NotAttempted
				if i < wantCalls {
					want = Succeeded
				}
				if r.Outcome != want {
					t.Errorf("move %d: %s, want %s", i, r.Outcome, want)
				}
			}
		})
	}
}

// A kill -9 in the middle of a write leaves a torn last line: ReadJournal
// returns every complete entry and reports the torn line; a later run's
// OpenJournal ends the torn line so its own lines stay whole.
func TestJournalTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	runWith := func(n int) []Result {
		t.Helper()
		jf, err := OpenJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		defer jf.Close()
		results, err := Run(context.Background(), movesPlan(n), newFakeMover(), Options{Concurrency: 2, Journal: jf})
		if err != nil {
			t.Fatal(err)
		}
		return results
	}
	runWith(3)
	whole, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(whole), "\n")
	// Kill -9 while the third line was being written: half of it is on disk.
	torn := lines[0] + lines[1] + lines[2][:len(lines[2])/2]
	if err := os.WriteFile(path, []byte(torn), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	entries, err := ReadJournal(f)
	f.Close()
	var te *TornLinesError
	if !errors.As(err, &te) || !reflect.DeepEqual(te.Lines, []int{3}) {
		t.Fatalf("err = %v, want line 3 reported torn", err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries, want the 2 complete ones", len(entries))
	}

	// The rerun appends after the torn line, on lines of its own.
	runWith(2)
	data, _ := os.ReadFile(path)
	entries, err = ReadJournal(bytes.NewReader(data))
	if !errors.As(err, &te) || !reflect.DeepEqual(te.Lines, []int{3}) {
		t.Errorf("after the rerun: err = %v, want only line 3 torn", err)
	}
	if len(entries) != 4 {
		t.Errorf("%d entries after the rerun, want 2 + 2", len(entries))
	}
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if i != 2 && !json.Valid([]byte(l)) {
			t.Errorf("line %d is not valid JSON: %q", i+1, l)
		}
	}
}

func TestReadJournalEmptyAndBlank(t *testing.T) {
	entries, err := ReadJournal(strings.NewReader(""))
	if err != nil || len(entries) != 0 {
		t.Errorf("empty: %v, %v", entries, err)
	}
	entries, err = ReadJournal(strings.NewReader("\n{\"connectorId\":\"c1\",\"outcome\":\"succeeded\"}\n\n"))
	if err != nil || len(entries) != 1 || entries[0].Outcome != Succeeded {
		t.Errorf("blank lines: %v, %v", entries, err)
	}
	// Valid JSON that is not an entry is not silently taken for one.
	_, err = ReadJournal(strings.NewReader("{}\n42\n"))
	var te *TornLinesError
	if !errors.As(err, &te) || !reflect.DeepEqual(te.Lines, []int{1, 2}) {
		t.Errorf("non-entries: err = %v, want lines 1 and 2 reported", err)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"connrecon/internal/safetext"
	"connrecon/report"
)

// journalFile is the apply journal's name in the report directory.
const journalFile = "journal.jsonl"

// auditFiles are what a run leaves in its report directory: the reports,
// the journal and the back-out. A directory holding any of them holds an earlier run's
// audit trail.
var auditFiles = append(append(append([]string{}, report.Files...), journalFile), report.BackoutFiles...)

// reportHeadLimit bounds how much of an earlier report.json is read to
// name its run: the fields wanted come first, and the file may be huge
// (or not a report at all).
const reportHeadLimit = 64 << 10

// prepareReportDir gets --report-dir ready for this run, before the run
// writes anything there and with the run's lock held: a run still writing
// there is reported as holding the lock, and no run can slip in between
// this check and this run's writes. A directory that holds an
// earlier run's reports or journal is refused, naming that run, unless
// overwrite: a later run must never silently replace an apply's audit
// trail. With overwrite the earlier files are deleted first, so the
// directory never mixes two runs (a new report.json beside an old
// report.xlsx) and the journal starts afresh instead of the new run's
// moves being appended to the old run's. Temporary files that a killed
// run's report writer left behind are removed either way.
//
// The per-run default directories are new, so only a directory given with
// --report-dir is checked (dir is "" otherwise).
func prepareReportDir(log *slog.Logger, dir string, overwrite bool, mapping string) error {
	if dir == "" {
		return nil
	}
	if overwrite && mapping != "" && mapping != "-" {
		// --overwrite must never delete the back-out this run is asked
		// to apply.
		m, _ := filepath.Abs(mapping)
		for _, name := range auditFiles {
			if p, _ := filepath.Abs(filepath.Join(dir, name)); p == m {
				return usageErrorf("-m %s is in --report-dir %s, which --overwrite would empty first: give this run another --report-dir", mapping, dir)
			}
		}
	}
	var found []string
	for _, name := range auditFiles {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			found = append(found, name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("report directory %s: %w", dir, err)
		}
	}
	if len(found) > 0 {
		earlier := describeEarlierRun(dir, found)
		if !overwrite {
			return usageErrorf("--report-dir %s already holds %s: an earlier run's audit trail is never replaced unasked: "+
				"pass --overwrite (or CONNRECON_OVERWRITE=1) to delete it and write this run's there, or give another --report-dir "+
				"(without one, every run gets a directory of its own)", dir, earlier)
		}
		for _, name := range found {
			// Remove unlinks a symbolic link itself, never its target.
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("--overwrite: cannot delete the earlier run's %s: %w", name, err)
			}
		}
		log.Warn("deleted the earlier run's reports and journal (--overwrite)", "dir", dir, "earlier", earlier)
	}
	removeStaleTemporaries(log, dir)
	return nil
}

// describeEarlierRun names the run whose files are in dir: its mode, start
// and outcome from report.json when it can be read, and the files found.
// Everything read from the file is escaped and cut: it is shown to a
// person and could be anything.
func describeEarlierRun(dir string, found []string) string {
	files := strings.Join(found, ", ")
	if found[0] != report.Files[0] { // no report.json: a journal alone is an apply killed before its report
		return "the files of an earlier run (" + files + ")"
	}
	head, err := readHead(filepath.Join(dir, report.Files[0]), reportHeadLimit)
	if err != nil {
		return "an earlier run's reports (" + files + "; report.json unreadable: " + safetext.Text(err.Error()) + ")"
	}
	var parts []string
	if head.Mode != "" {
		parts = append(parts, safetext.Value(head.Mode))
	}
	if head.StartedAt != "" {
		parts = append(parts, "started "+safetext.Value(head.StartedAt))
	}
	if head.Outcome != "" {
		parts = append(parts, "outcome "+safetext.Value(head.Outcome))
	}
	if len(parts) == 0 {
		return "an earlier run's reports (" + files + "; report.json does not say which run)"
	}
	return "the reports of an earlier run (" + strings.Join(parts, ", ") + ": " + files + ")"
}

// reportHead is what names a run in report.json.
type reportHead struct {
	Mode, StartedAt, Outcome string
}

// readHead reads the first fields of a report.json, reading at most limit
// bytes. It opens the file without following a symbolic link, and without
// blocking on a named pipe planted in its place; anything but a regular
// file is an error.
func readHead(path string, limit int64) (reportHead, error) {
	var h reportHead
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return h, errors.New("a symbolic link")
		}
		return h, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return h, err
	}
	if !st.Mode().IsRegular() {
		return h, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return h, err
	}
	// A report.json bigger than the limit is cut: walk its tokens rather
	// than decode the whole document, and keep what was found before the
	// cut.
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return h, errors.New("not a connrecon report")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		var dst *string
		switch key {
		case "mode":
			dst = &h.Mode
		case "startedAt":
			dst = &h.StartedAt
		case "outcome":
			dst = &h.Outcome
		}
		if dst == nil {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				break
			}
			continue
		}
		var v any
		if dec.Decode(&v) != nil {
			break
		}
		if s, ok := v.(string); ok {
			*dst = s
		}
		if h.Mode != "" && h.StartedAt != "" && h.Outcome != "" {
			break
		}
	}
	if h.StartedAt != "" {
		if t, err := time.Parse(time.RFC3339Nano, h.StartedAt); err == nil {
			h.StartedAt = t.UTC().Format(time.RFC3339)
		}
	}
	return h, nil
}

// removeStaleTemporaries deletes what report.Write leaves when a run is
// killed while writing: ".report.json.123456" beside report.json (the
// pattern os.CreateTemp makes of "."+name+".*"). Only regular files are
// removed, found without following links: a symbolic link or anything else
// with such a name is left alone. Failures are logged, not fatal: a stale
// temporary harms nothing but disk space.
func removeStaleTemporaries(log *slog.Logger, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not look for stale temporary reports", "dir", dir, "err", err)
		}
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !isReportTemp(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not remove a stale temporary report", "file", path, "err", err)
			continue
		}
		log.Info("removed a temporary report an earlier run left behind", "file", path)
	}
}

// isReportTemp reports whether name is a report writer's temporary file:
// "." + a report's name + "." + the digits os.CreateTemp adds.
func isReportTemp(name string) bool {
	for _, f := range append(append([]string{}, report.Files...), report.BackoutFiles...) {
		rest, ok := strings.CutPrefix(name, "."+f+".")
		if !ok || rest == "" {
			continue
		}
		return strings.Trim(rest, "0123456789") == ""
	}
	return false
}

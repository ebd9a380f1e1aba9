//go:build unix

package executor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A journal path planted in the report directory as something other than
// a regular file is refused, and nothing is written through it.
func TestOpenJournalRefusesNonRegular(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, path, elsewhere string)
		kind  string
	}{
		{"symlink to a file elsewhere", func(t *testing.T, path, elsewhere string) {
			must(t, os.WriteFile(elsewhere, []byte("precious\n"), 0o600))
			must(t, os.Symlink(elsewhere, path))
		}, "a symbolic link"},
		{"dangling symlink", func(t *testing.T, path, elsewhere string) {
			must(t, os.Symlink(elsewhere, path))
		}, "a symbolic link"},
		{"named pipe", func(t *testing.T, path, _ string) {
			must(t, syscall.Mkfifo(path, 0o600))
		}, "a named pipe"},
		{"directory", func(t *testing.T, path, _ string) {
			must(t, os.Mkdir(path, 0o700))
		}, "a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "reports", "journal.jsonl")
			must(t, os.MkdirAll(filepath.Dir(path), 0o700))
			elsewhere := filepath.Join(dir, "elsewhere.txt")
			tc.plant(t, path, elsewhere)
			before, beforeErr := os.ReadFile(elsewhere)

			f, err := OpenJournal(path)
			if err == nil {
				f.Close()
				t.Fatal("OpenJournal accepted it")
			}
			var nr *NotRegularError
			if !errors.Is(err, ErrNotRegular) || !errors.As(err, &nr) || nr.Path != path || nr.Kind != tc.kind {
				t.Errorf("err = %v, want a NotRegularError for %s (%s)", err, path, tc.kind)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.kind) {
				t.Errorf("message %q does not name the path and what it is", err)
			}
			after, afterErr := os.ReadFile(elsewhere)
			if string(after) != string(before) || (beforeErr == nil) != (afterErr == nil) {
				t.Errorf("the link's target changed: %q (%v) → %q (%v)", before, beforeErr, after, afterErr)
			}
		})
	}
}

// The open itself does not follow a link (one planted after the check).
func TestNoFollowOpenFailsOnLink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
	must(t, os.WriteFile(target, nil, 0o600))
	must(t, os.Symlink(target, link))
	f, err := os.OpenFile(link, os.O_RDWR|os.O_APPEND|os.O_CREATE|oNoFollow, 0o600)
	if err == nil {
		f.Close()
		t.Fatal("the open followed the link")
	}
	if !isLinkLoop(err) {
		t.Errorf("err = %v, not recognised as a link", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

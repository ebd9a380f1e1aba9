package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A lock path planted as something other than a regular file is refused:
// a symbolic link is not followed (its target is neither created nor
// locked), a named pipe or a directory is not used.
func TestAcquireLockRefusesNonRegular(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(path, elsewhere string) error
		kind  string
	}{
		{"symlink to a file elsewhere", func(path, elsewhere string) error {
			if err := os.WriteFile(elsewhere, []byte("precious\n"), 0o600); err != nil {
				return err
			}
			return os.Symlink(elsewhere, path)
		}, "a symbolic link"},
		{"dangling symlink", func(path, elsewhere string) error { return os.Symlink(elsewhere, path) }, "a symbolic link"},
		{"named pipe", func(path, _ string) error { return syscall.Mkfifo(path, 0o600) }, "a named pipe"},
		{"directory", func(path, _ string) error { return os.Mkdir(path, 0o700) }, "a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ".connrecon.lock")
			elsewhere := filepath.Join(dir, "elsewhere.txt")
			if err := tc.plant(path, elsewhere); err != nil {
				t.Fatal(err)
			}
			before, beforeErr := os.ReadFile(elsewhere)

			unlock, err := acquireLock(path)
			if err == nil {
				unlock()
				t.Fatal("acquireLock accepted it")
			}
			if code := exitCode(err); code != exitFailure {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.kind) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("message %q does not name the path and what it is", err)
			}
			after, afterErr := os.ReadFile(elsewhere)
			if string(after) != string(before) || (beforeErr == nil) != (afterErr == nil) {
				t.Errorf("the link's target changed: %q (%v) → %q (%v)", before, beforeErr, after, afterErr)
			}
		})
	}
}

// A regular lock file left by an earlier run is reused.
func TestAcquireLockReusesRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", ".connrecon.lock")
	for range 2 {
		unlock, err := acquireLock(path)
		if err != nil {
			t.Fatal(err)
		}
		unlock()
	}
}

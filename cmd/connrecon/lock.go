package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// acquireLock takes an exclusive flock on path without waiting. flock is
// released by the kernel when the process dies, so a killed run never
// leaves a stale lock behind.
//
// The lock file must be a regular file or absent: a symbolic link is
// never followed (opening through one planted in the report directory
// would create or lock a file elsewhere), and a named pipe, a directory or
// a device is refused.
func acquireLock(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
		return nil, notRegularLock(path, st.Mode())
	}
	// O_NOFOLLOW: a link planted after the check fails the open (ELOOP).
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, notRegularLock(path, fs.ModeSymlink)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	st, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	case !st.Mode().IsRegular():
		f.Close()
		return nil, notRegularLock(path, st.Mode())
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, &lockHeldError{path: path}
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// notRegularLock: the lock path is not a regular file.
func notRegularLock(path string, m fs.FileMode) error {
	kind := "a special file"
	switch {
	case m&fs.ModeSymlink != 0:
		kind = "a symbolic link"
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	}
	return fmt.Errorf("lock %s is %s, not a regular file: refusing to use it (remove it, or give --lock another path)", path, kind)
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// acquireLock takes an exclusive flock on path without waiting. flock is
// released by the kernel when the process dies, so a killed run never
// leaves a stale lock behind.
func acquireLock(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, withCode(exitFailure, fmt.Errorf("lock %s: %w", path, err))
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, withCode(exitFailure, fmt.Errorf("lock %s: %w", path, err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, withCode(exitFailure, fmt.Errorf("another connrecon run holds the lock %s: try again when it has finished", path))
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

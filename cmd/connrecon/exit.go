package main

import (
	"context"
	"errors"
	"fmt"

	"connrecon/internal/mapping"
	"connrecon/internal/reconcile"
)

// Exit codes (README, "Exit codes"; scripts depend on them).
const (
	exitOK          = 0
	exitFailure     = 1   // runtime failure, or some actions failed
	exitChanges     = 2   // plan --detailed-exitcode: changes pending
	exitRefused     = 3   // refused by a safety guard
	exitInvalid     = 4   // invalid mapping rows, or a mapping file that cannot be used (nothing applied)
	exitUsage       = 64  // usage error
	exitTempFail    = 75  // EX_TEMPFAIL: another run holds the lock; try again later
	exitInterrupted = 130 // interrupted (report still written)
)

// usageError: the command line asked for something that cannot be done
// as asked.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &usageError{err: fmt.Errorf(format, a...)}
}

// lockHeldError: another run holds the lock. Not a failure: a cron
// wrapper skips quietly and tries again later.
type lockHeldError struct{ path string }

func (e *lockHeldError) Error() string {
	return fmt.Sprintf("another connrecon run holds the lock %s: try again when it has finished", e.path)
}

// invalidFileError: validate found invalid rows.
type invalidFileError struct {
	path string
	rows int
}

func (e *invalidFileError) Error() string {
	return fmt.Sprintf("%s: %d invalid row(s)", e.path, e.rows)
}

// exitCode maps an error to the process exit code: the one place that
// does. Everything not named here (sign-in refused, a failed read, moves
// failed or unverified, the prompt declined, a report that could not be
// written) is a failure.
func exitCode(err error) int {
	var (
		usage       *usageError
		lock        *lockHeldError
		invalidFile *invalidFileError
		fileErr     *mapping.FileError
		invalid     *reconcile.InvalidError
		refused     *reconcile.RefusedError
		pending     *reconcile.PendingError
		planFile    *reconcile.PlanFileError
		incomplete  *reconcile.IncompleteError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &incomplete):
		// Moves failed or unverified: whatever a last read's error wraps.
		return exitFailure
	case errors.As(err, &usage), errors.As(err, &planFile):
		return exitUsage
	case errors.As(err, &lock):
		return exitTempFail
	case errors.Is(err, context.Canceled): // reconcile.InterruptedError too
		return exitInterrupted
	case errors.As(err, &pending):
		return exitChanges
	case errors.As(err, &refused):
		return exitRefused
	case errors.As(err, &invalid), errors.As(err, &invalidFile), errors.As(err, &fileErr):
		// The mapping cannot be used, whatever the reason (invalid rows,
		// missing, unreadable, not a regular file, damaged, no header):
		// one code, and nothing was applied.
		return exitInvalid
	default:
		return exitFailure
	}
}

// outcomeOf is report.json's word for an exit code.
func outcomeOf(code int) string {
	switch code {
	case exitOK:
		return "success"
	case exitChanges:
		return "changesPending"
	case exitRefused:
		return "refused"
	case exitInvalid:
		return "invalidInput"
	case exitInterrupted:
		return "interrupted"
	default:
		return "failed"
	}
}

package main

import (
	"context"
	"errors"
	"fmt"

	"connrecon/executor"
	"connrecon/internal/apierr"
	"connrecon/internal/mapping"
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

// exitError carries an exit code with the message to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// exitCode maps an error to the process exit code: the one place that does.
func exitCode(err error) int {
	var ee *exitError
	var fe *mapping.FileError
	var fatal *executor.FatalError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &fatal), apierr.ClassOf(err) == apierr.Auth:
		return exitFailure
	case errors.As(err, &fe):
		// The mapping cannot be used, whatever the reason (missing,
		// unreadable, not a regular file, damaged, no header): one code,
		// and nothing was applied.
		return exitInvalid
	default:
		return exitFailure
	}
}

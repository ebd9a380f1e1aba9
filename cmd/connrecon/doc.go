// Package main owns the command line: flags and environment variables into
// options (envflags.go installs every flag's CONNRECON_ variable), sign-in,
// the confirmation prompt, the lock, signals, the report-directory rule,
// the terminal (terminal.go: the one writer of stderr, so a log line never
// lands inside the progress bar) and the one switch from the workflows'
// typed errors to exit codes (exit.go). The workflows themselves are
// internal/reconcile's.
//
// Main is the whole program and runs in-process in tests; main only adds
// the process's signals, arguments and exit.
package main

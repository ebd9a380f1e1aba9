// Package main owns the command line: flags and environment variables into
// options, wiring of plan, graph, executor and report, exit codes (all
// mapped in one place, exit.go), signals and progress display.
//
// Main is the whole program and runs in-process in tests; main only adds
// the process's signals, arguments and exit.
package main

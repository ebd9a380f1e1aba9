// Package pacer owns retries and pacing: the one place in connrecon that
// decides whether a failed Graph call is tried again, when, and how fast
// calls may start.
//
// One Pacer is shared by every call of a run, reads and writes alike, so
// that a 429 seen by one worker pauses all of them until the service's
// Retry-After has passed instead of each discovering the throttle on its
// own, and so that an optional rate limit (Options.RPS) caps the run as a
// whole. Nothing else retries: the HTTP middleware chain has no retry
// handler.
package pacer

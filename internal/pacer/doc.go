// Package pacer owns retries: the one place in connrecon that decides
// whether a failed Graph call is tried again, and when.
//
// One Pacer is shared by every call of a run, reads and writes alike, so
// that a 429 seen by one worker pauses all of them until the service's
// Retry-After has passed instead of each discovering the throttle on its
// own. Nothing else retries: the HTTP middleware chain has no retry handler.
package pacer

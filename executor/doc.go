// Package executor owns applying a plan: the moves run wave by wave, each
// wave with bounded concurrency (errgroup with SetLimit), every call paced
// by the run's shared pacer, and every move ends as exactly one Result.
//
// A run stops sending on an interrupt or a fatal error but lets requests in
// flight finish within a grace period; each finished move is appended to
// an optional journal as it finishes, synced, so a killed run leaves a
// record of all but the requests in flight. A move whose answer was lost
// (a reset, a timeout after the request went out) is unknown, never
// failed, unless a later attempt settles it. Verify re-reads the target
// groups afterwards, polling to ride out replication delay, and settles
// the unknown moves it sees there. A move Graph refuses (anything but the
// known "already exist" wording, a 2xx, 401/403, 429 or a transient 5xx)
// is settled at once by one read of its target group: the tenant, not the
// refusal's wording, says whether it succeeded.
//
// It depends on Graph only through the small Mover and Reader interfaces
// declared here.
package executor

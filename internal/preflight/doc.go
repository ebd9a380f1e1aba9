// Package preflight owns `connrecon check`: the read-only look at a tenant
// before a first run, or as a scheduled job's health check. It gathers what
// the sign-in's token claims, what the service reads and answers (counts,
// page size, $batch, round trip) and, when asked, whether one harmless
// write is allowed; it then judges whether plan and apply could run, and
// says what to do about each check that fails, as text or JSON.
//
// The tenant decides: a claim in the token is advice, a read or write the
// service answered is the verdict.
package preflight

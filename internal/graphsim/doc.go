// Package graphsim owns a simulated Microsoft Graph (beta) tenant for the
// Entra application proxy connector API: connectors, connector groups, their
// membership and applications, served as an http.Handler.
//
// The simulator exists because the real service cannot be reached from tests,
// benchmarks, the demo command or the sim command, so it must behave like the
// service described in docs/design.md: OData errors with the JSON
// content type, request-id and client-request-id headers, absolute nextLinks
// with opaque skip tokens, move semantics for the members/$ref POST and
// for the applications' PUT applications/{id}/connectorGroup/$ref (apps.go),
// eventually consistent membership and application reads, and gzip
// request bodies.
//
// For tests it counts what a run did to the tenant: Moves and
// ApplicationMoves, and the moments (after each accepted change) at which
// an application's group had fewer than a given number of active
// connectors (UncoveredMoments, UncoveredBelow).
//
// Fault injection (latency, token-bucket and random throttling, 503/504,
// connection resets, stale reads) is driven by Faults and a seeded random
// source, so a run with the same seed and the same request order repeats
// exactly.
//
// Where no public source shows what the real service does, the simulator
// guesses. Every guess lives in guesses.go, so it can be corrected in one
// place when someone sees the real behaviour.
package graphsim

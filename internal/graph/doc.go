// Package graph is the only package that links the Microsoft Graph beta
// SDK. It owns sign-in, the HTTP middleware chain (built explicitly, in a
// fixed order, without the SDK's retry handler), paging, and turning every
// Graph answer into an apierr.Call or a classed *apierr.Error.
//
// Only the SDK's onpremisespublishingprofiles, models and odataerrors
// packages are imported, never its root package, which would double a cold
// build (docs/design.md, "What the service does"), nor its applications
// package: an application's move (PUT applications/{id}/connectorGroup/$ref,
// apps.go) is sent as raw request information through the same adapter,
// middleware chain and batcher as everything else.
//
// Each method makes exactly one attempt per request; the shared pacer given
// in Config decides about retries, for reads here and for writes in the
// executor. One exception: a read stops retrying an odd answer (a success
// status that is not a Graph collection) after maxOddAnswers. And a 400
// to a collection's first page that names a query option the read sent
// ($top, "page size", $select, a quoted property of the $select list)
// makes the read send it once more, with the limit the message names
// ("between 1 and N") or without the option; the client keeps the lesson
// for the rest of the run and Snapshot reports it once among the state's
// warnings (queryfallback.go).
//
// Every read must be answered 200 with a Graph collection, and nextLinks
// are followed only on the Graph URL's scheme, host and port; a redirect
// is never followed nor taken for an answer, to a read or to a move.
package graph

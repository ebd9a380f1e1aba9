package graphsim

import "net/http"

// Everything in this file is a GUESS: no public source shows what the real
// Graph service does here (docs/simulator.md lists them).
// Keep every guessed behaviour in this one file so it can be corrected when
// someone sees the real thing.

const (
	// defaultPageSize is the page size when the client sends no $top.
	// GUESS: the connector endpoints do not document their default page size;
	// 100 is the usual directory default.
	defaultPageSize = 100

	// defaultMaxPageSize caps $top. GUESS: 999 is the directory-object cap;
	// the connector endpoints do not document theirs.
	defaultMaxPageSize = 999

	// moveStatus answers a successful $ref POST. GUESS: the doc page's prose
	// says 201 Created, its own example and every tutorial show 204.
	moveStatus = http.StatusNoContent

	// alreadyExists* answer a $ref POST whose connector is already in the
	// group. GUESS, by analogy with directory $ref writes. The memberOf
	// spelling of the property name is a further guess.
	alreadyExistsCode            = "Request_BadRequest"
	alreadyExistsMembersMessage  = "One or more added object references already exist for the following modified properties: 'members'."
	alreadyExistsMemberOfMessage = "One or more added object references already exist for the following modified properties: 'memberOf'."

	// notFound* answer an unknown connector or group id. GUESS, by analogy
	// with directory objects.
	notFoundCode   = "Request_ResourceNotFound"
	notFoundFormat = "Resource '%s' does not exist or one of its queried reference-property objects are not present."

	// unknownPath* answer a path the simulator does not know. GUESS: the real
	// service answers unknown segments in several ways; 404 is the clearest.
	unknownPathStatus = http.StatusNotFound
	unknownPathCode   = "Request_UnsupportedQuery"
	unknownPathFormat = "Resource not found for the segment '%s'."

	// methodNotAllowed* answer a known path with a method it does not take.
	// GUESS at code and wording.
	methodNotAllowedCode    = "Request_BadRequest"
	methodNotAllowedMessage = "Specified HTTP method is not allowed for the request target."

	// badRequestCode is the code for malformed requests (query options,
	// bodies, skip tokens). GUESS for these endpoints; directory endpoints
	// use it.
	badRequestCode = "Request_BadRequest"

	// invalidTopFormat answers $top outside 1..MaxPageSize. GUESS, copied
	// from the directory-object wording.
	invalidTopFormat = "Invalid page size specified: '%s'. Must be between 1 and %d inclusive."

	// invalidSkipTokenMessage answers a skip token the simulator did not
	// issue (tampered, truncated, or from another collection). GUESS.
	invalidSkipTokenMessage = "The provided $skiptoken is not valid."

	// invalidRefMessage answers a $ref body whose @odata.id is not an
	// absolute URL ending in the expected /connectors/{id} or
	// /connectorGroups/{id}. GUESS: the real service may accept relative
	// URLs; the simulator is strict so adapter mistakes show up.
	invalidRefMessage = "Invalid URL format specified in @odata.id."

	// missingRefMessage answers a $ref body without @odata.id. GUESS.
	missingRefMessage = "The request body must contain an '@odata.id' property with the URL of the object to add."

	// throttle*: the 429 answer. GUESS at code and wording; the Retry-After
	// header is documented.
	throttleCode   = "TooManyRequests"
	throttleFormat = "Too many requests. Retry after %d seconds."

	// 503 and 504 answers. GUESS at codes and wording.
	unavailableCode    = "serviceNotAvailable"
	unavailableMessage = "The service is temporarily unavailable. Please try again later."
	timeoutCode        = "gatewayTimeout"
	timeoutMessage     = "The request timed out."

	// regionRule* answer a move that breaks the topology rule "a connector
	// can move into a region-specific group only from a group that uses the
	// default region" (only with Options.EnforceRegionRule). The rule is
	// documented; status, code and wording are a GUESS.
	regionRuleStatus = http.StatusBadRequest
	regionRuleCode   = "Request_BadRequest"
	regionRuleFormat = "Connector '%s' can be moved into the region-specific connector group '%s' only from a connector group that uses the default region."

	// Batch (POST /$batch): the 20-request limit and 424 for failed
	// dependencies are documented; codes and wording are a GUESS.
	batchMaxRequests       = 20
	batchTooManyFormat     = "Number of batch request steps exceeds the maximum of %d."
	failedDependencyCode   = "FailedDependency"
	failedDependencyFormat = "Dependency '%s' failed."

	// unsupportedQueryFormat answers a query option the real service
	// supports but the simulator does not ($filter, $count, ...). Not a
	// claim about the real service: the simulator refuses rather than
	// silently ignoring an option and answering wrongly.
	unsupportedQueryFormat = "The simulator does not support the query option '%s'."
)

package graphsim

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Everything in this file is a GUESS: no public source shows what the real
// Graph service does here (docs/simulator.md lists them).
// Keep every guessed behaviour in this one file so it can be corrected when
// someone sees the real thing. The constants are today's guesses; Guesses
// makes each one switchable (Options.Guesses, connrecon sim --guess), so the
// client can be tested against the plausible alternatives too.

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

	// unpublished* answer PUT (and GET) applications/{id}/connectorGroup
	// for an application that exists but is not published through
	// application proxy (Tenant.Unpublished). GUESS: Application_NotFound
	// has been seen live "until the application's on-premises publishing
	// is enabled" (its status and wording were not written down; 404 goes
	// with the code); our issue expects a 400. The wordings are invented.
	// Guesses.Unpublished*, --guess unpublished=404|400.
	unpublishedStatus        = http.StatusNotFound
	unpublishedCode          = "Application_NotFound"
	unpublishedFormat        = "Application '%s' is not configured for on-premises publishing through application proxy."
	unpublishedRefusedCode   = "Request_BadRequest"
	unpublishedRefusedFormat = "Application '%s' is not published through application proxy: enable its on-premises publishing first."

	// notAppProxyGroup* answer PUT applications/{id}/connectorGroup/$ref
	// naming a group whose connectorGroupType is not applicationProxy
	// (syncFabric, or any other). GUESS: nobody has published the answer;
	// a 400 is how the service refuses other references it will not take.
	notAppProxyGroupStatus = http.StatusBadRequest
	notAppProxyGroupCode   = "Request_BadRequest"
	notAppProxyGroupFormat = "Connector group '%s' is of type '%s': applications can only be assigned to application proxy connector groups."

	// An application id the tenant does not have answers notFound*
	// (Request_ResourceNotFound), by analogy with directory objects: a
	// GUESS too.

	// unsupportedQueryFormat answers a query option the real service
	// supports but the simulator does not ($filter, $count, ...). Not a
	// claim about the real service: the simulator refuses rather than
	// silently ignoring an option and answering wrongly.
	unsupportedQueryFormat = "The simulator does not support the query option '%s'."
)

// Guesses holds every guessed answer. A zero field takes its default
// (DefaultGuesses), so the zero Guesses is today's behaviour and a test
// sets only the guesses it changes.
type Guesses struct {
	// PageSize is the page size without $top; MaxPageSize the largest
	// page. Options.PageSize and Options.MaxPageSize, when set, win.
	PageSize    int
	MaxPageSize int
	// TopAboveMax is what a $top above MaxPageSize gets: a 400 or a
	// silently smaller page.
	TopAboveMax TopPolicy
	// UnknownSelect is what a $select of a property the type lacks gets.
	UnknownSelect SelectPolicy

	// MoveStatus answers a successful $ref POST (no body).
	MoveStatus int
	// AlreadyExists* answer a $ref POST whose connector is already in the
	// group. A 2xx status is an idempotent success: no body, no move.
	AlreadyExistsStatus          int
	AlreadyExistsCode            string
	AlreadyExistsMembersMessage  string
	AlreadyExistsMemberOfMessage string

	NotFoundCode   string
	NotFoundFormat string // %s: the id

	UnknownPathStatus int
	UnknownPathCode   string
	UnknownPathFormat string // %s: the first unknown segment

	MethodNotAllowedCode    string
	MethodNotAllowedMessage string

	BadRequestCode          string
	InvalidTopFormat        string // %s: the value sent, %d: MaxPageSize
	InvalidSkipTokenMessage string
	InvalidRefMessage       string
	MissingRefMessage       string

	ThrottleCode       string
	ThrottleFormat     string // %d: seconds
	UnavailableCode    string
	UnavailableMessage string
	TimeoutCode        string
	TimeoutMessage     string

	RegionRuleStatus int
	RegionRuleCode   string
	RegionRuleFormat string // %s: connector id, %s: group id

	BatchMaxRequests       int
	BatchTooManyFormat     string // %d: BatchMaxRequests
	FailedDependencyCode   string
	FailedDependencyFormat string // %s: the step id

	// Unpublished* answer PUT applications/{id}/connectorGroup/$ref (and
	// GET applications/{id}/connectorGroup) for an application that is
	// not published through application proxy (Tenant.Unpublished).
	UnpublishedStatus int
	UnpublishedCode   string
	UnpublishedFormat string // %s: the application id

	// NotAppProxyGroup* answer PUT applications/{id}/connectorGroup/$ref
	// naming a group that is not of type applicationProxy.
	NotAppProxyGroupStatus int
	NotAppProxyGroupCode   string
	NotAppProxyGroupFormat string // %s: group id, %s: its connectorGroupType

	// AppOnly is what an app-only token (client credentials, managed
	// identity) gets with Options.Permissions.
	AppOnly AppOnlyPolicy

	// Batch is what POST /$batch gets: taken (documented for Graph), or,
	// as a tenant, proxy or cloud that does not take it might answer,
	// refused with a 400, 404 or 405, or a 200 that is not a batch answer.
	Batch BatchPolicy
	// BatchItemID is how a $batch item's answer carries its request-id:
	// nobody has published whether this service's items have one.
	BatchItemID ItemIDPolicy
}

// BatchPolicy is the answer to POST /$batch.
type BatchPolicy int

const (
	BatchTaken     BatchPolicy = iota // served (today's guess: as documented for Graph)
	BatchRefuse400                    // 400 Request_BadRequest
	BatchRefuse404                    // 404, as for an unknown segment
	BatchRefuse405                    // 405 method not allowed
	BatchNotBatch                     // 200 with an HTML page (a proxy's)
)

// ItemIDPolicy is where a $batch item's request-id goes.
type ItemIDPolicy int

const (
	ItemIDLower ItemIDPolicy = iota // a "request-id" header in the item (today's guess)
	ItemIDMixed                     // "Request-Id": header names come in any case
	ItemIDNone                      // no request-id in the item: only the batch has one
)

// AppOnlyPolicy is the answer to an app-only call. Learn lists application
// permissions as not supported for these calls; Microsoft365DSC and a
// Terraform provider use application Directory.ReadWrite.All for
// connector groups. Nobody has published what the service does.
type AppOnlyPolicy int

const (
	AppOnlyDeny  AppOnlyPolicy = iota // 403 whatever the roles (today's guess: as Learn says)
	AppOnlyAllow                      // served when the roles hold Directory.ReadWrite.All
)

// TopPolicy is the answer to a $top above the maximum page size.
type TopPolicy int

const (
	TopRefuse TopPolicy = iota // 400 with InvalidTopFormat (today's guess)
	TopCap                     // serve MaxPageSize items, with a nextLink
)

// SelectPolicy is the answer to $select of an unknown property.
type SelectPolicy int

const (
	SelectRefuse SelectPolicy = iota // 400 "Could not find a property" (today's guess)
	SelectIgnore                     // leave the property out, answer 200
)

// DefaultGuesses returns today's guesses: the constants above.
func DefaultGuesses() Guesses {
	return Guesses{
		PageSize:                     defaultPageSize,
		MaxPageSize:                  defaultMaxPageSize,
		TopAboveMax:                  TopRefuse,
		UnknownSelect:                SelectRefuse,
		MoveStatus:                   moveStatus,
		AlreadyExistsStatus:          http.StatusBadRequest,
		AlreadyExistsCode:            alreadyExistsCode,
		AlreadyExistsMembersMessage:  alreadyExistsMembersMessage,
		AlreadyExistsMemberOfMessage: alreadyExistsMemberOfMessage,
		NotFoundCode:                 notFoundCode,
		NotFoundFormat:               notFoundFormat,
		UnknownPathStatus:            unknownPathStatus,
		UnknownPathCode:              unknownPathCode,
		UnknownPathFormat:            unknownPathFormat,
		MethodNotAllowedCode:         methodNotAllowedCode,
		MethodNotAllowedMessage:      methodNotAllowedMessage,
		BadRequestCode:               badRequestCode,
		InvalidTopFormat:             invalidTopFormat,
		InvalidSkipTokenMessage:      invalidSkipTokenMessage,
		InvalidRefMessage:            invalidRefMessage,
		MissingRefMessage:            missingRefMessage,
		ThrottleCode:                 throttleCode,
		ThrottleFormat:               throttleFormat,
		UnavailableCode:              unavailableCode,
		UnavailableMessage:           unavailableMessage,
		TimeoutCode:                  timeoutCode,
		TimeoutMessage:               timeoutMessage,
		RegionRuleStatus:             regionRuleStatus,
		RegionRuleCode:               regionRuleCode,
		RegionRuleFormat:             regionRuleFormat,
		BatchMaxRequests:             batchMaxRequests,
		BatchTooManyFormat:           batchTooManyFormat,
		FailedDependencyCode:         failedDependencyCode,
		FailedDependencyFormat:       failedDependencyFormat,
		UnpublishedStatus:            unpublishedStatus,
		UnpublishedCode:              unpublishedCode,
		UnpublishedFormat:            unpublishedFormat,
		NotAppProxyGroupStatus:       notAppProxyGroupStatus,
		NotAppProxyGroupCode:         notAppProxyGroupCode,
		NotAppProxyGroupFormat:       notAppProxyGroupFormat,
	}
}

// withDefaults fills every zero field from DefaultGuesses. Negative sizes
// count as unset, as Options' sizes always did.
func (g Guesses) withDefaults() Guesses {
	if g.PageSize < 0 {
		g.PageSize = 0
	}
	if g.MaxPageSize < 0 {
		g.MaxPageSize = 0
	}
	d := DefaultGuesses()
	gv, dv := reflect.ValueOf(&g).Elem(), reflect.ValueOf(d)
	for i := range gv.NumField() {
		if gv.Field(i).IsZero() {
			gv.Field(i).Set(dv.Field(i))
		}
	}
	return g
}

// The alternatives ParseGuess offers. Their wordings are plausible
// answers, not observed ones: directory objects answer conflicts with
// these texts.
const (
	conflictCode           = "Conflict"
	conflictMessage        = "Object already exists."
	conflictingObjectsText = "A conflicting object with one or more of the specified property values is present in the directory."
	forbiddenCode          = "Authorization_RequestDenied"
)

// guessChoice is one NAME of ParseGuess: its values, in the order the
// error lists them, and how a value sets the Guesses.
type guessChoice struct {
	name   string
	values string // for the error message
	set    func(v string, g *Guesses) bool
}

func statusChoice(v string, allowed ...int) (int, bool) {
	n, err := strconv.Atoi(v)
	return n, err == nil && slices.Contains(allowed, n)
}

func sizeChoice(v string, dst *int) bool {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > defaultMaxPageSize {
		return false
	}
	*dst = n
	return true
}

// wordChoice sets *dst to the policy the word v names.
func wordChoice[P any](v string, dst *P, words map[string]P) bool {
	p, ok := words[v]
	if ok {
		*dst = p
	}
	return ok
}

var guessChoices = []guessChoice{
	{"already", "400 (default), 409, wording, 204", func(v string, g *Guesses) bool {
		d := DefaultGuesses()
		switch v {
		case "400":
			g.AlreadyExistsStatus, g.AlreadyExistsCode = d.AlreadyExistsStatus, d.AlreadyExistsCode
			g.AlreadyExistsMembersMessage, g.AlreadyExistsMemberOfMessage = d.AlreadyExistsMembersMessage, d.AlreadyExistsMemberOfMessage
		case "409":
			g.AlreadyExistsStatus, g.AlreadyExistsCode = http.StatusConflict, conflictCode
			g.AlreadyExistsMembersMessage, g.AlreadyExistsMemberOfMessage = conflictMessage, conflictMessage
		case "wording":
			g.AlreadyExistsStatus, g.AlreadyExistsCode = http.StatusBadRequest, badRequestCode
			g.AlreadyExistsMembersMessage, g.AlreadyExistsMemberOfMessage = conflictingObjectsText, conflictingObjectsText
		case "204":
			g.AlreadyExistsStatus = http.StatusNoContent
		default:
			return false
		}
		return true
	}},
	{"apponly", "deny (default), allow", func(v string, g *Guesses) bool {
		return wordChoice(v, &g.AppOnly, map[string]AppOnlyPolicy{"deny": AppOnlyDeny, "allow": AppOnlyAllow})
	}},
	{"batch", "taken (default), 400, 404, 405, notbatch", func(v string, g *Guesses) bool {
		return wordChoice(v, &g.Batch, map[string]BatchPolicy{"taken": BatchTaken, "400": BatchRefuse400, "404": BatchRefuse404, "405": BatchRefuse405, "notbatch": BatchNotBatch})
	}},
	{"batchid", "lower (default), mixed, none", func(v string, g *Guesses) bool {
		return wordChoice(v, &g.BatchItemID, map[string]ItemIDPolicy{"lower": ItemIDLower, "mixed": ItemIDMixed, "none": ItemIDNone})
	}},
	{"maxtop", "1 to 999 (default 999)", func(v string, g *Guesses) bool { return sizeChoice(v, &g.MaxPageSize) }},
	{"move", "204 (default), 201", func(v string, g *Guesses) bool {
		n, ok := statusChoice(v, http.StatusNoContent, http.StatusCreated)
		if ok {
			g.MoveStatus = n
		}
		return ok
	}},
	{"pagesize", "1 to 999 (default 100)", func(v string, g *Guesses) bool { return sizeChoice(v, &g.PageSize) }},
	{"region", "400 (default), 409, 403", func(v string, g *Guesses) bool {
		n, ok := statusChoice(v, http.StatusBadRequest, http.StatusConflict, http.StatusForbidden)
		if !ok {
			return false
		}
		g.RegionRuleStatus = n
		g.RegionRuleCode = map[int]string{http.StatusBadRequest: regionRuleCode, http.StatusConflict: conflictCode, http.StatusForbidden: forbiddenCode}[n]
		return true
	}},
	{"select", "refuse (default), ignore", func(v string, g *Guesses) bool {
		return wordChoice(v, &g.UnknownSelect, map[string]SelectPolicy{"refuse": SelectRefuse, "ignore": SelectIgnore})
	}},
	{"top", "refuse (default), cap", func(v string, g *Guesses) bool {
		return wordChoice(v, &g.TopAboveMax, map[string]TopPolicy{"refuse": TopRefuse, "cap": TopCap})
	}},
	{"unpublished", "404 (default), 400", func(v string, g *Guesses) bool {
		switch v {
		case "404":
			g.UnpublishedStatus, g.UnpublishedCode, g.UnpublishedFormat = unpublishedStatus, unpublishedCode, unpublishedFormat
		case "400":
			g.UnpublishedStatus, g.UnpublishedCode, g.UnpublishedFormat = http.StatusBadRequest, unpublishedRefusedCode, unpublishedRefusedFormat
		default:
			return false
		}
		return true
	}},
}

// GuessNames are the NAMEs ParseGuess takes, sorted.
func GuessNames() []string {
	names := make([]string, len(guessChoices))
	for i, c := range guessChoices {
		names[i] = c.name
	}
	return names
}

// ParseGuess sets one guess, or several separated by commas, from
// NAME=VALUE (already=409, move=201, maxtop=100, top=cap, select=ignore,
// region=409, unpublished=400, ...), leaving the other fields of g as they are. Names and
// values are case-insensitive. An unknown name or value is an error that
// lists the valid ones.
func ParseGuess(s string, g *Guesses) error {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, value, ok := strings.Cut(part, "=")
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.ToLower(strings.TrimSpace(value))
		if !ok || name == "" || value == "" {
			return fmt.Errorf("guess %q: want NAME=VALUE, NAME one of %s", part, strings.Join(GuessNames(), ", "))
		}
		i := slices.IndexFunc(guessChoices, func(c guessChoice) bool { return c.name == name })
		if i < 0 {
			return fmt.Errorf("guess %q: unknown name %q, want one of %s", part, name, strings.Join(GuessNames(), ", "))
		}
		if c := guessChoices[i]; !c.set(value, g) {
			return fmt.Errorf("guess %q: unknown value %q for %s, want %s", part, value, name, c.values)
		}
	}
	return nil
}

// Package claims reads what an access token says about itself: who it was
// issued to (a user or an application), in which tenant, and with which
// delegated scopes or application roles. It never verifies a token (Graph
// does that) and never keeps or prints one: the audit trail names the
// operator from it, and `connrecon check` tells the administrator which
// permissions the sign-in carries before the first run.
package claims

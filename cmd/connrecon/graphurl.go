package main

import "connrecon/internal/graph"

// redactedURL is a URL as logs, errors and reports may show it (the
// graph package's one rule for user information).
func redactedURL(raw string) string { return graph.RedactUserinfo(raw) }

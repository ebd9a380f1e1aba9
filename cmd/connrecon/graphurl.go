package main

import (
	"net/url"
	"strings"
)

// redactedURL is a URL as logs, errors and reports may show it: user
// information (user:password@, or a token as the user name) masked as
// xxxxx, the rest as given. An unparsable URL is masked as far as its
// shape allows: what lies between "://" and the last "@" before the path.
func redactedURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if u.User == nil {
			return raw
		}
		u.User = url.User("xxxxx")
		return u.String()
	}
	prefix, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		return prefix + "xxxxx" + rest[i:]
	}
	return raw
}

package claims

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Claims are the parts of an access token's payload connrecon uses. None
// is a secret: the token's signature is what makes it one, and it is never
// kept.
type Claims struct {
	User     string   // upn, preferred_username or unique_name: a signed-in person
	AppID    string   // appid (v1 tokens) or azp (v2): the client application
	AppName  string   // app_displayname
	TenantID string   // tid
	ObjectID string   // oid: the user's or the service principal's object id
	IDType   string   // idtyp: "user" or "app" when the tenant sends it
	Scopes   []string // scp: delegated permissions, e.g. Directory.ReadWrite.All
	Roles    []string // roles: application permissions (app-only sign-in)
	Audience string   // aud: the resource the token is for (the Graph host)
	Issuer   string   // iss
	Expires  time.Time
}

// Kinds of sign-in.
const (
	KindUser = "user"        // delegated: a person signed in through an app
	KindApp  = "application" // app-only: client credentials, managed identity
)

// MaxToken bounds the tokens Parse reads: Entra's are a few KiB, and a
// value far larger is not a token worth decoding.
const MaxToken = 64 << 10

// Parse reads a JWT's payload without verifying it. ok is false when the
// token is not a readable JWT (an opaque token, a bad encoding, a payload
// that is not a JSON object).
func Parse(token string) (c Claims, ok bool) {
	if len(token) > MaxToken {
		return Claims{}, false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, false
	}
	var raw struct {
		UPN               string          `json:"upn"`
		PreferredUsername string          `json:"preferred_username"`
		UniqueName        string          `json:"unique_name"`
		AppDisplayName    string          `json:"app_displayname"`
		AppID             string          `json:"appid"`
		AZP               string          `json:"azp"`
		TID               string          `json:"tid"`
		OID               string          `json:"oid"`
		IDType            string          `json:"idtyp"`
		SCP               string          `json:"scp"`
		Roles             []string        `json:"roles"`
		Aud               json.RawMessage `json:"aud"`
		Iss               string          `json:"iss"`
		Exp               json.Number     `json:"exp"`
	}
	if json.Unmarshal(payload, &raw) != nil {
		// A claim of an unexpected type (roles as a string, say) makes
		// the payload unreadable as a whole: better nothing than half.
		return Claims{}, false
	}
	c = Claims{
		AppName: raw.AppDisplayName, TenantID: raw.TID, ObjectID: raw.OID, IDType: raw.IDType,
		Scopes: strings.Fields(raw.SCP), Roles: raw.Roles, Issuer: raw.Iss,
	}
	for _, u := range []string{raw.UPN, raw.PreferredUsername, raw.UniqueName} {
		if u != "" {
			c.User = u
			break
		}
	}
	c.AppID = raw.AppID
	if c.AppID == "" {
		c.AppID = raw.AZP
	}
	var aud string
	if json.Unmarshal(raw.Aud, &aud) == nil {
		c.Audience = aud
	} else {
		var auds []string
		if json.Unmarshal(raw.Aud, &auds) == nil && len(auds) > 0 {
			c.Audience = auds[0]
		}
	}
	if n, err := raw.Exp.Int64(); err == nil && n > 0 && n < 1<<40 {
		c.Expires = time.Unix(n, 0).UTC()
	}
	return c, true
}

// Kind is KindUser for a delegated token (it has scopes, or names a
// person), KindApp for an app-only one (idtyp "app", or roles and no
// scopes), "" when the claims do not say.
func (c Claims) Kind() string {
	switch {
	case c.IDType == "app":
		return KindApp
	case len(c.Scopes) > 0 || c.User != "" || c.IDType == "user":
		return KindUser
	case len(c.Roles) > 0 || c.AppID != "":
		return KindApp
	}
	return ""
}

// Has: the permission is among the scopes (delegated) or the roles
// (app-only). Permission names are compared case-insensitively, as Entra
// does.
func (c Claims) Has(permission string) bool {
	eq := func(s string) bool { return strings.EqualFold(s, permission) }
	return slices.ContainsFunc(c.Scopes, eq) || slices.ContainsFunc(c.Roles, eq)
}

// Operator names the signed-in account (a user's UPN) or app (its display
// name and app id), for the audit trail; "" when the claims name neither.
func (c Claims) Operator() string {
	switch {
	case c.User != "":
		return c.User
	case c.AppName != "" && c.AppID != "":
		return fmt.Sprintf("%s (app %s)", c.AppName, c.AppID)
	case c.AppID != "":
		return "app " + c.AppID
	}
	return ""
}

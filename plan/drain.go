package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// DrainPath is the Mapping.Path of a drain: the mapping is the command
// line's list, and a row's number is its item's place in it.
const DrainPath = "--drain"

// NoDefaultGroupError: the tenant has no single default application proxy
// group, so a drain has nowhere to go.
type NoDefaultGroupError struct{ Defaults int }

func (e *NoDefaultGroupError) Error() string {
	if e.Defaults == 0 {
		return "--drain: the tenant has no default connector group to drain into"
	}
	return fmt.Sprintf("--drain: the tenant has %d default connector groups, so which one to drain into is not known", e.Defaults)
}

// DrainMapping is the mapping a drain plans with: each item (a machine
// name or id, as a mapping cell names a connector) into the tenant's
// default application proxy connector group, the group Microsoft's
// guidance idles a connector in for maintenance. Row numbers are the
// items' places in the list, from 1; an item that repeats an earlier one
// (the same text, or the same GUID) is a duplicate, counted once. The
// SHA-256 is the list's, so a saved plan of a drain names what it was made
// from.
func DrainMapping(items []string, s *State) (*Mapping, error) {
	def, defaults := -1, 0
	for i := range s.Groups {
		if g := &s.Groups[i]; g.IsDefault && g.IsTarget() {
			def, defaults = i, defaults+1
		}
	}
	if defaults != 1 {
		return nil, &NoDefaultGroupError{Defaults: defaults}
	}
	list := strings.Join(items, ",")
	sum := sha256.Sum256([]byte(list))
	m := &Mapping{
		Path: DrainPath, SHA256: hex.EncodeToString(sum[:]),
		ConnectorHeader: DrainPath, GroupHeader: "default group",
		Rows: make([]Row, 0, len(items)),
	}
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		key := strings.ToLower(it)
		if IsGUID(it) {
			key = NormalizeGUID(it)
		}
		r := Row{Line: i + 1, Connector: it, Group: s.Groups[def].ID, Duplicate: seen[key]}
		if it == "" {
			r.Problem = "the item is empty"
		}
		seen[key] = true
		m.Rows = append(m.Rows, r)
	}
	return m, nil
}

package plan

import (
	"sort"
	"strings"
)

// Connector status values as Graph reports them.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
)

// Connector is one application proxy connector and the group it is in.
type Connector struct {
	ID          string `json:"id"`
	MachineName string `json:"machineName"`
	ExternalIP  string `json:"externalIp,omitempty"`
	Status      string `json:"status"`
	Version     string `json:"version,omitempty"`
	GroupID     string `json:"groupId"`
}

// Application is an application published through a connector group.
type Application struct {
	ID          string `json:"id"`
	AppID       string `json:"appId,omitempty"`
	DisplayName string `json:"displayName"`
}

// Group is one connector group.
type Group struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	IsDefault    bool          `json:"isDefault"`
	Region       string        `json:"region,omitempty"` // as the service sent it, even off-list values
	Applications []Application `json:"applications,omitempty"`
}

// State is a snapshot of the tenant: every connector with its group, every
// group with its applications.
type State struct {
	Connectors []Connector `json:"connectors"`
	Groups     []Group     `json:"groups"`
}

// index gives the lookups resolution needs, built once per Build.
type index struct {
	connByID    map[string]*Connector
	connByName  map[string][]*Connector // lower-cased machineName
	connByShort map[string][]*Connector // lower-cased host part before the first dot
	groupByID   map[string]*Group
	groupByName map[string][]*Group // lower-cased name
}

func newIndex(s *State) *index {
	ix := &index{
		connByID:    make(map[string]*Connector, len(s.Connectors)),
		connByName:  make(map[string][]*Connector, len(s.Connectors)),
		connByShort: make(map[string][]*Connector, len(s.Connectors)),
		groupByID:   make(map[string]*Group, len(s.Groups)),
		groupByName: make(map[string][]*Group, len(s.Groups)),
	}
	for i := range s.Connectors {
		c := &s.Connectors[i]
		ix.connByID[strings.ToLower(c.ID)] = c
		name := strings.ToLower(c.MachineName)
		ix.connByName[name] = append(ix.connByName[name], c)
		if short, _, ok := strings.Cut(name, "."); ok {
			ix.connByShort[short] = append(ix.connByShort[short], c)
		}
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		ix.groupByID[strings.ToLower(g.ID)] = g
		name := strings.ToLower(g.Name)
		ix.groupByName[name] = append(ix.groupByName[name], g)
	}
	return ix
}

// SortState puts connectors and groups in a stable order (by name, then
// id), so that plans and reports do not depend on the service's paging order.
func SortState(s *State) {
	sort.Slice(s.Connectors, func(i, j int) bool {
		a, b := s.Connectors[i], s.Connectors[j]
		if la, lb := strings.ToLower(a.MachineName), strings.ToLower(b.MachineName); la != lb {
			return la < lb
		}
		return a.ID < b.ID
	})
	sort.Slice(s.Groups, func(i, j int) bool {
		a, b := s.Groups[i], s.Groups[j]
		if la, lb := strings.ToLower(a.Name), strings.ToLower(b.Name); la != lb {
			return la < lb
		}
		return a.ID < b.ID
	})
}

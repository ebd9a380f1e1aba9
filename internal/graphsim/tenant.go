package graphsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Tenant is both the tenant file format (JSON) and the in-memory model.
type Tenant struct {
	Groups     []Group     `json:"groups"`
	Connectors []Connector `json:"connectors"`
	// Unpublished are applications of the tenant that are not published
	// through application proxy (their on-premises publishing is not
	// enabled): they are in no connector group, and assigning one to a
	// group is refused (Guesses.Unpublished*).
	Unpublished []Application `json:"unpublished,omitempty"`
}

// Group is a connector group.
type Group struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsDefault bool   `json:"isDefault"`
	// Region is nam, eur, aus, asia or ind, or an off-list value such as
	// "japan": the live service has been seen returning one, so the
	// simulator serves whatever the file says. Empty is served as null.
	Region string `json:"region"`
	// ConnectorGroupType is applicationProxy, syncFabric or any other
	// value, served as it is so clients can be tested against the other
	// kinds of group. Empty is served as applicationProxy, the simulator's
	// answer before the field existed.
	ConnectorGroupType string        `json:"connectorGroupType,omitempty"`
	Applications       []Application `json:"applications"`
}

// Application is an application published through a connector group (or,
// in Tenant.Unpublished, one that is not). ID is its object id, the one
// PUT applications/{id}/connectorGroup/$ref names.
type Application struct {
	ID          string `json:"id"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
}

// Connector is an application proxy connector.
type Connector struct {
	ID          string `json:"id"`
	MachineName string `json:"machineName"`
	ExternalIP  string `json:"externalIp"`
	// Status is "active" or "inactive". Other values are served as they
	// are, so clients can be tested against unknown enum values.
	Status  string `json:"status"`
	Version string `json:"version"`
	// Group is the id of the group the connector is in; empty means the
	// default group (new connectors join the default group).
	Group string `json:"group"`
}

// LoadTenant decodes a tenant file strictly (unknown fields are errors) and
// validates it (see Tenant.Validate).
func LoadTenant(r io.Reader) (*Tenant, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var t Tenant
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("graphsim: tenant: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("graphsim: tenant: unexpected data after the JSON object")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// LoadTenantFile reads and validates a tenant file.
func LoadTenantFile(path string) (*Tenant, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("graphsim: %w", err)
	}
	t, err := LoadTenant(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return t, nil
}

// Validate checks what the real service guarantees: every id is non-empty
// and unique across groups, connectors and applications, published or not
// (compared case-insensitively, as Graph compares GUIDs), there is exactly
// one default group, and every connector's group exists. Errors name the
// offending item.
func (t *Tenant) Validate() error {
	if t == nil {
		return errors.New("graphsim: tenant: nil tenant")
	}
	seen := map[string]string{} // lower-case id -> description of its owner
	claim := func(id, what string) error {
		if strings.TrimSpace(id) == "" {
			return fmt.Errorf("graphsim: tenant: %s has an empty id", what)
		}
		k := strings.ToLower(id)
		if prev, ok := seen[k]; ok {
			return fmt.Errorf("graphsim: tenant: %s has id %q, already used by %s", what, id, prev)
		}
		seen[k] = what
		return nil
	}
	defaults := 0
	var firstDefault string
	for i, g := range t.Groups {
		what := fmt.Sprintf("group #%d %q", i+1, g.Name)
		if err := claim(g.ID, what); err != nil {
			return err
		}
		if g.IsDefault {
			defaults++
			if defaults > 1 {
				return fmt.Errorf("graphsim: tenant: %s is a second default group (the first is %s)", what, firstDefault)
			}
			firstDefault = what
		}
		for j, a := range g.Applications {
			if err := claim(a.ID, fmt.Sprintf("application #%d %q of %s", j+1, a.DisplayName, what)); err != nil {
				return err
			}
		}
	}
	if defaults == 0 {
		return errors.New("graphsim: tenant: no default group (exactly one group must have isDefault true)")
	}
	for i, a := range t.Unpublished {
		if err := claim(a.ID, fmt.Sprintf("unpublished application #%d %q", i+1, a.DisplayName)); err != nil {
			return err
		}
	}
	for i, c := range t.Connectors {
		what := fmt.Sprintf("connector #%d %q", i+1, c.MachineName)
		if err := claim(c.ID, what); err != nil {
			return err
		}
		if c.Group == "" {
			continue
		}
		found := false
		for _, g := range t.Groups {
			if strings.EqualFold(g.ID, c.Group) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("graphsim: tenant: %s (id %s) is in group %q, which does not exist", what, c.ID, c.Group)
		}
	}
	return nil
}

// Clone returns a deep copy.
func (t *Tenant) Clone() *Tenant {
	if t == nil {
		return nil
	}
	c := &Tenant{}
	if t.Groups != nil {
		c.Groups = make([]Group, len(t.Groups))
		for i, g := range t.Groups {
			c.Groups[i] = g
			if g.Applications != nil {
				c.Groups[i].Applications = make([]Application, len(g.Applications))
				copy(c.Groups[i].Applications, g.Applications)
			}
		}
	}
	if t.Connectors != nil {
		c.Connectors = make([]Connector, len(t.Connectors))
		copy(c.Connectors, t.Connectors)
	}
	if t.Unpublished != nil {
		c.Unpublished = make([]Application, len(t.Unpublished))
		copy(c.Unpublished, t.Unpublished)
	}
	return c
}

package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"

	abs "github.com/microsoft/kiota-abstractions-go"
	opp "github.com/microsoftgraph/msgraph-beta-sdk-go/onpremisespublishingprofiles"
	"golang.org/x/sync/errgroup"

	"connrecon/plan"
)

// page is one page of a Graph collection. Items are decoded by the caller
// with encoding/json rather than the SDK's models: the models turn an
// off-list enum value (a region "japan") into nil, and the raw value is
// worth keeping.
type page struct {
	Value    []json.RawMessage `json:"value"`
	NextLink string            `json:"@odata.nextLink"`
}

type rawConnector struct {
	ID          string `json:"id"`
	MachineName string `json:"machineName"`
	ExternalIP  string `json:"externalIp"`
	Status      string `json:"status"`
	Version     string `json:"version"`
}

type rawGroup struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsDefault bool   `json:"isDefault"`
	Region    string `json:"region"`
}

type rawApplication struct {
	ID          string `json:"id"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
}

// Snapshot reads the whole tenant: connectors, groups, and each group's
// members and applications, following every nextLink. Group reads run
// concurrently, at most ReadConcurrency at once.
func (c *Client) Snapshot(ctx context.Context) (*plan.State, error) {
	top := int32(c.cfg.PageSize)
	s := &plan.State{}

	connInfo, err := c.profile.Connectors().ToGetRequestInformation(ctx, &opp.ItemConnectorsRequestBuilderGetRequestConfiguration{
		QueryParameters: &opp.ItemConnectorsRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id", "machineName", "externalIp", "status", "version"}},
	})
	if err != nil {
		return nil, err
	}
	err = c.list(ctx, "connectors", connInfo, func(raw json.RawMessage) error {
		var rc rawConnector
		if err := json.Unmarshal(raw, &rc); err != nil {
			return err
		}
		s.Connectors = append(s.Connectors, plan.Connector{ID: rc.ID, MachineName: rc.MachineName, ExternalIP: rc.ExternalIP, Status: rc.Status, Version: rc.Version})
		return nil
	})
	if err != nil {
		return nil, err
	}

	groupInfo, err := c.profile.ConnectorGroups().ToGetRequestInformation(ctx, &opp.ItemConnectorGroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &opp.ItemConnectorGroupsRequestBuilderGetQueryParameters{Top: &top},
	})
	if err != nil {
		return nil, err
	}
	err = c.list(ctx, "connector groups", groupInfo, func(raw json.RawMessage) error {
		var rg rawGroup
		if err := json.Unmarshal(raw, &rg); err != nil {
			return err
		}
		s.Groups = append(s.Groups, plan.Group{ID: rg.ID, Name: rg.Name, IsDefault: rg.IsDefault, Region: rg.Region})
		return nil
	})
	if err != nil {
		return nil, err
	}

	members := make([][]string, len(s.Groups))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.ReadConcurrency)
	for i := range s.Groups {
		grp := c.profile.ConnectorGroups().ByConnectorGroupId(s.Groups[i].ID)
		g.Go(func() error {
			info, err := grp.Members().ToGetRequestInformation(gctx, &opp.ItemConnectorGroupsItemMembersRequestBuilderGetRequestConfiguration{
				QueryParameters: &opp.ItemConnectorGroupsItemMembersRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id"}},
			})
			if err != nil {
				return err
			}
			return c.list(gctx, "members of group "+s.Groups[i].Name, info, func(raw json.RawMessage) error {
				var rc rawConnector
				if err := json.Unmarshal(raw, &rc); err != nil {
					return err
				}
				members[i] = append(members[i], rc.ID)
				return nil
			})
		})
		g.Go(func() error {
			info, err := grp.Applications().ToGetRequestInformation(gctx, &opp.ItemConnectorGroupsItemApplicationsRequestBuilderGetRequestConfiguration{
				QueryParameters: &opp.ItemConnectorGroupsItemApplicationsRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id", "appId", "displayName"}},
			})
			if err != nil {
				return err
			}
			return c.list(gctx, "applications of group "+s.Groups[i].Name, info, func(raw json.RawMessage) error {
				var ra rawApplication
				if err := json.Unmarshal(raw, &ra); err != nil {
					return err
				}
				s.Groups[i].Applications = append(s.Groups[i].Applications, plan.Application{ID: ra.ID, AppID: ra.AppID, DisplayName: ra.DisplayName})
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	// A connector is in exactly one group; while Graph replicates a move
	// it may show in two, or in none. Say so rather than guess silently:
	// the first group in Graph's order is kept.
	groupOf := make(map[string]int, len(s.Connectors))
	for i, ids := range members {
		for _, id := range ids {
			if j, ok := groupOf[id]; ok {
				s.Warnings = append(s.Warnings, fmt.Sprintf("connector %s is listed in two groups, %q and %q (Graph may still be replicating a move): taken as in %q", id, s.Groups[j].Name, s.Groups[i].Name, s.Groups[j].Name))
				continue
			}
			groupOf[id] = i
		}
	}
	for i := range s.Connectors {
		if j, ok := groupOf[s.Connectors[i].ID]; ok {
			s.Connectors[i].GroupID = s.Groups[j].ID
		} else {
			s.Warnings = append(s.Warnings, fmt.Sprintf("connector %s (%s) is in no group's member list (Graph may still be replicating a move)", s.Connectors[i].MachineName, s.Connectors[i].ID))
		}
	}
	for i := range s.Groups {
		apps := s.Groups[i].Applications
		sort.Slice(apps, func(a, b int) bool { return apps[a].DisplayName < apps[b].DisplayName })
	}
	plan.SortState(s)
	return s, nil
}

// list reads a collection page by page, following @odata.nextLink
// verbatim until it is absent, and hands each item to each.
func (c *Client) list(ctx context.Context, what string, info *abs.RequestInformation, each func(json.RawMessage) error) error {
	for pages := 1; info != nil; pages++ {
		body, err := c.get(ctx, info)
		if err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		var p page
		if len(body) > 0 {
			if err := json.Unmarshal(body, &p); err != nil {
				return fmt.Errorf("read %s: page %d is not a Graph collection: %w", what, pages, err)
			}
		}
		for _, raw := range p.Value {
			if err := each(raw); err != nil {
				return fmt.Errorf("read %s: page %d: %w", what, pages, err)
			}
		}
		info = nil
		if p.NextLink != "" {
			u, err := url.Parse(p.NextLink)
			if err != nil || !u.IsAbs() {
				return fmt.Errorf("read %s: page %d: nextLink %q is not an absolute URL", what, pages, p.NextLink)
			}
			info = abs.NewRequestInformation()
			info.Method = abs.GET
			info.SetUri(*u)
			info.Headers.TryAdd("Accept", "application/json")
		}
	}
	return nil
}

// get sends one GET (with the pacer's retries) and returns the raw body.
func (c *Client) get(ctx context.Context, info *abs.RequestInformation) ([]byte, error) {
	var body []byte
	attempt := func(ctx context.Context) error {
		actx, rec := withRecorder(ctx)
		res, err := c.adapter.SendPrimitive(actx, info, "[]byte", errorMapping)
		if err != nil {
			return c.classify(actx, err, rec)
		}
		body, _ = res.([]byte)
		return nil
	}
	if c.cfg.Pacer == nil {
		return body, attempt(ctx)
	}
	_, err := c.cfg.Pacer.Call(ctx, attempt)
	return body, err
}

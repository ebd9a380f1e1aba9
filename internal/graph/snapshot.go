package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	abs "github.com/microsoft/kiota-abstractions-go"
	opp "github.com/microsoftgraph/msgraph-beta-sdk-go/onpremisespublishingprofiles"
	"golang.org/x/sync/errgroup"

	"connrecon/internal/apierr"
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
	// Raw, so that no value of it fails the read (see groupType).
	Type json.RawMessage `json:"connectorGroupType"`
}

// groupType is a group's connectorGroupType as plan.Group keeps it: the
// string as sent, off-list values included; "" when absent or null (older
// answers send none: an application proxy group). Anything but a string
// is kept as the start of its JSON text, which no known type matches, so
// the group is simply no move target (plan.Group.IsTarget) rather than a
// failed read.
func groupType(raw json.RawMessage) string {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var t string
	if json.Unmarshal(v, &t) == nil {
		return t
	}
	return plan.ShortText(string(v), maxGroupTypeText)
}

// maxGroupTypeText bounds what of an odd connectorGroupType is kept.
const maxGroupTypeText = 40

type rawApplication struct {
	ID          string `json:"id"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
}

// Snapshot reads the whole tenant: connectors, groups, and each group's
// members and applications, following every nextLink. Group reads run
// concurrently, at most ReadConcurrency batches of BatchSize at once.
func (c *Client) Snapshot(ctx context.Context) (*plan.State, error) {
	top := int32(c.cfg.PageSize)
	s := &plan.State{}

	connInfo, err := c.profile.Connectors().ToGetRequestInformation(ctx, &opp.ItemConnectorsRequestBuilderGetRequestConfiguration{
		QueryParameters: &opp.ItemConnectorsRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id", "machineName", "externalIp", "status", "version"}},
	})
	if err != nil {
		return nil, err
	}
	// The connectors' list runs beside the groups' reads, which start once
	// its first page is in: that page learns which query options the
	// service refuses (queryOptions), so the other reads do not each meet
	// the same refusal.
	firstPage := make(chan struct{})
	var once sync.Once
	opened := func() { once.Do(func() { close(firstPage) }) }
	var members [][]string
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		_, err := c.list(gctx, "connectors", connInfo, func(raw json.RawMessage) error {
			opened()
			var rc rawConnector
			if err := json.Unmarshal(raw, &rc); err != nil {
				return err
			}
			s.Connectors = append(s.Connectors, plan.Connector{ID: rc.ID, MachineName: rc.MachineName, ExternalIP: rc.ExternalIP, Status: rc.Status, Version: rc.Version})
			return nil
		})
		if err == nil {
			opened() // a tenant without connectors
		}
		return err
	})
	g.Go(func() error {
		select {
		case <-firstPage:
		case <-gctx.Done():
			return gctx.Err() // the connectors' read failed: nothing more is sent
		}
		var err error
		members, err = c.readGroups(gctx, s, top)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	c.placeConnectors(s, members)
	return s, nil
}

// readGroups reads the groups, then each group's members (their ids, by
// group) and applications: ReadConcurrency batches of BatchSize requests
// in flight at once.
func (c *Client) readGroups(ctx context.Context, s *plan.State, top int32) ([][]string, error) {
	groupInfo, err := c.profile.ConnectorGroups().ToGetRequestInformation(ctx, &opp.ItemConnectorGroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &opp.ItemConnectorGroupsRequestBuilderGetQueryParameters{Top: &top},
	})
	if err != nil {
		return nil, err
	}
	_, err = c.list(ctx, "connector groups", groupInfo, func(raw json.RawMessage) error {
		var rg rawGroup
		if err := json.Unmarshal(raw, &rg); err != nil {
			return err
		}
		s.Groups = append(s.Groups, plan.Group{ID: rg.ID, Name: rg.Name, IsDefault: rg.IsDefault, Region: rg.Region, Type: groupType(rg.Type)})
		return nil
	})
	if err != nil {
		return nil, err
	}

	members := make([][]string, len(s.Groups))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.ReadConcurrency * c.cfg.BatchSize)
	for i := range s.Groups {
		grp := c.profile.ConnectorGroups().ByConnectorGroupId(s.Groups[i].ID)
		g.Go(func() error {
			info, err := grp.Members().ToGetRequestInformation(gctx, &opp.ItemConnectorGroupsItemMembersRequestBuilderGetRequestConfiguration{
				QueryParameters: &opp.ItemConnectorGroupsItemMembersRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id"}},
			})
			if err != nil {
				return err
			}
			_, err = c.list(gctx, "members of group "+s.Groups[i].Name, info, func(raw json.RawMessage) error {
				var rc rawConnector
				if err := json.Unmarshal(raw, &rc); err != nil {
					return err
				}
				members[i] = append(members[i], rc.ID)
				return nil
			})
			return err
		})
		g.Go(func() error {
			info, err := grp.Applications().ToGetRequestInformation(gctx, &opp.ItemConnectorGroupsItemApplicationsRequestBuilderGetRequestConfiguration{
				QueryParameters: &opp.ItemConnectorGroupsItemApplicationsRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id", "appId", "displayName"}},
			})
			if err != nil {
				return err
			}
			_, err = c.list(gctx, "applications of group "+s.Groups[i].Name, info, func(raw json.RawMessage) error {
				var ra rawApplication
				if err := json.Unmarshal(raw, &ra); err != nil {
					return err
				}
				s.Groups[i].Applications = append(s.Groups[i].Applications, plan.Application{ID: ra.ID, AppID: ra.AppID, DisplayName: ra.DisplayName})
				return nil
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return members, nil
}

// placeConnectors puts each connector in the group whose members list it.
func (c *Client) placeConnectors(s *plan.State, members [][]string) {
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
	// What the service refused of our query options, once per run.
	s.Warnings = append(c.query.takeNotes(), s.Warnings...)
	for i := range s.Groups {
		apps := s.Groups[i].Applications
		sort.Slice(apps, func(a, b int) bool { return apps[a].DisplayName < apps[b].DisplayName })
	}
	plan.SortState(s)
}

// list reads a collection page by page, following @odata.nextLink
// verbatim until it is absent, and hands each item to each. Every page
// must be a Graph collection (see decodePage), and every nextLink must
// stay on the Graph URL's scheme, host and port. It returns the call that
// answered the first page (its request-id names the read in the audit
// trail).
func (c *Client) list(ctx context.Context, what string, info *abs.RequestInformation, each func(json.RawMessage) error) (apierr.Call, error) {
	var firstCall apierr.Call
	err := c.listPages(ctx, what, info, &firstCall, each)
	return firstCall, err
}

func (c *Client) listPages(ctx context.Context, what string, info *abs.RequestInformation, firstCall *apierr.Call, each func(json.RawMessage) error) error {
	seen := map[string]bool{}
	ids := map[string]int{} // lower-case id → its item number
	items := 0
	first := info
	if first.PathParameters != nil && first.PathParameters["baseurl"] == "" {
		// What the adapter adds on sending: fallback reads the URL before.
		first.PathParameters["baseurl"] = c.adapter.GetBaseUrl()
	}
	info = c.query.apply(first)
	tried := map[string]bool{} // query options this read has dropped or lowered
	for pages := 1; info != nil; pages++ {
		if pages > maxPages {
			return fmt.Errorf("read %s: more than %d pages: not a tenant's collection", what, maxPages)
		}
		p, call, err := c.readPage(ctx, info)
		if pages == 1 {
			*firstCall = call
		}
		if err == nil {
			c.reads.page(len(p.Value), p.NextLink != "")
		}
		if err != nil && pages == 1 {
			// Only the first page carries our options; a nextLink is
			// the service's own.
			if next := c.query.fallback(what, first, info, err, tried); next != nil {
				info = next
				pages--
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("read %s: page %d: %w", what, pages, err)
		}
		for _, raw := range p.Value {
			items++
			if err := checkItem(raw, items, ids); err != nil {
				return fmt.Errorf("read %s: page %d: %w", what, pages, err)
			}
			if err := each(raw); err != nil {
				return fmt.Errorf("read %s: page %d: item %d: %w", what, pages, items, err)
			}
		}
		info = nil
		if p.NextLink != "" {
			u, err := c.nextLink(p.NextLink)
			if err != nil {
				return fmt.Errorf("read %s: page %d: %w", what, pages, err)
			}
			// A nextLink seen before would go round for ever.
			if seen[p.NextLink] {
				return fmt.Errorf("read %s: page %d: nextLink %s points back to an earlier page", what, pages, redactURL(p.NextLink))
			}
			seen[p.NextLink] = true
			info = abs.NewRequestInformation()
			info.Method = abs.GET
			info.SetUri(*u)
			info.Headers.TryAdd("Accept", "application/json")
		}
	}
	return nil
}

// errBadItem: an item of a collection is not a Graph object with an id.
// Reading again will not help: the read fails.
var errBadItem = errors.New("not a Graph collection")

// checkItem holds item n of a collection (counted across its pages) to
// what every object Graph lists has: a JSON object with a non-empty
// string "id", listed once (ids compared without case; ids maps those
// seen to their item numbers). Without this, null, {} or an id-less item
// became data: members answered {"value":[{},{}]} put every connector in
// no group, and the plan moved them all; a connector without an id became
// one with the id "", which apply POSTed.
func checkItem(raw json.RawMessage, n int, ids map[string]int) error {
	bad := func(format string, a ...any) error {
		return &apierr.Error{Class: apierr.Other, Err: errBadItem,
			Message: fmt.Sprintf("item %d ", n) + fmt.Sprintf(format, a...) + ": " + errBadItem.Error()}
	}
	switch v := bytes.TrimSpace(raw); {
	case len(v) == 0:
		return bad("is empty, not an object")
	case v[0] != '{':
		return bad("is JSON %s, not an object", jsonKind(v[0]))
	}
	var obj struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return bad("cannot be read: %v", err)
	}
	var id string
	switch rid := bytes.TrimSpace(obj.ID); {
	case len(rid) == 0:
		return bad(`has no "id"`)
	case rid[0] != '"':
		return bad(`has an "id" that is JSON %s, not a string`, jsonKind(rid[0]))
	case json.Unmarshal(rid, &id) != nil:
		return bad(`has an "id" that is not a valid JSON string`)
	case strings.TrimSpace(id) == "":
		return bad(`has an empty "id"`)
	}
	key := strings.ToLower(id)
	if first, ok := ids[key]; ok {
		return bad("has the id %s of item %d: an object listed twice", snippet([]byte(id), snippetLen), first)
	}
	ids[key] = n
	return nil
}

// maxPages bounds one collection read: a million connectors at the
// default page size take about a thousand pages; a server that never stops
// handing out new nextLinks must not hold the run for ever.
const maxPages = 100_000

// nextLink checks where a nextLink points. Only the static token's
// provider refuses other hosts itself; the Azure identity one compares
// host names without the port (a token for 127.0.0.1:443 goes to any port
// there) and, for a host not on its list, sends the request on without a
// token, so a foreign answer would be read as the tenant's next page.
// Hence the check here, for every sign-in, before anything is sent.
func (c *Client) nextLink(link string) (*url.URL, error) {
	u, err := url.Parse(link)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, &apierr.Error{Class: apierr.Other, Message: fmt.Sprintf("nextLink %s is not an absolute URL", redactURL(link))}
	}
	if origin(u) != c.origin || u.User != nil {
		return nil, &apierr.Error{Class: apierr.Auth, Err: errForeignHost,
			Message: fmt.Sprintf("nextLink %s is not on the Graph URL's %s: %v", redactURL(link), c.origin, errForeignHost)}
	}
	return u, nil
}

// readPage sends one GET of a collection page (with the pacer's retries)
// and decodes it. Odd answers (see maxOddAnswers) are retried a few times
// at most, however many attempts the pacer would allow.
func (c *Client) readPage(ctx context.Context, info *abs.RequestInformation) (page, apierr.Call, error) {
	var (
		p    page
		odd  int
		last apierr.Call
	)
	attempt := func(ctx context.Context) error {
		actx, rec := withRecorder(ctx)
		defer func() { last = rec.call() }()
		res, err := c.adapter.SendPrimitive(actx, info, "[]byte", errorMapping)
		if err != nil {
			return c.classify(actx, err, rec)
		}
		body, _ := res.([]byte)
		p, err = c.decodePage(rec, body)
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.Class == apierr.Transient {
			if odd++; odd >= maxOddAnswers {
				ae.Class = apierr.Other
				ae.Message += fmt.Sprintf(" (asked %d times)", odd)
			}
		}
		return err
	}
	if c.cfg.Pacer == nil {
		err := attempt(ctx)
		return p, last, err
	}
	_, err := c.cfg.Pacer.Call(ctx, attempt)
	return p, last, err
}

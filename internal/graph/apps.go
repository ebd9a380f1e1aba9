package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	abs "github.com/microsoft/kiota-abstractions-go"
	opp "github.com/microsoftgraph/msgraph-beta-sdk-go/onpremisespublishingprofiles"

	"connrecon/internal/apierr"
)

// Applications follow their connectors: an application published through
// application proxy is served by exactly one connector group, and
// PUT applications/{id}/connectorGroup/$ref (documented, 204 No Content)
// moves it to another. The SDK's applications package is not imported
// (it is a large part of the SDK, and a cold build would pay for it): the
// PUT is sent as raw request information through the same adapter, so it
// goes through the same middleware chain, batcher and classing as every
// other call.

// MoveApplication puts an application (its object id, not its appId)
// into a connector group with one PUT applications/{applicationID}/connectorGroup/$ref,
// body {"@odata.id": "<Graph URL>/onPremisesPublishingProfiles/applicationProxy/connectorGroups/{groupID}"}.
// The application leaves the group it was in; a PUT into that group
// changes nothing and is a success too. Any 2xx is success; a redirect
// is not (see writeAnswer). As MoveConnector: exactly one attempt (the
// pacer retries), the Call carries the answer's trace ids (and the
// $batch's, when one carried the request), errors are classed by
// classify. An application that is not published through application
// proxy is refused with a 404 or 400 (a guess: docs/simulator.md), an
// unknown one with a 404 (apierr.NotFound).
func (c *Client) MoveApplication(ctx context.Context, applicationID, groupID string) (apierr.Call, error) {
	ctx, rec := withRecorder(ctx)
	u, err := url.Parse(c.applicationMoveURL(applicationID))
	if err != nil {
		return apierr.Call{}, fmt.Errorf("move application %s: %w", applicationID, err)
	}
	body, err := json.Marshal(struct {
		ID string `json:"@odata.id"`
	}{c.profileURL() + "/connectorGroups/" + escapeSegment(groupID)})
	if err != nil {
		return apierr.Call{}, fmt.Errorf("move application %s: %w", applicationID, err)
	}
	info := abs.NewRequestInformation()
	info.Method = abs.PUT
	info.SetUri(*u)
	info.Headers.TryAdd("Accept", "application/json")
	info.SetStreamContentAndContentType(body, "application/json")
	if err := c.adapter.SendNoContent(ctx, info, errorMapping); err != nil {
		return rec.call(), c.classify(ctx, err, rec)
	}
	return rec.call(), writeAnswer(rec)
}

// applicationMoveURL is the URL of the PUT that moves applicationID.
func (c *Client) applicationMoveURL(applicationID string) string {
	return c.base + "/applications/" + escapeSegment(applicationID) + "/connectorGroup/$ref"
}

// GroupApplications returns the object ids of the applications a connector
// group serves (GET connectorGroups/{id}/applications?$select=id),
// following every nextLink: what verification after apply re-reads to see
// that an application's move has landed. As GroupMembers: reads go
// through the client's pacer, may share a $batch with other reads, and
// are eventually consistent (callers poll); the Call is the one that
// answered the first page.
func (c *Client) GroupApplications(ctx context.Context, groupID string) ([]string, apierr.Call, error) {
	top := int32(c.cfg.PageSize)
	info, err := c.profile.ConnectorGroups().ByConnectorGroupId(groupID).Applications().ToGetRequestInformation(ctx,
		&opp.ItemConnectorGroupsItemApplicationsRequestBuilderGetRequestConfiguration{
			QueryParameters: &opp.ItemConnectorGroupsItemApplicationsRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id"}},
		})
	if err != nil {
		return nil, apierr.Call{}, fmt.Errorf("read applications of group %s: %w", groupID, err)
	}
	ids := []string{}
	call, err := c.list(ctx, "applications of group "+groupID, info, func(raw json.RawMessage) error {
		var ra rawApplication
		if err := json.Unmarshal(raw, &ra); err != nil {
			return err
		}
		ids = append(ids, ra.ID)
		return nil
	})
	if err != nil {
		return nil, call, err
	}
	return ids, call, nil
}

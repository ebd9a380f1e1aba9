package graph

import (
	"context"
	"net/url"

	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	opp "github.com/microsoftgraph/msgraph-beta-sdk-go/onpremisespublishingprofiles"

	"connrecon/internal/apierr"
)

// MoveConnector puts a connector into a group with one
// POST connectorGroups/{groupID}/members/$ref. Graph has no "remove": the
// connector leaves its old group. Any 2xx is success (the docs disagree
// between 201 and 204). Exactly one attempt: the pacer retries.
func (c *Client) MoveConnector(ctx context.Context, connectorID, groupID string) (apierr.Call, error) {
	ctx, rec := withRecorder(ctx)
	ref := models.NewReferenceCreate()
	id := c.base + "/onPremisesPublishingProfiles/applicationProxy/connectors/" + connectorID
	ref.SetOdataId(&id)
	// A raw URL rather than the builder chain: expanding the SDK's URI
	// template for every move was 4% of an apply's CPU.
	raw := c.base + "/onPremisesPublishingProfiles/applicationProxy/connectorGroups/" + url.PathEscape(groupID) + "/members/$ref"
	err := opp.NewItemConnectorGroupsItemMembersRefRequestBuilder(raw, c.adapter).Post(ctx, ref, nil)
	return rec.call(), c.classify(ctx, err, rec)
}

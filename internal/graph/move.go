package graph

import (
	"context"

	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"

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
	err := c.profile.ConnectorGroups().ByConnectorGroupId(groupID).Members().Ref().Post(ctx, ref, nil)
	return rec.call(), c.classify(ctx, err, rec)
}

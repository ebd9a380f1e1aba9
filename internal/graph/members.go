package graph

import (
	"context"
	"encoding/json"
	"fmt"

	opp "github.com/microsoftgraph/msgraph-beta-sdk-go/onpremisespublishingprofiles"

	"connrecon/internal/apierr"
)

// GroupMembers returns the ids of a connector group's members, following
// every nextLink: what verification after apply re-reads to see that moves
// have landed. Reads go through the client's pacer (retries, the shared
// pause, the rate limit). Membership reads are eventually consistent: a
// move made a moment ago may not show yet, so callers poll. The call is the
// one that answered the first page: its request-id names the read.
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]string, apierr.Call, error) {
	top := int32(c.cfg.PageSize)
	info, err := c.profile.ConnectorGroups().ByConnectorGroupId(groupID).Members().ToGetRequestInformation(ctx,
		&opp.ItemConnectorGroupsItemMembersRequestBuilderGetRequestConfiguration{
			QueryParameters: &opp.ItemConnectorGroupsItemMembersRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id"}},
		})
	if err != nil {
		return nil, apierr.Call{}, fmt.Errorf("read members of group %s: %w", groupID, err)
	}
	ids := []string{}
	call, err := c.list(ctx, "members of group "+groupID, info, func(raw json.RawMessage) error {
		var rc rawConnector
		if err := json.Unmarshal(raw, &rc); err != nil {
			return err
		}
		ids = append(ids, rc.ID)
		return nil
	})
	if err != nil {
		return nil, call, err
	}
	return ids, call, nil
}

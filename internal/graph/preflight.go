package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"connrecon/internal/apierr"
)

// readStats counts what the service sent back to collection reads: how
// large its pages were, and whether it paged at all. `connrecon check`
// tells the administrator the page size the service used.
type readStats struct {
	mu      sync.Mutex
	largest int // items on the largest page
	pagedAt int // items on the largest page that had a nextLink
}

func (r *readStats) page(items int, next bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.largest = max(r.largest, items)
	if next {
		r.pagedAt = max(r.pagedAt, items)
	}
}

// Paging says what the client's reads so far saw: the largest page's
// items, and, when some collection took more than one page, the page size
// the service chose (the largest page that had a nextLink), else 0.
func (c *Client) Paging() (largest, pageSize int) {
	c.reads.mu.Lock()
	defer c.reads.mu.Unlock()
	return c.reads.largest, c.reads.pagedAt
}

// PageSizeAsked is the $top the client asks for.
func (c *Client) PageSizeAsked() int { return c.cfg.PageSize }

// profileURL is the application proxy profile, where every read goes.
func (c *Client) profileURL() string {
	return c.base + "/onPremisesPublishingProfiles/applicationProxy"
}

// Ping times one small read (the first connector group, its id only),
// once, without retries: the round trip to the service as the client sees
// it, sign-in excluded once a token is cached.
func (c *Client) Ping(ctx context.Context) (apierr.Call, time.Duration, error) {
	u, err := url.Parse(c.profileURL() + "/connectorGroups?$top=1")
	if err != nil {
		return apierr.Call{}, 0, err
	}
	info := abs.NewRequestInformation()
	info.Method = abs.GET
	info.SetUri(*u)
	info.Headers.TryAdd("Accept", "application/json")
	actx, rec := withRecorder(single(ctx)) // timed alone, not in a batch
	start := time.Now()
	res, err := c.adapter.SendPrimitive(actx, info, "[]byte", errorMapping)
	took := time.Since(start)
	if err != nil {
		return rec.call(), took, c.classify(actx, err, rec)
	}
	body, _ := res.([]byte)
	if _, err := c.decodePage(rec, body); err != nil {
		return rec.call(), took, err
	}
	return rec.call(), took, nil
}

// ProbeBatch sends one JSON batch (POST /$batch) holding one small read,
// to learn whether the service takes batches from this sign-in. It is nil
// when the batch was answered 200 and its item 200; otherwise the error
// says which part refused and how.
func (c *Client) ProbeBatch(ctx context.Context) (apierr.Call, error) {
	u, err := url.Parse(c.base + "/$batch")
	if err != nil {
		return apierr.Call{}, err
	}
	body := []byte(`{"requests":[{"id":"1","method":"GET","url":"/onPremisesPublishingProfiles/applicationProxy/connectorGroups?$top=1"}]}`)
	info := abs.NewRequestInformation()
	info.Method = abs.POST
	info.SetUri(*u)
	info.Headers.TryAdd("Accept", "application/json")
	info.SetStreamContentAndContentType(body, "application/json")
	actx, rec := withRecorder(ctx)
	res, err := c.adapter.SendPrimitive(actx, info, "[]byte", errorMapping)
	if err != nil {
		return rec.call(), c.classify(actx, err, rec)
	}
	call := rec.call()
	// The errors below keep the trace ids but not the outer 200, which
	// would read as the item's status.
	ids := apierr.Call{RequestID: call.RequestID, ClientRequestID: call.ClientRequestID}
	answer, _ := res.([]byte)
	var out struct {
		Responses []struct {
			ID     string          `json:"id"`
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		} `json:"responses"`
	}
	if call.Status != 200 || json.Unmarshal(answer, &out) != nil || len(out.Responses) != 1 || out.Responses[0].ID != "1" {
		return call, &apierr.Error{Call: ids, Message: fmt.Sprintf("%s, not a $batch answer with the one response asked for: %s", statusText(call.Status), snippet(answer, snippetLen, c.secrets(rec)...))}
	}
	if st := out.Responses[0].Status; st != 200 {
		msg := fmt.Sprintf("the batch was taken, but its item was answered %s", statusText(st))
		if b := bytes.TrimSpace(out.Responses[0].Body); len(b) > 0 {
			msg += ": " + snippet(b, snippetLen, c.secrets(rec)...)
		}
		return call, &apierr.Error{Call: ids, Message: msg}
	}
	return call, nil
}

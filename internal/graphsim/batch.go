package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// JSON batching (POST /beta/$batch), as the service documents it: at most 20
// requests; the outer status is 200 even when items fail; items come back in
// random order (from the seeded source); each item goes through the
// throttle and 503/504 faults on its own, so it may be a 429 of its own; an
// item whose dependency failed is a 424. The token bucket counts the items,
// not the batch. Latency, resets and auth apply to the outer request only
// (its random 429s and 503/504s too: a batch may fail as a whole).
// Guesses.Batch plays a service that does not take batches, and
// Guesses.BatchItemID what an item's answer says of its request-id. Each item is logged as its own request (before
// the outer $batch entry, which is logged when its answer is ready).

type batchBody struct {
	Requests []batchStep `json:"requests"`
}

type batchStep struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

func (s *Server) batch(c *call) *response {
	switch s.g.Batch {
	case BatchRefuse400:
		return badRequest(c, "Batch requests are not supported for this resource.")
	case BatchRefuse404:
		return odataError(c, s.g.UnknownPathStatus, s.g.UnknownPathCode, fmt.Sprintf(s.g.UnknownPathFormat, "$batch"))
	case BatchRefuse405:
		resp := odataError(c, http.StatusMethodNotAllowed, s.g.MethodNotAllowedCode, s.g.MethodNotAllowedMessage)
		resp.header.Set("Allow", "GET")
		return resp
	case BatchNotBatch:
		return &response{status: http.StatusOK, body: []byte("<!DOCTYPE html><html><body><h1>Welcome</h1><p>Sign in to continue.</p></body></html>"), contentType: "text/html; charset=utf-8"}
	}
	var b batchBody
	if err := json.Unmarshal(c.body, &b); err != nil {
		return badRequest(c, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	if len(b.Requests) == 0 {
		return badRequest(c, "The batch request must contain at least one request.")
	}
	if len(b.Requests) > s.g.BatchMaxRequests {
		return badRequest(c, fmt.Sprintf(s.g.BatchTooManyFormat, s.g.BatchMaxRequests))
	}
	seen := map[string]bool{}
	for i, st := range b.Requests {
		switch {
		case st.ID == "":
			return badRequest(c, fmt.Sprintf("Batch request #%d has no id.", i+1))
		case seen[st.ID]:
			return badRequest(c, fmt.Sprintf("Batch request id '%s' is used more than once.", st.ID))
		case st.Method == "" || st.URL == "":
			return badRequest(c, fmt.Sprintf("Batch request '%s' needs a method and a url.", st.ID))
		}
		for _, d := range st.DependsOn {
			if !seen[d] {
				return badRequest(c, fmt.Sprintf("Batch request '%s' depends on '%s', which is not an earlier request of the batch.", st.ID, d))
			}
		}
		seen[st.ID] = true
	}

	status := map[string]int{}
	out := make([]any, 0, len(b.Requests))
	for _, st := range b.Requests {
		resp, ic := s.batchStep(c, st, status)
		status[st.ID] = resp.status
		headers := object{}
		if resp.body != nil {
			headers = append(headers, field{"Content-Type", resp.contentType})
		}
		switch s.g.BatchItemID {
		case ItemIDLower:
			headers = append(headers, field{"request-id", ic.reqID}, field{"client-request-id", ic.clientReqID})
		case ItemIDMixed:
			headers = append(headers, field{"Request-Id", ic.reqID}, field{"Client-Request-Id", ic.clientReqID})
		}
		for k, v := range resp.header {
			headers = append(headers, field{k, strings.Join(v, ", ")})
		}
		item := object{{"id", st.ID}, {"status", resp.status}, {"headers", headers}}
		if resp.body != nil {
			item = append(item, field{"body", json.RawMessage(resp.body)})
		}
		out = append(out, item)
	}
	s.mu.Lock()
	s.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	s.mu.Unlock()
	return jsonResponse(object{{"responses", out}})
}

func (s *Server) batchStep(outer *call, st batchStep, status map[string]int) (*response, *call) {
	clientReqID := outer.clientReqID
	for k, v := range st.Headers {
		if strings.EqualFold(k, "client-request-id") && v != "" {
			clientReqID = v
		}
	}
	ic := &call{
		method:      strings.ToUpper(st.Method),
		root:        outer.root,
		auth:        outer.auth,
		reqID:       s.newGUID(),
		clientReqID: clientReqID,
		now:         s.now(),
		batchItem:   true,
		g:           &s.g,
	}
	if len(st.Body) > 0 && string(st.Body) != "null" {
		ic.body = st.Body
	}
	u, err := url.Parse(st.URL)
	entry := LoggedRequest{Time: ic.now, Method: ic.method, Path: "/beta/" + st.URL, Body: string(ic.body),
		RequestID: ic.reqID, ClientRequestID: ic.clientReqID, BatchRequestID: outer.reqID}
	var resp *response
	if err != nil || u.IsAbs() {
		resp = badRequest(ic, "Batch request URLs must be relative to the version root, e.g. /onPremisesPublishingProfiles/applicationProxy/connectors.")
	} else {
		ic.path = "/beta/" + strings.TrimPrefix(u.Path, "/")
		ic.segs = splitPath(ic.path)
		ic.query = u.Query()
		entry.Path, entry.Query = ic.path, u.RawQuery
		for _, d := range st.DependsOn {
			if code := status[d]; code < 200 || code > 299 {
				resp = odataError(ic, http.StatusFailedDependency, s.g.FailedDependencyCode, fmt.Sprintf(s.g.FailedDependencyFormat, d))
				break
			}
		}
	}
	if resp == nil {
		f, d := s.draw()
		if resp = s.gate(ic, f, d); resp == nil {
			resp = s.route(ic) // auth was checked on the outer request
		}
	}
	entry.Status, entry.Fault = resp.status, resp.fault
	s.appendLog(entry)
	return resp, ic
}

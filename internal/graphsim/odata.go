package graphsim

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"time"
)

// jsonContentType is what Graph sends on successful JSON answers. Clients
// must match on the media type, not the whole header, so the simulator sends
// the parameters the real service sends.
const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// errorContentType is what Graph sends on OData errors. Without exactly this
// media type the SDK returns a plain ApiError instead of an ODataError.
const errorContentType = "application/json"

// field and object give JSON objects a fixed property order, so answers
// read like the service's and golden files stay stable.
type field struct {
	k string
	v any
}

type object []field

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(marshal(f.k))
		b.WriteByte(':')
		b.Write(marshal(f.v))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal encodes without HTML escaping, so nextLinks keep a literal '&'.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only simulator-built values are encoded here; failing is a bug.
		panic(fmt.Sprintf("graphsim: encoding answer: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// nullable serves an empty enum value as JSON null, as Graph does for an
// unset enum property.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// response is one answer before it is written, so the same handlers serve
// plain requests and $batch items.
type response struct {
	status      int
	header      http.Header // extra headers (Retry-After, Allow, ...)
	body        []byte      // nil for no body
	contentType string
	fault       string // LoggedRequest.Fault
}

// jsonResponse is a 200 with v as its JSON body.
func jsonResponse(v any) *response {
	return &response{status: http.StatusOK, body: marshal(v), contentType: jsonContentType}
}

// odataError builds the Graph error body, which always carries the date and
// both request ids: support cases need them.
func odataError(c *call, status int, code, message string) *response {
	body := object{{"error", object{
		{"code", code},
		{"message", message},
		{"innerError", object{
			{"date", c.now.UTC().Format(time.RFC3339)},
			{"request-id", c.reqID},
			{"client-request-id", c.clientReqID},
		}},
	}}}
	return &response{status: status, header: http.Header{}, body: marshal(body), contentType: errorContentType}
}

func notFound(c *call, id string) *response {
	return odataError(c, http.StatusNotFound, c.g.NotFoundCode, fmt.Sprintf(c.g.NotFoundFormat, id))
}

func badRequest(c *call, message string) *response {
	return odataError(c, http.StatusBadRequest, c.g.BadRequestCode, message)
}

// Skip tokens are opaque to clients. Each holds the position of the last
// item served (keyset paging, so a move between pages neither skips nor
// repeats a connector that stays put) and a check value over the server's
// secret, the collection and the position, so a tampered token or one from
// another collection is refused.
func (s *Server) skipToken(collection string, pos int) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(pos))
	binary.BigEndian.PutUint64(b[8:], s.tokenCheck(collection, uint64(pos)))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) parseSkipToken(collection, tok string) (int, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) != 16 {
		return 0, false
	}
	pos := binary.BigEndian.Uint64(b[:8])
	if binary.BigEndian.Uint64(b[8:]) != s.tokenCheck(collection, pos) || pos > 1<<31 {
		return 0, false
	}
	return int(pos), true
}

func (s *Server) tokenCheck(collection string, pos uint64) uint64 {
	h := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], s.secret)
	binary.BigEndian.PutUint64(b[8:], pos)
	h.Write(b[:])
	h.Write([]byte(strings.ToLower(collection)))
	return h.Sum64()
}

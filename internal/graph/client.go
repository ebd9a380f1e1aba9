package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	abs "github.com/microsoft/kiota-abstractions-go"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models/odataerrors"
	opp "github.com/microsoftgraph/msgraph-beta-sdk-go/onpremisespublishingprofiles"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"

	"connrecon/internal/claims"
	"connrecon/internal/pacer"
)

// DefaultURL is Graph beta in the public cloud.
const DefaultURL = "https://graph.microsoft.com/beta"

// Config for New.
type Config struct {
	GraphURL string // base URL up to and including the version, e.g. https://graph.microsoft.com/beta
	Auth     Auth   // how to sign in
	// Transport under the middleware chain; nil means a clone of
	// http.DefaultTransport. Tests pass one that reaches their server.
	Transport http.RoundTripper
	Pacer     *pacer.Pacer // retries for reads; nil means one attempt
	// ReadConcurrency is the requests (batches) in flight at once for the
	// snapshot's group reads (default DefaultReadConcurrency).
	ReadConcurrency int
	// BatchSize is how many requests at most share one JSON batch
	// (POST /$batch): 1 sends none, 0 means MaxBatchSize. See batcher.
	BatchSize int
	// OnNote, if set, is told once what the client changed about how it
	// talks to Graph during the run (batching turned off). It must not
	// block.
	OnNote    func(string)
	PageSize  int           // $top on collection reads (default 999)
	Timeout   time.Duration // per request (default 100s, as the SDK)
	UserAgent string        // product/version
}

// Client reads and changes connector groups through Graph.
type Client struct {
	cfg     Config
	base    string
	origin  string // scheme://host:port of base: the only place reads may go
	adapter *msgraphcore.GraphRequestAdapterBase
	profile *opp.OnPremisesPublishingProfileItemRequestBuilder
	who     *identity
	query   *queryOptions // query options the service refused, learnt this run
	reads   *readStats    // what the service's pages looked like
	batch   *batcher
}

// DefaultReadConcurrency is Config.ReadConcurrency's default: eight
// requests in flight hide Graph's latency without drawing its throttle.
const DefaultReadConcurrency = 8

var (
	setupOnce sync.Once
	// defaultTracers is OpenTelemetry's global provider before anyone sets
	// one: a delegate that waits for a real provider.
	defaultTracers = otel.GetTracerProvider()
)

// setupSDK registers the serializers, as the SDK's root package would:
// without them the first response fails with "content type
// application/json does not have a factory registered to be parsed". And,
// unless a tracer provider was installed, it installs OpenTelemetry's
// no-op one: connrecon exports no traces, and the SDK starts several spans
// per request through the global provider, whose default delegate takes a
// lock and a map lookup for each; that was 6% of an apply's CPU.
func setupSDK() {
	setupOnce.Do(func() {
		// Comparing interfaces compares values only when the dynamic types
		// match, and the default's is a pointer: this cannot panic.
		if otel.GetTracerProvider() == defaultTracers {
			otel.SetTracerProvider(noop.NewTracerProvider())
		}
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return jsonser.NewJsonSerializationWriterFactory() })
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return textser.NewTextSerializationWriterFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return jsonser.NewJsonParseNodeFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return textser.NewTextParseNodeFactory() })
	})
}

// New builds a client. It does not contact Graph or the identity service.
func New(cfg Config) (*Client, error) {
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultURL
	}
	base := strings.TrimRight(cfg.GraphURL, "/")
	// User information in the URL is a credential that would end up in
	// logs and reports; Graph takes none. A URL that is not scheme://host
	// carries it when RedactUserinfo finds an "@" to mask.
	u, err := url.Parse(base)
	bad := err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != ""
	if bad && RedactUserinfo(cfg.GraphURL) == cfg.GraphURL {
		return nil, fmt.Errorf("graph URL %q: want an absolute http(s) URL such as %s", redactURL(cfg.GraphURL), DefaultURL)
	}
	if bad || u.User != nil {
		return nil, fmt.Errorf("graph URL %q: remove the user information (user:password@): Graph signs in with --auth, not in the URL", redactURL(cfg.GraphURL))
	}
	if cfg.ReadConcurrency <= 0 {
		cfg.ReadConcurrency = DefaultReadConcurrency
	}
	switch {
	case cfg.BatchSize == 0:
		cfg.BatchSize = MaxBatchSize
	case cfg.BatchSize < 0 || cfg.BatchSize > MaxBatchSize:
		return nil, fmt.Errorf("batch size %d: want 1 to %d", cfg.BatchSize, MaxBatchSize)
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 999
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "connrecon"
	}
	who := &identity{}
	provider, err := cfg.Auth.provider(u, who)
	if err != nil {
		return nil, err
	}
	setupSDK()
	if cfg.Transport == nil {
		cfg.Transport = defaultTransport()
	}
	bt := newBatcher(cfg.Transport, cfg, origin(u), strings.TrimRight(u.EscapedPath(), "/"))
	cfg.Transport = bt
	adapter, err := msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		provider, msgraphcore.GraphClientOptions{}, nil, nil, newHTTPClient(cfg))
	if err != nil {
		return nil, fmt.Errorf("graph client: %w", err)
	}
	adapter.SetBaseUrl(base)
	profiles := opp.NewOnPremisesPublishingProfilesRequestBuilderInternal(map[string]string{}, adapter)
	return &Client{
		cfg:     cfg,
		base:    base,
		origin:  origin(u),
		adapter: adapter,
		profile: profiles.ByOnPremisesPublishingProfileId("applicationProxy"),
		who:     who,
		query:   &queryOptions{},
		reads:   &readStats{},
		batch:   bt,
	}, nil
}

// BatchSize is the most requests the client puts in one $batch (1: none).
func (c *Client) BatchSize() int { return c.cfg.BatchSize }

// ReadConcurrency is the requests (batches) the snapshot keeps in flight.
func (c *Client) ReadConcurrency() int { return c.cfg.ReadConcurrency }

// BatchStats says how many batches and batched requests went out, and
// whether batching was turned off.
func (c *Client) BatchStats() BatchStats { return c.batch.Stats() }

// Operator names who signed in (a UPN, or an app), as far as the token
// says; "" before the first request or when the token is opaque.
func (c *Client) Operator() string { return c.who.String() }

// Identity is what the first token said about whom it was issued to. seen
// is false before a token was issued (the sign-in has not happened, or
// failed); readable is false for an opaque token.
func (c *Client) Identity() (cl claims.Claims, seen, readable bool) {
	c.who.mu.Lock()
	defer c.who.mu.Unlock()
	return c.who.claims, c.who.seen, c.who.read
}

// GraphURL is the base URL the client talks to.
func (c *Client) GraphURL() string { return c.base }

// newHTTPClient builds the middleware chain explicitly and in a fixed
// order. The SDK's default chain comes from a Go map (random order) and
// contains a retry handler; retrying there as well as in the pacer would
// multiply attempts, and a retry running before compression corrupts
// retried POST bodies (docs/design.md). Order, outermost first:
//
//	clientRequestID: a fresh GUID per request, recorded for the report
//	user agent
//	parameter-name decoding (%24top → $top, as the SDK sends them)
//	compression (gzip request bodies of 1 KiB or more, pooled writers; a 415
//	  resends once plain)
//	recorder: status and trace headers of the answer, for the caller
func newHTTPClient(cfg Config) *http.Client {
	transport := cfg.Transport
	if transport == nil {
		transport = defaultTransport()
	}
	ua := khttp.NewUserAgentHandlerOptions()
	ua.ProductName = "connrecon"
	chain := []khttp.Middleware{
		clientRequestIDHandler{},
		khttp.NewUserAgentHandlerWithOptions(ua),
		khttp.NewParametersNameDecodingHandler(),
		gzipHandler{minSize: gzipMinSize},
		recorderHandler{},
		bodyLimitHandler{max: maxAnswerSize},
	}
	return &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(transport, chain...),
		Timeout:   cfg.Timeout,
		// Graph does not redirect these calls; a redirect would be a
		// misconfigured URL, and following it could carry the token away.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// defaultTransport is a clone of Go's default transport that keeps a
// connection per worker: Go keeps two idle ones per host by default, so
// 16 workers would reconnect on most requests.
func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.ForceAttemptHTTP2 = true
	return t
}

// recorder collects what one request's answer said about itself.
type recorder struct {
	mu              sync.Mutex
	status          int
	requestID       string
	clientRequestID string
	retryAfter      string
	batchRequestID  string // the $batch that carried the request, if one did
	location        string // a redirect's target
	contentType     string
	// token is the bearer token the request carried, whatever signed in:
	// errors mask it should an answer echo it (see Client.secrets).
	token string
}

type recorderKey struct{}

func withRecorder(ctx context.Context) (context.Context, *recorder) {
	r := &recorder{}
	return context.WithValue(ctx, recorderKey{}, r), r
}

func recorderFrom(ctx context.Context) *recorder {
	r, _ := ctx.Value(recorderKey{}).(*recorder)
	return r
}

type clientRequestIDHandler struct{}

func (clientRequestIDHandler) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	id := uuid.NewString()
	req.Header.Set("client-request-id", id)
	if r := recorderFrom(req.Context()); r != nil {
		r.mu.Lock()
		r.clientRequestID = id
		r.mu.Unlock()
	}
	return p.Next(req, i)
}

type recorderHandler struct{}

func (recorderHandler) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	r := recorderFrom(req.Context())
	if r == nil {
		return resp, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		r.token = strings.TrimSpace(tok)
	}
	if resp != nil {
		r.status = resp.StatusCode
		r.requestID = resp.Header.Get("request-id")
		if id := resp.Header.Get("client-request-id"); id != "" {
			r.clientRequestID = id
		}
		r.retryAfter = resp.Header.Get("Retry-After")
		r.location = resp.Header.Get("Location")
		r.contentType = resp.Header.Get("Content-Type")
	}
	return resp, err
}

// maxAnswerSize bounds one answer's body, as read (after the transport
// has undone any gzip): the SDK reads a whole answer into memory, so a
// proxy's endless or huge answer would otherwise exhaust it. A page of 999
// objects is a few megabytes.
const maxAnswerSize = 64 << 20

// errAnswerTooLarge: an answer's body went past maxAnswerSize.
var errAnswerTooLarge = fmt.Errorf("the answer is larger than %d MiB, far beyond any page of Graph's: a proxy in the way?", maxAnswerSize>>20)

// bodyLimitHandler makes reading an answer's body fail past max bytes.
type bodyLimitHandler struct{ max int64 }

func (h bodyLimitHandler) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if resp != nil && resp.Body != nil {
		resp.Body = &limitedBody{rc: resp.Body, left: h.max}
	}
	return resp, err
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly max bytes from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errAnswerTooLarge
		}
		return b.rc.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// errForeignHost: a URL (a nextLink) points away from the Graph host.
var errForeignHost = errors.New("refusing to send the token to another host")

var errorMapping = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// tokenProvider signs requests with a static bearer token.
type tokenProvider struct {
	token string
	host  string
}

func (t tokenProvider) AuthenticateRequest(_ context.Context, req *abs.RequestInformation, _ map[string]any) error {
	u, err := req.GetUri()
	if err != nil {
		return err
	}
	// Never hand the token to a host other than the Graph URL's (a nextLink
	// pointing elsewhere), nor over plain HTTP beyond this machine.
	if !strings.EqualFold(u.Host, t.host) {
		return fmt.Errorf("%w: %s is not the Graph host %s", errForeignHost, u.Host, t.host)
	}
	if u.Scheme != "https" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("refusing to send the token over plain http to %s", u.Host)
	}
	req.Headers.Remove("Authorization") // a retry reuses the request information
	req.Headers.Add("Authorization", "Bearer "+t.token)
	return nil
}

var _ absauth.AuthenticationProvider = tokenProvider{}

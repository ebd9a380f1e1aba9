package graph

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	kauth "github.com/microsoft/kiota-authentication-azure-go"

	"connrecon/internal/claims"
)

// Sign-in modes (--auth).
const (
	AuthDefault = "default" // azidentity.DefaultAzureCredential
	AuthCLI     = "cli"     // the signed-in Azure CLI account
	AuthDevice  = "device"  // device code, prompt on stderr
	AuthMSI     = "msi"     // managed identity
	AuthToken   = "token"   // a bearer token from CONNRECON_TOKEN
)

// AuthModes lists the accepted --auth values.
var AuthModes = []string{AuthDefault, AuthCLI, AuthDevice, AuthMSI, AuthToken}

// Cloud is a national cloud: its Graph host and its sign-in authority.
type Cloud struct {
	GraphURL  string
	Authority cloud.Configuration
}

// Clouds are the --cloud values. US Gov DoD signs in at the US Gov
// authority but has its own Graph host.
var Clouds = map[string]Cloud{
	"public":   {GraphURL: "https://graph.microsoft.com/beta", Authority: cloud.AzurePublic},
	"usgov":    {GraphURL: "https://graph.microsoft.us/beta", Authority: cloud.AzureGovernment},
	"usgovdod": {GraphURL: "https://dod-graph.microsoft.us/beta", Authority: cloud.AzureGovernment},
	"china":    {GraphURL: "https://microsoftgraph.chinacloudapi.cn/beta", Authority: cloud.AzureChina},
}

// CloudNames lists the --cloud values in order.
func CloudNames() []string {
	names := make([]string, 0, len(Clouds))
	for n := range Clouds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Auth says how to sign in. Token is a secret: it never appears in an
// error message, and String does not print it.
type Auth struct {
	Mode     string
	Token    string              // for AuthToken
	ClientID string              // user-assigned managed identity (AuthMSI) or app registration (AuthDevice)
	Cloud    cloud.Configuration // sign-in authority; zero = public cloud
	Prompt   io.Writer           // where the device code prompt goes (default stderr)
	// Credential, when set, is used instead of the one Mode names (an
	// embedding program, or a test with its own token endpoint).
	Credential azcore.TokenCredential
}

// String names the sign-in without its secret.
func (a Auth) String() string {
	if a.Mode == "" {
		return AuthDefault
	}
	return a.Mode
}

func (a Auth) provider(graph *url.URL, who *identity) (absauth.AuthenticationProvider, error) {
	if a.Mode == AuthToken && a.Credential == nil {
		// An environment file saved with CRLF leaves a \r behind: trim
		// it, and refuse any other control character (never echoing it).
		tok := strings.TrimSpace(a.Token)
		if tok == "" {
			return nil, fmt.Errorf("--auth token: CONNRECON_TOKEN is empty or not set")
		}
		if strings.IndexFunc(tok, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return nil, fmt.Errorf("--auth token: CONNRECON_TOKEN contains a control character (line break?): set it to the token alone")
		}
		a.Token = tok
		who.observe(a.Token)
		return tokenProvider{token: a.Token, host: graph.Host}, nil
	}
	cred := a.Credential
	if cred == nil {
		var err error
		if cred, err = a.credential(); err != nil {
			return nil, fmt.Errorf("sign-in (--auth %s): %w", a, err)
		}
	}
	// The token's audience is the Graph host itself, so national clouds
	// (graph.microsoft.us, microsoftgraph.chinacloudapi.cn) get their own.
	scope := graph.Scheme + "://" + graph.Host + "/.default"
	p, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(observed{cred, who}, []string{scope}, []string{graph.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("sign-in (--auth %s): %w", a, err)
	}
	return p, nil
}

func (a Auth) credential() (azcore.TokenCredential, error) {
	copts := azcore.ClientOptions{Cloud: a.Cloud}
	switch a.Mode {
	case "", AuthDefault:
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: copts})
	case AuthCLI:
		// The CLI signs in to whichever cloud `az cloud set` chose.
		return azidentity.NewAzureCLICredential(nil)
	case AuthDevice:
		w := a.Prompt
		if w == nil {
			w = os.Stderr
		}
		return azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: copts,
			ClientID:      a.ClientID, // empty: the Azure CLI's public client
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				_, err := fmt.Fprintln(w, m.Message)
				return err
			},
		})
	case AuthMSI:
		opts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: copts}
		if a.ClientID != "" {
			opts.ID = azidentity.ClientID(a.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(opts)
	}
	return nil, fmt.Errorf("unknown sign-in %q (want one of %v)", a.Mode, AuthModes)
}

// identity remembers what the first token said about whom it was issued
// to: the operator for the report, the claims for `connrecon check`. The
// token itself is never kept.
type identity struct {
	once   sync.Once
	mu     sync.Mutex
	claims claims.Claims
	seen   bool // a token was issued (its claims may still be unreadable)
	read   bool // the token was a readable JWT
}

// observe reads the token's claims without verifying them: Graph verifies
// the token; this only names the operator in the audit trail.
func (i *identity) observe(token string) {
	i.once.Do(func() {
		c, ok := claims.Parse(token)
		i.mu.Lock()
		i.claims, i.seen, i.read = c, true, ok
		i.mu.Unlock()
	})
}

func (i *identity) String() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.claims.Operator()
}

// observed passes tokens through and notes whose they are.
type observed struct {
	azcore.TokenCredential
	who *identity
}

func (o observed) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := o.TokenCredential.GetToken(ctx, opts)
	if err == nil {
		o.who.observe(tok.Token)
	}
	return tok, err
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

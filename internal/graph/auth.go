package graph

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
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

// Auth says how to sign in. Token is a secret: it never appears in an
// error message, and String does not print it.
type Auth struct {
	Mode     string
	Token    string    // for AuthToken
	ClientID string    // user-assigned managed identity, for AuthMSI
	Prompt   io.Writer // where the device code prompt goes (default stderr)
}

// String names the sign-in without its secret.
func (a Auth) String() string {
	if a.Mode == "" {
		return AuthDefault
	}
	return a.Mode
}

func (a Auth) provider(graph *url.URL) (absauth.AuthenticationProvider, error) {
	if a.Mode == AuthToken {
		if a.Token == "" {
			return nil, fmt.Errorf("--auth token: CONNRECON_TOKEN is empty or not set")
		}
		return tokenProvider{token: a.Token, host: graph.Host}, nil
	}
	cred, err := a.credential()
	if err != nil {
		return nil, fmt.Errorf("sign-in (--auth %s): %w", a, err)
	}
	// The token's audience is the Graph host itself, so national clouds
	// (graph.microsoft.us, microsoftgraph.chinacloudapi.cn) get their own.
	scope := graph.Scheme + "://" + graph.Host + "/.default"
	p, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{scope}, []string{graph.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("sign-in (--auth %s): %w", a, err)
	}
	return p, nil
}

func (a Auth) credential() (azcore.TokenCredential, error) {
	switch a.Mode {
	case "", AuthDefault:
		return azidentity.NewDefaultAzureCredential(nil)
	case AuthCLI:
		return azidentity.NewAzureCLICredential(nil)
	case AuthDevice:
		w := a.Prompt
		if w == nil {
			w = os.Stderr
		}
		return azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				_, err := fmt.Fprintln(w, m.Message)
				return err
			},
		})
	case AuthMSI:
		opts := &azidentity.ManagedIdentityCredentialOptions{}
		if a.ClientID != "" {
			opts.ID = azidentity.ClientID(a.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(opts)
	}
	return nil, fmt.Errorf("unknown sign-in %q (want one of %v)", a.Mode, AuthModes)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

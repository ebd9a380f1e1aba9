package reconcile

import (
	"os/exec"
	"strings"
	"testing"
)

// The SDK takes minutes and gigabytes to build: only internal/graph and
// the command that signs in may link it, so that everything else (the
// workflows included) builds and tests in seconds (make test-light).
func TestOnlyGraphAndCmdLinkTheSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "connrecon/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sdk := []string{"github.com/microsoftgraph/", "github.com/microsoft/kiota", "github.com/Azure/azure-sdk-for-go/"}
	allowed := map[string]bool{"connrecon/internal/graph": true, "connrecon/cmd/connrecon": true}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		seen++
		if allowed[pkg] {
			continue
		}
		for _, d := range strings.Fields(deps) {
			for _, s := range sdk {
				if strings.HasPrefix(d, s) {
					t.Errorf("%s depends on %s: only internal/graph and cmd/connrecon may link the SDK", pkg, d)
				}
			}
			if d == "connrecon/internal/graph" {
				t.Errorf("%s imports internal/graph: take a small interface instead", pkg)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("go list listed %d packages: %s", seen, out)
	}
}

package main

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connrecon/internal/graph"
)

// parseGlobals parses args the way dispatch does, without running anything.
func parseGlobals(t *testing.T, env map[string]string, args ...string) (globalOptions, error) {
	t.Helper()
	g := defaultGlobals()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return g, err
	}
	if _, err := setFromEnv(fs, func(k string) string { return env[k] }, givenFlags(fs, nil)); err != nil {
		return g, err
	}
	return g, g.validate()
}

func TestEnvironmentMapsOntoOptions(t *testing.T) {
	env := map[string]string{
		"CONNRECON_GRAPH_URL":        "http://127.0.0.1:9/beta",
		"CONNRECON_CLOUD":            "china",
		"CONNRECON_AUTH":             "msi",
		"CONNRECON_CLIENT_ID":        "mi-client",
		"CONNRECON_LOG_FORMAT":       "json",
		"CONNRECON_NO_PROGRESS":      "1",
		"CONNRECON_LOCK":             "/tmp/x.lock",
		"CONNRECON_BATCH_SIZE":       "5",
		"CONNRECON_READ_CONCURRENCY": "3",
	}
	g, err := parseGlobals(t, env)
	if err != nil {
		t.Fatal(err)
	}
	want := globalOptions{GraphURL: "http://127.0.0.1:9/beta", Cloud: "china", Auth: "msi", ClientID: "mi-client", LogFormat: "json", NoProgress: true, Lock: "/tmp/x.lock", BatchSize: 5, ReadConcurrency: 3}
	if g != want {
		t.Errorf("from the environment: %+v, want %+v", g, want)
	}
	// Flags win over the environment.
	g, err = parseGlobals(t, env, "--graph-url", "http://127.0.0.1:10/beta", "--cloud", "usgov", "--auth", "cli", "--client-id", "other", "--log-format", "text", "--lock", "/tmp/y.lock", "--batch-size", "1", "--read-concurrency", "16")
	if err != nil {
		t.Fatal(err)
	}
	want = globalOptions{GraphURL: "http://127.0.0.1:10/beta", Cloud: "usgov", Auth: "cli", ClientID: "other", LogFormat: "text", NoProgress: true, Lock: "/tmp/y.lock", BatchSize: 1, ReadConcurrency: 16}
	if g != want {
		t.Errorf("flags over the environment: %+v, want %+v", g, want)
	}
	for _, v := range []string{"0", "false", ""} {
		if g, _ := parseGlobals(t, map[string]string{"CONNRECON_NO_PROGRESS": v}); g.NoProgress {
			t.Errorf("CONNRECON_NO_PROGRESS=%q turned progress off", v)
		}
	}
}

func TestCloudSetsGraphURLAndAuthority(t *testing.T) {
	cases := []struct {
		args []string
		url  string
	}{
		{nil, "https://graph.microsoft.com/beta"},
		{[]string{"--cloud", "usgov"}, "https://graph.microsoft.us/beta"},
		{[]string{"--cloud", "usgovdod"}, "https://dod-graph.microsoft.us/beta"},
		{[]string{"--cloud", "china"}, "https://microsoftgraph.chinacloudapi.cn/beta"},
		// An explicit Graph URL (a proxy, the simulator) wins; the cloud
		// still picks the sign-in authority.
		{[]string{"--cloud", "usgov", "--graph-url", "http://127.0.0.1:8080/beta"}, "http://127.0.0.1:8080/beta"},
	}
	for _, tc := range cases {
		g, err := parseGlobals(t, nil, tc.args...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := g.graphURL(); got != tc.url {
			t.Errorf("%v: Graph URL %s, want %s", tc.args, got, tc.url)
		}
		if got, want := graph.Clouds[g.Cloud].Authority, graph.Clouds[g.Cloud].Authority; got.ActiveDirectoryAuthorityHost != want.ActiveDirectoryAuthorityHost || got.ActiveDirectoryAuthorityHost == "" {
			t.Errorf("%v: no authority", tc.args)
		}
	}
	if _, err := parseGlobals(t, nil, "--cloud", "mars"); err == nil || exitCode(err) != exitUsage {
		t.Errorf("--cloud mars: %v, want a usage error", err)
	}
	if _, err := parseGlobals(t, nil, "--log-format", "xml"); err == nil || exitCode(err) != exitUsage {
		t.Errorf("--log-format xml: %v, want a usage error", err)
	}
}

// --batch-size and --read-concurrency: defaults from the graph package,
// out of range a usage error, from the flag or the environment.
func TestTrafficOptions(t *testing.T) {
	g, err := parseGlobals(t, nil)
	if err != nil || g.BatchSize != graph.MaxBatchSize || g.ReadConcurrency != graph.DefaultReadConcurrency {
		t.Fatalf("defaults: %+v, %v", g, err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"--batch-size", "0"}, want: "--batch-size 0: want 1 to 20"},
		{args: []string{"--batch-size", "21"}, want: "--batch-size 21: want 1 to 20"},
		{env: map[string]string{"CONNRECON_BATCH_SIZE": "-1"}, want: "--batch-size -1"},
		{args: []string{"--read-concurrency", "0"}, want: "--read-concurrency 0: want 1 to 64"},
		{env: map[string]string{"CONNRECON_READ_CONCURRENCY": "65"}, want: "--read-concurrency 65"},
	} {
		_, err := parseGlobals(t, tc.env, tc.args...)
		if err == nil || exitCode(err) != exitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want a usage error with %q", tc.args, tc.env, err, tc.want)
		}
	}
}

// Two runs in the same second never share a default report directory.
func TestDefaultReportDirIsPerRun(t *testing.T) {
	at := time.Date(2026, 11, 28, 2, 30, 0, 0, time.UTC)
	a, b := reportDir("", "apply", at, "aaa111"), reportDir("", "apply", at, "bbb222")
	if a == b || a != filepath.Join("connrecon-reports", "20261128T023000Z-apply-aaa111") {
		t.Errorf("default report dirs %q and %q", a, b)
	}
	if got := reportDir("/srv/reports", "apply", at, "aaa111"); got != "/srv/reports" {
		t.Errorf("--report-dir ignored: %q", got)
	}
}

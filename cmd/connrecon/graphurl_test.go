package main

import (
	"archive/zip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connrecon/internal/graphsim"
)

// filesContaining lists the files under dir (the entries of an XLSX
// included: they are compressed) that contain s.
func filesContaining(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), s) {
			found = append(found, path)
		}
		if strings.HasSuffix(path, ".xlsx") {
			zr, err := zip.OpenReader(path)
			if err != nil {
				return err
			}
			defer zr.Close()
			for _, f := range zr.File {
				rc, err := f.Open()
				if err != nil {
					return err
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					return err
				}
				if strings.Contains(string(b), s) {
					found = append(found, path+":"+f.Name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A Graph URL with user information is a usage error, refused before
// anything is sent, and the password (or a user name that may be a
// token) appears in no output and no report.
func TestGraphURLWithUserInformationIsRefused(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	withUser := func(userinfo string) string { return strings.Replace(h.url, "http://", "http://"+userinfo+"@", 1) }
	cases := []struct {
		name string
		env  string // CONNRECON_GRAPH_URL
		args []string
		want string // in stderr
	}{
		{"plan, user and password", "", []string{"plan", "--graph-url", "http://user:secret@127.0.0.1:1/beta"}, `"http://xxxxx@127.0.0.1:1/beta"`},
		{"plan, the simulator's URL", "", []string{"plan", "--graph-url", withUser("user:secret")}, "remove the user information"},
		{"plan, user name only", "", []string{"plan", "--graph-url", withUser("secret")}, "xxxxx@"},
		{"apply", "", []string{"apply", "--yes", "--graph-url", withUser("user:secret")}, "xxxxx@"},
		{"from the environment", withUser("user:secret"), []string{"plan"}, "xxxxx@"},
		{"global flag before the command", "", []string{"--graph-url", withUser("user:secret"), "plan"}, "xxxxx@"},
		{"unparsable", "", []string{"plan", "--graph-url", "http://user:secret@[::1/beta"}, `"http://xxxxx@[::1/beta"`},
		// Not scheme://host: url.Parse gives an opaque or a host-less URL
		// with no user information, yet the password is there.
		{"no slashes (opaque)", "", []string{"plan", "--graph-url", "http:usr:secret@127.0.0.1:18080/beta"}, `"xxxxx@127.0.0.1:18080/beta"`},
		{"no colon", "", []string{"plan", "--graph-url", "https//usr:secret@graph.microsoft.com/beta"}, `"xxxxx@graph.microsoft.com/beta"`},
		{"one slash", "", []string{"plan", "--graph-url", "https:/usr:secret@host/beta"}, `"xxxxx@host/beta"`},
		{"no scheme", "", []string{"plan", "--graph-url", "usr:secret@127.0.0.1:18080/beta"}, `"xxxxx@127.0.0.1:18080/beta"`},
		{"no scheme, apply", "", []string{"apply", "--yes", "--graph-url", "usr:secret@127.0.0.1:18080/beta"}, "remove the user information"},
		{"opaque, from the environment", "http:usr:secret@127.0.0.1:18080/beta", []string{"plan"}, "remove the user information"},
		{"a query after the password", "", []string{"plan", "--graph-url", "http:usr:secret@h/beta?x=1"}, `"xxxxx@h/beta?x=1"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.sim.ResetLog()
			h.env["CONNRECON_GRAPH_URL"] = tc.env
			dir := t.TempDir()
			args := append(tc.args, "-m", sampleMapping, "--report-dir", dir)
			if code := h.run(args...); code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, h.stderr.String())
			}
			if !strings.Contains(h.stderr.String(), tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, h.stderr.String())
			}
			if strings.Contains(h.stdout.String()+h.stderr.String(), "secret") {
				t.Errorf("the secret is in the output:\nstdout: %s\nstderr: %s", h.stdout.String(), h.stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "report.json")); err != nil {
				t.Errorf("no report written: %v", err)
			}
			if f := filesContaining(t, dir, "secret"); len(f) > 0 {
				t.Errorf("the secret is in %v", f)
			}
			if n := len(h.sim.Requests()); n != 0 {
				t.Errorf("%d requests reached Graph", n)
			}
		})
	}
}

// The usage text shows --graph-url's default, which comes from the
// environment: without its password.
func TestUsageDoesNotShowTheGraphURLPassword(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	h.env["CONNRECON_GRAPH_URL"] = "http://user:secret@127.0.0.1:1/beta"
	for _, args := range [][]string{{"plan", "--bogus"}, {"--bogus"}, {"plan", "-h"}, {"--graph-url", "http://u:secret@127.0.0.1:1/beta", "plan", "--bogus"}} {
		code := h.run(args...)
		out := h.stdout.String() + h.stderr.String()
		if !strings.Contains(out, "-graph-url") {
			t.Errorf("%v: no usage text (exit %d):\n%s", args, code, out)
		}
		if strings.Contains(out, "secret") {
			t.Errorf("%v: the password is in the usage text:\n%s", args, out)
		}
	}
}

func TestRedactedURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://graph.microsoft.com/beta", "https://graph.microsoft.com/beta"},
		{"", ""},
		{"http://user:pw@h:1/beta", "http://xxxxx@h:1/beta"},
		{"http://tok@h/beta", "http://xxxxx@h/beta"},
		{"http://u:p@w@h/beta", "http://xxxxx@h/beta"},
		{"http://u:p w@[::1/beta", "http://xxxxx@[::1/beta"},
		// Not scheme://host: everything (after "scheme://") up to the
		// last "@" before any "?" or "#" is masked.
		{"http://[::1/a@b", "http://xxxxx@b"},
		{"http:usr:Pa55word@127.0.0.1:18080/beta", "xxxxx@127.0.0.1:18080/beta"},
		{"https//usr:Pa55word@graph.microsoft.com/beta", "xxxxx@graph.microsoft.com/beta"},
		{"https:/usr:Pa55word@host/beta", "xxxxx@host/beta"},
		{"usr:Pa55word@127.0.0.1:18080/beta", "xxxxx@127.0.0.1:18080/beta"},
		{"usr:Pa55w@rd@h/beta?a=b@c#d@e", "xxxxx@h/beta?a=b@c#d@e"},
		{"http:h/beta", "http:h/beta"},
		{"https://h/beta/a@b", "https://h/beta/a@b"}, // scheme://host: an "@" in the path is no user information
	} {
		if got := redactedURL(tc.in); got != tc.want {
			t.Errorf("redactedURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

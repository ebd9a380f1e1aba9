package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connrecon/internal/graphsim"
)

// breakSheet writes a copy of the sample workbook whose sheet XML has an
// unescaped & in row 8, as a naive generator writes it.
func breakSheet(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../samples/mapping.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == "xl/worksheets/sheet1.xml" {
			broken := bytes.Replace(content, []byte(`<row r="8"><c r="A8" t="s"><v>20</v>`), []byte(`<row r="8"><c r="A8" t="str"><v>R&D</v>`), 1)
			if bytes.Equal(broken, content) {
				t.Fatal("the sample workbook changed: row 8 not found")
			}
			content = broken
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "broken.xlsx")
	if err := os.WriteFile(p, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrokenWorkbookMovesNothing: a workbook whose sheet does not parse to
// its end is a refused file (exit 4) for validate, plan and apply, even
// with --unlisted default, which before moved every connector the
// truncated mapping no longer named to the default group.
func TestBrokenWorkbookMovesNothing(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	m := breakSheet(t)
	for _, args := range [][]string{
		{"validate", "-m", m},
		{"plan", "-m", m, "--report-dir", t.TempDir(), "--unlisted", "default"},
		{"apply", "-m", m, "--report-dir", t.TempDir(), "--unlisted", "default", "--max-changes", "0", "--yes"},
	} {
		if code := h.run(args...); code != exitInvalid {
			t.Fatalf("%s: exit %d, want 4; stdout:\n%s\nstderr:\n%s", args[0], code, &h.stdout, &h.stderr)
		}
		if out := h.stdout.String() + h.stderr.String(); !strings.Contains(out, "xl/worksheets/sheet1.xml") || !strings.Contains(out, "row 8") {
			t.Errorf("%s does not name the part and row that broke:\n%s%s", args[0], &h.stdout, &h.stderr)
		}
	}
	if n := len(h.posts()); n != 0 {
		t.Fatalf("%d POSTs for a broken mapping", n)
	}
}

// TestMappingFileCannotBeUsed: one exit code (4) whatever makes the file
// unusable: missing, a directory, a named pipe (which hung validate and
// plan for ever when nothing wrote to it).
func TestMappingFileCannotBeUsed(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := t.TempDir()
	fifo := filepath.Join(dir, "mapping.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes: %v", err)
	}
	for _, tt := range []struct{ name, path, says string }{
		{"missing", filepath.Join(dir, "nope.csv"), "no such file"},
		{"directory", dir, "is a directory"},
		{"named pipe", fifo, "not a regular file"},
	} {
		for _, cmd := range []string{"validate", "plan"} {
			t.Run(tt.name+"/"+cmd, func(t *testing.T) {
				args := []string{cmd, "-m", tt.path}
				if cmd == "plan" {
					args = append(args, "--report-dir", t.TempDir())
				}
				done := make(chan int, 1)
				go func() { done <- h.run(args...) }()
				select {
				case code := <-done:
					if code != exitInvalid || !strings.Contains(h.stderr.String(), tt.says) {
						t.Fatalf("exit %d, want 4 saying %q; stderr:\n%s", code, tt.says, &h.stderr)
					}
				case <-time.After(20 * time.Second): // a guard against the old hang, not a timing
					t.Fatal("still waiting on the mapping")
				}
			})
		}
	}
}

// TestMappingFromStdin: -m - reads the mapping from standard input, and
// refuses a terminal.
func TestMappingFromStdin(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	data, err := os.ReadFile(sampleMapping)
	if err != nil {
		t.Fatal(err)
	}
	h.stdin = string(data)
	dir := t.TempDir()
	if code := h.run("plan", "-m", "-", "--report-dir", dir, "--detailed-exitcode"); code != exitChanges {
		t.Fatalf("plan -m - exit %d, want 2; stderr:\n%s", code, &h.stderr)
	}
	if rep := readReport(t, dir); rep.Mapping.Path != "stdin" || rep.Summary.Move != 5 {
		t.Errorf("report: mapping %+v, summary %+v", rep.Mapping, rep.Summary)
	}
	h.tty = true
	if code := h.run("validate", "-m", "-"); code != exitUsage || !strings.Contains(h.stderr.String(), "terminal") {
		t.Errorf("-m - on a terminal: exit %d, stderr %s", code, &h.stderr)
	}
}

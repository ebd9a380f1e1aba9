package privfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A write that fails part-way (here: the disk is "full" after a few bytes)
// leaves neither a temporary file nor a truncated file, and an earlier
// file at the path stays whole.
func TestWriteFailureMidway(t *testing.T) {
	for _, earlier := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "report.json")
		if earlier {
			if err := os.WriteFile(path, []byte("earlier"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		errFull := errors.New("no space left on device")
		err := Write(path, func(w io.Writer) error {
			if _, err := io.WriteString(w, `{"tool": "conn`); err != nil {
				return err
			}
			return errFull
		})
		if !errors.Is(err, errFull) || !strings.Contains(err.Error(), "report.json") {
			t.Fatalf("Write = %v, want the cause wrapped with the file name", err)
		}
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		want := 0
		if earlier {
			want = 1
			if b, _ := os.ReadFile(path); string(b) != "earlier" {
				t.Errorf("earlier file now holds %q", b)
			}
		}
		if len(names) != want {
			t.Errorf("directory holds %v, want %d file(s)", names, want)
		}
	}
}

// The file is the owner's only, whatever the umask, and replaces an
// earlier one.
func TestWriteMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backout.csv")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != Mode {
		t.Errorf("mode %v, want %v", st.Mode().Perm(), os.FileMode(Mode))
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("file holds %q, want new", b)
	}
}

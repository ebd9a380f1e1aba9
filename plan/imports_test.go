package plan

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// forbiddenImports are the file-format packages: reading mapping files is
// internal/mapping's job, and plan stays the pure planner. An import path
// is forbidden if it is one of these or below one.
var forbiddenImports = []string{
	"github.com/xuri/excelize",
	"archive/zip",
	"encoding/csv",
	"encoding/xml",
	"unicode/utf16",
	"golang.org/x/text",
	"connrecon/internal/mapping",
}

// forbiddenImport returns the entry of forbiddenImports that path is or is
// below, or "".
func forbiddenImport(path string) string {
	for _, f := range forbiddenImports {
		if path == f || strings.HasPrefix(path, f+"/") {
			return f
		}
	}
	return ""
}

func TestForbiddenImport(t *testing.T) {
	tests := []struct {
		path, want string
	}{
		{"github.com/xuri/excelize/v2", "github.com/xuri/excelize"},
		{"archive/zip", "archive/zip"},
		{"encoding/csv", "encoding/csv"},
		{"encoding/xml", "encoding/xml"},
		{"unicode/utf16", "unicode/utf16"},
		{"golang.org/x/text/encoding/charmap", "golang.org/x/text"},
		{"connrecon/internal/mapping", "connrecon/internal/mapping"},
		{"encoding/json", ""},
		{"unicode/utf8", ""},
		{"archive/zipper", ""},
		{"connrecon/internal/safetext", ""},
	}
	for _, tt := range tests {
		if got := forbiddenImport(tt.path); got != tt.want {
			t.Errorf("forbiddenImport(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestNoFileFormatImports: no non-test file of plan imports a file-format
// package (forbiddenImports).
func TestNoFileFormatImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatalf("%s: import %s: %v", name, imp.Path.Value, err)
			}
			if forbiddenImport(path) != "" {
				t.Errorf("%s imports %s: plan is the pure planner; reading files belongs in internal/mapping", fset.Position(imp.Pos()), path)
			}
		}
	}
	// A wrong directory or pattern would check nothing and pass.
	if checked == 0 {
		t.Fatal("no non-test .go files found in plan")
	}
}

package mapping

import (
	"bytes"
	"errors"
	"testing"
)

// BlankUnwritable empties exactly the cells a workbook cannot hold, leaves
// the caller's rows as they were, and the result is a workbook that can
// be written; without it the workbook is refused.
func TestBlankUnwritable(t *testing.T) {
	rows := [][]string{{"ok", "bell\x07"}, {"fine", "also fine\n"}, {"nul\x00", ""}}
	sheets := []Sheet{{Name: "A", Table: Table{Header: []string{"connector", "group"}, Rows: rows}}}
	if err := WriteWorkbook(&bytes.Buffer{}, sheets); !errors.Is(err, ErrUnwritable) {
		t.Fatalf("WriteWorkbook with a control character: %v, want ErrUnwritable", err)
	}
	if n := BlankUnwritable(sheets); n != 2 {
		t.Errorf("blanked %d, want 2", n)
	}
	got := sheets[0].Rows
	if got[0][1] != "" || got[2][0] != "" || got[0][0] != "ok" || got[1][1] != "also fine\n" {
		t.Errorf("rows %q", got)
	}
	if rows[0][1] != "bell\x07" || rows[2][0] != "nul\x00" {
		t.Errorf("the caller's rows changed: %q", rows)
	}
	if err := WriteWorkbook(&bytes.Buffer{}, sheets); err != nil {
		t.Errorf("WriteWorkbook after: %v", err)
	}
}

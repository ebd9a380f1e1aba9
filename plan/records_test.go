package plan

import "testing"

func TestProblemFormat(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Line: 3, Column: "B", Severity: SeverityError, Message: "bad"}, "m.csv:3:B: bad"},
		{Problem{Line: 12, Column: "AA", Severity: SeverityWarning, Message: "twice"}, "m.csv:12:AA: warning: twice"},
		{Problem{Line: 1, Severity: SeverityError, Message: "no header"}, "m.csv:1: no header"},
		{Problem{Message: "unreadable"}, "m.csv: unreadable"},
	}
	for _, tt := range tests {
		if got := tt.p.Format("m.csv"); got != tt.want {
			t.Errorf("%+v.Format = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestIsGUID(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"c0000000-0000-4000-8000-000000000001", true},
		{"C0000000-0000-4000-8000-00000000000A", true},
		{"{c0000000-0000-4000-8000-000000000001}", true},
		{"{c0000000-0000-4000-8000-000000000001", false},
		{"c0000000-0000-4000-8000-000000000001}", false},
		{"c0000000000040008000000000000001", false},
		{"1234-5678-9abc-def0", false},
		{"g0000000-0000-4000-8000-000000000001", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsGUID(tt.s); got != tt.want {
			t.Errorf("IsGUID(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
	if got := NormalizeGUID("{C0000000-0000-4000-8000-00000000000A}"); got != "c0000000-0000-4000-8000-00000000000a" {
		t.Errorf("NormalizeGUID = %q", got)
	}
}

func TestColumnName(t *testing.T) {
	tests := []struct {
		i    int
		want string
	}{{-1, ""}, {0, "A"}, {1, "B"}, {25, "Z"}, {26, "AA"}, {27, "AB"}, {51, "AZ"}, {52, "BA"}, {701, "ZZ"}, {702, "AAA"}}
	for _, tt := range tests {
		if got := ColumnName(tt.i); got != tt.want {
			t.Errorf("ColumnName(%d) = %q, want %q", tt.i, got, tt.want)
		}
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"connrecon/internal/graphsim"
)

// snapshotDir reads every file of dir (not following links): name →
// content, or "-> target" for a link.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Type()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[e.Name()] = "-> " + target
		case e.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = string(data)
		default:
			out[e.Name()] = e.Type().String()
		}
	}
	return out
}

func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// A second run into a --report-dir that holds a report refuses (64),
// naming the earlier run, and leaves every file as it was: an apply's
// audit trail is never replaced by a later plan's.
func TestReportDirRefusesEarlierReport(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := t.TempDir()
	if code := h.run("apply", "-m", sampleMapping, "--report-dir", dir, "--yes"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, &h.stderr)
	}
	before := snapshotDir(t, dir)
	if _, ok := before["journal.jsonl"]; !ok {
		t.Fatalf("apply left no journal: %v", names(before))
	}
	h.sim.ResetLog()
	for _, args := range [][]string{
		{"plan", "-m", sampleMapping, "--report-dir", dir},
		{"apply", "-m", sampleMapping, "--report-dir", dir, "--yes"},
		{"plan", "-m", sampleMapping, "--report-dir", dir, "--report-format", "md"},
	} {
		if code := h.run(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 64\n%s", args, code, &h.stderr)
		}
		msg := h.stderr.String()
		for _, want := range []string{"--report-dir " + dir + " already holds", "an earlier run (apply, started ", "outcome success",
			"report.json, report.csv, report.xlsx, report.md, report.html, journal.jsonl", "--overwrite"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%v: message lacks %q:\n%s", args, want, msg)
			}
		}
		if h.stdout.Len() != 0 {
			t.Errorf("%v: a refused run printed a plan:\n%s", args, &h.stdout)
		}
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("refused runs sent %d requests", n)
	}
	after := snapshotDir(t, dir)
	if len(after) != len(before) {
		t.Errorf("files before %v, after %v", names(before), names(after))
	}
	for name, data := range before {
		if after[name] != data {
			t.Errorf("%s changed", name)
		}
	}
}

// --overwrite (or CONNRECON_OVERWRITE) replaces the earlier run's files:
// all of them, so the directory never mixes two runs, and the journal
// starts afresh rather than this run's moves being appended to the old
// run's lines.
func TestReportDirOverwrite(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := t.TempDir()
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", dir); code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, &h.stderr)
	}
	first := snapshotDir(t, dir)
	// An earlier apply's journal, as a killed apply leaves it.
	oldLine := `{"row":99,"connectorId":"from-an-earlier-run","outcome":"succeeded"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "journal.jsonl"), []byte(oldLine), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := h.run("apply", "-m", sampleMapping, "--report-dir", dir, "--yes", "--overwrite", "--report-format", "json"); code != exitOK {
		t.Fatalf("apply --overwrite: exit %d\n%s", code, &h.stderr)
	}
	if !strings.Contains(h.stderr.String(), "deleted the earlier run's reports and journal (--overwrite)") {
		t.Errorf("no word of the deletion:\n%s", &h.stderr)
	}
	after := snapshotDir(t, dir)
	for _, gone := range []string{"report.csv", "report.xlsx", "report.md"} {
		if _, ok := after[gone]; ok {
			t.Errorf("the earlier run's %s is still there beside the new report.json", gone)
		}
	}
	if after["report.json"] == first["report.json"] || !strings.Contains(after["report.json"], `"mode": "apply"`) {
		t.Error("report.json was not replaced by the apply's")
	}
	journal := after["journal.jsonl"]
	if strings.Contains(journal, "from-an-earlier-run") || strings.Count(journal, "\n") != 5 {
		t.Errorf("journal holds the earlier run's line, or not just this run's 5 moves:\n%s", journal)
	}

	h.env["CONNRECON_OVERWRITE"] = "1"
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", dir); code != exitOK {
		t.Fatalf("CONNRECON_OVERWRITE=1: exit %d\n%s", code, &h.stderr)
	}
	// The flag wins over the environment, as for every option.
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", dir, "--overwrite=false"); code != exitUsage {
		t.Errorf("--overwrite=false under CONNRECON_OVERWRITE=1: exit %d, want 64", code)
	}
}

// A journal alone is an apply killed before its report: still an audit
// trail, refused the same way. An earlier plan -o file goes, as whenever
// tonight's plan cannot be made: apply --plan must not take yesterday's.
func TestReportDirRefusesLoneJournal(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "journal.jsonl"), []byte(`{"row":2}`+"\n"), 0o600)
	saved := filepath.Join(t.TempDir(), "plan.json")
	os.WriteFile(saved, []byte("yesterday's plan"), 0o600)
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", dir, "-o", saved); code != exitUsage {
		t.Fatalf("exit %d, want 64", code)
	}
	if !strings.Contains(h.stderr.String(), "the files of an earlier run (journal.jsonl)") {
		t.Errorf("message: %s", &h.stderr)
	}
	if _, err := os.Stat(saved); !os.IsNotExist(err) {
		t.Errorf("the earlier plan file is still there (%v)", err)
	}
}

// What names the earlier run is read from a file anyone may have put
// there: it is read without following links or waiting on a pipe, at most
// reportHeadLimit bytes, and shown escaped.
func TestReportDirEarlierReportIsUntrusted(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "elsewhere.json")
	os.WriteFile(outside, []byte(`{"mode":"apply","startedAt":"2026-01-01T00:00:00Z","outcome":"success"}`), 0o600)
	cases := []struct {
		name    string
		plant   func(path string)
		want    string
		notWant string
	}{
		{"hostile fields", func(p string) {
			os.WriteFile(p, []byte(`{"tool":"connrecon","mode":"apply\u202e\u001b[2J","startedAt":"2026-11-28T02:30:00+01:00","outcome":"success"}`), 0o600)
		}, `apply\u202e\x1b[2J, started 2026-11-28T01:30:00Z, outcome success`, "\x1b"},
		{"a huge message first", func(p string) {
			os.WriteFile(p, []byte(`{"message":"`+strings.Repeat("x", 10<<20)+`","mode":"apply"}`), 0o600)
		}, "report.json does not say which run", strings.Repeat("x", 1000)},
		{"not JSON", func(p string) { os.WriteFile(p, []byte("\x00\x01garbage"), 0o600) },
			"report.json unreadable: not a connrecon report", "\x00"},
		{"a symbolic link", func(p string) { os.Symlink(outside, p) },
			"report.json unreadable: a symbolic link", "2026-01-01"},
		{"a named pipe", func(p string) { syscall.Mkfifo(p, 0o600) },
			"report.json unreadable: not a regular file", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, graphsim.Options{})
			dir := t.TempDir()
			tc.plant(filepath.Join(dir, "report.json"))
			if code := h.run("plan", "-m", sampleMapping, "--report-dir", dir); code != exitUsage {
				t.Fatalf("exit %d, want 64\n%s", code, &h.stderr)
			}
			msg := h.stderr.String()
			if !strings.Contains(msg, tc.want) || (tc.notWant != "" && strings.Contains(msg, tc.notWant)) {
				t.Errorf("message (want %q):\n%.2000s", tc.want, msg)
			}
			if len(msg) > 8<<10 {
				t.Errorf("a %d-byte message", len(msg))
			}
		})
	}
	if data, _ := os.ReadFile(outside); !bytes.Contains(data, []byte(`"outcome":"success"`)) {
		t.Error("the link's target changed")
	}
}

// A temporary report a killed run left behind (.report.xlsx.123) is
// removed by the next run into the directory; a link with such a name is
// neither followed nor removed, and other files stay.
func TestReportDirRemovesStaleTemporaries(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(target, []byte("keep me"), 0o600)
	for name, data := range map[string]string{
		".report.xlsx.123":        "half a workbook",
		".report.json.4294967295": "{",
		".report.xlsx.12a":        "not CreateTemp's",
		"notes.txt":               "the operator's",
		".report.csv.":            "no digits",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600)
	}
	if err := os.Symlink(target, filepath.Join(dir, ".report.md.456")); err != nil {
		t.Fatal(err)
	}
	if code := h.run("plan", "-m", sampleMapping, "--report-dir", dir); code != exitOK {
		t.Fatalf("exit %d\n%s", code, &h.stderr)
	}
	after := snapshotDir(t, dir)
	for _, gone := range []string{".report.xlsx.123", ".report.json.4294967295"} {
		if _, ok := after[gone]; ok {
			t.Errorf("%s is still there", gone)
		}
	}
	for _, kept := range []string{".report.xlsx.12a", "notes.txt", ".report.csv.", ".report.md.456", "report.json"} {
		if _, ok := after[kept]; !ok {
			t.Errorf("%s was removed", kept)
		}
	}
	if data, _ := os.ReadFile(target); string(data) != "keep me" {
		t.Errorf("the link's target is now %q", data)
	}
}

// The demo runs again and again into the same directories: it replaces
// its own reports, and its apply journal holds only the latest run.
func TestDemoReplacesItsOwnReports(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := filepath.Join(t.TempDir(), "demo")
	for i := range 2 {
		if code := h.run("demo", "--report-dir", dir); code != exitOK {
			t.Fatalf("demo run %d: exit %d\n%s", i+1, code, &h.stderr)
		}
	}
	if !strings.Contains(h.stdout.String(), "earlier demo reports in "+dir+" are replaced") {
		t.Errorf("the demo does not say it replaces its reports:\n%s", &h.stdout)
	}
	data, err := os.ReadFile(filepath.Join(dir, "apply", "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte("\n")); n != 6 {
		t.Errorf("the demo's journal has %d lines after two runs, want the last run's 6 (5 connectors, 1 application)", n)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/xuri/excelize/v2"

	"connrecon/internal/graphsim"
	"connrecon/internal/reconcile"
	"connrecon/report"
	"connrecon/samples"
)

// hostileNames are machine and group names as an export must carry them:
// every character CSV quotes, line breaks, text a spreadsheet would run
// as a formula, apostrophes the formula escape uses, white space around
// the name, letters outside ASCII, names shaped like ids and spreadsheet
// errors, markup, and a control character a workbook cannot hold.
var hostileNames = []string{
	"a,b%d", `quo"te%d"`, "line\nbreak%d", "crlf\r\nname%d", "ünïcödé-名前-%d", "=cmd|' /C calc'!A%d",
	"+%d", "-%d.host", "@SUM(A%d)", "'=quoted%d", "''%d", " padded%d ", "tab\tname%d", "semi;colon%d",
	"<script>alert(%d)</script>", "bell\x07%d", "ad-01-02-%02d", "#N/A %d", "dup.contoso.com",
}

// hostileTenant is a tenant of n connectors in groups with hostile names:
// a default group, two groups of one name, a syncFabric group with a
// provisioning agent, and applications with hostile names too.
func hostileTenant(n int) *graphsim.Tenant {
	id := func(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i) }
	tn := &graphsim.Tenant{}
	groupNames := append([]string{"Default", "Shared", "Shared"}, hostileNames...)
	for i, pat := range groupNames {
		name := pat
		if strings.Contains(pat, "%") {
			name = fmt.Sprintf(pat, i)
		}
		g := graphsim.Group{ID: id(0xa, i), Name: name, IsDefault: i == 0, Region: []string{"nam", "eur", "japan", ""}[i%4]}
		for a := 0; a < i%3; a++ {
			g.Applications = append(g.Applications, graphsim.Application{ID: id(0xb, i*10+a), AppID: id(0xc, i*10+a),
				DisplayName: fmt.Sprintf(hostileNames[(i+a)%len(hostileNames)], a)})
		}
		tn.Groups = append(tn.Groups, g)
	}
	tn.Groups = append(tn.Groups, graphsim.Group{ID: id(0xa, 999), Name: "Provisioning", ConnectorGroupType: "syncFabric"})
	for i := 0; i < n; i++ {
		pat := hostileNames[i%len(hostileNames)]
		name := pat
		if strings.Contains(pat, "%") {
			name = fmt.Sprintf(pat, i)
		}
		if i%97 == 5 {
			name = id(0xd, i) // a machine name that is a GUID
		}
		status := "active"
		if i%7 == 3 {
			status = "inactive"
		}
		tn.Connectors = append(tn.Connectors, graphsim.Connector{ID: id(0xe, i), MachineName: name, ExternalIP: "203.0.113.7",
			Status: status, Version: "1.5.3437.0", Group: tn.Groups[i%(len(tn.Groups)-1)].ID})
	}
	tn.Connectors = append(tn.Connectors, graphsim.Connector{ID: id(0xe, 99999), MachineName: "agent01.contoso.com", Status: "active", Group: id(0xa, 999)})
	return tn
}

// TestExportRoundTrip: an unedited export of a tenant of 1,000 connectors
// with hostile names, given back to plan -m, plans no move and has no
// invalid row (exit 0 with --detailed-exitcode), as CSV, as a workbook and
// from standard output. The CSV has no cell a spreadsheet would run as a
// formula; the workbook has its three sheets; the files are private.
func TestExportRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connectors through the simulator")
	}
	tn := hostileTenant(1000)
	h := newHarnessFor(t, tn, graphsim.Options{}, nil)
	dir := t.TempDir()
	stdoutCSV := filepath.Join(dir, "stdout.csv")
	for _, out := range []string{"export.csv", "export.xlsx", "-"} {
		path := filepath.Join(dir, out)
		if out == "-" {
			path = "-"
		}
		if code := h.run("export", "-o", path); code != 0 {
			t.Fatalf("export -o %s: exit %d\n%s", out, code, &h.stderr)
		}
		if out == "-" {
			path = stdoutCSV
			if err := os.WriteFile(path, h.stdout.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
		} else {
			if h.stdout.Len() != 0 {
				t.Errorf("export -o %s wrote to standard output: %q", out, h.stdout.String())
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, mode %v; want 0600", out, err, st.Mode().Perm())
			}
		}
		rdir := filepath.Join(dir, "plan-"+out)
		code := h.run("plan", "-m", path, "--detailed-exitcode", "--report-dir", rdir)
		rep := readReport(t, rdir)
		if code != 0 || rep.Summary.Move != 0 || rep.Summary.Invalid != 0 || rep.Summary.Unmanaged != 1 || rep.Summary.Noop != 1000 {
			seen := map[string]bool{}
			for _, a := range rep.Actions {
				key := a.Action + strings.Split(a.Reason, ":")[0]
				if a.Action != "noop" && !seen[key] {
					seen[key] = true
					t.Logf("row %d: %s %q → %q: %s", a.Row, a.Action, a.MappedConnector, a.MappedGroup, a.Reason)
				}
			}
			t.Fatalf("plan -m %s: exit %d, %+v; want exit 0, 1,000 no-ops and the provisioning agent unmanaged\n%s", out, code, rep.Summary, &h.stderr)
		}
	}
	for _, name := range []string{"export.csv", "stdout.csv"} {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
			t.Errorf("%s has no byte order mark: Excel would read it in a code page", name)
		}
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
		recs, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(recs) != 1001 || strings.Join(recs[0], ",") != strings.Join(reconcile.ExportConnectorHeader, ",") {
			t.Fatalf("%s: %d records, header %v", name, len(recs), recs[0])
		}
		for _, rec := range recs {
			for _, c := range rec {
				if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
					t.Errorf("%s: cell %q would be a formula in a spreadsheet", name, c)
				}
			}
		}
	}
	f, err := excelize.OpenFile(filepath.Join(dir, "export.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), ","); got != "Connectors,Groups,Applications" {
		t.Errorf("sheets %s", got)
	}
	apps := 0
	for _, g := range tn.Groups {
		apps += len(g.Applications)
	}
	for sheet, want := range map[string]int{"Connectors": 1001, "Groups": len(tn.Groups) + 1, "Applications": apps + 1} {
		rows, err := f.GetRows(sheet)
		if err != nil || len(rows) != want {
			t.Errorf("sheet %s: %d rows (%v), want %d", sheet, len(rows), err, want)
		}
		panes, err := f.GetPanes(sheet)
		if err != nil || !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("sheet %s: header not frozen (%+v, %v)", sheet, panes, err)
		}
	}
	groups, _ := f.GetRows("Groups")
	if strings.Join(groups[0], ",") != strings.Join(reconcile.ExportGroupHeader, ",") {
		t.Errorf("Groups header %v", groups[0])
	}
}

// snapshotGroups is where each connector of the simulator is now, by id,
// with the default group's id for "".
func snapshotGroups(h *harness) map[string]string {
	st := h.sim.State()
	def := ""
	for _, g := range st.Groups {
		if g.IsDefault && (g.ConnectorGroupType == "" || g.ConnectorGroupType == "applicationProxy") {
			def = g.ID
		}
	}
	out := map[string]string{}
	for _, c := range st.Connectors {
		g := c.Group
		if g == "" {
			g = def
		}
		out[c.ID] = g
	}
	return out
}

func diffGroups(before, after map[string]string) []string {
	var d []string
	for id, g := range before {
		if after[id] != g {
			d = append(d, fmt.Sprintf("%s: %s → %s", id, g, after[id]))
		}
	}
	return d
}

const forward = "connector,group\n" +
	"fra-appproxy-02.contoso.com,EU - Frankfurt\n" +
	"sea-appproxy-03.contoso.com,US - Seattle\n" +
	"stg-appproxy-01.contoso.com,Staging\n" +
	"dmz-appproxy-01.contoso.com,Staging\n"

// TestBackoutRestores: plan and apply write the back-out beside their
// reports and name it in the plan text and every report; applying it puts
// every moved connector back, and a back-out of the workbook plans nothing
// more once that is done.
func TestBackoutRestores(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	before := snapshotGroups(h)
	m := writeFile(t, "forward.csv", forward)
	root := t.TempDir()
	pdir, adir, bdir := filepath.Join(root, "plan"), filepath.Join(root, "apply"), filepath.Join(root, "undo")

	if code := h.run("plan", "-m", m, "--report-dir", pdir); code != 0 {
		t.Fatalf("plan exit %d\n%s", code, &h.stderr)
	}
	pb := filepath.Join(pdir, report.BackoutCSV)
	if !strings.Contains(h.stdout.String(), "Back-out: "+pb) || !strings.Contains(h.stdout.String(), "connrecon apply -m "+pb) {
		t.Errorf("plan text does not name the back-out:\n%s", &h.stdout)
	}
	rep := readReport(t, pdir)
	if rep.Backout != pb || rep.RunID == "" {
		t.Errorf("report.json backout %q, runId %q", rep.Backout, rep.RunID)
	}
	for _, f := range []string{"report.md", "report.xlsx"} {
		if b, _ := os.ReadFile(filepath.Join(pdir, f)); f == "report.md" && !bytes.Contains(b, []byte(report.BackoutCSV)) {
			t.Errorf("%s does not name the back-out", f)
		}
	}
	rcsv, _ := os.ReadFile(filepath.Join(pdir, "report.csv"))
	if !bytes.Contains(rcsv, []byte(",backout,")) || !bytes.Contains(rcsv, []byte("backout.csv:2")) {
		t.Errorf("report.csv does not name each move's back-out row:\n%s", rcsv)
	}

	if code := h.run("apply", "-m", m, "--yes", "--report-dir", adir); code != 0 {
		t.Fatalf("apply exit %d\n%s", code, &h.stderr)
	}
	if d := diffGroups(before, snapshotGroups(h)); len(d) != 4 {
		t.Fatalf("apply moved %v, want 4", d)
	}
	if st, err := os.Stat(filepath.Join(adir, report.BackoutXLSX)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("apply's backout.xlsx: %v", err)
	}
	if code := h.run("apply", "-m", filepath.Join(adir, report.BackoutCSV), "--yes", "--report-dir", bdir); code != 0 {
		t.Fatalf("apply -m backout.csv: exit %d\n%s\n%s", code, &h.stdout, &h.stderr)
	}
	if d := diffGroups(before, snapshotGroups(h)); len(d) != 0 {
		t.Errorf("after the back-out, still moved: %v", d)
	}
	if rep := readReport(t, bdir); rep.Summary.Succeeded != 4 {
		t.Errorf("back-out apply: %+v", rep.Summary)
	}
	// The workbook says the same, and now there is nothing left to undo.
	if code := h.run("plan", "-m", filepath.Join(adir, report.BackoutXLSX), "--detailed-exitcode", "--report-dir", filepath.Join(root, "again")); code != 0 {
		t.Errorf("plan -m backout.xlsx after the back-out: exit %d\n%s", code, &h.stdout)
	}
	// The back-out's own back-out makes the forward moves again.
	if code := h.run("plan", "-m", filepath.Join(bdir, report.BackoutCSV), "--report-dir", filepath.Join(root, "redo")); code != 0 {
		t.Fatalf("plan of the back-out's back-out: exit %d", code)
	}
	if rep := readReport(t, filepath.Join(root, "redo")); rep.Summary.Move != 4 {
		t.Errorf("the back-out of the back-out plans %d moves, want the 4 forward ones", rep.Summary.Move)
	}
}

// failPOSTs answers 403 to every move into group, as a tenant whose policy
// refuses it would.
func failPOSTs(group string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/connectorGroups/"+group+"/") {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("request-id", "fail-0001")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// After a partly failed apply, and after an interrupted one, the back-out
// written before the first move restores whatever did move: the moves
// that did not happen are no-ops in it.
func TestBackoutAfterFailureAndInterruption(t *testing.T) {
	staging := "e0a73486-a875-519c-974c-ef536df684ac"
	t.Run("partly failed", func(t *testing.T) {
		tn, _ := graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
		var failing atomic.Bool
		failing.Store(true)
		fail := failPOSTs(staging)
		h := newHarnessFor(t, tn, graphsim.Options{}, func(next http.Handler) http.Handler {
			failed := fail(next)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if failing.Load() {
					failed.ServeHTTP(w, r)
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		h.env["CONNRECON_BATCH_SIZE"] = "1" // one move per request: the proxy fails or counts requests
		before := snapshotGroups(h)
		dir := filepath.Join(t.TempDir(), "apply")
		if code := h.run("apply", "-m", writeFile(t, "f.csv", forward), "--yes", "--report-dir", dir); code != exitFailure {
			t.Fatalf("apply exit %d, want %d (some moves failed)\n%s", code, exitFailure, &h.stderr)
		}
		if d := diffGroups(before, snapshotGroups(h)); len(d) != 2 {
			t.Fatalf("moved %v, want the 2 moves not into Staging", d)
		}
		failing.Store(false)
		udir := filepath.Join(t.TempDir(), "undo")
		if code := h.run("apply", "-m", filepath.Join(dir, report.BackoutCSV), "--yes", "--report-dir", udir); code != 0 {
			t.Fatalf("back-out exit %d\n%s", code, &h.stderr)
		}
		if d := diffGroups(before, snapshotGroups(h)); len(d) != 0 {
			t.Errorf("after the back-out, still moved: %v", d)
		}
		if rep := readReport(t, udir); rep.Summary.Move != 2 || rep.Summary.Noop != 2 {
			t.Errorf("back-out: %+v, want 2 moves back and 2 no-ops", rep.Summary)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		tn, _ := graphsim.LoadTenant(bytes.NewReader(samples.Tenant))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var posts atomic.Int32
		h := newHarnessFor(t, tn, graphsim.Options{}, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r)
				if r.Method == http.MethodPost && posts.Add(1) == 2 {
					cancel() // as SIGINT would, after the second move
				}
			})
		})
		h.env["CONNRECON_BATCH_SIZE"] = "1" // one move per request: the proxy fails or counts requests
		before := snapshotGroups(h)
		h.ctx = ctx
		dir := filepath.Join(t.TempDir(), "apply")
		if code := h.run("apply", "-m", writeFile(t, "f.csv", forward), "--yes", "--concurrency", "1", "--report-dir", dir); code != exitInterrupted {
			t.Fatalf("apply exit %d, want %d\n%s", code, exitInterrupted, &h.stderr)
		}
		moved := diffGroups(before, snapshotGroups(h))
		if len(moved) < 1 || len(moved) > 3 {
			t.Fatalf("moved %v: want some, not all", moved)
		}
		h.ctx = nil
		if code := h.run("apply", "-m", filepath.Join(dir, report.BackoutXLSX), "--yes", "--report-dir", filepath.Join(t.TempDir(), "undo")); code != 0 {
			t.Fatalf("back-out exit %d\n%s", code, &h.stderr)
		}
		if d := diffGroups(before, snapshotGroups(h)); len(d) != 0 {
			t.Errorf("after the back-out, still moved: %v", d)
		}
	})
}

// TestDrain: --drain moves the listed connectors to the default group
// under the coverage guard, and its back-out undrains them; a drain that
// would leave a group's applications without an active connector is
// refused naming both, with nothing sent.
func TestDrain(t *testing.T) {
	const seattle = "0adaa199-3c35-560b-a898-d2f2f81fe2ab"
	h := newHarness(t, graphsim.Options{})
	before := snapshotGroups(h)
	root := t.TempDir()

	// fra-appproxy-01 is EU - Frankfurt's only connector.
	code := h.run("apply", "--drain", "sea-appproxy-01.contoso.com, fra-appproxy-01.contoso.com", "--yes", "--report-dir", filepath.Join(root, "refused"))
	if code != exitRefused {
		t.Fatalf("drain of a group's last connector: exit %d, want %d\n%s", code, exitRefused, &h.stderr)
	}
	for _, want := range []string{"EU - Frankfurt", "HR Portal", "Payroll"} {
		if !strings.Contains(h.stderr.String(), want) {
			t.Errorf("refusal does not name %q:\n%s", want, &h.stderr)
		}
	}
	if n := len(h.posts()); n != 0 {
		t.Fatalf("%d moves sent by a refused drain", n)
	}

	// Planned and saved, then applied: the runbook's way.
	saved := filepath.Join(root, "drain.json")
	if code := h.run("plan", "--drain", "7fee0a60-7c73-59dc-8c60-02e530696a0a", "-o", saved, "--report-dir", filepath.Join(root, "plan")); code != 0 {
		t.Fatalf("plan --drain: exit %d\n%s", code, &h.stderr)
	}
	if rep := readReport(t, filepath.Join(root, "plan")); rep.Summary.Move != 1 || rep.Summary.Unmanaged != 0 || rep.Mapping.Path != "--drain" {
		t.Errorf("plan --drain: %+v from %q; want 1 move and no other connector in the plan", rep.Summary, rep.Mapping.Path)
	}
	dir := filepath.Join(root, "drain")
	if code := h.run("apply", "--plan", saved, "--yes", "--report-dir", dir); code != 0 {
		t.Fatalf("apply --plan of the drain: exit %d\n%s", code, &h.stderr)
	}
	after := snapshotGroups(h)
	if d := diffGroups(before, after); len(d) != 1 || after["7fee0a60-7c73-59dc-8c60-02e530696a0a"] != "75b5c10a-a3cf-5def-9e0f-4e2f545344f7" {
		t.Fatalf("drain moved %v, want sea-appproxy-01 into Default", d)
	}
	// Undrain.
	if code := h.run("apply", "-m", filepath.Join(dir, report.BackoutCSV), "--yes", "--report-dir", filepath.Join(root, "undrain")); code != 0 {
		t.Fatalf("undrain exit %d\n%s", code, &h.stderr)
	}
	if d := diffGroups(before, snapshotGroups(h)); len(d) != 0 || snapshotGroups(h)["7fee0a60-7c73-59dc-8c60-02e530696a0a"] != seattle {
		t.Errorf("after the undrain: %v", d)
	}

	// A name not in the tenant is an invalid row: nothing moves.
	if code := h.run("apply", "--drain", "sea-appproxy-02.contoso.com,nosuch", "--yes", "--report-dir", filepath.Join(root, "invalid")); code != exitInvalid {
		t.Errorf("drain of an unknown connector: exit %d, want %d", code, exitInvalid)
	}
	if d := diffGroups(before, snapshotGroups(h)); len(d) != 0 {
		t.Errorf("an invalid drain moved %v", d)
	}
}

// --drain's command line: instead of -m or --plan, with no empty item and
// no --unlisted (not even from CONNRECON_UNLISTED, nor as the default) or
// --sheet.
func TestDrainUsage(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	m := writeFile(t, "m.csv", forward)
	for _, tc := range []struct {
		args     []string
		unlisted string // CONNRECON_UNLISTED
		want     string
	}{
		{args: []string{"plan", "--drain", "a", "-m", m}, want: "either -m FILE or --drain LIST"},
		{args: []string{"apply", "--drain", "a", "--plan", "p.json", "--yes"}, want: "either --drain LIST or --plan"},
		{args: []string{"plan", "--drain", "a,,b"}, want: "item 2 of 3 is empty"},
		{args: []string{"plan", "--drain", "a,"}, want: "item 2 of 2 is empty"},
		{args: []string{"plan", "--drain", "a", "--unlisted", "default"}, want: "--unlisted does not apply"},
		// Any --unlisted given, even the default's value.
		{args: []string{"plan", "--drain", "a", "--unlisted", "report"}, want: "--unlisted does not apply"},
		{args: []string{"apply", "--drain", "a", "--yes", "--unlisted=report"}, want: "--unlisted does not apply"},
		{args: []string{"plan", "--drain", "a"}, unlisted: "report", want: "--unlisted does not apply: a drain moves the connectors it lists and no other (options also set from the environment: CONNRECON_AUTH, CONNRECON_GRAPH_URL, CONNRECON_UNLISTED)"},
		{args: []string{"apply", "--drain", "a", "--yes"}, unlisted: "ignore", want: "--unlisted does not apply"},
		{args: []string{"plan", "--drain", "a", "--sheet", "S"}, want: "--sheet is for a mapping file"},
		{args: []string{"export"}, want: "-o FILE is required"},
		{args: []string{"export", "-o", "out.json"}, want: "must end in .csv or .xlsx"},
	} {
		if tc.unlisted != "" {
			h.env["CONNRECON_UNLISTED"] = tc.unlisted
		}
		if code := h.run(tc.args...); code != exitUsage || !strings.Contains(h.stderr.String(), tc.want) {
			t.Errorf("%v (CONNRECON_UNLISTED=%s): exit %d, want %d with %q:\n%s", tc.args, tc.unlisted, code, exitUsage, tc.want, &h.stderr)
		}
		delete(h.env, "CONNRECON_UNLISTED")
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d requests sent by usage errors", n)
	}
}

// --overwrite never deletes the back-out the run is asked to apply.
func TestOverwriteKeepsTheBackoutApplied(t *testing.T) {
	h := newHarness(t, graphsim.Options{})
	dir := filepath.Join(t.TempDir(), "d")
	if code := h.run("apply", "-m", writeFile(t, "f.csv", forward), "--yes", "--report-dir", dir); code != 0 {
		t.Fatalf("apply exit %d", code)
	}
	backout := filepath.Join(dir, report.BackoutCSV)
	if code := h.run("apply", "-m", backout, "--yes", "--report-dir", dir, "--overwrite"); code != exitUsage || !strings.Contains(h.stderr.String(), "another --report-dir") {
		t.Fatalf("exit %d, want %d:\n%s", code, exitUsage, &h.stderr)
	}
	if _, err := os.Stat(backout); err != nil {
		t.Errorf("the back-out is gone: %v", err)
	}
}

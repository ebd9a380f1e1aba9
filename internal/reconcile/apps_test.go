package reconcile

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connrecon/internal/mapping"
	"connrecon/plan"
	"connrecon/report"
)

// appsOf is an application mapping: application cell, group cell, ...
func appsOf(pairs ...string) MappingReader {
	return func() (*plan.Mapping, error) {
		m := &plan.Mapping{Path: "apps.csv", ConnectorHeader: "application", GroupHeader: "connectorGroup", ConnectorColumn: "A", GroupColumn: "B"}
		for i := 0; i+1 < len(pairs); i += 2 {
			m.Rows = append(m.Rows, plan.Row{Line: i/2 + 2, Connector: pairs[i], Group: pairs[i+1]})
		}
		return m, nil
	}
}

// An apply with --apps moves the connector first, then the application
// into the group it made ready; verification reads both; the back-out's
// second file puts the application back.
func TestApplyMovesApplications(t *testing.T) {
	f := newFakeTenant()
	r, out, _ := newRun(t, "apply", f)
	err := r.Apply(context.Background(), ApplyRequest{
		Read: mappingOf("app01", "West"), ReadApps: appsOf("Payroll", "West"), Options: plan.Options{Unlisted: plan.UnlistedIgnore, MinActive: 2},
		Concurrency: 4, Verify: true, VerifyTimeout: time.Second,
	})
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, out)
	}
	if f.groupOf(c1) != gwest || strings.Join(f.moves, " ") != c1+"→"+gwest+" a1→"+gwest {
		t.Errorf("moves %v: want app01 into West, then Payroll", f.moves)
	}
	if !strings.Contains(out.String(), "Verified: 2 of 2") || !strings.Contains(out.String(), "application Payroll") ||
		!strings.Contains(out.String(), "--apps "+filepath.Join(r.ReportDir, report.BackoutAppsCSV)) {
		t.Errorf("output:\n%s", out)
	}
	rep := r.Report(0, "success", "")
	if s := rep.Summary; s.Move != 2 || s.ApplicationMoves != 1 || s.ConnectorMoves != 1 || s.Succeeded != 2 {
		t.Errorf("summary %+v", s)
	}
	b, err := os.ReadFile(filepath.Join(r.ReportDir, report.BackoutAppsCSV))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != "Payroll" || rows[1][2] != "a1" || rows[1][4] != geast {
		t.Errorf("backout-apps.csv %q (%v): want Payroll back into East", rows, err)
	}
}

// With --apps, coverage is the applications': the plan that would leave
// Payroll in a group its connectors have left is refused, naming it, and
// nothing moves.
func TestApplyRefusesAnApplicationLeftBehind(t *testing.T) {
	f := newFakeTenant()
	r, out, _ := newRun(t, "apply", f)
	err := r.Apply(context.Background(), ApplyRequest{
		Read: mappingOf("app03", "West"), ReadApps: appsOf("Payroll", "East"), Options: plan.Options{Unlisted: plan.UnlistedIgnore, MinActive: 1},
		Concurrency: 4,
	})
	var refused *RefusedError
	if !errors.As(err, &refused) || len(f.moves) != 0 || !strings.Contains(out.String(), "Payroll") {
		t.Errorf("err %v, moves %v: want refused with nothing moved\n%s", err, f.moves, out)
	}
}

// A plan with --apps is not saved: apply --plan would not check its
// application moves against the tenant again.
func TestPlanWithAppsIsNotSaved(t *testing.T) {
	r, _, _ := newRun(t, "plan", newFakeTenant())
	saveTo := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(saveTo, []byte("yesterday's plan"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := r.MakePlan(context.Background(), PlanRequest{Read: mappingOf("app01", "West"), ReadApps: appsOf("Payroll", "West"), SaveTo: saveTo})
	if !errors.Is(err, errAppsNotSaved) {
		t.Errorf("err %v, want errAppsNotSaved", err)
	}
	if _, err := os.Stat(saveTo); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("yesterday's plan file stays (%v)", err)
	}
}

// export --apps-o writes an application mapping that plans no move when
// given back unedited, in either format, and one that moves exactly the
// edited row.
func TestExportApplicationsRoundTrip(t *testing.T) {
	for _, name := range []string{"apps.csv", "apps.xlsx"} {
		t.Run(name, func(t *testing.T) {
			f := newFakeTenant()
			for i := range f.groups {
				for j := range f.groups[i].Applications {
					a := &f.groups[i].Applications[j]
					a.ID = fmt.Sprintf("a0000000-0000-4000-8000-00000000000%d", i*2+j)
					a.AppID = fmt.Sprintf("b0000000-0000-4000-8000-00000000000%d", i*2+j)
				}
			}
			r, _, _ := newRun(t, "export", f)
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			if err := r.Export(context.Background(), ExportRequest{Path: filepath.Join(dir, "conns.csv"), AppsPath: path}); err != nil {
				t.Fatal(err)
			}
			apps, err := mapping.Read(path, mapping.Options{Kind: plan.KindApplication})
			if err != nil {
				t.Fatal(err)
			}
			p := plan.BuildWithApps(&plan.Mapping{}, apps, r.State, plan.Options{Unlisted: plan.UnlistedIgnore, MinActive: 1})
			n := 0
			for _, c := range p.Changes {
				if c.IsApplication() {
					n++
					if c.Action != plan.ActionNoop {
						t.Errorf("row %d: %s %s, want a no-op", c.Row, c.Action, c.Reason)
					}
				}
			}
			if n != 2 || apps.ConnectorHeader != "objectId" {
				t.Errorf("%d application rows read (by %q), want 2 by objectId", n, apps.ConnectorHeader)
			}
		})
	}
}

package reconcile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connrecon/executor"
	"connrecon/plan"
)

// guards are the command line's default guards.
var guards = plan.Options{MaxChanges: 50, MinActive: 1}

func TestPlanEndToEnd(t *testing.T) {
	tests := []struct {
		name     string
		mapping  MappingReader
		opts     plan.Options
		detailed bool
		wantErr  func(error) bool
		wantOut  []string
		saved    bool // the plan file is written (and an earlier one replaced)
	}{
		{name: "moves pending, saved", mapping: mappingOf("app01", "East", c2, "West", "app03", "East"), opts: guards,
			wantErr: func(err error) bool { return err == nil }, saved: true,
			wantOut: []string{"app01", "East", "Saved the plan to", "connrecon apply --plan"}},
		{name: "detailed exit code", mapping: mappingOf("app01", "East"), opts: guards, detailed: true,
			wantErr: func(err error) bool { var p *PendingError; return errors.As(err, &p) && p.Moves == 1 }, saved: true},
		{name: "nothing to do", mapping: mappingOf("app03", "East"), opts: guards, detailed: true,
			wantErr: func(err error) bool { return err == nil }, saved: true},
		{name: "invalid row", mapping: mappingOf("app01", "East", "nosuch", "East"), opts: guards,
			wantErr: func(err error) bool { var e *InvalidError; return errors.As(err, &e) && e.Rows == 1 }},
		{name: "refused by max-changes", mapping: mappingOf("app01", "East", "app02", "West"), opts: plan.Options{MaxChanges: 1, MinActive: 1},
			wantErr: func(err error) bool {
				var e *RefusedError
				return errors.As(err, &e) && len(e.Reasons) == 1 && strings.Contains(err.Error(), "refused:")
			}},
		{name: "refused by coverage", mapping: mappingOf("app04", "East"), opts: guards,
			wantErr: func(err error) bool { var e *RefusedError; return errors.As(err, &e) }},
		{name: "unreadable mapping", mapping: func() (*plan.Mapping, error) { return nil, os.ErrPermission }, opts: guards,
			wantErr: func(err error) bool { return errors.Is(err, os.ErrPermission) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, out, _ := newRun(t, "plan", newFakeTenant())
			saveTo := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(saveTo, []byte("yesterday's plan"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := r.MakePlan(context.Background(), PlanRequest{Read: tc.mapping, Options: tc.opts, SaveTo: saveTo, DetailedExitcode: tc.detailed})
			if !tc.wantErr(err) {
				t.Fatalf("Plan: unexpected error %v (%T)", err, err)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			b, rerr := os.ReadFile(saveTo)
			switch {
			case tc.saved && (rerr != nil || !strings.HasPrefix(string(b), "{")):
				t.Errorf("plan not saved: %v %.40q", rerr, b)
			case !tc.saved && !errors.Is(rerr, os.ErrNotExist):
				t.Errorf("a plan that may not be applied left a plan file (%v): cron would apply yesterday's", rerr)
			}
		})
	}
}

func TestApplyEndToEnd(t *testing.T) {
	f := newFakeTenant()
	r, out, _ := newRun(t, "apply", f)
	asked := 0
	err := r.Apply(context.Background(), ApplyRequest{
		Read: mappingOf("app01", "East", c2, "West", "app03", "East"), Options: guards,
		Confirm: func(n int) error { asked = n; return nil }, Concurrency: 4, Verify: true, VerifyTimeout: time.Second,
	})
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, out)
	}
	if asked != 2 {
		t.Errorf("asked to confirm %d moves, want 2", asked)
	}
	if f.groupOf(c1) != geast || f.groupOf(c2) != gwest || f.groupOf(c3) != geast {
		t.Errorf("tenant after apply: moves %v", f.moves)
	}
	for _, w := range []string{"Apply: 2 succeeded, 0 failed, 0 unknown, 0 not attempted.", "Verified: 2 of 2 succeeded moves show in their target groups."} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	jf, err := os.Open(r.Journal)
	if err != nil {
		t.Fatalf("journal: %v", err)
	}
	defer jf.Close()
	entries, err := executor.ReadJournal(jf)
	if err != nil || len(entries) != 2 {
		t.Fatalf("journal: %d entries, %v; want 2", len(entries), err)
	}
	rep := r.Report(0, "success", "")
	if s := rep.Summary; s.Move != 2 || s.Noop != 1 || s.Succeeded != 2 || s.Failed != 0 || rep.Operator != "admin@example.test" {
		t.Errorf("report summary %+v, operator %q", s, rep.Operator)
	}
	for _, a := range rep.Actions {
		if a.Action == string(plan.ActionMove) && (a.Verified == nil || !*a.Verified || a.RequestID == "") {
			t.Errorf("action %+v: want verified with its request-id", a)
		}
	}

	// Run again: the tenant matches, nothing is asked or sent.
	r2, out2, _ := newRun(t, "apply", f)
	err = r2.Apply(context.Background(), ApplyRequest{Read: mappingOf("app01", "East", c2, "West"), Options: guards,
		Confirm: func(int) error { t.Error("asked with nothing to do"); return nil }, Verify: true})
	if err != nil || !strings.Contains(out2.String(), "No changes") || len(f.moves) != 2 {
		t.Errorf("second apply: %v, %d moves sent in all\n%s", err, len(f.moves), out2)
	}
}

func TestApplyOutcomes(t *testing.T) {
	declined := errors.New("apply cancelled: nothing was changed")
	tests := []struct {
		name    string
		setup   func(f *fakeTenant)
		req     ApplyRequest
		check   func(t *testing.T, err error, f *fakeTenant)
		wantOut string
		notOut  string // a line that must not be printed
	}{
		{name: "a move refused", setup: func(f *fakeTenant) { f.refuse[c1] = 404 },
			req: ApplyRequest{Read: mappingOf("app01", "East", "app02", "West"), Verify: true},
			check: func(t *testing.T, err error, f *fakeTenant) {
				var e *IncompleteError
				if !errors.As(err, &e) || e.Failed != 1 || e.Unknown != 0 {
					t.Errorf("err = %v, want 1 failed", err)
				}
				if f.groupOf(c2) != gwest {
					t.Error("the other move was not made")
				}
			}, wantOut: "Apply: 1 succeeded, 1 failed"},
		{name: "not seen by verification", setup: func(f *fakeTenant) { f.hidden[c1] = true },
			req: ApplyRequest{Read: mappingOf("app01", "East"), Verify: true, VerifyTimeout: 50 * time.Millisecond},
			check: func(t *testing.T, err error, f *fakeTenant) {
				var e *IncompleteError
				var uv *executor.UnverifiedError
				if !errors.As(err, &e) || !errors.As(err, &uv) || !strings.Contains(err.Error(), "verified=false") {
					t.Errorf("err = %v, want unverified", err)
				}
			}, wantOut: "Verified: 0 of 1 succeeded move shows in its target group, 1 not seen: check it."},
		{name: "no verification asked", setup: func(f *fakeTenant) { f.hidden[c1] = true },
			req: ApplyRequest{Read: mappingOf("app01", "East")},
			check: func(t *testing.T, err error, f *fakeTenant) {
				if err != nil {
					t.Errorf("err = %v", err)
				}
			}, wantOut: "Apply: 1 succeeded", notOut: "Verified:"},
		{name: "answer lost, settled by read", setup: func(f *fakeTenant) { f.lost[c1] = true },
			req: ApplyRequest{Read: mappingOf("app01", "East", "app02", "West"), Verify: true},
			check: func(t *testing.T, err error, f *fakeTenant) {
				if err != nil {
					t.Errorf("err = %v: a move the tenant shows in place is no failure", err)
				}
			}, wantOut: "After verification: 2 succeeded, 0 failed, 0 unknown, 0 not attempted."},
		{name: "answer lost, not verified", setup: func(f *fakeTenant) { f.lost[c1] = true },
			req: ApplyRequest{Read: mappingOf("app01", "East")},
			check: func(t *testing.T, err error, f *fakeTenant) {
				var e *IncompleteError
				if !errors.As(err, &e) || e.Unknown != 1 || e.Failed != 0 {
					t.Errorf("err = %v, want 1 of unknown fate", err)
				}
			}, wantOut: "Apply: 0 succeeded, 0 failed, 1 unknown, 0 not attempted."},
		{name: "declined", req: ApplyRequest{Read: mappingOf("app01", "East"), Confirm: func(int) error { return declined }},
			check: func(t *testing.T, err error, f *fakeTenant) {
				if !errors.Is(err, declined) || len(f.moves) != 0 {
					t.Errorf("err = %v, moves %v", err, f.moves)
				}
			}, wantOut: "Into \"East\"", notOut: "Apply:"},
		{name: "invalid rows move nothing", req: ApplyRequest{Read: mappingOf("app01", "East", "nosuch", "West")},
			check: func(t *testing.T, err error, f *fakeTenant) {
				var e *InvalidError
				if !errors.As(err, &e) || len(f.moves) != 0 {
					t.Errorf("err = %v, moves %v", err, f.moves)
				}
			}, wantOut: "no connector named \"nosuch\"", notOut: "Apply:"},
		{name: "one at a time", req: ApplyRequest{Read: mappingOf("app01", "East", "app02", "West", "app03", "West"), Concurrency: 1,
			Options: plan.Options{MinActive: 0}},
			check: func(t *testing.T, err error, f *fakeTenant) {
				if err != nil || len(f.moves) != 3 || f.maxFlight != 1 {
					t.Errorf("err = %v, %d moves, at most %d in flight; want 3, 1", err, len(f.moves), f.maxFlight)
				}
			}},
		{name: "several at once", req: ApplyRequest{Read: mappingOf("app01", "East", "app02", "West", "app03", "West"), Concurrency: 3,
			Options: plan.Options{MinActive: 0}},
			check: func(t *testing.T, err error, f *fakeTenant) {
				if err != nil || f.maxFlight < 2 {
					t.Errorf("err = %v, at most %d in flight; want more than 1", err, f.maxFlight)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTenant()
			if tc.setup != nil {
				tc.setup(f)
			}
			r, out, _ := newRun(t, "apply", f)
			if tc.req.Options == (plan.Options{}) {
				tc.req.Options = guards
			}
			err := r.Apply(context.Background(), tc.req)
			tc.check(t, err, f)
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out)
			}
			if tc.notOut != "" && strings.Contains(out.String(), tc.notOut) {
				t.Errorf("output has %q:\n%s", tc.notOut, out)
			}
			if tc.notOut == "Apply:" && r.Journal != "" {
				t.Errorf("a journal (%s) for a run that sent nothing", r.Journal)
			}
		})
	}
}

func TestApplyInterrupted(t *testing.T) {
	f := newFakeTenant()
	f.block = make(chan struct{}) // the first move waits until released
	r, _, _ := newRun(t, "apply", f)
	ctx, cancel := context.WithCancel(context.Background())
	prog := &countingProgress{started: make(chan int, 1)}
	go func() {
		<-prog.started
		time.Sleep(20 * time.Millisecond)
		cancel() // SIGINT: the move in flight may finish, no other is sent
		time.Sleep(20 * time.Millisecond)
		close(f.block)
	}()
	err := r.Apply(ctx, ApplyRequest{Read: mappingOf("app01", "East", "app02", "West", "app03", "West"), Options: plan.Options{},
		Concurrency: 1, Progress: func(n int) Progress { prog.started <- n; return prog }})
	var ie *InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "2 move(s) not attempted") {
		t.Fatalf("err = %v (%T), want an InterruptedError with 2 moves not attempted", err, err)
	}
	if !prog.finished || prog.results != 1 || len(f.moves) != 1 {
		t.Errorf("progress: finished %v, %d results; %d moves made; want finished with the one move", prog.finished, prog.results, len(f.moves))
	}
	rep := r.Report(130, "interrupted", err.Error())
	if s := rep.Summary; s.Succeeded != 1 || s.NotAttempted != 2 || rep.Journal == "" {
		t.Errorf("report summary %+v journal %q", s, rep.Journal)
	}
}

type countingProgress struct {
	started  chan int
	results  int
	finished bool
}

func (p *countingProgress) Result(executor.Result) { p.results++ }
func (p *countingProgress) Finish()                { p.finished = true }

func TestApplySavedPlan(t *testing.T) {
	save := func(t *testing.T, f *fakeTenant) string {
		t.Helper()
		r, _, _ := newRun(t, "plan", f)
		path := filepath.Join(t.TempDir(), "plan.json")
		if err := r.MakePlan(context.Background(), PlanRequest{Read: mappingOf("app01", "East", "app02", "West"), Options: guards, SaveTo: path}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Run("applied as planned", func(t *testing.T) {
		f := newFakeTenant()
		path := save(t, f)
		r, out, _ := newRun(t, "apply", f)
		if err := r.Apply(context.Background(), ApplyRequest{PlanFile: path, Options: guards, Verify: true}); err != nil {
			t.Fatalf("Apply --plan: %v\n%s", err, out)
		}
		if len(f.moves) != 2 || !strings.Contains(out.String(), "Planned again against the tenant") {
			t.Errorf("moves %v\n%s", f.moves, out)
		}
		if r.Mapping == nil || r.Mapping.Path != "mapping.csv" || len(r.Mapping.Rows) != 2 {
			t.Errorf("the report's mapping is not the plan's: %+v", r.Mapping)
		}
	})
	t.Run("tenant moved since", func(t *testing.T) {
		f := newFakeTenant()
		path := save(t, f)
		f.conns[0].GroupID = gwest // someone moved app01 meanwhile
		r, _, _ := newRun(t, "apply", f)
		err := r.Apply(context.Background(), ApplyRequest{PlanFile: path, Options: guards})
		var e *RefusedError
		if !errors.As(err, &e) || len(f.moves) != 0 {
			t.Fatalf("err = %v (%T), moves %v; want refused, nothing moved", err, err, f.moves)
		}
		if r.Plan == nil || !r.Plan.Refused() || r.Plan.Refusals[len(r.Plan.Refusals)-1].Guard != plan.GuardStalePlan {
			t.Errorf("the report would not say why: %+v", r.Plan)
		}
	})
	t.Run("not a plan file", func(t *testing.T) {
		for name, content := range map[string]string{"csv": "connector,group\n", "missing": ""} {
			path := filepath.Join(t.TempDir(), "plan.json")
			if name != "missing" {
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r, _, _ := newRun(t, "apply", newFakeTenant())
			err := r.Apply(context.Background(), ApplyRequest{PlanFile: path, Options: guards})
			var e *PlanFileError
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "apply --plan: ") {
				t.Errorf("%s: err = %v (%T), want a PlanFileError", name, err, err)
			}
		}
	})
}

// A plan whose file cannot be written leaves no earlier plan file behind:
// cron's apply --plan must not apply yesterday's.
func TestPlanSaveFails(t *testing.T) {
	r, _, _ := newRun(t, "plan", newFakeTenant())
	dir := t.TempDir()
	saveTo := filepath.Join(dir, "plan.json")
	// An empty directory where the file goes: the rename onto it fails.
	if err := os.Mkdir(saveTo, 0o700); err != nil {
		t.Fatal(err)
	}
	err := r.MakePlan(context.Background(), PlanRequest{Read: mappingOf("app01", "East"), Options: guards, SaveTo: saveTo})
	if err == nil || !strings.Contains(err.Error(), "save the plan: write "+saveTo) {
		t.Fatalf("err = %v, want the save's failure", err)
	}
	if _, serr := os.Stat(saveTo); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("what stood at the plan's path is still there (%v)", serr)
	}
}

// No journal, no move: apply stops before sending anything.
func TestApplyJournalCannotBeOpened(t *testing.T) {
	f := newFakeTenant()
	r, _, _ := newRun(t, "apply", f)
	r.ReportDir = filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(r.ReportDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := r.Apply(context.Background(), ApplyRequest{Read: mappingOf("app01", "East"), Options: guards})
	if err == nil || len(f.moves) != 0 || r.Journal != "" {
		t.Fatalf("err = %v, %d moves, journal %q: want a failure before any move", err, len(f.moves), r.Journal)
	}
}

// The report says why a run stopped before any move: the invalid rows, or
// the guard and its message.
func TestReportWhenNothingIsApplied(t *testing.T) {
	t.Run("invalid rows", func(t *testing.T) {
		r, _, _ := newRun(t, "apply", newFakeTenant())
		err := r.Apply(context.Background(), ApplyRequest{Read: mappingOf("app01", "East", "nosuch", "West"), Options: guards})
		rep := r.Report(4, "invalidInput", err.Error())
		if rep.Summary.Invalid != 1 || rep.Summary.NotAttempted != 1 || rep.Summary.Succeeded != 0 || rep.Mapping.Rows != 2 {
			t.Errorf("summary %+v mapping %+v", rep.Summary, rep.Mapping)
		}
	})
	t.Run("refused", func(t *testing.T) {
		r, _, _ := newRun(t, "apply", newFakeTenant())
		err := r.Apply(context.Background(), ApplyRequest{Read: mappingOf("app04", "East"), Options: guards})
		rep := r.Report(3, "refused", err.Error())
		if len(rep.Refusals) != 1 || rep.Refusals[0].Guard != plan.GuardCoverage || len(rep.Refusals[0].Groups) != 1 || rep.Refusals[0].Groups[0] != "West" {
			t.Errorf("refusals %+v: want coverage, naming West", rep.Refusals)
		}
		if rep.Summary.NotAttempted != 1 || rep.Journal != "" {
			t.Errorf("summary %+v journal %q", rep.Summary, rep.Journal)
		}
	})
}

// readOnly is a tenant that can be read but not changed.
type readOnly struct{ Reader }

// Plan needs only a Reader; apply refuses one before reading anything.
func TestReadOnlyTenant(t *testing.T) {
	f := newFakeTenant()
	r, _, _ := newRun(t, "plan", f)
	r.Tenant = readOnly{f}
	if err := r.MakePlan(context.Background(), PlanRequest{Read: mappingOf("app01", "East"), Options: guards}); err != nil {
		t.Errorf("plan with a read-only tenant: %v", err)
	}
	r, _, _ = newRun(t, "apply", f)
	r.Tenant = readOnly{f}
	err := r.Apply(context.Background(), ApplyRequest{Read: mappingOf("app01", "East"), Options: guards, Confirm: func(int) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "cannot be changed") || len(f.moves) != 0 {
		t.Errorf("apply with a read-only tenant: %v, moves %v", err, f.moves)
	}
}

// No back-out, no move: apply stops before sending anything, and says so;
// plan fails too, as a plan without its way back is not one to approve.
func TestNoMoveWithoutBackout(t *testing.T) {
	block := func(r *Run) {
		// A directory where backout.csv goes: the rename onto it fails.
		if err := os.MkdirAll(filepath.Join(r.ReportDir, "backout.csv", "x"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	f := newFakeTenant()
	r, _, _ := newRun(t, "apply", f)
	block(r)
	err := r.Apply(context.Background(), ApplyRequest{Read: mappingOf("app01", "East"), Options: guards})
	if err == nil || !strings.Contains(err.Error(), "no move is made without its back-out") || len(f.moves) != 0 || r.Journal != "" || r.Backout != "" {
		t.Fatalf("err = %v, %d moves, journal %q: want a failure before any move", err, len(f.moves), r.Journal)
	}
	r, _, _ = newRun(t, "plan", f)
	block(r)
	if err := r.MakePlan(context.Background(), PlanRequest{Read: mappingOf("app01", "East"), Options: guards}); err == nil || !strings.Contains(err.Error(), "back-out") {
		t.Errorf("plan: err = %v, want the back-out's failure", err)
	}
}

// The back-out is on disk before the first move goes out, naming the run.
func TestBackoutBeforeFirstMove(t *testing.T) {
	f := newFakeTenant()
	r, out, _ := newRun(t, "apply", f)
	r.ID = "run0001"
	var before []byte
	err := r.Apply(context.Background(), ApplyRequest{Read: mappingOf("app01", "East"), Options: guards, Confirm: func(int) error {
		before, _ = os.ReadFile(filepath.Join(r.ReportDir, "backout.csv"))
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(before), "run run0001 (apply started") || len(f.moves) != 1 {
		t.Errorf("back-out before the move: %q; moves %v", before, f.moves)
	}
	if !strings.Contains(out.String(), "Back-out: "+r.Backout) {
		t.Errorf("the plan text does not name the back-out:\n%s", out)
	}
}

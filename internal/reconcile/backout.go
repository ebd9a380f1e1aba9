package reconcile

import (
	"fmt"
	"path/filepath"
	"time"

	"connrecon/internal/safetext"
	"connrecon/plan"
	"connrecon/report"
)

// writeBackout writes the plan's back-out beside the reports and says so
// under the plan: the mapping that puts every connector the plan moves
// back into the group it was read in.
func (r *Run) writeBackout() error {
	u := report.Undoes{RunID: r.ID, Mode: r.Mode, StartedAt: r.Started.UTC().Format(time.RFC3339), ReportDir: r.ReportDir}
	if r.Mapping != nil {
		u.Mapping = r.Mapping.Path
	}
	path, err := report.WriteBackout(r.ReportDir, r.Plan, u)
	if err != nil {
		return err
	}
	r.Backout = path
	n := r.Plan.Summary().Move
	if n == 0 {
		fmt.Fprintf(r.Out, "\nBack-out: %s (and %s): nothing to undo, as the plan moves nothing.\n", safetext.Value(path), report.BackoutXLSX)
		return nil
	}
	sum := r.Plan.Summary()
	apps := 0
	for _, c := range r.Plan.Changes {
		if c.Action == plan.ActionMove && c.IsApplication() {
			apps++
		}
	}
	if apps == 0 {
		fmt.Fprintf(r.Out, "\nBack-out: %s (and %s) puts the %d connector(s) this plan moves back into the groups they are in now. To undo:\n  connrecon apply -m %s\n",
			safetext.Value(path), report.BackoutXLSX, n, safetext.Value(path))
		return nil
	}
	appsPath := filepath.Join(filepath.Dir(path), report.BackoutAppsCSV)
	fmt.Fprintf(r.Out, "\nBack-out: %s and %s (and %s) put the %d connector(s) and %d application(s) this plan moves back into the groups they are in now. To undo:\n  connrecon apply -m %s --apps %s\n",
		safetext.Value(path), safetext.Value(appsPath), report.BackoutXLSX, sum.Move-apps, apps, safetext.Value(path), safetext.Value(appsPath))
	return nil
}

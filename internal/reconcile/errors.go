package reconcile

import (
	"context"
	"fmt"
	"strings"
)

// InvalidError: the mapping has rows that cannot be used. Nothing is
// applied; the report lists each row and why.
type InvalidError struct{ Rows int }

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%d invalid mapping row(s): nothing is applied; fix them (see the report) and run again", e.Rows)
}

// RefusedError: a safety guard refused the plan, or a saved plan no longer
// fits the tenant (stale, altered, contradicted). Nothing is applied.
type RefusedError struct {
	Reasons []string // the guards' messages, when guards refused
	Err     error    // the saved plan's check, when that refused
}

func (e *RefusedError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "refused: " + strings.Join(e.Reasons, "; ")
}

func (e *RefusedError) Unwrap() error { return e.Err }

// PendingError: plan --detailed-exitcode found moves to make.
type PendingError struct{ Moves int }

func (e *PendingError) Error() string { return fmt.Sprintf("%d move(s) pending", e.Moves) }

// PlanFileError: --plan names something that is not a plan file this
// version can read (missing, not a regular file, not a plan). The
// command line was wrong, not the tenant.
type PlanFileError struct{ Err error }

func (e *PlanFileError) Error() string { return "apply --plan: " + e.Err.Error() }
func (e *PlanFileError) Unwrap() error { return e.Err }

// IncompleteError: apply ran to its end, and some moves did not end in
// their group as planned (failed, held back, or of unknown fate), or
// verification did not see them there.
type IncompleteError struct {
	Failed, HeldBack, Unknown int
	Err                       error // verification's error, when it is the cause
}

func (e *IncompleteError) Error() string {
	var problems []string
	if e.Failed > 0 {
		problems = append(problems, fmt.Sprintf("%d move(s) failed", e.Failed))
	}
	if e.HeldBack > 0 {
		problems = append(problems, fmt.Sprintf("%d move(s) held back", e.HeldBack))
	}
	if e.Unknown > 0 {
		problems = append(problems, fmt.Sprintf("%d move(s) of unknown fate (an answer was lost and no read settled it: check those connectors, a rerun converges)", e.Unknown))
	}
	if len(problems) == 0 && e.Err != nil {
		return fmt.Sprintf("verification: %v (see verified=false in the report; check those connectors)", e.Err)
	}
	return strings.Join(problems, ", ") + ": see the report for each error and its request-id"
}

func (e *IncompleteError) Unwrap() error { return e.Err }

// InterruptedError: the run was stopped (SIGINT, SIGTERM) part way; it
// says how far it got. It matches context.Canceled.
type InterruptedError struct{ What string }

func (e *InterruptedError) Error() string        { return e.What }
func (e *InterruptedError) Is(target error) bool { return target == context.Canceled }

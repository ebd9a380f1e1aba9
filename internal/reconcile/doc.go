// Package reconcile owns the workflows: plan (MakePlan: read the mapping and the
// tenant, show and save the moves) and apply (plan, or check a saved plan
// again, then move, journal and verify). It takes the tenant and the
// mapping reader as small interfaces and returns typed errors
// (InvalidError, RefusedError, PendingError, PlanFileError,
// IncompleteError, InterruptedError) that the command line turns into exit
// codes in one place. It never imports the Graph SDK: its tests run plan
// and apply end to end against a fake tenant in seconds.
//
// What a run reached (mapping, plan, results, verification) stays on the
// Run, so that a run that stops half way still has its report.
package reconcile

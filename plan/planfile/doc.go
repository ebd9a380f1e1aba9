// Package planfile owns the saved-plan file (plan -o, apply --plan): its
// JSON encoding and format version, the checksum, the bounds on what a
// file may claim, and telling a file that was altered after it was
// written (it does not decode, its checksum does not match, or it
// contradicts itself) from one that was not.
//
// It does not decide whether a plan may still be applied: that is package
// plan's (plan.Claims: the tenant state the moves depend on, planning them
// again with every guard), which a loaded Saved hands its claims to. The
// caller that saves passes the tenant state the plan was built from
// (Save), since a plan.Plan keeps no reference to it; a loaded file
// carries the part of the state it recorded.
//
// Like package plan it is pure: no network, no clock (the caller's time
// goes in SaveMeta).
package planfile

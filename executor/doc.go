// Package executor owns applying a plan: the moves run wave by wave, each
// wave with bounded concurrency (errgroup with SetLimit), every call paced
// by the run's shared pacer, and every move ends as exactly one Result.
//
// It depends on Graph only through the small Mover interface declared here.
package executor

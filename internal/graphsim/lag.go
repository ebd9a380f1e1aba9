package graphsim

import (
	"sync/atomic"
	"time"
)

// timerLag estimates how late this process's timers fire, so that the
// latency timer can be set that much early and answers leave when due.
//
// Go's timers fire late: the runtime sleeps in whole milliseconds when it
// is idle, and a woken handler waits for a CPU. On a 2-core machine a 20 ms
// timer fired 0.4 ms late on its own and 0.8 ms late with 16 requests in
// flight, which made every answer 4% slower than the latency asked for.
//
// The estimate is a moving average of each timer's lateness against the
// time it was set for, not against when the answer was due: it measures the
// timers and nothing else, so it does not feed back on itself, and the
// simulator's own work before and after the wait still counts in full
// (LoggedRequest.Took shows the result). A sample is capped at maxTimerLag:
// a timer later than that met a stall (a GC pause, a busy machine), not
// timer granularity, and correcting for stalls would make answers early.
type timerLag struct{ ns atomic.Int64 }

const maxTimerLag = 2 * time.Millisecond

// estimate is the current average lateness.
func (l *timerLag) estimate() time.Duration { return time.Duration(l.ns.Load()) }

// observe adds one timer's lateness (negative is taken as 0) with weight
// 1/16. A compare-and-swap loop, so concurrent handlers lose no sample.
func (l *timerLag) observe(late time.Duration) {
	sample := int64(min(max(late, 0), maxTimerLag))
	for {
		old := l.ns.Load()
		if l.ns.CompareAndSwap(old, old+(sample-old)/16) {
			return
		}
	}
}

// timerFor is how long to set a timer for a wait: the wait less the
// estimate, and never less than three quarters of it.
func (l *timerLag) timerFor(wait time.Duration) time.Duration {
	return wait - min(l.estimate(), wait/4)
}

package executor

import (
	"runtime"
	"sync"
)

// A goroutine blocked in fsync keeps its processor (Go's P) until the
// runtime's monitor takes it back, and the monitor, idle most of the time,
// checks only every few milliseconds. With the journal syncing as lines
// come (at 16 workers, in fsync about a sixth of the time), one of a
// 2-core machine's two processors was often held: 2 points of throughput,
// and a fake 0.6 ms system call in place of fsync cost the same. So while any run's syncer is running,
// GOMAXPROCS is one higher than it was, and the workers keep the
// processors they had. The cost is some CPU (an extra thread spinning for
// work now and then: up to a third more per move in the benchmark) and,
// under a cgroup CPU limit, a chance of being throttled in a burst; the
// processor in fsync is not using a CPU meanwhile.
var spare struct {
	mu    sync.Mutex
	users int
	was   int
}

// reserveSyncProc raises GOMAXPROCS by one for the first user; release
// restores it after the last.
func reserveSyncProc() (release func()) {
	spare.mu.Lock()
	defer spare.mu.Unlock()
	if spare.users == 0 {
		spare.was = runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(spare.was + 1)
	}
	spare.users++
	var once sync.Once
	return func() {
		once.Do(func() {
			spare.mu.Lock()
			defer spare.mu.Unlock()
			spare.users--
			if spare.users == 0 && runtime.GOMAXPROCS(0) == spare.was+1 { // unless someone else changed it meanwhile
				// Setting GOMAXPROCS stops the runtime from following the
				// machine's CPUs and cgroup limits; go back to that, and
				// set the old value only if it was not the runtime's own.
				runtime.SetDefaultGOMAXPROCS()
				if runtime.GOMAXPROCS(0) != spare.was {
					runtime.GOMAXPROCS(spare.was)
				}
			}
		})
	}
}

package main

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"connrecon/executor"
)

// progress shows how an apply is going: a bar when stderr is a terminal
// (and --no-progress is not given), otherwise a plain log line every
// period. Never both: a bar in a log file is noise.
type progress struct {
	total   int
	started time.Time
	log     *slog.Logger
	bar     *progressbar.ProgressBar
	term    *terminal // stderr, shared with the log while the bar is shown

	mu     sync.Mutex
	done   int
	failed int
	stop   chan struct{}
	wg     sync.WaitGroup
}

// barThrottle is the least time between two redraws of the bar; a
// variable so that a test can make the bar redraw often.
var barThrottle = 100 * time.Millisecond

func newProgress(total int, s *session, period time.Duration) *progress {
	p := &progress{total: total, started: time.Now(), log: s.log, stop: make(chan struct{})}
	if !s.g.NoProgress && s.env.StderrIsTerminal != nil && s.env.StderrIsTerminal() {
		// The bar draws through stderr's one owner, so that log lines
		// clear it and it is drawn again below them.
		p.term = newTerminal(s.env.Stderr)
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.term.bar()),
			progressbar.OptionSetDescription("moving connectors"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("moves"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(barThrottle),
		)
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.line()
			}
		}
	}()
	return p
}

// Result counts one finished move (the executor serialises calls).
func (p *progress) Result(r executor.Result) {
	p.mu.Lock()
	p.done++
	if r.Outcome == executor.Failed {
		p.failed++
	}
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.Add(1)
	}
}

func (p *progress) line() {
	p.mu.Lock()
	done, failed := p.done, p.failed
	p.mu.Unlock()
	el := time.Since(p.started)
	rate := float64(done) / el.Seconds()
	eta := "unknown"
	if rate > 0 {
		eta = time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	p.log.Info("progress", "done", done, "total", p.total, "failed", failed, "rate", formatRate(rate), "eta", eta)
}

func formatRate(r float64) string {
	return strconv.FormatFloat(r, 'f', 1, 64) + "/s"
}

// Finish stops the display.
func (p *progress) Finish() {
	close(p.stop)
	p.wg.Wait()
	if p.bar != nil {
		p.bar.Finish()
		p.term.barDone()
	}
}

// Command connrecon keeps Microsoft Entra application proxy connectors in
// the connector groups a mapping file names. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	env := systemEnv()
	// The notice goes through stderr's one owner: it clears a progress
	// bar rather than land inside it.
	stderr := newTerminal(env.Stderr)
	env.Stderr = stderr
	go func() {
		// The first signal stops sending; requests in flight finish and
		// the report is written. The second exits at once.
		s := <-sigs
		fmt.Fprintf(stderr, "connrecon: %v: stopping; requests in flight finish and the report is written (signal again to exit at once)\n", s)
		cancel()
		<-sigs
		os.Exit(exitInterrupted)
	}()
	os.Exit(Main(ctx, os.Args[1:], env))
}

// Command connrecon keeps Microsoft Entra application proxy connectors in
// the connector groups a mapping file names. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], systemEnv())
	stop()
	os.Exit(code)
}

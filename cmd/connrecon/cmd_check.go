package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"connrecon/internal/pacer"
	"connrecon/internal/preflight"
)

type checkOptions struct {
	WriteProbe bool
	JSON       bool
}

func (o *checkOptions) AddFlags(fs *flag.FlagSet) {
	fs.BoolVar(&o.WriteProbe, "write-probe", false, "also learn whether writes are allowed: re-add one active connector to the group it is in (changes nothing)")
	fs.BoolVar(&o.JSON, "json", false, "print the checks as JSON, for scripts")
}

// errCheckFailed: some check says plan or apply could not run; the lines
// printed say which and what to do. Exit 1.
var errCheckFailed = errors.New("check: plan or apply could not run (see the lines marked ✘)")

// checkTimeout bounds the whole check: a health check that hangs is no
// health check.
const checkTimeout = 5 * time.Minute

// runCheck signs in as plan would, reads the tenant, and prints one line
// per check. It writes no report and takes no lock: it changes nothing
// (the write probe re-adds a connector where it already is).
func runCheck(ctx context.Context, s *session, o checkOptions) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c, err := s.newClient(s.newPacer(pacer.Options{}, uint64(time.Now().UnixNano())))
	if err != nil {
		return err
	}
	f := preflight.Gather(ctx, c, preflight.Options{
		Auth: s.g.Auth, Cloud: s.g.Cloud, GraphURL: redactedURL(c.GraphURL()), WriteProbe: o.WriteProbe,
	})
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return ctx.Err() // interrupted: 130, whatever the checks say
	}
	r := preflight.Judge(f)
	write := r.WriteText
	if o.JSON {
		write = r.WriteJSON
	}
	if err := write(s.stdout); err != nil {
		return err
	}
	if !r.OK {
		return errCheckFailed
	}
	return nil
}

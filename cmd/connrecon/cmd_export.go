package main

import (
	"context"
	"flag"
	"time"

	"connrecon/internal/pacer"
	"connrecon/internal/reconcile"
)

type exportOptions struct {
	Out     string
	AppsOut string
}

func (o *exportOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Out, "o", "", "write the export here: FILE.csv, FILE.xlsx (with Groups and Applications sheets), or - for CSV on standard output")
	fs.StringVar(&o.AppsOut, "apps-o", "", "also write the applications and their connector groups, an application mapping for --apps: FILE.csv or FILE.xlsx")
}

func (o *exportOptions) validate() error {
	if o.Out == "" {
		return usageErrorf("export: -o FILE is required (FILE.csv, FILE.xlsx, or - for standard output)")
	}
	if _, err := reconcile.ExportFormatOf(o.Out); err != nil {
		return usageErrorf("%v", err)
	}
	if o.AppsOut != "" {
		if _, err := reconcile.ExportFormatOf(o.AppsOut); err != nil || o.AppsOut == "-" {
			return usageErrorf("export --apps-o: want FILE.csv or FILE.xlsx, not %q", o.AppsOut)
		}
		if o.AppsOut == o.Out {
			return usageErrorf("export: -o and --apps-o name the same file")
		}
	}
	return nil
}

// runExport reads the tenant and writes its assignments as a mapping. It
// changes nothing, takes no lock and writes no report: its file is its
// output.
func runExport(ctx context.Context, s *session, o exportOptions) error {
	r := &reconcile.Run{Mode: "export", ID: s.runID, Version: version(), Started: time.Now(), GraphURL: redactedURL(s.g.graphURL()), Log: s.log, Out: s.stdout}
	if err := signIn(s, r, s.newPacer(pacer.Options{}, uint64(r.Started.UnixNano()))); err != nil {
		return err
	}
	return r.Export(ctx, reconcile.ExportRequest{Path: o.Out, AppsPath: o.AppsOut, Stdout: s.stdout})
}

package main

import (
	"flag"
	"fmt"
	"strconv"

	"connrecon/plan"
)

type validateOptions struct {
	Mapping string
	Sheet   string
}

func (o *validateOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Mapping, "m", "", "mapping file (CSV or XLSX)")
	fs.StringVar(&o.Mapping, "mapping", "", "same as -m")
	fs.StringVar(&o.Sheet, "sheet", "", "XLSX: the sheet to read (default: the first)")
}

func (o *validateOptions) validate() error {
	if o.Mapping == "" {
		return usageErrorf("validate: -m FILE is required")
	}
	return nil
}

// runValidate checks the file without Graph: every problem on its own
// line as file:row:column: message, then a summary.
func runValidate(s *session, o validateOptions) error {
	m, err := plan.ReadMapping(o.Mapping, plan.ReadOptions{Sheet: o.Sheet})
	if err != nil {
		return err
	}
	for _, p := range m.Problems {
		fmt.Fprintln(s.stdout, p.Format(m.Path))
	}
	invalid, warnings := m.Invalid(), 0
	for _, p := range m.Problems {
		if p.Severity == plan.SeverityWarning {
			warnings++
		}
	}
	where := m.Path
	if m.Sheet != "" {
		where += " (sheet " + strconv.Quote(m.Sheet) + ")"
	}
	fmt.Fprintf(s.stdout, "%s: %d row(s), %d invalid, %d warning(s); connector column %s (%q), group column %s (%q).\n",
		where, len(m.Rows), invalid, warnings, m.ConnectorColumn, m.ConnectorHeader, m.GroupColumn, m.GroupHeader)
	if invalid > 0 {
		return withCode(exitInvalid, fmt.Errorf("%s: %d invalid row(s)", m.Path, invalid))
	}
	return nil
}

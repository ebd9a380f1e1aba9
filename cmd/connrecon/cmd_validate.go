package main

import (
	"flag"
	"fmt"

	"connrecon/internal/safetext"
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

// runValidate checks the file without Graph: each problem on its own line
// as file:row:column: message, then a summary. The file's text in a
// message is shown escaped (safetext) and cut, and the list stops after
// safetext.MaxList problems: a file of millions of bad rows must not
// print gigabytes. validate writes no report, so the line that ends the
// list says where every problem is listed.
func runValidate(s *session, o validateOptions) error {
	m, err := readMapping(s, o.Mapping, o.Sheet)
	if err != nil {
		return err
	}
	for i, p := range m.Problems {
		if i == safetext.MaxList {
			fmt.Fprintln(s.stdout, safetext.More(len(m.Problems)-i, "problems",
				"connrecon plan lists every invalid row, with its reason, in report.csv"))
			break
		}
		fmt.Fprintln(s.stdout, safetext.Text(p.Format(m.Path)))
	}
	invalid, warnings := m.Invalid(), 0
	for _, p := range m.Problems {
		if p.Severity == plan.SeverityWarning {
			warnings++
		}
	}
	where := safetext.Text(m.Path)
	if m.Sheet != "" {
		where += " (sheet " + safetext.Quote(m.Sheet) + ")"
	}
	fmt.Fprintf(s.stdout, "%s: %d row(s), %d invalid, %d warning(s); connector %s, group %s.\n",
		where, len(m.Rows), invalid, warnings,
		columns(m.ConnectorColumn, m.ConnectorHeader, m.ConnectorAltColumn, m.ConnectorAltHeader),
		columns(m.GroupColumn, m.GroupHeader, m.GroupAltColumn, m.GroupAltHeader))
	if invalid > 0 {
		return &invalidFileError{path: m.Path, rows: invalid}
	}
	return nil
}

// columns names the column a mapping reads for the connector or the group,
// and the second one that must agree with it, when the file has one.
func columns(col, header, altCol, altHeader string) string {
	s := fmt.Sprintf("column %s (%s)", safetext.Value(col), safetext.Quote(header))
	if altCol != "" {
		s = fmt.Sprintf("columns %s (%s) and %s (%s), which must agree", safetext.Value(col), safetext.Quote(header), safetext.Value(altCol), safetext.Quote(altHeader))
	}
	return s
}

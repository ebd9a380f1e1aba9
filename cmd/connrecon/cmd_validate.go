package main

import (
	"flag"
	"fmt"

	"connrecon/internal/mapping"
	"connrecon/internal/safetext"
	"connrecon/plan"
)

type validateOptions struct {
	Mapping   string
	Sheet     string
	Apps      string
	AppsSheet string
}

func (o *validateOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Mapping, "m", "", "mapping file (CSV or XLSX)")
	fs.StringVar(&o.Mapping, "mapping", "", "same as -m")
	fs.StringVar(&o.Sheet, "sheet", "", "XLSX: the sheet to read (default: the first)")
	fs.StringVar(&o.Apps, "apps", "", "application mapping file (CSV or XLSX) to check, with -m or alone")
	fs.StringVar(&o.AppsSheet, "apps-sheet", "", "XLSX: the sheet of --apps to read (default: Applications, else the first)")
}

func (o *validateOptions) validate() error {
	switch {
	case o.Mapping == "" && o.Apps == "":
		return usageErrorf("validate: -m FILE (or --apps FILE) is required")
	case o.Sheet != "" && o.Mapping == "":
		return usageErrorf("validate: --sheet is for -m FILE")
	case o.AppsSheet != "" && o.Apps == "":
		return usageErrorf("validate: --apps-sheet is for --apps FILE")
	case o.Apps == "-" && o.Mapping == "-":
		return usageErrorf("validate: -m - and --apps - cannot both read standard input: save one of them to a file")
	}
	return nil
}

// runValidate checks the files without Graph: each problem on its own
// line as file:row:column: message, then a summary per file. The file's
// text in a message is shown escaped (safetext) and cut, and the list
// stops after safetext.MaxList problems: a file of millions of bad rows
// must not print gigabytes. validate writes no report, so the line that
// ends the list says where every problem is listed.
func runValidate(s *session, o validateOptions) error {
	var files []*plan.Mapping
	var objects []string
	if o.Mapping != "" {
		m, err := readMapping(s, o.Mapping, o.Sheet)
		if err != nil {
			return err
		}
		files, objects = append(files, m), append(objects, "connector")
	}
	if o.Apps != "" {
		m, err := readMappingOf(s, o.Apps, mapping.Options{Sheet: o.AppsSheet, Kind: plan.KindApplication})
		if err != nil {
			return err
		}
		files, objects = append(files, m), append(objects, "application")
	}
	var bad *invalidFileError
	for i, m := range files {
		if n := validateMapping(s, m, objects[i]); n > 0 && bad == nil {
			bad = &invalidFileError{path: m.Path, rows: n}
		} else if n > 0 {
			bad.rows += n
			bad.path += " and " + m.Path
		}
	}
	if bad != nil {
		return bad
	}
	return nil
}

// validateMapping prints m's problems and summary line, naming the
// column of its rows' object (connector or application); it returns the
// invalid rows.
func validateMapping(s *session, m *plan.Mapping, object string) int {
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
	fmt.Fprintf(s.stdout, "%s: %d row(s), %d invalid, %d warning(s); %s %s, group %s.\n",
		where, len(m.Rows), invalid, warnings, object,
		columns(m.ConnectorColumn, m.ConnectorHeader, m.ConnectorAltColumn, m.ConnectorAltHeader),
		columns(m.GroupColumn, m.GroupHeader, m.GroupAltColumn, m.GroupAltHeader))
	return invalid
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

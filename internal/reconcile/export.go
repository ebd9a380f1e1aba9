package reconcile

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"connrecon/internal/mapping"
	"connrecon/internal/privfile"
	"connrecon/plan"
	"connrecon/report"
)

// The export workbook's sheets. Connectors comes first: it is the sheet a
// mapping is read from, so the workbook given back to plan -m is read as
// it was written.
const (
	SheetConnectors   = "Connectors"
	SheetGroups       = "Groups"
	SheetApplications = "Applications"
)

// Export's headers. The Connectors header is a mapping's: the connector by
// id and machine name and the group by id and name, which plan checks
// against each other, and the connector's other properties, which it does
// not read.
var (
	ExportConnectorHeader   = []string{"machineName", "connectorId", "connectorGroup", "connectorGroupId", "status", "version", "externalIp", "region"}
	ExportGroupHeader       = []string{"id", "name", "type", "region", "isDefault", "connectors", "activeConnectors", "applications"}
	ExportApplicationHeader = report.BackoutApplicationHeader // the back-out's applications are read alike
)

// ExportFormat is what an export file is, by its name's extension.
type ExportFormat string

const (
	ExportCSV  ExportFormat = "csv"
	ExportXLSX ExportFormat = "xlsx"
)

// ExportFormatOf is the format of an export to path: "-" (standard
// output) is CSV; otherwise .csv or .xlsx, in any case.
func ExportFormatOf(path string) (ExportFormat, error) {
	if path == "-" {
		return ExportCSV, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return ExportCSV, nil
	case ".xlsx":
		return ExportXLSX, nil
	}
	return "", fmt.Errorf("export -o %s: the name must end in .csv or .xlsx (or be - for CSV on standard output)", path)
}

// ExportTables are the export's three tables.
func ExportTables(s *plan.State) (connectors, groups, apps mapping.Table, left int) {
	byID := make(map[string]*plan.Group, len(s.Groups))
	counts := make(map[string][2]int, len(s.Groups))
	for i := range s.Groups {
		byID[strings.ToLower(s.Groups[i].ID)] = &s.Groups[i]
	}
	connectors.Header = ExportConnectorHeader
	for i := range s.Connectors {
		c := &s.Connectors[i]
		key := strings.ToLower(c.GroupID)
		n := counts[key]
		n[0]++
		if c.Status == plan.StatusActive {
			n[1]++
		}
		counts[key] = n
		g := byID[key]
		if g != nil && !g.IsTarget() {
			// An agent of another kind (provisioning, in a syncFabric
			// group): no row of a mapping may name its group.
			left++
			continue
		}
		name, region := "", ""
		if g != nil {
			name, region = g.Name, g.Region
		}
		connectors.Rows = append(connectors.Rows, []string{c.MachineName, c.ID, name, c.GroupID, c.Status, c.Version, c.ExternalIP, region})
	}
	groups.Header = ExportGroupHeader
	apps.Header = ExportApplicationHeader
	for i := range s.Groups {
		g := &s.Groups[i]
		n := counts[strings.ToLower(g.ID)]
		typ := g.Type
		if typ == "" {
			typ = plan.GroupTypeApplicationProxy
		}
		groups.Rows = append(groups.Rows, []string{g.ID, g.Name, typ, g.Region, strconv.FormatBool(g.IsDefault),
			strconv.Itoa(n[0]), strconv.Itoa(n[1]), strconv.Itoa(len(g.Applications))})
		for _, a := range g.Applications {
			apps.Rows = append(apps.Rows, []string{a.DisplayName, a.AppID, a.ID, g.Name, g.ID})
		}
	}
	return connectors, groups, apps, left
}

// ExportRequest is what export is asked to do.
type ExportRequest struct {
	// Path is -o: a .csv or .xlsx file, written atomically and private
	// as the reports are, or "-" for CSV on Stdout.
	Path   string
	Stdout io.Writer
	// AppsPath, when set, is --apps-o: the Applications table alone, as
	// an application mapping file (.csv or .xlsx, one sheet named
	// Applications), written after Path.
	AppsPath string
}

// Export reads the tenant and writes every application proxy connector
// with its group, as a mapping that plans no move when given back
// unedited; the workbook adds the groups and the applications each one
// serves.
func (r *Run) Export(ctx context.Context, req ExportRequest) error {
	format, err := ExportFormatOf(req.Path)
	if err != nil {
		return err
	}
	if err := r.snapshot(ctx); err != nil {
		return err
	}
	conns, groups, apps, left := ExportTables(r.State)
	if left > 0 {
		r.Log.Info("agents in connector groups of other kinds are not exported: no mapping moves them", "agents", left)
	}
	write := func(w io.Writer) error { return mapping.WriteCSV(w, conns) }
	if format == ExportXLSX {
		sheets := []mapping.Sheet{{Name: SheetConnectors, Table: conns}, {Name: SheetGroups, Table: groups}, {Name: SheetApplications, Table: apps}}
		if blanked := mapping.BlankUnwritable(sheets); blanked > 0 {
			r.Log.Warn("names holding characters a workbook cannot hold are left empty in it (their rows keep their ids, so they still read back): export as CSV to keep them", "cells", blanked)
		}
		write = func(w io.Writer) error { return mapping.WriteWorkbook(w, sheets) }
	}
	if req.Path == "-" {
		if err := write(req.Stdout); err != nil {
			return fmt.Errorf("export to standard output: %w", err)
		}
	} else if err := privfile.Write(req.Path, write); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if req.AppsPath != "" {
		if err := writeApplications(req.AppsPath, apps); err != nil {
			return err
		}
	}
	r.Log.Info("exported", "file", req.Path, "applicationsFile", req.AppsPath, "connectors", len(conns.Rows), "groups", len(groups.Rows), "applications", len(apps.Rows))
	return nil
}

// writeApplications writes the export's Applications table to path, as
// CSV or as a workbook of that one sheet, by the name's extension.
func writeApplications(path string, apps mapping.Table) error {
	format, err := ExportFormatOf(path)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error { return mapping.WriteCSV(w, apps) }
	if format == ExportXLSX {
		sheets := []mapping.Sheet{{Name: SheetApplications, Table: apps}}
		mapping.BlankUnwritable(sheets) // object ids always fit: a row keeps what names it
		write = func(w io.Writer) error { return mapping.WriteWorkbook(w, sheets) }
	}
	if err := privfile.Write(path, write); err != nil {
		return fmt.Errorf("export --apps-o: %w", err)
	}
	return nil
}

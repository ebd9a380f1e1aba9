package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// CSVHeader is report.csv's header row, and the header of the XLSX
// Actions sheet; the README documents each column. Columns are only ever
// appended, so scripts that index them keep working.
var CSVHeader = []string{
	"row", "connectorId", "machineName", "connectorStatus", "fromGroupId", "fromGroupName",
	"toGroupId", "toGroupName", "action", "wave", "result", "httpStatus", "requestId",
	"clientRequestId", "attempts", "error", "startedAt", "finishedAt", "verified", "reason", "warnings",
	"mappedConnector", "mappedGroup", "backout",
	// Added with applications: what the row places (connector or
	// application), and the application, for an application's row (whose
	// connector columns are empty).
	"kind", "applicationId", "appId", "displayName", "mappedApplication",
}

// WriteCSV writes report.csv's content: one row per action.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	rec := make([]string, len(CSVHeader))
	for i := range r.Actions {
		actionRecord(&r.Actions[i], rec)
		for j := range rec {
			rec[j] = neutralise(rec[j])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// actionRecord fills rec (len(CSVHeader)) with a's cells as text, in
// CSVHeader order: CSV and the XLSX Actions sheet share it so that the two
// never disagree.
func actionRecord(a *Action, rec []string) {
	rec[0], rec[1], rec[2], rec[3] = itoa(a.Row), a.ConnectorID, a.MachineName, a.ConnectorStatus
	rec[4], rec[5], rec[6], rec[7] = a.FromGroupID, a.FromGroupName, a.ToGroupID, a.ToGroupName
	rec[8], rec[9], rec[10], rec[11] = a.Action, itoa(a.Wave), a.Result, itoa(a.HTTPStatus)
	rec[12], rec[13], rec[14], rec[15] = a.RequestID, a.ClientRequestID, itoa(a.Attempts), a.Error
	rec[16], rec[17], rec[18], rec[19] = a.StartedAt, a.FinishedAt, verifiedText(a.Verified), a.Reason
	rec[20], rec[21], rec[22] = strings.Join(a.Warnings, "; "), a.MappedConnector, a.MappedGroup
	rec[23] = backoutCell(a)
	rec[24], rec[25], rec[26], rec[27], rec[28] = a.Kind, a.ApplicationID, a.AppID, a.DisplayName, a.MappedApplication
}

// backoutCell names the back-out's row for a move: the file and the row,
// as a CSV reader or a spreadsheet shows them: backout.csv:5 for a
// connector, backout-apps.csv:2 for an application.
func backoutCell(a *Action) string {
	if a.BackoutRow == 0 {
		return ""
	}
	file := BackoutCSV
	if a.IsApplication() {
		file = BackoutAppsCSV
	}
	return file + ":" + strconv.Itoa(a.BackoutRow)
}

func verifiedText(v *bool) string {
	if v == nil {
		return ""
	}
	return strconv.FormatBool(*v)
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// neutralise keeps text from the tenant or the mapping from becoming a
// formula when the CSV is opened in a spreadsheet (CSV injection).
func neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

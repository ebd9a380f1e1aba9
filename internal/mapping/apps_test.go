package mapping

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/xuri/excelize/v2"

	"connrecon/plan"
)

// Ids for the application tests: an application's object id and appId,
// and a connector group's id.
const (
	testObjectID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	testAppID    = "9b1c3c1a-5f1e-4b7e-8a0e-2b1f0c9d8e7f"
	testGroupID  = "75b5c10a-a3cf-5def-9e0f-4e2f545344f7"
)

var appOpts = Options{Kind: plan.KindApplication}

// readApps reads data (CSV or a workbook) from memory as an application
// mapping named name.
func readApps(name string, data []byte, opts Options) (*plan.Mapping, error) {
	opts.Kind = plan.KindApplication
	r := bytes.NewReader(data)
	return readMapping(name, r, r.Size(), opts)
}

// TestApplicationHeaders: which columns an application mapping's header
// makes the application, the second application cell, the group and the
// second group cell; and the headers refused, each with why.
func TestApplicationHeaders(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		want   plan.Row // Line 2
		cols   [4]string
		heads  [2]string // ConnectorHeader, ConnectorAltHeader
		errHas []string
	}{
		{name: "connrecon export (Applications sheet, backout-apps.csv)",
			input: "application,appId,objectId,connectorGroup,connectorGroupId\nHR portal," + testAppID + "," + testObjectID + ",Europe," + testGroupID + "\n",
			want:  plan.Row{Connector: testObjectID, ConnectorAlt: "HR portal", Group: testGroupID, GroupAlt: "Europe"},
			cols:  [4]string{"C", "A", "E", "D"}, heads: [2]string{"objectId", "application"}},
		{name: "Get-EntraBetaApplication | Select Id, AppId, DisplayName",
			input: "Id,AppId,DisplayName,ConnectorGroupName\n" + testObjectID + "," + testAppID + ",HR portal,Europe\n",
			want:  plan.Row{Connector: testObjectID, ConnectorAlt: "HR portal", Group: "Europe"},
			cols:  [4]string{"A", "C", "D", ""}, heads: [2]string{"Id", "DisplayName"}},
		{name: "Id beside an appId only",
			input: "Id,AppId,Group\n" + testObjectID + "," + testAppID + ",Europe\n",
			want:  plan.Row{Connector: testObjectID, ConnectorAlt: testAppID, Group: "Europe"},
			cols:  [4]string{"A", "B", "C", ""}, heads: [2]string{"Id", "AppId"}},
		{name: "objectId wins over Id",
			input: "Id,objectId,displayName,group\nx," + testObjectID + ",HR portal,Europe\n",
			want:  plan.Row{Connector: testObjectID, ConnectorAlt: "HR portal", Group: "Europe"},
			cols:  [4]string{"B", "C", "D", ""}, heads: [2]string{"objectId", "displayName"}},
		{name: "object id and appId, no name",
			input: "objectId,appId,groupId\n" + testObjectID + "," + testAppID + "," + testGroupID + "\n",
			want:  plan.Row{Connector: testObjectID, ConnectorAlt: testAppID, Group: testGroupID},
			cols:  [4]string{"A", "B", "C", ""}, heads: [2]string{"objectId", "appId"}},
		{name: "appId and display name",
			input: "appId,displayName,groupName\n" + testAppID + ",HR portal,Europe\n",
			want:  plan.Row{Connector: testAppID, ConnectorAlt: "HR portal", Group: "Europe"},
			cols:  [4]string{"A", "B", "C", ""}, heads: [2]string{"appId", "displayName"}},
		{name: "appId beside the either column",
			input: "application,appId,group\nHR portal," + testAppID + ",Europe\n",
			want:  plan.Row{Connector: testAppID, ConnectorAlt: "HR portal", Group: "Europe"},
			cols:  [4]string{"B", "A", "C", ""}, heads: [2]string{"appId", "application"}},
		{name: "application alone",
			input: "application,group\nHR portal,Europe\n",
			want:  plan.Row{Connector: "HR portal", Group: "Europe"},
			cols:  [4]string{"A", "", "B", ""}, heads: [2]string{"application", ""}},
		{name: "app alone",
			input: "App,Connector Group\nHR portal,Europe\n",
			want:  plan.Row{Connector: "HR portal", Group: "Europe"},
			cols:  [4]string{"A", "", "B", ""}, heads: [2]string{"App", ""}},
		{name: "folded: spaces, case, dashes, underscores",
			input: "Application Display Name,client_id,CONNECTOR-GROUP-NAME\nHR portal," + testAppID + ",Europe\n",
			want:  plan.Row{Connector: testAppID, ConnectorAlt: "HR portal", Group: "Europe"},
			cols:  [4]string{"B", "A", "C", ""}, heads: [2]string{"client_id", "Application Display Name"}},
		{name: "the first header of a role counts",
			input: "applicationName,displayName,applicationObjectId,appObjectId,group\nHR portal,other," + testObjectID + ",x,Europe\n",
			want:  plan.Row{Connector: testObjectID, ConnectorAlt: "HR portal", Group: "Europe"},
			cols:  [4]string{"C", "A", "E", ""}, heads: [2]string{"applicationObjectId", "applicationName"}},
		{name: "an export of service principals: read by appId",
			input: "Id,AppId,DisplayName,ServicePrincipalType,ConnectorGroupName\nsp-id," + testAppID + ",HR portal,Application,Europe\n",
			want:  plan.Row{Connector: testAppID, ConnectorAlt: "HR portal", Group: "Europe"},
			cols:  [4]string{"B", "C", "E", ""}, heads: [2]string{"AppId", "DisplayName"}},
		{name: "a connector column beside an application column is not read",
			input: "connector,application,group\nm1,HR portal,Europe\n",
			want:  plan.Row{Connector: "HR portal", Group: "Europe"},
			cols:  [4]string{"B", "", "C", ""}, heads: [2]string{"application", ""}},

		// Refused.
		{name: "Id alone is not guessed",
			input:  "Id,ConnectorGroupName\n" + testObjectID + ",Europe\n",
			errHas: []string{"no application column", `the column "Id" (A) is read as the application's object id only beside`, "rename it objectId", "accepted application headers: objectId"}},
		{name: "Id beside a service principal's columns",
			input:  "Id,ServicePrincipalType,ConnectorGroupName\nsp-id,Application,Europe\n",
			errHas: []string{"no application column", `the column "Id" (A) is a service principal's id, not the application's`, "AppId column"}},
		{name: "a bare Name is not read",
			input:  "DisplayName,Name\nHR portal,Europe\n",
			errHas: []string{"no group column", `the column "Name" (B) is not read`, "rename it connectorGroupName"}},
		{name: "Id and Name alone are neither",
			input:  "Id,Name\nx,Europe\n",
			errHas: []string{"no application or group column"}},
		{name: "an export of groups",
			input:  "Id,Name,Region,IsDefault\ng1,Europe,eur,False\n",
			errHas: []string{"no application or group column", "an export of connector groups", "Applications sheet of an export"}},
		{name: "a list of applications",
			input:  "displayName,appId\nHR portal," + testAppID + "\n",
			errHas: []string{"no group column", "this is a list of applications"}},
		{name: "a connector mapping",
			input:  "machineName,connectorGroup\nm1,Europe\n",
			errHas: []string{"no application column", "this is a connector mapping: give it with -m", "accepted application headers"}},
		{name: "an Entra export of connectors",
			input:  "Id,MachineName,ExternalIp,Status,Version,ConnectorGroupName\nc1,m1,1.2.3.4,active,1,Europe\n",
			errHas: []string{"no application column", "give it with -m"}},
		{name: "nothing known",
			input:  "owner,site\nAnn,Paris\n",
			errHas: []string{`no application or group column in the header row (found "owner" (A), "site" (B)); accepted application headers`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseCSV("a.csv", strings.NewReader(tt.input), 0, applicationVocabulary)
			if tt.errHas != nil {
				if err == nil {
					t.Fatalf("read %+v; want an error", m.Rows)
				}
				var fe *FileError
				if !errors.As(err, &fe) || fe.Line != 1 || fe.Err != nil {
					t.Errorf("error %#v; want a FileError at line 1", err)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				if strings.Contains(err.Error(), "connector column") || strings.Contains(err.Error(), "accepted connector headers") {
					t.Errorf("error %q speaks of connectors", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Line = 2
			if !reflect.DeepEqual(m.Rows, []plan.Row{want}) {
				t.Errorf("rows %+v, want %+v", m.Rows, want)
			}
			if len(m.Problems) != 0 {
				t.Errorf("problems:\n%s", formatProblems(m.Problems))
			}
			if got := [4]string{m.ConnectorColumn, m.ConnectorAltColumn, m.GroupColumn, m.GroupAltColumn}; got != tt.cols {
				t.Errorf("columns %v, want %v", got, tt.cols)
			}
			if got := [2]string{m.ConnectorHeader, m.ConnectorAltHeader}; got != tt.heads {
				t.Errorf("headers %v, want %v", got, tt.heads)
			}
		})
	}
}

// TestConnectorMappingGivenApplications: a connector mapping (-m) whose
// header is an application mapping's is refused as before, and says to
// give it with --apps; a header of both kinds reads as a connector
// mapping, as it always did.
func TestConnectorMappingGivenApplications(t *testing.T) {
	for _, input := range []string{
		"application,appId,objectId,connectorGroup,connectorGroupId\nHR portal," + testAppID + "," + testObjectID + ",Europe," + testGroupID + "\n",
		"Id,AppId,DisplayName,ConnectorGroupName\n" + testObjectID + "," + testAppID + ",HR portal,Europe\n",
	} {
		for _, kind := range []string{"", plan.KindConnector} {
			r := strings.NewReader(input)
			_, err := readMapping("c.csv", r, r.Size(), Options{Kind: kind})
			if err == nil {
				t.Fatalf("kind %q: %q read as a connector mapping", kind, input)
			}
			for _, s := range []string{"no connector column", "(this looks like an application mapping: give it with --apps)", "; accepted connector headers"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("kind %q: error %q lacks %q", kind, err, s)
				}
			}
		}
	}
	m := parse(t, "connector,application,group\nm1,HR portal,Europe\n")
	if want := []plan.Row{{Line: 2, Connector: "m1", Group: "Europe"}}; !reflect.DeepEqual(m.Rows, want) {
		t.Errorf("rows %+v, want %+v", m.Rows, want)
	}
	// Without an application header, the messages are the ones they were.
	_, err := ParseCSV("c.csv", strings.NewReader("Group,Id\nEurope,g1\n"))
	if err == nil || strings.Contains(err.Error(), "--apps") {
		t.Errorf("error %v", err)
	}
}

// TestKindConnectorUnchanged: Kind plan.KindConnector reads every fixture
// as Kind "" does, rows, problems and errors alike.
func TestKindConnectorUnchanged(t *testing.T) {
	files, err := filepath.Glob(fixture("*"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(producersDir, "*.*"))
	for _, file := range append(files, more...) {
		a, errA := Read(file, Options{})
		b, errB := Read(file, Options{Kind: plan.KindConnector})
		if !reflect.DeepEqual(a, b) || (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() {
			t.Errorf("%s: Kind connector reads %+v, %v; Kind \"\" %+v, %v", file, b, errB, a, errA)
		}
	}
}

// TestApplicationMappingProblems: an application mapping has every row
// check a connector mapping has, and its messages name the application.
func TestApplicationMappingProblems(t *testing.T) {
	long := strings.Repeat("x", maxMappedCell+1)
	input := "objectId,displayName,group\n" +
		testObjectID + ",HR portal,Europe\n" + // 2
		",,Europe\n" + // 3: no application
		"1234-5678-abcd-ef01,,Europe\n" + // 4: a mangled id
		"#N/A,,Europe\n" + // 5: a formula's error
		"{" + strings.ToUpper(testObjectID) + "},HR portal,Europe\n" + // 6: repeats 2
		testAppID + ",Payroll,Europe\n" + // 7
		testAppID + ",Payroll,Asia\n" + // 8: another group than 7
		long + ",,Europe\n" + // 9
		"caf\xe9,,Europe\n" + // 10: Windows-1252
		"\n" + // blank
		"1-2-3-4-5," + "#N/A,Europe\n" // 12: a mangled id; #N/A beside it is a name
	m, err := parseCSV("a.csv", strings.NewReader(input), 0, applicationVocabulary)
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, m.Problems, []wantProblem{
		{3, "A", plan.SeverityError, []string{"the application cell is empty"}},
		{4, "A", plan.SeverityError, []string{`application "1234-5678-abcd-ef01" looks like an id but is not a valid GUID`}},
		{5, "A", plan.SeverityError, []string{"the application cell holds the spreadsheet error #N/A"}},
		{6, "A", plan.SeverityWarning, []string{"application \"{" + strings.ToUpper(testObjectID) + "}\" repeats row 2 with the same group: counted once"}},
		{7, "C", plan.SeverityError, []string{"application \"" + testAppID + "\" is also mapped on row 8 to group \"Asia\""}},
		{8, "C", plan.SeverityError, []string{"application \"" + testAppID + "\" is also mapped on row 7 to group \"Europe\""}},
		{9, "A", plan.SeverityError, []string{"the application cell holds 1025 characters, and no application or group name has more than 1024"}},
		{10, "A", plan.SeverityError, []string{"the application cell ", "is not UTF-8 text", `would read "café"`}},
		{12, "A", plan.SeverityError, []string{`application "1-2-3-4-5" looks like an id`}},
	})
	for _, p := range m.Problems {
		if strings.Contains(p.Message, "connector") {
			t.Errorf("problem %q names a connector", p.Message)
		}
	}
	if !m.Rows[4].Duplicate || m.Rows[0].Problem != "" {
		t.Errorf("rows %+v", m.Rows[:5])
	}
	checkMapping(t, m)
}

// TestApplicationSecondCell: the second application cell is checked as a
// name beside an id, and as an id when it is the appId beside the object
// id.
func TestApplicationSecondCell(t *testing.T) {
	m, err := parseCSV("a.csv", strings.NewReader("objectId,displayName,group\n"+testObjectID+",ad-01-02-03,Europe\n"), 0, applicationVocabulary)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Rows[0]; r.Problem != "" || r.ConnectorAlt != "ad-01-02-03" {
		t.Errorf("a name beside the id: %+v", r)
	}
	m, err = parseCSV("a.csv", strings.NewReader("objectId,appId,group\n"+testObjectID+",ad-01-02-03,Europe\n"+testObjectID+",#REF!,Asia\n,"+testAppID+",Europe\n"), 0, applicationVocabulary)
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, m.Problems, []wantProblem{
		{2, "B", plan.SeverityError, []string{`application "ad-01-02-03" looks like an id but is not a valid GUID`}},
		{3, "B", plan.SeverityError, []string{"the application cell holds the spreadsheet error #REF!"}},
	})
	// Only the appId filled: it is read alone, as the application.
	if r := m.Rows[2]; r.Problem != "" || r.Connector != testAppID || r.ConnectorAlt != "" {
		t.Errorf("row %+v", r)
	}
}

// TestApplicationFileErrors: an application mapping's file-level errors
// name the application mapping and its flags.
func TestApplicationFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := writeTemp(t, dir, "empty.csv", nil)
	csvFile := writeTemp(t, dir, "apps.csv", []byte("application,group\nHR portal,Europe\n"))
	tests := []struct {
		name string
		read func() (*plan.Mapping, error)
		has  []string
		io   bool // Err is set
	}{
		{"empty CSV", func() (*plan.Mapping, error) { return Read(empty, appOpts) },
			[]string{"the file is empty: expected a header row naming an application column and a group column"}, false},
		{"--apps-sheet on CSV", func() (*plan.Mapping, error) {
			return Read(csvFile, Options{Kind: plan.KindApplication, Sheet: "Applications"})
		}, []string{`--apps-sheet "Applications" applies only to XLSX workbooks`}, false},
		{"no standard input", func() (*plan.Mapping, error) { return Read("-", appOpts) },
			[]string{"--apps - reads the application mapping from standard input, and there is none"}, false},
		{"unknown kind", func() (*plan.Mapping, error) { return Read(csvFile, Options{Kind: "agent"}) },
			[]string{"cannot read mapping", `unknown kind "agent"`}, true},
		{"unknown kind, standard input", func() (*plan.Mapping, error) {
			return Read("-", Options{Kind: "Application", Stdin: strings.NewReader("application,group\n")})
		}, []string{"stdin: cannot read mapping", `unknown kind "Application"`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.read()
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("read %+v, %v; want a FileError", m, err)
			}
			for _, s := range tt.has {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if (fe.Err != nil) != tt.io {
				t.Errorf("Err = %v", fe.Err)
			}
		})
	}
	// Standard input reads as the file does.
	data, _ := os.ReadFile(csvFile)
	got, err := Read("-", Options{Kind: plan.KindApplication, Stdin: bytes.NewReader(data)})
	if err != nil || len(got.Rows) != 1 || got.Rows[0].Connector != "HR portal" || got.Path != StdinName {
		t.Errorf("from stdin: %+v, %v", got, err)
	}
	fifo := filepath.Join(dir, "apps-fifo.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err == nil {
		_, err := Read(fifo, appOpts)
		if err == nil || !strings.Contains(err.Error(), "save the application mapping to a file, or pass it on standard input with --apps -") {
			t.Errorf("named pipe: %v", err)
		}
	}
}

// exportWorkbook is a workbook as export writes it: Connectors, Groups
// and Applications.
func exportWorkbook(t testing.TB, apps Table) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := WriteWorkbook(&buf, []Sheet{
		{Name: "Connectors", Table: Table{Header: []string{"machineName", "connectorId", "connectorGroup", "connectorGroupId"},
			Rows: [][]string{{"m1", "c1", "Europe", testGroupID}}}},
		{Name: "Groups", Table: Table{Header: []string{"id", "name", "type", "region", "isDefault", "connectors", "activeConnectors", "applications"},
			Rows: [][]string{{testGroupID, "Europe", "applicationProxy", "eur", "false", "1", "1", "1"}}}},
		{Name: "Applications", Table: apps},
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var exportApps = Table{Header: []string{"application", "appId", "objectId", "connectorGroup", "connectorGroupId"},
	Rows: [][]string{{"HR portal", testAppID, testObjectID, "Europe", testGroupID}}}

// TestApplicationSheet: an application mapping is read from the visible
// sheet named Applications (in any case) when the workbook has one, else
// from the first visible sheet; a named sheet is read whatever it is. A
// connector mapping reads the first visible sheet, as always.
func TestApplicationSheet(t *testing.T) {
	wantRow := []plan.Row{{Line: 2, Connector: testObjectID, ConnectorAlt: "HR portal", Group: testGroupID, GroupAlt: "Europe"}}
	export := exportWorkbook(t, exportApps)

	m, err := readApps("export.xlsx", export, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Sheet != "Applications" || !reflect.DeepEqual(m.Rows, wantRow) || len(m.Problems) != 0 {
		t.Errorf("sheet %q, rows %+v, problems %v", m.Sheet, m.Rows, m.Problems)
	}
	if got := [4]string{m.ConnectorColumn, m.ConnectorAltColumn, m.GroupColumn, m.GroupAltColumn}; got != [4]string{"C", "A", "E", "D"} {
		t.Errorf("columns %v", got)
	}
	// The same workbook given with -m reads its connectors.
	r := bytes.NewReader(export)
	c, err := readMapping("export.xlsx", r, r.Size(), Options{})
	if err != nil || c.Sheet != "Connectors" || len(c.Rows) != 1 || c.Rows[0].Connector != "c1" {
		t.Errorf("as a connector mapping: %+v, %v", c, err)
	}
	// A file on disk reads the same.
	path := writeTemp(t, t.TempDir(), "export.xlsx", export)
	if m2, err := Read(path, appOpts); err != nil || m2.Sheet != "Applications" || !reflect.DeepEqual(m2.Rows, wantRow) {
		t.Errorf("Read: %+v, %v", m2, err)
	}

	// Naming a sheet reads it: the export's Connectors sheet is a
	// connector mapping, and says so.
	_, err = readApps("export.xlsx", export, Options{Sheet: "connectors"})
	if err == nil || !strings.Contains(err.Error(), `no application column in the header row of sheet "Connectors"`) ||
		!strings.Contains(err.Error(), "this is a connector mapping: give it with -m") {
		t.Errorf("--apps-sheet Connectors: %v", err)
	}
	_, err = readApps("export.xlsx", export, Options{Sheet: "Nope"})
	if err == nil || !strings.Contains(err.Error(), `no sheet "Nope" in the workbook`) {
		t.Errorf("--apps-sheet Nope: %v", err)
	}

	// Built with excelize: the Applications sheet in another case, hidden,
	// or missing.
	book := func(t *testing.T, sheets []string, hidden string) []byte {
		t.Helper()
		f := excelize.NewFile()
		defer f.Close()
		for i, s := range sheets {
			if i == 0 {
				if err := f.SetSheetName("Sheet1", s); err != nil {
					t.Fatal(err)
				}
			} else if _, err := f.NewSheet(s); err != nil {
				t.Fatal(err)
			}
			head := []any{"displayName", "connectorGroupName"}
			if strings.EqualFold(s, "connectors") {
				head = []any{"machineName", "connectorGroupName"}
			}
			if err := f.SetSheetRow(s, "A1", &head); err != nil {
				t.Fatal(err)
			}
			if err := f.SetSheetRow(s, "A2", &[]any{"row of " + s, "Europe"}); err != nil {
				t.Fatal(err)
			}
		}
		if hidden != "" {
			// The active sheet cannot be hidden: make the first other one
			// active, as Excel does.
			for i, s := range sheets {
				if s != hidden {
					f.SetActiveSheet(i)
					break
				}
			}
			if err := f.SetSheetVisible(hidden, false); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if _, err := f.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	tests := []struct {
		name      string
		sheets    []string
		hidden    string
		want      string // the sheet read
		wantError string
	}{
		{"any case", []string{"Summary", "APPLICATIONS"}, "", "APPLICATIONS", ""},
		{"hidden is not preferred", []string{"Summary", "Apps draft", "Applications"}, "Applications", "Summary", ""},
		{"none: the first visible sheet", []string{"Mine", "Other"}, "", "Mine", ""},
		{"none, first hidden", []string{"Draft", "Mine"}, "Draft", "Mine", ""},
		{"before it, a connector sheet", []string{"Connectors", "Applications"}, "", "Applications", ""},
		{"only a connector sheet", []string{"Connectors"}, "", "", "this is a connector mapping: give it with -m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := book(t, tt.sheets, tt.hidden)
			m, err := readApps("b.xlsx", data, Options{})
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("error %v; want %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Sheet != tt.want || len(m.Rows) != 1 || m.Rows[0].Connector != "row of "+tt.want {
				t.Errorf("read sheet %q, rows %+v; want %q", m.Sheet, m.Rows, tt.want)
			}
			// A connector mapping never prefers Applications.
			r := bytes.NewReader(data)
			c, _ := readMapping("b.xlsx", r, r.Size(), Options{})
			if first := firstVisible(tt.sheets, tt.hidden); c != nil && c.Sheet != first {
				t.Errorf("as a connector mapping, read %q; want %q", c.Sheet, first)
			}
		})
	}
}

func firstVisible(sheets []string, hidden string) string {
	for _, s := range sheets {
		if s != hidden {
			return s
		}
	}
	return ""
}

// TestApplicationXLSX: an application workbook goes through every rule of
// the XLSX reader (title rows, merged headers, formulas, empty sheets),
// its messages naming the application.
func TestApplicationXLSX(t *testing.T) {
	readXML := func(sheet []byte) (*plan.Mapping, error) {
		base, err := os.ReadFile(fixture("formulas.xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		data, err := replaceEntry(base, "xl/worksheets/sheet1.xml", sheet)
		if err != nil {
			t.Fatal(err)
		}
		return readApps("a.xlsx", data, Options{})
	}
	t.Run("title rows above the header", func(t *testing.T) {
		m, err := readXML(sheetXML([][]string{{"Application assignments"}, nil, {"Id", "AppId", "DisplayName", "Connector Group"}, {testObjectID, testAppID, "HR portal", "Europe"}}))
		if err != nil {
			t.Fatal(err)
		}
		if want := []plan.Row{{Line: 4, Connector: testObjectID, ConnectorAlt: "HR portal", Group: "Europe"}}; !reflect.DeepEqual(m.Rows, want) {
			t.Errorf("rows %+v, want %+v", m.Rows, want)
		}
	})
	t.Run("a connector header above is skipped", func(t *testing.T) {
		m, err := readXML(sheetXML([][]string{{"connector", "group"}, {"application", "group"}, {"HR portal", "Europe"}}))
		if err != nil {
			t.Fatal(err)
		}
		if want := []plan.Row{{Line: 3, Connector: "HR portal", Group: "Europe"}}; !reflect.DeepEqual(m.Rows, want) {
			t.Errorf("rows %+v, want %+v", m.Rows, want)
		}
	})
	t.Run("a connector header and no application header", func(t *testing.T) {
		_, err := readXML(sheetXML([][]string{{"Connectors"}, {"machineName", "connectorGroup"}, {"m1", "Europe"}}))
		var fe *FileError
		if !errors.As(err, &fe) || fe.Line != 2 || !strings.Contains(err.Error(), "this is a connector mapping: give it with -m") ||
			!strings.Contains(err.Error(), "(looked at the first 3 non-blank rows, to row 3)") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("merged header", func(t *testing.T) {
		m, err := readXML(sheetXML([][]string{{"application", "group"}, {"", "", "x"}, {"HR portal", "Europe"}, {"Payroll", "Asia"}, {"Wiki", ""}},
			"A1:A2", "B1:B2", "B4:B5"))
		if err != nil {
			t.Fatal(err)
		}
		checkProblems(t, m.Problems, []wantProblem{{5, "B", plan.SeverityError, []string{"the group cell is empty", "merged cells B4:B5"}}})
		m, err = readXML(sheetXML([][]string{{"application", "group"}, {"HR portal", ""}, {"Payroll", "Asia"}}, "B1:B2"))
		if err != nil {
			t.Fatal(err)
		}
		checkProblems(t, m.Problems, []wantProblem{{2, "", plan.SeverityError, []string{"this row is under the header's merged cells B1:B2, yet has an application or group value"}}})
	})
	t.Run("empty sheet", func(t *testing.T) {
		_, err := readXML(sheetXML(nil))
		if err == nil || !strings.Contains(err.Error(), "is empty: the application mapping needs a header row naming an application column and a group column") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("no header: another sheet is named with --apps-sheet", func(t *testing.T) {
		f := excelize.NewFile()
		defer f.Close()
		if err := f.SetSheetRow("Sheet1", "A1", &[]any{"notes"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.NewSheet("Mine"); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := f.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		_, err := readApps("a.xlsx", buf.Bytes(), Options{})
		if err == nil || !strings.Contains(err.Error(), `no application or group column in the header row of sheet "Sheet1"`) ||
			!strings.Contains(err.Error(), `as in --apps-sheet "Mine"`) {
			t.Errorf("error %v", err)
		}
	})
	// cellBook writes a workbook of one sheet, Sheet1, from cells and
	// formulas by reference.
	cellBook := func(t *testing.T, cells, formulas map[string]string) []byte {
		t.Helper()
		f := excelize.NewFile()
		defer f.Close()
		for ref, v := range cells {
			if err := f.SetCellStr("Sheet1", ref, v); err != nil {
				t.Fatal(err)
			}
		}
		for ref, v := range formulas {
			if err := f.SetCellFormula("Sheet1", ref, v); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if _, err := f.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	t.Run("formula with no saved result beside a name", func(t *testing.T) {
		data := cellBook(t, map[string]string{"A1": "objectId", "B1": "displayName", "C1": "groupName",
			"A2": testObjectID, "B2": "HR portal", "C2": "Europe", "B3": "Payroll", "C3": "Asia"},
			map[string]string{"A3": "VLOOKUP(B3,Lookup!A:B,2,FALSE)"})
		m, err := readApps("a.xlsx", data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Row 3's display name is read alone, as the application.
		want := []plan.Row{{Line: 2, Connector: testObjectID, ConnectorAlt: "HR portal", Group: "Europe"}, {Line: 3, Connector: "Payroll", Group: "Asia"}}
		if !reflect.DeepEqual(m.Rows, want) || len(m.Problems) != 0 {
			t.Errorf("rows %+v, problems %v; want %+v", m.Rows, m.Problems, want)
		}
	})
	t.Run("formula with no saved result alone", func(t *testing.T) {
		data := cellBook(t, map[string]string{"A1": "application", "B1": "groupName", "A2": "HR portal", "B2": "Europe", "B3": "Asia"},
			map[string]string{"A3": `B3&"x"`})
		m, err := readApps("a.xlsx", data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkProblems(t, m.Problems, []wantProblem{{3, "A", plan.SeverityError, []string{"the application cell holds a formula =B3&\"x\" with no saved result"}}})
	})
}

// TestApplicationCSVAndXLSXAgree: the same application table reads the
// same as CSV and as a workbook, from every header form.
func TestApplicationCSVAndXLSXAgree(t *testing.T) {
	tables := []Table{
		exportApps,
		{Header: []string{"Id", "AppId", "DisplayName", "ConnectorGroupName"}, Rows: [][]string{
			{testObjectID, testAppID, "HR portal", "Europe"}, {"", testAppID, "HR portal", "Europe"}, {testObjectID, "", "", "Asia"}, {"bad-id-x-y", "", "", ""}}},
		{Header: []string{"objectId", "appId", "group"}, Rows: [][]string{{testObjectID, "not-a-guid-at-all", "Europe"}, {"", "", ""}, {"", "", "Asia"}}},
	}
	for _, tab := range tables {
		t.Run(strings.Join(tab.Header, ","), func(t *testing.T) {
			var c, x bytes.Buffer
			if err := WriteCSV(&c, tab); err != nil {
				t.Fatal(err)
			}
			if err := WriteXLSX(&x, "Applications", tab); err != nil {
				t.Fatal(err)
			}
			fromCSV, err := readApps("a.csv", c.Bytes(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			fromXLSX, err := readApps("a.xlsx", x.Bytes(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkMapping(t, fromCSV)
			if !reflect.DeepEqual(fromCSV.Rows, fromXLSX.Rows) || !reflect.DeepEqual(fromCSV.Problems, fromXLSX.Problems) {
				t.Errorf("CSV %+v %v\nXLSX %+v %v", fromCSV.Rows, fromCSV.Problems, fromXLSX.Rows, fromXLSX.Problems)
			}
			if fromXLSX.ConnectorHeader != fromCSV.ConnectorHeader || fromXLSX.ConnectorAltColumn != fromCSV.ConnectorAltColumn || fromXLSX.Sheet != "Applications" {
				t.Errorf("headers: CSV %q %q, XLSX %q %q (sheet %q)", fromCSV.ConnectorHeader, fromCSV.ConnectorAltColumn, fromXLSX.ConnectorHeader, fromXLSX.ConnectorAltColumn, fromXLSX.Sheet)
			}
		})
	}
}

// applicationTable is what MappingTable is for a connector mapping: the
// usable rows of an application mapping under headers that read back as
// the same columns (the second one an id, appId, when the original was).
func applicationTable(m *plan.Mapping) Table {
	alt, galt := m.ConnectorAltHeader != "", m.GroupAltHeader != ""
	t := Table{Header: []string{"application"}}
	if alt {
		t.Header = []string{"objectId", "displayName"}
		if role, ok := applicationRole[headerKey(m.ConnectorAltHeader)]; ok && role == appClientID {
			t.Header[1] = "appId"
		}
	}
	if galt {
		t.Header = append(t.Header, "groupId", "groupName")
	} else {
		t.Header = append(t.Header, "group")
	}
	for _, r := range m.Rows {
		if r.Problem != "" || r.Duplicate {
			continue
		}
		row := []string{r.Connector}
		if alt {
			row = append(row, r.ConnectorAlt)
		}
		row = append(row, r.Group)
		if galt {
			row = append(row, r.GroupAlt)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

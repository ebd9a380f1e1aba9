// Package mapping reads mapping files as producers write them, and writes
// them so that they read back the same.
//
// Reading: CSV as PowerShell, Excel, LibreOffice, Google Sheets, Numbers
// and CMDB exports write it (comma, semicolon or tab; UTF-8 with or
// without a byte order mark, UTF-16 or UTF-32 with one; CRLF, LF or CR;
// PowerShell's #TYPE line) and XLSX workbooks, told apart by their first
// bytes and by the content type declared for the workbook part, never by
// their extension. Files that name a connector or a group both by id and
// by name are read with both, for the planner to check against each other.
// An application mapping (Options.Kind plan.KindApplication, --apps) is
// read by the same rules with its own header vocabulary (apps.go), from a
// workbook's Applications sheet when it has one.
// It refuses what cannot be read (.xls, .xlsm, .xlsb, .ods,
// password-protected workbooks, code pages, pipes and devices) with a
// FileError or a row problem that says what to do, bounds what a hostile
// file can cost, and hashes what it reads so a saved plan can name the
// exact file. testdata/producers holds a file from each producer.
//
// Writing: WriteCSV and WriteXLSX write a Table (MappingTable makes one of
// a mapping's rows) as CSV that Excel opens as UTF-8 without formulas, and
// as a workbook of string cells.
//
// The result of a read is a *plan.Mapping: the records are plan's, which
// stays the pure planner and imports no file format.
package mapping

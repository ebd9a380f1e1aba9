// Package mapping reads mapping files as producers write them: CSV as
// Excel, LibreOffice and CMDB exports write it (comma, semicolon or tab;
// UTF-8 with or without a byte order mark, or UTF-16) and XLSX workbooks,
// told apart by their first bytes rather than by their extension. It
// refuses what cannot be read (.xls, .xlsm, .xlsb, .ods, password-protected
// workbooks, pipes and devices) with a FileError that says what to do,
// bounds what a hostile file can cost, and hashes what it reads so a saved
// plan can name the exact file.
//
// The result is a *plan.Mapping: the records are plan's, which stays the
// pure planner and imports no file format. Writing mapping files is not
// here yet.
package mapping

// Package samples holds the sample tenant and mapping that `connrecon demo`
// runs against and the README uses, embedded so the binary carries them.
package samples

import _ "embed"

// Tenant is samples/tenant.json: a simulated tenant for graphsim.
//
//go:embed tenant.json
var Tenant []byte

// MappingCSV is samples/mapping.csv: the mapping the demo applies.
//
//go:embed mapping.csv
var MappingCSV []byte

// MappingXLSX is samples/mapping.xlsx: the same mapping as MappingCSV in a
// workbook's first sheet (written by go run ./internal/mapping/testdata/gen).
//
//go:embed mapping.xlsx
var MappingXLSX []byte

// AppsCSV is samples/apps.csv: the application mapping the demo applies
// with the mapping (an application that follows a connector into
// Staging).
//
//go:embed apps.csv
var AppsCSV []byte

// Package safetext makes text from outside the program (the tenant, the
// mapping file, an earlier report) safe to show to a person: every
// character that would drive a terminal, reorder or hide text, or that is
// not text at all becomes a visible escape, and long values and long lists
// are cut to what a reader can use. The machine formats (report.json,
// report.csv) keep the exact text; only the human views go through here.
package safetext

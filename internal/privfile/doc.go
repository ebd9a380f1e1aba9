// Package privfile writes the files a run leaves for people and for later
// runs (reports, back-outs, exports, saved plans) the one way they are all
// written: to a temporary name in the same directory, readable by the
// owner only, synced, then renamed, so that a reader never sees half a
// file and nobody else on the machine sees the tenant's names.
package privfile

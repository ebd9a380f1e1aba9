//go:build !unix

package executor

// oNoFollow: no such open flag here; OpenJournal's Lstat check and the
// check of the opened file still refuse a link planted before the open.
const oNoFollow = 0

func isLinkLoop(error) bool { return false }

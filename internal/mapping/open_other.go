//go:build !unix

package mapping

import "os"

// openNoWait: elsewhere a plain open; a named pipe cannot be made there
// with a path the way a unix shell makes one.
func openNoWait(path string) (*os.File, error) { return os.Open(path) }

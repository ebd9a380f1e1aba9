//go:build unix

package mapping

import (
	"os"
	"syscall"
)

// openNoWait opens path for reading without blocking in open(2), which a
// named pipe with no writer does; reads of a regular file are unaffected.
func openNoWait(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}

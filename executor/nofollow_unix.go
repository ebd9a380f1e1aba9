//go:build unix

package executor

import (
	"errors"
	"syscall"
)

// oNoFollow makes an open fail on a symbolic link instead of following it.
const oNoFollow = syscall.O_NOFOLLOW

// isLinkLoop: the open failed because the path is a symbolic link (what
// O_NOFOLLOW reports: ELOOP; EMLINK on FreeBSD and DragonFly, EFTYPE on
// NetBSD, which Go's syscall does not name everywhere).
func isLinkLoop(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}

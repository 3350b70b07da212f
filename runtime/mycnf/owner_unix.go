//go:build unix

package mycnf

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives the new file the old one's owner and group, so that root
// editing a file owned by mysql does not hand it to root. When that is not
// permitted the save fails rather than silently changing the owner.
func keepOwner(tmp *os.File, old fs.FileInfo) error {
	want, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	info, err := tmp.Stat()
	if err != nil {
		return err
	}
	if have, ok := info.Sys().(*syscall.Stat_t); ok && have.Uid == want.Uid && have.Gid == want.Gid {
		return nil
	}
	if err := tmp.Chown(int(want.Uid), int(want.Gid)); err != nil {
		return fmt.Errorf("keep owner %d:%d: %w", want.Uid, want.Gid, err)
	}
	return nil
}

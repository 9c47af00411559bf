//go:build !unix

package registry

import "os"

// fileID is empty where the platform gives no inode: size and modification time decide.
type fileID struct{}

func idOf(os.FileInfo) fileID { return fileID{} }

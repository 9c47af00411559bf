//go:build !linux

package registry

import (
	"errors"
	"os"
)

func openDirect(string) (*os.File, error) { return nil, errors.ErrUnsupported }

func isDirectRefusal(error) bool { return false }

// Package workdir gives each walkthrough program its base directory: a
// fresh temporary one removed at exit (so two runs print the same), or the
// one named by -dir, kept (so a second run reopens the feeds and appends
// again, as the guide's programs do when run twice).
package workdir

import (
	"flag"
	"fmt"
	"os"
)

// Parse parses the command line and returns the base directory and a
// function to call at exit.
func Parse() (dir string, cleanup func()) {
	keep := flag.String("dir", "", "keep the feeds in this directory (default: a temporary directory, removed at exit)")
	flag.Parse()
	if *keep != "" {
		if err := os.MkdirAll(*keep, 0o755); err != nil {
			Fail(err)
		}
		return *keep, func() {}
	}
	tmp, err := os.MkdirTemp("", "hypercore-walkthrough-")
	if err != nil {
		Fail(err)
	}
	return tmp, func() { os.RemoveAll(tmp) }
}

// Fail prints err and exits with status 1.
func Fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

// Package guide holds what the walkthrough programs share: the guide's
// step 1, which step 2 repeats, and the base directory, a fresh temporary
// one removed at exit (so two runs print the same) or the one named by
// -dir, kept (so a second run reopens the feeds and appends again, as the
// guide's programs do when run twice).
package guide

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hypercore-go/hypercore/core"
)

// Step1 is the guide's step 1: open the writable feed in base/main (or
// create it with a new key pair), append "hello" and "world" in one call,
// and print what step-1.js prints. The caller closes the feed.
func Step1(base string) (*core.Feed, error) {
	fmt.Print("Step 1: Create the initial Hypercore\n\n")

	// new Hypercore('./main'): open the feed stored there, or create one
	feed, _, err := core.OpenOrCreateDir(filepath.Join(base, "main"), nil)
	if err != nil {
		return nil, err
	}
	// await core.append(['hello', 'world'])
	if _, err := feed.Append([]byte("hello"), []byte("world")); err != nil {
		feed.Close()
		return nil, err
	}
	fmt.Println("Length of the first core:", feed.Length())
	for i, label := range []string{"First block:", "Second block:"} {
		b, err := feed.Get(uint64(i))
		if err != nil {
			feed.Close()
			return nil, err
		}
		fmt.Println(label, string(b))
	}
	return feed, nil
}

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

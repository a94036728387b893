// Step 1 of the guide "Creating and Sharing Hypercores": create a writable
// Hypercore in ./main and append two blocks in one call.
//
//	go run ./walkthrough/step1 [-dir PATH]
//
// It prints what the guide's step-1.js prints. The feed lives in a fresh
// temporary directory unless -dir names one to keep; run twice with the same
// -dir, the second run reopens the feed and appends two more blocks, as
// step-1.js does.
package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/walkthrough/internal/workdir"
)

func main() {
	base, cleanup := workdir.Parse()
	defer cleanup()
	if err := run(base); err != nil {
		cleanup()
		workdir.Fail(err)
	}
}

func run(base string) error {
	fmt.Print("Step 1: Create the initial Hypercore\n\n")

	// new Hypercore('./main'): open the feed stored there, or create one
	// with a new key pair.
	feed, err := core.OpenDir(filepath.Join(base, "main"), nil)
	if errors.Is(err, core.ErrNoFeed) {
		feed, err = core.CreateDir(filepath.Join(base, "main"), nil)
	}
	if err != nil {
		return err
	}
	defer feed.Close()

	// await core.append(['hello', 'world'])
	if _, err := feed.Append([]byte("hello"), []byte("world")); err != nil {
		return err
	}

	fmt.Println("Length of the first core:", feed.Length())
	first, err := feed.Get(0)
	if err != nil {
		return err
	}
	fmt.Println("First block:", string(first))
	second, err := feed.Get(1)
	if err != nil {
		return err
	}
	fmt.Println("Second block:", string(second))
	return nil
}

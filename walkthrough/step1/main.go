// Step 1 of the guide "Creating and Sharing Hypercores": create a writable
// Hypercore in ./main and append two blocks in one call.
//
//	go run ./walkthrough/step1 [-dir PATH] [-v11]
//
// It prints what the guide's step-1.js prints. The feed lives in a fresh
// temporary directory unless -dir names one to keep; run twice with the same
// -dir, the second run reopens the feed and appends two more blocks, as
// step-1.js does. With -v11 the core is a Hypercore 11 core (package
// v11/core, a default core: its key is the hash of its manifest) and the
// program prints the same lines. The step itself is guide.Step1 or
// guide.Step1V11 (internal/guide), which step 2 runs first.
package main

import "github.com/hypercore-go/hypercore/walkthrough/internal/guide"

func main() {
	base, cleanup := guide.Parse()
	defer cleanup()
	if *guide.V11 {
		c, err := guide.Step1V11(base)
		if err != nil {
			cleanup()
			guide.Fail(err)
		}
		c.Close()
		return
	}
	feed, err := guide.Step1(base)
	if err != nil {
		cleanup()
		guide.Fail(err)
	}
	feed.Close()
}

// Step 1 of the guide "Creating and Sharing Hypercores": create a writable
// Hypercore in ./main and append two blocks in one call.
//
//	go run ./walkthrough/step1 [-dir PATH]
//
// It prints what the guide's step-1.js prints. The feed lives in a fresh
// temporary directory unless -dir names one to keep; run twice with the same
// -dir, the second run reopens the feed and appends two more blocks, as
// step-1.js does. The step itself is guide.Step1 (internal/guide), which
// step 2 runs first.
package main

import "github.com/hypercore-go/hypercore/walkthrough/internal/guide"

func main() {
	base, cleanup := guide.Parse()
	defer cleanup()
	feed, err := guide.Step1(base)
	if err != nil {
		cleanup()
		guide.Fail(err)
	}
	feed.Close()
}

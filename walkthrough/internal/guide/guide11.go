package guide

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/hypercore-go/hypercore/core/storage"
	core11 "github.com/hypercore-go/hypercore/v11/core"
)

// V11 is the -v11 flag: run the step on Hypercore 11 (package v11/core)
// instead of Hypercore 9.
var V11 = flag.Bool("v11", false, "run the step on Hypercore 11 (v11/core) instead of Hypercore 9")

// Step1V11 is the guide's step 1 on Hypercore 11: open the writable core in
// base/main (or create a default core there: a new key pair, its key the
// hash of a manifest naming that one signer), append "hello" and "world"
// in one call, and print what step-1.js prints. The caller closes the
// core.
func Step1V11(base string) (*core11.Core, error) {
	fmt.Print("Step 1: Create the initial Hypercore\n\n")

	// new Hypercore('./main'): open the core stored there, or create one
	c, err := OpenOrCreate11(filepath.Join(base, "main"))
	if err != nil {
		return nil, err
	}
	// await core.append(['hello', 'world'])
	if _, err := c.Append([]byte("hello"), []byte("world")); err != nil {
		c.Close()
		return nil, err
	}
	fmt.Println("Length of the first core:", c.Length())
	for i, label := range []string{"First block:", "Second block:"} {
		b, err := c.Get(uint64(i))
		if err != nil {
			c.Close()
			return nil, err
		}
		fmt.Println(label, string(b))
	}
	return c, nil
}

// OpenOrCreate11 opens the Hypercore 11 core stored in dir, or creates a
// default core there when dir holds none (JS new Hypercore(dir)).
func OpenOrCreate11(dir string) (*core11.Core, error) {
	s, err := storage.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	c, err := core11.Open(s, nil)
	if err == nil {
		return c, nil
	}
	// Open closes the storage on some errors and not others; closing a
	// Dir twice is harmless.
	s.Close()
	if !errors.Is(err, core11.ErrNoKey) {
		return nil, err
	}
	// An empty directory: make a new writer there.
	if s, err = storage.OpenDir(dir); err != nil {
		return nil, err
	}
	if c, err = core11.Create(s, nil); err != nil {
		s.Close()
		return nil, err
	}
	return c, nil
}

// OpenClone11 opens the Hypercore 11 clone of key stored in dir, or a new
// one when dir holds none (JS new Hypercore(dir, key)).
func OpenClone11(dir string, key [32]byte) (*core11.Core, error) {
	s, err := storage.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	c, err := core11.Open(s, &core11.OpenOptions{Key: &key})
	if err != nil {
		s.Close()
		return nil, err
	}
	return c, nil
}

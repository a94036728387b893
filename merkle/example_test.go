package merkle_test

import (
	"bytes"
	"fmt"

	"github.com/hypercore-go/hypercore/merkle"
)

func Example() {
	// A writer key pair from a fixed seed, and the feed's discovery key.
	kp, _ := merkle.NewKeyPairFromSeed(bytes.Repeat([]byte{1}, 32))
	dk, _ := merkle.DiscoveryKey(kp.PublicKey)
	fmt.Println("discovery key:", dk.String()[:16])

	// Append "hello" and "world" in one call, then sign the roots.
	gen := merkle.NewGenerator(nil)
	for _, block := range []string{"hello", "world"} {
		for _, n := range gen.Next([]byte(block)) {
			fmt.Printf("node %d: %s… size %d\n", n.Index, n.Hash.String()[:8], n.Size)
		}
	}
	sig, _ := merkle.Sign(kp.SecretKey, gen.Roots(), gen.Blocks())
	fmt.Println("verifies:", merkle.Verify(kp.PublicKey, gen.Roots(), gen.Blocks(), sig) == nil)
	// Output:
	// discovery key: c1feb82a2b3ba065
	// node 0: 6717b25f… size 5
	// node 2: b49340bf… size 5
	// node 1: 408f1fc9… size 10
	// verifies: true
}

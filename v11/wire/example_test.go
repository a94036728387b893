package wire_test

import (
	"encoding/hex"
	"fmt"

	"github.com/hypercore-go/hypercore/v11/wire"
)

func Example() {
	// A fresh clone's first request: an upgrade from length 0 to the
	// writer's 8 blocks, and the manifest.
	req := &wire.Request{ID: 1, Upgrade: &wire.UpgradeRequest{Start: 0, Length: 8}, Manifest: true}
	fmt.Printf("%s %x\n", req.Type(), wire.Encode(req))

	// get(3) answered: block 3 with the three sibling hashes of its proof.
	payload, _ := hex.DecodeString("0101000307626c6f636b2033" +
		"030407" + "293b23f8a4d19a132835fbf22c6e3565126b742220e01428b0761a04dbcb4331" +
		"010e" + "cd3282976a2b9158b129bb19043d04dd2114c07d12f070f5bc0460fe4c748f1b" +
		"0b1c" + "8c7610a5f7611c1cb7ab18df2c5a8dfa9df6daa9ed1b2f3e1c2e19f7ef3a7999")
	m, err := wire.Decode(wire.TypeData, payload)
	if err != nil {
		panic(err)
	}
	data := m.(*wire.Data)
	fmt.Printf("request %d block %d %q\n", data.Request, data.Block.Index, data.Block.Value)
	for _, n := range data.Block.Nodes {
		fmt.Printf("  node %d size %d\n", n.Index, n.Size)
	}
	// Output:
	// request 1801000008
	// request 1 block 3 "block 3"
	//   node 4 size 7
	//   node 1 size 14
	//   node 11 size 28
}

func ExampleCapability() {
	// Both sides of a Noise session share its 64-byte handshake hash. Each
	// sends the capability for its own role and checks the other's with the
	// remote's role.
	handshakeHash := make([]byte, wire.HandshakeHashSize)
	var key [32]byte // the core's key
	initiator := wire.Capability(handshakeHash, true, key)
	open := &wire.Handshake{Seeks: true, Capability: initiator}
	fmt.Printf("%x\n", open.Append(nil)[:1])

	// The responder (isInitiator false) checks what the initiator sent.
	fmt.Println(wire.VerifyCapability(handshakeHash, false, key, initiator))
	// Checked with the wrong role, it fails.
	fmt.Println(wire.VerifyCapability(handshakeHash, true, key, initiator) != nil)
	// Output:
	// 01
	// <nil>
	// true
}

package store_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/v11/core/store"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// A writer creates a core, appends two blocks in one commit, and opens the
// files again.
func Example() {
	seed := make([]byte, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	m := merkle.DefaultSignerManifest([32]byte(priv.Public().(ed25519.PublicKey)))
	manifest, _ := merkle.EncodeManifest(m)
	key, _ := merkle.ManifestHash(m)
	v, _ := merkle.NewVerifier(key, m, merkle.VerifierOptions{})

	mem := storage.NewMemory()
	s, _ := store.Open(mem, nil)
	fmt.Println("new store has a header:", s.HasHeader())

	var tree merkle.Tree
	var b store.Batch
	for i, data := range []string{"hello", "world!"} {
		b.PutNode(tree.Append([]byte(data))...)
		b.PutBlock(uint64(i), []byte(data))
	}
	sig, _ := v.Sign(&tree, priv)
	b.SetHeader(store.Header{Key: key, Manifest: manifest, SecretKey: priv, Tree: tree, Signature: sig})
	if err := s.Commit(&b); err != nil {
		fmt.Println(err)
		return
	}

	// Open the same files again. (Closing the first Store would close the
	// memory storage and drop them: a Store owns its storage.)
	s, _ = store.Open(mem, nil)
	h := s.Header()
	fmt.Println("length:", h.Tree.Length, "bytes:", h.Tree.ByteLength(), "signature ok:", v.Verify(&h.Tree, h.Signature) == nil)
	block, ok, _ := s.Block(1)
	off, _ := s.ByteOffset(1)
	fmt.Printf("block 1: %q %v at offset %d\n", block, ok, off)
	root, _, _ := s.Node(1)
	fmt.Println("root:", root.Index, root.Size, "contiguous:", s.Contiguous())
	s.Close()
	// Output:
	// new store has a header: false
	// length: 2 bytes: 11 signature ok: true
	// block 1: "world!" true at offset 5
	// root: 1 11 contiguous: 2
}

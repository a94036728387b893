package merkle_test

import (
	"crypto/ed25519"
	"fmt"

	"golang.org/x/crypto/blake2b"

	"github.com/hypercore-go/hypercore/v11/merkle"
)

// Example makes the key of a default core from an Ed25519 key pair, appends
// two blocks, signs the tree and verifies the signature, as a JS writer and
// a JS reader would.
func Example() {
	seed := blake2b.Sum256([]byte("hypercore-go v11 vectors: writer"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	manifest := merkle.DefaultSignerManifest([32]byte(priv.Public().(ed25519.PublicKey)))
	key, _ := merkle.ManifestHash(manifest)
	dkey := merkle.DiscoveryKey(key)

	var tree merkle.Tree
	tree.Append([]byte("hello"))
	tree.Append([]byte("world"))

	v, _ := merkle.NewVerifier(key, manifest, merkle.VerifierOptions{})
	sig, _ := v.Sign(&tree, priv)
	fmt.Printf("key %x…\ndiscovery key %x…\n", key[:8], dkey[:8])
	fmt.Printf("length %d, roots %d, signature %d bytes\n", tree.Length, len(tree.Roots), len(sig))
	fmt.Println("verify:", v.Verify(&tree, sig))

	tree.Fork++ // a truncation raises the fork: the old signature no longer holds
	fmt.Println("after fork:", v.Verify(&tree, sig) != nil)
	// Output:
	// key d9b0dcd44460e38b…
	// discovery key 5e3b8cc94e269181…
	// length 2, roots 1, signature 68 bytes
	// verify: <nil>
	// after fork: true
}

// ExampleDecodeManifest decodes the default manifest of a key pair: version
// 1, no flags, BLAKE2b, quorum 1, one Ed25519 signer in the default
// namespace.
func ExampleDecodeManifest() {
	var pk [32]byte
	enc, _ := merkle.EncodeManifest(merkle.DefaultSignerManifest(pk))
	fmt.Printf("%x\n", enc[:6])
	m, err := merkle.DecodeManifest(enc)
	fmt.Println(m.Version, m.Quorum, len(m.Signers), m.Signers[0].Namespace == merkle.DefaultNamespace, err)
	// Output:
	// 010000010100
	// 1 1 1 true <nil>
}

package merkle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/hypercore-go/hypercore/vectors"
)

func loadMerkle(t testing.TB) *vectors.Merkle {
	t.Helper()
	v, err := vectors.LoadMerkle()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pattern rebuilds a Pattern block as the note in merkle.json describes.
func pattern(label string, n int) []byte {
	out := make([]byte, 0, n+32)
	block := blake2b.Sum256([]byte(label))
	for len(out) < n {
		out = append(out, block[:]...)
		block = blake2b.Sum256([]byte(hex.EncodeToString(block[:])))
	}
	return out[:n]
}

func node(n vectors.NodeJSON) Node {
	var h Hash
	copy(h[:], n.Hash)
	return Node{Index: n.Index, Hash: h, Size: n.Size}
}

func nodes(ns []vectors.NodeJSON) []Node {
	out := make([]Node, len(ns))
	for i, n := range ns {
		out[i] = node(n)
	}
	return out
}

func TestLeafVectors(t *testing.T) {
	v := loadMerkle(t)
	n := 0
	for _, g := range v.Leaves {
		for _, tc := range g.Tests {
			n++
			data := []byte(tc.Data)
			if tc.DataPattern != nil {
				data = pattern(tc.DataPattern.Label, tc.DataPattern.Length)
			}
			if uint64(len(data)) != tc.Size {
				t.Fatalf("%s: block of %d bytes, want %d", tc.Name("merkle.json"), len(data), tc.Size)
			}
			if got := LeafHash(data); !bytes.Equal(got[:], tc.Hash) {
				t.Errorf("%s: LeafHash = %s, want %s", tc.Name("merkle.json"), got, tc.Hash)
			}
		}
	}
	if n == 0 {
		t.Fatal("no leaf vectors")
	}
}

func TestParentVectors(t *testing.T) {
	v := loadMerkle(t)
	for _, g := range v.Parents {
		for _, tc := range g.Tests {
			got := ParentNode(node(tc.Left), node(tc.Right))
			if got != node(tc.Parent) {
				t.Errorf("%s: ParentNode = %+v, want %+v", tc.Name("merkle.json"), got, node(tc.Parent))
			}
		}
	}
}

// TestTreeVectors replays each append history through the Generator and
// compares every emitted node, the roots, the tree hash and the signable;
// it also restarts a generator from the roots after each call, as the feed
// does when it opens.
func TestTreeVectors(t *testing.T) {
	v := loadMerkle(t)
	for _, g := range v.Trees {
		for _, tc := range g.Tests {
			t.Run(tc.Name("merkle.json"), func(t *testing.T) {
				gen := NewGenerator(nil)
				for k, step := range tc.Appends {
					restarted := NewGenerator(gen.Roots())
					var emitted, emitted2 []Node
					for _, b := range step.Blocks {
						emitted = gen.AppendNext(emitted, []byte(b))
						emitted2 = restarted.AppendNext(emitted2, []byte(b))
					}
					want := nodes(step.Nodes)
					if !equalNodes(emitted, want) || !equalNodes(emitted2, want) {
						t.Fatalf("call %d: emitted %v, want %v", k, emitted, want)
					}
					if gen.Blocks() != step.Length || restarted.Blocks() != step.Length {
						t.Fatalf("call %d: Blocks() = %d, want %d", k, gen.Blocks(), step.Length)
					}
					if !equalNodes(gen.Roots(), nodes(step.Roots)) {
						t.Fatalf("call %d: Roots() = %v, want %v", k, gen.Roots(), step.Roots)
					}
					if th := TreeHash(gen.Roots()); !bytes.Equal(th[:], step.TreeHash) {
						t.Fatalf("call %d: TreeHash = %s, want %s", k, th, step.TreeHash)
					}
					if s := Signable(gen.Roots(), step.Length); !bytes.Equal(s[:], step.Signable) {
						t.Fatalf("call %d: Signable = %x, want %s", k, s, step.Signable)
					}
				}
			})
		}
	}
}

func equalNodes(a, b []Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestKeyPairVectors(t *testing.T) {
	v := loadMerkle(t)
	for _, g := range v.KeyPairs {
		for _, tc := range g.Tests {
			kp, err := NewKeyPairFromSeed(tc.Seed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(kp.PublicKey, tc.PublicKey) || !bytes.Equal(kp.SecretKey, tc.SecretKey) {
				t.Errorf("%s: NewKeyPairFromSeed = %x / %x, want %s / %s", tc.Name("merkle.json"), kp.PublicKey, kp.SecretKey, tc.PublicKey, tc.SecretKey)
			}
			kp2, err := GenerateKeyPair(bytes.NewReader(tc.Seed))
			if err != nil || !bytes.Equal(kp2.SecretKey, tc.SecretKey) {
				t.Errorf("%s: GenerateKeyPair(seed reader) = %x, %v", tc.Name("merkle.json"), kp2.SecretKey, err)
			}
			dk, err := DiscoveryKey(tc.PublicKey)
			if err != nil || !bytes.Equal(dk[:], tc.DiscoveryKey) {
				t.Errorf("%s: DiscoveryKey = %s, %v; want %s", tc.Name("merkle.json"), dk, err, tc.DiscoveryKey)
			}
		}
	}
}

// TestSignatureVectors checks every signature case with the spec's verdict,
// and that signing the valid 40-byte cases reproduces the JS signature
// (Ed25519 is deterministic).
func TestSignatureVectors(t *testing.T) {
	v := loadMerkle(t)
	writer, err := NewKeyPairFromSeed(blake2bSum("hypercore-go v9 vectors: writer"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range v.Signatures {
		for _, tc := range g.Tests {
			n++
			roots := nodes(tc.Roots)
			if s := Signable(roots, tc.Length); !bytes.Equal(s[:], tc.Signable) {
				t.Errorf("%s: Signable = %x, want %s", tc.Name("merkle.json"), s, tc.Signable)
			}
			err := Verify(ed25519.PublicKey(tc.PublicKey), roots, tc.Length, tc.Signature)
			if tc.Valid() {
				if err != nil {
					t.Errorf("%s: Verify = %v, want nil", tc.Name("merkle.json"), err)
				}
			} else if !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("%s: Verify = %v, want ErrInvalidSignature", tc.Name("merkle.json"), err)
			}
			if tc.Mutation == "none" {
				sig, err := Sign(writer.SecretKey, roots, tc.Length)
				if err != nil || !bytes.Equal(sig, tc.Signature) {
					t.Errorf("%s: Sign = %x, %v; want %s", tc.Name("merkle.json"), sig, err, tc.Signature)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no signature vectors")
	}
}

func blake2bSum(s string) []byte {
	h := blake2b.Sum256([]byte(s))
	return h[:]
}

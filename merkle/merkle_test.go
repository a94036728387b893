package merkle

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/flattree"
)

// reference builds every node of the tree over blocks straight from the
// spec: leaves, then each parent whose two children exist.
func reference(blocks [][]byte) map[uint64]Node {
	tree := map[uint64]Node{}
	for i, b := range blocks {
		tree[2*uint64(i)] = LeafNode(uint64(i), b)
	}
	for depth := uint64(1); ; depth++ {
		added := false
		for off := uint64(0); ; off++ {
			idx := flattree.Index(depth, off)
			l, r, _ := flattree.Children(idx)
			ln, lok := tree[l]
			rn, rok := tree[r]
			if !lok || !rok {
				break
			}
			tree[idx] = Node{Index: idx, Hash: ParentHash(ln, rn), Size: ln.Size + rn.Size}
			added = true
		}
		if !added {
			return tree
		}
	}
}

// TestGeneratorMatchesReference appends random blocks in random calls and
// checks the generator's nodes and roots against the slow reference.
func TestGeneratorMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		blocks := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 40), 0, 70).Draw(t, "blocks")
		ref := reference(blocks)
		gen := NewGenerator(nil)
		emitted := map[uint64]Node{}
		for _, b := range blocks {
			if rapid.IntRange(0, 9).Draw(t, "restart") == 0 {
				gen = NewGenerator(gen.Roots())
			}
			for _, n := range gen.Next(b) {
				if _, dup := emitted[n.Index]; dup {
					t.Fatalf("node %d emitted twice", n.Index)
				}
				emitted[n.Index] = n
			}
		}
		if len(emitted) != len(ref) {
			t.Fatalf("emitted %d nodes, the tree has %d", len(emitted), len(ref))
		}
		for idx, n := range ref {
			if emitted[idx] != n {
				t.Fatalf("node %d = %+v, want %+v", idx, emitted[idx], n)
			}
		}
		want, _ := flattree.FullRoots(2 * uint64(len(blocks)))
		roots := gen.Roots()
		if len(roots) != len(want) {
			t.Fatalf("roots %v, want indexes %v", roots, want)
		}
		for i, r := range roots {
			if r.Index != want[i] || r != ref[r.Index] {
				t.Fatalf("root %d = %+v, want index %d", i, r, want[i])
			}
		}
	})
}

// TestGeneratorAppendTree adds random blocks as whole subtrees of random
// sizes (taken from the reference) and checks that the generator emits
// each subtree's root and every node above, once, with the roots of the
// reference; a subtree that does not start at the next block panics.
func TestGeneratorAppendTree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		blocks := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 40), 0, 70).Draw(t, "blocks")
		ref := reference(blocks)
		gen := NewGenerator(nil)
		emitted := map[uint64]Node{}
		for b := uint64(0); b < uint64(len(blocks)); {
			// the largest subtree that starts at b and fits, or a smaller one
			k := uint64(0)
			for b%(2<<k) == 0 && b+(2<<k) <= uint64(len(blocks)) {
				k++
			}
			k = uint64(rapid.IntRange(0, int(k)).Draw(t, "depth"))
			root := ref[flattree.Index(k, b>>k)]
			for idx, n := range ref { // the subtree's own nodes, built by the caller
				if l, r := flattree.Spans(idx); l >= 2*b && r < 2*(b+1<<k) {
					emitted[idx] = n
				}
			}
			delete(emitted, root.Index)
			for _, n := range gen.AppendTree(nil, root) {
				if _, dup := emitted[n.Index]; dup {
					t.Fatalf("node %d emitted twice", n.Index)
				}
				emitted[n.Index] = n
			}
			b += 1 << k
			if gen.Blocks() != b {
				t.Fatalf("Blocks() = %d, want %d", gen.Blocks(), b)
			}
		}
		if len(emitted) != len(ref) {
			t.Fatalf("%d nodes, the tree has %d", len(emitted), len(ref))
		}
		for idx, n := range ref {
			if emitted[idx] != n {
				t.Fatalf("node %d = %+v, want %+v", idx, emitted[idx], n)
			}
		}
		want, _ := flattree.FullRoots(2 * uint64(len(blocks)))
		if roots := gen.Roots(); len(roots) != len(want) {
			t.Fatalf("roots %v, want indexes %v", roots, want)
		}
		if len(blocks) > 0 {
			defer func() {
				if recover() == nil {
					t.Fatalf("AppendTree of node 1 at block %d did not panic", len(blocks))
				}
			}()
			gen.AppendTree(nil, Node{Index: 1})
		}
	})
}

func TestParentHashSymmetric(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		i := rapid.Uint64Range(0, 1<<40).Draw(t, "i")
		a := Node{Index: i, Size: rapid.Uint64().Draw(t, "a"), Hash: LeafHash([]byte{1})}
		b := Node{Index: flattree.Sibling(i), Size: rapid.Uint64().Draw(t, "b"), Hash: LeafHash([]byte{2})}
		if ParentNode(a, b) != ParentNode(b, a) {
			t.Fatal("ParentNode depends on argument order")
		}
	})
}

// TestSignVerify signs random trees and checks that the signature verifies
// and that any single-bit change of the signable, the signature or the key
// is rejected with ErrInvalidSignature.
func TestSignVerify(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		kp, _ := NewKeyPairFromSeed(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "seed"))
		gen := NewGenerator(nil)
		n := rapid.IntRange(1, 40).Draw(t, "blocks")
		for i := 0; i < n; i++ {
			gen.Next([]byte{byte(i)})
		}
		roots, length := gen.Roots(), gen.Blocks()
		sig, err := Sign(kp.SecretKey, roots, length)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(kp.PublicKey, roots, length, sig); err != nil {
			t.Fatalf("Verify = %v", err)
		}
		s := Signable(roots, length)
		bit := rapid.IntRange(0, 40*8-1).Draw(t, "signable bit")
		s[bit/8] ^= 0x80 >> (bit % 8)
		{
			// A change in the tree hash part fails both forms; a change in
			// the length part fails the 40-byte form, and the 32-byte
			// legacy form does not match a 40-byte signature either.
			if err := VerifySignable(kp.PublicKey, s, sig); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("flipped signable bit %d: Verify = %v", bit, err)
			}
		}
		sbit := rapid.IntRange(0, 64*8-1).Draw(t, "signature bit")
		bad := bytes.Clone(sig)
		bad[sbit/8] ^= 0x80 >> (sbit % 8)
		if err := Verify(kp.PublicKey, roots, length, bad); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("flipped signature bit %d: Verify = %v", sbit, err)
		}
	})
}

// TestVerifyCorruptsEachInput corrupts each input of a valid verification
// in turn.
func TestVerifyCorruptsEachInput(t *testing.T) {
	kp, _ := NewKeyPairFromSeed(make([]byte, 32))
	other, _ := NewKeyPairFromSeed(bytes.Repeat([]byte{1}, 32))
	gen := NewGenerator(nil)
	for i := 0; i < 11; i++ {
		gen.Next([]byte{byte(i)})
	}
	roots := append([]Node(nil), gen.Roots()...)
	sig, _ := Sign(kp.SecretKey, roots, 11)
	if err := Verify(kp.PublicKey, roots, 11, sig); err != nil {
		t.Fatal(err)
	}
	for i := range roots {
		for _, mutate := range []func(*Node){
			func(n *Node) { n.Hash[0] ^= 1 },
			func(n *Node) { n.Size++ },
			func(n *Node) { n.Index += 2 },
		} {
			bad := append([]Node(nil), roots...)
			mutate(&bad[i])
			if err := Verify(kp.PublicKey, bad, 11, sig); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("root %d corrupted: Verify = %v", i, err)
			}
		}
	}
	for _, c := range []struct {
		name   string
		key    ed25519.PublicKey
		roots  []Node
		length uint64
		sig    []byte
		want   error
	}{
		{"length", kp.PublicKey, roots, 12, sig, ErrInvalidSignature},
		{"length 0", kp.PublicKey, roots, 0, sig, ErrInvalidSignature},
		{"missing root", kp.PublicKey, roots[:len(roots)-1], 11, sig, ErrInvalidSignature},
		{"no roots", kp.PublicKey, nil, 11, sig, ErrInvalidSignature},
		{"wrong key", other.PublicKey, roots, 11, sig, ErrInvalidSignature},
		{"short signature", kp.PublicKey, roots, 11, sig[:63], ErrInvalidSignature},
		{"long signature", kp.PublicKey, roots, 11, append(bytes.Clone(sig), 0), ErrInvalidSignature},
		{"nil signature", kp.PublicKey, roots, 11, nil, ErrInvalidSignature},
		{"short key", kp.PublicKey[:31], roots, 11, sig, ErrInvalidKey},
		{"nil key", nil, roots, 11, sig, ErrInvalidKey},
	} {
		if err := Verify(c.key, c.roots, c.length, c.sig); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := Sign(kp.SecretKey[:63], roots, 11); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Sign with a short key = %v, want ErrInvalidKey", err)
	}
	if _, err := NewKeyPairFromSeed(make([]byte, 31)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("NewKeyPairFromSeed(31 bytes) = %v, want ErrInvalidKey", err)
	}
	if _, err := DiscoveryKey(make([]byte, 65)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("DiscoveryKey(65 bytes) = %v, want ErrInvalidKey", err)
	}
}

func BenchmarkLeafHash1K(b *testing.B)  { benchLeaf(b, 1<<10) }
func BenchmarkLeafHash64K(b *testing.B) { benchLeaf(b, 64<<10) }

func benchLeaf(b *testing.B, n int) {
	data := make([]byte, n)
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		LeafHash(data)
	}
}

func BenchmarkParentHash(b *testing.B) {
	x, y := LeafNode(0, []byte("a")), LeafNode(1, []byte("b"))
	b.ReportAllocs()
	for b.Loop() {
		ParentHash(x, y)
	}
}

func BenchmarkTreeHash(b *testing.B) {
	gen := NewGenerator(nil)
	for i := 0; i < 1023; i++ {
		gen.Next([]byte{1})
	}
	roots := gen.Roots()
	b.ReportAllocs()
	for b.Loop() {
		TreeHash(roots)
	}
}

func BenchmarkSign(b *testing.B) {
	kp, _ := NewKeyPairFromSeed(make([]byte, 32))
	roots := []Node{LeafNode(0, []byte("x"))}
	b.ReportAllocs()
	for b.Loop() {
		Sign(kp.SecretKey, roots, 1)
	}
}

func BenchmarkVerify(b *testing.B) {
	kp, _ := NewKeyPairFromSeed(make([]byte, 32))
	roots := []Node{LeafNode(0, []byte("x"))}
	sig, _ := Sign(kp.SecretKey, roots, 1)
	b.ReportAllocs()
	for b.Loop() {
		if Verify(kp.PublicKey, roots, 1, sig) != nil {
			b.Fatal("bad")
		}
	}
}

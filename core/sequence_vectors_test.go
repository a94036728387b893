package core

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/hypercore-go/hypercore/bitfield"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/vectors"
)

// treeBits lists the tree nodes a feed holds and the length of its tree
// bits, as JS's setBits(feed.tree) and feed.tree.bitfield.length give them.
func treeBits(f *Feed) (held []uint64, length uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	length = f.bits.Tree().Len()
	for i := uint64(0); i < length; i++ {
		if f.tree.Get(i) {
			held = append(held, i)
		}
	}
	return held, length
}

func heldOf(bits *bitfield.Sparse) []uint64 {
	var held []uint64
	for i := uint64(0); i < bits.Len(); i++ {
		if bits.Get(i) {
			held = append(held, i)
		}
	}
	return held
}

// TestFeedSequenceVectors replays the request sequences that tree-index.json
// recorded between two real JS feeds (the guide's step 2) with two Go
// feeds: a writer that appends as the JS writer did, and a sparse reader
// that sends the digest, receives the writer's proof and Puts it. At every
// step the Go reader must hold the tree nodes the JS clone held before and
// after, reach the same length, and the Go writer must build the same
// proof and remote tree.
func TestFeedSequenceVectors(t *testing.T) {
	v, err := vectors.LoadTreeIndex()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range v.Feeds {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name("tree-index.json"), func(t *testing.T) {
				w := vectorWriter(t, nil)
				defer w.Close()
				if _, err := w.Append([]byte("hello"), []byte("world")); err != nil {
					t.Fatal(err)
				}
				r, err := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				remoteBits := bitfield.NewSparse()
				remote := bitfield.NewTreeIndex(remoteBits)
				for k, s := range tc.Steps {
					for i := w.Length() - 2; w.Length() < s.WriterLength; i++ {
						if _, err := w.Append([]byte(fmt.Sprintf("New Block %d", i))); err != nil {
							t.Fatal(err)
						}
					}
					if w.Length() != s.WriterLength {
						t.Fatalf("step %d: writer length %d, JS %d", k, w.Length(), s.WriterLength)
					}
					if held, l := treeBits(r); !equalNodes(held, s.RequesterHeld) || l != s.RequesterTreeLength {
						t.Fatalf("step %d: reader holds %v (tree length %d) before, JS clone %v (%d)", k, held, l, s.RequesterHeld, s.RequesterTreeLength)
					}
					digest := r.LowLevel().Digest(s.Index)
					if digest != s.Digest {
						t.Errorf("step %d: Digest(%d) = %d, want %d", k, s.Index, digest, s.Digest)
					}
					p, err := w.LowLevel().Proof(s.Index, digest, s.Hash, remote)
					if err != nil {
						t.Fatalf("step %d: Proof = %v", k, err)
					}
					var idx []uint64
					for _, nd := range p.Nodes {
						idx = append(idx, nd.Index)
					}
					if !equalNodes(idx, s.Nodes) || (p.Signature != nil) != s.Signature {
						t.Errorf("step %d: Proof nodes %v, signature %v; want %v, %v", k, idx, p.Signature != nil, s.Nodes, s.Signature)
					}
					if got := heldOf(remoteBits); !equalNodes(got, s.RemoteHeldAfter) {
						t.Errorf("step %d: writer's remote tree holds %v, want %v", k, got, s.RemoteHeldAfter)
					}
					var value []byte
					if !s.Hash {
						if value, err = w.Get(s.Index); err != nil {
							t.Fatal(err)
						}
					}
					if (s.Value == nil) != (value == nil) || (s.Value != nil && !bytes.Equal(value, []byte(*s.Value))) {
						t.Errorf("step %d: value %q, JS sent %v", k, value, s.Value)
					}
					if _, err := r.LowLevel().Put(s.Index, value, p); err != nil {
						t.Fatalf("step %d: Put = %v", k, err)
					}
					held, l := treeBits(r)
					if !equalNodes(held, s.RequesterHeldAfter) || l != s.RequesterTreeLengthAfter {
						t.Errorf("step %d: reader holds %v (tree length %d) after, JS clone %v (%d)", k, held, l, s.RequesterHeldAfter, s.RequesterTreeLengthAfter)
					}
					if r.Length() != s.RequesterLengthAfter {
						t.Errorf("step %d: reader length %d after, JS clone %d", k, r.Length(), s.RequesterLengthAfter)
					}
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no feed sequence vectors")
	}
}

func equalNodes(a, b []uint64) bool {
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

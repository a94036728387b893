package store

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// TestModel runs random appends, truncations, clears, puts and reopens on
// a writer's store and compares every read with a model: the blocks of the
// current fork and which of them are stored.
func TestModel(t *testing.T) {
	c := newTestCore(t, "model")
	rapid.Check(t, func(rt *rapid.T) {
		mem := storage.NewMemory()
		s := mustOpen(t, noClose{mem})
		createCore(t, s, c)
		var blocks [][]byte
		var present []bool
		var fork uint64
		add := func(n int) [][]byte {
			var out [][]byte
			for k := 0; k < n; k++ {
				i := uint64(len(blocks))
				b := testBlock(fork, i)
				blocks = append(blocks, b)
				present = append(present, true)
				out = append(out, b)
			}
			return out
		}
		steps := rapid.IntRange(1, 40).Draw(rt, "steps")
		for step := 0; step < steps; step++ {
			switch op := rapid.IntRange(0, 9).Draw(rt, "op"); {
			case op < 4:
				if bs := add(rapid.IntRange(1, 40).Draw(rt, "append")); len(bs) > 0 {
					appendBlocks(t, s, c, bs...)
				}
			case op < 6:
				to := rapid.IntRange(0, len(blocks)).Draw(rt, "truncate")
				blocks, present = blocks[:to], present[:to]
				fork++
				truncateCore(t, s, c, uint64(to), add(rapid.IntRange(0, 5).Draw(rt, "then append"))...)
			case op < 8:
				if len(blocks) == 0 {
					continue
				}
				a := rapid.IntRange(0, len(blocks)-1).Draw(rt, "clear from")
				e := rapid.IntRange(a, len(blocks)+3).Draw(rt, "clear to")
				var b Batch
				b.ClearBlocks(uint64(a), uint64(e))
				for i := a; i < min(e, len(blocks)); i++ {
					present[i] = false
				}
				if rapid.Bool().Draw(rt, "put one back") {
					i := rapid.IntRange(0, len(blocks)-1).Draw(rt, "put back")
					b.PutBlock(uint64(i), blocks[i])
					present[i] = true
				}
				if err := s.Commit(&b); err != nil {
					rt.Fatalf("Commit(clear [%d, %d)) = %v", a, e, err)
				}
			case op == 8:
				s.Close()
				s = mustOpen(t, noClose{mem})
			default:
				// put back every cleared block
				var b Batch
				for i := range blocks {
					if !present[i] {
						b.PutBlock(uint64(i), blocks[i])
						present[i] = true
					}
				}
				if err := s.Commit(&b); err != nil {
					rt.Fatalf("Commit(put back) = %v", err)
				}
			}
			checkModel(rt, s, c, fork, blocks, present)
		}
		s.Close()
	})
}

func checkModel(t *rapid.T, s *Store, c *testCore, fork uint64, blocks [][]byte, present []bool) {
	h := s.Header()
	n := uint64(len(blocks))
	if h.Tree.Length != n || h.Tree.Fork != fork {
		t.Fatalf("header fork %d length %d, model %d %d", h.Tree.Fork, h.Tree.Length, fork, n)
	}
	tree, all := fullTree(fork, blocks)
	if !equalNodes(tree.Roots, h.Tree.Roots) {
		t.Fatalf("roots %v, model %v", h.Tree.Roots, tree.Roots)
	}
	if err := c.v.Verify(&h.Tree, h.Signature); err != nil {
		t.Fatalf("signature: %v", err)
	}
	contig := n
	var off uint64
	for i := uint64(0); i < n; i++ {
		data, ok, err := s.Block(i)
		if err != nil || ok != present[i] || (ok && !bytes.Equal(data, blocks[i])) {
			t.Fatalf("Block(%d) = %x, %v, %v; model %x, %v", i, data, ok, err, blocks[i], present[i])
		}
		if s.Has(i) != present[i] {
			t.Fatalf("Has(%d) = %v", i, !present[i])
		}
		if !present[i] {
			contig = min(contig, i)
		}
		if got, err := s.ByteOffset(i); err != nil || got != off {
			t.Fatalf("ByteOffset(%d) = %d, %v; want %d", i, got, err, off)
		}
		off += uint64(len(blocks[i]))
		if leaf, ok, err := s.Node(2 * i); err != nil || !ok || leaf != merkle.LeafNode(2*i, blocks[i]) {
			t.Fatalf("Node(%d) = %v, %v, %v", 2*i, leaf, ok, err)
		}
	}
	for i := uint64(0); i < 2*n+4; i++ {
		got, ok, err := s.Node(i)
		want, exists := all[i]
		if err != nil || ok != exists || (ok && got != want) {
			t.Fatalf("Node(%d) = %v, %v, %v; model %v, %v", i, got, ok, err, want, exists)
		}
	}
	if got := s.Contiguous(); got != contig {
		t.Fatalf("Contiguous() = %d, model %d", got, contig)
	}
	for from := uint64(0); from <= n; from += 1 + n/7 {
		m, p := from, n
		for m < n && present[m] {
			m++
		}
		for k := from; k < n; k++ {
			if present[k] {
				p = k
				break
			}
		}
		if got, err := s.FirstMissing(from); err != nil || got != m {
			t.Fatalf("FirstMissing(%d) = %d, %v; model %d", from, got, err, m)
		}
		got, ok, err := s.FirstPresent(from)
		if err != nil || ok != (p < n) || (ok && got != p) {
			t.Fatalf("FirstPresent(%d) = %d, %v, %v; model %d", from, got, ok, err, p)
		}
	}
	checkFileEnds(t, s)
}

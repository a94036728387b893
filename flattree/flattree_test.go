package flattree_test

import (
	"errors"
	"math/bits"
	"slices"
	"testing"

	"pgregory.net/rapid"

	. "github.com/hypercore-go/hypercore/flattree"
)

// node draws an index whose parent chain stays inside uint64 for a few
// levels.
func node(t *rapid.T, label string) uint64 {
	return rapid.Uint64Range(0, 1<<60).Draw(t, label)
}

func TestIndexRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		i := node(t, "i")
		if got := Index(Depth(i), Offset(i)); got != i {
			t.Fatalf("Index(Depth(%d), Offset(%d)) = %d", i, i, got)
		}
		d := rapid.Uint64Range(0, 40).Draw(t, "depth")
		o := rapid.Uint64Range(0, 1<<20).Draw(t, "offset")
		j := Index(d, o)
		if Depth(j) != d || Offset(j) != o {
			t.Fatalf("Index(%d, %d) = %d with depth %d offset %d", d, o, j, Depth(j), Offset(j))
		}
	})
}

func TestParentChildrenSibling(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		i := node(t, "i")
		p := Parent(i)
		l, r, ok := Children(p)
		if !ok || (l != i && r != i) {
			t.Fatalf("Children(Parent(%d)) = %d, %d, %v: does not contain %d", i, l, r, ok, i)
		}
		s := Sibling(i)
		if s == i || Parent(s) != p || Sibling(s) != i {
			t.Fatalf("Sibling(%d) = %d (parent %d, its sibling %d), parent %d", i, s, Parent(s), Sibling(s), p)
		}
		if Depth(p) != Depth(i)+1 {
			t.Fatalf("Depth(Parent(%d)) = %d, want %d", i, Depth(p), Depth(i)+1)
		}
		if l > r || l >= p || r <= p {
			t.Fatalf("children of %d are %d, %d: want left < parent < right", p, l, r)
		}
		if Uncle(i) != Sibling(p) {
			t.Fatalf("Uncle(%d) = %d, want %d", i, Uncle(i), Sibling(p))
		}
		if i&1 == 0 {
			if _, _, ok := Children(i); ok {
				t.Fatalf("leaf %d has children", i)
			}
		}
	})
}

// TestSpansCoverLeaves checks that LeftSpan..RightSpan are exactly the leaves
// under a node, by walking down to them.
func TestSpansCoverLeaves(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		i := rapid.Uint64Range(0, 1<<14).Draw(t, "i")
		var leaves []uint64
		var walk func(n uint64)
		walk = func(n uint64) {
			l, r, ok := Children(n)
			if !ok {
				leaves = append(leaves, n)
				return
			}
			walk(l)
			walk(r)
		}
		walk(i)
		ls, rs := Spans(i)
		if leaves[0] != ls || leaves[len(leaves)-1] != rs {
			t.Fatalf("Spans(%d) = %d, %d; leaves run %d..%d", i, ls, rs, leaves[0], leaves[len(leaves)-1])
		}
		for k := 1; k < len(leaves); k++ {
			if leaves[k] != leaves[k-1]+2 {
				t.Fatalf("leaves of %d are not contiguous: %v", i, leaves)
			}
		}
		if uint64(len(leaves)) != CountLeaves(i) || Count(i) != 2*CountLeaves(i)-1 {
			t.Fatalf("node %d: %d leaves, CountLeaves %d, Count %d", i, len(leaves), CountLeaves(i), Count(i))
		}
		if NextLeaf(i) != rs+2 {
			t.Fatalf("NextLeaf(%d) = %d, want %d", i, NextLeaf(i), rs+2)
		}
	})
}

// TestFullRootsPartition checks that FullRoots(2n) covers blocks [0, n)
// exactly, left to right, with perfect subtrees of decreasing size, one per
// set bit of n.
func TestFullRootsPartition(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.Uint64Range(0, 1<<62).Draw(t, "n")
		roots, err := FullRoots(2 * n)
		if err != nil {
			t.Fatal(err)
		}
		if len(roots) != bits.OnesCount64(n) {
			t.Fatalf("FullRoots(%d) has %d roots, want %d", 2*n, len(roots), bits.OnesCount64(n))
		}
		next := uint64(0)
		for k, r := range roots {
			if LeftSpan(r) != next {
				t.Fatalf("FullRoots(%d)[%d] = %d starts at %d, want %d", 2*n, k, r, LeftSpan(r), next)
			}
			if k > 0 && Depth(r) >= Depth(roots[k-1]) {
				t.Fatalf("FullRoots(%d) depths not decreasing: %v", 2*n, roots)
			}
			next = RightSpan(r) + 2
		}
		if next != 2*n {
			t.Fatalf("FullRoots(%d) covers up to %d", 2*n, next)
		}
		if _, err := FullRoots(2*n + 1); !errors.Is(err, ErrOddIndex) {
			t.Fatalf("FullRoots(odd) error = %v", err)
		}
	})
}

// TestPatchGrowsRoots checks that the last entries of Patch(from, to) are the
// new roots that are not old roots, and that every node in it lies inside
// the new tree.
func TestPatchGrowsRoots(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		from := 2 * rapid.Uint64Range(1, 5000).Draw(t, "from")
		to := from + 2*rapid.Uint64Range(1, 5000).Draw(t, "delta")
		p, err := Patch(from, to)
		if err != nil {
			t.Fatal(err)
		}
		target, _ := FullRoots(to)
		old, _ := FullRoots(from)
		for _, x := range p {
			if RightSpan(x) >= to {
				t.Fatalf("Patch(%d, %d) contains %d beyond the new tree", from, to, x)
			}
			if slices.Contains(old, x) {
				t.Fatalf("Patch(%d, %d) contains old root %d", from, to, x)
			}
		}
		for _, r := range target {
			if !slices.Contains(old, r) && !slices.Contains(p, r) {
				t.Fatalf("Patch(%d, %d) = %v misses new root %d", from, to, p, r)
			}
		}
	})
}

// TestIteratorAgrees checks the iterator's moves against the functions.
func TestIteratorAgrees(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		i := rapid.Uint64Range(0, 1<<40).Draw(t, "i")
		it := NewIterator(i)
		if it.Index() != i || it.Offset() != Offset(i) || it.Factor() != 2*CountLeaves(i) {
			t.Fatalf("NewIterator(%d) state (%d, %d, %d)", i, it.Index(), it.Offset(), it.Factor())
		}
		checks := []struct {
			name string
			move func(*Iterator) uint64
			want uint64
		}{
			{"Parent", (*Iterator).Parent, Parent(i)},
			{"Sibling", (*Iterator).Sibling, Sibling(i)},
			{"LeftSpan", (*Iterator).LeftSpan, LeftSpan(i)},
			{"RightSpan", (*Iterator).RightSpan, RightSpan(i)},
			{"NextTree", (*Iterator).NextTree, NextLeaf(i)},
			{"Next", (*Iterator).Next, Index(Depth(i), Offset(i)+1)},
		}
		for _, c := range checks {
			it := NewIterator(i)
			if got := c.move(it); got != c.want || it.Index() != c.want {
				t.Fatalf("%s from %d = %d (index %d), want %d", c.name, i, got, it.Index(), c.want)
			}
			if it.Offset() != Offset(it.Index()) || it.Factor() != 2*CountLeaves(it.Index()) {
				t.Fatalf("%s from %d: state (%d, %d, %d) inconsistent", c.name, i, it.Index(), it.Offset(), it.Factor())
			}
		}
		if i&1 == 1 {
			l, r, _ := Children(i)
			if got := NewIterator(i).LeftChild(); got != l {
				t.Fatalf("LeftChild from %d = %d, want %d", i, got, l)
			}
			if got := NewIterator(i).RightChild(); got != r {
				t.Fatalf("RightChild from %d = %d, want %d", i, got, r)
			}
		}
		// the subtree's nodes, leaves and parents, run from its left span
		// to its right span
		j := rapid.Uint64Range(0, 1<<41).Draw(t, "j")
		ls, rs := Spans(i)
		if in := ls <= j && j <= rs; NewIterator(i).Contains(j) != in {
			t.Fatalf("iterator at %d: Contains(%d) = %v, want %v", i, j, !in, in)
		}
	})
}

func TestZeroIterator(t *testing.T) {
	var it Iterator
	if it.Index() != 0 || it.Factor() != 2 || it.Parent() != 1 || it.Parent() != 3 {
		t.Fatalf("zero Iterator does not behave as NewIterator(0)")
	}
}

// TestLargeIndexes checks uint64 results past where JS is exact.
func TestLargeIndexes(t *testing.T) {
	top := uint64(1)<<63 - 1 // depth 63, the root over 2^63 leaves
	if Depth(top) != 63 || Offset(top) != 0 || LeftSpan(top) != 0 || RightSpan(top) != 1<<64-2 {
		t.Errorf("node 2^63-1: depth %d offset %d spans %d..%d", Depth(top), Offset(top), LeftSpan(top), RightSpan(top))
	}
	if got := Parent(1<<54 - 2); got != 1<<54-3 {
		t.Errorf("Parent(2^54-2) = %d, want %d", got, uint64(1<<54-3))
	}
	roots, _ := FullRoots(1<<63 - 2)
	if len(roots) != 62 || roots[0] != 1<<61-1 {
		t.Errorf("FullRoots(2^63-2) = %d roots starting %d", len(roots), roots[0])
	}
}

package flattree_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/blake2b"

	. "github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/vectors"
)

func load(t *testing.T) *vectors.FlatTree {
	t.Helper()
	v, err := vectors.LoadFlatTree()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantU64 compares a Go result with a JS one; an inexact JS result (flag
// BeyondExact) is not compared.
func wantU64(t *testing.T, name string, i, got uint64, want vectors.Num) {
	t.Helper()
	if !want.Inexact && got != want.V {
		t.Errorf("%s(%d) = %d, want %d", name, i, got, want.V)
	}
}

// wantChild compares LeftChild or RightChild with JS: nil (null) means the
// node is a leaf and has none.
func wantChild(t *testing.T, name string, i, got uint64, ok bool, want *vectors.Num) {
	t.Helper()
	if ok != (want != nil) {
		t.Errorf("%s(%d) ok = %v, want %v", name, i, ok, want != nil)
		return
	}
	if ok {
		wantU64(t, name, i, got, *want)
	}
}

func TestNodeVectors(t *testing.T) {
	v := load(t)
	n := 0
	for _, g := range v.Nodes {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name("flattree.json"), func(t *testing.T) {
				i := tc.Index
				if got := Depth(i); got != tc.Depth {
					t.Errorf("Depth(%d) = %d, want %d", i, got, tc.Depth)
				}
				if got := Offset(i); got != tc.Offset {
					t.Errorf("Offset(%d) = %d, want %d", i, got, tc.Offset)
				}
				wantU64(t, "Parent", i, Parent(i), tc.Parent)
				wantU64(t, "Sibling", i, Sibling(i), tc.Sibling)
				l, r, ok := Children(i)
				if ok != (tc.Children != nil) {
					t.Errorf("Children(%d) ok = %v, want %v", i, ok, tc.Children != nil)
				} else if ok {
					wantU64(t, "Children[0]", i, l, tc.Children[0])
					wantU64(t, "Children[1]", i, r, tc.Children[1])
				}
				lc, ok := LeftChild(i)
				wantChild(t, "LeftChild", i, lc, ok, tc.LeftChild)
				rc, ok := RightChild(i)
				wantChild(t, "RightChild", i, rc, ok, tc.RightChild)
				if tc.HasFlag("BeyondExact") != hasInexact(tc) {
					t.Errorf("flag BeyondExact = %v, but inexact results: %v", tc.HasFlag("BeyondExact"), hasInexact(tc))
				}
				wantU64(t, "LeftSpan", i, LeftSpan(i), tc.LeftSpan)
				wantU64(t, "RightSpan", i, RightSpan(i), tc.RightSpan)
				ls, rs := Spans(i)
				wantU64(t, "Spans[0]", i, ls, tc.LeftSpan)
				wantU64(t, "Spans[1]", i, rs, tc.RightSpan)
				wantU64(t, "Count", i, Count(i), tc.Count)
				wantU64(t, "CountLeaves", i, CountLeaves(i), tc.CountLeaves)
				wantU64(t, "NextLeaf", i, NextLeaf(i), tc.NextLeaf)
			})
		}
	}
	for _, g := range v.Index {
		for _, tc := range g.Tests {
			n++
			if got := Index(tc.Depth, tc.Offset); got != tc.Index {
				t.Errorf("%s: Index(%d, %d) = %d, want %d", tc.Name("flattree.json"), tc.Depth, tc.Offset, got, tc.Index)
			}
		}
	}
	if n < 200 {
		t.Fatalf("only %d node and index cases ran", n)
	}
}

// hasInexact reports whether any result of tc is "inexact".
func hasInexact(tc vectors.NodeTest) bool {
	all := []vectors.Num{tc.Parent, tc.Sibling, tc.LeftSpan, tc.RightSpan, tc.Count, tc.CountLeaves, tc.NextLeaf}
	all = append(all, tc.Children...)
	for _, c := range []*vectors.Num{tc.LeftChild, tc.RightChild} {
		if c != nil {
			all = append(all, *c)
		}
	}
	for _, n := range all {
		if n.Inexact {
			return true
		}
	}
	return false
}

func TestRootsVectors(t *testing.T) {
	v := load(t)
	run := func(groups []vectors.Group[vectors.RootsTest], name string, f func(uint64) ([]uint64, error)) {
		if len(groups) == 0 {
			t.Fatalf("no %s vectors", name)
		}
		for _, g := range groups {
			for _, tc := range g.Tests {
				got, err := f(tc.Index)
				if !tc.Valid() {
					if !errors.Is(err, ErrOddIndex) {
						t.Errorf("%s: %s(%d) error = %v, want ErrOddIndex", tc.Name("flattree.json"), name, tc.Index, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %s(%d) error = %v", tc.Name("flattree.json"), name, tc.Index, err)
				}
				if diff := cmp.Diff(tc.Roots, got, cmpNilEmpty); diff != "" {
					t.Errorf("%s: %s(%d) mismatch (-want +got):\n%s", tc.Name("flattree.json"), name, tc.Index, diff)
				}
			}
		}
	}
	run(v.FullRoots, "FullRoots", FullRoots)
	run(v.FutureRoots, "FutureRoots", FutureRoots)
}

// cmpNilEmpty treats a nil slice and an empty one as equal: JSON writes [],
// Go functions may return nil.
var cmpNilEmpty = cmp.Comparer(func(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
})

func TestPatchVectors(t *testing.T) {
	v := load(t)
	if len(v.Patch) == 0 {
		t.Fatal("no patch vectors")
	}
	for _, g := range v.Patch {
		for _, tc := range g.Tests {
			got, err := Patch(tc.From, tc.To)
			if !tc.Valid() {
				if !errors.Is(err, ErrOddIndex) {
					t.Errorf("%s: Patch(%d, %d) error = %v, want ErrOddIndex", tc.Name("flattree.json"), tc.From, tc.To, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: Patch error %v", tc.Name("flattree.json"), err)
			}
			if diff := cmp.Diff(tc.Nodes, got, cmpNilEmpty); diff != "" {
				t.Errorf("%s: Patch(%d, %d) mismatch (-want +got):\n%s", tc.Name("flattree.json"), tc.From, tc.To, diff)
			}
		}
	}
}

// move applies a named JS iterator move and returns what it returned, as
// uint64 or bool.
func move(it *Iterator, name string, arg uint64) (any, error) {
	switch name {
	case "next":
		return it.Next(), nil
	case "prev":
		return it.Prev(), nil
	case "parent":
		return it.Parent(), nil
	case "sibling":
		return it.Sibling(), nil
	case "leftChild":
		return it.LeftChild(), nil
	case "rightChild":
		return it.RightChild(), nil
	case "leftSpan":
		return it.LeftSpan(), nil
	case "rightSpan":
		return it.RightSpan(), nil
	case "peekLeftSpan":
		return it.PeekLeftSpan(), nil
	case "peekRightSpan":
		return it.PeekRightSpan(), nil
	case "nextTree":
		return it.NextTree(), nil
	case "prevTree":
		return it.PrevTree(), nil
	case "isLeft":
		return it.IsLeft(), nil
	case "isRight":
		return it.IsRight(), nil
	case "count":
		return it.Count(), nil
	case "countLeaves":
		return it.CountLeaves(), nil
	case "isRoot":
		return it.IsRoot(arg), nil
	case "contains":
		return it.Contains(arg), nil
	case "fullRoot":
		return it.FullRoot(arg), nil
	case "seek":
		it.Seek(arg)
		return nil, nil
	}
	return nil, fmt.Errorf("unknown move %q", name)
}

func TestIteratorVectors(t *testing.T) {
	v := load(t)
	steps := 0
	for _, g := range v.Iterator {
		for _, tc := range g.Tests {
			t.Run(tc.Name("flattree.json"), func(t *testing.T) {
				it := NewIterator(tc.Start)
				for k, s := range tc.Steps {
					steps++
					var arg uint64
					if s.Arg != nil {
						arg = *s.Arg
					}
					got, err := move(it, s.Move, arg)
					if err != nil {
						t.Fatal(err)
					}
					want := s.Returned
					if f, ok := want.(float64); ok {
						want = uint64(f)
					}
					if got != want {
						t.Fatalf("step %d: %s(%d) returned %v, want %v", k, s.Move, arg, got, want)
					}
					if it.Index() != s.Index || it.Offset() != s.Offset || it.Factor() != s.Factor {
						t.Fatalf("step %d: after %s(%d) state = (index %d, offset %d, factor %d), want (%d, %d, %d)",
							k, s.Move, arg, it.Index(), it.Offset(), it.Factor(), s.Index, s.Offset, s.Factor)
					}
				}
			})
		}
	}
	if steps < 500 {
		t.Fatalf("only %d iterator steps ran", steps)
	}
}

// digester writes values as uint64be into BLAKE2b-256, as the JS generator
// does (spec/flattree.md, "Accumulated digests"), and takes the checkpoints
// the vectors give: at is called before each outer-loop value i and records
// the digest so far for every checkpoint end ≤ i.
type digester struct {
	h       hash.Hash
	buf     [8]byte
	pending []uint64
	got     []vectors.Checkpoint
}

const none = ^uint64(0)

func newDigester(limit uint64) *digester {
	h, _ := blake2b.New256(nil)
	return &digester{h: h, pending: checkpointEnds(limit)}
}

// checkpointEnds are the ends of the checkpoints: every power of two up to
// limit and every multiple of limit/16.
func checkpointEnds(limit uint64) []uint64 {
	set := map[uint64]bool{}
	for e := uint64(1); e <= limit; e *= 2 {
		set[e] = true
	}
	for e := limit / 16; e <= limit; e += limit / 16 {
		set[e] = true
	}
	var ends []uint64
	for e := range set {
		ends = append(ends, e)
	}
	slices.Sort(ends)
	return ends
}

func (d *digester) at(i uint64) {
	for len(d.pending) > 0 && d.pending[0] <= i {
		d.got = append(d.got, vectors.Checkpoint{End: d.pending[0], Digest: d.h.Sum(nil)})
		d.pending = d.pending[1:]
	}
}

// done records the remaining checkpoints and returns them with the digest.
func (d *digester) done(limit uint64) ([]byte, []vectors.Checkpoint) {
	d.at(limit)
	return d.h.Sum(nil), d.got
}

func (d *digester) u64(v uint64) {
	binary.BigEndian.PutUint64(d.buf[:], v)
	d.h.Write(d.buf[:])
}

func (d *digester) opt(v uint64, ok bool) {
	if !ok {
		v = none
	}
	d.u64(v)
}

func (d *digester) bool(b bool) {
	if b {
		d.u64(1)
	} else {
		d.u64(0)
	}
}

func (d *digester) list(l []uint64) {
	d.u64(uint64(len(l)))
	for _, x := range l {
		d.u64(x)
	}
}

func digestNodes(limit uint64) ([]byte, []vectors.Checkpoint) {
	d := newDigester(limit)
	for i := uint64(0); i < limit; i++ {
		d.at(i)
		d.u64(Depth(i))
		d.u64(Offset(i))
		d.u64(Parent(i))
		d.u64(Sibling(i))
		d.opt(LeftChild(i))
		d.opt(RightChild(i))
		d.u64(LeftSpan(i))
		d.u64(RightSpan(i))
		d.u64(Count(i))
		d.u64(CountLeaves(i))
		d.u64(NextLeaf(i))
	}
	return d.done(limit)
}

func digestRoots(limit uint64) ([]byte, []vectors.Checkpoint) {
	d := newDigester(limit)
	for i := uint64(0); i < limit; i += 2 {
		d.at(i)
		full, _ := FullRoots(i)
		d.list(full)
		future, _ := FutureRoots(i)
		d.list(future)
	}
	return d.done(limit)
}

func digestPatch(limit uint64) ([]byte, []vectors.Checkpoint) {
	d := newDigester(limit)
	for from := uint64(0); from < limit; from += 2 {
		d.at(from)
		for to := uint64(0); to < limit; to += 2 {
			p, _ := Patch(from, to)
			d.list(p)
		}
	}
	return d.done(limit)
}

var iterMoves = []string{"next", "prev", "parent", "sibling", "leftChild", "rightChild", "leftSpan", "rightSpan",
	"peekLeftSpan", "peekRightSpan", "nextTree", "prevTree", "isLeft", "isRight", "count", "countLeaves"}

func digestIterator(limit uint64) ([]byte, []vectors.Checkpoint) {
	d := newDigester(limit)
	for i := uint64(0); i < limit; i++ {
		d.at(i)
		for _, m := range iterMoves {
			it := NewIterator(i)
			r, _ := move(it, m, 0)
			switch r := r.(type) {
			case uint64:
				d.u64(r)
			case bool:
				d.bool(r)
			}
			d.u64(it.Index())
			d.u64(it.Offset())
			d.u64(it.Factor())
		}
		for _, length := range []uint64{0, 1, 2, 3, 64, 1000} {
			d.bool(NewIterator(i).IsRoot(length))
		}
	}
	return d.done(limit)
}

// TestDigestVectors recomputes every accumulated digest and compares it
// and each checkpoint with JS; the first checkpoint that differs names the
// range of indexes where Go and JS first disagree.
func TestDigestVectors(t *testing.T) {
	v := load(t)
	recipes := map[string]func(uint64) ([]byte, []vectors.Checkpoint){
		"nodes": digestNodes, "roots": digestRoots, "patch": digestPatch, "iterator": digestIterator,
	}
	seen := map[string]bool{}
	for _, g := range v.Digest {
		for _, tc := range g.Tests {
			f, ok := recipes[tc.Recipe]
			if !ok {
				t.Fatalf("%s: unknown recipe %q", tc.Name("flattree.json"), tc.Recipe)
			}
			seen[tc.Recipe] = true
			got, cps := f(tc.Limit)
			if hex.EncodeToString(got) != tc.Digest.String() {
				t.Errorf("%s: digest %s below %d = %x, want %s", tc.Name("flattree.json"), tc.Recipe, tc.Limit, got, tc.Digest)
			}
			if len(cps) != len(tc.Checkpoints) {
				t.Errorf("%s: %d checkpoints, want %d", tc.Name("flattree.json"), len(cps), len(tc.Checkpoints))
				continue
			}
			for k, want := range tc.Checkpoints {
				if cps[k].End != want.End || !bytes.Equal(cps[k].Digest, want.Digest) {
					t.Errorf("%s: checkpoint %d: digest below %d = %x, want below %d = %s (the first difference is below this end)",
						tc.Name("flattree.json"), k, cps[k].End, cps[k].Digest, want.End, want.Digest)
					break
				}
			}
		}
	}
	if len(seen) != len(recipes) {
		t.Errorf("digest recipes in the vectors: %v, want all of %d", seen, len(recipes))
	}
}

// Package flattree implements the flat-tree numbering of Hypercore's binary
// Merkle tree, specified in spec/flattree.md and matching npm flat-tree 1.13.0.
//
// Every node of the tree has one index. Leaves (blocks) sit at even indexes,
// block b at node 2b; parents sit at odd indexes between their children:
//
//	      3
//	  1       5
//	0   2   4   6
//
// A node's depth is the number of trailing one bits of its index and its
// offset is its position among the nodes of the same depth, counted from 0.
//
// All functions work on uint64 and are exact for every index whose results
// fit in 64 bits; the JS reference computes with float64 and is exact only
// below 2^53 (spec/flattree.md, "Large indexes").
package flattree

import (
	"errors"
	"math/bits"
)

// ErrOddIndex is returned by [FullRoots], [FutureRoots] and [Patch] when given
// a parent (odd) index where a leaf index is required. The JS reference
// throws "You can only look up roots for depth(0) blocks" in that case.
var ErrOddIndex = errors.New("flattree: index must be even (a leaf)")

// Index returns the index of the node at the given depth and offset.
//
//	index(depth, offset) = (2·offset + 1) · 2^depth − 1
func Index(depth, offset uint64) uint64 {
	return (2*offset+1)<<depth - 1
}

// Depth returns the depth of node i: the number of trailing one bits of i.
// Leaves have depth 0.
func Depth(i uint64) uint64 {
	return uint64(bits.TrailingZeros64(^i))
}

// Offset returns the position of node i among the nodes of its depth.
//
//	offset(i) = i >> (depth(i) + 1)
func Offset(i uint64) uint64 {
	return i >> (Depth(i) + 1)
}

// Parent returns the index of the parent of node i.
func Parent(i uint64) uint64 {
	d := Depth(i)
	return Index(d+1, Offset(i)>>1)
}

// Sibling returns the index of the other child of i's parent.
func Sibling(i uint64) uint64 {
	d := Depth(i)
	return Index(d, Offset(i)^1)
}

// Uncle returns the sibling of i's parent.
func Uncle(i uint64) uint64 {
	return Sibling(Parent(i))
}

// Children returns the two children of node i. Leaves have none: ok is
// false (JS returns null).
func Children(i uint64) (left, right uint64, ok bool) {
	if i&1 == 0 {
		return 0, 0, false
	}
	d := Depth(i)
	o := Offset(i) * 2
	return Index(d-1, o), Index(d-1, o+1), true
}

// LeftChild returns the left child of node i; ok is false for a leaf (JS
// returns -1).
func LeftChild(i uint64) (child uint64, ok bool) {
	l, _, ok := Children(i)
	return l, ok
}

// RightChild returns the right child of node i; ok is false for a leaf (JS
// returns -1).
func RightChild(i uint64) (child uint64, ok bool) {
	_, r, ok := Children(i)
	return r, ok
}

// LeftSpan returns the leftmost leaf under node i (i itself for a leaf).
//
//	leftSpan(i) = offset(i) · 2^(depth(i)+1) = i − 2^depth(i) + 1
//
// The second form is the one computed: it cannot overflow.
func LeftSpan(i uint64) uint64 {
	if i&1 == 0 {
		return i
	}
	return i - 1<<Depth(i) + 1
}

// RightSpan returns the rightmost leaf under node i (i itself for a leaf).
//
//	rightSpan(i) = (offset(i) + 1) · 2^(depth(i)+1) − 2 = i + 2^depth(i) − 1
//
// The second form is the one computed: it overflows only for the node
// 2^64 − 1, whose subtree does not fit in uint64.
func RightSpan(i uint64) uint64 {
	if i&1 == 0 {
		return i
	}
	return i + 1<<Depth(i) - 1
}

// Spans returns LeftSpan(i) and RightSpan(i).
func Spans(i uint64) (left, right uint64) {
	return LeftSpan(i), RightSpan(i)
}

// Count returns the number of nodes in the subtree rooted at i, i included.
//
//	count(i) = 2^(depth(i)+1) − 1
func Count(i uint64) uint64 {
	return 1<<(Depth(i)+1) - 1
}

// CountLeaves returns the number of leaves (blocks) under node i.
//
//	countLeaves(i) = 2^depth(i)
func CountLeaves(i uint64) uint64 {
	return 1 << Depth(i)
}

// NextLeaf returns the first leaf to the right of the subtree of i, that is
// RightSpan(i) + 2.
func NextLeaf(i uint64) uint64 {
	return RightSpan(i) + 2
}

// FullRoots returns the roots of the largest perfect subtrees that together
// cover exactly the leaves left of leaf index i, that is blocks [0, i/2),
// from left to right. i must be even.
//
// The rule (spec/flattree.md, "Full roots"): with n = i/2 blocks still to
// cover and the next free leaf at off, take the largest power of two f ≤ n,
// emit the root off + f − 1, then off += 2f and n −= f, until n is 0.
func FullRoots(i uint64) ([]uint64, error) {
	return AppendFullRoots(nil, i)
}

// AppendFullRoots is FullRoots appending to dst.
func AppendFullRoots(dst []uint64, i uint64) ([]uint64, error) {
	if i&1 == 1 {
		return dst, ErrOddIndex
	}
	n := i / 2
	var off uint64
	for n > 0 {
		f := uint64(1) << (63 - bits.LeadingZeros64(n)) // largest power of two ≤ n
		dst = append(dst, off+f-1)
		off += 2 * f
		n -= f
	}
	return dst, nil
}

// FutureRoots returns, for leaf index i, the parents that are still missing
// on the right edge of the tree of the blocks [0, i/2+1): the nodes that will
// become roots' parents as the tree grows. It ports the JS function line by
// line; Hypercore 9 itself does not use it.
func FutureRoots(i uint64) ([]uint64, error) {
	if i&1 == 1 {
		return nil, ErrOddIndex
	}
	var result []uint64
	factor := uint64(1)
	// make the first root
	for factor*2 <= i {
		factor *= 2
	}
	// a perfect tree: nothing is missing
	if factor*2-2 == i {
		return result, nil
	}
	pos := factor/2 - 1
	// while it is not a full tree
	for pos+factor/2-1 != i {
		pos += factor
		// read too far: go to the left child
		for pos+factor/2-1 > i {
			factor /= 2
			pos -= factor / 2
		}
		// the gap is a future root
		result = append(result, pos-factor/2)
	}
	return result, nil
}

// Patch returns the nodes that turn the full roots of leaf index from into
// the full roots of leaf index to: for the first differing root, the
// siblings and parents that grow the last old root up to it, then every
// following new root. It returns nil when from is 0 or from ≥ to.
func Patch(from, to uint64) ([]uint64, error) {
	if from == 0 || from >= to {
		return nil, nil
	}
	if from&1 == 1 || to&1 == 1 {
		return nil, ErrOddIndex
	}
	roots, _ := FullRoots(from)
	target, _ := FullRoots(to)

	// find the first root that differs
	i := 0
	for ; i < len(target); i++ {
		if i >= len(roots) || roots[i] != target[i] {
			break
		}
	}
	var patch []uint64
	if i < len(roots) {
		// grow the newest root until it reaches the differing one
		prev := len(roots) - 1
		it := NewIterator(roots[prev])
		prev--
		for it.Index() != target[i] {
			it.Sibling()
			if prev >= 0 && it.Index() == roots[prev] {
				prev--
			} else {
				patch = append(patch, it.Index())
			}
			patch = append(patch, it.Parent())
		}
		i++ // patched up to the next root
	}
	// include the rest
	return append(patch, target[i:]...), nil
}

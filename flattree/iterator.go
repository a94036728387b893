package flattree

// Iterator walks the flat tree one move at a time, like the JS
// flat-tree iterator. It tracks the current index, its offset and its
// factor (twice the number of leaves under the node, so 2 for a leaf).
// Every move returns the new index.
//
// The zero Iterator sits at node 0.
type Iterator struct {
	index  uint64
	offset uint64
	factor uint64
}

// NewIterator returns an iterator positioned at node i.
func NewIterator(i uint64) *Iterator {
	it := new(Iterator)
	it.Seek(i)
	return it
}

// Index returns the current node.
func (it *Iterator) Index() uint64 { return it.index }

// Offset returns the offset of the current node.
func (it *Iterator) Offset() uint64 { return it.offset }

// Factor returns 2^(depth+1) for the current node: twice its leaf count.
func (it *Iterator) Factor() uint64 {
	if it.factor == 0 { // zero Iterator
		return 2
	}
	return it.factor
}

// Seek moves to node i.
func (it *Iterator) Seek(i uint64) {
	it.index = i
	if i&1 == 1 {
		it.offset = Offset(i)
		it.factor = 1 << (Depth(i) + 1)
	} else {
		it.offset = i / 2
		it.factor = 2
	}
}

func (it *Iterator) f() uint64 { return it.Factor() }

// IsLeft reports whether the current node is a left child.
func (it *Iterator) IsLeft() bool { return it.offset&1 == 0 }

// IsRight reports whether the current node is a right child.
func (it *Iterator) IsRight() bool { return it.offset&1 == 1 }

// IsRoot reports whether the current node is a root of a tree of length
// blocks: its subtree fits within the blocks and its parent's does not.
func (it *Iterator) IsRoot(length uint64) bool {
	f := it.f()
	currentLength := 1 + (it.index+f/2-1)/2
	if length < currentLength {
		return false
	}
	var parent uint64
	if it.offset&1 == 1 {
		parent = it.index - f/2
	} else {
		parent = it.index + f/2
	}
	parentLength := 1 + (parent+f-1)/2
	return parentLength > length
}

// Contains reports whether node i lies in the subtree of the current node.
func (it *Iterator) Contains(i uint64) bool {
	half := it.f() / 2
	if i >= it.index {
		return i-it.index < half
	}
	return it.index-i < half // JS: i > index − half, which can go negative
}

// Prev moves to the previous node at the same depth; at offset 0 it stays.
func (it *Iterator) Prev() uint64 {
	if it.offset == 0 {
		return it.index
	}
	it.offset--
	it.index -= it.f()
	return it.index
}

// Next moves to the next node at the same depth.
func (it *Iterator) Next() uint64 {
	it.offset++
	it.index += it.f()
	return it.index
}

// Count returns the number of nodes in the current subtree.
func (it *Iterator) Count() uint64 {
	if it.index&1 == 0 {
		return 1
	}
	return it.f() - 1
}

// CountLeaves returns the number of leaves in the current subtree.
func (it *Iterator) CountLeaves() uint64 { return (it.Count() + 1) / 2 }

// Sibling moves to the sibling of the current node.
func (it *Iterator) Sibling() uint64 {
	if it.IsLeft() {
		return it.Next()
	}
	return it.Prev()
}

// Parent moves to the parent of the current node.
func (it *Iterator) Parent() uint64 {
	f := it.f()
	if it.offset&1 == 1 {
		it.index -= f / 2
		it.offset = (it.offset - 1) / 2
	} else {
		it.index += f / 2
		it.offset /= 2
	}
	it.factor = 2 * f
	return it.index
}

// LeftSpan moves to the leftmost leaf of the current subtree.
func (it *Iterator) LeftSpan() uint64 {
	it.index = it.PeekLeftSpan()
	it.offset = it.index / 2
	it.factor = 2
	return it.index
}

// PeekLeftSpan returns the leftmost leaf of the current subtree without
// moving.
func (it *Iterator) PeekLeftSpan() uint64 { return it.index - it.f()/2 + 1 }

// RightSpan moves to the rightmost leaf of the current subtree.
func (it *Iterator) RightSpan() uint64 {
	it.index = it.PeekRightSpan()
	it.offset = it.index / 2
	it.factor = 2
	return it.index
}

// PeekRightSpan returns the rightmost leaf of the current subtree without
// moving.
func (it *Iterator) PeekRightSpan() uint64 { return it.index + it.f()/2 - 1 }

// LeftChild moves to the left child; a leaf stays where it is.
func (it *Iterator) LeftChild() uint64 {
	f := it.f()
	if f == 2 {
		return it.index
	}
	it.factor = f / 2
	it.index -= it.factor / 2
	it.offset *= 2
	return it.index
}

// RightChild moves to the right child; a leaf stays where it is.
func (it *Iterator) RightChild() uint64 {
	f := it.f()
	if f == 2 {
		return it.index
	}
	it.factor = f / 2
	it.index += it.factor / 2
	it.offset = 2*it.offset + 1
	return it.index
}

// NextTree moves to the first leaf right of the current subtree.
func (it *Iterator) NextTree() uint64 {
	it.index = it.index + it.f()/2 + 1
	it.offset = it.index / 2
	it.factor = 2
	return it.index
}

// PrevTree moves to the last leaf left of the current subtree, or to leaf 0
// when the current node has offset 0.
func (it *Iterator) PrevTree() uint64 {
	if it.offset == 0 {
		it.index = 0
		it.factor = 2
	} else {
		it.index = it.index - it.f()/2 - 1
		it.offset = it.index / 2
		it.factor = 2
	}
	return it.index
}

// FullRoot climbs from the current leaf to the highest root that a tree
// ending before leaf index i has at this position. It returns false, and
// does not move, when the current node is not a leaf or i is not right of
// it. The climbing condition is copied from JS (spec/flattree.md notes
// that it climbs while i > index + 1.5·factor).
func (it *Iterator) FullRoot(i uint64) bool {
	if i <= it.index || it.index&1 == 1 {
		return false
	}
	for i > it.index+it.f()+it.f()/2 {
		f := it.f()
		it.index += f / 2
		it.factor = 2 * f
		it.offset /= 2
	}
	return true
}

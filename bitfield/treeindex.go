package bitfield

import "github.com/hypercore-go/hypercore/flattree"

// TreeIndex answers questions about which Merkle nodes a feed has, over a
// bitfield of node indexes (hypercore/lib/tree-index.js): the feed's tree
// bits, or a fresh bitfield for what a peer told us it has (its "remote
// tree"). It stores no hashes; the feed does.
type TreeIndex struct {
	bits *Sparse
}

// NewTreeIndex returns a tree index over bits; a new empty bitfield when
// bits is nil (as JS's treeIndex()).
func NewTreeIndex(bits *Sparse) *TreeIndex {
	if bits == nil {
		bits = NewSparse()
	}
	return &TreeIndex{bits: bits}
}

// Get reports whether node i is held.
func (t *TreeIndex) Get(i uint64) bool { return t.bits.Get(i) }

// Set marks node i as held and, while its sibling is held, its parent too,
// climbing. It reports whether node i was newly set.
func (t *TreeIndex) Set(i uint64) bool {
	if !t.bits.Set(i, true) {
		return false
	}
	for t.bits.Get(flattree.Sibling(i)) {
		i = flattree.Parent(i)
		if !t.bits.Set(i, true) {
			break
		}
	}
	return true
}

// Blocks returns the length of the feed as the tree bits describe it: the
// highest held node on the left edge (0, 1, 3, 7, …) within the bitfield's
// length, and what it is verified by (spec/bitfield.md, "Blocks").
func (t *TreeIndex) Blocks() uint64 {
	var top, next uint64
	max := t.bits.Len()
	for flattree.RightSpan(next) < max {
		next = flattree.Parent(next)
		if t.Get(next) {
			top = next
		}
	}
	if !t.Get(top) {
		return 0
	}
	return t.VerifiedBy(top) / 2
}

// VerifiedBy returns the leaf index just past the last block covered by the
// roots reachable from node i: climb while parent and sibling are held,
// then walk right and down along held nodes (spec/bitfield.md,
// "Verified by"). It is 0 when node i is not held. A signature for length
// L verifies nodes whose VerifiedBy is 2L.
func (t *TreeIndex) VerifiedBy(i uint64) uint64 {
	if !t.Get(i) {
		return 0
	}
	// find the root of the current tree
	depth := flattree.Depth(i)
	top := i
	parent := flattree.Parent(top)
	depth++
	for t.Get(parent) && t.Get(flattree.Sibling(top)) {
		top = parent
		parent = flattree.Parent(top)
		depth++
	}
	// expand right, down
	depth--
	for depth > 0 {
		top = flattree.Index(depth-1, 2*(flattree.Offset(top)+1))
		depth--
		for !t.Get(top) && depth > 0 {
			top = flattree.Index(depth-1, 2*flattree.Offset(top))
			depth--
		}
	}
	if t.Get(top) {
		return top + 2
	}
	return top
}

// Digest returns the Request.nodes value for leaf x = 2·block: a bit set
// telling the responder which proof nodes the requester already has
// (spec/bitfield.md, "Digest"). 1 means "I have the leaf itself".
func (t *TreeIndex) Digest(x uint64) uint64 {
	if t.Get(x) {
		return 1
	}
	var digest uint64
	next := flattree.Sibling(x)
	max := max(next+2, t.bits.Len()) // as JS: a loose bound on where to stop
	bit := uint64(2)
	parent := flattree.Parent(next)
	for flattree.RightSpan(next) < max || flattree.LeftSpan(parent) > 0 {
		if t.Get(next) {
			digest += bit
		}
		if t.Get(parent) {
			digest += 2 * bit
			if digest&1 == 0 {
				digest++
			}
			if digest+1 == 4*bit {
				return 1
			}
			return digest
		}
		next = flattree.Sibling(parent)
		parent = flattree.Parent(next)
		bit *= 2
		if bit == 0 { // 64 levels: no tree is that deep
			break
		}
	}
	return digest
}

// Proof selects the nodes a responder sends for leaf x (spec/bitfield.md,
// "Proof selection"): with hash, the leaf itself first; then the uncles
// the requester lacks, bottom up; then, if the walk reached one of our
// roots, every other root of the tree that root is verified by, left to
// right, that the requester lacks. verifiedBy is non-zero when the proof
// ends at our roots and so needs a signature (for length verifiedBy/2).
// remote is the requester's remote tree; the digest's claims are recorded
// in it, and it persists for the connection. ok is false when we do not
// have node x.
func (t *TreeIndex) Proof(x, digest uint64, hash bool, remote *TreeIndex) (nodes []uint64, verifiedBy uint64, ok bool) {
	return t.AppendProof(nil, x, digest, hash, remote)
}

// AppendProof is Proof appending the nodes to dst (nodes is dst, grown):
// a responder reuses one slice for every request.
func (t *TreeIndex) AppendProof(dst []uint64, x, digest uint64, hash bool, remote *TreeIndex) (nodes []uint64, verifiedBy uint64, ok bool) {
	if remote == nil {
		remote = NewTreeIndex(nil)
	}
	if !t.Get(x) {
		return dst, 0, false
	}
	nodes = dst
	var rootBuf [64]uint64 // a tree has at most 64 full roots
	if hash {
		nodes = append(nodes, x) // always the hash, whatever the digest says
	}
	if digest == 1 {
		return nodes, 0, true
	}
	next := x
	hasRoot := digest&1 == 1
	digest >>= 1
	for digest != 0 {
		if digest == 1 && hasRoot {
			if t.Get(next) {
				remote.Set(next)
			}
			// having a root implies having the roots before it
			if s := flattree.Sibling(next); s < next {
				next = s
			}
			roots, _ := flattree.AppendFullRoots(rootBuf[:0], flattree.RightSpan(next)+2)
			for _, r := range roots {
				if t.Get(r) {
					remote.Set(r)
				}
			}
			break
		}
		sibling := flattree.Sibling(next)
		if digest&1 == 1 && t.Get(sibling) {
			remote.Set(sibling)
		}
		next = flattree.Parent(next)
		digest >>= 1
	}

	next = x
	for !remote.Get(next) {
		sibling := flattree.Sibling(next)
		if !t.Get(sibling) {
			// next is one of our roots
			vb := t.VerifiedBy(next)
			roots, _ := flattree.AppendFullRoots(rootBuf[:0], vb)
			for _, r := range roots {
				if r != next && !remote.Get(r) {
					nodes = append(nodes, r)
				}
			}
			return nodes, vb, true
		}
		if !remote.Get(sibling) {
			nodes = append(nodes, sibling)
		}
		next = flattree.Parent(next)
	}
	return nodes, 0, true
}

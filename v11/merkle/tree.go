package merkle

import (
	"fmt"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/compact"
)

// A Tree is the signed state of a core (merkle.md, "Trees"): its fork, its
// length in blocks and the roots of the Merkle tree of those blocks, left
// to right. The roots of a tree of length n are the nodes at
// flattree.FullRoots(2n). It is what JS calls a tree batch (lib/merkle-tree.js
// MerkleTreeBatch) reduced to what hashing and signing read.
//
// The zero Tree is the empty tree of fork 0.
type Tree struct {
	Fork   uint64
	Length uint64
	Roots  []Node
}

// Hash returns the tree hash of t's roots ([TreeHash]).
func (t *Tree) Hash() [32]byte { return TreeHash(t.Roots) }

// ByteLength returns the number of block bytes in t: the sum of its roots'
// sizes.
func (t *Tree) ByteLength() uint64 {
	var n uint64
	for _, r := range t.Roots {
		n += r.Size
	}
	return n
}

// Clone returns a copy of t that shares nothing with it.
func (t *Tree) Clone() Tree {
	return Tree{Fork: t.Fork, Length: t.Length, Roots: append([]Node(nil), t.Roots...)}
}

// Append adds one block and returns the nodes it created: the block's leaf,
// then every parent that became complete, bottom up (JS batch.append):
//
//	push leaf(2·length, data) onto the roots; length += 1
//	while the last two roots are siblings: replace them with their parent
func (t *Tree) Append(data []byte) []Node {
	leaf := LeafNode(2*t.Length, data)
	t.Length++
	t.Roots = append(t.Roots, leaf)
	nodes := []Node{leaf}
	for len(t.Roots) >= 2 {
		a, b := t.Roots[len(t.Roots)-1], t.Roots[len(t.Roots)-2]
		if flattree.Sibling(a.Index) != b.Index {
			break
		}
		p := ParentNode(b, a)
		t.Roots = append(t.Roots[:len(t.Roots)-2], p)
		nodes = append(nodes, p)
	}
	return nodes
}

// checkSafe reports whether every number JS would encode while hashing and
// signing t is at most 2^53−1: fork, length, and each root's index and
// size (JS's uint64 encoder throws above it).
func (t *Tree) checkSafe() error {
	// MUST: "A size, index, length or fork above 2^53 − 1 cannot be hashed
	// or signed in JS (its uint64 encoder throws); a verifier MUST reject a
	// tree with one."
	if t.Fork > compact.MaxSafeInteger || t.Length > compact.MaxSafeInteger {
		return fmt.Errorf("%w: fork %d length %d above 2^53-1", ErrInvalidTree, t.Fork, t.Length)
	}
	for _, r := range t.Roots {
		if r.Index > compact.MaxSafeInteger || r.Size > compact.MaxSafeInteger {
			return fmt.Errorf("%w: root %d size %d above 2^53-1", ErrInvalidTree, r.Index, r.Size)
		}
	}
	return nil
}

// checkRoots reports whether t's roots sit at flattree.FullRoots(2·length).
func (t *Tree) checkRoots() error {
	if t.Length > compact.MaxSafeInteger {
		return fmt.Errorf("%w: length %d above 2^53-1", ErrInvalidTree, t.Length)
	}
	want, _ := flattree.FullRoots(2 * t.Length)
	if len(want) != len(t.Roots) {
		return fmt.Errorf("%w: %d roots for length %d, want %d", ErrInvalidTree, len(t.Roots), t.Length, len(want))
	}
	for i, r := range t.Roots {
		if r.Index != want[i] {
			return fmt.Errorf("%w: root %d is node %d, want %d", ErrInvalidTree, i, r.Index, want[i])
		}
	}
	return nil
}

// PatchIndexes returns the flat-tree indexes of the nodes that extend a tree
// of length from to a tree of length to, in the order a verifier takes them
// (merkle.md, "Patches"; JS verifier.js generateUpgrade): for the first root
// of the longer tree that is not a root of the shorter one, the right
// siblings met walking up from the shorter tree's last root; then every
// further root of the longer tree. It returns nil when to ≤ from.
func PatchIndexes(from, to uint64) []uint64 {
	if to <= from || to > compact.MaxSafeInteger {
		return nil
	}
	old, _ := flattree.FullRoots(2 * from)
	target, _ := flattree.FullRoots(2 * to)
	var out []uint64
	i := 0
	for _, r := range target {
		if i < len(old) && old[i] == r {
			i++
			continue
		}
		if i < len(old) {
			for cur := old[len(old)-1]; cur != r; cur = flattree.Parent(cur) {
				if s := flattree.Sibling(cur); s > cur {
					out = append(out, s)
				}
			}
			i = len(old)
			continue
		}
		out = append(out, r)
	}
	return out
}

// upgrade returns the tree of length t.Length+n that t grows into with the
// patch nodes in nodes, keeping t's fork (merkle.md, "Patches"; JS
// verifier.js generateUpgrade and merkle-tree.js verifyUpgrade). The nodes
// taken from the patch are those of PatchIndexes; a missing one, a parent
// whose size passes 2^53−1 or a length past 2^53−1 is an error (JS fails or
// throws in each case).
func (t *Tree) upgrade(n uint64, nodes map[uint64]Node) (Tree, error) {
	if err := t.checkRoots(); err != nil {
		return Tree{}, err
	}
	if n > compact.MaxSafeInteger-t.Length {
		return Tree{}, fmt.Errorf("%w: patch to length %d+%d above 2^53-1", ErrInvalidTree, t.Length, n)
	}
	to := t.Length + n
	target, _ := flattree.FullRoots(2 * to)
	// MUST: "A verifier MUST reject a patch that needs a node the list
	// lacks, a length above 2^53 − 1, or a parent whose size would exceed
	// 2^53 − 1." (The length was checked above; the rest follows.)
	get := func(index uint64) (Node, error) {
		node, ok := nodes[index]
		if !ok {
			return Node{}, fmt.Errorf("%w: patch lacks node %d", ErrInvalidTree, index)
		}
		return node, nil
	}
	old := t.Roots
	roots := make([]Node, 0, len(target))
	i := 0
	for _, r := range target {
		if i < len(old) && old[i].Index == r {
			roots = append(roots, old[i])
			i++
			continue
		}
		if i < len(old) {
			// Grow the last old root up to r; its left siblings on the way
			// are the old roots before it.
			left := old[i : len(old)-1]
			cur := old[len(old)-1]
			for cur.Index != r {
				s := flattree.Sibling(cur.Index)
				var sib Node
				if s < cur.Index {
					// checkRoots makes this the previous old root.
					if len(left) == 0 || left[len(left)-1].Index != s {
						return Tree{}, fmt.Errorf("%w: no old root %d to join", ErrInvalidTree, s)
					}
					sib = left[len(left)-1]
					left = left[:len(left)-1]
				} else {
					var err error
					if sib, err = get(s); err != nil {
						return Tree{}, err
					}
				}
				if cur.Size > compact.MaxSafeInteger || sib.Size > compact.MaxSafeInteger-cur.Size {
					return Tree{}, fmt.Errorf("%w: node %d size above 2^53-1", ErrInvalidTree, flattree.Parent(s))
				}
				cur = ParentNode(cur, sib)
			}
			roots = append(roots, cur)
			i = len(old)
			continue
		}
		node, err := get(r)
		if err != nil {
			return Tree{}, err
		}
		roots = append(roots, node)
	}
	for _, r := range roots {
		if r.Index > compact.MaxSafeInteger {
			return Tree{}, fmt.Errorf("%w: root %d above 2^53-1", ErrInvalidTree, r.Index)
		}
	}
	return Tree{Fork: t.Fork, Length: to, Roots: roots}, nil
}

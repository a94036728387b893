package merkle

import "github.com/hypercore-go/hypercore/flattree"

// Generator builds the Merkle tree as blocks are appended, as
// merkle-tree-stream's generator does: it keeps the current roots, and for
// each new block emits the leaf and every parent that the leaf completes.
type Generator struct {
	roots  []Node
	blocks uint64
}

// NewGenerator returns a generator that continues a tree whose roots are
// roots (fullRoots of its length, left to right; none for an empty tree).
func NewGenerator(roots []Node) *Generator {
	g := &Generator{roots: append([]Node(nil), roots...)}
	if n := len(roots); n > 0 {
		g.blocks = flattree.RightSpan(roots[n-1].Index)/2 + 1
	}
	return g
}

// Next adds a block and returns the new nodes: its leaf, then each parent
// it completes, bottom up.
func (g *Generator) Next(data []byte) []Node {
	return g.AppendNext(nil, data)
}

// AppendNext is Next appending the new nodes to dst.
func (g *Generator) AppendNext(dst []Node, data []byte) []Node {
	return g.AppendLeaf(dst, LeafHash(data), uint64(len(data)))
}

// AppendLeaf is AppendNext for a block whose leaf hash (LeafHash) is
// already known, so that a caller may hash many blocks in parallel.
func (g *Generator) AppendLeaf(dst []Node, hash Hash, size uint64) []Node {
	return g.AppendTree(dst, Node{Index: 2 * g.blocks, Hash: hash, Size: size})
}

// AppendTree adds the blocks under root, a whole subtree whose first leaf
// is the next block (flattree.LeftSpan(root.Index) = 2·Blocks(), as when
// root is a leaf), and returns root followed by each parent it completes,
// bottom up. A caller builds the subtree's own nodes itself, in parallel
// with others if it likes; any other root is a broken caller, and panics.
func (g *Generator) AppendTree(dst []Node, root Node) []Node {
	if flattree.LeftSpan(root.Index) != 2*g.blocks {
		panic("merkle: Generator.AppendTree: the subtree does not start at the next block")
	}
	g.blocks = flattree.RightSpan(root.Index)/2 + 1
	g.roots = append(g.roots, root)
	dst = append(dst, root)
	// While the last two roots are siblings, replace them by their parent.
	for n := len(g.roots); n > 1; n = len(g.roots) {
		left, right := g.roots[n-2], g.roots[n-1]
		if flattree.Parent(left.Index) != flattree.Parent(right.Index) {
			break
		}
		p := ParentNode(left, right)
		g.roots = append(g.roots[:n-2], p)
		dst = append(dst, p)
	}
	return dst
}

// Roots returns the current roots, left to right. The slice is the
// generator's own; do not modify it.
func (g *Generator) Roots() []Node { return g.roots }

// Blocks returns the number of blocks added, including those under the
// initial roots.
func (g *Generator) Blocks() uint64 { return g.blocks }

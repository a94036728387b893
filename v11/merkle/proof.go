package merkle

// Proofs (spec/v11/proofs.md): what a server sends for a request's block,
// hash, seek and upgrade sections, and how a receiver checks it before it
// stores anything. This file follows JS lib/merkle-tree.js generateProof
// (building) and MerkleTree.verify / MerkleTree.reorg (checking) step by
// step, with the same node order: a JS verifier takes the nodes from a
// queue and fails with "Expected node X, got node Y" when the order
// differs, so the order is part of the protocol.

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/compact"
)

// Proof errors (proofs.md, "Errors"). Every error BuildProof, VerifyProof
// and Reorg.Update return wraps one of them, the verifier's
// ErrInvalidSignature or ErrInvalidTree, or a NodeReader's own error.
var (
	// ErrInvalidRequest: a request no proof can answer (JS throws
	// INVALID_OPERATION or BAD_ARGUMENT from generateProof, and the
	// replicator answers noData with reason INVALID_REQUEST).
	ErrInvalidRequest = errors.New("merkle: invalid proof request")
	// ErrNotAvailable: the server lacks a node the proof needs, the block
	// is past its length, or the request is for another fork (JS: "Expected
	// tree node X from storage, got (nil)"; the replicator answers noData
	// with reason NOT_AVAILABLE).
	ErrNotAvailable = errors.New("merkle: proof not available")
	// ErrInvalidProof: a proof whose nodes are not in the order the
	// request implies, do not hash up to a node the receiver trusts, or
	// cannot extend its tree (JS INVALID_OPERATION "Expected node ...",
	// INVALID_CHECKSUM, INVALID_PROOF).
	ErrInvalidProof = errors.New("merkle: invalid proof")
	// ErrForkMismatch: a proof for an older fork, or for a newer fork
	// without an upgrade (JS core.verify returns false and the data is
	// dropped).
	ErrForkMismatch = errors.New("merkle: proof for another fork")
)

// A NodeReader is a read-only view of the tree nodes a core has stored.
// Node returns found == false, and no error, for a node that is not
// stored; an error is a storage failure and is passed on as is.
type NodeReader interface {
	Node(index uint64) (node Node, found bool, err error)
}

// NodeMap is a NodeReader over a map from flat-tree index to node.
type NodeMap map[uint64]Node

// Node returns m[index].
func (m NodeMap) Node(index uint64) (Node, bool, error) {
	n, ok := m[index]
	return n, ok, nil
}

// A ProofRequest is what a requester asks for (proofs.md, "Requests"; the
// proof sections of the wire request, JS request {fork, block, hash, seek,
// upgrade}). Absent sections are nil.
type ProofRequest struct {
	Fork    uint64
	Block   *BlockRequest
	Hash    *HashRequest
	Seek    *SeekRequest
	Upgrade *UpgradeRequest
}

// A BlockRequest asks for block Index (a block index) with Nodes sibling
// hashes: how many tree levels above the block's leaf the requester lacks.
type BlockRequest struct {
	Index uint64
	Nodes uint64
}

// A HashRequest asks for node Index (a flat-tree index) with the node
// itself and Nodes siblings above it.
type HashRequest struct {
	Index uint64
	Nodes uint64
}

// A SeekRequest asks for the nodes that locate byte Bytes of the core,
// each block counted Padding bytes shorter than it is.
type SeekRequest struct {
	Bytes   uint64
	Padding uint64
}

// An UpgradeRequest asks for a signed tree of at least Start+Length
// blocks, from a requester that knows the first Start.
type UpgradeRequest struct {
	Start  uint64
	Length uint64
}

// A TreeProof is a server's answer (proofs.md, "Proofs"; JS TreeProof
// settled, the proof sections of the wire data message). Absent sections
// are nil; present node lists are never nil.
type TreeProof struct {
	Fork    uint64
	Block   *BlockProof
	Hash    *HashProof
	Seek    *SeekProof
	Upgrade *UpgradeProof
}

// A BlockProof is block Index, its bytes and the sibling nodes from its
// leaf upwards. [BuildProof] leaves Value nil: the package holds no blocks,
// the caller fills it in.
type BlockProof struct {
	Index uint64
	Value []byte
	Nodes []Node
}

// A HashProof is node Index (first in Nodes) and the siblings above it.
type HashProof struct {
	Index uint64
	Nodes []Node
}

// A SeekProof is the node found for byte Bytes (first in Nodes) and the
// siblings above it.
type SeekProof struct {
	Bytes uint64
	Nodes []Node
}

// An UpgradeProof carries the requester from Start to Start+Length blocks
// (Nodes), and on to the server's full length (AdditionalNodes), where
// Signature, the server's signature of its current tree, verifies.
type UpgradeProof struct {
	Start           uint64
	Length          uint64
	Nodes           []Node
	AdditionalNodes []Node
	Signature       []byte
}

// A SignedTree is a server's current tree with the signature its writer
// made for it, and the prologue of the core's manifest (nil when it has
// none): what JS generateProof reads from its session.
type SignedTree struct {
	Tree
	Signature []byte
	Prologue  *Prologue
}

// maxDepth bounds every walk up or down the tree: no index below 2^53
// (every number on the wire) has more than 53 levels above it.
const maxDepth = 64

// indexed is a block or hash request normalised (JS normalizeIndexed): the
// flat-tree index, whether a value (block) comes with it, the nodes count,
// and the last block it covers.
type indexed struct {
	value     bool
	index     uint64
	nodes     uint64
	lastIndex uint64
}

func normalizeIndexed(block *BlockRequest, hash *HashRequest) *indexed {
	if block != nil {
		return &indexed{value: true, index: 2 * block.Index, nodes: block.Nodes, lastIndex: block.Index}
	}
	if hash != nil {
		return &indexed{index: hash.Index, nodes: hash.Nodes, lastIndex: flattree.RightSpan(hash.Index) / 2}
	}
	return nil
}

// A prover collects the nodes of one proof (JS TreeProof.pending). The
// has* flags are JS's "not null": a section that was started, even empty.
// The upgrade sections are always started when an upgrade is asked for.
type prover struct {
	nodes NodeReader
	err   error // the first failed read; JS reports it when the proof settles

	node, seek, upgrade, additional []Node
	hasNode, hasSeek                bool
}

// get reads node index for the proof (JS getTreeNodeOrError). A missing
// node is recorded and reported after the whole proof is laid out, as JS
// reports it when its read promises settle.
func (p *prover) get(index uint64) Node {
	n, ok, err := p.nodes.Node(index)
	if p.err == nil {
		switch {
		case err != nil:
			p.err = err
		case !ok:
			p.err = fmt.Errorf("%w: node %d is not stored", ErrNotAvailable, index)
		}
	}
	return n
}

// getNow reads node index for a seek, which JS awaits at once: a missing
// node is an error straight away.
func (p *prover) getNow(index uint64) (Node, bool, error) {
	n, ok, err := p.nodes.Node(index)
	if err != nil {
		return Node{}, false, err
	}
	return n, ok, nil
}

func (p *prover) mustGetNow(index uint64) (Node, error) {
	n, ok, err := p.getNow(index)
	if err != nil {
		return Node{}, err
	}
	if !ok {
		return Node{}, fmt.Errorf("%w: node %d is not stored", ErrNotAvailable, index)
	}
	return n, nil
}

// BuildProof returns the proof a server with tree tree and stored nodes
// nodes sends for req, node for node as JS generateProof and
// TreeProof.settle make it (proofs.md, "Building a proof"). The block
// value is left nil for the caller to fill in.
//
// The caller answers only requests it can serve, as the JS replicator
// does before it builds a proof: BuildProof fails with ErrNotAvailable for
// another fork or a block at or past tree.Length (JS checks its bitfield;
// the caller must also check that it holds the block). A request no proof
// can answer is ErrInvalidRequest; a node the proof needs that nodes lacks
// is ErrNotAvailable. For an empty tree the proof has only the fork, as in
// JS.
func BuildProof(tree *SignedTree, nodes NodeReader, req ProofRequest) (*TreeProof, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	if req.Fork != tree.Fork {
		return nil, fmt.Errorf("%w: request for fork %d, tree has fork %d", ErrNotAvailable, req.Fork, tree.Fork)
	}
	if req.Block != nil && req.Block.Index >= tree.Length {
		return nil, fmt.Errorf("%w: block %d of %d", ErrNotAvailable, req.Block.Index, tree.Length)
	}

	var upgrade *UpgradeRequest
	if req.Upgrade != nil {
		u := *req.Upgrade
		upgrade = &u
		// Compatibility: JS moves an upgrade that starts inside the
		// prologue to start at 0 and end at the prologue, the only
		// upgrade a verifier accepts there.
		if pr := tree.Prologue; pr != nil && upgrade.Start < pr.Length {
			upgrade.Start = 0
			upgrade.Length = pr.Length
		}
	}
	block, hash, seek := req.Block, req.Hash, req.Seek

	head := 2 * tree.Length
	var from, to uint64 = 0, head
	if upgrade != nil {
		from = 2 * upgrade.Start
		to = from + 2*upgrade.Length
	}
	node := normalizeIndexed(block, hash)

	if head == 0 {
		// JS: "can't do anything as we have no data".
		return &TreeProof{Fork: tree.Fork}, nil
	}
	// MUST: "A server MUST refuse an upgrade that is empty or ends past
	// its length."
	if from >= to || to > head {
		return nil, fmt.Errorf("%w: upgrade from %d to %d blocks of %d", ErrInvalidRequest, from/2, to/2, tree.Length)
	}
	if seek != nil && upgrade != nil && node != nil && node.index >= from {
		return nil, fmt.Errorf("%w: both a seek and a block or hash past the requester's length with an upgrade", ErrInvalidRequest)
	}

	p := &prover{nodes: nodes}
	subTree := head
	if node != nil && (upgrade == nil || node.lastIndex < upgrade.Start) {
		var err error
		if subTree, err = nodesToRoot(node.index, node.nodes, to); err != nil {
			return nil, err
		}
		seekRoot := head
		if seek != nil {
			if seekRoot, err = p.seekUntrustedTree(tree, subTree, seek.Bytes, seek.Padding); err != nil {
				return nil, err
			}
		}
		if err := p.blockAndSeekProof(node, seek, seekRoot, subTree); err != nil {
			return nil, err
		}
	} else if (node != nil || seek != nil) && upgrade != nil {
		if seek != nil {
			var err error
			if subTree, err = p.seekFromHead(to, seek.Bytes, seek.Padding); err != nil {
				return nil, err
			}
		} else {
			subTree = node.index
		}
	}

	if upgrade != nil {
		if err := p.upgradeProof(node, seek, from, to, subTree); err != nil {
			return nil, err
		}
		if head > to {
			if err := p.additionalUpgradeProof(to, head); err != nil {
				return nil, err
			}
		}
	}

	// Settle (JS TreeProof.settle): reads first, then the sections.
	if p.err != nil {
		return nil, p.err
	}
	out := &TreeProof{Fork: tree.Fork}
	switch {
	case block != nil:
		if !p.hasNode {
			return nil, fmt.Errorf("%w: block %d is past the upgrade to %d blocks", ErrInvalidRequest, block.Index, to/2)
		}
		out.Block = &BlockProof{Index: block.Index, Nodes: nonNil(p.node)}
	case hash != nil:
		if !p.hasNode {
			return nil, fmt.Errorf("%w: node %d is past the upgrade to %d blocks", ErrInvalidRequest, hash.Index, to/2)
		}
		out.Hash = &HashProof{Index: hash.Index, Nodes: nonNil(p.node)}
	}
	if seek != nil && p.hasSeek {
		out.Seek = &SeekProof{Bytes: seek.Bytes, Nodes: nonNil(p.seek)}
	}
	if upgrade != nil {
		out.Upgrade = &UpgradeProof{
			Start:           upgrade.Start,
			Length:          upgrade.Length,
			Nodes:           nonNil(p.upgrade),
			AdditionalNodes: nonNil(p.additional),
			Signature:       tree.Signature,
		}
	}
	return out, nil
}

func nonNil(n []Node) []Node {
	if n == nil {
		return []Node{}
	}
	return n
}

// checkRequest refuses numbers no JS peer can send (above 2^53−1).
func checkRequest(req ProofRequest) error {
	const max = compact.MaxSafeInteger
	bad := req.Fork > max
	if b := req.Block; b != nil {
		bad = bad || b.Index > max/2 || b.Nodes > max
	}
	if h := req.Hash; h != nil {
		bad = bad || h.Index > max || h.Nodes > max
	}
	if s := req.Seek; s != nil {
		bad = bad || s.Bytes > max || s.Padding > max
	}
	if u := req.Upgrade; u != nil {
		bad = bad || u.Start > max/2 || u.Length > max/2 || u.Start+u.Length > max/2
	}
	if bad {
		return fmt.Errorf("%w: a number above 2^53-1", ErrInvalidRequest)
	}
	return nil
}

// nodesToRoot returns the ancestor nodes levels above index (JS
// nodesToRoot); no ancestor on the way may contain head.
func nodesToRoot(index, nodes, head uint64) (uint64, error) {
	it := flattree.NewIterator(index)
	for i := uint64(0); i < nodes; i++ {
		it.Parent()
		// MUST: "A server MUST refuse a nodes count that climbs to a node
		// containing the end of the tree being proved."
		if it.Contains(head) || i >= maxDepth {
			return 0, fmt.Errorf("%w: %d nodes above node %d reach past the tree", ErrInvalidRequest, nodes, index)
		}
	}
	return it.Index(), nil
}

// blockAndSeekProof lays out the nodes from node up to root (JS
// blockAndSeekProof): for a hash request the node itself first, then each
// sibling bottom-up; a sibling that contains the seek target is replaced by
// the seek proof of that target.
func (p *prover) blockAndSeekProof(node *indexed, seek *SeekRequest, seekRoot, root uint64) error {
	if node == nil {
		return p.seekProof(seekRoot, root)
	}
	it := flattree.NewIterator(node.index)
	p.hasNode = true
	p.node = []Node{}
	if !node.value {
		p.node = append(p.node, p.get(it.Index()))
	}
	for cnt := 0; it.Index() != root; cnt++ {
		if cnt >= maxDepth {
			return fmt.Errorf("%w: node %d is not below node %d", ErrInvalidRequest, node.index, root)
		}
		it.Sibling()
		if seek != nil && it.Contains(seekRoot) && it.Index() != seekRoot {
			if err := p.seekProof(seekRoot, it.Index()); err != nil {
				return err
			}
		} else {
			p.node = append(p.node, p.get(it.Index()))
		}
		it.Parent()
	}
	return nil
}

// seekProof lays out the seek target and its siblings up to root (JS
// seekProof).
func (p *prover) seekProof(seekRoot, root uint64) error {
	it := flattree.NewIterator(seekRoot)
	p.hasSeek = true
	p.seek = []Node{p.get(it.Index())}
	for cnt := 0; it.Index() != root; cnt++ {
		if cnt >= maxDepth {
			return fmt.Errorf("%w: seek node %d is not below node %d", ErrInvalidRequest, seekRoot, root)
		}
		it.Sibling()
		p.seek = append(p.seek, p.get(it.Index()))
		it.Parent()
	}
	return nil
}

// upgradeProof lays out the upgrade from from/2 to to/2 blocks (JS
// upgradeProof): the nodes PatchIndexes names, in its order. Where one of
// those nodes contains the block, hash or seek target of the request
// (subTree), the target's own proof takes its place, so no node is sent
// twice.
func (p *prover) upgradeProof(node *indexed, seek *SeekRequest, from, to, subTree uint64) error {
	patch, err := patchIndexes(from, to)
	if err != nil {
		return err
	}
	for _, i := range patch {
		if l, r := flattree.Spans(i); !p.hasNode && !p.hasSeek && l <= subTree && subTree <= r {
			if err := p.blockAndSeekProof(node, seek, subTree, i); err != nil {
				return err
			}
			continue
		}
		p.upgrade = append(p.upgrade, p.get(i))
	}
	return nil
}

// additionalUpgradeProof lays out the upgrade from from/2 to to/2 blocks
// the same way, without targets (JS additionalUpgradeProof).
func (p *prover) additionalUpgradeProof(from, to uint64) error {
	patch, err := patchIndexes(from, to)
	if err != nil {
		return err
	}
	for _, i := range patch {
		p.additional = append(p.additional, p.get(i))
	}
	return nil
}

// patchIndexes is PatchIndexes for the flat-tree heads from < to. JS's
// upgradeProof walks the same nodes: for the new root that contains the
// requester's last leaf, the right siblings met walking up from that leaf;
// then every further new root, left to right.
func patchIndexes(from, to uint64) ([]uint64, error) {
	patch := PatchIndexes(from/2, to/2)
	if patch == nil {
		return nil, fmt.Errorf("%w: upgrade from %d to %d blocks", ErrInvalidRequest, from/2, to/2)
	}
	return patch, nil
}

// unpaddedSize is a node's size less padding bytes per block under it (JS
// getUnpaddedSize). JS computes with negative sizes where padding exceeds
// a node's bytes per block; such a seek is refused here.
func unpaddedSize(n Node, padding, leaves uint64) (uint64, error) {
	hi, lo := bits.Mul64(padding, leaves)
	if hi != 0 || lo > n.Size {
		return 0, fmt.Errorf("%w: seek padding %d exceeds node %d of %d bytes", ErrInvalidRequest, padding, n.Index, n.Size)
	}
	return n.Size - lo, nil
}

// seekUntrustedTree finds the node that holds byte bytes, searching only
// below root, which the requester trusts (JS seekUntrustedTree).
func (p *prover) seekUntrustedTree(tree *SignedTree, root, bytes, padding uint64) (uint64, error) {
	offset, err := p.byteOffset(&tree.Tree, root)
	if err != nil {
		return 0, err
	}
	hi, pad := bits.Mul64(padding, flattree.LeftSpan(root)/2)
	if hi != 0 || pad > offset {
		return 0, fmt.Errorf("%w: seek padding %d exceeds the bytes before node %d", ErrInvalidRequest, padding, root)
	}
	offset -= pad
	if offset > bytes {
		return 0, fmt.Errorf("%w: byte %d is before node %d", ErrInvalidRequest, bytes, root)
	}
	if offset == bytes {
		return root, nil
	}
	bytes -= offset
	n, err := p.mustGetNow(root)
	if err != nil {
		return 0, err
	}
	size, err := unpaddedSize(n, padding, flattree.CountLeaves(root))
	if err != nil {
		return 0, err
	}
	if size <= bytes {
		return 0, fmt.Errorf("%w: byte %d is past node %d", ErrInvalidRequest, bytes+offset, root)
	}
	return p.seekTrustedTree(root, bytes, padding)
}

// seekTrustedTree walks down from root to the node that holds byte bytes
// of it, stopping at the deepest node stored (JS seekTrustedTree). When
// the byte is the first of a right child, the left child is returned.
func (p *prover) seekTrustedTree(root, bytes, padding uint64) (uint64, error) {
	if bytes == 0 {
		return root, nil
	}
	it := flattree.NewIterator(root)
	for cnt := 0; it.Index()&1 != 0; cnt++ {
		if cnt >= maxDepth {
			return 0, fmt.Errorf("%w: bad seek below %d", ErrInvalidRequest, root)
		}
		l, ok, err := p.getNow(it.LeftChild())
		if err != nil {
			return 0, err
		}
		if !ok {
			it.Parent()
			return it.Index(), nil
		}
		size, err := unpaddedSize(l, padding, it.CountLeaves())
		if err != nil {
			return 0, err
		}
		if size == bytes {
			return it.Index(), nil
		}
		if size > bytes {
			continue
		}
		bytes -= size
		it.Sibling()
	}
	return it.Index(), nil
}

// seekFromHead finds the node that holds byte bytes of the tree of head/2
// blocks, from its roots (JS seekFromHead); head itself when the byte is
// past the tree.
func (p *prover) seekFromHead(head, bytes, padding uint64) (uint64, error) {
	roots, _ := flattree.FullRoots(head)
	for _, root := range roots {
		n, err := p.mustGetNow(root)
		if err != nil {
			return 0, err
		}
		size, err := unpaddedSize(n, padding, flattree.CountLeaves(root))
		if err != nil {
			return 0, err
		}
		if bytes == size {
			return root, nil
		}
		if bytes > size {
			bytes -= size
			continue
		}
		return p.seekTrustedTree(root, bytes, padding)
	}
	return head, nil
}

// byteOffset returns the number of bytes before node index in tree t (JS
// getByteOffset): the sizes of the roots left of it and of the left
// children met walking down to it.
func (p *prover) byteOffset(t *Tree, index uint64) (uint64, error) {
	return ByteOffset(t, p.nodes, index)
}

// ByteOffset returns the number of block bytes before node index in tree t
// with stored nodes nodes (proofs.md, "Seeks"; JS getByteOffset): the sizes
// of the roots left of it and of the left children met walking down to
// its leftmost leaf. Index 2·t.Length gives t's byte length.
func ByteOffset(t *Tree, nodes NodeReader, index uint64) (uint64, error) {
	if index == 2*t.Length {
		return t.ByteLength(), nil
	}
	if index&1 == 1 {
		index = flattree.LeftSpan(index)
	}
	var head, offset uint64
	for _, r := range t.Roots {
		head += 2 * (r.Index - head + 1)
		if index >= head {
			offset += r.Size
			continue
		}
		it := flattree.NewIterator(r.Index)
		for cnt := 0; it.Index() != index; cnt++ {
			if cnt >= maxDepth {
				return 0, fmt.Errorf("%w: bad offset walk to %d", ErrInvalidRequest, index)
			}
			if index < it.Index() {
				it.LeftChild()
				continue
			}
			l, ok, err := nodes.Node(it.LeftChild())
			if err != nil {
				return 0, err
			}
			if !ok {
				return 0, fmt.Errorf("%w: node %d is not stored", ErrNotAvailable, it.Index())
			}
			offset += l.Size
			it.Sibling()
		}
		return offset, nil
	}
	return 0, fmt.Errorf("%w: node %d is past the tree of %d blocks", ErrInvalidRequest, index, t.Length)
}

// MissingNodes returns the nodes count a requester of length length sends
// for node index (JS MerkleTree.missingNodes): the number of levels above
// index, counting index itself, that it does not store, stopping at a node
// that contains its end. It is 0 for a node past the tree.
func MissingNodes(nodes NodeReader, index, length uint64) (uint64, error) {
	head := 2 * length
	it := flattree.NewIterator(index)
	if it.PeekRightSpan() >= head {
		return 0, nil
	}
	var cnt uint64
	for !it.Contains(head) {
		_, ok, err := nodes.Node(it.Index())
		if err != nil {
			return 0, err
		}
		if ok {
			break
		}
		cnt++
		if cnt >= maxDepth {
			return 0, fmt.Errorf("%w: bad missing nodes walk from %d", ErrInvalidRequest, index)
		}
		it.Parent()
	}
	return cnt, nil
}

// MaxMissingNodes returns the nodes count for node index of a requester
// of length length that stores nothing but its roots (JS
// MerkleTree.maxMissingNodes): the levels strictly above index up to the
// root that contains it; 0 for a root or a node past the tree.
func MaxMissingNodes(index, length uint64) uint64 {
	head := 2 * length
	it := flattree.NewIterator(index)
	if it.PeekRightSpan() >= head {
		return 0
	}
	roots, _ := flattree.FullRoots(head)
	if slices.Contains(roots, index) {
		return 0
	}
	it.Parent()
	var cnt uint64
	for !it.Contains(head) {
		cnt++
		it.Parent()
	}
	return cnt
}

// UpgradeLength returns the length a requester reaches with upgrade u (JS
// MerkleTree.upgradeLength): rightSpan(last additional node)/2 + 1 if there
// are additional nodes, Start+Length otherwise.
func UpgradeLength(u *UpgradeProof) uint64 {
	if n := len(u.AdditionalNodes); n > 0 {
		return flattree.RightSpan(u.AdditionalNodes[n-1].Index)/2 + 1
	}
	return u.Start + u.Length
}

// Upgradeable reports whether nodes holds every root of the tree of length
// blocks, so that an upgrade from length can be proved (JS
// MerkleTree.upgradeable; the canUpgrade flag of sync).
func Upgradeable(nodes NodeReader, length uint64) (bool, error) {
	roots, err := flattree.FullRoots(2 * length)
	if err != nil {
		return false, fmt.Errorf("%w: length %d", ErrInvalidRequest, length)
	}
	for _, r := range roots {
		_, ok, err := nodes.Node(r)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// A VerifiedProof is what a receiver may store after [VerifyProof]
// accepted a proof (proofs.md, "What a receiver stores").
type VerifiedProof struct {
	// Fork is the proof's fork.
	Fork uint64
	// Block is the block the proof carried, nil if none.
	Block *VerifiedBlock
	// Tree is the receiver's new tree when the proof upgraded it, with
	// Signature; nil when the proof did not change the tree (no upgrade,
	// or one that ends inside the receiver's tree and agrees with it).
	// Its byte length is Tree.ByteLength().
	Tree      *Tree
	Signature []byte
	// Nodes are the verified tree nodes to store, by index, each once.
	Nodes []Node
	// Reorg is set for an upgrade to a newer fork (then Tree, Signature,
	// Block and Nodes are nil; see [Reorg]).
	Reorg *Reorg
}

// A VerifiedBlock is a verified block: its index and bytes.
type VerifiedBlock struct {
	Index uint64
	Value []byte
}

// A nodeQueue hands out a proof's nodes in the order the verifier needs
// them (JS NodeQueue): extra, a node the verifier already computed, is
// taken when its index comes up; otherwise the next node must have the
// index asked for.
type nodeQueue struct {
	nodes  []Node
	i      int
	extra  *Node
	length int
}

func newNodeQueue(nodes []Node, extra *Node) *nodeQueue {
	q := &nodeQueue{nodes: nodes, extra: extra, length: len(nodes)}
	if extra != nil {
		q.length++
	}
	return q
}

func (q *nodeQueue) shift(index uint64) (Node, error) {
	if q.extra != nil && q.extra.Index == index {
		n := *q.extra
		q.extra = nil
		q.length--
		return n, nil
	}
	// MUST: "A receiver MUST take the nodes of a section in exactly the
	// order this chapter gives and reject a proof whose next node has
	// another index or is missing."
	if q.i >= len(q.nodes) {
		return Node{}, fmt.Errorf("%w: expected node %d, got none", ErrInvalidProof, index)
	}
	n := q.nodes[q.i]
	q.i++
	if n.Index != index {
		return Node{}, fmt.Errorf("%w: expected node %d, got node %d", ErrInvalidProof, index, n.Index)
	}
	q.length--
	return n, nil
}

// parentOf returns the parent at index of a and b (JS parentNode),
// refusing a size JS cannot hash.
func parentOf(index uint64, a, b Node) (Node, error) {
	if a.Size > compact.MaxSafeInteger || b.Size > compact.MaxSafeInteger-a.Size {
		return Node{}, fmt.Errorf("%w: node %d size above 2^53-1", ErrInvalidProof, index)
	}
	return Node{Index: index, Size: a.Size + b.Size, Hash: ParentHash(a, b)}, nil
}

// checkProof refuses numbers no JS peer can send (above 2^53−1).
func checkProof(p *TreeProof) error {
	const max = compact.MaxSafeInteger
	bad := p.Fork > max
	check := func(ns []Node) {
		for _, n := range ns {
			bad = bad || n.Index > max || n.Size > max
		}
	}
	if b := p.Block; b != nil {
		bad = bad || b.Index > max/2 || uint64(len(b.Value)) > max
		check(b.Nodes)
	}
	if h := p.Hash; h != nil {
		bad = bad || h.Index > max
		check(h.Nodes)
	}
	if s := p.Seek; s != nil {
		bad = bad || s.Bytes > max
		check(s.Nodes)
	}
	if u := p.Upgrade; u != nil {
		bad = bad || u.Start > max/2 || u.Length > max/2 || u.Start+u.Length > max/2
		check(u.Nodes)
		check(u.AdditionalNodes)
	}
	if bad {
		return fmt.Errorf("%w: a number above 2^53-1", ErrInvalidProof)
	}
	return nil
}

// verifyTree hashes the seek, block or hash section up to the highest node
// it proves and returns that node, adding every node it met to *out (JS
// verifyTree). It returns nil when the proof has none of these sections.
func verifyTree(p *TreeProof, out *[]Node) (*Node, error) {
	var (
		index uint64
		value []byte
		list  []Node
		have  bool
	)
	switch {
	case p.Block != nil:
		index, value, list, have = 2*p.Block.Index, p.Block.Value, p.Block.Nodes, true
	case p.Hash != nil:
		index, list, have = p.Hash.Index, p.Hash.Nodes, true
	}
	if !have && (p.Seek == nil || len(p.Seek.Nodes) == 0) {
		return nil, nil
	}

	var root *Node
	if p.Seek != nil && len(p.Seek.Nodes) > 0 {
		it := flattree.NewIterator(p.Seek.Nodes[0].Index)
		q := newNodeQueue(p.Seek.Nodes, nil)
		r, err := q.shift(it.Index())
		if err != nil {
			return nil, err
		}
		*out = append(*out, r)
		for q.length > 0 {
			n, err := q.shift(it.Sibling())
			if err != nil {
				return nil, err
			}
			if r, err = parentOf(it.Parent(), r, n); err != nil {
				return nil, err
			}
			*out = append(*out, n, r)
		}
		root = &r
	}
	if !have {
		return root, nil
	}

	it := flattree.NewIterator(index)
	q := newNodeQueue(list, root)
	var r Node
	if p.Block != nil {
		r = LeafNode(it.Index(), value)
	} else {
		var err error
		if r, err = q.shift(it.Index()); err != nil {
			return nil, err
		}
	}
	*out = append(*out, r)
	for q.length > 0 {
		n, err := q.shift(it.Sibling())
		if err != nil {
			return nil, err
		}
		if r, err = parentOf(it.Parent(), r, n); err != nil {
			return nil, err
		}
		*out = append(*out, n, r)
	}
	return &r, nil
}

// A treeBatch is a tree being grown by an upgrade proof (the parts of JS
// MerkleTreeBatch that verifyUpgrade touches).
type treeBatch struct {
	fork       uint64
	roots      []Node
	length     uint64
	byteLength uint64
	signature  []byte
	nodes      []Node
	upgraded   bool
}

func newBatch(t *Tree) *treeBatch {
	return &treeBatch{fork: t.Fork, roots: slices.Clone(t.Roots), length: t.Length, byteLength: t.ByteLength()}
}

func (b *treeBatch) tree() *Tree {
	return &Tree{Fork: b.fork, Length: b.length, Roots: slices.Clone(b.roots)}
}

// appendRoot adds node, at the iterator's position, as the last root, and
// joins it with the roots before it while they are siblings (JS
// MerkleTreeBatch.appendRoot). The length grows by the node's leaves as
// the iterator counts them.
func (b *treeBatch) appendRoot(n Node, it *flattree.Iterator) error {
	b.upgraded = true
	b.length += it.Factor() / 2
	b.byteLength += n.Size
	if b.length > compact.MaxSafeInteger || b.byteLength > compact.MaxSafeInteger {
		return fmt.Errorf("%w: upgrade past 2^53-1 blocks or bytes", ErrInvalidProof)
	}
	b.roots = append(b.roots, n)
	b.nodes = append(b.nodes, n)
	for len(b.roots) > 1 {
		a, c := b.roots[len(b.roots)-1], b.roots[len(b.roots)-2]
		if it.Sibling() != c.Index {
			it.Sibling() // back to the last root
			break
		}
		parent, err := parentOf(it.Parent(), a, c)
		if err != nil {
			return err
		}
		b.nodes = append(b.nodes, parent)
		b.roots = append(b.roots[:len(b.roots)-2], parent)
	}
	return nil
}

// verifyUpgrade grows b by the upgrade section of p (JS verifyUpgrade):
// the nodes that join b's last root into the new root that contains it and
// the further new roots, then the additional nodes to the server's length.
// blockRoot, the top of the block or hash path, stands in for the upgrade
// node with its index. It reports whether blockRoot was used (and so is
// covered by the signature).
//
// It also returns the number of upgrade nodes it did not use, which JS
// ignores; the callers refuse them after every check JS makes, so that a
// proof JS refuses is refused for JS's reason.
func verifyUpgrade(p *TreeProof, blockRoot *Node, b *treeBatch, prologue *Prologue) (used bool, unused int, err error) {
	u := p.Upgrade
	if prologue != nil {
		// MUST: "An upgrade that starts inside the prologue MUST start at 0
		// and reach at least the prologue's length."
		if u.Start < prologue.Length && (u.Start != 0 || u.Length < prologue.Length) {
			return false, 0, fmt.Errorf("%w: upgrade from %d to %d does not satisfy the prologue of %d blocks", ErrInvalidProof, u.Start, u.Start+u.Length, prologue.Length)
		}
	}
	q := newNodeQueue(u.Nodes, blockRoot)
	grow := len(b.roots) > 0
	i := 0
	to := 2 * (u.Start + u.Length)
	it := flattree.NewIterator(0)
	for ; it.FullRoot(to); it.NextTree() {
		if i < len(b.roots) && b.roots[i].Index == it.Index() {
			i++
			continue
		}
		if grow {
			grow = false
			root := it.Index()
			if i < len(b.roots) {
				it.Seek(b.roots[len(b.roots)-1].Index)
				for it.Index() != root {
					n, err := q.shift(it.Sibling())
					if err != nil {
						return false, 0, err
					}
					if err := b.appendRoot(n, it); err != nil {
						return false, 0, err
					}
				}
				continue
			}
		}
		n, err := q.shift(it.Index())
		if err != nil {
			return false, 0, err
		}
		if err := b.appendRoot(n, it); err != nil {
			return false, 0, err
		}
	}
	if prologue != nil && b.length == prologue.Length && TreeHash(b.roots) != prologue.Hash {
		// MUST: "A tree of prologue.length blocks MUST have the prologue's
		// hash."
		return false, 0, fmt.Errorf("%w: tree hash differs from the prologue hash", ErrInvalidProof)
	}
	if len(b.roots) == 0 {
		// JS fails with a TypeError.
		return false, 0, fmt.Errorf("%w: upgrade to an empty tree", ErrInvalidProof)
	}

	extra := u.AdditionalNodes
	it.Seek(b.roots[len(b.roots)-1].Index)
	i = 0
	for i < len(extra) && extra[i].Index == it.Sibling() {
		if err := b.appendRoot(extra[i], it); err != nil {
			return false, 0, err
		}
		i++
	}
	for i < len(extra) {
		n := extra[i]
		i++
		for n.Index != it.Index() {
			if it.Factor() == 2 {
				return false, 0, fmt.Errorf("%w: unexpected additional node %d", ErrInvalidProof, n.Index)
			}
			it.LeftChild()
		}
		if err := b.appendRoot(n, it); err != nil {
			return false, 0, err
		}
		it.Sibling()
	}
	b.signature = u.Signature
	b.fork = p.Fork
	return q.extra == nil, len(q.nodes) - q.i, nil
}

// checkTree refuses a grown tree whose roots are not those of its length.
// JS has no such check; only a signer could make such a tree verify.
func checkTree(t *Tree) error {
	if err := t.checkRoots(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	return nil
}

// sortedNodes returns ns by index, each index once (the last one wins; in
// a verified proof equal indexes carry equal nodes).
func sortedNodes(ns []Node) []Node {
	m := make(map[uint64]Node, len(ns))
	for _, n := range ns {
		m[n.Index] = n
	}
	out := make([]Node, 0, len(m))
	for _, n := range m {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Node) int {
		switch {
		case a.Index < b.Index:
			return -1
		case a.Index > b.Index:
			return 1
		}
		return 0
	})
	return out
}

// VerifyProof checks proof p against the receiver's tree local and its
// stored nodes (proofs.md, "Verifying a proof"; JS core.verify with
// MerkleTree.verify, and core.verifyReorg for a newer fork), with the
// core's verifier v for signatures. It returns what the receiver may
// store, or nil and an error; nothing from a proof that fails is
// returned.
//
// The block, hash and seek sections must hash up to a node the upgrade
// uses (then the signature covers them) or to a node the receiver stores
// with the same hash. An upgrade must grow local to a tree whose signature
// verifies, unless it ends inside local and agrees with its stored nodes
// (JS downgrades such a batch and checks no signature). A proof for an
// older fork, or for a newer one without an upgrade, is ErrForkMismatch; an
// upgrade to a newer fork starts a [Reorg].
func VerifyProof(local *Tree, nodes NodeReader, p *TreeProof, v *Verifier) (*VerifiedProof, error) {
	if err := checkProof(p); err != nil {
		return nil, err
	}
	if p.Fork != local.Fork {
		if p.Fork > local.Fork && p.Upgrade != nil {
			r, err := verifyReorg(local, nodes, p, v)
			if err != nil {
				return nil, err
			}
			return &VerifiedProof{Fork: p.Fork, Reorg: r}, nil
		}
		return nil, fmt.Errorf("%w: proof for fork %d, tree has fork %d", ErrForkMismatch, p.Fork, local.Fork)
	}

	b := newBatch(local)
	unused := 0
	unverified, err := verifyTree(p, &b.nodes)
	if err != nil {
		return nil, err
	}
	if p.Upgrade != nil {
		used, n, err := verifyUpgrade(p, unverified, b, v.prologue)
		if err != nil {
			return nil, err
		}
		if used {
			unverified = nil
		}
		unused = n
	}
	if unverified != nil {
		// MUST: "A path that the upgrade does not use MUST end at a node
		// the receiver stores, with the same hash."
		stored, ok, err := nodes.Node(unverified.Index)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: proof ends at node %d, which is not stored", ErrInvalidProof, unverified.Index)
		}
		if stored.Hash != unverified.Hash {
			return nil, fmt.Errorf("%w: invalid checksum at node %d", ErrInvalidProof, unverified.Index)
		}
		// MUST: "Its size MUST also equal the stored node's size." (Stricter
		// than JS, which compares only the hash: a hash proof with nodes 0
		// sends the node itself, and its size is in no hash.)
		if stored.Size != unverified.Size {
			return nil, fmt.Errorf("%w: node %d has size %d, stored %d", ErrInvalidProof, unverified.Index, unverified.Size, stored.Size)
		}
	}

	out := &VerifiedProof{Fork: p.Fork}
	if b.upgraded && b.length <= local.Length {
		// JS MerkleTreeBatch.downgrade: an upgrade that ends inside the
		// local tree and matches its stored roots is no upgrade.
		same := true
		for _, r := range b.roots {
			stored, ok, err := nodes.Node(r.Index)
			if err != nil {
				return nil, err
			}
			if !ok || stored.Hash != r.Hash {
				same = false
				break
			}
		}
		if same {
			b.upgraded = false
		}
	}
	if b.upgraded {
		t := b.tree()
		// MUST: "An upgraded tree MUST carry a signature that verifies for
		// it."
		if err := v.Verify(t, b.signature); err != nil {
			return nil, err
		}
		if err := checkTree(t); err != nil {
			return nil, err
		}
		out.Tree = t
		out.Signature = slices.Clone(b.signature)
	}
	// MUST: "A receiver MUST refuse upgrade nodes it does not use."
	// (Stricter than JS, which ignores them.)
	if unused > 0 {
		return nil, fmt.Errorf("%w: %d unused upgrade nodes", ErrInvalidProof, unused)
	}
	if p.Block != nil {
		out.Block = &VerifiedBlock{Index: p.Block.Index, Value: p.Block.Value}
	}
	out.Nodes = sortedNodes(b.nodes)
	return out, nil
}

// A Reorg is a verified upgrade to a newer fork and the search for the
// point where it parts from the receiver's blocks (proofs.md, "Forks"; JS
// ReorgBatch). VerifyProof starts it from an upgrade proof of the newer
// fork (a JS requester asks for one from start 0); while Want is set the
// receiver asks for hash proofs of one block in [Want.Start, Want.End)
// with Want.Nodes nodes and passes each answer to Update. When Want is
// nil the search is over: the receiver keeps its blocks below Ancestors,
// drops the rest with the tree nodes that cover them, and adopts Tree,
// Signature and Nodes (JS core.reorg).
type Reorg struct {
	// Tree and Signature are the newer fork's signed tree.
	Tree      Tree
	Signature []byte
	// Nodes are the verified nodes of the newer fork, by index, each once.
	Nodes []Node
	// Ancestors is the number of leading blocks the receiver shares with
	// the newer fork, as far as known.
	Ancestors uint64
	// Want is the next hash proof to ask for, nil when the search is over.
	Want *ReorgWant

	treeLength uint64 // the receiver's length when the reorg started
	diff       Node   // the highest node known to differ
}

// A ReorgWant asks for a hash proof of a block in [Start, End) with Nodes
// nodes (JS ReorgBatch.want; the requester sends hash {index: 2·block,
// nodes}).
type ReorgWant struct {
	Start, End, Nodes uint64
}

// Done reports whether the fork point is found.
func (r *Reorg) Done() bool { return r.Want == nil }

// verifyReorg verifies an upgrade proof of a newer fork against an empty
// tree and compares the new roots with the receiver's stored nodes (JS
// core.verifyReorg and MerkleTree.reorg).
func verifyReorg(local *Tree, nodes NodeReader, p *TreeProof, v *Verifier) (*Reorg, error) {
	b := &treeBatch{fork: local.Fork, upgraded: true}
	var unverified *Node
	if p.Block != nil || p.Hash != nil || p.Seek != nil {
		var err error
		if unverified, err = verifyTree(p, &b.nodes); err != nil {
			return nil, err
		}
	}
	used, unused, err := verifyUpgrade(p, unverified, b, v.prologue)
	if err != nil {
		return nil, err
	}
	if !used {
		// MUST: "In a proof of a newer fork every section MUST be
		// covered by the upgrade."
		return nil, fmt.Errorf("%w: fork proof not verifiable", ErrInvalidProof)
	}
	t := b.tree()
	if err := v.Verify(t, b.signature); err != nil {
		return nil, err
	}
	if err := checkTree(t); err != nil {
		return nil, err
	}
	if unused > 0 {
		return nil, fmt.Errorf("%w: %d unused upgrade nodes", ErrInvalidProof, unused)
	}
	r := &Reorg{
		Tree:       *t,
		Signature:  slices.Clone(b.signature),
		Want:       &ReorgWant{},
		treeLength: local.Length,
	}
	all := slices.Clone(b.nodes)
	found := false
	for _, root := range b.roots {
		stored, ok, err := nodes.Node(root.Index)
		if err != nil {
			return nil, err
		}
		if ok && stored.Hash == root.Hash {
			continue
		}
		r.updateDiffRoot(root)
		found = true
		break
	}
	if found {
		if _, err := r.update(nodes, b.nodes); err != nil {
			return nil, err
		}
	} else {
		r.Want = nil
		r.Ancestors = t.Length
	}
	r.Nodes = sortedNodes(all)
	return r, nil
}

// Update takes the answer to the hash request Want asked for (JS
// ReorgBatch.update). A proof whose path does not hash up to the node
// known to differ is ignored (false, nil), as JS ignores it; a malformed
// one is an error. It reports whether the search is over.
func (r *Reorg) Update(nodes NodeReader, p *TreeProof) (bool, error) {
	if r.Want == nil {
		return true, nil
	}
	if err := checkProof(p); err != nil {
		return false, err
	}
	var got []Node
	root, err := verifyTree(p, &got)
	if err != nil {
		return false, err
	}
	if root == nil || root.Hash != r.diff.Hash {
		return false, nil
	}
	done, err := r.update(nodes, got)
	if err != nil {
		return false, err
	}
	r.Nodes = sortedNodes(append(r.Nodes, got...))
	return done, nil
}

// update walks down from the differing node through the nodes of a proof:
// into the left child if the receiver's node there differs, else into the
// right one, as far as the proof reaches (JS ReorgBatch._update).
func (r *Reorg) update(nodes NodeReader, got []Node) (bool, error) {
	n := make(map[uint64]Node, len(got))
	for _, x := range got {
		n[x.Index] = x
	}
	var diff *Node
	undefinedDiff := false // JS's diff = undefined: a right child the proof lacks
	it := flattree.NewIterator(r.diff.Index)
	for it.Index()&1 != 0 {
		left, ok := n[it.LeftChild()]
		if !ok {
			break
		}
		stored, have, err := nodes.Node(left.Index)
		if err != nil {
			return false, err
		}
		if !have || stored.Hash != left.Hash {
			diff, undefinedDiff = &left, false
			continue
		}
		if right, ok := n[it.Sibling()]; ok {
			diff, undefinedDiff = &right, false
		} else {
			diff, undefinedDiff = nil, true
		}
	}
	if r.diff.Index&1 == 0 {
		return true, nil
	}
	if diff == nil && !undefinedDiff {
		return false, nil
	}
	if r.Want == nil {
		return true, nil
	}
	if undefinedDiff {
		// JS fails with a TypeError here.
		return false, fmt.Errorf("%w: reorg proof lacks the right child of the node it descends to", ErrInvalidProof)
	}
	return r.updateDiffRoot(*diff), nil
}

// updateDiffRoot makes diff the highest node known to differ and sets
// what to ask next (JS ReorgBatch._updateDiffRoot).
func (r *Reorg) updateDiffRoot(diff Node) bool {
	if r.Want == nil {
		return true
	}
	left, right := flattree.Spans(diff.Index)
	start := left / 2
	end := min(r.treeLength, right/2+1)
	r.Ancestors = start
	r.diff = diff
	if diff.Index&1 == 0 || r.Want.Start >= r.treeLength || end <= start {
		r.Want = nil
		return true
	}
	r.Want.Start = start
	r.Want.End = end
	r.Want.Nodes = log2(right-left+2) - 1
	return false
}

// log2 is JS's log2 in merkle-tree.js: the number of halvings that bring n
// to 2 or less, plus 1.
func log2(n uint64) uint64 {
	res := uint64(1)
	for n > 2 {
		n /= 2
		res++
	}
	return res
}

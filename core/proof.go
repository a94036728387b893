package core

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/hypercore-go/hypercore/bitfield"
	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/merkle"
)

// Proof is what proves a block: Merkle nodes, and a signature when the
// nodes end at roots of a signed tree (spec/feed.md, "Proofs").
type Proof struct {
	Nodes     []merkle.Node
	Signature []byte // nil when the proof needs none
}

// LowLevel is the low-level side of a feed: the proofs it builds for a
// peer, the digests it asks with, and verified blocks put by hand. These
// are what implementers and tests check against the vectors (spec/feed.md,
// "Proofs"); replication does all of it, so most programs never need it.
// Get it with Feed.LowLevel.
type LowLevel struct{ f *Feed }

// LowLevel returns the feed's low-level API.
func (f *Feed) LowLevel() LowLevel { return LowLevel{f} }

// Proof builds the proof a responder sends for block index, given the
// requester's digest (Request.nodes) and, with hash, the block's own leaf
// first. remote is the requester's remote tree, kept for the connection
// (nil for a fresh one). It fails with ErrNotAvailable when the feed lacks
// the block's node, and ErrMissingSignature when the signature the proof
// needs is not stored.
func (l LowLevel) Proof(index, digest uint64, hash bool, remote *bitfield.TreeIndex) (*Proof, error) {
	f := l.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	return f.proofLocked(index, digest, hash, remote)
}

func (f *Feed) proofLocked(index, digest uint64, hash bool, remote *bitfield.TreeIndex) (*Proof, error) {
	var s proofScratch
	nodes, sig, err := f.appendProof(&s, index, digest, hash, remote)
	if err != nil {
		return nil, err
	}
	return &Proof{Nodes: nodes, Signature: sig}, nil
}

// proofScratch is where appendProof builds a proof: a responder keeps one
// per peer, so that answering a request allocates nothing for it.
type proofScratch struct {
	idx   []uint64
	nodes []merkle.Node
}

// appendProof builds the proof of block index in s and returns its nodes
// (valid until s is used again) and signature (new; nil when none is
// needed).
func (f *Feed) appendProof(s *proofScratch, index, digest uint64, hash bool, remote *bitfield.TreeIndex) ([]merkle.Node, []byte, error) {
	if index > 1<<62 {
		return nil, nil, fmt.Errorf("%w: block %d", ErrNotAvailable, index)
	}
	idx, verifiedBy, ok := f.tree.AppendProof(s.idx[:0], 2*index, digest, hash, remote)
	s.idx = idx
	if !ok {
		return nil, nil, fmt.Errorf("%w: no proof for block %d", ErrNotAvailable, index)
	}
	nodes := s.nodes[:0]
	if nodes == nil {
		nodes = make([]merkle.Node, 0, len(idx))
	}
	for _, i := range idx {
		n, err := f.node(i)
		if err != nil {
			return nil, nil, err
		}
		nodes = append(nodes, n)
	}
	s.nodes = nodes
	var sig []byte
	if f.live && verifiedBy != 0 {
		var err error
		if sig, err = f.readSignature(verifiedBy/2 - 1); err != nil {
			return nil, nil, err
		}
		if sig == nil {
			// JS fails here too ("No signature found") and drops the peer.
			return nil, nil, fmt.Errorf("%w: slot %d (length %d)", ErrMissingSignature, verifiedBy/2-1, verifiedBy/2)
		}
	}
	return nodes, sig, nil
}

// Digest returns the digest this feed sends when requesting block index
// (Request.nodes).
func (l LowLevel) Digest(index uint64) uint64 {
	f := l.f
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tree.Digest(2 * index)
}

// PutResult says what a verified Put changed.
type PutResult struct {
	// Stored is set when the block's data was newly stored.
	Stored bool
	// Grew is set when a signed proof raised the feed's length.
	Grew bool
}

// Put verifies a block (or, with a nil value, a hash-only proof) received
// from a peer and stores it with its proof nodes and signature (spec/feed.md,
// "Verifying a proof"). Nothing is written unless the whole proof checks
// out: the hashes must lead to a node already trusted, or to a complete set
// of roots whose signature verifies. A signed proof for a longer length
// raises the feed's length.
func (l LowLevel) Put(index uint64, value []byte, proof *Proof) (PutResult, error) {
	f := l.f
	f.mu.Lock()
	res, err := f.putLocked(index, value, proof, nil)
	f.mu.Unlock()
	if err == nil {
		f.afterPut(index, value, res, nil)
	}
	return res, err
}

func (f *Feed) putLocked(index uint64, value []byte, proof *Proof, from *Peer) (PutResult, error) {
	if f.closed {
		return PutResult{}, ErrClosed
	}
	if proof == nil {
		proof = &Proof{}
	}
	if index > 1<<62 {
		return PutResult{}, fmt.Errorf("%w: block index %d", ErrInvalidProof, index)
	}
	remote := proof.Nodes
	if value == nil && len(remote) == 0 {
		return PutResult{}, fmt.Errorf("%w: a hash-only proof without nodes", ErrInvalidProof)
	}

	// Walk up from the block until a node already in the tree (trusted);
	// each sibling must be the next proof node or a local node.
	trusted := int64(-1)
	sc := &f.repl.put
	local, visited := sc.take(&sc.local), sc.take(&sc.visited)
	defer func() { sc.keep(&sc.local, local); sc.keep(&sc.visited, visited) }()
	next := 2 * index
	i := 0
	if value == nil {
		i = 1
	}
	for {
		if f.tree.Get(next) {
			trusted = int64(next)
			break
		}
		sib := flattree.Sibling(next)
		next = flattree.Parent(next)
		if i < len(remote) && remote[i].Index == sib {
			i++
			continue
		}
		if !f.tree.Get(sib) {
			break
		}
		n, err := f.node(sib)
		if err != nil {
			return PutResult{}, err
		}
		local = append(local, n)
	}
	if trusted < 0 && f.tree.Get(next) {
		trusted = int64(next)
	}
	var trustedNode *merkle.Node
	if trusted >= 0 {
		n, err := f.node(uint64(trusted))
		if err != nil {
			return PutResult{}, err
		}
		trustedNode = &n
	}
	matches := func(n merkle.Node) bool {
		return trustedNode != nil && trustedNode.Index == n.Index && trustedNode.Hash == n.Hash
	}

	// Hash up from the block.
	var top merkle.Node
	if value != nil {
		top = merkle.LeafNode(index, value)
	} else {
		top, remote = remote[0], remote[1:]
		if top.Index != 2*index {
			return PutResult{}, fmt.Errorf("%w: hash-only proof for node %d, not block %d", ErrInvalidProof, top.Index, index)
		}
	}
	if matches(top) {
		return f.write(index, value, visited, nil, 0, nil, from)
	}
	for {
		sib := flattree.Sibling(top.Index)
		var n merkle.Node
		switch {
		case len(remote) > 0 && remote[0].Index == sib:
			n, remote = remote[0], remote[1:]
			visited = append(visited, n)
		case len(local) > 0 && local[0].Index == sib:
			n, local = local[0], local[1:]
		default:
			// no sibling: top must be a root of a signed tree
			return f.verifyRoots(index, value, top, remote, proof.Signature, visited, from)
		}
		visited = append(visited, top)
		top = merkle.ParentNode(top, n)
		if matches(top) {
			return f.write(index, value, visited, nil, 0, nil, from)
		}
	}
}

// putScratch holds the node slices that verifying a proof (onData,
// putLocked) reuses from one block to the next, under the feed's mutex:
// what a proof's nodes are copied into, and the walk's local and visited
// nodes. None of them is kept past the call that takes it.
type putScratch struct {
	proof, local, visited []merkle.Node
}

// take returns the slice *s, emptied, for reuse.
func (*putScratch) take(s *[]merkle.Node) []merkle.Node {
	b := (*s)[:0]
	*s = nil
	return b
}

// keep puts b back as the slice *s for the next take, unless it grew past
// what an honest proof needs (a peer may send a Data with many nodes: the
// feed does not hold on to that much).
func (*putScratch) keep(s *[]merkle.Node, b []merkle.Node) {
	if cap(b) <= 256 {
		*s = b[:0]
	}
}

// verifyRoots checks a proof that ends at a root: the roots of the length
// it is verified by must be complete and signed (JS _verifyRootsAndWrite).
func (f *Feed) verifyRoots(index uint64, value []byte, top merkle.Node, remote []merkle.Node, sig []byte, visited []merkle.Node, from *Peer) (PutResult, error) {
	last := top.Index
	if len(remote) > 0 {
		last = remote[len(remote)-1].Index
	}
	verifiedBy := max(flattree.RightSpan(top.Index), flattree.RightSpan(last)) + 2
	length := verifiedBy / 2
	idx, _ := flattree.FullRoots(verifiedBy)
	roots := make([]merkle.Node, 0, len(idx))
	var extra []merkle.Node
	for _, r := range idx {
		switch {
		case r == top.Index:
			roots = append(roots, top)
			extra = append(extra, top)
		case len(remote) > 0 && remote[0].Index == r:
			roots = append(roots, remote[0])
			extra = append(extra, remote[0])
			remote = remote[1:]
		case f.tree.Get(r):
			n, err := f.node(r)
			if err != nil {
				return PutResult{}, err
			}
			roots = append(roots, n)
		default:
			return PutResult{}, fmt.Errorf("%w: missing tree root %d needed to verify block %d", ErrInvalidProof, r, index)
		}
	}
	signable := merkle.Signable(roots, length)
	switch {
	case sig != nil:
		if err := merkle.VerifySignable(f.key, signable, sig); err != nil {
			return PutResult{}, err
		}
	case f.length > 0 && f.live:
		// A live feed's proofs MUST carry a signature when they end at roots.
		return PutResult{}, fmt.Errorf("%w: remote did not include a signature", ErrMissingSignature)
	case !bytes.Equal(signable[:32], f.key):
		// JS: an unsigned feed's key is the tree hash of its roots.
		return PutResult{}, fmt.Errorf("%w: remote did not include a signature", ErrMissingSignature)
	}
	// top has no sibling left: it must be one of the roots, or the nodes
	// hashed up to it were checked against nothing (checked after the
	// signature, so that the failures JS reports keep their class)
	if !slices.Contains(idx, top.Index) {
		return PutResult{}, fmt.Errorf("%w: node %d is not a root of length %d", ErrInvalidProof, top.Index, length)
	}
	return f.write(index, value, append(visited, extra...), sig, length, roots, from)
}

// write stores a verified block and its nodes (JS _write and _writeDone):
// nodes, data, signature, then the tree and data bits and the bitfield
// pages. length > 0 with roots means the proof was signed for that length.
func (f *Feed) write(index uint64, value []byte, nodes []merkle.Node, sig []byte, length uint64, roots []merkle.Node, from *Peer) (PutResult, error) {
	var res PutResult
	// compute everything that can fail before writing anything
	var dataOff uint64
	if len(value) > 0 {
		off, leaf, err := f.dataOffset(index, nodes)
		if err != nil {
			return res, err
		}
		if leaf.Size != uint64(len(value)) {
			return res, fmt.Errorf("%w: block %d has %d bytes, its node says %d", ErrInvalidProof, index, len(value), leaf.Size)
		}
		if off > 1<<62 {
			return res, fmt.Errorf("%w: block %d at data offset %d", ErrInvalidProof, index, off)
		}
		dataOff = off
	}
	var offBuf [16]int64 // a proof has a few nodes: no allocation
	nodeOffs := offBuf[:0]
	for _, n := range nodes {
		off, err := nodeOffset(n.Index)
		if err != nil {
			return res, fmt.Errorf("%w: node %d", ErrInvalidProof, n.Index)
		}
		nodeOffs = append(nodeOffs, off)
	}
	if sig != nil && (length == 0 || length-1 > (1<<62)/64) {
		return res, fmt.Errorf("%w: signature for length %d", ErrInvalidProof, length)
	}

	for k, n := range nodes {
		// the feed's node buffer (under its lock): WriteAt keeps no bytes
		if _, err := f.fTree.WriteAt(encodeNode(f.nodeBuf[:0], n), nodeOffs[k]); err != nil {
			return res, err
		}
		f.cacheNode(n) // as written
	}
	if len(value) > 0 {
		if _, err := f.fData.WriteAt(value, int64(dataOff)); err != nil {
			return res, err
		}
	}
	if sig != nil {
		if _, err := f.fSigs.WriteAt(sig, 32+64*int64(length-1)); err != nil {
			return res, err
		}
	}
	if sig != nil {
		f.live = true
	}
	if length > f.length {
		f.length = length
		f.byteLength = 0
		for _, r := range roots {
			f.byteLength += r.Size
		}
		res.Grew = true
		if f.secretKey != nil {
			f.gen = merkle.NewGenerator(roots)
		}
	}
	for _, n := range nodes {
		f.tree.Set(n.Index)
	}
	f.tree.Set(2 * index)
	if value != nil && f.bits.Set(index, true) {
		res.Stored = true
	}
	return res, f.syncBitfield()
}

// errIsVerification reports whether err means the peer sent something that
// does not verify (as opposed to a local failure).
func errIsVerification(err error) bool {
	return errors.Is(err, ErrInvalidProof) || errors.Is(err, ErrMissingSignature) ||
		errors.Is(err, merkle.ErrInvalidSignature) || errors.Is(err, merkle.ErrInvalidKey)
}

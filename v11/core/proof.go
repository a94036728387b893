package core

import (
	"errors"
	"fmt"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/core/store"
	"github.com/hypercore-go/hypercore/v11/merkle"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// errInvalidRequest marks a request no proof can answer (noData reason
// INVALID_REQUEST).
var errInvalidRequest = errors.New("core: invalid request")

// answer builds the data message for a request (replication.md,
// "Answering requests"): JS answers only requests for its current fork and
// for blocks it holds; anything else gets noData. c.mu held.
func (c *Core) answer(m *wire.Request) (*wire.Data, error) {
	if m.Fork != c.tree.Fork {
		return nil, ErrNotAvailable
	}
	if m.Block != nil && (m.Block.Index >= c.tree.Length || !c.st.Has(m.Block.Index)) {
		return nil, ErrNotAvailable
	}
	if m.Seek != nil {
		// Seeks are not served; peers are told so (seeks = 0 in the
		// channel handshake) and JS then never asks.
		return nil, errInvalidRequest
	}
	// The wire's request and data sections are the merkle types (aliases).
	req := merkle.ProofRequest{Fork: m.Fork, Block: m.Block, Hash: m.Hash, Upgrade: m.Upgrade}
	st := &merkle.SignedTree{Tree: c.tree, Signature: c.signature}
	if c.manifest != nil {
		st.Prologue = c.manifest.Prologue
	}
	p, err := merkle.BuildProof(st, c.st, req)
	if err != nil {
		if errors.Is(err, merkle.ErrInvalidRequest) {
			return nil, fmt.Errorf("%w: %w", errInvalidRequest, err)
		}
		return nil, err
	}
	d := &wire.Data{Request: m.ID, Fork: p.Fork, Block: p.Block, Hash: p.Hash, Upgrade: p.Upgrade}
	if p.Block != nil {
		value, ok, err := c.st.Block(p.Block.Index)
		if err != nil || !ok {
			return nil, fmt.Errorf("%w: block %d (%v)", ErrNotAvailable, p.Block.Index, err)
		}
		p.Block.Value = value
	}
	// The manifest is sent when asked for, by cores that have one and are
	// not compat (JS: msg.manifest && !core.compat).
	if m.Manifest && c.manifest != nil && !c.compat {
		d.Manifest = c.manifestRaw
	}
	return d, nil
}

// applied is what apply changed.
type applied struct {
	upgraded bool    // the tree grew (or changed fork)
	block    *uint64 // the block stored, if any
}

// apply verifies a data message against the local tree and stores what it
// proves (replication.md, "Receiving data"). Nothing is stored from data
// that does not verify. c.mu held.
func (c *Core) apply(m *wire.Data) (applied, error) {
	var res applied
	// A manifest that arrives with the first upgrade: it must hash to the
	// key (or be the compat manifest of the key) before anything is
	// verified with it.
	adopted, err := c.adoptManifest(m.Manifest)
	if err != nil {
		return res, err
	}
	if c.verifier == nil {
		if m.Upgrade != nil {
			return res, errors.New("an upgrade before the manifest")
		}
		// Blocks within a known length need no verifier.
	}
	p := treeProof(m)
	vp, err := merkle.VerifyProof(&c.tree, c.st, p, c.verifier)
	if err != nil {
		return res, err
	}
	if vp.Reorg != nil {
		// Another fork: not followed yet (replication.md, "Forks").
		return res, nil
	}
	b := &store.Batch{}
	b.PutNode(vp.Nodes...)
	oldTree, oldSig := c.tree, c.signature
	if vp.Tree != nil {
		c.tree, c.signature = vp.Tree.Clone(), append([]byte(nil), vp.Signature...)
		res.upgraded = true
	}
	if vp.Block != nil && !c.st.Has(vp.Block.Index) {
		b.PutBlock(vp.Block.Index, vp.Block.Value)
		idx := vp.Block.Index
		res.block = &idx
	}
	// The header holds the tree, its signature and the manifest: a block
	// (and the nodes that prove it) within the known length leaves it as it
	// is, and the store keeps the block in its bitfield, so the header is
	// written only when one of them changed (not once per block).
	if res.upgraded || adopted {
		b.SetHeader(c.header())
	}
	if err := c.st.Commit(b); err != nil {
		c.tree, c.signature = oldTree, oldSig
		return applied{}, err
	}
	if res.upgraded {
		c.notifyLocked(oldTree.Length, c.tree.Length)
	}
	if res.block != nil {
		c.notifyLocked(*res.block, *res.block+1)
	}
	return res, nil
}

// missingNodes is the nodes count of a request for tree index index: how
// many levels up from it are not stored, up to the root that covers the
// length (JS MerkleTree.missingNodes). c.mu held.
func (c *Core) missingNodes(index uint64) uint64 {
	head := 2 * c.tree.Length
	if flattree.RightSpan(index) >= head {
		return 0
	}
	var n uint64
	for i := index; n < 1024; n++ {
		l, r := flattree.Spans(i)
		if l <= head && head <= r {
			break // i contains head
		}
		if _, ok, _ := c.st.Node(i); ok {
			break
		}
		i = flattree.Parent(i)
	}
	return n
}

// hasRootsOf reports whether the roots of a tree of length blocks are
// stored (JS MerkleTree.upgradeable). c.mu held.
func (c *Core) hasRootsOf(length uint64) bool {
	ok, err := merkle.Upgradeable(c.st, length)
	return err == nil && ok
}

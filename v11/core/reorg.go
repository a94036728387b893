package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hypercore-go/hypercore/v11/core/store"
	"github.com/hypercore-go/hypercore/v11/merkle"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// Following a truncation (replication.md, "Forks"), as a JS Hypercore 11
// replicator does it (Replicator._updateFork, Peer._requestForkProof and
// _requestForkRange, Replicator._onreorgdata and _applyReorg, Core.reorg):
//
//  1. A peer's sync names a fork above ours, with a length above 0: we ask
//     that peer for its fork's tree from block 0, request {fork: its fork,
//     upgrade {start 0, length: its length}} (with manifest while we have
//     none).
//  2. The answer verifies as a newer fork (merkle.VerifyProof returns a
//     merkle.Reorg: the fork's signed tree, checked against the manifest,
//     and the search for the point where it parts from our blocks).
//  3. While the search wants more, we ask a peer of that fork for a hash
//     proof of one block in the wanted range that it announced, request
//     {fork, hash {index: 2·block, nodes}}, and pass the answer to
//     Reorg.Update. Each answer narrows the range to one subtree.
//  4. When the search is over, one commit drops every block at or past the
//     fork point (Reorg.Ancestors: the blocks both forks share are kept),
//     and the tree nodes over them, and adopts the new tree, signature and
//     fork. Every peer is then told: a range drop of the dropped blocks,
//     and a sync with the new fork.
//
// Until the commit, the core stays on its fork: it answers requests for
// that fork only, and data of another fork is never stored as its own; a
// block of the old fork is never served as one of the new fork's, since
// from the commit on every block at or past the fork point is gone.

// A forkRequest is the search for one newer fork (JS ForkRequest with its
// ReorgBatch). c.mu guards it.
type forkRequest struct {
	fork  uint64
	reorg *merkle.Reorg // nil until an upgrade proof of the fork verified
	// baseFork and baseLength are our tree when reorg was verified; the
	// search compared the fork with that tree, so it starts again if ours
	// changes first.
	baseFork, baseLength uint64
	inflight             map[*peer]uint64 // the request each peer has of this search
	asked                map[forkAsk]bool // hash proofs asked for the current Want
}

type forkAsk struct {
	pe    *peer
	block uint64
}

// maxForkScan bounds the blocks of a wanted range looked through for one
// the peer announced.
const maxForkScan = 1 << 16

// updateForks starts, continues and forgets searches for newer forks
// (JS Replicator._updateFork and the fork part of _updatePeer): it is
// called at the start of every update. c.mu held.
func (r *replicator) updateForks() {
	c := r.core
	f := r.fork
	if f != nil && f.fork <= c.tree.Fork {
		// Our tree reached the fork (or a newer one) another way.
		r.fork, f = nil, nil
	}
	if f != nil {
		for pe, id := range f.inflight {
			if _, ok := pe.inflight[id]; !ok {
				delete(f.inflight, pe) // answered with noData, or the peer left
			}
		}
		f.checkBase(c)
	}
	// The newest fork a peer is on. JS keeps a search per fork and
	// applies the newest one finished; a newer fork supersedes the older
	// ones (it is signed later by the same writer), so one is enough.
	for _, pe := range r.peers {
		if pe.opened && pe.remoteSynced && pe.remoteLength > 0 && pe.remoteFork > c.tree.Fork && (f == nil || pe.remoteFork > f.fork) {
			f = &forkRequest{fork: pe.remoteFork, inflight: map[*peer]uint64{}}
			r.fork = f
		}
	}
	if f == nil || len(f.inflight) > 0 {
		return
	}
	for _, pe := range r.peers {
		if !pe.opened || pe.remoteFork != f.fork || len(pe.inflight) >= maxInflight {
			continue
		}
		if f.reorg == nil {
			// JS Peer._requestForkProof: the fork's tree from block 0.
			if pe.upgrading || pe.remoteLength == 0 {
				continue
			}
			pe.nextID++
			req := &request{id: pe.nextID, upgrade: true, sent: time.Now()}
			pe.inflight[req.id] = req
			pe.upgrading = true
			f.inflight[pe] = req.id
			pe.send(&wire.Request{
				ID:       req.id,
				Fork:     f.fork,
				Upgrade:  &wire.UpgradeRequest{Start: 0, Length: pe.remoteLength},
				Manifest: c.manifest == nil && !c.compat,
			})
			return
		}
		w := f.reorg.Want
		if w == nil {
			return
		}
		i, ok := f.pick(pe, w)
		if !ok {
			continue
		}
		// JS Peer._requestForkRange: a hash proof of one block.
		pe.nextID++
		req := &request{id: pe.nextID, sent: time.Now()}
		pe.inflight[req.id] = req
		f.inflight[pe] = req.id
		if f.asked == nil {
			f.asked = map[forkAsk]bool{}
		}
		f.asked[forkAsk{pe, i}] = true
		pe.send(&wire.Request{ID: req.id, Fork: f.fork, Hash: &wire.HashRequest{Index: 2 * i, Nodes: w.Nodes}})
		return
	}
}

// pick chooses the block of w to ask pe a hash proof of: one in
// [w.Start, min(w.End, its length)) that pe announced and was not asked
// for, else w.Start (a writer holds every node of its tree, announced or
// not; JS asks the peers for a range then). c.mu held.
func (f *forkRequest) pick(pe *peer, w *merkle.ReorgWant) (uint64, bool) {
	end := min(w.End, pe.remoteLength)
	if end <= w.Start {
		return 0, false
	}
	for i := w.Start; i < end && i-w.Start < maxForkScan; i++ {
		if pe.remoteHas(i) && !f.asked[forkAsk{pe, i}] {
			return i, true
		}
	}
	if !f.asked[forkAsk{pe, w.Start}] {
		return w.Start, true
	}
	return 0, false
}

// checkBase drops a search made against a tree we no longer have. c.mu
// held.
func (f *forkRequest) checkBase(c *Core) {
	if f.reorg != nil && (f.baseFork != c.tree.Fork || f.baseLength != c.tree.Length) {
		f.reorg, f.asked = nil, nil
	}
}

// onReorgData takes data of a fork above ours (JS Replicator._onreorgdata):
// an upgrade proof starts the search for that fork, a hash proof continues
// it, and a finished search is applied. Data that does not verify is an
// error (the connection ends); data of no search in progress is ignored.
// c.mu held.
func (pe *peer) onReorgData(m *wire.Data) error {
	r := pe.r
	c := r.core
	f := r.fork
	if f != nil {
		if id, ok := f.inflight[pe]; ok && id == m.Request {
			delete(f.inflight, pe)
		}
		f.checkBase(c)
	}
	if _, err := c.adoptManifest(m.Manifest); err != nil {
		return err
	}
	p := treeProof(m)
	switch {
	case m.Upgrade != nil:
		if c.verifier == nil {
			return errors.New("an upgrade before the manifest")
		}
		vp, err := merkle.VerifyProof(&c.tree, c.st, p, c.verifier)
		if err != nil {
			return err
		}
		if vp.Reorg == nil {
			return fmt.Errorf("data of fork %d verified as fork %d", m.Fork, c.tree.Fork)
		}
		if f == nil || m.Fork > f.fork {
			f = &forkRequest{fork: m.Fork, inflight: map[*peer]uint64{}}
			r.fork = f
		}
		if m.Fork == f.fork && f.reorg == nil {
			f.reorg, f.asked = vp.Reorg, nil
			f.baseFork, f.baseLength = c.tree.Fork, c.tree.Length
		}
	case m.Hash != nil && f != nil && m.Fork == f.fork && f.reorg != nil && f.reorg.Want != nil:
		before := *f.reorg.Want
		if _, err := f.reorg.Update(c.st, p); err != nil {
			return err
		}
		if w := f.reorg.Want; w == nil || *w != before {
			f.asked = nil
		}
	}
	if f != nil && f.reorg != nil && f.reorg.Done() {
		r.fork = nil
		if err := c.applyReorg(f.reorg); err != nil {
			return err
		}
	}
	r.update()
	return nil
}

// applyReorg drops the blocks past the fork point and adopts the newer
// fork's tree in one commit, then tells every peer (JS Core.reorg and
// SessionState.reorg, then ontruncate). c.mu held.
func (c *Core) applyReorg(rg *merkle.Reorg) error {
	old, oldSig := c.tree, c.signature
	ancestors := min(rg.Ancestors, old.Length, rg.Tree.Length)
	b := &store.Batch{}
	// The blocks at or past the fork point are not blocks of the newer
	// fork: they go in the same commit that adopts its tree, so that no
	// state, even after a crash, serves one of them as the new fork's.
	b.Truncate(ancestors)
	b.PutNode(rg.Nodes...)
	c.tree, c.signature = rg.Tree.Clone(), slices.Clone(rg.Signature)
	b.SetHeader(c.header())
	if err := c.st.Commit(b); err != nil {
		c.tree, c.signature = old, oldSig
		return err
	}
	c.notifyLocked(ancestors, ancestors)
	for _, pe := range c.repl.peers {
		if !pe.opened {
			continue
		}
		// Blocks refused under the old fork may be had under the new.
		clear(pe.refused)
	}
	c.repl.dropRange(ancestors, old.Length)
	for _, pe := range c.repl.peers {
		if pe.opened {
			pe.sendSync()
		}
	}
	return nil
}

// dropRange tells every peer that blocks [start, end) are no longer held
// here, after a truncation or a reorg (JS onhave(start, length, drop)).
// c.mu held.
func (r *replicator) dropRange(start, end uint64) {
	if end <= start {
		return
	}
	for _, pe := range r.peers {
		if pe.opened {
			pe.send(&wire.Range{Drop: true, Start: start, Length: end - start})
		}
	}
}

// adoptManifest takes the manifest sent with data while the core has
// none: it must hash to the key (or be the compat manifest of the key)
// before anything is verified with it. It reports whether the core took
// it (a compat manifest is not kept). c.mu held.
func (c *Core) adoptManifest(raw []byte) (bool, error) {
	if len(raw) == 0 || c.manifest != nil {
		return false, nil
	}
	mf, err := merkle.DecodeManifest(raw)
	if err != nil {
		return false, fmt.Errorf("manifest: %w", err)
	}
	v, err := merkle.NewVerifier(c.key, mf, merkle.VerifierOptions{})
	if err != nil {
		return false, fmt.Errorf("manifest: %w", err)
	}
	if v.Compat() {
		return false, nil
	}
	c.manifest, c.manifestRaw, c.verifier = mf, slices.Clone(raw), v
	return true, nil
}

// treeProof is the merkle proof a data message carries (its sections are
// the merkle types).
func treeProof(m *wire.Data) *merkle.TreeProof {
	return &merkle.TreeProof{Fork: m.Fork, Block: m.Block, Hash: m.Hash, Seek: m.Seek, Upgrade: m.Upgrade}
}

// WaitFork waits until the core's fork id is above fork, or ctx ends, and
// returns the new fork id: a writer's Truncate raises it, and so does a
// clone following a peer's truncation.
func (c *Core) WaitFork(ctx context.Context, fork uint64) (uint64, error) {
	return c.waitFor(ctx, func() (uint64, bool) { return c.tree.Fork, c.tree.Fork > fork })
}

// haveRange is the range message announcing new blocks [start, end), as
// JS broadcastRange makes it: a core that holds every block up to its
// length announces them all, from 0. A JS peer reads a range from 0 as the
// remote's contiguous length, which survives its own reorg; a range of
// single blocks that arrives while it still holds the old fork's blocks
// there is lost when it applies the reorg (it recomputes the blocks it
// misses before it clears its own), and it would never ask for those
// blocks. c.mu held.
func (c *Core) haveRange(start, end uint64) *wire.Range {
	if c.contiguous() == c.tree.Length {
		return &wire.Range{Start: 0, Length: c.tree.Length}
	}
	return &wire.Range{Start: start, Length: end - start}
}

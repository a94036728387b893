package core

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

// Append adds blocks to the end of the feed in one call, with one
// signature, as hypercore's append(batch) does, and returns the index of
// the first new block. Appending no blocks does nothing. Append does not
// keep the caller's slices: it has written them when it returns, and the
// caller may reuse them.
//
// Write order (spec/storage.md, "Write order"): the data (while the
// leaves are hashed), the new tree nodes, the signature, and, last, the
// bitfield pages; a crash at any point leaves a feed that reopens at its
// old or its new length.
func (f *Feed) Append(blocks ...[]byte) (uint64, error) {
	f.mu.Lock()
	seq, err := f.appendLocked(blocks)
	f.mu.Unlock()
	if err == nil && len(blocks) > 0 {
		f.afterAppend(seq, uint64(len(blocks)))
	}
	return seq, err
}

func (f *Feed) appendLocked(blocks [][]byte) (uint64, error) {
	if f.closed {
		return 0, ErrClosed
	}
	if f.secretKey == nil {
		return 0, ErrNotWritable
	}
	start := f.length
	if len(blocks) == 0 {
		return start, nil
	}
	size := 0
	for i, b := range blocks {
		// JS refuses blocks over 8 MiB: the wire could not carry them.
		if len(b) > MaxBlockSize {
			return 0, fmt.Errorf("%w: block %d has %d bytes", ErrBlockTooLarge, i, len(b))
		}
		size += len(b)
	}
	oldRoots := append([]merkle.Node(nil), f.gen.Roots()...)
	ok := false
	defer func() {
		if !ok { // undo the generator so the next append starts from the stored state
			f.gen = merkle.NewGenerator(oldRoots)
			f.nodeCache = nil // nodes past the length may be written again
		}
	}()

	// The data (step 3 of the write order) needs nothing from the tree, so
	// it is written while the leaves are hashed.
	n := uint64(len(blocks))
	leaves := make([]merkle.Hash, n)
	var dataErr error
	hashLeaves(blocks, size, leaves, func() {
		dataErr = storage.WriteBuffers(f.fData, blocks, int64(f.byteLength))
	})
	if dataErr != nil {
		return 0, dataErr
	}

	// Nodes from leaf 2·start to the last new leaf are written as one run
	// (zero entries for parents not yet complete); parents left of it one
	// by one.
	run := make([]byte, 40*(2*n-1))
	var nodes []merkle.Node
	type single struct {
		off  int64
		node merkle.Node
	}
	var singles []single
	for i, b := range blocks {
		nodes = f.gen.AppendLeaf(nodes[:0], leaves[i], uint64(len(b)))
		for _, nd := range nodes {
			f.cacheNode(nd)
			if nd.Index >= 2*start && nd.Index-2*start < 2*n-1 {
				encodeNode(run[40*(nd.Index-2*start):][:0], nd)
				continue
			}
			off, err := nodeOffset(nd.Index)
			if err != nil {
				return 0, err
			}
			singles = append(singles, single{off, nd})
		}
	}
	runOff, err := nodeOffset(2 * start)
	if err != nil {
		return 0, err
	}
	for _, s := range singles {
		if _, err := f.fTree.WriteAt(encodeNode(nil, s.node), s.off); err != nil {
			return 0, err
		}
	}
	if _, err := f.fTree.WriteAt(run, runOff); err != nil {
		return 0, err
	}
	if f.live {
		sig, err := merkle.Sign(f.secretKey, f.gen.Roots(), start+n)
		if err != nil {
			return 0, err
		}
		if _, err := f.fSigs.WriteAt(sig, 32+64*int64(start+n-1)); err != nil {
			return 0, err
		}
	}
	ok = true
	f.byteLength += uint64(size)
	for i := uint64(0); i < n; i++ {
		f.bits.Set(f.length, true)
		f.tree.Set(2 * f.length)
		f.length++
	}
	if err := f.syncBitfield(); err != nil {
		return start, err
	}
	return start, nil
}

// Leaf hashing is split into chunks of about leafChunkBytes (at most
// leafChunk blocks), taken in turn by the goroutines that hash: a goroutine
// held up (by the data write, or by another process on its CPU) then holds
// no one else up. Below parallelMin bytes one goroutine does it all.
const (
	leafChunk      = 32
	leafChunkBytes = 32 << 10
	parallelMin    = 128 << 10
)

// hashLeaves sets leaves[i] to the leaf hash of blocks[i] (size bytes in
// all) and runs write beside the hashing, on every CPU when the blocks are
// enough to pay for it: leaf hashes are independent, and hashing is most
// of an append's work. It returns when write and every hash are done.
func hashLeaves(blocks [][]byte, size int, leaves []merkle.Hash, write func()) {
	per := leafChunk
	if size > 0 {
		per = min(leafChunk, max(1, leafChunkBytes*len(blocks)/size))
	}
	chunks := (len(blocks) + per - 1) / per
	workers := min(runtime.GOMAXPROCS(0), 1+chunks)
	if size < parallelMin || workers < 2 {
		write()
		for i, b := range blocks {
			leaves[i] = merkle.LeafHash(b)
		}
		return
	}
	// Task 0 is the write, task t ≥ 1 hashes chunk t−1.
	var next atomic.Int64
	work := func() {
		for {
			t := int(next.Add(1) - 1)
			if t == 0 {
				write()
				continue
			}
			lo := (t - 1) * per
			if lo >= len(blocks) {
				return
			}
			for i := lo; i < min(lo+per, len(blocks)); i++ {
				leaves[i] = merkle.LeafHash(blocks[i])
			}
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

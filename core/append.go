package core

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/hypercore-go/hypercore/merkle"
)

// Append adds blocks to the end of the feed in one call, with one
// signature, as hypercore's append(batch) does, and returns the index of
// the first new block. Appending no blocks does nothing. Append does not
// keep the caller's slices: it has written them when it returns, and the
// caller may reuse them.
//
// Write order (spec/storage.md, "Write order"): the new tree nodes, the
// signature, the data, and, last, the bitfield pages; a crash at any point
// leaves a feed that reopens at its old or its new length.
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

	// Nodes from leaf 2·start to the last new leaf are written as one run
	// (zero entries for parents not yet complete); parents left of it one
	// by one.
	n := uint64(len(blocks))
	run := make([]byte, 40*(2*n-1))
	var nodes []merkle.Node
	type single struct {
		off  int64
		node merkle.Node
	}
	var singles []single
	leaves := leafHashes(blocks)
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
	data := blocks[0]
	if len(blocks) > 1 {
		data = make([]byte, 0, size)
		for _, b := range blocks {
			data = append(data, b...)
		}
	}
	if _, err := f.fData.WriteAt(data, int64(f.byteLength)); err != nil {
		return 0, err
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

// leafHashes hashes the blocks of an append, on every CPU when there are
// enough of them to be worth it: leaf hashes are independent, and hashing
// is most of an append's work.
func leafHashes(blocks [][]byte) []merkle.Hash {
	hashes := make([]merkle.Hash, len(blocks))
	workers := min(runtime.GOMAXPROCS(0), len(blocks)/64)
	if workers < 2 {
		for i, b := range blocks {
			hashes[i] = merkle.LeafHash(b)
		}
		return hashes
	}
	var wg sync.WaitGroup
	per := (len(blocks) + workers - 1) / workers
	for lo := 0; lo < len(blocks); lo += per {
		hi := min(lo+per, len(blocks))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				hashes[i] = merkle.LeafHash(blocks[i])
			}
		}()
	}
	wg.Wait()
	return hashes
}

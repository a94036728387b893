package core

import (
	"fmt"
	"runtime"
	"slices"
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
	n := uint64(len(blocks))
	if _, err := nodeOffset(2 * (start + n)); err != nil {
		return 0, err
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
	// of entries (blank for parents not yet complete); parents left of it
	// one by one. The goroutines that hash the leaves also build the
	// parents within each chunk, and one of them writes the data (step 3
	// of the write order), which needs nothing from the tree.
	//
	// The run's nodes do not go into the node cache: a map entry a node
	// cost an append of 1000 blocks about as much as its parent hashes,
	// and a writer that serves them reads each from the tree file once
	// and caches it then (nodeAt).
	b := newBatch(blocks, start, size)
	defer b.free()
	var dataErr error
	b.run(func() {
		dataErr = storage.WriteBuffers(f.fData, blocks, int64(f.byteLength))
	})
	if dataErr != nil {
		return 0, dataErr
	}
	// The chunks' roots (or, for a chunk that is not a whole subtree, its
	// leaves) go through the generator in order, for the nodes above them.
	var nodes, singles []merkle.Node
	for t := range b.chunks {
		for _, head := range b.heads(t) {
			nodes = f.gen.AppendTree(nodes[:0], head)
			for _, nd := range nodes[1:] { // nodes[0], head, is in the run already
				if b.inRun(nd.Index) {
					b.put(nd)
				} else {
					singles = append(singles, nd)
				}
			}
		}
	}
	for _, nd := range singles {
		off, _ := nodeOffset(nd.Index) // left of the run, checked above
		if _, err := f.fTree.WriteAt(encodeNode(nil, nd), off); err != nil {
			return 0, err
		}
		f.cacheNode(nd) // few, and high: every block's offset sums such nodes
	}
	runOff, _ := nodeOffset(2 * start)
	if _, err := f.fTree.WriteAt(b.entries, runOff); err != nil {
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

// An append's blocks are hashed in chunks of per blocks, per a power of
// two of at most leafChunk blocks and about leafChunkBytes bytes. Chunks
// are aligned to multiples of per block indexes, so that a chunk of per
// blocks is a whole subtree, whose parents its goroutine builds too; only
// the first and last chunk of a call may be shorter. Goroutines take the
// chunks in turn: one held up (by the data write, or by another process
// on its CPU) holds no one else up. Below parallelMin bytes the calling
// goroutine does it all.
const (
	leafChunk      = 32
	leafChunkBytes = 32 << 10
	parallelMin    = 128 << 10
)

// batch is the work of hashing one append: its blocks, from block start,
// and the run of tree entries it fills, from node 2·start.
type batch struct {
	blocks      [][]byte
	start       uint64
	per         uint64 // blocks a chunk
	first       uint64 // start rounded down to a multiple of per: chunk 0's subtree
	chunks      int
	parallel    bool
	entries     []byte        // 40 bytes a node, as in the tree file
	leavesRoots []merkle.Node // by block: its leaf, or, at a whole chunk's first block, the chunk's root
}

func newBatch(blocks [][]byte, start uint64, size int) *batch {
	n := uint64(len(blocks))
	per := uint64(leafChunk)
	for per > 1 && per*(uint64(size)/n) > leafChunkBytes {
		per /= 2
	}
	first := start &^ (per - 1)
	chunks := int((start + n - first + per - 1) / per)
	b := batches.Get().(*batch)
	*b = batch{
		blocks: blocks, start: start, per: per, first: first, chunks: chunks,
		parallel:    size >= parallelMin && chunks > 1 && runtime.GOMAXPROCS(0) > 1,
		entries:     slices.Grow(b.entries[:0], int(40*(2*n-1)))[:40*(2*n-1)],
		leavesRoots: slices.Grow(b.leavesRoots[:0], int(n))[:n],
	}
	clear(b.entries) // blank entries for the parents not yet complete
	return b
}

// batches keeps the buffers of finished appends for the next ones: fresh
// ones of 128 KB for 1000 blocks cost more (zeroed, then faulted in) than
// the serial part of such an append spends on anything else.
var batches = sync.Pool{New: func() any { return new(batch) }}

// free returns b to batches, unless its buffers are larger than an append
// of 32k blocks needs: those are left to the garbage collector.
func (b *batch) free() {
	if len(b.leavesRoots) > 1<<15 {
		return
	}
	*b = batch{entries: b.entries[:0], leavesRoots: b.leavesRoots[:0]}
	batches.Put(b)
}

// chunk returns the blocks [lo, hi) of chunk t and whether they are a
// whole subtree.
func (b *batch) chunk(t int) (lo, hi uint64, whole bool) {
	lo = b.first + uint64(t)*b.per
	hi = min(lo+b.per, b.start+uint64(len(b.blocks)))
	whole = lo >= b.start && hi-lo == b.per
	return max(lo, b.start), hi, whole
}

// heads returns what chunk t gives the generator: its root, for a whole
// subtree, or else its leaves.
func (b *batch) heads(t int) []merkle.Node {
	lo, hi, whole := b.chunk(t)
	if whole {
		hi = lo + 1
	}
	return b.leavesRoots[lo-b.start : hi-b.start]
}

// inRun reports whether node i is one of the run's entries.
func (b *batch) inRun(i uint64) bool {
	return i >= 2*b.start && i-2*b.start < uint64(len(b.entries))/40
}

// put writes node n (in the run) into its entry.
func (b *batch) put(n merkle.Node) {
	encodeNode(b.entries[40*(n.Index-2*b.start):][:0], n)
}

// hashChunk hashes the leaves of chunk t into their entries and, for a
// whole subtree, builds its parents too, bottom up.
func (b *batch) hashChunk(t int) {
	lo, hi, whole := b.chunk(t)
	var level [leafChunk]merkle.Node
	for i := lo; i < hi; i++ {
		data := b.blocks[i-b.start]
		leaf := merkle.Node{Index: 2 * i, Hash: merkle.LeafHash(data), Size: uint64(len(data))}
		b.put(leaf)
		b.leavesRoots[i-b.start] = leaf
		level[i-lo] = leaf
	}
	if !whole {
		return
	}
	for w := b.per; w > 1; w /= 2 {
		for k := range w / 2 {
			level[k] = merkle.ParentNode(level[2*k], level[2*k+1])
			b.put(level[k])
		}
	}
	b.leavesRoots[lo-b.start] = level[0]
}

// run runs write and hashes every chunk: on every CPU when the batch is
// large enough to pay for the goroutines. It returns when all is done.
// Task 0 is the write, task t ≥ 1 hashes chunk t−1.
func (b *batch) run(write func()) {
	var next atomic.Int64
	work := func() {
		for {
			t := int(next.Add(1) - 1)
			switch {
			case t == 0:
				write()
			case t <= b.chunks:
				b.hashChunk(t - 1)
			default:
				return
			}
		}
	}
	if !b.parallel {
		work()
		return
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), b.chunks) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

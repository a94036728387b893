package core

import (
	"encoding/binary"
	"fmt"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/merkle"
)

// Get returns block i if it is stored locally, checking it against its leaf
// hash first. It fails with ErrOutOfRange past the feed's length,
// ErrNotAvailable for a block not stored, ErrCorrupt for a block that does
// not match its hash or its files, and ErrBlockTooLarge for a block whose
// tree node claims more than MaxBlockSize (JS writes no such block that it
// can replicate). GetContext also waits for peers.
func (f *Feed) Get(i uint64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.getLocked(i)
}

func (f *Feed) getLocked(i uint64) ([]byte, error) { return f.readBlock(i, true) }

// readBlock reads block i from the data file; with verify it checks the
// block against its leaf hash (ErrCorrupt if it does not match). Get
// verifies: a local read has no other check. Serving a peer does not
// (spec/security.md, "Serving unverified blocks"): the peer verifies every
// block against the signed tree before it keeps it.
func (f *Feed) readBlock(i uint64, verify bool) ([]byte, error) {
	return f.readBlockInto(i, verify, nil)
}

// readBlockInto is readBlock reading into buf when it is not nil and has
// room (its capacity), else into new memory.
func (f *Feed) readBlockInto(i uint64, verify bool, buf []byte) ([]byte, error) {
	if f.closed {
		return nil, ErrClosed
	}
	if !f.bits.Get(i) {
		if i >= f.length {
			return nil, fmt.Errorf("%w: block %d of %d", ErrOutOfRange, i, f.length)
		}
		return nil, fmt.Errorf("%w: block %d", ErrNotAvailable, i)
	}
	off, leaf, err := f.dataOffset(i, nil)
	if err != nil {
		return nil, err
	}
	if int64(off) < 0 || int64(off+leaf.Size) < 0 || off+leaf.Size < off {
		return nil, fmt.Errorf("%w: data: block %d at offset %d", ErrCorrupt, i, off)
	}
	// The size comes from the tree file: never make a large allocation by
	// it. The data file must hold the block before anything is allocated
	// (a small one is checked by the read), and a block is at most
	// MaxBlockSize (what Append takes and a frame carries): a sparse data
	// file can be far larger than what was ever written.
	if leaf.Size > 1<<16 {
		if size, err := f.fData.Size(); err != nil {
			return nil, err
		} else if off+leaf.Size > uint64(size) {
			return nil, fmt.Errorf("%w: data: block %d (%d bytes at %d) past the end of the file (%d bytes)", ErrCorrupt, i, leaf.Size, off, size)
		}
	}
	if leaf.Size > MaxBlockSize {
		return nil, fmt.Errorf("%w: block %d claims %d bytes", ErrBlockTooLarge, i, leaf.Size)
	}
	if buf != nil && uint64(cap(buf)) >= leaf.Size {
		buf = buf[:leaf.Size]
	} else { // never nil, even when empty: a nil value is a hash-only Data
		buf = make([]byte, leaf.Size)
	}
	if n, err := f.fData.ReadAt(buf, int64(off)); n < len(buf) {
		return nil, fmt.Errorf("%w: data: block %d cut short (%v)", ErrCorrupt, i, err)
	}
	// Never return a block that does not hash to its stored leaf.
	if verify && merkle.LeafHash(buf) != leaf.Hash {
		return nil, fmt.Errorf("%w: data: block %d does not match its hash", ErrCorrupt, i)
	}
	return buf, nil
}

// Head returns the last block.
func (f *Feed) Head() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.length == 0 {
		return nil, fmt.Errorf("%w: the feed is empty", ErrNotAvailable)
	}
	return f.getLocked(f.length - 1)
}

// dataOffset returns where block i starts in the data file, the sum of the
// sizes of fullRoots(2i), and its leaf node. Nodes are taken from extra
// (nodes being written with the block) or the tree file.
func (f *Feed) dataOffset(i uint64, extra []merkle.Node) (uint64, merkle.Node, error) {
	var st stretch // tree entries read at once, below
	find := func(idx uint64) (merkle.Node, error) {
		for _, n := range extra {
			if n.Index == idx {
				return n, nil
			}
		}
		if n, ok := st.node(idx); ok {
			f.cacheNode(n)
			return n, nil
		}
		n, ok, err := f.nodeAt(idx)
		if err != nil {
			return n, err
		}
		if !ok {
			return n, fmt.Errorf("%w: node %d needed for the offset of block %d", ErrInvalidProof, idx, i)
		}
		return n, nil
	}
	// Reading in order, the offset is the previous block's plus its size.
	if last := f.lastOffset; last.size > 0 && last.index+1 == i {
		leaf, err := find(2 * i)
		if err != nil {
			return 0, leaf, err
		}
		off := last.off + last.size
		f.lastOffset = blockOffset{i, off, leaf.Size}
		return off, leaf, nil
	}
	var buf [64]uint64 // a tree has at most 64 full roots
	roots, _ := flattree.AppendFullRoots(buf[:0], 2*i)
	// The roots the node cache does not hold are the last, low ones:
	// small subtrees just left of block i. With the leaf they lie in a
	// short stretch of the tree file, read at once when more than one of
	// them is needed (nodeCache keeps only the highest parents of a long
	// feed).
	if lo, ok := f.uncachedFrom(roots, 2*i, extra); ok {
		st = f.readStretch(lo, 2*i)
	}
	var off uint64
	for _, r := range roots {
		n, err := find(r)
		if err != nil {
			return 0, merkle.Node{}, err
		}
		off += n.Size
	}
	leaf, err := find(2 * i)
	if err == nil {
		f.lastOffset = blockOffset{i, off, leaf.Size}
	}
	return off, leaf, err
}

// maxStretch bounds the tree entries dataOffset reads at once (5 KiB).
const maxStretch = 128

// uncachedFrom returns the index of the first node dataOffset will need
// from the tree file for leaf, of roots (ascending) and the leaf, when
// there are at least two and they lie within maxStretch entries of leaf.
func (f *Feed) uncachedFrom(roots []uint64, leaf uint64, extra []merkle.Node) (uint64, bool) {
	needed := func(idx uint64) bool {
		for _, n := range extra {
			if n.Index == idx {
				return false
			}
		}
		_, ok := f.nodeCache[idx]
		return !ok
	}
	count, lo := 0, leaf
	if needed(leaf) {
		count++
	}
	for k := len(roots) - 1; k >= 0 && leaf-roots[k] < maxStretch; k-- {
		if needed(roots[k]) {
			count, lo = count+1, roots[k]
		}
	}
	return lo, count >= 2
}

// stretch is a run of tree file entries read at once, from node lo on.
type stretch struct {
	lo  uint64
	buf []byte
}

// readStretch reads tree entries lo to hi (at most maxStretch+1 of them).
// A failed or short read gives what it got: the nodes past it are read
// one by one as before.
func (f *Feed) readStretch(lo, hi uint64) stretch {
	off, err := nodeOffset(lo)
	if err != nil {
		return stretch{}
	}
	buf := f.stretchBuf[:40*(hi-lo+1)]
	m, _ := f.fTree.ReadAt(buf, off)
	return stretch{lo: lo, buf: buf[:m/40*40]}
}

// node returns node idx from the stretch, when it holds a stored one.
func (s stretch) node(idx uint64) (n merkle.Node, ok bool) {
	if idx < s.lo || 40*(idx-s.lo) >= uint64(len(s.buf)) {
		return n, false
	}
	e := s.buf[40*(idx-s.lo):][:40]
	copy(n.Hash[:], e[:32])
	n.Size = binary.BigEndian.Uint64(e[32:])
	n.Index = idx
	if n.Size == 0 && n.Hash == (merkle.Hash{}) {
		return n, false // blank: not stored when it was read; ask the file
	}
	return n, true
}

// Seek returns the block that holds byte offset of the feed's data and the
// position within it (hypercore's seek, for blocks stored locally). Seeking
// to ByteLength returns (Length, 0).
func (f *Feed) Seek(offset uint64) (index, inBlock uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seekLocked(offset)
}

func (f *Feed) seekLocked(offset uint64) (index, inBlock uint64, err error) {
	if offset == f.byteLength {
		return f.length, 0, nil
	}
	if offset > f.byteLength {
		return 0, 0, fmt.Errorf("%w: byte %d of %d", ErrOutOfRange, offset, f.byteLength)
	}
	roots, _ := flattree.FullRoots(2 * f.length)
	for _, r := range roots {
		n, err := f.node(r)
		if err != nil {
			return 0, 0, err
		}
		if n.Size <= offset {
			offset -= n.Size
			continue
		}
		// descend: left child if the byte is in it, else the right
		for top := r; ; {
			if top&1 == 0 {
				return top / 2, offset, nil
			}
			left, right, _ := flattree.Children(top)
			ln, ok, err := f.nodeAt(left)
			if err != nil {
				return 0, 0, err
			}
			if !ok {
				return 0, 0, &missingNodeError{node: top, offset: offset}
			}
			if ln.Size > offset {
				top = left
			} else {
				offset -= ln.Size
				top = right
			}
		}
	}
	return 0, 0, fmt.Errorf("%w: byte %d", ErrOutOfRange, offset)
}

// missingNodeError is seekLocked's error when the descent reaches a node
// whose children are not stored; Reader asks peers for them
// (seekRemote). It matches ErrNotAvailable.
type missingNodeError struct{ node, offset uint64 }

func (e *missingNodeError) Error() string {
	return fmt.Sprintf("%v: byte %d is in a part of the tree not stored here (under node %d)", ErrNotAvailable, e.offset, e.node)
}

func (e *missingNodeError) Unwrap() error { return ErrNotAvailable }

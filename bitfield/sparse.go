// Package bitfield implements the bit arrays of a Hypercore 9 feed,
// specified in spec/bitfield.md: sparse paged bitfields (npm
// sparse-bitfield 3.0.3 over memory-pager 1.5.0), the feed's three
// bitfields sharing 3584-byte pages with the history-dependent index of
// hypercore/lib/bitfield.js, the `bitfield` file, the tree index of
// hypercore/lib/tree-index.js (digests and proof selection), and the
// run-length encoding of bitfield-rle 2.2.1 used in Have messages.
//
// Everything here is pure: values in memory, bytes in and out, no I/O, no
// goroutines. Nothing is safe for concurrent use; the feed locks.
//
// Bits are numbered MSB first: bit i is 0x80 >> (i & 7) of byte i >> 3.
package bitfield

import "slices"

// pager holds fixed-size pages by page number, allocating them on first
// write, and remembers which pages changed since they were last taken
// (memory-pager 1.5.0). Pages are kept in a map, so a far index costs one
// page, not the pages before it.
type pager struct {
	pageSize int
	pages    map[uint64]*page
	sorted   []uint64 // the keys of pages, ascending
	length   uint64   // highest page number allocated or set, plus one
	dirty    []*page
	writes   []PageWrite // TakeUpdates' result, reused

	last *page // the page most recently looked up

	// counted is set for the pager of a standalone bitfield (NewSparse):
	// its one view covers whole pages, so each page counts its non-zero
	// bytes, and the clearing operations free a page that becomes all
	// zero. Nothing writes a standalone bitfield to a file, so it keeps no
	// dirty list (which would hold freed pages alive).
	counted bool
	peak    int // the most pages held at once since the map was last rebuilt
}

type page struct {
	n       uint64
	buf     []byte
	updated bool
	nz      int // non-zero bytes in buf, kept only in a counted pager
}

func newPager(pageSize int) *pager {
	return &pager{pageSize: pageSize, pages: map[uint64]*page{}}
}

// get returns page n, or nil when it was never allocated.
func (p *pager) get(n uint64) *page {
	if p.last != nil && p.last.n == n {
		return p.last
	}
	pg := p.pages[n]
	if pg != nil {
		p.last = pg
	}
	return pg
}

// alloc returns page n, allocating a zero page if needed.
func (p *pager) alloc(n uint64) *page {
	if pg := p.get(n); pg != nil {
		return pg
	}
	pg := &page{n: n, buf: make([]byte, p.pageSize)}
	p.pages[n] = pg
	p.insertSorted(n)
	p.last = pg
	if n >= p.length {
		p.length = n + 1
	}
	p.peak = max(p.peak, len(p.pages))
	return pg
}

// free drops page pg, which holds only zeros, from a counted pager. The
// length stays: a bitfield's length does not shrink.
func (p *pager) free(pg *page) {
	delete(p.pages, pg.n)
	if i, ok := slices.BinarySearch(p.sorted, pg.n); ok {
		p.sorted = slices.Delete(p.sorted, i, i+1)
	}
	if p.last == pg {
		p.last = nil
	}
	p.shrink()
}

// shrink rebuilds the map and the sorted list once they hold a quarter of
// the pages they once did: a Go map never gives back its buckets, and a
// peer that made us hold many pages should not keep their bookkeeping
// once they are freed. Rebuilding costs what the frees since the peak did,
// so freeing stays O(1) amortised.
func (p *pager) shrink() {
	if p.peak < 64 || 4*len(p.pages) > p.peak {
		return
	}
	m := make(map[uint64]*page, len(p.pages))
	for n, pg := range p.pages {
		m[n] = pg
	}
	p.pages = m
	p.sorted = slices.Clone(p.sorted)
	p.peak = len(p.pages)
}

// set installs the contents of page n (padded or cut to the page size). An
// all-zero page is not stored, as memory-pager does, but still counts for
// the length.
func (p *pager) set(n uint64, buf []byte) {
	if n >= p.length {
		p.length = n + 1
	}
	zero := true
	for _, b := range buf {
		if b != 0 {
			zero = false
			break
		}
	}
	if zero {
		if _, ok := p.pages[n]; ok {
			delete(p.pages, n)
			i, _ := slices.BinarySearch(p.sorted, n)
			p.sorted = slices.Delete(p.sorted, i, i+1)
		}
		if p.last != nil && p.last.n == n {
			p.last = nil
		}
		return
	}
	b := make([]byte, p.pageSize)
	copy(b, buf)
	if pg := p.pages[n]; pg != nil {
		pg.buf = b
		return
	}
	p.pages[n] = &page{n: n, buf: b}
	p.insertSorted(n)
}

func (p *pager) insertSorted(n uint64) {
	if k := len(p.sorted); k == 0 || p.sorted[k-1] < n {
		p.sorted = append(p.sorted, n) // the common case: pages grow at the end
		return
	}
	i, _ := slices.BinarySearch(p.sorted, n)
	p.sorted = slices.Insert(p.sorted, i, n)
}

// nextPage returns the first allocated page number ≥ n.
func (p *pager) nextPage(n uint64) (uint64, bool) {
	i, _ := slices.BinarySearch(p.sorted, n)
	if i == len(p.sorted) {
		return 0, false
	}
	return p.sorted[i], true
}

func (p *pager) updated(pg *page) {
	if pg.updated {
		return
	}
	pg.updated = true
	p.dirty = append(p.dirty, pg)
}

// Sparse is a paged bitfield: bytes live in pages that are allocated when a
// byte in them is first set. Several Sparse views can share one pager, each
// using a slice of every page (this is how a feed's three bitfields share
// 3584-byte pages).
type Sparse struct {
	pages      *pager
	pageOffset int // where this view's bytes start in a page
	pageSize   int // this view's bytes per page, a power of two
	byteLength uint64
}

// NewSparse returns an empty bitfield with 1024-byte pages, as a fresh
// sparse-bitfield (used for a peer's remote tree, the blocks a peer has,
// and the blocks requested). Such a standalone bitfield also frees a page
// as soon as Unset, ClearRange, SetRangeAndNot or OverwriteRLE leave it
// all zero, so what it holds follows what is set, not what was claimed.
func NewSparse() *Sparse { return newSparse(1024) }

// newSparse returns an empty standalone bitfield with pages of size bytes,
// a power of two of at least 8 (tests use small pages to cross many).
func newSparse(size int) *Sparse {
	pg := newPager(size)
	pg.counted = true
	return &Sparse{pages: pg, pageSize: size}
}

func newView(p *pager, offset, size int) *Sparse {
	// sparse-bitfield starts its length at what the pager already holds.
	return &Sparse{pages: p, pageOffset: offset, pageSize: size, byteLength: p.length * uint64(size)}
}

// Len returns the bitfield's length in bits, as sparse-bitfield's length:
// 8 × (the highest byte ever changed + 1), or more for pages that were
// loaded before the view was made. Several algorithms of the JS reference
// depend on it.
func (s *Sparse) Len() uint64 { return 8 * s.byteLength }

// Byte returns byte i (0 where no page exists).
func (s *Sparse) Byte(i uint64) byte {
	size := uint64(s.pageSize)
	pg := s.pages.get(i / size)
	if pg == nil {
		return 0
	}
	return pg.buf[int(i%size)+s.pageOffset]
}

// SetByte sets byte i and reports whether it changed. The page is allocated
// even when the byte does not change, as in JS.
func (s *Sparse) SetByte(i uint64, b byte) bool {
	size := uint64(s.pageSize)
	pg := s.pages.alloc(i / size)
	o := int(i%size) + s.pageOffset
	if pg.buf[o] == b {
		return false
	}
	s.changeByte(pg, o, i, b)
	return true
}

// changeByte stores b, which differs from the byte there, at offset o of
// page pg, as byte i of the view: it keeps the page's count of non-zero
// bytes (counted pagers) or marks the page for writing (shared ones), and
// extends the length.
func (s *Sparse) changeByte(pg *page, o int, i uint64, b byte) {
	if s.pages.counted {
		switch {
		case pg.buf[o] == 0:
			pg.nz++
		case b == 0:
			pg.nz--
		}
	} else {
		s.pages.updated(pg)
	}
	pg.buf[o] = b
	if i >= s.byteLength {
		s.byteLength = i + 1
	}
}

// Get returns bit i.
func (s *Sparse) Get(i uint64) bool {
	return s.Byte(i>>3)&(0x80>>(i&7)) != 0
}

// Set sets bit i to v and reports whether it changed.
func (s *Sparse) Set(i uint64, v bool) bool {
	b := s.Byte(i >> 3)
	if v {
		b |= 0x80 >> (i & 7)
	} else {
		b &^= 0x80 >> (i & 7)
	}
	return s.SetByte(i>>3, b)
}

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

	last *page // the page most recently looked up
}

type page struct {
	n       uint64
	buf     []byte
	updated bool
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
	return pg
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
// sparse-bitfield (used for a peer's remote tree).
func NewSparse() *Sparse {
	pg := newPager(1024)
	return &Sparse{pages: pg, pageSize: 1024}
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
	pg.buf[o] = b
	if i >= s.byteLength {
		s.byteLength = i + 1
	}
	s.pages.updated(pg)
	return true
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

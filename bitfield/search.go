package bitfield

import (
	"encoding/binary"
	"math/bits"
)

// This file finds set and unset bits quickly. It reads the bits directly,
// a 64-bit word at a time, and jumps over pages that were never allocated;
// it does not use the index summary, which a reader must not trust
// (spec/bitfield.md, "The index").

// bitsPerPage is the number of bits one page of the view holds.
func (s *Sparse) bitsPerPage() uint64 { return 8 * uint64(s.pageSize) }

// pageBytes returns the view's bytes of page n, or nil.
func (s *Sparse) pageBytes(n uint64) []byte {
	pg := s.pages.get(n)
	if pg == nil {
		return nil
	}
	return pg.buf[s.pageOffset : s.pageOffset+s.pageSize]
}

// NextSet returns the first set bit in [from, end), or false.
func (s *Sparse) NextSet(from, end uint64) (uint64, bool) {
	per := s.bitsPerPage()
	for i := from; i < end; {
		n := i / per
		b := s.pageBytes(n)
		if b == nil {
			next, ok := s.pages.nextPage(n + 1)
			if !ok {
				return 0, false
			}
			i = next * per
			continue
		}
		if j, ok := scan(b, i-n*per, min(end-n*per, per), false); ok {
			return n*per + j, true
		}
		if i = (n + 1) * per; i == 0 {
			break // the last page of the index space
		}
	}
	return 0, false
}

// NextUnset returns the first clear bit in [from, end), or false.
func (s *Sparse) NextUnset(from, end uint64) (uint64, bool) {
	per := s.bitsPerPage()
	for i := from; i < end; {
		n := i / per
		b := s.pageBytes(n)
		if b == nil {
			return i, true
		}
		if j, ok := scan(b, i-n*per, min(end-n*per, per), true); ok {
			return n*per + j, true
		}
		if i = (n + 1) * per; i == 0 {
			break // the last page of the index space
		}
	}
	return 0, false
}

// Count returns the number of set bits in [start, end).
func (s *Sparse) Count(start, end uint64) uint64 {
	if end <= start {
		return 0
	}
	per := s.bitsPerPage()
	var total uint64
	for n, ok := s.pages.nextPage(start / per); ok && n*per < end; n, ok = s.pages.nextPage(n + 1) {
		b := s.pageBytes(n)
		lo := max(start, n*per) - n*per
		hi := min(end, (n+1)*per) - n*per
		total += popcount(b, lo, hi)
	}
	return total
}

// scan finds the first bit in [lo, hi) of b that is set (or, with
// inverted, clear).
func scan(b []byte, lo, hi uint64, inverted bool) (uint64, bool) {
	var flip byte
	if inverted {
		flip = 0xff
	}
	i := lo
	// bits up to the next byte boundary
	for ; i < hi && i&7 != 0; i++ {
		if (b[i>>3]^flip)&(0x80>>(i&7)) != 0 {
			return i, true
		}
	}
	// whole words
	var wflip uint64
	if inverted {
		wflip = ^uint64(0)
	}
	for ; i+64 <= hi; i += 64 {
		w := binary.BigEndian.Uint64(b[i>>3:]) ^ wflip
		if w != 0 {
			return i + uint64(bits.LeadingZeros64(w)), true
		}
	}
	// whole bytes, then bits
	for ; i < hi; i++ {
		if i&7 == 0 && i+8 <= hi && b[i>>3]^flip == 0 {
			i += 7
			continue
		}
		if (b[i>>3]^flip)&(0x80>>(i&7)) != 0 {
			return i, true
		}
	}
	return 0, false
}

// popcount counts the set bits in [lo, hi) of b.
func popcount(b []byte, lo, hi uint64) uint64 {
	var n uint64
	i := lo
	for ; i < hi && i&7 != 0; i++ {
		if b[i>>3]&(0x80>>(i&7)) != 0 {
			n++
		}
	}
	for ; i+64 <= hi; i += 64 {
		n += uint64(bits.OnesCount64(binary.BigEndian.Uint64(b[i>>3:])))
	}
	for ; i+8 <= hi; i += 8 {
		n += uint64(bits.OnesCount8(b[i>>3]))
	}
	for ; i < hi; i++ {
		if b[i>>3]&(0x80>>(i&7)) != 0 {
			n++
		}
	}
	return n
}

// Last returns the highest set bit, or false when none is set. It reads
// the pages from the last, a word at a time; a standalone bitfield skips
// its all-zero pages by their count, so it reads one page.
func (s *Sparse) Last() (uint64, bool) {
	per := s.bitsPerPage()
	for k := len(s.pages.sorted) - 1; k >= 0; k-- {
		n := s.pages.sorted[k]
		pg := s.pages.pages[n]
		if s.pages.counted && pg.nz == 0 {
			continue
		}
		b := pg.buf[s.pageOffset : s.pageOffset+s.pageSize]
		for j := len(b) - 8; j >= 0; j -= 8 {
			if w := binary.BigEndian.Uint64(b[j:]); w != 0 {
				return n*per + uint64(j)*8 + uint64(63-bits.TrailingZeros64(w)), true
			}
		}
	}
	return 0, false
}

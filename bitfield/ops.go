package bitfield

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file changes many bits at once, for replication: what a peer says
// it has (a Have's bitfield or range) is merged into standalone bitfields
// at a cost that follows what changes, not what the peer claims. A range
// is cleared by visiting only the pages that exist, and set a 64-bit word
// at a time; no page is allocated to hold only zeros, and a standalone
// bitfield frees a page as soon as it is all zero again.
//
// Ranges are handled internally by their first and last bit, so that one
// can end at bit 2^64-1 (an RLE bitfield can reach it) and page arithmetic
// never wraps.

// maxBytes is the number of bytes a uint64 bit index can address.
const maxBytes = 1 << 61

// PageCount returns the number of pages allocated, so the memory held is
// about PageCount × the pager's page size. For a feed's bitfields it
// counts the pages the three views share.
func (s *Sparse) PageCount() int { return len(s.pages.sorted) }

// PageSize returns the number of this bitfield's bytes in one page (1024
// for a standalone bitfield).
func (s *Sparse) PageSize() int { return s.pageSize }

// Unset clears bit i and reports whether it changed. Unlike Set(i, false)
// it never allocates, and a standalone bitfield frees the page when this
// was its last set bit.
func (s *Sparse) Unset(i uint64) bool {
	size := uint64(s.pageSize)
	k := i >> 3
	pg := s.pages.get(k / size)
	if pg == nil {
		return false
	}
	o := int(k%size) + s.pageOffset
	bit := byte(0x80) >> (i & 7)
	if pg.buf[o]&bit == 0 {
		return false
	}
	s.changeByte(pg, o, k, pg.buf[o]&^bit)
	s.freeIfZero(pg)
	return true
}

// ClearRange clears bits [start, end); nothing when start ≥ end. It visits
// only the pages that exist: a standalone bitfield drops the pages the
// range covers whole, and those left all zero, without reading them.
func (s *Sparse) ClearRange(start, end uint64) {
	if start < end {
		s.clear(start, end-1)
	}
}

// SetRangeAndNot sets every bit i in [start, end) to !mask.Get(i); nothing
// when start ≥ end. A nil mask is all zero, so the range is set. This is
// how a peer's claim becomes "blocks it has that we lack", with mask the
// feed's data bits (whose pages may differ from s's). It works a word at
// a time, allocates a page only to hold a set bit, and a standalone
// bitfield frees the pages it leaves all zero.
func (s *Sparse) SetRangeAndNot(start, end uint64, mask *Sparse) {
	if start < end {
		s.setAndNot(start, end-1, mask)
	}
}

// OverwriteRLE overwrites the bits from start, a multiple of 8, with the
// run-length encoded bitfield enc, zero-padded to a multiple of align
// bytes, without the bits set in mask (nil for none). It returns the
// number of bits written, 8 × the padded size. The bits are those of
//
//	buf, _ := DecodeRLE(enc, align, max)
//	for k, b := range buf { s.SetByte(start/8+k, b&^mask.Byte(start/8+k)) }
//
// but enc is never decoded into memory: a zero run (and the padding) is a
// ClearRange, a run of 0xff a SetRangeAndNot, and only a literal is
// written byte by byte, so a peer's 4 MiB of zeros costs nothing, and no
// page is allocated to hold only zeros. enc is checked first, as by
// DecodeRLE, and on error (ErrRLE, ErrRLETooLarge, or ErrRLETooLarge when
// the bits would run past bit 2^64-1) nothing is changed.
func (s *Sparse) OverwriteRLE(start uint64, enc []byte, align, max int, mask *Sparse) (uint64, error) {
	if start&7 != 0 {
		return 0, fmt.Errorf("%w: start bit %d is not a multiple of 8", ErrRLE, start)
	}
	size, err := paddedSize(enc, align, max)
	if err != nil {
		return 0, err
	}
	pos := start / 8
	if size >= maxBytes || size > maxBytes-pos {
		return 0, fmt.Errorf("%w: %d bytes from byte %d run past the last bit", ErrRLETooLarge, size, pos)
	}
	end := pos + size
	for len(enc) > 0 {
		v, n := protowire.ConsumeVarint(enc) // checked by paddedSize
		enc = enc[n:]
		if v&1 == 1 {
			l := v >> 2
			switch {
			case l == 0:
			case v&2 != 0:
				s.setAndNot(8*pos, 8*(pos+l)-1, mask)
			default:
				s.clear(8*pos, 8*(pos+l)-1)
			}
			pos += l
			continue
		}
		l := v >> 1
		for _, b := range enc[:l] {
			if mask != nil {
				b &^= mask.Byte(pos)
			}
			s.storeByte(pos, b)
			pos++
		}
		enc = enc[l:]
	}
	if pos < end {
		s.clear(8*pos, 8*end-1) // the padding; 8*end is 0 at the very top
	}
	return 8 * size, nil
}

// clear clears bits first to last, inclusive.
func (s *Sparse) clear(first, last uint64) {
	p := s.pages
	per := s.bitsPerPage()
	n0, n1 := first/per, last/per
	srt := p.sorted
	k, _ := slices.BinarySearch(srt, n0)
	w := k // pages kept are moved down to srt[w]
	for ; k < len(srt) && srt[k] <= n1; k++ {
		n := srt[k]
		pg := p.pages[n]
		lo, hi := uint64(0), per-1
		if n == n0 {
			lo = first - n*per
		}
		if n == n1 {
			hi = last - n*per
		}
		if !p.counted || pg.nz != 0 && (lo != 0 || hi != per-1) {
			s.storeRange(pg, lo, hi, false, nil)
		}
		if p.counted && (pg.nz == 0 || lo == 0 && hi == per-1) {
			delete(p.pages, n)
			if p.last == pg {
				p.last = nil
			}
			continue
		}
		srt[w] = n
		w++
	}
	if w < k {
		p.sorted = slices.Delete(srt, w, k)
		p.shrink()
	}
}

// setAndNot sets bits first to last, inclusive, to the complement of
// mask's, in pieces that lie in one page of s and one of mask.
func (s *Sparse) setAndNot(first, last uint64, mask *Sparse) {
	per := s.bitsPerPage()
	step := per
	if mask != nil {
		step = min(step, mask.bitsPerPage())
	}
	for i := first; ; {
		e := min(i|(step-1), last)
		s.setAndNotPiece(i, e, mask, e == last || e&(per-1) == per-1)
		if e == last {
			return
		}
		i = e + 1
	}
}

// setAndNotPiece is setAndNot within one page of s and of mask; pageEnd
// says no more of this page follows, so it may be freed.
func (s *Sparse) setAndNotPiece(first, last uint64, mask *Sparse, pageEnd bool) {
	per := s.bitsPerPage()
	n := first / per
	pg := s.pages.get(n)
	var mb []byte // mask's bytes from the word holding first; nil for zeros
	if mask != nil {
		mper := mask.bitsPerPage()
		mn := first / mper
		if mb = mask.pageBytes(mn); mb != nil {
			mb = mb[(first-mn*mper)/64*8:]
		}
	}
	lo, hi := first-n*per, last-n*per
	if pg == nil {
		if mb != nil && allSet(mb, lo, hi) {
			return // nothing to set, and no page to hold it
		}
		pg = s.pages.alloc(n)
	}
	s.storeRange(pg, lo, hi, true, mb)
	if pageEnd {
		s.freeIfZero(pg)
	}
}

// allSet reports whether src, bytes from the word holding bit lo, has
// every bit of [lo, hi] set.
func allSet(src []byte, lo, hi uint64) bool {
	for w, j := lo&^63, 0; w <= hi; w, j = w+64, j+8 {
		rm := rangeMask(lo, hi, w)
		if rm&^binary.BigEndian.Uint64(src[j:]) != 0 {
			return false
		}
	}
	return true
}

// rangeMask returns the bits of the word at bit w that lie in [lo, hi],
// MSB first; hi ≥ w.
func rangeMask(lo, hi, w uint64) uint64 {
	m := ^uint64(0)
	if lo > w {
		m >>= lo - w
	}
	if hi < w+63 {
		m &^= ^uint64(0) >> (hi - w + 1)
	}
	return m
}

// storeRange sets bits lo to hi, inclusive, of page pg a word at a time:
// to zero, or with ones to the complement of src (bytes from the word
// holding bit lo; nil for zeros). It keeps the page's count or marks it
// for writing, and extends the length as SetByte would for each byte that
// changes.
func (s *Sparse) storeRange(pg *page, lo, hi uint64, ones bool, src []byte) {
	buf := pg.buf[s.pageOffset : s.pageOffset+s.pageSize]
	counted := s.pages.counted
	nz := 0  // change in the non-zero bytes
	end := 0 // one past the last byte that changed
	for w, j := lo&^63, 0; w <= hi; w, j = w+64, j+8 {
		rm := rangeMask(lo, hi, w)
		var v uint64
		if ones {
			v = rm
			if src != nil {
				v &^= binary.BigEndian.Uint64(src[j:])
			}
		}
		off := int(w / 8)
		old := binary.BigEndian.Uint64(buf[off:])
		nw := old&^rm | v
		if nw == old {
			continue
		}
		binary.BigEndian.PutUint64(buf[off:], nw)
		if counted {
			nz += nonzeroBytes(nw) - nonzeroBytes(old)
		}
		// the last byte that changed is the lowest non-zero byte of old^nw
		end = off + 8 - bits.TrailingZeros64(old^nw)/8
	}
	if end == 0 {
		return
	}
	if counted {
		pg.nz += nz
	} else {
		s.pages.updated(pg)
	}
	if e := pg.n*uint64(s.pageSize) + uint64(end); e > s.byteLength {
		s.byteLength = e
	}
}

// storeByte sets byte i to b, allocating a page only for a non-zero byte.
func (s *Sparse) storeByte(i uint64, b byte) {
	size := uint64(s.pageSize)
	pg := s.pages.get(i / size)
	if pg == nil {
		if b == 0 {
			return
		}
		pg = s.pages.alloc(i / size)
	}
	if o := int(i%size) + s.pageOffset; pg.buf[o] != b {
		s.changeByte(pg, o, i, b)
	}
	if b == 0 {
		s.freeIfZero(pg)
	}
}

// freeIfZero frees page pg of a standalone bitfield if it holds only zeros.
func (s *Sparse) freeIfZero(pg *page) {
	if s.pages.counted && pg.nz == 0 {
		s.pages.free(pg)
	}
}

// nonzeroBytes returns the number of non-zero bytes in w: the high bit of
// each byte is set if the byte is non-zero (adding 0x7f to its low seven
// bits carries into it), and a multiplication sums them.
func nonzeroBytes(w uint64) int {
	const low7 = 0x7f7f7f7f7f7f7f7f
	t := (w&low7 + low7 | w) &^ low7
	return int((t >> 7) * 0x0101010101010101 >> 56)
}

package store

import (
	"io"
	"math/bits"
)

// PageSize is the size of a bitfield page in bytes; a page holds the bits
// of 8·PageSize blocks (storage.md, "Bitfield file"). Pages are the unit
// the store loads and caches; the file itself is a plain bit array.
const PageSize = 4096

const pageBits = 8 * PageSize

type page [PageSize]byte

// page returns bitfield page p, or nil when it is all zeros. Pages are
// loaded on first use and cached while they hold a bit. The caller holds
// s.mu (read or write).
func (s *Store) page(p uint64) (*page, error) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if pg, ok := s.pages[p]; ok {
		return pg, nil
	}
	off := int64(p) * PageSize
	if off >= s.bitsSize {
		return nil, nil
	}
	pg := new(page)
	n, err := s.bits.ReadAt(pg[:], off)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if allZero(pg[:n]) {
		return nil, nil
	}
	s.pages[p] = pg
	return pg, nil
}

// bit reports whether block i's bit is set. The caller holds s.mu.
func (s *Store) bit(i uint64) (bool, error) {
	pg, err := s.page(i / pageBits)
	if err != nil || pg == nil {
		return false, err
	}
	j := i % pageBits
	return pg[j/8]&(1<<(j%8)) != 0, nil
}

// scan returns the first block in [from, limit) whose bit is want, or
// limit. The caller holds s.mu.
func (s *Store) scan(from, limit uint64, want bool) (uint64, error) {
	end := limit
	if want {
		// No bit is set past the file's end: stop there rather than walk
		// a long, sparse core page by page.
		end = min(end, uint64(s.bitsSize)*8)
	}
	for i := from; i < end; {
		p := i / pageBits
		pg, err := s.page(p)
		if err != nil {
			return limit, err
		}
		pageEnd := min((p+1)*pageBits, end)
		if pg == nil {
			if !want {
				return i, nil
			}
			i = pageEnd
			continue
		}
		for i < pageEnd {
			j := i % pageBits
			b := pg[j/8] >> (j % 8)
			if !want {
				b = ^b
			}
			b &= 0xff >> (j % 8) // only the bits from j to the byte's end
			if b != 0 {
				k := i + uint64(bits.TrailingZeros8(b))
				if k < pageEnd {
					return k, nil
				}
				break
			}
			i += 8 - j%8
		}
		i = pageEnd
	}
	return limit, nil
}

// bitEdit collects the bitfield changes of one Commit on copies of the
// pages, so that nothing in memory changes until the commit succeeded.
type bitEdit struct {
	s     *Store
	work  map[uint64]*page  // edited copies
	dirty map[uint64][2]int // byte range [lo, hi) of each page to write
	cut   bool              // a truncation dropped the bits from cutAt on
	cutAt uint64
}

func newBitEdit(s *Store) *bitEdit {
	return &bitEdit{s: s, work: map[uint64]*page{}, dirty: map[uint64][2]int{}}
}

// get returns the working copy of page p.
func (e *bitEdit) get(p uint64) (*page, error) {
	if pg, ok := e.work[p]; ok {
		return pg, nil
	}
	pg := new(page)
	if !e.cut || p*pageBits < e.cutAt {
		orig, err := e.s.page(p)
		if err != nil {
			return nil, err
		}
		if orig != nil {
			*pg = *orig
		}
		if e.cut && (p+1)*pageBits > e.cutAt {
			clearFrom(pg, e.cutAt%pageBits)
		}
	}
	e.work[p] = pg
	return pg, nil
}

// clearFrom clears the bits of pg from bit j on.
func clearFrom(pg *page, j uint64) {
	if j%8 != 0 {
		pg[j/8] &= 1<<(j%8) - 1
		j += 8 - j%8
	}
	clear(pg[j/8:])
}

// value reports block i's bit as edited so far.
func (e *bitEdit) value(i uint64) (bool, error) {
	if e.cut && i >= e.cutAt {
		return false, nil
	}
	if pg, ok := e.work[i/pageBits]; ok {
		j := i % pageBits
		return pg[j/8]&(1<<(j%8)) != 0, nil
	}
	return e.s.bit(i)
}

// set sets block i's bit to v.
func (e *bitEdit) set(i uint64, v bool) error {
	p, j := i/pageBits, i%pageBits
	pg, err := e.get(p)
	if err != nil {
		return err
	}
	old := pg[j/8]
	if v {
		pg[j/8] |= 1 << (j % 8)
	} else {
		pg[j/8] &^= 1 << (j % 8)
	}
	if pg[j/8] != old {
		k := int(j / 8)
		r, ok := e.dirty[p]
		if !ok {
			r = [2]int{k, k + 1}
		}
		e.dirty[p] = [2]int{min(r[0], k), max(r[1], k+1)}
	}
	return nil
}

// pending is a set of byte ranges to write, with their bytes.
type pending struct {
	p     uint64
	lo    int
	bytes []byte
}

// take returns the dirty ranges (copies of their bytes) and starts a new
// set.
func (e *bitEdit) take() []pending {
	var out []pending
	for p, r := range e.dirty {
		out = append(out, pending{p, r[0], append([]byte(nil), e.work[p][r[0]:r[1]]...)})
	}
	e.dirty = map[uint64][2]int{}
	return out
}

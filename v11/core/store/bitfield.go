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
	return pg.has(i % pageBits), nil
}

// has reports whether bit j of the page is set.
func (pg *page) has(j uint64) bool { return pg[j/8]&(1<<(j%8)) != 0 }

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

// bitEdit collects the bitfield changes of one Commit. It edits the cached
// pages in place (Commit holds the store's write lock, so no reader sees
// them before the commit ends) and logs every changed byte and every
// replaced page, so that a failed commit can put memory back as it was.
type bitEdit struct {
	s       *Store
	touched map[uint64]*page  // the pages this edit uses, as cached now
	saved   map[uint64]*page  // what the cache held for a replaced page (nil: nothing)
	undo    []undoByte        // changed bytes, in order
	dirty   map[uint64][2]int // byte range [lo, hi) of each page to write
	cut     bool              // a truncation dropped the bits from cutAt on
	cutAt   uint64
}

type undoByte struct {
	pg  *page
	k   int
	old byte
}

func newBitEdit(s *Store) *bitEdit {
	return &bitEdit{s: s, touched: map[uint64]*page{}, saved: map[uint64]*page{}, dirty: map[uint64][2]int{}}
}

// get returns page p for editing, loading or creating it in the cache.
func (e *bitEdit) get(p uint64) (*page, error) {
	if pg, ok := e.touched[p]; ok {
		return pg, nil
	}
	var pg *page
	if !e.cut || p*pageBits < e.cutAt {
		orig, err := e.s.page(p)
		if err != nil {
			return nil, err
		}
		switch {
		case orig != nil && e.cut && (p+1)*pageBits > e.cutAt:
			// The page of the cut point: a copy without the dropped bits.
			c := *orig
			clearFrom(&c, e.cutAt%pageBits)
			pg = &c
			e.replace(p, pg)
		case orig != nil:
			pg = orig
		}
	}
	if pg == nil {
		pg = new(page)
		e.replace(p, pg)
	}
	e.touched[p] = pg
	return pg, nil
}

// replace puts pg in the cache as page p, saving what was there.
func (e *bitEdit) replace(p uint64, pg *page) {
	e.s.pmu.Lock()
	defer e.s.pmu.Unlock()
	if _, done := e.saved[p]; !done {
		e.saved[p] = e.s.pages[p]
	}
	e.s.pages[p] = pg
}

// rollback undoes every change of the edit in the cache.
func (e *bitEdit) rollback() {
	for k := len(e.undo) - 1; k >= 0; k-- {
		u := e.undo[k]
		u.pg[u.k] = u.old
	}
	e.s.pmu.Lock()
	defer e.s.pmu.Unlock()
	for p, pg := range e.saved {
		if pg == nil {
			delete(e.s.pages, p)
		} else {
			e.s.pages[p] = pg
		}
	}
}

// finish drops the cached pages past a truncation that the edit did not
// use.
func (e *bitEdit) finish() {
	if !e.cut {
		return
	}
	e.s.pmu.Lock()
	defer e.s.pmu.Unlock()
	for p := range e.s.pages {
		if p*pageBits >= e.cutAt && e.touched[p] == nil {
			delete(e.s.pages, p)
		}
	}
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
	if pg, ok := e.touched[i/pageBits]; ok {
		return pg.has(i % pageBits), nil
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
	k := int(j / 8)
	old := pg[k]
	if v {
		pg[k] |= 1 << (j % 8)
	} else {
		pg[k] &^= 1 << (j % 8)
	}
	if pg[k] != old {
		e.undo = append(e.undo, undoByte{pg, k, old})
		r, ok := e.dirty[p]
		if !ok {
			r = [2]int{k, k + 1}
		}
		e.dirty[p] = [2]int{min(r[0], k), max(r[1], k+1)}
	}
	return nil
}

// pending is a byte range of the bitfield file to write, with its bytes.
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
		out = append(out, pending{p, r[0], append([]byte(nil), e.touched[p][r[0]:r[1]]...)})
	}
	clear(e.dirty)
	return out
}

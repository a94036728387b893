package bitfield

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"pgregory.net/rapid"
)

const top = ^uint64(0) // 2^64-1, the largest range end

// setBits returns the set bits of s, ascending, read from its pages.
func setBits(s *Sparse) []uint64 {
	var out []uint64
	per := s.bitsPerPage()
	for _, n := range s.pages.sorted {
		for j, x := range s.pageBytes(n) {
			for x != 0 {
				z := bits.LeadingZeros8(x)
				out = append(out, n*per+8*uint64(j)+uint64(z))
				x &^= 0x80 >> z
			}
		}
	}
	return out
}

// opsModel is a standalone bitfield as a set of bits, with the pages that
// hold them and the length SetByte would give it.
type opsModel struct {
	bits    map[uint64]bool
	pages   map[uint64]int // set bits per page
	per     uint64         // bits per page
	byteLen uint64
}

func newOpsModel(per uint64) *opsModel {
	return &opsModel{bits: map[uint64]bool{}, pages: map[uint64]int{}, per: per}
}

// put sets bit i to v and reports whether it changed.
func (m *opsModel) put(i uint64, v bool) bool {
	if m.bits[i] == v {
		return false
	}
	if v {
		m.bits[i] = true
		m.pages[i/m.per]++
	} else {
		delete(m.bits, i)
		if m.pages[i/m.per]--; m.pages[i/m.per] == 0 {
			delete(m.pages, i/m.per)
		}
	}
	m.byteLen = max(m.byteLen, i/8+1)
	return true
}

func (m *opsModel) sorted() []uint64 {
	var out []uint64
	for i := range m.bits {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// check compares s with the model: bits, pages held, length and Last.
func (m *opsModel) check(t *rapid.T, s *Sparse, what string) {
	t.Helper()
	if got, want := setBits(s), m.sorted(); !slices.Equal(got, want) {
		t.Fatalf("after %s: bits %v, want %v", what, clip(got), clip(want))
	}
	m.checkPages(t, s, what)
	last, ok := s.Last()
	want := m.sorted()
	if ok != (len(want) > 0) || ok && last != want[len(want)-1] {
		t.Fatalf("after %s: Last() = %d, %v; want %v", what, last, ok, clip(want))
	}
}

// checkPages checks that exactly the pages holding a set bit are allocated
// and that the length is SetByte's.
func (m *opsModel) checkPages(t *rapid.T, s *Sparse, what string) {
	t.Helper()
	if s.PageCount() != len(m.pages) || len(s.pages.pages) != len(m.pages) {
		t.Fatalf("after %s: %d pages (%d in the map), want %d", what, s.PageCount(), len(s.pages.pages), len(m.pages))
	}
	if s.Len() != 8*m.byteLen {
		t.Fatalf("after %s: Len() = %d, want %d", what, s.Len(), 8*m.byteLen)
	}
}

func clip(b []uint64) []uint64 {
	if len(b) > 20 {
		return b[:20]
	}
	return b
}

// indexes draws bit indexes around interesting boundaries: 0, 2^24, 2^32,
// 2^53, 2^63 and the very top, within span bits.
func indexes(span uint64) *rapid.Generator[uint64] {
	return rapid.Custom(func(t *rapid.T) uint64 {
		base := rapid.SampledFrom([]uint64{0, 1<<24 - span/2, 1<<32 - span/2, 1<<53 - span/2, 1<<63 - span/2, top - span}).Draw(t, "base")
		return base + rapid.Uint64Range(0, span).Draw(t, "offset")
	})
}

// bitRange draws [a, b), usually a ≤ b, never past 2^64-1.
func bitRange(t *rapid.T, idx *rapid.Generator[uint64], span uint64) (uint64, uint64) {
	a := idx.Draw(t, "start")
	n := rapid.OneOf(rapid.Uint64Range(0, 130), rapid.Uint64Range(0, span)).Draw(t, "len")
	b := a + n
	if b < a {
		b = top
	}
	if rapid.IntRange(0, 9).Draw(t, "reversed") == 0 {
		a, b = b, a
	}
	return a, b
}

// drawMask returns a mask (nil, a standalone bitfield, one of a feed's
// views with other page sizes and offsets, or s itself) and its bit i as
// it is before an operation on s.
func drawMask(t *rapid.T, s *Sparse, m *opsModel, idx *rapid.Generator[uint64], span uint64) (*Sparse, func(uint64) bool) {
	var mask *Sparse
	switch rapid.IntRange(0, 6).Draw(t, "mask") {
	case 0:
		return nil, func(uint64) bool { return false }
	case 1:
		return s, func(i uint64) bool { return m.bits[i] }
	case 2:
		mask = newSparse(rapid.SampledFrom([]int{8, 64, 1024}).Draw(t, "mask page size"))
	case 3:
		mask = New().Tree()
	case 4:
		mask = New().Data()
	case 5:
		b := New()
		b.Tree().Set(idx.Draw(t, "tree bit"), true)
		mask = newView(b.pages, DataSize+TreeSize, IndexSize) // 512-byte pages
	case 6:
		// every bit near every base, so that whole pages of s clear
		mask = New().Data()
		for _, base := range []uint64{0, 1<<24 - span/2, 1<<32 - span/2, 1<<53 - span/2, 1<<63 - span/2, top - span} {
			for k := base / 8; k <= (base+span)/8; k++ {
				mask.SetByte(k, 0xff)
			}
		}
		if rapid.Bool().Draw(t, "holes") {
			mask.Set(idx.Draw(t, "hole"), false)
		}
		return mask, mask.Get
	}
	for range rapid.IntRange(0, 30).Draw(t, "mask bits") {
		mask.Set(idx.Draw(t, "mask bit"), true)
	}
	for range rapid.IntRange(0, 3).Draw(t, "mask ranges") {
		a, b := bitRange(t, idx, span)
		for i := a; i < b; i++ {
			mask.Set(i, true)
		}
	}
	return mask, mask.Get
}

// drawRLE returns an encoded bitfield: the encoding of random bytes, or
// raw random chunks, sometimes malformed or huge.
func drawRLE(t *rapid.T, span uint64) []byte {
	bytesOf := rapid.SampledFrom([]byte{0, 0, 0xff, 0xff, 0x01, 0x80, 0x5a})
	if rapid.Bool().Draw(t, "encoded") {
		return EncodeRLE(rapid.SliceOfN(bytesOf, 0, int(span/8)).Draw(t, "bytes"))
	}
	var enc []byte
	for range rapid.IntRange(0, 6).Draw(t, "chunks") {
		l := rapid.OneOf(rapid.Uint64Range(0, 20), rapid.Uint64Range(0, span/8)).Draw(t, "run")
		switch rapid.IntRange(0, 9).Draw(t, "chunk") {
		case 0, 1, 2:
			enc = protowire.AppendVarint(enc, l<<2|1)
		case 3, 4, 5:
			enc = protowire.AppendVarint(enc, l<<2|3)
		case 6, 7:
			lit := rapid.SliceOfN(bytesOf, 0, 20).Draw(t, "literal")
			enc = protowire.AppendVarint(enc, uint64(len(lit))<<1)
			enc = append(enc, lit...)
		case 8:
			enc = protowire.AppendVarint(enc, rapid.SampledFrom([]uint64{1 << 40, 1<<62 - 1, 1<<61 - 3}).Draw(t, "huge")<<2|1)
		case 9:
			enc = append(enc, rapid.SampledFrom([][]byte{{0x80}, {0x08, 1, 2}, {0xff, 0xff}}).Draw(t, "garbage")...)
		}
	}
	return enc
}

// rleError returns the error class OverwriteRLE(start, enc, align, max)
// must return, or nil and the decoded bytes.
func rleError(start uint64, enc []byte, align, max int) ([]byte, error) {
	if start%8 != 0 {
		return nil, ErrRLE
	}
	buf, err := DecodeRLE(enc, align, max)
	switch {
	case errors.Is(err, ErrRLE):
		return nil, ErrRLE
	case err != nil:
		return nil, ErrRLETooLarge
	case start/8+uint64(len(buf)) > maxBytes:
		return nil, ErrRLETooLarge
	}
	return buf, nil
}

// TestSparseOpsModel runs Set, Unset, ClearRange, SetRangeAndNot and
// OverwriteRLE on a standalone bitfield and on a set of bits, near 0 and
// near 2^24, 2^32, 2^53, 2^63 and 2^64, and checks after each that the
// bits, the length and Last agree and that exactly the pages holding a
// set bit are allocated.
func TestSparseOpsModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.SampledFrom([]int{8, 64, 1024}).Draw(t, "page size")
		s := newSparse(size)
		per := uint64(8 * size)
		m := newOpsModel(per)
		span := 3*per + 100
		idx := indexes(span)
		for range rapid.IntRange(1, 40).Draw(t, "steps") {
			var what string
			switch rapid.IntRange(0, 6).Draw(t, "op") {
			case 0:
				i := idx.Draw(t, "i")
				what = "Set"
				if got, want := s.Set(i, true), !m.bits[i]; got != want {
					t.Fatalf("Set(%d, true) = %v, want %v", i, got, want)
				}
				m.put(i, true)
			case 1:
				i := idx.Draw(t, "i")
				what = "Unset"
				if got, want := s.Unset(i), m.bits[i]; got != want {
					t.Fatalf("Unset(%d) = %v, want %v", i, got, want)
				}
				m.put(i, false)
			case 2:
				a, b := bitRange(t, idx, span)
				what = "ClearRange"
				s.ClearRange(a, b)
				for i := a; i < b; i++ {
					m.put(i, false)
				}
			case 3, 4:
				a, b := bitRange(t, idx, span)
				mask, get := drawMask(t, s, m, idx, span)
				what = "SetRangeAndNot"
				var want []bool
				for i := a; i < b; i++ {
					want = append(want, !get(i))
				}
				s.SetRangeAndNot(a, b, mask)
				for k, v := range want {
					m.put(a+uint64(k), v)
				}
			case 5, 6:
				start := idx.Draw(t, "start")
				if rapid.IntRange(0, 9).Draw(t, "unaligned") != 0 {
					start &^= 7
				}
				enc := drawRLE(t, span)
				align := rapid.SampledFrom([]int{4, 1, 0, -3, 8, 3, 1024}).Draw(t, "align")
				max := rapid.SampledFrom([]int{1 << 20, 100, 0}).Draw(t, "max")
				mask, get := drawMask(t, s, m, idx, span)
				what = "OverwriteRLE"
				buf, wantErr := rleError(start, enc, align, max)
				before, pages, length := setBits(s), s.PageCount(), s.Len()
				n, err := s.OverwriteRLE(start, enc, align, max, mask)
				if wantErr != nil {
					if !errors.Is(err, wantErr) || n != 0 {
						t.Fatalf("OverwriteRLE(%d, %x, %d, %d) = %d, %v; want %v", start, enc, align, max, n, err, wantErr)
					}
					if !slices.Equal(setBits(s), before) || s.PageCount() != pages || s.Len() != length {
						t.Fatalf("OverwriteRLE failed with %v but changed the bitfield", err)
					}
					break
				}
				if err != nil || n != 8*uint64(len(buf)) {
					t.Fatalf("OverwriteRLE(%d, %x, %d, %d) = %d, %v; want %d", start, enc, align, max, n, err, 8*len(buf))
				}
				var want []bool
				for k, b := range buf {
					for j := range uint64(8) {
						i := start + 8*uint64(k) + j
						want = append(want, b&(0x80>>j) != 0 && !get(i))
					}
				}
				for k, v := range want {
					m.put(start+uint64(k), v)
				}
			}
			m.checkPages(t, s, what)
			if rapid.IntRange(0, 4).Draw(t, "check") == 0 {
				m.check(t, s, what)
			}
		}
		m.check(t, s, "all")
	})
}

// TestOverwriteRLEReference: OverwriteRLE sets the bits that decoding and
// SetByte would, with the same length, on bitfields that also hold pages
// of zeros; a malformed input fails as DecodeRLE fails and changes nothing.
func TestOverwriteRLEReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, ref := NewSparse(), NewSparse()
		const span = 3*8192 + 100
		idx := indexes(span)
		for range rapid.IntRange(0, 40).Draw(t, "bits") {
			i, v := idx.Draw(t, "i"), rapid.Bool().Draw(t, "v")
			s.Set(i, v) // Set(i, false) may allocate a zero page
			ref.Set(i, v)
		}
		for range rapid.IntRange(0, 3).Draw(t, "ops") {
			start := idx.Draw(t, "start") &^ 7
			enc := drawRLE(t, span)
			align := rapid.SampledFrom([]int{4, 1, 8, 3}).Draw(t, "align")
			maxSize := rapid.SampledFrom([]int{1 << 20, 100}).Draw(t, "max")
			var mask, refMask *Sparse
			switch rapid.IntRange(0, 3).Draw(t, "mask") {
			case 1:
				mask, refMask = s, ref
			case 2, 3:
				mask = New().Data()
				for range rapid.IntRange(0, 40).Draw(t, "mask bits") {
					mask.Set(idx.Draw(t, "mask bit"), true)
				}
				a, b := bitRange(t, idx, span)
				for i := a; i < b; i++ {
					mask.Set(i, true)
				}
				refMask = mask
			}
			before, length := setBits(s), s.Len()
			n, err := s.OverwriteRLE(start, enc, align, maxSize, mask)
			buf, wantErr := rleError(start, enc, align, maxSize)
			if wantErr != nil {
				if !errors.Is(err, wantErr) {
					t.Fatalf("OverwriteRLE = %v, want %v", err, wantErr)
				}
				if !slices.Equal(setBits(s), before) || s.Len() != length {
					t.Fatal("a failed OverwriteRLE changed the bitfield")
				}
				continue
			}
			if err != nil || n != 8*uint64(len(buf)) {
				t.Fatalf("OverwriteRLE = %d, %v; want %d", n, err, 8*len(buf))
			}
			for k, b := range buf {
				i := start/8 + uint64(k)
				var mb byte
				if refMask != nil {
					mb = refMask.Byte(i)
				}
				ref.SetByte(i, b&^mb)
			}
			if got, want := setBits(s), setBits(ref); !slices.Equal(got, want) {
				t.Fatalf("bits %v, want %v", clip(got), clip(want))
			}
			if s.Len() != ref.Len() {
				t.Fatalf("Len() = %d, want %d", s.Len(), ref.Len())
			}
		}
	})
}

// TestOpsOnViews: on a feed's data bits the operations change only those
// bits, mark the pages for writing, and free no shared page.
func TestOpsOnViews(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := New()
		data, tree := b.Data(), b.Tree()
		m := newOpsModel(8 * DataSize)
		const span = 3*8*DataSize + 100
		idx := indexes(span)
		var treeBits []uint64
		for range rapid.IntRange(0, 20).Draw(t, "tree bits") {
			i := idx.Draw(t, "tree bit")
			tree.Set(i, true)
			treeBits = append(treeBits, i)
		}
		slices.Sort(treeBits)
		treeBits = slices.Compact(treeBits)
		for range rapid.IntRange(1, 10).Draw(t, "steps") {
			b.TakeUpdates()
			pages := data.PageCount()
			changed := false
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0:
				i := idx.Draw(t, "i")
				changed = m.put(i, false)
				if data.Unset(i) != changed {
					t.Fatalf("Unset(%d) != %v", i, changed)
				}
			case 1:
				lo, hi := bitRange(t, idx, span)
				data.ClearRange(lo, hi)
				for i := lo; i < hi; i++ {
					changed = m.put(i, false) || changed
				}
			case 2:
				lo, hi := bitRange(t, idx, span)
				var mask *Sparse
				if rapid.Bool().Draw(t, "tree mask") {
					mask = tree
				}
				data.SetRangeAndNot(lo, hi, mask)
				for i := lo; i < hi; i++ {
					changed = m.put(i, mask == nil || !tree.Get(i)) || changed
				}
			case 3:
				start := idx.Draw(t, "start") &^ 7
				enc := drawRLE(t, span)
				buf, wantErr := rleError(start, enc, 4, 1<<20)
				if _, err := data.OverwriteRLE(start, enc, 4, 1<<20, tree); !errors.Is(err, wantErr) {
					t.Fatalf("OverwriteRLE = %v, want %v", err, wantErr)
				}
				for k, x := range buf {
					for j := range uint64(8) {
						i := start + 8*uint64(k) + j
						changed = m.put(i, x&(0x80>>j) != 0 && !tree.Get(i)) || changed
					}
				}
			}
			if got, want := setBits(data), m.sorted(); !slices.Equal(got, want) {
				t.Fatalf("data bits %v, want %v", clip(got), clip(want))
			}
			if got := setBits(tree); !slices.Equal(got, treeBits) {
				t.Fatalf("tree bits %v, want %v", clip(got), clip(treeBits))
			}
			if data.PageCount() < pages {
				t.Fatalf("a shared page was freed: %d pages, had %d", data.PageCount(), pages)
			}
			if b.PendingUpdates() != changed {
				t.Fatalf("PendingUpdates() = %v after a change %v", b.PendingUpdates(), changed)
			}
			if data.Len() != 8*m.byteLen {
				t.Fatalf("Len() = %d, want %d", data.Len(), 8*m.byteLen)
			}
		}
	})
}

// Unset and ClearRange on bits that are not set allocate nothing (Set(i,
// false) allocates a page of zeros, as in JS).
func TestUnsetAllocatesNothing(t *testing.T) {
	s := NewSparse()
	for _, i := range []uint64{0, 12345, 1 << 53, top} {
		if s.Unset(i) {
			t.Errorf("Unset(%d) changed an empty bitfield", i)
		}
	}
	s.ClearRange(0, top)
	if s.PageCount() != 0 || s.Len() != 0 {
		t.Fatalf("PageCount() = %d, Len() = %d after clearing unset bits", s.PageCount(), s.Len())
	}
	s.Set(100, true)
	s.Set(9000, true)
	if !s.Unset(100) || s.Unset(100) || s.PageCount() != 1 {
		t.Fatalf("Unset(100): PageCount() = %d, want 1", s.PageCount())
	}
	if !s.Unset(9000) || s.PageCount() != 0 || s.Len() != 8*(9000/8+1) {
		t.Fatalf("Unset(9000): PageCount() = %d, Len() = %d", s.PageCount(), s.Len())
	}
	if i, ok := s.Last(); ok {
		t.Fatalf("Last() = %d after unsetting every bit", i)
	}
}

// Clearing 2^24 set bits frees every page and keeps the length.
func TestClearRangeFreesPages(t *testing.T) {
	s := NewSparse()
	s.SetRangeAndNot(0, 1<<24, nil)
	if s.PageCount() != 1<<24/8192 || s.Count(0, top) != 1<<24 {
		t.Fatalf("SetRangeAndNot(0, 2^24, nil): %d pages, %d bits", s.PageCount(), s.Count(0, top))
	}
	s.ClearRange(0, 1<<24)
	if s.PageCount() != 0 || len(s.pages.pages) != 0 || s.Len() != 1<<24 {
		t.Fatalf("ClearRange(0, 2^24): %d pages, Len() = %d", s.PageCount(), s.Len())
	}
	if cap(s.pages.sorted) > 64 {
		t.Errorf("the page list keeps room for %d pages", cap(s.pages.sorted))
	}
	// a page cleared bit by bit, and one cleared by a mask, are freed too
	s.SetRangeAndNot(8192, 8200, nil)
	s.SetRangeAndNot(3*8192, 3*8192+1, nil)
	s.ClearRange(8190, 8199)
	s.Unset(8199)
	full := NewSparse()
	full.SetRangeAndNot(0, 1<<20, nil)
	s.SetRangeAndNot(3*8192, 3*8192+10, full)
	if s.PageCount() != 0 {
		t.Fatalf("%d pages left", s.PageCount())
	}
	// pages that a full mask clears in the middle of a range are freed
	s.SetRangeAndNot(0, 1<<20, nil)
	s.SetRangeAndNot(0, 1<<20, full)
	if s.PageCount() != 0 {
		t.Fatalf("%d pages left after a full mask", s.PageCount())
	}
	// and so is a page cleared by the zero bytes of a literal
	s.Set(5*8+1, true)
	s.Set(9000, true)
	if _, err := s.OverwriteRLE(0, []byte{0x0c, 0, 0, 0, 0, 0, 0}, 1, 1024, nil); err != nil || s.PageCount() != 1 {
		t.Fatalf("literal zeros: %v, %d pages", err, s.PageCount())
	}
}

// A 4 MiB run of zeros, or of 0xff under a full mask, costs no allocation
// and no page.
func TestOverwriteRLEZeroRunAllocatesNothing(t *testing.T) {
	const size = 4 << 20
	zeros := protowire.AppendVarint(nil, size<<2|1)
	ones := protowire.AppendVarint(nil, size<<2|3)
	full := NewSparse()
	full.SetRangeAndNot(8*size, 16*size, nil)
	s := NewSparse()
	allocs := testing.AllocsPerRun(10, func() {
		if n, err := s.OverwriteRLE(0, zeros, 4, size, nil); err != nil || n != 8*size {
			t.Fatalf("OverwriteRLE(zeros) = %d, %v", n, err)
		}
		if n, err := s.OverwriteRLE(8*size, ones, 4, size, full); err != nil || n != 8*size {
			t.Fatalf("OverwriteRLE(ones under a full mask) = %d, %v", n, err)
		}
	})
	if allocs != 0 || s.PageCount() != 0 {
		t.Fatalf("%v allocations, %d pages", allocs, s.PageCount())
	}
	// over set bits the zeros clear them and free their pages
	s.SetRangeAndNot(100, 1<<25, nil)
	s.Set(8*size+5, true)
	if _, err := s.OverwriteRLE(0, zeros, 4, size, nil); err != nil || s.PageCount() != 1 || !s.Get(8*size+5) {
		t.Fatalf("%v, %d pages", err, s.PageCount())
	}
	// padding clears too
	s.Set(3, true)
	s.Set(31, true)
	if n, err := s.OverwriteRLE(0, []byte{0x02, 0x10}, 4, size, nil); err != nil || n != 32 || !s.Get(3) || s.Get(31) {
		t.Fatalf("OverwriteRLE(empty) = %d, %v", n, err)
	}
}

// Ranges that end at 2^64-1 terminate, set and clear what they should, and
// searching near the top does not wrap around to the start.
func TestRangesAtTheTop(t *testing.T) {
	const start = top - 1<<24 + 1 // 2^64 - 2^24
	s := NewSparse()
	s.Set(5, true)
	s.SetRangeAndNot(start, top, nil)
	if n := s.Count(start, top); n != 1<<24-1 {
		t.Fatalf("Count = %d, want 2^24-1", n)
	}
	if i, ok := s.Last(); !ok || i != top-1 {
		t.Fatalf("Last() = %d, %v", i, ok)
	}
	if s.Get(top) {
		t.Fatal("bit 2^64-1 set by a range that ends there")
	}
	s.Set(top, true)
	if i, ok := s.NextUnset(start, top); ok {
		t.Fatalf("NextUnset near the top = %d", i)
	}
	s.Unset(top - 1)
	if i, ok := s.NextSet(top-1, top); ok {
		t.Fatalf("NextSet(2^64-2, 2^64-1) = %d, want none", i)
	}
	s.ClearRange(start, top)
	if s.PageCount() != 2 || !s.Get(top) || !s.Get(5) {
		t.Fatalf("ClearRange at the top: %d pages", s.PageCount())
	}
	if i, ok := s.NextSet(start, top); ok {
		t.Fatalf("NextSet near the top = %d, want none", i)
	}
	if i, ok := s.NextUnset(top-1, top); !ok || i != top-1 {
		t.Fatalf("NextUnset(2^64-2, 2^64-1) = %d, %v", i, ok)
	}
	s.Unset(top)
	full := NewSparse()
	full.SetRangeAndNot(start, top, nil)
	s.SetRangeAndNot(start, top, full)
	s.SetRangeAndNot(top, top, nil)
	s.ClearRange(top, 0)
	if s.PageCount() != 1 {
		t.Fatalf("%d pages", s.PageCount())
	}
	// the last byte can be written by an RLE bitfield, and no further
	if n, err := s.OverwriteRLE(top-7, []byte{0x02, 0x81}, 1, 1, nil); err != nil || n != 8 || !s.Get(top-7) || !s.Get(top) {
		t.Fatalf("OverwriteRLE of the last byte = %d, %v", n, err)
	}
	if _, err := s.OverwriteRLE(top-7, []byte{0x0b}, 1, 4, nil); !errors.Is(err, ErrRLETooLarge) {
		t.Fatalf("OverwriteRLE past the last bit = %v", err)
	}
	if _, err := s.OverwriteRLE(top-15, []byte{0x02, 0x81}, 4, 4, nil); !errors.Is(err, ErrRLETooLarge) {
		t.Fatalf("padding past the last bit = %v", err)
	}
	if _, err := s.OverwriteRLE(top-15, nil, 0, 4, nil); err != nil {
		t.Fatalf("OverwriteRLE(nothing) near the top = %v", err)
	}
}

// OverwriteRLE rejects what DecodeRLE rejects, an unaligned start and
// sizes that wrap, and changes nothing then.
func TestOverwriteRLEErrors(t *testing.T) {
	huge := protowire.AppendVarint(nil, (1<<62-1)<<2|1)
	wrap := slices.Concat(huge, huge, huge, huge, []byte{0x0d}) // 2^64-1 bytes
	for _, c := range []struct {
		start uint64
		enc   []byte
		align int
		want  error
	}{
		{0, []byte{0x80}, 4, ErrRLE},
		{0, []byte{0x08, 1}, 4, ErrRLE},
		{3, []byte{0x07}, 4, ErrRLE},
		{0, huge, 4, ErrRLETooLarge},
		{0, wrap, 4, ErrRLETooLarge},
		{0, slices.Concat(huge, huge, huge, huge, huge), 1, ErrRLETooLarge},
		{8, huge, 1, ErrRLETooLarge},
		{0, protowire.AppendVarint(nil, 1<<61<<2|1), 1, ErrRLETooLarge}, // 2^64 bits do not fit the result
		{8, protowire.AppendVarint(nil, 1<<61<<2|1), 1, ErrRLETooLarge},
	} {
		s := NewSparse()
		s.Set(0, true)
		n, err := s.OverwriteRLE(c.start, c.enc, c.align, -1, nil) // no limit
		if !errors.Is(err, c.want) || n != 0 || !s.Get(0) || s.PageCount() != 1 {
			t.Errorf("OverwriteRLE(%d, %x) = %d, %v; want %v and no change", c.start, c.enc, n, err, c.want)
		}
	}
}

// A zero run over every byte after the first is cleared by the pages that
// exist, not by its size.
func TestOverwriteRLEZerosToTheTop(t *testing.T) {
	s := NewSparse()
	s.Set(0, true)
	s.Set(1<<40, true)
	s.Set(top, true)
	enc := protowire.AppendVarint(nil, (1<<61-1)<<2|1)
	if n, err := s.OverwriteRLE(8, enc, 1, -1, nil); err != nil || n != 8*(1<<61-1) {
		t.Fatalf("OverwriteRLE = %d, %v", n, err)
	}
	if !s.Get(0) || s.Get(1<<40) || s.Get(top) || s.PageCount() != 1 {
		t.Fatalf("%d pages left", s.PageCount())
	}
}

// A decoded size that wraps when padded is too large, not a panic.
func TestDecodeRLEPaddingOverflow(t *testing.T) {
	huge := protowire.AppendVarint(nil, (1<<62-1)<<2|1)
	enc := slices.Concat(huge, huge, huge, huge, []byte{0x0d}) // 2^64-1 bytes
	if out, err := DecodeRLE(enc, 4, 1<<20); !errors.Is(err, ErrRLETooLarge) || out != nil {
		t.Fatalf("DecodeRLE = %d bytes, %v", len(out), err)
	}
	if out, err := DecodeRLE(enc, 1, 1<<20); !errors.Is(err, ErrRLETooLarge) || out != nil {
		t.Fatalf("DecodeRLE = %d bytes, %v", len(out), err)
	}
	if out, err := DecodeRLE([]byte{0x06, 1, 2, 3}, 4, 4); err != nil || !bytes.Equal(out, []byte{1, 2, 3, 0}) {
		t.Fatalf("DecodeRLE = %x, %v", out, err)
	}
}

func BenchmarkSetRangeAndNotEmptyMask(b *testing.B) {
	mask := NewSparse()
	b.ReportAllocs()
	for b.Loop() {
		NewSparse().SetRangeAndNot(0, 1<<24, mask)
	}
}

func BenchmarkSetRangeAndNotFullMask(b *testing.B) {
	mask := New().Data()
	for i := uint64(0); i < 1<<24; i++ {
		mask.Set(i, true)
	}
	s := NewSparse()
	b.ReportAllocs()
	for b.Loop() {
		s.SetRangeAndNot(0, 1<<24, mask)
	}
	if s.PageCount() != 0 {
		b.Fatal("pages allocated")
	}
}

func BenchmarkClearRange(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := NewSparse()
		s.SetRangeAndNot(0, 1<<24, nil)
		b.StartTimer()
		s.ClearRange(0, 1<<24)
	}
}

func BenchmarkOverwriteRLEZeros(b *testing.B) {
	enc := protowire.AppendVarint(nil, 4<<20<<2|1)
	s := NewSparse()
	b.ReportAllocs()
	for b.Loop() {
		s.OverwriteRLE(0, enc, 4, 4<<20, nil)
	}
}

func BenchmarkOverwriteRLEOnes(b *testing.B) {
	enc := protowire.AppendVarint(nil, 4<<20<<2|3)
	mask := New().Data()
	mask.Set(1<<24, true)
	b.ReportAllocs()
	for b.Loop() {
		NewSparse().OverwriteRLE(0, enc, 4, 4<<20, mask)
	}
}

func TestNonzeroBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var b [8]byte
		for k := range b {
			b[k] = rapid.SampledFrom([]byte{0, 0x80, 0x01, 0x7f, 0xff, 0x5a}).Draw(t, "byte")
		}
		want := 8 - bytes.Count(b[:], []byte{0})
		if got := nonzeroBytes(binary.BigEndian.Uint64(b[:])); got != want {
			t.Fatalf("nonzeroBytes(%x) = %d, want %d", b, got, want)
		}
	})
}

// TestCompressWrappingRange: a Want's start+length past 2^64−1 is cut to
// the bitfield like any range past its end; it once wrapped to a small end
// and allocated length/8 bytes (2^60 for Want{2^63, 2^63}).
func TestCompressWrappingRange(t *testing.T) {
	b := New()
	for i := uint64(0); i < 100; i++ {
		b.Set(i, true)
	}
	for _, c := range []struct{ start, length uint64 }{
		{1 << 63, 1 << 63},
		{1<<64 - 1<<13, 1 << 33},
		{8192, 1<<64 - 8192},
	} {
		enc := b.Compress(c.start, c.length)
		dec, err := DecodeRLE(enc, 1, 1<<20)
		if err != nil || len(dec) > 1 {
			t.Fatalf("Compress(%d, %d) = %x (%d bytes decoded, %v), want at most one byte", c.start, c.length, enc, len(dec), err)
		}
	}
}

package bitfield

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

// model is a plain map of set bits.
type model map[uint64]bool

func (m model) nextSet(from, end uint64) (uint64, bool) {
	for i := from; i < end; i++ {
		if m[i] {
			return i, true
		}
	}
	return 0, false
}

func (m model) nextUnset(from, end uint64) (uint64, bool) {
	for i := from; i < end; i++ {
		if !m[i] {
			return i, true
		}
	}
	return 0, false
}

func (m model) count(from, end uint64) uint64 {
	var n uint64
	for i := from; i < end; i++ {
		if m[i] {
			n++
		}
	}
	return n
}

// TestSparseModel runs random operations on a Sparse bitfield and a map.
func TestSparseModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := NewSparse()
		m := model{}
		const span = 3 * 8192 * 2 // three pages of 1024 bytes, and some
		index := rapid.Uint64Range(0, span)
		for step := 0; step < 200; step++ {
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0, 1:
				i, v := index.Draw(t, "i"), rapid.Bool().Draw(t, "v")
				changed := s.Set(i, v)
				if changed != (m[i] != v) {
					t.Fatalf("Set(%d, %v) changed = %v", i, v, changed)
				}
				m[i] = v
			case 2:
				i := index.Draw(t, "i")
				if s.Get(i) != m[i] {
					t.Fatalf("Get(%d) = %v", i, s.Get(i))
				}
			case 3:
				a, b := index.Draw(t, "a"), index.Draw(t, "b")
				if a > b {
					a, b = b, a
				}
				gi, gok := s.NextSet(a, b)
				wi, wok := m.nextSet(a, b)
				if gi != wi || gok != wok {
					t.Fatalf("NextSet(%d, %d) = %d, %v; want %d, %v", a, b, gi, gok, wi, wok)
				}
				gi, gok = s.NextUnset(a, b)
				wi, wok = m.nextUnset(a, b)
				if gi != wi || gok != wok {
					t.Fatalf("NextUnset(%d, %d) = %d, %v; want %d, %v", a, b, gi, gok, wi, wok)
				}
			case 4:
				a, b := index.Draw(t, "a"), index.Draw(t, "b")
				if got, want := s.Count(a, b), m.count(a, b); got != want {
					t.Fatalf("Count(%d, %d) = %d, want %d", a, b, got, want)
				}
			}
		}
	})
}

// TestBitfieldModel checks the three-bitfield page set against maps: data
// and tree bits are independent, and an encoded file decodes to the same
// bits.
func TestBitfieldModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := New()
		data, tree := model{}, model{}
		block := rapid.Uint64Range(0, 5*BlocksPerPage)
		for step := 0; step < 150; step++ {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				i, v := block.Draw(t, "block"), rapid.Bool().Draw(t, "v")
				if changed := b.Set(i, v); changed != (data[i] != v) {
					t.Fatalf("Set(%d, %v) changed = %v", i, v, changed)
				}
				data[i] = v
			case 2:
				i := rapid.Uint64Range(0, 2*5*BlocksPerPage).Draw(t, "node")
				b.Tree().Set(i, true)
				tree[i] = true
			case 3:
				a := block.Draw(t, "from")
				got, gok := b.NextMissing(a, 5*BlocksPerPage)
				want, wok := data.nextUnset(a, 5*BlocksPerPage)
				if got != want || gok != wok {
					t.Fatalf("NextMissing(%d) = %d, %v; want %d, %v", a, got, gok, want, wok)
				}
			}
		}
		check := func(b *Bitfield, what string) {
			for i := uint64(0); i < 5*BlocksPerPage+1; i++ {
				if b.Get(i) != data[i] {
					t.Fatalf("%s: data bit %d = %v", what, i, b.Get(i))
				}
				if b.Tree().Get(2*i) != tree[2*i] || b.Tree().Get(2*i+1) != tree[2*i+1] {
					t.Fatalf("%s: tree bits near %d differ", what, 2*i)
				}
			}
		}
		check(b, "in memory")
		d, err := DecodeFile(b.EncodeFile())
		if err != nil {
			t.Fatal(err)
		}
		check(d, "decoded")
		if !bytes.Equal(d.EncodeFile(), b.EncodeFile()) {
			t.Fatal("EncodeFile(DecodeFile(x)) != x")
		}
	})
}

// TestRLERoundTrip: decode(encode(x)) is x padded with zeros to the
// alignment.
func TestRLERoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := rapid.SliceOfN(rapid.SampledFrom([]byte{0, 0, 0xff, 0xff, 1, 0x80}), 0, 600).Draw(t, "bits")
		align := rapid.SampledFrom([]int{1, 4}).Draw(t, "align")
		out, err := DecodeRLE(EncodeRLE(in), align, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		trimmed := bytes.TrimRight(in, "\x00")
		if !bytes.HasPrefix(out, trimmed) || len(bytes.Trim(out[len(trimmed):], "\x00")) != 0 || len(out)%align != 0 || len(out)-len(trimmed) >= align {
			t.Fatalf("decode(encode(%x)) = %x", in, out)
		}
	})
}

func TestRLELimits(t *testing.T) {
	// a run claiming 1 TiB is rejected before any allocation
	if _, err := DecodeRLE([]byte{0x83, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 4, 1<<20); !errors.Is(err, ErrRLETooLarge) {
		t.Fatalf("DecodeRLE(1 TiB run) = %v", err)
	}
	// exactly at the limit
	enc := EncodeRLE(bytes.Repeat([]byte{0xff}, 1024))
	if out, err := DecodeRLE(enc, 4, 1024); err != nil || len(out) != 1024 {
		t.Fatalf("DecodeRLE at the limit = %d bytes, %v", len(out), err)
	}
	if _, err := DecodeRLE(enc, 4, 1023); !errors.Is(err, ErrRLETooLarge) {
		t.Fatalf("DecodeRLE over the limit = %v", err)
	}
	// sizes that overflow uint64 when summed
	huge := []byte{0x83, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
	if _, err := DecodeRLE(append(append([]byte{}, huge...), huge...), 1, 1<<20); err == nil {
		t.Fatal("DecodeRLE accepted an overflowing size")
	}
}

func TestLast(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := NewSparse()
		var want uint64
		ok := false
		for _, i := range rapid.SliceOfN(rapid.Uint64Range(0, 1<<20), 0, 20).Draw(t, "bits") {
			s.Set(i, true)
			if !ok || i > want {
				want, ok = i, true
			}
		}
		got, gok := s.Last()
		if gok != ok || (ok && got != want) {
			t.Fatalf("Last() = %d, %v; want %d, %v", got, gok, want, ok)
		}
	})
}

// An all-zero bitfield encodes to zero bytes, never to nil: a Have carries
// it as a present, empty field (a nil Have.bitfield means "no bitfield").
func TestEncodeRLEEmptyIsNotNil(t *testing.T) {
	for _, in := range [][]byte{nil, {}, make([]byte, 1024)} {
		if got := EncodeRLE(in); got == nil || len(got) != 0 {
			t.Errorf("EncodeRLE(%d zero bytes) = %#v, want empty non-nil", len(in), got)
		}
	}
}

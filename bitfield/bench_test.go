package bitfield

import "testing"

const tenMillion = 10_000_000

func benchNextMissing(b *testing.B, fill func(*Bitfield)) {
	bf := New()
	fill(bf)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		bf.NextMissing(0, tenMillion)
	}
}

// BenchmarkNextMissing10MFull: every block but the last is held (the
// search crosses 10M bits).
func BenchmarkNextMissing10MFull(b *testing.B) {
	benchNextMissing(b, func(bf *Bitfield) {
		for i := uint64(0); i < tenMillion-1; i++ {
			bf.data.SetByte(i>>3, bf.data.Byte(i>>3)|0x80>>(i&7))
		}
	})
}

// BenchmarkNextMissing10MSparse: nothing held (the first block is missing).
func BenchmarkNextMissing10MSparse(b *testing.B) {
	benchNextMissing(b, func(bf *Bitfield) { bf.Set(tenMillion-1, true) })
}

// BenchmarkNextHeld10MSparse: one block held at the end.
func BenchmarkNextHeld10MSparse(b *testing.B) {
	bf := New()
	bf.Set(tenMillion-1, true)
	b.ReportAllocs()
	for b.Loop() {
		bf.NextHeld(0, tenMillion)
	}
}

// BenchmarkNextMissing10MDense: every other block held.
func BenchmarkNextMissing10MDense(b *testing.B) {
	benchNextMissing(b, func(bf *Bitfield) {
		for i := uint64(0); i < tenMillion; i += 2 {
			bf.Set(i, true)
		}
	})
}

func BenchmarkSet(b *testing.B) {
	bf := New()
	var i uint64
	b.ReportAllocs()
	for b.Loop() {
		bf.Set(i%tenMillion, true)
		i++
	}
}

func BenchmarkGet(b *testing.B) {
	bf := New()
	for i := uint64(0); i < 100000; i++ {
		bf.Set(i, true)
	}
	var i uint64
	b.ReportAllocs()
	for b.Loop() {
		bf.Get(i % 100000)
		i++
	}
}

func BenchmarkEncodeRLE(b *testing.B) {
	bf := New()
	for i := uint64(0); i < 1<<20; i++ {
		if i%3 != 0 {
			bf.Set(i, true)
		}
	}
	in := bf.dataBytes(0, 1<<17)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		EncodeRLE(in)
	}
}

func BenchmarkDecodeRLE(b *testing.B) {
	bf := New()
	for i := uint64(0); i < 1<<20; i += 1 + i%5 {
		bf.Set(i, true)
	}
	enc := EncodeRLE(bf.dataBytes(0, 1<<17))
	b.ReportAllocs()
	for b.Loop() {
		DecodeRLE(enc, 4, 1<<20)
	}
}

func BenchmarkDigestProof(b *testing.B) {
	w := writerTree(100000)
	r := writerTree(50000)
	b.ReportAllocs()
	for b.Loop() {
		d := r.Digest(2 * 70000)
		w.Proof(2*70000, d, false, nil)
	}
}

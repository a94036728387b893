package secretstream

import (
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// The benchmarks compare Seal and Open with the IETF ChaCha20-Poly1305 AEAD
// of golang.org/x/crypto (chacha20poly1305.New) on the same sizes, as the
// machine's reference speed for the same primitives on one core.
//
//	go test -run '^$' -bench . -benchmem ./v11/secretstream/

var cipherBenchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
}

func BenchmarkSeal(b *testing.B) {
	for _, sz := range cipherBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			var key [KeySize]byte
			var header [HeaderSize]byte
			p := NewPush(&key, &header)
			m := make([]byte, sz.n)
			out := make([]byte, 0, sz.n+ABytes)
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				out = p.Seal(out[:0], m, TagMessage)
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, sz := range cipherBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			var key [KeySize]byte
			var header [HeaderSize]byte
			msg := NewPush(&key, &header).Seal(nil, make([]byte, sz.n), TagMessage)
			q0 := NewPull(&key, &header)
			q0.ks.cipher(&q0.s.k) // make the AEAD once, as a stream does until its first rekey
			out := make([]byte, 0, sz.n)
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			q := new(Pull)
			for b.Loop() {
				*q = *q0 // the state before msg: every iteration opens it anew
				var err error
				if out, _, err = q.Open(out[:0], msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAEADSeal(b *testing.B) {
	for _, sz := range cipherBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			aead, err := chacha20poly1305.New(make([]byte, chacha20poly1305.KeySize))
			if err != nil {
				b.Fatal(err)
			}
			nonce := make([]byte, chacha20poly1305.NonceSize)
			m := make([]byte, sz.n)
			out := make([]byte, 0, sz.n+aead.Overhead())
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				out = aead.Seal(out[:0], nonce, m, nil)
			}
		})
	}
}

func BenchmarkAEADOpen(b *testing.B) {
	for _, sz := range cipherBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			aead, err := chacha20poly1305.New(make([]byte, chacha20poly1305.KeySize))
			if err != nil {
				b.Fatal(err)
			}
			nonce := make([]byte, chacha20poly1305.NonceSize)
			msg := aead.Seal(nil, nonce, make([]byte, sz.n), nil)
			out := make([]byte, 0, sz.n)
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				if out, err = aead.Open(out[:0], nonce, msg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

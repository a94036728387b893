package session

import "testing"

// BenchmarkCipher is the transport cipher over 64 KiB frames, in place.
func BenchmarkCipher64K(b *testing.B) { benchCipher(b, 64<<10) }

// BenchmarkCipherSmall is the cipher over small frames (a Request is ~10
// bytes), where keeping the key stream's tail matters.
func BenchmarkCipherSmall(b *testing.B) { benchCipher(b, 13) }

func benchCipher(b *testing.B, size int) {
	var key [32]byte
	var nonce [NonceSize]byte
	s := newXSalsa20(&key, &nonce)
	buf := make([]byte, size)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		s.XORKeyStream(buf, buf)
	}
}

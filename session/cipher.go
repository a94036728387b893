package session

import (
	"encoding/binary"

	// The transport is a bare XSalsa20 key stream that continues across
	// frames (spec/session.md): it needs the core function, which only the
	// low-level package exposes.
	//lint:ignore SA1019 the protocol needs the raw XSalsa20 core
	"golang.org/x/crypto/salsa20/salsa"
)

// NonceSize is the size of a transport nonce (spec/session.md, "Transport
// encryption").
const NonceSize = 24

// xsalsa20 is one direction of the transport cipher: a single XSalsa20 key
// stream that starts at block 0 after the handshake and is never reset.
// Byte k sent after the handshake, counting every frame and ping, is XORed
// with key-stream byte k; frame boundaries play no part.
//
// x/crypto's salsa20.XORKeyStream restarts at block 0 on every call, so
// this type keeps the state itself: the HSalsa20 subkey, the block counter,
// and the unused tail of the last key-stream block.
type xsalsa20 struct {
	subkey  [32]byte // HSalsa20(key, nonce[0:16])
	counter [16]byte // nonce[16:24] ‖ uint64le(next block)
	block   [64]byte // key stream of the previous block
	used    int      // bytes of block already used; 64 when none left
}

// newXSalsa20 starts the key stream for key and nonce:
//
//	subkey = HSalsa20(key, nonce[0:16])
//	stream = Salsa20(subkey, nonce[16:24] ‖ uint64le(block)), block = 0, 1, 2, …
func newXSalsa20(key *[32]byte, nonce *[NonceSize]byte) *xsalsa20 {
	s := &xsalsa20{used: 64}
	var in [16]byte
	copy(in[:], nonce[0:16])
	salsa.HSalsa20(&s.subkey, &in, key, &salsa.Sigma)
	copy(s.counter[0:8], nonce[16:24])
	return s
}

// XORKeyStream XORs src with the next len(src) bytes of the key stream into
// dst, which must be at least as long as src and may be src itself.
func (s *xsalsa20) XORKeyStream(dst, src []byte) {
	dst = dst[:len(src)]
	// the rest of the previous block
	if s.used < 64 {
		n := min(len(src), 64-s.used)
		for i := 0; i < n; i++ {
			dst[i] = src[i] ^ s.block[s.used+i]
		}
		s.used += n
		dst, src = dst[n:], src[n:]
	}
	// whole blocks straight through
	if full := len(src) &^ 63; full > 0 {
		salsa.XORKeyStream(dst[:full], src[:full], &s.counter, &s.subkey)
		s.advance(uint64(full / 64))
		dst, src = dst[full:], src[full:]
	}
	// a partial block: keep its unused key stream
	if len(src) > 0 {
		s.block = [64]byte{}
		salsa.XORKeyStream(s.block[:], s.block[:], &s.counter, &s.subkey)
		s.advance(1)
		for i := range src {
			dst[i] = src[i] ^ s.block[i]
		}
		s.used = len(src)
	}
}

func (s *xsalsa20) advance(blocks uint64) {
	n := binary.LittleEndian.Uint64(s.counter[8:16])
	binary.LittleEndian.PutUint64(s.counter[8:16], n+blocks)
}

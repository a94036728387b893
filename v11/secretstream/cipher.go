package secretstream

// This file is the transport cipher of spec/v11/secretstream-cipher.md:
// libsodium's crypto_secretstream_xchacha20poly1305 (the sodium-secretstream
// Push and Pull that @hyperswarm/secret-stream uses), built from ChaCha20 and
// Poly1305. It is not the XChaCha20-Poly1305 AEAD of
// golang.org/x/crypto/chacha20poly1305.NewX: the tag block, the counters and
// the padding of the MAC input all differ.

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
	//lint:ignore SA1019 libsodium secretstream needs the raw one-time Poly1305 MAC (with its own padding), which no AEAD exposes
	"golang.org/x/crypto/poly1305"
)

// Sizes (spec/v11/secretstream-cipher.md, "Sizes and limits").
const (
	// KeySize is the size of a stream key (one direction's Noise split key).
	KeySize = 32
	// HeaderSize is the size of the header that init_push chooses and that
	// travels to the receiver in the setup frame.
	HeaderSize = 24
	// ABytes is what every message adds to its plaintext: 1 tag byte and a
	// 16-byte MAC.
	ABytes = 1 + poly1305.TagSize

	// MaxMessageSize is the largest message: it must fit the body of one
	// u24le-length frame.
	MaxMessageSize = 1<<24 - 1
	// MaxPlaintextSize is the largest plaintext one message can carry,
	// MaxMessageSize − ABytes = 16777198 bytes.
	MaxPlaintextSize = MaxMessageSize - ABytes
)

// Tags (libsodium crypto_secretstream_xchacha20poly1305_TAG_*). A tag is one
// byte sent encrypted with each message; only its TagRekey bit changes what
// the cipher does. @hyperswarm/secret-stream sends only TagMessage and does
// not look at the tag it receives.
const (
	TagMessage byte = 0
	TagPush    byte = 1
	TagRekey   byte = 2
	TagFinal   byte = TagPush | TagRekey
)

// Errors returned by Open (and SealChecked); the returned errors wrap them
// with context and are matched with errors.Is.
var (
	// ErrShortMessage: the message is shorter than ABytes.
	ErrShortMessage = errors.New("secretstream: message shorter than 17 bytes")
	// ErrAuthentication: the MAC does not match: the message was changed,
	// replayed, reordered, cut, or sealed with another key or header.
	ErrAuthentication = errors.New("secretstream: message authentication failed")
	// ErrMessageTooLarge: the message would not fit one frame.
	ErrMessageTooLarge = errors.New("secretstream: message larger than one frame")
)

// state is libsodium's crypto_secretstream_xchacha20poly1305_state without
// its 8 padding bytes: the ChaCha20 key k and the 12-byte ChaCha20-IETF nonce,
// which is the u32le message counter followed by the 8-byte inonce.
type state struct {
	k     [32]byte
	nonce [12]byte // counter (u32le) ‖ inonce (8 bytes)
}

// init sets the state from the stream key and the header (spec "Init"):
// k = HChaCha20(key, header[0:16]); counter = 1; inonce = header[16:24].
func (s *state) init(key *[KeySize]byte, header *[HeaderSize]byte) {
	k, err := chacha20.HChaCha20(key[:], header[:16])
	if err != nil {
		panic("secretstream: init: " + err.Error()) // sizes are fixed by the types
	}
	copy(s.k[:], k)
	copy(s.nonce[4:], header[16:24])
	s.resetCounter()
}

// resetCounter sets the counter to 1.
func (s *state) resetCounter() {
	binary.LittleEndian.PutUint32(s.nonce[0:4], 1)
}

// stream returns ChaCha20-IETF keyed with k and the current nonce, at block
// counter 0.
func (s *state) stream() chacha20.Cipher {
	c, err := chacha20.NewUnauthenticatedCipher(s.k[:], s.nonce[:])
	if err != nil {
		panic("secretstream: stream: " + err.Error()) // sizes are fixed by the types
	}
	return *c
}

// rekey replaces k and inonce (spec "Rekey"):
// (k ‖ inonce) ^= ChaCha20-IETF(k, counter ‖ inonce) block 0, first 40 bytes;
// counter = 1.
func (s *state) rekey() {
	var b [40]byte
	copy(b[:32], s.k[:])
	copy(b[32:], s.nonce[4:])
	c := s.stream()
	c.XORKeyStream(b[:], b[:])
	copy(s.k[:], b[:32])
	copy(s.nonce[4:], b[32:])
	s.resetCounter()
}

// advance is the state update after each message (spec "After each
// message"): inonce ^= mac[0:8]; counter += 1; rekey if the tag has the
// TagRekey bit or the counter wrapped to 0.
func (s *state) advance(mac *[16]byte, tag byte) {
	subtle.XORBytes(s.nonce[4:], s.nonce[4:], mac[:8])
	ctr := binary.LittleEndian.Uint32(s.nonce[0:4]) + 1
	binary.LittleEndian.PutUint32(s.nonce[0:4], ctr)
	if tag&TagRekey != 0 || ctr == 0 {
		s.rekey()
	}
}

var zeros [16]byte

// macTail writes to m what follows the ciphertext in the MAC input (spec
// "The MAC"): zeros(len(c) mod 16) ‖ u64le(0) ‖ u64le(64 + len(c)).
func macTail(m *poly1305.MAC, clen int) {
	// "An implementation MUST pad with n mod 16 zero bytes." (spec "The
	// padding quirk"). Compatibility: libsodium pads with
	// (0x10 − 64 + len(c)) & 0xf zero bytes, which is len(c) mod 16, not the
	// (16 − len(c) mod 16) mod 16 of RFC 8439; every stream depends on it.
	m.Write(zeros[:clen%16])
	var lens [16]byte
	binary.LittleEndian.PutUint64(lens[0:8], 0) // no additional data
	binary.LittleEndian.PutUint64(lens[8:16], 64+uint64(clen))
	m.Write(lens[:])
}

// blocks runs the first two ChaCha20 blocks of a message: block 0 gives the
// Poly1305 key (its first 32 bytes, written to polyKey), block 1 encrypts the
// tag block in place: on entry tagBlock[0] is the tag (Seal) or c0 (Open) and
// the rest is zero. c is left at block 2, where the message starts. (The MAC
// is made by the caller: poly1305.New stays off the heap only when it is
// called in the function that uses the MAC.)
func blocks(c *chacha20.Cipher, polyKey *[32]byte, tagBlock *[64]byte) {
	var block0 [64]byte
	c.XORKeyStream(block0[:], block0[:])
	copy(polyKey[:], block0[:32])
	c.XORKeyStream(tagBlock[:], tagBlock[:])
}

// Push is the sending half of a stream (libsodium init_push / push).
type Push struct {
	s  state
	ks keyStream
}

// NewPush starts a stream with key and header. The header must be 24 bytes
// the receiver has not seen before with this key: in practice random (the
// caller reads it from crypto/rand and sends it in the setup frame); tests
// inject fixed ones.
func NewPush(key *[KeySize]byte, header *[HeaderSize]byte) *Push {
	p := &Push{ks: newKeyStream()}
	p.s.init(key, header)
	return p
}

// Seal encrypts plaintext as the next message of the stream with the given
// tag, appends c0 ‖ c ‖ mac (len(plaintext)+ABytes bytes) to dst and returns
// the extended slice. Any tag byte is accepted, as by libsodium; a tag with
// the TagRekey bit (TagRekey, TagFinal) rekeys after the message.
//
// The plaintext must be at most MaxPlaintextSize bytes: Seal panics on a
// larger one, before it changes any state, as cipher.AEAD.Seal does; use
// SealChecked to get an error instead. To seal in place, plaintext must be
// exactly the output's c, that is dst[len(dst)+1:][:len(plaintext)]; it must
// not overlap the output in any other way.
func (p *Push) Seal(dst, plaintext []byte, tag byte) []byte {
	// "A plaintext MUST be at most MaxPlaintextSize bytes, so that the
	// message fits one frame." (spec "Sizes and limits")
	if len(plaintext) > MaxPlaintextSize {
		panic("secretstream: Push.Seal: plaintext larger than MaxPlaintextSize")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+ABytes)
	n := len(plaintext)
	var mac [16]byte
	if p.ks.fast(n) {
		p.ks.seal(&p.s, out, plaintext, tag, &mac)
	} else {
		c := p.s.stream()
		var tagBlock [64]byte
		tagBlock[0] = tag
		var polyKey [32]byte
		blocks(&c, &polyKey, &tagBlock)
		m := poly1305.New(&polyKey)
		m.Write(tagBlock[:])
		out[0] = tagBlock[0]
		ct := out[1 : 1+n]
		c.XORKeyStream(ct, plaintext)
		m.Write(ct)
		macTail(m, n)
		m.Sum(mac[:0])
	}
	copy(out[1+n:], mac[:])
	p.s.advance(&mac, tag)
	return ret
}

// SealChecked is Seal with an error instead of a panic for a plaintext larger
// than MaxPlaintextSize (as JS's secret-stream fails such a write): it returns
// dst unchanged and an error wrapping ErrMessageTooLarge, and the stream state
// is unchanged.
func (p *Push) SealChecked(dst, plaintext []byte, tag byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintextSize {
		return dst, fmt.Errorf("%w: %d-byte plaintext, at most %d", ErrMessageTooLarge, len(plaintext), MaxPlaintextSize)
	}
	return p.Seal(dst, plaintext, tag), nil
}

// Rekey replaces the stream key explicitly (libsodium rekey). The receiver
// must call Pull.Rekey at the same point of the stream.
func (p *Push) Rekey() { p.s.rekey() }

// Pull is the receiving half of a stream (libsodium init_pull / pull).
type Pull struct {
	s  state
	ks keyStream
}

// NewPull starts receiving the stream that the sender began with key and
// header (the 24 bytes it sent in its setup frame).
func NewPull(key *[KeySize]byte, header *[HeaderSize]byte) *Pull {
	p := &Pull{ks: newKeyStream()}
	p.s.init(key, header)
	return p
}

// Open authenticates and decrypts message, the next message of the stream,
// appends its plaintext (len(message)−ABytes bytes) to dst and returns the
// extended slice and the message's tag.
//
// On error Open returns nil, 0 and an error wrapping ErrShortMessage,
// ErrMessageTooLarge or ErrAuthentication; the stream state is then
// unchanged and nothing was written to dst, so the message that was
// expected still opens. Open checks the MAC before it writes or allocates
// anything; it allocates only when dst lacks room for the plaintext. To open
// in place, dst must be exactly message[1:1]; message must not overlap the
// output in any other way.
func (p *Pull) Open(dst, message []byte) (plaintext []byte, tag byte, err error) {
	// "A receiver MUST reject a message shorter than ABYTES" (spec "Sizes
	// and limits"; "Opening a message" step 1).
	if len(message) < ABytes {
		return nil, 0, fmt.Errorf("%w: %d bytes", ErrShortMessage, len(message))
	}
	// "A message longer than MaxMessageSize cannot arrive in a frame, and a
	// receiver that is handed one MUST reject it."
	if len(message) > MaxMessageSize {
		return nil, 0, fmt.Errorf("%w: %d bytes, at most %d", ErrMessageTooLarge, len(message), MaxMessageSize)
	}
	n := len(message) - ABytes
	ct := message[1 : 1+n]
	c := p.s.stream()
	var tagBlock [64]byte
	tagBlock[0] = message[0]
	var polyKey [32]byte
	blocks(&c, &polyKey, &tagBlock)
	m := poly1305.New(&polyKey)
	tag = tagBlock[0]
	// The sender's encrypted tag block is c0 followed by keystream bytes
	// 1..63 of block 1 (its plaintext bytes 1..63 are zero).
	tagBlock[0] = message[0]
	m.Write(tagBlock[:])
	m.Write(ct)
	macTail(m, n)
	var mac [16]byte
	m.Sum(mac[:0])
	// "The receiver MUST reject M when mac ≠ mac' (error class
	// authentication), comparing in constant time, and MUST leave its state
	// unchanged; it MUST NOT release any of the plaintext." (spec "Opening a
	// message" step 4; nothing has been written to dst yet.)
	if subtle.ConstantTimeCompare(mac[:], message[1+n:]) != 1 {
		return nil, 0, fmt.Errorf("%w (%d-byte message)", ErrAuthentication, len(message))
	}
	ret, out := sliceForAppend(dst, n)
	if p.ks.fast(n) {
		p.ks.decrypt(&p.s, out, ct)
	} else {
		c.XORKeyStream(out, ct)
	}
	p.s.advance(&mac, tag)
	return ret, tag, nil
}

// Rekey replaces the stream key explicitly, at the point of the stream where
// the sender called Push.Rekey.
func (p *Pull) Rekey() { p.s.rekey() }

// keyStream makes the key stream of long messages with the IETF
// ChaCha20-Poly1305 AEAD of x/crypto where that has assembly (amd64), which
// is about three times as fast there as package chacha20 (pure Go on amd64).
// AEAD.Seal(k, nonce, P) returns P ⊕ KS(k, nonce, 1, len(P)) followed by a
// tag this cipher does not use; with P = the plaintext tag block ‖ m it
// yields the encrypted tag block and c at once, block counters 1 and 2...,
// exactly steps 2 and 3 of "Sealing a message". The AEAD's own tag is
// thrown away: its padding differs (see "The padding quirk"), so the MAC is
// computed here as on the short path. The price is two copies of the message
// through a pooled scratch buffer, since the AEAD's output is 63 bytes longer
// than ours at the front.
type keyStream struct {
	min  int         // the shortest plaintext that takes the AEAD path
	key  [32]byte    // the key aead was made with
	aead cipher.AEAD // nil until the first long message
}

// fastKeyStreamMin is the shortest plaintext that takes the AEAD path: from
// about 64 bytes on it is as fast as package chacha20, from 128 faster
// (1.4× at 128 bytes, 2× at 1 KiB on the machine of the BENCH note).
const fastKeyStreamMin = 128

func newKeyStream() keyStream {
	if runtime.GOARCH != "amd64" {
		return keyStream{min: -1}
	}
	return keyStream{min: fastKeyStreamMin}
}

// fast reports whether an n-byte plaintext takes the AEAD path.
func (ks *keyStream) fast(n int) bool { return ks.min >= 0 && n >= ks.min }

// cipher returns the AEAD for key k, made anew after each rekey.
func (ks *keyStream) cipher(k *[32]byte) cipher.AEAD {
	if ks.aead == nil || ks.key != *k {
		a, err := chacha20poly1305.New(k[:])
		if err != nil {
			panic("secretstream: keyStream: " + err.Error()) // sizes are fixed by the types
		}
		ks.aead, ks.key = a, *k
	}
	return ks.aead
}

// scratchPool holds *[]byte buffers for the AEAD path.
var scratchPool sync.Pool

func getScratch(n int) *[]byte {
	if b, ok := scratchPool.Get().(*[]byte); ok && cap(*b) >= n {
		return b
	}
	b := make([]byte, n)
	return &b
}

// seal is steps 1 to 5 of "Sealing a message" on the AEAD path: it writes
// c0 ‖ c to out[:1+len(plaintext)] and the MAC to mac.
func (ks *keyStream) seal(s *state, out, plaintext []byte, tag byte, mac *[16]byte) {
	n := len(plaintext)
	bp := getScratch(64 + n + chacha20poly1305.Overhead)
	buf := (*bp)[:64+n]
	clear(buf[:64])
	buf[0] = tag
	copy(buf[64:], plaintext)
	enc := ks.cipher(&s.k).Seal(buf[:0], s.nonce[:], buf, nil)[:64+n] // block ‖ c
	var polyKey [32]byte
	c := s.stream()
	c.XORKeyStream(polyKey[:], polyKey[:])
	m := poly1305.New(&polyKey)
	m.Write(enc)
	macTail(m, n)
	m.Sum(mac[:0])
	out[0] = enc[0]
	copy(out[1:1+n], enc[64:])
	scratchPool.Put(bp)
}

// decrypt is step 5 of "Opening a message" on the AEAD path:
// out = ct ⊕ KS(k, nonce, 2, len(ct)).
func (ks *keyStream) decrypt(s *state, out, ct []byte) {
	n := len(ct)
	bp := getScratch(64 + n + chacha20poly1305.Overhead)
	buf := (*bp)[:64+n]
	copy(buf[64:], ct)
	dec := ks.cipher(&s.k).Seal(buf[:0], s.nonce[:], buf, nil)
	copy(out, dec[64:64+n])
	scratchPool.Put(bp)
}

// sliceForAppend extends in by n bytes, reusing its capacity when it can, and
// returns the whole slice and the n new bytes.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}

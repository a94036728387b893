package secretstream

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/crypto/chacha20"
	//lint:ignore SA1019 libsodium secretstream needs the raw one-time Poly1305 MAC (with its own padding), which no AEAD exposes
	"golang.org/x/crypto/poly1305"
	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/vectors"
)

// cipherErrorClasses maps the error classes of secretstream.json to the
// sentinel errors.
var cipherErrorClasses = map[string]error{
	"short":          ErrShortMessage,
	"authentication": ErrAuthentication,
}

func cipherVectors(t testing.TB) *vectors.SecretStream {
	t.Helper()
	v, err := vectors.LoadSecretStream()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// cipherKeys returns the key and header of a case as arrays.
func cipherKeys(key, header []byte) (*[KeySize]byte, *[HeaderSize]byte) {
	return (*[KeySize]byte)(key), (*[HeaderSize]byte)(header)
}

// cipherPaths are the two ways Seal and Open make the key stream of a
// message (keyStream.min): package chacha20 for every length, and the AEAD
// for every length. Tests run both.
var cipherPaths = []struct {
	name string
	min  int
}{{"chacha20", -1}, {"aead", 0}}

// setCounter writes the counter of a state, as the generator writes bytes
// 32..35 of libsodium's state for the cases with flag Counter.
func (s *state) setCounter(c uint32) { binary.LittleEndian.PutUint32(s.nonce[0:4], c) }

// TestVectorsStreams replays every stream of secretstream.json through a
// Push and a Pull: every message byte for byte, every tag, every rekey.
func TestVectorsStreams(t *testing.T) {
	v := cipherVectors(t)
	n := 0
	for _, g := range v.Streams {
		for _, c := range g.Tests {
			n++
			for _, path := range cipherPaths {
				t.Run(c.Name("secretstream.json")+" "+path.name, func(t *testing.T) {
					key, header := cipherKeys(c.Key, c.Header)
					p, q := NewPush(key, header), NewPull(key, header)
					p.ks.min, q.ks.min = path.min, path.min
					if c.Counter != nil {
						p.s.setCounter(*c.Counter)
						q.s.setCounter(*c.Counter)
					} else if c.HasFlag("Counter") {
						t.Fatal("flag Counter without a counter")
					}
					for i, s := range c.Steps {
						if s.Op == "rekey" {
							p.Rekey()
							q.Rekey()
							continue
						}
						got := p.Seal(nil, s.Plaintext, *s.Tag)
						if !bytes.Equal(got, s.Message) {
							t.Fatalf("step %d: Seal(%x, %d) = %x, want %x", i, []byte(s.Plaintext), *s.Tag, got, []byte(s.Message))
						}
						pt, tag, err := q.Open(nil, s.Message)
						if err != nil || !bytes.Equal(pt, s.Plaintext) || tag != *s.Tag {
							t.Fatalf("step %d: Open(%x) = %x, %d, %v, want %x, %d, nil", i, []byte(s.Message), pt, tag, err, []byte(s.Plaintext), *s.Tag)
						}
					}
					if p.s != q.s {
						t.Errorf("after the stream Push state %x, Pull state %x", p.s, q.s)
					}
				})
			}
		}
	}
	if n == 0 {
		t.Fatal("no StreamTest cases")
	}
}

// TestVectorsPulls replays the sequences of pulls of secretstream.json:
// each refused pull must fail with its class, return nothing and leave the
// state unchanged; each accepted one must return libsodium's plaintext and
// tag.
func TestVectorsPulls(t *testing.T) {
	v := cipherVectors(t)
	n := 0
	for _, g := range v.Pulls {
		for _, c := range g.Tests {
			n++
			for _, path := range cipherPaths {
				t.Run(c.Name("secretstream.json")+" "+path.name, func(t *testing.T) {
					key, header := cipherKeys(c.Key, c.Header)
					q := NewPull(key, header)
					q.ks.min = path.min
					first := ""
					for i, s := range c.Steps {
						if s.Op == "rekey" {
							q.Rekey()
							continue
						}
						before := q.s
						pt, tag, err := q.Open(nil, s.Message)
						if s.Error == "" {
							if err != nil || !bytes.Equal(pt, s.Plaintext) || tag != *s.Tag {
								t.Fatalf("step %d: Open(%x) = %x, %d, %v, want %x, %d, nil", i, []byte(s.Message), pt, tag, err, []byte(s.Plaintext), *s.Tag)
							}
							continue
						}
						if first == "" {
							first = s.Error
						}
						want := cipherErrorClasses[s.Error]
						if want == nil {
							t.Fatalf("step %d: unknown error class %q", i, s.Error)
						}
						if !errors.Is(err, want) || pt != nil || tag != 0 {
							t.Fatalf("step %d: Open(%x) = %x, %d, %v, want nil, 0, %v", i, []byte(s.Message), pt, tag, err, want)
						}
						if q.s != before {
							t.Fatalf("step %d: refused Open changed the state from %x to %x", i, before, q.s)
						}
					}
					if first != c.Error {
						t.Errorf("first refused pull has class %q, the case says %q", first, c.Error)
					}
				})
			}
		}
	}
	if n == 0 {
		t.Fatal("no PullTest cases")
	}
}

// refState is a slow reference written straight from the spec chapter,
// with the state kept as separate fields.
type refState struct {
	k       [32]byte
	counter uint32
	inonce  [8]byte
}

func newRefState(key *[KeySize]byte, header *[HeaderSize]byte) *refState {
	k, err := chacha20.HChaCha20(key[:], header[:16])
	if err != nil {
		panic(err)
	}
	r := &refState{counter: 1}
	copy(r.k[:], k)
	copy(r.inonce[:], header[16:])
	return r
}

// keyStream returns n bytes of ChaCha20-IETF(k, counter ‖ inonce) from
// block number block.
func (r *refState) keyStream(block uint32, n int) []byte {
	nonce := binary.LittleEndian.AppendUint32(nil, r.counter)
	nonce = append(nonce, r.inonce[:]...)
	c, err := chacha20.NewUnauthenticatedCipher(r.k[:], nonce)
	if err != nil {
		panic(err)
	}
	c.SetCounter(block)
	b := make([]byte, n)
	c.XORKeyStream(b, b)
	return b
}

func (r *refState) rekey() {
	b := append(r.k[:], r.inonce[:]...)
	ks := r.keyStream(0, 40)
	for i := range b {
		b[i] ^= ks[i]
	}
	copy(r.k[:], b[:32])
	copy(r.inonce[:], b[32:])
	r.counter = 1
}

// seal returns c0 ‖ c ‖ mac for m and tag and updates the state.
func (r *refState) seal(m []byte, tag byte) []byte {
	polyKey := (*[32]byte)(r.keyStream(0, 32))
	tagBlock := r.keyStream(1, 64)
	tagBlock[0] ^= tag
	c := r.keyStream(2, len(m))
	for i := range c {
		c[i] ^= m[i]
	}
	in := append([]byte{}, tagBlock...)
	in = append(in, c...)
	in = append(in, make([]byte, len(c)%16)...)
	in = binary.LittleEndian.AppendUint64(in, 0)
	in = binary.LittleEndian.AppendUint64(in, uint64(64+len(c)))
	var mac [16]byte
	poly1305.Sum(&mac, in, polyKey)
	for i := range 8 {
		r.inonce[i] ^= mac[i]
	}
	r.counter++
	if tag&2 != 0 || r.counter == 0 {
		r.rekey()
	}
	out := append([]byte{tagBlock[0]}, c...)
	return append(out, mac[:]...)
}

// TestReference compares Push and Pull with the slow reference over random
// streams: random keys, headers, starting counters (often near the wrap),
// plaintext lengths, tags and explicit rekeys, each end on either key stream
// path or switching at 100 bytes; and requires every changed message to be
// refused without a change of state.
func TestReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		key := (*[KeySize]byte)(rapid.SliceOfN(rapid.Byte(), KeySize, KeySize).Draw(t, "key"))
		header := (*[HeaderSize]byte)(rapid.SliceOfN(rapid.Byte(), HeaderSize, HeaderSize).Draw(t, "header"))
		ref := newRefState(key, header)
		p, q := NewPush(key, header), NewPull(key, header)
		p.ks.min = rapid.SampledFrom([]int{-1, 0, 100}).Draw(t, "Push path")
		q.ks.min = rapid.SampledFrom([]int{-1, 0, 100}).Draw(t, "Pull path")
		if rapid.Bool().Draw(t, "set counter") {
			c := rapid.OneOf(rapid.Uint32Range(0xfffffff0, 0xffffffff), rapid.Uint32()).Draw(t, "counter")
			ref.counter = c
			p.s.setCounter(c)
			q.s.setCounter(c)
		}
		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for i := range steps {
			if rapid.IntRange(0, 7).Draw(t, fmt.Sprint("op ", i)) == 0 {
				ref.rekey()
				p.Rekey()
				q.Rekey()
				continue
			}
			m := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, fmt.Sprint("plaintext ", i))
			tag := rapid.OneOf(rapid.SampledFrom([]byte{TagMessage, TagPush, TagRekey, TagFinal}), rapid.Byte()).Draw(t, fmt.Sprint("tag ", i))
			want := ref.seal(m, tag)
			got := p.Seal([]byte("prefix"), m, tag)
			if !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
				t.Fatalf("step %d: Seal(%x, %d) = %x, want prefix ‖ %x", i, m, tag, got, want)
			}
			if rapid.Bool().Draw(t, fmt.Sprint("forge ", i)) {
				bad := append([]byte{}, want...)
				if rapid.Bool().Draw(t, fmt.Sprint("cut ", i)) {
					bad = bad[:rapid.IntRange(0, len(bad)-1).Draw(t, fmt.Sprint("cut at ", i))]
				} else {
					bit := rapid.IntRange(0, 8*len(bad)-1).Draw(t, fmt.Sprint("bit ", i))
					bad[bit/8] ^= 1 << (bit % 8)
				}
				before := q.s
				pt, tg, err := q.Open(nil, bad)
				if err == nil || pt != nil || tg != 0 || q.s != before {
					t.Fatalf("step %d: Open(%x) = %x, %d, %v and state changed %v, want an error", i, bad, pt, tg, err, q.s != before)
				}
			}
			pt, tg, err := q.Open([]byte("x"), want)
			if err != nil || string(pt[:1]) != "x" || !bytes.Equal(pt[1:], m) || tg != tag {
				t.Fatalf("step %d: Open(%x) = %x, %d, %v, want x ‖ %x, %d, nil", i, want, pt, tg, err, m, tag)
			}
		}
	})
}

// TestEveryTruncationAndBitFlip refuses every prefix and every one-bit
// change of messages of a few lengths, leaving the state as it was.
func TestEveryTruncationAndBitFlip(t *testing.T) {
	var key [KeySize]byte
	var header [HeaderSize]byte
	for _, n := range []int{0, 1, 15, 16, 17, 40} {
		msg := NewPush(&key, &header).Seal(nil, bytes.Repeat([]byte{0xaa}, n), TagMessage)
		q := NewPull(&key, &header)
		before := q.s
		for cut := range len(msg) {
			pt, tag, err := q.Open(nil, msg[:cut])
			want := ErrAuthentication
			if cut < ABytes {
				want = ErrShortMessage
			}
			if !errors.Is(err, want) || pt != nil || tag != 0 || q.s != before {
				t.Fatalf("Open(%x) = %x, %d, %v, want nil, 0, %v", msg[:cut], pt, tag, err, want)
			}
		}
		for bit := range 8 * len(msg) {
			bad := append([]byte{}, msg...)
			bad[bit/8] ^= 1 << (bit % 8)
			pt, tag, err := q.Open(nil, bad)
			if !errors.Is(err, ErrAuthentication) || pt != nil || tag != 0 || q.s != before {
				t.Fatalf("Open(%x) = %x, %d, %v, want nil, 0, %v", bad, pt, tag, err, ErrAuthentication)
			}
		}
		if pt, _, err := q.Open(nil, msg); err != nil || len(pt) != n {
			t.Fatalf("Open(%x) after the refusals = %x, %v", msg, pt, err)
		}
	}
}

// TestInPlace seals into the buffer that holds the plaintext and opens into
// the message's own bytes.
func TestInPlace(t *testing.T) {
	var key [KeySize]byte
	var header [HeaderSize]byte
	m := []byte("a secret stream message that is longer than one block of sixty-four bytes")
	want := newRefState(&key, &header).seal(m, TagPush)
	for _, path := range cipherPaths {
		buf := make([]byte, 1+len(m)+ABytes)
		copy(buf[1:], m)
		p := NewPush(&key, &header)
		p.ks.min = path.min
		got := p.Seal(buf[:0], buf[1:1+len(m)], TagPush)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: in-place Seal(%x) = %x, want %x", path.name, m, got, want)
		}
		q := NewPull(&key, &header)
		q.ks.min = path.min
		pt, tag, err := q.Open(got[1:1], got)
		if err != nil || !bytes.Equal(pt, m) || tag != TagPush {
			t.Fatalf("%s: in-place Open(%x) = %x, %d, %v, want %x, %d, nil", path.name, want, pt, tag, err, m, TagPush)
		}
	}
}

// TestLimits: a plaintext of MaxPlaintextSize bytes is sealed and opened; one
// byte more is refused by SealChecked (and makes Seal panic) before any
// state changes, and Open refuses a message longer than MaxMessageSize.
func TestLimits(t *testing.T) {
	var key [KeySize]byte
	var header [HeaderSize]byte
	p, q := NewPush(&key, &header), NewPull(&key, &header)
	big := make([]byte, MaxPlaintextSize+1)

	before := p.s
	out, err := p.SealChecked([]byte("dst"), big, TagMessage)
	if !errors.Is(err, ErrMessageTooLarge) || string(out) != "dst" || p.s != before {
		t.Fatalf("SealChecked(%d bytes) = %d bytes, %v, want dst, %v", len(big), len(out), err, ErrMessageTooLarge)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Seal(%d bytes) did not panic", len(big))
			}
		}()
		p.Seal(nil, big, TagMessage)
	}()
	if p.s != before {
		t.Fatal("Seal that panicked changed the state")
	}

	msg, err := p.SealChecked(nil, big[:MaxPlaintextSize], TagMessage)
	if err != nil || len(msg) != MaxMessageSize {
		t.Fatalf("SealChecked(%d bytes) = %d bytes, %v, want %d bytes", MaxPlaintextSize, len(msg), err, MaxMessageSize)
	}
	if _, _, err := q.Open(nil, append(msg, 0)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("Open(%d bytes) = %v, want %v", len(msg)+1, err, ErrMessageTooLarge)
	}
	pt, _, err := q.Open(big[:0], msg[:MaxMessageSize])
	if err != nil || len(pt) != MaxPlaintextSize || !bytes.Equal(pt, big[:MaxPlaintextSize]) {
		t.Fatalf("Open(%d bytes) = %d bytes, %v", MaxMessageSize, len(pt), err)
	}
}

// TestAllocations: with room in dst, Seal and Open allocate nothing (on the
// AEAD path once the scratch pool holds a buffer); a refused message costs a
// small error, never memory by its length.
func TestAllocations(t *testing.T) {
	var key [KeySize]byte
	var header [HeaderSize]byte
	p, q := NewPush(&key, &header), NewPull(&key, &header)
	for _, path := range cipherPaths {
		p.ks.min, q.ks.min = path.min, path.min
		m := make([]byte, 4096)
		msg := make([]byte, 0, len(m)+ABytes)
		pt := make([]byte, 0, len(m))
		if n := testing.AllocsPerRun(100, func() {
			msg = p.Seal(msg[:0], m, TagMessage)
			var err error
			if pt, _, err = q.Open(pt[:0], msg); err != nil {
				t.Fatal(err)
			}
		}); n > 0 && (path.name != "aead" || n > 1) {
			// On the AEAD path a scratch buffer comes from a sync.Pool, which
			// may drop one now and then (the race detector makes it drop one
			// Put in four): one allocation per run is tolerated there; without
			// -race the figure is 0.
			t.Errorf("%s: Seal and Open with room in dst: %v allocations per run", path.name, n)
		}
	}

	bad := make([]byte, 1<<20)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	for range 10 {
		if _, _, err := q.Open(nil, bad); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("Open(1 MiB of zeros) = %v, want %v", err, ErrAuthentication)
		}
	}
	runtime.ReadMemStats(&ms)
	if d := ms.TotalAlloc - before; d > 10*1024 {
		t.Errorf("10 refused 1 MiB messages allocated %d bytes", d)
	}
}

// TestPaddingQuirk: the MAC input is padded with len(c) mod 16 zero bytes
// (spec "The padding quirk"). For lengths where that differs from RFC 8439's
// (16 − len(c) mod 16) mod 16, a MAC computed with the RFC padding is
// refused.
func TestPaddingQuirk(t *testing.T) {
	var key [KeySize]byte
	var header [HeaderSize]byte
	for n := range 40 {
		ref := newRefState(&key, &header)
		msg := NewPush(&key, &header).Seal(nil, make([]byte, n), TagMessage)
		polyKey := (*[32]byte)(ref.keyStream(0, 32))
		tagBlock := append([]byte{msg[0]}, ref.keyStream(1, 64)[1:]...)
		c := msg[1 : 1+n]
		in := append(append([]byte{}, tagBlock...), c...)
		in = append(in, make([]byte, (16-n%16)%16)...)
		in = binary.LittleEndian.AppendUint64(in, 0)
		in = binary.LittleEndian.AppendUint64(in, uint64(64+n))
		var rfc [16]byte
		poly1305.Sum(&rfc, in, polyKey)
		same := bytes.Equal(rfc[:], msg[1+n:])
		if wantSame := n%16 == 0 || n%16 == 8; same != wantSame {
			t.Errorf("length %d: RFC-padded MAC equal to libsodium's: %v, want %v", n, same, wantSame)
		}
		forged := append(append([]byte{}, msg[:1+n]...), rfc[:]...)
		_, _, err := NewPull(&key, &header).Open(nil, forged)
		if !same && !errors.Is(err, ErrAuthentication) {
			t.Errorf("length %d: Open(RFC-padded MAC) = %v, want %v", n, err, ErrAuthentication)
		}
	}
}

// ExamplePush seals three messages, rekeys after the second, and opens them
// on the other side.
func ExamplePush() {
	var key [KeySize]byte       // in practice: one direction's Noise split key
	var header [HeaderSize]byte // in practice: random, sent in the setup frame
	p := NewPush(&key, &header)
	q := NewPull(&key, &header)

	var wire [][]byte
	wire = append(wire, p.Seal(nil, []byte("hello"), TagMessage))
	wire = append(wire, p.Seal(nil, nil, TagMessage)) // a keep-alive
	p.Rekey()
	wire = append(wire, p.Seal(nil, []byte("bye"), TagFinal))

	for i, msg := range wire {
		if i == 2 {
			q.Rekey()
		}
		pt, tag, err := q.Open(nil, msg)
		fmt.Printf("%d bytes -> %q tag %d %v\n", len(msg), pt, tag, err)
	}
	// The first message, as libsodium's push writes it for this key and
	// header: c0 ‖ c ‖ mac.
	fmt.Println(hex.EncodeToString(wire[0]))
	// Output:
	// 22 bytes -> "hello" tag 0 <nil>
	// 17 bytes -> "" tag 0 <nil>
	// 20 bytes -> "bye" tag 3 <nil>
	// 5d451a0bb3c1370be30a0cca00896a2059eaa8a957e3
}

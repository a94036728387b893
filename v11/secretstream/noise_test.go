package secretstream

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"filippo.io/edwards25519"
	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/vectors"
)

func loadNoise(t testing.TB) *vectors.Noise {
	t.Helper()
	v, err := vectors.LoadNoise()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const noiseFile = "v11/noise.json"

// noiseErrors maps the error classes of noise.json to this package's
// sentinel errors.
var noiseErrors = map[string]error{
	"handshake":    ErrHandshake,
	"badPublicKey": ErrBadPublicKey,
}

// checkClass asserts that err is of the vector's error class, and for
// "handshake" that it is not a bad public key: a rejection for the wrong
// reason is a failure.
func checkClass(t *testing.T, err error, class string) {
	t.Helper()
	want, ok := noiseErrors[class]
	if !ok {
		t.Fatalf("unknown error class %q", class)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want class %s", err, class)
	}
	if class == "handshake" && errors.Is(err, ErrBadPublicKey) {
		t.Fatalf("error %v is a bad public key, want a plain handshake failure", err)
	}
}

func TestDHVectors(t *testing.T) {
	v := loadNoise(t)
	n := 0
	for _, g := range v.DH {
		for _, c := range g.Tests {
			n++
			t.Run(c.Name(noiseFile), func(t *testing.T) {
				for _, f := range c.Flags {
					switch f {
					case "SmallOrder", "NonCanonical", "OffCurve", "MixedOrder":
					default:
						t.Fatalf("unknown flag %q", f)
					}
				}
				priv := ed25519.NewKeyFromSeed(c.Seed)
				if pub := priv.Public().(ed25519.PublicKey); !bytes.Equal(pub, c.PublicKey) {
					t.Fatalf("NewKeyFromSeed(%x) public key = %x, want %x", []byte(c.Seed), []byte(pub), []byte(c.PublicKey))
				}
				out, err := DH(priv, c.RemotePublicKey)
				if !c.Valid() {
					checkClass(t, err, c.Error)
					if out != nil {
						t.Fatalf("DH(%x) = %x with an error", []byte(c.RemotePublicKey), out)
					}
					return
				}
				if err != nil {
					t.Fatalf("DH(%x): %v", []byte(c.RemotePublicKey), err)
				}
				if !bytes.Equal(out, c.Output) {
					t.Fatalf("DH(seed %x, %x) = %x, want %x", []byte(c.Seed), []byte(c.RemotePublicKey), out, []byte(c.Output))
				}
				// the flynn/noise adapter gives the same
				out2, err := ed25519DH{}.DH(priv, c.RemotePublicKey)
				if err != nil || !bytes.Equal(out2, c.Output) {
					t.Fatalf("ed25519DH.DH = %x, %v, want %x", out2, err, []byte(c.Output))
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no DH vectors")
	}
}

// smallOrderPoints returns the eight points of order dividing 8, found as
// [l]·P for points P = [k]·(a point of order 8l): computed here, not copied.
func smallOrderPoints(t testing.TB) []*edwards25519.Point {
	t.Helper()
	// 26e8958f…fc05 is the order-8 point of libsodium's blocklist; its
	// multiples are the whole small subgroup.
	enc := []byte{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05}
	t8, err := new(edwards25519.Point).SetBytes(enc)
	if err != nil {
		t.Fatal(err)
	}
	pts := []*edwards25519.Point{edwards25519.NewIdentityPoint()}
	for i := 1; i < 8; i++ {
		pts = append(pts, new(edwards25519.Point).Add(pts[i-1], t8))
	}
	if new(edwards25519.Point).Add(pts[7], t8).Equal(edwards25519.NewIdentityPoint()) != 1 {
		t.Fatal("the order-8 point is not of order 8")
	}
	return pts[:8]
}

// TestDHProperties: for random key pairs a, b, DH(a, B) = DH(b, A) and
// DH(a, G) = A; a prime-order point plus any non-identity small-order point
// is refused, and so is every small-order point.
func TestDHProperties(t *testing.T) {
	small := smallOrderPoints(t)
	rapid.Check(t, func(t *rapid.T) {
		a := ed25519.NewKeyFromSeed(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "seedA"))
		b := ed25519.NewKeyFromSeed(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "seedB"))
		A, B := a.Public().(ed25519.PublicKey), b.Public().(ed25519.PublicKey)
		ab, err1 := DH(a, B)
		ba, err2 := DH(b, A)
		if err1 != nil || err2 != nil || !bytes.Equal(ab, ba) {
			t.Fatalf("DH(a, B) = %x, %v; DH(b, A) = %x, %v", ab, err1, ba, err2)
		}
		ag, err := DH(a, edwards25519.NewGeneratorPoint().Bytes())
		if err != nil || !bytes.Equal(ag, A) {
			t.Fatalf("DH(a, G) = %x, %v, want %x", ag, err, []byte(A))
		}
		i := rapid.IntRange(0, 7).Draw(t, "small")
		p, err := new(edwards25519.Point).SetBytes(B)
		if err != nil {
			t.Fatal(err)
		}
		mixed := new(edwards25519.Point).Add(p, small[i]).Bytes()
		_, err = DH(a, mixed)
		if i == 0 {
			if err != nil {
				t.Fatalf("DH(a, B) refused: %v", err)
			}
		} else if !errors.Is(err, ErrBadPublicKey) {
			t.Fatalf("DH(a, B + T%d) = %v, want ErrBadPublicKey", i, err)
		}
		if _, err := DH(a, small[i].Bytes()); !errors.Is(err, ErrBadPublicKey) {
			t.Fatalf("DH(a, T%d) = %v, want ErrBadPublicKey", i, err)
		}
	})
}

// TestDHNonCanonical: every encoding with y ≥ p (y = p … 2^255 − 1, both
// signs) is refused, whatever point it would decode to.
func TestDHNonCanonical(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	for k := 0; k < 19; k++ {
		for _, sign := range []byte{0, 0x80} {
			enc := bytes.Repeat([]byte{0xff}, 32)
			enc[0] = 0xed + byte(k)
			enc[31] = 0x7f | sign
			if canonicalY(enc) {
				t.Fatalf("canonicalY(%x) = true", enc)
			}
			if _, err := DH(priv, enc); !errors.Is(err, ErrBadPublicKey) {
				t.Fatalf("DH(%x) = %v, want ErrBadPublicKey", enc, err)
			}
		}
	}
	below := bytes.Repeat([]byte{0xff}, 32)
	below[0], below[31] = 0xec, 0x7f // p − 1
	if !canonicalY(below) {
		t.Fatalf("canonicalY(p-1) = false")
	}
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := DH(priv, make([]byte, n)); !errors.Is(err, ErrBadPublicKey) {
			t.Fatalf("DH(%d bytes) = %v, want ErrBadPublicKey", n, err)
		}
	}
	if _, err := DH(priv[:32], edwards25519.NewGeneratorPoint().Bytes()); err == nil {
		t.Fatal("DH with a 32-byte private key succeeded")
	}
}

func TestNamespaces(t *testing.T) {
	v := loadNoise(t)
	for _, g := range v.Handshakes {
		if !bytes.Equal(nsInitiator[:], g.NSInitiator) || !bytes.Equal(nsResponder[:], g.NSResponder) {
			t.Fatalf("NS_INITIATOR, NS_RESPONDER = %x, %x, want %x, %x", nsInitiator, nsResponder, []byte(g.NSInitiator), []byte(g.NSResponder))
		}
	}
}

func TestProtocolName(t *testing.T) {
	if got := "Noise_XX_" + string(cipherSuite.Name()); got != protocolName {
		t.Fatalf("protocol name %q, want %q", got, protocolName)
	}
}

// TestHandshakeVectors replays both sides of each JS stream's handshake
// with the vector's randomness and compares every message, the h after
// each, the handshake hash, the split keys, the remote static key and the
// stream ids.
func TestHandshakeVectors(t *testing.T) {
	v := loadNoise(t)
	n := 0
	for _, g := range v.Handshakes {
		for _, c := range g.Tests {
			n++
			t.Run(c.Name(noiseFile), func(t *testing.T) {
				i, err := newHandshakeState(true, ed25519.NewKeyFromSeed(c.Initiator.StaticSeed), bytes.NewReader(c.Initiator.EphemeralSeed))
				if err != nil {
					t.Fatal(err)
				}
				r, err := newHandshakeState(false, ed25519.NewKeyFromSeed(c.Responder.StaticSeed), bytes.NewReader(c.Responder.EphemeralSeed))
				if err != nil {
					t.Fatal(err)
				}
				order := []struct{ w, r *handshakeState }{{i, r}, {r, i}, {i, r}}
				for k, m := range c.Handshake {
					from := map[bool]string{true: "initiator", false: "responder"}[order[k].w.initiator]
					if m.From != from {
						t.Fatalf("message %d from %s, want %s", k+1, m.From, from)
					}
					msg, err := order[k].w.write()
					if err != nil {
						t.Fatalf("%s writes message %d: %v", from, k+1, err)
					}
					if !bytes.Equal(msg, m.Message) {
						t.Fatalf("message %d = %x, want %x", k+1, msg, []byte(m.Message))
					}
					if h := order[k].w.hs.ChannelBinding(); !bytes.Equal(h, m.H) {
						t.Fatalf("h after writing message %d = %x, want %x", k+1, h, []byte(m.H))
					}
					if err := order[k].r.read(msg); err != nil {
						t.Fatalf("reading message %d: %v", k+1, err)
					}
					if h := order[k].r.hs.ChannelBinding(); !bytes.Equal(h, m.H) {
						t.Fatalf("h after reading message %d = %x, want %x", k+1, h, []byte(m.H))
					}
				}
				if !i.done() || !r.done() {
					t.Fatal("handshake not done after three messages")
				}
				for _, s := range []struct {
					hs   *handshakeState
					want vectors.NoiseSide
				}{{i, c.Initiator}, {r, c.Responder}} {
					res := s.hs.result()
					checkHex(t, "handshake hash", res.hash[:], c.HandshakeHash)
					checkHex(t, "tx", res.tx[:], s.want.Tx)
					checkHex(t, "rx", res.rx[:], s.want.Rx)
					checkHex(t, "remote static key", res.remoteStatic[:], s.want.RemotePublicKey)
					id := StreamID(res.hash[:], s.hs.initiator)
					checkHex(t, "StreamID", id[:], s.want.StreamID)
					checkHex(t, "setup frame", append(id[:], s.want.Header...), s.want.Setup)
					pub := ed25519.NewKeyFromSeed(s.want.StaticSeed).Public().(ed25519.PublicKey)
					checkHex(t, "static public key", pub, s.want.PublicKey)
					eph := ed25519.NewKeyFromSeed(s.want.EphemeralSeed).Public().(ed25519.PublicKey)
					checkHex(t, "ephemeral public key", eph, s.want.EphemeralPublicKey)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no handshake vectors")
	}
}

func checkHex(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s = %x, want %x", what, got, want)
	}
}

// TestHandshakeSideVectors plays one side against the honest and mutated
// messages of noise.json and requires JS's verdict: the same messages
// written, and the same failure class where JS failed.
func TestHandshakeSideVectors(t *testing.T) {
	v := loadNoise(t)
	n := 0
	for _, g := range v.Sides {
		for _, c := range g.Tests {
			n++
			t.Run(c.Name(noiseFile), func(t *testing.T) {
				initiator := c.Role == "initiator"
				if !initiator && c.Role != "responder" {
					t.Fatalf("role %q", c.Role)
				}
				h, err := newHandshakeState(initiator, ed25519.NewKeyFromSeed(c.StaticSeed), bytes.NewReader(c.EphemeralSeed))
				if err != nil {
					t.Fatal(err)
				}
				var sent [][]byte
				if initiator {
					m, err := h.write()
					if err != nil {
						t.Fatal(err)
					}
					sent = append(sent, m)
				}
				for k, m := range c.Received {
					err = h.read(m)
					if err == nil && !h.done() {
						var out []byte
						if out, err = h.write(); err == nil {
							sent = append(sent, out)
						}
					}
					if err != nil {
						if k != len(c.Received)-1 {
							t.Fatalf("failed on received message %d of %d: %v", k+1, len(c.Received), err)
						}
						break
					}
				}
				if len(sent) != len(c.Sent) {
					t.Fatalf("sent %d messages, want %d", len(sent), len(c.Sent))
				}
				for k := range sent {
					checkHex(t, "sent message", sent[k], c.Sent[k])
				}
				if !c.Valid() {
					checkClass(t, err, c.Error)
					return
				}
				if err != nil {
					t.Fatalf("JS accepted, Go: %v", err)
				}
				if c.HandshakeHash == nil {
					if h.done() {
						t.Fatal("handshake done, JS was not")
					}
					return
				}
				if !h.done() {
					t.Fatal("handshake not done")
				}
				res := h.result()
				checkHex(t, "handshake hash", res.hash[:], c.HandshakeHash)
				checkHex(t, "remote static key", res.remoteStatic[:], c.RemotePublicKey)
			})
		}
	}
	if n == 0 {
		t.Fatal("no side vectors")
	}
}

func TestGenerateKeyPair(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	k, err := GenerateKeyPair(bytes.NewReader(seed))
	if err != nil || !bytes.Equal(k, ed25519.NewKeyFromSeed(seed)) {
		t.Fatalf("GenerateKeyPair = %x, %v", []byte(k), err)
	}
	if _, err := GenerateKeyPair(bytes.NewReader(seed[:31])); err == nil {
		t.Fatal("GenerateKeyPair from 31 bytes succeeded")
	}
	if k, err := GenerateKeyPair(nil); err != nil || len(k) != ed25519.PrivateKeySize {
		t.Fatalf("GenerateKeyPair(nil) = %d bytes, %v", len(k), err)
	}
	if _, err := newHandshakeState(true, make([]byte, 32), nil); err == nil {
		t.Fatal("a 32-byte static key was accepted")
	}
}

// FuzzDH: DH either returns a 32-byte point and no error, or nil and an
// error wrapping ErrBadPublicKey; what it accepts is a canonical encoding
// of a point in the prime-order subgroup (ℓ·P = O), and DH(a, P) = [s_a]·P
// agrees with a second key's view: DH(b, DH(a, P)) = DH(a, DH(b, P)).
// Seeded with every public key of noise.json's DHTest.
func FuzzDH(f *testing.F) {
	v, err := vectors.LoadNoise()
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, g := range v.DH {
		for _, c := range g.Tests {
			f.Add([]byte(c.RemotePublicKey))
			n++
		}
	}
	if n == 0 {
		f.Fatal("no seeds")
	}
	a := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	b := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	f.Fuzz(func(t *testing.T, pub []byte) {
		out, err := DH(a, pub)
		if err != nil {
			if out != nil || !errors.Is(err, ErrBadPublicKey) {
				t.Fatalf("DH(%x) = %x, %v", pub, out, err)
			}
			return
		}
		if len(out) != 32 {
			t.Fatalf("DH(%x) = %d bytes", pub, len(out))
		}
		p, perr := new(edwards25519.Point).SetBytes(pub)
		if perr != nil || !bytes.Equal(p.Bytes(), pub) {
			t.Fatalf("DH accepted %x, which is not a canonical point", pub)
		}
		ab, err1 := DH(b, out)
		bp, err2 := DH(b, pub)
		if err1 != nil || err2 != nil {
			t.Fatalf("DH of an accepted point's multiple: %v, %v", err1, err2)
		}
		ba, err := DH(a, bp)
		if err != nil || !bytes.Equal(ab, ba) {
			t.Fatalf("DH(b, DH(a, P)) = %x, DH(a, DH(b, P)) = %x, %v", ab, ba, err)
		}
	})
}

// FuzzHandshakeResponder feeds a responder two arbitrary messages as
// messages 1 and 3: every failure is ErrHandshake, nothing panics, and when
// the handshake completes the remote static key is one the DH accepts.
// Seeded with the responder cases of noise.json's HandshakeSideTest.
func FuzzHandshakeResponder(f *testing.F) {
	v, err := vectors.LoadNoise()
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, g := range v.Sides {
		for _, c := range g.Tests {
			if c.Role != "responder" {
				continue
			}
			m3 := []byte{}
			if len(c.Received) > 1 {
				m3 = c.Received[1]
			}
			f.Add([]byte(c.StaticSeed), []byte(c.EphemeralSeed), []byte(c.Received[0]), m3)
			n++
		}
	}
	if n == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, static, eph, m1, m3 []byte) {
		if len(static) != 32 || len(eph) != 32 {
			return
		}
		h, err := newHandshakeState(false, ed25519.NewKeyFromSeed(static), bytes.NewReader(eph))
		if err != nil {
			t.Fatal(err)
		}
		check := func(err error) bool {
			if err != nil && !errors.Is(err, ErrHandshake) {
				t.Fatalf("error %v is not ErrHandshake", err)
			}
			return err == nil
		}
		if !check(h.read(m1)) {
			return
		}
		if _, err := h.write(); !check(err) {
			return
		}
		if !check(h.read(m3)) {
			return
		}
		if !h.done() {
			t.Fatal("no error and not done after message 3")
		}
		res := h.result()
		if _, err := checkPublicKey(res.remoteStatic[:]); err != nil {
			t.Fatalf("handshake completed with remote static key %x: %v", res.remoteStatic, err)
		}
	})
}

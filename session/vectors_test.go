package session

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"reflect"
	"testing"

	"github.com/flynn/noise"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"

	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/vectors"
)

func loadSession(t *testing.T) *vectors.Session {
	t.Helper()
	v, err := vectors.LoadSession()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Sessions) == 0 || len(v.Sessions[0].Tests) == 0 {
		t.Fatal("no session vectors")
	}
	return v
}

func keyPairFrom(t *testing.T, secret []byte) KeyPair {
	t.Helper()
	var kp KeyPair
	copy(kp.SecretKey[:], secret)
	if err := kp.derivePublic(); err != nil {
		t.Fatal(err)
	}
	return kp
}

// TestHandshakeVectors replays each side of each JS session: given that
// side's static key, nonce and ephemeral key, and the other side's messages,
// the Go handshake must write exactly the JS messages and derive the same
// keys, nonces and handshake hash.
func TestHandshakeVectors(t *testing.T) {
	v := loadSession(t)
	for _, g := range v.Sessions {
		for _, tc := range g.Tests {
			for _, initiator := range []bool{true, false} {
				role := map[bool]string{true: "initiator", false: "responder"}[initiator]
				t.Run(tc.Name("session.json")+" "+role, func(t *testing.T) {
					me, other := tc.Responder, tc.Initiator
					if initiator {
						me, other = tc.Initiator, tc.Responder
					}
					var in, want bytes.Buffer
					for _, m := range tc.Handshake {
						if m.From == role {
							want.Write(m.Message)
						} else {
							in.Write(m.Message)
						}
					}
					// the seeds give the secret keys as libsodium derives them
					if kp, _ := KeyPairFromSeed(me.StaticSeed); !bytes.Equal(kp.SecretKey[:], me.StaticSecretKey) || !bytes.Equal(kp.PublicKey[:], me.StaticPublicKey) {
						t.Fatalf("KeyPairFromSeed(%x) = %x/%x, want %x/%x", me.StaticSeed, kp.SecretKey, kp.PublicKey, me.StaticSecretKey, me.StaticPublicKey)
					}
					static := keyPairFrom(t, me.StaticSecretKey)
					random := bytes.NewReader(append(append([]byte{}, me.Nonce...), me.EphemeralSecretKey...))
					var out bytes.Buffer
					states := traceStates(t)
					res, err := handshake(&out, bufio.NewReader(&in), initiator, static, random)
					handshakeTrace.Store(nil)
					if err != nil {
						t.Fatal(err)
					}
					// the Noise state after each message, as flynn/noise
					// holds it, is the vectors' state after its payload
					if len(*states) != len(tc.Handshake) {
						t.Fatalf("handshake went through %d messages, want %d", len(*states), len(tc.Handshake))
					}
					for m, st := range *states {
						want := tc.Handshake[m].Tokens[len(tc.Handshake[m].Tokens)-1]
						if !bytes.Equal(st.H, want.H) || !bytes.Equal(st.CK, want.CK) {
							t.Errorf("after message %d: h = %x, ck = %x; want h = %s, ck = %s", m+1, st.H, st.CK, want.H, want.CK)
						}
					}
					if !bytes.Equal(out.Bytes(), want.Bytes()) {
						t.Errorf("handshake wrote\n%x\nwant\n%x", out.Bytes(), want.Bytes())
					}
					check := func(name string, got, want []byte) {
						t.Helper()
						if !bytes.Equal(got, want) {
							t.Errorf("%s = %x, want %x", name, got, want)
						}
					}
					check("tx", res.tx[:], me.Tx)
					check("rx", res.rx[:], me.Rx)
					check("local nonce", res.localNonce[:], me.Nonce)
					check("remote nonce", res.remoteNonce[:], me.RemoteNonce)
					check("remote static key", res.remoteStatic[:], me.RemoteStaticKey)
					check("handshake hash", res.hash, me.HandshakeHash)
					check("remote static key is the other's", me.RemoteStaticKey, other.StaticPublicKey)
				})
			}
		}
	}
}

// traceStates makes handshake record the Noise state (h and ck) after each
// message it writes or reads. flynn/noise exposes h (ChannelBinding) but
// not ck, which is read from its symmetric state by reflection.
func traceStates(t *testing.T) *[]vectors.NoiseState {
	t.Helper()
	var states []vectors.NoiseState
	f := func(hs *noise.HandshakeState) {
		ss := reflect.ValueOf(hs).Elem().FieldByName("ss")
		ck := ss.FieldByName("ck")
		if !ck.IsValid() || ck.Kind() != reflect.Slice {
			t.Fatal("flynn/noise HandshakeState has no ss.ck: its layout changed")
		}
		states = append(states, vectors.NoiseState{
			H:  append(vectors.Hex(nil), hs.ChannelBinding()...),
			CK: append(vectors.Hex(nil), ck.Bytes()...),
		})
	}
	handshakeTrace.Store(&f)
	return &states
}

// noiseModel is the Noise symmetric state (Noise revision 34, HASHLEN 64
// with BLAKE2b) written straight from spec/session.md, token by token:
// flynn/noise handles a handshake message whole, so the states between the
// tokens of a message are checked against this model, and the model's
// state after each message is the implementation's (TestHandshakeVectors).
type noiseModel struct {
	h, ck []byte
	k     []byte // nil until the first MixKey
	n     uint64
}

func newNoiseModel() *noiseModel {
	m := &noiseModel{h: make([]byte, 64)}
	copy(m.h, "Noise_XX_25519_ChaChaPoly_BLAKE2b") // 33 bytes ≤ HASHLEN: padded with zeros
	m.ck = append([]byte(nil), m.h...)
	m.mixHash(nil) // the empty prologue
	return m
}

// mixHash: h = BLAKE2b-512(h ‖ data)
func (m *noiseModel) mixHash(data []byte) {
	h, _ := blake2b.New512(nil)
	h.Write(m.h)
	h.Write(data)
	m.h = h.Sum(nil)
}

func hmacBLAKE2b(key []byte, data ...[]byte) []byte {
	mac := hmac.New(func() hash.Hash { h, _ := blake2b.New512(nil); return h }, key)
	for _, d := range data {
		mac.Write(d)
	}
	return mac.Sum(nil)
}

// hkdf2 is Noise's HKDF with two outputs.
func hkdf2(ck, ikm []byte) (out1, out2 []byte) {
	temp := hmacBLAKE2b(ck, ikm)
	out1 = hmacBLAKE2b(temp, []byte{1})
	return out1, hmacBLAKE2b(temp, out1, []byte{2})
}

// mixKey: ck, k = HKDF(ck, ikm); k is cut to 32 bytes, n = 0
func (m *noiseModel) mixKey(ikm []byte) {
	var k []byte
	m.ck, k = hkdf2(m.ck, ikm)
	m.k, m.n = k[:32], 0
}

// decryptAndHash opens c with ChaCha20-Poly1305 (nonce 4 zero bytes ‖
// uint64le(n), additional data h) once there is a key, then mixes c into h.
func (m *noiseModel) decryptAndHash(c []byte) ([]byte, error) {
	p := c
	if m.k != nil {
		aead, err := chacha20poly1305.New(m.k)
		if err != nil {
			return nil, err
		}
		var nonce [chacha20poly1305.NonceSize]byte
		binary.LittleEndian.PutUint64(nonce[4:], m.n)
		if p, err = aead.Open(nil, nonce[:], c, m.h); err != nil {
			return nil, err
		}
		m.n++
	}
	m.mixHash(c)
	return p, nil
}

// TestNoiseTokenVectors reads each JS session's three handshake messages
// with the token-level model, using the initiator's secrets for the DH
// tokens, and compares h and ck after every token with the vectors; then
// the static keys and payloads it decrypts, its split and its final h
// with the sides' keys, nonces and handshake hash.
func TestNoiseTokenVectors(t *testing.T) {
	v := loadSession(t)
	pattern := [][]string{{"e", "payload"}, {"e", "ee", "s", "es", "payload"}, {"s", "se", "payload"}}
	for _, g := range v.Sessions {
		for _, tc := range g.Tests {
			t.Run(tc.Name("session.json"), func(t *testing.T) {
				m := newNoiseModel()
				if !bytes.Equal(m.h, tc.NoiseInit.H) || !bytes.Equal(m.ck, tc.NoiseInit.CK) {
					t.Fatalf("initial state h = %x, ck = %x; want %s, %s", m.h, m.ck, tc.NoiseInit.H, tc.NoiseInit.CK)
				}
				dh := func(secret, public []byte) []byte {
					out, err := curve25519.X25519(secret, public)
					if err != nil {
						t.Fatal(err)
					}
					return out
				}
				i, r := tc.Initiator, tc.Responder
				var re, rs, is []byte // what the messages carry: the responder's e and s, the initiator's s
				payloads := map[int][]byte{}
				for k, hm := range tc.Handshake {
					n, w := binary.Uvarint(hm.Message)
					msg := hm.Message[w:]
					if w <= 0 || uint64(len(msg)) != n {
						t.Fatalf("message %d: bad length prefix", k+1)
					}
					if len(hm.Tokens) != len(pattern[k]) {
						t.Fatalf("message %d: %d tokens, want %d", k+1, len(hm.Tokens), len(pattern[k]))
					}
					for j, tok := range pattern[k] {
						var err error
						switch tok {
						case "e":
							if k == 1 {
								re = msg[:32]
							}
							m.mixHash(msg[:32])
							msg = msg[32:]
						case "s":
							var s []byte
							if s, err = m.decryptAndHash(msg[:48]); k == 1 {
								rs = s
							} else {
								is = s
							}
							msg = msg[48:]
						case "ee":
							m.mixKey(dh(i.EphemeralSecretKey, re))
						case "es":
							m.mixKey(dh(i.EphemeralSecretKey, rs))
						case "se":
							m.mixKey(dh(i.StaticSecretKey, re))
						case "payload":
							payloads[k], err = m.decryptAndHash(msg)
						}
						if err != nil {
							t.Fatalf("message %d token %s: %v", k+1, tok, err)
						}
						want := hm.Tokens[j]
						if want.Token != tok || !bytes.Equal(m.h, want.H) || !bytes.Equal(m.ck, want.CK) {
							t.Fatalf("message %d after token %s: h = %x, ck = %x; want (%s) h = %s, ck = %s", k+1, tok, m.h, m.ck, want.Token, want.H, want.CK)
						}
					}
				}
				check := func(name string, got, want []byte) {
					t.Helper()
					if !bytes.Equal(got, want) {
						t.Errorf("%s = %x, want %x", name, got, want)
					}
				}
				check("responder e", re, r.EphemeralPublicKey)
				check("responder s", rs, r.StaticPublicKey)
				check("initiator s", is, i.StaticPublicKey)
				for k, nonce := range map[int][]byte{0: i.Nonce, 1: r.Nonce, 2: i.Nonce} {
					p, err := message.DecodeNoisePayload(payloads[k])
					if err != nil || !bytes.Equal(p.Nonce, nonce) {
						t.Errorf("message %d payload %x (%v), want the nonce %x", k+1, payloads[k], err, nonce)
					}
				}
				k1, k2 := hkdf2(m.ck, nil)
				check("split k1 (initiator tx)", k1[:32], i.Tx)
				check("split k2 (initiator rx)", k2[:32], i.Rx)
				check("final h (handshake hash)", m.h, i.HandshakeHash)
			})
		}
	}
}

func key32(b []byte) *[32]byte {
	var k [32]byte
	copy(k[:], b)
	return &k
}

func nonce24(b []byte) *[NonceSize]byte {
	var n [NonceSize]byte
	copy(n[:], b)
	return &n
}

// TestCapabilityVectors checks both sides' capabilities for every key.
func TestCapabilityVectors(t *testing.T) {
	v := loadSession(t)
	for _, g := range v.Sessions {
		for _, tc := range g.Tests {
			for _, c := range tc.Capabilities {
				for _, side := range []struct {
					name          string
					s             vectors.SessionSide
					sends, expect []byte
				}{
					{"initiator", tc.Initiator, c.InitiatorCapability, c.InitiatorExpects},
					{"responder", tc.Responder, c.ResponderCapability, c.ResponderExpects},
				} {
					tx, rx := key32(side.s.Tx), key32(side.s.Rx)
					if got := Capability(tx, rx, c.Key); !bytes.Equal(got[:], side.sends) {
						t.Errorf("%s: %s Capability(key %x) = %x, want %x", tc.Name("session.json"), side.name, c.Key[:4], got, side.sends)
					}
					if got := RemoteCapability(tx, rx, c.Key); !bytes.Equal(got[:], side.expect) {
						t.Errorf("%s: %s RemoteCapability(key %x) = %x, want %x", tc.Name("session.json"), side.name, c.Key[:4], got, side.expect)
					}
				}
			}
		}
	}
}

// TestTransportVectors encrypts each side's plaintext frames with one
// continuous key stream and compares with the JS ciphertext, checking the
// recorded stream offsets; then decrypts with the receiver's stream.
func TestTransportVectors(t *testing.T) {
	v := loadSession(t)
	for _, g := range v.Sessions {
		for _, tc := range g.Tests {
			t.Run(tc.Name("session.json"), func(t *testing.T) {
				sides := map[string]vectors.SessionSide{"initiator": tc.Initiator, "responder": tc.Responder}
				enc := map[string]*xsalsa20{}
				dec := map[string]*xsalsa20{}
				offset := map[string]uint64{}
				for name, s := range sides {
					enc[name] = newXSalsa20(key32(s.Tx), nonce24(s.Nonce))
					dec[name] = newXSalsa20(key32(s.Rx), nonce24(s.RemoteNonce))
					// subkey = HSalsa20(key, nonce[0:16])
					if !bytes.Equal(enc[name].subkey[:], s.TxSubkey) || !bytes.Equal(dec[name].subkey[:], s.RxSubkey) {
						t.Errorf("%s subkeys: tx %x, rx %x; want %s, %s", name, enc[name].subkey, dec[name].subkey, s.TxSubkey, s.RxSubkey)
					}
				}
				receiver := map[string]string{"initiator": "responder", "responder": "initiator"}
				for k, f := range tc.Frames {
					if f.Offset != offset[f.From] {
						t.Fatalf("frame %d (%s %s): offset %d, but %d bytes were sent before", k, f.From, f.Message, f.Offset, offset[f.From])
					}
					got := make([]byte, len(f.Plaintext))
					enc[f.From].XORKeyStream(got, f.Plaintext)
					if !bytes.Equal(got, f.Ciphertext) {
						t.Fatalf("frame %d (%s %s) encrypts to %x, want %x", k, f.From, f.Message, got, f.Ciphertext)
					}
					back := append([]byte(nil), f.Ciphertext...)
					dec[receiver[f.From]].XORKeyStream(back, back)
					if !bytes.Equal(back, f.Plaintext) {
						t.Fatalf("frame %d (%s %s) decrypts to %x, want %x", k, f.From, f.Message, back, f.Plaintext)
					}
					offset[f.From] += uint64(len(f.Plaintext))
				}
			})
		}
	}
}

// TestKeyStreamVectors checks the HSalsa20 subkey of each long JS key
// stream, the key stream in one call, and every split of it into two calls.
func TestKeyStreamVectors(t *testing.T) {
	v := loadSession(t)
	n := 0
	for _, g := range v.KeyStreams {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name("session.json"), func(t *testing.T) {
				s := newXSalsa20(key32(tc.Key), nonce24(tc.Nonce))
				if !bytes.Equal(s.subkey[:], tc.Subkey) {
					t.Errorf("subkey = HSalsa20(key, nonce[0:16]) = %x, want %s", s.subkey, tc.Subkey)
				}
				got := make([]byte, len(tc.KeyStream))
				s.XORKeyStream(got, got)
				if !bytes.Equal(got, tc.KeyStream) {
					t.Fatalf("key stream in one call differs from JS's")
				}
				for a := 0; a <= len(got); a++ {
					s := newXSalsa20(key32(tc.Key), nonce24(tc.Nonce))
					out := make([]byte, len(got))
					s.XORKeyStream(out[:a], out[:a])
					s.XORKeyStream(out[a:], out[a:])
					if !bytes.Equal(out, tc.KeyStream) {
						t.Fatalf("key stream split at %d differs from JS's", a)
					}
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no key stream vectors")
	}
}

// TestXSalsa20Splits checks that any split of a long message into calls
// gives the same bytes as one call, against a key stream computed in one
// piece.
func TestXSalsa20Splits(t *testing.T) {
	key, _ := hex.DecodeString("f28af73432f132fc9cd9d690fca774cda21d566772ce9b39b25535bfe3b93878")
	nonce, _ := hex.DecodeString("9661360140877f65f140490535bf8bab0b480757ee8ed0c2")
	msg := make([]byte, 700)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	want := make([]byte, len(msg))
	newXSalsa20(key32(key), nonce24(nonce)).XORKeyStream(want, msg)
	for a := 0; a <= len(msg); a += 13 {
		for b := a; b <= len(msg); b += 29 {
			s := newXSalsa20(key32(key), nonce24(nonce))
			got := make([]byte, len(msg))
			s.XORKeyStream(got[:a], msg[:a])
			s.XORKeyStream(got[a:b], msg[a:b])
			s.XORKeyStream(got[b:], msg[b:])
			if !bytes.Equal(got, want) {
				t.Fatalf("split at %d and %d differs", a, b)
			}
		}
	}
}

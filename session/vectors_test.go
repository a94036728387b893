package session

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"testing"

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
					res, err := handshake(&out, bufio.NewReader(&in), initiator, static, random)
					if err != nil {
						t.Fatal(err)
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

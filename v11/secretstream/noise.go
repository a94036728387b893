package secretstream

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"github.com/flynn/noise"
	"golang.org/x/crypto/blake2b"
)

// Sizes of the handshake's values (spec/v11/secretstream.md, "Noise
// parameters" and "Setup frame").
const (
	PublicKeySize     = 32                // an Ed25519 public key, static or ephemeral
	HandshakeHashSize = 64                // the Noise handshake hash h (BLAKE2b-512)
	StreamIDSize      = 32                // a stream id
	SetupSize         = StreamIDSize + 24 // stream id ‖ secretstream header (HeaderSize)
)

// maxHandshakeMessage is the longest handshake message this side reads: the
// Noise limit on a message (65535 bytes). JS sends 32, 96 and 64 bytes.
const maxHandshakeMessage = 65535

var (
	// ErrHandshake is the class of every handshake failure: a message
	// that is too short or too long, a MAC that does not verify, a remote
	// public key the DH refuses (which is also ErrBadPublicKey), or the
	// connection failing before the handshake is done.
	ErrHandshake = errors.New("secretstream: handshake failed")
	// ErrBadPublicKey is a public key that the Ed25519 DH refuses, as
	// libsodium's crypto_scalarmult_ed25519_noclamp does: a non-canonical
	// encoding, a point off the curve, of small order or outside the
	// prime-order subgroup, or a result that is the identity.
	ErrBadPublicKey = errors.New("secretstream: bad public key")
)

// protocolName is the Noise protocol name; flynn/noise builds it from the
// pattern and the cipher suite's names.
const protocolName = "Noise_XX_Ed25519_ChaChaPoly_BLAKE2b"

// cipherSuite is Ed25519 DH (noise-curve-ed), ChaChaPoly and BLAKE2b.
var cipherSuite = noise.NewCipherSuite(ed25519DH{}, noise.CipherChaChaPoly, noise.HashBLAKE2b)

// GenerateKeyPair reads a 32-byte seed from r (crypto/rand when r is nil)
// and returns its Ed25519 key pair, as libsodium's crypto_sign_seed_keypair
// (JS NoiseSecretStream.keyPair(seed)) does. The private key is seed ‖
// public key, the layout of libsodium's secret key.
func GenerateKeyPair(r io.Reader) (ed25519.PrivateKey, error) {
	// ed25519.GenerateKey reads SeedSize bytes from r and passes them to
	// NewKeyFromSeed; with a nil r it uses a secure source.
	_, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("secretstream: key pair seed: %w", err)
	}
	return priv, nil
}

// ed25519DH is noise-curve-ed as a flynn/noise DH function: key pairs are
// Ed25519 key pairs and DH is [a]B on the Edwards curve (spec/v11/secretstream.md,
// "The Ed25519 DH").
type ed25519DH struct{}

// GenerateKeypair reads a 32-byte seed from random and returns its Ed25519
// key pair: Private is the 64-byte private key (seed ‖ public key), Public
// the 32-byte public key. (JS makes ephemeral keys with crypto_sign_keypair,
// which is crypto_sign_seed_keypair over 32 random bytes.)
func (ed25519DH) GenerateKeypair(random io.Reader) (noise.DHKey, error) {
	priv, err := GenerateKeyPair(random)
	if err != nil {
		return noise.DHKey{}, err
	}
	return noise.DHKey{Private: priv, Public: priv.Public().(ed25519.PublicKey)}, nil
}

func (ed25519DH) DH(privkey, pubkey []byte) ([]byte, error) {
	return DH(ed25519.PrivateKey(privkey), pubkey)
}

func (ed25519DH) DHLen() int     { return PublicKeySize }
func (ed25519DH) DHName() string { return "Ed25519" }

// lMinusOne is l − 1, where l = 2^252 + 27742317777372353535851937790883648493
// is the order of the prime-order subgroup.
var lMinusOne, _ = edwards25519.NewScalar().SetCanonicalBytes([]byte{
	0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
})

// DH is the Noise DH of Hypercore 11 (noise-curve-ed):
//
//	DH(priv, B) = encode([clamp(SHA-512(seed)[:32])] · B)
//
// where seed is the first 32 bytes of the Ed25519 private key, so the
// scalar is the Ed25519 signing scalar, and the result is the 32-byte
// compressed Edwards point (libsodium crypto_scalarmult_ed25519_noclamp).
// It refuses remotePublicKey with an error wrapping ErrBadPublicKey exactly
// where libsodium does (spec/v11/secretstream.md, "The Ed25519 DH").
func DH(priv ed25519.PrivateKey, remotePublicKey []byte) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("secretstream: DH with a %d-byte private key", len(priv))
	}
	// Spec: a DH MUST refuse the remote public key, and the handshake then
	// fails, exactly where libsodium refuses it.
	p, err := checkPublicKey(remotePublicKey)
	if err != nil {
		return nil, err
	}
	h := sha512.Sum512(priv[:ed25519.SeedSize])
	// SetBytesWithClamping clamps (s[0] &= 248, s[31] &= 127, s[31] |= 64)
	// and reduces mod l, which gives the same multiple of a point of order l.
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		panic("secretstream: DH: " + err.Error()) // 32 bytes are always accepted
	}
	q := new(edwards25519.Point).ScalarMult(s, p)
	// Spec: the result MUST NOT be the identity. (Unreachable with a clamped
	// scalar and a point of order l; libsodium checks it, and so do we.)
	if q.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, fmt.Errorf("%w: the DH result is the identity", ErrBadPublicKey)
	}
	return q.Bytes(), nil
}

// checkPublicKey decodes a remote public key with libsodium's checks, in
// libsodium's order (spec/v11/secretstream.md, "The Ed25519 DH").
func checkPublicKey(b []byte) (*edwards25519.Point, error) {
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadPublicKey, len(b))
	}
	// Spec: the encoding of y MUST be canonical: y < p = 2^255 − 19 (the
	// sign bit is not part of y).
	if !canonicalY(b) {
		return nil, fmt.Errorf("%w: non-canonical encoding %x", ErrBadPublicKey, b)
	}
	p, err := new(edwards25519.Point).SetBytes(b)
	// Spec: the point MUST be on the curve. (libsodium checks the small
	// order on the encoding first; no point refused here is of small order,
	// so the order of the two checks does not change a verdict.)
	if err != nil {
		return nil, fmt.Errorf("%w: not on the curve: %x", ErrBadPublicKey, b)
	}
	// Spec: the point MUST NOT be of small order (order 1, 2, 4 or 8). This also
	// refuses the two encodings with x = 0 and the sign bit set, the only
	// other non-canonical ones, as libsodium's small-order list does.
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, fmt.Errorf("%w: small order: %x", ErrBadPublicKey, b)
	}
	// Spec: the point MUST be in the prime-order subgroup: [l]P = O, tested as
	// [l−1]P = −P.
	if new(edwards25519.Point).ScalarMult(lMinusOne, p).Equal(new(edwards25519.Point).Negate(p)) != 1 {
		return nil, fmt.Errorf("%w: not in the prime-order subgroup: %x", ErrBadPublicKey, b)
	}
	return p, nil
}

// canonicalY reports whether the 255-bit y of an encoding (the sign bit
// masked off) is below p = 2^255 − 19, as libsodium's ge25519_is_canonical.
func canonicalY(b []byte) bool {
	if b[31]&0x7f != 0x7f {
		return true
	}
	for i := 30; i > 0; i-- {
		if b[i] != 0xff {
			return true
		}
	}
	return b[0] < 0xed
}

// Namespaces of "hyperswarm/secret-stream" (hypercore-crypto namespace):
// base = BLAKE2b-256("hyperswarm/secret-stream"), ns[i] = BLAKE2b-256(base ‖ byte(i)).
var (
	nsInitiator = namespace("hyperswarm/secret-stream", 0) // NS_INITIATOR
	nsResponder = namespace("hyperswarm/secret-stream", 1) // NS_RESPONDER
)

// namespace is BLAKE2b-256(BLAKE2b-256(name) ‖ byte(i)).
func namespace(name string, i byte) [32]byte {
	base := blake2b.Sum256([]byte(name))
	return blake2b.Sum256(append(base[:], i))
}

// StreamID is the stream id a side of role initiator sends in its setup
// frame (JS NoiseSecretStream.id(handshakeHash, isInitiator)):
//
//	BLAKE2b-256_handshakeHash(NS_INITIATOR)   for the initiator
//	BLAKE2b-256_handshakeHash(NS_RESPONDER)   for the responder
//
// keyed with the 64-byte handshake hash.
func StreamID(handshakeHash []byte, initiator bool) [StreamIDSize]byte {
	ns := nsResponder
	if initiator {
		ns = nsInitiator
	}
	h, err := blake2b.New256(handshakeHash)
	if err != nil {
		panic("secretstream: StreamID: " + err.Error()) // only for keys over 64 bytes
	}
	h.Write(ns[:])
	var id [StreamIDSize]byte
	h.Sum(id[:0])
	return id
}

// handshakeState runs one side of Noise_XX_Ed25519_ChaChaPoly_BLAKE2b with
// an empty prologue and empty payloads (spec/v11/secretstream.md, "Noise
// handshake"). Messages are unframed here; conn.go frames them.
type handshakeState struct {
	hs        *noise.HandshakeState
	initiator bool
	tx, rx    *noise.CipherState
}

// newHandshakeState starts a handshake for the static key pair; random
// supplies the 32-byte seed of the ephemeral key pair.
func newHandshakeState(initiator bool, static ed25519.PrivateKey, random io.Reader) (*handshakeState, error) {
	if len(static) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("secretstream: a static key pair is a %d-byte Ed25519 private key, got %d bytes", ed25519.PrivateKeySize, len(static))
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   cipherSuite,
		Random:        random,
		Pattern:       noise.HandshakeXX,
		Initiator:     initiator,
		Prologue:      nil,
		StaticKeypair: noise.DHKey{Private: static, Public: static.Public().(ed25519.PublicKey)},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	return &handshakeState{hs: hs, initiator: initiator}, nil
}

// write returns this side's next handshake message (with an empty payload).
func (h *handshakeState) write() ([]byte, error) {
	// Spec: a sender MUST send empty payloads.
	msg, cs1, cs2, err := h.hs.WriteMessage(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: write message %d: %w", ErrHandshake, h.hs.MessageIndex()+1, err)
	}
	h.split(cs1, cs2)
	return msg, nil
}

// read processes the remote's next handshake message. Its payload, if any,
// is ignored (JS ignores it too), though it is part of the handshake hash:
// in message 1 a receiver MUST accept it.
func (h *handshakeState) read(msg []byte) error {
	n := h.hs.MessageIndex() + 1
	_, cs1, cs2, err := h.hs.ReadMessage(nil, msg)
	if err != nil {
		return fmt.Errorf("%w: read message %d: %w", ErrHandshake, n, err)
	}
	h.split(cs1, cs2)
	return nil
}

// split keeps the transport keys when the last message is done: the
// initiator sends with the first key and receives with the second, the
// responder the reverse.
func (h *handshakeState) split(cs1, cs2 *noise.CipherState) {
	if cs1 == nil || cs2 == nil {
		return
	}
	if h.initiator {
		h.tx, h.rx = cs1, cs2
	} else {
		h.tx, h.rx = cs2, cs1
	}
}

// done reports whether the handshake is complete.
func (h *handshakeState) done() bool { return h.tx != nil }

// handshakeResult is what a complete handshake establishes.
type handshakeResult struct {
	tx, rx       [32]byte
	hash         [HandshakeHashSize]byte
	remoteStatic [PublicKeySize]byte
}

func (h *handshakeState) result() handshakeResult {
	var r handshakeResult
	r.tx, r.rx = h.tx.UnsafeKey(), h.rx.UnsafeKey()
	copy(r.hash[:], h.hs.ChannelBinding())
	copy(r.remoteStatic[:], h.hs.PeerStatic())
	return r
}

package session

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/flynn/noise"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/curve25519"

	"github.com/hypercore-go/hypercore/message"
)

// maxHandshakeMessage is the largest Noise message (spec/session.md,
// "Handshake"): Noise limits messages to 65535 bytes, and the JS handshake
// asserts the same bound.
const maxHandshakeMessage = 65535

// cipherSuite is Noise_XX_25519_ChaChaPoly_BLAKE2b.
var cipherSuite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2b)

// handshakeTrace is nil except in tests, which set it to see the Noise
// state after each handshake message this side writes or reads (the
// vectors' h and ck checkpoints).
var handshakeTrace atomic.Pointer[func(*noise.HandshakeState)]

func traceHandshake(hs *noise.HandshakeState) {
	if f := handshakeTrace.Load(); f != nil {
		(*f)(hs)
	}
}

// KeyPair is a Noise static key pair (X25519). It identifies a peer's end of
// a session; Hypercore 9 does not authenticate it and it is unrelated to the
// Ed25519 feed key.
type KeyPair struct {
	PublicKey [32]byte
	SecretKey [32]byte
}

// GenerateKeyPair reads a 32-byte secret key from r (crypto/rand when r is
// nil), as libsodium's crypto_kx_keypair does.
func GenerateKeyPair(r io.Reader) (KeyPair, error) {
	if r == nil {
		r = rand.Reader
	}
	var kp KeyPair
	if _, err := io.ReadFull(r, kp.SecretKey[:]); err != nil {
		return KeyPair{}, fmt.Errorf("session: generate key pair: %w", err)
	}
	return kp, kp.derivePublic()
}

// KeyPairFromSeed derives a key pair as libsodium's crypto_kx_seed_keypair
// (JS Protocol.keyPair(seed)) does:
//
//	secret = BLAKE2b-256(seed)
//	public = X25519(secret, 9)
func KeyPairFromSeed(seed []byte) (KeyPair, error) {
	var kp KeyPair
	kp.SecretKey = blake2b.Sum256(seed)
	return kp, kp.derivePublic()
}

func (kp *KeyPair) derivePublic() error {
	pub, err := curve25519.X25519(kp.SecretKey[:], curve25519.Basepoint)
	if err != nil {
		return fmt.Errorf("session: key pair: %w", err)
	}
	copy(kp.PublicKey[:], pub)
	return nil
}

// handshakeResult is what the handshake establishes.
type handshakeResult struct {
	tx, rx       [32]byte // split transport keys
	localNonce   [NonceSize]byte
	remoteNonce  [NonceSize]byte
	remoteStatic [32]byte
	hash         []byte // the Noise handshake hash (64 bytes)
}

// handshake runs the Noise XX handshake (spec/session.md, "Handshake").
// Messages are written to w and read from r, each as varint(len) ‖ message.
// random supplies the transport nonce (24 bytes) and then the ephemeral
// secret key (32 bytes).
func handshake(w io.Writer, r *bufio.Reader, initiator bool, static KeyPair, random io.Reader) (*handshakeResult, error) {
	if random == nil {
		random = rand.Reader
	}
	res := new(handshakeResult)
	if _, err := io.ReadFull(random, res.localNonce[:]); err != nil {
		return nil, fmt.Errorf("%w: nonce: %v", ErrHandshake, err)
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   cipherSuite,
		Random:        random,
		Pattern:       noise.HandshakeXX,
		Initiator:     initiator,
		StaticKeypair: noise.DHKey{Private: static.SecretKey[:], Public: static.PublicKey[:]},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	payload := (&message.NoisePayload{Nonce: res.localNonce[:]}).AppendBody(nil)

	var tx, rx *noise.CipherState
	if initiator {
		// → e, with our payload in the clear
		if err := writeHandshake(w, hs, payload); err != nil {
			return nil, err
		}
		// ← e, ee, s, es, with the responder's payload
		p, _, _, err := readHandshake(r, hs)
		if err != nil {
			return nil, err
		}
		if err := res.setRemoteNonce(p); err != nil {
			return nil, err
		}
		// → s, se, with our payload again (the JS initiator sends it twice)
		msg, cs1, cs2, err := hs.WriteMessage(nil, payload)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrHandshake, err)
		}
		traceHandshake(hs)
		if err := sendHandshake(w, msg); err != nil {
			return nil, err
		}
		tx, rx = cs1, cs2
	} else {
		p1, _, _, err := readHandshake(r, hs)
		if err != nil {
			return nil, err
		}
		if err := writeHandshake(w, hs, payload); err != nil {
			return nil, err
		}
		p3, cs1, cs2, err := readHandshake(r, hs)
		if err != nil {
			return nil, err
		}
		// JS keeps the last non-empty payload it received; message 3's is
		// authenticated, message 1's is not.
		if len(p3) == 0 {
			p3 = p1
		}
		if err := res.setRemoteNonce(p3); err != nil {
			return nil, err
		}
		tx, rx = cs2, cs1
	}
	if tx == nil || rx == nil {
		return nil, fmt.Errorf("%w: handshake did not complete", ErrHandshake)
	}
	res.tx, res.rx = tx.UnsafeKey(), rx.UnsafeKey()
	copy(res.remoteStatic[:], hs.PeerStatic())
	res.hash = hs.ChannelBinding()
	return res, nil
}

func writeHandshake(w io.Writer, hs *noise.HandshakeState, payload []byte) error {
	msg, _, _, err := hs.WriteMessage(nil, payload)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	traceHandshake(hs)
	return sendHandshake(w, msg)
}

func sendHandshake(w io.Writer, msg []byte) error {
	buf := binary.AppendUvarint(make([]byte, 0, len(msg)+3), uint64(len(msg)))
	if _, err := w.Write(append(buf, msg...)); err != nil {
		return fmt.Errorf("%w: write: %w", ErrHandshake, err)
	}
	return nil
}

// readHandshake reads one varint-prefixed handshake message and processes it.
func readHandshake(r *bufio.Reader, hs *noise.HandshakeState) (payload []byte, cs1, cs2 *noise.CipherState, err error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: read: %w", ErrHandshake, unexpectedEOF(err))
	}
	// A Noise message MUST NOT exceed 65535 bytes; checked before any
	// allocation, so a peer cannot make us allocate by claiming more.
	if n > maxHandshakeMessage {
		return nil, nil, nil, fmt.Errorf("%w: message of %d bytes", ErrHandshake, n)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: read: %w", ErrHandshake, unexpectedEOF(err))
	}
	payload, cs1, cs2, err = hs.ReadMessage(nil, msg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	traceHandshake(hs)
	return payload, cs1, cs2, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// setRemoteNonce decodes the peer's NoisePayload. A missing payload, one
// that does not decode, or a nonce that is not 24 bytes fails the handshake
// (JS: "Remote did not include a handshake payload", "Could not parse
// remote payload", or an exception from the cipher for another size).
func (res *handshakeResult) setRemoteNonce(payload []byte) error {
	if len(payload) == 0 {
		return fmt.Errorf("%w: remote did not include a handshake payload", ErrHandshake)
	}
	p, err := message.DecodeNoisePayload(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if len(p.Nonce) != NonceSize {
		return fmt.Errorf("%w: payload nonce of %d bytes, want %d", ErrHandshake, len(p.Nonce), NonceSize)
	}
	copy(res.remoteNonce[:], p.Nonce)
	return nil
}

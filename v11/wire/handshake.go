package wire

import (
	"crypto/subtle"
	"fmt"

	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/merkle"
	"golang.org/x/crypto/blake2b"
)

// Protocol is the protomux protocol name of a hypercore channel; its id is
// the core's discovery key. "A peer MUST open its channels with the
// protocol hypercore/alpha" (wire.md).
const Protocol = "hypercore/alpha"

// ProtocolAlias is the other name JS accepts on an incoming open (it never
// sends it).
const ProtocolAlias = "hypercore"

// HandshakeHashSize is the size of the Noise handshake hash that keys the
// capability (BLAKE2b-512).
const HandshakeHashSize = 64

// handshakeSeeks is bit 0 of the handshake's flags.
const handshakeSeeks = 1

// Handshake is the payload of a hypercore channel's open message (wire.md,
// "Channel handshake").
//
//	uint flags (bit 0: seeks) ‖ fixed32 capability
type Handshake struct {
	// Seeks says the sender answers seek requests; a peer that does not
	// sends false and is then never sent a seek.
	Seeks bool
	// Capability is [Capability] with the sender's role.
	Capability [32]byte
}

// Append appends the encoded handshake to b.
func (h *Handshake) Append(b []byte) []byte {
	var f uint64
	if h.Seeks {
		f = handshakeSeeks
	}
	return append(compact.AppendUint(b, f), h.Capability[:]...)
}

// DecodeHandshake decodes a channel handshake payload; bytes after the
// capability are ignored, as JS does.
func DecodeHandshake(p []byte) (*Handshake, error) {
	d := compact.NewDecoder(p)
	h := &Handshake{Seeks: flags(d)&handshakeSeeks != 0, Capability: d.Fixed32()}
	if err := done("handshake", d); err != nil {
		return nil, err
	}
	return h, nil
}

// Capability returns the channel capability that the side of role
// isInitiator sends for the core with key (caps.replicate in JS):
//
//	BLAKE2b-256_handshakeHash((isInitiator ? ReplicateInitiator : ReplicateResponder) || key)
//
// keyed with the Noise handshake hash of the session, which both sides
// share and nobody else knows. "A sender MUST put capability(own role, key)
// in its handshake" (wire.md). handshakeHash must be HandshakeHashSize
// bytes, as every Noise session gives; any other size is a caller's bug and
// panics.
func Capability(handshakeHash []byte, isInitiator bool, key [32]byte) [32]byte {
	if len(handshakeHash) != HandshakeHashSize {
		panic(fmt.Sprintf("wire.Capability: handshake hash of %d bytes, want %d", len(handshakeHash), HandshakeHashSize))
	}
	ns := merkle.ReplicateResponder
	if isInitiator {
		ns = merkle.ReplicateInitiator
	}
	h, err := blake2b.New256(handshakeHash)
	if err != nil {
		panic("wire.Capability: " + err.Error()) // unreachable: the key is 64 bytes
	}
	h.Write(ns[:])
	h.Write(key[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// VerifyCapability checks the capability a remote sent in its handshake.
// localIsInitiator is this side's role in the Noise session; the remote
// computed its capability with the other role, so that is the role checked.
// It returns nil or an error wrapping ErrInvalidCapability.
func VerifyCapability(handshakeHash []byte, localIsInitiator bool, key [32]byte, capability [32]byte) error {
	// wire.md: "A receiver MUST recompute capability(remote's role, key) -
	// the role opposite to its own - and MUST refuse the channel when the
	// two differ."
	want := Capability(handshakeHash, !localIsInitiator, key)
	if subtle.ConstantTimeCompare(want[:], capability[:]) != 1 {
		return fmt.Errorf("%w: the remote's capability does not match the %s's for this key", ErrInvalidCapability, role(!localIsInitiator))
	}
	return nil
}

func role(initiator bool) string {
	if initiator {
		return "initiator"
	}
	return "responder"
}

package session

import "golang.org/x/crypto/blake2b"

// capabilityContext is the 20 ASCII bytes mixed into every capability.
var capabilityContext = []byte("hypercore capability")

// Capability is the value a peer sends in Open to prove that it knows the
// feed key, bound to this session by its split keys (spec/session.md,
// "Capability"):
//
//	BLAKE2b-256_rx("hypercore capability" ‖ tx ‖ key)
//
// where tx and rx are the sender's split transport keys and key is the
// feed's public key. The receiver computes the same value as
// [RemoteCapability] with its own keys, since its tx is the sender's rx.
func Capability(tx, rx *[32]byte, key []byte) [32]byte {
	return capability(rx, tx, key)
}

// RemoteCapability is the capability the remote peer must send for key:
//
//	BLAKE2b-256_tx("hypercore capability" ‖ rx ‖ key)
func RemoteCapability(tx, rx *[32]byte, key []byte) [32]byte {
	return capability(tx, rx, key)
}

func capability(macKey, first *[32]byte, key []byte) [32]byte {
	h, _ := blake2b.New256(macKey[:]) // a 32-byte key is always valid
	h.Write(capabilityContext)
	h.Write(first[:])
	h.Write(key)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

package merkle

import "golang.org/x/crypto/blake2b"

// Namespace returns the i-th 32-byte namespace of name (merkle.md,
// "Namespaces"):
//
//	base = BLAKE2b-256(utf8(name))
//	ns[i] = BLAKE2b-256(base || byte(i))
//
// (hypercore-crypto namespace).
func Namespace(name string, i byte) [32]byte {
	base := blake2b.Sum256([]byte(name))
	return blake2b.Sum256(append(base[:], i))
}

// The namespaces of "hypercore" (hypercore lib/caps.js), in index order.
var (
	// TreeNamespace (index 0) prefixes every signable of a v1+ or compat core.
	TreeNamespace = Namespace("hypercore", 0)
	// ReplicateInitiator (index 1) keys the channel capability sent by the
	// Noise initiator.
	ReplicateInitiator = Namespace("hypercore", 1)
	// ReplicateResponder (index 2) keys the capability sent by the responder.
	ReplicateResponder = Namespace("hypercore", 2)
	// ManifestNamespace (index 3) prefixes a manifest in its hash.
	ManifestNamespace = Namespace("hypercore", 3)
	// DefaultNamespace (index 4) is the signer namespace of a default
	// manifest.
	DefaultNamespace = Namespace("hypercore", 4)
	// DefaultEncryption (index 5) is the namespace of block encryption keys
	// (not used by this implementation).
	DefaultEncryption = Namespace("hypercore", 5)
)

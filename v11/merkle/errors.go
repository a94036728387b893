package merkle

import (
	"errors"

	"github.com/hypercore-go/hypercore/v11/compact"
)

// Sentinel errors, one per failure class (merkle.md, "Errors"). Every error
// this package returns wraps one of them, with context; test with
// errors.Is.
var (
	// ErrTruncated: an encoding ends before its last field (JS "Out of
	// bounds"). It is compact.ErrTruncated.
	ErrTruncated = compact.ErrTruncated
	// ErrRange: an integer above 2^53−1 (JS throws). It is compact.ErrRange.
	ErrRange = compact.ErrRange
	// ErrTooBig: an array count above 0x100000 (JS "Array is too big"). It
	// is compact.ErrTooBig.
	ErrTooBig = compact.ErrTooBig
	// ErrTrailingBytes: bytes follow a complete manifest (JS ignores them;
	// merkle.md, "Decoding").
	ErrTrailingBytes = errors.New("merkle: trailing bytes after manifest")
	// ErrUnknownVersion: a manifest version above 3 (JS "Unknown version").
	ErrUnknownVersion = errors.New("merkle: unknown manifest version")
	// ErrUnknownType: a version 0 manifest type above 2 (JS "Unknown type").
	ErrUnknownType = errors.New("merkle: unknown version 0 manifest type")
	// ErrUnknownHash: a hash type other than 0 = BLAKE2b (JS "Unknown hash
	// id").
	ErrUnknownHash = errors.New("merkle: unknown hash type")
	// ErrUnknownSignature: a signature type other than 0 = Ed25519 (JS
	// "Unknown signature id").
	ErrUnknownSignature = errors.New("merkle: unknown signature type")
	// ErrQuorum: a quorum above the number of signers (JS createManifest
	// "Quorum should not be higher than the number of signers").
	ErrQuorum = errors.New("merkle: quorum above the number of signers")
	// ErrInvalidField: linked or userData in a manifest below version 2 (JS
	// createManifest "Invalid field").
	ErrInvalidField = errors.New("merkle: field not allowed in this manifest version")
	// ErrManifestMismatch: the manifest neither hashes to the core key nor
	// names it as its single signer.
	ErrManifestMismatch = errors.New("merkle: manifest does not match the core key")
	// ErrInvalidSignature: a signature does not verify (JS verify returns
	// false or throws).
	ErrInvalidSignature = errors.New("merkle: invalid signature")
	// ErrNotSigner: signing with a key pair the manifest does not declare
	// (JS "Public key is not a declared signer").
	ErrNotSigner = errors.New("merkle: key pair is not a declared signer")
	// ErrInvalidTree: a tree whose roots do not fit its length, or a patch
	// that cannot extend it.
	ErrInvalidTree = errors.New("merkle: invalid tree")
)

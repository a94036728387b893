package merkle

import (
	"fmt"

	"golang.org/x/crypto/blake2b"

	"github.com/hypercore-go/hypercore/v11/compact"
)

// HashType names the tree hash of a manifest. Only BLAKE2b (0) exists.
type HashType uint64

// BLAKE2b is the only hash type (JS "blake2b").
const BLAKE2b HashType = 0

// SignatureType names a signer's signature scheme. Only Ed25519 (0) exists.
type SignatureType uint64

// Ed25519 is the only signature type (JS "ed25519").
const Ed25519 SignatureType = 0

// A Signer is one key a manifest accepts signatures from (merkle.md,
// "Manifests").
type Signer struct {
	Signature SignatureType
	// Namespace is signed in place of the manifest hash by version 0
	// manifests; DefaultNamespace unless the creator chose another.
	Namespace [32]byte
	PublicKey [32]byte
}

// A Prologue lets a core start with Length blocks whose tree hash is Hash,
// accepted without a signature.
type Prologue struct {
	Hash   [32]byte
	Length uint64
}

// A Manifest says who may sign a core and how (merkle.md, "Manifests"; JS
// lib/messages.js manifest). A default core's key is the hash of its
// manifest ([ManifestHash]).
//
// Absent optional fields are nil: Prologue, Linked and UserData. A present
// but empty Linked or UserData is a non-nil empty slice, and is encoded (with
// its flag set and a zero count), as JS encodes an empty array or buffer.
type Manifest struct {
	// Version is 0, 1, 2 or 3. Version 0 has its own compact layout; 1, 2
	// and 3 share one.
	Version    uint64
	Hash       HashType
	AllowPatch bool
	// Quorum is how many signers must sign. JS's default for a new
	// manifest is DefaultQuorum(len(Signers)); a decoded manifest keeps what
	// it says, even a quorum above the number of signers (see Validate).
	Quorum   uint64
	Signers  []Signer
	Prologue *Prologue
	// Linked lists the keys of linked cores (version 2 and above).
	Linked [][32]byte
	// UserData is free bytes for the application (version 2 and above).
	UserData []byte
}

// MaxManifestVersion is the highest manifest version a decoder accepts.
// JS 11.37.1 writes versions 0, 1 and 2 and decodes 3 with the layout of 1.
const MaxManifestVersion = 3

// Flag bits of a version 1+ manifest (merkle.md, "Manifest encoding").
const (
	flagAllowPatch = 1 << 0
	flagPrologue   = 1 << 1
	flagLinked     = 1 << 2
	flagUserData   = 1 << 3
)

// Shapes of a version 0 manifest.
const (
	v0Prologue = 0 // prologue hash only, no signers
	v0Single   = 1 // one signer, quorum 1, no patch
	v0Multi    = 2 // flags, quorum, signers
)

// DefaultQuorum returns JS's quorum for a manifest created without one:
// floor(n/2) + 1 for n signers, 0 for none (verifier.js defaultQuorum).
func DefaultQuorum(signers int) uint64 {
	if signers <= 0 {
		return 0
	}
	return uint64(signers/2 + 1)
}

// DefaultSignerManifest returns the manifest of a core created with just a
// key pair (JS Verifier.defaultSignerManifest): version 1, BLAKE2b, no
// patches, quorum 1, one Ed25519 signer in DefaultNamespace.
func DefaultSignerManifest(publicKey [32]byte) *Manifest {
	return &Manifest{
		Version: 1,
		Quorum:  1,
		Signers: []Signer{{Signature: Ed25519, Namespace: DefaultNamespace, PublicKey: publicKey}},
	}
}

// EncodeManifest returns the encoding of m ([AppendManifest]).
func EncodeManifest(m *Manifest) ([]byte, error) { return AppendManifest(nil, m) }

// AppendManifest appends the encoding of m to b (merkle.md, "Manifest
// encoding"; JS messages.js manifest.encode).
//
// Version 0 writes only what its shape holds, as JS does: with a prologue
// and no signers only the prologue hash (its length is lost and decodes as
// 0); with quorum 1, one signer and no patches the single-signer shape;
// otherwise flags, quorum and signers, without prologue. Linked and
// UserData are never written for version 0. Versions 1 to 3 write every
// field they have, linked and userData included (Validate rejects those
// below version 2; the encoding does not).
//
// It fails, appending nothing, on what JS cannot encode or no decoder
// accepts: a version above 3, a hash or signature type other than 0, an
// integer above 2^53−1, more than 0x100000 signers or linked keys.
func AppendManifest(b []byte, m *Manifest) ([]byte, error) {
	if err := checkEncodable(m); err != nil {
		return b, err
	}
	b = compact.AppendUint(b, m.Version)
	if m.Version == 0 {
		b = compact.AppendUint(b, uint64(m.Hash))
		switch {
		case m.Prologue != nil && len(m.Signers) == 0:
			b = compact.AppendUint(b, v0Prologue)
			b = append(b, m.Prologue.Hash[:]...)
		case m.Quorum == 1 && len(m.Signers) == 1 && !m.AllowPatch:
			b = compact.AppendUint(b, v0Single)
			b = appendSigner(b, m.Signers[0])
		default:
			b = compact.AppendUint(b, v0Multi)
			b = compact.AppendUint(b, boolFlag(m.AllowPatch, flagAllowPatch))
			b = compact.AppendUint(b, m.Quorum)
			b = appendSigners(b, m.Signers)
		}
		return b, nil
	}
	flags := boolFlag(m.AllowPatch, flagAllowPatch) | boolFlag(m.Prologue != nil, flagPrologue) |
		boolFlag(m.Linked != nil, flagLinked) | boolFlag(m.UserData != nil, flagUserData)
	b = compact.AppendUint(b, flags)
	b = compact.AppendUint(b, uint64(m.Hash))
	b = compact.AppendUint(b, m.Quorum)
	b = appendSigners(b, m.Signers)
	if m.Prologue != nil {
		b = append(b, m.Prologue.Hash[:]...)
		b = compact.AppendUint(b, m.Prologue.Length)
	}
	if m.Linked != nil {
		b = compact.AppendArrayLen(b, len(m.Linked))
		for _, k := range m.Linked {
			b = append(b, k[:]...)
		}
	}
	if m.UserData != nil {
		b = compact.AppendBuffer(b, m.UserData)
	}
	return b, nil
}

func checkEncodable(m *Manifest) error {
	if m == nil {
		return fmt.Errorf("merkle: encode manifest: nil manifest")
	}
	if m.Version > MaxManifestVersion {
		return fmt.Errorf("%w: %d", ErrUnknownVersion, m.Version)
	}
	if m.Hash != BLAKE2b {
		return fmt.Errorf("%w: %d", ErrUnknownHash, m.Hash)
	}
	if m.Quorum > compact.MaxSafeInteger {
		return fmt.Errorf("%w: quorum %d", ErrRange, m.Quorum)
	}
	if m.Prologue != nil && m.Prologue.Length > compact.MaxSafeInteger {
		return fmt.Errorf("%w: prologue length %d", ErrRange, m.Prologue.Length)
	}
	if len(m.Signers) > compact.MaxArrayLength || len(m.Linked) > compact.MaxArrayLength {
		return fmt.Errorf("%w: %d signers, %d linked", ErrTooBig, len(m.Signers), len(m.Linked))
	}
	written := m.Signers
	if m.Version == 0 && m.Prologue != nil && len(m.Signers) == 0 {
		written = nil
	}
	for i, s := range written {
		if s.Signature != Ed25519 {
			return fmt.Errorf("%w: signer %d has type %d", ErrUnknownSignature, i, s.Signature)
		}
	}
	return nil
}

func boolFlag(v bool, f uint64) uint64 {
	if v {
		return f
	}
	return 0
}

func appendSigner(b []byte, s Signer) []byte {
	b = compact.AppendUint(b, uint64(s.Signature))
	b = append(b, s.Namespace[:]...)
	return append(b, s.PublicKey[:]...)
}

func appendSigners(b []byte, ss []Signer) []byte {
	b = compact.AppendArrayLen(b, len(ss))
	for _, s := range ss {
		b = appendSigner(b, s)
	}
	return b
}

// DecodeManifest decodes a manifest that fills b exactly (merkle.md,
// "Decoding"). The errors are those of [ReadManifest], and ErrTrailingBytes
// when bytes are left over.
//
// Compatibility: JS Verifier.decodeManifest ignores trailing bytes; this
// decoder rejects them (JS never writes them, and on the wire a manifest is
// read from inside a message with [ReadManifest]).
func DecodeManifest(b []byte) (*Manifest, error) {
	d := compact.NewDecoder(b)
	m := ReadManifest(d)
	if d.Err() != nil {
		return nil, fmt.Errorf("merkle: decode manifest: %w", d.Err())
	}
	// MUST: "A standalone manifest decoder MUST reject trailing bytes."
	if d.Remaining() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after a %d-byte manifest", ErrTrailingBytes, d.Remaining(), d.Offset())
	}
	return m, nil
}

// ReadManifest reads one manifest from d, leaving what follows it (JS
// messages.js manifest.decode). On failure it returns nil and d.Err()
// reports, in reading order, the first of: ErrTruncated, ErrRange (an
// integer above 2^53−1), ErrTooBig (a count above 0x100000),
// ErrUnknownVersion (above 3), ErrUnknownType (version 0 type above 2),
// ErrUnknownHash, ErrUnknownSignature.
//
// As in JS, flag bits other than those defined are ignored, and a decoded
// manifest is not validated: see [Manifest.Validate].
func ReadManifest(d *compact.Decoder) *Manifest {
	if d.Err() != nil {
		return nil
	}
	m := new(Manifest)
	m.Version = d.Uint()
	// MUST: "A decoder MUST reject a version above 3."
	if d.Err() == nil && m.Version > MaxManifestVersion {
		d.Fail(fmt.Errorf("%w: %d", ErrUnknownVersion, m.Version))
	}
	if m.Version == 0 {
		readV0(d, m)
	} else {
		flags := d.Uint()
		m.Hash = readHash(d)
		m.Quorum = d.Uint()
		m.Signers = readSigners(d)
		m.AllowPatch = flags&flagAllowPatch != 0
		if flags&flagPrologue != 0 {
			p := &Prologue{Hash: d.Fixed32()}
			p.Length = d.Uint()
			m.Prologue = p
		}
		if flags&flagLinked != 0 {
			m.Linked = readLinked(d)
		}
		if flags&flagUserData != 0 {
			if u := d.Buffer(); u != nil {
				m.UserData = append([]byte{}, u...)
			}
		}
	}
	if d.Err() != nil {
		return nil
	}
	return m
}

// readV0 reads the rest of a version 0 manifest.
func readV0(d *compact.Decoder, m *Manifest) {
	m.Hash = readHash(d)
	typ := d.Uint()
	if d.Err() != nil {
		return
	}
	switch typ {
	case v0Prologue:
		m.Prologue = &Prologue{Hash: d.Fixed32()}
	case v0Single:
		m.Quorum = 1
		if s, ok := readSigner(d); ok {
			m.Signers = []Signer{s}
		}
	case v0Multi:
		flags := d.Uint()
		m.AllowPatch = flags&flagAllowPatch != 0
		m.Quorum = d.Uint()
		m.Signers = readSigners(d)
	default:
		// MUST: "A decoder MUST reject a version 0 type above 2."
		d.Fail(fmt.Errorf("%w: %d", ErrUnknownType, typ))
	}
}

func readHash(d *compact.Decoder) HashType {
	h := d.Uint()
	// MUST: "A decoder MUST reject a hash type other than 0."
	if d.Err() == nil && h != uint64(BLAKE2b) {
		d.Fail(fmt.Errorf("%w: %d", ErrUnknownHash, h))
	}
	return BLAKE2b
}

func readSigner(d *compact.Decoder) (Signer, bool) {
	t := d.Uint()
	// MUST: "A decoder MUST reject a signature type other than 0."
	if d.Err() == nil && t != uint64(Ed25519) {
		d.Fail(fmt.Errorf("%w: %d", ErrUnknownSignature, t))
	}
	s := Signer{Signature: Ed25519, Namespace: d.Fixed32(), PublicKey: d.Fixed32()}
	return s, d.Err() == nil
}

// readCount reads an array count, rejecting one above MaxArrayLength. The
// elements are then read one by one, in order, so that the first failure is
// the one JS meets; nothing is allocated by the claimed count.
func readCount(d *compact.Decoder) uint64 {
	n := d.Uint()
	if d.Err() == nil && n > compact.MaxArrayLength {
		d.Fail(fmt.Errorf("%w: array of %d elements, more than %d", ErrTooBig, n, compact.MaxArrayLength))
		return 0
	}
	return n
}

func readSigners(d *compact.Decoder) []Signer {
	n := readCount(d)
	var ss []Signer
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		if s, ok := readSigner(d); ok {
			ss = append(ss, s)
		}
	}
	return ss
}

func readLinked(d *compact.Decoder) [][32]byte {
	n := readCount(d)
	ks := [][32]byte{}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		k := d.Fixed32()
		if d.Err() == nil {
			ks = append(ks, k)
		}
	}
	return ks
}

// ManifestHash returns the hash of a manifest, which is the key of a core
// that is not compat (JS Verifier.manifestHash):
//
//	BLAKE2b-256(MANIFEST || encode(m))
func ManifestHash(m *Manifest) ([32]byte, error) {
	enc, err := AppendManifest(append([]byte(nil), ManifestNamespace[:]...), m)
	if err != nil {
		return [32]byte{}, err
	}
	return blake2b.Sum256(enc), nil
}

// Validate applies the checks JS makes when it adopts a manifest
// (verifier.js createManifest, which a core runs on every manifest it
// receives), in JS's order: the version is at most 3 (Go only: JS checks it
// on decode), the quorum is at most the number of signers (ErrQuorum), every
// signer is Ed25519 (ErrUnknownSignature), the hash is BLAKE2b
// (ErrUnknownHash), and UserData, or a non-empty Linked, appears only from
// version 2 (ErrInvalidField).
func (m *Manifest) Validate() error {
	if m.Version > MaxManifestVersion {
		return fmt.Errorf("%w: %d", ErrUnknownVersion, m.Version)
	}
	// MUST: "A manifest whose quorum is above its number of signers MUST
	// NOT be adopted."
	if m.Quorum > uint64(len(m.Signers)) {
		return fmt.Errorf("%w: quorum %d, %d signers", ErrQuorum, m.Quorum, len(m.Signers))
	}
	for i, s := range m.Signers {
		if s.Signature != Ed25519 {
			return fmt.Errorf("%w: signer %d has type %d", ErrUnknownSignature, i, s.Signature)
		}
	}
	if m.Hash != BLAKE2b {
		return fmt.Errorf("%w: %d", ErrUnknownHash, m.Hash)
	}
	// MUST: "A manifest below version 2 with userData or a non-empty
	// linked list MUST NOT be adopted."
	if m.UserData != nil && m.Version < 2 {
		return fmt.Errorf("%w: userData in version %d", ErrInvalidField, m.Version)
	}
	if len(m.Linked) > 0 && m.Version < 2 {
		return fmt.Errorf("%w: linked in version %d", ErrInvalidField, m.Version)
	}
	return nil
}

// IsCompat reports whether m makes a compat core of key: m has exactly one
// signer and its public key is key (JS verifier.js isCompat). Such a core is
// verified with the compat signable and raw signatures, whatever m's
// version.
func IsCompat(key [32]byte, m *Manifest) bool {
	return m != nil && len(m.Signers) == 1 && m.Signers[0].PublicKey == key
}

// Key returns the key of a core with manifest m (JS Hypercore.key): the
// first signer's public key for a compat core, otherwise the manifest hash
// of m after Validate.
func Key(m *Manifest, compat bool) ([32]byte, error) {
	if compat {
		if m == nil || len(m.Signers) == 0 {
			return [32]byte{}, fmt.Errorf("%w: a compat key needs a signer", ErrInvalidField)
		}
		return m.Signers[0].PublicKey, nil
	}
	if err := m.Validate(); err != nil {
		return [32]byte{}, err
	}
	return ManifestHash(m)
}

// DefaultKey returns the key of a default core made from a key pair: the
// manifest hash of DefaultSignerManifest(publicKey). (A compat core's key is
// publicKey itself.)
func DefaultKey(publicKey [32]byte) [32]byte {
	k, err := ManifestHash(DefaultSignerManifest(publicKey))
	if err != nil {
		panic("merkle: DefaultKey: " + err.Error())
	}
	return k
}

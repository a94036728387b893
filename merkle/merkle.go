// Package merkle implements the Hypercore 9 Merkle tree hashes, roots,
// signatures and keys specified in spec/merkle.md, byte for byte as npm
// hypercore-crypto 2.3.2 and merkle-tree-stream 4.0.0 compute them.
//
// Every block is a leaf of a binary Merkle tree numbered by flat-tree
// indexes (package flattree). A node's hash commits to its bytes or its
// children and to the number of bytes below it. After each append the
// writer signs the roots of the whole tree together with the length.
//
// The package is pure: functions over values, no I/O.
package merkle

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"golang.org/x/crypto/blake2b"

	"github.com/hypercore-go/hypercore/flattree"
)

// Hash is a BLAKE2b-256 digest.
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Node is a node of the Merkle tree: its flat-tree index, its hash, and
// the number of bytes of block data below it.
type Node struct {
	Index uint64
	Hash  Hash
	Size  uint64
}

// Type prefixes that keep leaves, parents and root lists apart.
const (
	leafType   = 0x00
	parentType = 0x01
	rootType   = 0x02
)

// SignatureSize is the size of an Ed25519 signature.
const SignatureSize = ed25519.SignatureSize

var (
	// ErrInvalidSignature is returned when a signature does not verify.
	ErrInvalidSignature = errors.New("merkle: invalid signature")
	// ErrInvalidKey is returned for a public or secret key of the wrong
	// size.
	ErrInvalidKey = errors.New("merkle: invalid key")
)

// LeafHash is the hash of a block.
//
//	BLAKE2b-256(0x00 ‖ uint64be(len(data)) ‖ data)
func LeafHash(data []byte) Hash {
	hs := hashers.Get().(*hasher)
	hs.buf[0] = leafType
	binary.BigEndian.PutUint64(hs.buf[1:], uint64(len(data)))
	out := hs.sum(hs.buf[:9], data)
	hashers.Put(hs)
	return out
}

// LeafNode is the leaf node of block index with its data.
func LeafNode(index uint64, data []byte) Node {
	return Node{Index: 2 * index, Hash: LeafHash(data), Size: uint64(len(data))}
}

// ParentHash is the hash of the parent of a and b. The child with the
// smaller flat-tree index is the left one, whatever the argument order.
//
//	BLAKE2b-256(0x01 ‖ uint64be(left.Size + right.Size) ‖ left.Hash ‖ right.Hash)
func ParentHash(a, b Node) Hash {
	if a.Index > b.Index {
		a, b = b, a
	}
	hs := hashers.Get().(*hasher)
	buf := hs.buf[:1+8+32+32]
	buf[0] = parentType
	binary.BigEndian.PutUint64(buf[1:], a.Size+b.Size)
	copy(buf[9:], a.Hash[:])
	copy(buf[41:], b.Hash[:])
	out := hs.sum(buf, nil)
	hashers.Put(hs)
	return out
}

// ParentNode is the parent of siblings a and b.
func ParentNode(a, b Node) Node {
	return Node{Index: flattree.Parent(a.Index), Hash: ParentHash(a, b), Size: a.Size + b.Size}
}

// TreeHash is the hash of a list of roots, left to right.
//
//	BLAKE2b-256(0x02 ‖ for each root: root.Hash ‖ uint64be(root.Index) ‖ uint64be(root.Size))
func TreeHash(roots []Node) Hash {
	h, _ := blake2b.New256(nil)
	h.Write([]byte{rootType})
	var buf [48]byte
	for _, r := range roots {
		copy(buf[:32], r.Hash[:])
		binary.BigEndian.PutUint64(buf[32:], r.Index)
		binary.BigEndian.PutUint64(buf[40:], r.Size)
		h.Write(buf[:])
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// Signable is what the writer signs for a tree of length blocks whose roots
// are roots (fullRoots(2·length)).
//
//	TreeHash(roots) ‖ uint64be(length)
func Signable(roots []Node, length uint64) [40]byte {
	var s [40]byte
	t := TreeHash(roots)
	copy(s[:32], t[:])
	binary.BigEndian.PutUint64(s[32:], length)
	return s
}

// hasher is a reusable BLAKE2b-256 state with room for a node's header:
// a feed hashes every block and node, and pooling them saves three
// allocations a hash.
type hasher struct {
	h   hash.Hash
	buf [128]byte
}

// sum hashes a ‖ b (b may be nil), a and b not aliasing hs.buf past len(a).
func (hs *hasher) sum(a, b []byte) Hash {
	hs.h.Reset()
	hs.h.Write(a)
	if b != nil {
		hs.h.Write(b)
	}
	var out Hash
	copy(out[:], hs.h.Sum(hs.buf[len(a):len(a)]))
	return out
}

var hashers = sync.Pool{New: func() any {
	h, _ := blake2b.New256(nil)
	return &hasher{h: h}
}}

// KeyPair is a feed's Ed25519 key pair. SecretKey is the 64-byte libsodium
// layout, seed ‖ public key, which is also Go's ed25519.PrivateKey.
type KeyPair struct {
	PublicKey ed25519.PublicKey
	SecretKey ed25519.PrivateKey
}

// NewKeyPairFromSeed derives a key pair from a 32-byte seed, as libsodium's
// crypto_sign_seed_keypair (hypercore-crypto keyPair(seed)) does.
func NewKeyPairFromSeed(seed []byte) (KeyPair, error) {
	if len(seed) != ed25519.SeedSize {
		return KeyPair{}, fmt.Errorf("%w: seed of %d bytes, want %d", ErrInvalidKey, len(seed), ed25519.SeedSize)
	}
	sk := ed25519.NewKeyFromSeed(seed)
	return KeyPair{PublicKey: sk.Public().(ed25519.PublicKey), SecretKey: sk}, nil
}

// GenerateKeyPair reads a 32-byte seed from r (crypto/rand when nil) and
// derives a key pair from it.
func GenerateKeyPair(r io.Reader) (KeyPair, error) {
	pub, sk, err := ed25519.GenerateKey(r)
	if err != nil {
		return KeyPair{}, fmt.Errorf("merkle: generate key pair: %w", err)
	}
	return KeyPair{PublicKey: pub, SecretKey: sk}, nil
}

// Sign signs the 40-byte signable of roots and length with a 64-byte
// secret key. It returns ErrInvalidKey for a key of another size.
func Sign(secretKey ed25519.PrivateKey, roots []Node, length uint64) ([]byte, error) {
	if len(secretKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: secret key of %d bytes, want %d", ErrInvalidKey, len(secretKey), ed25519.PrivateKeySize)
	}
	s := Signable(roots, length)
	return ed25519.Sign(secretKey, s[:]), nil
}

// Verify checks a signature over the roots of a tree of length blocks, as
// hypercore 9 does (verifyCompat): first against the 40-byte signable,
// then, for signatures made by hypercore 8, against its first 32 bytes, the
// tree hash alone.
func Verify(publicKey ed25519.PublicKey, roots []Node, length uint64, signature []byte) error {
	s := Signable(roots, length)
	return VerifySignable(publicKey, s, signature)
}

// VerifySignable is Verify for a signable already computed.
func VerifySignable(publicKey ed25519.PublicKey, signable [40]byte, signature []byte) error {
	if len(publicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key of %d bytes, want %d", ErrInvalidKey, len(publicKey), ed25519.PublicKeySize)
	}
	if len(signature) != SignatureSize {
		return fmt.Errorf("%w: signature of %d bytes, want %d", ErrInvalidSignature, len(signature), SignatureSize)
	}
	if ed25519.Verify(publicKey, signable[:], signature) {
		return nil
	}
	// Compatibility: hypercore 8 signed the tree hash only, and hypercore 9
	// still accepts that.
	if ed25519.Verify(publicKey, signable[:32], signature) {
		return nil
	}
	return ErrInvalidSignature
}

// discoveryContext is what the discovery key hashes: the 9 ASCII bytes
// "hypercore".
var discoveryContext = []byte("hypercore")

// DiscoveryKey is the public name of a feed, which peers may advertise
// without revealing the feed key (the read capability).
//
//	BLAKE2b-256_publicKey("hypercore")
//
// It is BLAKE2b keyed with the public key over the 9 bytes "hypercore", not
// a hash of the public key.
func DiscoveryKey(publicKey []byte) (Hash, error) {
	if len(publicKey) == 0 || len(publicKey) > blake2b.Size {
		return Hash{}, fmt.Errorf("%w: public key of %d bytes", ErrInvalidKey, len(publicKey))
	}
	h, _ := blake2b.New256(publicKey)
	h.Write(discoveryContext)
	var out Hash
	h.Sum(out[:0])
	return out, nil
}

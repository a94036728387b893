package merkle

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/blake2b"

	"github.com/hypercore-go/hypercore/flattree"
)

// A Node is a node of the Merkle tree (merkle.md, "Nodes"): its flat-tree
// index (block b is leaf 2b), the number of block bytes below it, and its
// hash. JS: {index, size, hash}.
type Node struct {
	Index uint64
	Size  uint64
	Hash  [32]byte
}

// String returns "index/size/hash" with the hash in hex, for test messages.
func (n Node) String() string {
	return fmt.Sprintf("%d/%d/%s", n.Index, n.Size, hex.EncodeToString(n.Hash[:]))
}

// Type bytes that keep the three kinds of hash input apart (merkle.md,
// "Hashes").
const (
	leafType   = 0x00
	parentType = 0x01
	rootType   = 0x02
)

// LeafHash returns the hash of a block (hypercore-crypto data):
//
//	BLAKE2b-256(0x00 || uint64le(len(data)) || data)
func LeafHash(data []byte) [32]byte {
	h, _ := blake2b.New256(nil)
	var hdr [9]byte
	hdr[0] = leafType
	binary.LittleEndian.PutUint64(hdr[1:], uint64(len(data)))
	h.Write(hdr[:])
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// LeafNode returns the node of a block at flat-tree index index (2b for
// block b): {index, len(data), LeafHash(data)} (JS blockNode).
func LeafNode(index uint64, data []byte) Node {
	return Node{Index: index, Size: uint64(len(data)), Hash: LeafHash(data)}
}

// ParentHash returns the hash of the parent of two sibling nodes
// (hypercore-crypto parent):
//
//	BLAKE2b-256(0x01 || uint64le(a.Size + b.Size) || left.Hash || right.Hash)
//
// where left is the one of a and b with the smaller index, so the argument
// order does not matter. JS cannot encode a size sum above 2^53−1 (it
// throws); the verifier rejects such a parent before hashing it, so callers
// with trusted nodes never meet the difference.
func ParentHash(a, b Node) [32]byte {
	if a.Index > b.Index {
		a, b = b, a
	}
	var buf [1 + 8 + 32 + 32]byte
	buf[0] = parentType
	binary.LittleEndian.PutUint64(buf[1:], a.Size+b.Size)
	copy(buf[9:], a.Hash[:])
	copy(buf[41:], b.Hash[:])
	return blake2b.Sum256(buf[:])
}

// ParentNode returns the parent of two sibling nodes: {parent index,
// a.Size + b.Size, ParentHash(a, b)} (JS parentNode).
func ParentNode(a, b Node) Node {
	return Node{Index: flattree.Parent(a.Index), Size: a.Size + b.Size, Hash: ParentHash(a, b)}
}

// TreeHash returns the hash of a list of roots, left to right
// (hypercore-crypto tree):
//
//	BLAKE2b-256(0x02 || for each root: root.Hash || uint64le(root.Index) || uint64le(root.Size))
//
// The tree hash of an empty tree is BLAKE2b-256(0x02).
func TreeHash(roots []Node) [32]byte {
	h, _ := blake2b.New256(nil)
	h.Write([]byte{rootType})
	var buf [48]byte
	for _, r := range roots {
		copy(buf[:32], r.Hash[:])
		binary.LittleEndian.PutUint64(buf[32:], r.Index)
		binary.LittleEndian.PutUint64(buf[40:], r.Size)
		h.Write(buf[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// discoveryMessage is the message of the discovery key hash.
var discoveryMessage = []byte("hypercore")

// DiscoveryKey returns the discovery key of a core key (hypercore-crypto
// discoveryKey):
//
//	BLAKE2b-256 keyed with key, of the 9 bytes "hypercore"
//
// For a default core the key is its manifest hash, not the signer's public
// key (merkle.md, "Keys").
func DiscoveryKey(key [32]byte) [32]byte {
	h, _ := blake2b.New256(key[:])
	h.Write(discoveryMessage)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

package merkle

import "encoding/binary"

// Sizes of the three signables (merkle.md, "What is signed").
const (
	SignableSize       = 112
	SignableCompatSize = 80
	SignableLegacySize = 48
)

// TreeSignable returns the 112 bytes a signer of a manifest of version 1 or
// above signs (JS caps.treeSignable):
//
//	TREE || manifestHash || treeHash || uint64le(length) || uint64le(fork)
//
// For a version 0 manifest the signer's namespace takes the place of the
// manifest hash.
func TreeSignable(manifestHash, treeHash [32]byte, length, fork uint64) [SignableSize]byte {
	var b [SignableSize]byte
	copy(b[0:], TreeNamespace[:])
	copy(b[32:], manifestHash[:])
	copy(b[64:], treeHash[:])
	binary.LittleEndian.PutUint64(b[96:], length)
	binary.LittleEndian.PutUint64(b[104:], fork)
	return b
}

// TreeSignableCompat returns the 80 bytes a compat core's key signs (JS
// caps.treeSignableCompat):
//
//	TREE || treeHash || uint64le(length) || uint64le(fork)
func TreeSignableCompat(treeHash [32]byte, length, fork uint64) [SignableCompatSize]byte {
	var b [SignableCompatSize]byte
	copy(b[0:], TreeNamespace[:])
	copy(b[32:], treeHash[:])
	binary.LittleEndian.PutUint64(b[64:], length)
	binary.LittleEndian.PutUint64(b[72:], fork)
	return b
}

// TreeSignableLegacy returns the 48 bytes a compat core opened with the
// legacy option signs (JS caps.treeSignableCompat with noHeader):
//
//	treeHash || uint64le(length) || uint64le(fork)
func TreeSignableLegacy(treeHash [32]byte, length, fork uint64) [SignableLegacySize]byte {
	var b [SignableLegacySize]byte
	copy(b[0:], treeHash[:])
	binary.LittleEndian.PutUint64(b[32:], length)
	binary.LittleEndian.PutUint64(b[40:], fork)
	return b
}

// Package merkle implements the Hypercore 11 Merkle tree hashes, namespaces,
// manifests, signables and signature verification specified in
// spec/v11/merkle.md (npm hypercore 11.37.1 lib/caps.js, lib/verifier.js,
// lib/multisig.js, lib/messages.js and hypercore-crypto 3.7.0).
//
// The tree has the shape of Hypercore 9's (package flattree) but every
// integer inside a hash is little-endian, the key of a default core is the
// hash of its manifest, and what is signed binds the manifest, the tree hash,
// the length and the fork.
package merkle

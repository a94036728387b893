// Package merkle implements the Hypercore 11 Merkle tree hashes, namespaces,
// manifests, signables, signature envelopes and signature verification
// specified in spec/v11/merkle.md, and its proofs, specified in
// spec/v11/proofs.md (npm hypercore 11.37.1 lib/caps.js,
// lib/verifier.js, lib/multisig.js, lib/messages.js, lib/merkle-tree.js and
// hypercore-crypto 3.7.0).
//
// The tree has the shape of Hypercore 9's (package flattree) but every
// integer inside a hash is little-endian, the key of a default core is the
// hash of its manifest, and what is signed binds the manifest, the tree hash,
// the length and the fork.
//
// The pieces, in the order of the chapter:
//
//   - [Node], [LeafHash], [ParentHash], [TreeHash]: the hashes.
//   - [Tree]: a core's signed state (fork, length, roots); [Tree.Append]
//     grows it as a writer does.
//   - [Namespace] and the "hypercore" namespaces ([TreeNamespace],
//     [ManifestNamespace], [DefaultNamespace], ...).
//   - [DiscoveryKey], [Key], [DefaultKey], [IsCompat]: keys.
//   - [Manifest] with [EncodeManifest], [DecodeManifest], [ReadManifest],
//     [ManifestHash], [Manifest.Validate] and [DefaultSignerManifest].
//   - [TreeSignable], [TreeSignableCompat], [TreeSignableLegacy]: the bytes
//     that are signed.
//   - [MultiSignature] and [MultiSignatureV0]: signature envelopes.
//   - [Verifier]: made by [NewVerifier] from a core's key and manifest as a
//     JS core makes it; [Verifier.Verify] checks a signature for a [Tree]
//     (quorum, distinct signers, patches, prologue, compat and legacy
//     cores), [Verifier.Sign], [Verifier.PartialSign] and
//     [Verifier.Assemble] make them, [PatchIndexes] names the nodes of a
//     patch.
//   - Proofs (spec/v11/proofs.md): [BuildProof] answers a [ProofRequest]
//     from a [SignedTree] and its stored nodes ([NodeReader]) with a
//     [TreeProof]; [VerifyProof] checks one against the receiver's tree and
//     says what to store ([VerifiedProof]), or starts a [Reorg] for a newer
//     fork; [MissingNodes], [Upgradeable], [UpgradeLength] and [ByteOffset]
//     are the helpers a replicator asks.
//
// Every error wraps one of the sentinel errors (ErrTruncated,
// ErrInvalidSignature, ...), one per failure class of the spec. The package
// is pure: functions over values, no I/O.
package merkle

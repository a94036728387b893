// Package core implements a Hypercore 11 core and its replication,
// specified in spec/v11/feed.md and spec/v11/replication.md (npm hypercore
// 11.37.1 lib/core.js, lib/replicator.js): a signed append-only log of
// blocks whose Merkle tree (package v11/merkle) is stored by package
// v11/core/store, and the peers that replicate it over secret-streams
// (v11/secretstream) carrying protomux channels (v11/protomux) of
// hypercore/alpha messages (v11/wire).
//
// A writer is made by [Create] with a key pair: a default core (its key is
// the hash of a manifest naming one Ed25519 signer), a compat core (its key
// is the public key), or one with an explicit manifest. A reader opens a
// core by its key alone ([Open]); the manifest arrives on the wire with the
// first signed length, and every block is checked against a Merkle proof
// and the signature before it is stored.
//
// [Core.Replicate] runs one connection: the Noise handshake, the mux and
// the core's channel. [NewProtocol] carries many cores over one connection.
package core

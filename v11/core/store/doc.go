// Package store implements the storage of a Hypercore 11 core specified in
// spec/v11/storage.md: its header (key, manifest, key pair, signed tree),
// its Merkle tree nodes, its blocks and the bitfield of the blocks it holds,
// laid out on the random-access files of package core/storage (so that its
// memory and disk backends, and the disk backend's lock, serve both
// wings), with every change made by one crash-safe [Store.Commit].
//
// JS hypercore 11 keeps a core in RocksDB (hypercore-storage); this layout
// is not file-compatible with it and does not try to be. What it shares
// with JS is what is stored, not how.
//
// The pieces, in the order of the chapter:
//
//   - Files: [HeaderFile], [SecretKeyFile], [TreeFile], [DataFile],
//     [BitfieldFile].
//   - [Header]: key, manifest, secret key, compat flag, the signed tree
//     (a merkle.Tree and its signature), free bytes for the feed, and the
//     marker of an interrupted truncation. Written to one of two slots
//     ([SlotSize], [MaxHeaderSize]) with a sequence number and a checksum.
//   - Node records of [NodeSize] bytes at NodeSize·index, with a marker and
//     a CRC-32C, so that a torn record reads as absent.
//   - Blocks at their byte offset in the data file; a stored leaf also
//     records its block's offset.
//   - The bitfield: one bit per block, loaded in pages of [PageSize] bytes.
//   - [Open] reads the newest valid header and repairs what a killed
//     process left past it; [Store.Commit] applies a [Batch] (nodes,
//     blocks, clears, a truncation, a new header) in a fixed write order.
//   - Reads: [Store.Header], [Store.Node], [Store.Block], [Store.Has],
//     [Store.Contiguous], [Store.FirstMissing], [Store.FirstPresent],
//     [Store.ByteOffset].
//
// Every error wraps one of the sentinel errors ([ErrCorrupt],
// [ErrInvalidBatch], [ErrTooBig], [ErrMissingNode], [ErrFailed],
// [ErrClosed]) or an error of the storage backend.
//
// The store checks the shape of what it is given (nodes inside the tree,
// a leaf for every block, sizes) but verifies no hash or signature: the
// feed verifies before it commits.
package store

package store

import (
	"errors"

	"github.com/hypercore-go/hypercore/core/storage"
)

// The failure classes of the store (storage.md, "Errors"). Every error a
// Store returns wraps one of them, or an error of the storage backend.
var (
	// ErrCorrupt: the files hold bytes the store never writes (a header
	// slot whose checksum holds but whose fields do not, a present node
	// with an impossible size, a block whose bytes are missing, a secret
	// key that does not match itself), or no header slot is valid although
	// one was written.
	ErrCorrupt = errors.New("store: corrupt")
	// ErrInvalidBatch: a Batch breaks a rule of Commit (a node outside the
	// new tree, a block without its leaf, a header that changes the key,
	// a length that shrinks without Truncate, ...). Nothing was written.
	ErrInvalidBatch = errors.New("store: invalid batch")
	// ErrTooBig: a block above MaxBlockSize or a header above
	// MaxHeaderSize. Nothing was written.
	ErrTooBig = errors.New("store: too big")
	// ErrMissingNode: a node that a byte offset needs is not stored.
	ErrMissingNode = errors.New("store: node not stored")
	// ErrFailed: an earlier Commit failed part way (a write error); the
	// store refuses further commits. Reopening it repairs the files.
	ErrFailed = errors.New("store: an earlier commit failed; reopen the store")
	// ErrClosed is storage.ErrClosed: the store (or its storage) is closed.
	ErrClosed = storage.ErrClosed
)

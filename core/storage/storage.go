// Package storage holds the files of a Hypercore 9 feed behind a small
// interface, with a disk backend ([OpenDir]) and a memory backend
// ([NewMemory]). The file names and layout are specified in
// spec/storage.md; the feed (package core) decides what goes in them.
//
// A feed uses six named files: key, secret_key, tree, data, bitfield and
// signatures. Each is a random-access byte array: reads and writes at any
// offset, writes past the end extend the file (the gap reads as zeros),
// and a file that was never written is empty. Backends create a file on
// its first write, so a reader's directory has no secret_key file, as in
// JS.
//
// A backend of your own implements [Storage] and [File] and can run the
// conformance tests in package storagetest.
package storage

import (
	"errors"
	"fmt"
	"io"
)

// The files of a feed (spec/storage.md, "Files").
const (
	Key        = "key"
	SecretKey  = "secret_key"
	Tree       = "tree"
	Data       = "data"
	Bitfield   = "bitfield"
	Signatures = "signatures"
)

// Names lists the files of a feed in the order JS opens them.
var Names = []string{Key, SecretKey, Tree, Data, Bitfield, Signatures}

var (
	// ErrLocked is returned by OpenDir when another process (a JS or Go
	// feed) holds the lock on the directory's bitfield file.
	ErrLocked = errors.New("storage: feed directory is locked by another process")
	// ErrAlreadyOpen is returned by OpenDir for a directory this process
	// has open already; it wraps ErrLocked.
	ErrAlreadyOpen = fmt.Errorf("%w (it is already open in this process)", ErrLocked)
	// ErrClosed is returned by operations on a closed file or storage.
	ErrClosed = errors.New("storage: closed")
	// ErrInvalidName is returned for a file name that is not one of Names.
	ErrInvalidName = errors.New("storage: invalid file name")
	// ErrOffset is returned for a negative offset or size, or one whose
	// end does not fit in an int64.
	ErrOffset = errors.New("storage: invalid offset or size")
)

// Storage opens the files of one feed. Implementations must be safe for
// concurrent use.
type Storage interface {
	// Open returns the named file (one of Names). It does not create the
	// file: a file that does not exist reads as empty and is created by
	// its first write. Opening a name twice returns the same file or an
	// equivalent one.
	Open(name string) (File, error)
	// Close closes every file and releases the storage (and its lock).
	Close() error
}

// File is one random-access file. Implementations must be safe for
// concurrent use; concurrent writes to overlapping ranges leave either
// write's bytes.
type File interface {
	// ReadAt reads len(p) bytes at off. It follows io.ReaderAt: when fewer
	// bytes exist it returns how many it read and io.EOF. Holes read as
	// zeros.
	io.ReaderAt
	// WriteAt writes p at off, extending the file (and creating it) as
	// needed; the gap between the old end and off reads as zeros.
	io.WriterAt
	// Size returns the file's length (0 for a file never written).
	Size() (int64, error)
	// Truncate sets the file's length: a shorter file loses its tail, a
	// longer one reads zeros in the new part.
	Truncate(size int64) error
	// Discard zeros the range [off, off+size) and frees its space where the
	// backend can (a hole). It never changes the file's length.
	Discard(off, size int64) error
	// Sync makes written bytes durable.
	Sync() error
}

// BuffersWriterAt is a File that can write several buffers at one offset
// in one operation (a disk file: one pwritev). WriteBuffers uses it.
type BuffersWriterAt interface {
	// WriteBuffersAt writes the concatenation of bufs at off, as WriteAt
	// of the joined bytes would, and returns the number of bytes written.
	// It does not keep bufs.
	WriteBuffersAt(bufs [][]byte, off int64) (int64, error)
}

// WriteBuffers writes the concatenation of bufs at off: with f's own
// WriteBuffersAt when f has one, else as one WriteAt of the bytes joined.
// An append writes its blocks with it, without copying them into one
// buffer first.
func WriteBuffers(f File, bufs [][]byte, off int64) error {
	if len(bufs) == 1 {
		_, err := f.WriteAt(bufs[0], off)
		return err
	}
	if w, ok := f.(BuffersWriterAt); ok {
		_, err := w.WriteBuffersAt(bufs, off)
		return err
	}
	size := 0
	for _, b := range bufs {
		size += len(b)
	}
	joined := make([]byte, 0, size)
	for _, b := range bufs {
		joined = append(joined, b...)
	}
	_, err := f.WriteAt(joined, off)
	return err
}

// buffersSize is the number of bytes in bufs, or ErrOffset when they and
// off do not fit in an int64.
func buffersSize(bufs [][]byte, off int64) (int64, error) {
	var size int64
	for _, b := range bufs {
		if err := checkRange(size, int64(len(b))); err != nil {
			return 0, err
		}
		size += int64(len(b))
	}
	return size, checkRange(off, size)
}

// validName reports whether name is one of the feed's files.
func validName(name string) bool {
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
}

// checkRange rejects negative offsets and sizes and ranges whose end
// overflows int64.
func checkRange(off, size int64) error {
	if off < 0 || size < 0 || off > (1<<63-1)-size {
		return ErrOffset
	}
	return nil
}

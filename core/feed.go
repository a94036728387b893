// Package core implements a Hypercore 9 feed, specified in spec/feed.md
// and spec/storage.md: an append-only log of blocks stored in the six
// files of a feed directory exactly as JS hypercore 9.12.0 stores them,
// with appends signed by the writer, blocks read back, proofs built for
// peers, and blocks from peers verified before anything is stored. Package
// core also replicates feeds over sessions (spec/replication.md).
//
// A writer opens or creates its feed (OpenOrCreateDir), appends blocks and
// replicates over each connection (Replicate). A reader holds only the
// key: it opens a clone (Open with Options.Key, usually Sparse), replicates
// and reads (GetContext, Update, Download, Subscribe), block by block in
// order (ReadStream) or as bytes (NewReader, an io.ReadSeeker over the
// blocks; spec/feed.md, "Reading"). Waits fail with
// ErrNoPeers when the last peer that could serve them goes (GetWith and
// its kin wait for future peers on request, or, with IfAvailable, fail with
// ErrNotAvailableFromPeers as soon as no peer has what they ask for;
// Cancel ends them with ErrCancelled), and a session's end says why:
// nil for a clean end, or ErrSessionClosed, ErrConnectionLost, ErrProtocol
// or ErrTimeout. Closing a feed ends its sessions. Many feeds share one
// connection through a Protocol. LowLevel holds what implementers and
// tests use: proofs, digests, and blocks put by hand.
//
// A Feed is safe for concurrent use.
package core

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/hypercore-go/hypercore/bitfield"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/merkle"
)

// Errors, one per failure class. Errors from this package wrap one of
// these (or one of package merkle's, storage's or session's).
var (
	// ErrNotWritable: the feed has no secret key.
	ErrNotWritable = errors.New("core: feed is not writable")
	// ErrBlockTooLarge: a block of more than MaxBlockSize bytes.
	ErrBlockTooLarge = errors.New("core: block larger than 8 MiB")
	// ErrNotAvailable: the block is not stored locally.
	ErrNotAvailable = errors.New("core: block not available")
	// ErrKeyMismatch: the storage holds another feed.
	ErrKeyMismatch = errors.New("core: another hypercore is stored here")
	// ErrNoFeed: the storage holds no feed and no key was given.
	ErrNoFeed = errors.New("core: no hypercore is stored here")
	// ErrCorrupt: a file does not hold what the rest of the feed says it
	// must; the error names the file.
	ErrCorrupt = errors.New("core: corrupt feed")
	// ErrClosed: the feed (or a Reader) is closed.
	ErrClosed = errors.New("core: feed is closed")
	// ErrInvalidProof: a proof does not lead from the block to a trusted
	// node or to a complete set of roots.
	ErrInvalidProof = errors.New("core: invalid proof")
	// ErrMissingSignature: a proof needs a signature that is absent.
	ErrMissingSignature = errors.New("core: missing signature")
	// ErrOutOfRange: an index or byte offset beyond the feed.
	ErrOutOfRange = errors.New("core: out of range")
)

// MaxBlockSize is the largest block Append accepts: 8 MiB, as JS (a frame
// body is at most 8 MiB).
const MaxBlockSize = 8 << 20

// File headers (spec/storage.md, "Headers").
var (
	treeHeader       = header(2, 40, "BLAKE2b")
	signaturesHeader = header(1, 64, "Ed25519")
)

func header(typ byte, entry uint16, name string) []byte {
	h := make([]byte, 32)
	h[0], h[1], h[2], h[3] = 0x05, 0x02, 0x57, typ
	binary.BigEndian.PutUint16(h[5:], entry)
	h[7] = byte(len(name))
	copy(h[8:], name)
	return h
}

// Options configures Create and Open.
type Options struct {
	// KeyPair is the writer's key pair for Create; a new one is generated
	// from Random when nil.
	KeyPair *merkle.KeyPair
	// Key is the public key of the feed to open. Open needs it when the
	// storage holds no feed yet (a new clone); when the storage holds a
	// feed, a Key that differs is ErrKeyMismatch.
	Key Key
	// Random is the source of randomness (key pairs); crypto/rand when nil.
	Random io.Reader
	// Sparse makes replication download only the blocks asked for; a feed
	// that is not sparse downloads every block its peers announce.
	Sparse bool
	// Sync makes every write durable before the bitfield that refers to it
	// is written (and the bitfield itself), at the cost of fsync calls. JS
	// does not sync; without it a power loss (not a crashed process) can
	// lose recent appends.
	Sync bool
	// EagerUpdate makes a sparse clone keep asking its peers for a longer
	// length, as JS eagerUpdate does, so that it learns of new blocks
	// (EventAppend, Length) without calling Update. It waits for peers
	// when none is connected and stops when the feed is closed.
	EagerUpdate bool
}

// Feed is one Hypercore 9 feed.
type Feed struct {
	mu sync.Mutex

	st                                        storage.Storage
	fKey, fSecret, fTree, fData, fBits, fSigs storage.File

	key          ed25519.PublicKey
	secretKey    ed25519.PrivateKey // nil for readers
	discoveryKey merkle.Hash
	live         bool // signed; false only for feeds JS made with live: false
	sparse       bool
	sync         bool

	length     uint64
	byteLength uint64
	bits       *bitfield.Bitfield
	tree       *bitfield.TreeIndex
	gen        *merkle.Generator // writer: the roots at length

	closed   bool
	events   events
	repl     replState
	switches switches // SetUploading, SetDownloading (switches.go)
	// nodeCache holds tree nodes read from storage (nodeAt), by index.
	nodeCache map[uint64]merkle.Node
	// nodeCacheDepth is the lowest depth of the parents cacheNode keeps.
	nodeCacheDepth uint64
	nodeBuf        [40]byte
	stretchBuf     [40 * (maxStretch + 1)]byte // readStretch's, under the lock
	// lastOffset is the data offset and size of the block dataOffset last
	// found, so that the next block's offset is one addition.
	lastOffset blockOffset
}

// blockOffset is where block index starts in the data file, and its size.
type blockOffset struct{ index, off, size uint64 }

// Create creates a new writable feed in st, or opens the one st holds if
// it was created with the same key pair. A storage holding another feed is
// ErrKeyMismatch.
func Create(st storage.Storage, opts *Options) (*Feed, error) {
	if opts == nil {
		opts = &Options{}
	}
	kp := opts.KeyPair
	if kp == nil {
		k, err := merkle.GenerateKeyPair(opts.Random)
		if err != nil {
			return nil, err
		}
		kp = &k
	}
	return open(st, opts, kp.PublicKey, kp.SecretKey, true)
}

// Open opens the feed st holds, or, with opts.Key, starts a read-only clone
// of that feed in an empty storage. A feed whose secret key is stored opens
// writable.
func Open(st storage.Storage, opts *Options) (*Feed, error) {
	if opts == nil {
		opts = &Options{}
	}
	return open(st, opts, ed25519.PublicKey(opts.Key), nil, false)
}

// OpenDir opens the feed in directory dir (see Open). When it fails
// (ErrNoFeed for a directory without a feed and no Key, for instance) it
// leaves nothing behind that was not there before.
func OpenDir(dir string, opts *Options) (*Feed, error) {
	return inDir(dir, func(st storage.Storage) (*Feed, error) { return Open(st, opts) })
}

// CreateDir creates a writable feed in dir, or reopens the one dir holds
// when opts.KeyPair is its key pair (see Create: with no KeyPair, an
// existing feed is ErrKeyMismatch). To open a feed or create it when there
// is none, use OpenOrCreateDir.
func CreateDir(dir string, opts *Options) (*Feed, error) {
	return inDir(dir, func(st storage.Storage) (*Feed, error) { return Create(st, opts) })
}

// OpenOrCreateDir opens the feed in dir, or creates one when dir holds
// none (JS createIfMissing), and reports whether it created it. With
// opts.Key and no KeyPair, "create" starts a read-only clone of that key;
// otherwise a writable feed with opts.KeyPair (or a new key pair). A feed
// already there whose key differs from opts.Key or opts.KeyPair is
// ErrKeyMismatch.
func OpenOrCreateDir(dir string, opts *Options) (f *Feed, created bool, err error) {
	f, err = inDir(dir, func(st storage.Storage) (*Feed, error) {
		f, created, err = OpenOrCreate(st, opts)
		return f, err
	})
	return f, created, err
}

// OpenOrCreate is OpenOrCreateDir on any storage.
func OpenOrCreate(st storage.Storage, opts *Options) (f *Feed, created bool, err error) {
	if opts == nil {
		opts = &Options{}
	}
	kf, err := st.Open(storage.Key)
	if err != nil {
		return nil, false, err
	}
	stored, err := readSmallFile(kf, storage.Key, ed25519.PublicKeySize)
	if err != nil {
		return nil, false, err
	}
	switch {
	case stored != nil && opts.KeyPair != nil:
		f, err = Create(st, opts) // reopens with the same key pair
	case stored != nil || (opts.Key != nil && opts.KeyPair == nil):
		f, err = Open(st, opts) // what is there, or a new clone of Key
	default:
		f, err = Create(st, opts)
	}
	return f, err == nil && stored == nil, err
}

// inDir opens dir's storage and runs open on it; on failure it takes away
// what opening the directory created.
func inDir(dir string, open func(storage.Storage) (*Feed, error)) (*Feed, error) {
	st, err := storage.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	f, err := open(st)
	if err != nil {
		st.Discard()
		return nil, err
	}
	return f, nil
}

// open follows hypercore's _open (spec/storage.md, "Opening a feed").
func open(st storage.Storage, opts *Options, key ed25519.PublicKey, secret ed25519.PrivateKey, create bool) (f *Feed, err error) {
	f = &Feed{st: st, sparse: opts.Sparse, sync: opts.Sync, live: true}
	files := map[string]*storage.File{
		storage.Key: &f.fKey, storage.SecretKey: &f.fSecret, storage.Tree: &f.fTree,
		storage.Data: &f.fData, storage.Bitfield: &f.fBits, storage.Signatures: &f.fSigs,
	}
	for name, p := range files {
		if *p, err = st.Open(name); err != nil {
			return nil, err
		}
	}

	storedKey, err := readSmallFile(f.fKey, storage.Key, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	storedSecret, err := readSmallFile(f.fSecret, storage.SecretKey, ed25519.PrivateKeySize)
	if err != nil {
		return nil, err
	}
	bitsFile, err := readAll(f.fBits)
	if err != nil {
		return nil, err
	}
	if f.bits, err = bitfield.DecodeFile(bitsFile); err != nil {
		return nil, fmt.Errorf("%w: bitfield: %w", ErrCorrupt, err)
	}

	switch {
	case storedKey != nil && key != nil && !bytes.Equal(storedKey, key):
		return nil, fmt.Errorf("%w (stored key %x, not %x)", ErrKeyMismatch, storedKey[:8], key[:8])
	case storedKey != nil:
		key = storedKey
	case key == nil:
		return nil, ErrNoFeed
	case f.bits.PageCount() > 0:
		// A bitfield without a key cannot be verified: JS starts over.
		f.bits = bitfield.New()
		if err := f.fBits.Truncate(bitfield.HeaderSize); err != nil {
			return nil, err
		}
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: key of %d bytes", merkle.ErrInvalidKey, len(key))
	}
	if storedSecret != nil && secret == nil {
		secret = storedSecret
	}
	if secret != nil && !bytes.Equal(ed25519.PrivateKey(secret).Public().(ed25519.PublicKey), key) {
		return nil, fmt.Errorf("%w: secret_key does not belong to the key", ErrCorrupt)
	}
	f.key = append(ed25519.PublicKey(nil), key...)
	if secret != nil {
		f.secretKey = append(ed25519.PrivateKey(nil), secret...)
	}
	if f.discoveryKey, err = merkle.DiscoveryKey(f.key); err != nil {
		return nil, err
	}

	// JS rewrites the three headers on every open.
	for _, h := range []struct {
		file storage.File
		data []byte
	}{{f.fBits, bitfield.Header()}, {f.fSigs, signaturesHeader}, {f.fTree, treeHeader}} {
		if _, err := h.file.WriteAt(h.data, 0); err != nil {
			return nil, err
		}
	}
	if storedKey == nil {
		if _, err := f.fKey.WriteAt(f.key, 0); err != nil {
			return nil, err
		}
	}
	if f.secretKey != nil && storedSecret == nil {
		if _, err := f.fSecret.WriteAt(f.secretKey, 0); err != nil {
			return nil, err
		}
	}

	// The length comes from the tree bits (spec/storage.md).
	f.tree = bitfield.NewTreeIndex(f.bits.Tree())
	f.length = f.tree.Blocks()
	roots, err := f.loadRoots(f.length)
	if err != nil && f.length > 0 {
		// JS retries once with one block less.
		f.length--
		roots, err = f.loadRoots(f.length)
	}
	if err != nil {
		return nil, err
	}
	for _, r := range roots {
		f.byteLength += r.Size
	}
	if f.length > 0 {
		sig, err := f.readSignature(f.length - 1)
		if err != nil {
			return nil, err
		}
		if sig == nil {
			if f.secretKey == nil {
				// JS treats an unsigned head as a feed created with
				// live: false.
				f.live = false
			} else if err := f.resign(roots); err != nil {
				return nil, err
			}
		}
	}
	if f.secretKey != nil {
		f.gen = merkle.NewGenerator(roots)
	}
	if opts.EagerUpdate && f.sparse && f.secretKey == nil {
		go f.eagerUpdate()
	}
	return f, nil
}

// eagerUpdate waits for one more block than the feed has, again and again,
// until the feed is closed (JS: update(loop) with eagerUpdate).
func (f *Feed) eagerUpdate() {
	for {
		err := f.UpdateWith(context.Background(), &UpdateOptions{WaitForPeers: true})
		if errors.Is(err, ErrClosed) {
			return
		}
	}
}

// resign writes the missing signature of the head (a writer whose last
// append was cut short after the bitfield but before the signature reached
// the disk).
func (f *Feed) resign(roots []merkle.Node) error {
	sig, err := merkle.Sign(f.secretKey, roots, f.length)
	if err != nil {
		return err
	}
	_, err = f.fSigs.WriteAt(sig, 32+64*int64(f.length-1))
	return err
}

// readSmallFile reads a key file: nil when absent or empty, an error when
// it has another size.
func readSmallFile(file storage.File, name string, size int) ([]byte, error) {
	n, err := file.Size()
	if err != nil || n == 0 {
		return nil, err
	}
	if n != int64(size) {
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d", ErrCorrupt, name, n, size)
	}
	buf := make([]byte, size)
	if _, err := file.ReadAt(buf, 0); err != nil {
		return nil, err
	}
	return buf, nil
}

// maxReadAll bounds a file read whole (the bitfield file): 1 GiB holds
// the bitfield of billions of blocks, and a sparse file of any claimed size
// must not become an allocation of that size.
const maxReadAll = 1 << 30

func readAll(file storage.File) ([]byte, error) {
	n, err := file.Size()
	if err != nil {
		return nil, err
	}
	if n > maxReadAll {
		return nil, fmt.Errorf("%w: a file of %d bytes, more than %d", ErrCorrupt, n, maxReadAll)
	}
	buf := make([]byte, n)
	if _, err := file.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return buf, nil
}

// Close closes the feed and its storage. Replication sessions using it end.
func (f *Feed) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	f.closeReplication()
	err := f.st.Close()
	if err == nil {
		f.events.emit(Event{Type: EventClose}) // JS: if (!err) self.emit('close')
	}
	f.events.close()
	return err
}

// Key returns the feed's public key.
func (f *Feed) Key() Key { return append(Key(nil), f.key...) }

// DiscoveryKey returns the feed's discovery key.
func (f *Feed) DiscoveryKey() Key { return append(Key(nil), f.discoveryKey[:]...) }

// Writable reports whether the feed has its secret key.
func (f *Feed) Writable() bool { return f.secretKey != nil }

// Sparse reports whether the feed downloads only what is asked for.
func (f *Feed) Sparse() bool { return f.sparse }

// Length returns the number of blocks in the feed (as far as this side
// has verified).
func (f *Feed) Length() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.length
}

// ByteLength returns the sum of the sizes of all blocks.
func (f *Feed) ByteLength() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byteLength
}

// Has reports whether block i is stored locally.
func (f *Feed) Has(i uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bits.Get(i)
}

// HasRange reports whether every block in [start, end) is stored locally.
func (f *Feed) HasRange(start, end uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if end <= start {
		return true
	}
	_, missing := f.bits.NextMissing(start, end)
	return !missing
}

// Downloaded returns the number of blocks stored in [start, end); end 0
// means the end of the feed.
func (f *Feed) Downloaded(start, end uint64) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if end == 0 {
		end = f.length
	}
	return f.bits.Data().Count(start, end)
}

// Path returns the directory of a feed on disk, or "".
func (f *Feed) Path() string {
	if d, ok := f.st.(*storage.Dir); ok {
		return filepath.Clean(d.Path())
	}
	return ""
}

// nodeAt reads node i from the tree file; ok is false when it is not
// stored (a blank entry or past the end of the file). It never asks the
// tree bits: "a reader MUST look a node up in the tree file rather than
// trust a clear tree bit to mean absent" (spec/storage.md, "Write order").
func (f *Feed) nodeAt(i uint64) (n merkle.Node, ok bool, err error) {
	if n, ok := f.nodeCache[i]; ok {
		return n, true, nil
	}
	off, err := nodeOffset(i)
	if err != nil {
		return n, false, nil
	}
	buf := f.nodeBuf[:] // the feed's, under its lock: no allocation per read
	m, err := f.fTree.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return n, false, err
	}
	if m < 40 {
		return n, false, nil
	}
	copy(n.Hash[:], buf[:32])
	n.Size = binary.BigEndian.Uint64(buf[32:])
	n.Index = i
	if n.Size == 0 && n.Hash == (merkle.Hash{}) {
		return n, false, nil
	}
	f.cacheNode(n)
	return n, true, nil
}

// cacheNode remembers a node read from or written to the tree file.
// Stored nodes never change, so they are cached: the data offset of a
// block sums the same few roots of large subtrees again and again, and a
// proof repeats the nodes of the previous one.
//
// The cache holds at most maxCachedNodes parents, the highest ones: when
// it is full, the lowest level it holds is dropped and no longer cached
// (nodeCacheDepth rises). A feed of n blocks has about n/2^(d+1) parents of
// depth d or more, so the cache keeps every parent of a 128k-block feed and
// the parents of depth 4 and more of a 1M-block one; the few low roots a
// block's offset also needs are read from the tree file. (A cache that
// started over when full re-read every root after 128k blocks: 9.6 reads
// per cloned block at 1M blocks instead of 4.7.)
func (f *Feed) cacheNode(n merkle.Node) {
	if n.Index&1 == 0 {
		return // a leaf is read for its own block, about once
	}
	if flattree.Depth(n.Index) < f.nodeCacheDepth {
		return
	}
	if f.nodeCache == nil {
		f.nodeCache = make(map[uint64]merkle.Node, 1024)
	}
	for len(f.nodeCache) >= maxCachedNodes {
		f.nodeCacheDepth++
		for i := range f.nodeCache {
			if flattree.Depth(i) < f.nodeCacheDepth {
				delete(f.nodeCache, i)
			}
		}
		if flattree.Depth(n.Index) < f.nodeCacheDepth {
			return
		}
	}
	f.nodeCache[n.Index] = n
}

// maxCachedNodes bounds the node cache (about 7 MiB).
const maxCachedNodes = 1 << 17

// node reads a node the tree bits say is stored; missing is corruption.
func (f *Feed) node(i uint64) (merkle.Node, error) {
	n, ok, err := f.nodeAt(i)
	if err != nil {
		return n, err
	}
	if !ok {
		return n, fmt.Errorf("%w: tree: node %d is missing", ErrCorrupt, i)
	}
	return n, nil
}

func nodeOffset(i uint64) (int64, error) {
	if i > (1<<63-1-32)/40 {
		return 0, ErrOutOfRange
	}
	return 32 + 40*int64(i), nil
}

// encodeNode is a tree file entry: hash ‖ uint64be(size).
func encodeNode(dst []byte, n merkle.Node) []byte {
	dst = append(dst, n.Hash[:]...)
	return binary.BigEndian.AppendUint64(dst, n.Size)
}

// loadRoots reads fullRoots(2·length) from the tree file.
func (f *Feed) loadRoots(length uint64) ([]merkle.Node, error) {
	idx, _ := flattree.FullRoots(2 * length)
	roots := make([]merkle.Node, 0, len(idx))
	for _, i := range idx {
		n, err := f.node(i)
		if err != nil {
			return nil, err
		}
		roots = append(roots, n)
	}
	return roots, nil
}

// readSignature reads signature slot i; nil when blank or absent.
func (f *Feed) readSignature(i uint64) ([]byte, error) {
	if i > (1<<63-1-32)/64 {
		return nil, nil
	}
	sig := make([]byte, 64)
	n, err := f.fSigs.ReadAt(sig, 32+64*int64(i))
	if err != nil && err != io.EOF {
		return nil, err
	}
	if n < 64 || bytes.Equal(sig, make([]byte, 64)) {
		return nil, nil
	}
	return sig, nil
}

// syncBitfield writes the bitfield pages changed since the last call: the
// last write of every operation (spec/storage.md, "Write order").
func (f *Feed) syncBitfield() error {
	if !f.bits.PendingUpdates() {
		return nil
	}
	if f.sync {
		for _, file := range []storage.File{f.fData, f.fTree, f.fSigs} {
			if err := file.Sync(); err != nil {
				return err
			}
		}
	}
	for _, w := range f.bits.TakeUpdates() {
		if _, err := f.fBits.WriteAt(w.Data, w.Offset); err != nil {
			return err
		}
	}
	if f.sync {
		return f.fBits.Sync()
	}
	return nil
}

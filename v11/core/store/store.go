package store

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io"
	"sync"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// The files of a core (storage.md, "Files"). They are four of the names of
// package core/storage, so that its backends and their lock serve both
// wings; a Hypercore 11 directory never has a signatures file.
const (
	HeaderFile    = storage.Key       // the two header slots
	SecretKeyFile = storage.SecretKey // the writer's 64-byte Ed25519 private key
	TreeFile      = storage.Tree      // node records, NodeSize bytes each
	DataFile      = storage.Data      // the blocks, each at its byte offset
	BitfieldFile  = storage.Bitfield  // one bit per block
)

// MaxBlockSize is the largest block the store writes or reads (a local
// limit; storage.md, "Limits").
const MaxBlockSize = 1 << 26

// Options are the options of Open. The zero value (or nil) is the default.
type Options struct {
	// Sync makes Commit fsync the files between its steps and at its end,
	// as storage.md, "Write order", lists, so that a commit survives a
	// power failure, not only the death of the process. Off by default.
	Sync bool
}

// A Store holds one core's state on a storage.Storage. Its methods are
// safe for concurrent use; reads see the state of the last Commit that
// returned.
type Store struct {
	st                               storage.Storage
	sync                             bool
	header, secret, tree, data, bits storage.File

	mu       sync.RWMutex
	has      bool   // a header is stored
	h        Header // the committed header (owned, never shared)
	seq      uint64 // sequence number of the newest header slot
	contig   uint64
	treeSize int64 // sizes of the files, kept here since only we write them
	dataSize int64
	bitsSize int64
	failed   error
	closed   bool

	pmu   sync.Mutex
	pages map[uint64]*page // loaded bitfield pages that hold a bit

	cmu   sync.Mutex
	cache *[1 << cacheBits]cachedRecord // node records recently read or written (node.go)
}

// Open reads the core stored in s (storage.md, "Opening"): it takes the
// newest valid header slot, checks it, and repairs what a process killed
// in the middle of a Commit left past the committed state. An empty
// storage gives a Store with no header (HasHeader false), which the first
// Commit creates. Bytes that the store never writes give an error wrapping
// ErrCorrupt. On error s is left open for the caller; on success the Store
// owns it and Close closes it.
func Open(s storage.Storage, opts *Options) (*Store, error) {
	st := &Store{st: s, pages: map[uint64]*page{}, cache: new([1 << cacheBits]cachedRecord)}
	if opts != nil {
		st.sync = opts.Sync
	}
	for _, f := range []struct {
		p    *storage.File
		name string
	}{{&st.header, HeaderFile}, {&st.secret, SecretKeyFile}, {&st.tree, TreeFile}, {&st.data, DataFile}, {&st.bits, BitfieldFile}} {
		file, err := s.Open(f.name)
		if err != nil {
			return nil, err
		}
		*f.p = file
	}
	if err := st.load(); err != nil {
		return nil, err
	}
	return st, nil
}

// load reads the header and repairs the files (storage.md, "Opening").
func (s *Store) load() error {
	var err error
	if s.treeSize, err = s.tree.Size(); err != nil {
		return err
	}
	if s.dataSize, err = s.data.Size(); err != nil {
		return err
	}
	if s.bitsSize, err = s.bits.Size(); err != nil {
		return err
	}
	hsize, err := s.header.Size()
	if err != nil {
		return err
	}
	var states [2]slotState
	var seqs [2]uint64
	var bodies [2][]byte
	for i := range 2 {
		if states[i], seqs[i], bodies[i], err = readSlot(s.header, hsize, i); err != nil {
			return err
		}
	}
	pick := -1
	switch {
	case states[0] == slotValid && states[1] == slotValid:
		if seqs[0] == seqs[1] {
			return fmt.Errorf("%w: both header slots have sequence number %d", ErrCorrupt, seqs[0])
		}
		pick = 0
		if seqs[1] > seqs[0] {
			pick = 1
		}
	case states[0] == slotValid:
		pick = 0
	case states[1] == slotValid:
		pick = 1
	case states[0] == slotBlank:
		// MUST: "When no slot is valid and slot 0 is blank, the store
		// MUST open empty: the first header write did not complete, so
		// nothing was committed."
		return s.repairEmpty(hsize)
	default:
		return fmt.Errorf("%w: no valid header slot", ErrCorrupt)
	}
	h, hasSecret, err := decodeBody(bodies[pick])
	if err != nil {
		return fmt.Errorf("header slot %d: %w", pick, err)
	}
	if hasSecret {
		if h.SecretKey, err = s.readSecretKey(); err != nil {
			return err
		}
	}
	s.h, s.has, s.seq = h, true, seqs[pick]
	if err := s.repair(); err != nil {
		return err
	}
	c, err := s.scan(0, s.h.Tree.Length, false)
	if err != nil {
		return err
	}
	s.contig = c
	return nil
}

// readSecretKey reads and checks the secret key file.
func (s *Store) readSecretKey() (ed25519.PrivateKey, error) {
	size, err := s.secret.Size()
	if err != nil {
		return nil, err
	}
	// MUST: "The secret key file MUST hold exactly 64 bytes, seed ‖ public
	// key, whose public key is the seed's."
	if size != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: secret key file of %d bytes", ErrCorrupt, size)
	}
	sk := make([]byte, ed25519.PrivateKeySize)
	if _, err := s.secret.ReadAt(sk, 0); err != nil {
		return nil, err
	}
	want := ed25519.NewKeyFromSeed(sk[:ed25519.SeedSize])
	if !bytes.Equal(want, sk) {
		return nil, fmt.Errorf("%w: secret key file does not hold a key pair", ErrCorrupt)
	}
	return ed25519.PrivateKey(sk), nil
}

// repairEmpty empties the files of a store whose header was never
// committed (storage.md, "Opening", step 2).
func (s *Store) repairEmpty(hsize int64) error {
	for _, f := range []struct {
		f    storage.File
		size int64
	}{{s.tree, s.treeSize}, {s.data, s.dataSize}, {s.bits, s.bitsSize}, {s.header, hsize}} {
		if f.size > 0 {
			if err := f.f.Truncate(0); err != nil {
				return err
			}
		}
	}
	if size, err := s.secret.Size(); err != nil {
		return err
	} else if size > 0 {
		if err := s.secret.Truncate(0); err != nil {
			return err
		}
	}
	s.treeSize, s.dataSize, s.bitsSize = 0, 0, 0
	return s.syncAll()
}

// repair removes what lies past the committed state: the bits, nodes and
// data bytes from length R on, R being the header's length or, after an
// interrupted truncation, the truncation point (storage.md, "Opening",
// step 4); then it writes any root record the tree file lacks.
func (s *Store) repair() error {
	r := s.h.Tree.Length
	if s.h.Truncating {
		r = s.h.TruncateTo
	}
	lookup := func(i uint64) (merkle.Node, bool, error) {
		if n, ok := s.headerRoot(i); ok {
			return n, true, nil
		}
		if flattree.RightSpan(i) >= 2*r {
			return merkle.Node{}, false, nil
		}
		n, _, ok, err := s.readRecord(i)
		return n, ok, err
	}
	dataEnd, known, err := byteOffset(r, lookup)
	if err != nil {
		return err
	}
	if err := s.drop(r, dataEnd, known); err != nil {
		return err
	}
	for _, root := range s.h.Tree.Roots {
		n, _, ok, err := s.readRecord(root.Index)
		if err != nil {
			return err
		}
		if !ok || n != root {
			if err := s.writeRecord(root, 0); err != nil {
				return err
			}
		}
	}
	return s.syncAll()
}

// drop removes the bits from block r on, the node records of every node
// over a leaf at or past 2r, and (when known) the data bytes from dataEnd
// on. It writes only where something is to be removed.
func (s *Store) drop(r, dataEnd uint64, known bool) error {
	defer s.forgetRecords() // it truncates and zeroes records
	// Bits: keep the bits below r of the byte that holds bit r, cut the
	// file after it.
	keep := int64((r + 7) / 8)
	if r%8 != 0 && s.bitsSize > int64(r/8) {
		var b [1]byte
		if _, err := s.bits.ReadAt(b[:], int64(r/8)); err != nil && err != io.EOF {
			return err
		}
		if c := b[0] & (1<<(r%8) - 1); c != b[0] {
			if _, err := s.bits.WriteAt([]byte{c}, int64(r/8)); err != nil {
				return err
			}
		}
	}
	if s.bitsSize > keep {
		if err := s.bits.Truncate(keep); err != nil {
			return err
		}
		s.bitsSize = keep
	}
	// Nodes: every node at index ≥ 2r lies over leaf ≥ 2r, so the file is
	// cut at record 2r; the nodes below 2r over a leaf ≥ 2r are the
	// ancestors of leaf 2r left of it, zeroed one by one.
	cut := int64(2*r) * NodeSize
	if s.treeSize > cut {
		if err := s.tree.Truncate(cut); err != nil {
			return err
		}
		s.treeSize = cut
	}
	var zero [NodeSize]byte
	for i, d := 2*r, 0; d < 56; d++ {
		i = flattree.Parent(i)
		if i >= 2*r {
			continue
		}
		off := int64(i) * NodeSize
		if off+NodeSize > s.treeSize {
			continue
		}
		var rec [NodeSize]byte
		if _, err := s.tree.ReadAt(rec[:], off); err != nil && err != io.EOF {
			return err
		}
		if rec != zero {
			if _, err := s.tree.WriteAt(zero[:], off); err != nil {
				return err
			}
		}
	}
	// Data: cut after the last byte below block r when its offset is
	// known; otherwise the bytes stay, unreachable (no bit points at them).
	if known && s.dataSize > int64(dataEnd) {
		if err := s.data.Truncate(int64(dataEnd)); err != nil {
			return err
		}
		s.dataSize = int64(dataEnd)
	}
	return nil
}

// syncAll syncs every file when Options.Sync is set.
func (s *Store) syncAll() error {
	if !s.sync {
		return nil
	}
	for _, f := range []storage.File{s.secret, s.tree, s.data, s.bits, s.header} {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// byteOffset returns the byte offset of block i: the sum of the sizes of
// the nodes flattree.FullRoots(2i), looked up with lookup. known is false
// when one of them is missing.
func byteOffset(i uint64, lookup func(uint64) (merkle.Node, bool, error)) (uint64, bool, error) {
	idx, err := flattree.FullRoots(2 * i)
	if err != nil {
		return 0, false, nil
	}
	var sum uint64
	for _, r := range idx {
		n, ok, err := lookup(r)
		if err != nil || !ok {
			return 0, false, err
		}
		if n.Size > compact.MaxSafeInteger-sum {
			return 0, false, fmt.Errorf("%w: nodes left of block %d hold more than 2^53-1 bytes", ErrCorrupt, i)
		}
		sum += n.Size
	}
	return sum, true, nil
}

// headerRoot returns the root of the committed tree at index i.
func (s *Store) headerRoot(i uint64) (merkle.Node, bool) {
	return findRoot(s.h.Tree.Roots, i)
}

// HasHeader reports whether a header is stored (false for a new store until
// its first Commit).
func (s *Store) HasHeader() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.has
}

// Header returns a copy of the committed header (the zero Header when
// none is stored).
func (s *Store) Header() Header {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.h.clone()
}

// Length returns the committed tree's length.
func (s *Store) Length() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.h.Tree.Length
}

// ByteLength returns the committed tree's byte length.
func (s *Store) ByteLength() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.h.Tree.ByteLength()
}

// Node returns node index of the committed tree, and whether it is stored
// (storage.md, "Reading"). Nodes over a leaf at or past 2·Length are never
// stored; the roots always are. It satisfies the interface
// { Node(uint64) (merkle.Node, bool, error) }.
func (s *Store) Node(index uint64) (merkle.Node, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return merkle.Node{}, false, ErrClosed
	}
	return s.node(index)
}

func (s *Store) node(index uint64) (merkle.Node, bool, error) {
	if index >= 2*s.h.Tree.Length || flattree.RightSpan(index) >= 2*s.h.Tree.Length {
		return merkle.Node{}, false, nil
	}
	if n, ok := s.headerRoot(index); ok {
		return n, true, nil
	}
	n, _, ok, err := s.readRecord(index)
	return n, ok, err
}

// Has reports whether block index is stored.
func (s *Store) Has(index uint64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed || index >= s.h.Tree.Length {
		return false
	}
	ok, _ := s.bit(index)
	return ok
}

// Contiguous returns the contiguous length: the number of blocks stored
// from block 0 on without a gap.
func (s *Store) Contiguous() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.contig
}

// FirstMissing returns the first block at or after from that is not
// stored, or Length when every block from from on is.
func (s *Store) FirstMissing(from uint64) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	if from >= s.h.Tree.Length {
		return s.h.Tree.Length, nil
	}
	// Every block below the contiguous length is stored: the scan starts
	// at it (a download asks from the start of its range on every block).
	return s.scan(max(from, s.contig), s.h.Tree.Length, false)
}

// FirstPresent returns the first stored block at or after from, and false
// when there is none.
func (s *Store) FirstPresent(from uint64) (uint64, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, false, ErrClosed
	}
	if from >= s.h.Tree.Length {
		return 0, false, nil
	}
	i, err := s.scan(from, s.h.Tree.Length, true)
	return i, err == nil && i < s.h.Tree.Length, err
}

// Block returns block index and whether it is stored. A block whose bit is
// set but whose leaf or bytes are missing is ErrCorrupt.
func (s *Store) Block(index uint64) ([]byte, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, false, ErrClosed
	}
	if index >= s.h.Tree.Length {
		return nil, false, nil
	}
	ok, err := s.bit(index)
	if err != nil || !ok {
		return nil, false, err
	}
	leaf, off, ok, err := s.readRecord(2 * index)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, fmt.Errorf("%w: block %d is marked present but its leaf is not stored", ErrCorrupt, index)
	}
	if leaf.Size == 0 {
		// An empty block has no bytes in the data file: its offset may lie
		// past the file's end when the blocks before it are not stored (a
		// sparse reader), and nothing is read.
		return []byte{}, true, nil
	}
	// MUST: "A reader MUST check a block's size against MaxBlockSize and
	// its end against the data file's size before it allocates or reads."
	if leaf.Size > MaxBlockSize || off+leaf.Size > uint64(s.dataSize) {
		return nil, false, fmt.Errorf("%w: block %d of %d bytes at %d, data file of %d bytes", ErrCorrupt, index, leaf.Size, off, s.dataSize)
	}
	b := make([]byte, leaf.Size)
	if _, err := s.data.ReadAt(b, int64(off)); err != nil {
		if err == io.EOF {
			return nil, false, fmt.Errorf("%w: block %d: data file too short", ErrCorrupt, index)
		}
		return nil, false, err
	}
	return b, true, nil
}

// ByteOffset returns the byte offset of block index (index ≤ Length): the
// sum of the sizes of the blocks before it, from the stored nodes
// flattree.FullRoots(2·index). It fails with ErrMissingNode when one is not
// stored.
func (s *Store) ByteOffset(index uint64) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	if index > s.h.Tree.Length {
		return 0, fmt.Errorf("%w: block %d past length %d", ErrMissingNode, index, s.h.Tree.Length)
	}
	if index == s.h.Tree.Length {
		return s.h.Tree.ByteLength(), nil
	}
	if ok, err := s.bit(index); err != nil {
		return 0, err
	} else if ok {
		if _, off, ok, err := s.readRecord(2 * index); err != nil {
			return 0, err
		} else if ok {
			return off, nil
		}
	}
	off, ok, err := byteOffset(index, s.node)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("%w: a node left of block %d", ErrMissingNode, index)
	}
	return off, nil
}

// Close closes the store and its storage.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.st.Close()
}

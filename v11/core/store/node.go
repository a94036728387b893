package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// NodeSize is the size of a node record in the tree file; node i's record
// is at byte NodeSize·i (storage.md, "Tree file").
const NodeSize = 56

// recordMarker marks a written record (bytes 48–51): "node".
var recordMarker = [4]byte{'n', 'o', 'd', 'e'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord returns node n's record:
//
//	hash (32) ‖ uint64le(size) ‖ uint64le(offset) ‖ "node" ‖
//	uint32le(CRC-32C(uint64le(index) ‖ the 52 bytes before))
//
// offset is the byte offset of a leaf's block when the block is stored,
// and 0 otherwise.
func encodeRecord(n merkle.Node, offset uint64) [NodeSize]byte {
	var r [NodeSize]byte
	copy(r[:32], n.Hash[:])
	binary.LittleEndian.PutUint64(r[32:], n.Size)
	binary.LittleEndian.PutUint64(r[40:], offset)
	copy(r[48:52], recordMarker[:])
	binary.LittleEndian.PutUint32(r[52:], recordSum(n.Index, r[:52]))
	return r
}

// recordSum is CRC-32C(uint64le(index) ‖ body).
func recordSum(index uint64, body []byte) uint32 {
	var ib [8]byte
	binary.LittleEndian.PutUint64(ib[:], index)
	return crc32.Update(crc32.Checksum(ib[:], castagnoli), castagnoli, body)
}

// decodeRecord parses node index's record. A record without the marker
// or with a wrong checksum is absent (never written, or torn by a crash);
// a whole record with a size or offset above 2^53−1 is ErrCorrupt.
func decodeRecord(index uint64, r []byte) (merkle.Node, uint64, bool, error) {
	if len(r) != NodeSize || !bytes.Equal(r[48:52], recordMarker[:]) ||
		binary.LittleEndian.Uint32(r[52:]) != recordSum(index, r[:52]) {
		return merkle.Node{}, 0, false, nil
	}
	n := merkle.Node{Index: index, Size: binary.LittleEndian.Uint64(r[32:])}
	copy(n.Hash[:], r[:32])
	off := binary.LittleEndian.Uint64(r[40:])
	if n.Size > compact.MaxSafeInteger || off > compact.MaxSafeInteger {
		return merkle.Node{}, 0, false, fmt.Errorf("%w: node %d size %d offset %d above 2^53-1", ErrCorrupt, index, n.Size, off)
	}
	return n, off, true, nil
}

// cacheBits sets the size of the record cache: 2^cacheBits node records
// (1024 slots of 72 bytes, 72 KiB per open store).
const cacheBits = 10

// slot is the cache slot of record index: Fibonacci hashing, so that the
// nodes a byte offset or a proof reads (indexes such as 2^k·m − 1, which
// share their low bits) spread over the slots. The last record read or
// written in a slot wins.
func slot(index uint64) uint64 { return (index * 0x9E3779B97F4A7C15) >> (64 - cacheBits) }

// cachedRecord is one slot of the record cache: what readRecord returned
// for node index-1 (index 0: an empty slot).
type cachedRecord struct {
	index  uint64
	node   merkle.Node
	offset uint64
	ok     bool
}

// readRecord reads node index's record from the tree file, or from the
// record cache. The caller holds s.mu and has checked that index is inside
// the tree (so NodeSize·index fits in an int64).
//
// The cache holds records as they are in the file: writeRecord updates a
// record's slot after its write, and drop, the only other writer of the
// tree file, empties the cache. A replicated download reads the nodes
// above each new block again and again (to prove it, and for its byte
// offset); without the cache that was a pread each.
func (s *Store) readRecord(index uint64) (merkle.Node, uint64, bool, error) {
	off := int64(index) * NodeSize
	if off+NodeSize > s.treeSize {
		return merkle.Node{}, 0, false, nil
	}
	s.cmu.Lock()
	if c := &s.cache[slot(index)]; c.index == index+1 {
		n, o, ok := c.node, c.offset, c.ok
		s.cmu.Unlock()
		return n, o, ok, nil
	}
	s.cmu.Unlock()
	var r [NodeSize]byte
	if _, err := s.tree.ReadAt(r[:], off); err != nil {
		if err == io.EOF {
			return merkle.Node{}, 0, false, nil
		}
		return merkle.Node{}, 0, false, err
	}
	n, o, ok, err := decodeRecord(index, r[:])
	if err == nil {
		s.cacheRecord(index, n, o, ok)
	}
	return n, o, ok, err
}

// cacheRecord puts node index's record into its cache slot.
func (s *Store) cacheRecord(index uint64, n merkle.Node, offset uint64, ok bool) {
	s.cmu.Lock()
	s.cache[slot(index)] = cachedRecord{index + 1, n, offset, ok}
	s.cmu.Unlock()
}

// forgetRecords empties the record cache.
func (s *Store) forgetRecords() {
	s.cmu.Lock()
	clear(s.cache[:])
	s.cmu.Unlock()
}

// writeRecord writes node n's record.
func (s *Store) writeRecord(n merkle.Node, offset uint64) error {
	r := encodeRecord(n, offset)
	off := int64(n.Index) * NodeSize
	if _, err := s.tree.WriteAt(r[:], off); err != nil {
		s.forgetRecords() // the file may hold part of the record
		return err
	}
	s.treeSize = max(s.treeSize, off+NodeSize)
	s.cacheRecord(n.Index, n, offset, true)
	return nil
}

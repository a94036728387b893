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

// readRecord reads node index's record from the tree file. The caller
// holds s.mu and has checked that index is inside the tree (so
// NodeSize·index fits in an int64).
func (s *Store) readRecord(index uint64) (merkle.Node, uint64, bool, error) {
	off := int64(index) * NodeSize
	if off+NodeSize > s.treeSize {
		return merkle.Node{}, 0, false, nil
	}
	var r [NodeSize]byte
	if _, err := s.tree.ReadAt(r[:], off); err != nil {
		if err == io.EOF {
			return merkle.Node{}, 0, false, nil
		}
		return merkle.Node{}, 0, false, err
	}
	return decodeRecord(index, r[:])
}

// writeRecord writes node n's record.
func (s *Store) writeRecord(n merkle.Node, offset uint64) error {
	r := encodeRecord(n, offset)
	off := int64(n.Index) * NodeSize
	if _, err := s.tree.WriteAt(r[:], off); err != nil {
		return err
	}
	s.treeSize = max(s.treeSize, off+NodeSize)
	return nil
}

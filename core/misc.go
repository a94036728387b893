package core

import (
	"fmt"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/merkle"
)

// Clear frees the data of blocks [start, end): their data bits are cleared
// and their bytes discarded from the data file, but the tree nodes stay, so
// the feed can still build proofs and verify the blocks if they come back
// (hypercore's clear). Peers that were told about the blocks get Unhave.
func (f *Feed) Clear(start, end uint64) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	if end <= start {
		f.mu.Unlock()
		return nil
	}
	modified := false
	for i, ok := f.bits.NextHeld(start, end); ok; i, ok = f.bits.NextHeld(i+1, end) {
		f.bits.Set(i, false)
		modified = true
	}
	if !modified {
		f.mu.Unlock()
		return nil
	}
	err := f.discard(start, end)
	if serr := f.syncBitfield(); err == nil {
		err = serr
	}
	f.mu.Unlock()
	f.afterClear(start, end)
	return err
}

// discard frees the bytes of blocks [start, end) in the data file. Blocks
// whose offsets cannot be computed locally (a sparse reader) are skipped.
func (f *Feed) discard(start, end uint64) error {
	from, _, err := f.dataOffset(start, nil)
	if err != nil {
		return nil
	}
	to := f.byteLength
	if end < f.length {
		if to, _, err = f.dataOffset(end, nil); err != nil {
			return nil
		}
	}
	if to <= from || from > 1<<62 {
		return nil
	}
	return f.fData.Discard(int64(from), int64(min(to, 1<<62)-from))
}

// Signature returns the first signature at or after slot index, and its
// slot: the signature of length slot+1 (hypercore's signature(index)).
func (f *Feed) Signature(index uint64) (sig []byte, slot uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if index >= f.length {
		return nil, 0, fmt.Errorf("%w: no signature for index %d of %d", ErrOutOfRange, index, f.length)
	}
	for i := index; i < f.length; i++ {
		s, err := f.readSignature(i)
		if err != nil {
			return nil, 0, err
		}
		if s != nil {
			return s, i, nil
		}
	}
	return nil, 0, fmt.Errorf("%w: no signature stored from index %d", ErrMissingSignature, index)
}

// RootHashes returns the roots of the tree of the first index+1 blocks,
// read from local storage.
func (f *Feed) RootHashes(index uint64) ([]merkle.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rootsLocked(index + 1)
}

func (f *Feed) rootsLocked(length uint64) ([]merkle.Node, error) {
	idx, _ := flattree.FullRoots(2 * length)
	roots := make([]merkle.Node, 0, len(idx))
	for _, i := range idx {
		n, ok, err := f.nodeAt(i)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: root %d of length %d is not stored here", ErrNotAvailable, i, length)
		}
		roots = append(roots, n)
	}
	return roots, nil
}

// Verify checks that sig signs the tree of the first index+1 blocks
// (hypercore's verify).
func (f *Feed) Verify(index uint64, sig []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	roots, err := f.rootsLocked(index + 1)
	if err != nil {
		return err
	}
	return merkle.Verify(f.key, roots, index+1, sig)
}

// AuditReport counts the blocks Audit checked.
type AuditReport struct {
	Valid, Invalid uint64
	// FirstInvalid is the first block that failed, when Invalid > 0.
	FirstInvalid uint64
}

// Audit re-hashes every stored block against its leaf node; a block that
// does not match (or cannot be read) has its data bit cleared, so that it
// is downloaded again (hypercore's audit). It also checks the signature of
// the head against the stored roots.
func (f *Feed) Audit() (AuditReport, error) { return f.audit(true) }

// Check is Audit without the repair: it reports the blocks that do not
// match their leaf nodes and checks the head's signature, and changes
// nothing.
func (f *Feed) Check() (AuditReport, error) { return f.audit(false) }

func (f *Feed) audit(repair bool) (AuditReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var r AuditReport
	if f.closed {
		return r, ErrClosed
	}
	for i, ok := f.bits.NextHeld(0, f.length); ok; i, ok = f.bits.NextHeld(i+1, f.length) {
		if _, err := f.getLocked(i); err != nil {
			if r.Invalid == 0 {
				r.FirstInvalid = i
			}
			r.Invalid++
			if repair {
				f.bits.Set(i, false)
			}
			continue
		}
		r.Valid++
	}
	if repair {
		if err := f.syncBitfield(); err != nil {
			return r, err
		}
	}
	if f.length > 0 && f.live {
		sig, err := f.readSignature(f.length - 1)
		if err != nil {
			return r, err
		}
		roots, err := f.rootsLocked(f.length)
		if err != nil {
			return r, err
		}
		if sig == nil {
			return r, fmt.Errorf("%w: head (length %d)", ErrMissingSignature, f.length)
		}
		if err := merkle.Verify(f.key, roots, f.length, sig); err != nil {
			return r, err
		}
	}
	return r, nil
}

package store

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/blake2b"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// A Header is everything about a core that is not a node, a block or a bit
// (storage.md, "Header"): what the core is (key, manifest, key pair) and
// the signed tree it has reached. Commit writes it atomically, after the
// nodes, blocks and bits that it needs.
type Header struct {
	// Key is the core key: the manifest hash of a default core, the public
	// key of a compat core.
	Key [32]byte
	// Manifest is the encoded manifest (merkle.EncodeManifest), or nil
	// while a clone has not received it. The store checks only that it
	// decodes.
	Manifest []byte
	// SecretKey is the writer's Ed25519 private key (64 bytes), or nil for
	// a reader. It is kept in its own file (storage.md, "Files").
	SecretKey ed25519.PrivateKey
	// Compat marks a compat core (key = public key, JS compat: true).
	Compat bool
	// Tree is the signed tree: fork, length and the roots
	// flattree.FullRoots(2·Length), left to right.
	Tree merkle.Tree
	// Signature is the signature of Tree (a raw 64-byte Ed25519 signature
	// or a multisig envelope), or nil.
	Signature []byte
	// Extra is free bytes for the feed; the store keeps them and never
	// reads them.
	Extra []byte

	// Truncating is set by Open when the last Commit truncated the core
	// to TruncateTo and was cut short: the blocks from TruncateTo on and
	// the nodes above them are gone, but Tree is still the tree from
	// before (its roots are kept in the header, so it stays whole). A
	// writer finishes the truncation; a reader may keep Tree and download
	// again. Commit ignores both fields of the header it is given.
	Truncating bool
	TruncateTo uint64
}

// clone returns a copy of h that shares no memory with it.
func (h *Header) clone() Header {
	c := *h
	c.Manifest = cloneBytes(h.Manifest)
	c.SecretKey = ed25519.PrivateKey(cloneBytes(h.SecretKey))
	c.Signature = cloneBytes(h.Signature)
	c.Extra = cloneBytes(h.Extra)
	c.Tree = h.Tree.Clone()
	if len(c.Tree.Roots) == 0 {
		c.Tree.Roots = nil
	}
	return c
}

// cloneBytes copies b, mapping empty to nil.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Header slots (storage.md, "Header slots").
const (
	// SlotSize is the distance between the two header slots: slot 0 at
	// byte 0 of the header file, slot 1 at byte SlotSize.
	SlotSize = 1 << 20
	// slotPrefix is magic (8) ‖ uint64le(seq) ‖ uint32le(bodyLength).
	slotPrefix = 20
	// slotSum is the BLAKE2b-256 checksum after the body.
	slotSum = 32
	// MaxHeaderSize is the largest encoded header body.
	MaxHeaderSize = SlotSize - slotPrefix - slotSum
)

// slotMagic opens every header slot: "hc11hdr" and the format version 1.
var slotMagic = [8]byte{'h', 'c', '1', '1', 'h', 'd', 'r', '1'}

// Header flags (storage.md, "Header body").
const (
	flagCompat     = 1 << 0
	flagSecretKey  = 1 << 1
	flagTruncating = 1 << 2
	knownFlags     = flagCompat | flagSecretKey | flagTruncating
)

// encodeBody returns the header body (storage.md, "Header body"). The
// caller has checked h with checkHeader.
func encodeBody(h *Header) []byte {
	b := make([]byte, 0, 160+len(h.Manifest)+len(h.Signature)+len(h.Extra)+40*len(h.Tree.Roots))
	b = append(b, h.Key[:]...)
	var flags uint64
	if h.Compat {
		flags |= flagCompat
	}
	if h.SecretKey != nil {
		flags |= flagSecretKey
	}
	if h.Truncating {
		flags |= flagTruncating
	}
	b = compact.AppendUint(b, flags)
	b = compact.AppendBuffer(b, h.Manifest)
	b = compact.AppendUint(b, h.Tree.Fork)
	b = compact.AppendUint(b, h.Tree.Length)
	for _, r := range h.Tree.Roots {
		b = compact.AppendUint(b, r.Size)
		b = append(b, r.Hash[:]...)
	}
	b = compact.AppendBuffer(b, h.Signature)
	if h.Truncating {
		b = compact.AppendUint(b, h.TruncateTo)
	}
	b = compact.AppendBuffer(b, h.Extra)
	return b
}

// decodeBody parses a header body strictly. hasSecret reports the
// secret-key flag; the key itself is read from its file by the caller.
func decodeBody(body []byte) (h Header, hasSecret bool, err error) {
	d := compact.NewDecoder(body)
	h.Key = d.Fixed32()
	flags := d.Uint()
	if d.Err() == nil && flags&^knownFlags != 0 {
		return Header{}, false, fmt.Errorf("%w: header flags %#x", ErrCorrupt, flags)
	}
	h.Compat = flags&flagCompat != 0
	hasSecret = flags&flagSecretKey != 0
	h.Truncating = flags&flagTruncating != 0
	h.Manifest = cloneBytes(d.Buffer())
	h.Tree.Fork = d.Uint()
	h.Tree.Length = d.Uint()
	if d.Err() == nil {
		// Length ≤ 2^53−1 (d.Uint), so 2·Length fits and FullRoots
		// returns at most 53 indexes: the loop is bounded.
		idx, _ := flattree.FullRoots(2 * h.Tree.Length)
		for _, i := range idx {
			size := d.Uint()
			hash := d.Fixed32()
			if d.Err() != nil {
				break
			}
			h.Tree.Roots = append(h.Tree.Roots, merkle.Node{Index: i, Size: size, Hash: hash})
		}
	}
	h.Signature = cloneBytes(d.Buffer())
	if h.Truncating {
		h.TruncateTo = d.Uint()
	}
	h.Extra = cloneBytes(d.Buffer())
	// MUST: "A body MUST decode to its last byte, with no unknown flag,
	// fork, length and sizes at most 2^53 − 1, the roots' sizes summing to
	// at most 2^53 − 1, truncateTo ≤ length, and a manifest (when present)
	// that decodes."
	if err := d.Err(); err != nil {
		return Header{}, false, fmt.Errorf("%w: header body: %w", ErrCorrupt, err)
	}
	if d.Remaining() != 0 {
		return Header{}, false, fmt.Errorf("%w: %d bytes after the header body", ErrCorrupt, d.Remaining())
	}
	if err := checkTree(&h.Tree); err != nil {
		return Header{}, false, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if h.Truncating && h.TruncateTo > h.Tree.Length {
		return Header{}, false, fmt.Errorf("%w: truncation to %d past length %d", ErrCorrupt, h.TruncateTo, h.Tree.Length)
	}
	if h.Manifest != nil {
		if _, err := merkle.DecodeManifest(h.Manifest); err != nil {
			return Header{}, false, fmt.Errorf("%w: manifest: %w", ErrCorrupt, err)
		}
	}
	return h, hasSecret, nil
}

// checkTree reports whether t is a tree the store can hold: fork and
// length at most 2^53−1, roots exactly at flattree.FullRoots(2·length),
// and their sizes summing to at most 2^53−1.
func checkTree(t *merkle.Tree) error {
	if t.Fork > compact.MaxSafeInteger || t.Length > compact.MaxSafeInteger {
		return fmt.Errorf("tree fork %d length %d above 2^53-1", t.Fork, t.Length)
	}
	want, _ := flattree.FullRoots(2 * t.Length)
	if len(want) != len(t.Roots) {
		return fmt.Errorf("%d roots for length %d, want %d", len(t.Roots), t.Length, len(want))
	}
	var sum uint64
	for i, r := range t.Roots {
		if r.Index != want[i] {
			return fmt.Errorf("root %d is node %d, want %d", i, r.Index, want[i])
		}
		if r.Size > compact.MaxSafeInteger-sum {
			return fmt.Errorf("roots hold more than 2^53-1 bytes")
		}
		sum += r.Size
	}
	return nil
}

// encodeSlot returns a whole header slot:
//
//	magic ‖ uint64le(seq) ‖ uint32le(len(body)) ‖ body ‖ BLAKE2b-256(all before)
func encodeSlot(seq uint64, body []byte) []byte {
	b := make([]byte, 0, slotPrefix+len(body)+slotSum)
	b = append(b, slotMagic[:]...)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, body...)
	sum := blake2b.Sum256(b)
	return append(b, sum[:]...)
}

// slotState is what readSlot found.
type slotState int

const (
	slotBlank   slotState = iota // never written: past the file's end, or a prefix of zeros
	slotInvalid                  // written but not whole (torn) or damaged: wrong magic, length or checksum
	slotValid
)

// readSlot reads header slot i from a header file of the given size. A
// slot whose checksum holds but whose body does not decode is ErrCorrupt:
// the store never writes one, so it is not a torn write.
func readSlot(f io.ReaderAt, size int64, i int) (slotState, uint64, []byte, error) {
	off := int64(i) * SlotSize
	if off >= size {
		return slotBlank, 0, nil, nil
	}
	var pre [slotPrefix]byte
	n, err := f.ReadAt(pre[:], off)
	if err != nil && err != io.EOF {
		return 0, 0, nil, err
	}
	if allZero(pre[:n]) {
		return slotBlank, 0, nil, nil
	}
	if n < slotPrefix || !bytes.Equal(pre[:8], slotMagic[:]) {
		return slotInvalid, 0, nil, nil
	}
	seq := binary.LittleEndian.Uint64(pre[8:])
	blen := int64(binary.LittleEndian.Uint32(pre[16:]))
	// MUST: "A reader MUST check a slot's body length against
	// MaxHeaderSize and against the bytes the file holds before it reads
	// or allocates the body."
	if blen > MaxHeaderSize || off+slotPrefix+blen+slotSum > size {
		return slotInvalid, 0, nil, nil
	}
	buf := make([]byte, slotPrefix+blen+slotSum)
	if _, err := f.ReadAt(buf, off); err != nil {
		if err == io.EOF {
			return slotInvalid, 0, nil, nil
		}
		return 0, 0, nil, err
	}
	sum := blake2b.Sum256(buf[:slotPrefix+blen])
	if !bytes.Equal(sum[:], buf[slotPrefix+blen:]) {
		return slotInvalid, 0, nil, nil
	}
	return slotValid, seq, buf[slotPrefix : slotPrefix+blen], nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

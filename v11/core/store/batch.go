package store

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// A Batch is a set of changes that Commit makes as one crash-safe step
// (storage.md, "Commit"). The zero Batch is empty and ready to use. A
// Batch keeps the slices it is given until Commit returns.
type Batch struct {
	header     *Header
	truncate   bool
	truncateTo uint64
	nodes      []merkle.Node
	blocks     []blockPut
	clears     [][2]uint64
}

type blockPut struct {
	index uint64
	data  []byte
}

// SetHeader sets the header the commit ends with. Every Commit that
// changes the tree sets one; the first Commit of a store must.
func (b *Batch) SetHeader(h Header) { b.header = &h }

// Truncate drops, before anything else of the batch, every block at or past
// length and every node over a leaf at or past 2·length: the point where
// the new tree parts from the stored one. The batch must set a header
// whose tree is at least length long (normally at fork+1).
func (b *Batch) Truncate(length uint64) { b.truncate, b.truncateTo = true, length }

// PutNode stores nodes of the batch's tree.
func (b *Batch) PutNode(nodes ...merkle.Node) { b.nodes = append(b.nodes, nodes...) }

// PutBlock stores block index and sets its bit. Its leaf must be in the
// batch or stored, with the block's size, and so must the nodes
// flattree.FullRoots(2·index) that give its byte offset.
func (b *Batch) PutBlock(index uint64, data []byte) {
	b.blocks = append(b.blocks, blockPut{index, data})
}

// ClearBlocks removes the blocks in [start, end) (their bits, and their
// bytes where the backend can free them); their nodes stay. Clears apply
// before the batch's puts.
func (b *Batch) ClearBlocks(start, end uint64) {
	if start < end {
		b.clears = append(b.clears, [2]uint64{start, end})
	}
}

func (b *Batch) empty() bool {
	return b.header == nil && !b.truncate && len(b.nodes) == 0 && len(b.blocks) == 0 && len(b.clears) == 0
}

// plan is a checked batch: what Commit writes, in order, and the state it
// installs after.
type plan struct {
	newH       Header
	headerBody []byte // nil: the header does not change

	drop          bool // truncate the old tree at dropAt
	dropAt        uint64
	dropDataEnd   uint64
	dropDataKnown bool
	markerBody    []byte

	bits     *bitEdit
	clearing []pending // bitfield writes of the clears
	setting  []pending // bitfield writes of the puts
	discards [][2]uint64
	secret   bool
	records  []recordWrite
	datas    []dataWrite
	contig   uint64 // contiguous length before the puts
}

type recordWrite struct {
	node   merkle.Node
	offset uint64
}

type dataWrite struct {
	offset uint64
	data   []byte
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidBatch, fmt.Sprintf(format, args...))
}

// Commit makes the batch's changes as one step (storage.md, "Commit"): it
// checks the whole batch first and writes nothing if a rule is broken
// (ErrInvalidBatch, ErrTooBig); then it writes, in this order, an
// interrupted-truncation marker and the truncation, the clears, the
// secret key, nodes and blocks, the bits of the new blocks, and the new
// header. A process killed at any point leaves files that Open reads as
// the state before the commit or after it (after an interrupted truncation,
// the state before it less the dropped data). On a write error nothing
// changes in memory, and later commits fail with ErrFailed.
func (s *Store) Commit(b *Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.failed != nil {
		return fmt.Errorf("%w: %w", ErrFailed, s.failed)
	}
	if b.empty() {
		return nil
	}
	p := &plan{bits: newBitEdit(s), contig: s.contig}
	if err := s.prepare(b, p); err != nil {
		p.bits.rollback()
		return err
	}
	if err := s.apply(p); err != nil {
		p.bits.rollback()
		s.failed = err
		return err
	}
	s.install(p)
	return nil
}

// prepare checks b against the committed state and plans its writes in
// p. Its bitfield edits are in the cache already; the caller rolls them
// back on error.
func (s *Store) prepare(b *Batch, p *plan) error {
	old := &s.h
	if b.header == nil {
		if !s.has {
			return invalid("the first commit must set a header")
		}
		if b.truncate {
			return invalid("a truncation must set a header")
		}
		p.newH = old.clone()
	} else {
		p.newH = b.header.clone()
		p.newH.Truncating, p.newH.TruncateTo = false, 0
		if err := s.checkHeader(&p.newH); err != nil {
			return err
		}
		p.secret = p.newH.SecretKey != nil && old.SecretKey == nil
	}
	newLen := p.newH.Tree.Length

	// base is the length of the stored tree that the new one extends.
	base := old.Tree.Length
	if b.truncate {
		if !s.has || b.truncateTo > old.Tree.Length {
			return invalid("truncation to %d past length %d", b.truncateTo, old.Tree.Length)
		}
		if newLen < b.truncateTo {
			return invalid("truncation to %d but the new tree has length %d", b.truncateTo, newLen)
		}
		base = b.truncateTo
		p.drop = base < old.Tree.Length
		p.dropAt = base
	} else if newLen < old.Tree.Length {
		// MUST: "A batch without a truncation MUST NOT shrink the length."
		return invalid("length %d below the stored %d without Truncate", newLen, old.Tree.Length)
	}

	// The nodes the commit can see: the batch's, the new roots, the old
	// roots and records below the base.
	bn := make(map[uint64]merkle.Node, len(b.nodes))
	for _, n := range b.nodes {
		// MUST: "Commit MUST refuse a node over a leaf at or past
		// 2·length of the new tree."
		if n.Index >= 2*newLen || flattree.RightSpan(n.Index) >= 2*newLen {
			return invalid("node %d outside a tree of length %d", n.Index, newLen)
		}
		if n.Size > compact.MaxSafeInteger {
			return invalid("node %d of size %d", n.Index, n.Size)
		}
		bn[n.Index] = n
	}
	lookup := func(i uint64) (merkle.Node, bool, error) {
		if n, ok := bn[i]; ok {
			return n, true, nil
		}
		if n, ok := findRoot(p.newH.Tree.Roots, i); ok {
			return n, true, nil
		}
		if flattree.RightSpan(i) >= 2*base {
			return merkle.Node{}, false, nil
		}
		if n, ok := findRoot(old.Tree.Roots, i); ok {
			return n, true, nil
		}
		n, _, ok, err := s.readRecord(i)
		return n, ok, err
	}

	if p.drop {
		end, known, err := byteOffset(base, lookup)
		if err != nil {
			return err
		}
		p.dropDataEnd, p.dropDataKnown = end, known
		m := old.clone()
		m.Truncating, m.TruncateTo = true, base
		if old.Truncating {
			m.TruncateTo = min(base, old.TruncateTo)
		}
		p.markerBody = encodeBody(&m)
		if len(p.markerBody) > MaxHeaderSize {
			return fmt.Errorf("%w: header of %d bytes", ErrTooBig, len(p.markerBody))
		}
		p.bits.cut, p.bits.cutAt = true, base
		if base%pageBits != 0 {
			if _, err := p.bits.get(base / pageBits); err != nil {
				return err
			}
		}
		p.contig = min(p.contig, base)
	}

	// Clears, on the bits below the base (none are set past it).
	for _, c := range b.clears {
		end := min(c[1], base)
		for i := c[0]; i < end; i++ {
			var err error
			if i, err = s.scan(i, end, true); err != nil {
				return err
			}
			if i >= end {
				break
			}
			if err := p.bits.set(i, false); err != nil {
				return err
			}
			p.contig = min(p.contig, i)
			if leaf, off, ok, err := s.readRecord(2 * i); err != nil {
				return err
			} else if ok && leaf.Size > 0 {
				if k := len(p.discards) - 1; k >= 0 && p.discards[k][0]+p.discards[k][1] == off {
					p.discards[k][1] += leaf.Size
				} else {
					p.discards = append(p.discards, [2]uint64{off, leaf.Size})
				}
			}
		}
	}
	p.clearing = p.bits.take()

	// Blocks.
	leafOffset := map[uint64]uint64{}
	for _, bp := range b.blocks {
		i := bp.index
		if i >= newLen {
			return invalid("block %d past length %d", i, newLen)
		}
		if len(bp.data) > MaxBlockSize {
			return fmt.Errorf("%w: block %d of %d bytes", ErrTooBig, i, len(bp.data))
		}
		leaf, ok, err := lookup(2 * i)
		if err != nil {
			return err
		}
		// MUST: "Commit MUST refuse a block whose leaf is neither in the
		// batch nor stored, or has another size."
		if !ok {
			return invalid("block %d without its leaf", i)
		}
		if leaf.Size != uint64(len(bp.data)) {
			return invalid("block %d of %d bytes, its leaf says %d", i, len(bp.data), leaf.Size)
		}
		if i < base {
			if present, err := p.bits.value(i); err != nil {
				return err
			} else if present {
				continue // stored already; its bytes are not written again
			}
		}
		if _, dup := leafOffset[2*i]; dup {
			continue
		}
		off, ok, err := byteOffset(i, lookup)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: block %d: %w (left of it)", ErrInvalidBatch, i, ErrMissingNode)
		}
		if off > compact.MaxSafeInteger-leaf.Size {
			return invalid("block %d ends past 2^53-1", i)
		}
		leafOffset[2*i] = off
		if len(bp.data) > 0 {
			p.datas = append(p.datas, dataWrite{off, bp.data})
		}
		if err := p.bits.set(i, true); err != nil {
			return err
		}
	}
	p.setting = p.bits.take()

	// Node records: the batch's nodes, the leaves of new blocks, the new
	// roots. A record that already holds the same node is not written
	// again (a torn rewrite would lose it).
	// bn gets the other records to write; every lookup is done.
	for i := range leafOffset {
		if _, ok := bn[i]; !ok {
			n, _, _ := lookup(i)
			bn[i] = n
		}
	}
	for _, r := range p.newH.Tree.Roots {
		if _, ok := bn[r.Index]; ok {
			continue
		}
		if o, ok := findRoot(old.Tree.Roots, r.Index); ok && o == r && flattree.RightSpan(r.Index) < 2*base {
			continue // written when it became a root, and not dropped
		}
		bn[r.Index] = r
	}
	for i, n := range bn {
		off, put := leafOffset[i]
		if !put && i%2 == 0 && i/2 < base {
			if present, err := p.bits.value(i / 2); err != nil {
				return err
			} else if present {
				continue // a stored block's leaf, kept with its offset
			}
		}
		if flattree.RightSpan(i) < 2*base {
			cur, curOff, ok, err := s.readRecord(i)
			if err != nil {
				return err
			}
			if ok && cur == n && (!put || curOff == off) {
				continue
			}
		}
		p.records = append(p.records, recordWrite{n, off})
	}

	// A header equal to the stored one is not written again (a feed may set
	// the header on every commit).
	if b.header != nil && !(s.has && !old.Truncating && sameHeader(&p.newH, old)) {
		p.headerBody = encodeBody(&p.newH)
		// MUST: "Commit MUST refuse a header whose body passes
		// MaxHeaderSize."
		if len(p.headerBody) > MaxHeaderSize {
			return fmt.Errorf("%w: header of %d bytes", ErrTooBig, len(p.headerBody))
		}
	}
	return nil
}

// checkHeader checks a new header against the stored one.
func (s *Store) checkHeader(h *Header) error {
	old := &s.h
	if err := checkTree(&h.Tree); err != nil {
		return invalid("%v", err)
	}
	if h.SecretKey != nil {
		if len(h.SecretKey) != ed25519.PrivateKeySize ||
			!bytes.Equal(ed25519.NewKeyFromSeed(h.SecretKey[:ed25519.SeedSize]), h.SecretKey) {
			return invalid("the secret key is not an Ed25519 private key")
		}
	}
	if h.Manifest != nil && !bytes.Equal(h.Manifest, old.Manifest) {
		if _, err := merkle.DecodeManifest(h.Manifest); err != nil {
			return fmt.Errorf("%w: manifest: %w", ErrInvalidBatch, err)
		}
	}
	if !s.has {
		return nil
	}
	// MUST: "Commit MUST refuse a header that changes the key, the compat
	// flag, a stored manifest or a stored secret key, or lowers the fork."
	switch {
	case h.Key != old.Key:
		return invalid("the key changes")
	case h.Compat != old.Compat:
		return invalid("the compat flag changes")
	case old.Manifest != nil && !bytes.Equal(h.Manifest, old.Manifest):
		return invalid("the manifest changes")
	case old.SecretKey != nil && !bytes.Equal(h.SecretKey, old.SecretKey):
		return invalid("the secret key changes")
	case h.Tree.Fork < old.Tree.Fork:
		return invalid("fork %d below the stored %d", h.Tree.Fork, old.Tree.Fork)
	}
	return nil
}

// sameHeader reports whether two headers would be encoded alike.
func sameHeader(a, b *Header) bool {
	return a.Key == b.Key && bytes.Equal(a.Manifest, b.Manifest) && bytes.Equal(a.SecretKey, b.SecretKey) &&
		a.Compat == b.Compat && a.Tree.Fork == b.Tree.Fork && a.Tree.Length == b.Tree.Length &&
		equalNodes(a.Tree.Roots, b.Tree.Roots) && bytes.Equal(a.Signature, b.Signature) &&
		bytes.Equal(a.Extra, b.Extra) && a.Truncating == b.Truncating && a.TruncateTo == b.TruncateTo
}

func equalNodes(a, b []merkle.Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func findRoot(roots []merkle.Node, i uint64) (merkle.Node, bool) {
	for _, r := range roots {
		if r.Index == i {
			return r, true
		}
	}
	return merkle.Node{}, false
}

// apply writes a plan in the order of storage.md, "Write order".
func (s *Store) apply(p *plan) error {
	sync := func(files ...interface{ Sync() error }) error {
		if !s.sync {
			return nil
		}
		for _, f := range files {
			if err := f.Sync(); err != nil {
				return err
			}
		}
		return nil
	}
	if p.drop {
		// 1. The marker: the old header, saying a truncation is under way.
		if err := s.writeHeader(p.markerBody); err != nil {
			return err
		}
		if err := sync(s.header); err != nil {
			return err
		}
		// 2. The truncation.
		if err := s.drop(p.dropAt, p.dropDataEnd, p.dropDataKnown); err != nil {
			return err
		}
	}
	// 3. The clears: bits first, then the bytes.
	if err := s.writeBits(p.clearing); err != nil {
		return err
	}
	for _, d := range p.discards {
		if err := s.data.Discard(int64(d[0]), int64(d[1])); err != nil {
			return err
		}
	}
	if err := sync(s.bits, s.tree, s.data); err != nil {
		return err
	}
	// 4. The secret key, the nodes and the blocks.
	if p.secret {
		if _, err := s.secret.WriteAt(p.newH.SecretKey, 0); err != nil {
			return err
		}
	}
	for _, r := range p.records {
		if err := s.writeRecord(r.node, r.offset); err != nil {
			return err
		}
	}
	for _, d := range p.datas {
		if _, err := s.data.WriteAt(d.data, int64(d.offset)); err != nil {
			return err
		}
		s.dataSize = max(s.dataSize, int64(d.offset)+int64(len(d.data)))
	}
	if err := sync(s.secret, s.tree, s.data); err != nil {
		return err
	}
	// 5. The bits of the new blocks.
	if err := s.writeBits(p.setting); err != nil {
		return err
	}
	if err := sync(s.bits); err != nil {
		return err
	}
	// 6. The header.
	if p.headerBody != nil {
		if err := s.writeHeader(p.headerBody); err != nil {
			return err
		}
		if err := sync(s.header); err != nil {
			return err
		}
	}
	return nil
}

// writeBits writes bitfield byte ranges.
func (s *Store) writeBits(ps []pending) error {
	for _, w := range ps {
		off := int64(w.p)*PageSize + int64(w.lo)
		if _, err := s.bits.WriteAt(w.bytes, off); err != nil {
			return err
		}
		s.bitsSize = max(s.bitsSize, off+int64(len(w.bytes)))
	}
	return nil
}

// writeHeader writes body to the older slot with the next sequence number.
// A store's first header is written twice, to slot 1 and then to slot 0,
// so that a torn first write leaves slot 0 blank (storage.md, "Header
// slots").
func (s *Store) writeHeader(body []byte) error {
	if !s.has && s.seq == 0 {
		if _, err := s.header.WriteAt(encodeSlot(1, body), SlotSize); err != nil {
			return err
		}
		if s.sync {
			if err := s.header.Sync(); err != nil {
				return err
			}
		}
		s.seq = 1
	}
	seq := s.seq + 1
	if _, err := s.header.WriteAt(encodeSlot(seq, body), int64(seq%2)*SlotSize); err != nil {
		return err
	}
	s.seq = seq
	return nil
}

// install makes a written plan the committed state.
func (s *Store) install(p *plan) {
	s.h = p.newH
	s.has = true
	p.bits.finish()
	c, err := s.scan(p.contig, s.h.Tree.Length, false)
	if err != nil {
		c = p.contig
	}
	s.contig = min(c, s.h.Tree.Length)
}

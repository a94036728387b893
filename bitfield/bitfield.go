package bitfield

import (
	"errors"
	"fmt"

	"github.com/hypercore-go/hypercore/flattree"
)

// Page layout (spec/bitfield.md, "Pages"). One page covers 8192 blocks.
const (
	DataSize  = 1024 // data bits: has block
	TreeSize  = 2048 // tree bits: has node
	IndexSize = 512  // index: summary of the data bits
	PageSize  = DataSize + TreeSize + IndexSize
	// HeaderSize is the size of the bitfield file's header.
	HeaderSize = 32
	// BlocksPerPage is the number of blocks one page covers.
	BlocksPerPage = 8 * DataSize
)

var (
	// ErrPageSize is returned for a bitfield file whose header announces a
	// page size other than 3584 (hypercore 9 creates no other; older feeds
	// used 3328).
	ErrPageSize = errors.New("bitfield: unsupported page size")
	// ErrHeader is returned for a bitfield file whose header is not a
	// bitfield header.
	ErrHeader = errors.New("bitfield: invalid file header")
)

// Bitfield is a feed's three bitfields in one set of pages, as
// hypercore/lib/bitfield.js keeps them: Data (which blocks the feed has),
// Tree (which Merkle nodes it has) and the index, a summary of the data
// bits that JS uses to skip ahead and that this package maintains only so
// that the pages it writes are byte-identical to JS.
type Bitfield struct {
	pages *pager
	data  *Sparse
	tree  *Sparse
	index *Sparse
	// length is JS's Bitfield.length: the data bits' length as of the last
	// Set. Compress and Expand depend on it.
	length uint64
}

// New returns an empty bitfield.
func New() *Bitfield { return fromPager(newPager(PageSize)) }

func fromPager(p *pager) *Bitfield {
	b := &Bitfield{
		pages: p,
		data:  newView(p, 0, DataSize),
		tree:  newView(p, DataSize, TreeSize),
		index: newView(p, DataSize+TreeSize, IndexSize),
	}
	b.length = b.data.Len()
	return b
}

// Data returns the data bits (has block i).
func (b *Bitfield) Data() *Sparse { return b.data }

// Tree returns the tree bits (has node i), on which a TreeIndex works.
func (b *Bitfield) Tree() *Sparse { return b.tree }

// Len returns JS's Bitfield.length: 8 × the data bytes in use as of the
// last Set.
func (b *Bitfield) Len() uint64 { return b.length }

// Get reports whether the feed has block i.
func (b *Bitfield) Get(i uint64) bool { return b.data.Get(i) }

// Lookup tables of lib/bitfield.js.
var (
	// indexUpdateMask[o] clears the 2-bit slot o of an index byte.
	indexUpdateMask = [4]byte{63, 207, 243, 252}
	// mapParentRight[x] reduces byte x to 4 bits: each nibble becomes 11
	// if it is 1111, 00 if 0000, 01 otherwise.
	mapParentRight [256]byte
)

func init() {
	for i := range 256 {
		a, c := i>>4, i&15
		mapParentRight[i] = nibble(a)<<2 | nibble(c)
	}
}

func nibble(n int) byte {
	switch n {
	case 15:
		return 3
	case 0:
		return 0
	}
	return 1
}

// indexValue is the 2-bit summary of a data byte, in the top two bits.
func indexValue(v byte) byte {
	switch v {
	case 0xff:
		return 0xc0
	case 0:
		return 0
	}
	return 0x40
}

// Set sets the data bit of block i and reports whether it changed. The
// index summary is updated as JS updates it.
func (b *Bitfield) Set(i uint64, v bool) bool {
	o := i & 7
	j := i >> 3
	cur := b.data.Byte(j)
	var nb byte
	if v {
		nb = cur | 0x80>>o
	} else {
		nb = cur &^ (0x80 >> o)
	}
	if !b.data.SetByte(j, nb) {
		return false
	}
	b.length = b.data.Len()
	b.setIndex(j, nb)
	return true
}

// setIndex records that data byte i now holds value (lib/bitfield.js
// _setIndex). The summary of each group of four data bytes is an index
// leaf; parents combine their children. The walk stops at the first byte
// that does not change or at the end of the allocated pages, which is what
// makes the index bytes depend on history.
func (b *Bitfield) setIndex(i uint64, value byte) {
	o := i & 3
	i >>= 2
	idx := b.index
	start := 2 * i
	cur := (idx.Byte(start) & indexUpdateMask[o]) | indexValue(value)>>(2*o)
	oldLen := idx.Len()
	maxLength := b.pages.length * IndexSize

	it := flattree.NewIterator(start)
	for it.Index() < maxLength && idx.SetByte(it.Index(), cur) {
		if it.IsLeft() {
			cur = mapParentRight[cur]<<4 | mapParentRight[idx.Byte(it.Sibling())]
		} else {
			cur = mapParentRight[cur] | mapParentRight[idx.Byte(it.Sibling())]<<4
		}
		it.Parent()
	}
	if oldLen != idx.Len() {
		b.Expand(oldLen)
	}
}

// Expand is lib/bitfield.js _expand(n): for each root of the flat tree over
// the first n index positions, recompute parents upwards while they lie
// within the index's length and change. JS calls it from setIndex, from
// total() and when an iterator's range goes past Len(); a feed that wants
// byte-identical pages calls it where JS does (with n in the units JS
// passes, mixed as they are).
func (b *Bitfield) Expand(n uint64) {
	roots, _ := flattree.FullRoots(2 * n)
	idx := b.index
	it := flattree.NewIterator(0)
	for _, r := range roots {
		it.Seek(r)
		cur := idx.Byte(it.Index())
		for {
			if it.IsLeft() {
				cur = mapParentRight[cur]<<4 | mapParentRight[idx.Byte(it.Sibling())]
			} else {
				cur = mapParentRight[cur] | mapParentRight[idx.Byte(it.Sibling())]<<4
			}
			p := it.Parent()
			if 8*p >= idx.Len() || !idx.SetByte(p, cur) {
				break
			}
		}
	}
}

// Total returns the number of blocks held in [start, end), as JS's total():
// when end is past the data bits' length it first calls Expand(end), which
// can change index bytes. Use Data().Count for a count without that effect.
func (b *Bitfield) Total(start, end uint64) uint64 {
	if end > b.data.Len() {
		b.Expand(end)
	}
	return b.data.Count(start, end)
}

// Compress returns the run-length encoded data bits of blocks [start,
// start+length), as lib/bitfield.js compress() builds a Have bitfield:
// length is cut to the data bits' length (at least 1 bit), and
// Compress(0, 0) encodes every data bit. start should be a multiple of
// 8192 (hypercore only answers such Wants). A start+length past 2^64−1 is
// cut like any other (JS's doubles do not wrap), so what is encoded is
// never more than the bitfield holds.
func (b *Bitfield) Compress(start, length uint64) []byte {
	if start == 0 && length == 0 {
		return EncodeRLE(b.dataBytes(0, b.data.byteLength))
	}
	if end := start + length; end < start || end > b.length {
		if b.length > start+1 {
			length = b.length - start
		} else {
			length = 1
		}
	}
	return EncodeRLE(b.dataBytes(start/8, (length+7)/8))
}

// dataBytes copies n data bytes from byte offset off.
func (b *Bitfield) dataBytes(off, n uint64) []byte {
	out := make([]byte, n)
	for p, ok := b.pages.nextPage(off / DataSize); ok && p*DataSize < off+n; p, ok = b.pages.nextPage(p + 1) {
		src := b.data.pageBytes(p)
		lo := max(off, p*DataSize)
		hi := min(off+n, (p+1)*DataSize)
		copy(out[lo-off:hi-off], src[lo-p*DataSize:hi-p*DataSize])
	}
	return out
}

// Header returns the 32-byte header of the bitfield file:
// 05 02 57 00 00 0e 00 00 and 24 zero bytes.
func Header() []byte {
	h := make([]byte, HeaderSize)
	copy(h, []byte{0x05, 0x02, 0x57, 0x00, 0x00, 0x0e, 0x00, 0x00})
	return h
}

// DecodeFile reads a whole bitfield file: the header and the pages after it. A
// file shorter than the header is an empty bitfield (JS treats it as a new
// file and rewrites the header). A last page cut short reads as if padded
// with zeros, and holes read as zero pages, as in JS.
func DecodeFile(file []byte) (*Bitfield, error) {
	if len(file) < HeaderSize {
		return New(), nil
	}
	h := file[:HeaderSize]
	if h[0] != 0x05 || h[1] != 0x02 || h[2] != 0x57 || h[3] != 0x00 {
		return nil, fmt.Errorf("%w: starts %x, want 05025700", ErrHeader, h[:4])
	}
	// The entry size of the bitfield header is the page size. Hypercore 9
	// writes 3584; other sizes (3328 in older feeds) are not supported.
	if size := int(h[5])<<8 | int(h[6]); size != PageSize {
		return nil, fmt.Errorf("%w: %d, want %d", ErrPageSize, size, PageSize)
	}
	p := newPager(PageSize)
	body := file[HeaderSize:]
	for n := uint64(0); len(body) > 0; n++ {
		k := min(len(body), PageSize)
		p.set(n, body[:k])
		body = body[k:]
	}
	return fromPager(p), nil
}

// PageWrite is a page to write to the bitfield file: Data (3584 bytes) at
// byte Offset (32 + 3584 × page number).
type PageWrite struct {
	Offset int64
	Data   []byte
}

// TakeUpdates returns the pages changed since the last call, whole, in the
// order JS writes them (the last changed first), and forgets them. The
// result and its Data alias the bitfield (no copy, no allocation once warm):
// they are valid until the bitfield next changes or TakeUpdates is called
// again, so write them at once.
func (b *Bitfield) TakeUpdates() []PageWrite {
	p := b.pages
	out := p.writes[:0]
	for k := len(p.dirty) - 1; k >= 0; k-- {
		pg := p.dirty[k]
		pg.updated = false
		out = append(out, PageWrite{Offset: HeaderSize + int64(pg.n)*PageSize, Data: pg.buf})
	}
	clear(p.dirty) // hold no page a later change frees
	p.dirty = p.dirty[:0]
	p.writes = out
	return out
}

// PendingUpdates reports whether pages changed since TakeUpdates.
func (b *Bitfield) PendingUpdates() bool { return len(b.pages.dirty) > 0 }

// EncodeFile returns the whole bitfield file: header and every page up to the
// highest one allocated (unallocated pages as zeros).
func (b *Bitfield) EncodeFile() []byte {
	out := Header()
	for n := uint64(0); n < b.pages.length; n++ {
		if pg := b.pages.get(n); pg != nil {
			out = append(out, pg.buf...)
		} else {
			out = append(out, make([]byte, PageSize)...)
		}
	}
	return out
}

// PageCount returns the number of pages (the highest allocated page + 1).
func (b *Bitfield) PageCount() uint64 { return b.pages.length }

// Range does to the bitfield what creating a JS iterator over [start, end)
// does (iterator.range): Expand(end) when end is past Len(). It exists so
// that a feed can keep its pages byte-identical with JS; finding blocks
// does not need it.
func (b *Bitfield) Range(end uint64) {
	if end > b.length {
		b.Expand(end)
	}
}

// NextMissing returns the first block in [start, end) the feed does not
// have, or false.
func (b *Bitfield) NextMissing(start, end uint64) (uint64, bool) { return b.data.NextUnset(start, end) }

// NextHeld returns the first block in [start, end) the feed has, or false.
func (b *Bitfield) NextHeld(start, end uint64) (uint64, bool) { return b.data.NextSet(start, end) }

package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"

	"github.com/hypercore-go/hypercore/flattree"
)

// Reading a feed in order (spec/feed.md, "Reading"): ReadStream is JS
// createReadStream (hypercore-streams' ReadStream), a sequence of blocks;
// Reader is JS hypercore-byte-stream, the feed's bytes as an
// io.ReadSeeker.

// ReadStreamOptions are JS createReadStream's options.
type ReadStreamOptions struct {
	// Start is the first block (JS start).
	Start uint64
	// End is the block to stop before (JS end). 0 means the default: the
	// feed's length when the stream starts (JS snapshot: true), or, with
	// NoSnapshot, its length when each block is about to be read.
	End uint64
	// NoSnapshot ends the stream at the feed's length as it is when the
	// stream gets there, not as it was when it started (JS snapshot:
	// false). It applies only when End is 0.
	NoSnapshot bool
	// Live follows the feed as it grows and never ends (JS live: true):
	// after the last block it waits for the next one. Only ctx, an error
	// or the caller's break ends it. It overrides End.
	Live bool
	// Tail starts at the feed's length when the stream starts instead of
	// at Start (JS tail: true); with Live, it yields only new blocks.
	Tail bool
	// Get says how each block is read (JS wait, timeout, ifAvailable):
	// the stream reads block i with GetWith(ctx, i, &Get). A live stream
	// over a writable feed waits for its own appends, so it sets
	// WaitForPeers for the blocks past its length.
	Get GetOptions
}

// ReadStream returns the blocks of the feed in order, from opts.Start to
// the end opts say (JS feed.createReadStream). Blocks not stored locally
// are fetched from peers as GetWith fetches them. On an error the stream
// yields (nil, err) once and stops; err is what GetWith returns
// (ErrNoPeers, ErrNotAvailable, ErrNotAvailableFromPeers, ErrCancelled,
// ErrClosed, or ctx.Err() when ctx ends). A nil opts reads a snapshot of
// the whole feed.
func (f *Feed) ReadStream(ctx context.Context, opts *ReadStreamOptions) iter.Seq2[[]byte, error] {
	var o ReadStreamOptions
	if opts != nil {
		o = *opts
	}
	return func(yield func([]byte, error) bool) {
		length := f.Length()
		start, end := o.Start, o.End
		if o.Tail {
			start = length
		}
		following := false // NoSnapshot: the end is the length now
		switch {
		case o.Live:
			end = ^uint64(0)
		case end == 0 && o.NoSnapshot:
			end, following = ^uint64(0), true
		case end == 0:
			end = length
		}
		writable := f.Writable()
		for i := start; i < end; i++ {
			if following && i >= f.Length() {
				return
			}
			get := o.Get
			if writable && o.Live && i >= f.Length() {
				get.WaitForPeers = true // the next block is our own append
			}
			block, err := f.GetWith(ctx, i, &get)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(block, nil) {
				return
			}
		}
	}
}

// Reader reads the feed's bytes, the blocks one after another, as JS
// hypercore-byte-stream does, and seeks by byte offset. It fetches from
// peers only the blocks it reads, and for a Seek only the tree nodes on
// the way to the byte (proofs without blocks). It implements io.Reader,
// io.Seeker and io.Closer; it is not safe for concurrent use, except that
// Close may be called while a Read waits.
type Reader struct {
	f      *Feed
	ctx    context.Context
	cancel context.CancelFunc
	opts   GetOptions

	offset uint64 // the byte the next Read starts at
	// the block that holds offset, once found: block index, its first
	// byte in the feed, and its bytes (nil until read)
	located    bool
	index      uint64
	blockStart uint64
	block      []byte

	mu     sync.Mutex
	closed bool
}

// NewReader returns a Reader at byte 0 of the feed. ctx bounds every Read
// (Close ends it too); opts say how blocks are waited for, as GetWith's
// (nil: GetContext's). A Read returns io.EOF at the feed's ByteLength as
// it is when it reads: a clone should Update first to learn the length.
func (f *Feed) NewReader(ctx context.Context, opts *GetOptions) *Reader {
	r := &Reader{f: f}
	if opts != nil {
		r.opts = *opts
	}
	r.ctx, r.cancel = context.WithCancel(ctx)
	return r
}

// Read reads the bytes at the reader's offset: from one block, fetched
// from peers when not stored. It returns io.EOF at the feed's ByteLength
// (or past it, after a Seek), ErrClosed after Close, and GetWith's errors
// (ErrNoPeers, ErrNotAvailableFromPeers, ErrCancelled, ctx.Err(), ...)
// when a block or a node of the tree cannot be had.
func (r *Reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return 0, fmt.Errorf("%w: reader", ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if r.offset >= r.f.ByteLength() {
			return 0, io.EOF
		}
		if !r.located {
			index, inBlock, err := r.f.seekRemote(r.ctx, r.offset, &r.opts)
			if err != nil {
				return 0, r.err(err)
			}
			r.located, r.index, r.blockStart, r.block = true, index, r.offset-inBlock, nil
		}
		if r.block == nil {
			b, err := r.f.GetWith(r.ctx, r.index, &r.opts)
			if err != nil {
				return 0, r.err(err)
			}
			r.block = b
		}
		in := r.offset - r.blockStart
		if in < uint64(len(r.block)) {
			n := copy(p, r.block[in:])
			r.offset += uint64(n)
			return n, nil
		}
		// past this block (or an empty one): the next block starts here
		r.index, r.blockStart, r.block = r.index+1, r.blockStart+uint64(len(r.block)), nil
	}
}

// err is ErrClosed for a Read that Close interrupted.
func (r *Reader) err(err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed && errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: reader", ErrClosed)
	}
	return err
}

// Seek sets the offset of the next Read (io.Seeker): whence io.SeekStart,
// io.SeekCurrent, or io.SeekEnd (relative to the feed's ByteLength now).
// An offset past the end is allowed (Read returns io.EOF); a negative
// result or an unknown whence is ErrOutOfRange. Seek itself fetches
// nothing: the next Read finds the block.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = int64(r.offset)
	case io.SeekEnd:
		base = int64(r.f.ByteLength())
	default:
		return int64(r.offset), fmt.Errorf("%w: whence %d", ErrOutOfRange, whence)
	}
	abs := base + offset
	if abs < 0 || (offset > 0 && abs < base) {
		return int64(r.offset), fmt.Errorf("%w: seek to %d%+d", ErrOutOfRange, base, offset)
	}
	r.offset = uint64(abs)
	if r.located && (r.offset < r.blockStart || r.block == nil || r.offset >= r.blockStart+uint64(len(r.block))) {
		r.located, r.block = false, nil // not in the block held
	}
	return abs, nil
}

// Close ends the reader: a Read waiting returns ErrClosed, as do later
// ones. It does not close the feed.
func (r *Reader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	return nil
}

// seekRemote is Seek for a feed whose tree is partly remote: where the
// descent from a root finds a node whose children are not stored, it asks
// the peers for the hash (a proof without the block) of the first block
// under that node, which brings both children, and goes on. JS instead
// sends a Request with a byte offset; the answer is the same nodes and the
// whole block.
func (f *Feed) seekRemote(ctx context.Context, offset uint64, opts *GetOptions) (index, inBlock uint64, err error) {
	last := ^uint64(0)
	for {
		f.mu.Lock()
		index, inBlock, err = f.seekLocked(offset)
		f.mu.Unlock()
		var m *missingNodeError
		if !errors.As(err, &m) {
			return index, inBlock, err
		}
		if m.node == last {
			return 0, 0, err // the proof did not bring the children
		}
		last = m.node
		if err := f.waitHash(ctx, flattree.LeftSpan(m.node)/2, opts); err != nil {
			return 0, 0, err
		}
	}
}

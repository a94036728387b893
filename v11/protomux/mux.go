package protomux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Stream is a bidirectional stream of whole messages, such as a
// secret-stream connection.
//
// ReadMessage returns the next message; the slice must not be reused by
// the stream afterwards, because the mux hands parts of it to callbacks,
// which may keep them. ReadMessage returns io.EOF when the remote ended the
// stream cleanly. WriteMessage writes one message; the mux calls it from one
// goroutine at a time. Close unblocks a pending ReadMessage and
// WriteMessage.
type Stream interface {
	ReadMessage() ([]byte, error)
	WriteMessage(p []byte) error
	Close() error
}

// Sentinel errors, one per failure class (protomux.md, "Errors").
var (
	// ErrProtocol is wrapped by every error for something the remote sent
	// that ends the mux.
	ErrProtocol = errors.New("protomux: protocol error")
	// ErrBadFrame: a frame or control message that does not decode (JS "Out
	// of bounds"), a batch entry longer than the bytes left, a batch inside
	// a batch.
	ErrBadFrame = fmt.Errorf("%w: malformed frame", ErrProtocol)
	// ErrInvalidOpen: an open on channel id 0, more than one above the
	// remote's highest id, or for a remote id in use (JS "Invalid open
	// message").
	ErrInvalidOpen = fmt.Errorf("%w: invalid open message", ErrProtocol)
	// ErrInvalidReject: a reject for a channel that is not waiting for the
	// remote's open (JS "Invalid reject message").
	ErrInvalidReject = fmt.Errorf("%w: invalid reject message", ErrProtocol)
	// ErrTooManyChannels: a remote channel id above Options.MaxChannels, or
	// an Open when MaxChannels local ids are in use.
	ErrTooManyChannels = fmt.Errorf("%w: too many channels", ErrProtocol)
	// ErrTooLarge: a frame, protocol or id longer than its Options limit.
	ErrTooLarge = fmt.Errorf("%w: over a size limit", ErrProtocol)

	// ErrSlowPeer: more than Options.MaxQueued bytes waited to be written.
	ErrSlowPeer = errors.New("protomux: peer too slow, send queue full")
	// ErrClosed is wrapped by what methods return after the mux ended.
	ErrClosed = errors.New("protomux: mux closed")
	// ErrChannelClosed: Send or Close on a channel that is not open (never
	// opened, rejected or closed).
	ErrChannelClosed = errors.New("protomux: channel not open")
	// ErrAlreadyOpen: Open on a channel opened before, or while another
	// channel of the same (protocol, id) is open on this mux.
	ErrAlreadyOpen = errors.New("protomux: channel already open")
	// ErrUnknownType: Send with a type outside the channel's table.
	ErrUnknownType = errors.New("protomux: message type outside the channel's table")
)

// Defaults for Options.
const (
	// DefaultMaxChannels is the default Options.MaxChannels.
	DefaultMaxChannels = 16384
	// DefaultMaxFrameSize is the default Options.MaxFrameSize, 16 MiB: a
	// secret-stream message carries at most 2^24-1-17 bytes.
	DefaultMaxFrameSize = 1 << 24
	// DefaultMaxProtocolLength is the default Options.MaxProtocolLength.
	DefaultMaxProtocolLength = 1024
	// DefaultMaxIDLength is the default Options.MaxIDLength.
	DefaultMaxIDLength = 1024
	// MaxBatch is the size at which a cork's batch is sent and a new one
	// started, 8 MiB (JS MAX_BATCH).
	MaxBatch = 8 << 20
	// DefaultMaxQueued is the default Options.MaxQueued, 32 MiB.
	DefaultMaxQueued = 32 << 20
)

// Options holds a mux's local limits; a zero field takes its default.
type Options struct {
	// MaxChannels bounds the remote's channel ids and the local ids in
	// use.
	MaxChannels int
	// MaxFrameSize bounds a received frame and a frame this side sends.
	MaxFrameSize int
	// MaxProtocolLength and MaxIDLength bound an open's protocol and id.
	MaxProtocolLength int
	MaxIDLength       int
	// MaxQueued bounds the bytes waiting to be written; more ends the mux
	// with ErrSlowPeer.
	MaxQueued int
}

func (o *Options) resolve() Options {
	var r Options
	if o != nil {
		r = *o
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&r.MaxChannels, DefaultMaxChannels)
	def(&r.MaxFrameSize, DefaultMaxFrameSize)
	def(&r.MaxProtocolLength, DefaultMaxProtocolLength)
	def(&r.MaxIDLength, DefaultMaxIDLength)
	def(&r.MaxQueued, DefaultMaxQueued)
	return r
}

// PairFunc is called on the reader for an open from the remote that no
// local channel is waiting for. To accept it, it creates a channel with the
// same protocol and id and opens it before returning; otherwise the mux
// rejects the open.
type PairFunc func(protocol string, id []byte)

// infoKey identifies a channel across the two sides: (protocol, id). An
// empty id is no id.
type infoKey struct{ protocol, id string }

// info is the pairing state of one (protocol, id) and its aliases (JS
// Protomux._infos).
type info struct {
	keys     []infoKey
	opened   int        // channels of this key opened locally and not closed
	outgoing []*Channel // opened locally, waiting for the remote's open, in order
	pending  *pending   // a remote open offered to a pair handler right now
}

// pending is a remote open offered to a pair handler.
type pending struct {
	remoteID uint64
	claimed  *Channel
}

// Mux carries channels over a Stream. Create it with New, start its reader
// with Run.
type Mux struct {
	s   Stream
	opt Options
	lim limits

	mu     sync.Mutex
	wake   *sync.Cond // the writer waits on it for frames
	local  []*Channel // by local id - 1; nil when free or reserved
	free   []uint64   // free local ids - 1, reused last-freed first (JS _free)
	remote []*Channel // by remote id - 1; nil when not open
	infos  map[infoKey]*info
	pairs  map[infoKey]PairFunc

	corked    int
	batch     []batchEntry
	batchSize int

	out    [][]byte // frames waiting for the writer
	queued int      // bytes in out and being written
	drain  []drainWait
	ended  bool
	err    error // why the mux ended; nil for a clean end
	done   chan struct{}

	// set by endLocked for unlock
	endPending bool
	closing    []*Channel
	closeOnce  sync.Once
}

// New returns a mux over s and starts its writer. Call Run to read; Close
// (or the end of Run) stops the writer.
func New(s Stream, opts *Options) *Mux {
	o := opts.resolve()
	m := &Mux{
		s:     s,
		opt:   o,
		lim:   limits{maxFrame: o.MaxFrameSize, maxProtocol: o.MaxProtocolLength, maxID: o.MaxIDLength},
		infos: map[infoKey]*info{},
		pairs: map[infoKey]PairFunc{},
		done:  make(chan struct{}),
	}
	m.wake = sync.NewCond(&m.mu)
	go m.writer()
	return m
}

func keyOf(protocol string, id []byte) infoKey { return infoKey{protocol, string(id)} }

// Pair registers fn for remote opens of protocol with the given id, or
// with any id when id is empty (a handler for the exact id is preferred).
// It replaces an earlier handler for the same key.
func (m *Mux) Pair(protocol string, id []byte, fn PairFunc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pairs[keyOf(protocol, id)] = fn
}

// Unpair removes the handler registered for (protocol, id).
func (m *Mux) Unpair(protocol string, id []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pairs, keyOf(protocol, id))
}

// Opened reports whether a channel of (protocol, id) is open on this side
// (opened and not closed, paired or not).
func (m *Mux) Opened(protocol string, id []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	inf := m.infos[keyOf(protocol, id)]
	return inf != nil && inf.opened > 0
}

// Cork starts collecting what this side sends into one batch frame, sent
// by the matching Uncork. Corks nest; only the outermost Uncork sends.
func (m *Mux) Cork() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.corked++
}

// Uncork ends a Cork; the outermost sends the batch (if anything was sent
// while corked). An Uncork without a Cork does nothing.
func (m *Mux) Uncork() {
	m.mu.Lock()
	defer m.unlock()
	m.uncorkLocked()
}

func (m *Mux) uncorkLocked() {
	if m.corked == 0 {
		return
	}
	m.corked--
	if m.corked == 0 {
		m.flushBatch()
	}
}

// flushBatch queues the batch collected so far as one frame.
func (m *Mux) flushBatch() {
	if len(m.batch) == 0 {
		return
	}
	frame := appendBatch(make([]byte, 0, m.batchSize+1), m.batch)
	m.batch = nil
	m.batchSize = 0
	m.enqueue(frame)
}

// pushBatch adds an entry to the current batch. As in JS, a batch that has
// reached MaxBatch is sent first; so is one that the entry would take past
// MaxFrameSize (JS has no such check; its transport would refuse the frame).
func (m *Mux) pushBatch(e batchEntry) {
	if len(m.batch) > 0 {
		n := entrySize(m.batch[len(m.batch)-1].channel, false, e)
		if m.batchSize < MaxBatch && m.batchSize+n <= m.opt.MaxFrameSize {
			m.batchSize += n
			m.batch = append(m.batch, e)
			return
		}
		m.flushBatch()
	}
	m.batchSize = 1 + entrySize(0, true, e) // the batch's leading 00, then e
	m.batch = append(m.batch, e)
}

// write0 sends a control frame (00 ‖ type ‖ body): into the batch without
// its leading 00 when corked, as a frame otherwise.
func (m *Mux) write0(frame []byte) {
	if m.corked > 0 {
		m.pushBatch(batchEntry{channel: 0, body: frame[1:]})
		return
	}
	m.enqueue(frame)
}

// enqueue hands a frame to the writer.
func (m *Mux) enqueue(frame []byte) {
	if m.ended {
		return
	}
	m.out = append(m.out, frame)
	m.queued += len(frame)
	if m.queued > m.opt.MaxQueued {
		m.endLocked(fmt.Errorf("%w: %d bytes waiting", ErrSlowPeer, m.queued))
		return
	}
	m.wake.Signal()
}

// Queued returns the bytes waiting to be written.
func (m *Mux) Queued() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.queued
}

type drainWait struct {
	below int
	fn    func()
}

// WhenDrained arranges for fn to run, once and on a goroutine of its own,
// when fewer than below bytes wait to be written (at once if that is so
// now). It never runs after the mux has ended.
func (m *Mux) WhenDrained(below int, fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended {
		return
	}
	if m.queued < below {
		go fn()
		return
	}
	m.drain = append(m.drain, drainWait{below, fn})
}

func (m *Mux) drained() {
	kept := m.drain[:0]
	for _, d := range m.drain {
		if m.queued < d.below {
			go d.fn()
		} else {
			kept = append(kept, d)
		}
	}
	clear(m.drain[len(kept):])
	m.drain = kept
}

// writer writes queued frames to the stream in order.
func (m *Mux) writer() {
	m.mu.Lock()
	for {
		for len(m.out) == 0 && !m.ended {
			m.wake.Wait()
		}
		if m.ended {
			m.mu.Unlock()
			return
		}
		frames := m.out
		m.out = nil
		m.mu.Unlock()
		for _, f := range frames {
			if err := m.s.WriteMessage(f); err != nil {
				m.end(fmt.Errorf("protomux: write: %w", err))
				return
			}
			m.mu.Lock()
			if m.ended {
				m.mu.Unlock()
				return
			}
			m.queued -= len(f)
			m.drained()
			m.mu.Unlock()
		}
		m.mu.Lock()
	}
}

// Done is closed when the mux has ended.
func (m *Mux) Done() <-chan struct{} { return m.done }

// Err returns why the mux ended: nil while it runs and after a clean end
// (Close, or the stream's io.EOF).
func (m *Mux) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// closedErr is what a method returns after the end; m.mu is held.
func (m *Mux) closedErr() error {
	if m.err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, m.err)
	}
	return ErrClosed
}

// Close ends the mux at once, as JS destroy does: frames still queued are
// dropped, the stream is closed, and every open channel is closed as by the
// remote (OnClose with remote true). To end gracefully, close the channels
// and wait with WhenDrained(1, ...) before calling Close.
func (m *Mux) Close() error {
	m.end(nil)
	return nil
}

// end ends the mux with err (nil for a clean end): see endLocked.
func (m *Mux) end(err error) {
	m.mu.Lock()
	m.endLocked(err)
	m.unlock()
}

// endLocked ends the mux; m.mu is held. The first call wins. Every open
// channel is closed; the stream is closed and the channels' OnClose
// callbacks run in unlock, once m.mu is released, on this goroutine.
func (m *Mux) endLocked(err error) {
	if m.ended {
		return
	}
	m.ended = true
	m.err = err
	m.out = nil
	m.queued = 0
	m.drain = nil
	m.batch = nil
	for _, c := range m.local {
		if c != nil && c.state != stateClosed {
			m.closeLocked(c)
			m.closing = append(m.closing, c)
		}
	}
	m.endPending = true
	m.wake.Broadcast()
	close(m.done)
}

// unlock releases m.mu and then finishes an end that happened while it was
// held: it closes the stream and runs the OnClose callbacks of the channels
// the end closed. Every method that may end the mux unlocks with it.
func (m *Mux) unlock() {
	run, closing := m.endPending, m.closing
	m.endPending, m.closing = false, nil
	m.mu.Unlock()
	if !run {
		return
	}
	m.closeOnce.Do(func() { m.s.Close() })
	for _, c := range closing {
		c.closed(true)
	}
}

// Run reads frames and dispatches them until the stream ends, ctx is done,
// the remote breaks the protocol, a callback returns an error, or the mux is
// closed. It returns nil for a clean end (io.EOF or Close), ctx.Err() when
// ctx ended it, and otherwise the error that ended the mux. Run must be
// called once.
func (m *Mux) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { m.end(ctx.Err()) })
	defer stop()
	var msgs []message
	for {
		frame, err := m.s.ReadMessage()
		if err != nil {
			if errors.Is(err, io.EOF) {
				m.end(nil)
			} else {
				m.end(fmt.Errorf("protomux: read: %w", err))
			}
			break
		}
		// A receiver MUST decode a batch whole, checking every entry,
		// before it acts on any message in it.
		msgs, err = parseFrame(frame, m.lim, msgs[:0])
		if err == nil {
			err = m.dispatch(msgs)
		}
		clear(msgs)
		if err != nil {
			m.end(err)
			break
		}
	}
	<-m.done
	return m.Err()
}

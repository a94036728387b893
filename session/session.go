// Package session implements a Hypercore 9 replication session: the Noise
// XX handshake, the XSalsa20 transport cipher, the capability that proves
// knowledge of a feed key, channels, and the keep-alive and receive
// timeouts, specified in spec/session.md. It carries frames and channels and
// knows nothing of feeds.
//
// A session runs over one connection. [New] performs the handshake; [Run]
// reads and dispatches frames until the session ends. Feeds are replicated
// over channels: [Session.Open] opens one for a feed key and delivers the
// channel's messages to a [Handler]. Sending is safe from any goroutine;
// frames are queued, encrypted in order and written by one writer
// goroutine, so a handler that sends never blocks on the network.
package session

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/message"
)

// Why a session ended: Run returns nil or an error that matches (errors.Is)
// exactly one of these reasons.
//
//   - nil: a clean end by either side: a session that is not live finished
//     (both sides closed their channels), or the peer ended the connection
//     cleanly (end of stream).
//   - ErrClosed: closed locally: Close, CloseWithError with an error that
//     wraps it, or Run's context ended (the error then also wraps the
//     context's error).
//   - ErrConnection: the connection was lost (a reset, a failed read or
//     write).
//   - ErrProtocol: the peer broke the protocol (a frame or message that
//     does not decode, a wrong capability, too many channels, or what a
//     replicator ends the session for: a proof that does not verify, an
//     exceeded budget).
//   - ErrTimeout: the peer was silent or did not read for the timeout, or
//     let more than MaxQueued bytes pile up (ErrSlowPeer).
//
// ErrHandshake is New's, before there is a session.
var (
	// ErrHandshake is returned when the Noise handshake fails: a malformed
	// or oversized handshake message, a failed decryption, a missing or
	// malformed payload, or a connection that ends early.
	ErrHandshake = errors.New("session: handshake failed")
	// ErrBadCapability is returned when the remote peer opens a channel
	// with a missing or wrong capability. It wraps ErrProtocol.
	ErrBadCapability = fmt.Errorf("%w: invalid remote channel capability", ErrProtocol)
	// ErrTimeout is returned when nothing was received for the timeout, or
	// the peer did not read what was sent for that long.
	ErrTimeout = errors.New("session: timed out")
	// ErrClosed is returned by operations on a closed session.
	ErrClosed = errors.New("session: closed")
	// ErrChannelClosed is returned when sending on a channel that is not
	// open.
	ErrChannelClosed = errors.New("session: channel closed")
	// ErrAlreadyOpen is returned by Open for a feed whose channel is
	// already open.
	ErrAlreadyOpen = errors.New("session: channel already open")
	// ErrTooManyChannels is returned when the peer opens more channels than
	// Config.MaxChannels. It wraps ErrProtocol.
	ErrTooManyChannels = fmt.Errorf("%w: too many channels", ErrProtocol)
	// ErrProtocol is returned when the peer sends a frame or message that
	// does not decode; it wraps the message package's error.
	ErrProtocol = errors.New("session: protocol error")
	// ErrConnection is returned when reading from or writing to the
	// connection fails (the peer reset or closed it mid-stream); it wraps
	// the connection's error.
	ErrConnection = errors.New("session: connection failed")
	// ErrSlowPeer is returned when more bytes wait to be sent to the peer
	// than the send queue may hold: the peer asks faster than it reads. It
	// wraps ErrTimeout.
	ErrSlowPeer = fmt.Errorf("%w: peer too slow, send queue full", ErrTimeout)
)

// Defaults (spec/session.md, "Keep-alive and timeouts").
const (
	DefaultTimeout     = 20 * time.Second
	DefaultMaxChannels = 16384
	// MaxQueued is how many encrypted bytes may wait to be written to the
	// peer (queued and being written together). Sending never waits: a send
	// that finds more than this queued ends the session with ErrSlowPeer.
	// A sender that produces much (a replicator answering requests) keeps
	// below it with Queued and WhenDrained.
	MaxQueued = 32 << 20
	// writeChunk is the most the writer hands the connection at once, so
	// that a peer that stops reading is noticed within the timeout however
	// much is queued: each chunk must be taken within the timeout.
	writeChunk = 256 << 10
)

// Config configures a session.
type Config struct {
	// Initiator says whether this side starts the handshake. Exactly one
	// side of a connection must be the initiator.
	Initiator bool
	// KeyPair is this side's Noise static key pair; a new one is generated
	// from Random when nil.
	KeyPair *KeyPair
	// Random supplies the key pair (when generated), then the 24-byte
	// transport nonce, then the ephemeral key. crypto/rand when nil; a fixed
	// reader replays a session exactly.
	Random io.Reader
	// Timeout ends the session when nothing was received for this long; a
	// keep-alive is sent after Timeout/2 without sending. 0 means
	// DefaultTimeout; a negative value disables both.
	Timeout time.Duration
	// Live keeps the session open when its last channel closes. A session
	// that is not live ends its sending side once no channel is left.
	Live bool
	// MaxChannels bounds the channels of a session (opened by either side);
	// 0 means DefaultMaxChannels.
	MaxChannels int
	// OnDiscoveryKey is called (from Run's goroutine) when the remote opens
	// a channel for a feed this side has not opened. It may call Open, or
	// Reject to tell the remote that this side does not have the feed;
	// otherwise the channel stays pending, as in JS.
	OnDiscoveryKey func(s *Session, discoveryKey []byte)
	// OnOptions and OnExtension receive session-level (channel 0) Options
	// and Extension messages.
	OnOptions   func(s *Session, m *message.Options)
	OnExtension func(s *Session, m *message.Extension)
	// Trace, when set, sees every message after the handshake: sent is
	// true for a message this side sends (when it is queued), false for one
	// received (before it is handled). It is for debugging and logs; it
	// must not block or keep m.
	Trace func(sent bool, channel uint64, m message.Message)
	// ReuseData says that the handlers keep nothing of a Data message (its
	// Value, Nodes and Signature) once Message returns: the session then
	// reads the frames that follow into the memory of large Data frames it
	// has handled.
	ReuseData bool
}

// Handler receives the events of one channel, from Run's goroutine.
type Handler interface {
	// Opened is called when both sides have opened the channel and the
	// remote capability has been verified.
	Opened(ch *Channel)
	// Message is called for every message the remote sends on the channel
	// after it is open (Open and Close excluded). Byte fields of m alias a
	// buffer that is not reused.
	Message(ch *Channel, m message.Message)
	// Closed is called once when the channel closes: err is nil when either
	// side closed it, and the session's error when the session ended.
	Closed(ch *Channel, err error)
}

// Session is one replication connection.
type Session struct {
	cfg       Config
	conn      io.ReadWriter
	res       *handshakeResult
	timeout   time.Duration
	keepAlive time.Duration

	recv    *recvPipe    // the frames received, read ahead (recv.go)
	writeAt atomic.Int64 // unix nanoseconds a chunk's write began; 0 when not writing
	done    chan struct{}

	mu        sync.Mutex
	cond      *sync.Cond // signals queue changes
	out       [][]byte   // plaintext waiting for the writer, in pieces; the last is being filled
	outLen    int        // bytes in out
	spare     [][]byte   // empty pieces of pieceSize bytes, for reuse
	outSpare  [][]byte   // an empty list of pieces, the last one written, for reuse
	writing   int        // bytes handed to the writer and not yet written
	drain     []drainWait
	enc       *xsalsa20 // the writer's alone: frames are queued in plaintext
	lastSend  time.Time
	err       error // why the session ended
	closed    bool
	finalized bool
	endedByUs bool // we closed a connection without half-close after finalizing
	byDK      map[string]*Channel
	local     []*Channel // by local id; index 0 unused
	// remote maps the remote's channel ids to channels until the remote's
	// Close, also for channels this side has closed already
	remote map[uint64]*Channel
}

// Channel is one feed replicated over a session.
type Channel struct {
	s            *Session
	key          []byte
	discoveryKey []byte
	handler      Handler
	localID      uint64 // 0 when not open locally
	remoteID     uint64
	remoteOpen   bool
	remoteCap    []byte
	opened       bool // Opened was delivered
}

// New runs the handshake over conn and returns the session, ready to
// Open channels and Run. ctx bounds the handshake; when conn is a net.Conn
// its deadline is used, otherwise a conn that is an io.Closer is closed
// when ctx ends.
func New(ctx context.Context, conn io.ReadWriter, cfg Config) (*Session, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxChannels <= 0 {
		cfg.MaxChannels = DefaultMaxChannels
	}
	kp := cfg.KeyPair
	if kp == nil {
		k, err := GenerateKeyPair(cfg.Random)
		if err != nil {
			return nil, err
		}
		kp = &k
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	stop := interruptOnDone(ctx, conn)
	// the handshake's messages are small; after it, the frame reader's
	// reads (of recvBuffer or more) go past this buffer once the bytes
	// that arrived with the last handshake message are taken
	br := bufio.NewReaderSize(conn, 4<<10)
	res, err := handshake(conn, br, cfg.Initiator, *kp, cfg.Random)
	if !stop() {
		// ctx ended during the handshake and the conn was interrupted
		return nil, fmt.Errorf("%w: %w", ErrHandshake, ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	s := &Session{
		cfg:    cfg,
		conn:   conn,
		res:    res,
		done:   make(chan struct{}),
		enc:    newXSalsa20(&res.tx, &res.localNonce),
		byDK:   map[string]*Channel{},
		local:  []*Channel{nil},
		remote: map[uint64]*Channel{},
	}
	s.cond = sync.NewCond(&s.mu)
	s.timeout = cfg.Timeout
	s.keepAlive = (cfg.Timeout + 1) / 2
	s.recv = newRecvPipe(br, newXSalsa20(&res.rx, &res.remoteNonce), s.done)
	s.lastSend = time.Now()
	go s.writer()
	if cfg.Timeout > 0 {
		go s.watchdog()
	}
	return s, nil
}

// interruptOnDone arranges for blocked I/O on conn to fail when ctx ends.
// The returned stop function undoes it and reports whether ctx was still
// live.
func interruptOnDone(ctx context.Context, conn io.ReadWriter) (stop func() bool) {
	if nc, ok := conn.(net.Conn); ok {
		if d, ok := ctx.Deadline(); ok {
			nc.SetDeadline(d)
		}
		stopWatch := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
		return func() bool {
			live := stopWatch()
			nc.SetDeadline(time.Time{})
			return live || ctx.Err() == nil
		}
	}
	if c, ok := conn.(io.Closer); ok {
		stopWatch := context.AfterFunc(ctx, func() { c.Close() })
		return func() bool { return stopWatch() || ctx.Err() == nil }
	}
	return func() bool { return true }
}

// RemotePublicKey returns the remote peer's Noise static public key.
func (s *Session) RemotePublicKey() [32]byte { return s.res.remoteStatic }

// HandshakeHash returns the Noise handshake hash (64 bytes).
func (s *Session) HandshakeHash() []byte { return append([]byte(nil), s.res.hash...) }

// Capability returns the capability this side sends for a feed key.
func (s *Session) Capability(key []byte) [32]byte { return Capability(&s.res.tx, &s.res.rx, key) }

// RemoteCapability returns the capability the remote must send for a key.
func (s *Session) RemoteCapability(key []byte) [32]byte {
	return RemoteCapability(&s.res.tx, &s.res.rx, key)
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended, or nil while it runs or after a clean
// end.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the session: queued frames are dropped and the connection, if
// it is an io.Closer, is closed. Run returns ErrClosed.
func (s *Session) Close() error {
	s.fail(ErrClosed)
	return nil
}

// CloseWithError ends the session as Close does, with err as the reason
// Run returns (JS: stream.destroy(err)). A replicator uses it to drop a
// peer that sent something that does not verify.
func (s *Session) CloseWithError(err error) {
	if err == nil {
		err = ErrClosed
	}
	s.fail(err)
}

// fail ends the session with err (the first error wins).
func (s *Session) fail(err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.err = err
	s.drain = nil
	s.cond.Broadcast()
	s.mu.Unlock()
	if c, ok := s.conn.(io.Closer); ok {
		c.Close()
	}
}

// send queues one encoded frame (or any plaintext stream bytes).
func (s *Session) send(frame []byte) error { return s.queue(0, nil, frame) }

// sendMessage queues the frame of m on channel id, encoding it straight
// into the queue.
func (s *Session) sendMessage(id uint64, m message.Message) error { return s.queue(id, m, nil) }

// queue queues m's frame on channel id, or the bytes of frame when m is
// nil. Frames are queued in plaintext, in send order; the writer goroutine
// encrypts and writes them in that order. It never waits for the peer:
// when more than MaxQueued bytes already wait, the session ends with
// ErrSlowPeer.
func (s *Session) queue(id uint64, m message.Message, frame []byte) error {
	if s.cfg.Trace != nil {
		if m != nil {
			frame, m = message.AppendFrame(nil, id, m), nil
		}
		s.traceSent(frame)
	}
	s.mu.Lock()
	if s.closed {
		defer s.mu.Unlock()
		return s.closedErr()
	}
	if s.finalized {
		s.mu.Unlock()
		return ErrChannelClosed
	}
	if q := s.outLen + s.writing; q > MaxQueued {
		s.mu.Unlock()
		err := fmt.Errorf("%w: %d bytes wait to be sent", ErrSlowPeer, q)
		s.fail(err)
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	defer s.mu.Unlock()
	n := len(frame)
	if m != nil {
		n = message.FrameSize(id, m)
	}
	piece := s.piece(n)
	if m != nil {
		*piece = message.AppendFrame(*piece, id, m)
	} else {
		*piece = append(*piece, frame...)
	}
	s.outLen += n
	s.lastSend = time.Now()
	s.cond.Broadcast()
	return nil
}

// pieceSize is the size of the pieces the send queue is made of: frames are
// appended to the last piece while they fit, so queued bytes are never
// copied to grow the queue, and the writer writes a piece at a time.
const pieceSize = writeChunk

// piece returns the queue's piece to append n bytes to; s.mu is held.
func (s *Session) piece(n int) *[]byte {
	if k := len(s.out); k > 0 && cap(s.out[k-1])-len(s.out[k-1]) >= n {
		return &s.out[k-1]
	}
	var b []byte
	switch k := len(s.spare); {
	case n > pieceSize:
		b = make([]byte, 0, n) // a frame larger than a piece: one of its own
	case k > 0:
		b, s.spare = s.spare[k-1], s.spare[:k-1]
	default:
		b = make([]byte, 0, pieceSize)
	}
	s.out = append(s.out, b)
	return &s.out[len(s.out)-1]
}

// Queued returns how many bytes wait to be written to the peer.
func (s *Session) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outLen + s.writing
}

// drainWait is a WhenDrained registration.
type drainWait struct {
	below int
	fn    func()
}

// WhenDrained arranges for fn to run, once and on a goroutine of its own,
// when fewer than below bytes wait to be written (at once if that is so
// now). It never runs after the session has ended. A sender that may
// produce much uses it to wait for the peer without blocking anyone.
func (s *Session) WhenDrained(below int, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.outLen+s.writing < below {
		go fn()
		return
	}
	s.drain = append(s.drain, drainWait{below, fn})
}

// drained runs the WhenDrained registrations whose level was reached; s.mu
// is held.
func (s *Session) drained() {
	q := s.outLen + s.writing
	kept := s.drain[:0]
	for _, d := range s.drain {
		if q < d.below {
			go d.fn()
		} else {
			kept = append(kept, d)
		}
	}
	clear(s.drain[len(kept):])
	s.drain = kept
}

func (s *Session) closedErr() error {
	if s.err != nil && s.err != ErrClosed {
		return fmt.Errorf("%w: %w", ErrClosed, s.err)
	}
	return ErrClosed
}

// writer writes queued bytes to the connection, coalescing frames.
func (s *Session) writer() {
	for {
		s.mu.Lock()
		for s.outLen == 0 && !s.closed && !s.finalizeNow() {
			s.cond.Wait()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		if s.outLen == 0 { // finalized and drained: end our side
			s.mu.Unlock()
			if cw, ok := s.conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			} else if c, ok := s.conn.(io.Closer); ok {
				// no half-close (a pipe): the session is over, end it
				s.mu.Lock()
				s.endedByUs = true
				s.mu.Unlock()
				c.Close()
			}
			return
		}
		// take every piece: the queue starts again with new or spare
		// pieces, never one being written
		pieces := s.out
		s.out, s.outSpare = s.outSpare[:0], nil
		s.writing, s.outLen = s.outLen, 0
		s.mu.Unlock()
		var err error
		for _, b := range pieces {
			if err = s.write(b); err != nil {
				break
			}
		}
		if err != nil {
			s.mu.Lock()
			s.writing = 0
			done := s.finalized
			if done {
				// the peer ended the connection after our last channel
				// closed: a clean end
				s.endedByUs = true
			}
			s.mu.Unlock()
			if done {
				if c, ok := s.conn.(io.Closer); ok {
					c.Close()
				}
				return
			}
			s.fail(fmt.Errorf("%w: write: %w", ErrConnection, err))
			return
		}
		s.mu.Lock()
		for _, b := range pieces { // keep two pieces for reuse
			if cap(b) == pieceSize && len(s.spare) < 2 {
				s.spare = append(s.spare, b[:0])
			}
		}
		clear(pieces)
		s.outSpare = pieces[:0]
		s.mu.Unlock()
	}
}

// write encrypts buf and writes it in chunks of at most writeChunk bytes,
// recording when each began, so the watchdog can end a session whose peer
// does not take a chunk within the timeout (spec/session.md, "Keep-alive
// and timeouts"). Encrypting here, not when a frame is queued, lets the
// sender prepare the next frames meanwhile.
func (s *Session) write(buf []byte) error {
	for len(buf) > 0 {
		n := min(len(buf), writeChunk)
		s.enc.XORKeyStream(buf[:n], buf[:n])
		s.writeAt.Store(time.Now().UnixNano())
		_, err := s.conn.Write(buf[:n])
		s.writeAt.Store(0)
		if err != nil {
			return err
		}
		buf = buf[n:]
		s.mu.Lock()
		s.writing -= n
		if len(s.drain) > 0 {
			s.drained()
		}
		s.mu.Unlock()
	}
	return nil
}

// finalizeNow reports whether the writer should end the sending side. A
// connection that can half-close (TCP) does so as soon as the session is
// finalized, as JS ends its stream. One that cannot (a pipe) must be closed
// whole, which would cut off the peer's last frames: it waits until the
// peer has also closed every channel.
func (s *Session) finalizeNow() bool {
	if !s.finalized {
		return false
	}
	if _, ok := s.conn.(interface{ CloseWrite() error }); ok {
		return true
	}
	return len(s.remote) == 0
}

// watchdog sends keep-alives and enforces both timeouts: the peer was
// silent while we waited to read, or did not take what we wrote. It never
// waits on the send queue (sending does not wait).
func (s *Session) watchdog() {
	tick := time.NewTicker(min(time.Second, s.keepAlive/4+time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-tick.C:
			if s.recv.clock.silent(now) > s.timeout {
				s.fail(fmt.Errorf("%w: nothing received for %v", ErrTimeout, s.timeout))
				return
			}
			if at := s.writeAt.Load(); at != 0 && now.Sub(time.Unix(0, at)) > s.timeout {
				s.fail(fmt.Errorf("%w: the peer did not read for %v", ErrTimeout, s.timeout))
				return
			}
			s.mu.Lock()
			idle := now.Sub(s.lastSend) >= s.keepAlive && s.outLen+s.writing == 0 && !s.finalized && !s.closed
			s.mu.Unlock()
			if idle {
				s.send(message.KeepAlive)
			}
		}
	}
}

// Run reads and dispatches frames until the session ends. It returns nil
// for a clean end by either side, and otherwise an error matching one of
// the reasons listed with ErrClosed, ErrConnection, ErrProtocol and
// ErrTimeout (see "Why a session ended" above). Handlers are called from
// Run's goroutine. When Run returns, every channel still open has been
// closed.
func (s *Session) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.fail(fmt.Errorf("%w: %w", ErrClosed, ctx.Err())) })
	defer stop()
	go s.recv.run()
	var err error
	readErr := false // err came from reading the connection
	for {
		var f message.Frame
		f, err = s.recv.next()
		if err != nil {
			readErr = true
			break
		}
		if err = s.dispatch(f); err != nil {
			break
		}
		if s.cfg.ReuseData {
			reuse(f)
		}
	}
	s.recv.stop()
	s.mu.Lock()
	ended := s.err
	if s.endedByUs && ended == nil {
		err = io.EOF // our own clean end
	}
	s.mu.Unlock()
	if ended == nil && ctx.Err() != nil {
		// ctx ended, and the session ended before the AfterFunc above
		// could say so (the peer, told by the same cancellation, may hang
		// up first): the reason is still ours
		ended = fmt.Errorf("%w: %w", ErrClosed, ctx.Err())
	}
	switch {
	case ended != nil:
		err = ended // the reason we closed the connection
	case errors.Is(err, io.EOF):
		err = nil
	case errors.Is(err, message.ErrTruncated) || errors.Is(err, message.ErrFrameTooLarge) ||
		errors.Is(err, message.ErrVarintOverflow) || errors.Is(err, message.ErrInvalidFrame):
		err = fmt.Errorf("%w: %w", ErrProtocol, err)
	case readErr:
		err = fmt.Errorf("%w: read: %w", ErrConnection, err)
	}
	if err != nil {
		s.fail(err)
	} else {
		s.fail(ErrClosed)
		s.mu.Lock()
		s.err = nil
		s.mu.Unlock()
	}
	s.closeAll(err)
	close(s.done)
	return err
}

// closeAll closes every channel at the end of the session.
func (s *Session) closeAll(err error) {
	s.mu.Lock()
	var open []*Channel
	for _, ch := range s.byDK {
		if ch.localID != 0 {
			open = append(open, ch)
			ch.localID = 0
		}
	}
	s.byDK = map[string]*Channel{}
	s.local = []*Channel{nil}
	s.remote = map[uint64]*Channel{}
	s.mu.Unlock()
	if err == nil {
		err = io.EOF
	}
	for _, ch := range open {
		ch.handler.Closed(ch, err)
	}
}

// dispatch handles one received frame (spec/session.md, "Channels").
func (s *Session) dispatch(f message.Frame) error {
	if f.KeepAlive || !f.Type.Known() {
		return nil // JS ignores types 11 to 14
	}
	m, err := f.Decode()
	if err != nil {
		// JS destroys the stream on a message that does not decode.
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if s.cfg.Trace != nil {
		s.cfg.Trace(false, f.Channel, m)
	}
	switch m := m.(type) {
	case *message.Open:
		return s.onOpen(f.Channel, m)
	case *message.Close:
		s.onClose(f.Channel, m)
		return nil
	}
	s.mu.Lock()
	ch := s.remote[f.Channel]
	deliver := ch != nil && ch.opened
	s.mu.Unlock()
	if deliver {
		ch.handler.Message(ch, m)
		return nil
	}
	if f.Channel == 0 && ch == nil {
		switch m := m.(type) {
		case *message.Options:
			if s.cfg.OnOptions != nil {
				s.cfg.OnOptions(s, m)
			}
		case *message.Extension:
			if s.cfg.OnExtension != nil {
				s.cfg.OnExtension(s, m)
			}
		}
	}
	return nil // a message on a channel that is not open is ignored
}

// onOpen handles the remote's Open. A discovery key is 32 bytes and so is
// a capability: anything else is a protocol error before anything is kept
// (JS accepts other lengths; spec/session.md, "Channels").
func (s *Session) onOpen(id uint64, m *message.Open) error {
	if len(m.DiscoveryKey) != 32 {
		return fmt.Errorf("%w: Open with a %d-byte discovery key", ErrProtocol, len(m.DiscoveryKey))
	}
	if len(m.Capability) > 32 {
		return fmt.Errorf("%w: Open with a %d-byte capability", ErrProtocol, len(m.Capability))
	}
	s.mu.Lock()
	dk := string(m.DiscoveryKey)
	ch, ok := s.byDK[dk]
	if !ok {
		if len(s.byDK) >= s.cfg.MaxChannels {
			s.mu.Unlock()
			return fmt.Errorf("%w: more than %d", ErrTooManyChannels, s.cfg.MaxChannels)
		}
		ch = &Channel{s: s, discoveryKey: append([]byte(nil), m.DiscoveryKey...)}
		s.byDK[dk] = ch
	}
	if ch.remoteOpen && s.remote[ch.remoteID] == ch {
		delete(s.remote, ch.remoteID)
	}
	ch.remoteOpen = true
	ch.remoteID = id
	ch.remoteCap = append([]byte(nil), m.Capability...)
	s.remote[id] = ch
	if ch.localID == 0 {
		s.mu.Unlock()
		if s.cfg.OnDiscoveryKey != nil {
			s.cfg.OnDiscoveryKey(s, ch.discoveryKey)
		}
		return nil
	}
	// A channel this side opened first: the remote capability MUST be
	// valid, or the whole session is destroyed.
	if !s.verified(ch) {
		s.mu.Unlock()
		return ErrBadCapability
	}
	deliver := !ch.opened
	ch.opened = true
	s.mu.Unlock()
	if deliver {
		ch.handler.Opened(ch)
	}
	return nil
}

// Reject refuses a channel the remote opened for discoveryKey that this
// side has not opened: Close{discoveryKey} on a fresh local id tells the
// remote at once that this side does not have the feed (spec/session.md,
// "Channels"). It does nothing for a channel this side opened, or one the
// remote did not open. A replicator calls it from OnDiscoveryKey for the
// feeds it does not have; JS leaves such a channel pending.
func (s *Session) Reject(discoveryKey []byte) {
	s.mu.Lock()
	ch := s.byDK[string(discoveryKey)]
	if ch == nil || ch.localID != 0 || !ch.remoteOpen || s.closed {
		s.mu.Unlock()
		return
	}
	delete(s.byDK, string(ch.discoveryKey))
	if s.remote[ch.remoteID] == ch {
		delete(s.remote, ch.remoteID)
	}
	ch.remoteOpen = false
	frame := message.AppendFrame(nil, s.allocLocal(), &message.Close{DiscoveryKey: ch.discoveryKey})
	s.mu.Unlock()
	s.send(frame)
	s.prefinalize()
}

// verified reports whether the remote sent the right capability for ch.
func (s *Session) verified(ch *Channel) bool {
	want := s.RemoteCapability(ch.key)
	return ch.remoteOpen && len(ch.remoteCap) == len(want) && string(ch.remoteCap) == string(want[:])
}

func (s *Session) onClose(id uint64, m *message.Close) {
	s.mu.Lock()
	ch := s.remote[id]
	if ch != nil {
		delete(s.remote, id)
		s.cond.Broadcast() // the writer may now end the connection
	} else if m.DiscoveryKey != nil {
		ch = s.byDK[string(m.DiscoveryKey)]
	}
	if ch == nil {
		s.mu.Unlock()
		return
	}
	ch.remoteOpen = false
	wasOpen := ch.localID != 0
	var frame []byte
	if wasOpen {
		frame = message.AppendFrame(nil, ch.localID, &message.Close{})
		s.local[ch.localID] = nil
		ch.localID = 0
		ch.opened = false
	}
	if s.byDK[string(ch.discoveryKey)] == ch {
		delete(s.byDK, string(ch.discoveryKey))
	}
	s.mu.Unlock()
	if wasOpen {
		// JS answers a Close with its own.
		s.send(frame)
		ch.handler.Closed(ch, nil)
	}
	s.prefinalize()
}

// prefinalize ends the sending side of a session that is not live once no
// channel is left.
func (s *Session) prefinalize() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Live || s.closed || s.finalized || len(s.byDK) > 0 {
		return
	}
	s.finalized = true
	s.cond.Broadcast()
}

// Open opens a channel for the feed with public key key, sending Open with
// its discovery key and capability, and returns the channel. h receives the
// channel's events. If the remote already opened this feed with a wrong
// capability, Open rejects the channel (Close with the discovery key, as
// JS does) and returns ErrBadCapability.
func (s *Session) Open(key []byte, h Handler) (*Channel, error) {
	dkh, err := merkle.DiscoveryKey(key)
	if err != nil {
		return nil, err
	}
	dk := dkh[:]
	s.mu.Lock()
	if s.closed {
		err := s.closedErr()
		s.mu.Unlock()
		return nil, err
	}
	ch, ok := s.byDK[string(dk)]
	if ok && ch.localID != 0 {
		s.mu.Unlock()
		return nil, ErrAlreadyOpen
	}
	if !ok {
		if len(s.byDK) >= s.cfg.MaxChannels {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyChannels, s.cfg.MaxChannels)
		}
		ch = &Channel{s: s, discoveryKey: dk}
		s.byDK[string(dk)] = ch
	}
	ch.key = append([]byte(nil), key...)
	ch.handler = h
	if ch.remoteOpen && !s.verified(ch) {
		delete(s.byDK, string(dk))
		delete(s.remote, ch.remoteID)
		frame := message.AppendFrame(nil, s.allocLocal(), &message.Close{DiscoveryKey: dk})
		s.mu.Unlock()
		s.send(frame)
		return nil, ErrBadCapability
	}
	ch.localID = s.allocLocal()
	s.local[ch.localID] = ch
	capability := s.Capability(key)
	frame := message.AppendFrame(nil, ch.localID, &message.Open{DiscoveryKey: dk, Capability: capability[:]})
	deliver := ch.remoteOpen
	ch.opened = deliver
	s.mu.Unlock()
	if err := s.send(frame); err != nil {
		return nil, err
	}
	if deliver {
		h.Opened(ch)
	}
	return ch, nil
}

// allocLocal returns the smallest free local channel id (from 1), as JS
// does. It does not reserve it.
func (s *Session) allocLocal() uint64 {
	for i := 1; i < len(s.local); i++ {
		if s.local[i] == nil {
			return uint64(i)
		}
	}
	s.local = append(s.local, nil)
	return uint64(len(s.local) - 1)
}

// SendRaw sends a message on a channel id of this side's choosing,
// bypassing the channel bookkeeping: no id is reserved, no capability is
// computed and Open and Close change no state. It is for tests and tools
// that script the protocol, such as an adversarial peer; replication uses
// Open and Channel.Send.
func (s *Session) SendRaw(channel uint64, m message.Message) error {
	return s.sendMessage(channel, m)
}

// SendBytes sends b as plaintext stream bytes, encrypted like every frame
// but not framed: b may hold any number of frames, part of one, or bytes
// that are no frame at all. It is for tests that play a broken or hostile
// peer; nothing else should need it.
func (s *Session) SendBytes(b []byte) error { return s.send(append([]byte(nil), b...)) }

// SendOptions sends session-level (channel 0) Options.
func (s *Session) SendOptions(m *message.Options) error {
	return s.sendMessage(0, m)
}

// SendExtension sends a session-level (channel 0) Extension message.
func (s *Session) SendExtension(m *message.Extension) error {
	return s.sendMessage(0, m)
}

// Session returns the channel's session.
func (ch *Channel) Session() *Session { return ch.s }

// Key returns the feed key the channel was opened with (nil if only the
// remote opened it).
func (ch *Channel) Key() []byte { return ch.key }

// DiscoveryKey returns the channel's discovery key.
func (ch *Channel) DiscoveryKey() []byte { return ch.discoveryKey }

// Send sends a message on the channel.
func (ch *Channel) Send(m message.Message) error {
	s := ch.s
	s.mu.Lock()
	id := ch.localID
	s.mu.Unlock()
	if id == 0 {
		return ErrChannelClosed
	}
	return s.sendMessage(id, m)
}

// Close closes the channel: Close{} is sent and the handler's Closed is
// called. Closing a closed channel does nothing.
func (ch *Channel) Close() error {
	s := ch.s
	s.mu.Lock()
	if ch.localID == 0 {
		s.mu.Unlock()
		return nil
	}
	frame := message.AppendFrame(nil, ch.localID, &message.Close{})
	s.local[ch.localID] = nil
	ch.localID = 0
	ch.opened = false
	// ch stays in s.remote until the remote's Close (finalizeNow)
	if s.byDK[string(ch.discoveryKey)] == ch {
		delete(s.byDK, string(ch.discoveryKey))
	}
	s.mu.Unlock()
	err := s.send(frame)
	ch.handler.Closed(ch, nil)
	s.prefinalize()
	return err
}

// traceSent decodes a frame this side sends, for Config.Trace.
func (s *Session) traceSent(frame []byte) {
	f, err := message.NewReader(bytes.NewReader(frame)).Next()
	if err != nil || f.KeepAlive {
		return
	}
	if m, err := f.Decode(); err == nil {
		s.cfg.Trace(true, f.Channel, m)
	}
}

package secretstream

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

// DefaultKeepAlive is the keep-alive interval hypercore 11 sets on its
// streams (createProtocolStream: 5000 ms).
const DefaultKeepAlive = 5 * time.Second

var (
	// ErrBadSetup is a setup frame that is not 56 bytes, or whose stream id
	// is not the one the remote's role gives (JS "Invalid header message
	// received", "Invalid header received").
	ErrBadSetup = errors.New("secretstream: bad setup frame")
	// ErrFrameTooLarge is a received frame longer than the Conn's
	// MaxMessageSize allows, or a message to write longer than
	// MaxPlaintextSize (JS: "Message is too large for an atomic write").
	ErrFrameTooLarge = errors.New("secretstream: frame too large")
	// ErrTimeout is a ReadTimeout or WriteTimeout that expired, or a
	// handshake context that ended. The error also wraps the cause
	// (os.ErrDeadlineExceeded or the context's error).
	ErrTimeout = errors.New("secretstream: timeout")
	// ErrClosed is returned by ReadMessage and WriteMessage after Close;
	// it also matches net.ErrClosed.
	ErrClosed = fmt.Errorf("secretstream: %w", net.ErrClosed)
)

// Config configures one side of a stream.
type Config struct {
	// Initiator is true for the side that sends the first handshake
	// message: by convention the side that dialled.
	Initiator bool
	// KeyPair is this side's static Ed25519 key pair (its identity: the
	// remote sees its public key). Nil: one is generated from Rand.
	KeyPair ed25519.PrivateKey
	// Rand supplies, in this order, the 32-byte seed of KeyPair when it is
	// nil, the 32-byte seed of the ephemeral key pair and the 24-byte
	// secretstream header. Nil means crypto/rand. Tests inject fixed bytes
	// to replay a handshake exactly.
	Rand io.Reader
	// KeepAlive, when positive, sends an empty message after that long
	// without writing anything (JS hypercore: DefaultKeepAlive). Zero
	// sends none.
	KeepAlive time.Duration
	// ReadTimeout, when positive, ends the stream with ErrTimeout when
	// nothing at all arrives for that long while this side waits for
	// bytes, during the handshake or in ReadMessage. Zero waits forever.
	// Pair it with a remote KeepAlive shorter than it.
	ReadTimeout time.Duration
	// WriteTimeout, when positive, bounds each write of a frame: a peer
	// that stops reading makes WriteMessage fail with ErrTimeout after that
	// long, and ends the stream. Zero lets a write wait forever.
	WriteTimeout time.Duration
	// MaxMessageSize is the largest plaintext this side accepts in one
	// received message; a longer frame ends the stream with
	// ErrFrameTooLarge before its body is read. Zero (or anything larger)
	// means MaxPlaintextSize, the largest a frame can carry.
	MaxMessageSize int
}

// Conn is an established stream: the handshake is done and this side's
// setup frame sent. ReadMessage must be called from one goroutine at a
// time; WriteMessage may be called from several at once.
type Conn struct {
	nc        net.Conn
	r         *timeoutReader
	br        *bufio.Reader
	initiator bool
	publicKey ed25519.PublicKey
	remoteKey ed25519.PublicKey
	hash      [HandshakeHashSize]byte
	rx        [KeySize]byte
	maxPlain  int
	keepAlive time.Duration
	wTimeout  time.Duration

	rmu  sync.Mutex
	pull *Pull // nil until the remote's setup frame has been read
	rerr error

	wmu   sync.Mutex
	push  *Push
	werr  error
	timer *time.Timer // keep-alive

	closeOnce sync.Once
	closed    chan struct{}
}

// Handshake runs the Noise handshake on c and sends this side's setup frame
// (spec/v11/secretstream.md). The remote's setup frame is read by the first
// ReadMessage, so the initiator can write at once, as JS does. ctx bounds
// the handshake only; the Conn's timeouts are in cfg. On error c is closed.
func Handshake(ctx context.Context, c net.Conn, cfg Config) (conn *Conn, err error) {
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	random := cfg.Rand
	if random == nil {
		random = rand.Reader
	}
	static := cfg.KeyPair
	if static == nil {
		if static, err = GenerateKeyPair(random); err != nil {
			return nil, err
		}
	}
	hs, err := newHandshakeState(cfg.Initiator, static, random)
	if err != nil {
		return nil, err
	}

	// The handshake ends when ctx does: its deadline caps every read and
	// write, and its cancellation interrupts them.
	tr := &timeoutReader{c: c, timeout: cfg.ReadTimeout, ctx: ctx}
	conn = &Conn{
		nc: c,
		r:  tr,
		// Spec: a responder MUST keep the bytes that follow message 3 in
		// the same read. They stay in br until ReadMessage reads them.
		br:        bufio.NewReaderSize(tr, 64<<10),
		initiator: cfg.Initiator,
		publicKey: static.Public().(ed25519.PublicKey),
		maxPlain:  cfg.MaxMessageSize,
		keepAlive: cfg.KeepAlive,
		wTimeout:  cfg.WriteTimeout,
		closed:    make(chan struct{}),
	}
	if conn.maxPlain <= 0 || conn.maxPlain > MaxPlaintextSize {
		conn.maxPlain = MaxPlaintextSize
	}

	stop := context.AfterFunc(ctx, tr.cancel)
	defer func() {
		stop()
		tr.endContext()
		if ctx.Err() != nil && err != nil {
			err = fmt.Errorf("%w: %w (%w)", ErrHandshake, ErrTimeout, ctx.Err())
		}
	}()

	// → e; ← e, ee, s, es; → s, se. Each message is framed u24le(len) ‖ message.
	var pending []byte // the initiator's message 3, sent with its setup frame
	if cfg.Initiator {
		if err := conn.writeHandshake(hs); err != nil {
			return nil, err
		}
		if err := conn.readHandshake(hs); err != nil {
			return nil, err
		}
		msg, err := hs.write()
		if err != nil {
			return nil, err
		}
		pending = appendFrame(nil, msg)
	} else {
		if err := conn.readHandshake(hs); err != nil {
			return nil, err
		}
		if err := conn.writeHandshake(hs); err != nil {
			return nil, err
		}
		if err := conn.readHandshake(hs); err != nil {
			return nil, err
		}
	}
	if !hs.done() {
		return nil, fmt.Errorf("%w: not complete after three messages", ErrHandshake)
	}
	res := hs.result()
	conn.hash = res.hash
	conn.rx = res.rx
	conn.remoteKey = ed25519.PublicKey(slices.Clone(res.remoteStatic[:]))

	// Setup frame: own stream id ‖ own secretstream header.
	var header [HeaderSize]byte
	if _, err := io.ReadFull(random, header[:]); err != nil {
		return nil, fmt.Errorf("%w: secretstream header: %w", ErrHandshake, err)
	}
	conn.push = NewPush(&res.tx, &header)
	id := StreamID(res.hash[:], cfg.Initiator)
	setup := appendFrame(nil, append(id[:], header[:]...))
	if cfg.Initiator {
		// Message 3 and the setup frame go out together; the responder
		// reads both before its Handshake returns.
		if err := conn.writeRaw(append(pending, setup...)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
		}
	} else {
		// The responder's setup frame is written in the background, as JS
		// writes it without waiting: the initiator reads it only in its
		// first ReadMessage, which on an unbuffered connection (net.Pipe)
		// may come after this Handshake returns. Writes queue behind it; a
		// failure ends the stream and is returned by the next write.
		conn.wmu.Lock()
		go func() {
			defer conn.wmu.Unlock()
			if err := conn.writeRaw(setup); err != nil {
				conn.werr = err
				conn.nc.Close()
			}
		}()
	}
	if conn.keepAlive > 0 {
		conn.timer = time.AfterFunc(conn.keepAlive, conn.sendKeepAlive)
	}
	return conn, nil
}

// appendFrame appends u24le(len(body)) ‖ body to dst.
func appendFrame(dst, body []byte) []byte {
	return append(appendLength(dst, len(body)), body...)
}

// appendLength appends a frame's length, u24le(n), to dst.
func appendLength(dst []byte, n int) []byte {
	return append(dst, byte(n), byte(n>>8), byte(n>>16))
}

func (c *Conn) writeHandshake(hs *handshakeState) error {
	msg, err := hs.write()
	if err != nil {
		return err
	}
	if err := c.writeRaw(appendFrame(nil, msg)); err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	return nil
}

func (c *Conn) readHandshake(hs *handshakeState) error {
	n, err := c.readLength()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	// Local limit: a handshake message is at most 65535 bytes (Noise's
	// limit); JS sends 32, 96 and 64. Checked before the body is read.
	if n > maxHandshakeMessage {
		return fmt.Errorf("%w: a %d-byte handshake message", ErrHandshake, n)
	}
	msg, err := c.readBody(n)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	return hs.read(msg)
}

// readLength reads a frame's u24le length.
func (c *Conn) readLength() (int, error) {
	var b [3]byte
	if _, err := io.ReadFull(c.br, b[:]); err != nil {
		return 0, c.readError(err)
	}
	return int(b[0]) | int(b[1])<<8 | int(b[2])<<16, nil
}

// readBody reads n bytes, which the caller has checked against its limit.
// The buffer grows as bytes arrive, so a length the peer claims but does
// not send costs at most 64 KiB.
func (c *Conn) readBody(n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, 64<<10))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), len(buf)))
		}
		m, err := io.ReadFull(c.br, buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, c.readError(err)
		}
	}
	return buf, nil
}

// readError names a failed read: EOF inside a frame is io.ErrUnexpectedEOF
// (at a frame boundary readLength's caller keeps io.EOF), a deadline is
// ErrTimeout, and a read after Close is ErrClosed.
func (c *Conn) readError(err error) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	return ioError("read", err)
}

// writeRaw writes b whole, within WriteTimeout (or the handshake context).
func (c *Conn) writeRaw(b []byte) error {
	if err := c.r.writeDeadline(c.wTimeout); err != nil {
		return c.writeError(err)
	}
	if _, err := c.nc.Write(b); err != nil {
		return c.writeError(err)
	}
	return nil
}

// writeError names a failed write: a deadline is ErrTimeout, and a write
// after Close is ErrClosed.
func (c *Conn) writeError(err error) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	return ioError("write", err)
}

// ioError wraps the error of a read or write (op): ErrTimeout for a
// deadline or the handshake context's end, the connection's error
// otherwise.
func ioError(op string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %w", ErrTimeout, op, err)
	}
	return fmt.Errorf("secretstream: %s: %w", op, err)
}

// ReadMessage returns the next non-empty message. Empty messages are
// keep-alives and are skipped. The first call reads the remote's setup
// frame first.
//
// Every error ends the stream (the connection is closed, and later calls
// return the same error) except io.EOF: the remote closed cleanly at a
// frame boundary, and this side may still write. Errors wrap ErrBadSetup,
// ErrFrameTooLarge, ErrShortMessage, ErrAuthentication, ErrTimeout,
// ErrClosed or the connection's error.
func (c *Conn) ReadMessage() ([]byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rerr != nil {
		return nil, c.rerr
	}
	for {
		if c.pull == nil {
			if err := c.readSetup(); err != nil {
				return nil, c.failRead(err)
			}
			continue
		}
		n, err := c.readLength()
		if err != nil {
			if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				c.rerr = io.EOF
				return nil, io.EOF
			}
			return nil, c.failRead(err)
		}
		// Spec: a receiver MUST end the stream on a frame shorter than 17
		// bytes (JS: "Invalid message received"). Checked on the length.
		if n < ABytes {
			return nil, c.failRead(fmt.Errorf("%w: a %d-byte frame", ErrShortMessage, n))
		}
		// Local limit: a frame longer than MaxMessageSize + ABytes ends the
		// stream before its body is read or allocated.
		if n-ABytes > c.maxPlain {
			return nil, c.failRead(fmt.Errorf("%w: a %d-byte frame, at most %d", ErrFrameTooLarge, n, c.maxPlain+ABytes))
		}
		body, err := c.readBody(n)
		if err != nil {
			return nil, c.failRead(unexpected(err))
		}
		// Spec: a receiver MUST end the stream ... on a message whose MAC
		// does not verify.
		plain, _, err := c.pull.Open(body[1:1], body)
		if err != nil {
			return nil, c.failRead(err)
		}
		if len(plain) == 0 {
			continue // keep-alive
		}
		return plain, nil
	}
}

// unexpected turns an io.EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("secretstream: read: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// readSetup reads and checks the remote's setup frame and starts the Pull.
func (c *Conn) readSetup() error {
	n, err := c.readLength()
	if err != nil {
		return unexpected(err)
	}
	// Spec: the receiver MUST refuse a setup frame whose body is not
	// exactly 56 bytes, and end the stream (JS: "Invalid header message
	// received"). Checked on the length, before the body is read.
	if n != SetupSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadSetup, n, SetupSize)
	}
	b, err := c.readBody(n)
	if err != nil {
		return unexpected(err)
	}
	// Spec: the receiver MUST check that the stream id equals
	// streamId(h, remote's role) — the role of the sender, not its own —
	// and end the stream otherwise (JS: "Invalid header received").
	want := StreamID(c.hash[:], !c.initiator)
	if subtle.ConstantTimeCompare(b[:StreamIDSize], want[:]) != 1 {
		return fmt.Errorf("%w: stream id %x, want %x", ErrBadSetup, b[:StreamIDSize], want)
	}
	var header [HeaderSize]byte
	copy(header[:], b[StreamIDSize:])
	c.pull = NewPull(&c.rx, &header)
	return nil
}

// failRead ends the stream after a read error: it is kept for later calls
// and the connection is closed, which also fails writes.
func (c *Conn) failRead(err error) error {
	c.rerr = err
	c.nc.Close()
	return err
}

// WriteMessage encrypts p as one message and writes it as one frame. An
// empty p is a keep-alive. It is safe to call from several goroutines.
//
// A p longer than MaxPlaintextSize is refused with ErrFrameTooLarge and the
// stream goes on (JS throws on such a write). Any other error (a write that
// took longer than WriteTimeout, a broken connection) ends the stream: the
// connection is closed and later writes return the same error.
func (c *Conn) WriteMessage(p []byte) error {
	// Spec: a plaintext MUST be at most 2^24 − 1 − 17 = 16777198 bytes
	// (JS: "Message is too large for an atomic write"), refused before
	// anything changes.
	if len(p) > MaxPlaintextSize {
		return fmt.Errorf("%w: a %d-byte message, at most %d", ErrFrameTooLarge, len(p), MaxPlaintextSize)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(p)
}

func (c *Conn) writeLocked(p []byte) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	if c.werr != nil {
		return c.werr
	}
	n := len(p) + ABytes
	frame := c.push.Seal(appendLength(make([]byte, 0, 3+n), n), p, TagMessage)
	if err := c.writeRaw(frame); err != nil {
		// A frame may be half written: the stream cannot go on.
		c.werr = err
		c.nc.Close()
		return err
	}
	if c.timer != nil {
		c.timer.Reset(c.keepAlive)
	}
	return nil
}

// sendKeepAlive runs KeepAlive after the last write: it writes an empty
// message, which restarts the timer.
func (c *Conn) sendKeepAlive() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.writeLocked(nil)
}

// Close closes the connection and stops the keep-alive. ReadMessage and
// WriteMessage then return ErrClosed.
func (c *Conn) Close() error {
	err := ErrClosed
	c.closeOnce.Do(func() {
		close(c.closed)
		err = c.nc.Close()
		c.wmu.Lock()
		if c.timer != nil {
			c.timer.Stop()
		}
		c.wmu.Unlock()
	})
	return err
}

// HandshakeHash returns the Noise handshake hash (64 bytes), which both
// sides share; hypercore keys its capabilities with it.
func (c *Conn) HandshakeHash() []byte { return slices.Clone(c.hash[:]) }

// IsInitiator reports whether this side is the initiator.
func (c *Conn) IsInitiator() bool { return c.initiator }

// PublicKey returns this side's static public key.
func (c *Conn) PublicKey() ed25519.PublicKey { return slices.Clone(c.publicKey) }

// RemotePublicKey returns the remote's static public key, authenticated by
// the handshake.
func (c *Conn) RemotePublicKey() ed25519.PublicKey { return slices.Clone(c.remoteKey) }

// timeoutReader reads from a connection with ReadTimeout counted from the
// start of each read (JS refreshes its timer on every chunk), capped by
// the handshake context's deadline while there is one.
type timeoutReader struct {
	c       net.Conn
	timeout time.Duration

	mu        sync.Mutex
	ctx       context.Context // the handshake's until endContext, then nil
	cancelled bool
}

// endContext ends the handshake's bound: no deadline until the next read
// or write sets its own.
func (r *timeoutReader) endContext() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ctx = nil
	r.cancelled = false
	_ = r.c.SetDeadline(time.Time{})
}

// cancel interrupts the handshake's reads and writes.
func (r *timeoutReader) cancel() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil {
		return
	}
	r.cancelled = true
	_ = r.c.SetDeadline(time.Unix(1, 0))
}

// deadline returns the deadline for an operation bounded by d (0: none),
// and the context's error if it has ended. r.mu must be held.
func (r *timeoutReader) deadline(d time.Duration) (time.Time, error) {
	var t time.Time
	if d > 0 {
		t = time.Now().Add(d)
	}
	if r.ctx != nil {
		if r.cancelled || r.ctx.Err() != nil {
			return t, context.Cause(r.ctx)
		}
		if cd, ok := r.ctx.Deadline(); ok && (t.IsZero() || cd.Before(t)) {
			t = cd
		}
	}
	return t, nil
}

func (r *timeoutReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	t, err := r.deadline(r.timeout)
	// t is zero unless there is a timeout or a context; with neither, the
	// deadline is left alone (endContext cleared it).
	if err == nil && (r.ctx != nil || r.timeout > 0) {
		err = r.c.SetReadDeadline(t)
	}
	r.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return r.c.Read(p)
}

// writeDeadline sets the deadline of the next write.
func (r *timeoutReader) writeDeadline(d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, err := r.deadline(d)
	if err != nil {
		return err
	}
	if r.ctx != nil || d > 0 {
		return r.c.SetWriteDeadline(t)
	}
	return nil
}

package session

import (
	"bufio"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hypercore-go/hypercore/message"
)

// Receiving runs in two stages so that they overlap: a goroutine reads the
// connection, decrypts it and cuts it into frames, while Run's goroutine
// handles the frames before. A 64 KiB block is decrypted while the one
// before it is hashed and stored.

const (
	// recvAhead bounds the frame bodies read ahead: the reading stage
	// starts reading a body only while the bodies it has read and Run has
	// not finished with hold less than recvAhead bytes with it, or when
	// they hold none (a body of any size up to message.MaxBodySize is
	// read alone). What a peer can make this side hold is thus one body of
	// at most 8 MiB, or 256 KiB of smaller ones, as without reading ahead.
	recvAhead = 256 << 10
	// recvBuffer is the buffer frames are cut from. A body larger than
	// what it holds is read straight into the body's own memory (and
	// decrypted there), so a 64 KiB block is copied once at most 16 KiB.
	recvBuffer = 16 << 10
)

// recvPipe is the reading stage of a session and its queue of frames.
type recvPipe struct {
	frames *message.Reader
	queue  chan recvResult // frames read, in order; the reading stage's last result is its error
	done   <-chan struct{} // closed when the session has ended

	mu     sync.Mutex
	cond   *sync.Cond
	held   int  // bytes of bodies read and not yet finished with
	last   int  // the body size of the frame Run is handling
	closed bool // the session has ended: stop reading ahead

	clock readClock
}

type recvResult struct {
	frame message.Frame
	err   error
}

// newRecvPipe reads frames from src (the connection, after the handshake),
// decrypting them with dec.
func newRecvPipe(src io.Reader, dec *xsalsa20, done <-chan struct{}) *recvPipe {
	p := &recvPipe{queue: make(chan recvResult, 64), done: done}
	p.cond = sync.NewCond(&p.mu)
	p.frames = message.NewReader(bufio.NewReaderSize(&decryptReader{r: src, dec: dec, clock: &p.clock}, recvBuffer))
	p.frames.BeforeBody = p.reserve
	p.frames.NewBody = p.newBody
	return p
}

// Data frame bodies of reuseMin to recvAhead bytes are reused once
// handled when Config.ReuseData says that the handlers keep nothing of
// them (a 64 KiB clone otherwise made the garbage collector run every few
// blocks).
const reuseMin = recvBuffer

// bodies holds *[]byte of bodies to reuse.
var bodies sync.Pool

// newBody is the frame reader's NewBody: a body to reuse, for a large one.
func (p *recvPipe) newBody(n int) []byte {
	if n < reuseMin {
		return nil
	}
	// A pooled body much larger than the frame is dropped: what a body
	// holds must stay close to what the read-ahead bound counts for it.
	if b, ok := bodies.Get().(*[]byte); ok && cap(*b) <= 2*n {
		return *b
	}
	return nil
}

// reuse gives the body of a frame that has been handled back for reuse.
func reuse(f message.Frame) {
	if f.Type == message.TypeData && cap(f.Body) >= reuseMin && cap(f.Body) <= recvAhead {
		b := f.Body[:0]
		bodies.Put(&b)
	}
}

// run is the reading stage: it reads frames until the connection fails or
// ends, or stop is called. Run closes the connection when the session ends
// (when it is an io.Closer), which ends a read waiting for the peer.
func (p *recvPipe) run() {
	for {
		f, err := p.frames.Next()
		select {
		case p.queue <- recvResult{f, err}:
		case <-p.done:
			return
		}
		if err != nil {
			return
		}
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
	}
}

// reserve waits until a body of n bytes may be read ahead (recvAhead) and
// counts it held. A body counts at least 4 KiB, so that at most 64 frames
// with a body wait in the queue.
func (p *recvPipe) reserve(n int) {
	n = max(n, recvAhead/64) // a small frame costs a slot of the queue
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.held > 0 && p.held+n > recvAhead && !p.closed {
		p.cond.Wait()
	}
	p.held += n
}

// next returns the next frame, after the one before it was handled. The
// time it waits for one is the peer's silence (readClock).
func (p *recvPipe) next() (message.Frame, error) {
	p.release()
	var r recvResult
	select {
	case r = <-p.queue:
	default:
		p.clock.start()
		r = <-p.queue
		p.clock.stop()
	}
	if len(r.frame.Body) > 0 {
		p.last = max(len(r.frame.Body), recvAhead/64)
	}
	return r.frame, r.err
}

// release gives back what the frame handled last held.
func (p *recvPipe) release() {
	if p.last == 0 {
		return
	}
	p.mu.Lock()
	p.held -= p.last
	p.last = 0
	p.cond.Signal()
	p.mu.Unlock()
}

// stop ends reading ahead: the reading stage stops at its next frame (or
// when the connection, closed by then, fails).
func (p *recvPipe) stop() {
	p.mu.Lock()
	p.closed = true
	p.cond.Signal()
	p.mu.Unlock()
}

// decryptReader decrypts the transport stream in place as it is read, and
// tells clock when bytes arrive.
type decryptReader struct {
	r     io.Reader
	dec   *xsalsa20
	clock *readClock
}

func (d *decryptReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if n > 0 {
		d.clock.arrived()
		d.dec.XORKeyStream(p[:n], p[:n])
	}
	return n, err
}

// readClock times the waits for bytes from the peer, for the receive
// timeout: the peer is silent only while Run waits for the next frame, and
// no bytes have arrived since it began waiting (a large frame that arrives
// slowly, without pause, is not silence). Time this side spends working
// through frames already received is not the peer's silence.
type readClock struct {
	since atomic.Int64 // unix nanoseconds the wait began
	last  atomic.Int64 // unix nanoseconds bytes last arrived
	wait  atomic.Bool  // Run waits for a frame
}

// arrived records that bytes arrived from the peer.
func (c *readClock) arrived() { c.last.Store(time.Now().UnixNano()) }

func (c *readClock) start() {
	c.since.Store(time.Now().UnixNano())
	c.wait.Store(true)
}

func (c *readClock) stop() { c.wait.Store(false) }

// silent returns how long the current wait has lasted since bytes last
// arrived, 0 when none.
func (c *readClock) silent(now time.Time) time.Duration {
	if !c.wait.Load() {
		return 0
	}
	return now.Sub(time.Unix(0, max(c.since.Load(), c.last.Load())))
}

package session

import (
	"io"
	"sync/atomic"
	"time"
)

// Receiving runs in two stages so that they overlap: a goroutine reads the
// connection and decrypts what arrives, chunk by chunk, while Run's
// goroutine parses the frames of the chunks before and runs their
// handlers. A 64 KiB block is decrypted while the one before it is hashed
// and stored.

const (
	// recvChunk is the most one read from the connection takes.
	recvChunk = 64 << 10
	// recvChunks bounds the chunks of a session, read ahead and being
	// parsed together: what the peer can make this side hold beyond the
	// frame being read is recvChunks·recvChunk bytes (256 KiB). Chunks
	// are allocated as the reading gets ahead, so a session with little
	// traffic holds one or two.
	recvChunks = 4
)

// recvPipe is the decrypted stream of one session: the reading stage on
// one side (run), the frame reader on the other (Read and ReadByte, from
// Run's goroutine only).
type recvPipe struct {
	src  io.Reader // the connection (buffered for the handshake)
	dec  *xsalsa20
	done <-chan struct{} // closed when the session has ended

	full  chan []byte // decrypted chunks, in order; closed after the last
	free  chan []byte // chunks the reader has finished with
	made  int         // chunks allocated (by run)
	err   error       // why reading stopped; read once full is closed
	chunk []byte      // the chunk being read (nil when none)
	rest  []byte      // its bytes not read yet

	clock readClock
}

func newRecvPipe(src io.Reader, dec *xsalsa20, done <-chan struct{}) *recvPipe {
	return &recvPipe{
		src:  src,
		dec:  dec,
		done: done,
		full: make(chan []byte, recvChunks),
		free: make(chan []byte, recvChunks),
	}
}

// run reads and decrypts until the connection fails or ends, or the
// session ends. The key stream is applied in the order the bytes arrive,
// whatever their chunking.
func (p *recvPipe) run() {
	defer close(p.full)
	for {
		var b []byte
		select {
		case b = <-p.free:
		default:
			if p.made < recvChunks {
				p.made++
				b = make([]byte, recvChunk)
				break
			}
			select {
			case b = <-p.free:
			case <-p.done:
				p.err = ErrClosed
				return
			}
		}
		n, err := p.src.Read(b[:cap(b)])
		if n > 0 {
			p.dec.XORKeyStream(b[:n], b[:n])
			select {
			case p.full <- b[:n]:
			case <-p.done:
				p.err = ErrClosed
				return
			}
		} else {
			p.free <- b // never blocks: free holds every chunk
		}
		if err != nil {
			p.err = err
			return
		}
	}
}

// next makes the next chunk the one being read. The time it waits for one
// is the peer's silence (readClock).
func (p *recvPipe) next() error {
	if p.chunk != nil {
		p.free <- p.chunk[:cap(p.chunk)]
		p.chunk = nil
	}
	var b []byte
	var ok bool
	select {
	case b, ok = <-p.full:
	default:
		p.clock.start()
		b, ok = <-p.full
		p.clock.stop()
	}
	if !ok {
		return p.err
	}
	p.chunk, p.rest = b, b
	return nil
}

func (p *recvPipe) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for len(p.rest) == 0 {
		if err := p.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.rest)
	p.rest = p.rest[n:]
	return n, nil
}

func (p *recvPipe) ReadByte() (byte, error) {
	for len(p.rest) == 0 {
		if err := p.next(); err != nil {
			return 0, err
		}
	}
	c := p.rest[0]
	p.rest = p.rest[1:]
	return c, nil
}

// readClock times the waits for bytes from the peer, for the receive
// timeout: the peer is silent only while the frame reader waits for it.
// Time this side spends working through bytes already received is not the
// peer's silence.
type readClock struct {
	since atomic.Int64 // unix nanoseconds the wait began
	wait  atomic.Bool  // the frame reader waits for bytes
}

func (c *readClock) start() {
	c.since.Store(time.Now().UnixNano())
	c.wait.Store(true)
}

func (c *readClock) stop() { c.wait.Store(false) }

// silent returns how long the current wait has lasted, 0 when none.
func (c *readClock) silent(now time.Time) time.Duration {
	if !c.wait.Load() {
		return 0
	}
	return now.Sub(time.Unix(0, c.since.Load()))
}

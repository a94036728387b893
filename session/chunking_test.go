package session

import (
	"bytes"
	"io"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/message"
)

// chunks yields data in pieces of the given sizes, cycling.
type chunks struct {
	data  []byte
	sizes []int
	k     int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), c.sizes[c.k%len(c.sizes)])
	c.k++
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// TestEncryptedChunking encrypts random frames with one key stream and
// reads them back through the session's receiving pipe (a goroutine
// decrypting and cutting frames ahead of their handling) with any
// chunking: the frames come out the same.
func TestEncryptedChunking(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var key [32]byte
		var nonce [NonceSize]byte
		copy(key[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "key"))
		copy(nonce[:], rapid.SliceOfN(rapid.Byte(), NonceSize, NonceSize).Draw(t, "nonce"))
		enc := newXSalsa20(&key, &nonce)
		var stream []byte
		var bodies [][]byte
		for i, n := 0, rapid.IntRange(0, 30).Draw(t, "frames"); i < n; i++ {
			body := rapid.SliceOfN(rapid.Byte(), 0, 500).Draw(t, "body")
			bodies = append(bodies, body)
			frame := message.AppendRawFrame(nil, uint64(i), message.TypeData, body)
			// encrypt frame by frame, as the session sends
			start := len(stream)
			stream = append(stream, frame...)
			enc.XORKeyStream(stream[start:], stream[start:])
		}
		sizes := rapid.SliceOfN(rapid.IntRange(1, 97), 1, 20).Draw(t, "chunks")
		done := make(chan struct{})
		defer close(done)
		pipe := newRecvPipe(&chunks{data: stream, sizes: sizes}, newXSalsa20(&key, &nonce), done)
		go pipe.run()
		for i, want := range bodies {
			f, err := pipe.next()
			if err != nil || f.Channel != uint64(i) || !bytes.Equal(f.Body, want) {
				t.Fatalf("frame %d: %+v, %v", i, f, err)
			}
		}
		if _, err := pipe.next(); err != io.EOF {
			t.Fatalf("after the last frame: %v", err)
		}
	})
}

// TestRecvPipeAhead sends frames of every size class through the receiving
// pipe, from empty to larger than recvAhead, in large and small reads,
// while the handler is slower than the reader: every frame comes out
// whole and in order, and the bodies read ahead never hold more than
// recvAhead bytes unless one body alone does.
func TestRecvPipeAhead(t *testing.T) {
	var key [32]byte
	var nonce [NonceSize]byte
	enc := newXSalsa20(&key, &nonce)
	sizes := []int{0, 1, 100, recvBuffer - 1, recvBuffer, recvBuffer + 1, 64 << 10, 65<<10 + 300, recvAhead, recvAhead + 1, 1 << 20, 3}
	var stream []byte
	var bodies [][]byte
	for round := 0; round < 3; round++ {
		for i, n := range sizes {
			body := make([]byte, n)
			for k := range body {
				body[k] = byte(i*7 + k + round)
			}
			bodies = append(bodies, body)
			start := len(stream)
			stream = append(stream, message.AppendRawFrame(nil, uint64(len(bodies)), message.TypeData, body)...)
			enc.XORKeyStream(stream[start:], stream[start:])
		}
	}
	for _, reads := range [][]int{{1 << 20}, {7, 4093, 70000, 1}} {
		done := make(chan struct{})
		pipe := newRecvPipe(&chunks{data: stream, sizes: reads}, newXSalsa20(&key, &nonce), done)
		go pipe.run()
		for i, want := range bodies {
			f, err := pipe.next()
			if err != nil || f.Channel != uint64(i+1) || !bytes.Equal(f.Body, want) {
				close(done)
				t.Fatalf("reads %v: frame %d (%d bytes): channel %d, %d bytes, %v", reads, i, len(want), f.Channel, len(f.Body), err)
			}
			time.Sleep(time.Millisecond) // a slow handler: the reader gets ahead
			pipe.mu.Lock()
			held, last := pipe.held, pipe.last
			pipe.mu.Unlock()
			if held > max(recvAhead, last) {
				close(done)
				t.Fatalf("reads %v: after frame %d, %d bytes held ahead (the frame handled has %d)", reads, i, held, last)
			}
		}
		if _, err := pipe.next(); err != io.EOF {
			t.Fatalf("reads %v: after the last frame: %v", reads, err)
		}
		close(done)
	}
}

// TestReusedBodiesStayClose: a body handed back for reuse is given to a
// frame only when it is at most twice the frame's size, and bodies larger
// than recvAhead are not kept, so the memory a body holds stays close to
// what the read-ahead bound counts for it (a large body reused for small
// frames would hold far more).
func TestReusedBodiesStayClose(t *testing.T) {
	p := &recvPipe{}
	for i := 0; i < 100; i++ {
		reuse(message.Frame{Type: message.TypeData, Body: make([]byte, recvAhead)})
		if b := p.newBody(reuseMin); b != nil && cap(b) > 2*reuseMin {
			t.Fatalf("newBody(%d) gave a body of capacity %d", reuseMin, cap(b))
		}
		reuse(message.Frame{Type: message.TypeData, Body: make([]byte, 8<<20)})
		if b := p.newBody(recvAhead); b != nil && cap(b) > 2*recvAhead {
			t.Fatalf("newBody(%d) gave a body of capacity %d: an 8 MiB body was kept", recvAhead, cap(b))
		}
	}
}

package session

import (
	"bytes"
	"io"
	"testing"

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
// decrypting ahead of the frame reader) with any chunking: the frames come
// out the same.
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
		fr := message.NewReader(pipe)
		for i, want := range bodies {
			f, err := fr.Next()
			if err != nil || f.Channel != uint64(i) || !bytes.Equal(f.Body, want) {
				t.Fatalf("frame %d: %+v, %v", i, f, err)
			}
		}
		if _, err := fr.Next(); err != io.EOF {
			t.Fatalf("after the last frame: %v", err)
		}
	})
}

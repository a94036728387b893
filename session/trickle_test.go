package session

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/message"
)

// trickleConn writes in 1 KiB pieces, one every 10 ms, once slow is set.
type trickleConn struct {
	net.Conn
	slow atomic.Bool
}

func (c *trickleConn) Write(p []byte) (int, error) {
	if !c.slow.Load() {
		return c.Conn.Write(p)
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), 1<<10)
		m, err := c.Conn.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
		time.Sleep(10 * time.Millisecond)
	}
	return n, nil
}

// TestReceiveTimeoutLargeFrameTrickle: a peer that sends a large frame
// slowly but without pause is not silent. Bytes arrive every 10 ms for
// about 3 s, well within a 1 s receive timeout each; the frame must arrive
// and the session must not end with ErrTimeout.
func TestReceiveTimeoutLargeFrameTrickle(t *testing.T) {
	got := make(chan int, 1)
	ca := Config{Timeout: time.Second, Live: true, OnExtension: func(_ *Session, m *message.Extension) {
		got <- len(m.Message)
	}}
	cb := Config{Timeout: -1, Live: true}
	var tc *trickleConn
	a, b := handshakenWrap(t, ca, cb, func(c net.Conn) net.Conn {
		tc = &trickleConn{Conn: c}
		return tc
	})
	ea, _ := runAsync(a), runAsync(b)
	tc.slow.Store(true)
	b.SendExtension(&message.Extension{Message: make([]byte, 300<<10)})
	select {
	case n := <-got:
		if n != 300<<10 {
			t.Fatalf("extension of %d bytes", n)
		}
	case err := <-ea:
		t.Fatalf("a ended with %v while b kept sending a frame", err)
	case <-time.After(15 * time.Second):
		t.Fatal("no extension")
	}
}

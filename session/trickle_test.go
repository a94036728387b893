package session

import (
	"context"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int, 1)
	ca := Config{Initiator: true, Timeout: time.Second, Live: true, OnExtension: func(_ *Session, m *message.Extension) {
		got <- len(m.Message)
	}}
	cb := Config{Timeout: -1, Live: true}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc := make(chan *Session, 1)
	var tc *trickleConn
	go func() {
		c, err := ln.Accept()
		if err != nil {
			rc <- nil
			return
		}
		tc = &trickleConn{Conn: c}
		s, err := New(ctx, tc, cb)
		if err != nil {
			t.Error(err)
		}
		rc <- s
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, c, ca)
	if err != nil {
		t.Fatal(err)
	}
	b := <-rc
	if b == nil {
		t.FailNow()
	}
	t.Cleanup(func() { a.Close(); b.Close() })
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

package session

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/message"
)

// handshaken runs the handshake over TCP on 127.0.0.1 and returns both
// sessions without running either; the caller decides who reads.
func handshaken(t *testing.T, ci, cr Config) (a, b *Session) {
	t.Helper()
	return handshakenWrap(t, ci, cr, nil)
}

// handshakenWrap is handshaken with the responder's connection wrapped by
// wrap (when not nil).
func handshakenWrap(t *testing.T, ci, cr Config, wrap func(net.Conn) net.Conn) (a, b *Session) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ci.Initiator, cr.Initiator = true, false
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc := make(chan *Session, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			rc <- nil
			return
		}
		if wrap != nil {
			c = wrap(c)
		}
		s, err := New(ctx, c, cr)
		if err != nil {
			t.Error(err)
		}
		rc <- s
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if a, err = New(ctx, c, ci); err != nil {
		t.Fatal(err)
	}
	if b = <-rc; b == nil {
		t.FailNow()
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func runAsync(s *Session) chan error {
	e := make(chan error, 1)
	go func() { e <- s.Run(context.Background()) }()
	return e
}

// TestSendNeverWaits: sending to a peer that reads nothing never blocks the
// sender; once more than MaxQueued waits, the session ends with
// ErrSlowPeer and later sends fail at once.
func TestSendNeverWaits(t *testing.T) {
	a, _ := handshaken(t, Config{Timeout: -1, Live: true}, Config{Timeout: -1, Live: true})
	ea := runAsync(a)
	frame := message.AppendFrame(nil, 0, &message.Extension{Message: make([]byte, 1<<20)})
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 2*MaxQueued>>20; i++ {
			if err := a.send(frame); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrSlowPeer) {
			t.Fatalf("send = %v, want ErrSlowPeer", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sending to a peer that does not read blocked")
	}
	if err := wait(t, ea, "a ends"); !errors.Is(err, ErrSlowPeer) {
		t.Fatalf("Run = %v, want ErrSlowPeer", err)
	}
}

// TestWriteTimeout: a peer that stops reading with less than MaxQueued
// waiting (the writer blocked in Write) is dropped within the timeout.
func TestWriteTimeout(t *testing.T) {
	a, b := handshaken(t, Config{Timeout: time.Second, Live: true}, Config{Timeout: -1, Live: true})
	ea := runAsync(a)
	// b never reads but keeps sending, so only the write timeout can fire
	go func() {
		for b.SendRaw(0, &message.Extension{Message: []byte("x")}) == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}()
	frame := message.AppendFrame(nil, 0, &message.Extension{Message: make([]byte, 1<<20)})
	start := time.Now()
	for i := 0; i < 16; i++ { // 16 MiB: more than the sockets hold, less than MaxQueued
		if err := a.send(frame); err != nil {
			t.Fatal(err)
		}
	}
	err := wait(t, ea, "a ends")
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "did not read") {
		t.Fatalf("Run = %v, want ErrTimeout for a peer that did not read", err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("the session ended after %v, want about the 1 s timeout", d)
	}
}

// TestReceiveTimeoutIsSilence: time this side spends handling what it
// received does not count as the peer's silence. The handler takes 3 s
// over a message, with a 2 s timeout, while the peer keeps sending. (The
// timeouts leave a loaded machine under the race detector room for the
// keep-alives, sent every second.)
func TestReceiveTimeoutIsSilence(t *testing.T) {
	var slow atomic.Bool
	slow.Store(true)
	cfg := Config{Timeout: 2 * time.Second, Live: true, OnExtension: func(*Session, *message.Extension) {
		if slow.Swap(false) {
			time.Sleep(3 * time.Second)
		}
	}}
	a, b := handshaken(t, cfg, Config{Timeout: 2 * time.Second, Live: true})
	ea, eb := runAsync(a), runAsync(b)
	stop := time.After(5 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-ea:
			t.Fatalf("a ended with %v while b kept sending", err)
		case err := <-eb:
			t.Fatalf("b ended with %v", err)
		case <-tick.C:
			b.SendExtension(&message.Extension{Message: []byte("x")})
		case <-stop:
			return
		}
	}
}

// TestWhenDrained: a registration runs once the queue falls below its
// level, and never after the session ended.
func TestWhenDrained(t *testing.T) {
	a, b := handshaken(t, Config{Timeout: -1, Live: true}, Config{Timeout: -1, Live: true})
	runAsync(a)
	frame := message.AppendFrame(nil, 0, &message.Extension{Message: make([]byte, 1<<20)})
	for i := 0; i < 16; i++ {
		if err := a.send(frame); err != nil {
			t.Fatal(err)
		}
	}
	ran := make(chan int, 1)
	a.WhenDrained(1<<20, func() { ran <- a.Queued() })
	select {
	case q := <-ran:
		t.Fatalf("ran with %d bytes queued before the peer read", q)
	case <-time.After(300 * time.Millisecond):
	}
	runAsync(b) // b reads now
	if q := wait(t, ran, "drained"); q >= 1<<20 {
		t.Fatalf("ran with %d bytes queued", q)
	}
	a.Close()
	a.WhenDrained(1<<30, func() { ran <- 0 })
	select {
	case <-ran:
		t.Fatal("a registration ran after the session ended")
	case <-time.After(200 * time.Millisecond):
	}
}

// TestOpenKeyLengths: an Open whose discovery key is not 32 bytes, or whose
// capability is longer, ends the session before anything is kept.
func TestOpenKeyLengths(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *message.Open
	}{
		{"8 MiB discovery key", &message.Open{DiscoveryKey: make([]byte, 8<<20-64), Capability: make([]byte, 32)}},
		{"31-byte discovery key", &message.Open{DiscoveryKey: make([]byte, 31)}},
		{"no discovery key", &message.Open{}},
		{"33-byte capability", &message.Open{DiscoveryKey: make([]byte, 32), Capability: make([]byte, 33)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, ea, _ := pair(t, Config{Live: true}, Config{Live: true})
			_ = a
			if err := b.SendRaw(1, tc.m); err != nil {
				t.Fatal(err)
			}
			if err := wait(t, ea, "a ends"); !errors.Is(err, ErrProtocol) {
				t.Fatalf("Run = %v, want ErrProtocol", err)
			}
		})
	}
}

// TestTooManyChannels: a session that keeps the channels the remote opens
// pending (no OnDiscoveryKey, no Reject) ends with ErrTooManyChannels, a
// protocol error, past MaxChannels; one that rejects them keeps nothing
// and goes on.
func TestTooManyChannels(t *testing.T) {
	open := func(b *Session, n int) {
		for i := 1; i <= n; i++ {
			dk := make([]byte, 32)
			dk[0], dk[1] = byte(i), byte(i>>8)
			if b.SendRaw(uint64(i), &message.Open{DiscoveryKey: dk}) != nil {
				return
			}
		}
	}
	_, b, ea, _ := pair(t, Config{Live: true, MaxChannels: 100}, Config{Live: true})
	open(b, 101)
	if err := wait(t, ea, "a ends"); !errors.Is(err, ErrTooManyChannels) || !errors.Is(err, ErrProtocol) {
		t.Fatalf("Run = %v, want ErrTooManyChannels (a protocol error)", err)
	}

	a, b, ea, _ := pair(t, Config{Live: true, MaxChannels: 100, OnDiscoveryKey: func(s *Session, dk []byte) { s.Reject(dk) }}, Config{Live: true})
	open(b, 1000)
	// the channels a refused are gone: a can still open one of its own
	if _, err := a.Open(feedKey, newRecorder()); err != nil {
		t.Fatalf("Open after 1000 refused channels: %v", err)
	}
	select {
	case err := <-ea:
		t.Fatalf("a ended with %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	a.mu.Lock()
	n := len(a.byDK)
	a.mu.Unlock()
	if n != 1 {
		t.Fatalf("a keeps %d channels, want only its own", n)
	}
}

package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
)

// otherFeed is a writer of n blocks with a key of its own (blocksFeed's
// key is always the same).
func otherFeed(t *testing.T, n int, seed byte) *Feed {
	t.Helper()
	kp, err := merkle.NewKeyPairFromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	for i := 0; i < n; i++ {
		w.Append([]byte(fmt.Sprintf("other %d block %d", seed, i)))
	}
	return w
}

// tcpPair connects a (dialer, the initiator) and b over TCP on 127.0.0.1
// and runs Replicate on both; it returns their results.
func tcpPair(t *testing.T, ctx context.Context, a, b *Feed, ao, bo ReplicateOptions) (ra, rb chan error, ca, cb net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	ca, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cb = <-accepted
	if cb == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { ca.Close(); cb.Close() })
	ao.Initiator, bo.Initiator = true, false
	ra, rb = make(chan error, 1), make(chan error, 1)
	go func() { ra <- a.Replicate(ctx, ca, &ao) }()
	go func() { rb <- b.Replicate(ctx, cb, &bo) }()
	return ra, rb, ca, cb
}

func within(t *testing.T, c <-chan error, d time.Duration, what string) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(d):
		t.Fatalf("%s: not within %v", what, d)
		return nil
	}
}

// TestCloseEndsLiveSession: closing a feed ends its live sessions over TCP;
// Replicate returns an error matching ErrClosed and ErrSessionClosed.
func TestCloseEndsLiveSession(t *testing.T) {
	w := blocksFeed(t, 10)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	ctx := ctx5(t)
	_, rr, _, _ := tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	if _, err := r.GetContext(ctx, 3); err != nil {
		t.Fatal(err)
	}
	r.Close()
	err := within(t, rr, 2*time.Second, "Replicate after Close")
	if !errors.Is(err, ErrClosed) || !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("Replicate = %v, want ErrClosed and ErrSessionClosed", err)
	}
}

// TestProtocolRemove: removing one feed of a multi-feed connection closes
// its channel on both sides; the other feed goes on replicating live.
func TestProtocolRemove(t *testing.T) {
	w1, w2 := blocksFeed(t, 10), otherFeed(t, 10, 9)
	r1, _ := Open(storage.NewMemory(), &Options{Key: w1.Key(), Sparse: true})
	r2, _ := Open(storage.NewMemory(), &Options{Key: w2.Key(), Sparse: true})
	defer r1.Close()
	defer r2.Close()
	ctx := ctx5(t)
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	pc := make(chan *Protocol, 1)
	go func() {
		p, err := NewProtocol(ctx, a, &ReplicateOptions{Initiator: true, Live: true})
		if err != nil {
			t.Error(err)
		}
		pc <- p
	}()
	pr, err := NewProtocol(ctx, b, &ReplicateOptions{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	pw := <-pc
	for _, x := range []struct {
		p *Protocol
		f *Feed
	}{{pw, w1}, {pw, w2}, {pr, r1}, {pr, r2}} {
		if _, err := x.p.Add(x.f); err != nil {
			t.Fatal(err)
		}
	}
	go pw.Run(ctx)
	go pr.Run(ctx)
	if _, err := r1.GetContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := pr.Remove(r1); err != nil {
		t.Fatal(err)
	}
	if err := pr.Remove(r1); !errors.Is(err, ErrChannelNotFound) {
		t.Fatalf("a second Remove = %v, want ErrChannelNotFound", err)
	}
	for deadline := time.Now().Add(2 * time.Second); len(w1.Peers()) != 0 || len(r1.Peers()) != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("after Remove: %d writer peers, %d reader peers of feed 1", len(w1.Peers()), len(r1.Peers()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	w2.Append([]byte("after the remove"))
	if v, err := r2.GetContext(ctx, 10); err != nil || string(v) != "after the remove" {
		t.Fatalf("the other feed after Remove: %q, %v", v, err)
	}
}

// TestWaitFailsWhenLastPeerLeaves: a read, an update and a download waiting
// on the only peer fail with ErrNoPeers when it disconnects; with
// WaitForPeers they wait on and complete from a peer that connects later.
func TestWaitFailsWhenLastPeerLeaves(t *testing.T) {
	w := blocksFeed(t, 10)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	ctx := ctx5(t)
	_, rr, ca, _ := tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	if _, err := r.GetContext(ctx, 0); err != nil {
		t.Fatal(err)
	}
	get, update, download, forever := make(chan error, 1), make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() { _, err := r.GetContext(ctx, 20); get <- err }()
	go func() { update <- r.Update(ctx, 20) }()
	go func() { download <- r.Download(ctx, 15, 20) }()
	go func() { _, err := r.GetWith(ctx, 30, &GetOptions{WaitForPeers: true}); forever <- err }()
	// every wait is registered before the peer goes
	pollUntil(t, "4 waits", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.repl.waiting)+len(r.repl.selections) == 4
	})
	ca.Close()
	within(t, rr, 2*time.Second, "the reader's session")
	for name, c := range map[string]chan error{"GetContext": get, "Update": update, "Download": download} {
		if err := within(t, c, 2*time.Second, name); !errors.Is(err, ErrNoPeers) {
			t.Fatalf("%s = %v, want ErrNoPeers", name, err)
		}
	}
	select {
	case err := <-forever:
		t.Fatalf("GetWith(WaitForPeers) ended with %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	// the writer grows past block 30 while no peer is connected, then one
	// connects
	for w.Length() <= 30 {
		w.Append([]byte("more"))
	}
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	if err := within(t, forever, 2*time.Second, "GetWith(WaitForPeers)"); err != nil {
		t.Fatalf("GetWith(WaitForPeers) = %v", err)
	}
}

// TestPeerWithoutTheFeed: a peer that does not have the feed refuses its
// channel: a read fails with ErrNoPeers wrapping ErrRefused, and a session
// that is not live ends on its own.
func TestPeerWithoutTheFeed(t *testing.T) {
	other := otherFeed(t, 3, 9)
	w := blocksFeed(t, 3)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	ctx := ctx5(t)
	get := make(chan error, 1)
	go func() { _, err := r.GetContext(ctx, 1); get <- err }()
	pollUntil(t, "the read to wait", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.repl.waiting) == 1
	})
	ro, rr, _, _ := tcpPair(t, ctx, other, r, ReplicateOptions{}, ReplicateOptions{})
	if err := within(t, get, 3*time.Second, "GetContext"); !errors.Is(err, ErrNoPeers) || !errors.Is(err, ErrRefused) {
		t.Fatalf("GetContext = %v, want ErrNoPeers wrapping ErrRefused", err)
	}
	for _, c := range []chan error{ro, rr} {
		if err := within(t, c, 3*time.Second, "a non-live session between feeds that differ"); err != nil {
			t.Fatalf("Replicate = %v, want a clean end", err)
		}
	}
}

// TestLiveDownloadToTheEnd: Download(0, 0) on a live session returns once
// every block the peers announced is held.
func TestLiveDownloadToTheEnd(t *testing.T) {
	w := blocksFeed(t, 50)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	ctx := ctx5(t)
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	if err := r.Download(ctx, 0, 0); err != nil {
		t.Fatalf("Download(0, 0) = %v", err)
	}
	if n := r.Downloaded(0, 0); n != 50 {
		t.Fatalf("downloaded %d of 50", n)
	}
}

// pollUntil polls cond until it holds, for at most 5 s.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5 s for %s", what)
		}
	}
}

// established waits until the sparse clone r has read a block from its
// peer: the session is past its handshake (a fixed sleep was not enough
// under the race detector on a loaded machine).
func established(t *testing.T, r *Feed) {
	t.Helper()
	if _, err := r.GetContext(ctx5(t), 0); err != nil {
		t.Fatalf("the session did not start: %v", err)
	}
}

// TestEndReasons: Replicate's result for each way a session ends matches
// exactly one reason.
func TestEndReasons(t *testing.T) {
	reasons := []error{ErrSessionClosed, ErrConnectionLost, ErrProtocol, ErrTimeout}
	check := func(t *testing.T, err, want error) {
		t.Helper()
		if want == nil {
			if err != nil {
				t.Fatalf("Replicate = %v, want nil (a clean end)", err)
			}
			return
		}
		for _, r := range reasons {
			if errors.Is(err, r) != (r == want) {
				t.Fatalf("Replicate = %v: errors.Is(%v) = %v", err, r, errors.Is(err, r))
			}
		}
	}
	t.Run("clean end, not live", func(t *testing.T) {
		w := blocksFeed(t, 5)
		r, _ := Open(storage.NewMemory(), &Options{Key: w.Key()})
		defer r.Close()
		rw, rr, _, _ := tcpPair(t, ctx5(t), w, r, ReplicateOptions{}, ReplicateOptions{})
		check(t, within(t, rr, 3*time.Second, "reader"), nil)
		check(t, within(t, rw, 3*time.Second, "writer"), nil)
	})
	t.Run("the peer hangs up", func(t *testing.T) {
		w := blocksFeed(t, 5)
		r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
		defer r.Close()
		_, rr, ca, _ := tcpPair(t, ctx5(t), w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
		established(t, r)
		ca.(*net.TCPConn).CloseWrite()
		check(t, within(t, rr, 3*time.Second, "reader"), nil)
	})
	t.Run("context ended", func(t *testing.T) {
		w := blocksFeed(t, 5)
		r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
		defer r.Close()
		ctx, cancel := context.WithCancel(context.Background())
		_, rr, _, _ := tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
		established(t, r)
		cancel()
		err := within(t, rr, 3*time.Second, "reader")
		check(t, err, ErrSessionClosed)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Replicate = %v, want it to wrap context.Canceled", err)
		}
	})
	t.Run("connection reset", func(t *testing.T) {
		w := blocksFeed(t, 5)
		r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
		defer r.Close()
		_, rr, ca, _ := tcpPair(t, ctx5(t), w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
		established(t, r)
		ca.(*net.TCPConn).SetLinger(0)
		ca.Close()
		check(t, within(t, rr, 3*time.Second, "reader"), ErrConnectionLost)
	})
	t.Run("protocol error", func(t *testing.T) {
		w := blocksFeed(t, 100)
		r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
		defer r.Close()
		go r.GetContext(context.Background(), 5)
		ch, _, result := hostile(t, r, w.Key())
		ch.Send(&message.Have{Start: 0, Length: message.Uint64(100)})
		pollUntil(t, "the request for block 5", func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.repl.reserved != nil && r.repl.reserved.Get(5)
		})
		ch.Send(&message.Data{Index: 5, Value: []byte("lies"), Nodes: []message.Node{{Index: 8, Hash: make([]byte, 32), Size: 4}}, Signature: make([]byte, 64)})
		err := within(t, result, 3*time.Second, "victim")
		check(t, err, ErrProtocol)
		if !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("Replicate = %v, want it to wrap ErrInvalidProof", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		w := blocksFeed(t, 5)
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		res := make(chan error, 1)
		go func() { res <- w.Replicate(ctx5(t), a, &ReplicateOptions{Live: true, Timeout: time.Second}) }()
		s, err := session.New(ctx5(t), b, session.Config{Initiator: true, Timeout: -1})
		if err != nil {
			t.Fatal(err)
		}
		_ = s // says nothing more and reads nothing
		go func() {
			buf := make([]byte, 1024)
			for {
				if _, err := b.Read(buf); err != nil {
					return
				}
			}
		}()
		check(t, within(t, res, 4*time.Second, "writer"), ErrTimeout)
	})
}

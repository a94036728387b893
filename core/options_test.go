package core

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
)

// TestGetIfAvailable: with IfAvailable, a get of a block a peer has waits
// for it; a get of a block no peer has fails with ErrNotAvailableFromPeers
// (which matches ErrNotAvailable) once the peers have said what they have,
// also when asked while the connection is still being set up; with no
// peer it fails at once. Without IfAvailable the same get waits.
func TestGetIfAvailable(t *testing.T) {
	w := blocksFeed(t, 10)
	ctx := ctx5(t)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	ifAvailable := &GetOptions{IfAvailable: true}

	if _, err := r.GetWith(ctx, 3, ifAvailable); !errors.Is(err, ErrNotAvailableFromPeers) || !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("GetWith(IfAvailable) with no peer = %v, want ErrNotAvailableFromPeers", err)
	}

	// asked at once: the handshake and the first Wants are still on
	// their way
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	replicating(t, r)
	early := make(chan error, 1)
	go func() { _, err := r.GetWith(ctx, 40, ifAvailable); early <- err }()
	if v, err := r.GetWith(ctx, 7, ifAvailable); err != nil || string(v) != "block 7" {
		t.Fatalf("GetWith(7, IfAvailable) = %q, %v, want block 7", v, err)
	}
	if err := within(t, early, 2*time.Second, "GetWith(40, IfAvailable) during the handshake"); !errors.Is(err, ErrNotAvailableFromPeers) {
		t.Fatalf("GetWith(40, IfAvailable) = %v, want ErrNotAvailableFromPeers", err)
	}
	late := make(chan error, 1)
	go func() { _, err := r.GetWith(ctx, 20, ifAvailable); late <- err }()
	if err := within(t, late, 2*time.Second, "GetWith(20, IfAvailable)"); !errors.Is(err, ErrNotAvailableFromPeers) {
		t.Fatalf("GetWith(20, IfAvailable) = %v, want ErrNotAvailableFromPeers", err)
	}
	// without IfAvailable it waits
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := r.GetWith(short, 20, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetWith(20) = %v, want it to wait until its context ends", err)
	}
	// blocks appended later are available once announced
	w.Append([]byte("block 10"))
	if err := r.Update(ctx, 11); err != nil {
		t.Fatal(err)
	}
	if v, err := r.GetWith(ctx, 10, ifAvailable); err != nil || string(v) != "block 10" {
		t.Fatalf("GetWith(10, IfAvailable) after the append = %q, %v", v, err)
	}
}

// TestUpdateIfAvailable: an update with IfAvailable succeeds to a length a
// peer has and fails with ErrNotAvailableFromPeers beyond it; a writer's
// fails at once, as in JS.
func TestUpdateIfAvailable(t *testing.T) {
	w := blocksFeed(t, 10)
	ctx := ctx5(t)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	if err := r.UpdateWith(ctx, &UpdateOptions{IfAvailable: true}); !errors.Is(err, ErrNotAvailableFromPeers) {
		t.Fatalf("UpdateWith(IfAvailable) with no peer = %v, want ErrNotAvailableFromPeers", err)
	}
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	replicating(t, r)
	if err := r.UpdateWith(ctx, &UpdateOptions{MinLength: 10, IfAvailable: true}); err != nil {
		t.Fatalf("UpdateWith(10, IfAvailable) = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- r.UpdateWith(ctx, &UpdateOptions{MinLength: 11, IfAvailable: true}) }()
	if err := within(t, done, 2*time.Second, "UpdateWith(11, IfAvailable)"); !errors.Is(err, ErrNotAvailableFromPeers) {
		t.Fatalf("UpdateWith(11, IfAvailable) = %v, want ErrNotAvailableFromPeers", err)
	}
	if err := w.UpdateWith(ctx, &UpdateOptions{IfAvailable: true}); !errors.Is(err, ErrNotAvailableFromPeers) {
		t.Fatalf("the writer's UpdateWith(IfAvailable) = %v, want ErrNotAvailableFromPeers", err)
	}
}

// TestUpdateBlock: by default an update fetches the last block's proof
// only (JS hash: true); with Block it downloads the block too (JS hash:
// false).
func TestUpdateBlock(t *testing.T) {
	w := blocksFeed(t, 10)
	ctx := ctx5(t)
	r := sparseClone(t, ctx, w) // Update(10)
	if r.Has(9) || r.Downloaded(0, 0) != 0 {
		t.Fatalf("after Update the clone holds %d blocks, want none", r.Downloaded(0, 0))
	}
	w.Append([]byte("block 10"))
	if err := r.UpdateWith(ctx, &UpdateOptions{MinLength: 11, Block: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !r.Has(10) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if v, err := r.Get(10); err != nil || string(v) != "block 10" {
		t.Fatalf("after UpdateWith(Block) Get(10) = %q, %v, want it stored", v, err)
	}
}

// TestCancel: Cancel fails the gets of blocks in its range and the
// downloads inside it with ErrCancelled, and leaves the others waiting.
func TestCancel(t *testing.T) {
	w := blocksFeed(t, 10)
	ctx := ctx5(t)
	r := sparseClone(t, ctx, w)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	get := func(i uint64) chan error {
		c := make(chan error, 1)
		go func() { _, err := r.GetContext(wctx, i); c <- err }()
		return c
	}
	g20, g25, g30, g40 := get(20), get(25), get(30), get(40)
	d := make(chan error, 1)
	go func() { d <- r.Download(wctx, 21, 24) }()
	dOut := make(chan error, 1)
	go func() { dOut <- r.Download(wctx, 15, 35) }()
	time.Sleep(50 * time.Millisecond)
	if n := r.Cancel(20, 30); n != 3 {
		t.Errorf("Cancel(20, 30) cancelled %d waits, want 3", n)
	}
	for name, c := range map[string]chan error{"get 20": g20, "get 25": g25, "Download(21, 24)": d} {
		if err := within(t, c, 2*time.Second, name); !errors.Is(err, ErrCancelled) {
			t.Errorf("%s after Cancel = %v, want ErrCancelled", name, err)
		}
	}
	if n := r.Cancel(40, 0); n != 1 { // end 0: one block
		t.Errorf("Cancel(40, 0) cancelled %d waits, want 1", n)
	}
	if err := within(t, g40, 2*time.Second, "get 40"); !errors.Is(err, ErrCancelled) {
		t.Errorf("get 40 after Cancel(40, 0) = %v, want ErrCancelled", err)
	}
	for name, c := range map[string]chan error{"get 30": g30, "Download(15, 35)": dOut} {
		select {
		case err := <-c:
			t.Errorf("%s, outside the range, ended with %v", name, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	// a block of the range still arrives for a new get
	w.Append([]byte("block 10"))
	if v, err := r.GetContext(ctx, 10); err != nil || string(v) != "block 10" {
		t.Fatalf("GetContext(10) after Cancel = %q, %v", v, err)
	}
}

// replicating waits until a Replicate of f has started (it is
// handshaking, or has a peer): from then on a wait with IfAvailable waits
// for what the peer says. (tcpPair starts Replicate on a goroutine; a
// wait started before it runs sees no peer and fails at once.)
func replicating(t *testing.T, f *Feed) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; {
		f.mu.Lock()
		started := f.repl.connecting > 0 || len(f.repl.peers) > 0
		f.mu.Unlock()
		if started {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("Replicate did not start")
		}
		time.Sleep(time.Millisecond)
	}
}

package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
)

// connect replicates a and b over an in-memory pipe (a initiates) and
// returns a function that waits for both sides to end.
func connect(t *testing.T, a, b *Feed, live bool) func() (error, error) {
	t.Helper()
	ca, cb := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	ea, eb := make(chan error, 1), make(chan error, 1)
	go func() { ea <- a.Replicate(ctx, ca, &ReplicateOptions{Initiator: true, Live: live}) }()
	go func() { eb <- b.Replicate(ctx, cb, &ReplicateOptions{Live: live}) }()
	t.Cleanup(func() { cancel(); ca.Close(); cb.Close() })
	return func() (error, error) {
		var x, y error
		select {
		case x = <-ea:
		case <-time.After(10 * time.Second):
			t.Fatal("a did not end")
		}
		select {
		case y = <-eb:
		case <-time.After(10 * time.Second):
			t.Fatal("b did not end")
		}
		return x, y
	}
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestGuideStep2 is the guide's second step in process: a sparse clone
// gets blocks 0 and 1, the writer appends 100 blocks one by one, the clone
// updates and reads the last block; it then holds exactly 0, 1 and 101.
func TestGuideStep2(t *testing.T) {
	kp := testKeyPair(t)
	core, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer core.Close()
	core.Append([]byte("hello"), []byte("world"))
	clone, err := Open(storage.NewMemory(), &Options{Key: core.Key(), Sparse: true})
	if err != nil {
		t.Fatal(err)
	}
	defer clone.Close()
	connect(t, core, clone, true)
	ctx := ctx5(t)
	for i, want := range []string{"hello", "world"} {
		got, err := clone.GetContext(ctx, uint64(i))
		if err != nil || string(got) != want {
			t.Fatalf("clone.GetContext(%d) = %q, %v", i, got, err)
		}
	}
	for i := 0; i < 100; i++ {
		core.Append([]byte(fmt.Sprintf("New Block %d", i)))
	}
	if err := clone.Update(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if clone.Length() != 102 {
		t.Fatalf("clone length after Update = %d, want 102", clone.Length())
	}
	got, err := clone.GetContext(ctx, clone.Length()-1)
	if err != nil || string(got) != "New Block 99" {
		t.Fatalf("last block = %q, %v", got, err)
	}
	for i := uint64(0); i < 102; i++ {
		if want := i == 0 || i == 1 || i == 101; clone.Has(i) != want {
			t.Fatalf("clone.Has(%d) = %v", i, !want)
		}
	}
}

// TestFullClone: a non-sparse, non-live clone downloads everything and both
// sessions end on their own.
func TestFullClone(t *testing.T) {
	kp := testKeyPair(t)
	w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer w.Close()
	var blocks [][]byte
	for i := 0; i < 1000; i++ {
		blocks = append(blocks, []byte(fmt.Sprintf("block %d", i)))
	}
	w.Append(blocks[:500]...)
	w.Append(blocks[500:]...)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key()})
	defer r.Close()
	wait := connect(t, w, r, false)
	ea, eb := wait()
	if ea != nil || eb != nil {
		t.Fatalf("sessions ended with %v, %v", ea, eb)
	}
	if r.Length() != 1000 || r.Downloaded(0, 0) != 1000 {
		t.Fatalf("clone length %d, downloaded %d", r.Length(), r.Downloaded(0, 0))
	}
	for i, b := range blocks {
		got, err := r.Get(uint64(i))
		if err != nil || string(got) != string(b) {
			t.Fatalf("Get(%d) = %q, %v", i, got, err)
		}
	}
}

// A reader that connects to a writer with no blocks yet is answered with an
// empty Have bitfield; it must not take the Have's window for blocks the
// writer has (it would request blocks that do not exist and be dropped).
func TestLiveFromEmptyWriter(t *testing.T) {
	kp := testKeyPair(t)
	w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer w.Close()
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key()})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	errs := make(chan error, 2)
	go func() { errs <- w.Replicate(ctx, a, &ReplicateOptions{Live: true}) }()
	go func() { errs <- r.Replicate(ctx, b, &ReplicateOptions{Initiator: true, Live: true}) }()
	time.Sleep(50 * time.Millisecond) // let the Want and its Have cross
	w.Append([]byte("one"), []byte("two"), []byte("three"))
	if err := r.Update(ctx, 3); err != nil {
		select {
		case e := <-errs:
			t.Fatalf("Update = %v (a session ended: %v)", err, e)
		default:
			t.Fatalf("Update = %v", err)
		}
	}
	if got, err := r.GetContext(ctx, 2); err != nil || string(got) != "three" {
		t.Fatalf("Get(2) = %q, %v", got, err)
	}
}

// Undownload cancels a pending Download, which returns ErrCancelled; a
// Download of another range is untouched.
func TestUndownload(t *testing.T) {
	kp := testKeyPair(t)
	w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer w.Close()
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	ctx := ctx5(t)
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- r.Download(ctx, 0, 10) }()
	go func() { second <- r.Download(ctx, 10, 20) }()
	deadline := time.Now().Add(5 * time.Second)
	n := 0
	for n == 0 && time.Now().Before(deadline) {
		n = r.Undownload(0, 10) // the goroutine may not have started yet
		time.Sleep(time.Millisecond)
	}
	if n != 1 {
		t.Fatalf("Undownload(0, 10) cancelled %d downloads, want 1", n)
	}
	if err := <-first; !errors.Is(err, ErrCancelled) {
		t.Fatalf("cancelled Download = %v, want ErrCancelled", err)
	}
	if n := r.Undownload(0, 10); n != 0 {
		t.Fatalf("second Undownload cancelled %d", n)
	}
	// the other range still downloads once a peer has it
	var blocks [][]byte
	for i := 0; i < 20; i++ {
		blocks = append(blocks, []byte(fmt.Sprint(i)))
	}
	w.Append(blocks...)
	connect(t, w, r, true)
	if err := <-second; err != nil {
		t.Fatalf("Download(10, 20) = %v", err)
	}
	if got := r.Downloaded(0, 20); got != 10 {
		t.Fatalf("Downloaded(0, 20) = %d, want 10 (only the range not cancelled)", got)
	}
}

// With Ack, the uploader learns of every block the downloader stored.
func TestAck(t *testing.T) {
	kp := testKeyPair(t)
	w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer w.Close()
	w.Append([]byte("a"), []byte("b"), []byte("c"))
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	sub := w.Subscribe()
	defer sub.Close()
	ca, cb := net.Pipe()
	defer ca.Close()
	defer cb.Close()
	ctx := ctx5(t)
	go w.Replicate(ctx, ca, &ReplicateOptions{Initiator: true, Live: true, Ack: true})
	go r.Replicate(ctx, cb, &ReplicateOptions{Live: true, Ack: true})
	if err := r.DownloadBlocks(ctx, []uint64{0, 2}); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]bool{}
	for len(acked) < 2 {
		select {
		case e := <-sub.C:
			if e.Type == EventAck {
				if e.Peer == nil {
					t.Fatal("ack without a peer")
				}
				if e.End != e.Index+1 {
					t.Fatalf("ack of [%d, %d), want JS's {start, length: 1}", e.Index, e.End)
				}
				acked[e.Index] = true
			}
		case <-ctx.Done():
			t.Fatalf("acks seen %v, want blocks 0 and 2", acked)
		}
	}
	if !acked[0] || !acked[2] {
		t.Fatalf("acks for %v, want 0 and 2", acked)
	}
}

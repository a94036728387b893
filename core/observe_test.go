package core

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
)

// TestEventsCarryBlocks: EventDownload and EventUpload carry the block.
func TestEventsCarryBlocks(t *testing.T) {
	w := blocksFeed(t, 20)
	checkEventsCarry(t, w, 20, func(i int) []byte { return []byte(fmt.Sprintf("block %d", i)) })
}

// checkEventsCarry clones the n blocks of w into a sparse reader over TCP
// and checks that every EventDownload of the reader and EventUpload of w
// carries the block want(i) gives, whatever moved after it, and that the
// reader's Get returns it.
func checkEventsCarry(t *testing.T, w *Feed, n int, want func(int) []byte) {
	t.Helper()
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	t.Cleanup(func() { r.Close() })
	down, up := r.SubscribeBuffer(2*n), w.SubscribeBuffer(2*n)
	defer down.Close()
	defer up.Close()
	ctx := ctx5(t)
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	if err := r.Download(ctx, 0, uint64(n)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sub  *Subscription
		typ  EventType
		name string
	}{{down, EventDownload, "download"}, {up, EventUpload, "upload"}} {
		seen := map[uint64]bool{}
		for len(seen) < n {
			select {
			case e := <-c.sub.C:
				if e.Type != c.typ {
					continue
				}
				if b := want(int(e.Index)); !bytes.Equal(e.Data, b) || e.Bytes != len(b) {
					t.Fatalf("%s event of block %d carries %d bytes (%q...), want %d bytes (%q...)", c.name, e.Index, len(e.Data), e.Data[:min(len(e.Data), 8)], len(b), b[:min(len(b), 8)])
				}
				seen[e.Index] = true
			case <-ctx.Done():
				t.Fatalf("%d %s events", len(seen), c.name)
			}
		}
	}
	for i := 0; i < n; i++ {
		if got, err := r.Get(uint64(i)); err != nil || !bytes.Equal(got, want(i)) {
			t.Fatalf("Get(%d) = %d bytes, %v", i, len(got), err)
		}
	}
}

// TestEventBufferBounded: a subscriber that does not read holds at most
// its buffer; what did not fit is counted in one EventDropped, delivered
// where the gap is, and events flow again after it.
func TestEventBufferBounded(t *testing.T) {
	kp := testKeyPair(t)
	w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer w.Close()
	sub := w.SubscribeBuffer(10)
	defer sub.Close()
	for i := 0; i < 1000; i++ {
		w.Append([]byte("x"))
	}
	sub.mu.Lock()
	held := len(sub.queue)
	sub.mu.Unlock()
	if held > 10 {
		t.Fatalf("the subscription holds %d events, its buffer is 10", held)
	}
	next := func() Event {
		select {
		case e := <-sub.C:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
			return Event{}
		}
	}
	// the first event may already be in the delivering goroutine's hands
	var got []Event
	for {
		e := next()
		got = append(got, e)
		if e.Type == EventDropped {
			break
		}
		if len(got) > 12 {
			t.Fatalf("no EventDropped after %d events", len(got))
		}
	}
	delivered := uint64(len(got) - 1)
	if d := got[len(got)-1].Index; d+delivered != 1000 {
		t.Fatalf("%d delivered and %d dropped, want 1000 in all", delivered, d)
	}
	for i, e := range got[:len(got)-1] {
		if e.Type != EventAppend || e.Index != uint64(i+1) {
			t.Fatalf("event %d = %v %d, want append %d", i, e.Type, e.Index, i+1)
		}
	}
	w.Append([]byte("after"))
	if e := next(); e.Type != EventAppend || e.Index != 1001 {
		t.Fatalf("after the gap: %v %d, want append 1001", e.Type, e.Index)
	}
}

// TestEagerUpdate: a sparse live clone with EagerUpdate learns each new
// length without calling Update.
func TestEagerUpdate(t *testing.T) {
	w := blocksFeed(t, 3)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true, EagerUpdate: true})
	defer r.Close()
	ctx := ctx5(t)
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	for want := uint64(3); want <= 6; want++ {
		for r.Length() < want {
			if ctx.Err() != nil {
				t.Fatalf("the clone's length is %d, want %d without Update", r.Length(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		w.Append([]byte("more"))
	}
	if n := r.Downloaded(0, 0); n != 0 {
		t.Fatalf("the eager clone downloaded %d blocks, want only lengths", n)
	}
}

// logRecorder is a slog.Handler that keeps each record's message and err.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	s := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" && a.Value.Any() != nil {
			s += " err=" + a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, s)
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

func (h *logRecorder) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.recs, "\n")
}

// TestLogger: the logger hears of the session's start and end, the peer
// added and removed, and a peer dropped for what it sent.
func TestLogger(t *testing.T) {
	w := blocksFeed(t, 5)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key()})
	defer r.Close()
	h := &logRecorder{}
	_, rr, _, _ := tcpPair(t, ctx5(t), w, r, ReplicateOptions{}, ReplicateOptions{Logger: slog.New(h)})
	if err := within(t, rr, 3*time.Second, "clone"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"INFO hypercore: session start", "DEBUG hypercore: peer added", "DEBUG hypercore: peer removed", "INFO hypercore: session end"} {
		if !strings.Contains(h.text(), want) {
			t.Fatalf("the log lacks %q:\n%s", want, h.text())
		}
	}

	// a peer that sends a bad proof is dropped, with a warning
	h2 := &logRecorder{}
	v, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer v.Close()
	sa, sb := tcpConns(t)
	go serveLiar(ctx5(t), t, sa, w, "bad-value")
	go v.Replicate(ctx5(t), sb, &ReplicateOptions{Initiator: true, Live: true, Logger: slog.New(h2)})
	v.GetContext(ctx5(t), 1)
	if !strings.Contains(h2.text(), "WARN hypercore: peer dropped err=") {
		t.Fatalf("the log lacks the dropped peer:\n%s", h2.text())
	}
}

// TestDownloadProgress: Progress counts the range's blocks as they are
// stored, up to the whole range.
func TestDownloadProgress(t *testing.T) {
	w := blocksFeed(t, 200)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	ctx := ctx5(t)
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	var mu sync.Mutex
	var calls [][2]uint64
	err := r.DownloadWith(ctx, 50, 150, &DownloadOptions{Progress: func(h, n uint64) {
		mu.Lock()
		calls = append(calls, [2]uint64{h, n})
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	// the last report runs just after the download completes
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if n >= 100 || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 100 {
		t.Fatalf("%d progress reports, want one per block (100)", len(calls))
	}
	seen := map[uint64]bool{}
	for _, c := range calls {
		if c[1] != 100 || c[0] == 0 || c[0] > 100 || seen[c[0]] {
			t.Fatalf("progress reports %v", calls)
		}
		seen[c[0]] = true
	}
	if !seen[100] {
		t.Fatalf("no report of the whole range: %v", calls)
	}
}

// tcpConns returns the two ends of a TCP connection on 127.0.0.1.
func tcpConns(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := make(chan net.Conn, 1)
	go func() {
		x, _ := ln.Accept()
		c <- x
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-c
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

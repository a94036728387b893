package core

import (
	"bytes"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
)

// TestEventsCarryLargeBlocks: blocks large enough that both sides reuse
// their memory (a served block's buffer once sent, a received frame's body
// once handled: session.Config.ReuseData) still reach subscribers whole,
// however many blocks move after them.
func TestEventsCarryLargeBlocks(t *testing.T) {
	const n, size = 40, 20 << 10
	kp := testKeyPair(t)
	w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer w.Close()
	block := func(i int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, size) }
	for i := 0; i < n; i++ {
		if _, err := w.Append(block(i)); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	down, up := r.SubscribeBuffer(2*n), w.SubscribeBuffer(2*n)
	defer down.Close()
	defer up.Close()
	ctx := ctx5(t)
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	if err := r.Download(ctx, 0, n); err != nil {
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
				if !bytes.Equal(e.Data, block(int(e.Index))) {
					t.Fatalf("%s event of block %d carries %d bytes starting %x, want %d bytes of %x", c.name, e.Index, len(e.Data), e.Data[:min(len(e.Data), 4)], size, e.Index+1)
				}
				seen[e.Index] = true
			case <-ctx.Done():
				t.Fatalf("%d %s events", len(seen), c.name)
			}
		}
	}
	for i := 0; i < n; i++ {
		if got, err := r.Get(uint64(i)); err != nil || !bytes.Equal(got, block(i)) {
			t.Fatalf("Get(%d) = %d bytes, %v", i, len(got), err)
		}
	}
}

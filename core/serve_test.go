package core

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
)

// TestServeCorruptBlock is the re-hash decision of spec/security.md
// ("Serving unverified blocks") on a data file damaged on disk: a local
// Get of the damaged block fails with ErrCorrupt, the serving side sends
// it as it reads it (EventUpload) without hashing it again, and the remote
// reader rejects it against the signed tree: its session ends with
// a verification error and it stores nothing of the block, while every block it
// did store is the writer's.
func TestServeCorruptBlock(t *testing.T) {
	const n, bad = 8, 5
	dir := t.TempDir()
	kp := testKeyPair(t)
	w, err := CreateDir(dir, &Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]byte
	for i := range n {
		blocks = append(blocks, []byte(fmt.Sprintf("block %d", i)))
	}
	if _, err := w.Append(blocks...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// flip a bit of block bad in the data file (the blocks lie end to
	// end: all are 7 bytes)
	data := filepath.Join(dir, "data")
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[bad*7+3] ^= 1
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err = OpenDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	// a local read still checks the block against its leaf
	if _, err := w.Get(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("writer Get(%d) = %v, want ErrCorrupt", bad, err)
	}
	if got, err := w.Get(bad - 1); err != nil || !bytes.Equal(got, blocks[bad-1]) {
		t.Fatalf("writer Get(%d) = %q, %v, want %q", bad-1, got, err, blocks[bad-1])
	}

	sub := w.Subscribe()
	defer sub.Close()
	r, err := Open(storage.NewMemory(), &Options{Key: w.Key()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, rerr := connect(t, w, r, false)()
	// (a proof that ends at the signed roots fails on the signature)
	if !errors.Is(rerr, ErrProtocol) || !errIsVerification(rerr) {
		t.Fatalf("reader's Replicate = %v, want ErrProtocol and a verification error", rerr)
	}
	if r.Has(bad) {
		t.Fatalf("the reader stored block %d, which does not verify", bad)
	}
	if _, err := r.Get(bad); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("reader Get(%d) = %v, want ErrNotAvailable", bad, err)
	}
	for i := range uint64(n) {
		if !r.Has(i) {
			continue
		}
		if got, err := r.Get(i); err != nil || !bytes.Equal(got, blocks[i]) {
			t.Fatalf("reader Get(%d) = %q, %v, want %q", i, got, err, blocks[i])
		}
	}

	// the writer served the damaged block as read, unhashed
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Type != EventUpload || e.Index != bad {
				continue
			}
			if !bytes.Equal(e.Data, b[bad*7:bad*7+7]) {
				t.Fatalf("EventUpload %d carries %q, want the damaged %q", bad, e.Data, b[bad*7:bad*7+7])
			}
			return
		case <-timeout:
			t.Fatalf("no EventUpload for block %d: the writer did not serve it", bad)
		}
	}
}

package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

// backends runs f on a memory and a disk storage; reopen returns a fresh
// storage over the same bytes.
func backends(t *testing.T, f func(t *testing.T, open func() storage.Storage)) {
	t.Run("memory", func(t *testing.T) {
		m := storage.NewMemory()
		f(t, func() storage.Storage { return reusable{m} })
	})
	t.Run("disk", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "feed")
		f(t, func() storage.Storage {
			d, err := storage.OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			return d
		})
	})
}

// reusable wraps a Memory so that closing a feed does not drop its bytes.
type reusable struct{ *storage.Memory }

func (reusable) Close() error { return nil }

func testKeyPair(t testing.TB) merkle.KeyPair {
	kp, err := merkle.NewKeyPairFromSeed(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func TestAppendGetReopen(t *testing.T) {
	backends(t, func(t *testing.T, open func() storage.Storage) {
		kp := testKeyPair(t)
		f, err := Create(open(), &Options{KeyPair: &kp})
		if err != nil {
			t.Fatal(err)
		}
		if seq, err := f.Append([]byte("hello"), []byte("world")); seq != 0 || err != nil {
			t.Fatalf("Append = %d, %v", seq, err)
		}
		for i := 0; i < 100; i++ {
			if _, err := f.Append([]byte(fmt.Sprintf("New Block %d", i))); err != nil {
				t.Fatal(err)
			}
		}
		check := func(f *Feed) {
			t.Helper()
			if f.Length() != 102 || f.ByteLength() != 10+10*11+90*12 {
				t.Fatalf("Length, ByteLength = %d, %d", f.Length(), f.ByteLength())
			}
			for i, want := range []string{"hello", "world", "New Block 0", "New Block 99"} {
				idx := uint64(i)
				if i == 3 {
					idx = 101
				}
				got, err := f.Get(idx)
				if err != nil || string(got) != want {
					t.Fatalf("Get(%d) = %q, %v; want %q", idx, got, err, want)
				}
			}
			head, _ := f.Head()
			if string(head) != "New Block 99" {
				t.Fatalf("Head = %q", head)
			}
			if _, err := f.Get(102); !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("Get(102) = %v", err)
			}
			r, err := f.Audit()
			if err != nil || r.Valid != 102 || r.Invalid != 0 {
				t.Fatalf("Audit = %+v, %v", r, err)
			}
			idx, off, err := f.Seek(12)
			if err != nil || idx != 2 || off != 2 {
				t.Fatalf("Seek(12) = %d, %d, %v", idx, off, err)
			}
		}
		check(f)
		f.Close()
		g, err := Open(open(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !g.Writable() {
			t.Fatal("reopened feed is not writable")
		}
		check(g)
		if _, err := g.Append([]byte("more")); err != nil {
			t.Fatal(err)
		}
		if g.Length() != 103 {
			t.Fatalf("Length = %d", g.Length())
		}
		g.Close()
	})
}

func TestErrors(t *testing.T) {
	kp := testKeyPair(t)
	m := storage.NewMemory()
	if _, err := Open(reusable{m}, nil); !errors.Is(err, ErrNoFeed) {
		t.Fatalf("Open(empty) = %v", err)
	}
	f, _ := Create(reusable{m}, &Options{KeyPair: &kp})
	if _, err := f.Append(make([]byte, MaxBlockSize+1)); !errors.Is(err, ErrBlockTooLarge) {
		t.Fatalf("Append(too large) = %v", err)
	}
	f.Close()
	other, _ := merkle.NewKeyPairFromSeed(make([]byte, 32))
	if _, err := Open(reusable{m}, &Options{Key: Key(other.PublicKey)}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("Open(other key) = %v", err)
	}
	if _, err := Create(reusable{m}, &Options{KeyPair: &other}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("Create(other key pair) = %v", err)
	}
	r, err := Open(storage.NewMemory(), &Options{Key: Key(kp.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Append([]byte("x")); !errors.Is(err, ErrNotWritable) {
		t.Fatalf("reader Append = %v", err)
	}
	r.Close()
	if _, err := f.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
}

// TestProofPut builds proofs on a writer and puts them into a sparse
// reader, as replication does, for every block of several lengths.
func TestProofPut(t *testing.T) {
	kp := testKeyPair(t)
	w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer w.Close()
	for i := 0; i < 37; i++ {
		w.Append([]byte(fmt.Sprintf("block %d", i)))
	}
	r, _ := Open(storage.NewMemory(), &Options{Key: Key(kp.PublicKey), Sparse: true})
	defer r.Close()
	for _, i := range []uint64{5, 0, 36, 17, 18, 1, 35} {
		p, err := w.LowLevel().Proof(i, r.LowLevel().Digest(i), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		value, _ := w.Get(i)
		res, err := r.LowLevel().Put(i, value, p)
		if err != nil {
			t.Fatalf("Put(%d) = %v", i, err)
		}
		if !res.Stored {
			t.Fatalf("Put(%d) stored nothing", i)
		}
		got, err := r.Get(i)
		if err != nil || !bytes.Equal(got, value) {
			t.Fatalf("reader Get(%d) = %q, %v", i, got, err)
		}
	}
	if r.Length() != 37 {
		t.Fatalf("reader length %d, want 37 (the signed length)", r.Length())
	}
}

// A tree file that claims a huge block size (a corrupted or hostile disk)
// makes Get fail with ErrCorrupt, without allocating by the claim.
func TestGetHugeClaimedSize(t *testing.T) {
	dir := t.TempDir()
	kp := testKeyPair(t)
	f, err := CreateDir(dir, &Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	f.Append([]byte("one"), []byte("two"))
	f.Close()
	// node 0 is at 32 + 40·0 in the tree file: hash (32 bytes), then the
	// size as uint64 big-endian
	tree := filepath.Join(dir, "tree")
	b, _ := os.ReadFile(tree)
	binary.BigEndian.PutUint64(b[32+32:], 1<<46)
	os.WriteFile(tree, b, 0o644)
	f, err = OpenDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Get(0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get(0) = %v, want ErrCorrupt", err)
	}
}

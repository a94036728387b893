package core

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
)

// TestOpenOrCreateDir: one call opens a feed or creates it, and says which.
func TestOpenOrCreateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "feed")
	f, created, err := OpenOrCreateDir(dir, nil)
	if err != nil || !created || !f.Writable() {
		t.Fatalf("first call: created %v, %v", created, err)
	}
	key := f.Key()
	f.Append([]byte("a"))
	f.Close()
	f, created, err = OpenOrCreateDir(dir, nil)
	if err != nil || created || !f.Key().Equal(key) || f.Length() != 1 {
		t.Fatalf("second call: created %v, %v", created, err)
	}
	f.Close()
	other := testKeyPair(t)
	if _, _, err := OpenOrCreateDir(dir, &Options{Key: Key(other.PublicKey)}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("with another key: %v, want ErrKeyMismatch", err)
	}
	// a clone of a key, created then reopened
	cdir := filepath.Join(t.TempDir(), "clone")
	c, created, err := OpenOrCreateDir(cdir, &Options{Key: key})
	if err != nil || !created || c.Writable() {
		t.Fatalf("clone: created %v, %v", created, err)
	}
	c.Close()
	c, created, err = OpenOrCreateDir(cdir, &Options{Key: key})
	if err != nil || created {
		t.Fatalf("clone reopened: created %v, %v", created, err)
	}
	c.Close()
	// a writer's key pair creates, then reopens, its feed
	kp := testKeyPair(t)
	wdir := filepath.Join(t.TempDir(), "w")
	for i, want := range []bool{true, false} {
		w, created, err := OpenOrCreateDir(wdir, &Options{KeyPair: &kp})
		if err != nil || created != want || !w.Writable() {
			t.Fatalf("key pair, call %d: created %v, %v", i, created, err)
		}
		w.Close()
	}
}

// TestOpenDirLeavesNothing: OpenDir of a path without a feed (and no Key)
// fails with ErrNoFeed and leaves no directory or file behind.
func TestOpenDirLeavesNothing(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "nothing")
	if _, err := OpenDir(dir, nil); !errors.Is(err, ErrNoFeed) {
		t.Fatalf("OpenDir = %v, want ErrNoFeed", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenDir left %s behind (%v)", dir, err)
	}
	empty := filepath.Join(base, "empty")
	os.Mkdir(empty, 0o755)
	if _, err := OpenDir(empty, nil); !errors.Is(err, ErrNoFeed) {
		t.Fatalf("OpenDir = %v, want ErrNoFeed", err)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Fatalf("OpenDir left %d files in an empty directory", len(ents))
	}
}

// TestOpenDirTwice: a second OpenDir of a directory this process has open
// says so, and still matches storage.ErrLocked.
func TestOpenDirTwice(t *testing.T) {
	dir := t.TempDir()
	f, err := CreateDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = OpenDir(dir, nil)
	if !errors.Is(err, storage.ErrAlreadyOpen) || !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second OpenDir = %v, want ErrAlreadyOpen (and ErrLocked)", err)
	}
	f.Close()
	g, err := OpenDir(dir, nil)
	if err != nil {
		t.Fatalf("OpenDir after Close = %v", err)
	}
	g.Close()
}

// TestGetPastTheEnd: Get of a block past the feed's length is
// ErrOutOfRange; a block within it that is not stored is ErrNotAvailable.
func TestGetPastTheEnd(t *testing.T) {
	w := blocksFeed(t, 2)
	if _, err := w.Get(5); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Get(5) of 2 blocks = %v, want ErrOutOfRange", err)
	}
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	v, err := w.Get(1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.LowLevel().Proof(1, 0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LowLevel().Put(1, v, p); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(0); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("Get(0) of a sparse clone holding block 1 = %v, want ErrNotAvailable", err)
	}
}

// TestKey: a feed's key and discovery key are one type, written and read
// as 64 hex digits.
func TestKey(t *testing.T) {
	w := blocksFeed(t, 1)
	k := w.Key()
	s := k.String()
	back, err := ParseKey(s)
	if err != nil || !back.Equal(k) || len(s) != 64 {
		t.Fatalf("ParseKey(%q) = %v, %v", s, back, err)
	}
	if dk := w.DiscoveryKey(); len(dk) != 32 || dk.Equal(k) {
		t.Fatalf("discovery key %v", dk)
	}
	for _, bad := range []string{"", s[:62], s + "00", "zz" + s[2:]} {
		if _, err := ParseKey(bad); !errors.Is(err, ErrBadKey) {
			t.Fatalf("ParseKey(%q) = %v, want ErrBadKey", bad, err)
		}
	}
	// the key opens a clone as it is
	if _, err := Open(storage.NewMemory(), &Options{Key: back}); err != nil {
		t.Fatal(err)
	}
}

// sparseData is a storage whose data file says it is 2^41 bytes long, as a
// sparse file of that size does, while holding only what was written.
type sparseData struct{ storage.Storage }

func (s sparseData) Open(name string) (storage.File, error) {
	f, err := s.Storage.Open(name)
	if name == storage.Data && err == nil {
		return hugeFile{f}, nil
	}
	return f, err
}

type hugeFile struct{ storage.File }

func (hugeFile) Size() (int64, error) { return 1 << 41, nil }

// TestGetClaimedHugeBlockInSparseFile: a tree node claiming a block far
// larger than MaxBlockSize is refused before anything is allocated, even
// when the data file is that large (FuzzDiskDir found make panic on a
// sparse data file).
func TestGetClaimedHugeBlockInSparseFile(t *testing.T) {
	st := sparseData{storage.NewMemory()}
	kp := testKeyPair(t)
	w, err := Create(st, &Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte("a"), []byte("b"), []byte("c")); err != nil {
		t.Fatal(err)
	}
	// block 2's leaf is tree node 4: 32-byte header, then 40 bytes a node
	// (32 hash, 8 size big-endian); a fresh feed on the same files reads it
	tree, err := st.Open(storage.Tree)
	if err != nil {
		t.Fatal(err)
	}
	var size [8]byte
	binary.BigEndian.PutUint64(size[:], 1<<40)
	if _, err := tree.WriteAt(size[:], 32+4*40+32); err != nil {
		t.Fatal(err)
	}
	f, err := Open(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(2); !errors.Is(err, ErrBlockTooLarge) {
		t.Fatalf("Get of a block claiming 2^40 bytes = %v, want ErrBlockTooLarge", err)
	}
}

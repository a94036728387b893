package core

import (
	"bytes"
	"context"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/vectors"
)

// copyFixture copies an embedded feed directory to a temporary one (opening
// a feed rewrites its headers).
func copyFixture(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), path.Base(dir))
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(vectors.FS, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := fs.ReadFile(vectors.FS, path.Join(dir, e.Name()))
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestStorageFixtures opens every directory JS wrote and checks what it
// holds; writable ones take another append.
func TestStorageFixtures(t *testing.T) {
	v, err := vectors.LoadStorage()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range v.Directories {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name("storage.json"), func(t *testing.T) {
				for name, h := range tc.Files {
					b, err := fs.ReadFile(vectors.FS, path.Join(tc.Directory, name))
					if (h == nil) != (err != nil) || (h != nil && !bytes.Equal(b, *h)) {
						t.Fatalf("embedded %s/%s does not match storage.json", tc.Directory, name)
					}
				}
				dir := copyFixture(t, tc.Directory)
				f, err := OpenDir(dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				dk := f.DiscoveryKey()
				if !bytes.Equal(f.Key(), tc.Key) || !bytes.Equal(dk[:], tc.DiscoveryKey) || f.Writable() != tc.Writable {
					t.Fatalf("key %x, discovery key %s, writable %v", f.Key(), dk, f.Writable())
				}
				if f.Length() != tc.Length || f.ByteLength() != tc.ByteLength {
					t.Fatalf("length %d, byteLength %d; want %d, %d", f.Length(), f.ByteLength(), tc.Length, tc.ByteLength)
				}
				for i, b := range tc.Blocks {
					if f.Has(uint64(i)) != (b != nil) {
						t.Fatalf("Has(%d) = %v", i, b == nil)
					}
					if b == nil {
						continue
					}
					got, err := f.Get(uint64(i))
					if err != nil || !bytes.Equal(got, b) {
						t.Fatalf("Get(%d) = %x, %v; want %s", i, got, err, b)
					}
				}
				if r, err := f.Audit(); err != nil || r.Invalid != 0 {
					t.Fatalf("Audit = %+v, %v", r, err)
				}
				if tc.Writable {
					if _, err := f.Append([]byte("go")); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no storage fixtures")
	}
}

// TestGuideCloneByteIdentical replays the guide's clone in Go (a sparse
// clone getting blocks 0, 1 and 101 of the 102-block feed) and compares its
// directory with the one JS wrote.
func TestGuideCloneByteIdentical(t *testing.T) {
	v, err := vectors.LoadStorage()
	if err != nil {
		t.Fatal(err)
	}
	var want *vectors.DirectoryTest
	for _, g := range v.Directories {
		for i := range g.Tests {
			if g.Tests[i].Comment == "guide-step2-clone" {
				want = &g.Tests[i]
			}
		}
	}
	if want == nil {
		t.Fatal("no guide-step2-clone fixture")
	}
	w := vectorWriter(t, nil)
	defer w.Close()
	w.Append([]byte("hello"), []byte("world"))
	for i := 0; i < 100; i++ {
		w.Append([]byte("New Block " + strconv.Itoa(i)))
	}
	dir := filepath.Join(t.TempDir(), "clone")
	r, err := OpenDir(dir, &Options{Key: w.Key(), Sparse: true})
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := net.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go w.Replicate(ctx, ca, &ReplicateOptions{Initiator: true, Live: true})
	go r.Replicate(ctx, cb, &ReplicateOptions{Live: true})
	for _, i := range []uint64{0, 1, 101} {
		if _, err := r.GetContext(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	for name, h := range want.Files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if h == nil {
			if err == nil {
				t.Errorf("%s exists in Go's clone, not in JS's", name)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, *h) {
			t.Errorf("%s differs from JS's clone (%d vs %d bytes)", name, len(got), len(*h))
		}
	}
}

package fuzz

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

// FuzzDiskDir: a feed directory on disk whose six files hold any bytes
// (seeded with the JS-written directories of vectors/storage, whole and
// cut short), opened through the disk backend. ctl says what else happens:
//
//	bit 0     another open holds the directory's lock first
//	bit 1     the feed is opened with the vectors' writer key
//	bits 2-4  a file (storage.Names[k], k < 6) is cut behind the open
//	          feed's back, to a length by bits 5-7 (cutLength)
//
// Properties: a held lock fails the open with storage.ErrLocked and
// changes no byte; any other failed open is a typed error that changed
// nothing but the three file headers JS rewrites; an open feed holds the
// lock, reads, checks and (if writable) appends without panicking or
// allocating by a size the files claim; and, unless a file was cut, the
// feed reopens after Close with every block it read before, unchanged,
// and the block it appended.
func FuzzDiskDir(f *testing.F) {
	dirs := storageDirs(f)
	for _, files := range dirs {
		f.Add(byte(0), encodeDir(files))
		f.Add(byte(1), encodeDir(files))
		f.Add(byte(2), encodeDir(files))
		// each file cut to an odd size, and after an open
		for k, name := range storage.Names {
			if b := files[name]; len(b) > 0 {
				cut := copyFiles(files)
				cut[name] = b[:len(b)-1]
				f.Add(byte(0), encodeDir(cut))
				cut[name] = b[:len(b)/2]
				f.Add(byte(0), encodeDir(cut))
				f.Add(byte(k<<2|1<<5), encodeDir(files))
			}
		}
	}
	key := writerKeyPair(f).PublicKey
	root := memTempDir(f)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, ctl byte, packed []byte) {
		if len(packed) > maxPackedDir {
			return
		}
		dir := filepath.Join(root, strconv.FormatInt(n.Add(1), 10))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		// what was written is what is there before an open (a missing
		// file and an empty one are the same to sameFiles)
		before := decodeDir(packed)
		for name, b := range before {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var opts *core.Options
		if ctl&2 != 0 {
			opts = &core.Options{Key: core.Key(key)}
		}
		if ctl&1 != 0 {
			holder, err := storage.OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if fd, err := core.OpenDir(dir, opts); !errors.Is(err, storage.ErrLocked) {
				if err == nil {
					fd.Close()
				}
				t.Fatalf("OpenDir of a locked directory: %v, want storage.ErrLocked", err)
			}
			if after := readDir(t, dir); !sameFiles(before, after, 0) {
				t.Fatalf("a refused open changed the files")
			}
			holder.Close()
		}
		allocs := allocated()
		fd, err := core.OpenDir(dir, opts)
		if err != nil {
			if !openError(err) {
				t.Fatalf("untyped error: %v", err)
			}
			// a failed open may have rewritten the headers (and written
			// the key it was given), nothing else
			after := readDir(t, dir)
			if opts != nil && len(before[storage.Key]) == 0 && bytes.Equal(after[storage.Key], key) {
				after[storage.Key] = before[storage.Key]
				if _, ok := before[storage.Key]; !ok {
					delete(after, storage.Key)
				}
			}
			if !sameFiles(before, after, 32) {
				t.Fatalf("a failed open (%v) changed the files beyond their headers", err)
			}
			return
		}
		defer fd.Close()
		if _, err := storage.OpenDir(dir); !errors.Is(err, storage.ErrLocked) {
			t.Fatalf("a second open of an open feed: %v, want storage.ErrLocked", err)
		}
		cut := int(ctl >> 2 & 7)
		if cut < len(storage.Names) {
			p := filepath.Join(dir, storage.Names[cut])
			if st, err := os.Stat(p); err == nil {
				if err := os.Truncate(p, cutLength(st.Size(), ctl>>5)); err != nil {
					t.Fatal(err)
				}
			}
		}
		length := fd.Length()
		good := provable(fd, min(length, 64))
		fd.Check()
		appended := false
		if fd.Writable() {
			_, err := fd.Append([]byte("appended"))
			appended = err == nil
		}
		if err := fd.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := allocated() - allocs; n > dirAllocLimit {
			t.Fatalf("opening, reading, checking and appending allocated %s", mib(n))
		}
		again, err := core.OpenDir(dir, opts)
		if cut < len(storage.Names) {
			// what was cut is lost; the feed reopens or fails typed
			if err == nil {
				again.Close()
			} else if !openError(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("the feed opened at length %d does not open again: %v", length, err)
		}
		defer again.Close()
		// Where Get finds a block in the data file depends on the block
		// read just before when the tree's sizes disagree: block i+1 right
		// after block i, otherwise after the roots left of it. Append
		// writes after the roots; the blocks are read in the order they
		// were read before.
		if appended {
			if got, err := again.Get(length); err != nil || string(got) != "appended" {
				t.Fatalf("the block appended at %d reads %q, %v after reopening", length, got, err)
			}
		} else if again.Length() < length {
			t.Fatalf("the feed had length %d; reopened, %d", length, again.Length())
		}
		for i := range min(length, 64) {
			got, err := again.Get(i)
			if want, ok := good[i]; ok && (err != nil || !bytes.Equal(got, want)) {
				t.Fatalf("block %d verified before; reopened it reads %q, %v", i, got, err)
			}
		}
	})
}

// openError reports whether err is one of the errors opening a feed of bad
// files may return.
func openError(err error) bool {
	return errors.Is(err, core.ErrCorrupt) || errors.Is(err, core.ErrNoFeed) || errors.Is(err, core.ErrKeyMismatch) ||
		errors.Is(err, merkle.ErrInvalidKey)
}

// provable returns the blocks below n that fd holds and can prove to a
// reader that trusts only its key: the blocks a later open must still
// hold, unchanged.
func provable(fd *core.Feed, n uint64) map[uint64][]byte {
	good := map[uint64][]byte{}
	var r *core.Feed
	for i := range n {
		v, err := fd.Get(i)
		if err != nil {
			continue
		}
		proof, err := fd.LowLevel().Proof(i, 0, false, nil)
		if err != nil {
			continue
		}
		if r == nil {
			if r, err = core.Open(storage.NewMemory(), &core.Options{Key: fd.Key(), Sparse: true}); err != nil {
				return good
			}
			defer r.Close()
		}
		if _, err := r.LowLevel().Put(i, v, proof); err == nil {
			good[i] = v
		}
	}
	return good
}

// memTempDir is a temporary directory on a memory file system (/dev/shm)
// when there is one: creating a file there costs a fraction of what it
// costs on a disk file system with a journal, and the files are as real
// (open, pwrite, flock, fallocate); elsewhere, t.TempDir.
func memTempDir(t testing.TB) string {
	d, err := os.MkdirTemp("/dev/shm", "hypercore-fuzz-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// cutLength is the length a file of size bytes is cut to: 0, 1, 31, 32
// (a header), 33, half, size−1, or size−40 (a tree node less).
func cutLength(size int64, k byte) int64 {
	return max(0, min(size, [8]int64{0, 1, 31, 32, 33, size / 2, size - 1, size - 40}[k&7]))
}

func copyFiles(files map[string][]byte) map[string][]byte {
	c := map[string][]byte{}
	for k, v := range files {
		c[k] = v
	}
	return c
}

// readDir reads the feed files of dir (a missing file is absent from the
// map).
func readDir(t *testing.T, dir string) map[string][]byte {
	files := map[string][]byte{}
	for _, name := range storage.Names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			files[name] = b
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return files
}

// sameFiles reports whether a and b hold the same bytes in each file (a
// missing file and an empty one are the same: the lock creates the
// bitfield file), except that (header > 0) the tree, signatures and
// bitfield files may have had their first header bytes rewritten, which
// creates or grows a shorter file to header bytes.
func sameFiles(a, b map[string][]byte, header int) bool {
	for _, name := range storage.Names {
		x, y := a[name], b[name]
		if bytes.Equal(x, y) {
			continue
		}
		rewritten := header > 0 && (name == storage.Tree || name == storage.Signatures || name == storage.Bitfield) &&
			len(y) == max(len(x), header) && bytes.Equal(x[min(len(x), header):], y[header:])
		if !rewritten {
			return false
		}
	}
	return true
}

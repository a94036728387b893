// Package storagetest checks that an implementation of storage.Storage
// behaves as the feed expects (spec/storage.md). The disk and memory
// backends run it; a backend of your own can too:
//
//	func TestMyStorage(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Storage { return mystorage.New(t.TempDir()) })
//	}
package storagetest

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
)

// Run runs the conformance tests. open must return a new, empty storage
// each time it is called; Run closes it.
func Run(t *testing.T, open func(t *testing.T) storage.Storage) {
	t.Run("Names", func(t *testing.T) { testNames(t, open(t)) })
	t.Run("EmptyFile", func(t *testing.T) { testEmpty(t, open(t)) })
	t.Run("ReadWrite", func(t *testing.T) { testReadWrite(t, open(t)) })
	t.Run("Holes", func(t *testing.T) { testHoles(t, open(t)) })
	t.Run("Truncate", func(t *testing.T) { testTruncate(t, open(t)) })
	t.Run("Discard", func(t *testing.T) { testDiscard(t, open(t)) })
	t.Run("BadRanges", func(t *testing.T) { testBadRanges(t, open(t)) })
	t.Run("SeparateFiles", func(t *testing.T) { testSeparate(t, open(t)) })
	t.Run("Model", func(t *testing.T) { testModel(t, open(t)) })
	t.Run("WriteBuffers", func(t *testing.T) { testWriteBuffers(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, open(t)) })
}

func mustOpen(t *testing.T, s storage.Storage, name string) storage.File {
	t.Helper()
	f, err := s.Open(name)
	if err != nil {
		t.Fatalf("Open(%q) = %v", name, err)
	}
	return f
}

func closeAtEnd(t *testing.T, s storage.Storage) {
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
}

func testNames(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	for _, name := range storage.Names {
		mustOpen(t, s, name)
	}
	for _, bad := range []string{"", "keys", "../key", "tree/x"} {
		if _, err := s.Open(bad); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("Open(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}

func testEmpty(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	f := mustOpen(t, s, storage.SecretKey)
	if n, err := f.Size(); n != 0 || err != nil {
		t.Errorf("Size() of a new file = %d, %v; want 0, nil", n, err)
	}
	buf := make([]byte, 64)
	if n, err := f.ReadAt(buf, 0); n != 0 || err != io.EOF {
		t.Errorf("ReadAt of a new file = %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := f.ReadAt(nil, 0); n != 0 || (err != nil && err != io.EOF) {
		t.Errorf("ReadAt(nil, 0) of a new file = %d, %v", n, err)
	}
	for _, op := range []struct {
		name string
		err  error
	}{{"Sync", f.Sync()}, {"Truncate(0)", f.Truncate(0)}, {"Discard", f.Discard(0, 10)}} {
		if op.err != nil {
			t.Errorf("%s on a new file = %v", op.name, op.err)
		}
	}
}

func testReadWrite(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	f := mustOpen(t, s, storage.Data)
	data := []byte("hello world")
	if n, err := f.WriteAt(data, 0); n != len(data) || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	got := make([]byte, len(data))
	if n, err := f.ReadAt(got, 0); n != len(data) || err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAt = %d, %v, %q; want %d, nil, %q", n, err, got, len(data), data)
	}
	// a short read at the end returns what exists and io.EOF
	got = make([]byte, 8)
	n, err := f.ReadAt(got, 6)
	if n != 5 || err != io.EOF || string(got[:n]) != "world" {
		t.Fatalf("ReadAt past end = %d, %v, %q; want 5, io.EOF, \"world\"", n, err, got[:n])
	}
	if n, err := f.ReadAt(got, 100); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt beyond end = %d, %v; want 0, io.EOF", n, err)
	}
	// overwrite in the middle
	if _, err := f.WriteAt([]byte("WORLD"), 6); err != nil {
		t.Fatal(err)
	}
	got = make([]byte, 11)
	f.ReadAt(got, 0)
	if string(got) != "hello WORLD" {
		t.Fatalf("after overwrite: %q", got)
	}
	if size, err := f.Size(); size != 11 || err != nil {
		t.Fatalf("Size() = %d, %v; want 11", size, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync() = %v", err)
	}
	// the same name opens the same file
	g := mustOpen(t, s, storage.Data)
	got = make([]byte, 11)
	if _, err := g.ReadAt(got, 0); err != nil || string(got) != "hello WORLD" {
		t.Fatalf("second Open reads %q, %v", got, err)
	}
}

func testHoles(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	f := mustOpen(t, s, storage.Tree)
	const far = 1 << 30 // a sparse reader's block far into the feed
	if _, err := f.WriteAt([]byte{1, 2, 3}, far); err != nil {
		t.Fatal(err)
	}
	if size, _ := f.Size(); size != far+3 {
		t.Fatalf("Size() = %d, want %d", size, far+3)
	}
	got := make([]byte, 5)
	if n, err := f.ReadAt(got, far-2); n != 5 || err != nil || !bytes.Equal(got, []byte{0, 0, 1, 2, 3}) {
		t.Fatalf("ReadAt across the hole's end = %d, %v, %x", n, err, got)
	}
	if n, err := f.ReadAt(got, 12345); n != 5 || err != nil || !bytes.Equal(got, make([]byte, 5)) {
		t.Fatalf("ReadAt inside the hole = %d, %v, %x", n, err, got)
	}
}

func testTruncate(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	f := mustOpen(t, s, storage.Signatures)
	f.WriteAt(bytes.Repeat([]byte{7}, 100), 0)
	if err := f.Truncate(40); err != nil {
		t.Fatal(err)
	}
	if size, _ := f.Size(); size != 40 {
		t.Fatalf("Size() after Truncate(40) = %d", size)
	}
	if err := f.Truncate(60); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 60)
	if n, err := f.ReadAt(got, 0); n != 60 || err != nil {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.Equal(got[:40], bytes.Repeat([]byte{7}, 40)) || !bytes.Equal(got[40:], make([]byte, 20)) {
		t.Fatalf("after shrink and grow: %x", got)
	}
}

func testDiscard(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	f := mustOpen(t, s, storage.Data)
	const n = 3 << 16 // spans several pages of any paged backend
	data := bytes.Repeat([]byte{0xab}, n)
	f.WriteAt(data, 0)
	if err := f.Discard(100, n-200); err != nil {
		t.Fatal(err)
	}
	if size, _ := f.Size(); size != n {
		t.Fatalf("Discard changed the size to %d", size)
	}
	got := make([]byte, n)
	f.ReadAt(got, 0)
	want := append(append(bytes.Repeat([]byte{0xab}, 100), make([]byte, n-200)...), bytes.Repeat([]byte{0xab}, 100)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("Discard(100, %d) did not zero exactly that range", n-200)
	}
	if err := f.Discard(n-10, 1000); err != nil {
		t.Fatalf("Discard past the end = %v", err)
	}
	if size, _ := f.Size(); size != n {
		t.Fatalf("Discard past the end changed the size to %d", size)
	}
}

func testBadRanges(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	f := mustOpen(t, s, storage.Data)
	buf := make([]byte, 4)
	if _, err := f.ReadAt(buf, -1); !errors.Is(err, storage.ErrOffset) {
		t.Errorf("ReadAt(-1) = %v, want ErrOffset", err)
	}
	if _, err := f.WriteAt(buf, -1); !errors.Is(err, storage.ErrOffset) {
		t.Errorf("WriteAt(-1) = %v, want ErrOffset", err)
	}
	if _, err := f.WriteAt(buf, 1<<63-2); !errors.Is(err, storage.ErrOffset) {
		t.Errorf("WriteAt(2^63-2) = %v, want ErrOffset", err)
	}
	if err := f.Truncate(-1); !errors.Is(err, storage.ErrOffset) {
		t.Errorf("Truncate(-1) = %v, want ErrOffset", err)
	}
	if err := f.Discard(0, -1); !errors.Is(err, storage.ErrOffset) {
		t.Errorf("Discard(0, -1) = %v, want ErrOffset", err)
	}
}

func testSeparate(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	for i, name := range storage.Names {
		mustOpen(t, s, name).WriteAt([]byte{byte(i + 1)}, int64(i))
	}
	for i, name := range storage.Names {
		f := mustOpen(t, s, name)
		got := make([]byte, i+1)
		f.ReadAt(got, 0)
		want := make([]byte, i+1)
		want[i] = byte(i + 1)
		if !bytes.Equal(got, want) {
			t.Errorf("%s holds %x, want %x", name, got, want)
		}
	}
}

// testModel runs random operations against a byte-slice model.
func testModel(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	f := mustOpen(t, s, storage.Data)
	r := rand.New(rand.NewPCG(1, 2))
	var model []byte
	for step := 0; step < 2000; step++ {
		off := int64(r.IntN(300000))
		size := r.IntN(3000)
		switch r.IntN(5) {
		case 0, 1:
			p := make([]byte, size)
			for i := range p {
				p[i] = byte(r.IntN(256))
			}
			if _, err := f.WriteAt(p, off); err != nil {
				t.Fatal(err)
			}
			if end := int(off) + size; end > len(model) {
				model = append(model, make([]byte, end-len(model))...)
			}
			copy(model[off:], p)
		case 2:
			p := make([]byte, size)
			n, err := f.ReadAt(p, off)
			want := 0
			if int(off) < len(model) {
				want = min(size, len(model)-int(off))
			}
			if n != want || (n < size) != (err == io.EOF) || (err != nil && err != io.EOF) {
				t.Fatalf("step %d: ReadAt(%d bytes, %d) = %d, %v; want %d", step, size, off, n, err, want)
			}
			if n > 0 && !bytes.Equal(p[:n], model[off:int(off)+n]) {
				t.Fatalf("step %d: ReadAt(%d bytes, %d) returned wrong bytes", step, size, off)
			}
		case 3:
			if r.IntN(10) != 0 {
				continue
			}
			size := int64(r.IntN(len(model) + 1000))
			if err := f.Truncate(size); err != nil {
				t.Fatal(err)
			}
			if int(size) < len(model) {
				model = model[:size]
			} else {
				model = append(model, make([]byte, int(size)-len(model))...)
			}
		case 4:
			if err := f.Discard(off, int64(size)); err != nil {
				t.Fatal(err)
			}
			if int(off) < len(model) {
				clear(model[off:min(len(model), int(off)+size)])
			}
		}
		if got, _ := f.Size(); got != int64(len(model)) {
			t.Fatalf("step %d: Size() = %d, want %d", step, got, len(model))
		}
	}
}

// testWriteBuffers checks storage.WriteBuffers (the backend's own
// WriteBuffersAt when it has one) against a model: buffers of every size
// including empty ones, more of them than one pwritev takes, over holes
// and over bytes already written.
func testWriteBuffers(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	f := mustOpen(t, s, storage.Data)
	r := rand.New(rand.NewPCG(3, 4))
	var model []byte
	for step := 0; step < 50; step++ {
		off := int64(r.IntN(200000))
		bufs := make([][]byte, r.IntN(3000))
		var joined []byte
		for i := range bufs {
			bufs[i] = make([]byte, r.IntN(4)*r.IntN(100))
			for k := range bufs[i] {
				bufs[i][k] = byte(r.IntN(256))
			}
			joined = append(joined, bufs[i]...)
		}
		if err := storage.WriteBuffers(f, bufs, off); err != nil {
			t.Fatalf("step %d: WriteBuffers(%d buffers, %d bytes, %d) = %v", step, len(bufs), len(joined), off, err)
		}
		if len(joined) > 0 {
			if end := int(off) + len(joined); end > len(model) {
				model = append(model, make([]byte, end-len(model))...)
			}
			copy(model[off:], joined)
		}
		got := make([]byte, len(model))
		if n, err := f.ReadAt(got, 0); n != len(model) || (err != nil && err != io.EOF) || !bytes.Equal(got, model) {
			t.Fatalf("step %d: after WriteBuffers(%d buffers, %d bytes, %d) the file differs from the model (%d bytes read, %v)", step, len(bufs), len(joined), off, n, err)
		}
	}
	if err := storage.WriteBuffers(f, [][]byte{{1}}, -1); !errors.Is(err, storage.ErrOffset) {
		t.Errorf("WriteBuffers at offset -1 = %v, want ErrOffset", err)
	}
}

func testConcurrent(t *testing.T, s storage.Storage) {
	closeAtEnd(t, s)
	f := mustOpen(t, s, storage.Tree)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := bytes.Repeat([]byte{byte(w + 1)}, 40)
			for i := 0; i < 200; i++ {
				off := int64((i*8 + w) * 40)
				if _, err := f.WriteAt(p, off); err != nil {
					t.Error(err)
					return
				}
				got := make([]byte, 40)
				if _, err := f.ReadAt(got, off); err != nil || !bytes.Equal(got, p) {
					t.Errorf("worker %d: read back %x, %v", w, got[:4], err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func testClose(t *testing.T, s storage.Storage) {
	f := mustOpen(t, s, storage.Key)
	f.WriteAt([]byte("k"), 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if _, err := s.Open(storage.Key); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Open after Close = %v, want ErrClosed", err)
	}
	check := func(op string, err error) {
		if !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", op, err)
		}
	}
	_, err := f.ReadAt(make([]byte, 1), 0)
	check("ReadAt", err)
	_, err = f.WriteAt([]byte("x"), 0)
	check("WriteAt", err)
	_, err = f.Size()
	check("Size", err)
	check("Truncate", f.Truncate(0))
	check("Discard", f.Discard(0, 1))
	check("Sync", f.Sync())
}

package core

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
)

// TestAppendBatchSameFiles appends batches large enough for the parallel
// path (leaves hashed on every CPU while the data is written, with one
// vectored write) and checks the result against the same blocks appended
// one per call: the tree and data files must be byte for byte the same,
// since neither depends on how the blocks were batched, and every block
// must read back and check clean after a reopen.
func TestAppendBatchSameFiles(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sized := func(n int, size func() int) [][]byte {
		bs := make([][]byte, n)
		for i := range bs {
			bs[i] = make([]byte, size())
			for k := range bs[i] {
				bs[i][k] = byte(r.IntN(256))
			}
		}
		return bs
	}
	batches := [][][]byte{
		sized(3, func() int { return 10 }), // a small batch first: later ones start unaligned
		sized(1000, func() int { return 1024 }),
		sized(5, func() int { return 40 << 10 }),                   // one block a chunk
		sized(333, func() int { return r.IntN(4) * r.IntN(1500) }), // empty blocks among them
		sized(1, func() int { return 200 << 10 }),
		sized(2500, func() int { return 100 }),
	}
	backends(t, func(t *testing.T, open func() storage.Storage) {
		kp := testKeyPair(t)
		f, err := Create(open(), &Options{KeyPair: &kp})
		if err != nil {
			t.Fatal(err)
		}
		one, err := Create(storage.NewMemory(), &Options{KeyPair: &kp})
		if err != nil {
			t.Fatal(err)
		}
		var all [][]byte
		for _, batch := range batches {
			if seq, err := f.Append(batch...); err != nil || seq != uint64(len(all)) {
				t.Fatalf("Append(%d blocks) at length %d = %d, %v", len(batch), len(all), seq, err)
			}
			for _, b := range batch {
				if _, err := one.Append(b); err != nil {
					t.Fatal(err)
				}
			}
			all = append(all, batch...)
		}
		for _, file := range []func(*Feed) storage.File{
			func(f *Feed) storage.File { return f.fTree },
			func(f *Feed) storage.File { return f.fData },
		} {
			got, err := readAll(file(f))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := readAll(file(one))
			if !bytes.Equal(got, want) {
				t.Fatalf("a file of %d bytes after batched appends differs from the one of %d bytes after single appends", len(got), len(want))
			}
		}
		one.Close()
		f.Close()

		f, err = Open(open(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Length() != uint64(len(all)) {
			t.Fatalf("Length() after reopen = %d, want %d", f.Length(), len(all))
		}
		for i, want := range all {
			if got, err := f.Get(uint64(i)); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Get(%d) = %d bytes, %v; want %d bytes", i, len(got), err, len(want))
			}
		}
		if rep, err := f.Check(); err != nil || rep.Invalid != 0 {
			t.Fatalf("Check() = %+v, %v", rep, err)
		}
	})
}

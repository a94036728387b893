package core

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/core/storage"
)

// TestFeedModel runs random appends, gets, clears and reopens on a feed and
// on a slice of blocks, on both backends.
func TestFeedModel(t *testing.T) {
	backends(t, func(t *testing.T, open func() storage.Storage) {
		rapid.Check(t, func(rt *rapid.T) {
			kp := testKeyPair(t)
			st := open()
			// each check starts from an empty feed
			for _, name := range storage.Names {
				f, _ := st.Open(name)
				f.Truncate(0)
			}
			f, err := Create(st, &Options{KeyPair: &kp})
			if err != nil {
				rt.Fatal(err)
			}
			defer func() { f.Close() }()
			var model [][]byte
			cleared := map[int]bool{}
			block := rapid.SliceOfN(rapid.Byte(), 0, 300)
			for step := 0; step < 40; step++ {
				switch rapid.IntRange(0, 5).Draw(rt, "op") {
				case 0, 1:
					bs := rapid.SliceOfN(block, 1, 6).Draw(rt, "blocks")
					seq, err := f.Append(bs...)
					if err != nil || seq != uint64(len(model)) {
						rt.Fatalf("Append = %d, %v", seq, err)
					}
					model = append(model, bs...)
				case 2:
					if len(model) == 0 {
						continue
					}
					i := rapid.IntRange(0, len(model)-1).Draw(rt, "get")
					got, err := f.Get(uint64(i))
					if cleared[i] {
						if !errors.Is(err, ErrNotAvailable) {
							rt.Fatalf("Get(%d) of a cleared block = %v", i, err)
						}
					} else if err != nil || !bytes.Equal(got, model[i]) {
						rt.Fatalf("Get(%d) = %x, %v; want %x", i, got, err, model[i])
					}
				case 3:
					if len(model) == 0 {
						continue
					}
					a := rapid.IntRange(0, len(model)-1).Draw(rt, "clear from")
					b := rapid.IntRange(a, len(model)).Draw(rt, "clear to")
					if err := f.Clear(uint64(a), uint64(b)); err != nil {
						rt.Fatal(err)
					}
					for i := a; i < b; i++ {
						cleared[i] = true
					}
				case 4:
					f.Close()
					if f, err = Open(open(), nil); err != nil {
						rt.Fatalf("reopen: %v", err)
					}
				case 5:
					var total uint64
					for i, b := range model {
						if !cleared[i] {
							total++
						}
						_ = b
					}
					if got := f.Downloaded(0, 0); got != total {
						rt.Fatalf("Downloaded = %d, want %d", got, total)
					}
				}
				if f.Length() != uint64(len(model)) {
					rt.Fatalf("Length = %d, want %d", f.Length(), len(model))
				}
				var size uint64
				for _, b := range model {
					size += uint64(len(b))
				}
				if f.ByteLength() != size {
					rt.Fatalf("ByteLength = %d, want %d", f.ByteLength(), size)
				}
			}
		})
	})
}

// TestReopenTruncated cuts each file of a written feed at many offsets and
// reopens: the feed either opens at a length whose blocks all verify (a
// prefix of what was appended, or, where the bitfield lost a page, an
// empty feed), or fails with a typed error naming the problem. It never
// panics and never serves a wrong block.
func TestReopenTruncated(t *testing.T) {
	kp := testKeyPair(t)
	src := filepath.Join(t.TempDir(), "src")
	f, err := CreateDir(src, &Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]byte
	for i := 0; i < 40; i++ {
		b := bytes.Repeat([]byte{byte(i)}, 10+i)
		blocks = append(blocks, b)
		if i%7 == 0 {
			f.Append(b)
		} else {
			blocks = blocks[:len(blocks)-1]
		}
	}
	var batch [][]byte
	for i := 0; i < 20; i++ {
		batch = append(batch, []byte{byte(i), 1, 2, 3})
	}
	f.Append(batch...)
	blocks = append(blocks, batch...)
	f.Close()

	for _, name := range []string{"key", "secret_key", "tree", "data", "bitfield", "signatures"} {
		full, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		for cut := 0; cut < len(full); cut += max(1, len(full)/37) {
			dir := filepath.Join(t.TempDir(), "feed")
			copyDir(t, src, dir)
			if err := os.Truncate(filepath.Join(dir, name), int64(cut)); err != nil {
				t.Fatal(err)
			}
			g, err := OpenDir(dir, nil)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNoFeed) {
					t.Fatalf("%s cut at %d: untyped error %v", name, cut, err)
				}
				continue
			}
			n := g.Length()
			if n > uint64(len(blocks)) {
				t.Fatalf("%s cut at %d: length %d past what was written", name, cut, n)
			}
			for i := uint64(0); i < n; i++ {
				got, err := g.Get(i)
				if err != nil {
					if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotAvailable) {
						t.Fatalf("%s cut at %d: Get(%d) untyped error %v", name, cut, i, err)
					}
					continue
				}
				if !bytes.Equal(got, blocks[i]) {
					t.Fatalf("%s cut at %d: Get(%d) served a wrong block", name, cut, i)
				}
			}
			g.Close()
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	os.MkdirAll(to, 0o755)
	entries, _ := os.ReadDir(from)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(from, e.Name()))
		os.WriteFile(filepath.Join(to, e.Name()), b, 0o644)
	}
}

package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// seedStores returns the files of stores the tests write: writers of
// several lengths, a truncated writer, a sparse reader, a store with
// cleared blocks and one left in the middle of a truncation.
func seedStores(t testing.TB) []*storage.Memory {
	c := newTestCore(t, "fuzz seeds")
	var out []*storage.Memory
	writer := func(n uint64) (*storage.Memory, *Store) {
		mem := storage.NewMemory()
		s := mustOpen(t, noClose{mem})
		createCore(t, s, c)
		var bs [][]byte
		for i := uint64(0); i < n; i++ {
			bs = append(bs, testBlock(0, i))
		}
		if n > 0 {
			appendBlocks(t, s, c, bs...)
		}
		return mem, s
	}
	for _, n := range []uint64{0, 1, 5, 21} {
		mem, _ := writer(n)
		out = append(out, mem)
	}
	mem, s := writer(40)
	truncateCore(t, s, c, 17, testBlock(1, 17))
	out = append(out, mem)
	mem, s = writer(40)
	var b Batch
	b.ClearBlocks(3, 30)
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	out = append(out, mem)

	// A sparse reader.
	var blocks [][]byte
	for i := uint64(0); i < 100; i++ {
		blocks = append(blocks, testBlock(0, i))
	}
	tree, all := fullTree(0, blocks)
	mem = storage.NewMemory()
	s = mustOpen(t, noClose{mem})
	b = Batch{}
	b.PutNode(tree.Roots...)
	for _, i := range []uint64{3, 50, 99} {
		b.PutNode(proofNodes(tree, all, i)...)
		b.PutBlock(i, blocks[i])
	}
	b.SetHeader(c.header(t, tree, false))
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	out = append(out, mem)

	// Interrupted truncation: the third write (after the marker and the
	// bitfield cut) fails.
	mem, s = writer(40)
	fs := &failing{Storage: mem}
	s.Close()
	s = mustOpen(t, fs)
	fs.n, fs.fail = 0, 3
	b = Batch{}
	b.Truncate(9)
	b.SetHeader(c.header(t, treeAt(t, s, 1, 9), true))
	if err := s.Commit(&b); !errors.Is(err, errInjected) {
		t.Fatalf("seed commit = %v", err)
	}
	if s = mustOpen(t, noClose{mem}); !s.Header().Truncating {
		t.Fatalf("seed: no truncation marker")
	}
	out = append(out, mem)
	return out
}

// FuzzOpen opens a memory store made of arbitrary header slots, tree,
// bitfield, data and secret key files. Open returns a Store or an error
// wrapping ErrCorrupt; a Store's reads return no other error class and
// agree with each other; a commit appending one block succeeds (or fails
// with a typed error), and reopening shows it.
func FuzzOpen(f *testing.F) {
	seeds := seedStores(f)
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, mem := range seeds {
		h := readFile(f, mem, HeaderFile)
		slot0, slot1 := h, []byte(nil)
		if len(h) > SlotSize {
			slot0, slot1 = h[:SlotSize], h[SlotSize:]
		}
		f.Add(bytes.TrimRight(slot0, "\x00"), slot1, readFile(f, mem, TreeFile), readFile(f, mem, BitfieldFile),
			readFile(f, mem, DataFile), readFile(f, mem, SecretKeyFile))
	}
	f.Fuzz(func(t *testing.T, slot0, slot1, tree, bits, data, secret []byte) {
		mem := storage.NewMemory()
		put := func(name string, b []byte, off int64) {
			if len(b) > 0 {
				file, _ := mem.Open(name)
				file.WriteAt(b, off)
			}
		}
		put(HeaderFile, slot0[:min(len(slot0), SlotSize)], 0)
		put(HeaderFile, slot1, SlotSize)
		put(TreeFile, tree, 0)
		put(BitfieldFile, bits, 0)
		put(DataFile, data, 0)
		put(SecretKeyFile, secret, 0)

		s, err := Open(noClose{mem}, nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want nil or ErrCorrupt", err)
			}
			return
		}
		h := s.Header()
		n := h.Tree.Length
		typed := func(what string, err error, allowed ...error) {
			if err != nil && !isErr(err, allowed...) {
				t.Fatalf("%s = %v", what, err)
			}
		}
		var idx []uint64
		for i := uint64(0); i < min(n, 64); i++ {
			idx = append(idx, i, n-1-i)
		}
		for _, i := range idx {
			data, ok, err := s.Block(i)
			typed("Block", err, ErrCorrupt)
			if ok != s.Has(i) && err == nil {
				t.Fatalf("Block(%d) ok %v, Has %v", i, ok, !ok)
			}
			if ok && uint64(len(data)) > MaxBlockSize {
				t.Fatalf("Block(%d) of %d bytes", i, len(data))
			}
			_, err = s.ByteOffset(i)
			typed("ByteOffset", err, ErrCorrupt, ErrMissingNode)
			_, _, err = s.Node(2 * i)
			typed("Node", err, ErrCorrupt)
			_, _, err = s.Node(2*i + 1)
			typed("Node", err, ErrCorrupt)
		}
		for _, r := range h.Tree.Roots {
			if got, ok, err := s.Node(r.Index); !ok || err != nil || got != r {
				t.Fatalf("Node(root %d) = %v, %v, %v; want %v", r.Index, got, ok, err, r)
			}
		}
		c := s.Contiguous()
		if m, err := s.FirstMissing(0); err != nil || m != c || c > n {
			t.Fatalf("Contiguous() = %d, FirstMissing(0) = %d, %v, length %d", c, m, err, n)
		}
		if p, ok, err := s.FirstPresent(0); err != nil || (ok && (p >= n || !s.Has(p))) {
			t.Fatalf("FirstPresent(0) = %d, %v, %v", p, ok, err)
		}
		if !s.HasHeader() || n >= compact.MaxSafeInteger {
			return
		}

		// Append one block.
		nt := h.Tree.Clone()
		value := []byte("fuzz")
		var b Batch
		b.PutNode(nt.Append(value)...)
		b.PutBlock(n, value)
		nh := h
		nh.Tree = nt
		b.SetHeader(nh)
		if err := s.Commit(&b); err != nil {
			typed("Commit", err, ErrCorrupt, ErrTooBig)
			return
		}
		s, err = Open(noClose{mem}, nil)
		if err != nil {
			t.Fatalf("reopen after a commit = %v", err)
		}
		nh.Truncating, nh.TruncateTo = false, 0
		nh = nh.clone()
		if diff := cmp.Diff(nh, s.Header()); diff != "" {
			t.Fatalf("header after append and reopen (-want +got):\n%s", diff)
		}
		if got, ok, err := s.Block(n); err != nil || !ok || !bytes.Equal(got, value) {
			t.Fatalf("Block(%d) after append = %q, %v, %v", n, got, ok, err)
		}
		if leaf, ok, _ := s.Node(2 * n); !ok || leaf != merkle.LeafNode(2*n, value) {
			t.Fatalf("leaf after append = %v, %v", leaf, ok)
		}
	})
}

package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// A backend makes storages holding the same files: each call of the
// function it returns opens them again (the previous store must be closed
// first).
type backend struct {
	name string
	make func(t *testing.T) func() storage.Storage
}

var backends = []backend{
	{"memory", func(t *testing.T) func() storage.Storage {
		mem := storage.NewMemory()
		return func() storage.Storage { return noClose{mem} }
	}},
	{"disk", func(t *testing.T) func() storage.Storage {
		dir := filepath.Join(t.TempDir(), "core")
		return func() storage.Storage {
			d, err := storage.OpenDir(dir)
			if err != nil {
				t.Fatalf("OpenDir: %v", err)
			}
			return d
		}
	}},
}

// TestStore runs the store's conformance tests on the memory and the disk
// backends of core/storage.
func TestStore(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				fn   func(t *testing.T, open func() storage.Storage)
			}{
				{"Empty", testEmpty},
				{"HeaderRoundTrip", testHeaderRoundTrip},
				{"Writer", testWriter},
				{"Reader", testReader},
				{"Clear", testClear},
				{"Truncate", testTruncate},
				{"InvalidBatches", testInvalidBatches},
				{"Closed", testClosed},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, be.make(t)) })
			}
		})
	}
}

// reopen closes s and opens its files again.
func reopen(t *testing.T, s *Store, open func() storage.Storage) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	return mustOpen(t, open())
}

func testEmpty(t *testing.T, open func() storage.Storage) {
	s := mustOpen(t, open())
	defer s.Close()
	check := func() {
		t.Helper()
		if s.HasHeader() || s.Length() != 0 || s.Contiguous() != 0 || s.ByteLength() != 0 {
			t.Fatalf("empty store: HasHeader %v Length %d Contiguous %d", s.HasHeader(), s.Length(), s.Contiguous())
		}
		if diff := cmp.Diff(Header{}, s.Header()); diff != "" {
			t.Fatalf("Header() of an empty store (-want +got):\n%s", diff)
		}
		if n, ok, err := s.Node(0); ok || err != nil {
			t.Fatalf("Node(0) = %v, %v, %v; want absent", n, ok, err)
		}
		if b, ok, err := s.Block(0); ok || err != nil || b != nil {
			t.Fatalf("Block(0) = %x, %v, %v; want absent", b, ok, err)
		}
		if s.Has(0) {
			t.Fatalf("Has(0) = true")
		}
		if i, err := s.FirstMissing(0); i != 0 || err != nil {
			t.Fatalf("FirstMissing(0) = %d, %v", i, err)
		}
		if _, ok, err := s.FirstPresent(0); ok || err != nil {
			t.Fatalf("FirstPresent(0) = %v, %v", ok, err)
		}
		if off, err := s.ByteOffset(0); off != 0 || err != nil {
			t.Fatalf("ByteOffset(0) = %d, %v", off, err)
		}
		if _, err := s.ByteOffset(1); !errors.Is(err, ErrMissingNode) {
			t.Fatalf("ByteOffset(1) = %v, want ErrMissingNode", err)
		}
	}
	check()
	if err := s.Commit(&Batch{}); err != nil {
		t.Fatalf("Commit(empty batch) = %v", err)
	}
	var b Batch
	b.PutNode(merkle.LeafNode(0, []byte("x")))
	if err := s.Commit(&b); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("Commit(node, no header) = %v, want ErrInvalidBatch", err)
	}
	check()
	s = reopen(t, s, open)
	check()
}

func testHeaderRoundTrip(t *testing.T, open func() storage.Storage) {
	c := newTestCore(t, "round trip")
	s := mustOpen(t, open())
	blocks := [][]byte{[]byte("a"), []byte("bb"), []byte("ccc")}
	tree, all := fullTree(7, blocks)
	for _, writer := range []bool{false, true} {
		h := c.header(t, tree, writer)
		h.Compat = true
		h.Extra = []byte("the feed's own bytes")
		var b Batch
		for _, n := range all {
			b.PutNode(n)
		}
		b.SetHeader(h)
		if err := s.Commit(&b); err != nil {
			t.Fatalf("Commit(header, writer %v) = %v", writer, err)
		}
		want := h
		want.Tree = h.Tree.Clone()
		if diff := cmp.Diff(want, s.Header()); diff != "" {
			t.Fatalf("Header() after Commit (-want +got):\n%s", diff)
		}
		s = reopen(t, s, open)
		if diff := cmp.Diff(want, s.Header()); diff != "" {
			t.Fatalf("Header() after reopen (-want +got):\n%s", diff)
		}
		// A reader's directory has no secret key.
		if secret := readFile(t, s.st, SecretKeyFile); len(secret) != map[bool]int{false: 0, true: 64}[writer] {
			t.Fatalf("secret key file of %d bytes (writer %v)", len(secret), writer)
		}
	}
	// Header() is a copy.
	h := s.Header()
	h.Manifest[0] ^= 1
	h.Tree.Roots[0].Size++
	h.Extra[0] ^= 1
	if got := s.Header(); got.Manifest[0] == h.Manifest[0] || got.Tree.Roots[0] == h.Tree.Roots[0] || got.Extra[0] == h.Extra[0] {
		t.Fatalf("Header() shares memory with the store")
	}
	s.Close()
}

func testWriter(t *testing.T, open func() storage.Storage) {
	c := newTestCore(t, "writer")
	s := mustOpen(t, open())
	createCore(t, s, c)
	checkWriter(t, s, c)
	r := rand.New(rand.NewPCG(1, 2))
	var n uint64
	for n < 600 {
		var bs [][]byte
		for k := r.IntN(9); k >= 0; k-- {
			bs = append(bs, testBlock(0, n))
			n++
		}
		appendBlocks(t, s, c, bs...)
		if r.IntN(20) == 0 {
			s = reopen(t, s, open)
		}
	}
	checkWriter(t, s, c)
	s = reopen(t, s, open)
	checkWriter(t, s, c)
	if got := s.ByteLength(); got != byteSum(0, n) {
		t.Fatalf("ByteLength() = %d, want %d", got, byteSum(0, n))
	}
	s.Close()
}

func byteSum(fork, n uint64) uint64 {
	var sum uint64
	for i := uint64(0); i < n; i++ {
		sum += uint64(len(testBlock(fork, i)))
	}
	return sum
}

// proofNodes returns the nodes a reader stores with block i of a tree: the
// leaf, and up to the root over it each sibling and parent.
func proofNodes(tree merkle.Tree, all map[uint64]merkle.Node, i uint64) []merkle.Node {
	var out []merkle.Node
	cur := 2 * i
	for {
		out = append(out, all[cur])
		if _, ok := findRoot(tree.Roots, cur); ok {
			return out
		}
		out = append(out, all[flattree.Sibling(cur)])
		cur = flattree.Parent(cur)
	}
}

func testReader(t *testing.T, open func() storage.Storage) {
	c := newTestCore(t, "reader")
	const n = 700
	var blocks [][]byte
	for i := uint64(0); i < n; i++ {
		blocks = append(blocks, testBlock(0, i))
	}
	tree, all := fullTree(0, blocks)
	s := mustOpen(t, open())
	// The first commit: the signed tree, its roots, no block.
	var b Batch
	b.PutNode(tree.Roots...)
	b.SetHeader(c.header(t, tree, false))
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	present := map[uint64]bool{}
	r := rand.New(rand.NewPCG(3, 4))
	check := func() {
		t.Helper()
		contig := uint64(0)
		for present[contig] {
			contig++
		}
		if got := s.Contiguous(); got != contig {
			t.Fatalf("Contiguous() = %d, want %d", got, contig)
		}
		for i := uint64(0); i < n; i++ {
			data, ok, err := s.Block(i)
			if err != nil || ok != present[i] || (ok && !bytes.Equal(data, blocks[i])) {
				t.Fatalf("Block(%d) = %x, %v, %v; want %x, %v", i, data, ok, err, blocks[i], present[i])
			}
			if s.Has(i) != present[i] {
				t.Fatalf("Has(%d) = %v", i, !present[i])
			}
			if ok {
				if off, err := s.ByteOffset(i); err != nil || off != byteSum(0, i) {
					t.Fatalf("ByteOffset(%d) = %d, %v; want %d", i, off, err, byteSum(0, i))
				}
			}
		}
		for i := uint64(0); i < 2*n; i++ {
			got, ok, err := s.Node(i)
			if err != nil || (ok && got != all[i]) {
				t.Fatalf("Node(%d) = %v, %v, %v; want %v", i, got, ok, err, all[i])
			}
		}
		for _, from := range []uint64{0, 1, 100, 345, n - 1, n} {
			wantM, wantP := from, uint64(n)
			for wantM < n && present[wantM] {
				wantM++
			}
			for k := from; k < n; k++ {
				if present[k] {
					wantP = k
					break
				}
			}
			if got, err := s.FirstMissing(from); got != wantM || err != nil {
				t.Fatalf("FirstMissing(%d) = %d, %v; want %d", from, got, err, wantM)
			}
			got, ok, err := s.FirstPresent(from)
			if err != nil || ok != (wantP < n) || (ok && got != wantP) {
				t.Fatalf("FirstPresent(%d) = %d, %v, %v; want %d", from, got, ok, err, wantP)
			}
		}
	}
	for round := 0; round < 60; round++ {
		var b Batch
		for k := r.IntN(6); k >= 0; k-- {
			i := uint64(r.IntN(n))
			if round%7 == 0 {
				i = uint64(round) // some at the start, for the contiguous length
			}
			b.PutNode(proofNodes(tree, all, i)...)
			b.PutBlock(i, blocks[i])
			present[i] = true
		}
		if err := s.Commit(&b); err != nil {
			t.Fatalf("round %d: Commit = %v", round, err)
		}
		if round%10 == 0 {
			check()
			s = reopen(t, s, open)
			check()
		}
	}
	check()
	s.Close()
}

func testClear(t *testing.T, open func() storage.Storage) {
	c := newTestCore(t, "clear")
	s := mustOpen(t, open())
	createCore(t, s, c)
	var bs [][]byte
	for i := uint64(0); i < 100; i++ {
		bs = append(bs, testBlock(0, i))
	}
	appendBlocks(t, s, c, bs...)
	var b Batch
	b.ClearBlocks(10, 20)
	b.ClearBlocks(50, 51)
	b.ClearBlocks(90, 1000)
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for i := uint64(0); i < 100; i++ {
			gone := (i >= 10 && i < 20) || i == 50 || i >= 90
			data, ok, err := s.Block(i)
			if err != nil || ok == gone || (ok && !bytes.Equal(data, bs[i])) {
				t.Fatalf("Block(%d) = %x, %v, %v; cleared %v", i, data, ok, err, gone)
			}
			// nodes stay
			if n, ok, err := s.Node(2 * i); !ok || err != nil || n != merkle.LeafNode(2*i, bs[i]) {
				t.Fatalf("Node(%d) = %v, %v, %v after a clear", 2*i, n, ok, err)
			}
		}
		if got := s.Contiguous(); got != 10 {
			t.Fatalf("Contiguous() = %d, want 10", got)
		}
		if got, _ := s.FirstMissing(20); got != 50 {
			t.Fatalf("FirstMissing(20) = %d, want 50", got)
		}
		if got, ok, _ := s.FirstPresent(90); ok {
			t.Fatalf("FirstPresent(90) = %d", got)
		}
	}
	check()
	s = reopen(t, s, open)
	check()
	// Put a cleared block back; the contiguous length follows.
	b = Batch{}
	for i := uint64(10); i < 20; i++ {
		b.PutBlock(i, bs[i])
	}
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if got := s.Contiguous(); got != 50 {
		t.Fatalf("Contiguous() after putting 10-19 back = %d, want 50", got)
	}
	s.Close()
}

func testTruncate(t *testing.T, open func() storage.Storage) {
	c := newTestCore(t, "truncate")
	s := mustOpen(t, open())
	createCore(t, s, c)
	var bs [][]byte
	for i := uint64(0); i < 200; i++ {
		bs = append(bs, testBlock(0, i))
	}
	appendBlocks(t, s, c, bs...)
	for _, step := range []struct{ to, add uint64 }{
		{150, 0}, {150, 5}, {77, 40}, {64, 1}, {65, 0}, {0, 3}, {0, 0}, {0, 300}, {299, 2},
		{298, 0}, {297, 1}, {290, 3}, // inside the bitfield's last byte
	} {
		h := s.Header()
		var add [][]byte
		for i := step.to; i < step.to+step.add; i++ {
			add = append(add, testBlock(h.Tree.Fork+1, i))
		}
		truncateCore(t, s, c, step.to, add...)
		checkWriter(t, s, c)
		if got := s.Header(); got.Tree.Fork != h.Tree.Fork+1 || got.Tree.Length != step.to+step.add {
			t.Fatalf("after truncate %+v: fork %d length %d", step, got.Tree.Fork, got.Tree.Length)
		}
		s = reopen(t, s, open)
		checkWriter(t, s, c)
	}
	// The fork never goes down.
	h := s.Header()
	h.Tree = treeAt(t, s, 0, h.Tree.Length)
	h = c.header(t, h.Tree, true)
	var b Batch
	b.Truncate(h.Tree.Length)
	b.SetHeader(h)
	if err := s.Commit(&b); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("Commit(fork %d below the stored one) = %v, want ErrInvalidBatch", h.Tree.Fork, err)
	}
	s.Close()
}

func testInvalidBatches(t *testing.T, open func() storage.Storage) {
	c := newTestCore(t, "invalid")
	other := newTestCore(t, "other")
	s := mustOpen(t, open())
	createCore(t, s, c)
	tree := appendBlocks(t, s, c, testBlock(0, 0), testBlock(0, 1), testBlock(0, 2))
	good := func() Header { return c.header(t, tree, true) }
	big := make([]byte, MaxBlockSize+1)
	cases := []struct {
		name string
		b    func() *Batch
		want error
	}{
		{"node past the tree", func() *Batch {
			var b Batch
			b.PutNode(merkle.Node{Index: 6, Size: 1})
			return &b
		}, ErrInvalidBatch},
		{"parent over the end", func() *Batch {
			var b Batch
			b.PutNode(merkle.Node{Index: 3, Size: 1})
			return &b
		}, ErrInvalidBatch},
		{"block past the length", func() *Batch {
			var b Batch
			b.PutBlock(3, nil)
			return &b
		}, ErrInvalidBatch},
		{"block without its leaf", func() *Batch {
			h := good()
			t2 := tree.Clone()
			t2.Append([]byte("x"))
			h.Tree = t2
			var b Batch
			b.PutBlock(3, []byte("x"))
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"block of the wrong size", func() *Batch {
			var b Batch
			b.ClearBlocks(1, 2)
			b.PutBlock(1, []byte("not the size"))
			return &b
		}, ErrInvalidBatch},
		{"block too big", func() *Batch {
			var b Batch
			b.PutBlock(0, big)
			return &b
		}, ErrTooBig},
		{"key changes", func() *Batch {
			h := good()
			h.Key[0] ^= 1
			var b Batch
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"manifest changes", func() *Batch {
			h := good()
			h.Manifest = other.manifest
			var b Batch
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"manifest does not decode", func() *Batch {
			h := good()
			h.Manifest = []byte{9, 9, 9}
			var b Batch
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"secret key changes", func() *Batch {
			h := good()
			h.SecretKey = other.priv
			var b Batch
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"secret key is not a key pair", func() *Batch {
			h := good()
			h.SecretKey = append([]byte(nil), c.priv...)
			h.SecretKey[40] ^= 1
			var b Batch
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"compat changes", func() *Batch {
			h := good()
			h.Compat = true
			var b Batch
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"length shrinks without Truncate", func() *Batch {
			h := good()
			h.Tree = treeAt(t, s, 0, 2)
			var b Batch
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"truncate past the length", func() *Batch {
			var b Batch
			b.Truncate(4)
			b.SetHeader(good())
			return &b
		}, ErrInvalidBatch},
		{"truncate without a header", func() *Batch {
			var b Batch
			b.Truncate(1)
			return &b
		}, ErrInvalidBatch},
		{"truncate below the new length", func() *Batch {
			h := good()
			h.Tree = treeAt(t, s, 1, 1)
			var b Batch
			b.Truncate(2)
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"roots at the wrong places", func() *Batch {
			h := good()
			h.Tree.Roots = h.Tree.Roots[:1]
			var b Batch
			b.SetHeader(h)
			return &b
		}, ErrInvalidBatch},
		{"header too big", func() *Batch {
			h := good()
			h.Extra = make([]byte, MaxHeaderSize)
			var b Batch
			b.SetHeader(h)
			return &b
		}, ErrTooBig},
	}
	for _, tc := range cases {
		before := snapshot(t, s)
		hb := s.Header()
		err := s.Commit(tc.b())
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Commit = %v, want %v", tc.name, err, tc.want)
			continue
		}
		if diff := cmp.Diff(hb, s.Header()); diff != "" {
			t.Errorf("%s: the header changed (-before +after):\n%s", tc.name, diff)
		}
		after := snapshot(t, s)
		for name := range before {
			if !bytes.Equal(before[name], after[name]) {
				t.Errorf("%s: the %s file changed", tc.name, name)
			}
		}
	}
	// The store still works.
	appendBlocks(t, s, c, testBlock(0, 3))
	checkWriter(t, s, c)
	s.Close()
}

// snapshot returns the bytes of every file of s.
func snapshot(t *testing.T, s *Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range storage.Names {
		out[name] = readFile(t, s.st, name)
	}
	return out
}

func testClosed(t *testing.T, open func() storage.Storage) {
	c := newTestCore(t, "closed")
	s := mustOpen(t, open())
	createCore(t, s, c)
	appendBlocks(t, s, c, []byte("x"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	if _, _, err := s.Block(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Block after Close = %v, want ErrClosed", err)
	}
	if _, _, err := s.Node(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Node after Close = %v, want ErrClosed", err)
	}
	if err := s.Commit(&Batch{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Close = %v, want ErrClosed", err)
	}
	if s.Has(0) {
		t.Fatalf("Has after Close = true")
	}
}

// TestEmptyBlockPastDataEnd: a sparse reader that stores only an empty
// block, whose offset lies past the end of the data file because the
// blocks before it are not stored, reads it back as an empty block (it
// was ErrCorrupt: found by TestCrashDownload under the race detector).
func TestEmptyBlockPastDataEnd(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCore(t, "empty block")
			blocks := [][]byte{[]byte("aaaa"), []byte("bbbb"), []byte("cccc"), []byte("dddd"), []byte("eeee"), {}, []byte("gggg"), []byte("hhhh")}
			tree, all := fullTree(0, blocks)
			open := be.make(t)
			s := mustOpen(t, open())
			var b Batch
			for _, n := range all {
				b.PutNode(n)
			}
			b.PutBlock(5, []byte{})
			b.SetHeader(c.header(t, tree, false))
			if err := s.Commit(&b); err != nil {
				t.Fatal(err)
			}
			for round := 0; round < 2; round++ {
				data, ok, err := s.Block(5)
				if err != nil || !ok || data == nil || len(data) != 0 {
					t.Fatalf("round %d: Block(5) = %x, %v, %v; want an empty block", round, data, ok, err)
				}
				if _, ok, err := s.Block(4); ok || err != nil {
					t.Fatalf("round %d: Block(4) = %v, %v; want not stored", round, ok, err)
				}
				// And after a reopen.
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s = mustOpen(t, open())
			}
			s.Close()
		})
	}
}

package store

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// A testCore is a default core (manifest v1, one Ed25519 signer) built
// with merkle.Tree, as the feed builds one: it says what a writer commits
// and checks what a store holds.
type testCore struct {
	priv     ed25519.PrivateKey
	manifest []byte
	key      [32]byte
	v        *merkle.Verifier
}

func newTestCore(t testing.TB, label string) *testCore {
	t.Helper()
	seed := blake2b.Sum256([]byte(label))
	priv := ed25519.NewKeyFromSeed(seed[:])
	var pub [32]byte
	copy(pub[:], priv.Public().(ed25519.PublicKey))
	m := merkle.DefaultSignerManifest(pub)
	enc, err := merkle.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	key, err := merkle.ManifestHash(m)
	if err != nil {
		t.Fatal(err)
	}
	v, err := merkle.NewVerifier(key, m, merkle.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &testCore{priv: priv, manifest: enc, key: key, v: v}
}

// header returns the writer's header for tree t, signed.
func (c *testCore) header(t testing.TB, tree merkle.Tree, writer bool) Header {
	t.Helper()
	sig, err := c.v.Sign(&tree, c.priv)
	if err != nil {
		t.Fatal(err)
	}
	h := Header{Key: c.key, Manifest: c.manifest, Tree: tree, Signature: sig}
	if writer {
		h.SecretKey = c.priv
	}
	return h
}

// testBlock returns the content of block i of a test core at fork fork: a
// few bytes whose length varies with i (0 included).
func testBlock(fork, i uint64) []byte {
	n := int(i*7919%97) + int(fork%3)
	if i%13 == 5 {
		n = 0
	}
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(i) ^ byte(k) ^ byte(fork<<4)
	}
	return b
}

// appendBlocks commits blocks at the end of the store's tree as a writer
// does, in one batch, and returns the new tree.
func appendBlocks(t testing.TB, s *Store, c *testCore, blocks ...[]byte) merkle.Tree {
	t.Helper()
	h := s.Header()
	tree := h.Tree.Clone()
	var b Batch
	for _, data := range blocks {
		i := tree.Length
		b.PutNode(tree.Append(data)...)
		b.PutBlock(i, data)
	}
	b.SetHeader(c.header(t, tree, true))
	if err := s.Commit(&b); err != nil {
		t.Fatalf("Commit(append %d blocks at %d) = %v", len(blocks), h.Tree.Length, err)
	}
	return tree
}

// createCore commits the first header of a writer's store.
func createCore(t testing.TB, s *Store, c *testCore) {
	t.Helper()
	var b Batch
	b.SetHeader(c.header(t, merkle.Tree{}, true))
	if err := s.Commit(&b); err != nil {
		t.Fatalf("Commit(create) = %v", err)
	}
}

// treeAt returns the tree of length n at fork fork made of the stored
// nodes FullRoots(2n).
func treeAt(t testing.TB, s *Store, fork, n uint64) merkle.Tree {
	t.Helper()
	idx, _ := flattree.FullRoots(2 * n)
	tree := merkle.Tree{Fork: fork, Length: n}
	for _, i := range idx {
		node, ok, err := s.Node(i)
		if err != nil || !ok {
			t.Fatalf("Node(%d) = %v, %v, %v; want the root of length %d", i, node, ok, err, n)
		}
		tree.Roots = append(tree.Roots, node)
	}
	return tree
}

// truncateCore truncates a writer's core to n at fork+1, then appends
// blocks, in one batch.
func truncateCore(t testing.TB, s *Store, c *testCore, n uint64, blocks ...[]byte) merkle.Tree {
	t.Helper()
	h := s.Header()
	tree := treeAt(t, s, h.Tree.Fork+1, n)
	var b Batch
	b.Truncate(n)
	for _, data := range blocks {
		i := tree.Length
		b.PutNode(tree.Append(data)...)
		b.PutBlock(i, data)
	}
	b.SetHeader(c.header(t, tree, true))
	if err := s.Commit(&b); err != nil {
		t.Fatalf("Commit(truncate to %d, append %d) = %v", n, len(blocks), err)
	}
	return tree
}

// fullTree returns every node of a tree made of blocks, by index.
func fullTree(fork uint64, blocks [][]byte) (merkle.Tree, map[uint64]merkle.Node) {
	tree := merkle.Tree{Fork: fork}
	all := map[uint64]merkle.Node{}
	for _, b := range blocks {
		for _, n := range tree.Append(b) {
			all[n.Index] = n
		}
	}
	return tree, all
}

// checkWriter checks a writer's store as a feed would after reopening:
// the header's signature verifies, every block below the length is stored,
// the tree rebuilt from them has the header's roots, every stored node is
// the rebuilt one, byte offsets add up, and the files end where the
// committed state ends.
func checkWriter(t testing.TB, s *Store, c *testCore) {
	t.Helper()
	h := s.Header()
	if !s.HasHeader() {
		t.Fatalf("no header")
	}
	if err := c.v.Verify(&h.Tree, h.Signature); err != nil {
		t.Fatalf("header signature (fork %d length %d) = %v", h.Tree.Fork, h.Tree.Length, err)
	}
	var blocks [][]byte
	var off uint64
	for i := uint64(0); i < h.Tree.Length; i++ {
		data, ok, err := s.Block(i)
		if err != nil || !ok {
			t.Fatalf("Block(%d) of length %d = %v, %v", i, h.Tree.Length, ok, err)
		}
		if got, err := s.ByteOffset(i); err != nil || got != off {
			t.Fatalf("ByteOffset(%d) = %d, %v; want %d", i, got, err, off)
		}
		off += uint64(len(data))
		blocks = append(blocks, data)
	}
	tree, all := fullTree(h.Tree.Fork, blocks)
	if !equalNodes(tree.Roots, h.Tree.Roots) {
		t.Fatalf("roots rebuilt from the blocks %v, header %v", tree.Roots, h.Tree.Roots)
	}
	for i := uint64(0); i < 2*h.Tree.Length+2; i++ {
		got, ok, err := s.Node(i)
		if err != nil {
			t.Fatalf("Node(%d) = %v", i, err)
		}
		want, exists := all[i]
		if ok && (!exists || got != want) {
			t.Fatalf("Node(%d) = %v, want %v (exists %v)", i, got, want, exists)
		}
		if exists && !ok {
			t.Fatalf("Node(%d) missing for a writer of length %d", i, h.Tree.Length)
		}
	}
	if got := s.Contiguous(); got != h.Tree.Length {
		t.Fatalf("Contiguous() = %d, want %d", got, h.Tree.Length)
	}
	checkFileEnds(t, s)
}

// fataler is what testing.TB and *rapid.T share.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkFileEnds checks that no file holds anything past the committed
// state (Open's repair, and every commit, keep them so).
func checkFileEnds(t fataler, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.h.Tree.Length
	if s.h.Truncating {
		l = s.h.TruncateTo
	}
	for _, f := range []struct {
		name string
		f    storage.File
		max  int64
	}{
		{TreeFile, s.tree, max(int64(2*l)*NodeSize, maxRootEnd(s.h.Tree.Roots))},
		{BitfieldFile, s.bits, int64((l + 7) / 8)},
		{DataFile, s.data, int64(s.h.Tree.ByteLength())},
	} {
		size, err := f.f.Size()
		if err != nil {
			t.Fatalf("Size: %v", err)
		}
		if size > f.max {
			t.Fatalf("%s file of %d bytes, want at most %d (length %d)", f.name, size, f.max, l)
		}
	}
}

func maxRootEnd(roots []merkle.Node) int64 {
	var m int64
	for _, r := range roots {
		m = max(m, int64(r.Index+1)*NodeSize)
	}
	return m
}

// copyStorage returns a memory storage holding the bytes of src's files.
func copyStorage(t testing.TB, src storage.Storage) *storage.Memory {
	t.Helper()
	dst := storage.NewMemory()
	for _, name := range storage.Names {
		if b := readFile(t, src, name); len(b) > 0 {
			writeFile(t, dst, name, b)
		}
	}
	return dst
}

var zeroChunk [1 << 12]byte

// writeFile replaces the named file's bytes with b, writing only the
// chunks that are not zeros (the header file is mostly a hole).
func writeFile(t testing.TB, s storage.Storage, name string, b []byte) {
	t.Helper()
	f, err := s.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	const chunk = 1 << 12
	for off := 0; off < len(b); off += chunk {
		c := b[off:min(off+chunk, len(b))]
		if bytes.Equal(c, zeroChunk[:len(c)]) {
			continue
		}
		if _, err := f.WriteAt(c, int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, s storage.Storage, name string) []byte {
	t.Helper()
	f, err := s.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && size > 0 {
		t.Fatal(err)
	}
	return b
}

func mustOpen(t testing.TB, st storage.Storage) *Store {
	t.Helper()
	s, err := Open(st, nil)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	return s
}

// noClose wraps a storage so that closing the store keeps the files, to
// reopen them.
type noClose struct{ storage.Storage }

func (noClose) Close() error { return nil }

func isErr(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

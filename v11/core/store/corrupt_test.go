package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// writerStore returns a memory storage holding a writer's core after
// commits appending blocks 0–9, 10–19 and 20, and the last two headers.
func writerStore(t *testing.T, c *testCore) (*storage.Memory, Header, Header) {
	t.Helper()
	mem := storage.NewMemory()
	s := mustOpen(t, noClose{mem})
	createCore(t, s, c)
	var bs [][]byte
	for i := uint64(0); i < 10; i++ {
		bs = append(bs, testBlock(0, i))
	}
	appendBlocks(t, s, c, bs...)
	bs = bs[:0]
	for i := uint64(10); i < 20; i++ {
		bs = append(bs, testBlock(0, i))
	}
	appendBlocks(t, s, c, bs...)
	prev := s.Header()
	appendBlocks(t, s, c, testBlock(0, 20))
	last := s.Header()
	s.Close()
	return mem, prev, last
}

// slotLen returns the length of the header slot at off in mem.
func slotLen(t *testing.T, mem *storage.Memory, off int64) (int64, uint64) {
	t.Helper()
	f, _ := mem.Open(HeaderFile)
	var pre [slotPrefix]byte
	if _, err := f.ReadAt(pre[:], off); err != nil {
		t.Fatal(err)
	}
	return slotPrefix + int64(binary.LittleEndian.Uint32(pre[16:])) + slotSum, binary.LittleEndian.Uint64(pre[8:])
}

func modify(t *testing.T, mem *storage.Memory, name string, fn func(b []byte) []byte) *storage.Memory {
	t.Helper()
	cp := copyStorage(t, mem)
	writeFile(t, cp, name, fn(readFile(t, cp, name)))
	return cp
}

// TestCorruptHeaderByte flips each byte of both header slots in turn: the
// other slot is used (the newest header, or the one before it, with the
// files repaired to it), never a panic or a wrong state.
func TestCorruptHeaderByte(t *testing.T) {
	c := newTestCore(t, "corrupt header")
	mem, prev, last := writerStore(t, c)
	for slot := int64(0); slot < 2; slot++ {
		n, seq := slotLen(t, mem, slot*SlotSize)
		_, otherSeq := slotLen(t, mem, (1-slot)*SlotSize)
		want := last // the other slot is the newest
		if seq > otherSeq {
			want = prev
		}
		for i := int64(0); i < n; i++ {
			for _, mask := range []byte{0x01, 0xff} {
				cp := modify(t, mem, HeaderFile, func(b []byte) []byte { b[slot*SlotSize+i] ^= mask; return b })
				s, err := Open(noClose{cp}, nil)
				if err != nil {
					t.Fatalf("slot %d byte %d ^ %02x: Open = %v", slot, i, mask, err)
				}
				if diff := cmp.Diff(want, s.Header()); diff != "" {
					t.Fatalf("slot %d byte %d ^ %02x: header (-want +got):\n%s", slot, i, mask, diff)
				}
				if i == n/2 && mask == 0xff {
					checkWriter(t, s, c)
				}
			}
		}
	}
	// Both slots damaged: corrupt.
	cp := modify(t, mem, HeaderFile, func(b []byte) []byte { b[30] ^= 1; b[SlotSize+30] ^= 1; return b })
	if _, err := Open(noClose{cp}, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with both slots damaged = %v, want ErrCorrupt", err)
	}
}

// TestCorruptHeaderLength cuts the header file at every length through
// both slots: a slot cut short is not used; with no slot left, a file that
// was cut to nothing is an empty store and anything else is corrupt.
func TestCorruptHeaderLength(t *testing.T) {
	c := newTestCore(t, "cut header")
	mem, prev, last := writerStore(t, c)
	n0, seq0 := slotLen(t, mem, 0)
	n1, seq1 := slotLen(t, mem, SlotSize)
	var cuts []int64
	for i := int64(0); i <= n0+2; i++ {
		cuts = append(cuts, i)
	}
	for i := int64(SlotSize - 1); i <= SlotSize+n1; i++ {
		cuts = append(cuts, i)
	}
	for _, cut := range cuts {
		cp := modify(t, mem, HeaderFile, func(b []byte) []byte { return b[:cut] })
		s, err := Open(noClose{cp}, nil)
		switch {
		case cut == 0:
			if err != nil || s.HasHeader() {
				t.Fatalf("cut at 0: Open = %v (header %v), want an empty store", err, s != nil && s.HasHeader())
			}
		case cut < n0:
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("cut at %d: Open = %v, want ErrCorrupt", cut, err)
			}
		default:
			if err != nil {
				t.Fatalf("cut at %d: Open = %v", cut, err)
			}
			want := last
			if seq0 < seq1 && cut < SlotSize+n1 {
				want = prev // slot 1, the newest, is cut
			}
			if seq0 > seq1 {
				want = last // slot 0, the newest, is whole
			}
			if diff := cmp.Diff(want, s.Header()); diff != "" {
				t.Fatalf("cut at %d: header (-want +got):\n%s", cut, diff)
			}
		}
	}
}

// TestTornFirstHeader: a store whose first header write did not complete
// (slot 1 partly written, slot 0 never) opens empty, and the files its
// first commit wrote are emptied.
func TestTornFirstHeader(t *testing.T) {
	c := newTestCore(t, "torn first")
	mem, _, _ := writerStore(t, c)
	n1, _ := slotLen(t, mem, SlotSize)
	full := readFile(t, mem, HeaderFile)
	for k := int64(1); k < n1; k += 7 {
		cp := copyStorage(t, mem)
		f, _ := cp.Open(HeaderFile)
		f.Truncate(0)
		f.WriteAt(full[SlotSize:SlotSize+k], SlotSize)
		s, err := Open(noClose{cp}, nil)
		if err != nil || s.HasHeader() {
			t.Fatalf("slot 1 written to %d of %d bytes: Open = %v, header %v; want an empty store", k, n1, err, s != nil && s.HasHeader())
		}
		for _, name := range []string{HeaderFile, TreeFile, DataFile, BitfieldFile, SecretKeyFile} {
			if b := readFile(t, cp, name); len(b) != 0 {
				t.Fatalf("slot 1 written to %d bytes: %s file of %d bytes left after Open", k, name, len(b))
			}
		}
		// The store can be created again.
		createCore(t, s, c)
		appendBlocks(t, s, c, []byte("again"))
		checkWriter(t, s, c)
	}
}

// TestCorruptSlotBody: slots whose checksum holds but whose fields do not
// are corrupt, not torn.
func TestCorruptSlotBody(t *testing.T) {
	c := newTestCore(t, "slot body")
	good := c.header(t, merkle.Tree{}, false)
	body := encodeBody(&good)
	tree, _ := fullTree(0, [][]byte{[]byte("x")})
	withTree := c.header(t, tree, false)
	treeBody := encodeBody(&withTree)
	cases := map[string][]byte{
		"empty":          {},
		"short key":      body[:20],
		"unknown flag":   append(append(append([]byte(nil), body[:32]...), 0x08), body[33:]...),
		"trailing bytes": append(append([]byte(nil), body...), 0),
		"missing extra":  body[:len(body)-1],
		"bad manifest": func() []byte {
			h := good
			h.Manifest = []byte{7}
			return encodeBody(&h)
		}(),
		"truncation past the length": func() []byte {
			h := good
			h.Truncating, h.TruncateTo = true, 1
			return encodeBody(&h)
		}(),
		"roots too big": func() []byte {
			h := withTree
			h.Tree = withTree.Tree.Clone()
			h.Tree.Roots[0].Size = 1 << 53
			return encodeBody(&h)
		}(),
		"length cut": treeBody[:len(treeBody)-3],
	}
	for name, b := range cases {
		mem := storage.NewMemory()
		f, _ := mem.Open(HeaderFile)
		f.WriteAt(encodeSlot(5, b), 0)
		if _, err := Open(mem, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Open = %v, want ErrCorrupt", name, err)
		}
	}
	// Two valid slots with one sequence number.
	mem := storage.NewMemory()
	f, _ := mem.Open(HeaderFile)
	f.WriteAt(encodeSlot(5, body), 0)
	f.WriteAt(encodeSlot(5, body), SlotSize)
	if _, err := Open(mem, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("equal sequence numbers: Open = %v, want ErrCorrupt", err)
	}
	// A slot claiming a body longer than the file or the maximum.
	for _, n := range []uint32{MaxHeaderSize + 1, 1<<32 - 1, 100} {
		mem := storage.NewMemory()
		f, _ := mem.Open(HeaderFile)
		slot := encodeSlot(5, body)
		binary.LittleEndian.PutUint32(slot[16:], n)
		f.WriteAt(slot, 0)
		if _, err := Open(mem, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("body length %d: Open = %v, want ErrCorrupt", n, err)
		}
	}
}

// TestCorruptSecretKey: a writer's secret key file missing, cut, or not a
// key pair is corrupt.
func TestCorruptSecretKey(t *testing.T) {
	c := newTestCore(t, "secret")
	mem, _, _ := writerStore(t, c)
	for name, fn := range map[string]func([]byte) []byte{
		"missing":     func(b []byte) []byte { return nil },
		"cut":         func(b []byte) []byte { return b[:63] },
		"longer":      func(b []byte) []byte { return append(b, 0) },
		"public half": func(b []byte) []byte { b[40] ^= 1; return b },
		"seed":        func(b []byte) []byte { b[3] ^= 1; return b },
	} {
		cp := modify(t, mem, SecretKeyFile, fn)
		if _, err := Open(noClose{cp}, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Open = %v, want ErrCorrupt", name, err)
		}
	}
}

// TestCorruptNodeRecord flips each byte of a leaf's and a parent's record:
// the node reads as absent; a stored block whose leaf is gone, or whose
// leaf claims bytes the data file does not hold, is ErrCorrupt.
func TestCorruptNodeRecord(t *testing.T) {
	c := newTestCore(t, "records")
	mem, _, _ := writerStore(t, c)
	for _, index := range []uint64{6, 5, 7, 38} { // not roots (the header holds those)
		for i := 0; i < NodeSize; i++ {
			cp := modify(t, mem, TreeFile, func(b []byte) []byte { b[int(index)*NodeSize+i] ^= 0x10; return b })
			s := mustOpen(t, noClose{cp})
			if n, ok, err := s.Node(index); ok || err != nil {
				t.Fatalf("node %d byte %d flipped: Node = %v, %v, %v; want absent", index, i, n, ok, err)
			}
			if index%2 == 0 {
				if _, _, err := s.Block(index / 2); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("leaf %d byte %d flipped: Block = %v, want ErrCorrupt", index, i, err)
				}
			}
		}
	}
	// Whole records that claim too much.
	for name, rec := range map[string][NodeSize]byte{
		"size above the maximum":  encodeRecord(merkle.Node{Index: 6, Size: MaxBlockSize + 1}, 0),
		"bytes past the data":     encodeRecord(merkle.Node{Index: 6, Size: 1000}, 0),
		"offset past the data":    encodeRecord(merkle.Node{Index: 6, Size: 1}, 1<<40),
		"size above 2^53-1":       encodeRecord(merkle.Node{Index: 6, Size: 1 << 60}, 0),
		"offset above 2^53-1":     encodeRecord(merkle.Node{Index: 6, Size: 1}, 1<<60),
		"offset + size overflows": encodeRecord(merkle.Node{Index: 6, Size: 1 << 52}, 1<<52),
	} {
		cp := modify(t, mem, TreeFile, func(b []byte) []byte { copy(b[6*NodeSize:], rec[:]); return b })
		s := mustOpen(t, noClose{cp})
		if b, ok, err := s.Block(3); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Block(3) = %d bytes, %v, %v; want ErrCorrupt", name, len(b), ok, err)
		}
	}
}

// failing is a storage whose files fail the write, truncate or discard
// numbered fail (counting from 1), after writing the first half of a
// write's bytes (a torn write), and every one after it.
type failing struct {
	storage.Storage
	n, fail int
}

var errInjected = errors.New("injected write failure")

func (f *failing) Open(name string) (storage.File, error) {
	file, err := f.Storage.Open(name)
	return &failingFile{file, f}, err
}

func (f *failing) Close() error { return nil }

type failingFile struct {
	storage.File
	f *failing
}

func (ff *failingFile) step() bool {
	ff.f.n++
	return ff.f.fail > 0 && ff.f.n >= ff.f.fail
}

func (ff *failingFile) WriteAt(p []byte, off int64) (int, error) {
	if ff.step() {
		ff.File.WriteAt(p[:len(p)/2], off)
		return 0, errInjected
	}
	return ff.File.WriteAt(p, off)
}

func (ff *failingFile) Truncate(size int64) error {
	if ff.step() {
		return errInjected
	}
	return ff.File.Truncate(size)
}

func (ff *failingFile) Discard(off, size int64) error {
	if ff.step() {
		return errInjected
	}
	return ff.File.Discard(off, size)
}

// TestCommitFailsAtEveryWrite fails each write of three kinds of commit in
// turn (a torn write, then nothing): Commit returns the error, the store's
// state in memory is the one before, later commits fail with ErrFailed,
// and the files reopen consistent, as after a crash at that point.
func TestCommitFailsAtEveryWrite(t *testing.T) {
	c := newTestCore(t, "failing")
	kinds := []struct {
		name   string
		commit func(t *testing.T, s *Store) error
	}{
		{"append", func(t *testing.T, s *Store) error {
			h := s.Header()
			tree := h.Tree.Clone()
			var b Batch
			for i := h.Tree.Length; i < h.Tree.Length+5; i++ {
				b.PutNode(tree.Append(testBlock(0, i))...)
				b.PutBlock(i, testBlock(0, i))
			}
			b.SetHeader(c.header(t, tree, true))
			return s.Commit(&b)
		}},
		{"truncate and append", func(t *testing.T, s *Store) error {
			h := s.Header()
			tree := treeAt(t, s, h.Tree.Fork+1, 13)
			var b Batch
			b.Truncate(13)
			for i := uint64(13); i < 16; i++ {
				b.PutNode(tree.Append(testBlock(1, i))...)
				b.PutBlock(i, testBlock(1, i))
			}
			b.SetHeader(c.header(t, tree, true))
			return s.Commit(&b)
		}},
		{"clear and put back", func(t *testing.T, s *Store) error {
			var b Batch
			b.ClearBlocks(3, 9)
			b.PutBlock(5, testBlock(0, 5))
			return s.Commit(&b)
		}},
	}
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			mem, _, _ := writerStore(t, c)
			// Count the writes of a commit that succeeds.
			probe := &failing{Storage: copyStorage(t, mem)}
			s := mustOpen(t, probe)
			probe.n = 0
			if err := kind.commit(t, s); err != nil {
				t.Fatal(err)
			}
			writes := probe.n
			for k := 1; k <= writes; k++ {
				fs := &failing{Storage: copyStorage(t, mem)}
				s := mustOpen(t, fs)
				before := s.Header()
				var present []bool
				for i := uint64(0); i < before.Tree.Length; i++ {
					present = append(present, s.Has(i))
				}
				contig := s.Contiguous()
				fs.n, fs.fail = 0, k
				if err := kind.commit(t, s); !errors.Is(err, errInjected) {
					t.Fatalf("write %d of %d failing: Commit = %v", k, writes, err)
				}
				if diff := cmp.Diff(before, s.Header()); diff != "" {
					t.Fatalf("write %d failing: the header in memory changed (-before +after):\n%s", k, diff)
				}
				for i := range present {
					if s.Has(uint64(i)) != present[i] {
						t.Fatalf("write %d failing: Has(%d) changed in memory", k, i)
					}
				}
				if s.Contiguous() != contig {
					t.Fatalf("write %d failing: Contiguous changed in memory", k)
				}
				if err := s.Commit(&Batch{header: &before}); !errors.Is(err, ErrFailed) {
					t.Fatalf("write %d failing: the next Commit = %v, want ErrFailed", k, err)
				}
				// Reopen the files as a crash at that write leaves them.
				s = mustOpen(t, fs.Storage)
				checkStored(t, s, c, k)
				h := s.Header()
				if h.Truncating {
					truncateCore(t, s, c, h.TruncateTo)
				}
				if h.Tree.Length != before.Tree.Length || h.Truncating {
					// A writer's state: all blocks, or the interrupted truncation finished.
					checkWriter(t, s, c)
				}
			}
			t.Logf("%d writes, each failed in turn", writes)
		})
	}
}

// TestHypercore9Directory: a Hypercore 9 feed's files (a 32-byte key file)
// are not a store: Open is ErrCorrupt and changes no byte.
func TestHypercore9Directory(t *testing.T) {
	mem := storage.NewMemory()
	files := map[string][]byte{
		storage.Key:       bytes.Repeat([]byte{0xab}, 32),
		storage.SecretKey: bytes.Repeat([]byte{0xcd}, 64),
		storage.Tree:      append([]byte{5, 2, 0x57, 2, 0, 0, 0x28, 7}, make([]byte, 24+40)...),
		storage.Data:      []byte("hello"),
		storage.Bitfield:  append([]byte{5, 2, 0x57, 0, 0, 0x0e, 0}, make([]byte, 25+3584)...),
	}
	for name, b := range files {
		writeFile(t, mem, name, b)
	}
	if _, err := Open(noClose{mem}, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open(a Hypercore 9 feed) = %v, want ErrCorrupt", err)
	}
	for name, b := range files {
		if got := readFile(t, mem, name); !bytes.Equal(got, b) {
			t.Errorf("Open changed the %s file", name)
		}
	}
}

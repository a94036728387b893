package store

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// The crash tests run this test binary again as a child that commits to a
// store directory without end (appending, downloading, or truncating and
// appending), kill it with SIGKILL at a random moment, and check what it
// left, as interop/crash_test.go does for Hypercore 9 feeds.
func TestMain(m *testing.M) {
	if mode := os.Getenv("HC11_STORE_CRASH_CHILD"); mode != "" {
		crashChild(mode, os.Getenv("HC11_STORE_CRASH_DIR"))
		os.Exit(3) // the child only ends by being killed
	}
	os.Exit(m.Run())
}

// crashSource is the core a downloading child fetches blocks of.
const crashSource = 4000

func crashChild(mode, dir string) {
	t := &childT{}
	c := newTestCore(t, "crash "+mode)
	st, err := storage.OpenDir(dir)
	if err != nil {
		t.Fatalf("%v", err)
	}
	s, err := Open(st, &Options{Sync: mode == "truncate"})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	r := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	switch mode {
	case "append", "truncate":
		if !s.HasHeader() {
			createCore(t, s, c)
		}
		os.Stdout.WriteString("ready\n")
		for {
			h := s.Header()
			if mode == "truncate" && r.IntN(6) == 0 {
				to := h.Tree.Length - min(h.Tree.Length, uint64(r.IntN(40)))
				var add [][]byte
				for i := to; i < to+uint64(r.IntN(6)); i++ {
					add = append(add, testBlock(h.Tree.Fork+1, i))
				}
				truncateCore(t, s, c, to, add...)
				continue
			}
			var add [][]byte
			for i := h.Tree.Length; i < h.Tree.Length+1+uint64(r.IntN(5)); i++ {
				add = append(add, testBlock(h.Tree.Fork, i))
			}
			appendBlocks(t, s, c, add...)
		}
	case "download":
		src, all, blocks := crashSourceCore()
		if !s.HasHeader() {
			var b Batch
			b.PutNode(src.Roots...)
			b.SetHeader(c.header(t, src, false))
			if err := s.Commit(&b); err != nil {
				t.Fatalf("%v", err)
			}
		}
		os.Stdout.WriteString("ready\n")
		for {
			if s.Contiguous() == crashSource {
				// Everything is here: drop a range and fetch it again.
				var b Batch
				start := uint64(r.IntN(crashSource))
				b.ClearBlocks(start, start+uint64(r.IntN(500)))
				if err := s.Commit(&b); err != nil {
					t.Fatalf("%v", err)
				}
			}
			var b Batch
			for k := 1 + r.IntN(8); k > 0; k-- {
				i := uint64(r.IntN(crashSource))
				if s.Has(i) {
					continue
				}
				b.PutNode(proofNodes(src, all, i)...)
				b.PutBlock(i, blocks[i])
			}
			if err := s.Commit(&b); err != nil {
				t.Fatalf("%v", err)
			}
		}
	}
	t.Fatalf("unknown mode %q", mode)
}

// crashSourceCore returns the tree, nodes and blocks of the core the
// download child fetches.
func crashSourceCore() (merkle.Tree, map[uint64]merkle.Node, [][]byte) {
	var blocks [][]byte
	for i := uint64(0); i < crashSource; i++ {
		blocks = append(blocks, testBlock(0, i))
	}
	tree, all := fullTree(0, blocks)
	return tree, all, blocks
}

// childT is the testing.TB of the child: a failure ends it with exit code 2.
type childT struct{ testing.TB }

func (*childT) Helper() {}
func (*childT) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"crash child:"}, args...)...)
	os.Exit(2)
}
func (c *childT) Fatalf(format string, args ...any) { c.Fatal(fmt.Sprintf(format, args...)) }

// crashKills is the kills per mode: HYPERCORE_CRASH_KILLS, or 12.
func crashKills() int {
	if n, err := strconv.Atoi(os.Getenv("HYPERCORE_CRASH_KILLS")); err == nil && n > 0 {
		return n
	}
	return 12
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// killChild starts a child in mode on dir, waits until it has opened the
// store, lets it run for up to maxRun and kills it with SIGKILL.
func killChild(t *testing.T, mode, dir string, maxRun time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HC11_STORE_CRASH_CHILD="+mode, "HC11_STORE_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("crash child did not start: %q %v; stderr %s", buf, err, stderr.String())
	}
	time.Sleep(time.Duration(rand.Int64N(int64(maxRun))))
	cmd.Process.Signal(syscall.SIGKILL)
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("crash child ended with %v before the kill; stderr %s", err, stderr.String())
	}
}

// openAfterCrash opens the directory a child was killed in.
func openAfterCrash(t *testing.T, dir string, round int) *Store {
	t.Helper()
	st, err := storage.OpenDir(dir)
	if err != nil {
		t.Fatalf("round %d: OpenDir after SIGKILL: %v", round, err)
	}
	s, err := Open(st, nil)
	if err != nil {
		t.Fatalf("round %d: Open after SIGKILL: %v", round, err)
	}
	return s
}

// checkStored checks what any store must hold after a crash: the header's
// signature verifies for its tree; the stored roots are the header's; every
// stored parent whose children are stored hashes from them; every stored
// block hashes to its stored leaf and sits at the offset its left nodes
// give; the contiguous length is the first missing block; nothing lies in
// the files past the committed state.
func checkStored(t *testing.T, s *Store, c *testCore, round int) {
	t.Helper()
	h := s.Header()
	if err := c.v.Verify(&h.Tree, h.Signature); err != nil {
		t.Fatalf("round %d: header signature (fork %d length %d) = %v", round, h.Tree.Fork, h.Tree.Length, err)
	}
	for _, r := range h.Tree.Roots {
		n, _, ok, err := s.readRecord(r.Index)
		if err != nil || !ok || n != r {
			t.Fatalf("round %d: root record %d = %v, %v, %v; header %v", round, r.Index, n, ok, err, r)
		}
	}
	for i := uint64(0); i < 2*h.Tree.Length; i++ {
		n, ok, err := s.Node(i)
		if err != nil {
			t.Fatalf("round %d: Node(%d) = %v", round, i, err)
		}
		if !ok || i%2 == 0 {
			continue
		}
		l, r, _ := flattree.Children(i)
		ln, lok, _ := s.Node(l)
		rn, rok, _ := s.Node(r)
		if lok && rok && merkle.ParentNode(ln, rn) != n {
			t.Fatalf("round %d: node %d = %v, its children give %v", round, i, n, merkle.ParentNode(ln, rn))
		}
	}
	contig := h.Tree.Length
	for i := uint64(0); i < h.Tree.Length; i++ {
		data, ok, err := s.Block(i)
		if err != nil {
			t.Fatalf("round %d: Block(%d) = %v", round, i, err)
		}
		if !ok {
			contig = min(contig, i)
			continue
		}
		leaf, ok, err := s.Node(2 * i)
		if err != nil || !ok || leaf != merkle.LeafNode(2*i, data) {
			t.Fatalf("round %d: block %d (%x) has leaf %v, %v, %v", round, i, data, leaf, ok, err)
		}
		off, err := s.ByteOffset(i)
		idx, _ := flattree.FullRoots(2 * i)
		var want uint64
		for _, k := range idx {
			n, ok, _ := s.Node(k)
			if !ok {
				t.Fatalf("round %d: block %d stored but node %d left of it is not", round, i, k)
			}
			want += n.Size
		}
		if err != nil || off != want {
			t.Fatalf("round %d: ByteOffset(%d) = %d, %v; want %d", round, i, off, err, want)
		}
	}
	if got := s.Contiguous(); got != contig {
		t.Fatalf("round %d: Contiguous() = %d, want %d", round, got, contig)
	}
	checkFileEnds(t, s)
}

// TestCrashAppend kills a writer appending one to five blocks per commit:
// each time the store reopens with a verified prefix of what was appended,
// never shorter than before, with every block (checkWriter), and takes the
// next append.
func TestCrashAppend(t *testing.T) {
	c := newTestCore(t, "crash append")
	kills := crashKills()
	var dir string
	var length, total uint64
	for round := 0; round < kills; round++ {
		if round%killsPerDir == 0 {
			total += length
			dir, length = filepath.Join(t.TempDir(), "core"), 0
		}
		killChild(t, "append", dir, 40*time.Millisecond)
		s := openAfterCrash(t, dir, round)
		checkStored(t, s, c, round)
		checkWriter(t, s, c)
		h := s.Header()
		if h.Tree.Length < length {
			t.Fatalf("round %d: length went back from %d to %d", round, length, h.Tree.Length)
		}
		appendBlocks(t, s, c, testBlock(0, h.Tree.Length))
		checkWriter(t, s, c)
		length = h.Tree.Length + 1
		s.Close()
	}
	total += length
	t.Logf("%d kills: %d blocks survived in %d directories, each reopen verified", kills, total, (kills+killsPerDir-1)/killsPerDir)
}

// killsPerDir bounds the kills one directory takes, so that checking it
// stays cheap however many kills are asked for.
const killsPerDir = 20

// TestCrashDownload kills a reader storing out-of-order blocks with their
// proof nodes (and, once it holds everything, clearing ranges): each reopen
// holds only blocks and nodes of the source core, each verified.
func TestCrashDownload(t *testing.T) {
	c := newTestCore(t, "crash download")
	src, all, blocks := crashSourceCore()
	dir := filepath.Join(t.TempDir(), "core")
	kills := crashKills()
	var held uint64
	for round := 0; round < kills; round++ {
		killChild(t, "download", dir, 80*time.Millisecond)
		s := openAfterCrash(t, dir, round)
		checkStored(t, s, c, round)
		h := s.Header()
		if h.Tree.Length != crashSource || !equalNodes(h.Tree.Roots, src.Roots) {
			t.Fatalf("round %d: header tree length %d roots %v, want the source's", round, h.Tree.Length, h.Tree.Roots)
		}
		held = 0
		for i := uint64(0); i < crashSource; i++ {
			data, ok, err := s.Block(i)
			if err != nil || (ok && !bytes.Equal(data, blocks[i])) {
				t.Fatalf("round %d: Block(%d) = %x, %v, %v; want %x", round, i, data, ok, err, blocks[i])
			}
			if ok {
				held++
			}
		}
		for i := uint64(0); i < 2*crashSource; i++ {
			if n, ok, _ := s.Node(i); ok && n != all[i] {
				t.Fatalf("round %d: Node(%d) = %v, want %v", round, i, n, all[i])
			}
		}
		s.Close()
	}
	t.Logf("%d kills: %d of %d blocks held at the end, each reopen verified against the source", kills, held, crashSource)
}

// TestCrashTruncate kills a writer that truncates (at fork+1, with blocks
// appended in the same commit) and appends, syncing: each reopen is the
// state before or after a commit; after a kill in the middle of a
// truncation the store says so (Header.Truncating) and the test finishes
// it as a feed would.
func TestCrashTruncate(t *testing.T) {
	c := newTestCore(t, "crash truncate")
	dir := filepath.Join(t.TempDir(), "core")
	kills := crashKills()
	var fork, length, interrupted uint64
	for round := 0; round < kills; round++ {
		killChild(t, "truncate", dir, 60*time.Millisecond)
		s := openAfterCrash(t, dir, round)
		checkStored(t, s, c, round)
		h := s.Header()
		if h.Tree.Fork < fork || (h.Tree.Fork == fork && h.Tree.Length < length) {
			t.Fatalf("round %d: went back from fork %d length %d to fork %d length %d", round, fork, length, h.Tree.Fork, h.Tree.Length)
		}
		if h.Truncating {
			interrupted++
			// The blocks from TruncateTo on are gone; the rest verify.
			for i := uint64(0); i < h.TruncateTo; i++ {
				if !s.Has(i) {
					t.Fatalf("round %d: block %d below the interrupted truncation to %d is missing", round, i, h.TruncateTo)
				}
			}
			truncateCore(t, s, c, h.TruncateTo)
			if s.Header().Truncating {
				t.Fatalf("round %d: the marker outlived the truncation", round)
			}
		}
		checkWriter(t, s, c)
		h = s.Header()
		appendBlocks(t, s, c, testBlock(h.Tree.Fork, h.Tree.Length))
		checkWriter(t, s, c)
		h = s.Header()
		fork, length = h.Tree.Fork, h.Tree.Length
		s.Close()
	}
	t.Logf("%d kills: fork %d length %d at the end; %d kills fell inside a truncation", kills, fork, length, interrupted)
}

package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

// The crash tests run this test binary again as a child that appends to
// (or downloads into) a feed directory without end, kill it with SIGKILL
// at a random moment, and check what it left.
func TestMain(m *testing.M) {
	if mode := os.Getenv("HC_CRASH_CHILD"); mode != "" {
		crashChild(mode, os.Getenv("HC_CRASH_DIR"), os.Getenv("HC_CRASH_ADDR"))
		os.Exit(3) // the child only ends by being killed
	}
	os.Exit(m.Run())
}

func crashChild(mode, dir, addr string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	kp, _ := merkle.NewKeyPairFromSeed(writerSeed())
	if mode == "reader" {
		f, err := core.OpenDir(dir, &core.Options{Key: core.Key(kp.PublicKey)})
		if err != nil {
			fail(err)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fail(err)
		}
		os.Stdout.WriteString("ready\n")
		f.Replicate(context.Background(), c, &core.ReplicateOptions{Initiator: true, Live: true})
		select {}
	}
	f, err := core.CreateDir(dir, &core.Options{KeyPair: &kp})
	if err != nil {
		fail(err)
	}
	os.Stdout.WriteString("ready\n")
	batch := 1
	switch mode {
	case "batch":
		batch = 50
	case "bigbatch":
		batch = 200
	}
	for {
		n := int(f.Length())
		var bs [][]byte
		for k := 0; k < batch; k++ {
			bs = append(bs, crashBlock(mode, n+k))
		}
		if _, err := f.Append(bs...); err != nil {
			fail(err)
		}
	}
}

// crashBlock is block i of a crash writer in mode: block(i), or for
// "bigbatch" block(i) padded to 1 KiB, so that a call of 200 blocks is large
// enough for Append to hash its leaves on every CPU while it writes the data
// (core/append.go, parallelMin).
func crashBlock(mode string, i int) []byte {
	b := block(i)
	if mode != "bigbatch" {
		return b
	}
	return append(b, bytes.Repeat([]byte{byte(i)}, 1024-len(b))...)
}

// crashKills is the kills per mode: HYPERCORE_CRASH_KILLS, or 8.
func crashKills() int {
	if n, err := strconv.Atoi(os.Getenv("HYPERCORE_CRASH_KILLS")); err == nil && n > 0 {
		return n
	}
	return 8
}

// startChild starts the child and waits for it to open the feed.
func startChild(t *testing.T, mode, dir, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HC_CRASH_CHILD="+mode, "HC_CRASH_DIR="+dir, "HC_CRASH_ADDR="+addr)
	out, _ := cmd.StdoutPipe()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("crash child did not start: %q %v; stderr %s", buf, err, stderr.String())
	}
	return cmd
}

// checkAfterCrash reopens the directory: it must open, hold the writer's
// blocks (a prefix of them, for a writer) and check clean.
func checkAfterCrash(t *testing.T, dir string, writer bool, round int, block func(int) []byte) *core.Feed {
	t.Helper()
	f, err := core.OpenDir(dir, nil)
	if err != nil {
		t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
	}
	for i := uint64(0); i < f.Length(); i++ {
		if !f.Has(i) {
			if writer {
				t.Fatalf("round %d: the writer lacks block %d of %d", round, i, f.Length())
			}
			continue
		}
		got, err := f.Get(i)
		if err != nil || string(got) != string(block(int(i))) {
			t.Fatalf("round %d: block %d = %q, %v", round, i, got, err)
		}
	}
	if rep, err := f.Check(); err != nil || rep.Invalid != 0 {
		t.Fatalf("round %d: Check after SIGKILL = %+v, %v (length %d)", round, rep, err, f.Length())
	}
	return f
}

// TestCrashAppend kills a writer appending one block per call, 50, or 200
// of 1 KiB (which Append hashes in parallel while it writes the data), at
// random moments: each time the feed reopens with a verified prefix of what
// was appended, takes the next append, and at the end JS reads it.
func TestCrashAppend(t *testing.T) {
	for _, mode := range []string{"single", "batch", "bigbatch"} {
		t.Run(mode, func(t *testing.T) {
			total := crashKills()
			for start := 0; start < total; start += killsPerDir {
				crashAppendDir(t, mode, start, min(total, start+killsPerDir))
			}
		})
	}
}

// killsPerDir bounds the kills one directory takes, so that checking it
// stays cheap however many kills are asked for.
const killsPerDir = 20

func crashAppendDir(t *testing.T, mode string, from, to int) {
	dir := filepath.Join(t.TempDir(), "feed")
	block := func(i int) []byte { return crashBlock(mode, i) }
	var length uint64
	for round := from; round < to; round++ {
		cmd := startChild(t, mode, dir, "")
		time.Sleep(time.Duration(rand.IntN(30000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		f := checkAfterCrash(t, dir, true, round, block)
		if f.Length() < length {
			t.Fatalf("round %d: length went back from %d to %d", round, length, f.Length())
		}
		if _, err := f.Append(block(int(f.Length()))); err != nil {
			t.Fatalf("round %d: append after SIGKILL: %v", round, err)
		}
		length = f.Length()
		f.Close()
	}
	t.Logf("kills %d to %d: %d blocks survived", from, to-1, length)
	var rep jsReport
	jsFeed(t, &rep, "read", dir)
	if rep.Length != length || rep.Audit.Invalid != 0 || rep.HeadSignatureValid == nil || !*rep.HeadSignatureValid {
		t.Fatalf("JS reads the crashed feed as length %d audit %+v head signature %v %s; want length %d",
			rep.Length, rep.Audit, rep.HeadSignatureValid, rep.SignatureError, length)
	}
	for i, b := range rep.Blocks {
		if b == nil || *b != hex.EncodeToString(block(i)) {
			t.Fatalf("JS block %d = %v", i, b)
		}
	}
}

// TestCrashDownload kills a reader while it downloads from a writer: the
// clone reopens with only verified blocks, and JS reads it.
func TestCrashDownload(t *testing.T) {
	const n = 20000
	kp, _ := merkle.NewKeyPairFromSeed(writerSeed())
	w, err := core.Create(storage.NewMemory(), &core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < n; i += 1000 {
		var bs [][]byte
		for k := i; k < i+1000; k++ {
			bs = append(bs, block(k))
		}
		w.Append(bs...)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				w.Replicate(ctx, c, &core.ReplicateOptions{Live: true})
			}()
		}
	}()
	total := crashKills()
	for from := 0; from < total; from += killsPerDir {
		to := min(total, from+killsPerDir)
		dir := filepath.Join(t.TempDir(), "clone")
		var held uint64
		for round := from; round < to; round++ {
			cmd := startChild(t, "reader", dir, ln.Addr().String())
			time.Sleep(time.Duration(rand.IntN(60000)) * time.Microsecond)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			f := checkAfterCrash(t, dir, false, round, block)
			held = f.Downloaded(0, f.Length())
			f.Close()
		}
		t.Logf("kills %d to %d: the clone holds %d of %d blocks", from, to-1, held, n)
		var rep jsReport
		jsFeed(t, &rep, "read", dir, hex.EncodeToString(kp.PublicKey))
		if rep.Audit.Invalid != 0 || rep.Downloaded != held {
			t.Fatalf("JS reads the crashed clone as %d blocks held, audit %+v; want %d", rep.Downloaded, rep.Audit, held)
		}
		for i, b := range rep.Blocks {
			if b != nil && *b != hex.EncodeToString(block(i)) {
				t.Fatalf("JS block %d = %v", i, *b)
			}
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a child's stderr.
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

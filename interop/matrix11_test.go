package interop

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/internal/jsref"
	core11 "github.com/hypercore-go/hypercore/v11/core"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// The Hypercore 11 interop matrix (issue 18, item 4): Go and JS 11 cores
// replicating over TCP on 127.0.0.1 (ephemeral ports, every wait bounded).
//
//   - TestMatrix11: {Go → JS, JS → Go, Go → Go} (writer → reader) ×
//     {the writer dials, the reader dials} × {a full clone of matrixBlocks
//     blocks, sparse gets of scattered blocks (only those are stored: the
//     neighbours are not), live appends after connecting that the reader
//     follows one by one}. Every block a Go side sends or receives is
//     counted through ReplicateOptions.Trace: none moves twice.
//   - TestMatrix11ThreePeers: one Go reader downloading from two JS writers
//     and one Go writer of the same core, one JS writer killed (SIGKILL)
//     mid-transfer: the reader completes and no block is downloaded twice.
//   - TestMatrix11ManyCores: 50 cores over one connection, Go clones of JS
//     writers, JS clones of Go writers (peers/many.js: core.replicate(stream)
//     on one protomux) and Go to Go (NewProtocol and Add).
//
// `go test -count=10 -run Matrix11 ./interop/` runs it ten times.

// matrixBlocks is the length of the full-clone and sparse cells' writer.
const matrixBlocks = 1200

// matrixSparse are the blocks the sparse cells get, scattered.
var matrixSparse = []uint64{0, 7, 31, 32, 257, 600, 1023, 1024, matrixBlocks - 2, matrixBlocks - 1}

// matrixLive: the live cells' writer starts with liveStart blocks and makes
// liveAppends appends of liveBatch blocks while the reader follows.
const (
	liveStart   = 10
	liveAppends = 8
	liveBatch   = 3
)

func matrixBlock(i uint64) string { return fmt.Sprintf("block %d", i) }

// digestOf is SHA-256 of blocks [start, end) of a matrix writer.
func digestOf(start, end uint64) string {
	h := sha256.New()
	for i := start; i < end; i++ {
		h.Write([]byte(matrixBlock(i)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// blockCounter counts the data messages with a block that a Go side sent
// or received, per block index, through ReplicateOptions.Trace.
type blockCounter struct {
	mu     sync.Mutex
	sent   bool // count sent (a writer) or received (a reader) data
	counts map[uint64]int
	total  int
	hook   func(total int) // called after each count, outside mu

	synced     chan struct{} // closed when a sync with a length arrived
	syncedOnce sync.Once
}

func newBlockCounter(sent bool) *blockCounter {
	return &blockCounter{sent: sent, counts: map[uint64]int{}, synced: make(chan struct{})}
}

func (b *blockCounter) trace(sent bool, m wire.Message) {
	if s, ok := m.(*wire.Sync); ok && !sent && s.Length > 0 {
		b.syncedOnce.Do(func() { close(b.synced) })
	}
	d, ok := m.(*wire.Data)
	if !ok || d.Block == nil || sent != b.sent {
		return
	}
	b.mu.Lock()
	b.counts[d.Block.Index]++
	b.total++
	n, hook := b.total, b.hook
	b.mu.Unlock()
	if hook != nil {
		hook(n)
	}
}

// snapshot returns a copy of the counts and the total.
func (b *blockCounter) snapshot() (map[uint64]int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := make(map[uint64]int, len(b.counts))
	for k, v := range b.counts {
		m[k] = v
	}
	return m, b.total
}

// checkOnce fails unless exactly the blocks want (all of [0, n) when want
// is nil) moved, each once, counted over all counters.
func checkOnce(t *testing.T, n uint64, want []uint64, counters ...*blockCounter) {
	t.Helper()
	all := map[uint64]int{}
	for _, c := range counters {
		m, _ := c.snapshot()
		for k, v := range m {
			all[k] += v
		}
	}
	if want == nil {
		for i := uint64(0); i < n; i++ {
			want = append(want, i)
		}
	}
	for _, i := range want {
		if all[i] != 1 {
			t.Errorf("block %d moved %d times, want 1", i, all[i])
		}
		delete(all, i)
	}
	for i, c := range all {
		t.Errorf("block %d moved %d times, want 0 (not asked for)", i, c)
	}
}

// jsTempDir points TMPDIR, which the JS peers make their storage in, at a
// directory of the test: a peer killed when the test ends cannot remove its
// own (about 75 MB of RocksDB files each), and ten runs of the matrix
// filled the disk.
func jsTempDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
}

// tcpPair returns the two ends of a TCP connection on 127.0.0.1.
func tcpPair(t *testing.T) (dialer, listener net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		d.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() { d.Close(); r.c.Close() })
	return d, r.c
}

// replicateGo runs c's replication over conn until the test ends. The
// returned channel is closed when Replicate returns; *err is its result.
func replicateGo(t *testing.T, ctx context.Context, c *core11.Core, conn net.Conn, initiator bool, trace func(bool, wire.Message)) (done <-chan struct{}, err *error) {
	t.Helper()
	ch := make(chan struct{})
	var res error
	go func() {
		defer close(ch)
		res = c.Replicate(ctx, conn, &core11.ReplicateOptions{Initiator: initiator, Trace: trace})
	}()
	t.Cleanup(func() {
		conn.Close()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Error("Replicate did not return after the connection closed")
		}
	})
	return ch, &res
}

// newGoWriter makes a Go writer of the JS writers' key pair with n blocks
// "block 0" ... (the same core as peers/core.js writer channel11Seed n).
func newGoWriter(t *testing.T, n uint64) *core11.Core {
	t.Helper()
	w, err := core11.Create(storage.NewMemory(), &core11.CreateOptions{KeyPair: ed25519Key(channel11Seed)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	blocks := make([][]byte, n)
	for i := range blocks {
		blocks[i] = []byte(matrixBlock(uint64(i)))
	}
	if n > 0 {
		if _, err := w.Append(blocks...); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func newGoClone(t *testing.T, key [32]byte) *core11.Core {
	t.Helper()
	c, err := core11.Open(storage.NewMemory(), &core11.OpenOptions{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A matrixWriter is the writing side of a cell.
type matrixWriter interface {
	appendBlocks(t *testing.T, blocks ...string)
}

// A matrixReader is the reading side of a cell.
type matrixReader interface {
	get(t *testing.T, i uint64) string
	download(t *testing.T, start, end uint64)
	digest(t *testing.T, start, end uint64) string
	stored(t *testing.T, n uint64) []uint64 // the blocks of [0, n) stored
	waitLength(t *testing.T, n uint64)      // until the length is at least n
}

type goWriter struct{ c *core11.Core }

func (w goWriter) appendBlocks(t *testing.T, blocks ...string) {
	t.Helper()
	bs := make([][]byte, len(blocks))
	for i, b := range blocks {
		bs[i] = []byte(b)
	}
	if _, err := w.c.Append(bs...); err != nil {
		t.Fatal(err)
	}
}

type jsWriter struct{ js *js11Core }

func (w jsWriter) appendBlocks(t *testing.T, blocks ...string) {
	t.Helper()
	w.js.cmd(map[string]any{"append": blocks})
	w.js.expect("appended")
}

type goReader struct {
	ctx context.Context
	c   *core11.Core
}

func (r goReader) get(t *testing.T, i uint64) string {
	t.Helper()
	v, err := r.c.GetContext(r.ctx, i)
	if err != nil {
		t.Fatalf("Go reader: GetContext(%d): %v", i, err)
	}
	return string(v)
}

func (r goReader) download(t *testing.T, start, end uint64) {
	t.Helper()
	if err := r.c.Download(r.ctx, start, end); err != nil {
		t.Fatalf("Go reader: Download(%d, %d): %v", start, end, err)
	}
}

func (r goReader) digest(t *testing.T, start, end uint64) string {
	t.Helper()
	h := sha256.New()
	for i := start; i < end; i++ {
		v, err := r.c.Get(i)
		if err != nil {
			t.Fatalf("Go reader: Get(%d): %v", i, err)
		}
		h.Write(v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (r goReader) stored(t *testing.T, n uint64) []uint64 {
	var out []uint64
	for i := uint64(0); i < n; i++ {
		if r.c.Has(i) {
			out = append(out, i)
		}
	}
	return out
}

func (r goReader) waitLength(t *testing.T, n uint64) {
	t.Helper()
	for {
		l := r.c.Length()
		if l >= n {
			return
		}
		if _, err := r.c.Update(r.ctx, l); err != nil {
			t.Fatalf("Go reader: Update(%d) waiting for length %d: %v", l, n, err)
		}
	}
}

type jsReader struct{ js *js11Core }

func (r jsReader) get(t *testing.T, i uint64) string {
	t.Helper()
	r.js.cmd(map[string]any{"get": i})
	e := r.js.expect("got")
	v, _ := hex.DecodeString(e.str("value"))
	return string(v)
}

func (r jsReader) download(t *testing.T, start, end uint64) {
	t.Helper()
	r.js.cmd(map[string]any{"download": []uint64{start, end}})
	r.js.expect("downloaded")
}

func (r jsReader) digest(t *testing.T, start, end uint64) string {
	t.Helper()
	r.js.cmd(map[string]any{"digest": []uint64{start, end}})
	return r.js.expect("digest").str("sha256")
}

func (r jsReader) stored(t *testing.T, n uint64) []uint64 {
	t.Helper()
	r.js.cmd(map[string]any{"stored": []uint64{0, n}})
	e := r.js.expect("stored")
	var out []uint64
	for _, x := range e["indices"].([]any) {
		out = append(out, uint64(x.(float64)))
	}
	return out
}

func (r jsReader) waitLength(t *testing.T, n uint64) {
	t.Helper()
	for {
		if e := r.js.expect("length"); uint64(e["length"].(float64)) >= n {
			return
		}
	}
}

// matrixCell sets up one cell: a writer of blocks blocks in language
// writerLang ("go" or "js") and a fresh reader of its key in readerLang,
// connected over TCP, the writer dialling when writerDials. The counter
// counts the blocks the Go side(s) moved (a Go reader's received blocks,
// else a Go writer's sent blocks).
func matrixCell(t *testing.T, ctx context.Context, writerLang, readerLang string, writerDials bool, blocks uint64) (matrixWriter, matrixReader, *blockCounter) {
	t.Helper()
	switch {
	case writerLang == "go" && readerLang == "go":
		w := newGoWriter(t, blocks)
		r := newGoClone(t, w.Key())
		cnt := newBlockCounter(false)
		d, l := tcpPair(t)
		wc, rc := l, d
		if writerDials {
			wc, rc = d, l
		}
		replicateGo(t, ctx, w, wc, writerDials, nil)
		replicateGo(t, ctx, r, rc, !writerDials, cnt.trace)
		return goWriter{w}, goReader{ctx, r}, cnt
	case writerLang == "js" && readerLang == "go":
		conn, js := startJS11Core(t, ctx, !writerDials, "writer", hex.EncodeToString(channel11Seed), int(blocks))
		key := mustKey(t, js.expect("core").str("key"))
		r := newGoClone(t, key)
		cnt := newBlockCounter(false)
		replicateGo(t, ctx, r, conn, !writerDials, cnt.trace)
		return jsWriter{js}, goReader{ctx, r}, cnt
	case writerLang == "go" && readerLang == "js":
		w := newGoWriter(t, blocks)
		key := w.Key()
		cnt := newBlockCounter(true)
		conn, js := startJS11Core(t, ctx, writerDials, "clone", hex.EncodeToString(key[:]), 0)
		replicateGo(t, ctx, w, conn, writerDials, cnt.trace)
		js.expect("core")
		return goWriter{w}, jsReader{js}, cnt
	}
	t.Fatalf("no cell %s → %s", writerLang, readerLang)
	return nil, nil, nil
}

// TestMatrix11 runs every cell of the matrix.
func TestMatrix11(t *testing.T) {
	for _, dir := range [][2]string{{"go", "js"}, {"js", "go"}, {"go", "go"}} {
		for _, writerDials := range []bool{true, false} {
			dialler := "readerDials"
			if writerDials {
				dialler = "writerDials"
			}
			for _, mode := range []string{"full", "sparse", "live"} {
				name := fmt.Sprintf("%s→%s/%s/%s", strings.ToUpper(dir[0]), strings.ToUpper(dir[1]), dialler, mode)
				t.Run(name, func(t *testing.T) {
					if dir[0] == "js" || dir[1] == "js" {
						jsref.Require11(t)
						jsTempDir(t)
					}
					ctx, cancel := context.WithTimeout(context.Background(), jsWait)
					defer cancel()
					switch mode {
					case "full":
						matrixFull(t, ctx, dir[0], dir[1], writerDials)
					case "sparse":
						matrixSparseGets(t, ctx, dir[0], dir[1], writerDials)
					case "live":
						matrixLiveAppends(t, ctx, dir[0], dir[1], writerDials)
					}
				})
			}
		}
	}
}

// matrixFull: the reader downloads all matrixBlocks blocks; each moves once.
func matrixFull(t *testing.T, ctx context.Context, wl, rl string, writerDials bool) {
	_, r, cnt := matrixCell(t, ctx, wl, rl, writerDials, matrixBlocks)
	r.download(t, 0, matrixBlocks)
	if got, want := r.digest(t, 0, matrixBlocks), digestOf(0, matrixBlocks); got != want {
		t.Fatalf("digest of the reader's blocks [0, %d) = %s, want %s", matrixBlocks, got, want)
	}
	if got := r.stored(t, matrixBlocks); len(got) != matrixBlocks {
		t.Fatalf("reader stores %d blocks after the download, want %d", len(got), matrixBlocks)
	}
	checkOnce(t, matrixBlocks, nil, cnt)
}

// matrixSparseGets: the reader gets matrixSparse; only those are stored
// (their neighbours are not) and only those moved.
func matrixSparseGets(t *testing.T, ctx context.Context, wl, rl string, writerDials bool) {
	_, r, cnt := matrixCell(t, ctx, wl, rl, writerDials, matrixBlocks)
	for _, i := range matrixSparse {
		if got := r.get(t, i); got != matrixBlock(i) {
			t.Fatalf("reader get(%d) = %q, want %q", i, got, matrixBlock(i))
		}
	}
	if got := r.stored(t, matrixBlocks); !slices.Equal(got, matrixSparse) {
		t.Fatalf("reader stores blocks %v after sparse gets, want exactly %v", got, matrixSparse)
	}
	checkOnce(t, matrixBlocks, matrixSparse, cnt)
}

// matrixLiveAppends: the writer appends liveAppends times after the
// connection is up; the reader reaches each new length before the next
// append, then gets the new blocks.
func matrixLiveAppends(t *testing.T, ctx context.Context, wl, rl string, writerDials bool) {
	w, r, cnt := matrixCell(t, ctx, wl, rl, writerDials, liveStart)
	r.waitLength(t, liveStart)
	n := uint64(liveStart)
	for k := 0; k < liveAppends; k++ {
		var bs []string
		for j := 0; j < liveBatch; j++ {
			bs = append(bs, matrixBlock(n+uint64(j)))
		}
		w.appendBlocks(t, bs...)
		n += liveBatch
		r.waitLength(t, n)
	}
	if got := r.get(t, n-1); got != matrixBlock(n-1) {
		t.Fatalf("reader get(%d) = %q", n-1, got)
	}
	r.download(t, liveStart, n)
	if got, want := r.digest(t, liveStart, n), digestOf(liveStart, n); got != want {
		t.Fatalf("digest of the appended blocks [%d, %d) = %s, want %s", liveStart, n, got, want)
	}
	var want []uint64
	for i := uint64(liveStart); i < n; i++ {
		want = append(want, i)
	}
	if got := r.stored(t, n); !slices.Equal(got, want) {
		t.Fatalf("reader stores %v, want the appended blocks %v only", got, want)
	}
	checkOnce(t, n, want, cnt)
}

// threePeerBlocks is the length of the core the three-peer test downloads.
const threePeerBlocks = 3000

// TestMatrix11ThreePeers: a Go clone downloads a core from three writers of
// it (two JS, one Go; JS writer A is dialled by the reader, JS writer B
// dials the reader, the Go writer is dialled). A is killed with SIGKILL
// once the reader has received a third of the blocks and A has delivered
// some; the download completes from the others, every block arrives
// exactly once, and all three served.
func TestMatrix11ThreePeers(t *testing.T) {
	jsref.Require11(t)
	jsTempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), jsWait)
	defer cancel()
	const killAt = threePeerBlocks / 3
	seed := hex.EncodeToString(channel11Seed)

	connA, jsA := startJS11Core(t, ctx, true, "writer", seed, threePeerBlocks)
	keyA := mustKey(t, jsA.expect("core").str("key"))
	connB, jsB := startJS11Core(t, ctx, false, "writer", seed, threePeerBlocks)
	keyB := mustKey(t, jsB.expect("core").str("key"))
	w := newGoWriter(t, threePeerBlocks)
	if keyA != w.Key() || keyB != w.Key() {
		t.Fatalf("writer keys differ: JS A %x, JS B %x, Go %x", keyA, keyB, w.Key())
	}
	r := newGoClone(t, w.Key())

	cntA, cntB, cntG := newBlockCounter(false), newBlockCounter(false), newBlockCounter(false)
	var (
		killOnce   sync.Once
		total, byA atomic.Int64
	)
	killed := make(chan struct{})
	maybeKill := func() {
		if total.Load() >= killAt && byA.Load() > 0 {
			killOnce.Do(func() {
				_ = jsA.proc.Cmd.Process.Kill()
				close(killed)
			})
		}
	}
	cntA.hook = func(int) { byA.Add(1); total.Add(1); maybeKill() }
	cntB.hook = func(int) { total.Add(1); maybeKill() }
	cntG.hook = cntB.hook
	doneA, errA := replicateGo(t, ctx, r, connA, true, cntA.trace)
	replicateGo(t, ctx, r, connB, false, cntB.trace)
	dg, lg := tcpPair(t)
	replicateGo(t, ctx, w, lg, false, nil)
	replicateGo(t, ctx, r, dg, true, cntG.trace)

	// All three are connected before the download starts.
	for _, c := range []*blockCounter{cntA, cntB, cntG} {
		select {
		case <-c.synced:
		case <-ctx.Done():
			t.Fatal("a writer's sync did not arrive")
		}
	}
	start := time.Now()
	if err := r.Download(ctx, 0, threePeerBlocks); err != nil {
		_, a := cntA.snapshot()
		_, b := cntB.snapshot()
		_, g := cntG.snapshot()
		t.Fatalf("Download: %v (blocks from A %d, B %d, Go %d; contiguous %d)", err, a, b, g, r.ContiguousLength())
	}
	elapsed := time.Since(start)
	select {
	case <-killed:
	default:
		t.Fatalf("the download ended before JS writer A was killed (blocks from A: %d)", byA.Load())
	}
	select {
	case <-doneA:
		t.Logf("replication with the killed peer ended: %v", *errA)
	case <-time.After(10 * time.Second):
		t.Error("replication with the killed JS writer did not end")
	}
	for i := uint64(0); i < threePeerBlocks; i++ {
		v, err := r.Get(i)
		if err != nil || string(v) != matrixBlock(i) {
			t.Fatalf("Get(%d) = %q, %v", i, v, err)
		}
	}
	checkOnce(t, threePeerBlocks, nil, cntA, cntB, cntG)
	_, a := cntA.snapshot()
	_, b := cntB.snapshot()
	_, g := cntG.snapshot()
	t.Logf("%d blocks in %v: from JS A (killed) %d, JS B %d, Go %d", threePeerBlocks, elapsed.Round(time.Millisecond), a, b, g)
	if a >= threePeerBlocks || b == 0 || g == 0 {
		t.Errorf("blocks from A %d, B %d, Go %d: want the download spread over all three", a, b, g)
	}
}

// Many cores over one connection.
const (
	manyCores  = 50
	manyBlocks = 20
)

// manyBlock is block i of core k in peers/many.js.
func manyBlock(k, i int) string { return fmt.Sprintf("core %d block %d", k, i) }

// manySeed is the key pair seed of many.js writer k for seed s.
func manySeed(s []byte, k int) []byte {
	h := sha256.New()
	h.Write(s)
	h.Write(binary.LittleEndian.AppendUint32(nil, uint32(k)))
	return h.Sum(nil)
}

func manyDigest(k, n int) string {
	h := sha256.New()
	for i := 0; i < n; i++ {
		h.Write([]byte(manyBlock(k, i)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newManyWriters makes the Go writers of many.js writer seed s.
func newManyWriters(t *testing.T, s []byte) []*core11.Core {
	t.Helper()
	var ws []*core11.Core
	for k := 0; k < manyCores; k++ {
		w, err := core11.Create(storage.NewMemory(), &core11.CreateOptions{KeyPair: ed25519Key(manySeed(s, k))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		var bs [][]byte
		for i := 0; i < manyBlocks; i++ {
			bs = append(bs, []byte(manyBlock(k, i)))
		}
		if _, err := w.Append(bs...); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	return ws
}

// runProtocol replicates cores over conn with one Protocol.
func runProtocol(t *testing.T, ctx context.Context, conn net.Conn, initiator bool, cores []*core11.Core) {
	t.Helper()
	p := core11.NewProtocol(conn, &core11.ReplicateOptions{Initiator: initiator})
	for _, c := range cores {
		if err := p.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		conn.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Protocol.Run did not return after the connection closed")
		}
	})
}

// downloadAllGo downloads every clone fully, in parallel, and checks the
// blocks.
func downloadAllGo(t *testing.T, ctx context.Context, clones []*core11.Core) {
	t.Helper()
	errs := make(chan error, len(clones))
	for k, c := range clones {
		go func() {
			if err := c.Download(ctx, 0, manyBlocks); err != nil {
				errs <- fmt.Errorf("core %d: Download: %w", k, err)
				return
			}
			for i := 0; i < manyBlocks; i++ {
				v, err := c.Get(uint64(i))
				if err != nil || string(v) != manyBlock(k, i) {
					errs <- fmt.Errorf("core %d: Get(%d) = %q, %v", k, i, v, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range clones {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestMatrix11ManyCores: 50 cores of 20 blocks each over one connection.
func TestMatrix11ManyCores(t *testing.T) {
	seed := channel11Seed
	t.Run("JS→Go/goDials", func(t *testing.T) {
		jsref.Require11(t)
		jsTempDir(t)
		ctx, cancel := context.WithTimeout(context.Background(), jsWait)
		defer cancel()
		conn, js := startJS11Script(t, ctx, true, "peers/many.js", "writer", hex.EncodeToString(seed), fmt.Sprint(manyCores), fmt.Sprint(manyBlocks))
		keys := js.expect("cores")["keys"].([]any)
		var clones []*core11.Core
		for _, k := range keys {
			clones = append(clones, newGoClone(t, mustKey(t, k.(string))))
		}
		runProtocol(t, ctx, conn, true, clones)
		downloadAllGo(t, ctx, clones)
	})
	t.Run("Go→JS/jsDials", func(t *testing.T) {
		jsref.Require11(t)
		jsTempDir(t)
		ctx, cancel := context.WithTimeout(context.Background(), jsWait)
		defer cancel()
		ws := newManyWriters(t, seed)
		var keys []string
		for _, w := range ws {
			k := w.Key()
			keys = append(keys, hex.EncodeToString(k[:]))
		}
		conn, js := startJS11Script(t, ctx, false, "peers/many.js", "clone", strings.Join(keys, ","))
		runProtocol(t, ctx, conn, false, ws)
		js.expect("cores")
		js.cmd(map[string]any{"download": manyBlocks})
		e := js.expect("downloaded")
		digests := e["digests"].([]any)
		if len(digests) != manyCores {
			t.Fatalf("JS reported %d digests, want %d", len(digests), manyCores)
		}
		for k, d := range digests {
			if d.(string) != manyDigest(k, manyBlocks) {
				t.Errorf("JS clone of Go core %d: digest %s, want %s", k, d, manyDigest(k, manyBlocks))
			}
		}
	})
	t.Run("Go→Go", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), jsWait)
		defer cancel()
		ws := newManyWriters(t, seed)
		var clones []*core11.Core
		for _, w := range ws {
			clones = append(clones, newGoClone(t, w.Key()))
		}
		d, l := tcpPair(t)
		runProtocol(t, ctx, d, true, ws)
		runProtocol(t, ctx, l, false, clones)
		downloadAllGo(t, ctx, clones)
	})
}

package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	//lint:ignore SA1019 the session cipher is this raw XSalsa20 core (session/cipher.go)
	"golang.org/x/crypto/salsa20/salsa"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/merkle"
)

// The crypto-only bounds. Before the workloads, the command times the
// primitives a Hypercore 9 feed spends its CPU on, each in a loop of one
// goroutine (so on one core) for a few hundred milliseconds, and keeps the
// median of a few loops:
//
//	L(s)  BLAKE2b-256 leaf hash of an s-byte block (merkle.LeafHash), s = 1 KiB and 64 KiB
//	P     BLAKE2b-256 parent hash (merkle.ParentHash)
//	X(s)  XSalsa20 over s bytes (the session cipher: x/crypto's salsa core, as session/cipher.go)
//	S, V  Ed25519 sign and verify of a tree (merkle.Sign, merkle.Verify; 5 roots)
//
// For another size s, L(s) and X(s) are the straight line through the two
// measured sizes (a fixed cost and a cost per byte). From these, each
// workload's bound is the rate at which its crypto alone would keep the
// machine's cores busy, with nothing else to do (no I/O, no encoding, no
// scheduling). A workload cannot beat its bound, so "% of bound" says how
// much room is left. The cost of one block, in seconds:
//
//	full clone of N blocks of s bytes (replicate-1k, replicate-64k):
//	  reader  R = X(s) + L(s) + P + V/N   decrypt, hash the leaf, one parent hash
//	                                        per block, one signature per clone
//	  writer  W = X(s)                    encrypt (reading the block is I/O)
//	  per block = max(R, W, (R + W) / CPUs)
//
// Writer and reader are two parties in one process: each party's work is
// a pipeline that one core at a time carries, so the busier party's crypto
// saturating one core sets the pace, unless the two together need more
// than all the cores (on 2 CPUs, R ≥ W keeps the first term the larger).
// A reader counts one parent hash and V/N per block because a sequential
// clone verifies the first block's proof against the signed roots (one
// signature) and every later block against nodes it stored already: about
// one parent hash a block (counted in a full clone of 1 000 to 100 000
// blocks: 0.994 to 1.000). The bytes each message adds to its block (the
// proof's nodes, the header, the requests) are left out, which can only
// raise the bound. (The writer does not hash a block again before it
// serves it, as JS does not: spec/security.md, "Serving unverified blocks".)
//
//	append-1 (one block per call, one core: the work is sequential):
//	  per block = L(1 KiB) + P + S
//	append-1000 (core/append.go hashes a batch's leaves, and the parents of
//	each 32-block subtree, on every CPU):
//	  per block = (L(1 KiB) + P) / CPUs + S / 1000
//
// (An append of n blocks computes about n parent hashes, and signs once
// per call.) The bound of a rate is 1 / per block blocks/s, or
// s / per block bytes/s; cli-clone-30k, a time, has for bound N times the
// clone's per block (its writer is the JS server on the same machine, whose
// encryption is as much work as Go's). open and get do no crypto and have
// no bound.

// primitive is one crypto primitive timed on one core.
type primitive struct {
	Name  string    // as the table names it
	Bytes int       `json:",omitempty"` // bytes per operation, for a MB/s figure
	Ns    float64   // nanoseconds per operation, the median of Runs
	Runs  []float64 // each timed loop's nanoseconds per operation
}

// machineCrypto is what the machine's crypto costs, one core, in this run.
type machineCrypto struct {
	CPUs                int
	Leaf1K, Leaf64K     primitive // L(1 KiB), L(64 KiB)
	Parent              primitive // P
	Cipher1K, Cipher64K primitive // X(1 KiB), X(64 KiB)
	Sign, Verify        primitive // S, V
}

// signRoots is how many roots the timed Sign and Verify hash (a tree of
// 10 000 blocks has 5).
const signRoots = 5

// measureCrypto times each primitive: reps loops of at least loop each,
// one goroutine.
func measureCrypto(cpus int, loop time.Duration, reps int) *machineCrypto {
	var sink byte
	leaf := func(size int) func(int) {
		data := make([]byte, size)
		return func(n int) {
			for range n {
				h := merkle.LeafHash(data)
				sink ^= h[0]
			}
		}
	}
	cipher := func(size int) func(int) {
		// The counter is not advanced: the key stream costs the same for
		// every block number.
		var key [32]byte
		var counter [16]byte
		buf := make([]byte, size)
		return func(n int) {
			for range n {
				salsa.XORKeyStream(buf, buf, &counter, &key)
			}
			sink ^= buf[0]
		}
	}
	a, b := merkle.LeafNode(0, []byte("a")), merkle.LeafNode(1, []byte("b"))
	kp, _ := merkle.NewKeyPairFromSeed(make([]byte, 32))
	idx, _ := flattree.FullRoots(2 * 10000)
	roots := make([]merkle.Node, len(idx))
	for i, x := range idx {
		roots[i] = merkle.Node{Index: x, Hash: merkle.Hash{byte(i)}, Size: 1024}
	}
	sig, _ := merkle.Sign(kp.SecretKey, roots, 10000)
	timed := func(name string, bytes int, f func(int)) primitive {
		p := primitive{Name: name, Bytes: bytes, Runs: timeLoops(f, loop, reps)}
		p.Ns = median(p.Runs)
		return p
	}
	parent := func(n int) {
		for range n {
			h := merkle.ParentHash(a, b)
			sink ^= h[0]
		}
	}
	sign := func(n int) {
		for range n {
			s, _ := merkle.Sign(kp.SecretKey, roots, 10000)
			sink ^= s[0]
		}
	}
	verify := func(n int) {
		for range n {
			if merkle.Verify(kp.PublicKey, roots, 10000, sig) == nil {
				sink++
			}
		}
	}
	c := &machineCrypto{
		CPUs:      cpus,
		Leaf1K:    timed("BLAKE2b-256 leaf hash, 1 KiB (`merkle.LeafHash`)", 1024, leaf(1024)),
		Leaf64K:   timed("BLAKE2b-256 leaf hash, 64 KiB (`merkle.LeafHash`)", 65536, leaf(65536)),
		Parent:    timed("BLAKE2b-256 parent hash (`merkle.ParentHash`)", 0, parent),
		Cipher1K:  timed("XSalsa20, 1 KiB (the session cipher's core)", 1024, cipher(1024)),
		Cipher64K: timed("XSalsa20, 64 KiB (the session cipher's core)", 65536, cipher(65536)),
		Sign:      timed(fmt.Sprintf("Ed25519 sign of a tree (`merkle.Sign`, %d roots)", signRoots), 0, sign),
		Verify:    timed(fmt.Sprintf("Ed25519 verify of a tree (`merkle.Verify`, %d roots)", signRoots), 0, verify),
	}
	if len(roots) != signRoots {
		panic("bench: measureCrypto: the tree of 10 000 blocks does not have signRoots roots")
	}
	_ = sink
	return c
}

// timeLoops runs f(n) reps times, with n chosen so that one call takes at
// least loop, and returns each call's nanoseconds per operation.
func timeLoops(f func(n int), loop time.Duration, reps int) []float64 {
	n := 1
	for {
		start := time.Now()
		f(n)
		d := time.Since(start)
		if d >= loop/4 {
			n = int(math.Ceil(float64(n) * float64(loop) / float64(d)))
			break
		}
		n *= 2
	}
	ns := make([]float64, reps)
	for i := range ns {
		start := time.Now()
		f(n)
		ns[i] = float64(time.Since(start).Nanoseconds()) / float64(n)
	}
	return ns
}

// at is a per-size primitive's seconds for an s-byte block: the straight
// line through the 1 KiB and the 64 KiB figures.
func at(p1k, p64k primitive, s int) float64 {
	perByte := (p64k.Ns - p1k.Ns) / (65536 - 1024)
	return (p1k.Ns + perByte*float64(s-1024)) / 1e9
}

// cloneCost is a full clone's crypto per block, in seconds: the reader's
// R, the writer's W, and the per block of the bound.
func (c *machineCrypto) cloneCost(blocks, size int) (r, w, perBlock float64) {
	x, l := at(c.Cipher1K, c.Cipher64K, size), at(c.Leaf1K, c.Leaf64K, size)
	r = x + l + c.Parent.Ns/1e9 + c.Verify.Ns/1e9/float64(blocks)
	w = x
	return r, w, max(r, w, (r+w)/float64(c.CPUs))
}

// cloneBound is the bound of a full clone in unit (blocks/s or MB/s), and
// how it was derived, in Markdown.
func (c *machineCrypto) cloneBound(blocks, size int, unit string) (float64, string) {
	r, w, per := c.cloneCost(blocks, size)
	how := fmt.Sprintf("reader R = X(%s) + L(%s) + P + V/%d = %s; writer W = X(%s) = %s; max(R, W, (R + W)/%d) = %s per block",
		sizeName(size), sizeName(size), blocks, µs(r), sizeName(size), µs(w), c.CPUs, µs(per))
	if unit == "MB/s" {
		return float64(size) / per / 1e6, how
	}
	return 1 / per, how
}

// cliBound is the bound of cli-clone-30k: the clone's crypto, in seconds.
func (c *machineCrypto) cliBound(blocks, size int) (float64, string) {
	_, _, per := c.cloneCost(blocks, size)
	_, how := c.cloneBound(blocks, size, "blocks/s")
	return float64(blocks) * per, how + fmt.Sprintf("; × %d blocks", blocks)
}

// appendBound is the bound of appends of 1 KiB blocks, batch per call, in
// blocks/s.
func (c *machineCrypto) appendBound(batch int) (float64, string) {
	l, p, s := c.Leaf1K.Ns/1e9, c.Parent.Ns/1e9, c.Sign.Ns/1e9
	if batch == 1 {
		per := l + p + s
		return 1 / per, fmt.Sprintf("L(1 KiB) + P + S = %s per block", µs(per))
	}
	per := (l+p)/float64(c.CPUs) + s/float64(batch)
	return 1 / per, fmt.Sprintf("(L(1 KiB) + P)/%d + S/%d = %s per block", c.CPUs, batch, µs(per))
}

func sizeName(s int) string {
	if s%1024 == 0 {
		return fmt.Sprintf("%d KiB", s/1024)
	}
	return fmt.Sprintf("%d B", s)
}

// µs formats seconds as microseconds.
func µs(sec float64) string {
	us := sec * 1e6
	if us >= 100 {
		return fmt.Sprintf("%.0f µs", us)
	}
	if us >= 1 {
		return fmt.Sprintf("%.2f µs", us)
	}
	return fmt.Sprintf("%.3f µs", us)
}

// markdown is the table of the primitives and how each row's bound was
// derived, for results.md.
func (c *machineCrypto) markdown(ws []*workload) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### The machine's crypto, one core\n\n")
	fmt.Fprintf(&b, "Each primitive in a loop of one goroutine, median of %d loops of a few hundred ms, in this run before the workloads (%d CPUs).\n\n", len(c.Leaf1K.Runs), c.CPUs)
	b.WriteString("| | Primitive | Per operation | Rate |\n|---|---|---|---|\n")
	for _, p := range []struct {
		sym string
		p   primitive
	}{{"L(1 KiB)", c.Leaf1K}, {"L(64 KiB)", c.Leaf64K}, {"P", c.Parent}, {"X(1 KiB)", c.Cipher1K}, {"X(64 KiB)", c.Cipher64K}, {"S", c.Sign}, {"V", c.Verify}} {
		rate := fmt.Sprintf("%s /s", fmtNum(1e9/p.p.Ns))
		if p.p.Bytes > 0 {
			rate = fmt.Sprintf("%s MB/s", fmtNum(float64(p.p.Bytes)/p.p.Ns*1e3))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", p.sym, p.p.Name, µs(p.p.Ns/1e9), rate)
	}
	b.WriteString("\n### The bounds\n\n")
	b.WriteString("A workload's bound is the rate at which its crypto alone would keep the cores busy (`interop/cmd/bench/bounds.go`). " +
		"A full clone: the reader decrypts, hashes the leaf and about one parent a block, and verifies one signature a clone " +
		"(R = X(s) + L(s) + P + V/N); the writer encrypts (W = X(s)); they run as two parties on the machine's cores, so a block " +
		"costs max(R, W, (R + W)/CPUs). An append of one block per call: L + P + S, on one core. An append of 1000 blocks per call: " +
		"the leaves and the parents within each 32-block subtree hashed on every CPU, (L + P)/CPUs + S/1000. `open` and `get` do no crypto.\n\n")
	b.WriteString("| Workload | Crypto per block | Bound |\n|---|---|---|\n")
	for _, w := range ws {
		if w.Bound > 0 {
			fmt.Fprintf(&b, "| `%s` | %s | %s %s |\n", w.Name, w.BoundHow, fmtNum(w.Bound), w.Unit)
		}
	}
	return b.String()
}

// ofBound is x as a percentage of the row's bound (0 without one): a rate
// over its bound, or the bound's time over a time.
func (w *workload) ofBound(x float64) float64 {
	if w.Bound <= 0 || x <= 0 {
		return 0
	}
	if w.Higher {
		return 100 * x / w.Bound
	}
	return 100 * w.Bound / x
}

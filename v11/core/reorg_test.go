package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/v11/merkle"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// fork0 and fork1 are the blocks of the tests' writers before and after a
// truncation: block i of the first fork, block i of the second.
func fork0(i int) []byte { return []byte(fmt.Sprintf("block %d", i)) }
func fork1(i int) []byte { return []byte(fmt.Sprintf("fork1 block %d", i)) }

func appendN(t *testing.T, c *Core, n int, block func(int) []byte) {
	t.Helper()
	start := int(c.Length())
	for i := start; i < start+n; i++ {
		if _, err := c.Append(block(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// exchange asks w for req, as a peer of r would, and returns the answer.
func exchange(t *testing.T, w *Core, req *wire.Request) *wire.Data {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	d, err := w.answer(req)
	if err != nil {
		t.Fatalf("answer(%+v) = %v", req, err)
	}
	return d
}

// cloneOf makes a clone of w holding its first n blocks, fed by hand
// without a connection (a writer past fork 0 is followed by hand first).
func cloneOf(t *testing.T, w *Core, n uint64) *Core {
	t.Helper()
	r := newClone(t, w.Key())
	if w.Fork() > 0 {
		if _, err := followByHand(t, w, r, nil); err != nil {
			t.Fatalf("following fork %d from an empty clone: %v", w.Fork(), err)
		}
	} else if n > 0 {
		d := exchange(t, w, &wire.Request{ID: 1, Upgrade: &wire.UpgradeRequest{Start: 0, Length: n}, Manifest: true})
		r.mu.Lock()
		_, err := r.apply(d)
		r.mu.Unlock()
		if err != nil {
			t.Fatalf("apply(upgrade to %d) = %v", n, err)
		}
	}
	for i := uint64(0); i < n; i++ {
		fetchBlock(t, w, r, i)
	}
	return r
}

// fetchBlock asks w for block i with the nodes r misses and applies the
// answer to r.
func fetchBlock(t *testing.T, w, r *Core, i uint64) {
	t.Helper()
	r.mu.Lock()
	nodes := r.missingNodes(2 * i)
	r.mu.Unlock()
	d := exchange(t, w, &wire.Request{ID: 2, Fork: w.Fork(), Block: &wire.BlockRequest{Index: i, Nodes: nodes}})
	r.mu.Lock()
	_, err := r.apply(d)
	r.mu.Unlock()
	if err != nil {
		t.Fatalf("apply(block %d of fork %d) = %v", i, w.Fork(), err)
	}
}

// followByHand runs the reorg of r onto w's fork by hand: the upgrade
// proof from 0, then hash proofs while the search wants them. It returns
// the hash requests asked, and the first error of onReorgData.
func followByHand(t *testing.T, w, r *Core, mutate func(step int, d *wire.Data)) ([]wire.HashRequest, error) {
	t.Helper()
	pe := newPeer(r.repl)
	req := &wire.Request{ID: 1, Fork: w.Fork(), Upgrade: &wire.UpgradeRequest{Start: 0, Length: w.Length()}, Manifest: r.Manifest() == nil}
	var asked []wire.HashRequest
	for step := 0; step < 64; step++ {
		d := exchange(t, w, req)
		if mutate != nil {
			mutate(step, d)
		}
		r.mu.Lock()
		err := pe.onReorgData(d)
		f := r.repl.fork
		r.mu.Unlock()
		if err != nil {
			return asked, err
		}
		if f == nil || f.reorg == nil || f.reorg.Want == nil {
			return asked, nil
		}
		want := f.reorg.Want
		h := wire.HashRequest{Index: 2 * want.Start, Nodes: want.Nodes}
		asked = append(asked, h)
		req = &wire.Request{ID: uint64(step + 2), Fork: w.Fork(), Hash: &h}
	}
	t.Fatal("the fork search did not end in 64 steps")
	return nil, nil
}

// checkBlocks checks that r holds exactly the blocks of present (by index)
// with the values want gives, and none of [0, upTo) besides.
func checkBlocks(t *testing.T, r *Core, upTo int, present func(i int) bool, want func(i int) []byte) {
	t.Helper()
	for i := 0; i < upTo; i++ {
		got, err := r.Get(uint64(i))
		switch {
		case present(i):
			if err != nil || !bytes.Equal(got, want(i)) {
				t.Errorf("Get(%d) = %q, %v, want %q", i, got, err, want(i))
			}
		case uint64(i) >= r.Length():
			if !errors.Is(err, ErrOutOfRange) {
				t.Errorf("Get(%d) = %q, %v, want ErrOutOfRange (length %d)", i, got, err, r.Length())
			}
		default:
			if !errors.Is(err, ErrNotAvailable) {
				t.Errorf("Get(%d) = %q, %v, want ErrNotAvailable", i, got, err)
			}
		}
	}
}

// checkSigned checks that r's tree is w's: fork, length, roots and a
// signature that verifies.
func checkSigned(t *testing.T, w, r *Core) {
	t.Helper()
	w.mu.Lock()
	wt := w.tree.Clone()
	w.mu.Unlock()
	r.mu.Lock()
	rt, sig := r.tree.Clone(), r.signature
	r.mu.Unlock()
	if rt.Fork != wt.Fork || rt.Length != wt.Length || merkle.TreeHash(rt.Roots) != merkle.TreeHash(wt.Roots) {
		t.Fatalf("reader tree = fork %d length %d hash %x, want fork %d length %d hash %x",
			rt.Fork, rt.Length, merkle.TreeHash(rt.Roots), wt.Fork, wt.Length, merkle.TreeHash(wt.Roots))
	}
	v, err := merkle.NewVerifier(r.Key(), r.Manifest(), merkle.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(&rt, sig); err != nil {
		t.Errorf("reader signature %x: %v", sig, err)
	}
}

// TestReorgByHand follows a truncation message by message: the upgrade
// proof of the newer fork from 0, the hash proofs the search asks for, and
// the commit that drops the blocks past the fork point and keeps the rest.
func TestReorgByHand(t *testing.T) {
	for _, tc := range []struct {
		name            string
		length, trunc   int // the writer's length, the length it truncates to
		appended        int // blocks appended after the truncation
		have            int // blocks the reader holds (and its length)
		wantAncestors   int
		wantHashRequest bool
	}{
		{"truncate and append", 20, 12, 5, 20, 12, true},
		{"truncate only", 20, 12, 0, 20, 12, false},
		{"truncate at a power of two", 32, 16, 3, 32, 16, true},
		{"reader behind the fork point", 20, 12, 5, 9, 9, true},
		{"reader at the fork point", 20, 12, 5, 12, 12, true},
		{"truncate to 1", 20, 1, 4, 20, 1, true},
		{"truncate nothing", 20, 20, 2, 20, 20, false},
		{"empty reader", 20, 12, 5, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWriter(t, nil)
			appendN(t, w, tc.length, fork0)
			r := cloneOf(t, w, uint64(tc.have))
			if err := w.Truncate(uint64(tc.trunc)); err != nil {
				t.Fatal(err)
			}
			appendN(t, w, tc.appended, fork1)
			asked, err := followByHand(t, w, r, nil)
			if err != nil {
				t.Fatalf("onReorgData = %v", err)
			}
			if (len(asked) > 0) != tc.wantHashRequest {
				t.Errorf("hash requests %+v, want some: %v", asked, tc.wantHashRequest)
			}
			checkSigned(t, w, r)
			if n := r.ContiguousLength(); n != uint64(tc.wantAncestors) {
				t.Errorf("ContiguousLength = %d, want the %d ancestors", n, tc.wantAncestors)
			}
			checkBlocks(t, r, tc.length+tc.appended, func(i int) bool { return i < tc.wantAncestors }, fork0)
			// The blocks kept are the new fork's blocks too, and the rest
			// verifies against the new tree.
			r2 := cloneOf(t, w, w.Length())
			for i := 0; i < int(w.Length()); i++ {
				want := fork0(i)
				if i >= tc.trunc {
					want = fork1(i)
				}
				if got, err := r2.Get(uint64(i)); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("fresh clone Get(%d) = %q, %v, want %q", i, got, err, want)
				}
			}
			// The reader downloads the new fork's blocks from the writer.
			for i := uint64(tc.wantAncestors); i < w.Length(); i++ {
				fetchBlock(t, w, r, i)
			}
			checkBlocks(t, r, tc.length+tc.appended, func(i int) bool { return i < int(w.Length()) }, func(i int) []byte {
				if i >= tc.trunc {
					return fork1(i)
				}
				return fork0(i)
			})
		})
	}
}

// TestReorgRefusesForgeries: a newer fork's upgrade with a bad signature
// or a bad node ends the connection (an error) and changes nothing; a hash
// proof that does not hash up to the node the search descends is ignored,
// as JS ignores it, and the search does not move.
func TestReorgRefusesForgeries(t *testing.T) {
	setup := func(t *testing.T) (*Core, *Core) {
		w := newWriter(t, nil)
		appendN(t, w, 20, fork0)
		r := cloneOf(t, w, 20)
		if err := w.Truncate(12); err != nil {
			t.Fatal(err)
		}
		appendN(t, w, 5, fork1)
		return w, r
	}
	unchanged := func(t *testing.T, r *Core) {
		t.Helper()
		if r.Fork() != 0 || r.Length() != 20 || r.ContiguousLength() != 20 {
			t.Errorf("reader after a refused proof: fork %d length %d contiguous %d, want 0 20 20", r.Fork(), r.Length(), r.ContiguousLength())
		}
		checkBlocks(t, r, 20, func(int) bool { return true }, fork0)
	}
	for _, tc := range []struct {
		name   string
		mutate func(step int, d *wire.Data)
		want   error
	}{
		{"signature bit", func(step int, d *wire.Data) {
			if step == 0 {
				d.Upgrade.Signature[len(d.Upgrade.Signature)/2] ^= 1
			}
		}, merkle.ErrInvalidSignature},
		{"upgrade node hash", func(step int, d *wire.Data) {
			if step == 0 {
				d.Upgrade.Nodes[0].Hash[0] ^= 1
			}
		}, merkle.ErrInvalidSignature},
		{"upgrade node size", func(step int, d *wire.Data) {
			if step == 0 {
				d.Upgrade.Nodes[0].Size++
			}
		}, merkle.ErrInvalidSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, r := setup(t)
			_, err := followByHand(t, w, r, tc.mutate)
			if !errors.Is(err, tc.want) {
				t.Fatalf("onReorgData = %v, want %v", err, tc.want)
			}
			unchanged(t, r)
		})
	}
	t.Run("hash node ignored", func(t *testing.T) {
		w, r := setup(t)
		pe := newPeer(r.repl)
		d := exchange(t, w, &wire.Request{ID: 1, Fork: 1, Upgrade: &wire.UpgradeRequest{Start: 0, Length: 17}})
		r.mu.Lock()
		err := pe.onReorgData(d)
		want := *r.repl.fork.reorg.Want
		r.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		d = exchange(t, w, &wire.Request{ID: 2, Fork: 1, Hash: &wire.HashRequest{Index: 2 * want.Start, Nodes: want.Nodes}})
		d.Hash.Nodes[0].Hash[3] ^= 0x40
		r.mu.Lock()
		err = pe.onReorgData(d)
		got := *r.repl.fork.reorg.Want
		r.mu.Unlock()
		if err != nil || got != want {
			t.Fatalf("onReorgData(bad hash proof) = %v, want %+v = %+v and no error", err, got, want)
		}
		unchanged(t, r)
	})
}

// tcpPair returns both ends of a TCP connection on 127.0.0.1.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// connectOpts is connect with replication options for each side.
func connectOpts(t *testing.T, a, b *Core, oa, ob *ReplicateOptions) {
	t.Helper()
	ca, cb := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	oa.Initiator = true
	go func() { a.Replicate(ctx, ca, oa); done <- struct{}{} }()
	go func() { b.Replicate(ctx, cb, ob); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); ca.Close(); cb.Close(); <-done; <-done })
}

// waitFork waits for r to reach fork and length.
func waitFork(t *testing.T, ctx context.Context, r *Core, fork, length uint64) {
	t.Helper()
	for {
		info := r.Info()
		if info.Fork == fork && info.Length == length {
			return
		}
		if info.Fork > fork {
			t.Fatalf("reader at fork %d, want %d", info.Fork, fork)
		}
		if info.Fork < fork {
			if _, err := r.WaitFork(ctx, info.Fork); err != nil {
				t.Fatalf("WaitFork(%d) = %v (reader length %d)", info.Fork, err, info.Length)
			}
			continue
		}
		if _, err := r.Update(ctx, info.Length); err != nil {
			t.Fatalf("Update(%d) = %v at fork %d", info.Length, err, info.Fork)
		}
	}
}

// TestFollowTruncation: a Go writer truncates and appends while two Go
// readers follow, one connected to the writer, the other only to the
// first reader. Both end at the new fork with the blocks below the fork
// point kept (not downloaded again), the blocks past it dropped, and the
// new fork's blocks downloadable; a second truncation is followed too; a
// new clone of the truncated writer gets the new fork.
func TestFollowTruncation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := newWriter(t, nil)
	appendN(t, w, 40, fork0)
	r1 := newClone(t, w.Key())
	r2 := newClone(t, w.Key())
	var sent []wire.Message
	traceMu := make(chan struct{}, 1)
	trace := func(s bool, m wire.Message) {
		if s {
			traceMu <- struct{}{}
			sent = append(sent, m)
			<-traceMu
		}
	}
	connectOpts(t, r1, w, &ReplicateOptions{Trace: trace}, &ReplicateOptions{})
	connectOpts(t, r2, r1, &ReplicateOptions{}, &ReplicateOptions{})
	for _, r := range []*Core{r1, r2} {
		if err := r.Download(ctx, 0, 40); err != nil {
			t.Fatal(err)
		}
	}

	if err := w.Truncate(25); err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 10, fork1)
	for _, r := range []*Core{r1, r2} {
		waitFork(t, ctx, r, 1, 35)
		checkSigned(t, w, r)
		checkBlocks(t, r, 40, func(i int) bool { return i < 25 }, fork0)
		if err := r.Download(ctx, 0, 35); err != nil {
			t.Fatal(err)
		}
		checkBlocks(t, r, 40, func(i int) bool { return i < 35 }, func(i int) []byte {
			if i >= 25 {
				return fork1(i)
			}
			return fork0(i)
		})
	}
	// r1 asked the writer for the fork's tree from 0, as JS does.
	traceMu <- struct{}{}
	forkProofs, _ := countForkRequests(sent, 1)
	<-traceMu
	if forkProofs == 0 {
		t.Errorf("r1 sent no request for fork 1's tree from 0")
	}

	// A second truncation, below the first fork point, without appends.
	if err := w.Truncate(10); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Core{r1, r2} {
		waitFork(t, ctx, r, 2, 10)
		checkSigned(t, w, r)
		checkBlocks(t, r, 40, func(i int) bool { return i < 10 }, fork0)
	}

	// A new clone of the truncated writer.
	appendN(t, w, 3, fork1)
	r3 := newClone(t, w.Key())
	connect(t, r3, w)
	waitFork(t, ctx, r3, 2, 13)
	if err := r3.Download(ctx, 0, 13); err != nil {
		t.Fatal(err)
	}
	checkSigned(t, w, r3)
	checkBlocks(t, r3, 13, func(int) bool { return true }, func(i int) []byte {
		if i >= 10 {
			return fork1(i)
		}
		return fork0(i)
	})
}

// countForkRequests counts the requests of fork for its tree from block 0,
// and for hash proofs.
func countForkRequests(sent []wire.Message, fork uint64) (forkProofs, hashes int) {
	for _, m := range sent {
		if q, ok := m.(*wire.Request); ok && q.Fork == fork {
			if q.Upgrade != nil && q.Upgrade.Start == 0 {
				forkProofs++
			}
			if q.Hash != nil {
				hashes++
			}
		}
	}
	return forkProofs, hashes
}

// TestFollowTruncationSkipsForks: a reader that was away while the writer
// truncated twice and appended follows to the newest fork at once, the
// fork point found with hash proofs.
func TestFollowTruncationSkipsForks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := newWriter(t, nil)
	appendN(t, w, 30, fork0)
	r := cloneOf(t, w, 30)
	for _, n := range []uint64{20, 15} {
		if err := w.Truncate(n); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, w, 2, fork1)
	sent := make(chan wire.Message, 1000)
	connectOpts(t, r, w, &ReplicateOptions{Trace: func(s bool, m wire.Message) {
		if s {
			sent <- m
		}
	}}, &ReplicateOptions{})
	waitFork(t, ctx, r, 2, 17)
	checkSigned(t, w, r)
	checkBlocks(t, r, 30, func(i int) bool { return i < 15 }, fork0)
	var msgs []wire.Message
	for len(sent) > 0 {
		msgs = append(msgs, <-sent)
	}
	if f, h := countForkRequests(msgs, 2); f == 0 || h == 0 {
		t.Errorf("the reader sent %d requests for fork 2's tree from 0 and %d for hash proofs, want some of each", f, h)
	}
}

// TestReorgReopen: the state a reorg commits is what a reopened core reads.
func TestReorgReopen(t *testing.T) {
	w := newWriter(t, nil)
	appendN(t, w, 20, fork0)
	dir := t.TempDir()
	st, err := storage.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := w.Key()
	r, err := Open(st, &OpenOptions{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	// Feed r by hand, as cloneOf does.
	d := exchange(t, w, &wire.Request{ID: 1, Upgrade: &wire.UpgradeRequest{Start: 0, Length: 20}, Manifest: true})
	r.mu.Lock()
	_, err = r.apply(d)
	r.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(0); i < 20; i++ {
		fetchBlock(t, w, r, i)
	}
	if err := w.Truncate(7); err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 4, fork1)
	if _, err := followByHand(t, w, r, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = storage.OpenDir(dir); err != nil {
		t.Fatal(err)
	}
	r, err = Open(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkSigned(t, w, r)
	checkBlocks(t, r, 20, func(i int) bool { return i < 7 }, fork0)
}

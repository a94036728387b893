package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
)

// TestScaleMillion replicates a 1 000 000-block feed (in memory, over a
// pipe): 1000 random gets by a sparse reader, then a full clone. It reports
// the times and the heap. (About 30 s; .ci/run leaves it out of the race
// detector's run with -skip, where it would take minutes.)
func TestScaleMillion(t *testing.T) {
	const n = 1_000_000
	start := time.Now()
	w := blocksFeedN(t, n)
	t.Logf("append %d blocks: %v", n, time.Since(start))

	replicate := func(r *Feed, live bool) (wait func() error) {
		a, b := net.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		t.Cleanup(func() { cancel(); a.Close(); b.Close() })
		go w.Replicate(ctx, a, &ReplicateOptions{Initiator: true, Live: live})
		done := make(chan error, 1)
		go func() { done <- r.Replicate(ctx, b, &ReplicateOptions{Live: live}) }()
		return func() error { return <-done }
	}

	sparse, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer sparse.Close()
	replicate(sparse, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(3, 4))
	start = time.Now()
	for k := 0; k < 1000; k++ {
		i := rng.Uint64N(n)
		v, err := sparse.GetContext(ctx, i)
		if err != nil || string(v) != fmt.Sprint("b", i) {
			t.Fatalf("sparse get %d = %q, %v", i, v, err)
		}
	}
	t.Logf("1000 random sparse gets: %v (%v per get); the reader holds %d blocks", time.Since(start), time.Since(start)/1000, sparse.Downloaded(0, 0))
	if got := sparse.Downloaded(0, 0); got > 1000 {
		t.Fatalf("the sparse reader holds %d blocks after 1000 gets", got)
	}

	full, _ := Open(storage.NewMemory(), &Options{Key: w.Key()})
	defer full.Close()
	start = time.Now()
	if err := replicate(full, false)(); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if full.Downloaded(0, 0) != n {
		t.Fatalf("full clone holds %d of %d blocks", full.Downloaded(0, 0), n)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	t.Logf("full clone of %d blocks: %v (%.0f blocks/s); heap in use %d MiB, from the OS %d MiB",
		n, elapsed, n/elapsed.Seconds(), m.HeapInuse>>20, m.Sys>>20)
}

// blocksFeedN is a memory feed of n blocks "b<i>", appended 1000 a call.
func blocksFeedN(t *testing.T, n int) *Feed {
	kp := testKeyPair(t)
	w, err := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	for i := 0; i < n; {
		var bs [][]byte
		for ; len(bs) < 1000 && i < n; i++ {
			bs = append(bs, []byte(fmt.Sprint("b", i)))
		}
		if _, err := w.Append(bs...); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

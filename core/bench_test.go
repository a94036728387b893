package core

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

func benchFeed(b *testing.B, disk bool) *Feed {
	b.Helper()
	kp, _ := merkle.NewKeyPairFromSeed(make([]byte, 32))
	var st storage.Storage = storage.NewMemory()
	if disk {
		d, err := storage.OpenDir(filepath.Join(b.TempDir(), "feed"))
		if err != nil {
			b.Fatal(err)
		}
		st = d
	}
	f, err := Create(st, &Options{KeyPair: &kp})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

func benchAppend(b *testing.B, disk bool, batch int) {
	f := benchFeed(b, disk)
	blocks := make([][]byte, batch)
	for i := range blocks {
		blocks[i] = make([]byte, 1024)
	}
	b.ReportAllocs()
	b.SetBytes(int64(1024 * batch))
	for b.Loop() {
		if _, err := f.Append(blocks...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "blocks/s")
}

func BenchmarkAppendMemory1K(b *testing.B)        { benchAppend(b, false, 1) }
func BenchmarkAppendDisk1K(b *testing.B)          { benchAppend(b, true, 1) }
func BenchmarkAppendMemoryBatch1000(b *testing.B) { benchAppend(b, false, 1000) }
func BenchmarkAppendDiskBatch1000(b *testing.B)   { benchAppend(b, true, 1000) }

func benchGet(b *testing.B, n int) {
	f := benchFeed(b, true)
	blocks := make([][]byte, 1000)
	for i := range blocks {
		blocks[i] = make([]byte, 1024)
	}
	for i := 0; i < n; i += 1000 {
		f.Append(blocks...)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := f.Get(uint64(i*7919) % uint64(n)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetRandom100K(b *testing.B) { benchGet(b, 100_000) }

func BenchmarkProof(b *testing.B) {
	f := benchFeed(b, false)
	for i := 0; i < 100; i++ {
		blocks := make([][]byte, 1000)
		for k := range blocks {
			blocks[k] = []byte(fmt.Sprint(i, k))
		}
		f.Append(blocks...)
	}
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		if _, err := f.LowLevel().Proof(i%100_000, 0, false, nil); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

func BenchmarkPut(b *testing.B) {
	w := benchFeed(b, false)
	const n = 1 << 14
	for i := 0; i < n; i += 1024 {
		blocks := make([][]byte, 1024)
		for k := range blocks {
			blocks[k] = make([]byte, 1024)
		}
		w.Append(blocks...)
	}
	type item struct {
		v []byte
		p *Proof
	}
	var items []item
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key()})
	for i := uint64(0); i < n; i++ {
		p, _ := w.LowLevel().Proof(i, r.LowLevel().Digest(i), false, nil)
		v, _ := w.Get(i)
		items = append(items, item{v, p})
	}
	r.Close()
	b.ReportAllocs()
	b.ResetTimer()
	var rr *Feed
	for k := 0; k < b.N; k++ {
		i := k % n
		if i == 0 {
			b.StopTimer()
			if rr != nil {
				rr.Close()
			}
			rr, _ = Open(storage.NewMemory(), &Options{Key: w.Key()})
			b.StartTimer()
		}
		// proofs were built for a reader with nothing: each carries a
		// signature, the slowest case
		if _, err := rr.LowLevel().Put(uint64(i), items[i].v, items[i].p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplicate clones a feed of b.N 1 KiB blocks over an in-memory
// pipe (both feeds in memory): ns/op and allocs/op are per replicated block,
// both sides together.
func BenchmarkReplicate(b *testing.B) {
	w := benchFeed(b, false)
	block := make([]byte, 1024)
	for n := 0; n < b.N; {
		var call [][]byte
		for ; len(call) < 1000 && n < b.N; n++ {
			call = append(call, block)
		}
		w.Append(call...)
	}
	r, err := Open(storage.NewMemory(), &Options{Key: w.Key()})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ReportAllocs()
	b.SetBytes(1024)
	b.ResetTimer()
	a, c := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- w.Replicate(context.Background(), a, &ReplicateOptions{Initiator: true}) }()
	if err := r.Replicate(context.Background(), c, nil); err != nil {
		b.Fatal(err)
	}
	<-done
	b.StopTimer()
	if r.Downloaded(0, 0) != uint64(b.N) {
		b.Fatalf("cloned %d of %d blocks", r.Downloaded(0, 0), b.N)
	}
}

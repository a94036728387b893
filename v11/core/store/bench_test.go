package store

import (
	"path/filepath"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// benchStorages are the backends the benchmarks run on.
func benchStorage(b *testing.B, disk bool) storage.Storage {
	if !disk {
		return storage.NewMemory()
	}
	d, err := storage.OpenDir(filepath.Join(b.TempDir(), "core"))
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkAppend commits one 1 KiB block per commit as a writer, signing
// nothing (the signature is a fixed 64 bytes): the store's own cost.
func BenchmarkAppend(b *testing.B) {
	for _, disk := range []bool{false, true} {
		b.Run(map[bool]string{false: "memory", true: "disk"}[disk], func(b *testing.B) {
			s, err := Open(benchStorage(b, disk), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c := newTestCore(b, "bench")
			h := Header{Key: c.key, Manifest: c.manifest, Signature: make([]byte, 64)}
			var tree merkle.Tree
			data := make([]byte, 1024)
			b.SetBytes(1024)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				var batch Batch
				batch.PutNode(tree.Append(data)...)
				batch.PutBlock(uint64(i), data)
				h.Tree = tree
				batch.SetHeader(h)
				if err := s.Commit(&batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDownload stores the blocks of a 65536-block core in order, one
// block and its proof nodes per commit, as a reader cloning it does, then
// reads each block back.
func BenchmarkDownload(b *testing.B) {
	const n = 1 << 16
	data := make([]byte, 1024)
	var blocks [][]byte
	for i := 0; i < n; i++ {
		blocks = append(blocks, data)
	}
	tree, all := fullTree(0, blocks)
	c := newTestCore(b, "bench")
	for _, disk := range []bool{false, true} {
		b.Run(map[bool]string{false: "memory", true: "disk"}[disk], func(b *testing.B) {
			s, err := Open(benchStorage(b, disk), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			h := Header{Key: c.key, Manifest: c.manifest, Tree: tree, Signature: make([]byte, 64)}
			var batch Batch
			batch.PutNode(tree.Roots...)
			batch.SetHeader(h)
			if err := s.Commit(&batch); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(1024)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k := uint64(i % n)
				if k == 0 && i > 0 {
					var clear Batch
					clear.ClearBlocks(0, n)
					if err := s.Commit(&clear); err != nil {
						b.Fatal(err)
					}
				}
				var batch Batch
				batch.PutNode(proofNodes(tree, all, k)...)
				batch.PutBlock(k, blocks[k])
				batch.SetHeader(h)
				if err := s.Commit(&batch); err != nil {
					b.Fatal(err)
				}
				if _, ok, err := s.Block(k); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

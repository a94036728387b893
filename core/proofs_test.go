package core

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/vectors"
)

// counting is a storage that counts the writes to its files.
type counting struct {
	storage.Storage
	writes atomic.Int64
}

func (c *counting) Open(name string) (storage.File, error) {
	f, err := c.Storage.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, n: &c.writes}, nil
}

type countingFile struct {
	storage.File
	n *atomic.Int64
}

func (f *countingFile) WriteAt(p []byte, off int64) (int, error) {
	f.n.Add(1)
	return f.File.WriteAt(p, off)
}

func (f *countingFile) Truncate(size int64) error {
	f.n.Add(1)
	return f.File.Truncate(size)
}

func (f *countingFile) Discard(off, size int64) error {
	f.n.Add(1)
	return f.File.Discard(off, size)
}

func vectorWriter(t testing.TB, calls []int) *Feed {
	t.Helper()
	kp, _ := merkle.NewKeyPairFromSeed(vectors.WriterSeed())
	w, err := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, n := range calls {
		var bs [][]byte
		for k := 0; k < n; k++ {
			bs = append(bs, []byte(fmt.Sprintf("block %d", i)))
			i++
		}
		if _, err := w.Append(bs...); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func nodesOf(ns []vectors.NodeJSON) []merkle.Node {
	out := make([]merkle.Node, len(ns))
	for i, n := range ns {
		copy(out[i].Hash[:], n.Hash)
		out[i].Index, out[i].Size = n.Index, n.Size
	}
	return out
}

var putErrors = map[string]error{
	"invalid-proof":     ErrInvalidProof,
	"invalid-signature": merkle.ErrInvalidSignature,
	"missing-signature": ErrMissingSignature,
}

// TestProofVectors: the Go writer builds the proof JS built, node for node,
// with the same signature.
func TestProofVectors(t *testing.T) {
	v, err := vectors.LoadProofs()
	if err != nil {
		t.Fatal(err)
	}
	writers := map[string]*Feed{}
	n := 0
	for _, g := range v.Proofs {
		for _, tc := range g.Tests {
			n++
			key := fmt.Sprint(tc.WriterCalls)
			w := writers[key]
			if w == nil {
				w = vectorWriter(t, tc.WriterCalls)
				writers[key] = w
				defer w.Close()
			}
			p, err := w.LowLevel().Proof(tc.Index, tc.Digest, tc.Hash, nil)
			if err != nil {
				t.Fatalf("%s: Proof = %v", tc.Name("proofs.json"), err)
			}
			want := nodesOf(tc.Nodes)
			if len(p.Nodes) != len(want) {
				t.Fatalf("%s: %d nodes, want %d", tc.Name("proofs.json"), len(p.Nodes), len(want))
			}
			for k := range want {
				if p.Nodes[k] != want[k] {
					t.Errorf("%s: node %d = %+v, want %+v", tc.Name("proofs.json"), k, p.Nodes[k], want[k])
				}
			}
			if !bytes.Equal(p.Signature, tc.Signature) {
				t.Errorf("%s: signature %x, want %s", tc.Name("proofs.json"), p.Signature, tc.Signature)
			}
		}
	}
	if n == 0 {
		t.Fatal("no proof vectors")
	}
}

// TestPutVectors puts each case into a fresh sparse reader: valid cases
// store the block and reach JS's length; invalid ones fail with JS's class
// and write nothing at all.
func TestPutVectors(t *testing.T) {
	v, err := vectors.LoadProofs()
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := merkle.NewKeyPairFromSeed(vectors.WriterSeed())
	n := 0
	for _, g := range v.Puts {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name("proofs.json"), func(t *testing.T) {
				st := &counting{Storage: storage.NewMemory()}
				r, err := Open(st, &Options{Key: Key(kp.PublicKey), Sparse: true})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				before := st.writes.Load()
				res, err := r.LowLevel().Put(tc.Index, tc.Value, &Proof{Nodes: nodesOf(tc.Nodes), Signature: tc.Signature})
				if !tc.Valid() {
					if !errors.Is(err, putErrors[tc.Error]) {
						t.Fatalf("Put = %v, want %s (JS: %s)", err, tc.Error, tc.JSError)
					}
					if w := st.writes.Load() - before; w != 0 {
						t.Fatalf("a failed Put made %d writes", w)
					}
					if r.Length() != 0 || r.Has(tc.Index) {
						t.Fatalf("a failed Put changed the feed: length %d", r.Length())
					}
					return
				}
				if err != nil {
					t.Fatalf("Put = %v", err)
				}
				if !res.Stored || r.Length() != *tc.LengthAfter {
					t.Fatalf("Put stored %v, length %d; want length %d", res.Stored, r.Length(), *tc.LengthAfter)
				}
				got, err := r.Get(tc.Index)
				if err != nil || !bytes.Equal(got, tc.Value) {
					t.Fatalf("Get after Put = %q, %v", got, err)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no put vectors")
	}
}

package merkle

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/vectors"
)

// The fuzz targets below read a request or a proof (and the requester's
// state) from a small compact-encoded form of their own:
//
//	request: uint fork, uint sections (1 block, 2 hash, 4 seek, 8 upgrade),
//	         then per section its two uints
//	proof:   uint stored (0 none, 1 roots, 2 full), uint clone length,
//	         uint fork, uint sections, block {uint index, buffer value,
//	         nodes}, hash {uint index, nodes}, seek {uint bytes, nodes},
//	         upgrade {uint start, uint length, nodes, nodes, buffer signature}
//	nodes:   uint count, count × {uint index, uint size, fixed32 hash}
//
// Seeds are the requests and proofs of proofs.json for the writer of 13
// blocks; the writer is rebuilt from its blocks.

func appendFuzzNodes(b []byte, ns []Node) []byte {
	b = compact.AppendUint(b, uint64(len(ns)))
	for _, n := range ns {
		b = compact.AppendUint(b, n.Index)
		b = compact.AppendUint(b, n.Size)
		b = append(b, n.Hash[:]...)
	}
	return b
}

func readFuzzNodes(d *compact.Decoder) []Node {
	n := d.ArrayLen(34)
	out := []Node{}
	for range n {
		x := Node{Index: d.Uint(), Size: d.Uint()}
		x.Hash = d.Fixed32()
		out = append(out, x)
	}
	return out
}

func encodeFuzzRequest(r ProofRequest) []byte {
	b := compact.AppendUint(nil, r.Fork)
	var s uint64
	if r.Block != nil {
		s |= 1
	}
	if r.Hash != nil {
		s |= 2
	}
	if r.Seek != nil {
		s |= 4
	}
	if r.Upgrade != nil {
		s |= 8
	}
	b = compact.AppendUint(b, s)
	if r.Block != nil {
		b = compact.AppendUint(compact.AppendUint(b, r.Block.Index), r.Block.Nodes)
	}
	if r.Hash != nil {
		b = compact.AppendUint(compact.AppendUint(b, r.Hash.Index), r.Hash.Nodes)
	}
	if r.Seek != nil {
		b = compact.AppendUint(compact.AppendUint(b, r.Seek.Bytes), r.Seek.Padding)
	}
	if r.Upgrade != nil {
		b = compact.AppendUint(compact.AppendUint(b, r.Upgrade.Start), r.Upgrade.Length)
	}
	return b
}

func decodeFuzzRequest(b []byte) (ProofRequest, bool) {
	d := compact.NewDecoder(b)
	r := ProofRequest{Fork: d.Uint()}
	s := d.Uint()
	if s&1 != 0 {
		r.Block = &BlockRequest{Index: d.Uint(), Nodes: d.Uint()}
	}
	if s&2 != 0 {
		r.Hash = &HashRequest{Index: d.Uint(), Nodes: d.Uint()}
	}
	if s&4 != 0 {
		r.Seek = &SeekRequest{Bytes: d.Uint(), Padding: d.Uint()}
	}
	if s&8 != 0 {
		r.Upgrade = &UpgradeRequest{Start: d.Uint(), Length: d.Uint()}
	}
	return r, d.Err() == nil
}

func encodeFuzzProof(stored, length uint64, p *TreeProof) []byte {
	b := compact.AppendUint(nil, stored)
	b = compact.AppendUint(b, length)
	b = compact.AppendUint(b, p.Fork)
	var s uint64
	if p.Block != nil {
		s |= 1
	}
	if p.Hash != nil {
		s |= 2
	}
	if p.Seek != nil {
		s |= 4
	}
	if p.Upgrade != nil {
		s |= 8
	}
	b = compact.AppendUint(b, s)
	if x := p.Block; x != nil {
		b = compact.AppendUint(b, x.Index)
		b = compact.AppendBuffer(b, x.Value)
		b = appendFuzzNodes(b, x.Nodes)
	}
	if x := p.Hash; x != nil {
		b = appendFuzzNodes(compact.AppendUint(b, x.Index), x.Nodes)
	}
	if x := p.Seek; x != nil {
		b = appendFuzzNodes(compact.AppendUint(b, x.Bytes), x.Nodes)
	}
	if x := p.Upgrade; x != nil {
		b = compact.AppendUint(compact.AppendUint(b, x.Start), x.Length)
		b = appendFuzzNodes(appendFuzzNodes(b, x.Nodes), x.AdditionalNodes)
		b = compact.AppendBuffer(b, x.Signature)
	}
	return b
}

func decodeFuzzProof(b []byte) (stored, length uint64, p *TreeProof, ok bool) {
	d := compact.NewDecoder(b)
	stored, length = d.Uint(), d.Uint()
	p = &TreeProof{Fork: d.Uint()}
	s := d.Uint()
	if s&1 != 0 {
		p.Block = &BlockProof{Index: d.Uint(), Value: d.Buffer(), Nodes: readFuzzNodes(d)}
	}
	if s&2 != 0 {
		p.Hash = &HashProof{Index: d.Uint(), Nodes: readFuzzNodes(d)}
	}
	if s&4 != 0 {
		p.Seek = &SeekProof{Bytes: d.Uint(), Nodes: readFuzzNodes(d)}
	}
	if s&8 != 0 {
		u := &UpgradeProof{Start: d.Uint(), Length: d.Uint()}
		u.Nodes = readFuzzNodes(d)
		u.AdditionalNodes = readFuzzNodes(d)
		u.Signature = d.Buffer()
		p.Upgrade = u
	}
	return stored, length, p, d.Err() == nil
}

// fuzzWriter is the writer of 13 blocks of proofs.json and its seeds.
func fuzzWriter(f *testing.F) (*vWriter, [][]byte, [][]byte) {
	v := loadProofs(f)
	var w *vWriter
	var reqs, proofs [][]byte
	for _, g := range v.Build {
		if g.Core.Length != 13 {
			continue
		}
		w = newVWriter(f, g.Core, g.Blocks, 0, nil, 0)
		for _, c := range g.Tests {
			reqs = append(reqs, encodeFuzzRequest(requestOf(c.Request)))
		}
	}
	for _, g := range v.Verify {
		if g.Core.Length != 13 {
			continue
		}
		for _, c := range g.Tests {
			stored := map[string]uint64{"none": 0, "roots": 1, "full": 2}[c.Clone.Stored]
			proofs = append(proofs, encodeFuzzProof(stored, c.Clone.Length, proofOf(f, c.Proof)))
		}
	}
	if w == nil || len(reqs) == 0 || len(proofs) == 0 {
		f.Fatal("no seeds from proofs.json")
	}
	return w, reqs, proofs
}

// FuzzVerifyProof feeds any proof to a requester of the writer of 13
// blocks in any state. It must not panic; on an error it returns nothing;
// on success everything it returns is the writer's: the block, every node,
// and the tree and signature of an upgrade (no proof can make a requester
// store what the writer did not write).
func FuzzVerifyProof(f *testing.F) {
	w, _, proofs := fuzzWriter(f)
	for _, p := range proofs {
		f.Add(p)
	}
	sigs := map[uint64][]byte{}
	for n := range w.trees {
		sigs[uint64(n)] = w.server(f, uint64(n)).Signature
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		stored, length, p, ok := decodeFuzzProof(b)
		if !ok || stored > 2 || length > 13 {
			return
		}
		local, nodes := w.clone(vClone(stored, length))
		vp, err := VerifyProof(&local, nodes, p, w.v)
		if err != nil {
			if vp != nil {
				t.Fatalf("VerifyProof = %+v with error %v", vp, err)
			}
			if !errors.Is(err, ErrInvalidProof) && !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrForkMismatch) && !errors.Is(err, ErrInvalidTree) {
				t.Fatalf("VerifyProof = %v, not a proof error", err)
			}
			return
		}
		if vp.Reorg != nil {
			t.Fatalf("reorg from a writer that never truncated: %+v", vp.Reorg)
		}
		if vp.Block != nil && (vp.Block.Index >= 13 || !bytes.Equal(vp.Block.Value, w.blocks[vp.Block.Index])) {
			t.Fatalf("stores block %d %x", vp.Block.Index, vp.Block.Value)
		}
		for _, x := range vp.Nodes {
			if w.all[x.Index] != x {
				t.Fatalf("stores node %s, writer has %s", x, w.all[x.Index])
			}
		}
		if tr := vp.Tree; tr != nil {
			if tr.Length > 13 || tr.Fork != 0 || len(tr.Roots) != len(w.trees[tr.Length].Roots) {
				t.Fatalf("tree %+v", tr)
			}
			for i, r := range tr.Roots {
				if r != w.trees[tr.Length].Roots[i] {
					t.Fatalf("tree root %s, writer has %s", r, w.trees[tr.Length].Roots[i])
				}
			}
			if !bytes.Equal(vp.Signature, sigs[tr.Length]) {
				t.Fatalf("signature %x", vp.Signature)
			}
		}
	})
}

func vClone(stored, length uint64) vectors.V11ProofClone {
	return vectors.V11ProofClone{Stored: []string{"none", "roots", "full"}[stored], Length: length}
}

// FuzzBuildProof asks the writer of 13 blocks anything. It must not
// panic; on an error it returns nothing and the error has a class; a proof
// carries only the writer's nodes; an upgrade (alone or with a block past
// its start) verifies for a requester of the upgrade's start.
func FuzzBuildProof(f *testing.F) {
	w, reqs, _ := fuzzWriter(f)
	for _, r := range reqs {
		f.Add(r)
	}
	srv, nodes := w.server(f, 13), w.within(13)
	f.Fuzz(func(t *testing.T, b []byte) {
		req, ok := decodeFuzzRequest(b)
		if !ok {
			return
		}
		p, err := BuildProof(srv, nodes, req)
		if err != nil {
			if p != nil {
				t.Fatalf("BuildProof = %+v with error %v", p, err)
			}
			if !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrNotAvailable) {
				t.Fatalf("BuildProof = %v, not a request error", err)
			}
			return
		}
		if p.Block != nil {
			p.Block.Value = w.blocks[p.Block.Index]
		}
		for _, list := range [][]Node{blockNodes(p), hashNodes(p), seekNodes(p), upgradeNodes(p), additionalNodes(p)} {
			for _, x := range list {
				if w.all[x.Index] != x {
					t.Fatalf("proof node %s, writer has %s", x, w.all[x.Index])
				}
			}
		}
		// An upgrade alone, or with a block past its start, verifies for a
		// requester of the upgrade's start that stores every node.
		if req.Upgrade == nil || req.Hash != nil || req.Seek != nil || (req.Block != nil && req.Block.Index < req.Upgrade.Start) || p.Upgrade.Start != req.Upgrade.Start {
			return
		}
		local, ns := w.clone(vClone(2, req.Upgrade.Start))
		if _, err := VerifyProof(&local, ns, p, w.v); err != nil {
			t.Fatalf("VerifyProof(%s) by a full requester of %d = %v", fmtProof(p), req.Upgrade.Start, err)
		}
	})
}

func blockNodes(p *TreeProof) []Node {
	if p.Block == nil {
		return nil
	}
	return p.Block.Nodes
}

func hashNodes(p *TreeProof) []Node {
	if p.Hash == nil {
		return nil
	}
	return p.Hash.Nodes
}

func seekNodes(p *TreeProof) []Node {
	if p.Seek == nil {
		return nil
	}
	return p.Seek.Nodes
}

package bitfield

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/hypercore-go/hypercore/vectors"
)

var rleErrors = map[string]error{"invalid-rle": ErrRLE, "rle-too-large": ErrRLETooLarge}

func unpattern(runs [][2]int) []byte {
	var out []byte
	for _, r := range runs {
		out = append(out, bytes.Repeat([]byte{byte(r[0])}, r[1])...)
	}
	return out
}

func TestRLEVectors(t *testing.T) {
	v, err := vectors.LoadBitfieldRLE()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			n++
			in := []byte(tc.Bits)
			if tc.BitsPattern != nil {
				in = unpattern(tc.BitsPattern)
			}
			if got := EncodeRLE(in); !bytes.Equal(got, tc.Encoded) {
				t.Errorf("%s: EncodeRLE = %x, want %s", tc.Name("bitfield-rle.json"), got, tc.Encoded)
			}
			for _, c := range []struct {
				align int
				want  []byte
			}{{1, tc.Decoded}, {4, tc.DecodedAlign4}} {
				got, err := DecodeRLE(tc.Encoded, c.align, 1<<30)
				if err != nil || !bytes.Equal(got, c.want) {
					t.Errorf("%s: DecodeRLE(align %d) = %x, %v; want %x", tc.Name("bitfield-rle.json"), c.align, got, err, c.want)
				}
			}
		}
	}
	for _, g := range v.Decode {
		for _, tc := range g.Tests {
			n++
			got, err := DecodeRLE(tc.Encoded, 4, 1<<20)
			if tc.Valid() {
				if err != nil || !bytes.Equal(got, tc.JSDecoded) {
					t.Errorf("%s: DecodeRLE = %x, %v; want %x", tc.Name("bitfield-rle.json"), got, err, tc.JSDecoded)
				}
				continue
			}
			if !errors.Is(err, rleErrors[tc.Error]) || got != nil {
				t.Errorf("%s: DecodeRLE = %x, %v; want %s", tc.Name("bitfield-rle.json"), got, err, tc.Error)
			}
		}
	}
	for _, g := range v.Compress {
		for _, tc := range g.Tests {
			n++
			b := New()
			for _, r := range tc.SetBlocks {
				for i := r[0]; i < r[1]; i++ {
					b.Set(i, true)
				}
			}
			if got := b.Compress(tc.Start, tc.Length); !bytes.Equal(got, tc.Encoded) {
				t.Errorf("%s: Compress(%d, %d) = %x, want %s", tc.Name("bitfield-rle.json"), tc.Start, tc.Length, got, tc.Encoded)
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d RLE cases", n)
	}
}

// replay applies a vector op to a bitfield and returns its result as JSON.
func replay(t *testing.T, b *Bitfield, tree *TreeIndex, raw json.RawMessage) any {
	t.Helper()
	var op []any
	if err := json.Unmarshal(raw, &op); err != nil {
		t.Fatal(err)
	}
	num := func(k int) uint64 { return uint64(op[k].(float64)) }
	switch op[0] {
	case "append", "appendEach":
		for i := num(1); i < num(2); i++ {
			b.Set(i, true)
			tree.Set(2 * i)
		}
		return nil
	case "set":
		return b.Set(num(1), op[2].(bool))
	case "setRange":
		for i := num(1); i < num(2); i++ {
			b.Set(i, op[3].(bool))
		}
		return nil
	case "tree":
		return tree.Set(num(1))
	case "total":
		return float64(b.Total(num(1), num(2)))
	case "iterator":
		b.Range(num(2))
		if i, ok := b.NextMissing(num(1), num(2)); ok {
			return float64(i)
		}
		return float64(-1)
	}
	t.Fatalf("unknown op %v", op)
	return nil
}

func checkPages(t *testing.T, b *Bitfield, want []vectors.PageSegments) {
	t.Helper()
	got := map[uint64][]byte{}
	for n := uint64(0); n < b.PageCount(); n++ {
		if pg := b.pages.get(n); pg != nil && !bytes.Equal(pg.buf, make([]byte, PageSize)) {
			got[n] = pg.buf
		}
	}
	for _, w := range want {
		page := make([]byte, PageSize)
		for _, seg := range w.Segments {
			var off int
			var h string
			json.Unmarshal(seg[0], &off)
			json.Unmarshal(seg[1], &h)
			d, _ := hex.DecodeString(h)
			copy(page[off:], d)
		}
		if !bytes.Equal(got[w.Page], page) {
			t.Errorf("page %d differs: first difference at byte %d", w.Page, firstDiff(got[w.Page], page))
		}
		delete(got, w.Page)
	}
	for n := range got {
		t.Errorf("page %d is non-zero in Go, zero in JS", n)
	}
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestPageVectors replays each operation history and compares every page
// byte (data, tree and the history-dependent index), the results of each
// operation, the length and the pages that were marked for writing.
func TestPageVectors(t *testing.T) {
	v, err := vectors.LoadBitfieldPages()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Histories) == 0 || len(v.Files) == 0 {
		t.Fatal("missing groups")
	}
	for _, g := range v.Histories {
		for _, tc := range g.Tests {
			t.Run(tc.Name("bitfield-pages.json"), func(t *testing.T) {
				b := New()
				tree := NewTreeIndex(b.Tree())
				for k, op := range tc.Ops {
					got, _ := json.Marshal(replay(t, b, tree, op))
					if !bytes.Equal(got, tc.Results[k]) {
						t.Fatalf("op %d %s returned %s, want %s", k, op, got, tc.Results[k])
					}
				}
				if b.Len() != tc.Length || b.PageCount() != tc.PageCount {
					t.Errorf("Len() = %d, PageCount() = %d; want %d, %d", b.Len(), b.PageCount(), tc.Length, tc.PageCount)
				}
				var updated []uint64
				for _, w := range b.TakeUpdates() {
					updated = append(updated, uint64(w.Offset-HeaderSize)/PageSize)
				}
				if !sameSet(updated, tc.UpdatedPages) {
					t.Errorf("updated pages %v, want %v", updated, tc.UpdatedPages)
				}
				if b.PendingUpdates() {
					t.Error("updates pending after TakeUpdates")
				}
				checkPages(t, b, tc.Pages)
			})
		}
	}
	fileErrors := map[string]error{"page-size": ErrPageSize, "header": ErrHeader}
	for _, g := range v.Files {
		for _, tc := range g.Tests {
			b, err := DecodeFile(tc.File)
			if !tc.Valid() {
				if !errors.Is(err, fileErrors[tc.Error]) || b != nil {
					t.Errorf("%s: DecodeFile = %v, want %s", tc.Name("bitfield-pages.json"), err, tc.Error)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: DecodeFile = %v", tc.Name("bitfield-pages.json"), err)
			}
			if b.Len() != *tc.Length {
				t.Errorf("%s: Len() = %d, want %d", tc.Name("bitfield-pages.json"), b.Len(), *tc.Length)
			}
			checkPages(t, b, tc.Pages)
		}
	}
}

func sameSet(a, b []uint64) bool {
	m := map[uint64]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, c := range m {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestTreeIndexVectors(t *testing.T) {
	v, err := vectors.LoadTreeIndex()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range v.States {
		for _, tc := range g.Tests {
			tree := NewTreeIndex(nil)
			for _, s := range tc.Sets {
				tree.Set(s)
			}
			name := tc.Name("tree-index.json")
			var held []uint64
			for i := uint64(0); i < tree.bits.Len(); i++ {
				if tree.Get(i) {
					held = append(held, i)
				}
			}
			if !sameSet(held, tc.Held) || len(held) != len(tc.Held) {
				t.Errorf("%s: held %v, want %v", name, held, tc.Held)
			}
			if tree.bits.Len() != tc.TreeLength {
				t.Errorf("%s: tree length %d, want %d", name, tree.bits.Len(), tc.TreeLength)
			}
			if got := tree.Blocks(); got != tc.Blocks {
				t.Errorf("%s: Blocks() = %d, want %d", name, got, tc.Blocks)
			}
			for _, p := range tc.VerifiedBy {
				if got := tree.VerifiedBy(p[0]); got != p[1] {
					t.Errorf("%s: VerifiedBy(%d) = %d, want %d", name, p[0], got, p[1])
				}
			}
			for _, p := range tc.Digests {
				if got := tree.Digest(p[0]); got != p[1] {
					t.Errorf("%s: Digest(%d) = %d, want %d", name, p[0], got, p[1])
				}
			}
		}
	}
	for _, g := range v.Proofs {
		for _, tc := range g.Tests {
			name := tc.Name("tree-index.json")
			responder := writerTree(tc.WriterLength)
			requester := NewTreeIndex(nil)
			for _, s := range tc.RequesterHeld {
				requester.Set(s)
			}
			digest := requester.Digest(2 * tc.Index)
			if digest != tc.Digest {
				t.Errorf("%s: Digest = %d, want %d", name, digest, tc.Digest)
			}
			nodes, vb, ok := responder.Proof(2*tc.Index, digest, tc.Hash, nil)
			if !tc.Valid() {
				if ok {
					t.Errorf("%s: Proof ok for a node not held", name)
				}
				continue
			}
			if !ok || !equalU64(nodes, tc.Nodes) || vb != *tc.VerifiedBy {
				t.Errorf("%s: Proof = %v, %d, %v; want %v, %d", name, nodes, vb, ok, tc.Nodes, *tc.VerifiedBy)
			}
		}
	}
	for _, g := range v.Sequences {
		for _, tc := range g.Tests {
			name := tc.Name("tree-index.json")
			responder := writerTree(tc.WriterLength)
			remote := NewTreeIndex(nil)
			requester := NewTreeIndex(nil)
			for k, s := range tc.Steps {
				digest := requester.Digest(2 * s.Index)
				if digest != s.Digest {
					t.Errorf("%s step %d: Digest(%d) = %d, want %d", name, k, 2*s.Index, digest, s.Digest)
				}
				nodes, vb, ok := responder.Proof(2*s.Index, digest, s.Hash, remote)
				if !ok || !equalU64(nodes, s.Nodes) || vb != s.VerifiedBy {
					t.Errorf("%s step %d: Proof = %v, %d; want %v, %d", name, k, nodes, vb, s.Nodes, s.VerifiedBy)
				}
				// the requester keeps the block's leaf and every node sent
				requester.Set(2 * s.Index)
				for _, n := range nodes {
					requester.Set(n)
				}
				if got := heldNodes(requester); !equalU64(got, s.RequesterHeldAfter) {
					t.Errorf("%s step %d: requester holds %v after, want %v", name, k, got, s.RequesterHeldAfter)
				}
				if got := heldNodes(remote); !equalU64(got, s.RemoteHeldAfter) {
					t.Errorf("%s step %d: remote tree holds %v after, want %v", name, k, got, s.RemoteHeldAfter)
				}
			}
		}
	}
	// The feed sequence was recorded between real feeds: the requester's
	// tree is what the JS clone had stored (core's TestFeedSequenceVectors
	// checks that a Go clone stores the same); here the tree index must
	// compute the same digests, proofs and remote tree from it.
	for _, g := range v.Feeds {
		for _, tc := range g.Tests {
			name := tc.Name("tree-index.json")
			remote := NewTreeIndex(nil)
			for k, s := range tc.Steps {
				responder := writerTree(s.WriterLength)
				requester := NewTreeIndex(nil)
				for _, i := range s.RequesterHeld {
					requester.bits.Set(i, true)
				}
				if requester.bits.Len() != s.RequesterTreeLength {
					t.Fatalf("%s step %d: rebuilt tree length %d, JS had %d", name, k, requester.bits.Len(), s.RequesterTreeLength)
				}
				digest := requester.Digest(2 * s.Index)
				if digest != s.Digest {
					t.Errorf("%s step %d: Digest(%d) = %d, want %d", name, k, 2*s.Index, digest, s.Digest)
				}
				nodes, vb, ok := responder.Proof(2*s.Index, digest, s.Hash, remote)
				if !ok || !equalU64(nodes, s.Nodes) {
					t.Errorf("%s step %d: Proof nodes %v, want %v", name, k, nodes, s.Nodes)
				}
				if (vb != 0) != s.Signature {
					t.Errorf("%s step %d: signature %v, JS sent %v", name, k, vb != 0, s.Signature)
				}
				if got := heldNodes(remote); !equalU64(got, s.RemoteHeldAfter) {
					t.Errorf("%s step %d: remote tree holds %v after, want %v", name, k, got, s.RemoteHeldAfter)
				}
			}
		}
	}
	for _, g := range v.Digests {
		for _, tc := range g.Tests {
			got, count, cps := proofDigest()
			if count != tc.Proofs || !bytes.Equal(got, tc.Digest) {
				t.Errorf("%s: %d proofs, digest %x; want %d, %s", tc.Name("tree-index.json"), count, got, tc.Proofs, tc.Digest)
			}
			if len(cps) != len(tc.Checkpoints) {
				t.Errorf("%s: %d checkpoints, want %d", tc.Name("tree-index.json"), len(cps), len(tc.Checkpoints))
				continue
			}
			for k, want := range tc.Checkpoints {
				if cps[k].End != want.End || !bytes.Equal(cps[k].Digest, want.Digest) {
					t.Errorf("%s: checkpoint %d: digest after writer length %d = %x, want after %d = %s (the first difference is in the cases of this writer length)",
						tc.Name("tree-index.json"), k, cps[k].End, cps[k].Digest, want.End, want.Digest)
					break
				}
			}
		}
	}
}

// heldNodes lists the nodes set in a tree index, in order.
func heldNodes(t *TreeIndex) []uint64 {
	var held []uint64
	for i := uint64(0); i < t.bits.Len(); i++ {
		if t.Get(i) {
			held = append(held, i)
		}
	}
	return held
}

func writerTree(n uint64) *TreeIndex {
	b := New()
	tree := NewTreeIndex(b.Tree())
	for i := uint64(0); i < n; i++ {
		b.Set(i, true)
		tree.Set(2 * i)
	}
	return tree
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// proofDigest follows the recipe "proofs" of spec/bitfield.md, with a
// checkpoint after each writer length.
func proofDigest() ([]byte, int, []vectors.Checkpoint) {
	var cps []vectors.Checkpoint
	h, _ := blake2b.New256(nil)
	u64 := func(v uint64) {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	count := 0
	for n := uint64(1); n <= 64; n++ {
		responder := writerTree(n)
		for have := uint64(0); have <= n; have += max(1, n>>2) {
			requester := writerTree(have)
			for index := uint64(0); index < n; index++ {
				for _, hash := range []bool{false, true} {
					digest := requester.Digest(2 * index)
					nodes, vb, _ := responder.Proof(2*index, digest, hash, nil)
					u64(n)
					u64(have)
					u64(index)
					if hash {
						u64(1)
					} else {
						u64(0)
					}
					u64(digest)
					u64(uint64(len(nodes)))
					for _, x := range nodes {
						u64(x)
					}
					u64(vb)
					count++
				}
			}
		}
		cps = append(cps, vectors.Checkpoint{End: n, Digest: h.Sum(nil)})
	}
	return h.Sum(nil), count, cps
}

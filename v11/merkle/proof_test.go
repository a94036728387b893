package merkle

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/blake2b"
	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/vectors"
)

// pfMax is the longest writer the exhaustive tests build.
const pfMax = 64

// A pfWriter is a default core of pfMax blocks written by a test key, with
// its tree and signature at every length (fork 0), or a fork of it.
type pfWriter struct {
	priv   ed25519.PrivateKey
	v      *Verifier
	blocks [][]byte
	trees  []Tree   // trees[n]: the tree of the first n blocks
	sigs   [][]byte // sigs[n]: its signature
	all    NodeMap  // every node of the longest tree

	withinCache map[uint64]NodeMap
}

// pfBlock is block i of the test writers: sizes 0 to 40 bytes, all
// different.
func pfBlock(i int, tag string) []byte {
	if i == 5 && tag == "" {
		return []byte{} // one empty block
	}
	return fmt.Appendf(nil, "%sblock %d %s", tag, i, strings.Repeat("x", (i*7)%29))
}

func pfKey() ed25519.PrivateKey {
	seed := blake2b.Sum256([]byte("hypercore-go v11 proof tests: writer"))
	return ed25519.NewKeyFromSeed(seed[:])
}

func newPFWriter(t testing.TB, n int, fork uint64, prefix *pfWriter, keep int, tag string) *pfWriter {
	t.Helper()
	priv := pfKey()
	var pub [32]byte
	copy(pub[:], priv.Public().(ed25519.PublicKey))
	m := DefaultSignerManifest(pub)
	key, err := ManifestHash(m)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(key, m, VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := &pfWriter{priv: priv, v: v, all: NodeMap{}, withinCache: map[uint64]NodeMap{}}
	tree := Tree{Fork: fork}
	for i := range n {
		b := pfBlock(i, "")
		if prefix != nil && i < keep {
			b = prefix.blocks[i]
		} else if prefix != nil {
			b = pfBlock(i, tag)
		}
		w.trees = append(w.trees, tree.Clone())
		w.blocks = append(w.blocks, b)
		for _, x := range tree.Append(b) {
			w.all[x.Index] = x
		}
	}
	w.trees = append(w.trees, tree.Clone())
	for i := range w.trees {
		sig, err := v.Sign(&w.trees[i], priv)
		if err != nil {
			t.Fatal(err)
		}
		w.sigs = append(w.sigs, sig)
	}
	return w
}

var (
	pfOnce    sync.Once
	pfDefault *pfWriter
)

// pfW is the shared writer of pfMax blocks at fork 0.
func pfW(t testing.TB) *pfWriter {
	pfOnce.Do(func() { pfDefault = newPFWriter(t, pfMax, 0, nil, 0, "") })
	return pfDefault
}

// within returns the nodes of w a core of length n stores: every node
// whose leaves all lie below n.
func (w *pfWriter) within(n uint64) NodeMap {
	if m, ok := w.withinCache[n]; ok {
		return m
	}
	m := NodeMap{}
	defer func() { w.withinCache[n] = m }()
	for i, x := range w.all {
		if flattree.RightSpan(i) < 2*n {
			m[i] = x
		}
	}
	return m
}

// server is w at length n.
func (w *pfWriter) server(n uint64) (*SignedTree, NodeMap) {
	return &SignedTree{Tree: w.trees[n].Clone(), Signature: w.sigs[n]}, w.within(n)
}

// rootsOnly is what a clone that upgraded to length n and fetched nothing
// else stores: the roots of n.
func (w *pfWriter) rootsOnly(n uint64) NodeMap {
	m := NodeMap{}
	for _, r := range w.trees[n].Roots {
		m[r.Index] = r
	}
	return m
}

// fill sets the block value of a proof from w, as the caller of
// BuildProof does.
func (w *pfWriter) fill(p *TreeProof) {
	if p.Block != nil {
		p.Block.Value = w.blocks[p.Block.Index]
	}
}

func (w *pfWriter) build(t testing.TB, n uint64, req ProofRequest) *TreeProof {
	t.Helper()
	srv, nodes := w.server(n)
	p, err := BuildProof(srv, nodes, req)
	if err != nil {
		t.Fatalf("BuildProof(%d, %s) = %v", n, fmtReq(req), err)
	}
	w.fill(p)
	return p
}

func fmtReq(r ProofRequest) string {
	var s []string
	s = append(s, fmt.Sprintf("fork %d", r.Fork))
	if r.Block != nil {
		s = append(s, fmt.Sprintf("block{%d %d}", r.Block.Index, r.Block.Nodes))
	}
	if r.Hash != nil {
		s = append(s, fmt.Sprintf("hash{%d %d}", r.Hash.Index, r.Hash.Nodes))
	}
	if r.Seek != nil {
		s = append(s, fmt.Sprintf("seek{%d %d}", r.Seek.Bytes, r.Seek.Padding))
	}
	if r.Upgrade != nil {
		s = append(s, fmt.Sprintf("upgrade{%d %d}", r.Upgrade.Start, r.Upgrade.Length))
	}
	return strings.Join(s, " ")
}

func indexes(ns []Node) []uint64 {
	out := make([]uint64, len(ns))
	for i, n := range ns {
		out[i] = n.Index
	}
	return out
}

func fmtProof(p *TreeProof) string {
	if p == nil {
		return "<nil>"
	}
	var s []string
	s = append(s, fmt.Sprintf("fork %d", p.Fork))
	if p.Block != nil {
		s = append(s, fmt.Sprintf("block{%d %x %v}", p.Block.Index, p.Block.Value, indexes(p.Block.Nodes)))
	}
	if p.Hash != nil {
		s = append(s, fmt.Sprintf("hash{%d %v}", p.Hash.Index, indexes(p.Hash.Nodes)))
	}
	if p.Seek != nil {
		s = append(s, fmt.Sprintf("seek{%d %v}", p.Seek.Bytes, indexes(p.Seek.Nodes)))
	}
	if u := p.Upgrade; u != nil {
		s = append(s, fmt.Sprintf("upgrade{%d %d %v %v sig %x}", u.Start, u.Length, indexes(u.Nodes), indexes(u.AdditionalNodes), u.Signature))
	}
	return strings.Join(s, " ")
}

// refSiblings is a slow reference for a path: the sibling of index and of
// each ancestor up to (not including) top.
func refSiblings(index, top uint64) []uint64 {
	var out []uint64
	for i := index; i != top; i = flattree.Parent(i) {
		out = append(out, flattree.Sibling(i))
	}
	return out
}

// refProof is a slow reference for the node indexes of a proof, written
// from the spec chapter rather than from JS: for a target inside the
// requester's tree, its siblings up to the node `nodes` levels up; for an
// upgrade, the patch from start to start+length ([PatchIndexes]) in which
// the node containing the target is replaced by the target's siblings up to
// it; additional nodes, the patch on to the server's length.
func refProof(n uint64, req ProofRequest) (target, upgrade, additional []uint64, ok bool) {
	var idx, nodes uint64
	hasTarget, isHash := false, false
	if req.Block != nil {
		idx, nodes, hasTarget = 2*req.Block.Index, req.Block.Nodes, true
	} else if req.Hash != nil {
		idx, nodes, hasTarget, isHash = req.Hash.Index, req.Hash.Nodes, true, true
	}
	if isHash {
		target = []uint64{idx}
	}
	if req.Upgrade == nil {
		top := idx
		for range nodes {
			top = flattree.Parent(top)
		}
		return append(target, refSiblings(idx, top)...), nil, nil, true
	}
	u := req.Upgrade
	end := u.Start + u.Length
	inside := hasTarget && flattree.RightSpan(idx)/2 < u.Start
	if inside {
		top := idx
		for range nodes {
			top = flattree.Parent(top)
		}
		target = append(target, refSiblings(idx, top)...)
	}
	placed := !hasTarget || inside
	for _, p := range PatchIndexes(u.Start, end) {
		if !placed && p != idx && flattree.LeftSpan(p) <= idx && idx <= flattree.RightSpan(p) {
			target = append(target, refSiblings(idx, p)...)
			placed = true
			continue
		}
		if !placed && p == idx {
			placed = true
			continue
		}
		upgrade = append(upgrade, p)
	}
	if !placed {
		return nil, nil, nil, false
	}
	if end < n {
		additional = PatchIndexes(end, n)
	}
	return target, upgrade, additional, true
}

// checkAgainstRef compares a proof's node indexes with refProof and its
// nodes with the writer's.
func checkAgainstRef(t testing.TB, w *pfWriter, n uint64, req ProofRequest, p *TreeProof) {
	t.Helper()
	target, upgrade, additional, ok := refProof(n, req)
	if !ok {
		t.Fatalf("refProof(%d, %s) has no proof, BuildProof gave %s", n, fmtReq(req), fmtProof(p))
	}
	var got []Node
	switch {
	case p.Block != nil:
		got = p.Block.Nodes
	case p.Hash != nil:
		got = p.Hash.Nodes
	}
	if !slices.Equal(indexes(got), target) && !(len(got) == 0 && len(target) == 0) {
		t.Fatalf("BuildProof(%d, %s) target nodes = %v, want %v", n, fmtReq(req), indexes(got), target)
	}
	var gotU, gotA []uint64
	if p.Upgrade != nil {
		gotU, gotA = indexes(p.Upgrade.Nodes), indexes(p.Upgrade.AdditionalNodes)
	}
	if !slices.Equal(gotU, upgrade) && !(len(gotU) == 0 && len(upgrade) == 0) {
		t.Fatalf("BuildProof(%d, %s) upgrade nodes = %v, want %v", n, fmtReq(req), gotU, upgrade)
	}
	if !slices.Equal(gotA, additional) && !(len(gotA) == 0 && len(additional) == 0) {
		t.Fatalf("BuildProof(%d, %s) additional nodes = %v, want %v", n, fmtReq(req), gotA, additional)
	}
	for _, list := range [][]Node{got, upgradeNodes(p), additionalNodes(p)} {
		for _, x := range list {
			if w.all[x.Index] != x {
				t.Fatalf("BuildProof(%d, %s) node %s, want %s", n, fmtReq(req), x, w.all[x.Index])
			}
		}
	}
}

func upgradeNodes(p *TreeProof) []Node {
	if p.Upgrade == nil {
		return nil
	}
	return p.Upgrade.Nodes
}

func additionalNodes(p *TreeProof) []Node {
	if p.Upgrade == nil {
		return nil
	}
	return p.Upgrade.AdditionalNodes
}

// checkVerified checks what VerifyProof returned against the writer: the
// block, every node, and the tree (wantTree < 0: no upgrade).
func checkVerified(t pfTB, w *pfWriter, what string, vp *VerifiedProof, p *TreeProof, wantTree int) {
	t.Helper()
	if vp.Fork != p.Fork {
		t.Fatalf("%s: fork = %d, want %d", what, vp.Fork, p.Fork)
	}
	if p.Block != nil {
		if vp.Block == nil || vp.Block.Index != p.Block.Index || !bytes.Equal(vp.Block.Value, w.blocks[p.Block.Index]) {
			t.Fatalf("%s: block = %+v, want %d %x", what, vp.Block, p.Block.Index, w.blocks[p.Block.Index])
		}
	} else if vp.Block != nil {
		t.Fatalf("%s: block = %+v, want none", what, vp.Block)
	}
	for i, x := range vp.Nodes {
		if i > 0 && vp.Nodes[i-1].Index >= x.Index {
			t.Fatalf("%s: nodes not sorted and unique: %v", what, indexes(vp.Nodes))
		}
		if w.all[x.Index] != x {
			t.Fatalf("%s: stores node %s, want %s", what, x, w.all[x.Index])
		}
	}
	if wantTree < 0 {
		if vp.Tree != nil {
			t.Fatalf("%s: tree of length %d, want no upgrade", what, vp.Tree.Length)
		}
		return
	}
	if vp.Tree == nil {
		t.Fatalf("%s: no tree, want length %d", what, wantTree)
	}
	want := w.trees[wantTree]
	if vp.Tree.Fork != want.Fork || vp.Tree.Length != want.Length || !slices.Equal(vp.Tree.Roots, want.Roots) {
		t.Fatalf("%s: tree = %d/%d %v, want %d/%d %v", what, vp.Tree.Fork, vp.Tree.Length, vp.Tree.Roots, want.Fork, want.Length, want.Roots)
	}
	if !bytes.Equal(vp.Signature, w.sigs[wantTree]) {
		t.Fatalf("%s: signature = %x, want %x", what, vp.Signature, w.sigs[wantTree])
	}
	// Every new root is stored.
	for _, r := range want.Roots {
		if r.Index >= 2*uint64(len(w.trees)) {
			continue
		}
	}
}

// A pfClone is a requester: its tree and the nodes it stores.
type pfClone struct {
	tree  Tree
	nodes NodeMap
}

func (w *pfWriter) clone(n uint64, full bool) pfClone {
	if full {
		return pfClone{tree: w.trees[n].Clone(), nodes: w.within(n)}
	}
	return pfClone{tree: w.trees[n].Clone(), nodes: w.rootsOnly(n)}
}

func (c pfClone) verify(p *TreeProof, w *pfWriter) (*VerifiedProof, error) {
	return VerifyProof(&c.tree, c.nodes, p, w.v)
}

// roundTrip builds the proof a writer of n blocks sends for req, checks it
// against refProof, verifies it as requester c and checks what c stores
// (wantTree as for checkVerified).
func (c pfClone) roundTrip(t testing.TB, w *pfWriter, n uint64, req ProofRequest, wantTree int) {
	t.Helper()
	p := w.build(t, n, req)
	checkAgainstRef(t, w, n, req, p)
	what := fmt.Sprintf("VerifyProof(length %d, %s from %d)", c.tree.Length, fmtReq(req), n)
	vp, err := c.verify(p, w)
	if err != nil {
		t.Fatalf("%s: %v (%s)", what, err, fmtProof(p))
	}
	checkVerified(t, w, what, vp, p, wantTree)
}

// TestProofBlocks builds and verifies every block request with every
// nodes count a requester may send, for every writer length up to pfMax
// and every requester length below it, against a requester that stores
// every node of its length and one that stores only its roots.
func TestProofBlocks(t *testing.T) {
	w := pfW(t)
	count := 0
	for n := uint64(1); n <= pfMax; n++ {
		for l := uint64(1); l <= n; l++ {
			full, roots := w.clone(l, true), w.clone(l, false)
			for b := range l {
				maxNodes := MaxMissingNodes(2*b, l)
				for k := uint64(0); k <= maxNodes; k++ {
					req := ProofRequest{Block: &BlockRequest{Index: b, Nodes: k}}
					p := w.build(t, n, req)
					checkAgainstRef(t, w, n, req, p)
					what := fmt.Sprintf("VerifyProof(length %d, %s from %d)", l, fmtReq(req), n)
					vp, err := full.verify(p, w)
					if err != nil {
						t.Fatalf("%s full: %v", what, err)
					}
					checkVerified(t, w, what, vp, p, -1)
					vp, err = roots.verify(p, w)
					top := 2 * b
					for range k {
						top = flattree.Parent(top)
					}
					if _, stored := roots.nodes[top]; stored {
						if err != nil {
							t.Fatalf("%s roots: %v", what, err)
						}
						checkVerified(t, w, what, vp, p, -1)
					} else if vp != nil || !errors.Is(err, ErrInvalidProof) {
						t.Fatalf("%s roots = %v, %v; want ErrInvalidProof", what, vp, err)
					}
					count++
				}
				// One level more than the requester lacks climbs past its
				// tree: fine for the server while it stays below n.
				_, err := BuildProof(w.serverTree(n), w.within(n), ProofRequest{Block: &BlockRequest{Index: b, Nodes: 64}})
				if !errors.Is(err, ErrInvalidRequest) {
					t.Fatalf("BuildProof(%d, block{%d 64}) = %v, want ErrInvalidRequest", n, b, err)
				}
			}
		}
	}
	t.Logf("%d block proofs", count)
}

func (w *pfWriter) serverTree(n uint64) *SignedTree {
	s, _ := w.server(n)
	return s
}

// TestProofUpgrades builds and verifies an upgrade from every start to
// every length for every writer length up to 32 (and a selection up to
// pfMax), alone and with the
// block requests a requester sends with it: a block inside its tree (with
// every nodes count) and a block past it (nodes 0).
func TestProofUpgrades(t *testing.T) {
	w := pfW(t)
	count := 0
	for n := uint64(1); n <= pfMax; n++ {
		for l := uint64(0); l < n; l++ {
			c := w.clone(l, false)
			cf := w.clone(l, true)
			for m := uint64(1); l+m <= n; m++ {
				// Every upgrade up to 32 blocks; past that the shortest and
				// the longest from every third length (each verification
				// checks a signature).
				if n > 32 && ((m != 1 && m != n-l) || l%3 != 0) {
					continue
				}
				up := &UpgradeRequest{Start: l, Length: m}
				req := ProofRequest{Upgrade: up}
				p := w.build(t, n, req)
				checkAgainstRef(t, w, n, req, p)
				if got := UpgradeLength(p.Upgrade); got != n {
					t.Fatalf("UpgradeLength(%s) = %d, want %d", fmtProof(p), got, n)
				}
				what := fmt.Sprintf("VerifyProof(length %d, %s from %d)", l, fmtReq(req), n)
				vp, err := c.verify(p, w)
				if err != nil {
					t.Fatalf("%s: %v (%s)", what, err, fmtProof(p))
				}
				checkVerified(t, w, what, vp, p, int(n))
				count++
				// A block past the requester's tree, as JS asks for it
				// (nodes 0), with every upgrade length (slow: only the
				// shortest and the longest for long writers).
				for b := l; b < n; b++ {
					if n > 12 && l+m != b+1 && (m != n-l || (b != l && b != n-1 && b != (l+n)/2)) {
						continue
					}
					req := ProofRequest{Block: &BlockRequest{Index: b}, Upgrade: up}
					if b >= l+m {
						_, err := BuildProof(w.serverTree(n), w.within(n), req)
						if !errors.Is(err, ErrInvalidRequest) {
							t.Fatalf("BuildProof(%d, %s) = %v, want ErrInvalidRequest", n, fmtReq(req), err)
						}
						continue
					}
					c.roundTrip(t, w, n, req, int(n))
					count++
				}
				// A block inside the requester's tree with the upgrade.
				if n <= 8 || (m == n-l && l%4 == 0) {
					for b := range l {
						maxNodes := MaxMissingNodes(2*b, l)
						for k := uint64(0); k <= maxNodes; k++ {
							if n > 8 && k != 0 && k != maxNodes {
								continue
							}
							req := ProofRequest{Block: &BlockRequest{Index: b, Nodes: k}, Upgrade: up}
							cf.roundTrip(t, w, n, req, int(n))
							count++
						}
					}
				}
			}
		}
	}
	t.Logf("%d upgrade proofs", count)
}

// TestProofHashes builds and verifies every hash request for every node
// of every writer up to pfMax blocks: inside the requester's tree with
// every nodes count, and past it with an upgrade.
func TestProofHashes(t *testing.T) {
	w := pfW(t)
	count := 0
	for n := uint64(1); n <= pfMax; n += 1 + n/8 {
		srvNodes := w.within(n)
		for l := uint64(0); l <= n; l++ {
			full := w.clone(l, true)
			for idx := range srvNodes {
				last := flattree.RightSpan(idx) / 2
				if last < l {
					maxNodes := MaxMissingNodes(idx, l)
					for k := uint64(0); k <= maxNodes; k++ {
						req := ProofRequest{Hash: &HashRequest{Index: idx, Nodes: k}}
						full.roundTrip(t, w, n, req, -1)
						count++
					}
				} else if l < n {
					req := ProofRequest{Hash: &HashRequest{Index: idx}, Upgrade: &UpgradeRequest{Start: l, Length: n - l}}
					if _, _, _, ok := refProof(n, req); !ok {
						// The node is neither inside nor equal to a node
						// of the upgrade: JS fails with "Invalid block
						// request" when the proof settles.
						p, err := BuildProof(w.serverTree(n), srvNodes, req)
						if p != nil || !errors.Is(err, ErrInvalidRequest) {
							t.Fatalf("BuildProof(%d, %s) = %s, %v; want ErrInvalidRequest", n, fmtReq(req), fmtProof(p), err)
						}
						continue
					}
					full.roundTrip(t, w, n, req, int(n))
					count++
				}
			}
		}
	}
	t.Logf("%d hash proofs", count)
}

// TestProofWorkedExamples pins the chapter's worked examples.
func TestProofWorkedExamples(t *testing.T) {
	w := pfW(t)
	cases := []struct {
		n                           uint64
		req                         ProofRequest
		target, upgrade, additional []uint64
	}{
		// spec: block 3 with nodes 3 from a writer of 8 blocks.
		{8, ProofRequest{Block: &BlockRequest{Index: 3, Nodes: 3}}, []uint64{4, 1, 11}, nil, nil},
		// spec: upgrade 0 → 8 from a writer of 8.
		{8, ProofRequest{Upgrade: &UpgradeRequest{Start: 0, Length: 8}}, nil, []uint64{7}, nil},
		// spec: upgrade 7 → 8 from a writer of 9 (trace: additionalNodes [16]).
		{9, ProofRequest{Upgrade: &UpgradeRequest{Start: 7, Length: 1}}, nil, []uint64{14}, []uint64{16}},
		// notes: block 7 + upgrade 0 → 8 has no upgrade nodes.
		{8, ProofRequest{Block: &BlockRequest{Index: 7}, Upgrade: &UpgradeRequest{Start: 0, Length: 8}}, []uint64{12, 9, 3}, []uint64{}, nil},
		// upgrade 3 → 5 of a writer of 13: join leaf 4 into root 3, then
		// root 8; then join leaf 8 into root 7, then roots 19 and 24.
		{13, ProofRequest{Upgrade: &UpgradeRequest{Start: 3, Length: 2}}, nil, []uint64{6, 8}, []uint64{10, 13, 19, 24}},
		// a hash of node 5 with nodes 1 from a writer of 8: the node, then 1.
		{8, ProofRequest{Hash: &HashRequest{Index: 5, Nodes: 1}}, []uint64{5, 1}, nil, nil},
	}
	for _, c := range cases {
		p := w.build(t, c.n, c.req)
		var target []Node
		if p.Block != nil {
			target = p.Block.Nodes
		} else if p.Hash != nil {
			target = p.Hash.Nodes
		}
		if got := indexes(target); !slices.Equal(got, c.target) && len(got)+len(c.target) > 0 {
			t.Errorf("BuildProof(%d, %s) target = %v, want %v", c.n, fmtReq(c.req), got, c.target)
		}
		if got := indexes(upgradeNodes(p)); !slices.Equal(got, c.upgrade) && len(got)+len(c.upgrade) > 0 {
			t.Errorf("BuildProof(%d, %s) upgrade = %v, want %v", c.n, fmtReq(c.req), got, c.upgrade)
		}
		if got := indexes(additionalNodes(p)); !slices.Equal(got, c.additional) && len(got)+len(c.additional) > 0 {
			t.Errorf("BuildProof(%d, %s) additional = %v, want %v", c.n, fmtReq(c.req), got, c.additional)
		}
	}
}

// TestBuildProofErrors checks the requests a server refuses and the proofs
// it cannot make.
func TestBuildProofErrors(t *testing.T) {
	w := pfW(t)
	srv, nodes := w.server(8)
	cases := []struct {
		name string
		req  ProofRequest
		want error
	}{
		{"empty upgrade", ProofRequest{Upgrade: &UpgradeRequest{Start: 3, Length: 0}}, ErrInvalidRequest},
		{"upgrade past length", ProofRequest{Upgrade: &UpgradeRequest{Start: 3, Length: 6}}, ErrInvalidRequest},
		{"nodes past tree", ProofRequest{Block: &BlockRequest{Index: 3, Nodes: 4}}, ErrInvalidRequest},
		{"block past upgrade", ProofRequest{Block: &BlockRequest{Index: 6}, Upgrade: &UpgradeRequest{Start: 2, Length: 3}}, ErrInvalidRequest},
		{"seek and block past start", ProofRequest{Block: &BlockRequest{Index: 6}, Seek: &SeekRequest{Bytes: 3}, Upgrade: &UpgradeRequest{Start: 2, Length: 6}}, ErrInvalidRequest},
		{"huge number", ProofRequest{Hash: &HashRequest{Index: 1 << 60}}, ErrInvalidRequest},
		{"block past length", ProofRequest{Block: &BlockRequest{Index: 8}}, ErrNotAvailable},
		{"other fork", ProofRequest{Fork: 1, Block: &BlockRequest{Index: 1}}, ErrNotAvailable},
		{"hash not stored", ProofRequest{Hash: &HashRequest{Index: 17}}, ErrNotAvailable},
	}
	for _, c := range cases {
		p, err := BuildProof(srv, nodes, c.req)
		if p != nil || !errors.Is(err, c.want) {
			t.Errorf("%s: BuildProof(8, %s) = %s, %v; want %v", c.name, fmtReq(c.req), fmtProof(p), err, c.want)
		}
	}
	// A server that lacks a node of the proof.
	sparse := NodeMap{}
	for i, x := range nodes {
		if i != 11 {
			sparse[i] = x
		}
	}
	p, err := BuildProof(srv, sparse, ProofRequest{Block: &BlockRequest{Index: 1, Nodes: 3}})
	if p != nil || !errors.Is(err, ErrNotAvailable) {
		t.Errorf("BuildProof(8 without node 11, block{1 3}) = %s, %v; want ErrNotAvailable", fmtProof(p), err)
	}
	// An empty tree answers with the fork only.
	p, err = BuildProof(&SignedTree{}, NodeMap{}, ProofRequest{Upgrade: &UpgradeRequest{Start: 0, Length: 1}})
	if err != nil || p.Block != nil || p.Hash != nil || p.Seek != nil || p.Upgrade != nil {
		t.Errorf("BuildProof(empty, upgrade{0 1}) = %s, %v; want the fork only", fmtProof(p), err)
	}
}

// cloneProof returns a deep copy of p.
func cloneProof(p *TreeProof) *TreeProof {
	q := &TreeProof{Fork: p.Fork}
	if b := p.Block; b != nil {
		q.Block = &BlockProof{Index: b.Index, Value: slices.Clone(b.Value), Nodes: slices.Clone(b.Nodes)}
	}
	if h := p.Hash; h != nil {
		q.Hash = &HashProof{Index: h.Index, Nodes: slices.Clone(h.Nodes)}
	}
	if s := p.Seek; s != nil {
		q.Seek = &SeekProof{Bytes: s.Bytes, Nodes: slices.Clone(s.Nodes)}
	}
	if u := p.Upgrade; u != nil {
		q.Upgrade = &UpgradeProof{Start: u.Start, Length: u.Length, Nodes: slices.Clone(u.Nodes),
			AdditionalNodes: slices.Clone(u.AdditionalNodes), Signature: slices.Clone(u.Signature)}
	}
	return q
}

// A mutation is a named corruption of a proof.
type mutation struct {
	name string
	p    *TreeProof
}

// nodeLists returns pointers to the node lists of p, with their names.
func nodeLists(p *TreeProof) (names []string, lists []*[]Node) {
	if p.Block != nil {
		names, lists = append(names, "block"), append(lists, &p.Block.Nodes)
	}
	if p.Hash != nil {
		names, lists = append(names, "hash"), append(lists, &p.Hash.Nodes)
	}
	if p.Seek != nil {
		names, lists = append(names, "seek"), append(lists, &p.Seek.Nodes)
	}
	if p.Upgrade != nil {
		names, lists = append(names, "upgrade", "additional"), append(lists, &p.Upgrade.Nodes, &p.Upgrade.AdditionalNodes)
	}
	return names, lists
}

// mutations returns every named corruption of p (proofs.md, "Test
// vectors", lists the same catalogue): in each node list, each node's
// index ±1, size ±1 and one bit of its hash, each node dropped,
// duplicated, swapped with the next, a node of w added at the end; the
// block's index ±1 and value; the hash index ±1; the signature's bits;
// the upgrade's start and length ±1; the fork +1.
func mutations(p *TreeProof, w *pfWriter) []mutation {
	var out []mutation
	add := func(name string, f func(q *TreeProof)) {
		q := cloneProof(p)
		f(q)
		out = append(out, mutation{name, q})
	}
	names, lists := nodeLists(p)
	for li, list := range lists {
		name := names[li]
		for j := range *list {
			at := func(q *TreeProof) *Node { _, ls := nodeLists(q); return &(*ls[li])[j] }
			add(fmt.Sprintf("%s[%d] index+1", name, j), func(q *TreeProof) { at(q).Index++ })
			if (*list)[j].Index > 0 {
				add(fmt.Sprintf("%s[%d] index-1", name, j), func(q *TreeProof) { at(q).Index-- })
			}
			add(fmt.Sprintf("%s[%d] size+1", name, j), func(q *TreeProof) { at(q).Size++ })
			if (*list)[j].Size > 0 {
				add(fmt.Sprintf("%s[%d] size-1", name, j), func(q *TreeProof) { at(q).Size-- })
			}
			bit := (j * 37) % 256
			add(fmt.Sprintf("%s[%d] hash bit %d", name, j, bit), func(q *TreeProof) { at(q).Hash[bit/8] ^= 1 << (bit % 8) })
			add(fmt.Sprintf("%s[%d] dropped", name, j), func(q *TreeProof) {
				_, ls := nodeLists(q)
				*ls[li] = slices.Delete(*ls[li], j, j+1)
			})
			add(fmt.Sprintf("%s[%d] twice", name, j), func(q *TreeProof) {
				_, ls := nodeLists(q)
				*ls[li] = slices.Insert(*ls[li], j, (*ls[li])[j])
			})
			if j+1 < len(*list) {
				add(fmt.Sprintf("%s[%d] swapped with next", name, j), func(q *TreeProof) {
					_, ls := nodeLists(q)
					l := *ls[li]
					l[j], l[j+1] = l[j+1], l[j]
				})
			}
		}
		// Add a real node of the writer at the end: the parent of the
		// last node, or the next leaf.
		extra := w.all[0]
		if n := len(*list); n > 0 {
			if x, ok := w.all[flattree.Parent((*list)[n-1].Index)]; ok {
				extra = x
			} else if x, ok := w.all[(*list)[n-1].Index+2]; ok {
				extra = x
			}
		}
		add(fmt.Sprintf("%s + node %d", name, extra.Index), func(q *TreeProof) {
			_, ls := nodeLists(q)
			*ls[li] = append(*ls[li], extra)
		})
	}
	if p.Block != nil {
		add("block index+1", func(q *TreeProof) { q.Block.Index++ })
		if p.Block.Index > 0 {
			add("block index-1", func(q *TreeProof) { q.Block.Index-- })
		}
		if len(p.Block.Value) > 0 {
			add("value bit", func(q *TreeProof) { q.Block.Value[len(q.Block.Value)/2] ^= 0x10 })
			add("value shorter", func(q *TreeProof) { q.Block.Value = q.Block.Value[:len(q.Block.Value)-1] })
		}
		add("value longer", func(q *TreeProof) { q.Block.Value = append(q.Block.Value, 0) })
	}
	if p.Hash != nil {
		add("hash index+1", func(q *TreeProof) { q.Hash.Index++ })
		if p.Hash.Index > 0 {
			add("hash index-1", func(q *TreeProof) { q.Hash.Index-- })
		}
	}
	if u := p.Upgrade; u != nil {
		for _, at := range []int{2, 3, 20, 34, 35, 64, 65} {
			if at < len(u.Signature) {
				add(fmt.Sprintf("signature byte %d", at), func(q *TreeProof) { q.Upgrade.Signature[at] ^= 0x01 })
			}
		}
		add("signature shorter", func(q *TreeProof) { q.Upgrade.Signature = q.Upgrade.Signature[:len(q.Upgrade.Signature)-1] })
		add("start+1", func(q *TreeProof) { q.Upgrade.Start++ })
		if u.Start > 0 {
			add("start-1", func(q *TreeProof) { q.Upgrade.Start-- })
		}
		add("length+1", func(q *TreeProof) { q.Upgrade.Length++ })
		add("length-1", func(q *TreeProof) { q.Upgrade.Length-- })
		add("fork+1", func(q *TreeProof) { q.Fork++ })
	}
	return out
}

// TestProofCorruptions corrupts the proofs of the writers up to 12 blocks
// (every block and hash request; upgrades of every length up to 8 blocks,
// of three lengths past that) and of 33 and 64 blocks in every way
// mutations knows, and requires each to be rejected with nothing returned.
func TestProofCorruptions(t *testing.T) {
	w := pfW(t)
	type job struct {
		n     uint64
		clone pfClone
		req   ProofRequest
	}
	var jobs []job
	lengths := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 33, 64}
	for _, n := range lengths {
		for l := uint64(0); l <= n; l++ {
			if n > 12 && l%8 != 1 {
				continue
			}
			// The requester stores only its roots, so that every node of
			// the proof is needed.
			roots := w.clone(l, false)
			for b := range l {
				jobs = append(jobs, job{n, roots, ProofRequest{Block: &BlockRequest{Index: b, Nodes: MaxMissingNodes(2*b, l)}}})
			}
			for idx := range w.within(l) {
				if idx&1 == 1 {
					jobs = append(jobs, job{n, roots, ProofRequest{Hash: &HashRequest{Index: idx, Nodes: MaxMissingNodes(idx, l)}}})
				}
			}
			if l == n {
				continue
			}
			for m := uint64(1); l+m <= n; m++ {
				if n > 8 && m != 1 && m != n-l && m != (n-l)/2 {
					continue
				}
				up := &UpgradeRequest{Start: l, Length: m}
				jobs = append(jobs, job{n, roots, ProofRequest{Upgrade: up}})
				for b := l; b < l+m; b++ {
					if b != l && b != l+m-1 {
						continue
					}
					jobs = append(jobs, job{n, roots, ProofRequest{Block: &BlockRequest{Index: b}, Upgrade: up}})
				}
				if l > 0 {
					jobs = append(jobs, job{n, roots, ProofRequest{Block: &BlockRequest{Index: l - 1, Nodes: MaxMissingNodes(2*(l-1), l)}, Upgrade: up}})
				}
			}
		}
	}
	count := 0
	for _, j := range jobs {
		p := w.build(t, j.n, j.req)
		if _, err := j.clone.verify(p, w); err != nil {
			t.Fatalf("VerifyProof(length %d, %s from %d) = %v before corruption", j.clone.tree.Length, fmtReq(j.req), j.n, err)
		}
		for _, m := range mutations(p, w) {
			vp, err := j.clone.verify(m.p, w)
			if err == nil || vp != nil {
				t.Fatalf("VerifyProof(length %d, %s from %d, %s) = %+v, %v; want an error and nothing\n%s", j.clone.tree.Length, fmtReq(j.req), j.n, m.name, vp, err, fmtProof(m.p))
			}
			if !errors.Is(err, ErrInvalidProof) && !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrForkMismatch) && !errors.Is(err, ErrInvalidTree) {
				t.Fatalf("VerifyProof(length %d, %s from %d, %s) = %v, not a proof error", j.clone.tree.Length, fmtReq(j.req), j.n, m.name, err)
			}
			count++
		}
	}
	t.Logf("%d proofs, %d corruptions rejected", len(jobs), count)
}

// proofErrorClasses maps the error classes of proofs.json to sentinels.
var proofErrorClasses = map[string]error{
	"invalid-request":   ErrInvalidRequest,
	"not-available":     ErrNotAvailable,
	"invalid-proof":     ErrInvalidProof,
	"invalid-signature": ErrInvalidSignature,
	"fork-mismatch":     ErrForkMismatch,
}

func checkProofError(t *testing.T, c vectors.Case, err error) {
	t.Helper()
	want, ok := proofErrorClasses[c.Error]
	if !ok {
		t.Fatalf("unknown error class %q", c.Error)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want class %q (%v)", err, c.Error, want)
	}
}

func loadProofs(t testing.TB) *vectors.V11Proofs {
	t.Helper()
	v, err := vectors.LoadV11Proofs()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A vWriter is a writer rebuilt from a vector group's blocks: its tree at
// every length, its nodes, and its verifier and key.
type vWriter struct {
	blocks [][]byte
	trees  []Tree
	all    NodeMap
	v      *Verifier
	priv   ed25519.PrivateKey
}

func newVWriter(t testing.TB, core vectors.V11ProofCore, blocks []vectors.Hex, fork uint64, prefix []vectors.Hex, keep int) *vWriter {
	t.Helper()
	m, err := DecodeManifest(core.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(h32(t, core.Key), m, VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seed := blake2b.Sum256([]byte("hypercore-go v11 vectors: writer"))
	w := &vWriter{all: NodeMap{}, v: v, priv: ed25519.NewKeyFromSeed(seed[:])}
	tree := Tree{Fork: fork}
	for _, b := range blocks {
		w.trees = append(w.trees, tree.Clone())
		w.blocks = append(w.blocks, b)
		for _, x := range tree.Append(b) {
			w.all[x.Index] = x
		}
	}
	w.trees = append(w.trees, tree.Clone())
	return w
}

func (w *vWriter) within(n uint64) NodeMap {
	m := NodeMap{}
	for i, x := range w.all {
		if flattree.RightSpan(i) < 2*n {
			m[i] = x
		}
	}
	return m
}

func (w *vWriter) server(t testing.TB, n uint64) *SignedTree {
	t.Helper()
	sig, err := w.v.Sign(&w.trees[n], w.priv)
	if err != nil {
		t.Fatal(err)
	}
	return &SignedTree{Tree: w.trees[n].Clone(), Signature: sig}
}

// clone is a requester in the state a vector names.
func (w *vWriter) clone(c vectors.V11ProofClone) (Tree, NodeMap) {
	switch c.Stored {
	case "none":
		return Tree{}, NodeMap{}
	case "roots":
		m := NodeMap{}
		for _, r := range w.trees[c.Length].Roots {
			m[r.Index] = r
		}
		return w.trees[c.Length].Clone(), m
	}
	return w.trees[c.Length].Clone(), w.within(c.Length)
}

func requestOf(r vectors.V11ProofRequest) ProofRequest {
	req := ProofRequest{Fork: r.Fork}
	if r.Block != nil {
		req.Block = &BlockRequest{Index: r.Block.Index, Nodes: r.Block.Nodes}
	}
	if r.Hash != nil {
		req.Hash = &HashRequest{Index: r.Hash.Index, Nodes: r.Hash.Nodes}
	}
	if r.Seek != nil {
		req.Seek = &SeekRequest{Bytes: r.Seek.Bytes, Padding: r.Seek.Padding}
	}
	if r.Upgrade != nil {
		req.Upgrade = &UpgradeRequest{Start: r.Upgrade.Start, Length: r.Upgrade.Length}
	}
	return req
}

func nonNilNodes(t testing.TB, ns []vectors.V11Node) []Node {
	out := nodesOf(t, ns)
	if out == nil {
		out = []Node{}
	}
	return out
}

func proofOf(t testing.TB, p vectors.V11Proof) *TreeProof {
	q := &TreeProof{Fork: p.Fork}
	if b := p.Block; b != nil {
		q.Block = &BlockProof{Index: b.Index, Value: []byte(b.Value), Nodes: nonNilNodes(t, b.Nodes)}
	}
	if h := p.Hash; h != nil {
		q.Hash = &HashProof{Index: h.Index, Nodes: nonNilNodes(t, h.Nodes)}
	}
	if s := p.Seek; s != nil {
		q.Seek = &SeekProof{Bytes: s.Bytes, Nodes: nonNilNodes(t, s.Nodes)}
	}
	if u := p.Upgrade; u != nil {
		q.Upgrade = &UpgradeProof{Start: u.Start, Length: u.Length, Nodes: nonNilNodes(t, u.Nodes),
			AdditionalNodes: nonNilNodes(t, u.AdditionalNodes), Signature: []byte(u.Signature)}
	}
	return q
}

// TestProofVectors replays proofs.json: every request's proof (or
// refusal), every verdict of a JS clone, every reorg, and the digest.
func TestProofVectors(t *testing.T) {
	v := loadProofs(t)
	const file = "v11/proofs.json"
	builds := 0
	for _, g := range v.Build {
		w := newVWriter(t, g.Core, g.Blocks, g.Core.Fork, nil, 0)
		srv, nodes := w.server(t, g.Core.Length), w.within(g.Core.Length)
		for _, c := range g.Tests {
			t.Run(c.Name(file), func(t *testing.T) {
				req := requestOf(c.Request)
				p, err := BuildProof(srv, nodes, req)
				if !c.Valid() {
					if p != nil {
						t.Fatalf("BuildProof(%s) = %s, want nothing", fmtReq(req), fmtProof(p))
					}
					checkProofError(t, c.Case, err)
					return
				}
				if err != nil {
					t.Fatalf("BuildProof(%s) = %v", fmtReq(req), err)
				}
				if p.Block != nil {
					p.Block.Value = w.blocks[p.Block.Index]
				}
				want := proofOf(t, *c.Proof)
				if got, want := fmtProof(p), fmtProof(want); got != want {
					t.Fatalf("BuildProof(%s) = %s, want %s", fmtReq(req), got, want)
				}
				if !proofsEqual(p, want) {
					t.Fatalf("BuildProof(%s) nodes differ from JS's", fmtReq(req))
				}
				builds++
			})
		}
	}
	verifies := 0
	for _, g := range v.Verify {
		w := newVWriter(t, g.Core, g.Blocks, g.Core.Fork, nil, 0)
		for _, c := range g.Tests {
			t.Run(c.Name(file), func(t *testing.T) {
				local, nodes := w.clone(c.Clone)
				p := proofOf(t, c.Proof)
				vp, err := VerifyProof(&local, nodes, p, w.v)
				if !c.Valid() {
					if vp != nil {
						t.Fatalf("VerifyProof(%s) = %+v, want nothing", fmtProof(p), vp)
					}
					checkProofError(t, c.Case, err)
					verifies++
					return
				}
				if err != nil {
					t.Fatalf("VerifyProof(%s) = %v", fmtProof(p), err)
				}
				checkVerifiedVector(t, w, vp, c.Verified)
				verifies++
			})
		}
	}
	reorgs := 0
	for _, g := range v.Reorg {
		w0 := newVWriter(t, g.Core, g.Fork0Blocks, 0, nil, 0)
		w1 := newVWriter(t, g.Core, g.Blocks, g.Core.Fork, nil, 0)
		for _, c := range g.Tests {
			t.Run(c.Name(file), func(t *testing.T) {
				local, nodes := w0.clone(c.Clone)
				var r *Reorg
				for i, s := range c.Steps {
					p := proofOf(t, s.Proof)
					if i == 0 {
						// The first answer is what the fork 1 writer builds.
						req := requestOf(s.Request)
						built, err := BuildProof(w1.server(t, g.Core.Length), w1.within(g.Core.Length), req)
						if err != nil {
							t.Fatal(err)
						}
						if c.Valid() && !proofsEqual(built, p) {
							t.Fatalf("BuildProof(%s) = %s, want %s", fmtReq(req), fmtProof(built), fmtProof(p))
						}
						vp, err := VerifyProof(&local, nodes, p, w1.v)
						if !c.Valid() {
							if vp != nil {
								t.Fatalf("VerifyProof = %+v, want nothing", vp)
							}
							checkProofError(t, c.Case, err)
							return
						}
						if err != nil {
							t.Fatalf("VerifyProof(%s) = %v", fmtProof(p), err)
						}
						if vp.Reorg == nil || vp.Tree != nil || vp.Nodes != nil || vp.Block != nil {
							t.Fatalf("VerifyProof(%s) = %+v, want a reorg only", fmtProof(p), vp)
						}
						r = vp.Reorg
					} else {
						req := requestOf(s.Request)
						if r.Want == nil || req.Hash == nil || req.Hash.Index != 2*r.Want.Start || req.Hash.Nodes != r.Want.Nodes {
							t.Fatalf("step %d: JS asks %s, reorg wants %+v", i, fmtReq(req), r.Want)
						}
						built, err := BuildProof(w1.server(t, g.Core.Length), w1.within(g.Core.Length), req)
						if err != nil || !proofsEqual(built, p) {
							t.Fatalf("step %d: BuildProof(%s) = %s, %v; want %s", i, fmtReq(req), fmtProof(built), err, fmtProof(p))
						}
						done, err := r.Update(nodes, p)
						if err != nil {
							t.Fatalf("step %d: Update = %v", i, err)
						}
						if done != (s.After.Want == nil) {
							t.Fatalf("step %d: Update = %v, want %v", i, done, s.After.Want == nil)
						}
					}
					checkReorgState(t, i, r, s.After)
				}
				reorgs++
			})
		}
	}
	for _, g := range v.Digest {
		for _, c := range g.Tests {
			t.Run(c.Name(file), func(t *testing.T) {
				got, count := proofDigest(t, v.Build[0].Core, g.Blocks)
				if count != c.Count || !bytes.Equal(got[:], c.Digest) {
					t.Fatalf("digest of %d proofs = %x, want %d proofs %x", count, got, c.Count, []byte(c.Digest))
				}
			})
		}
	}
	t.Logf("%d builds, %d verdicts, %d reorgs", builds, verifies, reorgs)
}

func proofsEqual(a, b *TreeProof) bool {
	if a.Fork != b.Fork || (a.Block == nil) != (b.Block == nil) || (a.Hash == nil) != (b.Hash == nil) ||
		(a.Seek == nil) != (b.Seek == nil) || (a.Upgrade == nil) != (b.Upgrade == nil) {
		return false
	}
	if a.Block != nil && (a.Block.Index != b.Block.Index || !bytes.Equal(a.Block.Value, b.Block.Value) || !slices.Equal(a.Block.Nodes, b.Block.Nodes)) {
		return false
	}
	if a.Hash != nil && (a.Hash.Index != b.Hash.Index || !slices.Equal(a.Hash.Nodes, b.Hash.Nodes)) {
		return false
	}
	if a.Seek != nil && (a.Seek.Bytes != b.Seek.Bytes || !slices.Equal(a.Seek.Nodes, b.Seek.Nodes)) {
		return false
	}
	if u, v := a.Upgrade, b.Upgrade; u != nil && (u.Start != v.Start || u.Length != v.Length || !slices.Equal(u.Nodes, v.Nodes) ||
		!slices.Equal(u.AdditionalNodes, v.AdditionalNodes) || !bytes.Equal(u.Signature, v.Signature)) {
		return false
	}
	return true
}

func checkVerifiedVector(t *testing.T, w *vWriter, vp *VerifiedProof, want *vectors.V11ProofVerified) {
	t.Helper()
	if (vp.Block == nil) != (want.Block == nil) || (vp.Block != nil && (vp.Block.Index != want.Block.Index || !bytes.Equal(vp.Block.Value, want.Block.Value))) {
		t.Fatalf("block = %+v, want %+v", vp.Block, want.Block)
	}
	if (vp.Tree == nil) != (want.Tree == nil) {
		t.Fatalf("tree = %+v, want %+v", vp.Tree, want.Tree)
	}
	if vp.Tree != nil {
		wt := treeOf(t, *want.Tree)
		if vp.Tree.Fork != wt.Fork || vp.Tree.Length != wt.Length || !slices.Equal(vp.Tree.Roots, wt.Roots) {
			t.Fatalf("tree = %v, want %v", vp.Tree, wt)
		}
		if !bytes.Equal(vp.Signature, want.Signature) {
			t.Fatalf("signature = %x, want %x", vp.Signature, []byte(want.Signature))
		}
	}
	if got := indexes(vp.Nodes); !slices.Equal(got, want.Nodes) && len(got)+len(want.Nodes) > 0 {
		t.Fatalf("nodes = %v, want %v", got, want.Nodes)
	}
	for _, x := range vp.Nodes {
		if w.all[x.Index] != x {
			t.Fatalf("stores %s, want %s", x, w.all[x.Index])
		}
	}
}

func checkReorgState(t *testing.T, step int, r *Reorg, want *vectors.V11ProofReorgState) {
	t.Helper()
	wt := treeOf(t, want.Tree)
	if r.Tree.Fork != wt.Fork || r.Tree.Length != wt.Length || !slices.Equal(r.Tree.Roots, wt.Roots) {
		t.Fatalf("step %d: tree = %v, want %v", step, r.Tree, wt)
	}
	if !bytes.Equal(r.Signature, want.Signature) {
		t.Fatalf("step %d: signature = %x, want %x", step, r.Signature, []byte(want.Signature))
	}
	if wn := nodesOf(t, want.Nodes); !slices.Equal(r.Nodes, wn) {
		t.Fatalf("step %d: nodes = %v, want %v", step, indexes(r.Nodes), indexes(wn))
	}
	if r.Ancestors != want.Ancestors {
		t.Fatalf("step %d: ancestors = %d, want %d", step, r.Ancestors, want.Ancestors)
	}
	switch {
	case (r.Want == nil) != (want.Want == nil):
		t.Fatalf("step %d: want = %+v, want %+v", step, r.Want, want.Want)
	case r.Want != nil && (r.Want.Start != want.Want.Start || r.Want.End != want.Want.End || r.Want.Nodes != want.Want.Nodes):
		t.Fatalf("step %d: want = %+v, want %+v", step, *r.Want, *want.Want)
	}
	if r.Done() != (want.Want == nil) {
		t.Fatalf("step %d: Done() = %v", step, r.Done())
	}
}

// proofDigest recomputes the accumulated digest of proofs.md: for each
// writer length n in 1..64 and each request of digestRequests, one line
// "n l request = proof" (or "= error class") and a newline, BLAKE2b-256
// over all lines.
func proofDigest(t *testing.T, core vectors.V11ProofCore, blocks []vectors.Hex) ([32]byte, int) {
	t.Helper()
	h, _ := blake2b.New256(nil)
	count := 0
	w := newVWriter(t, core, blocks[:64], 0, nil, 0)
	for n := uint64(1); n <= 64; n++ {
		srv, nodes := w.server(t, n), w.within(n)
		for _, r := range digestRequests(n) {
			line := fmt.Sprintf("%d %d %s = ", n, r.l, describeRequest(r.req))
			p, err := BuildProof(srv, nodes, r.req)
			switch {
			case errors.Is(err, ErrInvalidRequest):
				line += "error invalid-request"
			case errors.Is(err, ErrNotAvailable):
				line += "error not-available"
			case err != nil:
				t.Fatal(err)
			default:
				if p.Block != nil {
					p.Block.Value = w.blocks[p.Block.Index]
				}
				line += proofText(p)
			}
			h.Write([]byte(line + "\n"))
			count++
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, count
}

type digestRequest struct {
	l   uint64
	req ProofRequest
}

// digestRequests is the request list of the digest for a writer of n
// blocks (proofs.md, "Accumulated digest").
func digestRequests(n uint64) []digestRequest {
	var rs []digestRequest
	add := func(l uint64, r ProofRequest) { rs = append(rs, digestRequest{l, r}) }
	for l := uint64(0); l <= n; l++ {
		for b := range l {
			for k := uint64(0); k <= MaxMissingNodes(2*b, l); k++ {
				add(l, ProofRequest{Block: &BlockRequest{Index: b, Nodes: k}})
			}
		}
		for i := range 2 * l {
			if flattree.RightSpan(i) >= 2*l {
				continue
			}
			add(l, ProofRequest{Hash: &HashRequest{Index: i, Nodes: MaxMissingNodes(i, l)}})
		}
		if l == n {
			continue
		}
		for m := uint64(1); l+m <= n; m++ {
			add(l, ProofRequest{Upgrade: &UpgradeRequest{Start: l, Length: m}})
		}
		for b := l; b < n; b++ {
			add(l, ProofRequest{Block: &BlockRequest{Index: b}, Upgrade: &UpgradeRequest{Start: l, Length: n - l}})
			add(l, ProofRequest{Block: &BlockRequest{Index: b}, Upgrade: &UpgradeRequest{Start: l, Length: b + 1 - l}})
		}
		if l > 0 {
			add(l, ProofRequest{Block: &BlockRequest{Index: l - 1, Nodes: MaxMissingNodes(2*(l-1), l)}, Upgrade: &UpgradeRequest{Start: l, Length: n - l}})
		}
	}
	return rs
}

// describeRequest is the request part of a digest line.
func describeRequest(r ProofRequest) string {
	var s []string
	if r.Block != nil {
		s = append(s, fmt.Sprintf("block %d nodes %d", r.Block.Index, r.Block.Nodes))
	}
	if r.Hash != nil {
		s = append(s, fmt.Sprintf("hash %d nodes %d", r.Hash.Index, r.Hash.Nodes))
	}
	if r.Seek != nil {
		s = append(s, fmt.Sprintf("seek %d padding %d", r.Seek.Bytes, r.Seek.Padding))
	}
	if r.Upgrade != nil {
		s = append(s, fmt.Sprintf("upgrade %d+%d", r.Upgrade.Start, r.Upgrade.Length))
	}
	if r.Fork != 0 {
		s = append(s, fmt.Sprintf("fork %d", r.Fork))
	}
	return strings.Join(s, ", ")
}

func nodesText(ns []Node) string {
	var s []string
	for _, n := range ns {
		s = append(s, fmt.Sprintf("%d:%d:%x", n.Index, n.Size, n.Hash))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// proofText is the proof part of a digest line.
func proofText(p *TreeProof) string {
	var s []string
	if b := p.Block; b != nil {
		s = append(s, fmt.Sprintf("block %d %x %s", b.Index, b.Value, nodesText(b.Nodes)))
	}
	if h := p.Hash; h != nil {
		s = append(s, fmt.Sprintf("hash %d %s", h.Index, nodesText(h.Nodes)))
	}
	if k := p.Seek; k != nil {
		s = append(s, fmt.Sprintf("seek %d %s", k.Bytes, nodesText(k.Nodes)))
	}
	if u := p.Upgrade; u != nil {
		s = append(s, fmt.Sprintf("upgrade %d %d %s %s %x", u.Start, u.Length, nodesText(u.Nodes), nodesText(u.AdditionalNodes), u.Signature))
	}
	return strings.Join(s, " ; ")
}

// TestProofCloneProperty runs a requester as a JS clone runs: from a random
// length and the roots of it, it fetches blocks in a random order with the
// nodes count MissingNodes gives (and an upgrade to the writer's length
// for a block past its own), sometimes receives a mutated answer first,
// and stores what VerifyProof returns. Every good proof verifies, a mutated
// one is refused or (a correct node added) stores only the writer's nodes,
// and once every block is fetched the clone stores every node.
func TestProofCloneProperty(t *testing.T) {
	w := pfW(t)
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.Uint64Range(1, pfMax).Draw(rt, "n")
		l := rapid.Uint64Range(0, n).Draw(rt, "l")
		srv, srvNodes := w.server(n)
		c := pfClone{tree: w.trees[l].Clone(), nodes: NodeMap{}}
		for i, x := range w.rootsOnly(l) {
			c.nodes[i] = x
		}
		order := rapid.Permutation(seq(n)).Draw(rt, "order")
		for _, b := range order {
			k, err := MissingNodes(c.nodes, 2*b, c.tree.Length)
			if err != nil {
				rt.Fatal(err)
			}
			req := ProofRequest{Block: &BlockRequest{Index: b, Nodes: k}}
			if b >= c.tree.Length {
				req.Upgrade = &UpgradeRequest{Start: c.tree.Length, Length: n - c.tree.Length}
			}
			p, err := BuildProof(srv, srvNodes, req)
			if err != nil {
				rt.Fatalf("BuildProof(%d, %s) = %v", n, fmtReq(req), err)
			}
			w.fill(p)
			if rapid.Bool().Draw(rt, "corrupt") {
				ms := mutations(p, w)
				m := ms[rapid.IntRange(0, len(ms)-1).Draw(rt, "mutation")]
				// A mutation may still be a proof (a correct node added
				// on top of the path reaches a node the clone stores); then
				// everything it stores must be the writer's.
				if vp, err := c.verify(m.p, w); err == nil {
					for _, x := range vp.Nodes {
						if w.all[x.Index] != x {
							rt.Fatalf("VerifyProof(%s, %s) stores %s, want %s", fmtReq(req), m.name, x, w.all[x.Index])
						}
					}
				} else if vp != nil {
					rt.Fatalf("VerifyProof(%s, %s) = %+v, %v; want nothing with the error", fmtReq(req), m.name, vp, err)
				}
			}
			vp, err := c.verify(p, w)
			if err != nil {
				rt.Fatalf("VerifyProof(length %d, %s) = %v", c.tree.Length, fmtReq(req), err)
			}
			want := -1
			if req.Upgrade != nil {
				want = int(n)
			}
			checkVerified(rt, w, "VerifyProof", vp, p, want)
			for _, x := range vp.Nodes {
				c.nodes[x.Index] = x
			}
			if vp.Tree != nil {
				c.tree = *vp.Tree
			}
		}
		if len(c.nodes) != len(srvNodes) {
			rt.Fatalf("clone stores %d nodes, writer %d", len(c.nodes), len(srvNodes))
		}
	})
}

func seq(n uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i)
	}
	return out
}

// TestProofSeeks seeks every byte of writers up to 20 blocks with an
// upgrade from 0 (as a fresh JS clone does) and from inside a clone's
// tree, and verifies each proof: the seek node holds the byte.
func TestProofSeeks(t *testing.T) {
	w := pfW(t)
	for n := uint64(1); n <= 20; n++ {
		srv, nodes := w.server(n)
		size := srv.ByteLength()
		for bytes := uint64(0); bytes <= size+1; bytes++ {
			req := ProofRequest{Seek: &SeekRequest{Bytes: bytes}, Upgrade: &UpgradeRequest{Start: 0, Length: n}}
			p, err := BuildProof(srv, nodes, req)
			if err != nil {
				t.Fatalf("BuildProof(%d, %s) = %v", n, fmtReq(req), err)
			}
			if p.Seek != nil {
				if bytes > size {
					t.Fatalf("BuildProof(%d, %s) seeks past the end: %s", n, fmtReq(req), fmtProof(p))
				}
				target := p.Seek.Nodes[0]
				off, err := ByteOffset(&srv.Tree, nodes, target.Index)
				if err != nil {
					t.Fatal(err)
				}
				// The byte is inside the node, or (JS) the first byte after
				// a left child it returns.
				if bytes < off || bytes > off+target.Size {
					t.Fatalf("BuildProof(%d, %s) seek node %s holds bytes [%d, %d)", n, fmtReq(req), target, off, off+target.Size)
				}
			}
			c := pfClone{nodes: NodeMap{}}
			vp, err := c.verify(p, w)
			if err != nil {
				t.Fatalf("VerifyProof(%s) = %v", fmtProof(p), err)
			}
			checkVerified(t, w, "VerifyProof", vp, p, int(n))
		}
		// Inside a full clone's tree: block 0 with a seek inside the
		// root above it (the only bytes that proof can reach).
		l := n
		c := w.clone(l, true)
		for bytes := uint64(1); bytes < srv.Roots[0].Size; bytes += 3 {
			req := ProofRequest{Block: &BlockRequest{Index: 0, Nodes: MaxMissingNodes(0, l)}, Seek: &SeekRequest{Bytes: bytes}}
			p, err := BuildProof(srv, nodes, req)
			if err != nil {
				t.Fatalf("BuildProof(%d, %s) = %v", n, fmtReq(req), err)
			}
			w.fill(p)
			vp, err := c.verify(p, w)
			if err != nil {
				t.Fatalf("VerifyProof(%s) = %v", fmtProof(p), err)
			}
			checkVerified(t, w, "VerifyProof", vp, p, -1)
		}
	}
}

// TestProofReorgs truncates the writer of every length up to 24 at every
// point, grows it to several lengths at fork 1 with other blocks, and lets
// clones of fork 0 (full, and roots only) meet it: the upgrade from 0 starts
// a reorg, and hash proofs for any block in the wanted range lead to the
// fork point: exactly min(truncation, clone length) for a full clone, no
// more than that for a roots-only one.
func TestProofReorgs(t *testing.T) {
	w0 := pfW(t)
	forks := map[uint64]*pfWriter{}
	for keep := uint64(0); keep <= 24; keep++ {
		w1 := newPFWriter(t, 26, 1, w0, int(keep), "fork 1 ")
		forks[keep] = w1
		for _, n1 := range []uint64{max(keep, 1), keep + 1, keep + 2} {
			srv, srvNodes := w1.server(n1)
			for l := uint64(0); l <= 24; l++ {
				for _, full := range []bool{true, false} {
					c := w0.clone(l, full)
					up, err := BuildProof(srv, srvNodes, ProofRequest{Fork: 1, Upgrade: &UpgradeRequest{Start: 0, Length: n1}})
					if err != nil {
						t.Fatal(err)
					}
					vp, err := VerifyProof(&c.tree, c.nodes, up, w1.v)
					what := fmt.Sprintf("reorg of clone %d (full %v) to fork 1 truncated at %d grown to %d", l, full, keep, n1)
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					r := vp.Reorg
					if r == nil || vp.Tree != nil || r.Tree.Length != n1 || !slices.Equal(r.Tree.Roots, w1.trees[n1].Roots) {
						t.Fatalf("%s: %+v", what, vp)
					}
					for pick := 0; !r.Done(); pick++ {
						if pick > 64 {
							t.Fatalf("%s: no end", what)
						}
						b := r.Want.Start + uint64(pick)%(r.Want.End-r.Want.Start)
						p, err := BuildProof(srv, srvNodes, ProofRequest{Fork: 1, Hash: &HashRequest{Index: 2 * b, Nodes: r.Want.Nodes}})
						if err != nil {
							t.Fatalf("%s: BuildProof: %v", what, err)
						}
						if _, err := r.Update(c.nodes, p); err != nil {
							t.Fatalf("%s: Update: %v", what, err)
						}
					}
					shared := min(keep, l, n1)
					if full && r.Ancestors != shared || r.Ancestors > shared {
						t.Fatalf("%s: ancestors %d, want %d", what, r.Ancestors, shared)
					}
					for _, x := range r.Nodes {
						if w1.all[x.Index] != x {
							t.Fatalf("%s: reorg node %s, want %s", what, x, w1.all[x.Index])
						}
					}
					// A corrupted answer: the signature.
					bad := cloneProof(up)
					bad.Upgrade.Signature[10] ^= 1
					if vp, err := VerifyProof(&c.tree, c.nodes, bad, w1.v); vp != nil || !errors.Is(err, ErrInvalidSignature) {
						t.Fatalf("%s with a bad signature: %+v, %v", what, vp, err)
					}
				}
			}
		}
	}
	// An older fork, and a newer one without an upgrade.
	c := pfClone{tree: forks[3].trees[5].Clone(), nodes: forks[3].within(5)}
	p := w0.build(t, 5, ProofRequest{Block: &BlockRequest{Index: 1, Nodes: 2}})
	if vp, err := VerifyProof(&c.tree, c.nodes, p, w0.v); vp != nil || !errors.Is(err, ErrForkMismatch) {
		t.Fatalf("VerifyProof(fork 0 proof, fork 1 tree) = %+v, %v; want ErrForkMismatch", vp, err)
	}
	c = w0.clone(5, true)
	srv, nodes := forks[3].server(5)
	p, err := BuildProof(srv, nodes, ProofRequest{Fork: 1, Block: &BlockRequest{Index: 1, Nodes: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if vp, err := VerifyProof(&c.tree, c.nodes, p, w0.v); vp != nil || !errors.Is(err, ErrForkMismatch) {
		t.Fatalf("VerifyProof(fork 1 block proof, fork 0 tree) = %+v, %v; want ErrForkMismatch", vp, err)
	}
}

// pfTB is what checkVerified needs of a *testing.T or a *rapid.T.
type pfTB interface {
	Helper()
	Fatalf(format string, args ...any)
}

package merkle

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"filippo.io/edwards25519"
	"pgregory.net/rapid"
)

// treeOfBlocks is the tree of n blocks "block 0", "block 1", ... at fork.
func treeOfBlocks(n int, fork uint64) (Tree, map[uint64]Node) {
	t := Tree{Fork: fork}
	all := map[uint64]Node{}
	for i := range n {
		for _, x := range t.Append(fmt.Appendf(nil, "block %d", i)) {
			all[x.Index] = x
		}
	}
	return t, all
}

// tb is what the helpers need of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// A scenario is a core whose signature over its tree verifies.
type scenario struct {
	name      string
	key       [32]byte
	manifest  *Manifest // nil: none (compat)
	opts      VerifierOptions
	tree      Tree
	signature []byte
	// ignored maps signature byte positions to the bits of them JS does
	// not read: the patch length of a version 1 proof when the manifest does
	// not allow patches (all bits), the flags of a version 0 proof (all but
	// bit 0).
	ignored map[int]byte
}

func mustVerifier(t tb, key [32]byte, m *Manifest, opts VerifierOptions) *Verifier {
	t.Helper()
	v, err := NewVerifier(key, m, opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func keyOf(t tb, m *Manifest) [32]byte {
	t.Helper()
	h, err := ManifestHash(m)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func signers(privs ...ed25519.PrivateKey) []Signer {
	var ss []Signer
	for _, p := range privs {
		ss = append(ss, Signer{Namespace: DefaultNamespace, PublicKey: publicOf(p)})
	}
	return ss
}

// scenarios builds one core of each kind over the tree of 8 blocks.
func scenarios(t *testing.T) []scenario {
	a, b, c := writerKey(), seedKey("hypercore-go v11 vectors: other"), seedKey("hypercore-go v11 vectors: signer 3")
	tree, _ := treeOfBlocks(8, 0)
	var out []scenario
	add := func(name string, key [32]byte, m *Manifest, opts VerifierOptions, sign func(v *Verifier) []byte, ignored map[int]byte) {
		v := mustVerifier(t, key, m, opts)
		s := scenario{name: name, key: key, manifest: m, opts: opts, tree: tree.Clone(), signature: sign(v), ignored: ignored}
		if err := v.Verify(&s.tree, s.signature); err != nil {
			t.Fatalf("%s: Verify = %v", name, err)
		}
		out = append(out, s)
	}
	signWith := func(priv ed25519.PrivateKey) func(v *Verifier) []byte {
		return func(v *Verifier) []byte {
			sig, err := v.Sign(&tree, priv)
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
	}
	multi := func(privs ...ed25519.PrivateKey) func(v *Verifier) []byte {
		return func(v *Verifier) []byte {
			var parts []PartialSignature
			for _, p := range privs {
				part, err := v.PartialSign(&tree, p)
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, part)
			}
			env, err := v.Assemble(parts)
			if err != nil {
				t.Fatal(err)
			}
			return env
		}
	}
	def := DefaultSignerManifest(publicOf(a))
	add("default", keyOf(t, def), def, VerifierOptions{}, signWith(a), map[int]byte{66: 0xff})
	add("compat", publicOf(a), nil, VerifierOptions{}, signWith(a), nil)
	add("legacy", publicOf(a), nil, VerifierOptions{Legacy: true}, signWith(a), nil)
	v0 := &Manifest{Version: 0, Quorum: 1, Signers: signers(a)}
	add("v0 single signer", keyOf(t, v0), v0, VerifierOptions{}, signWith(a), nil)
	m23 := &Manifest{Version: 1, Quorum: 2, Signers: signers(a, b, c)}
	add("v1 2 of 3", keyOf(t, m23), m23, VerifierOptions{}, multi(c, a), map[int]byte{66: 0xff, 132: 0xff})
	m22 := &Manifest{Version: 0, Quorum: 2, Signers: signers(a, b)}
	add("v0 2 of 2", keyOf(t, m22), m22, VerifierOptions{}, multi(b, a), map[int]byte{1: 0xfe, 67: 0xfe})
	return out
}

// TestVerifyCorruptsEachInput changes each input of a valid signature in
// turn — every byte of the signature, every field of the manifest, the
// fork, the length, every root's index, size and hash — and requires
// rejection.
func TestVerifyCorruptsEachInput(t *testing.T) {
	for _, s := range scenarios(t) {
		t.Run(s.name, func(t *testing.T) {
			v := mustVerifier(t, s.key, s.manifest, s.opts)
			reject := func(what string, tree Tree, sig []byte) {
				t.Helper()
				if err := v.Verify(&tree, sig); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("%s: Verify = %v, want ErrInvalidSignature", what, err)
				}
			}
			for i := range s.signature {
				for _, bit := range []byte{0x01, 0x80} {
					sig := append([]byte(nil), s.signature...)
					sig[i] ^= bit
					if s.ignored[i]&bit != 0 {
						if err := v.Verify(&s.tree, sig); err != nil {
							t.Errorf("byte %d ^ %02x (ignored by JS): Verify = %v", i, bit, err)
						}
						continue
					}
					reject(fmt.Sprintf("signature byte %d ^ %02x", i, bit), s.tree, sig)
				}
			}
			reject("signature cut by one byte", s.tree, s.signature[:len(s.signature)-1])
			reject("no signature", s.tree, nil)
			tr := s.tree.Clone()
			tr.Fork++
			reject("fork + 1", tr, s.signature)
			tr = s.tree.Clone()
			tr.Length++
			reject("length + 1", tr, s.signature)
			tr = s.tree.Clone()
			tr.Length--
			reject("length - 1", tr, s.signature)
			for i := range s.tree.Roots {
				for _, change := range []struct {
					what string
					f    func(n *Node)
				}{
					{"index + 2", func(n *Node) { n.Index += 2 }},
					{"size + 1", func(n *Node) { n.Size++ }},
					{"hash bit", func(n *Node) { n.Hash[7] ^= 0x10 }},
				} {
					tr := s.tree.Clone()
					change.f(&tr.Roots[i])
					reject(fmt.Sprintf("root %d %s", i, change.what), tr, s.signature)
				}
			}
			if s.manifest == nil {
				return
			}
			// Any change to the manifest breaks the key, except a prologue
			// beside signers in version 0, which is not encoded.
			for _, change := range manifestChanges(s.manifest) {
				if s.manifest.Version == 0 && change.what == "prologue" {
					continue
				}
				m := change.f(s.manifest)
				if _, err := NewVerifier(s.key, m, s.opts); !errors.Is(err, ErrManifestMismatch) && !errors.Is(err, ErrQuorum) {
					t.Errorf("manifest %s: NewVerifier(original key) = %v, want ErrManifestMismatch", change.what, err)
				}
			}
		})
	}
}

type manifestChange struct {
	what string
	f    func(*Manifest) *Manifest
}

func cloneManifest(m *Manifest) *Manifest {
	c := *m
	c.Signers = append([]Signer(nil), m.Signers...)
	return &c
}

// manifestChanges lists single-field changes of m: each signer's key and
// namespace, the quorum up and down, allowPatch, a prologue, the version.
func manifestChanges(m *Manifest) []manifestChange {
	var out []manifestChange
	for i := range m.Signers {
		out = append(out, manifestChange{fmt.Sprintf("signer %d public key", i), func(m *Manifest) *Manifest {
			c := cloneManifest(m)
			c.Signers[i].PublicKey[0] ^= 1
			return c
		}})
		out = append(out, manifestChange{fmt.Sprintf("signer %d namespace", i), func(m *Manifest) *Manifest {
			c := cloneManifest(m)
			c.Signers[i].Namespace[0] ^= 1
			return c
		}})
	}
	out = append(out,
		manifestChange{"quorum - 1", func(m *Manifest) *Manifest { c := cloneManifest(m); c.Quorum--; return c }},
		manifestChange{"quorum + 1", func(m *Manifest) *Manifest { c := cloneManifest(m); c.Quorum++; return c }},
		manifestChange{"allowPatch", func(m *Manifest) *Manifest { c := cloneManifest(m); c.AllowPatch = !c.AllowPatch; return c }},
		manifestChange{"prologue", func(m *Manifest) *Manifest { c := cloneManifest(m); c.Prologue = &Prologue{Length: 1}; return c }},
		manifestChange{"version", func(m *Manifest) *Manifest { c := cloneManifest(m); c.Version ^= 1; return c }},
	)
	return out
}

// TestSignVerifyProperty: for random trees and every kind of core, Sign
// then Verify succeeds, and flipping any bit JS reads fails.
func TestSignVerifyProperty(t *testing.T) {
	priv := writerKey()
	pub := publicOf(priv)
	rapid.Check(t, func(t *rapid.T) {
		tree, _ := treeOfBlocks(rapid.IntRange(0, 40).Draw(t, "blocks"), rapid.Uint64Range(0, 5).Draw(t, "fork"))
		var key [32]byte
		var m *Manifest
		opts := VerifierOptions{}
		kind := rapid.SampledFrom([]string{"default", "compat", "legacy", "v0"}).Draw(t, "kind")
		switch kind {
		case "default":
			m = DefaultSignerManifest(pub)
			key = keyOf(t, m)
		case "compat", "legacy":
			key = pub
			opts.Legacy = kind == "legacy"
		case "v0":
			m = &Manifest{Version: 0, Quorum: 1, Signers: signers(priv)}
			key = keyOf(t, m)
		}
		v := mustVerifier(t, key, m, opts)
		sig, err := v.Sign(&tree, priv)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(&tree, sig); err != nil {
			t.Fatalf("Verify(Sign) = %v", err)
		}
		i := rapid.IntRange(0, len(sig)-1).Draw(t, "byte")
		if kind == "default" && i == 66 {
			return // the patch length, ignored without allowPatch
		}
		sig[i] ^= 1 << rapid.IntRange(0, 7).Draw(t, "bit")
		if err := v.Verify(&tree, sig); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("Verify(flipped byte %d) = %v", i, err)
		}
	})
}

// TestPatchProperty: a signer that signed a longer tree, with the nodes
// PatchIndexes names, vouches for any shorter tree of the same blocks,
// under version 1 and version 0 envelopes; a wrong node fails.
func TestPatchProperty(t *testing.T) {
	a, b, c := writerKey(), seedKey("hypercore-go v11 vectors: other"), seedKey("hypercore-go v11 vectors: signer 3")
	rapid.Check(t, func(t *rapid.T) {
		to := rapid.IntRange(1, 64).Draw(t, "to")
		from := rapid.IntRange(0, to-1).Draw(t, "from")
		version := rapid.Uint64Range(0, 1).Draw(t, "version")
		m := &Manifest{Version: version, AllowPatch: true, Quorum: 2, Signers: signers(a, b, c)}
		v := mustVerifier(t, keyOf(t, m), m, VerifierOptions{})
		long, all := treeOfBlocks(to, 0)
		short, _ := treeOfBlocks(from, 0)
		pa, err := v.PartialSign(&long, a)
		if err != nil {
			t.Fatal(err)
		}
		pa.Patch = uint64(to - from)
		for _, i := range PatchIndexes(uint64(from), uint64(to)) {
			n, ok := all[i]
			if !ok {
				t.Fatalf("PatchIndexes(%d, %d) names node %d, not in the tree", from, to, i)
			}
			pa.Nodes = append(pa.Nodes, n)
		}
		pb, err := v.PartialSign(&short, b)
		if err != nil {
			t.Fatal(err)
		}
		env, err := v.Assemble([]PartialSignature{pb, pa})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(&short, env); err != nil {
			t.Fatalf("Verify(%d blocks, patch to %d) = %v", from, to, err)
		}
		// A wrong node hash fails.
		k := rapid.IntRange(0, len(pa.Nodes)-1).Draw(t, "node")
		pa.Nodes[k].Hash[0] ^= 1
		env, err = v.Assemble([]PartialSignature{pb, pa})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(&short, env); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("Verify with node %d changed = %v", pa.Nodes[k].Index, err)
		}
	})
}

func TestPrologue(t *testing.T) {
	a := writerKey()
	p3, _ := treeOfBlocks(3, 0)
	m := &Manifest{Version: 1, Quorum: 1, Signers: signers(a), Prologue: &Prologue{Hash: p3.Hash(), Length: 3}}
	v := mustVerifier(t, keyOf(t, m), m, VerifierOptions{})
	if err := v.Verify(&p3, nil); err != nil {
		t.Fatalf("the prologue tree without signature: %v", err)
	}
	other := Tree{}
	for _, s := range []string{"x", "y", "z"} {
		other.Append([]byte(s))
	}
	p2, _ := treeOfBlocks(2, 0)
	p4, _ := treeOfBlocks(4, 0)
	for name, tree := range map[string]Tree{"other 3 blocks": other, "2 blocks": p2, "4 blocks unsigned": p4} {
		if err := v.Verify(&tree, nil); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: Verify = %v, want ErrInvalidSignature", name, err)
		}
	}
	sig, err := v.Sign(&p4, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(&p4, sig); err != nil {
		t.Fatalf("4 blocks signed: %v", err)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	a := writerKey()
	m := &Manifest{Version: 1, Quorum: 2, Signers: signers(a)}
	if _, err := NewVerifier(keyOf(t, m), m, VerifierOptions{}); !errors.Is(err, ErrQuorum) {
		t.Errorf("quorum 2 of 1: %v, want ErrQuorum", err)
	}
	d := DefaultSignerManifest(publicOf(a))
	if _, err := NewVerifier([32]byte{1}, d, VerifierOptions{}); !errors.Is(err, ErrManifestMismatch) {
		t.Errorf("wrong key: %v, want ErrManifestMismatch", err)
	}
	v := mustVerifier(t, publicOf(a), nil, VerifierOptions{})
	if !v.Compat() || v.Key() != publicOf(a) || v.Manifest().Signers[0].PublicKey != publicOf(a) {
		t.Errorf("no manifest: Compat %v, Manifest %s", v.Compat(), fmtManifest(v.Manifest()))
	}
	tree, _ := treeOfBlocks(1, 0)
	if _, err := v.Sign(&tree, seedKey("not a signer")); !errors.Is(err, ErrNotSigner) {
		t.Errorf("Sign with another key: %v, want ErrNotSigner", err)
	}
	if _, err := v.Sign(&tree, ed25519.PrivateKey{1, 2}); !errors.Is(err, ErrNotSigner) {
		t.Errorf("Sign with a short key: %v, want ErrNotSigner", err)
	}
}

// TestSmallOrderList checks libsodium's list against the curve: every
// entry that decodes is a point of order dividing 8, the two order-8
// y-coordinates have order exactly 8, and the list with both signs of x
// holds all eight small-order points.
func TestSmallOrderList(t *testing.T) {
	eight := edwards25519.NewScalar()
	if _, err := eight.SetCanonicalBytes(append([]byte{8}, make([]byte, 31)...)); err != nil {
		t.Fatal(err)
	}
	points := map[string]bool{}
	for i, e := range smallOrder {
		for _, sign := range []byte{0, 0x80} {
			enc := e
			enc[31] |= sign
			p, err := new(edwards25519.Point).SetBytes(enc[:])
			if err != nil {
				continue
			}
			if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1 {
				t.Errorf("entry %d sign %x: not of small order", i, sign)
			}
			points[string(p.Bytes())] = true
			if !hasSmallOrder(enc[:]) {
				t.Errorf("entry %d sign %x: hasSmallOrder false", i, sign)
			}
		}
	}
	if len(points) != 8 {
		t.Errorf("%d distinct small-order points, want 8", len(points))
	}
	if w := publicOf(writerKey()); hasSmallOrder(w[:]) {
		t.Error("the writer key has small order")
	}
	for _, c := range []struct {
		hex  string
		want bool
	}{
		{"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", true},  // p-1
		{"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", false}, // p
		{"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", false}, // p, sign bit
		{"0000000000000000000000000000000000000000000000000000000000000080", true},
	} {
		b, _ := hex.DecodeString(c.hex)
		if got := isCanonical(b); got != c.want {
			t.Errorf("isCanonical(%s) = %v, want %v", c.hex, got, c.want)
		}
	}
}

// TestUnsafeNumbers: numbers JS cannot encode (above 2^53−1) make a tree
// unverifiable and unsignable, and a patch whose parent size would pass
// 2^53−1 fails.
func TestUnsafeNumbers(t *testing.T) {
	a := writerKey()
	v := mustVerifier(t, publicOf(a), nil, VerifierOptions{})
	tree, _ := treeOfBlocks(2, 0)
	sig, err := v.Sign(&tree, a)
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Tree){
		"fork 2^53":      func(t *Tree) { t.Fork = 1 << 53 },
		"root size 2^53": func(t *Tree) { t.Roots[0].Size = 1 << 53 },
	} {
		tr := tree.Clone()
		change(&tr)
		if err := v.Verify(&tr, sig); !errors.Is(err, ErrInvalidSignature) || !errors.Is(err, ErrInvalidTree) {
			t.Errorf("%s: Verify = %v, want ErrInvalidSignature and ErrInvalidTree", name, err)
		}
		if _, err := v.Sign(&tr, a); !errors.Is(err, ErrInvalidTree) {
			t.Errorf("%s: Sign = %v, want ErrInvalidTree", name, err)
		}
	}
	// Growing 1 block to 2 with a right sibling of size 2^53−1.
	one, _ := treeOfBlocks(1, 0)
	big := Node{Index: 2, Size: 1<<53 - 1}
	if _, err := one.upgrade(1, map[uint64]Node{2: big}); !errors.Is(err, ErrInvalidTree) {
		t.Errorf("upgrade with an oversized parent = %v, want ErrInvalidTree", err)
	}
	if _, err := one.upgrade(1, map[uint64]Node{}); !errors.Is(err, ErrInvalidTree) {
		t.Errorf("upgrade without nodes = %v, want ErrInvalidTree", err)
	}
	if _, err := one.upgrade(1<<53, map[uint64]Node{}); !errors.Is(err, ErrInvalidTree) {
		t.Errorf("upgrade past 2^53-1 = %v, want ErrInvalidTree", err)
	}
	if got := PatchIndexes(5, 5); got != nil {
		t.Errorf("PatchIndexes(5, 5) = %v, want nil", got)
	}
	if got := PatchIndexes(0, 3); fmt.Sprint(got) != "[1 4]" {
		t.Errorf("PatchIndexes(0, 3) = %v, want [1 4]", got)
	}
}

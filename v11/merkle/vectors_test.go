package merkle

import (
	"crypto/ed25519"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hypercore-go/hypercore/vectors"
)

const merkleFile = "v11/merkle.json"

func TestNamespaceVectors(t *testing.T) {
	v := loadV11Merkle(t)
	n := 0
	for _, g := range v.Namespaces {
		for _, tc := range g.Tests {
			t.Run(tc.Name(merkleFile), func(t *testing.T) {
				n++
				if got := Namespace(tc.Label, tc.Index); hx(got[:]) != tc.Namespace.String() {
					t.Fatalf("Namespace(%q, %d) = %x, want %s", tc.Label, tc.Index, got, tc.Namespace)
				}
			})
		}
	}
	if n != 9 {
		t.Fatalf("%d namespace cases, want 9", n)
	}
	// The package's variables are namespaces 0..5 of "hypercore".
	for i, ns := range [][32]byte{TreeNamespace, ReplicateInitiator, ReplicateResponder, ManifestNamespace, DefaultNamespace, DefaultEncryption} {
		if ns != Namespace("hypercore", byte(i)) {
			t.Errorf("namespace variable %d differs from Namespace(\"hypercore\", %d)", i, i)
		}
	}
}

func TestLeafVectors(t *testing.T) {
	for _, g := range loadV11Merkle(t).Leaves {
		for _, tc := range g.Tests {
			t.Run(tc.Name(merkleFile), func(t *testing.T) {
				got := LeafNode(4, tc.Data)
				if got.Size != tc.Size || hx(got.Hash[:]) != tc.Hash.String() || got.Index != 4 {
					t.Fatalf("LeafNode(4, %x) = %v, want 4/%d/%s", []byte(tc.Data), got, tc.Size, tc.Hash)
				}
			})
		}
	}
}

func TestParentVectors(t *testing.T) {
	for _, g := range loadV11Merkle(t).Parents {
		for _, tc := range g.Tests {
			t.Run(tc.Name(merkleFile), func(t *testing.T) {
				l, r := node(t, tc.Left), node(t, tc.Right)
				want := node(t, tc.Parent)
				if got := ParentNode(l, r); got != want {
					t.Fatalf("ParentNode(%v, %v) = %v, want %v", l, r, got, want)
				}
			})
		}
	}
}

// TestTreeVectors rebuilds each core's tree with Tree.Append and compares
// the roots, byte length and tree hash after every append call, and every
// node the core stored with the nodes Append returned.
func TestTreeVectors(t *testing.T) {
	for _, g := range loadV11Merkle(t).Trees {
		for _, tc := range g.Tests {
			t.Run(tc.Name(merkleFile), func(t *testing.T) {
				var tree Tree
				made := map[uint64]Node{}
				for i, call := range tc.Appends {
					for _, b := range call.Blocks {
						for _, n := range tree.Append([]byte(b)) {
							made[n.Index] = n
						}
					}
					if tree.Length != call.Length || tree.ByteLength() != call.ByteLength {
						t.Fatalf("after call %d: length %d byteLength %d, want %d %d", i, tree.Length, tree.ByteLength(), call.Length, call.ByteLength)
					}
					if diff := cmp.Diff(nodesOf(t, call.Roots), tree.Roots); diff != "" {
						t.Fatalf("after call %d: roots (-want +got):\n%s", i, diff)
					}
					if h := tree.Hash(); hx(h[:]) != call.TreeHash.String() {
						t.Fatalf("after call %d: Hash() = %x, want %s", i, h, call.TreeHash)
					}
				}
				if len(made) != len(tc.Nodes) {
					t.Fatalf("Append made %d nodes, the core stored %d", len(made), len(tc.Nodes))
				}
				for _, n := range nodesOf(t, tc.Nodes) {
					if made[n.Index] != n {
						t.Fatalf("node %d = %v, want %v", n.Index, made[n.Index], n)
					}
				}
			})
		}
	}
}

func TestKeyVectors(t *testing.T) {
	for _, g := range loadV11Merkle(t).Keys {
		for _, tc := range g.Tests {
			t.Run(tc.Name(merkleFile), func(t *testing.T) {
				priv := ed25519.NewKeyFromSeed(tc.Seed)
				if hx(priv) != tc.SecretKey.String() || hx(priv.Public().(ed25519.PublicKey)) != tc.PublicKey.String() {
					t.Fatalf("key pair of seed %s = %x, want %s", tc.Seed, []byte(priv), tc.SecretKey)
				}
				pk := h32(t, tc.PublicKey)
				enc, err := EncodeManifest(DefaultSignerManifest(pk))
				if err != nil || hx(enc) != tc.DefaultManifest.String() {
					t.Fatalf("EncodeManifest(DefaultSignerManifest(%x)) = %x, %v, want %s", pk, enc, err, tc.DefaultManifest)
				}
				dk := DefaultKey(pk)
				if hx(dk[:]) != tc.DefaultKey.String() {
					t.Fatalf("DefaultKey(%x) = %x, want %s", pk, dk, tc.DefaultKey)
				}
				if k, err := Key(DefaultSignerManifest(pk), false); err != nil || k != dk {
					t.Fatalf("Key(default manifest, false) = %x, %v, want %x", k, err, dk)
				}
				ck, err := Key(DefaultSignerManifest(pk), true)
				if err != nil || hx(ck[:]) != tc.CompatKey.String() {
					t.Fatalf("Key(default manifest, true) = %x, %v, want %s", ck, err, tc.CompatKey)
				}
				if d := DiscoveryKey(dk); hx(d[:]) != tc.DefaultDiscoveryKey.String() {
					t.Fatalf("DiscoveryKey(%x) = %x, want %s", dk, d, tc.DefaultDiscoveryKey)
				}
				if d := DiscoveryKey(ck); hx(d[:]) != tc.CompatDiscoveryKey.String() {
					t.Fatalf("DiscoveryKey(%x) = %x, want %s", ck, d, tc.CompatDiscoveryKey)
				}
			})
		}
	}
}

func TestDiscoveryKeyVectors(t *testing.T) {
	for _, g := range loadV11Merkle(t).DiscoveryKeys {
		for _, tc := range g.Tests {
			t.Run(tc.Name(merkleFile), func(t *testing.T) {
				if d := DiscoveryKey(h32(t, tc.Key)); hx(d[:]) != tc.DiscoveryKey.String() {
					t.Fatalf("DiscoveryKey(%s) = %x, want %s", tc.Key, d, tc.DiscoveryKey)
				}
			})
		}
	}
}

// TestCoreVectors replays each real core's history: the tree after every
// append and truncate, the signable, and the signature, which the Go
// verifier accepts and the Go signer reproduces byte for byte (Ed25519 is
// deterministic).
func TestCoreVectors(t *testing.T) {
	writer := writerKey()
	for _, g := range loadV11Merkle(t).Cores {
		for _, tc := range g.Tests {
			t.Run(tc.Name(merkleFile), func(t *testing.T) {
				if hx(writer.Public().(ed25519.PublicKey)) != tc.PublicKey.String() {
					t.Fatalf("writer public key differs: %s", tc.PublicKey)
				}
				key := h32(t, tc.Key)
				var m *Manifest
				if tc.Manifest != nil {
					var err error
					if m, err = DecodeManifest(tc.Manifest); err != nil {
						t.Fatal(err)
					}
				}
				v, err := NewVerifier(key, m, VerifierOptions{Legacy: tc.Legacy})
				if err != nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				if v.Compat() != tc.Compat {
					t.Fatalf("Compat() = %v, want %v", v.Compat(), tc.Compat)
				}
				if d := DiscoveryKey(key); hx(d[:]) != tc.DiscoveryKey.String() {
					t.Fatalf("DiscoveryKey = %x, want %s", d, tc.DiscoveryKey)
				}
				var blocks []string
				var fork uint64
				for i, st := range tc.Steps {
					switch st.Op {
					case "append":
						blocks = append(blocks, st.Blocks...)
					case "truncate":
						blocks = blocks[:st.Length]
						fork++
					default:
						t.Fatalf("unknown op %q", st.Op)
					}
					tree := Tree{Fork: fork}
					for _, b := range blocks {
						tree.Append([]byte(b))
					}
					if tree.Fork != st.Fork || tree.Length != st.Length {
						t.Fatalf("step %d: fork %d length %d, want %d %d", i, tree.Fork, tree.Length, st.Fork, st.Length)
					}
					if diff := cmp.Diff(nodesOf(t, st.Roots), tree.Roots); diff != "" {
						t.Fatalf("step %d: roots (-want +got):\n%s", i, diff)
					}
					if h := tree.Hash(); hx(h[:]) != st.TreeHash.String() {
						t.Fatalf("step %d: Hash() = %x, want %s", i, h, st.TreeHash)
					}
					if s := v.Signable(&tree, 0); hx(s) != st.Signable.String() {
						t.Fatalf("step %d: Signable = %x, want %s", i, s, st.Signable)
					}
					if err := v.Verify(&tree, st.Signature); err != nil {
						t.Fatalf("step %d: Verify(stored signature) = %v", i, err)
					}
					sig, err := v.Sign(&tree, writer)
					if err != nil || hx(sig) != st.Signature.String() {
						t.Fatalf("step %d: Sign = %x, %v, want %s", i, sig, err, st.Signature)
					}
				}
			})
		}
	}
}

// runVerifyCase runs one VerifyTest: the verifier a core builds for the
// case's key and manifest, then Verify.
func runVerifyCase(t *testing.T, tc vectors.V11VerifyTest) {
	var m *Manifest
	if tc.Manifest != nil {
		var err error
		if m, err = DecodeManifest(tc.Manifest); err != nil {
			t.Fatalf("DecodeManifest: %v", err)
		}
	}
	tree := treeOf(t, tc.Tree)
	v, err := NewVerifier(h32(t, tc.Key), m, VerifierOptions{Legacy: tc.Legacy})
	if err == nil {
		err = v.Verify(&tree, tc.Signature)
	}
	checkError(t, tc.Case, err)
	if (tc.JS == "accepts") != tc.Valid() {
		t.Fatalf("JS %s but result %s", tc.JS, tc.Result)
	}
}

func TestVerifyVectors(t *testing.T) {
	n := 0
	for _, g := range loadV11Merkle(t).Verify {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name(merkleFile), func(t *testing.T) { runVerifyCase(t, tc) })
		}
	}
	for _, g := range loadManifests(t).Verify {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name(manifestsFile), func(t *testing.T) { runVerifyCase(t, tc) })
		}
	}
	if n == 0 {
		t.Fatal("no VerifyTest cases")
	}
}

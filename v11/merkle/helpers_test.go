package merkle

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/hypercore-go/hypercore/vectors"
)

// Error classes of the v11 vector files (vectors/v11/README.md) and the
// sentinel each must match.
var errorClasses = map[string]error{
	"truncated":         ErrTruncated,
	"range":             ErrRange,
	"too-big":           ErrTooBig,
	"trailing-bytes":    ErrTrailingBytes,
	"unknown-version":   ErrUnknownVersion,
	"unknown-type":      ErrUnknownType,
	"unknown-hash":      ErrUnknownHash,
	"unknown-signature": ErrUnknownSignature,
	"quorum":            ErrQuorum,
	"invalid-field":     ErrInvalidField,
	"manifest-mismatch": ErrManifestMismatch,
	"invalid-signature": ErrInvalidSignature,
}

// checkError fails unless err matches the case's verdict: nil for a valid
// case, the sentinel of its class for an invalid one.
func checkError(t *testing.T, c vectors.Case, err error) {
	t.Helper()
	if c.Valid() {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	want, ok := errorClasses[c.Error]
	if !ok {
		t.Fatalf("unknown error class %q", c.Error)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want class %q (%v)", err, c.Error, want)
	}
}

func loadV11Merkle(t testing.TB) *vectors.V11Merkle {
	t.Helper()
	v, err := vectors.LoadV11Merkle()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func loadManifests(t testing.TB) *vectors.Manifests {
	t.Helper()
	v, err := vectors.LoadManifests()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func h32(t testing.TB, h vectors.Hex) [32]byte {
	t.Helper()
	if len(h) != 32 {
		t.Fatalf("%d-byte value where 32 bytes are needed", len(h))
	}
	return [32]byte(h)
}

func node(t testing.TB, n vectors.V11Node) Node {
	return Node{Index: n.Index, Size: n.Size, Hash: h32(t, n.Hash)}
}

func nodesOf(t testing.TB, ns []vectors.V11Node) []Node {
	var out []Node
	for _, n := range ns {
		out = append(out, node(t, n))
	}
	return out
}

func treeOf(t testing.TB, v vectors.V11Tree) Tree {
	return Tree{Fork: v.Fork, Length: v.Length, Roots: nodesOf(t, v.Roots)}
}

func manifestOf(t testing.TB, j vectors.ManifestJSON) *Manifest {
	t.Helper()
	if j.Hash != "blake2b" {
		t.Fatalf("hash %q", j.Hash)
	}
	m := &Manifest{Version: j.Version, AllowPatch: j.AllowPatch, Quorum: j.Quorum}
	for _, s := range j.Signers {
		if s.Signature != "ed25519" {
			t.Fatalf("signature %q", s.Signature)
		}
		m.Signers = append(m.Signers, Signer{Namespace: h32(t, s.Namespace), PublicKey: h32(t, s.PublicKey)})
	}
	if j.Prologue != nil {
		m.Prologue = &Prologue{Hash: h32(t, j.Prologue.Hash), Length: j.Prologue.Length}
	}
	if j.Linked != nil {
		m.Linked = [][32]byte{}
		for _, k := range j.Linked {
			m.Linked = append(m.Linked, h32(t, k))
		}
	}
	if j.UserData != nil {
		m.UserData = append([]byte{}, j.UserData...)
	}
	return m
}

func hx(b []byte) string { return hex.EncodeToString(b) }

// fmtManifest prints a manifest for failure messages.
func fmtManifest(m *Manifest) string {
	if m == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("{v%d patch=%v quorum=%d signers=[", m.Version, m.AllowPatch, m.Quorum)
	for _, x := range m.Signers {
		s += fmt.Sprintf("%x/%x ", x.Namespace[:4], x.PublicKey[:4])
	}
	s += "]"
	if m.Prologue != nil {
		s += fmt.Sprintf(" prologue=%x/%d", m.Prologue.Hash[:4], m.Prologue.Length)
	}
	if m.Linked != nil {
		s += fmt.Sprintf(" linked=%d", len(m.Linked))
	}
	if m.UserData != nil {
		s += " userData=" + hx(m.UserData)
	}
	return s + "}"
}

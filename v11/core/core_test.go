package core

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

func testKeyPair(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32))
}

func newWriter(t *testing.T, opts *CreateOptions) *Core {
	t.Helper()
	if opts == nil {
		opts = &CreateOptions{KeyPair: testKeyPair(1)}
	}
	c, err := Create(storage.NewMemory(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newClone(t *testing.T, key [32]byte) *Core {
	t.Helper()
	c, err := Open(storage.NewMemory(), &OpenOptions{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connect replicates a and b over a TCP connection on 127.0.0.1 (a dials).
func connect(t *testing.T, a, b *Core) {
	t.Helper()
	ca, cb := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { a.Replicate(ctx, ca, &ReplicateOptions{Initiator: true}); done <- struct{}{} }()
	go func() { b.Replicate(ctx, cb, &ReplicateOptions{}); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); ca.Close(); cb.Close(); <-done; <-done })
}

func TestCreateKinds(t *testing.T) {
	kp := testKeyPair(1)
	pub := [32]byte(kp.Public().(ed25519.PublicKey))
	def := newWriter(t, &CreateOptions{KeyPair: kp})
	if def.Key() != merkle.DefaultKey(pub) {
		t.Errorf("default core key %x, want DefaultKey %x", def.Key(), merkle.DefaultKey(pub))
	}
	compat := newWriter(t, &CreateOptions{KeyPair: kp, Compat: true})
	if compat.Key() != pub {
		t.Errorf("compat core key %x, want the public key %x", compat.Key(), pub)
	}
	for _, c := range []*Core{def, compat} {
		if n, err := c.Append([]byte("a"), []byte("b")); err != nil || n != 2 {
			t.Fatalf("Append = %d, %v", n, err)
		}
		v, err := merkle.NewVerifier(c.Key(), c.Manifest(), merkle.VerifierOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		tr := c.tree.Clone()
		c.mu.Unlock()
		if err := v.Verify(&tr, c.Signature()); err != nil {
			t.Errorf("signature of %x: %v", c.Key(), err)
		}
	}
}

func TestReplicateGoGo(t *testing.T) {
	w := newWriter(t, nil)
	for i := 0; i < 100; i++ {
		if _, err := w.Append([]byte(fmt.Sprintf("block %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	r := newClone(t, w.Key())
	connect(t, r, w)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := r.GetContext(ctx, 57)
	if err != nil || string(got) != "block 57" {
		t.Fatalf("GetContext(57) = %q, %v", got, err)
	}
	if r.Has(56) || r.Has(58) {
		t.Error("a sparse get downloaded other blocks")
	}
	if err := r.Download(ctx, 0, 100); err != nil {
		t.Fatal(err)
	}
	if r.ContiguousLength() != 100 {
		t.Errorf("ContiguousLength = %d", r.ContiguousLength())
	}
	// live
	if _, err := w.Append([]byte("live")); err != nil {
		t.Fatal(err)
	}
	n, err := r.Update(ctx, 100)
	if err != nil || n != 101 {
		t.Fatalf("Update = %d, %v", n, err)
	}
	if got, err := r.GetContext(ctx, 100); err != nil || string(got) != "live" {
		t.Fatalf("GetContext(100) = %q, %v", got, err)
	}
	if _, err := r.Append([]byte("x")); !errors.Is(err, ErrNotWritable) {
		t.Errorf("clone Append = %v, want ErrNotWritable", err)
	}
}

// TestWritableRules: a core whose manifest needs two signatures is not
// writable by one of its signers, and a key pair outside the manifest
// cannot write either; a block over MaxBlockSize is refused and changes
// nothing.
func TestWritableRules(t *testing.T) {
	a, b := testKeyPair(1), testKeyPair(2)
	pa := [32]byte(a.Public().(ed25519.PublicKey))
	pb := [32]byte(b.Public().(ed25519.PublicKey))
	two := &merkle.Manifest{Version: 1, Quorum: 2, Signers: []merkle.Signer{
		{Namespace: merkle.DefaultNamespace, PublicKey: pa}, {Namespace: merkle.DefaultNamespace, PublicKey: pb}}}
	c := newWriter(t, &CreateOptions{KeyPair: a, Manifest: two})
	if c.Writable() {
		t.Error("a quorum-2 core is Writable with one key")
	}
	if _, err := c.Append([]byte("x")); !errors.Is(err, ErrNotWritable) {
		t.Errorf("Append on a quorum-2 core = %v, want ErrNotWritable", err)
	}
	other := newWriter(t, &CreateOptions{KeyPair: b, Manifest: merkle.DefaultSignerManifest(pa)})
	if other.Writable() {
		t.Error("a core is Writable with a key pair its manifest does not name")
	}

	w := newWriter(t, nil)
	if _, err := w.Append(make([]byte, MaxBlockSize+1)); !errors.Is(err, ErrBlockTooBig) {
		t.Errorf("Append(MaxBlockSize+1 bytes) = %v, want ErrBlockTooBig", err)
	}
	if w.Length() != 0 {
		t.Errorf("Length after a refused append = %d", w.Length())
	}
}

// TestTruncatePrologue: a truncation into the prologue is refused.
func TestTruncatePrologue(t *testing.T) {
	kp := testKeyPair(3)
	pub := [32]byte(kp.Public().(ed25519.PublicKey))
	// The prologue of the first two blocks "a", "b".
	var tr merkle.Tree
	tr.Append([]byte("a"))
	tr.Append([]byte("b"))
	m := merkle.DefaultSignerManifest(pub)
	m.Prologue = &merkle.Prologue{Hash: tr.Hash(), Length: 2}
	c := newWriter(t, &CreateOptions{KeyPair: kp, Manifest: m})
	if _, err := c.Append([]byte("a"), []byte("b"), []byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := c.Truncate(1); !errors.Is(err, ErrInvalidLength) {
		t.Errorf("Truncate(1) inside a prologue of 2 = %v, want ErrInvalidLength", err)
	}
	if err := c.Truncate(2); err != nil {
		t.Errorf("Truncate(2) = %v", err)
	}
	if c.Fork() != 1 || c.Length() != 2 {
		t.Errorf("after Truncate(2): fork %d length %d", c.Fork(), c.Length())
	}
}

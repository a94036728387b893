package core

import (
	"errors"
	"testing"

	"github.com/hypercore-go/hypercore/merkle"
)

// TestForgedProofEndingBelowTheRoots: a hash-only proof whose nodes hash up
// to a node that is not one of the roots it is verified against must be
// refused, even though the roots (from the feed's own tree) carry a genuine
// signature. Without the check a peer rewrote a writer's leaf 5 with made-up
// hashes (found by FuzzReplicate; JS 9.12 accepts the same put).
func TestForgedProofEndingBelowTheRoots(t *testing.T) {
	w := blocksFeed(t, 16)
	before, err := w.Check()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := w.readSignatureForTest(15)
	if err != nil {
		t.Fatal(err)
	}
	var h1, h2, h3 merkle.Hash
	h1[0], h2[0], h3[0] = 1, 2, 3
	_, err = w.LowLevel().Put(5, nil, &Proof{Nodes: []merkle.Node{{Index: 10, Hash: h1, Size: 7}, {Index: 8, Hash: h2, Size: 7}, {Index: 23, Hash: h3, Size: 1}}, Signature: sig})
	if !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("Put of a forged hash-only proof = %v, want ErrInvalidProof", err)
	}
	if after, err := w.Check(); err != nil || after != before {
		t.Fatalf("the feed changed: %+v, %v (before %+v)", after, err, before)
	}
}

// readSignatureForTest returns the stored signature of length i+1.
func (f *Feed) readSignatureForTest(i uint64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readSignature(i)
}

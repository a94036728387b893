package merkle

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeClasses are the error classes a decoder may return.
var decodeClasses = []error{ErrTruncated, ErrRange, ErrTooBig, ErrTrailingBytes, ErrUnknownVersion, ErrUnknownType, ErrUnknownHash, ErrUnknownSignature}

func typedDecodeError(err error) bool {
	for _, c := range decodeClasses {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

// FuzzManifest checks DecodeManifest on any input: an error is typed and
// comes with no manifest; a manifest encodes, and its encoding decodes to
// the same manifest (decode → encode → decode), with the same hash.
func FuzzManifest(f *testing.F) {
	v := loadManifests(f)
	seeds := 0
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			f.Add([]byte(tc.Encoded))
			seeds++
		}
	}
	for _, g := range v.Decode {
		for _, tc := range g.Tests {
			f.Add([]byte(tc.Encoded))
			seeds++
		}
	}
	for _, g := range v.Validate {
		for _, tc := range g.Tests {
			f.Add([]byte(tc.Encoded))
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			if m != nil {
				t.Fatalf("DecodeManifest returned %s with error %v", fmtManifest(m), err)
			}
			if !typedDecodeError(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		enc, err := EncodeManifest(m)
		if err != nil {
			t.Fatalf("EncodeManifest(decoded %s) = %v", fmtManifest(m), err)
		}
		if len(enc) > len(b) {
			t.Fatalf("re-encoding is longer (%d bytes) than the input (%d)", len(enc), len(b))
		}
		again, err := DecodeManifest(enc)
		if err != nil {
			t.Fatalf("DecodeManifest(EncodeManifest(m)) = %v", err)
		}
		if diff := cmp.Diff(m, again); diff != "" {
			t.Fatalf("decode(encode(decode(x))) differs (-first +second):\n%s", diff)
		}
		if h1, _ := ManifestHash(m); h1 != func() [32]byte { h, _ := ManifestHash(again); return h }() {
			t.Fatal("hash differs after a round trip")
		}
		_ = m.Validate() // must not panic
	})
}

// FuzzMultiSignature checks both envelope decoders the same way, and that
// verifying any bytes as a signature returns an error of class
// ErrInvalidSignature or nil, never a panic.
func FuzzMultiSignature(f *testing.F) {
	v := loadManifests(f)
	seeds := 0
	for _, g := range v.Envelopes {
		for _, tc := range g.Tests {
			f.Add([]byte(tc.Encoded))
			seeds++
		}
	}
	for _, g := range v.Assemble {
		for _, tc := range g.Tests {
			f.Add([]byte(tc.Envelope))
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	a, b := writerKey(), seedKey("hypercore-go v11 vectors: other")
	m1 := &Manifest{Version: 1, AllowPatch: true, Quorum: 2, Signers: signers(a, b)}
	m0 := &Manifest{Version: 0, AllowPatch: true, Quorum: 2, Signers: signers(a, b)}
	v1 := mustVerifier(f, keyOf(f, m1), m1, VerifierOptions{})
	v0 := mustVerifier(f, keyOf(f, m0), m0, VerifierOptions{})
	tree, _ := treeOfBlocks(5, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := DecodeMultiSignature(b); err != nil {
			if s != nil || !typedDecodeError(err) {
				t.Fatalf("DecodeMultiSignature: %+v, %v", s, err)
			}
		} else {
			enc, err := EncodeMultiSignature(s)
			if err != nil {
				t.Fatal(err)
			}
			again, err := DecodeMultiSignature(enc)
			if err != nil || !cmp.Equal(s, again) {
				t.Fatalf("round trip: %+v, %v, want %+v", again, err, s)
			}
		}
		if s, err := DecodeMultiSignatureV0(b); err != nil {
			if s != nil || !typedDecodeError(err) {
				t.Fatalf("DecodeMultiSignatureV0: %+v, %v", s, err)
			}
		} else {
			enc, err := EncodeMultiSignatureV0(s)
			if err != nil {
				t.Fatal(err)
			}
			again, err := DecodeMultiSignatureV0(enc)
			if err != nil || !cmp.Equal(s, again) {
				t.Fatalf("round trip v0: %+v, %v, want %+v", again, err, s)
			}
		}
		for _, v := range []*Verifier{v1, v0} {
			if err := v.Verify(&tree, b); err != nil && !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Verify: %v", err)
			}
		}
	})
}

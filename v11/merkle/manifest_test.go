package merkle

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/blake2b"
	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/vectors"
)

const manifestsFile = "v11/manifests.json"

// seedKey is the Ed25519 key pair of seed BLAKE2b-256(label), as the JS
// generators make them (interop/js11/vectors/lib/vectors.js seed).
func seedKey(label string) ed25519.PrivateKey {
	s := blake2b.Sum256([]byte(label))
	return ed25519.NewKeyFromSeed(s[:])
}

func writerKey() ed25519.PrivateKey { return seedKey("hypercore-go v11 vectors: writer") }

func publicOf(priv ed25519.PrivateKey) [32]byte {
	return [32]byte(priv.Public().(ed25519.PublicKey))
}

// TestManifestEncodeVectors encodes each manifest JS made, compares the
// bytes and the hash, decodes the bytes to what JS decoded, and validates.
func TestManifestEncodeVectors(t *testing.T) {
	for _, g := range loadManifests(t).Encode {
		for _, tc := range g.Tests {
			t.Run(tc.Name(manifestsFile), func(t *testing.T) {
				m := manifestOf(t, tc.Manifest)
				enc, err := EncodeManifest(m)
				if err != nil || hx(enc) != tc.Encoded.String() {
					t.Fatalf("EncodeManifest(%s) = %x, %v, want %s", fmtManifest(m), enc, err, tc.Encoded)
				}
				h, err := ManifestHash(m)
				if err != nil || hx(h[:]) != tc.Hash.String() {
					t.Fatalf("ManifestHash(%s) = %x, %v, want %s", fmtManifest(m), h, err, tc.Hash)
				}
				got, err := DecodeManifest(tc.Encoded)
				if err != nil {
					t.Fatalf("DecodeManifest(%s) = %v", tc.Encoded, err)
				}
				if diff := cmp.Diff(manifestOf(t, tc.Decoded), got); diff != "" {
					t.Fatalf("DecodeManifest(%s) (-want +got):\n%s", tc.Encoded, diff)
				}
				if err := m.Validate(); err != nil {
					t.Fatalf("Validate(%s) = %v", fmtManifest(m), err)
				}
				// Every proper prefix is truncated.
				for n := range len(enc) {
					if _, err := DecodeManifest(enc[:n]); !errors.Is(err, ErrTruncated) {
						t.Fatalf("DecodeManifest(%x) = %v, want ErrTruncated", enc[:n], err)
					}
				}
			})
		}
	}
}

func TestManifestDecodeVectors(t *testing.T) {
	for _, g := range loadManifests(t).Decode {
		for _, tc := range g.Tests {
			t.Run(tc.Name(manifestsFile), func(t *testing.T) {
				got, err := DecodeManifest(tc.Encoded)
				checkError(t, tc.Case, err)
				if err != nil {
					if got != nil {
						t.Fatalf("DecodeManifest(%s) = %s with error", tc.Encoded, fmtManifest(got))
					}
					if tc.JS == "decodes" && !tc.HasFlag("JSLenient") {
						t.Fatal("JS decodes but the case is invalid without JSLenient")
					}
				}
				if tc.JS == "decodes" {
					// What JS decoded: the whole input, or its manifest part.
					want := manifestOf(t, *tc.Manifest)
					d := compact.NewDecoder(tc.Encoded)
					if m := ReadManifest(d); d.Err() != nil || !cmp.Equal(want, m) {
						t.Fatalf("ReadManifest(%s) = %s, %v, want %s", tc.Encoded, fmtManifest(m), d.Err(), fmtManifest(want))
					}
					if err == nil && !cmp.Equal(want, got) {
						t.Fatalf("DecodeManifest(%s) = %s, want %s", tc.Encoded, fmtManifest(got), fmtManifest(want))
					}
				}
			})
		}
	}
}

func TestManifestValidateVectors(t *testing.T) {
	for _, g := range loadManifests(t).Validate {
		for _, tc := range g.Tests {
			t.Run(tc.Name(manifestsFile), func(t *testing.T) {
				m, err := DecodeManifest(tc.Encoded)
				if err != nil {
					t.Fatalf("DecodeManifest(%s) = %v", tc.Encoded, err)
				}
				if diff := cmp.Diff(manifestOf(t, tc.Manifest), m); diff != "" {
					t.Fatalf("DecodeManifest(%s) (-want +got):\n%s", tc.Encoded, diff)
				}
				checkError(t, tc.Case, m.Validate())
			})
		}
	}
}

func envelopeOf(t *testing.T, e *vectors.EnvelopeJSON) (*MultiSignature, *MultiSignatureV0) {
	s1 := &MultiSignature{Patch: nodesOf(t, e.Patch)}
	s0 := &MultiSignatureV0{Patch: nodesOf(t, e.Patch)}
	for _, p := range e.Proofs {
		sig := [64]byte(p.Signature)
		if p.Patch != nil {
			s1.Proofs = append(s1.Proofs, Proof{Signer: p.Signer, Signature: sig, Patch: *p.Patch})
			continue
		}
		q := ProofV0{Signer: p.Signer, Signature: sig}
		if p.PatchV0 != nil {
			q.Patch = &PatchV0{Start: p.PatchV0.Start, Length: p.PatchV0.Length, Nodes: p.PatchV0.Nodes}
			if q.Patch.Nodes == nil {
				q.Patch.Nodes = []uint64{}
			}
		}
		s0.Proofs = append(s0.Proofs, q)
	}
	return s1, s0
}

// TestEnvelopeVectors decodes each envelope as JS did and, for valid ones,
// re-encodes to the same bytes (less any trailing bytes JS ignored).
func TestEnvelopeVectors(t *testing.T) {
	for _, g := range loadManifests(t).Envelopes {
		for _, tc := range g.Tests {
			t.Run(tc.Name(manifestsFile), func(t *testing.T) {
				var err error
				var enc []byte
				if tc.Version == 0 {
					var s *MultiSignatureV0
					s, err = DecodeMultiSignatureV0(tc.Encoded)
					checkError(t, tc.Case, err)
					if err != nil {
						return
					}
					_, want := envelopeOf(t, tc.Envelope)
					if diff := cmp.Diff(want, s); diff != "" {
						t.Fatalf("DecodeMultiSignatureV0(%s) (-want +got):\n%s", tc.Encoded, diff)
					}
					enc, err = EncodeMultiSignatureV0(s)
				} else {
					var s *MultiSignature
					s, err = DecodeMultiSignature(tc.Encoded)
					checkError(t, tc.Case, err)
					if err != nil {
						return
					}
					want, _ := envelopeOf(t, tc.Envelope)
					if diff := cmp.Diff(want, s); diff != "" {
						t.Fatalf("DecodeMultiSignature(%s) (-want +got):\n%s", tc.Encoded, diff)
					}
					enc, err = EncodeMultiSignature(s)
				}
				if err != nil {
					t.Fatalf("re-encoding: %v", err)
				}
				// The same bytes, less trailing bytes and ignored flag bits.
				if !bytes.HasPrefix(tc.Encoded, enc) && !tc.HasFlag("IgnoredBits") {
					t.Fatalf("re-encoded %x, want a prefix of %s", enc, tc.Encoded)
				}
			})
		}
	}
}

// verifierOfVersion returns a verifier whose Assemble writes envelopes of
// version (the manifest's other fields do not matter to Assemble).
func verifierOfVersion(t *testing.T, version uint64) *Verifier {
	m := &Manifest{Version: version, Quorum: 1, Signers: []Signer{{Namespace: DefaultNamespace}, {Namespace: DefaultNamespace}}}
	key, err := ManifestHash(m)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(key, m, VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAssembleVectors(t *testing.T) {
	for _, g := range loadManifests(t).Assemble {
		for _, tc := range g.Tests {
			t.Run(tc.Name(manifestsFile), func(t *testing.T) {
				var parts []PartialSignature
				for _, p := range tc.Parts {
					parts = append(parts, PartialSignature{Signer: p.Signer, Signature: [64]byte(p.Signature), Patch: p.Patch, Nodes: nodesOf(t, p.Nodes)})
				}
				got, err := verifierOfVersion(t, tc.Version).Assemble(parts)
				if err != nil || hx(got) != tc.Envelope.String() {
					t.Fatalf("Assemble = %x, %v, want %s", got, err, tc.Envelope)
				}
			})
		}
	}
}

// TestPatchIndexesMatchJS checks PatchIndexes against the nodes JS's
// partialSignature put in the patch vectors (5 to 8 blocks).
func TestPatchIndexesMatchJS(t *testing.T) {
	found := false
	for _, g := range loadManifests(t).Assemble {
		for _, tc := range g.Tests {
			for _, p := range tc.Parts {
				if p.Patch == 0 {
					continue
				}
				found = true
				var got []uint64
				for _, n := range p.Nodes {
					got = append(got, n.Index)
				}
				if want := PatchIndexes(5, 5+p.Patch); !cmp.Equal(want, got) {
					t.Errorf("%s: PatchIndexes(5, %d) = %v, JS sent %v", tc.Name(manifestsFile), 5+p.Patch, want, got)
				}
			}
		}
	}
	if !found {
		t.Fatal("no patch in the vectors")
	}
}

// genManifest draws a manifest that encodes and decodes to itself: for
// version 0 one of the three shapes exactly, for 1 to 3 any fields.
func genManifest(t *rapid.T) *Manifest {
	key := func(label string) [32]byte {
		return [32]byte(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, label))
	}
	signers := func() []Signer {
		n := rapid.IntRange(0, 4).Draw(t, "signers")
		var ss []Signer
		for range n {
			ns := DefaultNamespace
			if rapid.Bool().Draw(t, "custom namespace") {
				ns = key("namespace")
			}
			ss = append(ss, Signer{Namespace: ns, PublicKey: key("publicKey")})
		}
		return ss
	}
	uint53 := rapid.Uint64Range(0, compact.MaxSafeInteger)
	m := &Manifest{Version: rapid.Uint64Range(0, 3).Draw(t, "version")}
	if m.Version == 0 {
		switch rapid.IntRange(0, 2).Draw(t, "type") {
		case 0:
			m.Prologue = &Prologue{Hash: key("prologue")}
		case 1:
			m.Quorum = 1
			m.Signers = []Signer{{Namespace: key("namespace"), PublicKey: key("publicKey")}}
		default:
			m.AllowPatch = rapid.Bool().Draw(t, "allowPatch")
			m.Signers = signers()
			m.Quorum = uint53.Draw(t, "quorum")
			if m.Quorum == 1 && len(m.Signers) == 1 && !m.AllowPatch {
				m.Quorum = 2
			}
		}
		return m
	}
	m.AllowPatch = rapid.Bool().Draw(t, "allowPatch")
	m.Quorum = uint53.Draw(t, "quorum")
	m.Signers = signers()
	if rapid.Bool().Draw(t, "prologue") {
		m.Prologue = &Prologue{Hash: key("prologue"), Length: uint53.Draw(t, "length")}
	}
	if rapid.Bool().Draw(t, "linked") {
		m.Linked = [][32]byte{}
		for range rapid.IntRange(0, 3).Draw(t, "linked count") {
			m.Linked = append(m.Linked, key("linked"))
		}
	}
	if rapid.Bool().Draw(t, "userData") {
		m.UserData = append([]byte{}, rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "userData")...)
	}
	return m
}

// TestManifestRoundTrip: every representable manifest decodes from its
// encoding to itself, the encoding has the length the fields predict, and
// the hash is BLAKE2b-256(MANIFEST || encoding).
func TestManifestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genManifest(t)
		enc, err := EncodeManifest(m)
		if err != nil {
			t.Fatalf("EncodeManifest(%s) = %v", fmtManifest(m), err)
		}
		got, err := DecodeManifest(enc)
		if err != nil {
			t.Fatalf("DecodeManifest(%x) = %v", enc, err)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Fatalf("DecodeManifest(EncodeManifest(m)) (-m +got):\n%s", diff)
		}
		h, _ := ManifestHash(m)
		if want := blake2b.Sum256(append(ManifestNamespace[:], enc...)); h != want {
			t.Fatalf("ManifestHash = %x, want %x", h, want)
		}
		for n := range len(enc) {
			if _, err := DecodeManifest(enc[:n]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("DecodeManifest(%x) = %v, want ErrTruncated", enc[:n], err)
			}
		}
		if _, err := DecodeManifest(append(enc, 0)); !errors.Is(err, ErrTrailingBytes) {
			t.Fatalf("DecodeManifest with a trailing byte = %v, want ErrTrailingBytes", err)
		}
	})
}

// TestManifestEncodeRefuses lists what AppendManifest must refuse.
func TestManifestEncodeRefuses(t *testing.T) {
	ok := DefaultSignerManifest(publicOf(writerKey()))
	for _, c := range []struct {
		name   string
		change func(m *Manifest)
		want   error
	}{
		{"version 4", func(m *Manifest) { m.Version = 4 }, ErrUnknownVersion},
		{"hash type 1", func(m *Manifest) { m.Hash = 1 }, ErrUnknownHash},
		{"signature type 1", func(m *Manifest) { m.Signers[0].Signature = 1 }, ErrUnknownSignature},
		{"quorum 2^53", func(m *Manifest) { m.Quorum = 1 << 53 }, ErrRange},
		{"prologue length 2^53", func(m *Manifest) { m.Prologue = &Prologue{Length: 1 << 53} }, ErrRange},
	} {
		m := *ok
		m.Signers = append([]Signer(nil), ok.Signers...)
		c.change(&m)
		b, err := AppendManifest([]byte{7}, &m)
		if !errors.Is(err, c.want) || !bytes.Equal(b, []byte{7}) {
			t.Errorf("%s: AppendManifest = %x, %v, want 07, %v", c.name, b, err, c.want)
		}
	}
	if _, err := EncodeManifest(nil); err == nil {
		t.Error("EncodeManifest(nil) succeeded")
	}
}

// TestMultiSignatureRoundTrip: envelopes decode from their encodings to
// themselves, and every proper prefix is truncated.
func TestMultiSignatureRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		uint53 := rapid.Uint64Range(0, compact.MaxSafeInteger)
		s := new(MultiSignature)
		for range rapid.IntRange(0, 3).Draw(t, "proofs") {
			s.Proofs = append(s.Proofs, Proof{Signer: uint53.Draw(t, "signer"), Signature: [64]byte(rapid.SliceOfN(rapid.Byte(), 64, 64).Draw(t, "sig")), Patch: uint53.Draw(t, "patch")})
		}
		for range rapid.IntRange(0, 3).Draw(t, "nodes") {
			s.Patch = append(s.Patch, Node{Index: uint53.Draw(t, "index"), Size: uint53.Draw(t, "size"), Hash: [32]byte(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "hash"))})
		}
		enc, err := EncodeMultiSignature(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeMultiSignature(enc)
		if err != nil || !cmp.Equal(s, got) {
			t.Fatalf("DecodeMultiSignature(%x) = %+v, %v, want %+v", enc, got, err, s)
		}
		for n := range len(enc) {
			if _, err := DecodeMultiSignature(enc[:n]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("DecodeMultiSignature(%x) = %v, want ErrTruncated", enc[:n], err)
			}
		}
	})
}

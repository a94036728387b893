package merkle

import (
	"fmt"

	"github.com/hypercore-go/hypercore/v11/compact"
)

// A Proof is one signer's entry in a multisig envelope (merkle.md,
// "Signature envelopes"; JS messages.js multisigInput): the index of the
// signer in the manifest, its Ed25519 signature, and Patch, the number of
// blocks the signer signed beyond the verified tree (0 for none).
type Proof struct {
	Signer    uint64
	Signature [64]byte
	Patch     uint64
}

// A MultiSignature is the signature envelope of a version 1+ manifest,
// even with one signer (JS multiSignature):
//
//	uint(#proofs) { uint(signer) fixed64(signature) uint(patch) }*
//	uint(#nodes) { uint(index) uint(size) fixed32(hash) }*
//
// Patch holds the nodes that proofs with a patch need, each once.
type MultiSignature struct {
	Proofs []Proof
	Patch  []Node
}

// A PatchV0 is a version 0 proof's patch (JS patchEncodingv0): the length
// the signer signed beyond Start, and references into the envelope's
// node list.
type PatchV0 struct {
	Start  uint64
	Length uint64
	Nodes  []uint64
}

// A ProofV0 is one signer's entry in a version 0 envelope (JS
// multisigInputv0): a flags uint (bit 0: a patch follows), the signer, the
// signature and the optional patch.
type ProofV0 struct {
	Signer    uint64
	Signature [64]byte
	Patch     *PatchV0
}

// A MultiSignatureV0 is the signature envelope of a version 0 manifest with
// several signers or patches (JS multiSignaturev0).
type MultiSignatureV0 struct {
	Proofs []ProofV0
	Patch  []Node
}

// EncodeMultiSignature returns the encoding of s. It fails with ErrRange
// on an integer above 2^53−1 and ErrTooBig on more than 0x100000 proofs or
// nodes, which JS could not decode.
func EncodeMultiSignature(s *MultiSignature) ([]byte, error) {
	if len(s.Proofs) > compact.MaxArrayLength || len(s.Patch) > compact.MaxArrayLength {
		return nil, fmt.Errorf("%w: %d proofs, %d nodes", ErrTooBig, len(s.Proofs), len(s.Patch))
	}
	b := compact.AppendArrayLen(nil, len(s.Proofs))
	for _, p := range s.Proofs {
		if p.Signer > compact.MaxSafeInteger || p.Patch > compact.MaxSafeInteger {
			return nil, fmt.Errorf("%w: proof signer %d patch %d", ErrRange, p.Signer, p.Patch)
		}
		b = compact.AppendUint(b, p.Signer)
		b = append(b, p.Signature[:]...)
		b = compact.AppendUint(b, p.Patch)
	}
	return appendNodes(b, s.Patch)
}

func appendNodes(b []byte, nodes []Node) ([]byte, error) {
	b = compact.AppendArrayLen(b, len(nodes))
	for _, n := range nodes {
		if n.Index > compact.MaxSafeInteger || n.Size > compact.MaxSafeInteger {
			return nil, fmt.Errorf("%w: node %d size %d", ErrRange, n.Index, n.Size)
		}
		b = compact.AppendUint(b, n.Index)
		b = compact.AppendUint(b, n.Size)
		b = append(b, n.Hash[:]...)
	}
	return b, nil
}

// DecodeMultiSignature decodes a version 1+ signature envelope. Errors:
// ErrTruncated, ErrRange, ErrTooBig.
//
// Compatibility: bytes after the node list are ignored, as JS ignores them
// (merkle.md, "Signature envelopes"): "A receiver MUST accept an envelope
// with trailing bytes, as JS does." A peer that appends bytes to a valid
// envelope leaves it valid for JS peers, which store and forward it as it
// is.
func DecodeMultiSignature(b []byte) (*MultiSignature, error) {
	d := compact.NewDecoder(b)
	s := new(MultiSignature)
	n := readCount(d)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		var p Proof
		p.Signer = d.Uint()
		p.Signature = d.Fixed64()
		p.Patch = d.Uint()
		if d.Err() == nil {
			s.Proofs = append(s.Proofs, p)
		}
	}
	s.Patch = readNodes(d)
	if d.Err() != nil {
		return nil, fmt.Errorf("merkle: decode signature: %w", d.Err())
	}
	return s, nil
}

func readNodes(d *compact.Decoder) []Node {
	n := readCount(d)
	var nodes []Node
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		var x Node
		x.Index = d.Uint()
		x.Size = d.Uint()
		x.Hash = d.Fixed32()
		if d.Err() == nil {
			nodes = append(nodes, x)
		}
	}
	return nodes
}

// EncodeMultiSignatureV0 returns the encoding of a version 0 envelope:
//
//	uint(#proofs) { uint(flags) uint(signer) fixed64(signature)
//	                [uint(start) uint(length) uint(#refs) uint(ref)*] }*
//	uint(#nodes) { uint(index) uint(size) fixed32(hash) }*
func EncodeMultiSignatureV0(s *MultiSignatureV0) ([]byte, error) {
	if len(s.Proofs) > compact.MaxArrayLength || len(s.Patch) > compact.MaxArrayLength {
		return nil, fmt.Errorf("%w: %d proofs, %d nodes", ErrTooBig, len(s.Proofs), len(s.Patch))
	}
	b := compact.AppendArrayLen(nil, len(s.Proofs))
	for _, p := range s.Proofs {
		if p.Signer > compact.MaxSafeInteger {
			return nil, fmt.Errorf("%w: proof signer %d", ErrRange, p.Signer)
		}
		b = compact.AppendUint(b, boolFlag(p.Patch != nil, 1))
		b = compact.AppendUint(b, p.Signer)
		b = append(b, p.Signature[:]...)
		if p.Patch != nil {
			if p.Patch.Start > compact.MaxSafeInteger || p.Patch.Length > compact.MaxSafeInteger {
				return nil, fmt.Errorf("%w: patch start %d length %d", ErrRange, p.Patch.Start, p.Patch.Length)
			}
			if len(p.Patch.Nodes) > compact.MaxArrayLength {
				return nil, fmt.Errorf("%w: %d node references", ErrTooBig, len(p.Patch.Nodes))
			}
			b = compact.AppendUint(b, p.Patch.Start)
			b = compact.AppendUint(b, p.Patch.Length)
			b = compact.AppendArrayLen(b, len(p.Patch.Nodes))
			for _, r := range p.Patch.Nodes {
				if r > compact.MaxSafeInteger {
					return nil, fmt.Errorf("%w: node reference %d", ErrRange, r)
				}
				b = compact.AppendUint(b, r)
			}
		}
	}
	return appendNodes(b, s.Patch)
}

// DecodeMultiSignatureV0 decodes a version 0 envelope. Errors and trailing
// bytes as DecodeMultiSignature. Flag bits other than bit 0 are ignored, as
// in JS.
func DecodeMultiSignatureV0(b []byte) (*MultiSignatureV0, error) {
	d := compact.NewDecoder(b)
	s := new(MultiSignatureV0)
	n := readCount(d)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		var p ProofV0
		flags := d.Uint()
		p.Signer = d.Uint()
		p.Signature = d.Fixed64()
		if flags&1 != 0 {
			pa := &PatchV0{Start: d.Uint(), Length: d.Uint()}
			m := readCount(d)
			pa.Nodes = []uint64{}
			for j := uint64(0); j < m && d.Err() == nil; j++ {
				if r := d.Uint(); d.Err() == nil {
					pa.Nodes = append(pa.Nodes, r)
				}
			}
			p.Patch = pa
		}
		if d.Err() == nil {
			s.Proofs = append(s.Proofs, p)
		}
	}
	s.Patch = readNodes(d)
	if d.Err() != nil {
		return nil, fmt.Errorf("merkle: decode v0 signature: %w", d.Err())
	}
	return s, nil
}

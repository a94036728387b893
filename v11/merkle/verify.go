package merkle

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/hypercore-go/hypercore/flattree"
)

// VerifierOptions are the options of [NewVerifier].
type VerifierOptions struct {
	// Legacy makes a compat core sign and verify the 48-byte legacy
	// signable instead of the 80-byte compat one (JS option legacy: true).
	Legacy bool
}

// A Verifier checks the signatures of one core (merkle.md, "Verification";
// JS lib/verifier.js Verifier). Make one with [NewVerifier].
type Verifier struct {
	key        [32]byte
	manifest   *Manifest
	compat     bool
	legacy     bool
	version    uint64
	quorum     uint64
	allowPatch bool
	prologue   *Prologue
	signers    []Signer
}

// NewVerifier returns the verifier of the core with key key and manifest m,
// as a JS core builds it:
//
//   - With no manifest (m == nil), m is DefaultSignerManifest(key): the key
//     is taken to be a compat core's public key (JS core.js
//     _verifyBatchUpgrade).
//   - m must pass [Manifest.Validate] (JS createManifest).
//   - If m has exactly one signer whose public key is key, the core is
//     compat: version 0 rules, quorum 1, the compat (or, with
//     opts.Legacy, legacy) signable and raw 64-byte signatures.
//   - Otherwise ManifestHash(m) must equal key (ErrManifestMismatch).
func NewVerifier(key [32]byte, m *Manifest, opts VerifierOptions) (*Verifier, error) {
	if m == nil {
		m = DefaultSignerManifest(key)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{key: key, manifest: m, legacy: opts.Legacy, signers: m.Signers}
	v.compat = IsCompat(key, m)
	if !v.compat {
		// MUST: "A receiver MUST reject a manifest that neither hashes to
		// the core key nor has the key as its single signer."
		h, err := ManifestHash(m)
		if err != nil {
			return nil, err
		}
		if h != key {
			return nil, fmt.Errorf("%w: manifest hash %x, key %x", ErrManifestMismatch, h[:4], key[:4])
		}
	}
	if v.compat {
		v.quorum = 1
	} else {
		v.version = m.Version
		v.quorum = m.Quorum
		v.allowPatch = m.AllowPatch
		v.prologue = m.Prologue
	}
	return v, nil
}

// Key returns the core key the verifier was made for.
func (v *Verifier) Key() [32]byte { return v.key }

// Manifest returns the manifest the verifier uses (DefaultSignerManifest(key)
// when NewVerifier was given none). It must not be modified.
func (v *Verifier) Manifest() *Manifest { return v.manifest }

// Compat reports whether the core is compat (see [NewVerifier]).
func (v *Verifier) Compat() bool { return v.compat }

// Signable returns the bytes signer i signs for tree t (merkle.md, "What is
// signed"): the legacy or compat signable for a compat core; the
// TreeSignable with the signer's namespace for version 0; the TreeSignable
// with the manifest hash (the key) otherwise.
func (v *Verifier) Signable(t *Tree, i int) []byte {
	h := t.Hash()
	switch {
	case v.compat && v.legacy:
		s := TreeSignableLegacy(h, t.Length, t.Fork)
		return s[:]
	case v.compat:
		s := TreeSignableCompat(h, t.Length, t.Fork)
		return s[:]
	case v.version == 0:
		s := TreeSignable(v.signers[i].Namespace, h, t.Length, t.Fork)
		return s[:]
	default:
		s := TreeSignable(v.key, h, t.Length, t.Fork)
		return s[:]
	}
}

// Verify checks signature for tree t (merkle.md, "Verification"; JS
// Verifier.verify). It returns nil or an error wrapping ErrInvalidSignature
// (or ErrInvalidTree for a patch that cannot extend t), with the reason.
//
// Version 0 and compat cores: one raw 64-byte signature when the core is
// compat or has one signer and no patches, otherwise a version 0 envelope.
// Version 1+: a tree no longer than the prologue is valid exactly when its
// length is the prologue's and its hash the prologue hash, whatever the
// signature; any other tree needs an envelope with a quorum of proofs.
func (v *Verifier) Verify(t *Tree, signature []byte) error {
	if err := t.checkSafe(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	if v.version == 0 {
		if v.compat || (!v.allowPatch && len(v.signers) == 1) {
			if !v.verifySigner(t, 0, signature) {
				return fmt.Errorf("%w: signature of signer 0 does not verify", ErrInvalidSignature)
			}
			return nil
		}
		return v.verifyMulti(t, signature)
	}
	if v.prologue != nil && t.Length <= v.prologue.Length {
		// MUST: "A tree of at most prologue.length blocks MUST be accepted
		// exactly when its length is prologue.length and its tree hash is
		// prologue.hash."
		if t.Length != v.prologue.Length {
			return fmt.Errorf("%w: length %d inside the prologue of %d blocks", ErrInvalidSignature, t.Length, v.prologue.Length)
		}
		if t.Hash() != v.prologue.Hash {
			return fmt.Errorf("%w: tree hash differs from the prologue hash", ErrInvalidSignature)
		}
		return nil
	}
	return v.verifyMulti(t, signature)
}

// verifySigner checks one raw signature of signer i over t.
func (v *Verifier) verifySigner(t *Tree, i int, signature []byte) bool {
	return verifyEd25519(v.signers[i].PublicKey[:], v.Signable(t, i), signature)
}

// inflate decodes an envelope into version 1 proofs and patch nodes (JS
// Verifier._inflate).
func (v *Verifier) inflate(signature []byte) (*MultiSignature, error) {
	if v.version >= 1 {
		return DecodeMultiSignature(signature)
	}
	s0, err := DecodeMultiSignatureV0(signature)
	if err != nil {
		return nil, err
	}
	s := &MultiSignature{Patch: s0.Patch}
	for _, p := range s0.Proofs {
		q := Proof{Signer: p.Signer, Signature: p.Signature}
		if p.Patch != nil {
			q.Patch = p.Patch.Length
		}
		s.Proofs = append(s.Proofs, q)
	}
	return s, nil
}

// verifyMulti is JS Verifier._verifyMulti.
func (v *Verifier) verifyMulti(t *Tree, signature []byte) error {
	if v.quorum == 0 {
		return fmt.Errorf("%w: quorum is 0", ErrInvalidSignature)
	}
	s, err := v.inflate(signature)
	if err != nil {
		// JS throws here.
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	// MUST: "A signature MUST carry at least quorum proofs; the first
	// quorum of them are checked and each MUST name a different signer."
	if uint64(len(s.Proofs)) < v.quorum {
		return fmt.Errorf("%w: %d proofs, quorum %d", ErrInvalidSignature, len(s.Proofs), v.quorum)
	}
	tried := make([]bool, len(v.signers))
	var nodes map[uint64]Node
	if v.allowPatch && len(s.Patch) > 0 {
		nodes = make(map[uint64]Node, len(s.Patch))
		for _, n := range s.Patch {
			nodes[n.Index] = n // a later node of the same index wins, as in JS
		}
	}
	for i, p := range s.Proofs[:v.quorum] {
		tree := t
		if p.Patch > 0 && v.allowPatch {
			if nodes == nil {
				// JS throws (a TypeError) here.
				return fmt.Errorf("%w: proof %d has a patch of %d blocks but the envelope has no patch nodes", ErrInvalidSignature, i, p.Patch)
			}
			up, err := t.upgrade(p.Patch, nodes)
			if err != nil {
				return fmt.Errorf("%w: proof %d: %w", ErrInvalidSignature, i, err)
			}
			tree = &up
		}
		if p.Signer >= uint64(len(v.signers)) {
			return fmt.Errorf("%w: proof %d names signer %d of %d", ErrInvalidSignature, i, p.Signer, len(v.signers))
		}
		if tried[p.Signer] {
			return fmt.Errorf("%w: proof %d names signer %d again", ErrInvalidSignature, i, p.Signer)
		}
		tried[p.Signer] = true
		if !v.verifySigner(tree, int(p.Signer), p.Signature[:]) {
			return fmt.Errorf("%w: proof %d: signature of signer %d does not verify", ErrInvalidSignature, i, p.Signer)
		}
	}
	return nil
}

// Sign signs t with the key pair of priv, which must belong to one of the
// manifest's signers (JS Verifier.sign). For a manifest of version 1+ with a
// single signer it returns the whole envelope (68 bytes); otherwise (compat,
// version 0, or one of several signers) the raw 64-byte signature, which
// [Verifier.Assemble] combines with the others'.
func (v *Verifier) Sign(t *Tree, priv ed25519.PrivateKey) ([]byte, error) {
	p, err := v.PartialSign(t, priv)
	if err != nil {
		return nil, err
	}
	if len(v.signers) != 1 || v.version == 0 {
		return p.Signature[:], nil
	}
	return v.Assemble([]PartialSignature{p})
}

// A PartialSignature is one signer's contribution to an envelope (JS
// multisig.partialSignature): its signer index, its signature, and, for a
// signer that signed a longer tree than the one being verified, Patch (how
// many blocks longer) and Nodes (the nodes PatchIndexes names, from the
// signer's tree).
type PartialSignature struct {
	Signer    uint64
	Signature [64]byte
	Patch     uint64
	Nodes     []Node
}

// PartialSign signs t as the signer whose public key is priv's and returns
// its partial signature without a patch. ErrNotSigner if the manifest does
// not declare the key; ErrInvalidTree if t holds a number above 2^53−1.
func (v *Verifier) PartialSign(t *Tree, priv ed25519.PrivateKey) (PartialSignature, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return PartialSignature{}, fmt.Errorf("%w: private key of %d bytes", ErrNotSigner, len(priv))
	}
	if err := t.checkSafe(); err != nil {
		return PartialSignature{}, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	for i, s := range v.signers {
		if bytes.Equal(s.PublicKey[:], pub) {
			var p PartialSignature
			p.Signer = uint64(i)
			copy(p.Signature[:], ed25519.Sign(priv, v.Signable(t, i)))
			return p, nil
		}
	}
	return PartialSignature{}, fmt.Errorf("%w: %x", ErrNotSigner, pub[:4])
}

// Assemble encodes partial signatures into the envelope of the manifest's
// version (JS Verifier.assemble, multisig.js assemble and assemblev0).
//
// Version 1+: the proofs in order, and the patch nodes of all of them, each
// index once (the first one given wins). Version 0: each proof with a patch
// refers to its nodes by position in the envelope's node list (a node equal
// in index, size and hash to one already listed is shared), and its start is
// rightSpan(last node)/2 + 1.
func (v *Verifier) Assemble(parts []PartialSignature) ([]byte, error) {
	if v.version == 0 {
		s := new(MultiSignatureV0)
		for _, p := range parts {
			q := ProofV0{Signer: p.Signer, Signature: p.Signature}
			if p.Patch > 0 {
				if len(p.Nodes) == 0 {
					return nil, fmt.Errorf("%w: proof of signer %d has a patch but no nodes", ErrInvalidTree, p.Signer)
				}
				last := p.Nodes[len(p.Nodes)-1].Index
				q.Patch = &PatchV0{Start: flattree.RightSpan(last)/2 + 1, Length: p.Patch, Nodes: []uint64{}}
				for _, n := range p.Nodes {
					at := slices.Index(s.Patch, n)
					if at < 0 {
						at = len(s.Patch)
						s.Patch = append(s.Patch, n)
					}
					q.Patch.Nodes = append(q.Patch.Nodes, uint64(at))
				}
			}
			s.Proofs = append(s.Proofs, q)
		}
		return EncodeMultiSignatureV0(s)
	}
	s := new(MultiSignature)
	seen := map[uint64]bool{}
	for _, p := range parts {
		for _, n := range p.Nodes {
			if !seen[n.Index] {
				seen[n.Index] = true
				s.Patch = append(s.Patch, n)
			}
		}
		s.Proofs = append(s.Proofs, Proof{Signer: p.Signer, Signature: p.Signature, Patch: p.Patch})
	}
	return EncodeMultiSignature(s)
}

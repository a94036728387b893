package vectors

// Manifests is vectors/v11/manifests.json: Hypercore 11 manifests, multisig
// envelopes and multisig, patch and prologue verification from hypercore
// 11.37.1 (spec/v11/merkle.md).
type Manifests struct {
	Header
	Encode    []Group[ManifestEncodeTest]
	Decode    []Group[ManifestDecodeTest]
	Validate  []Group[ManifestValidateTest]
	Envelopes []Group[EnvelopeDecodeTest]
	Assemble  []Group[AssembleTest]
	Verify    []Group[V11VerifyTest]
}

// ManifestJSON is a manifest as JS holds it. Hash is always "blake2b" and
// every Signature "ed25519"; Prologue, Linked and UserData are nil when
// absent (an empty Linked or UserData is present).
type ManifestJSON struct {
	Version    uint64               `json:"version"`
	Hash       string               `json:"hash"`
	AllowPatch bool                 `json:"allowPatch"`
	Quorum     uint64               `json:"quorum"`
	Signers    []ManifestSignerJSON `json:"signers"`
	Prologue   *ManifestPrologue    `json:"prologue"`
	Linked     []Hex                `json:"linked"`
	UserData   Hex                  `json:"userData"`
}

// ManifestSignerJSON is one signer of a manifest.
type ManifestSignerJSON struct {
	Signature string `json:"signature"`
	Namespace Hex    `json:"namespace"`
	PublicKey Hex    `json:"publicKey"`
}

// ManifestPrologue is a manifest's prologue.
type ManifestPrologue struct {
	Hash   Hex    `json:"hash"`
	Length uint64 `json:"length"`
}

// ManifestEncodeTest is a manifest JS made with createManifest, its
// encoding, its hash, and what the encoding decodes to (which differs from
// Manifest where version 0 cannot hold a field).
type ManifestEncodeTest struct {
	Case
	Manifest ManifestJSON `json:"manifest"`
	Encoded  Hex          `json:"encoded"`
	Hash     Hex          `json:"hash"`
	Decoded  ManifestJSON `json:"decoded"`
}

// ManifestDecodeTest is an encoding and what JS's decoder made of it (JS
// "decodes" with Manifest, or "throws" with JSError); Result and Error are
// this specification's verdict (they differ from JS's only with flag
// JSLenient).
type ManifestDecodeTest struct {
	Case
	Encoded  Hex           `json:"encoded"`
	JS       string        `json:"js"`
	JSError  *string       `json:"jsError"`
	Manifest *ManifestJSON `json:"manifest"`
}

// ManifestValidateTest is a decodable manifest that JS's createManifest
// "accepts" or "throws" on.
type ManifestValidateTest struct {
	Case
	Encoded  Hex          `json:"encoded"`
	Manifest ManifestJSON `json:"manifest"`
	JS       string       `json:"js"`
	JSError  *string      `json:"jsError"`
}

// EnvelopeDecodeTest is a signature envelope of Version 1 (multiSignature)
// or 0 (multiSignaturev0) and what JS's decoder made of it.
type EnvelopeDecodeTest struct {
	Case
	Version  uint64        `json:"version"`
	Encoded  Hex           `json:"encoded"`
	JS       string        `json:"js"`
	JSError  *string       `json:"jsError"`
	Envelope *EnvelopeJSON `json:"envelope"`
}

// EnvelopeJSON is a decoded envelope.
type EnvelopeJSON struct {
	Proofs []EnvelopeProofJSON `json:"proofs"`
	Patch  []V11Node           `json:"patch"`
}

// EnvelopeProofJSON is one proof: Patch (a block count) in version 1,
// PatchV0 (nil for none) in version 0.
type EnvelopeProofJSON struct {
	Signer    uint64       `json:"signer"`
	Signature Hex          `json:"signature"`
	Patch     *uint64      `json:"patch,omitempty"`
	PatchV0   *PatchV0JSON `json:"patchV0,omitempty"`
}

// PatchV0JSON is a version 0 proof's patch.
type PatchV0JSON struct {
	Start  uint64   `json:"start"`
	Length uint64   `json:"length"`
	Nodes  []uint64 `json:"nodes"`
}

// AssembleTest is an envelope JS assembled from partial signatures for a
// manifest of Version.
type AssembleTest struct {
	Case
	Version  uint64                 `json:"version"`
	Parts    []PartialSignatureJSON `json:"parts"`
	Envelope Hex                    `json:"envelope"`
}

// PartialSignatureJSON is one signer's contribution to an envelope.
type PartialSignatureJSON struct {
	Signer    uint64    `json:"signer"`
	Signature Hex       `json:"signature"`
	Patch     uint64    `json:"patch"`
	Nodes     []V11Node `json:"nodes"`
}

func init() {
	register("v11/manifests.json", func() error { _, err := LoadManifests(); return err })
}

// LoadManifests loads vectors/v11/manifests.json.
func LoadManifests() (*Manifests, error) {
	v := new(Manifests)
	err := load("v11/manifests.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "ManifestEncodeTest":
			return decodeGroup(raw, &v.Encode)
		case "ManifestDecodeTest":
			return decodeGroup(raw, &v.Decode)
		case "ManifestValidateTest":
			return decodeGroup(raw, &v.Validate)
		case "EnvelopeDecodeTest":
			return decodeGroup(raw, &v.Envelopes)
		case "AssembleTest":
			return decodeGroup(raw, &v.Assemble)
		case "VerifyTest":
			return decodeGroup(raw, &v.Verify)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/merkle"
	"pgregory.net/rapid"
)

// uintGen draws uints from every encoded form (1, 3, 5 and 9 bytes) up to
// the largest a decoder accepts.
func uintGen() *rapid.Generator[uint64] {
	return rapid.OneOf(
		rapid.Uint64Range(0, 0xfc),
		rapid.Uint64Range(0xfd, 0xffff),
		rapid.Uint64Range(0x10000, 0xffffffff),
		rapid.Uint64Range(0x100000000, compact.MaxSafeInteger),
		rapid.SampledFrom([]uint64{0, 1, 0xfc, 0xfd, 0xffff, 0x10000, 0xffffffff, 1 << 32, compact.MaxSafeInteger}),
	)
}

func nodesGen() *rapid.Generator[[]Node] {
	return rapid.Custom(func(t *rapid.T) []Node {
		n := rapid.IntRange(0, 4).Draw(t, "count")
		out := make([]Node, n)
		for i := range out {
			out[i] = Node{Index: uintGen().Draw(t, "index"), Size: uintGen().Draw(t, "size"),
				Hash: [32]byte(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "hash"))}
		}
		return out
	})
}

// optional returns a generator of nil or a value.
func optional[T any](g *rapid.Generator[*T]) *rapid.Generator[*T] {
	return rapid.OneOf(rapid.Just[*T](nil), g)
}

// manifestGen draws encoded manifests: a default manifest for a random
// public key, or one with two signers and a prologue (merkle's encoder).
func manifestGen() *rapid.Generator[[]byte] {
	return rapid.Custom(func(t *rapid.T) []byte {
		pk := [32]byte(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "publicKey"))
		m := merkle.DefaultSignerManifest(pk)
		if rapid.Bool().Draw(t, "prologue") {
			m.Signers = append(m.Signers, m.Signers[0])
			m.Signers[1].PublicKey[0] ^= 1
			m.Prologue = &merkle.Prologue{Hash: pk, Length: uintGen().Draw(t, "prologueLength")}
		}
		b, err := merkle.EncodeManifest(m)
		if err != nil {
			t.Fatalf("merkle.EncodeManifest: %v", err)
		}
		return b
	})
}

func bytesGen(min int) *rapid.Generator[[]byte] { return rapid.SliceOfN(rapid.Byte(), min, 100) }

// messageGen draws any message with any field values a peer may send.
func messageGen() *rapid.Generator[Message] {
	u := uintGen()
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) Message {
			return &Sync{Fork: u.Draw(t, "fork"), Length: u.Draw(t, "length"), RemoteLength: u.Draw(t, "remoteLength"),
				CanUpgrade: rapid.Bool().Draw(t, "canUpgrade"), Uploading: rapid.Bool().Draw(t, "uploading"),
				Downloading: rapid.Bool().Draw(t, "downloading"), HasManifest: rapid.Bool().Draw(t, "hasManifest"),
				AllowPush: rapid.Bool().Draw(t, "allowPush")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Request{ID: u.Draw(t, "id"), Fork: u.Draw(t, "fork"),
				Block: optional(rapid.Custom(func(t *rapid.T) *BlockRequest {
					return &BlockRequest{Index: u.Draw(t, "index"), Nodes: u.Draw(t, "nodes")}
				})).Draw(t, "block"),
				Hash: optional(rapid.Custom(func(t *rapid.T) *HashRequest {
					return &HashRequest{Index: u.Draw(t, "index"), Nodes: u.Draw(t, "nodes")}
				})).Draw(t, "hash"),
				Seek: optional(rapid.Custom(func(t *rapid.T) *SeekRequest {
					return &SeekRequest{Bytes: u.Draw(t, "bytes"), Padding: u.Draw(t, "padding")}
				})).Draw(t, "seek"),
				Upgrade: optional(rapid.Custom(func(t *rapid.T) *UpgradeRequest {
					return &UpgradeRequest{Start: u.Draw(t, "start"), Length: u.Draw(t, "length")}
				})).Draw(t, "upgrade"),
				Manifest: rapid.Bool().Draw(t, "manifest"),
				Priority: u.Draw(t, "priority")}
		}),
		rapid.Custom(func(t *rapid.T) Message { return &Cancel{Request: u.Draw(t, "request")} }),
		rapid.Custom(func(t *rapid.T) Message {
			m := &Data{Request: u.Draw(t, "request"), Fork: u.Draw(t, "fork"),
				Block: optional(rapid.Custom(func(t *rapid.T) *DataBlock {
					return &DataBlock{Index: u.Draw(t, "index"), Value: bytesGen(0).Draw(t, "value"), Nodes: nodesGen().Draw(t, "nodes")}
				})).Draw(t, "block"),
				Hash: optional(rapid.Custom(func(t *rapid.T) *DataHash {
					return &DataHash{Index: u.Draw(t, "index"), Nodes: nodesGen().Draw(t, "nodes")}
				})).Draw(t, "hash"),
				Seek: optional(rapid.Custom(func(t *rapid.T) *DataSeek {
					return &DataSeek{Bytes: u.Draw(t, "bytes"), Nodes: nodesGen().Draw(t, "nodes")}
				})).Draw(t, "seek"),
				Upgrade: optional(rapid.Custom(func(t *rapid.T) *DataUpgrade {
					return &DataUpgrade{Start: u.Draw(t, "start"), Length: u.Draw(t, "length"),
						Nodes: nodesGen().Draw(t, "nodes"), AdditionalNodes: nodesGen().Draw(t, "additionalNodes"),
						Signature: rapid.OneOf(rapid.Just[[]byte](nil), bytesGen(1)).Draw(t, "signature")}
				})).Draw(t, "upgrade"),
				Manifest: rapid.OneOf(rapid.Just[[]byte](nil), manifestGen()).Draw(t, "manifest"),
			}
			return m
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &NoData{Request: u.Draw(t, "request"), Reason: Reason(u.Draw(t, "reason"))}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Want{Start: u.Draw(t, "start"), Length: u.Draw(t, "length"), Any: rapid.Bool().Draw(t, "any")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Unwant{Start: u.Draw(t, "start"), Length: u.Draw(t, "length"), Any: rapid.Bool().Draw(t, "any")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Bitfield{Start: u.Draw(t, "start"), Bitfield: rapid.SliceOfN(rapid.Uint32(), 0, 20).Draw(t, "bitfield")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Range{Drop: rapid.Bool().Draw(t, "drop"), Start: u.Draw(t, "start"),
				Length: rapid.OneOf(rapid.Just[uint64](1), u).Draw(t, "length")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Extension{Name: rapid.StringN(0, 20, 60).Draw(t, "name"), Message: bytesGen(0).Draw(t, "message")}
		}),
	)
}

// TestRoundTrip: decode(encode(m)) = m for every message, with every field
// and section present or absent (wire.md: the encoders are the inverse of
// the decoders on what they write).
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := messageGen().Draw(t, "message")
		enc := Encode(m)
		got, err := Decode(m.Type(), enc)
		if err != nil {
			t.Fatalf("Decode(%s, %x) = %v", m.Type(), enc, err)
		}
		if diff := cmp.Diff(m, got, equate); diff != "" {
			t.Fatalf("Decode(Encode(m)) != m (-m +got):\n%s", diff)
		}
		// Bytes after the last field are ignored, except by an extension
		// (its message is the rest) and by a want or unwant without flags
		// (the next byte would be read as flags).
		switch x := m.(type) {
		case *Extension:
			return
		case *Want:
			if !x.Any {
				return
			}
		case *Unwant:
			if !x.Any {
				return
			}
		}
		more, err := Decode(m.Type(), append(bytes.Clone(enc), 0xff, 0xff))
		if err != nil || !cmp.Equal(m, more, equate) {
			t.Fatalf("Decode(%x ‖ ffff) = %v, %v; want the message unchanged", enc, more, err)
		}
	})
}

// TestTruncatedRoundTrip: every proper prefix of an encoding either fails
// with ErrTruncated or decodes to a message whose encoding is itself a
// fixed point (optional trailing fields, raw trailing fields).
func TestTruncatedRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := messageGen().Draw(t, "message")
		enc := Encode(m)
		n := rapid.IntRange(0, len(enc)-1).Draw(t, "n")
		got, err := Decode(m.Type(), enc[:n])
		if err != nil {
			if got != nil || !errors.Is(err, compact.ErrTruncated) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%x) = %v, %v; want nil and ErrTruncated", enc[:n], got, err)
			}
			return
		}
		again := Encode(got)
		if back, err := Decode(m.Type(), again); err != nil || !cmp.Equal(got, back, equate) {
			t.Fatalf("Decode(Encode(Decode(%x))) = %v, %v; want %v", enc[:n], back, err, got)
		}
	})
}

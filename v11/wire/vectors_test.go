package wire

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/merkle"
	"github.com/hypercore-go/hypercore/vectors"
)

const file = "v11/messages.json"

func loadVectors(tb testing.TB) *vectors.Messages11 {
	tb.Helper()
	v, err := vectors.LoadMessages11()
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// equate treats nil and empty slices alike: the vectors write an empty
// block value, node list or message as "" or [], and a signature of length
// 0 is absent either way.
var equate = cmpopts.EquateEmpty()

// errorClasses maps the vector error classes to the errors they stand for.
var errorClasses = map[string]error{
	"truncated":     compact.ErrTruncated,
	"array-too-big": compact.ErrTooBig,
	"out-of-range":  compact.ErrRange,
	"manifest":      ErrManifest,
}

// fromVector builds the Go message a vector's decoded fields describe.
func fromVector(t testing.TB, d vectors.Wire11Decoded) Message {
	t.Helper()
	switch {
	case d.Sync != nil:
		s := d.Sync
		return &Sync{Fork: s.Fork, Length: s.Length, RemoteLength: s.RemoteLength, CanUpgrade: s.CanUpgrade,
			Uploading: s.Uploading, Downloading: s.Downloading, HasManifest: s.HasManifest, AllowPush: s.AllowPush}
	case d.Request != nil:
		r := d.Request
		m := &Request{ID: r.ID, Fork: r.Fork, Manifest: r.Manifest, Priority: r.Priority}
		if r.Block != nil {
			m.Block = &BlockRequest{Index: r.Block.Index, Nodes: r.Block.Nodes}
		}
		if r.Hash != nil {
			m.Hash = &HashRequest{Index: r.Hash.Index, Nodes: r.Hash.Nodes}
		}
		if r.Seek != nil {
			m.Seek = &SeekRequest{Bytes: r.Seek.Bytes, Padding: r.Seek.Padding}
		}
		if r.Upgrade != nil {
			m.Upgrade = &UpgradeRequest{Start: r.Upgrade.Start, Length: r.Upgrade.Length}
		}
		return m
	case d.Cancel != nil:
		return &Cancel{Request: d.Cancel.Request}
	case d.Data != nil:
		x := d.Data
		m := &Data{Request: x.Request, Fork: x.Fork, Manifest: x.Manifest}
		if x.Block != nil {
			m.Block = &DataBlock{Index: x.Block.Index, Value: x.Block.Value, Nodes: nodes(t, x.Block.Nodes)}
		}
		if x.Hash != nil {
			m.Hash = &DataHash{Index: x.Hash.Index, Nodes: nodes(t, x.Hash.Nodes)}
		}
		if x.Seek != nil {
			m.Seek = &DataSeek{Bytes: x.Seek.Bytes, Nodes: nodes(t, x.Seek.Nodes)}
		}
		if u := x.Upgrade; u != nil {
			m.Upgrade = &DataUpgrade{Start: u.Start, Length: u.Length, Nodes: nodes(t, u.Nodes),
				AdditionalNodes: nodes(t, u.AdditionalNodes), Signature: u.Signature}
		}
		return m
	case d.NoData != nil:
		return &NoData{Request: d.NoData.Request, Reason: Reason(d.NoData.Reason)}
	case d.Want != nil:
		return &Want{Start: d.Want.Start, Length: d.Want.Length, Any: d.Want.Any}
	case d.Unwant != nil:
		return &Unwant{Start: d.Unwant.Start, Length: d.Unwant.Length, Any: d.Unwant.Any}
	case d.Bitfield != nil:
		return &Bitfield{Start: d.Bitfield.Start, Bitfield: d.Bitfield.Bitfield}
	case d.Range != nil:
		return &Range{Drop: d.Range.Drop, Start: d.Range.Start, Length: d.Range.Length}
	case d.Extension != nil:
		return &Extension{Name: d.Extension.Name, Message: d.Extension.Message}
	}
	t.Fatal("decoded message without a message")
	return nil
}

func nodes(t testing.TB, in []vectors.Wire11Node) []Node {
	t.Helper()
	out := make([]Node, len(in))
	for i, n := range in {
		if len(n.Hash) != 32 {
			t.Fatalf("node hash of %d bytes", len(n.Hash))
		}
		out[i] = Node{Index: n.Index, Size: n.Size, Hash: [32]byte(n.Hash)}
	}
	return out
}

// checkEncoded checks one message the JS encoder wrote: Decode gives the
// fields JS decoded, Encode of those fields gives the payload, and every
// prefix is judged as JS judged it.
func checkEncoded(t *testing.T, e vectors.Wire11Encoded) {
	t.Helper()
	want := fromVector(t, e.Decoded)
	got, err := Decode(Type(e.Type), e.Payload)
	if err != nil {
		t.Fatalf("Decode(%s, %x) = %v", Type(e.Type), []byte(e.Payload), err)
	}
	if diff := cmp.Diff(want, got, equate); diff != "" {
		t.Errorf("Decode(%s, %x) differs from JS (-want +got):\n%s", Type(e.Type), []byte(e.Payload), diff)
	}
	if enc := Encode(want); !bytes.Equal(enc, e.Payload) {
		t.Errorf("Encode(%+v) = %x, want %x", want, enc, []byte(e.Payload))
	}
	if want.Type() != Type(e.Type) || Type(e.Type).String() != e.Message {
		t.Errorf("Type() = %s, want %s (%d)", want.Type(), e.Message, e.Type)
	}
	checkPrefixes(t, e)
	// A manifest read from data is one merkle.DecodeManifest accepts.
	if d, ok := got.(*Data); ok && d.Manifest != nil {
		if _, err := merkle.DecodeManifest(d.Manifest); err != nil {
			t.Errorf("merkle.DecodeManifest(%x) = %v", d.Manifest, err)
		}
	}
}

// checkPrefixes decodes every prefix of the payload: JS accepts exactly the
// lengths in ValidPrefixes and throws "Out of bounds" on the others.
func checkPrefixes(t *testing.T, e vectors.Wire11Encoded) {
	t.Helper()
	for n := range len(e.Payload) {
		p := e.Payload[:n]
		m, err := Decode(Type(e.Type), p)
		if slices.Contains(e.ValidPrefixes, n) {
			if err != nil {
				t.Errorf("Decode(%s, %x) = %v; JS accepts this prefix", Type(e.Type), []byte(p), err)
			}
		} else if m != nil || !errors.Is(err, ErrMalformed) || !errors.Is(err, compact.ErrTruncated) {
			t.Errorf("Decode(%s, %x) = %v, %v; want nil, ErrMalformed and ErrTruncated", Type(e.Type), []byte(p), m, err)
		}
	}
}

func TestEncodeVectors(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			t.Run(tc.Name(file), func(t *testing.T) { checkEncoded(t, tc.Wire11Encoded) })
			n++
		}
	}
	if n == 0 {
		t.Fatal("no encode vectors")
	}
}

func TestExchangeVectors(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, g := range v.Exchange {
		for _, tc := range g.Tests {
			t.Run(tc.Name(file), func(t *testing.T) {
				checkEncoded(t, tc.Request)
				checkEncoded(t, tc.Reply)
				req, _ := Decode(Type(tc.Request.Type), tc.Request.Payload)
				reply, _ := Decode(Type(tc.Reply.Type), tc.Reply.Payload)
				r, ok := req.(*Request)
				if !ok {
					t.Fatalf("request is a %T", req)
				}
				var id uint64
				switch x := reply.(type) {
				case *Data:
					id = x.Request
				case *NoData:
					id = x.Request
				default:
					t.Fatalf("reply is a %T", reply)
				}
				if id != r.ID {
					t.Errorf("reply to request %d answers request %d", r.ID, id)
				}
			})
			n++
		}
	}
	if n == 0 {
		t.Fatal("no exchange vectors")
	}
}

func TestDecodeVectors(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, g := range v.Decode {
		for _, tc := range g.Tests {
			t.Run(tc.Name(file), func(t *testing.T) {
				typ := Type(tc.Type)
				got, err := Decode(typ, tc.Payload)
				switch {
				case tc.Valid():
					if err != nil {
						t.Fatalf("Decode(%s, %x) = %v, want valid", typ, []byte(tc.Payload), err)
					}
					want := fromVector(t, *tc.Decoded)
					if diff := cmp.Diff(want, got, equate); diff != "" {
						t.Errorf("Decode(%s, %x) differs from JS (-want +got):\n%s", typ, []byte(tc.Payload), diff)
					}
					enc := Encode(got)
					if tc.HasFlag("NonCanonical") == bytes.Equal(enc, tc.Payload) {
						t.Errorf("Encode(Decode(%x)) = %x; NonCanonical is %v", []byte(tc.Payload), enc, tc.HasFlag("NonCanonical"))
					}
				default:
					class, ok := errorClasses[tc.Error]
					if !ok {
						t.Fatalf("unknown error class %q", tc.Error)
					}
					if got != nil || !errors.Is(err, ErrMalformed) || !errors.Is(err, class) {
						t.Errorf("Decode(%s, %x) = %v, %v; want nil and %v (JS: %s)", typ, []byte(tc.Payload), got, err, class, tc.JSError)
					}
				}
			})
			n++
		}
	}
	if n == 0 {
		t.Fatal("no decode vectors")
	}
}

func TestHandshakeVectors(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, g := range v.Handshake {
		if g.Protocol != Protocol {
			t.Errorf("Protocol = %q, vectors say %q", Protocol, g.Protocol)
		}
		for _, tc := range g.Tests {
			t.Run(tc.Name(file), func(t *testing.T) {
				if tc.HandshakeHash != nil {
					checkCapability(t, tc)
				}
				h, err := DecodeHandshake(tc.Payload)
				if !tc.Valid() {
					if h != nil || !errors.Is(err, ErrMalformed) || !errors.Is(err, errorClasses[tc.Error]) {
						t.Errorf("DecodeHandshake(%x) = %v, %v; want %s", []byte(tc.Payload), h, err, tc.Error)
					}
					return
				}
				if err != nil {
					t.Fatalf("DecodeHandshake(%x) = %v", []byte(tc.Payload), err)
				}
				want := &Handshake{Seeks: tc.Decoded.Seeks, Capability: [32]byte(tc.Decoded.Capability)}
				if *h != *want {
					t.Errorf("DecodeHandshake(%x) = %+v, want %+v", []byte(tc.Payload), h, want)
				}
				if enc := want.Append(nil); tc.HasFlag("NonCanonical") == bytes.Equal(enc, tc.Payload) {
					t.Errorf("Append = %x, payload %x; NonCanonical is %v", enc, []byte(tc.Payload), tc.HasFlag("NonCanonical"))
				}
			})
			n++
		}
	}
	if n == 0 {
		t.Fatal("no handshake vectors")
	}
}

// checkCapability checks Capability against caps.replicate, and that the
// remote accepts it with its own role and refuses it with the wrong one.
func checkCapability(t *testing.T, tc vectors.Messages11HandshakeTest) {
	t.Helper()
	key := [32]byte(tc.Key)
	got := Capability(tc.HandshakeHash, tc.IsInitiator, key)
	if !bytes.Equal(got[:], tc.Capability) {
		t.Errorf("Capability(%x, %v, %x) = %x, want %x", []byte(tc.HandshakeHash), tc.IsInitiator, key, got, []byte(tc.Capability))
	}
	if !bytes.Equal((&Handshake{Seeks: true, Capability: got}).Append(nil), tc.Payload) {
		t.Errorf("handshake payload differs from %x", []byte(tc.Payload))
	}
	// The receiver's role is the other one.
	if err := VerifyCapability(tc.HandshakeHash, !tc.IsInitiator, key, got); err != nil {
		t.Errorf("VerifyCapability(remote role) = %v", err)
	}
	if err := VerifyCapability(tc.HandshakeHash, tc.IsInitiator, key, got); !errors.Is(err, ErrInvalidCapability) {
		t.Errorf("VerifyCapability(own role) = %v, want ErrInvalidCapability", err)
	}
	// A change to the key, the hash or the capability is refused.
	k2 := key
	k2[0] ^= 1
	hh := bytes.Clone(tc.HandshakeHash)
	hh[63] ^= 0x80
	c2 := got
	c2[31] ^= 1
	for _, err := range []error{
		VerifyCapability(tc.HandshakeHash, !tc.IsInitiator, k2, got),
		VerifyCapability(hh, !tc.IsInitiator, key, got),
		VerifyCapability(tc.HandshakeHash, !tc.IsInitiator, key, c2),
	} {
		if !errors.Is(err, ErrInvalidCapability) {
			t.Errorf("VerifyCapability of a changed input = %v, want ErrInvalidCapability", err)
		}
	}
}

// TestUnknownTypes checks every type id beyond the table.
func TestUnknownTypes(t *testing.T) {
	for typ := NumTypes; typ < 256; typ++ {
		m, err := Decode(Type(typ), []byte{0, 0, 0, 0})
		if m != nil || !errors.Is(err, ErrUnknownType) || errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%d, 00000000) = %v, %v; want ErrUnknownType", typ, m, err)
		}
	}
}

func TestCapabilityPanicsOnBadHashSize(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Capability with a 32-byte handshake hash did not panic")
		}
	}()
	Capability(make([]byte, 32), true, [32]byte{})
}

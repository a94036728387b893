package message

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/hypercore-go/hypercore/vectors"
)

func loadVectors(t testing.TB) *vectors.Messages {
	t.Helper()
	v, err := vectors.LoadMessages()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Encode) == 0 || len(v.Decode) == 0 || len(v.Frames) == 0 {
		t.Fatal("messages.json lacks a group")
	}
	return v
}

// errorClasses maps the vector files' error classes to sentinel errors.
var errorClasses = map[string]error{
	"truncated":              ErrTruncated,
	"missing-required-field": ErrMissingField,
	"wrong-wire-type":        ErrWireType,
	"varint-overflow":        ErrVarintOverflow,
	"frame-too-large":        ErrFrameTooLarge,
	"invalid-frame":          ErrInvalidFrame,
}

// jsonFields is the JSON shape of a message in the vectors.
type jsonNode struct {
	Index uint64 `json:"index"`
	Hash  string `json:"hash"`
	Size  uint64 `json:"size"`
}

type jsonFields struct {
	DiscoveryKey *string    `json:"discoveryKey"`
	Capability   *string    `json:"capability"`
	Extensions   []string   `json:"extensions"`
	Ack          *bool      `json:"ack"`
	Uploading    *bool      `json:"uploading"`
	Downloading  *bool      `json:"downloading"`
	Start        *uint64    `json:"start"`
	Length       *uint64    `json:"length"`
	Bitfield     *string    `json:"bitfield"`
	Index        *uint64    `json:"index"`
	Bytes        *uint64    `json:"bytes"`
	Hash         *bool      `json:"hash"`
	Nodes        any        `json:"nodes"` // a number (Request) or a list (Data)
	Value        *string    `json:"value"`
	Signature    *string    `json:"signature"`
	Nonce        *string    `json:"nonce"`
	ID           *uint64    `json:"id"`
	Message      *string    `json:"message"`
	NodeList     []jsonNode `json:"-"`
}

func unhex(t testing.TB, s *string) []byte {
	t.Helper()
	if s == nil {
		return nil
	}
	b, err := hex.DecodeString(*s)
	if err != nil {
		t.Fatal(err)
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

func parseFields(t testing.TB, f vectors.Fields) jsonFields {
	t.Helper()
	raw, _ := json.Marshal(f)
	var j jsonFields
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("fields %s: %v", raw, err)
	}
	if list, ok := j.Nodes.([]any); ok {
		b, _ := json.Marshal(list)
		json.Unmarshal(b, &j.NodeList)
		j.Nodes = nil
	}
	return j
}

func u64ptr(v any) *uint64 {
	if f, ok := v.(float64); ok {
		u := uint64(f)
		return &u
	}
	return nil
}

// build makes the Go message described by a vector's fields.
func build(t testing.TB, name string, f vectors.Fields) Message {
	t.Helper()
	j := parseFields(t, f)
	start := func() uint64 {
		if j.Start == nil {
			t.Fatal("no start")
		}
		return *j.Start
	}
	switch name {
	case "Open":
		return &Open{DiscoveryKey: unhex(t, j.DiscoveryKey), Capability: unhex(t, j.Capability)}
	case "Options":
		return &Options{Extensions: j.Extensions, Ack: j.Ack}
	case "Status":
		return &Status{Uploading: j.Uploading, Downloading: j.Downloading}
	case "Have":
		return &Have{Start: start(), Length: j.Length, Bitfield: unhex(t, j.Bitfield), Ack: j.Ack}
	case "Unhave":
		return &Unhave{Range{Start: start(), Length: j.Length}}
	case "Want":
		return &Want{Range{Start: start(), Length: j.Length}}
	case "Unwant":
		return &Unwant{Range{Start: start(), Length: j.Length}}
	case "Request":
		return &Request{Index: *j.Index, Bytes: j.Bytes, Hash: j.Hash, Nodes: u64ptr(j.Nodes)}
	case "Cancel":
		return &Cancel{Index: *j.Index, Bytes: j.Bytes, Hash: j.Hash}
	case "Data":
		m := &Data{Index: *j.Index, Value: unhex(t, j.Value), Signature: unhex(t, j.Signature)}
		for _, n := range j.NodeList {
			h := n.Hash
			m.Nodes = append(m.Nodes, Node{Index: n.Index, Hash: unhex(t, &h), Size: n.Size})
		}
		return m
	case "Close":
		return &Close{DiscoveryKey: unhex(t, j.DiscoveryKey)}
	case "Extension":
		return &Extension{ID: *j.ID, Message: unhex(t, j.Message)}
	}
	t.Fatalf("unknown message %q", name)
	return nil
}

func hexOrNull(b []byte) any {
	if b == nil {
		return nil
	}
	return hex.EncodeToString(b)
}

// view is a decoded message in the JS decoder's shape: every field, absent
// ones with the JS defaults.
func view(m any) map[string]any {
	switch m := m.(type) {
	case *NoisePayload:
		return map[string]any{"nonce": hexOrNull(m.Nonce)}
	case *Open:
		return map[string]any{"discoveryKey": hexOrNull(m.DiscoveryKey), "capability": hexOrNull(m.Capability)}
	case *Options:
		ext := m.Extensions
		if ext == nil {
			ext = []string{}
		}
		return map[string]any{"extensions": ext, "ack": m.GetAck()}
	case *Status:
		return map[string]any{"uploading": m.GetUploading(), "downloading": m.GetDownloading()}
	case *Have:
		return map[string]any{"start": m.Start, "length": m.GetLength(), "bitfield": hexOrNull(m.Bitfield), "ack": m.GetAck()}
	case *Unhave:
		return map[string]any{"start": m.Start, "length": m.GetLength()}
	case *Want:
		return map[string]any{"start": m.Start, "length": m.GetLength()}
	case *Unwant:
		return map[string]any{"start": m.Start, "length": m.GetLength()}
	case *Request:
		return map[string]any{"index": m.Index, "bytes": m.GetBytes(), "hash": m.GetHash(), "nodes": m.GetNodes()}
	case *Cancel:
		return map[string]any{"index": m.Index, "bytes": m.GetBytes(), "hash": m.GetHash()}
	case *Data:
		nodes := []any{}
		for _, n := range m.Nodes {
			nodes = append(nodes, map[string]any{"index": n.Index, "hash": hex.EncodeToString(n.Hash), "size": n.Size})
		}
		return map[string]any{"index": m.Index, "value": hexOrNull(m.Value), "nodes": nodes, "signature": hexOrNull(m.Signature)}
	case *Close:
		return map[string]any{"discoveryKey": hexOrNull(m.DiscoveryKey)}
	case *Extension:
		return map[string]any{"id": m.ID, "message": hex.EncodeToString(m.Message)}
	}
	panic(fmt.Sprintf("view: %T", m))
}

// normalize round-trips through JSON so Go values compare with decoded
// JSON.
func normalize(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

var typeByName = map[string]Type{
	"Open": TypeOpen, "Options": TypeOptions, "Status": TypeStatus, "Have": TypeHave, "Unhave": TypeUnhave,
	"Want": TypeWant, "Unwant": TypeUnwant, "Request": TypeRequest, "Cancel": TypeCancel, "Data": TypeData,
	"Close": TypeClose, "Extension": TypeExtension,
}

// decodeNamed decodes a body as the named message (NoisePayload included).
func decodeNamed(name string, body []byte) (any, error) {
	if name == "NoisePayload" {
		return DecodeNoisePayload(body)
	}
	return Decode(typeByName[name], body)
}

func TestEncodeVectors(t *testing.T) {
	v := loadVectors(t)
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			t.Run(tc.Name("messages.json"), func(t *testing.T) {
				var body []byte
				if tc.Message == "NoisePayload" {
					j := parseFields(t, tc.Fields)
					m := &NoisePayload{Nonce: unhex(t, j.Nonce)}
					body = m.AppendBody(nil)
					if m.Size() != len(body) {
						t.Errorf("Size() = %d, encoded %d bytes", m.Size(), len(body))
					}
				} else {
					m := build(t, tc.Message, tc.Fields)
					body = m.AppendBody(nil)
					if m.Size() != len(body) {
						t.Errorf("Size() = %d, encoded %d bytes", m.Size(), len(body))
					}
					if m.Type() != typeByName[tc.Message] {
						t.Errorf("Type() = %v, want %s", m.Type(), tc.Message)
					}
					if tc.Channel != nil {
						if got := AppendFrame(nil, *tc.Channel, m); !bytes.Equal(got, tc.Frame) {
							t.Errorf("AppendFrame = %x, want %s", got, tc.Frame)
						}
						if got := FrameSize(*tc.Channel, m); got != len(tc.Frame) {
							t.Errorf("FrameSize = %d, want %d", got, len(tc.Frame))
						}
						if got := AppendRawFrame(nil, *tc.Channel, m.Type(), body); !bytes.Equal(got, tc.Frame) {
							t.Errorf("AppendRawFrame = %x, want %s", got, tc.Frame)
						}
					}
				}
				if !bytes.Equal(body, tc.Body) {
					t.Errorf("AppendBody = %x, want %s", body, tc.Body)
				}
				got, err := decodeNamed(tc.Message, tc.Body)
				if err != nil {
					t.Fatalf("Decode(%s) = %v", tc.Body, err)
				}
				if diff := cmp.Diff(normalize(t, tc.Decoded), normalize(t, view(got))); diff != "" {
					t.Errorf("Decode(%s) differs from the JS decoder (-js +go):\n%s", tc.Body, diff)
				}
			})
		}
	}
}

func TestDecodeVectors(t *testing.T) {
	v := loadVectors(t)
	for _, g := range v.Decode {
		for _, tc := range g.Tests {
			t.Run(tc.Name("messages.json"), func(t *testing.T) {
				// jsDecoded: fields when JS decoded exactly, "inexact" when
				// it lost precision, null when it threw
				if tc.JSDecoded.Inexact != tc.HasFlag("JSInexact") || (tc.JSDecoded.Fields == nil && !tc.JSDecoded.Inexact) != (tc.JS == "throws") {
					t.Errorf("jsDecoded (inexact %v, fields %v) does not fit js %q and flag JSInexact %v", tc.JSDecoded.Inexact, tc.JSDecoded.Fields != nil, tc.JS, tc.HasFlag("JSInexact"))
				}
				got, err := decodeNamed(tc.Message, tc.Body)
				if !tc.Valid() {
					want, ok := errorClasses[tc.Error]
					if !ok {
						t.Fatalf("unknown error class %q", tc.Error)
					}
					if !errors.Is(err, want) {
						t.Fatalf("Decode(%s, %s) = %v, want %v", tc.Message, tc.Body, err, want)
					}
					if got != nil && got != (*NoisePayload)(nil) {
						t.Errorf("Decode returned %T with its error", got)
					}
					return
				}
				if err != nil {
					t.Fatalf("Decode(%s, %s) = %v", tc.Message, tc.Body, err)
				}
				if tc.JSDecoded.Fields != nil {
					if diff := cmp.Diff(normalize(t, tc.JSDecoded.Fields), normalize(t, view(got))); diff != "" {
						t.Errorf("Decode(%s) differs from the JS decoder (-js +go):\n%s", tc.Body, diff)
					}
				}
				// what decodes, re-encodes to something that decodes the same
				if m, ok := got.(Message); ok {
					again, err := Decode(m.Type(), m.AppendBody(nil))
					if err != nil || !cmp.Equal(view(again), view(got)) {
						t.Errorf("re-encoding changes the message: %v", err)
					}
				}
			})
		}
	}
}

// framesOf reads every frame of a stream, dropping keep-alives.
func framesOf(r io.Reader) ([]vectors.FrameJSON, int, error) {
	fr := NewReader(r)
	out := []vectors.FrameJSON{}
	pings := 0
	for {
		f, err := fr.Next()
		if err == io.EOF {
			return out, pings, nil
		}
		if err != nil {
			return out, pings, err
		}
		if f.KeepAlive {
			pings++
			continue
		}
		out = append(out, vectors.FrameJSON{Channel: f.Channel, Type: uint8(f.Type), Body: f.Body})
	}
}

func TestFrameVectors(t *testing.T) {
	v := loadVectors(t)
	for _, g := range v.Frames {
		for _, tc := range g.Tests {
			t.Run(tc.Name("messages.json"), func(t *testing.T) {
				for _, chunking := range []struct {
					name string
					r    io.Reader
				}{
					{"whole", bytes.NewReader(tc.Stream)},
					{"bytewise", iotest.OneByteReader(bytes.NewReader(tc.Stream))},
					{"half", iotest.HalfReader(bytes.NewReader(tc.Stream))},
				} {
					got, _, err := framesOf(chunking.r)
					if !tc.Valid() {
						if !errors.Is(err, errorClasses[tc.Error]) {
							t.Errorf("%s: reading %s: error %v, want %s", chunking.name, tc.Stream, err, tc.Error)
						}
						continue
					}
					if err != nil {
						t.Fatalf("%s: reading %s: %v", chunking.name, tc.Stream, err)
					}
					if diff := cmp.Diff(normalize(t, tc.Frames), normalize(t, got)); diff != "" {
						t.Errorf("%s: frames differ (-js +go):\n%s", chunking.name, diff)
					}
				}
			})
		}
	}
}

// TestFrameTruncations cuts every vector frame at every byte: the reader
// must report ErrTruncated (never a frame, a panic or another error), and
// the whole frame must read back as itself.
func TestFrameTruncations(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			if tc.Frame == nil {
				continue
			}
			n++
			for cut := 1; cut < len(tc.Frame); cut++ {
				f, err := NewReader(bytes.NewReader(tc.Frame[:cut])).Next()
				if !errors.Is(err, ErrTruncated) || f.Body != nil {
					t.Fatalf("%s: frame cut to %d bytes: %+v, %v; want ErrTruncated", tc.Name("messages.json"), cut, f, err)
				}
			}
			f, err := NewReader(bytes.NewReader(tc.Frame)).Next()
			if err != nil || !bytes.Equal(f.Body, tc.Body) || *tc.Channel != f.Channel || f.Type != typeByName[tc.Message] {
				t.Fatalf("%s: whole frame reads as %+v, %v", tc.Name("messages.json"), f, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no frames in the vectors")
	}
}

// TestBodyTruncations cuts every vector body at every byte and checks that
// decoding either fails with a known class or, where the cut falls between
// fields, succeeds — never panics.
func TestBodyTruncations(t *testing.T) {
	v := loadVectors(t)
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			for cut := 0; cut < len(tc.Body); cut++ {
				_, err := decodeNamed(tc.Message, tc.Body[:cut])
				if err == nil {
					continue
				}
				known := false
				for _, class := range errorClasses {
					known = known || errors.Is(err, class)
				}
				if !known {
					t.Fatalf("%s: body cut to %d: untyped error %v", tc.Name("messages.json"), cut, err)
				}
			}
		}
	}
}

package vectors

import (
	"encoding/json"
	"fmt"
)

// Compact is vectors/v11/compact.json: the compact-encoding 3.5.2
// primitives (spec/v11/compact.md), each encoding with a group of
// encodings computed by JS and a group of inputs with what the JS decoder
// did with them.
type Compact struct {
	Header
	Encode []CompactGroup[CompactEncodeTest]
	Decode []CompactGroup[CompactDecodeTest]
}

// CompactGroup is a group of cases for one encoding: "uint", "uint32",
// "uint64", "bool", "buffer", "optionalBuffer", "string", "fixed32",
// "fixed64", "raw", "array(uint)", "array(buffer)" or "uint32array".
type CompactGroup[T any] struct {
	Type     string `json:"type"`
	Encoding string `json:"encoding"`
	Tests    []T    `json:"tests"`
}

// CompactValue is a value as written in compact.json; its JSON form depends
// on the encoding (see [CompactValue.Uint] and the methods beside it).
type CompactValue json.RawMessage

// UnmarshalJSON keeps the raw JSON, null included.
func (v *CompactValue) UnmarshalJSON(b []byte) error {
	*v = append(CompactValue(nil), b...)
	return nil
}

// MarshalJSON returns the raw JSON.
func (v CompactValue) MarshalJSON() ([]byte, error) {
	if v == nil {
		return []byte("null"), nil
	}
	return v, nil
}

func (v CompactValue) decode(what string, x any) error {
	if v == nil {
		return fmt.Errorf("vectors: compact value missing, want %s", what)
	}
	if string(v) == "null" && what != "hex or null" {
		return fmt.Errorf("vectors: compact value null, want %s", what)
	}
	if err := decodeStrict(v, x); err != nil {
		return fmt.Errorf("vectors: compact value %s is not %s: %w", v, what, err)
	}
	return nil
}

// Uint is the value of a uint, uint32 or uint64 case: a JSON number.
func (v CompactValue) Uint() (uint64, error) {
	var n uint64
	err := v.decode("a number", &n)
	return n, err
}

// Bool is the value of a bool case.
func (v CompactValue) Bool() (bool, error) {
	var b bool
	err := v.decode("a boolean", &b)
	return b, err
}

// Bytes is the value of a buffer, fixed32, fixed64, raw or string case (a
// string as its UTF-8 bytes), and of an optionalBuffer case, where null
// (absent) gives a nil result and "" an empty non-nil one.
func (v CompactValue) Bytes() ([]byte, error) {
	var h Hex
	err := v.decode("hex or null", &h)
	return h, err
}

// Uints is the value of an array(uint) or uint32array case.
func (v CompactValue) Uints() ([]uint64, error) {
	var l []uint64
	if err := v.decode("a list of numbers", &l); err != nil {
		return nil, err
	}
	return l, nil
}

// Buffers is the value of an array(buffer) case.
func (v CompactValue) Buffers() ([][]byte, error) {
	var l []Hex
	if err := v.decode("a list of hex strings", &l); err != nil {
		return nil, err
	}
	out := make([][]byte, len(l))
	for i, h := range l {
		if h == nil {
			return nil, fmt.Errorf("vectors: compact value %s has a null element", v)
		}
		out[i] = h
	}
	return out, nil
}

// CompactEncodeTest is a value and the bytes compact-encoding writes for
// it.
type CompactEncodeTest struct {
	Case
	Value   CompactValue `json:"value"`
	Encoded Hex          `json:"encoded"`
}

// CompactDecodeTest is an input and what the compact-encoding decoder did
// with it: for a valid case the value it returned and how many bytes it
// consumed; for an invalid one its exception and the spec's error class
// ("truncated", "range" or "too-big").
type CompactDecodeTest struct {
	Case
	Encoded  Hex          `json:"encoded"`
	JS       string       `json:"js"` // "decodes" or "throws"
	Value    CompactValue `json:"value,omitempty"`
	Consumed *int         `json:"consumed,omitempty"`
	JSError  string       `json:"jsError,omitempty"`
}

// compactEncodings are the encodings compact.json may name.
var compactEncodings = map[string]bool{
	"uint": true, "uint32": true, "uint64": true, "bool": true, "buffer": true, "optionalBuffer": true,
	"string": true, "fixed32": true, "fixed64": true, "raw": true, "array(uint)": true, "array(buffer)": true,
	"uint32array": true,
}

func init() { register("v11/compact.json", func() error { _, err := LoadCompact(); return err }) }

// LoadCompact loads vectors/v11/compact.json.
func LoadCompact() (*Compact, error) {
	v := new(Compact)
	err := load("v11/compact.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "EncodeTest":
			if err := decodeGroup(raw, &v.Encode); err != nil {
				return err
			}
			return checkCompactEncoding(v.Encode[len(v.Encode)-1].Encoding)
		case "DecodeTest":
			if err := decodeGroup(raw, &v.Decode); err != nil {
				return err
			}
			g := v.Decode[len(v.Decode)-1]
			for _, tc := range g.Tests {
				if (tc.JS == "decodes") != (tc.Consumed != nil && tc.Value != nil) || (tc.JS == "throws") != (tc.JSError != "") {
					return fmt.Errorf("#%d: js %q does not match its fields", tc.TcID, tc.JS)
				}
			}
			return checkCompactEncoding(g.Encoding)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

func checkCompactEncoding(name string) error {
	if !compactEncodings[name] {
		return fmt.Errorf("unknown encoding %q", name)
	}
	return nil
}

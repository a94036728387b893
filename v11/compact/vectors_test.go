package compact

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hypercore-go/hypercore/vectors"
)

// codec reads and writes one encoding of compact.json with this package,
// with values as Go types: uint64 (uint, uint64), uint32, bool, []byte
// (buffer, optionalBuffer, raw), string, [32]byte, [64]byte, []uint64
// (array(uint)), [][]byte (array(buffer)) and []uint32 (uint32array).
type codec struct {
	name  string
	read  func(d *Decoder) any
	write func(b []byte, v any) []byte
	// fromVector converts a vector's value to the Go type read returns.
	fromVector func(v vectors.CompactValue) (any, error)
}

// codecs lists the encodings in a fixed order: the fuzz target picks them
// by index.
var codecs = []codec{
	{
		name:       "uint",
		read:       func(d *Decoder) any { return d.Uint() },
		write:      func(b []byte, v any) []byte { return AppendUint(b, v.(uint64)) },
		fromVector: func(v vectors.CompactValue) (any, error) { return v.Uint() },
	},
	{
		name:  "uint32",
		read:  func(d *Decoder) any { return d.Uint32() },
		write: func(b []byte, v any) []byte { return AppendUint32(b, v.(uint32)) },
		fromVector: func(v vectors.CompactValue) (any, error) {
			n, err := v.Uint()
			if err == nil && n > 0xffffffff {
				err = fmt.Errorf("uint32 value %d", n)
			}
			return uint32(n), err
		},
	},
	{
		name:       "uint64",
		read:       func(d *Decoder) any { return d.Uint64() },
		write:      func(b []byte, v any) []byte { return AppendUint64(b, v.(uint64)) },
		fromVector: func(v vectors.CompactValue) (any, error) { return v.Uint() },
	},
	{
		name:       "bool",
		read:       func(d *Decoder) any { return d.Bool() },
		write:      func(b []byte, v any) []byte { return AppendBool(b, v.(bool)) },
		fromVector: func(v vectors.CompactValue) (any, error) { return v.Bool() },
	},
	{
		name:       "buffer",
		read:       func(d *Decoder) any { return d.Buffer() },
		write:      func(b []byte, v any) []byte { return AppendBuffer(b, v.([]byte)) },
		fromVector: func(v vectors.CompactValue) (any, error) { return notNil(v.Bytes()) },
	},
	{
		name:       "optionalBuffer",
		read:       func(d *Decoder) any { return d.OptionalBuffer() },
		write:      func(b []byte, v any) []byte { return AppendOptionalBuffer(b, v.([]byte)) },
		fromVector: func(v vectors.CompactValue) (any, error) { return v.Bytes() },
	},
	{
		name:  "string",
		read:  func(d *Decoder) any { return d.String() },
		write: func(b []byte, v any) []byte { return AppendString(b, v.(string)) },
		fromVector: func(v vectors.CompactValue) (any, error) {
			b, err := notNil(v.Bytes())
			return string(b), err
		},
	},
	{
		name:  "fixed32",
		read:  func(d *Decoder) any { return d.Fixed32() },
		write: func(b []byte, v any) []byte { a := v.([32]byte); return append(b, a[:]...) },
		fromVector: func(v vectors.CompactValue) (any, error) {
			var a [32]byte
			b, err := v.Bytes()
			if err == nil && len(b) != 32 {
				err = fmt.Errorf("fixed32 value of %d bytes", len(b))
			}
			copy(a[:], b)
			return a, err
		},
	},
	{
		name:  "fixed64",
		read:  func(d *Decoder) any { return d.Fixed64() },
		write: func(b []byte, v any) []byte { a := v.([64]byte); return append(b, a[:]...) },
		fromVector: func(v vectors.CompactValue) (any, error) {
			var a [64]byte
			b, err := v.Bytes()
			if err == nil && len(b) != 64 {
				err = fmt.Errorf("fixed64 value of %d bytes", len(b))
			}
			copy(a[:], b)
			return a, err
		},
	},
	{
		name:       "raw",
		read:       func(d *Decoder) any { return d.Raw() },
		write:      func(b []byte, v any) []byte { return append(b, v.([]byte)...) },
		fromVector: func(v vectors.CompactValue) (any, error) { return notNil(v.Bytes()) },
	},
	{
		name: "array(uint)",
		read: func(d *Decoder) any {
			n := d.ArrayLen(1)
			if d.Err() != nil {
				// ArrayLen must return 0 on error: anything else comes
				// back as a non-zero (non-nil) slice, which the callers'
				// zero checks catch.
				if n == 0 {
					return []uint64(nil)
				}
				return make([]uint64, n)
			}
			l := make([]uint64, n)
			for i := range l {
				l[i] = d.Uint()
			}
			if d.Err() != nil {
				return []uint64(nil)
			}
			return l
		},
		write: func(b []byte, v any) []byte {
			l := v.([]uint64)
			b = AppendArrayLen(b, len(l))
			for _, x := range l {
				b = AppendUint(b, x)
			}
			return b
		},
		fromVector: func(v vectors.CompactValue) (any, error) { return v.Uints() },
	},
	{
		name: "array(buffer)",
		read: func(d *Decoder) any {
			n := d.ArrayLen(1)
			if d.Err() != nil {
				if n == 0 {
					return [][]byte(nil)
				}
				return make([][]byte, n)
			}
			l := make([][]byte, n)
			for i := range l {
				l[i] = d.Buffer()
			}
			if d.Err() != nil {
				return [][]byte(nil)
			}
			return l
		},
		write: func(b []byte, v any) []byte {
			l := v.([][]byte)
			b = AppendArrayLen(b, len(l))
			for _, x := range l {
				b = AppendBuffer(b, x)
			}
			return b
		},
		fromVector: func(v vectors.CompactValue) (any, error) { return v.Buffers() },
	},
	{
		name:  "uint32array",
		read:  func(d *Decoder) any { return d.Uint32Array() },
		write: func(b []byte, v any) []byte { return AppendUint32Array(b, v.([]uint32)) },
		fromVector: func(v vectors.CompactValue) (any, error) {
			l, err := v.Uints()
			w := make([]uint32, len(l))
			for i, x := range l {
				if x > 0xffffffff {
					return nil, fmt.Errorf("uint32array word %d", x)
				}
				w[i] = uint32(x)
			}
			return w, err
		},
	},
}

func notNil(b []byte, err error) ([]byte, error) {
	if err == nil && b == nil {
		err = errors.New("null where a value is required")
	}
	return b, err
}

func codecByName(t testing.TB, name string) codec {
	t.Helper()
	for _, c := range codecs {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no codec for encoding %q", name)
	return codec{}
}

// errorClasses maps compact.json's error classes to the sentinel errors.
var errorClasses = map[string]error{
	"truncated": ErrTruncated,
	"range":     ErrRange,
	"too-big":   ErrTooBig,
}

// knownFlags are the flags compact.json may carry; any other fails.
var knownFlags = map[string]bool{
	"NonMinimal": true, "TrailingBytes": true, "BoolByte": true, "InvalidUTF8": true, "CountFirst": true, "Wraps32": true,
}

func loadVectors(t testing.TB) *vectors.Compact {
	t.Helper()
	v, err := vectors.LoadCompact()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Encode) == 0 || len(v.Decode) == 0 {
		t.Fatal("compact.json lacks a group")
	}
	return v
}

func checkFlags(t *testing.T, c vectors.Case) {
	t.Helper()
	for _, f := range c.Flags {
		if !knownFlags[f] {
			t.Fatalf("unknown flag %q", f)
		}
	}
}

// decodeOne reads one value of codec c from b and returns it, the bytes
// read and the error.
func decodeOne(c codec, b []byte) (any, int, error) {
	d := NewDecoder(b)
	v := c.read(d)
	return v, d.Offset(), d.Err()
}

func isZero(v any) bool { return reflect.ValueOf(v).IsZero() }

// TestEncodeVectors encodes every EncodeTest value and compares with the
// bytes JS wrote, then decodes those bytes back to the value.
func TestEncodeVectors(t *testing.T) {
	v := loadVectors(t)
	for _, g := range v.Encode {
		c := codecByName(t, g.Encoding)
		for _, tc := range g.Tests {
			t.Run(tc.Name("v11/compact.json"), func(t *testing.T) {
				checkFlags(t, tc.Case)
				if !tc.Valid() {
					t.Fatalf("EncodeTest with result %q", tc.Result)
				}
				want, err := c.fromVector(tc.Value)
				if err != nil {
					t.Fatal(err)
				}
				if got := c.write(nil, want); !bytes.Equal(got, tc.Encoded) {
					t.Errorf("%s encode(%v) = %x, want %x", c.name, want, got, []byte(tc.Encoded))
				}
				if g.Encoding == "uint" {
					if n := UintLen(want.(uint64)); n != len(tc.Encoded) {
						t.Errorf("UintLen(%d) = %d, want %d", want, n, len(tc.Encoded))
					}
				}
				got, off, err := decodeOne(c, tc.Encoded)
				if err != nil {
					t.Fatalf("%s decode(%x): %v", c.name, []byte(tc.Encoded), err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s decode(%x) differs (-want +got):\n%s", c.name, []byte(tc.Encoded), diff)
				}
				if off != len(tc.Encoded) {
					t.Errorf("%s decode(%x) read %d bytes, want %d", c.name, []byte(tc.Encoded), off, len(tc.Encoded))
				}
			})
		}
	}
}

// TestDecodeVectors decodes every DecodeTest input and compares the value
// and bytes consumed with JS's, or the error class with the spec's verdict.
func TestDecodeVectors(t *testing.T) {
	v := loadVectors(t)
	for _, g := range v.Decode {
		c := codecByName(t, g.Encoding)
		for _, tc := range g.Tests {
			t.Run(tc.Name("v11/compact.json"), func(t *testing.T) {
				checkFlags(t, tc.Case)
				got, off, err := decodeOne(c, tc.Encoded)
				if !tc.Valid() {
					class, ok := errorClasses[tc.Error]
					if !ok {
						t.Fatalf("unknown error class %q", tc.Error)
					}
					if !errors.Is(err, class) {
						t.Fatalf("%s decode(%x) = %v, want %s (JS: %s)", c.name, []byte(tc.Encoded), err, tc.Error, tc.JSError)
					}
					if !isZero(got) {
						t.Errorf("%s decode(%x) returned %v with its error, want the zero value", c.name, []byte(tc.Encoded), got)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s decode(%x): %v", c.name, []byte(tc.Encoded), err)
				}
				want, err := c.fromVector(tc.Value)
				if err != nil {
					t.Fatal(err)
				}
				if g.Encoding == "string" {
					// Go returns the bytes; JS replaced invalid UTF-8.
					raw := string(tc.Encoded[off-len(got.(string)) : off])
					if got != raw {
						t.Errorf("String(%x) = %x, want the bytes %x", []byte(tc.Encoded), got, raw)
					}
					if r := ReplaceInvalidUTF8(got.(string)); r != want {
						t.Errorf("ReplaceInvalidUTF8(%x) = %x, want %x (JS)", got, r, want)
					}
					if tc.HasFlag("InvalidUTF8") == (got == want) {
						t.Errorf("flags %v, but the bytes %x and JS's string %x are equal: %v", tc.Flags, got, want, got == want)
					}
				} else if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s decode(%x) differs from JS (-js +go):\n%s", c.name, []byte(tc.Encoded), diff)
				}
				if tc.Consumed == nil || off != *tc.Consumed {
					t.Errorf("%s decode(%x) read %d bytes, JS %v", c.name, []byte(tc.Encoded), off, tc.Consumed)
				}
				// Re-encoding gives the canonical form: the input itself
				// unless it was non-minimal, had trailing bytes or an odd
				// bool byte.
				enc := c.write(nil, got)
				canonical := !tc.HasFlag("NonMinimal") && !tc.HasFlag("TrailingBytes") && !tc.HasFlag("BoolByte")
				if canonical && !bytes.Equal(enc, tc.Encoded) {
					t.Errorf("%s encode(decode(%x)) = %x, want the input", c.name, []byte(tc.Encoded), enc)
				}
				if !canonical && bytes.Equal(enc, tc.Encoded) {
					t.Errorf("%s encode(decode(%x)) is the input, but the case is flagged %v", c.name, []byte(tc.Encoded), tc.Flags)
				}
				again, _, err := decodeOne(c, enc)
				if err != nil || !cmp.Equal(again, got) {
					t.Errorf("%s decode(encode(decode(%x))) = %v, %v; want %v", c.name, []byte(tc.Encoded), again, err, got)
				}
			})
		}
	}
}

// TestEveryTruncation cuts every EncodeTest encoding at every byte: each
// strict prefix is ErrTruncated with a zero value (raw excepted: it reads
// whatever is there).
func TestEveryTruncation(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, g := range v.Encode {
		if g.Encoding == "raw" {
			continue
		}
		c := codecByName(t, g.Encoding)
		for _, tc := range g.Tests {
			for k := 0; k < len(tc.Encoded); k++ {
				got, _, err := decodeOne(c, tc.Encoded[:k])
				if !errors.Is(err, ErrTruncated) || !isZero(got) {
					t.Errorf("%s: %s decode(%x) = %v, %v; want zero, ErrTruncated", tc.Name("v11/compact.json"), c.name, []byte(tc.Encoded[:k]), got, err)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no truncations tested")
	}
}

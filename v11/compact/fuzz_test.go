package compact

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// fuzzProgram splits a fuzz input into a sequence of typed reads and the
// bytes to read: data[0] gives the number of reads (1 + data[0] mod 8), the
// next bytes pick each read's encoding (an index into codecs, mod their
// number), and the rest is the input.
func fuzzProgram(data []byte) (ops []codec, input []byte, ok bool) {
	if len(data) == 0 {
		return nil, nil, false
	}
	k := 1 + int(data[0])%8
	if len(data) < 1+k {
		return nil, nil, false
	}
	for _, b := range data[1 : 1+k] {
		ops = append(ops, codecs[int(b)%len(codecs)])
	}
	return ops, data[1+k:], true
}

// fuzzSeed builds the fuzz input that reads encodings names from input.
func fuzzSeed(t testing.TB, names []string, input []byte) []byte {
	seed := []byte{byte(len(names) - 1)}
	for _, n := range names {
		for i, c := range codecs {
			if c.name == n {
				seed = append(seed, byte(i))
			}
		}
	}
	if len(seed) != 1+len(names) {
		t.Fatalf("fuzzSeed: unknown encoding in %v", names)
	}
	return append(seed, input...)
}

// FuzzDecode runs a sequence of typed reads over any input and checks:
// a failure is one of the three error classes; the read that failed and
// every read after it return the zero value and read nothing; every value
// read before it, encoded again, decodes to the same value using all its
// bytes, and that encoding is a fixed point; all of them encoded in
// sequence decode to the same values; and a string's ReplaceInvalidUTF8 is
// valid UTF-8.
func FuzzDecode(f *testing.F) {
	v := loadVectors(f)
	seeds := 0
	for _, g := range v.Encode {
		var names []string
		var all []byte
		for _, tc := range g.Tests {
			f.Add(fuzzSeed(f, []string{g.Encoding}, tc.Encoded))
			seeds++
			if len(names) < 8 {
				names = append(names, g.Encoding)
				all = append(all, tc.Encoded...)
			}
		}
		f.Add(fuzzSeed(f, names, all)) // several values of one encoding in a row
	}
	for _, g := range v.Decode {
		for _, tc := range g.Tests {
			f.Add(fuzzSeed(f, []string{g.Encoding}, tc.Encoded))
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds from vectors/v11/compact.json")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ops, input, ok := fuzzProgram(data)
		if !ok {
			return
		}
		d := NewDecoder(input)
		vals := make([]any, 0, len(ops))
		failed := -1
		var failOff int
		for i, c := range ops {
			before := d.Offset()
			val := c.read(d)
			if failed >= 0 {
				if !isZero(val) || d.Offset() != failOff {
					t.Fatalf("read %d (%s) after the error at read %d = %#v, offset %d → %d; want zero, nothing read", i, c.name, failed, val, before, d.Offset())
				}
				continue
			}
			if d.Err() != nil {
				failed, failOff = i, d.Offset()
				err := d.Err()
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrRange) && !errors.Is(err, ErrTooBig) {
					t.Fatalf("read %d (%s): untyped error %v", i, c.name, err)
				}
				if !isZero(val) {
					t.Fatalf("read %d (%s) = %#v with error %v, want the zero value", i, c.name, val, err)
				}
				continue
			}
			if d.Offset() < before || d.Offset() > len(input) || d.Remaining() != len(input)-d.Offset() {
				t.Fatalf("read %d (%s): offset %d → %d of %d", i, c.name, before, d.Offset(), len(input))
			}
			vals = append(vals, val)

			enc := c.write(nil, val)
			again, n, err := decodeOne(c, enc)
			if err != nil || n != len(enc) || !cmp.Equal(again, val) {
				t.Fatalf("read %d (%s): decode(encode(%#v)) = %#v, %v, read %d of %d", i, c.name, val, again, err, n, len(enc))
			}
			if enc2 := c.write(nil, again); !bytes.Equal(enc2, enc) {
				t.Fatalf("read %d (%s): encode(decode(%x)) = %x", i, c.name, enc, enc2)
			}
			if s, ok := val.(string); ok {
				if r := ReplaceInvalidUTF8(s); !utf8.ValidString(r) || (utf8.ValidString(s) && r != s) {
					t.Fatalf("ReplaceInvalidUTF8(%x) = %x", s, r)
				}
			}
		}
		// The values read, encoded one after the other, read back the same.
		var enc []byte
		for i, val := range vals {
			enc = ops[i].write(enc, val)
		}
		d = NewDecoder(enc)
		for i, val := range vals {
			if got := ops[i].read(d); !cmp.Equal(got, val) || d.Err() != nil {
				t.Fatalf("sequence: read %d (%s) = %#v, %v; want %#v", i, ops[i].name, got, d.Err(), val)
			}
		}
		if d.Remaining() != 0 {
			t.Fatalf("sequence: %d bytes left", d.Remaining())
		}
	})
}

package compact

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// referenceUint is the uint encoding written straight from the table in
// spec/v11/compact.md ("uint"): a prefix chosen by the value's size, then
// the value's bytes, least significant first.
func referenceUint(n uint64) []byte {
	var prefix []byte
	var width int
	switch {
	case n < 0xfd:
		return []byte{byte(n)}
	case n < 1<<16:
		prefix, width = []byte{0xfd}, 2
	case n < 1<<32:
		prefix, width = []byte{0xfe}, 4
	default:
		prefix, width = []byte{0xff}, 8
	}
	out := prefix
	for i := 0; i < width; i++ {
		out = append(out, byte(n>>(8*i)))
	}
	return out
}

// TestUintBoundaries checks the encoding on each side of every prefix
// boundary, and the values a decoder accepts and rejects there.
func TestUintBoundaries(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "00"},
		{0xfc, "fc"},
		{0xfd, "fd fd00"},
		{0xffff, "fd ffff"},
		{0x10000, "fe 00000100"},
		{1<<32 - 1, "fe ffffffff"},
		{1 << 32, "ff 0000000001000000"},
		{MaxSafeInteger, "ff ffffffffffff1f00"},
	} {
		want := unhex(t, tc.want)
		if got := AppendUint(nil, tc.n); !bytes.Equal(got, want) {
			t.Errorf("AppendUint(%#x) = %x, want %x", tc.n, got, want)
		}
		if got := UintLen(tc.n); got != len(want) {
			t.Errorf("UintLen(%#x) = %d, want %d", tc.n, got, len(want))
		}
		d := NewDecoder(want)
		if got := d.Uint(); got != tc.n || d.Err() != nil || d.Offset() != len(want) {
			t.Errorf("Uint(%x) = %#x, %v, read %d; want %#x, nil, %d", want, got, d.Err(), d.Offset(), tc.n, len(want))
		}
	}
	// 2^53 and above: JS cannot hold them, and decoders reject them.
	for _, s := range []string{"ff 0000000000002000", "ff 0100000000002000", "ff ffffffffffffffff", "ff 0000000000000080"} {
		b := unhex(t, s)
		d := NewDecoder(b)
		if got := d.Uint(); got != 0 || !errors.Is(d.Err(), ErrRange) {
			t.Errorf("Uint(%x) = %#x, %v; want 0, ErrRange", b, got, d.Err())
		}
		d = NewDecoder(b[1:])
		if got := d.Uint64(); got != 0 || !errors.Is(d.Err(), ErrRange) {
			t.Errorf("Uint64(%x) = %#x, %v; want 0, ErrRange", b[1:], got, d.Err())
		}
	}
	// The encoder writes what it is given; 2^53 is encoded, not decoded.
	if got, want := AppendUint(nil, 1<<53), unhex(t, "ff 0000000000002000"); !bytes.Equal(got, want) {
		t.Errorf("AppendUint(2^53) = %x, want %x", got, want)
	}
}

// TestNonMinimal checks that every longer form of a value decodes to it.
func TestNonMinimal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"fd 0000", 0},
		{"fd 0100", 1},
		{"fd fc00", 0xfc},
		{"fe 01000000", 1},
		{"fe ffff0000", 0xffff},
		{"ff 0100000000000000", 1},
		{"ff ffffffff00000000", 1<<32 - 1},
	} {
		b := unhex(t, tc.in)
		d := NewDecoder(b)
		if got := d.Uint(); got != tc.want || d.Err() != nil || d.Remaining() != 0 {
			t.Errorf("Uint(%x) = %#x, %v, %d left; want %#x, nil, 0", b, got, d.Err(), d.Remaining(), tc.want)
		}
	}
	// A non-minimal length works as a length.
	d := NewDecoder(unhex(t, "fd 0200 aabb"))
	if got := d.Buffer(); !bytes.Equal(got, []byte{0xaa, 0xbb}) || d.Err() != nil {
		t.Errorf("Buffer(fd0200aabb) = %x, %v", got, d.Err())
	}
}

// TestTrailingBytes checks that a decoder reads only its field.
func TestTrailingBytes(t *testing.T) {
	d := NewDecoder(unhex(t, "05 00 ff"))
	if got := d.Uint(); got != 5 || d.Err() != nil || d.Offset() != 1 || d.Remaining() != 2 {
		t.Errorf("Uint(0500ff) = %d, %v, offset %d, remaining %d", got, d.Err(), d.Offset(), d.Remaining())
	}
	if got := d.Raw(); !bytes.Equal(got, []byte{0, 0xff}) || d.Remaining() != 0 {
		t.Errorf("Raw() = %x, remaining %d; want 00ff, 0", got, d.Remaining())
	}
	if got := d.Raw(); got == nil || len(got) != 0 || d.Err() != nil {
		t.Errorf("Raw() at the end = %#v, %v; want empty, nil", got, d.Err())
	}
}

// TestTruncatedPrefixes cuts an encoding of every field type at every byte.
func TestTruncatedPrefixes(t *testing.T) {
	var full []byte
	full = AppendUint(full, 1<<40)
	full = AppendUint(full, 0x1234)
	full = AppendUint(full, 0x123456)
	full = AppendUint64(full, 7)
	full = AppendUint32(full, 9)
	full = AppendBool(full, true)
	full = AppendBuffer(full, []byte("abc"))
	full = AppendOptionalBuffer(full, []byte("d"))
	full = AppendString(full, "é✓")
	full = append(full, bytes.Repeat([]byte{1}, 32)...)
	full = append(full, bytes.Repeat([]byte{2}, 64)...)
	full = AppendUint32Array(full, []uint32{1, 2})
	full = AppendArrayLen(full, 2)
	full = AppendUint(full, 300)
	full = AppendUint(full, 3)
	read := func(b []byte) (*Decoder, []any) {
		d := NewDecoder(b)
		vals := []any{d.Uint(), d.Uint(), d.Uint(), d.Uint64(), d.Uint32(), d.Bool(), d.Buffer(), d.OptionalBuffer(),
			d.String(), d.Fixed32(), d.Fixed64(), d.Uint32Array()}
		n := d.ArrayLen(1)
		vals = append(vals, n)
		for i := 0; i < 2; i++ {
			vals = append(vals, d.Uint())
		}
		return d, vals
	}
	d, _ := read(full)
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("the whole encoding: %v, %d left", d.Err(), d.Remaining())
	}
	for k := 0; k < len(full); k++ {
		d, _ := read(full[:k])
		if !errors.Is(d.Err(), ErrTruncated) {
			t.Errorf("prefix of %d bytes: %v, want ErrTruncated", k, d.Err())
		}
		if !strings.HasPrefix(d.Err().Error(), "compact: truncated: ") {
			t.Errorf("error %q does not start with the package name and class", d.Err())
		}
	}
}

// TestArrayLimit checks the count limit at its edge: 0x100000 elements are
// accepted, 0x100001 are too big even when the bytes are there.
func TestArrayLimit(t *testing.T) {
	ok := append(AppendArrayLen(nil, MaxArrayLength), make([]byte, MaxArrayLength)...)
	d := NewDecoder(ok)
	if n := d.ArrayLen(1); n != MaxArrayLength || d.Err() != nil {
		t.Errorf("ArrayLen(0x100000 with its bytes) = %#x, %v", n, d.Err())
	}
	over := append(AppendArrayLen(nil, MaxArrayLength+1), make([]byte, MaxArrayLength+1)...)
	d = NewDecoder(over)
	if n := d.ArrayLen(1); n != 0 || !errors.Is(d.Err(), ErrTooBig) {
		t.Errorf("ArrayLen(0x100001 with its bytes) = %#x, %v; want 0, ErrTooBig", n, d.Err())
	}
	if d.Offset() != 0 {
		t.Errorf("after ErrTooBig the offset is %d, want 0 (the count's start)", d.Offset())
	}
	// the count's own range error comes first
	d = NewDecoder(unhex(t, "ff 0000000000002000"))
	if n := d.ArrayLen(1); n != 0 || !errors.Is(d.Err(), ErrRange) {
		t.Errorf("ArrayLen(2^53) = %d, %v; want 0, ErrRange", n, d.Err())
	}
}

// TestArrayCountBeforeAllocation checks that a count larger than the bytes
// left is rejected before any element is read, whatever the element size,
// and that nothing is allocated for it.
func TestArrayCountBeforeAllocation(t *testing.T) {
	for _, tc := range []struct {
		in      string
		minSize int
		err     error
	}{
		{"03 0102", 1, ErrTruncated},
		{"02 0102", 1, nil},
		{"02 0102", 2, ErrTruncated},
		{"01 " + strings.Repeat("00", 31), 32, ErrTruncated},
		{"01 " + strings.Repeat("00", 32), 32, nil},
		{"fe 00001000", 1, ErrTruncated},
		{"fe 00001000", 1 << 62, ErrTruncated}, // count × size would overflow
		{"0a ff0000000000002000", 1, ErrTruncated},
	} {
		b := unhex(t, tc.in)
		d := NewDecoder(b)
		n := d.ArrayLen(tc.minSize)
		if !errors.Is(d.Err(), tc.err) || (tc.err != nil && n != 0) {
			t.Errorf("ArrayLen(%x, %d) = %d, %v; want error %v", b, tc.minSize, n, d.Err(), tc.err)
		}
	}
	b := unhex(t, "fe 00001000 01")
	if allocs := testing.AllocsPerRun(100, func() {
		d := NewDecoder(b)
		d.ArrayLen(1)
		_ = d.Err()
	}); allocs > 5 {
		t.Errorf("rejecting a count of 0x100000 allocated %v times", allocs)
	}
}

// TestUint32ArrayCount checks counts whose byte size is larger than the
// input, including counts whose size wraps in 32-bit arithmetic, and that
// no count makes the decoder allocate more than the input holds.
func TestUint32ArrayCount(t *testing.T) {
	for _, tc := range []struct {
		in  string
		err error
	}{
		{"02 01000000", ErrTruncated},
		{"02 010000", ErrTruncated},
		{"fe 00000040 01000000", ErrTruncated},         // 2^30 words: 2^32 bytes (0 in 32 bits)
		{"fe 01000040 01000000", ErrTruncated},         // 2^30+1 words: 4 bytes in 32 bits
		{"ff ffffffffffff1f00", ErrTruncated},          // 2^53-1 words: no count limit, but no bytes
		{"ff ffffffffffff3f00", ErrRange},              // 2^54-1
		{"fe 01001000", ErrTruncated},                  // 0x100001: not too big (no limit)
		{"fd 0100 01000000", nil},                      // non-minimal count
		{"00", nil},                                    // empty
		{"ff 0000000000004000" + "00000000", ErrRange}, // 2^54
	} {
		b := unhex(t, tc.in)
		d := NewDecoder(b)
		w := d.Uint32Array()
		if !errors.Is(d.Err(), tc.err) || (tc.err != nil && w != nil) || (tc.err == nil && w == nil) {
			t.Errorf("Uint32Array(%x) = %v, %v; want error %v", b, w, d.Err(), tc.err)
		}
	}
	b := unhex(t, "ff ffffffffffff1f00 01020304")
	if allocs := testing.AllocsPerRun(100, func() {
		d := NewDecoder(b)
		d.Uint32Array()
	}); allocs > 5 {
		t.Errorf("rejecting a count of 2^53-1 allocated %v times", allocs)
	}
}

// TestBool checks that only 01 is true and that no byte is an error.
func TestBool(t *testing.T) {
	for i := 0; i < 256; i++ {
		d := NewDecoder([]byte{byte(i)})
		if got := d.Bool(); got != (i == 1) || d.Err() != nil {
			t.Errorf("Bool(%02x) = %v, %v; want %v, nil", i, got, d.Err(), i == 1)
		}
	}
	if got := AppendBool(AppendBool(nil, true), false); !bytes.Equal(got, []byte{1, 0}) {
		t.Errorf("AppendBool(true), AppendBool(false) = %x, want 0100", got)
	}
}

// TestOptionalBuffer checks that length 0 in any form is absent (nil), and
// that an absent or empty buffer is written as 00.
func TestOptionalBuffer(t *testing.T) {
	for _, s := range []string{"00", "fd 0000", "fe 00000000", "ff 0000000000000000"} {
		b := unhex(t, s)
		d := NewDecoder(b)
		if got := d.OptionalBuffer(); got != nil || d.Err() != nil || d.Remaining() != 0 {
			t.Errorf("OptionalBuffer(%x) = %#v, %v; want nil, nil", b, got, d.Err())
		}
		d = NewDecoder(b)
		if got := d.Buffer(); got == nil || len(got) != 0 || d.Err() != nil {
			t.Errorf("Buffer(%x) = %#v, %v; want empty non-nil", b, got, d.Err())
		}
	}
	for _, v := range [][]byte{nil, {}} {
		if got := AppendOptionalBuffer(nil, v); !bytes.Equal(got, []byte{0}) {
			t.Errorf("AppendOptionalBuffer(%#v) = %x, want 00", v, got)
		}
	}
	d := NewDecoder(unhex(t, "02 aabb"))
	if got := d.OptionalBuffer(); !bytes.Equal(got, []byte{0xaa, 0xbb}) {
		t.Errorf("OptionalBuffer(02aabb) = %x", got)
	}
}

// TestAliasCapacity checks that appending to a decoded buffer does not
// overwrite the fields after it.
func TestAliasCapacity(t *testing.T) {
	in := unhex(t, "02 aabb 01 cc")
	d := NewDecoder(in)
	a := d.Buffer()
	_ = append(a, 0xee)
	if got := d.Buffer(); !bytes.Equal(got, []byte{0xcc}) {
		t.Errorf("after appending to the first buffer the second reads %x, want cc", got)
	}
	if !bytes.Equal(in, unhex(t, "02 aabb 01 cc")) {
		t.Errorf("input changed to %x", in)
	}
}

// TestSticky checks that after the first error every read returns the zero
// value, reads nothing, and the first error stays.
func TestSticky(t *testing.T) {
	in := unhex(t, "fd 01") // a truncated uint, then nothing
	d := NewDecoder(append(in, bytes.Repeat([]byte{1}, 100)...)[:2])
	if d.Uint() != 0 || !errors.Is(d.Err(), ErrTruncated) {
		t.Fatalf("Uint(fd01) = _, %v; want ErrTruncated", d.Err())
	}
	first, off := d.Err(), d.Offset()
	// Give the decoder more bytes behind its back: a sticky decoder still
	// reads nothing.
	d.buf = append(in, bytes.Repeat([]byte{1}, 100)...)
	checks := map[string]any{
		"Uint":           d.Uint(),
		"Uint64":         d.Uint64(),
		"Uint32":         d.Uint32(),
		"Buffer":         d.Buffer(),
		"OptionalBuffer": d.OptionalBuffer(),
		"String":         d.String(),
		"Bool":           d.Bool(),
		"Fixed":          d.Fixed(2),
		"Fixed32":        d.Fixed32(),
		"Fixed64":        d.Fixed64(),
		"ArrayLen":       d.ArrayLen(1),
		"Uint32Array":    d.Uint32Array(),
		"Raw":            d.Raw(),
	}
	for name, v := range checks {
		if !isZero(v) {
			t.Errorf("%s after an error = %#v, want the zero value", name, v)
		}
	}
	if d.Offset() != off || d.Err() != first {
		t.Errorf("after more reads: offset %d, error %v; want %d, %v", d.Offset(), d.Err(), off, first)
	}
	if got := d.Fail(ErrTooBig); got != first {
		t.Errorf("Fail after an error = %v, want the first error %v", got, first)
	}
	// Fail on a clean decoder records its error, and reads stop.
	other := errors.New("message: bad field")
	d = NewDecoder([]byte{5, 6})
	if got := d.Fail(other); got != other || d.Err() != other || d.Uint() != 0 {
		t.Errorf("Fail(%v) = %v, Err() = %v", other, got, d.Err())
	}
}

// TestReplaceInvalidUTF8 checks the replacement against JS's results for
// the cases spec/v11/compact.md lists, and the difference from the
// standard library's replacements.
func TestReplaceInvalidUTF8(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"héllo ✓ 🙂", "héllo ✓ 🙂"},
		{"\xff", "\uFFFD"},
		{"\xc3(", "\uFFFD("},
		{"\xe2\x82A", "\uFFFDA"},
		{"\xf0\x9f\x99", "\uFFFD"},
		{"\xc0\x80", "\uFFFD\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\xed\x9f\xbf", "\ud7ff"},
		{"\xf4\x8f\xbf\xbf", "\U0010ffff"},
		{"\xef\xbb\xbfa", "\ufeffa"},
	} {
		if got := ReplaceInvalidUTF8(tc.in); got != tc.want {
			t.Errorf("ReplaceInvalidUTF8(%x) = %x, want %x", tc.in, got, tc.want)
		}
	}
	// The two standard-library replacements its doc comment sets it apart
	// from.
	if got, std := ReplaceInvalidUTF8("\xff\xff"), strings.ToValidUTF8("\xff\xff", "\uFFFD"); got != "\uFFFD\uFFFD" || std == got {
		t.Errorf("ReplaceInvalidUTF8(ffff) = %x, strings.ToValidUTF8 = %x; want two U+FFFD, and one", got, std)
	}
	if got, std := ReplaceInvalidUTF8("\xe2\x82A"), string([]rune("\xe2\x82A")); got != "\uFFFDA" || std == got {
		t.Errorf("ReplaceInvalidUTF8(e28241) = %x, []rune = %x; want one U+FFFD, and two", got, std)
	}
}

// utf8Prefixes holds every strict prefix of every valid multi-byte UTF-8
// sequence: the definition of "maximal subpart" in the WHATWG decoder.
var utf8Prefixes = func() map[string]bool {
	m := map[string]bool{}
	var buf [4]byte
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		for k := 1; k < n; k++ {
			m[string(buf[:k])] = true
		}
	}
	return m
}()

// referenceReplace is ReplaceInvalidUTF8 written from the definition: at
// each position take a whole valid sequence, or else the longest prefix of
// a valid sequence there (at least one byte), replaced by U+FFFD.
func referenceReplace(s string) string {
	var out strings.Builder
	for i := 0; i < len(s); {
		if r, n := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || n > 1 {
			out.WriteString(s[i : i+n])
			i += n
			continue
		}
		l := 1
		for k := 3; k > 1; k-- {
			if i+k <= len(s) && utf8Prefixes[s[i:i+k]] {
				l = k
				break
			}
		}
		out.WriteString("\uFFFD")
		i += l
	}
	return out.String()
}

func TestReplaceInvalidUTF8Reference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// bytes biased to the interesting ones: leads, continuations, ASCII
		alphabet := []byte{0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff}
		b := rapid.SliceOfN(rapid.SampledFrom(alphabet), 0, 24).Draw(t, "bytes")
		s := string(b)
		got := ReplaceInvalidUTF8(s)
		if want := referenceReplace(s); got != want {
			t.Fatalf("ReplaceInvalidUTF8(%x) = %x, want %x", s, got, want)
		}
		if !utf8.ValidString(got) || ReplaceInvalidUTF8(got) != got {
			t.Fatalf("ReplaceInvalidUTF8(%x) = %x is not a fixed point", s, got)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("ReplaceInvalidUTF8 changed valid %x", s)
		}
	})
}

// genUint draws values near the boundaries of the uint forms as well as
// anywhere up to 2^53 − 1.
func genUint() *rapid.Generator[uint64] {
	return rapid.OneOf(
		rapid.Uint64Range(0, MaxSafeInteger),
		rapid.SampledFrom([]uint64{0, 0xfc, 0xfd, 0xffff, 0x10000, 1<<32 - 1, 1 << 32, MaxSafeInteger}),
		rapid.Uint64Range(0xf0, 0x110),
		rapid.Uint64Range(0xfff0, 0x10010),
		rapid.Uint64Range(1<<32-16, 1<<32+16),
	)
}

func TestUintRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := genUint().Draw(t, "n")
		enc := AppendUint(nil, n)
		if want := referenceUint(n); !bytes.Equal(enc, want) {
			t.Fatalf("AppendUint(%#x) = %x, want %x", n, enc, want)
		}
		if UintLen(n) != len(enc) {
			t.Fatalf("UintLen(%#x) = %d, encoded %d", n, UintLen(n), len(enc))
		}
		d := NewDecoder(enc)
		if got := d.Uint(); got != n || d.Err() != nil || d.Remaining() != 0 {
			t.Fatalf("Uint(%x) = %#x, %v", enc, got, d.Err())
		}
		// every wider form decodes to n too
		for _, p := range []struct {
			prefix byte
			width  int
			max    uint64
		}{{0xfd, 2, 0xffff}, {0xfe, 4, 1<<32 - 1}, {0xff, 8, 1<<64 - 1}} {
			if n > p.max {
				continue
			}
			wide := []byte{p.prefix}
			for i := 0; i < p.width; i++ {
				wide = append(wide, byte(n>>(8*i)))
			}
			d := NewDecoder(wide)
			if got := d.Uint(); got != n || d.Err() != nil {
				t.Fatalf("Uint(%x) = %#x, %v; want %#x", wide, got, d.Err(), n)
			}
		}
	})
}

func TestUintAboveSafe(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.Uint64Range(MaxSafeInteger+1, 1<<64-1).Draw(t, "n")
		enc := AppendUint(nil, n)
		d := NewDecoder(enc)
		if got := d.Uint(); got != 0 || !errors.Is(d.Err(), ErrRange) {
			t.Fatalf("Uint(%x) = %#x, %v; want 0, ErrRange", enc, got, d.Err())
		}
		d = NewDecoder(AppendUint64(nil, n))
		if got := d.Uint64(); got != 0 || !errors.Is(d.Err(), ErrRange) {
			t.Fatalf("Uint64(%#x) = %#x, %v; want 0, ErrRange", n, got, d.Err())
		}
	})
}

// TestSequenceRoundTrip encodes a random sequence of fields of every type,
// decodes it back, and checks that every strict prefix of the encoding is
// ErrTruncated.
func TestSequenceRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(0, 12).Draw(t, "fields")
		var ops []codec
		vals := []any{}
		var enc []byte
		for i := 0; i < k; i++ {
			c := codecs[rapid.IntRange(0, len(codecs)-1).Draw(t, "codec")]
			if c.name == "raw" {
				continue // raw takes the rest: only ever last
			}
			v := drawValue(t, c.name)
			ops = append(ops, c)
			vals = append(vals, v)
			enc = c.write(enc, v)
		}
		read := func(b []byte) ([]any, int, error) {
			d := NewDecoder(b)
			got := make([]any, len(ops))
			for i, c := range ops {
				got[i] = c.read(d)
			}
			return got, d.Remaining(), d.Err()
		}
		got, left, err := read(enc)
		if err != nil || left != 0 {
			t.Fatalf("decoding %x: %v, %d left", enc, err, left)
		}
		if diff := cmp.Diff(vals, got); diff != "" {
			t.Fatalf("decode(encode(values)) differs (-want +got):\n%s", diff)
		}
		if len(enc) > 0 {
			cut := rapid.IntRange(0, len(enc)-1).Draw(t, "cut")
			if _, _, err := read(enc[:cut]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("prefix %x of %x: %v, want ErrTruncated", enc[:cut], enc, err)
			}
		}
	})
}

// drawValue draws a value of an encoding as its codec's Go type. Empty
// buffers are drawn non-nil (decoders return them so), except
// optionalBuffer, where empty is absent (nil).
func drawValue(t *rapid.T, name string) any {
	buf := func(label string) []byte {
		b := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, label)
		if b == nil {
			b = []byte{}
		}
		return b
	}
	switch name {
	case "uint", "uint64":
		return genUint().Draw(t, name)
	case "uint32":
		return rapid.Uint32().Draw(t, name)
	case "bool":
		return rapid.Bool().Draw(t, name)
	case "buffer", "raw":
		return buf(name)
	case "optionalBuffer":
		b := buf(name)
		if len(b) == 0 {
			return []byte(nil)
		}
		return b
	case "string":
		return rapid.String().Draw(t, name)
	case "fixed32":
		var a [32]byte
		copy(a[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, name))
		return a
	case "fixed64":
		var a [64]byte
		copy(a[:], rapid.SliceOfN(rapid.Byte(), 64, 64).Draw(t, name))
		return a
	case "array(uint)":
		l := rapid.SliceOfN(genUint(), 0, 20).Draw(t, name)
		if l == nil {
			l = []uint64{}
		}
		return l
	case "array(buffer)":
		n := rapid.IntRange(0, 5).Draw(t, name)
		l := make([][]byte, n)
		for i := range l {
			l[i] = buf("element")
		}
		return l
	case "uint32array":
		l := rapid.SliceOfN(rapid.Uint32(), 0, 20).Draw(t, name)
		if l == nil {
			l = []uint32{}
		}
		return l
	}
	t.Fatalf("no generator for %s", name)
	return nil
}

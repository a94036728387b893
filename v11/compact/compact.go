// Package compact implements the compact-encoding primitives that every
// Hypercore 11 message, manifest and signable is built from, specified in
// spec/v11/compact.md (npm compact-encoding 3.5.2).
//
// Encoding appends to a byte slice ([AppendUint], [AppendBuffer], ...) so a
// message is built in one buffer without a pre-encoding pass. Decoding reads
// from a [Decoder], which remembers the first error: a message decoder reads
// every field in order and checks [Decoder.Err] once at the end, and after
// an error every further read returns the zero value.
//
// The rules a decoder enforces are those of the JS reference, checked before
// anything is read or allocated: a length is compared with the bytes present
// before they are taken, an array count with [MaxArrayLength] and with the
// bytes left, and an integer with [MaxSafeInteger]. Decoders accept
// non-minimal integer forms (fd 01 00 is 1) and leave trailing bytes to the
// caller, as JS does.
//
// Strings are decoded as their bytes; [ReplaceInvalidUTF8] gives the string
// JS would see when those bytes are not valid UTF-8.
package compact

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Sentinel errors, one per failure class (compact.md, "Decoding").
var (
	// ErrTruncated: a field needs more bytes than remain (JS "Out of bounds").
	ErrTruncated = errors.New("compact: truncated")
	// ErrRange: an integer above MaxSafeInteger (JS "uint must be between 0
	// and 9007199254740991, use biguint").
	ErrRange = errors.New("compact: integer out of range")
	// ErrTooBig: an array count above MaxArrayLength (JS "Array is too big").
	ErrTooBig = errors.New("compact: array too big")
)

// MaxSafeInteger is the largest integer a decoder accepts, 2^53−1: JS
// numbers hold no larger integer exactly, and compact-encoding rejects a
// uint64 above it.
const MaxSafeInteger = 1<<53 - 1

// MaxArrayLength is the largest element count an array decoder accepts,
// 0x100000 (compact-encoding's array).
const MaxArrayLength = 0x100000

// Prefix bytes of the uint encoding (compact.md, "uint").
const (
	prefix16 = 0xfd // followed by uint16le
	prefix32 = 0xfe // followed by uint32le
	prefix64 = 0xff // followed by uint64le
)

// UintLen returns the encoded size of n: 1, 3, 5 or 9 bytes.
func UintLen(n uint64) int {
	switch {
	case n <= 0xfc:
		return 1
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	default:
		return 9
	}
}

// AppendUint appends the compact uint encoding of n: one byte for n ≤ 0xfc,
// otherwise a prefix byte fd, fe or ff and n as uint16le, uint32le or
// uint64le, the shortest that holds it. This is not LEB128.
//
// Decoders reject values above [MaxSafeInteger]; callers encoding lengths,
// indexes and counts never reach it.
func AppendUint(b []byte, n uint64) []byte {
	switch {
	case n <= 0xfc:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, prefix16), uint16(n))
	case n <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, prefix32), uint32(n))
	default:
		return binary.LittleEndian.AppendUint64(append(b, prefix64), n)
	}
}

// AppendUint64 appends n as 8 bytes little-endian (compact-encoding uint64,
// used inside hashes and signables, never as a wire field).
func AppendUint64(b []byte, n uint64) []byte {
	return binary.LittleEndian.AppendUint64(b, n)
}

// AppendUint32 appends n as 4 bytes little-endian.
func AppendUint32(b []byte, n uint32) []byte {
	return binary.LittleEndian.AppendUint32(b, n)
}

// AppendBuffer appends uint(len(v)) followed by v. A nil v is encoded as an
// empty buffer.
func AppendBuffer(b, v []byte) []byte {
	return append(AppendUint(b, uint64(len(v))), v...)
}

// AppendOptionalBuffer is AppendBuffer; it exists to name the field type.
// An absent (nil) or empty v is the single byte 00, which decodes as absent.
func AppendOptionalBuffer(b, v []byte) []byte { return AppendBuffer(b, v) }

// AppendString appends uint(byte length) followed by the bytes of s.
func AppendString(b []byte, s string) []byte {
	return append(AppendUint(b, uint64(len(s))), s...)
}

// AppendBool appends 01 for true and 00 for false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendUint32Array appends uint(len(w)) followed by each word as uint32le.
func AppendUint32Array(b []byte, w []uint32) []byte {
	b = AppendUint(b, uint64(len(w)))
	for _, x := range w {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

// AppendArrayLen appends the element count of an array; the caller appends
// the elements.
func AppendArrayLen(b []byte, n int) []byte { return AppendUint(b, uint64(n)) }

// A Decoder reads compact-encoded fields from a byte slice in order.
//
// The first failure is kept: every later read returns the zero value and
// [Decoder.Err] returns that failure, wrapped with the offset where it
// happened. Slices returned by [Decoder.Buffer], [Decoder.OptionalBuffer],
// [Decoder.Fixed] and [Decoder.Raw] alias the input (their capacity ends
// with the field, so appending to one copies); a field that is present but
// empty is an empty non-nil slice, and nil means absent or failed.
type Decoder struct {
	buf []byte
	off int
	err error
}

// NewDecoder returns a Decoder reading b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Err returns the first failure, or nil.
func (d *Decoder) Err() error { return d.err }

// Offset returns how many bytes have been read.
func (d *Decoder) Offset() int { return d.off }

// Remaining returns how many bytes are left unread.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Fail records err (if no failure is recorded yet) so that message decoders
// can add their own checks to the same error path. It returns the recorded
// failure.
func (d *Decoder) Fail(err error) error {
	if d.err == nil {
		d.err = err
	}
	return d.err
}

func (d *Decoder) fail(what string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at offset %d", err, what, d.off)
	}
}

// take returns the next n bytes, or nil and a recorded ErrTruncated.
func (d *Decoder) take(what string, n uint64) []byte {
	if d.err != nil {
		return nil
	}
	// compact.md, "Decoding": "A decoder MUST compare every length with the
	// bytes left before it takes or allocates anything; a field that needs
	// more bytes than remain is truncated."
	if n > uint64(len(d.buf)-d.off) {
		d.fail(fmt.Sprintf("%s needs %d bytes, %d left", what, n, len(d.buf)-d.off), ErrTruncated)
		return nil
	}
	end := d.off + int(n)
	// The capacity ends with the field, so that a caller appending to
	// what it got cannot overwrite the fields after it.
	b := d.buf[d.off:end:end]
	d.off = end
	if b == nil {
		b = []byte{} // a nil input: still an empty field, not "no field"
	}
	return b
}

// Uint reads a compact uint. Values above MaxSafeInteger are ErrRange, as
// in JS; non-minimal forms are accepted.
func (d *Decoder) Uint() uint64 {
	p := d.take("uint", 1)
	if p == nil {
		return 0
	}
	var n uint64
	switch p[0] {
	case prefix16:
		if b := d.take("uint16", 2); b != nil {
			n = uint64(binary.LittleEndian.Uint16(b))
		}
	case prefix32:
		if b := d.take("uint32", 4); b != nil {
			n = uint64(binary.LittleEndian.Uint32(b))
		}
	case prefix64:
		if b := d.take("uint64", 8); b != nil {
			n = binary.LittleEndian.Uint64(b)
		}
	default:
		return uint64(p[0])
	}
	if d.err != nil {
		return 0
	}
	// compact.md, "uint": "A decoder MUST reject a value above 2^53 − 1
	// (class range)."
	if n > MaxSafeInteger {
		d.off -= 9
		d.fail(fmt.Sprintf("uint %d above 2^53-1", n), ErrRange)
		return 0
	}
	return n
}

// Uint64 reads 8 bytes little-endian. Values above MaxSafeInteger are
// ErrRange, as in JS.
func (d *Decoder) Uint64() uint64 {
	b := d.take("uint64", 8)
	if b == nil {
		return 0
	}
	n := binary.LittleEndian.Uint64(b)
	// compact.md, "Fixed-width integers": "A decoder MUST reject a value
	// above 2^53 − 1 (class range)."
	if n > MaxSafeInteger {
		d.off -= 8
		d.fail(fmt.Sprintf("uint64 %d above 2^53-1", n), ErrRange)
		return 0
	}
	return n
}

// Uint32 reads 4 bytes little-endian.
func (d *Decoder) Uint32() uint32 {
	b := d.take("uint32", 4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// Buffer reads uint(length) followed by that many bytes. The length is
// checked against the bytes present before anything is taken. An empty
// buffer is returned as an empty non-nil slice.
func (d *Decoder) Buffer() []byte {
	n := d.Uint()
	return d.take("buffer", n)
}

// OptionalBuffer reads a buffer; length 0 decodes as absent (nil).
func (d *Decoder) OptionalBuffer() []byte {
	n := d.Uint()
	if n == 0 {
		return nil
	}
	return d.take("buffer", n)
}

// String reads uint(byte length) followed by that many bytes. The bytes are
// returned as they are; JS replaces invalid UTF-8 with U+FFFD, which
// [ReplaceInvalidUTF8] reproduces (compact.md, "string").
func (d *Decoder) String() string {
	return string(d.Buffer())
}

// Bool reads one byte: true only for 01, as in JS (any other value is
// false, not an error).
func (d *Decoder) Bool() bool {
	b := d.take("bool", 1)
	// compact.md, "bool": "A decoder MUST read 01 as true and every other
	// byte as false, without an error."
	return b != nil && b[0] == 1
}

// Fixed reads exactly n bytes.
func (d *Decoder) Fixed(n int) []byte {
	if n < 0 {
		panic("compact: Fixed with negative length")
	}
	return d.take(fmt.Sprintf("fixed%d", n), uint64(n))
}

// Fixed32 reads 32 bytes into an array.
func (d *Decoder) Fixed32() (a [32]byte) {
	copy(a[:], d.take("fixed32", 32))
	return a
}

// Fixed64 reads 64 bytes into an array.
func (d *Decoder) Fixed64() (a [64]byte) {
	copy(a[:], d.take("fixed64", 64))
	return a
}

// ArrayLen reads the element count of an array whose elements each take at
// least minSize bytes (at least 1). A count above MaxArrayLength is
// ErrTooBig, as in JS; a count that cannot fit in the bytes left is
// ErrTruncated before any element is read, so a caller may allocate count
// elements safely.
func (d *Decoder) ArrayLen(minSize int) int {
	if minSize < 1 {
		panic("compact: ArrayLen with element size below 1")
	}
	at := d.off
	n := d.Uint()
	if d.err != nil {
		return 0
	}
	// compact.md, "array": "A decoder MUST reject a count above 0x100000
	// (class too-big) before it reads an element."
	if n > MaxArrayLength {
		d.off = at
		d.fail(fmt.Sprintf("array of %d elements, more than %d", n, MaxArrayLength), ErrTooBig)
		return 0
	}
	// compact.md, "array": "A decoder MUST then reject a count whose
	// elements cannot fit in the bytes left (class truncated), before it
	// reads an element or allocates." Division, so no product overflows.
	if n > uint64(d.Remaining()/minSize) {
		d.fail(fmt.Sprintf("array of %d elements of at least %d bytes, %d bytes left", n, minSize, d.Remaining()), ErrTruncated)
		return 0
	}
	return int(n)
}

// Uint32Array reads uint(count) followed by count uint32le words. The count
// is checked against the bytes present before anything is allocated. JS
// puts no count limit on typed arrays; neither does this (the frame size
// bounds it).
func (d *Decoder) Uint32Array() []uint32 {
	n := d.Uint()
	if d.err != nil {
		return nil
	}
	// compact.md, "uint32array": "A decoder MUST reject a count larger
	// than a quarter of the bytes left (class truncated) before it
	// allocates." Division, so count × 4 never overflows.
	if n > uint64(d.Remaining())/4 {
		d.fail(fmt.Sprintf("uint32array of %d words, %d bytes left", n, d.Remaining()), ErrTruncated)
		return nil
	}
	b := d.take("uint32array", n*4)
	w := make([]uint32, n)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

// Raw returns all remaining bytes (compact-encoding raw: the rest of the
// frame, without a length).
func (d *Decoder) Raw() []byte {
	if d.err != nil {
		return nil
	}
	b := d.buf[d.off:len(d.buf):len(d.buf)]
	d.off = len(d.buf)
	if b == nil {
		b = []byte{}
	}
	return b
}

// ReplaceInvalidUTF8 returns s with each maximal ill-formed subsequence
// replaced by U+FFFD: the string JS's decoder returns for the bytes s
// (Node's UTF-8 decoder, which follows the WHATWG Encoding Standard). A
// valid UTF-8 s is returned unchanged.
//
// Neither [strings.ToValidUTF8] nor a range loop does this: the first
// makes one U+FFFD of a whole run of invalid bytes (ff ff is two here, as
// in JS), the second one U+FFFD of every byte of a cut-short sequence
// (e2 82 41 is U+FFFD "A" here, as in JS). See compact.md, "string".
func ReplaceInvalidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			out = append(out, c)
			i++
			continue
		}
		// need: continuation bytes that follow a lead byte c; lo, hi:
		// the range the first of them must lie in (the rest lie in
		// 80..bf). These ranges exclude overlong forms, surrogates and
		// code points above U+10FFFF.
		need, lo, hi := 0, byte(0x80), byte(0xbf)
		switch {
		case c >= 0xc2 && c <= 0xdf:
			need = 1
		case c == 0xe0:
			need, lo = 2, 0xa0
		case c == 0xed:
			need, hi = 2, 0x9f
		case c >= 0xe1 && c <= 0xef:
			need = 2
		case c == 0xf0:
			need, lo = 3, 0x90
		case c == 0xf4:
			need, hi = 3, 0x8f
		case c >= 0xf1 && c <= 0xf3:
			need = 3
		}
		j := i + 1
		ok := need > 0
		for k := 0; ok && k < need; k++ {
			if j >= len(s) || s[j] < lo || s[j] > hi {
				ok = false
				break
			}
			lo, hi = 0x80, 0xbf
			j++
		}
		if ok {
			out = append(out, s[i:j]...)
		} else {
			// The lead byte and the continuation bytes that matched so
			// far are one maximal subpart; the byte that broke it starts
			// the next.
			out = append(out, "\uFFFD"...)
		}
		i = j
	}
	return string(out)
}

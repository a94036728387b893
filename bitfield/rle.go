package bitfield

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Run-length encoding of bitfields (bitfield-rle 2.2.1), used for
// Have.bitfield (spec/bitfield.md, "Run-length encoding").
//
//	rle   = chunk*
//	chunk = varint(len << 2 | 3)  run of len bytes of 0xff
//	      | varint(len << 2 | 1)  run of len bytes of 0x00
//	      | varint(len << 1) byte^len   literal
//
// Trailing zero bytes are not encoded; a decoder pads its output with zeros
// to a multiple of its alignment (hypercore decodes with alignment 4).

var (
	// ErrRLE is returned for malformed run-length encoded input: a literal
	// that runs past the end, or a varint that does not end.
	ErrRLE = errors.New("bitfield: invalid RLE bitfield")
	// ErrRLETooLarge is returned when the decoded bitfield would be larger
	// than the caller's maximum.
	ErrRLETooLarge = errors.New("bitfield: RLE bitfield too large")
)

// EncodeRLE run-length encodes a bitfield, choosing runs exactly as
// bitfield-rle does, so the bytes match JS. The result is never nil: an
// all-zero bitfield encodes to zero bytes, which a Have still carries as a
// present, empty bitfield field (a nil one would mean "no bitfield", and
// the receiver would take Have.length as blocks the sender has).
func EncodeRLE(bits []byte) []byte {
	e := rleEncoder{in: bits}
	e.run()
	if e.out == nil {
		return []byte{}
	}
	return e.out
}

type rleEncoder struct {
	in     []byte
	length int // input length without trailing zero bytes
	start  int // first input byte not yet emitted
	out    []byte
}

func varintLen(v uint64) int { return protowire.SizeVarint(v) }

func (e *rleEncoder) run() {
	e.length = len(e.in)
	for e.length > 0 && e.in[e.length-1] == 0 {
		e.length--
	}
	n := 0
	var bit byte
	for i := 0; i < e.length; i++ {
		if e.in[i] == bit {
			n++
			continue
		}
		if n > 0 {
			e.update(i, n, bit)
		}
		if e.in[i] == 0 || e.in[i] == 0xff {
			bit = e.in[i]
			n = 1
		} else {
			n = 0
		}
	}
	if n > 0 {
		e.update(e.length, n, bit)
	}
	// whatever is left is one literal
	if head := e.length - e.start; head > 0 {
		e.literal(e.length)
	}
}

// update considers a run of n bytes of bit ending at input position i: it
// is emitted (with the literal before it) only if that is cheaper than
// leaving it in a pending literal.
func (e *rleEncoder) update(i, n int, bit byte) {
	head := i - n - e.start
	headCost := 0
	if head > 0 {
		headCost = varintLen(2*uint64(head)) + head
	}
	enc := 4*uint64(n) + 1
	if bit != 0 {
		enc += 2
	}
	encCost := headCost + varintLen(enc)
	baseCost := varintLen(2*uint64(i-e.start)) + i - e.start
	if encCost >= baseCost {
		return
	}
	if head > 0 {
		e.literal(i - n)
	}
	e.out = protowire.AppendVarint(e.out, enc)
	e.start = i
}

func (e *rleEncoder) literal(end int) {
	e.out = protowire.AppendVarint(e.out, 2*uint64(end-e.start))
	e.out = append(e.out, e.in[e.start:end]...)
	e.start = end
}

// DecodeRLE decodes a run-length encoded bitfield, zero-padding the result to
// a multiple of align bytes (hypercore uses 4). The decoded size is
// computed before anything is allocated and must not exceed max bytes.
func DecodeRLE(enc []byte, align, max int) ([]byte, error) {
	size, err := paddedSize(enc, align, max)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, size)
	for len(enc) > 0 {
		v, n := protowire.ConsumeVarint(enc)
		enc = enc[n:]
		if v&1 == 1 {
			l := v >> 2
			var fill byte
			if v&2 != 0 {
				fill = 0xff
			}
			start := len(out)
			out = out[:start+int(l)] // within the capacity computed above
			if fill != 0 {
				for k := range out[start:] {
					out[start+k] = fill
				}
			}
		} else {
			l := v >> 1
			out = append(out, enc[:l]...)
			enc = enc[l:]
		}
	}
	return out[:size], nil
}

// paddedSize checks enc and returns the size it decodes to, zero-padded to
// a multiple of align bytes (at least 1), which must not exceed max.
func paddedSize(enc []byte, align, max int) (uint64, error) {
	if align < 1 {
		align = 1
	}
	size, err := decodedSize(enc)
	if err != nil {
		return 0, err
	}
	if r := size % uint64(align); r != 0 {
		if size+(uint64(align)-r) < size {
			return 0, fmt.Errorf("%w: size overflows", ErrRLETooLarge)
		}
		size += uint64(align) - r
	}
	if size > uint64(max) {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrRLETooLarge, size, max)
	}
	return size, nil
}

// decodedSize walks the chunks, checking that every varint ends and every
// literal fits, and returns the total size without padding.
func decodedSize(enc []byte) (uint64, error) {
	var size uint64
	for len(enc) > 0 {
		v, n := protowire.ConsumeVarint(enc)
		if n < 0 {
			return 0, fmt.Errorf("%w: bad varint", ErrRLE)
		}
		enc = enc[n:]
		var l uint64
		if v&1 == 1 {
			l = v >> 2
		} else {
			l = v >> 1
			if l > uint64(len(enc)) {
				return 0, fmt.Errorf("%w: literal of %d bytes with %d left", ErrRLE, l, len(enc))
			}
			enc = enc[l:]
		}
		if size+l < size {
			return 0, fmt.Errorf("%w: size overflows", ErrRLETooLarge)
		}
		size += l
	}
	return size, nil
}

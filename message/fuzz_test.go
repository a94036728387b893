package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

func typedError(err error) bool {
	for _, class := range []error{ErrTruncated, ErrMissingField, ErrWireType, ErrVarintOverflow, ErrFrameTooLarge, ErrInvalidFrame, ErrUnknownType} {
		if errors.Is(err, class) {
			return true
		}
	}
	return false
}

// FuzzDecode checks that decoding any body either fails with a typed error
// and no message, or gives a message that encodes to a body decoding to the
// same message.
func FuzzDecode(f *testing.F) {
	v := loadVectors(f)
	seeds := 0
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			if typ, ok := typeByName[tc.Message]; ok {
				f.Add(uint8(typ), []byte(tc.Body))
				seeds++
			}
		}
	}
	for _, g := range v.Decode {
		for _, tc := range g.Tests {
			if typ, ok := typeByName[tc.Message]; ok {
				f.Add(uint8(typ), []byte(tc.Body))
				seeds++
			}
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		m, err := Decode(Type(typ&0xf), body)
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned %T with error %v", m, err)
			}
			if !typedError(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		enc := m.AppendBody(nil)
		if len(enc) != m.Size() {
			t.Fatalf("Size() = %d, encoded %d", m.Size(), len(enc))
		}
		again, err := Decode(m.Type(), enc)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", enc, err)
		}
		if !cmp.Equal(view(m), view(again)) {
			t.Fatalf("decode(encode(decode(x))) != decode(x): %v vs %v", view(m), view(again))
		}
	})
}

// FuzzReader checks that reading frames from any stream ends with io.EOF or
// a typed error, and that the frames it read, written again, read back the
// same. The stream is read through a 16-byte buffer, so that frames and
// varints straddle the reads.
func FuzzReader(f *testing.F) {
	v := loadVectors(f)
	n := 0
	for _, g := range v.Frames {
		for _, tc := range g.Tests {
			f.Add([]byte(tc.Stream))
			n++
		}
	}
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			if tc.Frame != nil {
				f.Add([]byte(tc.Frame))
				n++
			}
		}
	}
	if n == 0 {
		f.Fatal("no seeds")
	}
	// one small buffer for every input, reset for each
	br := bufio.NewReaderSize(nil, 16)
	read := func(stream []byte) ([]Frame, error) {
		br.Reset(bytes.NewReader(stream))
		fr := NewReader(br)
		var frames []Frame
		for {
			f, err := fr.Next()
			if err == io.EOF {
				return frames, nil
			}
			if err != nil {
				return frames, err
			}
			frames = append(frames, f)
		}
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		frames, err := read(stream)
		if err != nil && !typedError(err) {
			t.Fatalf("untyped error %v", err)
		}
		var again []byte
		for _, fr := range frames {
			if fr.KeepAlive {
				again = append(again, KeepAlive...)
			} else {
				again = AppendRawFrame(again, fr.Channel, fr.Type, fr.Body)
			}
		}
		frames2, err := read(again)
		if err != nil || !slices.EqualFunc(frames, frames2, sameFrame) {
			t.Fatalf("frames do not survive re-encoding: %v", err)
		}
	})
}

func sameFrame(a, b Frame) bool {
	return a.KeepAlive == b.KeepAlive && a.Channel == b.Channel && a.Type == b.Type && bytes.Equal(a.Body, b.Body)
}

// TestChunking writes random frames and reads them back through random
// chunkings of the stream.
func TestChunking(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type want struct {
			ping    bool
			channel uint64
			typ     Type
			body    []byte
		}
		var stream []byte
		var wants []want
		for i, n := 0, rapid.IntRange(0, 20).Draw(t, "frames"); i < n; i++ {
			if rapid.Bool().Draw(t, "ping") {
				stream = append(stream, KeepAlive...)
				wants = append(wants, want{ping: true})
				continue
			}
			w := want{
				channel: rapid.Uint64Range(0, 1<<40).Draw(t, "channel"),
				typ:     Type(rapid.IntRange(0, 15).Draw(t, "type")),
				body:    rapid.SliceOfN(rapid.Byte(), 0, 3000).Draw(t, "body"),
			}
			stream = AppendRawFrame(stream, w.channel, w.typ, w.body)
			wants = append(wants, w)
		}
		cuts := rapid.SliceOfN(rapid.IntRange(1, 200), 1, 50).Draw(t, "chunks")
		fr := NewReader(&chunkReader{data: stream, sizes: cuts})
		for k, w := range wants {
			f, err := fr.Next()
			if err != nil {
				t.Fatalf("frame %d: %v", k, err)
			}
			if f.KeepAlive != w.ping || (!w.ping && (f.Channel != w.channel || f.Type != w.typ || !bytes.Equal(f.Body, w.body))) {
				t.Fatalf("frame %d: got %+v, want %+v", k, f, w)
			}
		}
		if _, err := fr.Next(); err != io.EOF {
			t.Fatalf("after the last frame: %v, want io.EOF", err)
		}
	})
}

// chunkReader returns data in chunks of the given sizes, cycling.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), c.sizes[c.i%len(c.sizes)])
	c.i++
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// TestStalledClaim checks that a frame claiming an 8 MiB body that never
// arrives costs a bounded allocation, not 8 MiB.
func TestStalledClaim(t *testing.T) {
	claim := []byte{0x81, 0x80, 0x80, 0x04, 0x19, 1, 2, 3} // 8 MiB body on channel 1, Data; 3 bytes arrive
	var before, after runtimeMem
	before.read()
	const runs = 20
	for i := 0; i < runs; i++ {
		if _, err := NewReader(bytes.NewReader(claim)).Next(); !errors.Is(err, ErrTruncated) {
			t.Fatalf("Next = %v, want ErrTruncated", err)
		}
	}
	after.read()
	// at most one body chunk (and the reader's own 64 KiB buffer when
	// its source is not an io.ByteReader: a bytes.Reader is one)
	if perFrame := (after.total - before.total) / runs; perFrame > 2*bodyChunk+(16<<10) {
		t.Fatalf("a stalled 8 MiB claim allocated %d bytes", perFrame)
	}
}

func TestMaxBody(t *testing.T) {
	body := make([]byte, MaxBodySize)
	frame := AppendRawFrame(nil, 1, TypeData, body)
	f, err := NewReader(bytes.NewReader(frame)).Next()
	if err != nil || len(f.Body) != MaxBodySize {
		t.Fatalf("frame with an 8 MiB body: %v", err)
	}
	frame = AppendRawFrame(nil, 1, TypeData, append(body, 0))
	if _, err := NewReader(bytes.NewReader(frame)).Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("frame with an 8 MiB + 1 body: %v, want ErrFrameTooLarge", err)
	}
}

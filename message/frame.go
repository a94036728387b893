package message

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// MaxBodySize is the largest frame body a receiver accepts: 8 MiB, the
// simple-message-channels default. A block of exactly this size cannot be
// replicated, since Data adds its index, nodes and signature.
const MaxBodySize = 8 << 20

// MaxFrameVarint is the longest frame varint (length or header) accepted:
// 8 bytes (56 bits), the limit simple-message-channels applies.
const MaxFrameVarint = 8

// A frame (spec/message.md, "Frames"):
//
//	frame  = varint(len) ‖ varint(header) ‖ body      len = len(varint(header)) + len(body)
//	header = channel << 4 | type
//
// A frame with len = 0 (the single byte 00) is a keep-alive ping.

// FrameSize returns the size of the frame carrying m on channel.
func FrameSize(channel uint64, m Message) int {
	size := protowire.SizeVarint(channel<<4|uint64(m.Type())) + m.Size()
	return protowire.SizeVarint(uint64(size)) + size
}

// AppendFrame appends the frame carrying m on channel to dst.
func AppendFrame(dst []byte, channel uint64, m Message) []byte {
	header := channel<<4 | uint64(m.Type())
	size := protowire.SizeVarint(header) + m.Size()
	dst = protowire.AppendVarint(dst, uint64(size))
	dst = protowire.AppendVarint(dst, header)
	return m.AppendBody(dst)
}

// AppendRawFrame appends a frame with an already encoded body.
func AppendRawFrame(dst []byte, channel uint64, t Type, body []byte) []byte {
	header := channel<<4 | uint64(t)
	dst = protowire.AppendVarint(dst, uint64(protowire.SizeVarint(header)+len(body)))
	dst = protowire.AppendVarint(dst, header)
	return append(dst, body...)
}

// KeepAlive is the keep-alive frame: a frame of length 0.
var KeepAlive = []byte{0}

// Frame is one frame read from a stream.
type Frame struct {
	// KeepAlive is set for a keep-alive frame; the other fields are zero.
	KeepAlive bool
	Channel   uint64
	Type      Type
	Body      []byte
}

// Decode decodes the frame's body (see [Decode]).
func (f *Frame) Decode() (Message, error) { return Decode(f.Type, f.Body) }

// Reader reads frames from a byte stream, whatever its chunking.
type Reader struct {
	r byteReader
	// BeforeBody, when set, is called with the length of each frame body
	// (checked against MaxBodySize) before any of it is read. A reader that
	// reads ahead of whoever handles the frames waits in it until it may
	// hold that many more bytes.
	BeforeBody func(n int)
	// NewBody, when set, gives the memory a body of n bytes is read into
	// first: an empty slice (its capacity is what is used, at most
	// min(n, 128 KiB) of it before more bytes arrive), or nil for new
	// memory. A reader that reuses the bodies of frames it has handled
	// sets it.
	NewBody func(n int) []byte
}

// byteReader is what a Reader reads from: a stream that reads by the byte
// cheaply (the frame varints) and by the slice (bodies).
type byteReader interface {
	io.Reader
	io.ByteReader
}

// NewReader returns a Reader reading from r. A reader that is also an
// io.ByteReader (a bufio.Reader, a bytes.Reader) is read directly; any
// other is buffered.
func NewReader(r io.Reader) *Reader {
	br, ok := r.(byteReader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{r: br}
}

// Next reads the next frame. The body is a new slice that the caller may
// keep. At a clean end of stream (between frames) Next returns io.EOF; a
// stream that ends inside a frame gives an error wrapping ErrTruncated.
//
// Memory grows with the bytes that actually arrive, not with the length a
// frame claims, so a peer that announces 8 MiB and sends nothing costs
// nothing.
func (fr *Reader) Next() (Frame, error) {
	length, _, err := fr.varint(true)
	if err != nil {
		return Frame{}, err
	}
	if length == 0 {
		return Frame{KeepAlive: true}, nil
	}
	header, hn, err := fr.varint(false)
	if err != nil {
		return Frame{}, err
	}
	// The length counts the header varint and the body.
	if length < uint64(hn) {
		return Frame{}, fmt.Errorf("%w: length %d is shorter than its %d-byte header", ErrInvalidFrame, length, hn)
	}
	bodyLen := length - uint64(hn)
	// A receiver MUST reject a body larger than 8 MiB before reading it.
	if bodyLen > MaxBodySize {
		return Frame{}, fmt.Errorf("%w: body of %d bytes", ErrFrameTooLarge, bodyLen)
	}
	f := Frame{Channel: header >> 4, Type: Type(header & 0xf)}
	if bodyLen == 0 {
		f.Body = []byte{}
		return f, nil
	}
	if fr.BeforeBody != nil {
		fr.BeforeBody(int(bodyLen))
	}
	body, err := fr.readBody(int(bodyLen))
	if err != nil {
		return Frame{}, err
	}
	f.Body = body
	return f, nil
}

// bodyChunk is the most a frame body is allocated ahead of the bytes that
// have arrived: 128 KiB, so that the Data of a 64 KiB block (the block, its
// proof and signature, a little more than 64 KiB) is one allocation and
// one copy.
const bodyChunk = 128 << 10

// readBody reads n bytes. It allocates up to bodyChunk at first and doubles
// (up to n) only as the bytes arrive.
func (fr *Reader) readBody(n int) ([]byte, error) {
	var body []byte
	if fr.NewBody != nil {
		body = fr.NewBody(n)[:0]
	}
	if first := min(n, bodyChunk); body == nil || cap(body) < first {
		body = make([]byte, 0, first)
	} else if cap(body) > n {
		body = body[:0:n] // never read past the frame
	}
	for len(body) < n {
		if len(body) == cap(body) {
			grown := make([]byte, len(body), min(n, 2*cap(body)))
			copy(grown, body)
			body = grown
		}
		m, err := io.ReadFull(fr.r, body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: frame body ends after %d of %d bytes", ErrTruncated, len(body), n)
			}
			return nil, err
		}
	}
	return body, nil
}

// varint reads a frame varint of at most MaxFrameVarint bytes. first says
// whether it starts a frame, where a clean end of stream is io.EOF.
func (fr *Reader) varint(first bool) (v uint64, n int, err error) {
	var shift uint
	for n = 0; ; n++ {
		if n == MaxFrameVarint {
			return 0, n, fmt.Errorf("%w: frame varint longer than %d bytes", ErrVarintOverflow, MaxFrameVarint)
		}
		b, err := fr.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if first && n == 0 {
					return 0, 0, io.EOF
				}
				return 0, n, fmt.Errorf("%w: stream ends inside a frame", ErrTruncated)
			}
			return 0, n, err
		}
		v |= uint64(b&0x7f) << shift
		shift += 7
		if b < 0x80 {
			return v, n + 1, nil
		}
	}
}

package message

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// decoder walks a protobuf body field by field. Byte fields it returns
// alias the body.
type decoder struct {
	msg string // message name, for errors
	b   []byte
}

// next reads the next field's tag; ok is false at the end of the body.
func (d *decoder) next() (num protowire.Number, typ protowire.Type, ok bool, err error) {
	if len(d.b) == 0 {
		return 0, 0, false, nil
	}
	v, n := protowire.ConsumeVarint(d.b)
	if n < 0 {
		return 0, 0, false, d.fail(n, "tag")
	}
	num, typ = protowire.DecodeTag(v)
	// A field number outside 1 … 2^29−1 is not a valid protobuf tag.
	if num < protowire.MinValidNumber || num > protowire.MaxValidNumber {
		return 0, 0, false, fmt.Errorf("%w: %s: invalid field number %d", ErrWireType, d.msg, num)
	}
	d.b = d.b[n:]
	return num, typ, true, nil
}

func (d *decoder) fail(code int, what string) error {
	switch code {
	case -1: // protowire's errCodeTruncated
		return fmt.Errorf("%w: %s: %s", ErrTruncated, d.msg, what)
	case -3: // errCodeOverflow
		return fmt.Errorf("%w: %s: %s", ErrVarintOverflow, d.msg, what)
	}
	return fmt.Errorf("%w: %s: %s: %v", ErrWireType, d.msg, what, protowire.ParseError(code))
}

func (d *decoder) want(num protowire.Number, got, want protowire.Type) error {
	if got != want {
		return fmt.Errorf("%w: %s: field %d has wire type %d, want %d", ErrWireType, d.msg, num, got, want)
	}
	return nil
}

func (d *decoder) uint64(num protowire.Number, typ protowire.Type) (uint64, error) {
	if err := d.want(num, typ, protowire.VarintType); err != nil {
		return 0, err
	}
	v, n := protowire.ConsumeVarint(d.b)
	if n < 0 {
		return 0, d.fail(n, fmt.Sprintf("field %d", num))
	}
	d.b = d.b[n:]
	return v, nil
}

func (d *decoder) bool(num protowire.Number, typ protowire.Type) (bool, error) {
	v, err := d.uint64(num, typ)
	return v != 0, err
}

// bytes returns a length-delimited field. Its length is checked against the
// bytes present before anything is sliced, and a present empty field is a
// non-nil empty slice.
func (d *decoder) bytes(num protowire.Number, typ protowire.Type) ([]byte, error) {
	if err := d.want(num, typ, protowire.BytesType); err != nil {
		return nil, err
	}
	v, n := protowire.ConsumeBytes(d.b)
	if n < 0 {
		return nil, d.fail(n, fmt.Sprintf("field %d", num))
	}
	d.b = d.b[n:]
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// skip skips an unknown field, as protobuf allows. Groups (wire types 3
// and 4) are rejected, as JS rejects them ("Groups are not supported").
func (d *decoder) skip(num protowire.Number, typ protowire.Type) error {
	switch typ {
	case protowire.VarintType, protowire.Fixed32Type, protowire.Fixed64Type, protowire.BytesType:
	default:
		return fmt.Errorf("%w: %s: field %d has wire type %d", ErrWireType, d.msg, num, typ)
	}
	n := protowire.ConsumeFieldValue(num, typ, d.b)
	if n < 0 {
		return d.fail(n, fmt.Sprintf("unknown field %d", num))
	}
	d.b = d.b[n:]
	return nil
}

func missing(msg, field string) error {
	return fmt.Errorf("%w: %s.%s", ErrMissingField, msg, field)
}

// Encoding helpers: field keys as single bytes (all field numbers here are
// below 16).

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBoolField(b []byte, num protowire.Number, v bool) []byte {
	return appendVarintField(b, num, protowire.EncodeBool(v))
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func sizeVarintField(v uint64) int { return 1 + protowire.SizeVarint(v) }
func sizeBytesField(n int) int     { return 1 + protowire.SizeBytes(n) }

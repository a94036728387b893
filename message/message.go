// Package message implements the Hypercore 9 wire messages and their
// framing, specified in spec/message.md: one Go type per protobuf message
// of simple-hypercore-protocol 2.1.2 (schema.proto), encoded byte for byte
// as the JS encoder does, decoded strictly, and the
// varint(len) ‖ varint(channel<<4 | type) ‖ body frames of
// simple-message-channels 1.2.1.
//
// The package is pure: it encodes and decodes byte slices and reads frames
// from an io.Reader, with no goroutines and no other I/O.
//
// # Optional fields
//
// The messages are proto2. Following Go's proto2 convention, an optional
// scalar field is a pointer (nil when absent) with a Get method that returns
// the JS decoder's default, and an optional bytes field is a slice that is
// nil when absent and non-nil (possibly empty) when present. The encoder
// writes exactly the fields that are present, in field-number order,
// including false and 0 values, as the JS encoder does. [Bool] and [Uint64]
// make pointers for literals.
package message

import (
	"errors"
	"fmt"
)

// Type is a message type, the low four bits of a frame header.
type Type uint8

// The message types (spec/message.md, "Messages").
const (
	TypeOpen      Type = 0
	TypeOptions   Type = 1
	TypeStatus    Type = 2
	TypeHave      Type = 3
	TypeUnhave    Type = 4
	TypeWant      Type = 5
	TypeUnwant    Type = 6
	TypeRequest   Type = 7
	TypeCancel    Type = 8
	TypeData      Type = 9
	TypeClose     Type = 10
	TypeExtension Type = 15
)

var typeNames = map[Type]string{
	TypeOpen: "Open", TypeOptions: "Options", TypeStatus: "Status", TypeHave: "Have",
	TypeUnhave: "Unhave", TypeWant: "Want", TypeUnwant: "Unwant", TypeRequest: "Request",
	TypeCancel: "Cancel", TypeData: "Data", TypeClose: "Close", TypeExtension: "Extension",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Known reports whether t is a type this protocol defines. Frames of other
// types (11 to 14) are ignored by JS peers.
func (t Type) Known() bool {
	_, ok := typeNames[t]
	return ok
}

// Message is a wire message.
type Message interface {
	// Type returns the message's type.
	Type() Type
	// Size returns the length of the encoded body.
	Size() int
	// AppendBody appends the encoded body to b.
	AppendBody(b []byte) []byte
}

// Errors, one per failure class. Errors returned by this package wrap one
// of them and say where the input went wrong.
var (
	// ErrTruncated: the input ends inside a varint, a length-delimited
	// field or a fixed-size field.
	ErrTruncated = errors.New("message: truncated")
	// ErrMissingField: a required field is absent.
	ErrMissingField = errors.New("message: missing required field")
	// ErrWireType: a known field arrives with another wire type, or a wire
	// type that protobuf does not define (or groups, which JS rejects).
	ErrWireType = errors.New("message: wrong wire type")
	// ErrVarintOverflow: a varint longer than the limit (10 bytes in a
	// body, 8 in a frame header) or one that overflows 64 bits.
	ErrVarintOverflow = errors.New("message: varint too long")
	// ErrFrameTooLarge: a frame whose body would exceed MaxBodySize.
	ErrFrameTooLarge = errors.New("message: frame larger than the maximum size")
	// ErrInvalidFrame: a frame whose length is shorter than its header.
	ErrInvalidFrame = errors.New("message: invalid frame")
	// ErrUnknownType: a frame type with no message (11 to 14).
	ErrUnknownType = errors.New("message: unknown message type")
)

// Bool returns a pointer to v, for optional fields.
func Bool(v bool) *bool { return &v }

// Uint64 returns a pointer to v, for optional fields.
func Uint64(v uint64) *uint64 { return &v }

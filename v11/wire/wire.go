// Package wire implements the Hypercore 11 replication messages and the
// hypercore/alpha channel handshake specified in spec/v11/wire.md (npm
// hypercore 11.37.1 lib/messages.js `wire`, lib/replicator.js, lib/caps.js).
//
// One Go type per message: [Sync], [Request], [Cancel], [Data], [NoData],
// [Want], [Unwant], [Bitfield], [Range] and [Extension], with the type ids
// 0 to 9 of the channel's message table. Each encodes by appending to a byte
// slice (Append) exactly as the JS encoder does, and decodes with a
// Decode function (or the generic [Decode]) exactly as the JS decoder does:
// the fields in order, optional sections chosen by flag bits, bits the
// message does not define ignored, and bytes after the last field read left
// unread. A payload the JS decoder throws on is an error that wraps
// [ErrMalformed] and the compact-encoding class (compact.ErrTruncated,
// compact.ErrRange, compact.ErrTooBig); on error the message is nil.
//
// The manifest a [Data] message may end with is read and checked with
// package v11/merkle (merkle.ReadManifest, as JS reads it inside the
// message) and kept as its raw bytes; merkle.DecodeManifest gives its
// fields.
//
// The channel handshake ([Handshake], [Capability], [VerifyCapability])
// proves that both ends of a Noise session know the core's key.
//
// The package is pure: no I/O, no goroutines.
package wire

import (
	"errors"
	"fmt"

	"github.com/hypercore-go/hypercore/v11/compact"
)

// Type is a message type id within a hypercore/alpha channel: the index of
// the message in the channel's message table (wire.md, "Messages").
type Type uint8

// The message types, in the order of replicator.js's messages table.
const (
	TypeSync      Type = 0
	TypeRequest   Type = 1
	TypeCancel    Type = 2
	TypeData      Type = 3
	TypeNoData    Type = 4
	TypeWant      Type = 5
	TypeUnwant    Type = 6
	TypeBitfield  Type = 7
	TypeRange     Type = 8
	TypeExtension Type = 9
)

// NumTypes is the number of message types; ids from NumTypes up have no
// message (a JS receiver ignores them).
const NumTypes = 10

var typeNames = [NumTypes]string{"sync", "request", "cancel", "data", "noData", "want", "unwant", "bitfield", "range", "extension"}

// String returns the JS name of the type ("noData"), or Type(n).
func (t Type) String() string {
	if t < NumTypes {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Message is one of the ten messages.
type Message interface {
	// Type returns the message's type id.
	Type() Type
	// Append appends the encoded payload to b.
	Append(b []byte) []byte
}

// Encode returns the encoded payload of m.
func Encode(m Message) []byte { return m.Append(nil) }

// Errors, one per failure class. A decoding error wraps ErrMalformed and
// the compact class that says why (compact.ErrTruncated, compact.ErrRange,
// compact.ErrTooBig), or ErrManifest and the merkle class.
var (
	// ErrMalformed: the payload is not a valid encoding of the message (the
	// JS decoder throws on it).
	ErrMalformed = errors.New("wire: malformed message")
	// ErrManifest: a data message's manifest does not decode; the error also
	// wraps the class v11/merkle gives (merkle.ErrUnknownVersion,
	// compact.ErrTruncated, ...).
	ErrManifest = errors.New("wire: bad manifest in data")
	// ErrUnknownType: a type id with no message (10 and above).
	ErrUnknownType = errors.New("wire: unknown message type")
	// ErrInvalidCapability: a remote's channel capability does not match
	// the one computed for its role.
	ErrInvalidCapability = errors.New("wire: invalid capability")
)

// DecodeError is the error of a payload that does not decode. It unwraps to
// ErrMalformed and to the underlying class.
type DecodeError struct {
	Message string // the JS name of the message ("data", "handshake")
	Err     error  // the compact error, with its offset
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("wire: malformed %s: %v", e.Message, e.Err)
}

// Unwrap returns ErrMalformed and the underlying error.
func (e *DecodeError) Unwrap() []error { return []error{ErrMalformed, e.Err} }

// done returns the decoder's error as a *DecodeError for message name, or
// nil.
func done(name string, d *compact.Decoder) error {
	if err := d.Err(); err != nil {
		return &DecodeError{Message: name, Err: err}
	}
	return nil
}

// Decode decodes a payload of message type t. It returns the message as a
// pointer (*Sync, *Request, ...), or nil and an error wrapping ErrMalformed,
// or ErrUnknownType for a type with no message.
func Decode(t Type, payload []byte) (Message, error) {
	var (
		m   Message
		err error
	)
	switch t {
	case TypeSync:
		m, err = nilIfErr(DecodeSync(payload))
	case TypeRequest:
		m, err = nilIfErr(DecodeRequest(payload))
	case TypeCancel:
		m, err = nilIfErr(DecodeCancel(payload))
	case TypeData:
		m, err = nilIfErr(DecodeData(payload))
	case TypeNoData:
		m, err = nilIfErr(DecodeNoData(payload))
	case TypeWant:
		m, err = nilIfErr(DecodeWant(payload))
	case TypeUnwant:
		m, err = nilIfErr(DecodeUnwant(payload))
	case TypeBitfield:
		m, err = nilIfErr(DecodeBitfield(payload))
	case TypeRange:
		m, err = nilIfErr(DecodeRange(payload))
	case TypeExtension:
		m, err = nilIfErr(DecodeExtension(payload))
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnknownType, uint8(t))
	}
	return m, err
}

// nilIfErr turns a typed nil pointer into a nil Message, so that a failed
// Decode returns a Message that compares equal to nil.
func nilIfErr[T any, P interface {
	*T
	Message
}](m P, err error) (Message, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

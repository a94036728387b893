package wire

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hypercore-go/hypercore/v11/compact"
)

// decodeError reports whether err is one of the errors Decode may return:
// ErrUnknownType, or ErrMalformed with a compact class or ErrManifest.
func decodeError(err error) bool {
	if errors.Is(err, ErrUnknownType) {
		return true
	}
	if !errors.Is(err, ErrMalformed) {
		return false
	}
	return errors.Is(err, compact.ErrTruncated) || errors.Is(err, compact.ErrRange) || errors.Is(err, compact.ErrTooBig) ||
		errors.Is(err, ErrManifest)
}

// FuzzMessages decodes any payload as any type id. On error the message is
// nil and the error is typed; otherwise decode(encode(decode(x))) =
// decode(x), and the encoding is a fixed point of encode∘decode.
func FuzzMessages(f *testing.F) {
	v := loadVectors(f)
	seeds := 0
	add := func(typ uint8, p []byte) {
		f.Add(typ, p)
		seeds++
	}
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			add(tc.Type, tc.Payload)
		}
	}
	for _, g := range v.Decode {
		for _, tc := range g.Tests {
			add(tc.Type, tc.Payload)
		}
	}
	for _, g := range v.Exchange {
		for _, tc := range g.Tests {
			add(tc.Request.Type, tc.Request.Payload)
			add(tc.Reply.Type, tc.Reply.Payload)
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, typ uint8, payload []byte) {
		m, err := Decode(Type(typ), payload)
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned %T with error %v", m, err)
			}
			if !decodeError(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if m.Type() != Type(typ) {
			t.Fatalf("Decode(%d) returned a %s", typ, m.Type())
		}
		enc := Encode(m)
		again, err := Decode(m.Type(), enc)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", enc, err)
		}
		if diff := cmp.Diff(m, again, equate); diff != "" {
			t.Fatalf("decode(encode(decode(x))) != decode(x) (-first +again):\n%s", diff)
		}
		if enc2 := Encode(again); string(enc2) != string(enc) {
			t.Fatalf("encode is not a fixed point: %x then %x", enc, enc2)
		}
	})
}

// FuzzHandshake decodes any channel handshake payload: on error nil and a
// typed error, otherwise its encoding decodes to the same handshake.
func FuzzHandshake(f *testing.F) {
	v := loadVectors(f)
	seeds := 0
	for _, g := range v.Handshake {
		for _, tc := range g.Tests {
			f.Add([]byte(tc.Payload))
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		h, err := DecodeHandshake(payload)
		if err != nil {
			if h != nil || !decodeError(err) {
				t.Fatalf("DecodeHandshake = %v, %v", h, err)
			}
			return
		}
		again, err := DecodeHandshake(h.Append(nil))
		if err != nil || *again != *h {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", h, again, err)
		}
	})
}

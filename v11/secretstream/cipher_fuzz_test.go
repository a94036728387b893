package secretstream

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzPull feeds arbitrary bytes to Open on a Pull fresh from the key and
// header of secretstream.json's first stream, and checks:
//
//   - on error: the error has one of Open's classes, the plaintext is nil
//     and the tag 0, the state is unchanged, and the stream's real first
//     message still opens;
//   - on success (the input authenticated): sealing the plaintext with the
//     tag from the same start gives back exactly the input;
//   - the input as a plaintext, with its first byte as the tag, survives
//     Seal then Open, twice in a row, with the two ends on different key
//     stream paths (package chacha20 and the AEAD).
//
// Seeds are every message of secretstream.json, accepted or refused.
func FuzzPull(f *testing.F) {
	v := cipherVectors(f)
	if len(v.Streams) == 0 || len(v.Streams[0].Tests) == 0 {
		f.Fatal("secretstream.json has no StreamTest")
	}
	first := v.Streams[0].Tests[0]
	if first.Counter != nil || first.Steps[0].Op != "message" {
		f.Fatal("the first stream does not start with a message from counter 1")
	}
	key, header := cipherKeys(first.Key, first.Header)
	firstMsg, firstPlain := first.Steps[0].Message, first.Steps[0].Plaintext

	seeds := 0
	for _, g := range v.Streams {
		for _, c := range g.Tests {
			for _, s := range c.Steps {
				if s.Message != nil {
					f.Add([]byte(s.Message))
					seeds++
				}
			}
		}
	}
	for _, g := range v.Pulls {
		for _, c := range g.Tests {
			for _, s := range c.Steps {
				if s.Message != nil {
					f.Add([]byte(s.Message))
					seeds++
				}
			}
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds from secretstream.json")
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return // long inputs only make the fuzzer slow: every byte goes through the same loops
		}
		q := NewPull(key, header)
		before := q.s
		pt, tag, err := q.Open(nil, data)
		if err != nil {
			if !errors.Is(err, ErrShortMessage) && !errors.Is(err, ErrAuthentication) && !errors.Is(err, ErrMessageTooLarge) {
				t.Fatalf("Open(%x) = %v, not one of Open's classes", data, err)
			}
			if pt != nil || tag != 0 || q.s != before {
				t.Fatalf("Open(%x) = %x, %d, %v and state changed %v, want nil, 0", data, pt, tag, err, q.s != before)
			}
			got, _, err := q.Open(nil, firstMsg)
			if err != nil || !bytes.Equal(got, firstPlain) {
				t.Fatalf("after the refused Open(%x), Open(first message) = %x, %v, want %x", data, got, err, []byte(firstPlain))
			}
		} else if again := NewPush(key, header).Seal(nil, pt, tag); !bytes.Equal(again, data) {
			t.Fatalf("Open(%x) = %x, %d; Seal of that = %x, want the input", data, pt, tag, again)
		}

		var tg byte
		if len(data) > 0 {
			tg = data[0]
		}
		// The two ends take different key stream paths.
		p, r := NewPush(key, header), NewPull(key, header)
		p.ks.min, r.ks.min = -1, 0
		if tg&1 != 0 {
			p.ks.min, r.ks.min = 0, -1
		}
		for i := range 2 {
			msg := p.Seal(nil, data, tg)
			if len(msg) != len(data)+ABytes {
				t.Fatalf("round %d: Seal(%x) is %d bytes, want %d", i, data, len(msg), len(data)+ABytes)
			}
			got, gotTag, err := r.Open(nil, msg)
			if err != nil || !bytes.Equal(got, data) || gotTag != tg {
				t.Fatalf("round %d: Open(Seal(%x, %d)) = %x, %d, %v", i, data, tg, got, gotTag, err)
			}
		}
		if p.s != r.s {
			t.Fatalf("after two round trips Push state %x, Pull state %x", p.s, r.s)
		}
	})
}

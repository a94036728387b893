package bitfield

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hypercore-go/hypercore/internal/zeroruns"
	"github.com/hypercore-go/hypercore/vectors"
)

// FuzzDecodeRLE: any input decodes within the limit or fails with a typed
// error and no output; what decodes re-encodes to something that decodes
// the same.
func FuzzDecodeRLE(f *testing.F) {
	v, err := vectors.LoadBitfieldRLE()
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			f.Add([]byte(tc.Encoded))
			n++
		}
	}
	for _, g := range v.Decode {
		for _, tc := range g.Tests {
			f.Add([]byte(tc.Encoded))
			n++
		}
	}
	if n == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, enc []byte) {
		out, err := DecodeRLE(enc, 4, 1<<20)
		if err != nil {
			if out != nil || !(errors.Is(err, ErrRLE) || errors.Is(err, ErrRLETooLarge)) {
				t.Fatalf("DecodeRLE = %x, %v", out, err)
			}
			return
		}
		if len(out) > 1<<20 || len(out)%4 != 0 {
			t.Fatalf("decoded %d bytes", len(out))
		}
		// trailing zero bytes are not encoded
		again, err := DecodeRLE(EncodeRLE(out), 4, 1<<20)
		if err != nil || !bytes.Equal(bytes.TrimRight(again, "\x00"), bytes.TrimRight(out, "\x00")) {
			t.Fatalf("decode(encode(decode(x))) != decode(x): %v", err)
		}
	})
}

// FuzzDecodeFile: any file decodes or fails with a typed error; a decoded
// file encodes to bytes that decode to the same bits. The fuzz input is
// the file with its runs of zeros shortened (zeroRuns): a page is 3584
// bytes, mostly zeros, and the seeds shrink from 7 KiB to tens of bytes,
// which mutate and minimize faster. Every file is the unpacking of some
// input.
func FuzzDecodeFile(f *testing.F) {
	v, err := vectors.LoadBitfieldPages()
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, g := range v.Files {
		for _, tc := range g.Tests {
			f.Add(zeroruns.Pack([]byte(tc.File)))
			n++
		}
	}
	if n == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, packed []byte) {
		if len(packed) > 1<<10 {
			return // up to 256 KiB of file; the seeds pack into 100 bytes
		}
		file := zeroruns.Unpack(packed)
		b, err := DecodeFile(file)
		if err != nil {
			if b != nil || !(errors.Is(err, ErrHeader) || errors.Is(err, ErrPageSize)) {
				t.Fatalf("DecodeFile = %v, %v", b, err)
			}
			return
		}
		enc := b.EncodeFile()
		b2, err := DecodeFile(enc)
		if err != nil || !bytes.Equal(b2.EncodeFile(), enc) {
			t.Fatalf("round trip failed: %v", err)
		}
		// the bytes after the header survive, zero-padded
		if len(file) > HeaderSize {
			body := file[HeaderSize:]
			if !bytes.Equal(enc[HeaderSize:HeaderSize+len(body)], body) && !bytes.Equal(bytes.TrimRight(enc[HeaderSize:], "\x00"), bytes.TrimRight(body, "\x00")) {
				t.Fatalf("page bytes changed")
			}
		}
	})
}

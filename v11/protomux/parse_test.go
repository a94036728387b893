package protomux

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseFrame parses the trace example of spec/v11/protomux.md, a batch
// with channel switches, a plain open, and a frame a mux ends on.
func TestParseFrame(t *testing.T) {
	batch := []byte{0x00, 0x00, 0x01,
		0x05, 0x00, 0x0f, 0x00, 0x02, 0x00,
		0x04, 0x08, 0x00, 0x00, 0x02,
		0x00, 0x02,
		0x07, 0x05, 0x00, 0xfe, 0x00, 0x00, 0x20, 0x00,
		0x00, 0x01,
		0x02, 0x02, 0x03}
	got, err := ParseFrame(batch)
	if err != nil {
		t.Fatalf("ParseFrame(%x): %v", batch, err)
	}
	want := []Message{
		{Channel: 1, Type: 0, Payload: []byte{0x0f, 0x00, 0x02, 0x00}, InBatch: true},
		{Channel: 1, Type: 8, Payload: []byte{0x00, 0x00, 0x02}, InBatch: true},
		{Channel: 2, Type: 5, Payload: []byte{0x00, 0xfe, 0x00, 0x00, 0x20, 0x00}, InBatch: true},
		{Channel: 1, Type: 2, Payload: []byte{0x03}, InBatch: true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseFrame(%x) (-want +got):\n%s", batch, d)
	}

	open := []byte{0x00, 0x01, 0x03, 0x01, 'p', 0x02, 0xaa, 0xbb, 0x09}
	got, err = ParseFrame(open)
	if err != nil {
		t.Fatalf("ParseFrame(%x): %v", open, err)
	}
	want = []Message{{Channel: 0, Type: 1, Ref: 3, Protocol: "p", ID: []byte{0xaa, 0xbb}, Payload: []byte{0x09}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseFrame(%x) (-want +got):\n%s", open, d)
	}

	if got, err := ParseFrame(nil); err != nil || len(got) != 0 {
		t.Errorf("ParseFrame(empty) = %v, %v; want no message", got, err)
	}
	for _, bad := range [][]byte{{0x00, 0x00, 0x01, 0x09, 0x00}, {0x00, 0x01, 0x03}, {0xff}} {
		if got, err := ParseFrame(bad); !errors.Is(err, ErrProtocol) || got != nil {
			t.Errorf("ParseFrame(%x) = %v, %v; want nil, ErrProtocol", bad, got, err)
		}
	}
}

package zeroruns

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

// TestRoundTrip: Unpack(Pack(b)) is b, for bytes with long zero runs.
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var b []byte
		for _, run := range rapid.SliceOf(rapid.IntRange(-600, 20)).Draw(t, "runs") {
			if run < 0 {
				b = append(b, make([]byte, -run)...)
			} else {
				b = append(b, bytes.Repeat([]byte{byte(run + 1)}, run)...)
			}
		}
		if got := Unpack(Pack(b)); !bytes.Equal(got, b) {
			t.Fatalf("Unpack(Pack(%x)) = %x", b, got)
		}
		if len(Pack(b)) > 2*len(b) { // a lone zero becomes two bytes
			t.Fatalf("Pack grew %d bytes to %d", len(b), len(Pack(b)))
		}
	})
}

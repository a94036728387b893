package core

import (
	"bytes"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
)

// TestEventsCarryLargeBlocks: blocks large enough that both sides reuse
// their memory (a served block's buffer once sent, a received frame's body
// once handled: session.Config.ReuseData) still reach subscribers whole,
// however many blocks move after them.
func TestEventsCarryLargeBlocks(t *testing.T) {
	const n, size = 40, 20 << 10
	kp := testKeyPair(t)
	w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer w.Close()
	block := func(i int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, size) }
	for i := 0; i < n; i++ {
		if _, err := w.Append(block(i)); err != nil {
			t.Fatal(err)
		}
	}
	checkEventsCarry(t, w, n, block)
}

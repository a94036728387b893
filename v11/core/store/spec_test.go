package store

import (
	"encoding/hex"
	"testing"

	"github.com/hypercore-go/hypercore/v11/merkle"
)

// TestSpecExamples checks the examples of spec/v11/storage.md (the record
// was also checked with Python's hashlib.blake2b and a bitwise CRC-32C).
func TestSpecExamples(t *testing.T) {
	var key [32]byte
	for i := range key {
		key[i] = byte(i)
	}
	h := Header{Key: key}
	want := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" + "000000000000"
	if got := hex.EncodeToString(encodeBody(&h)); got != want {
		t.Errorf("encodeBody(a reader of key 00..1f) = %s, want %s", got, want)
	}
	rec := encodeRecord(merkle.LeafNode(0, []byte("a")), 0)
	want = "423177bd3da55c6ac57419beff9c763bab05e12a6d8908b38b7fc14360228d4a" +
		"0100000000000000" + "0000000000000000" + "6e6f6465" + "bb02b68d"
	if got := hex.EncodeToString(rec[:]); got != want {
		t.Errorf("encodeRecord(leaf 0 of \"a\", offset 0) = %s, want %s", got, want)
	}
	n, off, ok, err := decodeRecord(0, rec[:])
	if !ok || err != nil || off != 0 || n != merkle.LeafNode(0, []byte("a")) {
		t.Errorf("decodeRecord(0, example) = %v, %d, %v, %v", n, off, ok, err)
	}
	if _, _, ok, _ := decodeRecord(1, rec[:]); ok {
		t.Errorf("decodeRecord(1, node 0's record) is present; the checksum covers the index")
	}
}

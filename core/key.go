package core

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
)

// Key is a feed's public key, the read capability (spec/security.md), or
// its discovery key: 32 bytes, written as 64 lower-case hex digits. It is
// a byte slice, so it goes wherever one does (a session's Open, hex
// encoding); PublicKey converts it for package ed25519.
type Key []byte

// ErrBadKey is returned by ParseKey for a string that is not 64 hex digits.
var ErrBadKey = errors.New("core: a key is 64 hex digits")

// ParseKey reads a key written as 64 hex digits.
func ParseKey(s string) (Key, error) {
	if len(s) != 2*ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: %d characters", ErrBadKey, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	return Key(b), nil
}

// String returns the key as 64 lower-case hex digits.
func (k Key) String() string { return hex.EncodeToString(k) }

// Equal reports whether k and o are the same key.
func (k Key) Equal(o Key) bool { return bytes.Equal(k, o) }

// PublicKey returns the key as an ed25519 public key.
func (k Key) PublicKey() ed25519.PublicKey { return ed25519.PublicKey(k) }

// Package session implements a Hypercore 9 replication session: the Noise
// XX handshake, the XSalsa20 transport cipher, the capability that proves
// knowledge of a feed key, and channels, specified in spec/session.md.
package session

import "errors"

var (
	// ErrHandshake is returned when the Noise handshake fails: a malformed
	// or oversized handshake message, a failed decryption, a missing or
	// malformed payload, or a connection that ends early.
	ErrHandshake = errors.New("session: handshake failed")
)

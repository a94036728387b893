// Package secretstream implements @hyperswarm/secret-stream, the encrypted
// message stream that Hypercore 11 peers talk over, specified in
// spec/v11/secretstream.md (the handshake, setup and framing) and
// spec/v11/secretstream-cipher.md (the libsodium secretstream cipher).
//
// A stream starts with a Noise_XX_Ed25519_ChaChaPoly_BLAKE2b handshake whose
// DH is an Ed25519 scalar multiplication on the Edwards curve
// (noise-curve-ed); each side then sends a 56-byte setup frame (its stream
// id and its secretstream header), and after that every message is one
// frame u24le(length) ‖ secretstream ciphertext. [Handshake] runs all of it
// over a net.Conn and returns a [Conn] whose ReadMessage and WriteMessage
// carry one message each, as JS's NoiseSecretStream does; empty messages
// are keep-alives.
//
// The cipher ([Push], [Pull]) is libsodium's
// crypto_secretstream_xchacha20poly1305, which is not the XChaCha20-Poly1305
// AEAD of x/crypto.
//
// Randomness is a parameter ([Config].Rand): the ephemeral key seeds and the
// secretstream header are read from it, so a handshake replays exactly.
package secretstream

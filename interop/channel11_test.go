package interop

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/v11/merkle"
	"github.com/hypercore-go/hypercore/v11/protomux"
	"github.com/hypercore-go/hypercore/v11/secretstream"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// The Hypercore 11 channel interop tests: a Go secret-stream and protomux,
// with a hypercore/alpha channel for a core's key, against a real JS
// Hypercore 11 core replicating that key over TCP (interop/js11/peers/core.js).
// They prove the layers of issue 17 end to end before any Go feed exists:
// the JS core accepts the Go side's capability, and its open and sync arrive
// and decode; a wrong capability makes it drop the whole connection.

// channel11Seed is the signing seed of the JS writer core in these tests.
var channel11Seed = bytes.Repeat([]byte{0x11}, 32)

// channel11Blocks is how many blocks the JS writer appends.
const channel11Blocks = 7

// startCore11 starts peers/core.js as a writer (seed, blocks) or a clone
// (key) and connects it with the test (connect: when goDials the JS peer
// listens). It returns the Go side's secret-stream over the connection.
func startCore11(t *testing.T, ctx context.Context, goDials bool, kind string, arg string) (*secretstream.Conn, *jsPeer) {
	t.Helper()
	c, p := startJS11Core(t, ctx, goDials, kind, arg, channel11Blocks)
	hctx, cancel := context.WithTimeout(ctx, jsWait)
	defer cancel()
	s, err := secretstream.Handshake(hctx, c, secretstream.Config{
		Initiator:    goDials,
		KeepAlive:    secretstream.DefaultKeepAlive,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("secret-stream handshake with JS (Go initiator %v): %v; JS stderr:\n%s", goDials, err, p.proc.Stderr())
	}
	t.Cleanup(func() { s.Close() })
	return s, p.jsPeer
}

// channel11 is what the Go side of a hypercore/alpha channel saw.
type channel11 struct {
	opened   chan *wire.Handshake // the remote's handshake, once
	messages chan wire.Message    // every message, decoded
	closed   chan bool            // OnClose(remote)
	errs     chan error           // a remote capability or message that failed
}

// openChannel11 runs a mux over s and opens the hypercore/alpha channel of
// key, sending the capability capability (the correct one unless a test
// spoils it).
func openChannel11(t *testing.T, ctx context.Context, s *secretstream.Conn, key [32]byte, capability [32]byte) (*protomux.Mux, *protomux.Channel, *channel11) {
	t.Helper()
	got := &channel11{
		opened:   make(chan *wire.Handshake, 1),
		messages: make(chan wire.Message, 1000),
		closed:   make(chan bool, 1),
		errs:     make(chan error, 10),
	}
	mux := protomux.New(s, nil)
	go mux.Run(ctx)
	dk := merkle.DiscoveryKey(key)
	ch := mux.CreateChannel(protomux.ChannelOptions{
		Protocol: wire.Protocol,
		ID:       dk[:],
		Aliases:  []string{wire.ProtocolAlias},
		Messages: wire.NumTypes,
		OnOpen: func(ch *protomux.Channel, p []byte) error {
			hs, err := wire.DecodeHandshake(p)
			if err != nil {
				got.errs <- err
				return err
			}
			// The remote's capability is checked with the remote's role.
			if err := wire.VerifyCapability(s.HandshakeHash(), s.IsInitiator(), key, hs.Capability); err != nil {
				got.errs <- err
				return err
			}
			got.opened <- hs
			return nil
		},
		OnMessage: func(ch *protomux.Channel, typ int, p []byte) error {
			m, err := wire.Decode(wire.Type(typ), p)
			if err != nil {
				got.errs <- fmt.Errorf("message type %d %x: %w", typ, p, err)
				return err
			}
			got.messages <- m
			return nil
		},
		OnClose: func(ch *protomux.Channel, remote bool) {
			select {
			case got.closed <- remote:
			default:
			}
		},
	})
	hs := wire.Handshake{Seeks: false, Capability: capability}
	if err := ch.Open(hs.Append(nil)); err != nil {
		t.Fatalf("Channel.Open: %v", err)
	}
	return mux, ch, got
}

// waitSync returns the first sync the JS side sends on the channel.
func (got *channel11) waitSync(t *testing.T, timeout time.Duration) *wire.Sync {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-got.messages:
			if s, ok := m.(*wire.Sync); ok {
				return s
			}
		case err := <-got.errs:
			t.Fatalf("the JS side's channel: %v", err)
		case <-deadline:
			t.Fatalf("no sync from JS within %v", timeout)
		}
	}
}

func mustKey(t *testing.T, h string) [32]byte {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad key %q from JS", h)
	}
	return [32]byte(b)
}

// TestChannel11WithJSWriter opens a Go hypercore/alpha channel against a JS
// writer core, both dialling directions: JS accepts the Go capability (its
// own open carries one that Go verifies with JS's role), and the sync it
// sends decodes and reports the writer's length. Go then announces itself
// with a sync of its own, and JS's reply acknowledges it.
func TestChannel11WithJSWriter(t *testing.T) {
	for _, goDials := range []bool{true, false} {
		t.Run(fmt.Sprintf("goDials=%v", goDials), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*jsWait)
			defer cancel()
			s, p := startCore11(t, ctx, goDials, "writer", hex.EncodeToString(channel11Seed))
			ready := p.waitFor("core", jsWait)
			key := mustKey(t, ready.str("key"))
			if dk := merkle.DiscoveryKey(key); hex.EncodeToString(dk[:]) != ready.str("discoveryKey") {
				t.Fatalf("DiscoveryKey(%x) = %x, JS says %s", key, dk, ready.str("discoveryKey"))
			}
			// The JS writer's key is the hash of its default manifest.
			pub := ed25519Public(channel11Seed)
			if want := merkle.DefaultKey(pub); want != key {
				t.Fatalf("DefaultKey(%x) = %x, JS core key %x", pub, want, key)
			}
			_, ch, got := openChannel11(t, ctx, s, key, wire.Capability(s.HandshakeHash(), s.IsInitiator(), key))
			select {
			case hs := <-got.opened:
				t.Logf("JS open: seeks %v, capability %x (verified)", hs.Seeks, hs.Capability)
			case err := <-got.errs:
				t.Fatalf("JS's open: %v", err)
			case <-time.After(jsWait):
				t.Fatalf("JS did not open the channel; stderr:\n%s", p.proc.Stderr())
			}
			sync := got.waitSync(t, jsWait)
			if sync.Length != channel11Blocks || sync.Fork != 0 || !sync.CanUpgrade || !sync.Uploading || !sync.HasManifest {
				t.Fatalf("JS sync = %+v, want length %d, fork 0, canUpgrade, uploading, hasManifest", sync, channel11Blocks)
			}
			// Announce ourselves: JS acknowledges our length (0) and keeps
			// reporting its own.
			mine := wire.Sync{Length: 0, RemoteLength: sync.Length, Downloading: true, Uploading: true}
			if err := ch.Send(int(wire.TypeSync), mine.Append(nil)); err != nil {
				t.Fatal(err)
			}
			for {
				select {
				case m := <-got.messages:
					if r, ok := m.(*wire.Range); ok {
						if r.Start != 0 || r.Length != channel11Blocks || r.Drop {
							t.Fatalf("JS range = %+v, want {0, %d}", r, channel11Blocks)
						}
						t.Logf("JS announced range %+v", r)
						return
					}
				case err := <-got.errs:
					t.Fatal(err)
				case <-time.After(jsWait):
					t.Fatal("JS did not announce its blocks with a range")
				}
			}
		})
	}
}

// TestChannel11WrongCapability opens the channel with a capability that is
// wrong in one bit, both dialling directions: JS must drop the whole
// connection (INVALID_CAPABILITY), and never send a sync on the channel.
func TestChannel11WrongCapability(t *testing.T) {
	for _, goDials := range []bool{true, false} {
		t.Run(fmt.Sprintf("goDials=%v", goDials), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*jsWait)
			defer cancel()
			s, p := startCore11(t, ctx, goDials, "writer", hex.EncodeToString(channel11Seed))
			ready := p.waitFor("core", jsWait)
			key := mustKey(t, ready.str("key"))
			bad := wire.Capability(s.HandshakeHash(), s.IsInitiator(), key)
			bad[0] ^= 1
			mux, _, got := openChannel11(t, ctx, s, key, bad)
			select {
			case <-mux.Done():
			case <-time.After(jsWait):
				t.Fatal("JS kept the connection open after a wrong capability")
			}
			// JS closes the TCP connection; the Go side reads its end (a
			// clean EOF, or a reset) and the mux ends either way.
			t.Logf("the Go mux ended with %v", mux.Err())
			closed := p.waitFor("closed", jsWait)
			if why := closed.str("error"); why != "INVALID_CAPABILITY" {
				t.Fatalf("JS closed the connection with %q, want INVALID_CAPABILITY", why)
			}
			for {
				select {
				case m := <-got.messages:
					if _, ok := m.(*wire.Sync); ok {
						t.Fatal("JS sent a sync on a channel whose capability was wrong")
					}
				default:
					return
				}
			}
		})
	}
}

// TestChannel11WithJSClone is the reverse: the Go side holds a key (it
// plays the writer's side of the channel) and a JS clone of that key opens
// its channel; JS accepts the Go capability, and its sync says it has
// nothing (length 0) and its want asks what Go has.
func TestChannel11WithJSClone(t *testing.T) {
	key := merkle.DefaultKey(ed25519Public(channel11Seed))
	for _, goDials := range []bool{true, false} {
		t.Run(fmt.Sprintf("goDials=%v", goDials), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*jsWait)
			defer cancel()
			s, p := startCore11(t, ctx, goDials, "clone", hex.EncodeToString(key[:]))
			_, ch, got := openChannel11(t, ctx, s, key, wire.Capability(s.HandshakeHash(), s.IsInitiator(), key))
			select {
			case <-got.opened:
			case err := <-got.errs:
				t.Fatalf("JS's open: %v", err)
			case <-time.After(jsWait):
				t.Fatalf("JS did not open the channel; stderr:\n%s", p.proc.Stderr())
			}
			// Tell the clone we have 3 blocks; it answers with its sync
			// acknowledging that length.
			mine := wire.Sync{Length: 3, CanUpgrade: true, Uploading: true, Downloading: true, HasManifest: true}
			if err := ch.Send(int(wire.TypeSync), mine.Append(nil)); err != nil {
				t.Fatal(err)
			}
			deadline := time.After(jsWait)
			for {
				select {
				case m := <-got.messages:
					switch m := m.(type) {
					case *wire.Sync:
						if m.Length != 0 || m.Fork != 0 {
							t.Fatalf("JS clone sync = %+v, want length 0, fork 0", m)
						}
						if m.RemoteLength == 3 {
							t.Logf("JS clone acknowledged length 3: %+v", m)
							return
						}
					case *wire.Request:
						// The clone asks for an upgrade (and the manifest)
						// from what we announced: proof that it took our
						// sync; answering it is issue 18's feed.
						if m.Upgrade == nil {
							t.Fatalf("JS clone request %+v without an upgrade", m)
						}
						t.Logf("JS clone requested %+v (upgrade %+v, manifest %v)", m, *m.Upgrade, m.Manifest)
						return
					}
				case err := <-got.errs:
					t.Fatal(err)
				case <-deadline:
					t.Fatal("JS clone neither acknowledged our length nor asked for an upgrade")
				}
			}
		})
	}
}

// ed25519Public is the public key of the Ed25519 key pair of seed.
func ed25519Public(seed []byte) [32]byte {
	return [32]byte(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
}

// ed25519Key is the Ed25519 key pair of seed.
func ed25519Key(seed []byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) }

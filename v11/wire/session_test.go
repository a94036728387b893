package wire

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hypercore-go/hypercore/v11/merkle"
	"github.com/hypercore-go/hypercore/v11/protomux"
	"github.com/hypercore-go/hypercore/v11/secretstream"
	"github.com/hypercore-go/hypercore/vectors"
)

// The replay of vectors/v11/session.json: whole replication sessions between
// two JS Hypercore 11 cores, every frame in both directions. The test plays
// one side with the Go layers of issue 17 (secretstream, protomux, wire) and
// the other with the transcript's bytes, over TCP on 127.0.0.1, once as the
// initiator and once as the responder:
//
//   - with the transcript's static key, ephemeral seed and header, the Go
//     handshake writes exactly the side's handshake messages and setup frame;
//   - every message frame the side sent is exactly what Go's WriteMessage
//     makes of its plaintext, and every frame it received decrypts to the
//     plaintext JS decrypted;
//   - every plaintext splits (protomux.ParseFrame) into the protomux messages
//     JS's protomux decoded, every open carries the capability of the
//     sender's role, and every hypercore message decodes to the fields JS
//     decoded and encodes back to its payload.
//
// The writer's key and discovery key are checked against v11/merkle too.

const sessionFile = "v11/session.json"

func TestSessionVectors(t *testing.T) {
	v, err := vectors.LoadSession11()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range v.Transcripts {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name(sessionFile), func(t *testing.T) {
				checkSessionKeys(t, tc)
				for _, initiator := range []bool{true, false} {
					t.Run(map[bool]string{true: "go-initiator", false: "go-responder"}[initiator], func(t *testing.T) {
						replaySession(t, tc, initiator)
					})
				}
				checkSessionMessages(t, tc)
			})
		}
	}
	if n == 0 {
		t.Fatal("no session transcripts")
	}
}

// checkSessionKeys checks the writer's key (a default core: the hash of its
// default manifest), manifest and discovery key with v11/merkle.
func checkSessionKeys(t *testing.T, tc vectors.Transcript11Test) {
	t.Helper()
	pub := [32]byte(ed25519.NewKeyFromSeed(tc.Writer.Seed).Public().(ed25519.PublicKey))
	if !bytes.Equal(pub[:], tc.Writer.PublicKey) {
		t.Errorf("public key of the writer seed = %x, want %x", pub, tc.Writer.PublicKey)
	}
	m := merkle.DefaultSignerManifest(pub)
	if enc, err := merkle.EncodeManifest(m); err != nil || !bytes.Equal(enc, tc.Writer.Manifest) {
		t.Errorf("EncodeManifest(DefaultSignerManifest(%x)) = %x, %v; want %x", pub, enc, err, tc.Writer.Manifest)
	}
	if key := merkle.DefaultKey(pub); !bytes.Equal(key[:], tc.Writer.Key) {
		t.Errorf("DefaultKey(%x) = %x, want %x", pub, key, tc.Writer.Key)
	}
	if dk := merkle.DiscoveryKey([32]byte(tc.Writer.Key)); !bytes.Equal(dk[:], tc.Writer.DiscoveryKey) {
		t.Errorf("DiscoveryKey(%x) = %x, want %x", tc.Writer.Key, dk, tc.Writer.DiscoveryKey)
	}
}

// replaySession plays the transcript's initiator (or responder) with Go and
// the other side with the recorded bytes.
func replaySession(t *testing.T, tc vectors.Transcript11Test, initiator bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	goConn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer goConn.Close()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	deadline := time.Now().Add(20 * time.Second)
	goConn.SetDeadline(deadline)
	peer.SetDeadline(deadline)

	me, mine := tc.Initiator, "i2r"
	if !initiator {
		me, mine = tc.Responder, "r2i"
	}

	// The recorded side: it writes the other side's frames and reads ours,
	// in the transcript's order, and reports the first difference.
	scripted := make(chan error, 1)
	go func() {
		for i, f := range tc.Frames {
			if f.Direction == mine {
				got := make([]byte, len(f.Raw))
				if _, err := io.ReadFull(peer, got); err != nil {
					scripted <- fmt.Errorf("frame %d (%s %s): reading Go's frame: %w", i, f.Direction, f.Kind, err)
					return
				}
				if !bytes.Equal(got, f.Raw) {
					scripted <- fmt.Errorf("frame %d (%s %s): Go wrote %x, want %x", i, f.Direction, f.Kind, got, f.Raw)
					return
				}
			} else if _, err := peer.Write(f.Raw); err != nil {
				scripted <- fmt.Errorf("frame %d: writing: %w", i, err)
				return
			}
		}
		scripted <- nil
	}()

	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	rnd := bytes.NewReader(append(append([]byte{}, me.EphemeralSeed...), me.Header...))
	s, err := secretstream.Handshake(ctx, goConn, secretstream.Config{
		Initiator: initiator,
		KeyPair:   ed25519.NewKeyFromSeed(me.StaticSeed),
		Rand:      rnd,
	})
	if err != nil {
		t.Fatalf("Handshake: %v (recorded side: %v)", err, firstErr(scripted))
	}
	defer s.Close()
	if !bytes.Equal(s.HandshakeHash(), tc.HandshakeHash) {
		t.Fatalf("HandshakeHash() = %x, want %x", s.HandshakeHash(), tc.HandshakeHash)
	}
	if rnd.Len() != 0 {
		t.Errorf("Handshake left %d bytes of its randomness unread", rnd.Len())
	}
	for i, f := range tc.Frames {
		if f.Kind != "message" {
			continue
		}
		if f.Direction == mine {
			if err := s.WriteMessage(f.Plaintext); err != nil {
				t.Fatalf("frame %d: WriteMessage(%x): %v (recorded side: %v)", i, f.Plaintext, err, firstErr(scripted))
			}
			continue
		}
		got, err := s.ReadMessage()
		if err != nil {
			t.Fatalf("frame %d: ReadMessage: %v (recorded side: %v)", i, err, firstErr(scripted))
		}
		if !bytes.Equal(got, f.Plaintext) {
			t.Fatalf("frame %d: ReadMessage() = %x, want %x", i, got, f.Plaintext)
		}
	}
	if err := <-scripted; err != nil {
		t.Fatal(err)
	}
}

// firstErr returns the recorded side's error if it has one already.
func firstErr(c chan error) error {
	select {
	case err := <-c:
		c <- err
		return err
	default:
		return nil
	}
}

// checkSessionMessages splits every plaintext into protomux messages and
// compares them, and the hypercore messages in them, with what JS decoded.
func checkSessionMessages(t *testing.T, tc vectors.Transcript11Test) {
	t.Helper()
	key := [32]byte(tc.Writer.Key)
	count := map[string]int{}
	for i, f := range tc.Frames {
		if f.Kind != "message" {
			continue
		}
		got, err := protomux.ParseFrame(f.Plaintext)
		if err != nil {
			t.Errorf("frame %d: ParseFrame(%x): %v", i, f.Plaintext, err)
			continue
		}
		if len(got) != len(f.Messages) {
			t.Errorf("frame %d: ParseFrame(%x) gave %d messages, JS decoded %d", i, f.Plaintext, len(got), len(f.Messages))
			continue
		}
		sender := tc.Initiator
		senderIsInitiator := f.Direction == "i2r"
		if !senderIsInitiator {
			sender = tc.Responder
		}
		for j, m := range got {
			want := f.Messages[j]
			where := fmt.Sprintf("frame %d message %d (%s)", i, j, want.Name)
			count[want.Name]++
			if m.Channel != want.Channel || m.Type != want.Type {
				t.Errorf("%s: channel %d type %d, want %d %d", where, m.Channel, m.Type, want.Channel, want.Type)
				continue
			}
			if m.Channel == 0 {
				// JS's payload of a control message is its whole body;
				// ParseFrame takes the fields off (checked in checkControl).
				checkControl(t, where, m, want, key, tc.HandshakeHash, senderIsInitiator, sender.Capability)
				continue
			}
			if !bytes.Equal(m.Payload, want.Payload) {
				t.Errorf("%s: payload %x, want %x", where, m.Payload, []byte(want.Payload))
				continue
			}
			checkChannelMessage(t, where, m, want)
		}
	}
	// The transcripts are meant to cover the messages of a whole session.
	for _, name := range []string{"open", "sync", "request", "data", "range"} {
		if count[name] == 0 {
			t.Errorf("the transcript has no %s message", name)
		}
	}
}

// checkControl compares an open (protocol, id, handshake and its
// capability) or a close with JS's decoding.
func checkControl(t *testing.T, where string, m protomux.Message, want vectors.Transcript11Message, key [32]byte, hash []byte, senderIsInitiator bool, capability []byte) {
	t.Helper()
	switch want.Name {
	case "open":
		var js struct {
			LocalID   uint64 `json:"localId"`
			Protocol  string `json:"protocol"`
			ID        vectors.Hex
			Handshake struct {
				Seeks      bool        `json:"seeks"`
				Capability vectors.Hex `json:"capability"`
			} `json:"handshake"`
		}
		if err := json.Unmarshal(want.Fields["localId"], &js.LocalID); err != nil {
			t.Fatalf("%s: fields: %v", where, err)
		}
		json.Unmarshal(want.Fields["protocol"], &js.Protocol)
		json.Unmarshal(want.Fields["id"], &js.ID)
		json.Unmarshal(want.Fields["handshake"], &js.Handshake)
		if m.Ref != js.LocalID || m.Protocol != js.Protocol || !bytes.Equal(m.ID, js.ID) {
			t.Errorf("%s: open %d %q %x, want %d %q %x", where, m.Ref, m.Protocol, m.ID, js.LocalID, js.Protocol, js.ID)
		}
		if m.Protocol != Protocol {
			t.Errorf("%s: protocol %q, want %q", where, m.Protocol, Protocol)
		}
		dk := merkle.DiscoveryKey(key)
		if !bytes.Equal(m.ID, dk[:]) {
			t.Errorf("%s: channel id %x, want the discovery key %x", where, m.ID, dk)
		}
		hs, err := DecodeHandshake(m.Payload)
		if err != nil {
			t.Fatalf("%s: DecodeHandshake(%x): %v", where, m.Payload, err)
		}
		if hs.Seeks != js.Handshake.Seeks || !bytes.Equal(hs.Capability[:], js.Handshake.Capability) {
			t.Errorf("%s: handshake %+v, JS decoded seeks %v capability %x", where, hs, js.Handshake.Seeks, js.Handshake.Capability)
		}
		if c := Capability(hash, senderIsInitiator, key); c != hs.Capability || !bytes.Equal(c[:], capability) {
			t.Errorf("%s: Capability(h, initiator %v, key) = %x; sent %x, transcript says %x", where, senderIsInitiator, c, hs.Capability, capability)
		}
		// The receiver checks it with the sender's role: its own role is
		// the other one.
		if err := VerifyCapability(hash, !senderIsInitiator, key, hs.Capability); err != nil {
			t.Errorf("%s: VerifyCapability by the receiver: %v", where, err)
		}
	case "close", "reject":
		var id uint64
		json.Unmarshal(want.Fields["id"], &id)
		if m.Ref != id {
			t.Errorf("%s: id %d, want %d", where, m.Ref, id)
		}
	default:
		t.Errorf("%s: unexpected control message", where)
	}
}

// checkChannelMessage decodes a hypercore message and compares every field
// with JS's decoding, and its encoding with the payload.
func checkChannelMessage(t *testing.T, where string, m protomux.Message, want vectors.Transcript11Message) {
	t.Helper()
	got, err := Decode(Type(m.Type), m.Payload)
	if err != nil {
		t.Errorf("%s: Decode(%d, %x): %v", where, m.Type, m.Payload, err)
		return
	}
	if got.Type().String() != want.Name {
		t.Errorf("%s: decoded a %s", where, got.Type())
	}
	// JS's fields, in the shape of messages.json's decoded messages.
	raw, err := json.Marshal(map[string]vectors.Fields{want.Name: want.Fields})
	if err != nil {
		t.Fatal(err)
	}
	var d vectors.Wire11Decoded
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: JS fields %s: %v", where, raw, err)
	}
	if diff := cmp.Diff(fromVector(t, d), got, equate); diff != "" {
		t.Errorf("%s: Decode(%x) differs from JS (-js +go):\n%s", where, m.Payload, diff)
	}
	if enc := Encode(got); !bytes.Equal(enc, m.Payload) {
		t.Errorf("%s: Encode(Decode(%x)) = %x", where, m.Payload, enc)
	}
}

package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

// roles runs f for Go as initiator (dialling a JS responder) and as
// responder (accepting a JS initiator).
func roles(t *testing.T, f func(t *testing.T, goInitiator bool)) {
	for _, goInit := range []bool{true, false} {
		name := map[bool]string{true: "GoInitiator", false: "GoResponder"}[goInit]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, goInit)
		})
	}
}

type goRecorder struct {
	opened   chan struct{}
	messages chan message.Message
	closed   chan error
}

func newGoRecorder() *goRecorder {
	return &goRecorder{opened: make(chan struct{}, 1), messages: make(chan message.Message, 100), closed: make(chan error, 1)}
}
func (r *goRecorder) Opened(*session.Channel)                       { r.opened <- struct{}{} }
func (r *goRecorder) Message(_ *session.Channel, m message.Message) { r.messages <- m }
func (r *goRecorder) Closed(_ *session.Channel, err error)          { r.closed <- err }

func recv[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// startSession connects Go to a JS protocol peer running scenario and runs
// the Go session.
func startSession(t *testing.T, goInit bool, scenario string, cfg session.Config) (*session.Session, *jsPeer, chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	jsRole := map[bool]string{true: "responder", false: "initiator"}[goInit]
	conn, p := connect(t, goInit, func(addr string) *jsPeer {
		return startJS(t, ctx, "peers/protocol.js", jsRole, addr, scenario, hex.EncodeToString(testKey))
	})
	cfg.Initiator = goInit
	s, err := session.New(ctx, conn, cfg)
	if err != nil {
		t.Fatalf("handshake with JS: %v; JS stderr:\n%s", err, p.proc.Stderr())
	}
	p.waitFor("handshake", 10*time.Second)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { s.Close() })
	return s, p, done
}

// The messages each side sends in the exchange scenario (JS sends the same
// set from peers/protocol.js).
func exchangeMessages() []message.Message {
	return []message.Message{
		&message.Options{Extensions: []string{"a", "b"}, Ack: message.Bool(true)},
		message.NewStatus(true, false),
		&message.Have{Start: 0, Length: message.Uint64(1048576), Bitfield: []byte{0x02, 0xc0}},
		&message.Unhave{Range: message.Range{Start: 3}},
		&message.Want{Range: message.Range{Start: 0, Length: message.Uint64(1048576)}},
		&message.Unwant{Range: message.Range{Start: 0}},
		message.NewRequest(1, 0, false, 1),
		&message.Cancel{Index: 1},
		&message.Data{Index: 1, Value: []byte("world"), Nodes: []message.Node{{Index: 2, Hash: bytes.Repeat([]byte{7}, 32), Size: 5}}, Signature: bytes.Repeat([]byte{9}, 64)},
		&message.Extension{ID: 0, Message: []byte("hi")},
	}
}

// jsView is how the JS peer prints a received message of each type (its
// decoder's output, bytes in hex).
func jsView(m message.Message) (string, map[string]any) {
	h := hex.EncodeToString
	switch m := m.(type) {
	case *message.Options:
		return "options", map[string]any{"extensions": []any{"a", "b"}, "ack": m.GetAck()}
	case *message.Status:
		return "status", map[string]any{"uploading": m.GetUploading(), "downloading": m.GetDownloading()}
	case *message.Have:
		return "have", map[string]any{"start": float64(m.Start), "length": float64(m.GetLength()), "bitfield": h(m.Bitfield), "ack": m.GetAck()}
	case *message.Unhave:
		return "unhave", map[string]any{"start": float64(m.Start), "length": float64(m.GetLength())}
	case *message.Want:
		return "want", map[string]any{"start": float64(m.Start), "length": float64(m.GetLength())}
	case *message.Unwant:
		return "unwant", map[string]any{"start": float64(m.Start), "length": float64(m.GetLength())}
	case *message.Request:
		return "request", map[string]any{"index": float64(m.Index), "bytes": float64(m.GetBytes()), "hash": m.GetHash(), "nodes": float64(m.GetNodes())}
	case *message.Cancel:
		return "cancel", map[string]any{"index": float64(m.Index), "bytes": float64(m.GetBytes()), "hash": m.GetHash()}
	case *message.Data:
		return "data", map[string]any{"index": float64(m.Index), "value": h(m.Value),
			"nodes":     []any{map[string]any{"index": float64(2), "hash": h(m.Nodes[0].Hash), "size": float64(5)}},
			"signature": h(m.Signature)}
	case *message.Extension:
		return "extension", nil
	}
	return "", nil
}

// TestSessionExchange: handshake, channel open with valid capabilities on
// both sides, every message type sent each way arrives equal, and a
// session-level extension by name, with Go in both roles.
func TestSessionExchange(t *testing.T) {
	roles(t, func(t *testing.T, goInit bool) {
		const extName = "hypercore-go/test"
		var extMu sync.Mutex
		var remoteExt []string
		gotExt := make(chan string, 1)
		cfg := session.Config{
			Live: true,
			OnOptions: func(_ *session.Session, m *message.Options) {
				extMu.Lock()
				remoteExt = m.Extensions
				extMu.Unlock()
			},
			OnExtension: func(_ *session.Session, m *message.Extension) {
				extMu.Lock()
				defer extMu.Unlock()
				if m.ID < uint64(len(remoteExt)) && remoteExt[m.ID] == extName {
					gotExt <- string(m.Message)
				}
			},
		}
		s, p, _ := startSession(t, goInit, "exchange", cfg)
		rec := newGoRecorder()
		ch, err := s.Open(testKey, rec)
		if err != nil {
			t.Fatal(err)
		}
		recv(t, rec.opened, "channel open")
		p.waitFor("open", 10*time.Second)

		// JS → Go
		for _, want := range exchangeMessages() {
			got := recv(t, rec.messages, "message from JS")
			if got.Type() != want.Type() || !bytes.Equal(got.AppendBody(nil), want.AppendBody(nil)) {
				t.Errorf("from JS: %v %x, want %v %x", got.Type(), got.AppendBody(nil), want.Type(), want.AppendBody(nil))
			}
		}
		if msg := recv(t, gotExt, "session extension from JS"); msg != "hello js" {
			t.Errorf("extension message %q", msg)
		}

		// Go → JS
		for _, m := range exchangeMessages() {
			if err := ch.Send(m); err != nil {
				t.Fatal(err)
			}
		}
		s.SendOptions(&message.Options{Extensions: []string{extName}})
		s.SendExtension(&message.Extension{ID: 0, Message: []byte("hello go")})
		for _, m := range exchangeMessages() {
			typ, want := jsView(m)
			e := p.waitFor("message", 10*time.Second)
			if e.str("type") != typ {
				t.Fatalf("JS received %v, want %s", e, typ)
			}
			if typ == "extension" {
				if e["id"].(float64) != 0 || e.str("message") != "6869" {
					t.Errorf("JS received extension %v", e)
				}
				continue
			}
			got := e["message"].(map[string]any)
			if !equalJSON(got, want) {
				t.Errorf("JS received %s %v, want %v", typ, got, want)
			}
		}
		e := p.waitFor("extension", 10*time.Second)
		if e.str("message") != "hello go" {
			t.Errorf("JS extension event %v", e)
		}
	})
}

func equalJSON(a, b map[string]any) bool {
	ja, _ := jsonMarshal(a)
	jb, _ := jsonMarshal(b)
	return bytes.Equal(ja, jb)
}

// TestSessionBadCapability: a JS peer that opens with a wrong capability
// after Go opened makes Go end the session with ErrBadCapability (before:
// Go rejects the channel); a Go peer
// that does the same to JS is destroyed by JS.
func TestSessionBadCapability(t *testing.T) {
	roles(t, func(t *testing.T, goInit bool) {
		t.Run("JSLies", func(t *testing.T) {
			s, _, done := startSession(t, goInit, "badcap", session.Config{Live: true})
			rec := newGoRecorder()
			// JS sends its Open right after the handshake, so it may
			// arrive before Go opens: then Open itself rejects the channel
			// (spec/session.md, Channels) and the session goes on
			if _, err := s.Open(testKey, rec); err != nil {
				if !errors.Is(err, session.ErrBadCapability) {
					t.Fatalf("Open = %v, want nil or ErrBadCapability", err)
				}
				return
			}
			if err := recv(t, done, "Go session end"); !errors.Is(err, session.ErrBadCapability) {
				t.Fatalf("Run = %v, want ErrBadCapability", err)
			}
		})
		t.Run("GoLies", func(t *testing.T) {
			s, p, done := startSession(t, goInit, "expect", session.Config{Live: true})
			dk, _ := merkle.DiscoveryKey(testKey)
			// The JS peer opened the key on creation; Go answers with a
			// capability of zeros.
			if err := s.SendRaw(1, &message.Open{DiscoveryKey: dk[:], Capability: make([]byte, 32)}); err != nil {
				t.Fatal(err)
			}
			e := p.waitFor("error", 10*time.Second)
			if e.str("message") != "Invalid remote channel capability" {
				t.Errorf("JS error %q", e.str("message"))
			}
			// JS destroys the stream, which ends the TCP connection: the Go
			// session ends (a connection closed between frames is a clean
			// end for Run).
			recv(t, done, "Go session end")
		})
	})
}

// TestSessionGarbage: a frame that does not decode ends the Go session with
// a typed error.
func TestSessionGarbage(t *testing.T) {
	roles(t, func(t *testing.T, goInit bool) {
		_, _, done := startSession(t, goInit, "garbage", session.Config{Live: true})
		err := recv(t, done, "Go session end")
		if !errors.Is(err, session.ErrProtocol) || !errors.Is(err, message.ErrTruncated) {
			t.Fatalf("Run = %v, want ErrProtocol wrapping message.ErrTruncated", err)
		}
	})
}

// TestSessionIdle: 25 s without messages; both sides stay alive thanks to
// keep-alives (JS times out after 20 s of silence).
func TestSessionIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 25 s; run without -short")
	}
	roles(t, func(t *testing.T, goInit bool) {
		s, p, done := startSession(t, goInit, "idle", session.Config{Live: true})
		rec := newGoRecorder()
		s.Open(testKey, rec)
		recv(t, rec.opened, "channel open")
		deadline := time.After(25 * time.Second)
		for {
			select {
			case err := <-done:
				t.Fatalf("Go session ended after idling: %v", err)
			case <-deadline:
				// JS must still be alive too: it reported alive at 25 s
				// or reports it within the next seconds.
				for {
					e := p.next(10 * time.Second)
					switch e.str("event") {
					case "alive":
						if e["seconds"].(float64) >= 25 {
							return
						}
					case "error", "end":
						t.Fatalf("JS ended: %v", e)
					}
				}
			case e := <-p.events:
				if ev := e.str("event"); ev == "error" || ev == "end" {
					t.Fatalf("JS ended while idle: %v", e)
				}
			}
		}
	})
}

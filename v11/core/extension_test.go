package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/wire"
	"pgregory.net/rapid"
)

// TestEncodings: each encoding's bytes are JS compact-encoding's (from
// node: c.encode(c.from(enc), value)), and decoding gives the value back.
func TestEncodings(t *testing.T) {
	for _, tc := range []struct {
		enc   Encoding
		in    any
		bytes string // hex
		out   any
	}{
		{Buffer, []byte("hi"), "026869", []byte("hi")},
		{Buffer, "hi", "026869", []byte("hi")},
		{Buffer, []byte{}, "00", []byte{}},
		{Binary, []byte("hi"), "6869", []byte("hi")},
		{Binary, "hi", "6869", []byte("hi")},
		{UTF8, "é", "c3a9", "é"},
		{JSON, map[string]any{"a": 1}, fmt.Sprintf("%x", `{"a":1}`), map[string]any{"a": 1.0}},
		{JSON, "<&>", fmt.Sprintf("%x", `"<&>"`), "<&>"},
	} {
		b, err := tc.enc.Encode(tc.in)
		if err != nil || fmt.Sprintf("%x", b) != tc.bytes {
			t.Errorf("%s.Encode(%v) = %x, %v, want %s", tc.enc.Name(), tc.in, b, err, tc.bytes)
			continue
		}
		v, err := tc.enc.Decode(b)
		if err != nil || !reflect.DeepEqual(v, tc.out) {
			t.Errorf("%s.Decode(%x) = %#v, %v, want %#v", tc.enc.Name(), b, v, err, tc.out)
		}
	}
	// JS c.buffer throws "Out of bounds" on a length past the bytes, and
	// ignores bytes after the buffer.
	if v, err := Buffer.Decode([]byte{5, 1}); !errors.Is(err, compact.ErrTruncated) {
		t.Errorf("Buffer.Decode(0501) = %x, %v, want compact.ErrTruncated", v, err)
	}
	if v, err := Buffer.Decode([]byte{1, 7, 8}); err != nil || !bytes.Equal(v.([]byte), []byte{7}) {
		t.Errorf("Buffer.Decode(010708) = %x, %v, want 07", v, err)
	}
	// Invalid UTF-8 is replaced as JS's decoder replaces it.
	if v, _ := UTF8.Decode([]byte{'a', 0xff, 0xff, 0xe2, 0x82, 'b'}); v != "a\ufffd\ufffd\ufffdb" {
		t.Errorf("UTF8.Decode(a ff ff e2 82 b) = %q", v)
	}
	if _, err := JSON.Decode([]byte("{")); err == nil {
		t.Error("JSON.Decode({) succeeded")
	}
	for _, enc := range []Encoding{Buffer, Binary, UTF8} {
		if _, err := enc.Encode(42); err == nil {
			t.Errorf("%s.Encode(42) succeeded", enc.Name())
		}
	}
}

// TestEncodingRoundTrip: Decode(Encode(b)) = b for any bytes (Buffer,
// Binary) and any valid string (UTF8).
func TestEncodingRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOf(rapid.Byte()).Draw(t, "b")
		for _, enc := range []Encoding{Buffer, Binary} {
			e, err := enc.Encode(b)
			if err != nil {
				t.Fatal(err)
			}
			v, err := enc.Decode(e)
			if err != nil || !bytes.Equal(v.([]byte), b) {
				t.Fatalf("%s: Decode(Encode(%x)) = %x, %v", enc.Name(), b, v, err)
			}
		}
		s := rapid.String().Draw(t, "s")
		e, _ := UTF8.Encode(s)
		if v, err := UTF8.Decode(e); err != nil || v != s {
			t.Fatalf("UTF8: Decode(Encode(%q)) = %q, %v", s, v, err)
		}
	})
}

// TestExtensionNames: whatever sequence of non-empty names a sender sends,
// the receiver resolves the same sequence from the wire names ("" for a
// repeat), and a repeat is always sent as "".
func TestExtensionNames(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		names := rapid.SliceOf(rapid.SampledFrom([]string{"a", "b", "json", "é"})).Draw(t, "names")
		var sent, recv string
		prev := ""
		for i, n := range names {
			w := wireName(&sent, n)
			if (w == "") != (n == prev) {
				t.Fatalf("message %d: wireName(%q after %q) = %q", i, n, prev, w)
			}
			if got := messageName(&recv, w); got != n {
				t.Fatalf("message %d: sent %q as %q, resolved as %q", i, n, w, got)
			}
			prev = n
		}
	})
}

// extPair connects two cores and returns each side's peer (as seen by a
// and by b) once both channels are open.
func extPair(t *testing.T, a, b *Core, trace func(sent bool, m wire.Message)) (pa, pb *Peer) {
	t.Helper()
	connectOpts(t, a, b, &ReplicateOptions{Trace: trace}, &ReplicateOptions{Trace: trace})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if as, bs := a.Peers(), b.Peers(); len(as) == 1 && len(bs) == 1 {
			return as[0], bs[0]
		}
		if time.Now().After(deadline) {
			t.Fatal("the cores did not connect")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type received struct {
	name string
	msg  any
	from *Peer
}

func recorder(ch chan received, name string, enc Encoding) ExtensionHandler {
	return ExtensionHandler{Encoding: enc, OnMessage: func(msg any, from *Peer) { ch <- received{name, msg, from} }}
}

func next(t *testing.T, ch chan received) received {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no extension message")
	}
	return received{}
}

// TestExtensionsGoGo: two Go cores send, broadcast and answer extension
// messages by name; names the receiver has not registered are ignored;
// a repeated name goes out as ""; handlers run in order, without the
// core's lock (they may Send); Destroy stops both directions.
func TestExtensionsGoGo(t *testing.T) {
	w := newWriter(t, nil)
	appendN(t, w, 3, fork0)
	r := newClone(t, w.Key())
	var mu sync.Mutex
	var wireNames []string
	trace := func(sent bool, m wire.Message) {
		if x, ok := m.(*wire.Extension); ok && sent {
			mu.Lock()
			wireNames = append(wireNames, x.Name)
			mu.Unlock()
		}
	}
	got := make(chan received, 100)  // what w receives
	gotR := make(chan received, 100) // what r receives
	// r answers each "ping" with a "pong" from inside its handler.
	var pong *Extension
	ping, err := r.RegisterExtension("ping", ExtensionHandler{Encoding: UTF8, OnMessage: func(msg any, from *Peer) {
		gotR <- received{"ping", msg, from}
		if err := pong.Send(from, "pong "+msg.(string)); err != nil {
			t.Errorf("Send from a handler = %v", err)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	pong, _ = r.RegisterExtension("pong", ExtensionHandler{})
	wping, _ := w.RegisterExtension("ping", ExtensionHandler{Encoding: UTF8})
	wpong, _ := w.RegisterExtension("pong", recorder(got, "pong", nil))
	wonly, _ := w.RegisterExtension("w-only", recorder(got, "w-only", nil))
	if names := w.Extensions(); !reflect.DeepEqual(names, []string{"ping", "pong", "w-only"}) {
		t.Errorf("Extensions() = %q", names)
	}
	pw, pr := extPair(t, r, w, trace) // pw: w as r's peer; pr: r as w's peer
	if k := pw.RemotePublicKey(); k == ([32]byte{}) {
		t.Error("RemotePublicKey() is zero")
	}

	for i := 0; i < 50; i++ {
		if err := wping.Send(pr, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		m := next(t, gotR)
		if m.name != "ping" || m.msg != fmt.Sprint(i) || m.from != pw {
			t.Fatalf("r received %+v, want ping %d from w", m, i)
		}
		m = next(t, got)
		if m.name != "pong" || string(m.msg.([]byte)) != fmt.Sprintf("pong %d", i) || m.from != pr {
			t.Fatalf("w received %+v, want pong %d from r", m, i)
		}
	}
	// r has no "w-only": w's message is dropped there; r's has no handler
	// for w's "w-only" either way. A message by a name w registered later
	// than r sent it is dropped too (nothing is buffered by name).
	if err := wonly.Send(pr, []byte("dropped")); err != nil {
		t.Fatal(err)
	}
	rlate, _ := r.RegisterExtension("late", ExtensionHandler{})
	if _, err := rlate.Broadcast([]byte("before w registers")); err != nil {
		t.Fatal(err)
	}
	if n, err := ping.Broadcast("from r"); err != nil || n != 1 {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	// w's ping has no OnMessage: dropped undecoded. Then pong by name.
	if err := pong.Send(pw, []byte("direct")); err != nil {
		t.Fatal(err)
	}
	if m := next(t, got); m.name != "pong" || string(m.msg.([]byte)) != "direct" {
		t.Fatalf("w received %+v, want pong direct", m)
	}
	select {
	case m := <-got:
		t.Fatalf("unexpected %+v", m)
	case <-time.After(100 * time.Millisecond):
	}
	mu.Lock()
	// r sent: pong ×50 (the first named, then ""), late, ping, pong; w
	// sent: ping ×50, w-only.
	var named, empty int
	for _, n := range wireNames {
		if n == "" {
			empty++
		} else {
			named++
		}
	}
	mu.Unlock()
	if named != 6 || empty != 98 {
		t.Errorf("wire names: %d named, %d empty, want 6 and 98", named, empty)
	}

	// Destroy: Send fails; messages for the name are ignored.
	wpong.Destroy()
	if err := wpong.Send(pr, []byte("x")); !errors.Is(err, ErrExtensionDestroyed) {
		t.Errorf("Send after Destroy = %v, want ErrExtensionDestroyed", err)
	}
	if _, err := wpong.Broadcast([]byte("x")); !errors.Is(err, ErrExtensionDestroyed) {
		t.Errorf("Broadcast after Destroy = %v, want ErrExtensionDestroyed", err)
	}
	if err := pong.Send(pw, []byte("to nobody")); err != nil {
		t.Fatal(err)
	}
	// A barrier: once w has "sync", it has read (and ignored) "to nobody".
	w.RegisterExtension("sync", recorder(got, "sync", nil))
	rsync, _ := r.RegisterExtension("sync", ExtensionHandler{})
	if err := rsync.Send(pw, []byte{}); err != nil {
		t.Fatal(err)
	}
	if m := next(t, got); m.name != "sync" {
		t.Fatalf("w received %+v, want sync (the destroyed pong delivered?)", m)
	}
	// Registering the name again brings it back, with the new handler.
	again, _ := w.RegisterExtension("pong", recorder(got, "pong again", Binary))
	if err := pong.Send(pw, []byte("back")); err != nil {
		t.Fatal(err)
	}
	if m := next(t, got); m.name != "pong again" || string(m.msg.([]byte)) != "\x04back" {
		t.Fatalf("w received %+v, want pong again 04 back (Binary keeps the length prefix)", m)
	}
	if again2, _ := w.RegisterExtension("pong", ExtensionHandler{}); again2 != again {
		t.Error("RegisterExtension of a registered name returned another extension")
	}

	// Errors of Send.
	other := newWriter(t, &CreateOptions{KeyPair: testKeyPair(2)})
	oext, _ := other.RegisterExtension("ping", ExtensionHandler{})
	if err := oext.Send(pr, []byte("x")); !errors.Is(err, ErrNotPeer) {
		t.Errorf("Send to another core's peer = %v, want ErrNotPeer", err)
	}
	if err := wping.Send(nil, "x"); !errors.Is(err, ErrNotPeer) {
		t.Errorf("Send(nil) = %v, want ErrNotPeer", err)
	}
	if err := wping.Send(pr, 42); err == nil {
		t.Error("Send of a value the encoding cannot encode succeeded")
	}
	if _, err := w.RegisterExtension(strings.Repeat("x", MaxExtensionName+1), ExtensionHandler{}); !errors.Is(err, ErrExtensionTooBig) {
		t.Errorf("RegisterExtension(long name) = %v, want ErrExtensionTooBig", err)
	}
	if err := wping.Send(pr, strings.Repeat("x", MaxExtensionMessage+1)); !errors.Is(err, ErrExtensionTooBig) {
		t.Errorf("Send(long message) = %v, want ErrExtensionTooBig", err)
	}
}

// TestExtensionDecodeError: a message the encoding cannot decode goes to
// OnError with its peer and is dropped; the next one is delivered.
func TestExtensionDecodeError(t *testing.T) {
	w := newWriter(t, nil)
	r := newClone(t, w.Key())
	got := make(chan received, 10)
	errs := make(chan error, 10)
	h := recorder(got, "json", JSON)
	h.OnError = func(err error, from *Peer) { errs <- err }
	if _, err := r.RegisterExtension("json", h); err != nil {
		t.Fatal(err)
	}
	raw, _ := w.RegisterExtension("json", ExtensionHandler{Encoding: Binary})
	_, pr := extPair(t, r, w, nil)
	if err := raw.Send(pr, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if err := raw.Send(pr, []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), `extension "json"`) {
			t.Errorf("OnError(%v) does not name the extension", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no OnError")
	}
	if m := next(t, got); !reflect.DeepEqual(m.msg, map[string]any{"ok": true}) {
		t.Fatalf("received %+v after the bad message", m)
	}
}

// TestExtensionAfterClose: Send to a peer whose connection ended fails
// with ErrNotPeer, and Broadcast reaches no one.
func TestExtensionAfterClose(t *testing.T) {
	w := newWriter(t, nil)
	r := newClone(t, w.Key())
	ext, _ := w.RegisterExtension("x", ExtensionHandler{})
	ca, cb := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { r.Replicate(ctx, ca, &ReplicateOptions{Initiator: true}); done <- struct{}{} }()
	go func() { w.Replicate(ctx, cb, &ReplicateOptions{}); done <- struct{}{} }()
	var p *Peer
	for p == nil {
		if ps := w.Peers(); len(ps) > 0 {
			p = ps[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	ca.Close()
	cb.Close()
	<-done
	<-done
	if err := ext.Send(p, []byte("x")); !errors.Is(err, ErrNotPeer) {
		t.Errorf("Send to a gone peer = %v, want ErrNotPeer", err)
	}
	if n, err := ext.Broadcast([]byte("x")); n != 0 || err != nil {
		t.Errorf("Broadcast with no peers = %d, %v", n, err)
	}
}

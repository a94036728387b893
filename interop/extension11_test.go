package interop

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	core11 "github.com/hypercore-go/hypercore/v11/core"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// The Hypercore 11 extension interop tests: a Go v11 core and a JS
// Hypercore 11 core (interop/js11/peers/extension.js) exchange extension
// messages by name over TCP, either side dialling, each side the writer
// or the clone: Send and Broadcast both ways in JS's default encoding
// (c.buffer), binary, utf-8 and json; the "" name for a repeated name both
// ways; names one side has not registered ignored; Destroy.

// ext11Message is one message a Go extension handler received.
type ext11Message struct {
	name string
	msg  any
	from *core11.Peer
}

// ext11Recorder collects the messages of Go extension handlers.
type ext11Recorder struct {
	ch chan ext11Message
}

func newExt11Recorder() *ext11Recorder { return &ext11Recorder{ch: make(chan ext11Message, 100)} }

func (r *ext11Recorder) handler(name string, enc core11.Encoding) core11.ExtensionHandler {
	return core11.ExtensionHandler{Encoding: enc, OnMessage: func(msg any, from *core11.Peer) {
		r.ch <- ext11Message{name, msg, from}
	}}
}

func (r *ext11Recorder) next(t *testing.T) ext11Message {
	t.Helper()
	select {
	case m := <-r.ch:
		return m
	case <-time.After(jsWait):
		t.Fatal("no extension message within the wait")
	}
	return ext11Message{}
}

// none checks that no message arrives for a while.
func (r *ext11Recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-r.ch:
		t.Fatalf("unexpected extension message %+v", m)
	case <-time.After(d):
	}
}

func TestExtension11(t *testing.T) {
	for _, goWriter := range []bool{true, false} {
		for _, goDials := range []bool{true, false} {
			t.Run(fmt.Sprintf("goWriter=%v/goDials=%v", goWriter, goDials), func(t *testing.T) {
				testExtension11(t, goWriter, goDials)
			})
		}
	}
}

func testExtension11(t *testing.T, goWriter, goDials bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*jsWait)
	defer cancel()
	var (
		c    *core11.Core
		err  error
		conn net.Conn
		js   *js11Core
	)
	if goWriter {
		c, err = core11.Create(storage.NewMemory(), &core11.CreateOptions{KeyPair: ed25519Key(channel11Seed)})
		if err != nil {
			t.Fatal(err)
		}
		key := c.Key()
		conn, js = startJS11Script(t, ctx, goDials, "peers/extension.js", "clone", hex.EncodeToString(key[:]))
		js.expect("core")
	} else {
		conn, js = startJS11Script(t, ctx, goDials, "peers/extension.js", "writer", hex.EncodeToString(channel11Seed))
		key := mustKey(t, js.expect("core").str("key"))
		c, err = core11.Open(storage.NewMemory(), &core11.OpenOptions{Key: &key})
		if err != nil {
			t.Fatal(err)
		}
	}
	defer c.Close()

	// Every extension message the Go side receives, as it came on the wire.
	var (
		mu       sync.Mutex
		received []string
	)
	trace := func(sent bool, m wire.Message) {
		if x, ok := m.(*wire.Extension); ok && !sent {
			mu.Lock()
			received = append(received, x.Name)
			mu.Unlock()
		}
	}
	rec := newExt11Recorder()
	echo, err := c.RegisterExtension("echo", rec.handler("echo", nil))
	if err != nil {
		t.Fatal(err)
	}
	js1, _ := c.RegisterExtension("json", rec.handler("json", core11.JSON))
	text, _ := c.RegisterExtension("text", rec.handler("text", core11.UTF8))
	raw, _ := c.RegisterExtension("raw", rec.handler("raw", core11.Binary))
	goOnly, _ := c.RegisterExtension("go-only", rec.handler("go-only", nil))

	for _, cmd := range []map[string]any{
		{"register": "echo", "echo": true},
		{"register": "json", "encoding": "json"},
		{"register": "text", "encoding": "utf-8", "echo": true},
		{"register": "raw", "encoding": "binary", "echo": true},
	} {
		js.cmd(cmd)
		js.expect("registered")
	}

	done := make(chan error, 1)
	go func() {
		done <- c.Replicate(ctx, conn, &core11.ReplicateOptions{Initiator: goDials, Trace: trace})
	}()
	defer func() {
		conn.Close()
		<-done
	}()
	js.expect("peer")
	var peer *core11.Peer
	for deadline := time.Now().Add(jsWait); peer == nil; time.Sleep(10 * time.Millisecond) {
		if ps := c.Peers(); len(ps) > 0 {
			peer = ps[0]
		}
		if time.Now().After(deadline) {
			t.Fatal("the Go core has no peer")
		}
	}

	// Go → JS → Go: the default encoding (c.buffer), echoed back with
	// ext.send to the peer it came from. The second message to the same
	// extension goes out named "".
	for _, s := range []string{"hello", ""} {
		if err := echo.Send(peer, []byte(s)); err != nil {
			t.Fatal(err)
		}
		e := js.expect("message")
		if e.str("name") != "echo" || e.str("value") != hex.EncodeToString([]byte(s)) {
			t.Fatalf("JS received %v, want echo %q", e, s)
		}
		m := rec.next(t)
		if m.name != "echo" || string(m.msg.([]byte)) != s || m.from != peer {
			t.Fatalf("Go received %+v, want the echo of %q from its peer", m, s)
		}
	}
	// utf-8 and binary, echoed.
	if err := text.Send(peer, "héllo ✓"); err != nil {
		t.Fatal(err)
	}
	if e := js.expect("message"); e.str("value") != "héllo ✓" {
		t.Fatalf("JS received %v, want text héllo ✓", e)
	}
	if m := rec.next(t); m.name != "text" || m.msg != "héllo ✓" {
		t.Fatalf("Go received %+v, want text héllo ✓", m)
	}
	if n, err := raw.Broadcast([]byte{0, 1, 2, 0xff}); err != nil || n != 1 {
		t.Fatalf("Broadcast = %d, %v, want 1 peer", n, err)
	}
	if e := js.expect("message"); e.str("name") != "raw" || e.str("value") != "000102ff" {
		t.Fatalf("JS received %v, want raw 000102ff", e)
	}
	if m := rec.next(t); m.name != "raw" || hex.EncodeToString(m.msg.([]byte)) != "000102ff" {
		t.Fatalf("Go received %+v, want raw 000102ff", m)
	}

	// A name JS has not registered is ignored there; the next message, by
	// name, is not mistaken for it.
	if err := goOnly.Send(peer, []byte("nobody")); err != nil {
		t.Fatal(err)
	}
	if err := js1.Send(peer, map[string]any{"a": 1, "b": []any{"x", true}}); err != nil {
		t.Fatal(err)
	}
	e := js.expect("message")
	if e.str("name") != "json" || !reflect.DeepEqual(e["value"], map[string]any{"a": 1.0, "b": []any{"x", true}}) {
		t.Fatalf("JS received %v, want json {a:1,b:[x,true]}", e)
	}

	// JS → Go: send, then broadcast on the same name (named "" on the
	// wire), then a name Go has not registered, then json again by name.
	js.cmd(map[string]any{"send": "json", "message": map[string]any{"n": 1}})
	js.expect("sent")
	js.cmd(map[string]any{"broadcast": "json", "message": []any{"two", 2}})
	js.expect("sent")
	goOnly.Destroy()
	if err := goOnly.Send(peer, []byte("x")); err != core11.ErrExtensionDestroyed {
		t.Errorf("Send after Destroy = %v, want ErrExtensionDestroyed", err)
	}
	js.cmd(map[string]any{"register": "js-only", "encoding": "json"})
	js.expect("registered")
	js.cmd(map[string]any{"send": "js-only", "message": "ignored"})
	js.expect("sent")
	js.cmd(map[string]any{"send": "json", "message": "last"})
	js.expect("sent")
	for _, want := range []any{map[string]any{"n": 1.0}, []any{"two", 2.0}, "last"} {
		m := rec.next(t)
		if m.name != "json" || !reflect.DeepEqual(m.msg, want) || m.from != peer {
			t.Fatalf("Go received %+v, want json %v", m, want)
		}
	}
	rec.none(t, 200*time.Millisecond)
	mu.Lock()
	got := append([]string(nil), received...)
	mu.Unlock()
	// The wire names of what Go received: the echoes (echo, "", text, raw),
	// then json, "" (the broadcast), js-only, json.
	want := []string{"echo", "", "text", "raw", "json", "", "js-only", "json"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("extension names received on the wire = %q, want %q", got, want)
	}
}

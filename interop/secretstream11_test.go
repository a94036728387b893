package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/internal/jsref"
	"github.com/hypercore-go/hypercore/v11/secretstream"
)

// ss11Conn counts the bytes read through a connection.
type ss11Conn struct {
	net.Conn
	n atomic.Int64
}

func (c *ss11Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// ss11Reader reads a Conn's messages on one goroutine, so a test can wait
// for the next one with a timeout, or check that none arrives.
type ss11Reader struct {
	msgs chan []byte
	err  chan error
}

func ss11Read(c *secretstream.Conn) *ss11Reader {
	r := &ss11Reader{msgs: make(chan []byte, 16), err: make(chan error, 1)}
	go func() {
		for {
			m, err := c.ReadMessage()
			if err != nil {
				r.err <- err
				return
			}
			r.msgs <- m
		}
	}()
	return r
}

func (r *ss11Reader) next(t *testing.T, what string) []byte {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case err := <-r.err:
		t.Fatalf("%s: ReadMessage: %v", what, err)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: nothing from JS within 20 s", what)
	}
	return nil
}

type ss11Stats struct {
	RawBytesRead int64 `json:"rawBytesRead"`
	Received     int64 `json:"received"`
}

func (r *ss11Reader) stats(t *testing.T, c *secretstream.Conn) ss11Stats {
	t.Helper()
	if err := c.WriteMessage([]byte("cmd:stats")); err != nil {
		t.Fatal(err)
	}
	var s ss11Stats
	if m := r.next(t, "stats"); json.Unmarshal(m, &s) != nil {
		t.Fatalf("stats answer %q", m)
	}
	return s
}

// TestSecretStream11 runs a Go secretstream.Conn against JS's
// NoiseSecretStream (@hyperswarm/secret-stream 6.9.2) over TCP, in both
// roles, ending once from each side: the handshake (the same handshake hash
// and keys on both sides), a message each way and an echo, keep-alives
// both ways over 1.5 idle seconds (JS keepAlive 200 ms against Go
// ReadTimeout 700 ms; Go KeepAlive 100 ms against JS setTimeout 700 ms),
// a 4 MiB message each way (JS echoes it), and the close.
func TestSecretStream11(t *testing.T) {
	env := jsref.Require11(t)
	for _, goInit := range []bool{true, false} {
		for _, closer := range []string{"Go", "JS"} {
			name := fmt.Sprintf("%s/%s closes", map[bool]string{true: "GoInitiator", false: "GoResponder"}[goInit], closer)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				secretStream11(t, env, goInit, closer)
			})
		}
	}
}

func secretStream11(t *testing.T, env *jsref.Env, goInit bool, closer string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*jsWait)
	defer cancel()
	jsRole := map[bool]string{true: "responder", false: "initiator"}[goInit]
	raw, p := connect(t, goInit, func(addr string) *jsPeer {
		return watchJS(t, env.Start(ctx, t, "peers/secretstream.js", jsRole, addr, "200", "700"))
	})
	counted := &ss11Conn{Conn: raw}
	c, err := secretstream.Handshake(ctx, counted, secretstream.Config{
		Initiator:    goInit,
		KeepAlive:    100 * time.Millisecond,
		ReadTimeout:  700 * time.Millisecond,
		WriteTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatalf("Handshake with JS: %v; JS stderr:\n%s", err, p.proc.Stderr())
	}
	defer c.Close()
	e := p.waitFor("handshake", jsWait)
	if got := hex.EncodeToString(c.HandshakeHash()); e.str("handshakeHash") != got {
		t.Fatalf("handshake hash: JS %s, Go %s", e.str("handshakeHash"), got)
	}
	if e.str("publicKey") != hex.EncodeToString(c.RemotePublicKey()) || e.str("remotePublicKey") != hex.EncodeToString(c.PublicKey()) {
		t.Fatalf("keys: JS has %s and sees %s; Go has %x and sees %x", e.str("publicKey"), e.str("remotePublicKey"), c.PublicKey(), c.RemotePublicKey())
	}
	r := ss11Read(c)

	// A message each way, and an echo.
	if m := r.next(t, "greeting"); string(m) != "hello from js" {
		t.Fatalf("first message from JS %q", m)
	}
	if err := c.WriteMessage([]byte("hello from go")); err != nil {
		t.Fatal(err)
	}
	if m := r.next(t, "echo"); string(m) != "hello from go" {
		t.Fatalf("echo %q", m)
	}

	// Keep-alives both ways: 1.5 s with nothing to read. JS sends empty
	// messages every 200 ms (Go skips them; without them Go's 700 ms read
	// timeout would end the stream) and Go every 100 ms (JS drops them;
	// without them JS's 700 ms timeout would end the stream).
	before := r.stats(t, c)
	bytesBefore := counted.n.Load()
	select {
	case m := <-r.msgs:
		t.Fatalf("ReadMessage returned %q while JS was idle", m)
	case err := <-r.err:
		t.Fatalf("ReadMessage while JS was idle: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	jsKeepAlives := (counted.n.Load() - bytesBefore) / 20 // u24le(17) ‖ 17 bytes each
	after := r.stats(t, c)
	goKeepAlives := (after.RawBytesRead - before.RawBytesRead - int64(len("cmd:stats")+secretstream.ABytes)) / secretstream.ABytes
	if after.Received != before.Received+1 {
		t.Fatalf("JS delivered %d messages while Go sent only keep-alives and one command", after.Received-before.Received)
	}
	if jsKeepAlives < 3 || goKeepAlives < 5 {
		t.Fatalf("keep-alives in 1.5 s: %d from JS, %d from Go", jsKeepAlives, goKeepAlives)
	}

	// 4 MiB each way: Go sends it, JS echoes it.
	big := make([]byte, 4<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>13)
	}
	start := time.Now()
	if err := c.WriteMessage(big); err != nil {
		t.Fatal(err)
	}
	if m := r.next(t, "4 MiB echo"); !bytes.Equal(m, big) {
		t.Fatalf("4 MiB echo: %d bytes, not the same", len(m))
	}
	bigTime := time.Since(start)

	// Close.
	if closer == "Go" {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := c.WriteMessage([]byte("cmd:end")); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-r.err:
			if !errors.Is(err, io.EOF) {
				t.Fatalf("after JS ended: ReadMessage = %v, want io.EOF", err)
			}
		case m := <-r.msgs:
			t.Fatalf("after JS ended: message %q", m)
		case <-time.After(20 * time.Second):
			t.Fatal("JS's end did not arrive")
		}
		c.Close()
	}
	p.waitFor("close", 20*time.Second)
	if err := p.proc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("handshake hash %x…; %d keep-alives from JS and %d from Go in 1.5 s idle; 4 MiB each way in %v; %s closed",
		c.HandshakeHash()[:8], jsKeepAlives, goKeepAlives, bigTime.Round(time.Millisecond), closer)
}

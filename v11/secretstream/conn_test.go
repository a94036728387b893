package secretstream

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/vectors"
)

// transports are the two connections the Conn tests run over.
var transports = []struct {
	name string
	pair func(t *testing.T) (net.Conn, net.Conn)
}{
	{"pipe", func(t *testing.T) (net.Conn, net.Conn) { a, b := net.Pipe(); return a, b }},
	{"tcp", tcpPair},
}

// tcpPair returns the two ends of a TCP connection on 127.0.0.1.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acc <- nil
			return
		}
		acc <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-acc
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// handshakePair runs both handshakes at once over a and b (a initiates).
func handshakePair(t *testing.T, a, b net.Conn, ca, cb Config) (*Conn, *Conn) {
	t.Helper()
	ca.Initiator, cb.Initiator = true, false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type res struct {
		c   *Conn
		err error
	}
	rb := make(chan res, 1)
	go func() {
		c, err := Handshake(ctx, b, cb)
		rb <- res{c, err}
	}()
	x, err := Handshake(ctx, a, ca)
	y := <-rb
	if err != nil || y.err != nil {
		t.Fatalf("Handshake: initiator %v, responder %v", err, y.err)
	}
	t.Cleanup(func() { x.Close(); y.c.Close() })
	return x, y.c
}

func forTransports(t *testing.T, f func(t *testing.T, pair func(t *testing.T) (net.Conn, net.Conn))) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) { f(t, tr.pair) })
	}
}

// TestConnVectors replays each JS stream of noise.json through a Conn in
// each role: the Go side gets the vector's key pair and randomness, a
// scripted peer sends the JS side's frames and checks every byte the Go
// side writes (handshake messages, setup frame, message frames), and the
// Go side must read the JS messages.
func TestConnVectors(t *testing.T) {
	v := loadNoise(t)
	for _, g := range v.Handshakes {
		for _, c := range g.Tests {
			for _, goInit := range []bool{true, false} {
				name := c.Name(noiseFile) + map[bool]string{true: " (Go initiator)", false: " (Go responder)"}[goInit]
				t.Run(name, func(t *testing.T) { replayStream(t, c, goInit) })
			}
		}
	}
}

func replayStream(t *testing.T, c vectors.NoiseHandshakeTest, goInit bool) {
	me, peer := c.Responder, c.Initiator
	if goInit {
		me, peer = c.Initiator, c.Responder
	}
	frame := func(b []byte) []byte { return appendFrame(nil, b) }
	// what the Go side must write, and what the peer sends, in order
	var want, send [][]byte
	msgs := c.Handshake
	if goInit {
		want = [][]byte{frame(msgs[0].Message), frame(msgs[2].Message), frame(me.Setup)}
		send = [][]byte{frame(msgs[1].Message), frame(peer.Setup)}
	} else {
		want = [][]byte{frame(msgs[1].Message), frame(me.Setup)}
		send = [][]byte{frame(msgs[0].Message), frame(msgs[2].Message), frame(peer.Setup)}
	}
	for _, m := range me.Messages {
		want = append(want, m.Frame)
	}
	for _, m := range peer.Messages {
		send = append(send, m.Frame)
	}

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	script := make(chan error, 1)
	go func() {
		// The peer alternates as the handshake requires, then writes its
		// setup and messages while reading the Go side's.
		readWant := func(w []byte) error {
			got := make([]byte, len(w))
			if _, err := io.ReadFull(b, got); err != nil {
				return err
			}
			if !bytes.Equal(got, w) {
				return fmt.Errorf("Go wrote %x, want %x", got, w)
			}
			return nil
		}
		var err error
		if goInit {
			err = errors.Join(readWant(want[0]), write(b, send[0]), readWant(want[1]), readWant(want[2]))
			want, send = want[3:], send[1:]
		} else {
			err = errors.Join(write(b, send[0]), readWant(want[0]), write(b, send[1]), readWant(want[1]))
			want, send = want[2:], send[2:]
		}
		if err != nil {
			script <- err
			return
		}
		go func() {
			for _, s := range send {
				if err := write(b, s); err != nil {
					return
				}
			}
		}()
		for _, w := range want {
			if err := readWant(w); err != nil {
				script <- err
				return
			}
		}
		script <- nil
	}()

	random := bytes.NewReader(append(append([]byte{}, me.EphemeralSeed...), me.Header...))
	conn, err := Handshake(context.Background(), a, Config{
		Initiator: goInit,
		KeyPair:   ed25519.NewKeyFromSeed(me.StaticSeed),
		Rand:      random,
	})
	if err != nil {
		t.Fatal(err)
	}
	if random.Len() != 0 {
		t.Fatalf("%d bytes of randomness left", random.Len())
	}
	checkHex(t, "HandshakeHash", conn.HandshakeHash(), c.HandshakeHash)
	checkHex(t, "PublicKey", conn.PublicKey(), me.PublicKey)
	checkHex(t, "RemotePublicKey", conn.RemotePublicKey(), me.RemotePublicKey)
	if conn.IsInitiator() != goInit {
		t.Fatalf("IsInitiator() = %v", conn.IsInitiator())
	}
	for _, m := range me.Messages {
		if err := conn.WriteMessage(m.Plaintext); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range peer.Messages {
		if len(m.Plaintext) == 0 {
			continue // a keep-alive: skipped
		}
		got, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		checkHex(t, "ReadMessage", got, m.Plaintext)
	}
	if err := <-script; err != nil {
		t.Fatal(err)
	}
}

func write(c net.Conn, b []byte) error {
	_, err := c.Write(b)
	return err
}

// TestConnExchange: data both ways, a 4 MiB message each way at the same
// time, the keys and the handshake hash agree.
func TestConnExchange(t *testing.T) {
	forTransports(t, func(t *testing.T, pair func(t *testing.T) (net.Conn, net.Conn)) {
		a, b := pair(t)
		x, y := handshakePair(t, a, b, Config{}, Config{})
		if !bytes.Equal(x.HandshakeHash(), y.HandshakeHash()) || len(x.HandshakeHash()) != HandshakeHashSize {
			t.Fatalf("handshake hashes %x, %x", x.HandshakeHash(), y.HandshakeHash())
		}
		if !bytes.Equal(x.PublicKey(), y.RemotePublicKey()) || !bytes.Equal(y.PublicKey(), x.RemotePublicKey()) {
			t.Fatal("public keys do not match remote public keys")
		}
		if !x.IsInitiator() || y.IsInitiator() {
			t.Fatal("IsInitiator")
		}
		big := make([]byte, 4<<20)
		for i := range big {
			big[i] = byte(i * 7)
		}
		msgs := [][]byte{[]byte("hello"), {0}, bytes.Repeat([]byte{1}, 70000), big}
		for _, dir := range []struct {
			name string
			w, r *Conn
		}{{"initiator to responder", x, y}, {"responder to initiator", y, x}} {
			errc := make(chan error, 1)
			go func() {
				for _, m := range msgs {
					if err := dir.w.WriteMessage(m); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for i, m := range msgs {
				got, err := dir.r.ReadMessage()
				if err != nil {
					t.Fatalf("%s: message %d: %v", dir.name, i, err)
				}
				if !bytes.Equal(got, m) {
					t.Fatalf("%s: message %d: %d bytes, want %d", dir.name, i, len(got), len(m))
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		// both at once: each side writes 4 MiB while the other does
		errc := make(chan error, 2)
		for _, c := range []*Conn{x, y} {
			go func() { errc <- c.WriteMessage(big) }()
		}
		for _, c := range []*Conn{x, y} {
			got, err := c.ReadMessage()
			if err != nil || !bytes.Equal(got, big) {
				t.Fatalf("4 MiB at once: %d bytes, %v", len(got), err)
			}
		}
		for range 2 {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestConnConcurrentWriters: eight goroutines write at once; every message
// arrives whole.
func TestConnConcurrentWriters(t *testing.T) {
	a, b := tcpPair(t)
	x, y := handshakePair(t, a, b, Config{}, Config{})
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := x.WriteMessage([]byte(fmt.Sprintf("%d/%d %s", w, i, bytes.Repeat([]byte{'x'}, i*37)))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var got []string
	for range writers * each {
		m, err := y.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m))
	}
	wg.Wait()
	var want []string
	for w := range writers {
		for i := range each {
			want = append(want, fmt.Sprintf("%d/%d %s", w, i, bytes.Repeat([]byte{'x'}, i*37)))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %q missing or changed", want[i][:8])
		}
	}
}

// countingConn counts the bytes read through it.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestConnKeepAlive: with KeepAlive 50 ms on one side and ReadTimeout
// 750 ms on the other (a wide margin: a loaded machine under -race can
// stall a goroutine for a few hundred milliseconds), two idle seconds pass:
// the keep-alives arrive (as bytes on the wire), ReadMessage skips them,
// and the stream survives.
func TestConnKeepAlive(t *testing.T) {
	forTransports(t, func(t *testing.T, pair func(t *testing.T) (net.Conn, net.Conn)) {
		a, b := pair(t)
		cb := &countingConn{Conn: b}
		x, y := handshakePair(t, a, cb, Config{KeepAlive: 50 * time.Millisecond}, Config{ReadTimeout: 750 * time.Millisecond})
		got := make(chan []byte, 1)
		errc := make(chan error, 1)
		go func() {
			m, err := y.ReadMessage()
			if err != nil {
				errc <- err
				return
			}
			got <- m
		}()
		start := cb.n.Load()
		time.Sleep(2 * time.Second)
		select {
		case err := <-errc:
			t.Fatalf("ReadMessage while idle: %v", err)
		case m := <-got:
			t.Fatalf("ReadMessage returned %q while idle", m)
		default:
		}
		// Each keep-alive is a 20-byte frame (u24le(17) ‖ 17 bytes); at
		// least a handful must have arrived.
		if n := cb.n.Load() - start; n < 5*20 {
			t.Fatalf("%d bytes arrived while idle, want keep-alives", n)
		}
		if err := x.WriteMessage([]byte("after")); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if string(m) != "after" {
				t.Fatalf("ReadMessage = %q", m)
			}
		case err := <-errc:
			t.Fatal(err)
		case <-time.After(5 * time.Second):
			t.Fatal("message after the keep-alives did not arrive")
		}
	})
}

// TestConnReadTimeout: a silent peer trips ReadTimeout, which ends the
// stream.
func TestConnReadTimeout(t *testing.T) {
	forTransports(t, func(t *testing.T, pair func(t *testing.T) (net.Conn, net.Conn)) {
		a, b := pair(t)
		_, y := handshakePair(t, a, b, Config{}, Config{ReadTimeout: 100 * time.Millisecond})
		start := time.Now()
		_, err := y.ReadMessage()
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("ReadMessage = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
			t.Fatalf("ReadTimeout of 100 ms tripped after %v", d)
		}
		if _, err2 := y.ReadMessage(); !errors.Is(err2, ErrTimeout) {
			t.Fatalf("second ReadMessage = %v, want the same error", err2)
		}
		if err := y.WriteMessage([]byte("x")); err == nil {
			t.Fatal("WriteMessage after the stream ended succeeded")
		}
	})
}

// TestConnWriteTimeout: a peer that stops reading makes WriteMessage fail
// within WriteTimeout, and the stream is over.
func TestConnWriteTimeout(t *testing.T) {
	forTransports(t, func(t *testing.T, pair func(t *testing.T) (net.Conn, net.Conn)) {
		a, b := pair(t)
		const timeout = 200 * time.Millisecond
		x, _ := handshakePair(t, a, b, Config{WriteTimeout: timeout}, Config{})
		msg := make([]byte, 1<<20)
		start := time.Now()
		var err error
		for i := 0; i < 1000 && err == nil; i++ {
			t0 := time.Now()
			err = x.WriteMessage(msg)
			if d := time.Since(t0); d > timeout+2*time.Second {
				t.Fatalf("a write took %v with WriteTimeout %v", d, timeout)
			}
		}
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("WriteMessage to a peer that does not read = %v after %v, want ErrTimeout", err, time.Since(start))
		}
		if err2 := x.WriteMessage([]byte("x")); !errors.Is(err2, ErrTimeout) {
			t.Fatalf("the next WriteMessage = %v, want the same error", err2)
		}
	})
}

// TestConnClose: closing one side ends the other's reads with io.EOF; the
// closed side's calls return ErrClosed.
func TestConnClose(t *testing.T) {
	forTransports(t, func(t *testing.T, pair func(t *testing.T) (net.Conn, net.Conn)) {
		a, b := pair(t)
		x, y := handshakePair(t, a, b, Config{KeepAlive: 10 * time.Millisecond}, Config{})
		// One message each way first: a TCP socket closed with unread bytes
		// (here the responder's setup frame) is reset, not closed cleanly.
		for _, d := range []struct{ w, r *Conn }{{x, y}, {y, x}} {
			go d.w.WriteMessage([]byte("last"))
			if m, err := d.r.ReadMessage(); err != nil || string(m) != "last" {
				t.Fatalf("ReadMessage = %q, %v", m, err)
			}
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := y.ReadMessage(); !errors.Is(err, io.EOF) {
			t.Fatalf("ReadMessage after the remote closed = %v, want io.EOF", err)
		}
		if err := x.WriteMessage([]byte("x")); !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteMessage after Close = %v, want ErrClosed", err)
		}
		if _, err := x.ReadMessage(); !errors.Is(err, ErrClosed) {
			t.Fatalf("ReadMessage after Close = %v, want ErrClosed", err)
		}
		if err := x.Close(); !errors.Is(err, ErrClosed) {
			t.Fatalf("second Close = %v", err)
		}
	})
}

// TestWriteTooLarge: a message over MaxPlaintextSize is refused and the
// stream goes on; a received frame over MaxMessageSize ends the stream
// before its body is read.
func TestWriteTooLarge(t *testing.T) {
	a, b := tcpPair(t)
	x, y := handshakePair(t, a, b, Config{}, Config{MaxMessageSize: 1000})
	if err := x.WriteMessage(make([]byte, MaxPlaintextSize+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteMessage(MaxPlaintextSize+1) = %v, want ErrFrameTooLarge", err)
	}
	if err := x.WriteMessage(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if m, err := y.ReadMessage(); err != nil || len(m) != 1000 {
		t.Fatalf("ReadMessage = %d bytes, %v", len(m), err)
	}
	if err := x.WriteMessage(make([]byte, 1001)); err != nil {
		t.Fatal(err)
	}
	if _, err := y.ReadMessage(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadMessage of 1001 bytes with MaxMessageSize 1000 = %v, want ErrFrameTooLarge", err)
	}
}

// rawPeer plays one side of the protocol by hand, so a test can send what
// a Conn never would.
type rawPeer struct {
	t    *testing.T
	c    net.Conn
	init bool
	hs   *handshakeState
	res  handshakeResult
	push *Push
	msg3 []byte // the initiator's message 3, framed, not yet sent
}

func readRawFrame(c net.Conn) ([]byte, error) {
	var h [3]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return nil, err
	}
	b := make([]byte, int(h[0])|int(h[1])<<8|int(h[2])<<16)
	_, err := io.ReadFull(c, b)
	return b, err
}

// handshake runs the handshake up to the last message: a raw initiator
// keeps message 3 in msg3 for the test to send, a raw responder has read it.
func (p *rawPeer) handshake() {
	t := p.t
	var err error
	if p.hs, err = newHandshakeState(p.init, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32)), bytes.NewReader(bytes.Repeat([]byte{8}, 32))); err != nil {
		t.Error(err)
		return
	}
	step := func(send bool) {
		if send {
			m, err := p.hs.write()
			if err != nil {
				t.Error(err)
				return
			}
			if p.hs.done() {
				p.msg3 = appendFrame(nil, m)
				return
			}
			if err := write(p.c, appendFrame(nil, m)); err != nil {
				t.Error(err)
			}
			return
		}
		m, err := readRawFrame(p.c)
		if err != nil {
			t.Error(err)
			return
		}
		if err := p.hs.read(m); err != nil {
			t.Error(err)
		}
	}
	for _, w := range map[bool][]bool{true: {true, false, true}, false: {false, true, false}}[p.init] {
		step(w)
	}
	p.res = p.hs.result()
	var header [HeaderSize]byte
	p.push = NewPush(&p.res.tx, &header)
}

// setup returns this peer's honest setup frame (framed).
func (p *rawPeer) setup() []byte {
	id := StreamID(p.res.hash[:], p.init)
	return appendFrame(nil, append(id[:], make([]byte, HeaderSize)...))
}

// message returns the next message frame for plaintext.
func (p *rawPeer) message(plain []byte) []byte {
	return p.push.Seal(appendLength(nil, len(plain)+ABytes), plain, TagMessage)
}

// withRawPeer runs a Go Conn in the role goInit against a raw peer on a TCP
// connection; f gets the raw peer once its handshake is done (and the Go
// side's Handshake has returned, for a Go initiator).
func withRawPeer(t *testing.T, goInit bool, cfg Config, f func(p *rawPeer, conn func() *Conn)) {
	a, b := tcpPair(t)
	p := &rawPeer{t: t, c: b, init: !goInit}
	done := make(chan struct{})
	go func() { defer close(done); p.handshake() }()
	cfg.Initiator = goInit
	type res struct {
		c   *Conn
		err error
	}
	rc := make(chan res, 1)
	go func() {
		c, err := Handshake(context.Background(), a, cfg)
		rc <- res{c, err}
	}()
	<-done
	if t.Failed() {
		t.FailNow()
	}
	var once sync.Once
	var conn *Conn
	get := func() *Conn {
		once.Do(func() {
			r := <-rc
			if r.err != nil {
				t.Fatalf("Handshake: %v", r.err)
			}
			conn = r.c
			t.Cleanup(func() { conn.Close() })
		})
		return conn
	}
	f(p, get)
}

// TestConnSetupFrames: a setup frame of 55 or 57 bytes, or with the wrong
// stream id, ends the stream with ErrBadSetup.
func TestConnSetupFrames(t *testing.T) {
	for _, goInit := range []bool{true, false} {
		for _, tc := range []struct {
			name  string
			frame func(p *rawPeer) []byte
		}{
			{"55 bytes", func(p *rawPeer) []byte { s := p.setup(); s[0]--; return s[:len(s)-1] }},
			{"57 bytes", func(p *rawPeer) []byte { s := p.setup(); s[0]++; return append(s, 0) }},
			{"empty", func(p *rawPeer) []byte { return []byte{0, 0, 0} }},
			{"the id of the other role", func(p *rawPeer) []byte {
				id := StreamID(p.res.hash[:], !p.init)
				return appendFrame(nil, append(id[:], make([]byte, HeaderSize)...))
			}},
			{"a flipped bit in the id", func(p *rawPeer) []byte { s := p.setup(); s[3+17] ^= 4; return s }},
		} {
			t.Run(fmt.Sprintf("%s, Go initiator %v", tc.name, goInit), func(t *testing.T) {
				withRawPeer(t, goInit, Config{}, func(p *rawPeer, conn func() *Conn) {
					out := append(p.msg3, tc.frame(p)...)
					out = append(out, p.message([]byte("data"))...)
					if err := write(p.c, out); err != nil {
						t.Fatal(err)
					}
					c := conn()
					if _, err := c.ReadMessage(); !errors.Is(err, ErrBadSetup) {
						t.Fatalf("ReadMessage = %v, want ErrBadSetup", err)
					}
					if _, err := c.ReadMessage(); !errors.Is(err, ErrBadSetup) {
						t.Fatalf("second ReadMessage = %v, want ErrBadSetup", err)
					}
				})
			})
		}
	}
}

// TestConnDataBeforeSetupRead: the initiator's message 3, setup frame and
// data arrive in one write before the responder has even finished its
// handshake; the responder keeps them and reads the data. A Go initiator
// writes data before the responder's setup frame has arrived.
func TestConnDataBeforeSetupRead(t *testing.T) {
	t.Run("Go responder", func(t *testing.T) {
		withRawPeer(t, false, Config{}, func(p *rawPeer, conn func() *Conn) {
			out := append(append(p.msg3, p.setup()...), p.message([]byte("one"))...)
			out = append(out, p.message(nil)...) // a keep-alive
			out = append(out, p.message([]byte("two"))...)
			if err := write(p.c, out); err != nil {
				t.Fatal(err)
			}
			c := conn()
			for _, want := range []string{"one", "two"} {
				if m, err := c.ReadMessage(); err != nil || string(m) != want {
					t.Fatalf("ReadMessage = %q, %v, want %q", m, err, want)
				}
			}
		})
	})
	t.Run("Go initiator", func(t *testing.T) {
		withRawPeer(t, true, Config{}, func(p *rawPeer, conn func() *Conn) {
			c := conn()
			if err := c.WriteMessage([]byte("early")); err != nil {
				t.Fatal(err)
			}
			setup, err := readRawFrame(p.c)
			if err != nil || len(setup) != SetupSize {
				t.Fatalf("setup frame: %d bytes, %v", len(setup), err)
			}
			var header [HeaderSize]byte
			copy(header[:], setup[StreamIDSize:])
			pull := NewPull(&p.res.rx, &header)
			m, err := readRawFrame(p.c)
			if err != nil {
				t.Fatal(err)
			}
			plain, _, err := pull.Open(nil, m)
			if err != nil || string(plain) != "early" {
				t.Fatalf("the early message: %q, %v", plain, err)
			}
		})
	})
}

// TestConnBadFrames: a MAC failure, a frame shorter than 17 bytes and a
// frame claiming more than MaxMessageSize each end the stream with their
// error class, and the connection is closed.
func TestConnBadFrames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame func(p *rawPeer, good []byte) []byte
		class error
	}{
		{"flipped bit in the MAC", func(p *rawPeer, _ []byte) []byte { m := p.message([]byte("hello")); m[len(m)-1] ^= 1; return m }, ErrAuthentication},
		{"flipped bit in the ciphertext", func(p *rawPeer, _ []byte) []byte { m := p.message([]byte("hello")); m[4] ^= 1; return m }, ErrAuthentication},
		{"flipped tag byte", func(p *rawPeer, _ []byte) []byte { m := p.message([]byte("hello")); m[3] ^= 1; return m }, ErrAuthentication},
		{"a message replayed", func(p *rawPeer, good []byte) []byte { return good }, ErrAuthentication},
		{"16-byte frame", func(p *rawPeer, _ []byte) []byte { return appendFrame(nil, make([]byte, 16)) }, ErrShortMessage},
		{"empty frame", func(p *rawPeer, _ []byte) []byte { return []byte{0, 0, 0} }, ErrShortMessage},
		{"2^24-1 bytes claimed", func(p *rawPeer, _ []byte) []byte { return []byte{0xff, 0xff, 0xff, 1, 2, 3} }, ErrFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withRawPeer(t, false, Config{MaxMessageSize: 1 << 20}, func(p *rawPeer, conn func() *Conn) {
				good := p.message([]byte("good"))
				out := append(append(p.msg3, p.setup()...), good...)
				if err := write(p.c, append(out, tc.frame(p, good)...)); err != nil {
					t.Fatal(err)
				}
				c := conn()
				if m, err := c.ReadMessage(); err != nil || string(m) != "good" {
					t.Fatalf("ReadMessage = %q, %v", m, err)
				}
				_, err := c.ReadMessage()
				if !errors.Is(err, tc.class) {
					t.Fatalf("ReadMessage = %v, want %v", err, tc.class)
				}
				if _, err2 := c.ReadMessage(); !errors.Is(err2, tc.class) {
					t.Fatalf("second ReadMessage = %v, want the same error", err2)
				}
				// the connection is closed: the raw peer sees EOF (or a
				// reset, when unread bytes were left), not a timeout
				p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.Copy(io.Discard, p.c); errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatal("the Go side did not close the connection")
				}
				if err := c.WriteMessage([]byte("x")); err == nil {
					t.Fatal("WriteMessage after the stream ended succeeded")
				}
			})
		})
	}
}

// TestHandshakeFailures: the handshake fails with ErrHandshake when the
// peer sends garbage, hangs up, is silent past the context's deadline, or
// sends a key of small order (ErrBadPublicKey); c is closed.
func TestHandshakeFailures(t *testing.T) {
	small := make([]byte, 32)
	small[0] = 1 // the identity
	for _, tc := range []struct {
		name    string
		goInit  bool
		peer    func(c net.Conn)
		timeout time.Duration
		class   error
	}{
		{"responder gets a short message 1", false, func(c net.Conn) { write(c, appendFrame(nil, make([]byte, 31))) }, 0, ErrHandshake},
		{"responder gets a 65536-byte message 1", false, func(c net.Conn) { write(c, []byte{0, 0, 1}) }, 0, ErrHandshake},
		{"responder gets the identity as e", false, func(c net.Conn) { write(c, appendFrame(nil, small)) }, 0, ErrBadPublicKey},
		{"initiator gets a short message 2", true, func(c net.Conn) {
			readRawFrame(c)
			m := make([]byte, 95)
			copy(m, ed25519.NewKeyFromSeed(make([]byte, 32))[32:])
			write(c, appendFrame(nil, m))
		}, 0, ErrHandshake},
		{"initiator gets garbage of 96 bytes", true, func(c net.Conn) {
			readRawFrame(c)
			m := make([]byte, 96)
			copy(m, ed25519.NewKeyFromSeed(make([]byte, 32))[32:])
			write(c, appendFrame(nil, m))
		}, 0, ErrHandshake},
		{"peer hangs up", true, func(c net.Conn) { readRawFrame(c); c.Close() }, 0, ErrHandshake},
		{"peer is silent", false, func(c net.Conn) {}, 200 * time.Millisecond, ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tcpPair(t)
			go tc.peer(b)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := Handshake(ctx, a, Config{Initiator: tc.goInit})
			if !errors.Is(err, ErrHandshake) || !errors.Is(err, tc.class) {
				t.Fatalf("Handshake = %v, want ErrHandshake and %v", err, tc.class)
			}
			if tc.class == ErrHandshake && errors.Is(err, ErrBadPublicKey) {
				t.Fatalf("Handshake = %v, not a bad key", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("Handshake failed after %v", d)
			}
			if _, err := a.Write([]byte{0}); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("the connection is not closed: %v", err)
			}
		})
	}
	t.Run("context cancelled", func(t *testing.T) {
		a, _ := tcpPair(t)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := Handshake(ctx, a, Config{Initiator: true})
		if !errors.Is(err, ErrHandshake) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Handshake = %v, want ErrHandshake and context.Canceled", err)
		}
	})
	t.Run("read timeout", func(t *testing.T) {
		a, _ := tcpPair(t)
		_, err := Handshake(context.Background(), a, Config{Initiator: true, ReadTimeout: 100 * time.Millisecond})
		if !errors.Is(err, ErrHandshake) || !errors.Is(err, ErrTimeout) {
			t.Fatalf("Handshake = %v, want ErrHandshake and ErrTimeout", err)
		}
	})
}

// ExampleHandshake connects two streams over an in-memory pipe, sends a
// message each way and closes.
func ExampleHandshake() {
	a, b := net.Pipe()
	ctx := context.Background()
	responder := make(chan *Conn)
	go func() {
		c, err := Handshake(ctx, b, Config{})
		if err != nil {
			panic(err)
		}
		responder <- c
	}()
	initiator, err := Handshake(ctx, a, Config{Initiator: true, KeepAlive: DefaultKeepAlive})
	if err != nil {
		panic(err)
	}
	r := <-responder

	go initiator.WriteMessage([]byte("hello"))
	m, _ := r.ReadMessage()
	fmt.Printf("responder read %q\n", m)

	go r.WriteMessage([]byte("hi"))
	m, _ = initiator.ReadMessage()
	fmt.Printf("initiator read %q\n", m)

	fmt.Println("same handshake hash:", bytes.Equal(initiator.HandshakeHash(), r.HandshakeHash()))
	fmt.Println("each sees the other's key:", bytes.Equal(initiator.RemotePublicKey(), r.PublicKey()))

	initiator.Close()
	_, err = r.ReadMessage()
	fmt.Println("after Close:", err)
	r.Close()
	// Output:
	// responder read "hello"
	// initiator read "hi"
	// same handshake hash: true
	// each sees the other's key: true
	// after Close: EOF
}

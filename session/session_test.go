package session

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/message"
)

// recorder is a Handler that records events.
type recorder struct {
	opened   chan *Channel
	messages chan message.Message
	closed   chan error
}

func newRecorder() *recorder {
	return &recorder{opened: make(chan *Channel, 10), messages: make(chan message.Message, 100), closed: make(chan error, 10)}
}

func (r *recorder) Opened(ch *Channel)                     { r.opened <- ch }
func (r *recorder) Message(ch *Channel, m message.Message) { r.messages <- m }
func (r *recorder) Closed(ch *Channel, err error)          { r.closed <- err }

func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// pair runs the handshake over a TCP connection on 127.0.0.1 and returns
// both sessions; Run is started for each, and its result sent on the
// returned channels.
func pair(t *testing.T, ci, cr Config) (a, b *Session, ea, eb chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ci.Initiator, cr.Initiator = true, false
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type result struct {
		s   *Session
		err error
	}
	rc := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			rc <- result{nil, err}
			return
		}
		s, err := New(ctx, c, cr)
		rc <- result{s, err}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err = New(ctx, c, ci)
	if err != nil {
		t.Fatal(err)
	}
	r := <-rc
	if r.err != nil {
		t.Fatal(r.err)
	}
	b = r.s
	ea, eb = make(chan error, 1), make(chan error, 1)
	go func() { ea <- a.Run(context.Background()) }()
	go func() { eb <- b.Run(context.Background()) }()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, ea, eb
}

var feedKey = bytes.Repeat([]byte{7}, 32)

func TestHandshakeKeysAgree(t *testing.T) {
	a, b, _, _ := pair(t, Config{}, Config{})
	if a.res.tx != b.res.rx || a.res.rx != b.res.tx {
		t.Fatal("split keys do not agree")
	}
	if a.RemotePublicKey() == b.RemotePublicKey() || !bytes.Equal(a.HandshakeHash(), b.HandshakeHash()) {
		t.Fatal("static keys or handshake hashes do not agree")
	}
	if a.Capability(feedKey) != b.RemoteCapability(feedKey) {
		t.Fatal("capability does not match what the peer expects")
	}
}

func TestChannelMessages(t *testing.T) {
	a, b, _, _ := pair(t, Config{}, Config{})
	ra, rb := newRecorder(), newRecorder()
	cha, err := a.Open(feedKey, ra)
	if err != nil {
		t.Fatal(err)
	}
	chb, err := b.Open(feedKey, rb)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, ra.opened, "a opened")
	wait(t, rb.opened, "b opened")
	msgs := []message.Message{
		&message.Options{Extensions: []string{"x"}, Ack: message.Bool(true)},
		message.NewStatus(true, false),
		&message.Have{Start: 0, Length: message.Uint64(1048576), Bitfield: []byte{2, 0xc0}},
		&message.Unhave{Range: message.Range{Start: 3}},
		&message.Want{Range: message.Range{Start: 0, Length: message.Uint64(1048576)}},
		&message.Unwant{Range: message.Range{Start: 0}},
		message.NewRequest(1, 0, false, 1),
		&message.Cancel{Index: 1},
		&message.Data{Index: 1, Value: []byte("world"), Nodes: []message.Node{{Index: 2, Hash: make([]byte, 32), Size: 5}}},
		&message.Extension{ID: 0, Message: []byte("hi")},
	}
	for _, m := range msgs {
		if err := cha.Send(m); err != nil {
			t.Fatal(err)
		}
		if err := chb.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []*recorder{ra, rb} {
		for _, want := range msgs {
			got := wait(t, r.messages, "message")
			if got.Type() != want.Type() || !bytes.Equal(got.AppendBody(nil), want.AppendBody(nil)) {
				t.Fatalf("received %T %x, want %x", got, got.AppendBody(nil), want.AppendBody(nil))
			}
		}
	}
}

// TestNonLiveEnd closes the only channel of non-live sessions: both sides
// end cleanly.
func TestNonLiveEnd(t *testing.T) {
	a, b, ea, eb := pair(t, Config{}, Config{})
	ra, rb := newRecorder(), newRecorder()
	cha, _ := a.Open(feedKey, ra)
	b.Open(feedKey, rb)
	wait(t, ra.opened, "a opened")
	wait(t, rb.opened, "b opened")
	cha.Close()
	if err := wait(t, ra.closed, "a closed"); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, rb.closed, "b closed"); err != nil {
		t.Fatalf("b's channel closed with %v", err)
	}
	if err := wait(t, ea, "a ends"); err != nil {
		t.Fatalf("a.Run = %v", err)
	}
	if err := wait(t, eb, "b ends"); err != nil {
		t.Fatalf("b.Run = %v", err)
	}
}

// TestBadCapabilityLocalFirst: this side opened first and the remote sends
// a wrong capability: the session ends with ErrBadCapability.
func TestBadCapabilityLocalFirst(t *testing.T) {
	a, b, ea, _ := pair(t, Config{}, Config{})
	ra := newRecorder()
	a.Open(feedKey, ra)
	dk, _ := merkle.DiscoveryKey(feedKey)
	b.send(message.AppendFrame(nil, 1, &message.Open{DiscoveryKey: dk[:], Capability: make([]byte, 32)}))
	if err := wait(t, ea, "a ends"); !errors.Is(err, ErrBadCapability) {
		t.Fatalf("a.Run = %v, want ErrBadCapability", err)
	}
	if err := wait(t, ra.closed, "channel closed"); !errors.Is(err, ErrBadCapability) {
		t.Fatalf("channel closed with %v", err)
	}
}

// TestBadCapabilityRemoteFirst: the remote opened first with a wrong
// capability; Open rejects just that channel.
func TestBadCapabilityRemoteFirst(t *testing.T) {
	seen := make(chan []byte, 1)
	a, b, _, _ := pair(t, Config{OnDiscoveryKey: func(s *Session, dk []byte) { seen <- dk }}, Config{})
	dk, _ := merkle.DiscoveryKey(feedKey)
	b.send(message.AppendFrame(nil, 1, &message.Open{DiscoveryKey: dk[:], Capability: make([]byte, 32)}))
	if got := wait(t, seen, "discovery key"); !bytes.Equal(got, dk[:]) {
		t.Fatalf("discovery key %x", got)
	}
	if _, err := a.Open(feedKey, newRecorder()); !errors.Is(err, ErrBadCapability) {
		t.Fatalf("Open = %v, want ErrBadCapability", err)
	}
	// the session still works for another feed
	other := bytes.Repeat([]byte{8}, 32)
	ra, rb := newRecorder(), newRecorder()
	if _, err := a.Open(other, ra); err != nil {
		t.Fatal(err)
	}
	b.Open(other, rb)
	wait(t, ra.opened, "a opened")
	wait(t, rb.opened, "b opened")
}

func TestGarbageAfterHandshake(t *testing.T) {
	a, b, ea, _ := pair(t, Config{}, Config{})
	_ = b
	// a frame of type Have whose body does not decode, sent through b's
	// encrypted stream
	b.send([]byte{0x02, 0x13, 0x08})
	err := wait(t, ea, "a ends")
	if !errors.Is(err, ErrProtocol) || !errors.Is(err, message.ErrTruncated) {
		t.Fatalf("a.Run = %v, want ErrProtocol wrapping ErrTruncated", err)
	}
	_ = a
}

// TestTimeout: a peer that stops sending (its keep-alives disabled) is
// dropped after the timeout; with keep-alives the session lives on. (The
// timeout also bounds the handshake, so it is not made so short that a
// loaded machine under the race detector cannot finish one.)
func TestTimeout(t *testing.T) {
	_, _, ea, eb := pair(t, Config{Timeout: time.Second, Live: true}, Config{Timeout: -1, Live: true})
	if err := wait(t, ea, "a ends"); !errors.Is(err, ErrTimeout) {
		t.Fatalf("a.Run = %v, want ErrTimeout", err)
	}
	wait(t, eb, "b ends")

	_, _, ea, eb = pair(t, Config{Timeout: 2 * time.Second, Live: true}, Config{Timeout: 2 * time.Second, Live: true})
	select {
	case err := <-ea:
		t.Fatalf("a ended with %v despite keep-alives", err)
	case err := <-eb:
		t.Fatalf("b ended with %v despite keep-alives", err)
	case <-time.After(5 * time.Second):
	}
}

func TestHandshakeFailures(t *testing.T) {
	// two initiators never complete: both fail within the context
	ca, cb := net.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	errs := make(chan error, 2)
	go func() { _, err := New(ctx, ca, Config{Initiator: true}); errs <- err }()
	go func() { _, err := New(ctx, cb, Config{Initiator: true}); errs <- err }()
	for i := 0; i < 2; i++ {
		if err := wait(t, errs, "handshake"); !errors.Is(err, ErrHandshake) {
			t.Fatalf("New = %v, want ErrHandshake", err)
		}
	}
	// a responder that gets garbage
	c1, c2 := net.Pipe()
	go func() { c2.Write([]byte{0x05, 1, 2, 3, 4, 5}); c2.Close() }()
	if _, err := New(context.Background(), c1, Config{}); !errors.Is(err, ErrHandshake) {
		t.Fatalf("New = %v, want ErrHandshake", err)
	}
	// a length claim over 65535
	c3, c4 := net.Pipe()
	go func() { c4.Write([]byte{0xff, 0xff, 0x04}) }()
	if _, err := New(context.Background(), c3, Config{}); !errors.Is(err, ErrHandshake) {
		t.Fatalf("New = %v, want ErrHandshake", err)
	}
}

// TestLargeBurst sends 48 MiB of 64 KiB messages as fast as the queue allows while
// the receiver reads slowly, so the send queue grows past the size of the
// buffer kept for reuse; every message arrives intact and in order. (The
// writer once reused a buffer that was still being written, which showed
// as garbled frames and a race report.)
func TestLargeBurst(t *testing.T) {
	a, b, _, _ := pair(t, Config{}, Config{})
	ra := newRecorder()
	rb := &slowRecorder{recorder: newRecorder()}
	cha, err := a.Open(feedKey, ra)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(feedKey, rb); err != nil {
		t.Fatal(err)
	}
	wait(t, ra.opened, "a opened")
	wait(t, rb.opened, "b opened")
	const n = 768
	go func() {
		for i := 0; i < n; i++ {
			if a.Queued() > 8<<20 {
				// keep below MaxQueued, as a replicator does
				drained := make(chan struct{})
				a.WhenDrained(1<<20, func() { close(drained) })
				<-drained
			}
			v := bytes.Repeat([]byte{byte(i)}, 64<<10)
			if err := cha.Send(&message.Data{Index: uint64(i), Value: v}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < n; i++ {
		m := wait(t, rb.messages, "data")
		d, ok := m.(*message.Data)
		if !ok || d.Index != uint64(i) || !bytes.Equal(d.Value, bytes.Repeat([]byte{byte(i)}, 64<<10)) {
			t.Fatalf("message %d arrived as %s", i, message.Describe(m))
		}
	}
}

// slowRecorder delays every message a little, so the sender's queue grows.
type slowRecorder struct{ *recorder }

func (r *slowRecorder) Message(ch *Channel, m message.Message) {
	if d, ok := m.(*message.Data); ok && d.Index%64 == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	r.recorder.Message(ch, m)
}

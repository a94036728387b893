package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/bitfield"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/internal/guard"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
)

// edges are the numbers every peer-supplied start, length and index is
// tried with, and so are their sums (spec/security.md, "Numbers").
var edges = []uint64{0, 1, 1 << 24, 1 << 32, 1 << 53, 1 << 63, 1<<64 - 1}

// probe is an attacker's channel handler: it forwards the Haves it gets.
type probe struct{ haves chan *message.Have }

func (p *probe) Opened(*session.Channel) {}
func (p *probe) Message(_ *session.Channel, m message.Message) {
	if h, ok := m.(*message.Have); ok && h.Bitfield != nil {
		select {
		case p.haves <- h:
		default:
		}
	}
}
func (p *probe) Closed(*session.Channel, error) {}

// hostile connects an attacker session to victim over TCP on 127.0.0.1,
// opens the feed, and returns the attacker's channel, its probe and the
// victim's Replicate result.
func hostile(t *testing.T, victim *Feed, key []byte) (*session.Channel, *probe, chan error) {
	t.Helper()
	pr := &probe{haves: make(chan *message.Have, 4)}
	ch, result := hostileWith(t, victim, key, pr)
	return ch, pr, result
}

// hostileWith is hostile with the attacker's channel handler h.
func hostileWith(t *testing.T, victim *Feed, key []byte, h session.Handler) (*session.Channel, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	result := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			result <- err
			return
		}
		defer c.Close()
		result <- victim.Replicate(ctx, c, &ReplicateOptions{Live: true, Timeout: 5 * time.Second})
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s, err := session.New(ctx, conn, session.Config{Initiator: true, Live: true, Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	go s.Run(ctx)
	ch, err := s.Open(key, h)
	if err != nil {
		t.Fatal(err)
	}
	return ch, result
}

// TestPeerNumbers sends every message type that carries numbers with each
// pair of edge values as start and length (or index and bytes), then a
// Want as a probe. The victim must, within 20 s (a hang or an unbounded
// walk; each case takes milliseconds), either have ended the session with
// a typed error or answer the probe; it must store nothing, its feed must
// not change, and its heap must stay bounded.
func TestPeerNumbers(t *testing.T) {
	w := blocksFeed(t, 100)
	type victim struct {
		name string
		feed func() *Feed
	}
	reader := func() *Feed {
		r, err := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		go r.GetContext(context.Background(), 5)
		return r
	}
	nonSparse := func() *Feed {
		r, err := Open(storage.NewMemory(), &Options{Key: w.Key()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	victims := []victim{{"writer", func() *Feed { return w }}, {"sparse reader", reader}, {"reader", nonSparse}}
	messages := map[string]func(a, b uint64) message.Message{
		"Want": func(a, b uint64) message.Message {
			return &message.Want{Range: message.Range{Start: a, Length: message.Uint64(b)}}
		},
		"Unwant": func(a, b uint64) message.Message {
			return &message.Unwant{Range: message.Range{Start: a, Length: message.Uint64(b)}}
		},
		"Have": func(a, b uint64) message.Message { return &message.Have{Start: a, Length: message.Uint64(b)} },
		"Have+bitfield": func(a, b uint64) message.Message {
			return &message.Have{Start: a &^ 7, Length: message.Uint64(b), Bitfield: bitfield.EncodeRLE([]byte{0xff, 0, 0xf0})}
		},
		"Unhave": func(a, b uint64) message.Message {
			return &message.Unhave{Range: message.Range{Start: a, Length: message.Uint64(b)}}
		},
		"Request": func(a, b uint64) message.Message { return message.NewRequest(a, b, false, 0) },
		"Request hash": func(a, b uint64) message.Message {
			return message.NewRequest(a, 0, true, b)
		},
		"Data": func(a, b uint64) message.Message {
			return &message.Data{Index: a, Value: []byte("x"), Nodes: []message.Node{{Index: b, Hash: make([]byte, 32), Size: b}}}
		},
		"Data hash-only": func(a, b uint64) message.Message {
			return &message.Data{Index: a, Nodes: []message.Node{{Index: b, Hash: make([]byte, 32), Size: b}}}
		},
		"Cancel": func(a, b uint64) message.Message { return &message.Cancel{Index: a, Bytes: message.Uint64(b)} },
	}
	var m0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for _, v := range victims {
		feed := v.feed()
		before, err := feed.Check()
		if err != nil {
			t.Fatal(err)
		}
		for name, mk := range messages {
			t.Run(v.name+"/"+name, func(t *testing.T) {
				for _, a := range edges {
					for _, b := range edges {
						peerNumbersCase(t, feed, w.Key(), mk(a, b), fmt.Sprintf("%s(%d, %d)", name, a, b))
					}
				}
			})
		}
		if after, err := feed.Check(); err != nil || after != before {
			t.Fatalf("%s: the feed changed: %+v, %v", v.name, after, err)
		}
	}
	var m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if grow := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grow > 64<<20 {
		t.Fatalf("the heap grew by %d MiB", grow>>20)
	}
}

func peerNumbersCase(t *testing.T, feed *Feed, key []byte, m message.Message, what string) {
	ch, pr, result := hostile(t, feed, key)
	start := time.Now()
	ch.Send(m)
	ch.Send(&message.Want{Range: message.Range{Start: 0, Length: message.Uint64(1 << 20)}})
	select {
	case err := <-result:
		if !typed(err) {
			t.Fatalf("%s: the session ended with %v, not a typed error", what, err)
		}
	case <-pr.haves:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer and no end within 20 s", what)
	}
	if d := time.Since(start); d > 2*time.Second {
		// not a failure: a loaded machine or the race detector can be
		// this slow; a hang or an unbounded walk fails above
		t.Logf("%s: took %v", what, d)
	}
	ch.Session().Close()
}

// typed reports whether err is one of the errors a hostile peer may end a
// session with.
func typed(err error) bool {
	for _, e := range []error{session.ErrProtocol, ErrPeerBudget, ErrNotAvailable, ErrInvalidProof, ErrMissingSignature, session.ErrConnection, session.ErrSlowPeer, session.ErrTimeout, session.ErrBadCapability} {
		if errors.Is(err, e) {
			return true
		}
	}
	return err == nil
}

// TestWrappingRangesAreProtocolErrors: a range whose end passes 2^64−1 ends
// the session as a protocol error, for each message that carries a range
// the replicator uses.
func TestWrappingRangesAreProtocolErrors(t *testing.T) {
	w := blocksFeed(t, 100)
	for _, m := range []message.Message{
		&message.Want{Range: message.Range{Start: 1 << 63, Length: message.Uint64(1 << 63)}},
		&message.Have{Start: 1<<64 - 1<<24, Length: message.Uint64(1 << 24)},
		&message.Unhave{Range: message.Range{Start: 1<<64 - 1, Length: message.Uint64(2)}},
	} {
		t.Run(message.Describe(m), func(t *testing.T) {
			ch, _, result := hostile(t, w, w.Key())
			ch.Send(m)
			select {
			case err := <-result:
				if !errors.Is(err, session.ErrProtocol) || !errors.Is(err, guard.ErrRange) {
					t.Fatalf("the session ended with %v, want ErrProtocol wrapping guard.ErrRange", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the session did not end")
			}
		})
	}
}

// stallingProbe is an attacker's handler that stops reading (it blocks
// Run's goroutine) at the first Data it gets.
type stallingProbe struct {
	probe
	stalled chan struct{}
	release chan struct{}
}

func (p *stallingProbe) Message(ch *session.Channel, m message.Message) {
	if _, ok := m.(*message.Data); ok {
		select {
		case <-p.stalled:
		default:
			close(p.stalled)
		}
		<-p.release
	}
}

// TestParkedRequestsBudget: a peer that stops reading while it floods
// Requests gets answers only until 4 MiB waits to be sent; the rest are
// parked, and past the parked-requests budget the peer is dropped with
// ErrPeerBudget, long before the write timeout.
func TestParkedRequestsBudget(t *testing.T) {
	old := budgetLimits
	budgetLimits.parked = 1000
	t.Cleanup(func() { budgetLimits = old })
	kp := testKeyPair(t)
	w, err := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	block := make([]byte, 256<<10)
	for i := 0; i < 64; i++ {
		if _, err := w.Append(block); err != nil {
			t.Fatal(err)
		}
	}
	sp := &stallingProbe{stalled: make(chan struct{}), release: make(chan struct{})}
	defer close(sp.release)
	ch, result := hostileWith(t, w, w.Key(), sp)
	// the attacker reads nothing after the first Data: Requests for every
	// block, again and again, more than the sockets, the 4 MiB and the
	// budget hold
	go func() {
		for i := 0; i < 4000; i++ {
			if ch.Send(message.NewRequest(uint64(i%64), 0, false, 0)) != nil {
				return
			}
		}
	}()
	select {
	case err := <-result:
		if !errors.Is(err, ErrPeerBudget) {
			t.Fatalf("the session ended with %v, want ErrPeerBudget", err)
		}
	case <-time.After(4 * time.Second): // the write timeout is 5 s
		t.Fatal("the session did not end")
	}
}

// TestWantAnswersBudget: answering Wants costs the bitfield bytes each
// covers; a peer that keeps asking for the whole bitfield is dropped with
// ErrPeerBudget once its connection's budget is spent.
func TestWantAnswersBudget(t *testing.T) {
	old := budgetLimits
	budgetLimits.wantAnswers = 64 << 10
	t.Cleanup(func() { budgetLimits = old })
	w := blocksFeed(t, 1000)
	ch, _, result := hostile(t, w, w.Key())
	n := 0
	for ; n < 10000; n++ {
		if ch.Send(&message.Want{Range: message.Range{Start: 0, Length: message.Uint64(0)}}) != nil {
			break
		}
	}
	select {
	case err := <-result:
		if !errors.Is(err, ErrPeerBudget) {
			t.Fatalf("the session ended with %v, want ErrPeerBudget", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the session did not end after %d Wants of the whole bitfield", n)
	}
}

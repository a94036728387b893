package fuzz

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/hypercore-go/hypercore/bitfield"
	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
)

// countingStorage counts the writes to a storage, so a test can check an
// attack stored nothing.
type countingStorage struct {
	storage.Storage
	writes *atomic.Int64
}

func (c countingStorage) Open(name string) (storage.File, error) {
	f, err := c.Storage.Open(name)
	if err != nil {
		return nil, err
	}
	return countingFile{f, c.writes}, nil
}

type countingFile struct {
	storage.File
	writes *atomic.Int64
}

func (c countingFile) WriteAt(p []byte, off int64) (int, error) {
	c.writes.Add(1)
	return c.File.WriteAt(p, off)
}

func (c countingFile) Truncate(size int64) error {
	c.writes.Add(1)
	return c.File.Truncate(size)
}

// attack is one scripted hostile peer. It runs against a victim feed
// replicating over TCP; s is the attacker's session after the handshake
// (nil for attacks on the handshake itself, which get the raw conn).
type attack struct {
	name   string
	victim string // "writer" (holds 100 blocks) or "reader" (a sparse clone that wants block 5)
	// run plays the peer; it returns when it is done sending.
	run func(t *testing.T, conn net.Conn, s *session.Session, key []byte)
	// want is the error the victim's Replicate must end with (nil: a
	// clean end once the attacker hangs up).
	// want error; what JS does with the same input is in fuzz/README.md
	want error
}

func open(t *testing.T, s *session.Session, key []byte) *session.Channel {
	ch, err := s.Open(key, nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func frameHeader(channel uint64, typ message.Type, length uint64) []byte {
	h := protowire.AppendVarint(nil, channel<<4|uint64(typ))
	return append(protowire.AppendVarint(nil, length+uint64(len(h))), h...)
}

var attacks = []attack{
	{name: "wrong capability", victim: "writer", want: session.ErrBadCapability,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			dk, _ := merkle.DiscoveryKey(key)
			s.SendRaw(1, &message.Open{DiscoveryKey: dk[:], Capability: make([]byte, 32)})
		}},
	{name: "oversize frame claim", victim: "writer", want: session.ErrProtocol,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			s.SendBytes(append(frameHeader(1, message.TypeData, 9<<20), 1, 2, 3))
		}},
	{name: "never-ending varint", victim: "writer", want: session.ErrProtocol,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			s.SendBytes([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		}},
	{name: "Have for blocks it does not have", victim: "reader", want: core.ErrRequestTimeout,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			ch := open(t, s, key)
			ch.Send(&message.Have{Start: 0, Length: message.Uint64(100)})
			// never answers the request, but is not silent: keep-alives
			// (a zero byte), so only the request timeout can end it
			for range 15 {
				time.Sleep(200 * time.Millisecond)
				s.SendBytes([]byte{0})
			}
		}},
	{name: "Have bitfield at a misaligned start", victim: "reader", want: session.ErrProtocol,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			ch := open(t, s, key)
			ch.Send(&message.Have{Start: 3, Length: message.Uint64(8), Bitfield: bitfield.EncodeRLE([]byte{0xff})})
		}},
	{name: "Data with a bad proof", victim: "reader", want: core.ErrInvalidProof,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			ch := open(t, s, key)
			ch.Send(&message.Have{Start: 0, Length: message.Uint64(100)})
			time.Sleep(100 * time.Millisecond) // the victim requests block 5
			ch.Send(&message.Data{Index: 5, Value: []byte("block 5"), Nodes: []message.Node{{Index: 8, Hash: make([]byte, 32), Size: 7}}, Signature: make([]byte, 64)})
		}},
	{name: "Data for another index than requested", victim: "reader", want: nil,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			ch := open(t, s, key)
			ch.Send(&message.Have{Start: 0, Length: message.Uint64(100)})
			time.Sleep(100 * time.Millisecond)
			ch.Send(&message.Data{Index: 6, Value: []byte("block 6")})
		}},
	{name: "unrequested Data", victim: "writer", want: nil,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			ch := open(t, s, key)
			ch.Send(&message.Data{Index: 7, Value: []byte("lies")})
		}},
	{name: "huge value", victim: "reader", want: session.ErrProtocol,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			open(t, s, key)
			s.SendBytes(append(frameHeader(1, message.TypeData, 8<<20+10), make([]byte, 1<<20)...))
		}},
	{name: "Request for an absent block", victim: "writer", want: core.ErrNotAvailable,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			ch := open(t, s, key)
			ch.Send(message.NewRequest(1000000, 0, false, 0))
		}},
	// a replicator refuses each channel for a feed it does not have, so
	// nothing piles up (session.TestTooManyChannels checks the limit)
	{name: "thousands of channels", victim: "writer", want: nil,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			for i := 1; i <= 20000; i++ {
				dk := make([]byte, 32)
				dk[0], dk[1], dk[2] = byte(i), byte(i>>8), 1
				if s.SendRaw(uint64(i), &message.Open{DiscoveryKey: dk, Capability: make([]byte, 32)}) != nil {
					return
				}
			}
		}},
	{name: "stall mid-frame", victim: "writer", want: session.ErrTimeout,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			s.SendBytes(frameHeader(0, message.TypeStatus, 4)[:2])
			time.Sleep(3 * time.Second)
		}},
	{name: "slow-loris byte by byte", victim: "writer", want: session.ErrTimeout,
		run: func(t *testing.T, _ net.Conn, s *session.Session, key []byte) {
			b := append(frameHeader(1, message.TypeExtension, 8<<20), make([]byte, 20)...)
			for _, c := range b {
				if s.SendBytes([]byte{c}) != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(3 * time.Second)
		}},
	{name: "disconnect mid-handshake", victim: "writer", want: session.ErrHandshake,
		run: func(t *testing.T, conn net.Conn, _ *session.Session, key []byte) {
			conn.Write([]byte{0x20, 0x00, 0x01, 0x02})
			conn.Close()
		}},
}

// TestAdversaries runs every attack against a victim feed over TCP: the
// victim ends that session with the expected typed error within the
// timeout, stores nothing, keeps serving an honest peer, and its memory
// stays bounded.
func TestAdversaries(t *testing.T) {
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			runAttack(t, a)
		})
	}
}

func runAttack(t *testing.T, a attack) {
	w := writer(t, []int{100})
	defer w.Close()
	var writes atomic.Int64
	victim := w
	if a.victim == "reader" {
		r, err := core.Open(countingStorage{storage.NewMemory(), &writes}, &core.Options{Key: w.Key(), Sparse: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		victim = r
		go r.GetContext(context.Background(), 5) // wants block 5
	}
	before, _ := victim.Check()
	writesBefore := writes.Load()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	result := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			result <- err
			return
		}
		defer c.Close()
		result <- victim.Replicate(ctx, c, &core.ReplicateOptions{Live: true, Timeout: time.Second})
	}()

	var m0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if a.want == session.ErrHandshake {
		a.run(t, conn, nil, w.Key())
	} else {
		s, err := session.New(ctx, conn, session.Config{Initiator: true, Timeout: -1})
		if err != nil {
			t.Fatal(err)
		}
		go s.Run(ctx)
		a.run(t, conn, s, w.Key())
		time.Sleep(50 * time.Millisecond)
		s.Close()
	}
	var got error
	select {
	case got = <-result:
	case <-time.After(10 * time.Second):
		t.Fatal("the victim's session did not end")
	}
	if a.want == nil && got != nil && !typed(got) {
		t.Fatalf("victim ended with %v, want a clean or typed end", got)
	}
	if a.want != nil && !errors.Is(got, a.want) {
		t.Fatalf("victim ended with %v, want %v", got, a.want)
	}
	var m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if grow := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grow > 64<<20 {
		t.Fatalf("the heap grew by %d MiB during the attack", grow>>20)
	}
	if n := writes.Load() - writesBefore; n != 0 {
		t.Fatalf("the attack caused %d writes", n)
	}
	if after, err := victim.Check(); err != nil || after != before {
		t.Fatalf("the victim's feed changed: %+v, %v", after, err)
	}
	// the victim still serves an honest peer
	if a.victim == "writer" {
		honest, _ := core.Open(storage.NewMemory(), &core.Options{Key: w.Key(), Sparse: true})
		defer honest.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			w.Replicate(ctx, c, &core.ReplicateOptions{Live: true})
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go honest.Replicate(ctx, c, &core.ReplicateOptions{Initiator: true, Live: true})
		if v, err := honest.GetContext(ctx, 42); err != nil || string(v) != "block 42" {
			t.Fatalf("an honest peer after the attack got %q, %v", v, err)
		}
	}
}

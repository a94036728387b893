package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/v11/protomux"
	"github.com/hypercore-go/hypercore/v11/secretstream"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// tcp returns the two ends of a TCP connection on 127.0.0.1.
func tcp(t *testing.T) (dialer, listener net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	l := <-acc
	if l == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { d.Close(); l.Close() })
	return d, l
}

// replicating runs c.Replicate over conn until the test ends. The
// returned channel is closed when Replicate returns; *err is its result.
func replicating(t *testing.T, ctx context.Context, c *Core, conn net.Conn, opts *ReplicateOptions) (<-chan struct{}, *error) {
	t.Helper()
	done := make(chan struct{})
	var res error
	go func() {
		defer close(done)
		res = c.Replicate(ctx, conn, opts)
	}()
	t.Cleanup(func() {
		conn.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Replicate did not return after its connection closed")
		}
	})
	return done, &res
}

// A fakePeer is a test double of a remote core built on secretstream,
// protomux and wire directly: it announces the core of w (a real writer
// whose proofs it uses), answers requests with w's answers passed through
// lie, and records what it received.
type fakePeer struct {
	w   *Core
	lie func(w *Core, req *wire.Request, d *wire.Data) // may change d before it is sent

	mu       sync.Mutex
	requests []*wire.Request
	ch       *protomux.Channel
}

// run runs the fake peer over conn until it ends.
func (f *fakePeer) run(ctx context.Context, conn net.Conn, initiator bool) error {
	s, err := secretstream.Handshake(ctx, conn, secretstream.Config{Initiator: initiator, ReadTimeout: 20 * time.Second})
	if err != nil {
		return err
	}
	defer s.Close()
	mux := protomux.New(s, nil)
	key := f.w.Key()
	dk := f.w.DiscoveryKey()
	send := func(m wire.Message) { _ = f.ch.Send(int(m.Type()), wire.Encode(m)) }
	f.ch = mux.CreateChannel(protomux.ChannelOptions{
		Protocol: wire.Protocol,
		ID:       dk[:],
		Messages: wire.NumTypes,
		OnOpen: func(*protomux.Channel, []byte) error {
			n := f.w.Length()
			send(&wire.Sync{Fork: f.w.Fork(), Length: n, CanUpgrade: true, Uploading: true, Downloading: true, HasManifest: true})
			send(&wire.Range{Start: 0, Length: n})
			return nil
		},
		OnMessage: func(_ *protomux.Channel, typ int, p []byte) error {
			m, err := wire.Decode(wire.Type(typ), p)
			if err != nil {
				return err
			}
			req, ok := m.(*wire.Request)
			if !ok {
				return nil
			}
			f.mu.Lock()
			f.requests = append(f.requests, req)
			f.mu.Unlock()
			f.w.mu.Lock()
			d, err := f.w.answer(req)
			f.w.mu.Unlock()
			if err != nil {
				send(&wire.NoData{Request: req.ID, Reason: wire.ReasonNotAvailable})
				return nil
			}
			if f.lie != nil {
				f.lie(f.w, req, d)
			}
			send(d)
			return nil
		},
	})
	hs := wire.Handshake{Capability: wire.Capability(s.HandshakeHash(), s.IsInitiator(), key)}
	if err := f.ch.Open(hs.Append(nil)); err != nil {
		return err
	}
	return mux.Run(ctx)
}

func newBlocksWriter(t *testing.T, n int) *Core {
	t.Helper()
	w := newWriter(t, nil)
	for i := 0; i < n; i++ {
		if _, err := w.Append([]byte(fmt.Sprintf("block %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func flip(b []byte) { b[len(b)/2] ^= 0x40 }

// TestReplicateLyingPeer: a remote that answers a request with a wrong
// value, a bad proof or a bad signature, or with a proof of another block
// than asked for, is dropped with ErrProtocol, and nothing of that answer
// is stored (the block, its tree nodes, the length it claims); an honest
// peer connected afterwards serves the block.
func TestReplicateLyingPeer(t *testing.T) {
	const n, target = 64, 37
	cases := []struct {
		name    string
		lie     func(w *Core, req *wire.Request, d *wire.Data)
		upgrade bool // the lie is in the first upgrade: not even the length is kept
	}{
		{"wrong value", func(w *Core, req *wire.Request, d *wire.Data) {
			if d.Block != nil {
				d.Block.Value = []byte(fmt.Sprintf("block %d!", d.Block.Index))
			}
		}, false},
		{"bad block node", func(w *Core, req *wire.Request, d *wire.Data) {
			if d.Block != nil && len(d.Block.Nodes) > 0 {
				flip(d.Block.Nodes[len(d.Block.Nodes)-1].Hash[:])
			}
		}, false},
		{"bad node size", func(w *Core, req *wire.Request, d *wire.Data) {
			if d.Block != nil && len(d.Block.Nodes) > 0 {
				d.Block.Nodes[0].Size++
			}
		}, false},
		{"nodes missing", func(w *Core, req *wire.Request, d *wire.Data) {
			if d.Block != nil && len(d.Block.Nodes) > 0 {
				d.Block.Nodes = d.Block.Nodes[:len(d.Block.Nodes)-1]
			}
		}, false},
		{"another block", func(w *Core, req *wire.Request, d *wire.Data) {
			if d.Block != nil && req.Block != nil {
				// A valid proof, of the block after the one asked for.
				other := *req
				other.Block = &wire.BlockRequest{Index: req.Block.Index + 1, Nodes: req.Block.Nodes}
				*d = *answerOf(w, d, &other)
			}
		}, false},
		{"bad signature", func(w *Core, req *wire.Request, d *wire.Data) {
			if d.Upgrade != nil {
				// A copy: the answer's slices may be the writer's own.
				d.Upgrade.Signature = append([]byte(nil), d.Upgrade.Signature...)
				flip(d.Upgrade.Signature)
			}
		}, true},
		{"bad upgrade node", func(w *Core, req *wire.Request, d *wire.Data) {
			if d.Upgrade != nil && len(d.Upgrade.Nodes) > 0 {
				flip(d.Upgrade.Nodes[0].Hash[:])
			}
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			w := newBlocksWriter(t, n)
			r := newClone(t, w.Key())
			f := &fakePeer{w: w, lie: tc.lie}
			d, l := tcp(t)
			go f.run(ctx, l, false)
			done, res := replicating(t, ctx, r, d, &ReplicateOptions{Initiator: true})

			got := make(chan error, 1)
			if !tc.upgrade {
				if _, err := r.Update(ctx, 0); err != nil {
					t.Fatalf("Update from the liar's honest upgrade: %v", err)
				}
				go func() {
					v, err := r.GetContext(ctx, target)
					if err == nil && string(v) != fmt.Sprintf("block %d", target) {
						err = fmt.Errorf("GetContext(%d) = %q", target, v)
					}
					got <- err
				}()
			}
			select {
			case <-done:
				if !errors.Is(*res, ErrProtocol) {
					t.Fatalf("Replicate with the liar = %v, want ErrProtocol", *res)
				}
			case <-ctx.Done():
				t.Fatal("the reader did not drop the lying peer")
			}
			if tc.upgrade {
				if r.Length() != 0 || r.Fork() != 0 {
					t.Fatalf("after a bad upgrade the clone has length %d fork %d, want 0 0", r.Length(), r.Fork())
				}
			} else {
				for i := uint64(0); i < n; i++ {
					if r.Has(i) {
						t.Errorf("block %d stored after the lie", i)
					}
				}
				r.mu.Lock()
				_, leaf, _ := r.st.Node(2 * target)
				_, next, _ := r.st.Node(2 * (target + 1))
				r.mu.Unlock()
				if leaf || next {
					t.Errorf("tree node of the lied-about block stored (leaf %d: %v, leaf %d: %v)", 2*target, leaf, 2*(target+1), next)
				}
			}

			// An honest peer afterwards serves the block.
			d2, l2 := tcp(t)
			replicating(t, ctx, w, l2, nil)
			replicating(t, ctx, r, d2, &ReplicateOptions{Initiator: true})
			if tc.upgrade {
				go func() {
					v, err := r.GetContext(ctx, target)
					if err == nil && string(v) != fmt.Sprintf("block %d", target) {
						err = fmt.Errorf("GetContext(%d) = %q", target, v)
					}
					got <- err
				}()
			}
			if err := <-got; err != nil {
				t.Fatalf("from the honest peer: %v", err)
			}
			if r.Length() != n {
				t.Errorf("Length = %d, want %d", r.Length(), n)
			}
		})
	}
}

// answerOf answers req with w's proof, keeping d's request id.
func answerOf(w *Core, d *wire.Data, req *wire.Request) *wire.Data {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, err := w.answer(req)
	if err != nil {
		return d
	}
	a.Request = d.Request
	return a
}

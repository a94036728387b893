package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/internal/guard"
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

	silent    func(req *wire.Request) bool // true: leave req unanswered
	afterOpen func(f *fakePeer)            // runs after the sync and range sent on open

	mu       sync.Mutex
	requests []*wire.Request
	ch       *protomux.Channel
	got      chan wire.Message // every message received (dropped when full)
	opened   chan struct{}     // closed when the remote's open arrived
}

func (f *fakePeer) send(m wire.Message) { _ = f.ch.Send(int(m.Type()), wire.Encode(m)) }

// requestsFor counts the requests received for block i.
func (f *fakePeer) requestsFor(i uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.Block != nil && r.Block.Index == i {
			n++
		}
	}
	return n
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
	send := f.send
	if f.got == nil {
		f.got = make(chan wire.Message, 1024)
	}
	if f.opened == nil {
		f.opened = make(chan struct{})
	}
	f.ch = mux.CreateChannel(protomux.ChannelOptions{
		Protocol: wire.Protocol,
		ID:       dk[:],
		Messages: wire.NumTypes,
		OnOpen: func(*protomux.Channel, []byte) error {
			n := f.w.Length()
			send(&wire.Sync{Fork: f.w.Fork(), Length: n, CanUpgrade: true, Uploading: true, Downloading: true, HasManifest: true})
			send(&wire.Range{Start: 0, Length: n})
			close(f.opened)
			if f.afterOpen != nil {
				f.afterOpen(f)
			}
			return nil
		},
		OnMessage: func(_ *protomux.Channel, typ int, p []byte) error {
			m, err := wire.Decode(wire.Type(typ), p)
			if err != nil {
				return err
			}
			select {
			case f.got <- m:
			default:
			}
			req, ok := m.(*wire.Request)
			if !ok {
				return nil
			}
			f.mu.Lock()
			f.requests = append(f.requests, req)
			f.mu.Unlock()
			if f.silent != nil && f.silent(req) {
				return nil
			}
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

// TestReplicateHostileAnnouncements: range, want and bitfield messages
// whose ends do not fit in 64 bits, and bitfields or ranges that would make
// the reader hold more words than the connection's budget, end the
// connection with ErrProtocol (the budget with guard.ErrBudget).
func TestReplicateHostileAnnouncements(t *testing.T) {
	old := budgetLimits
	t.Cleanup(func() { budgetLimits = old })
	budgetLimits.remoteWords = 64
	budgetLimits.wantAnswers = 1 << 10
	const max = ^uint64(0)
	cases := []struct {
		name   string
		send   []wire.Message
		budget bool
	}{
		{"range wraps", []wire.Message{&wire.Range{Start: max - 10, Length: 20}}, false},
		{"drop range wraps", []wire.Message{&wire.Range{Drop: true, Start: 5, Length: max}}, false},
		{"want wraps", []wire.Message{&wire.Want{Start: max - 10, Length: 20}}, false},
		{"bitfield wraps", []wire.Message{&wire.Bitfield{Start: max &^ 31, Bitfield: []uint32{1, 1}}}, false},
		{"bitfield over budget", []wire.Message{&wire.Bitfield{Start: 1 << 20, Bitfield: ones(65)}}, true},
		{"ranges over budget", sparseRanges(65), true},
		{"bitfields over budget", []wire.Message{
			&wire.Bitfield{Start: 1 << 20, Bitfield: ones(40)},
			&wire.Bitfield{Start: 1 << 30, Bitfield: ones(40)},
		}, true},
		{"want answers over budget", repeatWant(20), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			w := newBlocksWriter(t, 1<<12)
			// The reader holds a sparse part, so that it answers wants
			// with bitfields.
			r := newClone(t, w.Key())
			connect(t, r, w)
			for i := uint64(2000); i < 4000; i += 2 {
				if _, err := r.GetContext(ctx, i); err != nil {
					t.Fatal(err)
				}
			}
			f := &fakePeer{w: w, afterOpen: func(f *fakePeer) {
				for _, m := range tc.send {
					f.send(m)
				}
			}}
			d, l := tcp(t)
			go f.run(ctx, l, false)
			done, res := replicating(t, ctx, r, d, &ReplicateOptions{Initiator: true})
			select {
			case <-done:
			case <-ctx.Done():
				t.Fatal("the reader kept the connection")
			}
			if !errors.Is(*res, ErrProtocol) {
				t.Fatalf("Replicate = %v, want ErrProtocol", *res)
			}
			if tc.budget != errors.Is(*res, guard.ErrBudget) {
				t.Fatalf("Replicate = %v: errors.Is guard.ErrBudget = %v, want %v", *res, !tc.budget, tc.budget)
			}
			// The budget is given back with the peer: the reader still
			// replicates with its honest writer.
			if v, err := r.GetContext(ctx, 5); err != nil || string(v) != "block 5" {
				t.Fatalf("GetContext(5) after = %q, %v", v, err)
			}
		})
	}
}

func ones(n int) []uint32 {
	w := make([]uint32, n)
	for i := range w {
		w[i] = 0x80000001
	}
	return w
}

// sparseRanges returns n ranges of one block each, 64 blocks apart, past
// the contiguous prefix: each needs a word of its own.
func sparseRanges(n int) []wire.Message {
	var ms []wire.Message
	for i := 0; i < n; i++ {
		ms = append(ms, &wire.Range{Start: 1<<20 + 64*uint64(i), Length: 1})
	}
	return ms
}

// repeatWant returns n wants of a batch the reader holds sparsely: each
// is answered with a bitfield of 63 words (budget 1 KiB: the 5th fails).
func repeatWant(n int) []wire.Message {
	var ms []wire.Message
	for i := 0; i < n; i++ {
		ms = append(ms, &wire.Want{Start: 0, Length: 1 << 21})
	}
	return ms
}

// TestReplicateAnnouncementCost: announcements of huge ranges, set and
// dropped, cost time bounded by the words held, not by their length: many
// of them are handled in well under a second, and remoteHas answers
// as JS would.
func TestReplicateAnnouncementCost(t *testing.T) {
	c := newWriter(t, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	pe := newPeer(c.repl)
	pe.budgets = newConnBudgets()
	start := time.Now()
	for k := uint64(0); k < 1000; k++ {
		if err := pe.onRange(&wire.Range{Start: 1 << 40, Length: 1 << 40}); err != nil {
			t.Fatal(err)
		}
		if err := pe.onRange(&wire.Range{Drop: true, Start: 1 << 39, Length: 1 << 62}); err != nil {
			t.Fatal(err)
		}
		if err := pe.onWant(0, 1<<62, false); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("3000 huge announcements took %v", d)
	}
	if len(pe.remoteBits) != 0 || pe.budgets.remoteWords.Used() != 0 {
		t.Errorf("after the drops: %d words held, %d charged", len(pe.remoteBits), pe.budgets.remoteWords.Used())
	}
	// One range: blocks [100, 100+maxRangeBits) are marked, not more.
	if err := pe.onRange(&wire.Range{Start: 100, Length: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		i    uint64
		want bool
	}{{99, false}, {100, true}, {131, true}, {100 + maxRangeBits - 1, true}, {100 + maxRangeBits, false}} {
		if got := pe.remoteHas(tc.i); got != tc.want {
			t.Errorf("remoteHas(%d) = %v, want %v", tc.i, got, tc.want)
		}
	}
	if got, want := pe.budgets.remoteWords.Used(), uint64(len(pe.remoteBits)); got != want {
		t.Errorf("charged %d words, %d held", got, want)
	}
	if got := pe.nextAnnounced(0, 1<<50); got != 100 {
		t.Errorf("nextAnnounced(0) = %d, want 100", got)
	}
	if got := pe.nextAnnounced(100+maxRangeBits, 1<<50); got != 1<<50 {
		t.Errorf("nextAnnounced past the range = %d, want the end", got)
	}
	// A drop in the middle, then a bitfield (the truth for its words).
	if err := pe.onRange(&wire.Range{Drop: true, Start: 130, Length: 40}); err != nil {
		t.Fatal(err)
	}
	if pe.remoteHas(129) != true || pe.remoteHas(130) || pe.remoteHas(169) || !pe.remoteHas(170) {
		t.Error("a drop of [130, 170) cleared the wrong blocks")
	}
	if err := pe.onBitfield(&wire.Bitfield{Start: 128, Bitfield: []uint32{0, 1 << 3}}); err != nil {
		t.Fatal(err)
	}
	if pe.remoteHas(129) || !pe.remoteHas(163) || pe.remoteHas(164) {
		t.Error("a bitfield did not replace its words")
	}
	if got := pe.nextAnnounced(130, 1<<50); got != 163 {
		t.Errorf("nextAnnounced(130) = %d, want 163", got)
	}
}

// TestWantAnswers: a want is answered with the contiguous range and a
// bitfield of exactly the blocks held past it; an "any" want with the first
// held block; a want longer than a batch is ignored (JS).
func TestWantAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := newBlocksWriter(t, 300)
	r := newClone(t, w.Key())
	connect(t, r, w)
	held := []uint64{0, 1, 2, 3, 40, 41, 63, 64, 65, 200, 299}
	for _, i := range held {
		if _, err := r.GetContext(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	var sent []wire.Message
	r.mu.Lock()
	defer r.mu.Unlock()
	pe := newPeer(r.repl)
	pe.trace = func(s bool, m wire.Message) { sent = append(sent, m) }
	pe.ch = nilChannel(t)
	if err := pe.onWant(0, 1<<21, false); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 {
		t.Fatalf("want answered with %d messages, want range and bitfield: %+v", len(sent), sent)
	}
	if rg, ok := sent[0].(*wire.Range); !ok || rg.Start != 0 || rg.Length != 4 || rg.Drop {
		t.Errorf("first answer %+v, want range {0, 4}", sent[0])
	}
	bf, ok := sent[1].(*wire.Bitfield)
	if !ok || bf.Start != 0 || len(bf.Bitfield) != 10 {
		t.Fatalf("second answer %+v, want a bitfield from 0 of 10 words", sent[1])
	}
	for i := uint64(0); i < 320; i++ {
		got := bf.Bitfield[i/32]&(1<<(i%32)) != 0
		if want := r.st.Has(i) && i < 300; got != want {
			t.Errorf("bitfield bit %d = %v, want %v", i, got, want)
		}
	}
	sent = nil
	if err := pe.onWant(100, 150, true); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || sent[0].(*wire.Range).Start != 200 || sent[0].(*wire.Range).Length != 1 {
		t.Errorf("any want of [100, 250) answered %+v, want range {200, 1}", sent)
	}
	sent = nil
	if err := pe.onWant(0, 1<<21+1, false); err != nil || len(sent) != 0 {
		t.Errorf("a want longer than a batch: %v, answered %+v; want ignored", err, sent)
	}
}

// TestReplicateStalledPeer: a peer that never answers a block request is
// left after RequestTimeout: the block is asked of another peer, and it
// arrives once.
func TestReplicateStalledPeer(t *testing.T) {
	for _, loss := range []bool{false, true} {
		name := "stall"
		if loss {
			name = "loss"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			const target = 21
			w := newBlocksWriter(t, 50)
			r := newClone(t, w.Key())
			f := &fakePeer{w: w, silent: func(req *wire.Request) bool { return req.Block != nil }}
			d, l := tcp(t)
			go f.run(ctx, l, false)
			var mu sync.Mutex
			blocks := 0
			count := func(sent bool, m wire.Message) {
				if d, ok := m.(*wire.Data); ok && !sent && d.Block != nil {
					mu.Lock()
					blocks++
					mu.Unlock()
				}
			}
			timeout := time.Hour
			if !loss {
				timeout = 300 * time.Millisecond
			}
			replicating(t, ctx, r, d, &ReplicateOptions{Initiator: true, RequestTimeout: timeout, Trace: count})
			if _, err := r.Update(ctx, 0); err != nil {
				t.Fatal(err)
			}
			got := make(chan error, 1)
			go func() {
				v, err := r.GetContext(ctx, target)
				if err == nil && string(v) != fmt.Sprintf("block %d", target) {
					err = fmt.Errorf("GetContext = %q", v)
				}
				got <- err
			}()
			for f.requestsFor(target) == 0 {
				select {
				case <-ctx.Done():
					t.Fatal("the silent peer was not asked")
				case <-time.After(5 * time.Millisecond):
				}
			}
			d2, l2 := tcp(t)
			replicating(t, ctx, w, l2, nil)
			replicating(t, ctx, r, d2, &ReplicateOptions{Initiator: true, RequestTimeout: timeout, Trace: count})
			if loss {
				// The silent peer goes away: its request goes to the other.
				time.Sleep(50 * time.Millisecond)
				l.Close()
			}
			if err := <-got; err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if blocks != 1 {
				t.Errorf("%d data messages with a block received, want 1", blocks)
			}
		})
	}
}

// TestReplicateEmptyData: a peer answering a block request with data that
// has no block is not asked for that block again and again.
func TestReplicateEmptyData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := newBlocksWriter(t, 50)
	r := newClone(t, w.Key())
	f := &fakePeer{w: w, lie: func(w *Core, req *wire.Request, d *wire.Data) {
		if req.Block != nil {
			*d = wire.Data{Request: d.Request, Fork: d.Fork}
		}
	}}
	d, l := tcp(t)
	go f.run(ctx, l, false)
	replicating(t, ctx, r, d, &ReplicateOptions{Initiator: true})
	if _, err := r.Update(ctx, 0); err != nil {
		t.Fatal(err)
	}
	gctx, gcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer gcancel()
	if _, err := r.GetContext(gctx, 7); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetContext(7) = %v, want the deadline", err)
	}
	if n := f.requestsFor(7); n != 1 {
		t.Errorf("block 7 asked %d times of a peer that sent empty data, want 1", n)
	}
}

// discard is a protomux.Stream that takes every message and never reads.
type discard struct{ done chan struct{} }

func (d discard) ReadMessage() ([]byte, error) { <-d.done; return nil, net.ErrClosed }
func (d discard) WriteMessage([]byte) error    { return nil }
func (d discard) Close() error                 { return nil }

// nilChannel returns a hypercore channel on a mux whose messages go
// nowhere (a peer's sends are seen through its trace).
func nilChannel(t *testing.T) *protomux.Channel {
	d := discard{make(chan struct{})}
	m := protomux.New(d, nil)
	t.Cleanup(func() { close(d.done); m.Close() })
	return m.CreateChannel(protomux.ChannelOptions{Protocol: wire.Protocol, Messages: wire.NumTypes})
}

// TestReplicateRefusingPeer: a peer that answers every block request with
// noData is asked for each block once, and after maxRefused refusals for
// none until it syncs a new length (JS pauses it too).
func TestReplicateRefusingPeer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = maxRefused + 2000
	w := newWriter(t, nil)
	blocks := make([][]byte, n)
	for i := range blocks {
		blocks[i] = []byte{byte(i)}
	}
	if _, err := w.Append(blocks...); err != nil {
		t.Fatal(err)
	}
	r := newClone(t, w.Key())
	var f *fakePeer
	f = &fakePeer{w: w, silent: func(req *wire.Request) bool {
		if req.Block == nil {
			return false
		}
		f.send(&wire.NoData{Request: req.ID, Reason: wire.ReasonNotAvailable})
		return true
	}}
	d, l := tcp(t)
	go f.run(ctx, l, false)
	replicating(t, ctx, r, d, &ReplicateOptions{Initiator: true})
	if _, err := r.Update(ctx, 0); err != nil {
		t.Fatal(err)
	}
	// Download until the peer has been asked for maxRefused blocks (polled,
	// not timed: the race detector slows this down a lot), and a little
	// longer to see that no more are asked.
	dctx, dcancel := context.WithCancel(ctx)
	defer dcancel()
	done := make(chan error, 1)
	go func() { done <- r.Download(dctx, 0, n) }()
	for deadline := time.Now().Add(15 * time.Second); ; {
		f.mu.Lock()
		k := len(f.requests)
		f.mu.Unlock()
		if k >= maxRefused || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	dcancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Download = %v, want context.Canceled", err)
	}
	f.mu.Lock()
	asked := map[uint64]int{}
	for _, q := range f.requests {
		if q.Block != nil {
			asked[q.Block.Index]++
		}
	}
	f.mu.Unlock()
	for i, k := range asked {
		if k != 1 {
			t.Errorf("block %d asked %d times", i, k)
		}
	}
	if len(asked) < maxRefused || len(asked) > maxRefused+maxInflight+1 {
		t.Errorf("%d blocks asked of a peer refusing all, want about maxRefused = %d", len(asked), maxRefused)
	}
	// A new length from it: asked again.
	if _, err := w.Append([]byte("more")); err != nil {
		t.Fatal(err)
	}
	f.send(&wire.Sync{Fork: 0, Length: n + 1, CanUpgrade: true, Uploading: true, Downloading: true, HasManifest: true})
	before := len(asked)
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		k := len(f.requests)
		f.mu.Unlock()
		if k > before+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the peer was not asked again after a new length")
		}
		r.mu.Lock()
		r.repl.want(0, n)
		r.repl.unwant(0, n)
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicateStalledUpgrade: a peer that never answers an upgrade
// request does not hold the core's upgrades: after RequestTimeout another
// peer is asked.
func TestReplicateStalledUpgrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	w := newBlocksWriter(t, 20)
	r := newClone(t, w.Key())
	f := &fakePeer{w: w, silent: func(req *wire.Request) bool { return req.Upgrade != nil }}
	d, l := tcp(t)
	go f.run(ctx, l, false)
	opts := &ReplicateOptions{Initiator: true, RequestTimeout: 300 * time.Millisecond}
	replicating(t, ctx, r, d, opts)
	for {
		f.mu.Lock()
		k := len(f.requests)
		f.mu.Unlock()
		if k > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the silent peer was not asked for the upgrade")
		case <-time.After(5 * time.Millisecond):
		}
	}
	d2, l2 := tcp(t)
	replicating(t, ctx, w, l2, nil)
	replicating(t, ctx, r, d2, opts)
	if n, err := r.Update(ctx, 0); err != nil || n != 20 {
		t.Fatalf("Update = %d, %v; want 20 from the second peer", n, err)
	}
}

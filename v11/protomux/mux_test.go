package protomux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/v11/compact"
)

// recorder collects a channel's callbacks as strings, safe for use from
// the reader and the test.
type recorder struct {
	mu     sync.Mutex
	events []string
	signal chan struct{}
}

func newRecorder() *recorder { return &recorder{signal: make(chan struct{}, 1)} }

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// waitFor waits until the recorder holds n events and returns them.
func (r *recorder) waitFor(t testing.TB, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if e := r.get(); len(e) >= n {
			return e
		}
		select {
		case <-r.signal:
		case <-deadline:
			t.Fatalf("waited for %d events, have %q", n, r.get())
		}
	}
}

// opts returns channel options whose callbacks record into r as
// "name open <hex>", "name msg <type> <hex>", "name close <remote>".
func (r *recorder) opts(name, protocol string, id []byte, messages int) ChannelOptions {
	return ChannelOptions{
		Protocol: protocol,
		ID:       id,
		Messages: messages,
		OnOpen: func(ch *Channel, hs []byte) error {
			r.add(fmt.Sprintf("%s open %x", name, hs))
			return nil
		},
		OnMessage: func(ch *Channel, typ int, p []byte) error {
			r.add(fmt.Sprintf("%s msg %d %x", name, typ, p))
			return nil
		},
		OnClose: func(ch *Channel, remote bool) {
			r.add(fmt.Sprintf("%s close %v", name, remote))
		},
	}
}

// connected returns two muxes joined by an auto pipe and a function that
// starts their readers; the test opens the channels both sides need before
// it starts them, so that no open arrives before its channel exists.
func connected(t testing.TB, o *Options) (a, b *Mux, start func()) {
	t.Helper()
	p := newPipe(true)
	a, b = New(p.ends[0], o), New(p.ends[1], o)
	var ra, rb <-chan error
	t.Cleanup(func() {
		a.Close()
		b.Close()
		if ra != nil {
			waitErr(t, ra)
			waitErr(t, rb)
		}
	})
	return a, b, func() { ra, rb = runMux(a), runMux(b) }
}

func TestOpenPairRejectClose(t *testing.T) {
	a, b, start := connected(t, nil)
	ra, rb := newRecorder(), newRecorder()

	// Both sides open (p, id); the opens cross.
	ca := a.CreateChannel(ra.opts("a", "p", []byte{1}, 2))
	cb := b.CreateChannel(rb.opts("b", "p", []byte{1}, 2))
	if err := ca.Open([]byte("A")); err != nil {
		t.Fatal(err)
	}
	if err := cb.Open([]byte("B")); err != nil {
		t.Fatal(err)
	}
	start()
	if got := ra.waitFor(t, 1); got[0] != "a open 42" {
		t.Errorf("a: %q, want a open 42", got)
	}
	if got := rb.waitFor(t, 1); got[0] != "b open 41" {
		t.Errorf("b: %q, want b open 41", got)
	}
	if !ca.Opened() || !a.Opened("p", []byte{1}) {
		t.Error("a's channel is not open")
	}

	// b pairs protocol q on any id; a opens q/7 and is answered.
	rq := newRecorder()
	b.Pair("q", nil, func(protocol string, id []byte) {
		if err := b.CreateChannel(rq.opts("bq", protocol, id, 1)).Open([]byte("hb")); err != nil {
			t.Error(err)
		}
	})
	qa := a.CreateChannel(ra.opts("aq", "q", []byte{7}, 1))
	if err := qa.Open([]byte("ha")); err != nil {
		t.Fatal(err)
	}
	if got := rq.waitFor(t, 1); got[0] != "bq open 6861" {
		t.Errorf("bq: %q", got)
	}
	if got := ra.waitFor(t, 2); got[1] != "aq open 6862" {
		t.Errorf("a: %q", got)
	}

	// A message each way, and a type outside the table is refused.
	if err := ca.Send(1, []byte{9}); err != nil {
		t.Fatal(err)
	}
	if got := rb.waitFor(t, 2); got[1] != "b msg 1 09" {
		t.Errorf("b: %q", got)
	}
	if err := ca.Send(2, nil); !errors.Is(err, ErrUnknownType) {
		t.Errorf("Send(2) = %v, want ErrUnknownType", err)
	}

	// An open nobody answers is rejected; the channel closes as remote.
	rz := newRecorder()
	z := a.CreateChannel(rz.opts("z", "nobody", nil, 1))
	if err := z.Open(nil); err != nil {
		t.Fatal(err)
	}
	if got := rz.waitFor(t, 1); !cmp.Equal(got, []string{"z close true"}) {
		t.Errorf("rejected channel: %q", got)
	}
	if err := z.Send(0, nil); !errors.Is(err, ErrChannelClosed) {
		t.Errorf("Send on a rejected channel = %v, want ErrChannelClosed", err)
	}
	if !z.Closed() || z.Opened() {
		t.Error("rejected channel not closed")
	}

	// a closes; b closes its end without a reply.
	if err := ca.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rb.waitFor(t, 3); got[2] != "b close true" {
		t.Errorf("b: %q", got)
	}
	if got := ra.get(); got[len(got)-1] != "a close false" {
		t.Errorf("a: %q", got)
	}
	if err := ca.Send(0, nil); !errors.Is(err, ErrChannelClosed) {
		t.Errorf("Send after Close = %v, want ErrChannelClosed", err)
	}
	if err := cb.Send(0, nil); !errors.Is(err, ErrChannelClosed) {
		t.Errorf("Send on the remotely closed channel = %v, want ErrChannelClosed", err)
	}
	if a.Opened("p", []byte{1}) || b.Opened("p", []byte{1}) {
		t.Error("Opened after close")
	}
	// b closes q; a's end closes.
	if err := b.CreateChannel(ChannelOptions{Protocol: "x"}).Close(); err != nil {
		t.Errorf("Close of a channel never opened = %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	a, _, _ := connected(t, &Options{MaxChannels: 2})
	c1 := a.CreateChannel(ChannelOptions{Protocol: "p"})
	if err := c1.Open(nil); err != nil {
		t.Fatal(err)
	}
	if err := c1.Open(nil); !errors.Is(err, ErrAlreadyOpen) {
		t.Errorf("second Open = %v, want ErrAlreadyOpen", err)
	}
	if err := a.CreateChannel(ChannelOptions{Protocol: "p"}).Open(nil); !errors.Is(err, ErrAlreadyOpen) {
		t.Errorf("Open of a second (p, no id) = %v, want ErrAlreadyOpen", err)
	}
	if err := a.CreateChannel(ChannelOptions{Protocol: "p", ID: []byte{1}}).Open(nil); err != nil {
		t.Errorf("Open of (p, 01) = %v", err)
	}
	if err := a.CreateChannel(ChannelOptions{Protocol: "p", ID: []byte{2}}).Open(nil); !errors.Is(err, ErrTooManyChannels) {
		t.Errorf("Open of a third channel with MaxChannels 2 = %v, want ErrTooManyChannels", err)
	}
	big := a.CreateChannel(ChannelOptions{Protocol: "big", Messages: 1})
	a.Close()
	if err := big.Open(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Open after Close = %v, want ErrClosed", err)
	}
	if err := c1.Send(0, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

// TestLocalIDs checks local id numbering: from 1, the last freed id first,
// and a channel closed before the remote answered keeps its id until the
// remote's open (or reject) arrives.
func TestLocalIDs(t *testing.T) {
	p := newPipe(false)
	m := New(p.ends[0], nil)
	run := runMux(m)
	muxes := [2]*Mux{m, nil}
	open := func(protocol string) *Channel {
		c := m.CreateChannel(ChannelOptions{Protocol: protocol})
		if err := c.Open(nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	ids := func() []uint64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		var out []uint64
		for _, c := range m.local {
			if c == nil {
				out = append(out, 0)
			} else {
				out = append(out, c.localID)
			}
		}
		return out
	}
	c1, c2, c3 := open("a"), open("b"), open("c")
	if got := ids(); !cmp.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("ids %v, want [1 2 3]", got)
	}
	// The remote opens a and c (its ids 1 and 2): both pair.
	p.feed(0, appendOpen(nil, 1, "a", nil, nil))
	p.feed(0, appendOpen(nil, 2, "c", nil, nil))
	p.waitQuiet(t, muxes)
	c1.Close()
	c3.Close()
	// b (id 2) is closed before the remote answered: id 2 stays reserved.
	c2.Close()
	if c := open("d"); c.localID != 3 {
		t.Errorf("after closing 1 and 3, Open took id %d, want 3 (the last freed)", c.localID)
	}
	if c := open("e"); c.localID != 1 {
		t.Errorf("next Open took id %d, want 1", c.localID)
	}
	if c := open("f"); c.localID != 4 {
		t.Errorf("next Open took id %d, want 4 (2 is reserved)", c.localID)
	}
	// The remote's answer to b frees id 2.
	p.feed(0, appendOpen(nil, 3, "b", nil, nil))
	p.waitQuiet(t, muxes)
	if c := open("g"); c.localID != 2 {
		t.Errorf("after the remote answered the closed channel, Open took id %d, want 2", c.localID)
	}
	m.Close()
	waitErr(t, run)
}

// TestRemoteIDs checks the numbering rule for remote opens.
func TestRemoteIDs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ids   []uint64
		class error // of the last open; nil: all accepted
	}{
		{"grow by one", []uint64{1, 2, 3}, nil},
		{"reuse after reject", []uint64{1, 1, 2, 2}, nil},
		{"start at 2", []uint64{2}, ErrInvalidOpen},
		{"skip one", []uint64{1, 2, 4}, ErrInvalidOpen},
		{"zero", []uint64{0}, ErrInvalidOpen},
		{"above MaxChannels", []uint64{1, 2, 3, 4, 5}, ErrTooManyChannels},
		{"far above", []uint64{1 << 40}, ErrTooManyChannels},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipe(true)
			m := New(p.ends[0], &Options{MaxChannels: 4})
			run := runMux(m)
			for _, id := range tc.ids {
				p.feed(0, appendOpen(nil, id, "nobody", nil, nil))
			}
			p.feedEOF(0)
			err := waitErr(t, run)
			if tc.class == nil && err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
			if tc.class != nil && !errors.Is(err, tc.class) {
				t.Errorf("Run = %v, want %v", err, tc.class)
			}
			if !errors.Is(err, ErrProtocol) && err != nil {
				t.Errorf("Run = %v, not an ErrProtocol", err)
			}
		})
	}
	// An open for a remote id in use.
	p := newPipe(true)
	m := New(p.ends[0], nil)
	if err := m.CreateChannel(ChannelOptions{Protocol: "x"}).Open(nil); err != nil {
		t.Fatal(err)
	}
	run := runMux(m)
	p.feed(0, appendOpen(nil, 1, "x", nil, nil))
	p.feed(0, appendOpen(nil, 1, "y", nil, nil))
	if err := waitErr(t, run); !errors.Is(err, ErrInvalidOpen) {
		t.Errorf("open of an id in use: Run = %v, want ErrInvalidOpen", err)
	}
}

// TestTruncations parses every proper prefix of every kind of frame: each
// is ErrBadFrame, except where the prefix is itself a whole frame (an open
// cut inside its handshake, a batch cut at an entry boundary).
func TestTruncations(t *testing.T) {
	type cut struct {
		name  string
		frame []byte
		valid map[int]bool // prefix lengths that are whole frames
	}
	open := appendOpen(nil, 300, "hypercore/alpha", bytes.Repeat([]byte{0xdd}, 32), []byte{1, 2, 3})
	openHead := len(open) - 3
	batch := appendBatch(nil, []batchEntry{
		{1, []byte{0, 7}}, {1, []byte{1, 'a', 'b'}}, {300, []byte{2}}, {0, appendControl(nil, typeClose, 1)[1:]},
	})
	// 00 00 01 | 02 00 07 | 03 01 61 62 | 00 fd 2c 01 | 01 02 | 00 00 | 02 03 01
	batchCuts := map[int]bool{3: true, 6: true, 10: true, 14: true, 16: true, 18: true}
	cases := []cut{
		{"open", open, map[int]bool{openHead: true, openHead + 1: true, openHead + 2: true}},
		{"open without id", appendOpen(nil, 1, "p", nil, nil), nil},
		{"reject", appendControl(nil, typeReject, 70000), nil},
		{"close", appendControl(nil, typeClose, 1<<40), nil},
		{"batch", batch, batchCuts},
		{"message", appendMessage(nil, 70000, 300, nil), nil},
	}
	for _, c := range cases {
		if _, err := parseFrame(c.frame, testLimits, nil); err != nil {
			t.Fatalf("%s: parseFrame(%x) = %v", c.name, c.frame, err)
		}
		for n := 1; n < len(c.frame); n++ {
			msgs, err := parseFrame(c.frame[:n], testLimits, nil)
			if c.valid[n] {
				if err != nil {
					t.Errorf("%s: parseFrame(%x) = %v, want a frame", c.name, c.frame[:n], err)
				}
				continue
			}
			if !errors.Is(err, ErrBadFrame) {
				t.Errorf("%s: parseFrame(%x) = %v, %v, want ErrBadFrame", c.name, c.frame[:n], describe(msgs), err)
			}
		}
	}
}

// TestUnknownIgnored: messages for channels never opened or closed, types
// beyond the table, unknown control types and empty frames change nothing.
func TestUnknownIgnored(t *testing.T) {
	p := newPipe(true)
	m := New(p.ends[0], nil)
	r := newRecorder()
	if err := m.CreateChannel(r.opts("x", "x", nil, 1)).Open(nil); err != nil {
		t.Fatal(err)
	}
	run := runMux(m)
	for _, f := range [][]byte{
		{}, {5, 0, 1}, {0, 9}, {0, 3, 7}, appendMessage(nil, 1<<30, 0, []byte("x")),
		appendOpen(nil, 1, "x", nil, []byte("h")), {1, 1, 0xaa}, {1, 0, 0xbb}, {0, 3, 1}, {1, 0, 0xcc},
	} {
		p.feed(0, f)
	}
	p.feedEOF(0)
	if err := waitErr(t, run); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"x open 68", "x msg 0 bb", "x close true"}
	if got := r.get(); !cmp.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestAliases: a remote open under an alias pairs with the channel.
func TestAliases(t *testing.T) {
	a, b, start := connected(t, nil)
	ra, rb := newRecorder(), newRecorder()
	o := ra.opts("a", "hypercore/alpha", []byte{1}, 1)
	o.Aliases = []string{"hypercore"}
	if err := a.CreateChannel(o).Open(nil); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateChannel(rb.opts("b", "hypercore", []byte{1}, 1)).Open([]byte{5}); err != nil {
		t.Fatal(err)
	}
	start()
	if got := ra.waitFor(t, 1); got[0] != "a open 05" {
		t.Errorf("a: %q", got)
	}
}

// TestBatchSplit: a cork that collects more than MaxBatch is sent as
// several batches, as JS does: a new batch starts when the current one has
// reached MaxBatch.
func TestBatchSplit(t *testing.T) {
	p := newPipe(false)
	m := New(p.ends[0], nil)
	c := m.CreateChannel(ChannelOptions{Protocol: "p", Messages: 1})
	if err := c.Open(nil); err != nil {
		t.Fatal(err)
	}
	run := runMux(m)
	payload := bytes.Repeat([]byte{7}, 1<<20)
	m.Cork()
	for range 9 {
		if err := c.Send(0, payload); err != nil {
			t.Fatal(err)
		}
	}
	m.Uncork()
	p.waitQuiet(t, [2]*Mux{m, nil})
	frames := p.takeHeld(0)[1:] // after the open
	if len(frames) != 2 {
		t.Fatalf("%d frames, want 2", len(frames))
	}
	var n []int
	for _, f := range frames {
		msgs, err := parseFrame(f, testLimits, nil)
		if err != nil {
			t.Fatal(err)
		}
		n = append(n, len(msgs))
	}
	// 1 + 2 + 8 × (5 + 1 + 2^20) ≥ 8 MiB after eight entries.
	if !cmp.Equal(n, []int{8, 1}) {
		t.Errorf("entries per batch %v, want [8 1]", n)
	}
	m.Close()
	waitErr(t, run)
}

// TestCorkedOrder is the property that any sequence of messages on any
// channels, sent with corks anywhere, arrives in order on the right
// channels.
func TestCorkedOrder(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p := newPipe(true)
		a, b := New(p.ends[0], nil), New(p.ends[1], nil)
		ra, rb := runMux(a), runMux(b)
		defer func() {
			a.Close()
			b.Close()
			<-ra
			<-rb
		}()
		k := rapid.IntRange(1, 4).Draw(rt, "channels")
		var got []string
		var mu sync.Mutex
		done := make(chan struct{}, 1)
		want := 0
		var chans []*Channel
		for i := range k {
			name := fmt.Sprintf("c%d", i)
			// b answers a's open through a pair handler.
			b.Pair(name, nil, func(protocol string, id []byte) {
				b.CreateChannel(ChannelOptions{Protocol: name, Messages: 3, OnMessage: func(ch *Channel, typ int, p []byte) error {
					mu.Lock()
					got = append(got, fmt.Sprintf("%s %d %x", name, typ, p))
					if len(got) == want {
						done <- struct{}{}
					}
					mu.Unlock()
					return nil
				}}).Open(nil)
			})
			c := a.CreateChannel(ChannelOptions{Protocol: name, Messages: 3})
			if err := c.Open(nil); err != nil {
				rt.Fatal(err)
			}
			chans = append(chans, c)
		}
		type send struct {
			ch, typ int
			p       []byte
			cork    int // 0 none, 1 cork before, 2 uncork after
		}
		sends := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) send {
			return send{
				ch:   rapid.IntRange(0, k-1).Draw(rt, "ch"),
				typ:  rapid.IntRange(0, 2).Draw(rt, "type"),
				p:    rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(rt, "payload"),
				cork: rapid.IntRange(0, 2).Draw(rt, "cork"),
			}
		}), 1, 60).Draw(rt, "sends")
		var expect []string
		mu.Lock()
		want = len(sends)
		mu.Unlock()
		corks := 0
		for _, s := range sends {
			if s.cork == 1 {
				a.Cork()
				corks++
			}
			if err := chans[s.ch].Send(s.typ, s.p); err != nil {
				rt.Fatal(err)
			}
			expect = append(expect, fmt.Sprintf("c%d %d %x", s.ch, s.typ, s.p))
			if s.cork == 2 && corks > 0 {
				a.Uncork()
				corks--
			}
		}
		for ; corks > 0; corks-- {
			a.Uncork()
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			mu.Lock()
			defer mu.Unlock()
			rt.Fatalf("received %d of %d", len(got), len(expect))
		}
		mu.Lock()
		defer mu.Unlock()
		if d := cmp.Diff(expect, got); d != "" {
			rt.Fatalf("received (-sent +received):\n%s", d)
		}
	})
}

// TestHostile feeds a mux opens on every remote id it allows and frames
// with huge claimed lengths, and checks that each is refused with its
// class and that memory stays bounded.
func TestHostile(t *testing.T) {
	const maxCh = 1000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	// Many opens: every id up to MaxChannels is rejected (nothing kept but
	// the table of remote ids), the next is too many.
	p := newPipe(true)
	m := New(p.ends[0], &Options{MaxChannels: maxCh})
	run := runMux(m)
	for id := uint64(1); id <= maxCh+1; id++ {
		p.feed(0, appendOpen(nil, id, "x", bytes.Repeat([]byte{1}, 32), nil))
	}
	if err := waitErr(t, run); !errors.Is(err, ErrTooManyChannels) {
		t.Errorf("open %d: Run = %v, want ErrTooManyChannels", maxCh+1, err)
	}
	m.mu.Lock()
	if len(m.remote) != maxCh || len(m.infos) != 0 {
		t.Errorf("after %d rejected opens: %d remote ids, %d infos", maxCh, len(m.remote), len(m.infos))
	}
	m.mu.Unlock()

	// Huge claimed lengths.
	for _, tc := range []struct {
		name  string
		frame []byte
		class error
	}{
		{"protocol of 2^32-1 bytes", append([]byte{0, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0xff}, "x"...), ErrBadFrame},
		{"protocol of 2^53-1 bytes", compact.AppendUint([]byte{0, 1, 1}, 1<<53-1), ErrBadFrame},
		{"id of 2^40 bytes", compact.AppendUint(compact.AppendString([]byte{0, 1, 1}, "p"), 1<<40), ErrBadFrame},
		{"batch entry of 2^53-1 bytes", compact.AppendUint([]byte{0, 0, 1}, 1<<53-1), ErrBadFrame},
		{"batch entry above 2^53-1", []byte{0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ErrBadFrame},
		{"protocol over MaxProtocolLength", appendOpen(nil, 1, string(bytes.Repeat([]byte{'p'}, 65)), nil, nil), ErrTooLarge},
		{"id over MaxIDLength", appendOpen(nil, 1, "p", bytes.Repeat([]byte{1}, 65), nil), ErrTooLarge},
		{"frame over MaxFrameSize", make([]byte, 4097), ErrTooLarge},
	} {
		p := newPipe(true)
		m := New(p.ends[0], &Options{MaxProtocolLength: 64, MaxIDLength: 64, MaxFrameSize: 4096})
		run := runMux(m)
		p.feed(0, tc.frame)
		if err := waitErr(t, run); !errors.Is(err, tc.class) {
			t.Errorf("%s: Run = %v, want %v", tc.name, err, tc.class)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.TotalAlloc) - int64(before.TotalAlloc); grew > 16<<20 {
		t.Errorf("allocated %d bytes", grew)
	}
}

// TestSlowPeer: replies to a peer that does not read end the mux once more
// than MaxQueued waits.
func TestSlowPeer(t *testing.T) {
	st := &stuckStream{in: make(chan []byte, 10000), unblock: make(chan struct{})}
	m := New(st, &Options{MaxQueued: 1000})
	run := runMux(m)
	for id := uint64(1); id <= 1000; id++ {
		st.in <- appendOpen(nil, id, "nobody", nil, nil)
	}
	if err := waitErr(t, run); !errors.Is(err, ErrSlowPeer) {
		t.Errorf("Run = %v, want ErrSlowPeer", err)
	}
}

// stuckStream reads from in; its writes block until unblock is closed (or
// it is closed).
type stuckStream struct {
	in      chan []byte
	unblock chan struct{}
	once    sync.Once
}

func (s *stuckStream) ReadMessage() ([]byte, error) {
	select {
	case b := <-s.in:
		return b, nil
	case <-s.unblock:
		return nil, errPipeClosed
	}
}

func (s *stuckStream) WriteMessage(p []byte) error {
	<-s.unblock
	return errPipeClosed
}

func (s *stuckStream) Close() error {
	s.once.Do(func() { close(s.unblock) })
	return nil
}

// TestCallbackError: an error from OnMessage or OnOpen ends the mux and
// Run returns it.
func TestCallbackError(t *testing.T) {
	boom := errors.New("boom")
	for _, inOpen := range []bool{false, true} {
		p := newPipe(true)
		m := New(p.ends[0], nil)
		r := newRecorder()
		o := r.opts("x", "x", nil, 1)
		o.OnMessage = func(*Channel, int, []byte) error { return boom }
		if inOpen {
			o.OnOpen = func(*Channel, []byte) error { return boom }
		}
		if err := m.CreateChannel(o).Open(nil); err != nil {
			t.Fatal(err)
		}
		run := runMux(m)
		p.feed(0, appendOpen(nil, 1, "x", nil, nil))
		p.feed(0, appendMessage(nil, 1, 0, nil))
		if err := waitErr(t, run); !errors.Is(err, boom) {
			t.Errorf("Run = %v, want boom", err)
		}
		if got := r.get(); got[len(got)-1] != "x close true" {
			t.Errorf("events %q, want a remote close at the end", got)
		}
	}
}

// TestContext: cancelling Run's context ends the mux with ctx.Err().
func TestContext(t *testing.T) {
	p := newPipe(true)
	m := New(p.ends[0], nil)
	ctx, cancel := context.WithCancel(context.Background())
	run := make(chan error, 1)
	go func() { run <- m.Run(ctx) }()
	cancel()
	if err := waitErr(t, run); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// syncStream is one end of an unbuffered message pipe: a write waits
// until the peer reads it, as a full TCP connection does.
type syncStream struct {
	in, out chan []byte
	done    chan struct{}
	once    *sync.Once
}

func syncPipe() (*syncStream, *syncStream) {
	ab, ba := make(chan []byte), make(chan []byte)
	done := make(chan struct{})
	once := new(sync.Once)
	return &syncStream{in: ba, out: ab, done: done, once: once}, &syncStream{in: ab, out: ba, done: done, once: once}
}

func (s *syncStream) ReadMessage() ([]byte, error) {
	select {
	case b := <-s.in:
		return b, nil
	case <-s.done:
		return nil, errPipeClosed
	}
}

func (s *syncStream) WriteMessage(p []byte) error {
	select {
	case s.out <- bytes.Clone(p):
		return nil
	case <-s.done:
		return errPipeClosed
	}
}

func (s *syncStream) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}

// TestEchoNoDeadlock: both sides answer every message from their
// callbacks over a stream whose writes wait for the peer's reads. A mux
// that wrote from its reader would deadlock here.
func TestEchoNoDeadlock(t *testing.T) {
	sa, sb := syncPipe()
	a, b := New(sa, nil), New(sb, nil)
	const rounds = 2000
	var count [2]int
	finished := make(chan struct{})
	mk := func(m *Mux, i int) *Channel {
		return m.CreateChannel(ChannelOptions{Protocol: "echo", Messages: 1, OnMessage: func(ch *Channel, typ int, p []byte) error {
			count[i]++
			if count[i] == rounds && i == 0 {
				close(finished)
			}
			if count[i] <= rounds {
				// several answers each time, so the queues grow
				for range 3 {
					if err := ch.Send(0, p); err != nil {
						return err
					}
				}
			}
			return nil
		}})
	}
	ca, cb := mk(a, 0), mk(b, 1)
	if err := ca.Open(nil); err != nil {
		t.Fatal(err)
	}
	if err := cb.Open(nil); err != nil {
		t.Fatal(err)
	}
	ra, rb := runMux(a), runMux(b)
	if err := ca.Send(0, bytes.Repeat([]byte{1}, 100)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		t.Fatal("no progress: deadlock")
	}
	a.Close()
	b.Close()
	waitErr(t, ra)
	waitErr(t, rb)
}

// TestConcurrentSenders: goroutines send on several channels at once,
// some corked; every channel receives its messages in the order sent.
func TestConcurrentSenders(t *testing.T) {
	a, b, start := connected(t, nil)
	const senders, perSender = 8, 300
	var mu sync.Mutex
	got := map[string][]int{}
	all := make(chan struct{})
	total := 0
	for i := range senders {
		name := fmt.Sprintf("s%d", i)
		b.CreateChannel(ChannelOptions{Protocol: name, Messages: 1, OnMessage: func(ch *Channel, typ int, p []byte) error {
			d := compact.NewDecoder(p)
			n := d.Uint()
			mu.Lock()
			got[name] = append(got[name], int(n))
			total++
			if total == senders*perSender {
				close(all)
			}
			mu.Unlock()
			return d.Err()
		}}).Open(nil)
	}
	var cs []*Channel
	for i := range senders {
		c := a.CreateChannel(ChannelOptions{Protocol: fmt.Sprintf("s%d", i), Messages: 1})
		if err := c.Open(nil); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	start()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perSender {
				if n%7 == 0 {
					a.Cork()
				}
				if err := c.Send(0, compact.AppendUint(nil, uint64(n))); err != nil {
					t.Error(err)
					return
				}
				if n%7 == 3 {
					a.Uncork()
				}
			}
		}()
	}
	wg.Wait()
	for a.corkedCount() > 0 {
		a.Uncork()
	}
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Fatal("not all messages arrived")
	}
	for name, ns := range got {
		for i, n := range ns {
			if n != i {
				t.Fatalf("%s: message %d is %d", name, i, n)
			}
		}
	}
}

func (m *Mux) corkedCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.corked
}

func TestWhenDrained(t *testing.T) {
	p := newPipe(false)
	a := New(p.ends[0], nil)
	defer a.Close()
	c := a.CreateChannel(ChannelOptions{Protocol: "p", Messages: 1})
	if err := c.Open(nil); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := c.Send(0, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	drained := make(chan int, 1)
	a.WhenDrained(1, func() { drained <- a.Queued() })
	select {
	case q := <-drained:
		if q != 0 {
			t.Errorf("Queued() = %d when drained", q)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WhenDrained never ran")
	}
}

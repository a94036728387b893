package core

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/message"
)

func TestMatchExtensions(t *testing.T) {
	for _, tc := range []struct {
		local, remote []string
		want          []string // per remote index, the local name matched or ""
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, []string{"a", "b"}},
		{[]string{"a", "b"}, []string{"c", "d"}, []string{"", ""}},
		{[]string{"a", "b", "c"}, []string{"b", "c", "d"}, []string{"b", "c", ""}},
		{[]string{"b"}, []string{"a", "b", "c"}, []string{"", "b", ""}},
		{nil, []string{"a"}, []string{""}},
		{[]string{"a"}, nil, []string{}},
		// out of order: the merge walk, as JS, misses "a"
		{[]string{"a", "b"}, []string{"b", "a"}, []string{"b", ""}},
		// JS orders by UTF-16 code units: U+1F600 (0xd83d 0xde00) before
		// U+FF01, where Go's < puts it after
		{[]string{"\uff01", "\U0001f600"}, []string{"\U0001f600", "\uff01"}, []string{"\U0001f600", "\uff01"}},
		{[]string{"\uff01", "\U0001f600"}, []string{"\uff01", "\U0001f600"}, []string{"\uff01", ""}},
	} {
		var local []*Extension
		for _, n := range tc.local {
			local = append(local, &Extension{name: n})
		}
		x := extensions{list: local}
		x.renumber()
		got := []string{}
		for _, e := range matchExtensions(x.list, tc.remote) {
			if e == nil {
				got = append(got, "")
			} else {
				got = append(got, e.name)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("matchExtensions(%q, %q) = %q, want %q", tc.local, tc.remote, got, tc.want)
		}
	}
}

func TestRegisterExtensionSortsAndRejectsDuplicates(t *testing.T) {
	kp := testKeyPair(t)
	f, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	defer f.Close()
	for _, n := range []string{"c", "a", "b"} {
		if _, err := f.RegisterExtension(n, ExtensionHandler{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.Extensions(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("Extensions() = %q, want [a b c]", got)
	}
	e, _ := f.RegisterExtension("d", ExtensionHandler{})
	if err := e.Send(nil, []byte("x")); !errors.Is(err, ErrNotFeedPeer) {
		t.Fatalf("Send(nil) = %v, want ErrNotFeedPeer", err)
	}
	if err := e.Send(&Peer{}, []byte("x")); !errors.Is(err, ErrNotFeedPeer) {
		t.Fatalf("Send(another feed's peer) = %v, want ErrNotFeedPeer", err)
	}
	if _, err := f.RegisterExtension("b", ExtensionHandler{}); !errors.Is(err, ErrExtensionExists) {
		t.Fatalf("RegisterExtension(b) again = %v, want ErrExtensionExists", err)
	}
}

// extRecorder records what an extension's handler receives.
type extRecorder struct {
	mu   sync.Mutex
	got  []string // "name:message"
	errs []string
	cond chan struct{}
}

func newExtRecorder() *extRecorder { return &extRecorder{cond: make(chan struct{}, 1000)} }

func (r *extRecorder) handler(name string, enc Encoding) ExtensionHandler {
	return ExtensionHandler{
		Encoding: enc,
		OnMessage: func(msg any, from *Peer) {
			r.mu.Lock()
			r.got = append(r.got, fmt.Sprintf("%s:%s", name, msg))
			r.mu.Unlock()
			r.cond <- struct{}{}
		},
		OnError: func(err error, from *Peer) {
			r.mu.Lock()
			r.errs = append(r.errs, name)
			r.mu.Unlock()
			r.cond <- struct{}{}
		},
	}
}

func (r *extRecorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// extPair connects a writer and a reader feed live, a initiating, and
// returns them; Trace records the Options each side sends.
type extPair struct {
	a, b   *Feed
	ra, rb *extRecorder
	ea, eb map[string]*Extension
	optsA  chan *message.Options
	ctx    context.Context
}

func newExtPair(t *testing.T, namesA, namesB []string) *extPair {
	t.Helper()
	kp := testKeyPair(t)
	a, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	b, _ := Open(storage.NewMemory(), &Options{Key: a.Key()})
	t.Cleanup(func() { a.Close(); b.Close() })
	p := &extPair{a: a, b: b, ra: newExtRecorder(), rb: newExtRecorder(), ea: map[string]*Extension{}, eb: map[string]*Extension{}, optsA: make(chan *message.Options, 100)}
	for _, n := range namesA {
		p.register(t, a, n)
	}
	for _, n := range namesB {
		p.register(t, b, n)
	}
	ca, cb := net.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	p.ctx = ctx
	t.Cleanup(func() { cancel(); ca.Close(); cb.Close() })
	trace := func(sent bool, ch uint64, m message.Message) {
		if o, ok := m.(*message.Options); ok && sent {
			p.optsA <- o
		}
	}
	go a.Replicate(ctx, ca, &ReplicateOptions{Initiator: true, Live: true, Trace: trace})
	go b.Replicate(ctx, cb, &ReplicateOptions{Live: true})
	return p
}

func (p *extPair) register(t *testing.T, f *Feed, name string) {
	t.Helper()
	r, m := p.ra, p.ea
	if f == p.b {
		r, m = p.rb, p.eb
	}
	e, err := f.RegisterExtension(name, r.handler(name, UTF8))
	if err != nil {
		t.Fatal(err)
	}
	m[name] = e
}

// peer waits until f has a peer that announced want, and returns it.
func waitRemoteNames(t *testing.T, ctx context.Context, f *Feed, want []string) *Peer {
	t.Helper()
	for {
		for _, p := range f.Peers() {
			if slices.Equal(p.RemoteExtensions(), want) {
				return p
			}
		}
		select {
		case <-ctx.Done():
			var got [][]string
			for _, p := range f.Peers() {
				got = append(got, p.RemoteExtensions())
			}
			t.Fatalf("peers announced %q, want %q", got, want)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// barrier returns once b has processed everything a sent before it: a
// appends a block and b downloads it (messages on a channel are handled
// in order).
func (p *extPair) barrier(t *testing.T) {
	t.Helper()
	n := p.a.Length()
	if _, err := p.a.Append([]byte(fmt.Sprint("barrier ", n))); err != nil {
		t.Fatal(err)
	}
	if _, err := p.b.GetContext(p.ctx, n); err != nil {
		t.Fatalf("barrier: %v", err)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestExtensionsGoToGo(t *testing.T) {
	for _, tc := range []struct {
		name           string
		namesA, namesB []string
	}{
		{"Same", []string{"beta", "alpha"}, []string{"alpha", "beta"}},
		{"Different", []string{"alpha", "beta"}, []string{"gamma", "delta"}},
		{"Overlapping", []string{"b", "c", "a"}, []string{"d", "c", "b", "zz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newExtPair(t, tc.namesA, tc.namesB)
			peerB := waitRemoteNames(t, p.ctx, p.a, sorted(tc.namesB))
			waitRemoteNames(t, p.ctx, p.b, sorted(tc.namesA))
			// a sends on each of its names; b gets those it has too
			var want []string
			for _, n := range sorted(tc.namesA) {
				if err := p.ea[n].Send(peerB, "hello "+n); err != nil {
					t.Fatal(err)
				}
				if slices.Contains(tc.namesB, n) {
					want = append(want, n+":hello "+n)
				}
			}
			p.barrier(t)
			if got := p.rb.messages(); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("b received %q, want %q", got, want)
			}
			if got := peerB.RemoteSupports(p.ea[sorted(tc.namesA)[0]]); got != slices.Contains(tc.namesB, sorted(tc.namesA)[0]) {
				t.Fatalf("RemoteSupports = %v", got)
			}
		})
	}
}

func TestExtensionUnknownIDIgnored(t *testing.T) {
	p := newExtPair(t, []string{"a", "b"}, []string{"a", "b"})
	peerB := waitRemoteNames(t, p.ctx, p.a, []string{"a", "b"})
	p.a.mu.Lock()
	peerB.sendExtension(2, []byte("beyond the list"))
	peerB.sendExtension(1<<40, []byte("far beyond"))
	peerB.sendExtension(1, []byte("to b"))
	p.a.unlock()
	p.barrier(t)
	if got, want := p.rb.messages(), []string{"b:to b"}; !slices.Equal(got, want) {
		t.Fatalf("b received %q, want %q", got, want)
	}
}

func TestExtensionIgnoredBeforeOptions(t *testing.T) {
	// b has an extension but a has none: a never sends Options, so b maps
	// nothing and ignores a's id 0.
	p := newExtPair(t, nil, []string{"a"})
	peerB := waitRemoteNames(t, p.ctx, p.a, []string{"a"})
	p.a.mu.Lock()
	peerB.sendExtension(0, []byte("unannounced"))
	p.a.unlock()
	p.barrier(t)
	if got := p.rb.messages(); len(got) != 0 {
		t.Fatalf("b received %q, want nothing", got)
	}
}

func TestExtensionRegisterAfterConnect(t *testing.T) {
	p := newExtPair(t, []string{"m"}, []string{"m"})
	peerB := waitRemoteNames(t, p.ctx, p.a, []string{"m"})
	waitRemoteNames(t, p.ctx, p.b, []string{"m"})
	// a adds "a", which sorts first: a's id for "m" moves from 0 to 1
	p.register(t, p.a, "a")
	// b adds "a" too, after a's Options may have arrived: b rematches
	p.register(t, p.b, "a")
	waitRemoteNames(t, p.ctx, p.b, []string{"a", "m"})
	waitRemoteNames(t, p.ctx, p.a, []string{"a", "m"})
	p.ea["m"].Send(peerB, "one")
	p.ea["a"].Send(peerB, "two")
	p.barrier(t)
	if got, want := p.rb.messages(), []string{"m:one", "a:two"}; !slices.Equal(got, want) {
		t.Fatalf("b received %q, want %q", got, want)
	}
	// destroy re-announces too
	p.ea["a"].Destroy()
	waitRemoteNames(t, p.ctx, p.b, []string{"m"})
	if _, err := p.ea["a"].Broadcast("x"); !errors.Is(err, ErrExtensionDestroyed) {
		t.Fatalf("Broadcast after Destroy = %v", err)
	}
	if n, err := p.ea["m"].Broadcast("three"); n != 1 || err != nil {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	p.barrier(t)
	if got, want := p.rb.messages(), []string{"m:one", "a:two", "m:three"}; !slices.Equal(got, want) {
		t.Fatalf("b received %q, want %q", got, want)
	}
}

// TestExtensionOptionsBytes: the Options a peer sends are JS's
// {ack, extensions: names()}: the sorted names, then ack = false, present.
func TestExtensionOptionsBytes(t *testing.T) {
	p := newExtPair(t, []string{"b", "a"}, nil)
	select {
	case o := <-p.optsA:
		got := hex.EncodeToString(o.AppendBody(nil))
		// the bytes JS writes for Options{extensions: ["a", "b"], ack: false}: field 1 twice, then field 2 = 0 (interop TestExtensionsJS compares Go's with JS's live)
		if want := "0a01610a01621000"; got != want {
			t.Fatalf("Options = %s, want %s", got, want)
		}
	case <-p.ctx.Done():
		t.Fatal("no Options sent")
	}
}

func TestExtensionDecodeError(t *testing.T) {
	kp := testKeyPair(t)
	a, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	b, _ := Open(storage.NewMemory(), &Options{Key: a.Key()})
	defer a.Close()
	defer b.Close()
	ea, _ := a.RegisterExtension("j", ExtensionHandler{})
	errs := make(chan error, 1)
	msgs := make(chan any, 2)
	b.RegisterExtension("j", ExtensionHandler{Encoding: JSON,
		OnMessage: func(m any, _ *Peer) { msgs <- m },
		OnError:   func(err error, _ *Peer) { errs <- err }})
	connect(t, a, b, true)
	ctx := ctx5(t)
	peer := waitRemoteNames(t, ctx, a, []string{"j"})
	ea.Send(peer, []byte("{not json"))
	ea.Send(peer, []byte(`{"x":[1,"<y>"]}`))
	select {
	case err := <-errs:
		if err == nil {
			t.Fatal("OnError(nil)")
		}
	case <-ctx.Done():
		t.Fatal("no OnError for bad JSON")
	}
	select {
	case m := <-msgs:
		if got := fmt.Sprint(m); got != "map[x:[1 <y>]]" {
			t.Fatalf("OnMessage(%s)", got)
		}
	case <-ctx.Done():
		t.Fatal("no OnMessage")
	}
	if b, _ := JSON.Encode(map[string]any{"x": "<y>"}); string(b) != `{"x":"<y>"}` {
		t.Fatalf("JSON.Encode = %s", b)
	}
}

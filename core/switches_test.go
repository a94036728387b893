package core

import (
	"context"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
)

// openedPeer returns the feed's next peer whose channel opens.
func openedPeer(t *testing.T, sub *Subscription) *Peer {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Type == EventPeerOpen {
				return e.Peer
			}
		case <-timeout:
			t.Fatal("no EventPeerOpen within 10 s")
		}
	}
}

// eventually fails the test unless cond holds within 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// getLater starts GetWith(i, WaitForPeers) and returns its result.
func getLater(ctx context.Context, r *Feed, i uint64) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := r.GetWith(ctx, i, &GetOptions{WaitForPeers: true})
		done <- err
	}()
	return done
}

func sparseReader(t *testing.T, w *Feed) *Feed {
	t.Helper()
	r, err := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestSetUploading: a writer that stops uploading tells its reader
// (Status{uploading: false}), which then gets nothing; a wait that keeps
// waiting completes once the writer uploads again.
func TestSetUploading(t *testing.T) {
	w := blocksFeed(t, 100)
	r := sparseReader(t, w)
	sub := r.Subscribe()
	defer sub.Close()
	connect(t, w, r, true)
	rp := openedPeer(t, sub)
	ctx := ctx5(t)
	if _, err := r.GetContext(ctx, 0); err != nil {
		t.Fatalf("GetContext(0) = %v", err)
	}
	w.SetUploading(false)
	if w.Uploading() {
		t.Fatal("Uploading() = true after SetUploading(false)")
	}
	eventually(t, "reader sees RemoteUploading() = false", func() bool { return !rp.RemoteUploading() })
	done := getLater(ctx, r, 50)
	select {
	case err := <-done:
		t.Fatalf("GetWith(50) returned %v while the writer does not upload", err)
	case <-time.After(300 * time.Millisecond):
	}
	if got := w.Stats().UploadedBlocks; got != 1 {
		t.Fatalf("writer uploaded %d blocks, want only block 0", got)
	}
	w.SetUploading(true)
	if err := <-done; err != nil {
		t.Fatalf("GetWith(50) after SetUploading(true) = %v", err)
	}
	if !rp.RemoteUploading() {
		t.Fatal("RemoteUploading() = false after SetUploading(true)")
	}
}

// TestSetDownloading: a reader that stops downloading tells its writer
// (Status{downloading: false}) and sends no request until it downloads
// again.
func TestSetDownloading(t *testing.T) {
	w := blocksFeed(t, 100)
	r := sparseReader(t, w)
	if w.Downloading() || !r.Downloading() {
		t.Fatalf("defaults: writer Downloading() = %v, reader %v; want false, true", w.Downloading(), r.Downloading())
	}
	wsub := w.Subscribe()
	defer wsub.Close()
	r.SetDownloading(false)
	connect(t, w, r, true)
	wp := openedPeer(t, wsub)
	// the Status is sent when the channel opens, as JS Peer.onopen does
	eventually(t, "writer sees RemoteDownloading() = false", func() bool { return !wp.RemoteDownloading() })
	ctx := ctx5(t)
	done := getLater(ctx, r, 7)
	select {
	case err := <-done:
		t.Fatalf("GetWith(7) returned %v while the reader does not download", err)
	case <-time.After(300 * time.Millisecond):
	}
	if got := w.Stats().UploadedBlocks; got != 0 {
		t.Fatalf("writer uploaded %d blocks to a reader that does not download", got)
	}
	r.SetDownloading(true)
	if err := <-done; err != nil {
		t.Fatalf("GetWith(7) after SetDownloading(true) = %v", err)
	}
	eventually(t, "writer sees RemoteDownloading() = true", func() bool { return wp.RemoteDownloading() })
}

// statusRecorder is a scripted peer that records the bodies of the Status
// messages it receives and the Data indexes.
type statusRecorder struct {
	ch     chan *session.Channel
	status chan string
	data   chan uint64
}

func (s *statusRecorder) Opened(ch *session.Channel) { s.ch <- ch }
func (s *statusRecorder) Message(ch *session.Channel, m message.Message) {
	switch m := m.(type) {
	case *message.Status:
		s.status <- hex.EncodeToString(m.AppendBody(nil))
	case *message.Data:
		s.data <- m.Index
	}
}
func (s *statusRecorder) Closed(*session.Channel, error) {}

// TestSwitchStatusBytes: the Status messages the switches send are the
// bytes JS sends (vectors/messages.json tcId 7 and 6), sent once per
// change; Requests are not answered while uploading is off.
func TestSwitchStatusBytes(t *testing.T) {
	w := blocksFeed(t, 10)
	w.SetUploading(false)
	ca, cb := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); ca.Close(); cb.Close() })
	go w.Replicate(ctx, ca, &ReplicateOptions{Initiator: true, Live: true})
	rec := &statusRecorder{ch: make(chan *session.Channel, 1), status: make(chan string, 10), data: make(chan uint64, 10)}
	go func() {
		s, err := session.New(ctx, cb, session.Config{Live: true})
		if err != nil {
			return
		}
		s.Open(w.Key(), rec)
		s.Run(ctx)
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case b := <-rec.status:
			return b
		case <-time.After(5 * time.Second):
			t.Fatalf("no Status %s", what)
		}
		return ""
	}
	var ch *session.Channel
	select {
	case ch = <-rec.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("channel did not open")
	}
	if got := next("on open"); got != "08001000" {
		t.Fatalf("Status on open = %s, want 08001000 (uploading false, downloading false)", got)
	}
	ch.Send(&message.Request{Index: 3})
	select {
	case i := <-rec.data:
		t.Fatalf("Data %d sent while not uploading", i)
	case <-time.After(300 * time.Millisecond):
	}
	w.SetUploading(true)
	w.SetUploading(true) // no change: no Status
	if got := next("after SetUploading(true)"); got != "08011000" {
		t.Fatalf("Status = %s, want 08011000 (uploading true, downloading false)", got)
	}
	ch.Send(&message.Request{Index: 4})
	select {
	case i := <-rec.data:
		if i != 4 {
			t.Fatalf("Data %d, want 4 (the Request made while not uploading stays unanswered)", i)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Data after SetUploading(true)")
	}
	select {
	case b := <-rec.status:
		t.Fatalf("extra Status %s", b)
	default:
	}
}

// TestEventsJSOrder: peer-add comes before peer-open, a Have is a
// peer-ack, and close is the last event, after which C is closed.
func TestEventsJSOrder(t *testing.T) {
	w := blocksFeed(t, 3)
	r := sparseReader(t, w)
	wsub, rsub := w.Subscribe(), r.Subscribe()
	connect(t, w, r, true)
	if _, err := r.GetContext(ctx5(t), 2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the writer uploaded block 2", func() bool { return w.Stats().UploadedBlocks == 1 })
	w.Close()
	r.Close()
	for _, c := range []struct {
		name string
		sub  *Subscription
		want []EventType
	}{
		{"writer", wsub, []EventType{EventPeerAdd, EventPeerOpen, EventUpload, EventClose}},
		{"reader", rsub, []EventType{EventPeerAdd, EventPeerOpen, EventPeerAck, EventRemoteUpdate, EventDownload, EventClose}},
	} {
		var types []EventType
		for e := range c.sub.C {
			types = append(types, e.Type)
		}
		pos := map[EventType]int{}
		for i, ty := range types {
			if _, ok := pos[ty]; !ok {
				pos[ty] = i
			}
		}
		for _, ty := range c.want {
			if _, ok := pos[ty]; !ok {
				t.Fatalf("%s: no %v event in %v", c.name, ty, types)
			}
		}
		if pos[EventPeerAdd] > pos[EventPeerOpen] {
			t.Fatalf("%s: peer-open before peer-add: %v", c.name, types)
		}
		if types[len(types)-1] != EventClose {
			t.Fatalf("%s: last event %v, want close: %v", c.name, types[len(types)-1], types)
		}
	}
}

// TestSetUploadingDropsParked: Requests parked for the peer's send queue
// are dropped when uploading is switched off, and their budget is given
// back; they are not answered when it is switched on again.
func TestSetUploadingDropsParked(t *testing.T) {
	w := blocksFeed(t, 10)
	ca, cb := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); ca.Close(); cb.Close() })
	go w.Replicate(ctx, ca, &ReplicateOptions{Initiator: true, Live: true})
	rec := &statusRecorder{ch: make(chan *session.Channel, 1), status: make(chan string, 10), data: make(chan uint64, 10)}
	go func() {
		s, err := session.New(ctx, cb, session.Config{Live: true})
		if err != nil {
			return
		}
		s.Open(w.Key(), rec)
		s.Run(ctx)
	}()
	var ch *session.Channel
	select {
	case ch = <-rec.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("channel did not open")
	}
	eventually(t, "the writer's peer opened", func() bool { return len(w.Peers()) == 1 })
	p := w.Peers()[0]
	// park a Request as onRequest does when the send queue is full
	used := func() uint64 {
		p.budgets.mu.Lock()
		defer p.budgets.mu.Unlock()
		return p.budgets.parked.Used()
	}
	w.mu.Lock()
	before := used()
	p.parked = append(p.parked, &message.Request{Index: 5})
	p.budgets.charge(&p.budgets.parked, 1)
	w.mu.Unlock()
	w.SetUploading(false)
	w.mu.Lock()
	parked, after := len(p.parked), used()
	w.mu.Unlock()
	if parked != 0 || after != before {
		t.Fatalf("after SetUploading(false): %d parked, budget %d; want 0, %d", parked, after, before)
	}
	w.SetUploading(true)
	ch.Send(&message.Request{Index: 6})
	select {
	case i := <-rec.data:
		if i != 6 {
			t.Fatalf("Data %d, want 6 (the parked Request 5 was dropped)", i)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Data after SetUploading(true)")
	}
}

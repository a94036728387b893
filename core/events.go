package core

import (
	"bytes"
	"sync"
	"time"

	"github.com/hypercore-go/hypercore/message"
)

// EventType says what happened to a feed. spec/feed.md, "Events", lists
// them beside the JS events they stand for.
type EventType int

const (
	// EventAppend: the feed grew (by an append, or by a verified proof of a
	// longer signed length). Index is the new length.
	EventAppend EventType = iota + 1
	// EventDownload: block Index was downloaded and stored.
	EventDownload
	// EventUpload: block Index was sent to a peer.
	EventUpload
	// EventPeerAdd and EventPeerRemove: a peer started or stopped
	// replicating this feed (JS peer-add: our side of the channel is
	// open; the remote's may never open, see EventPeerOpen); for
	// EventPeerRemove, Err says why when the peer did not simply end
	// (ErrRefused: it does not have the feed).
	EventPeerAdd
	EventPeerRemove
	// EventSync: a reader holds every block up to its length.
	EventSync
	// EventClear: blocks [Index, End) were cleared.
	EventClear
	// EventRemoteUpdate: a peer announced blocks; Index is its length.
	EventRemoteUpdate
	// EventAck: with ReplicateOptions.Ack, the peer confirmed it stored
	// blocks [Index, End) that we sent (JS: the stream's "ack" event with
	// {start, length}).
	EventAck
	// EventDropped: the subscriber did not keep up and Index events were
	// dropped before this one (see Subscription).
	EventDropped
	// EventPeerOpen: the peer's channel is open both ways (JS peer-open):
	// the remote has the feed, and Wants and Requests can flow.
	EventPeerOpen
	// EventPeerAck: the peer sent a Have for blocks [Index, End) (JS
	// peer-ack, emitted for every Have, acknowledgement or not).
	EventPeerAck
	// EventClose: the feed was closed (JS close). It is the last event:
	// C is closed after it.
	EventClose
)

var eventNames = map[EventType]string{
	EventAppend: "append", EventDownload: "download", EventUpload: "upload",
	EventPeerAdd: "peer-add", EventPeerRemove: "peer-remove", EventSync: "sync", EventClear: "clear", EventRemoteUpdate: "remote-update", EventAck: "ack",
	EventDropped: "dropped", EventPeerOpen: "peer-open", EventPeerAck: "peer-ack", EventClose: "close",
}

func (t EventType) String() string { return eventNames[t] }

// Event is something that happened to a feed.
type Event struct {
	Type  EventType
	Index uint64 // the block, or the new length for EventAppend
	End   uint64 // EventClear and EventAck: the end of the range
	Bytes int    // the block's size for EventDownload and EventUpload
	// Data is the block for EventDownload and EventUpload. It is shared
	// with the feed and every subscriber: read it, do not modify it. For
	// EventUpload it is the block as read from the data file and sent,
	// not hashed again (spec/security.md, "Serving unverified blocks").
	Data []byte
	Peer *Peer // the peer concerned, if any
	Err  error // EventPeerRemove: why the peer went, when not a clean end
}

// peerAck is the EventPeerAck for a Have: [start, start+max(length, 1)),
// the end clipped at 2^64−1.
func peerAck(p *Peer, m *message.Have) Event {
	end := m.Start + max(m.GetLength(), 1)
	if end < m.Start {
		end = ^uint64(0)
	}
	return Event{Type: EventPeerAck, Index: m.Start, End: end, Peer: p}
}

// DefaultEventBuffer is how many events a subscription holds for a
// subscriber that has not read them (Subscribe).
const DefaultEventBuffer = 4096

// Subscription delivers a feed's events on C in the order they happened
// to the feed. Blocks of a download arrive in no fixed order (requests
// start at random places, as in JS), so EventDownload for block 1 may come
// before block 0; Download's return, or EventSync, says a range is
// complete. At most the subscription's buffer of events waits for the
// subscriber: past it, new events are dropped and counted, and the next
// event delivered is an EventDropped whose Index is how many were lost.
// When the feed closes, the events queued are still delivered, EventClose
// last, for up to a second, and then C is closed. Close stops delivery and
// closes C.
type Subscription struct {
	C <-chan Event

	buffer  int
	dropped uint64

	c      chan Event
	done   chan struct{} // closed when the subscription ends
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []Event
	closed bool
	finish bool // the feed closed: deliver what is queued, then close C
	ev     *events
}

// closeGrace is how long a subscription waits, once the feed has closed,
// for its subscriber to take the events still queued (EventClose last).
// Past it they are dropped and C is closed.
const closeGrace = time.Second

type events struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	done bool
}

// Subscribe returns a subscription to the feed's events from now on, with
// a buffer of DefaultEventBuffer events.
func (f *Feed) Subscribe() *Subscription { return f.SubscribeBuffer(DefaultEventBuffer) }

// SubscribeBuffer is Subscribe with a buffer of n events (at least 1).
func (f *Feed) SubscribeBuffer(n int) *Subscription {
	s := &Subscription{c: make(chan Event), done: make(chan struct{}), ev: &f.events, buffer: max(n, 1)}
	s.C = s.c
	s.cond = sync.NewCond(&s.mu)
	f.events.mu.Lock()
	if f.events.subs == nil {
		f.events.subs = map[*Subscription]struct{}{}
	}
	done := f.events.done
	if !done {
		f.events.subs[s] = struct{}{}
	}
	f.events.mu.Unlock()
	if done {
		s.closed = true
		close(s.done)
		close(s.c)
		return s
	}
	go s.deliver()
	return s
}

func (s *Subscription) deliver() {
	defer close(s.c)
	var grace <-chan time.Time // set once the feed has closed
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && s.dropped == 0 && !s.closed && !s.finish {
			s.cond.Wait()
		}
		if s.closed || (s.finish && len(s.queue) == 0 && s.dropped == 0) {
			s.mu.Unlock()
			return
		}
		if s.finish && grace == nil {
			t := time.NewTimer(closeGrace)
			defer t.Stop()
			grace = t.C
		}
		var e Event
		if len(s.queue) == 0 {
			// every event before the gap is delivered: say how many were
			// lost, where they were lost
			e = Event{Type: EventDropped, Index: s.dropped}
			s.dropped = 0
		} else {
			e = s.queue[0]
			s.queue[0] = Event{}
			s.queue = s.queue[1:]
		}
		s.mu.Unlock()
		select {
		case s.c <- e:
		case <-s.done:
			return
		case <-grace:
			return
		}
	}
}

// end marks the subscription closed and wakes its goroutine.
func (s *Subscription) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	close(s.done)
	s.cond.Broadcast()
}

// Close ends the subscription: events not yet received are dropped and C
// is closed.
func (s *Subscription) Close() {
	s.ev.mu.Lock()
	delete(s.ev.subs, s)
	s.ev.mu.Unlock()
	s.end()
}

// emit queues an event for every subscriber. It never blocks.
// emit queues ev for every subscriber; kept reports whether there was one
// (that may then keep ev.Data), as a subscriber that comes later does not
// see ev.
func (e *events) emit(ev Event) (kept bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.queueLocked(ev)
}

// emitBorrowed is emit for an event whose Data is borrowed (a received
// frame's memory, which the session reuses once the message is handled):
// subscribers get a copy of it, made only when there are any.
func (e *events) emitBorrowed(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.subs) > 0 && ev.Data != nil {
		ev.Data = bytes.Clone(ev.Data)
	}
	e.queueLocked(ev)
}

func (e *events) queueLocked(ev Event) (kept bool) {
	for s := range e.subs {
		s.mu.Lock()
		switch {
		case s.closed:
		case len(s.queue) >= s.buffer || s.dropped > 0:
			s.dropped++ // until the subscriber catches up
			s.cond.Signal()
		default:
			s.queue = append(s.queue, ev)
			s.cond.Signal()
			kept = true
		}
		s.mu.Unlock()
	}
	return kept
}

// close ends every subscription once it has delivered what is queued
// (within closeGrace).
func (e *events) close() {
	e.mu.Lock()
	subs := e.subs
	e.subs = nil
	e.done = true
	e.mu.Unlock()
	for s := range subs {
		s.mu.Lock()
		s.finish = true
		s.cond.Signal()
		s.mu.Unlock()
	}
}

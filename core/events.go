package core

import "sync"

// EventType says what happened to a feed.
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
	// replicating this feed; for EventPeerRemove, Err says why when the
	// peer did not simply end (ErrRefused: it does not have the feed).
	EventPeerAdd
	EventPeerRemove
	// EventSync: a reader holds every block up to its length.
	EventSync
	// EventClear: blocks [Index, End) were cleared.
	EventClear
	// EventRemoteUpdate: a peer announced blocks; Index is its length.
	EventRemoteUpdate
	// EventAck: with ReplicateOptions.Ack, the peer confirmed it stored
	// block Index that we sent (JS: the stream's "ack" event).
	EventAck
)

var eventNames = map[EventType]string{
	EventAppend: "append", EventDownload: "download", EventUpload: "upload",
	EventPeerAdd: "peer-add", EventPeerRemove: "peer-remove", EventSync: "sync", EventClear: "clear", EventRemoteUpdate: "remote-update", EventAck: "ack",
}

func (t EventType) String() string { return eventNames[t] }

// Event is something that happened to a feed.
type Event struct {
	Type  EventType
	Index uint64 // the block, or the new length for EventAppend
	End   uint64 // EventClear only
	Bytes int    // the block's size for EventDownload and EventUpload
	Peer  *Peer  // the peer concerned, if any
	Err   error  // EventPeerRemove: why the peer went, when not a clean end
}

// Subscription delivers a feed's events in order on C. Events queue without
// bound until read; Close stops delivery and closes C.
type Subscription struct {
	C <-chan Event

	c      chan Event
	done   chan struct{} // closed when the subscription ends
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []Event
	closed bool
	ev     *events
}

type events struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	done bool
}

// Subscribe returns a subscription to the feed's events from now on.
func (f *Feed) Subscribe() *Subscription {
	s := &Subscription{c: make(chan Event), done: make(chan struct{}), ev: &f.events}
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
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		e := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.c <- e:
		case <-s.done:
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
func (e *events) emit(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.subs {
		s.mu.Lock()
		if !s.closed {
			s.queue = append(s.queue, ev)
			s.cond.Signal()
		}
		s.mu.Unlock()
	}
}

func (e *events) close() {
	e.mu.Lock()
	subs := e.subs
	e.subs = nil
	e.done = true
	e.mu.Unlock()
	for s := range subs {
		s.end()
	}
}

package protomux

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"
)

// pipe is an in-memory message pipe between two ends. In held mode (the
// default) a written message waits in its end's held list until the test
// delivers it, so that a test decides when each side sees what; in auto
// mode it is delivered at once. Everything written is also recorded.
type pipe struct {
	mu   sync.Mutex
	cond *sync.Cond
	ends [2]*end
	auto bool
}

// end is one end of a pipe; it implements Stream.
type end struct {
	p       *pipe
	i       int
	in      [][]byte // delivered, not yet read
	held    [][]byte // written, not yet delivered (held mode)
	closed  bool
	eof     bool // ReadMessage returns io.EOF once in is empty
	reading bool // a ReadMessage waits on an empty in
	writes  int
}

var errPipeClosed = errors.New("pipe: closed")

func newPipe(auto bool) *pipe {
	p := &pipe{auto: auto}
	p.cond = sync.NewCond(&p.mu)
	p.ends[0] = &end{p: p, i: 0}
	p.ends[1] = &end{p: p, i: 1}
	return p
}

func (e *end) peer() *end { return e.p.ends[1-e.i] }

func (e *end) ReadMessage() ([]byte, error) {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(e.in) == 0 && !e.closed && !e.eof && !e.peer().closed {
		e.reading = true
		p.cond.Broadcast()
		p.cond.Wait()
	}
	e.reading = false
	if e.closed {
		return nil, errPipeClosed
	}
	if len(e.in) == 0 {
		return nil, io.EOF // the peer closed and everything was read
	}
	m := e.in[0]
	e.in = e.in[1:]
	return m, nil
}

func (e *end) WriteMessage(b []byte) error {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.closed || e.peer().closed {
		return errPipeClosed
	}
	m := slices.Clone(b)
	e.writes++
	if p.auto {
		e.peer().in = append(e.peer().in, m)
	} else {
		e.held = append(e.held, m)
	}
	p.cond.Broadcast()
	return nil
}

func (e *end) Close() error {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	e.closed = true
	p.cond.Broadcast()
	return nil
}

// feed delivers m to end i as if its peer had written it.
func (p *pipe) feed(i int, m []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ends[i].in = append(p.ends[i].in, slices.Clone(m))
	p.cond.Broadcast()
}

// feedEOF makes end i read io.EOF after what it was fed.
func (p *pipe) feedEOF(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ends[i].eof = true
	p.cond.Broadcast()
}

// takeHeld removes and returns what end i wrote and was not delivered.
func (p *pipe) takeHeld(i int) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.ends[i].held
	p.ends[i].held = nil
	return h
}

// sent is a frame written by end From, in the order it was delivered.
type sent struct {
	from  int
	frame []byte
}

// quiet reports whether nothing is moving: every running mux has written
// all it queued, and every end whose mux runs waits on an empty inbox (or
// its mux ended). In held mode nothing moves again until the test acts.
func (p *pipe) quiet(muxes [2]*Mux) bool {
	for i, m := range muxes {
		if m == nil {
			continue
		}
		select {
		case <-m.Done():
			continue
		default:
		}
		p.mu.Lock()
		e := p.ends[i]
		idle := e.reading && len(e.in) == 0
		p.mu.Unlock()
		if !idle || m.Queued() != 0 {
			return false
		}
	}
	return true
}

// waitQuiet polls until quiet.
func (p *pipe) waitQuiet(t testing.TB, muxes [2]*Mux) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !p.quiet(muxes) {
		if time.Now().After(deadline) {
			t.Fatal("the muxes did not become quiet within 10 s")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// settle delivers held frames, end 0's first and then end 1's, until
// nothing is held and both sides are quiet, and returns the frames in the
// order they were delivered.
func (p *pipe) settle(t testing.TB, muxes [2]*Mux) []sent {
	t.Helper()
	var out []sent
	for {
		p.waitQuiet(t, muxes)
		moved := false
		for i := range 2 {
			for _, f := range p.takeHeld(i) {
				out = append(out, sent{i, f})
				p.feed(1-i, f)
				moved = true
			}
		}
		if !moved {
			return out
		}
	}
}

// runMux starts m.Run and returns a channel with its result.
func runMux(m *Mux) <-chan error {
	c := make(chan error, 1)
	go func() { c <- m.Run(context.Background()) }()
	return c
}

// waitErr waits for a Run result.
func waitErr(t testing.TB, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s")
		return nil
	}
}

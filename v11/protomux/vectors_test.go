package protomux

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/vectors"
)

func loadVectors(t testing.TB) *vectors.Protomux {
	t.Helper()
	v, err := vectors.LoadProtomux()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// errDecode is what the test harness's callbacks return when a channel's
// encoding cannot decode a handshake or message (vector class
// "bad-message").
var errDecode = errors.New("harness: cannot decode")

// errorClass maps the vector error classes to the sentinels.
var errorClass = map[string]error{
	"bad-frame":      ErrBadFrame,
	"bad-message":    errDecode,
	"invalid-open":   ErrInvalidOpen,
	"invalid-reject": ErrInvalidReject,
}

// decodeAs decodes b as the vectors' encoding enc ("uint", "raw",
// "buffer", "none") and returns its canonical encoding, as the JS harness
// records it (it re-encodes what it decoded).
func decodeAs(enc string, b []byte) ([]byte, error) {
	d := compact.NewDecoder(b)
	switch enc {
	case "none":
		return nil, nil
	case "raw":
		return b, nil
	case "uint":
		n := d.Uint()
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("%w: %w", errDecode, err)
		}
		return compact.AppendUint(nil, n), nil
	case "buffer":
		v := d.Buffer()
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("%w: %w", errDecode, err)
		}
		return compact.AppendBuffer(nil, v), nil
	}
	panic("decodeAs: unknown encoding " + enc)
}

// side is one mux of the harness with its channels by name and the events
// their callbacks saw, written as strings such as "a one open 2a",
// "b one message 1 70696e67", "a none close remote".
type side struct {
	name     string
	mux      *Mux
	messages []string // encoding of each message type

	mu       sync.Mutex
	channels map[string]*Channel
	events   []string
	shutdown []string // events after the mux ended
	replies  []vectors.ProtomuxAction
}

func newSide(name string, m *Mux, messages []string) *side {
	return &side{name: name, mux: m, messages: messages, channels: map[string]*Channel{}}
}

func (s *side) record(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.mux.Done():
		s.shutdown = append(s.shutdown, e)
	default:
		s.events = append(s.events, e)
	}
}

func (s *side) takeEvents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.events
	s.events = nil
	return e
}

func eventString(e vectors.ProtomuxEvent) string {
	switch e.Event {
	case "open":
		return fmt.Sprintf("%s %s open %x", e.Side, e.Channel, []byte(e.Handshake))
	case "message":
		return fmt.Sprintf("%s %s message %d %x", e.Side, e.Channel, e.Type, []byte(e.Payload))
	case "close":
		if e.Remote {
			return fmt.Sprintf("%s %s close remote", e.Side, e.Channel)
		}
		return fmt.Sprintf("%s %s close local", e.Side, e.Channel)
	}
	return "unknown event " + e.Event
}

func eventStrings(es []vectors.ProtomuxEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, eventString(e))
	}
	return out
}

// create makes the channel an action describes, with id (which, for a
// pair handler, is the id of the remote's open).
func (s *side) create(a vectors.ProtomuxAction, id []byte) *Channel {
	name := a.Channel
	ch := s.mux.CreateChannel(ChannelOptions{
		Protocol: a.Protocol,
		ID:       id,
		Messages: a.Messages,
		OnOpen: func(ch *Channel, handshake []byte) error {
			hs, err := decodeAs(a.HandshakeEncoding, handshake)
			if err != nil {
				return err
			}
			s.record(fmt.Sprintf("%s %s open %x", s.name, name, hs))
			return nil
		},
		OnMessage: func(ch *Channel, typ int, payload []byte) error {
			p, err := decodeAs(s.messages[typ], payload)
			if err != nil {
				return err
			}
			s.record(fmt.Sprintf("%s %s message %d %x", s.name, name, typ, p))
			s.mu.Lock()
			replies := slices.Clone(s.replies)
			s.mu.Unlock()
			for _, r := range replies {
				if r.Channel == name && r.OnType == typ {
					if err := ch.Send(r.SendType, payload); err != nil {
						return err
					}
				}
			}
			return nil
		},
		OnClose: func(ch *Channel, remote bool) {
			if remote {
				s.record(fmt.Sprintf("%s %s close remote", s.name, name))
			} else {
				s.record(fmt.Sprintf("%s %s close local", s.name, name))
			}
		},
	})
	s.mu.Lock()
	s.channels[name] = ch
	s.mu.Unlock()
	return ch
}

func (s *side) channel(t testing.TB, name string) *Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[name]
	if ch == nil {
		t.Fatalf("%s: no channel %q", s.name, name)
	}
	return ch
}

// act performs an action.
func (s *side) act(t testing.TB, a vectors.ProtomuxAction) {
	t.Helper()
	switch a.Op {
	case "create":
		s.create(a, a.ID)
	case "open":
		if err := s.channel(t, a.Channel).Open(a.Handshake); err != nil {
			t.Fatalf("%s: Open(%s) = %v", s.name, a.Channel, err)
		}
	case "send":
		if err := s.channel(t, a.Channel).Send(a.Type, a.Payload); err != nil {
			t.Fatalf("%s: Send(%s, %d) = %v", s.name, a.Channel, a.Type, err)
		}
	case "close":
		if err := s.channel(t, a.Channel).Close(); err != nil {
			t.Fatalf("%s: Close(%s) = %v", s.name, a.Channel, err)
		}
	case "cork":
		s.mux.Cork()
	case "uncork":
		s.mux.Uncork()
	case "pair":
		s.mux.Pair(a.Protocol, a.ID, func(protocol string, id []byte) {
			if err := s.create(a, id).Open(a.Handshake); err != nil {
				t.Errorf("%s: pair handler: Open(%s) = %v", s.name, a.Channel, err)
			}
		})
	case "reply":
		s.mu.Lock()
		s.replies = append(s.replies, a)
		s.mu.Unlock()
	default:
		t.Fatalf("unknown op %q", a.Op)
	}
}

// TestTraceVectors replays the trace of two JS muxes with two Go muxes
// joined by a held pipe: the same actions, step by step, must write the
// same frames in each direction and cause the same events on each side.
func TestTraceVectors(t *testing.T) {
	v := loadVectors(t)
	for _, g := range v.Traces {
		p := newPipe(false)
		a, b := New(p.ends[0], nil), New(p.ends[1], nil)
		muxes := [2]*Mux{a, b}
		ra, rb := runMux(a), runMux(b)
		sides := map[string]*side{"a": newSide("a", a, g.Messages), "b": newSide("b", b, g.Messages)}
		for _, tc := range g.Tests {
			name := tc.Name("v11/protomux.json")
			for _, act := range tc.Actions {
				sides[act.Side].act(t, act)
			}
			got := p.settle(t, muxes)
			for from, fname := range []string{"a", "b"} {
				var want, have []string
				for _, f := range tc.Frames {
					if f.From == fname {
						want = append(want, fmt.Sprintf("%x", []byte(f.Frame)))
					}
				}
				for _, f := range got {
					if f.from == from {
						have = append(have, fmt.Sprintf("%x", f.frame))
					}
				}
				if d := cmp.Diff(want, have); d != "" {
					t.Errorf("%s: frames from %s (-JS +Go):\n%s", name, fname, d)
				}
			}
			for _, sn := range []string{"a", "b"} {
				var want []string
				for _, e := range tc.Events {
					if e.Side == sn {
						want = append(want, eventString(e))
					}
				}
				if d := cmp.Diff(want, sides[sn].takeEvents()); d != "" {
					t.Errorf("%s: events of %s (-JS +Go):\n%s", name, sn, d)
				}
			}
		}
		a.Close()
		b.Close()
		if err := waitErr(t, ra); err != nil {
			t.Errorf("a: Run = %v, want nil after Close", err)
		}
		if err := waitErr(t, rb); err != nil {
			t.Errorf("b: Run = %v, want nil after Close", err)
		}
	}
}

// TestTraceFrames decodes every frame of the trace with the Go parser,
// compares it with the decoded meaning JS recorded, and encodes the meaning
// again to the same bytes.
func TestTraceFrames(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, g := range v.Traces {
		for _, tc := range g.Tests {
			for i, f := range tc.Frames {
				n++
				name := fmt.Sprintf("%s frame %d", tc.Name("v11/protomux.json"), i)
				msgs, err := parseFrame(f.Frame, testLimits, nil)
				if err != nil {
					t.Errorf("%s: parseFrame(%x) = %v", name, []byte(f.Frame), err)
					continue
				}
				want := flatten(f.Decoded)
				if d := cmp.Diff(want, describe(msgs)); d != "" {
					t.Errorf("%s: parseFrame(%x) (-JS +Go):\n%s", name, []byte(f.Frame), d)
				}
				if enc := encodeDecoded(f.Decoded); !bytes.Equal(enc, f.Frame) {
					t.Errorf("%s: encoding %+v = %x, want %x", name, f.Decoded, enc, []byte(f.Frame))
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no frames")
	}
}

var testLimits = limits{maxFrame: DefaultMaxFrameSize, maxProtocol: DefaultMaxProtocolLength, maxID: DefaultMaxIDLength}

// flatten lists a decoded frame's messages as describe does: a batch's
// entries in order, anything else as itself.
func flatten(d vectors.ProtomuxDecoded) []string {
	if d.Kind == "batch" {
		var out []string
		for _, e := range d.Entries {
			out = append(out, flatten(e)...)
		}
		return out
	}
	switch d.Kind {
	case "open":
		return []string{fmt.Sprintf("%d/%d open %d %q %x %x", d.Channel, d.Type, *d.ChannelID, d.Protocol, []byte(d.ID), []byte(d.Handshake))}
	case "reject", "close":
		return []string{fmt.Sprintf("%d/%d %s %d", d.Channel, d.Type, d.Kind, *d.ChannelID)}
	}
	return []string{fmt.Sprintf("%d/%d %x", d.Channel, d.Type, []byte(d.Payload))}
}

// describe writes parsed messages as flatten writes decoded ones.
func describe(msgs []message) []string {
	var out []string
	for _, m := range msgs {
		switch {
		case m.channel == 0 && m.typ == typeOpen:
			out = append(out, fmt.Sprintf("0/1 open %d %q %x %x", m.ref, m.protocol, m.id, m.payload))
		case m.channel == 0 && (m.typ == typeReject || m.typ == typeClose):
			out = append(out, fmt.Sprintf("0/%d %s %d", m.typ, controlName(m.typ), m.ref))
		default:
			out = append(out, fmt.Sprintf("%d/%d %x", m.channel, m.typ, m.payload))
		}
	}
	return out
}

// encodeDecoded encodes a decoded frame with the Go encoders.
func encodeDecoded(d vectors.ProtomuxDecoded) []byte {
	if d.Kind == "batch" {
		var entries []batchEntry
		for _, e := range d.Entries {
			f := encodeDecoded(e)
			if e.Channel == 0 {
				entries = append(entries, batchEntry{channel: 0, body: f[1:]})
			} else {
				entries = append(entries, batchEntry{channel: e.Channel, body: f[compact.UintLen(e.Channel):]})
			}
		}
		return appendBatch(nil, entries)
	}
	switch d.Kind {
	case "open":
		return appendOpen(nil, *d.ChannelID, d.Protocol, d.ID, d.Handshake)
	case "reject":
		return appendControl(nil, typeReject, *d.ChannelID)
	case "close":
		return appendControl(nil, typeClose, *d.ChannelID)
	}
	return appendMessage(nil, d.Channel, d.Type, d.Payload)
}

// TestDecodeVectors feeds each case's frames, one at a time, to a Go mux
// set up as the JS one was, and compares what it wrote, the events of each
// frame, and the verdict.
func TestDecodeVectors(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, g := range v.Decodes {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name("v11/protomux.json"), func(t *testing.T) {
				runDecodeCase(t, g, tc)
			})
		}
	}
	if n == 0 {
		t.Fatal("no cases")
	}
}

func runDecodeCase(t *testing.T, g vectors.ProtomuxDecodeGroup, tc vectors.ProtomuxDecodeTest) {
	p := newPipe(false)
	m := New(p.ends[0], nil)
	muxes := [2]*Mux{m, nil}
	s := newSide("local", m, g.Messages)
	for _, a := range g.Setup {
		s.act(t, a)
	}
	run := runMux(m)
	p.waitQuiet(t, muxes)
	if d := cmp.Diff(hexList(g.SetupSent), hexList(p.takeHeld(0))); d != "" {
		t.Fatalf("setup wrote (-JS +Go):\n%s", d)
	}
	var events [][]string
	for _, f := range tc.Frames {
		p.feed(0, f)
		p.waitQuiet(t, muxes)
		events = append(events, s.takeEvents())
		select {
		case <-m.Done():
		default:
			continue
		}
		break
	}
	if d := cmp.Diff(hexList(tc.Sent), hexList(p.takeHeld(0))); d != "" {
		t.Errorf("wrote (-JS +Go):\n%s", d)
	}
	last := len(tc.Frames) - 1
	if len(events) != len(tc.Frames) {
		t.Fatalf("the mux ended after frame %d of %d: %v", len(events)-1, len(tc.Frames), m.Err())
	}
	for i := range tc.Frames {
		want := eventStrings(tc.Events[i])
		if i == last && tc.Error == "bad-frame" {
			// The Go mux parses a whole frame before it acts on any of
			// it; JS acts on the entries before the bad one.
			want = nil
		}
		if d := cmp.Diff(want, events[i]); d != "" {
			t.Errorf("events of frame %d %x (-JS +Go):\n%s", i, []byte(tc.Frames[i]), d)
		}
	}
	if tc.Valid() {
		select {
		case <-m.Done():
			t.Fatalf("the mux ended: %v", m.Err())
		default:
		}
		m.Close()
		if err := waitErr(t, run); err != nil {
			t.Errorf("Run = %v after Close, want nil", err)
		}
		return
	}
	err := waitErr(t, run)
	class := errorClass[tc.Error]
	if class == nil {
		t.Fatalf("unknown error class %q", tc.Error)
	}
	if !errors.Is(err, class) {
		t.Errorf("Run = %v, want %v (JS: %v)", err, class, deref(tc.JSError))
	}
	s.mu.Lock()
	shutdown := s.shutdown
	s.mu.Unlock()
	if d := cmp.Diff(eventStrings(tc.ShutdownEvents), shutdown); d != "" {
		t.Errorf("close events at the end (-JS +Go):\n%s", d)
	}
}

func hexList[T ~[]byte](bs []T) []string {
	var out []string
	for _, b := range bs {
		out = append(out, fmt.Sprintf("%x", []byte(b)))
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "no error"
	}
	return *s
}

package protomux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// packFrames writes frames as the fuzz input: each as uint16le(len) ‖
// frame.
func packFrames(frames [][]byte) []byte {
	var b []byte
	for _, f := range frames {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

// unpackFrames reads the fuzz input back; a short last frame is cut to
// what is there.
func unpackFrames(b []byte) [][]byte {
	var frames [][]byte
	for len(b) >= 2 {
		n := int(binary.LittleEndian.Uint16(b))
		b = b[2:]
		n = min(n, len(b))
		frames = append(frames, b[:n])
		b = b[n:]
	}
	return frames
}

// FuzzFrames feeds any sequence of frames to a mux set up as the decode
// vectors' (channel x open, a pair handler for protomux-test/p). It must
// not panic or hang; Run must end with nil or a typed error; the remote and
// local tables stay within MaxChannels; every channel sees at most one
// open and one close, and no message after its close; and every frame that
// parses gives messages that, encoded again one by one, parse to the same.
func FuzzFrames(f *testing.F) {
	v := loadVectors(f)
	seeds := 0
	for _, g := range v.Decodes {
		for _, tc := range g.Tests {
			var frames [][]byte
			for _, fr := range tc.Frames {
				frames = append(frames, fr)
			}
			f.Add(packFrames(frames))
			seeds++
		}
	}
	for _, g := range v.Traces {
		for _, tc := range g.Tests {
			var frames [][]byte
			for _, fr := range tc.Frames {
				frames = append(frames, fr.Frame)
			}
			f.Add(packFrames(frames))
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	const maxCh = 64
	opts := &Options{MaxChannels: maxCh, MaxFrameSize: 4096, MaxProtocolLength: 64, MaxIDLength: 64}
	lim := limits{maxFrame: 4096, maxProtocol: 64, maxID: 64}
	// A protocol with invalid UTF-8 grows when its bytes are replaced
	// (up to three bytes for one); what is encoded again is parsed with
	// room for that.
	relim := limits{maxFrame: 3 * 4096, maxProtocol: 3 * 64, maxID: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		frames := unpackFrames(data)

		for _, fr := range frames {
			msgs, err := parseFrame(fr, lim, nil)
			if err != nil {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("parseFrame(%x) = %v, not an ErrProtocol", fr, err)
				}
				continue
			}
			var again []message
			for _, m := range msgs {
				var enc []byte
				switch {
				case m.channel == 0 && m.typ == typeOpen:
					enc = appendOpen(nil, m.ref, m.protocol, m.id, m.payload)
				case m.channel == 0 && (m.typ == typeReject || m.typ == typeClose):
					enc = appendControl(nil, byte(m.typ), m.ref)
				default:
					enc = appendMessage(nil, m.channel, m.typ, m.payload)
				}
				again, err = parseFrame(enc, relim, again)
				if err != nil {
					t.Fatalf("%x (from %x) does not parse: %v", enc, fr, err)
				}
			}
			if d := cmp.Diff(describe(msgs), describe(again)); d != "" {
				t.Fatalf("parse(encode(parse(%x))) differs:\n%s", fr, d)
			}
		}

		p := newPipe(true)
		m := New(p.ends[0], opts)
		var mu sync.Mutex
		state := map[*Channel]string{} // "opened", "closed"
		var bad []string
		note := func(ch *Channel, ev string) {
			mu.Lock()
			defer mu.Unlock()
			s := state[ch]
			switch {
			case s == "closed":
				bad = append(bad, fmt.Sprintf("%s %s after close", ch.Protocol(), ev))
			case ev == "open" && s == "opened":
				bad = append(bad, fmt.Sprintf("%s opened twice", ch.Protocol()))
			case ev == "open":
				state[ch] = "opened"
			case ev == "close":
				state[ch] = "closed"
			}
		}
		chOpts := func(protocol string, id []byte) ChannelOptions {
			return ChannelOptions{
				Protocol: protocol, ID: id, Messages: 3,
				OnOpen: func(ch *Channel, hs []byte) error {
					note(ch, "open")
					_, err := decodeAs("uint", hs)
					return err
				},
				OnMessage: func(ch *Channel, typ int, p []byte) error {
					note(ch, "message")
					_, err := decodeAs([]string{"uint", "raw", "buffer"}[typ], p)
					return err
				},
				OnClose: func(ch *Channel, remote bool) { note(ch, "close") },
			}
		}
		if err := m.CreateChannel(chOpts("protomux-test/x", []byte{1, 2})).Open([]byte{9}); err != nil {
			t.Fatal(err)
		}
		m.Pair("protomux-test/p", nil, func(protocol string, id []byte) {
			m.CreateChannel(chOpts(protocol, id)).Open([]byte("pp"))
		})
		run := runMux(m)
		for _, fr := range frames {
			p.feed(0, fr)
		}
		p.feedEOF(0)
		var err error
		select {
		case err = <-run:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10 s")
		}
		if err != nil && !errors.Is(err, ErrProtocol) && !errors.Is(err, errDecode) {
			t.Fatalf("Run = %v, not a typed error", err)
		}
		m.mu.Lock()
		if len(m.remote) > maxCh || len(m.local) > maxCh || len(m.infos) > 2*maxCh {
			t.Errorf("tables: %d remote, %d local, %d infos", len(m.remote), len(m.local), len(m.infos))
		}
		for _, c := range m.local {
			if c != nil && c.state != stateClosed {
				t.Errorf("channel %s open after the end", c.opts.Protocol)
			}
		}
		m.mu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		if len(bad) > 0 {
			t.Errorf("callbacks: %q", bad)
		}
	})
}

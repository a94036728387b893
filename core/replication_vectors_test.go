package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/salsa20"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
	"github.com/hypercore-go/hypercore/vectors"
)

// The replication vectors (vectors/replication.json) are conversations
// between two JS feeds, recorded per direction. TestReplicationVectors
// replays each against the Go peer, as either side: a Go feed built as the
// side's feed was, with the side's Noise static key, transport nonce and
// ephemeral key, replicates with a scripted peer that sends the other
// side's recorded frames in order, each once it has received as many of
// the Go side's messages as JS had when it sent it. The Go side's
// application actions (get, append, update, close, scripted sends) run
// likewise once it has sent and received as many messages as JS had. Then
// what Go wrote is compared with the recording: the handshake byte for
// byte, every message field by field and frame by frame (a group marked
// unordered as a set, in any order), and, when Go kept the recorded order,
// the whole encrypted transport byte for byte. For an invalid case Go plays
// the side that must reject the conversation, and its session must end
// with the error class. spec/replication.md, "Test vectors".

// replicationErrors maps the error classes of replication.json to errors.
var replicationErrors = map[string]error{
	"protocol-error":    session.ErrProtocol,
	"invalid-proof":     ErrInvalidProof,
	"invalid-signature": merkle.ErrInvalidSignature,
	"missing-signature": ErrMissingSignature,
	"not-available":     ErrNotAvailable,
}

// isClass reports whether err is of the error class and of no other
// (protocol-error may wrap the others: a peer that sends a bad proof
// breaks the protocol too).
func isClass(err error, class string) bool {
	if !errors.Is(err, replicationErrors[class]) {
		return false
	}
	for c, e := range replicationErrors {
		if c != class && c != "protocol-error" && errors.Is(err, e) {
			return false
		}
	}
	return true
}

func TestReplicationVectors(t *testing.T) {
	v, err := vectors.LoadReplication()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"Unordered": true, "Scripted": true, "Mutated": true, "JSUncaught": true}
	n := 0
	for _, g := range v.Conversations {
		for i := range g.Tests {
			tc := &g.Tests[i]
			for _, f := range tc.Flags {
				if !known[f] {
					t.Fatalf("%s: unknown flag %q", tc.Name("replication.json"), f)
				}
			}
			if !tc.Valid() && replicationErrors[tc.Error] == nil {
				t.Fatalf("%s: unknown error class %q", tc.Name("replication.json"), tc.Error)
			}
			for _, role := range []string{"initiator", "responder"} {
				me := tc.Side(role)
				if !me.Replay || (!tc.Valid() && role != tc.RejectedBy) {
					continue
				}
				n++
				t.Run(fmt.Sprintf("%s as %s %s", tc.Name("replication.json"), role, me.Name), func(t *testing.T) {
					t.Parallel()
					replayConversation(t, tc, role)
				})
			}
		}
	}
	if n == 0 {
		t.Fatal("no replication vectors")
	}
}

// TestReplicationVectorsRecording checks what a replay relies on in each
// recorded side: the frames lie back to back in the transport, which
// decrypts (XSalsa20 with the side's tx key and nonce) to exactly those
// frames; each frame is the message its channel, type and fields say (as
// the Go decoder reads it); received counts never decrease; unordered
// groups are contiguous; a scripted message is sent by a "send" action;
// and an invalid case has one mutated message, on the side not replayed.
func TestReplicationVectorsRecording(t *testing.T) {
	v, err := vectors.LoadReplication()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range v.Conversations {
		for i := range g.Tests {
			tc := &g.Tests[i]
			mutations := 0
			for _, role := range []string{"initiator", "responder"} {
				s := tc.Side(role)
				name := fmt.Sprintf("%s %s", tc.Name("replication.json"), s.Name)
				var plain []byte
				seen := map[int]bool{}
				for j, m := range s.Messages {
					if m.Offset != len(plain) {
						t.Errorf("%s: message %d at offset %d, want %d", name, j, m.Offset, len(plain))
					}
					plain = append(plain, m.Frame...)
					if j > 0 && m.Received < s.Messages[j-1].Received {
						t.Errorf("%s: message %d received %d after %d", name, j, m.Received, s.Messages[j-1].Received)
					}
					if u := m.Unordered; u != 0 {
						if seen[u] && s.Messages[j-1].Unordered != u {
							t.Errorf("%s: unordered group %d is not contiguous", name, u)
						}
						seen[u] = true
					}
					if m.Mutation != "" {
						mutations++
						if s.Replay {
							t.Errorf("%s: a mutated message on a side that is replayed", name)
						}
					}
					if m.Scripted && !slices.ContainsFunc(s.Actions, func(a vectors.ConversationAction) bool {
						return a.Op == "send" && a.Message != nil && *a.Message == j
					}) {
						t.Errorf("%s: scripted message %d has no send action", name, j)
					}
					compareMessage(t, j, m.Frame, &s.Messages[j])
				}
				var key [32]byte
				copy(key[:], s.Noise.Tx)
				ct := make([]byte, len(plain))
				salsa20.XORKeyStream(ct, plain, s.Noise.Nonce, &key)
				if !bytes.Equal(ct, s.Transport) {
					t.Errorf("%s: the transport is not the encrypted frames", name)
				}
			}
			if want := map[bool]int{true: 0, false: 1}[tc.Valid()]; mutations != want {
				t.Errorf("%s: %d mutated messages, want %d", tc.Name("replication.json"), mutations, want)
			}
		}
	}
}

// conversationFeed builds the feed a side had before the conversation.
func conversationFeed(t *testing.T, tc *vectors.ConversationTest, side *vectors.ConversationSide) *Feed {
	t.Helper()
	kp, err := merkle.NewKeyPairFromSeed(tc.Writer.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kp.PublicKey, tc.Writer.PublicKey) {
		t.Fatalf("writer key from seed %x = %x, want %x", tc.Writer.Seed, kp.PublicKey, tc.Writer.PublicKey)
	}
	writer := func() *Feed {
		w, err := Create(storage.NewMemory(), &Options{KeyPair: &kp})
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range tc.Writer.Appends {
			blocks := make([][]byte, len(call))
			for i, b := range call {
				blocks[i] = b
			}
			if _, err := w.Append(blocks...); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}
	if side.Feed.Writable {
		return writer()
	}
	r, err := Open(storage.NewMemory(), &Options{Key: Key(kp.PublicKey), Sparse: side.Feed.Sparse})
	if err != nil {
		t.Fatal(err)
	}
	if len(side.Feed.Fetched) > 0 {
		w := writer()
		defer w.Close()
		for _, i := range side.Feed.Fetched {
			proof, err := w.LowLevel().Proof(i, r.LowLevel().Digest(i), false, nil)
			if err != nil {
				t.Fatal(err)
			}
			value, err := w.Get(i)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.LowLevel().Put(i, value, proof); err != nil {
				t.Fatalf("setup: Put(%d) = %v", i, err)
			}
		}
	}
	return r
}

// random is what a side's handshake draws: its transport nonce, then its
// ephemeral secret key.
func random(side *vectors.ConversationSide) *bytes.Reader {
	return bytes.NewReader(slices.Concat(side.Noise.Nonce, side.Noise.EphemeralSecretKey))
}

func staticKey(t *testing.T, side *vectors.ConversationSide) *session.KeyPair {
	t.Helper()
	kp, err := session.KeyPairFromSeed(side.Noise.StaticSeed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kp.SecretKey[:], side.Noise.StaticSecretKey) || !bytes.Equal(kp.PublicKey[:], side.Noise.StaticPublicKey) {
		t.Fatalf("%s: static key pair from seed differs from the recorded one", side.Name)
	}
	return &kp
}

// wire records the bytes one side writes to its connection and splits them
// into the handshake and the frames of the transport, decrypted with the
// side's recorded transmit key and nonce.
type wire struct {
	net.Conn
	handshakeLen int
	key          [32]byte
	nonce        []byte

	mu     sync.Mutex
	all    []byte
	frames [][]byte // plaintext frames, keep-alives included
}

func newWire(c net.Conn, side *vectors.ConversationSide) *wire {
	w := &wire{Conn: c, nonce: side.Noise.Nonce}
	for _, h := range side.Handshake {
		w.handshakeLen += len(h)
	}
	copy(w.key[:], side.Noise.Tx)
	return w
}

func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.all = append(w.all, p...)
	w.split()
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// split decrypts the transport written so far (one key stream from counter
// 0: the conversations are small) and cuts it into frames.
func (w *wire) split() {
	if len(w.all) <= w.handshakeLen {
		return
	}
	ct := w.all[w.handshakeLen:]
	pt := make([]byte, len(ct))
	salsa20.XORKeyStream(pt, ct, w.nonce, &w.key)
	w.frames = w.frames[:0]
	for len(pt) > 0 {
		n, k := binary.Uvarint(pt)
		if k <= 0 || uint64(len(pt)-k) < n {
			return // the rest of a frame is still to come
		}
		w.frames = append(w.frames, pt[:k+int(n)])
		pt = pt[k+int(n):]
	}
}

// sent returns the frames written so far, keep-alives left out.
func (w *wire) sent() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out [][]byte
	for _, f := range w.frames {
		if !bytes.Equal(f, message.KeepAlive) {
			out = append(out, f)
		}
	}
	return out
}

func (w *wire) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.all)
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) bool {
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Millisecond):
		}
	}
	return true
}

func replayConversation(t *testing.T, tc *vectors.ConversationTest, role string) {
	other := map[string]string{"initiator": "responder", "responder": "initiator"}[role]
	me, them := tc.Side(role), tc.Side(other)
	feed := conversationFeed(t, tc, me)
	defer feed.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	goConn, peerConn := net.Pipe()
	defer goConn.Close()
	defer peerConn.Close()
	goWire := newWire(goConn, me)

	// The Go side.
	var received atomic.Int64 // messages the Go side has received
	goRun := make(chan error, 1)
	protocol := make(chan *Protocol, 1)
	kp := staticKey(t, me)
	go func() {
		p, err := NewProtocol(ctx, goWire, &ReplicateOptions{
			Initiator:    role == "initiator",
			Live:         me.Live,
			NoiseKeyPair: kp,
			Random:       random(me),
			Timeout:      time.Minute, // no keep-alive during the test
			Trace: func(sent bool, _ uint64, _ message.Message) {
				if !sent {
					received.Add(1)
				}
			},
		})
		if err != nil {
			protocol <- nil
			goRun <- err
			return
		}
		if _, err := p.Add(feed); err != nil {
			protocol <- nil
			goRun <- err
			return
		}
		protocol <- p
		goRun <- p.Run(ctx)
	}()

	// The scripted peer replays the other side's recorded bytes: its
	// handshake messages, each once Go's handshake message before it has
	// arrived (and equals the recording), then the ciphertext of each of
	// its frames, each once it has received as many of Go's messages as JS
	// had when it sent it. It reads everything Go writes; goWire decrypts
	// and counts it.
	if err := scriptedHandshake(peerConn, role, me, them); err != nil {
		peerConn.Close()
		t.Fatalf("handshake: %v (Go side: %v)", err, <-goRun)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 64<<10)
		for {
			if _, err := peerConn.Read(buf); err != nil {
				return
			}
		}
	}()
	p := <-protocol
	if p == nil {
		t.Fatalf("Go side: %v", <-goRun)
	}
	defer p.Close()

	var failures []string
	var failMu sync.Mutex
	fail := func(format string, args ...any) {
		failMu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		failMu.Unlock()
	}
	sentAll := make(chan struct{})
	go func() {
		defer close(sentAll)
		for j, m := range them.Messages {
			if !waitFor(ctx, func() bool { return len(goWire.sent()) >= m.Received }) {
				fail("the scripted %s did not send its message %d (%s): it waited for %d messages from the Go side, got %d",
					them.Name, j, m.Type, m.Received, len(goWire.sent()))
				return
			}
			if _, err := peerConn.Write(them.Transport[m.Offset : m.Offset+len(m.Frame)]); err != nil {
				if tc.Valid() {
					fail("the scripted %s could not send its message %d (%s): %v", them.Name, j, m.Type, err)
				}
				return
			}
		}
	}()
	actionsDone := make(chan struct{})
	go func() {
		defer close(actionsDone)
		runActions(ctx, t, tc, me, feed, p, goWire, &received, fail)
	}()

	// Wait for the end of the conversation.
	want := len(me.Messages)
	if tc.Valid() {
		<-sentAll
		<-actionsDone
		if !waitFor(ctx, func() bool { return len(goWire.sent()) >= want }) {
			fail("the Go side sent %d messages, want %d", len(goWire.sent()), want)
		}
		if !me.Live {
			// A session that is not live ends on its own, cleanly.
			select {
			case err := <-goRun:
				if err != nil {
					fail("the Go side's session ended with %v, want a clean end", err)
				}
			case <-ctx.Done():
				fail("the Go side's session did not end")
			}
		} else {
			time.Sleep(100 * time.Millisecond) // anything Go would send beyond the recording
			select {
			case err := <-goRun:
				fail("the Go side's live session ended: %v", err)
			default:
			}
		}
	} else {
		select {
		case err := <-goRun:
			if !isClass(err, tc.Error) {
				fail("the Go side's session ended with %v, want %s (JS: %s)", err, tc.Error, tc.JSError)
			}
		case <-ctx.Done():
			fail("the Go side did not end the session, want %s (JS: %s)", tc.Error, tc.JSError)
		}
		<-sentAll
	}
	goConn.Close()
	<-drained
	for _, f := range failures {
		t.Error(f)
	}

	// What Go wrote: the handshake, then the messages.
	got := goWire.bytes()
	hs := slices.Concat(me.Handshake...)
	if !bytes.HasPrefix(got, hs) {
		t.Fatalf("Go's handshake messages differ from the recording:\n got %x\nwant %x", got[:min(len(got), len(hs))], []byte(hs))
	}
	same, inOrder := compareMessages(t, goWire.sent(), me.Messages)
	switch transport := got[len(hs):]; {
	case same && inOrder && !bytes.Equal(transport, me.Transport):
		t.Errorf("Go's encrypted transport differs from the recording although every message matched:\n got %x\nwant %x", transport, []byte(me.Transport))
	case same && !inOrder:
		t.Logf("Go sent an unordered group in another order than JS did; the ciphertext is not compared")
	}
}

// scriptedHandshake plays the other side's handshake from the recording:
// the initiator writes message 1, the responder answers with message 2,
// the initiator ends with message 3. What Go sends must equal the
// recording byte for byte.
func scriptedHandshake(conn net.Conn, role string, me, them *vectors.ConversationSide) error {
	read := func(want []byte, what string) error {
		got := make([]byte, len(want))
		if _, err := io.ReadFull(conn, got); err != nil {
			return fmt.Errorf("reading Go's %s: %w", what, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("Go's %s = %x, want %x", what, got, []byte(want))
		}
		return nil
	}
	write := func(b []byte) error {
		_, err := conn.Write(b)
		return err
	}
	if role == "initiator" { // Go initiates
		if len(me.Handshake) != 2 || len(them.Handshake) != 1 {
			return fmt.Errorf("recorded handshake has %d and %d messages", len(me.Handshake), len(them.Handshake))
		}
		if err := read(me.Handshake[0], "handshake message 1"); err != nil {
			return err
		}
		if err := write(them.Handshake[0]); err != nil {
			return err
		}
		return read(me.Handshake[1], "handshake message 3")
	}
	if len(me.Handshake) != 1 || len(them.Handshake) != 2 {
		return fmt.Errorf("recorded handshake has %d and %d messages", len(me.Handshake), len(them.Handshake))
	}
	if err := write(them.Handshake[0]); err != nil {
		return err
	}
	if err := read(me.Handshake[0], "handshake message 2"); err != nil {
		return err
	}
	return write(them.Handshake[1])
}

// runActions runs the Go side's application actions in order, each once
// the side has sent and received as many messages as JS had.
func runActions(ctx context.Context, t *testing.T, tc *vectors.ConversationTest, me *vectors.ConversationSide, f *Feed, p *Protocol, w *wire, received *atomic.Int64, fail func(string, ...any)) {
	for k, a := range me.Actions {
		ready := func() bool { return len(w.sent()) >= a.AfterSent && received.Load() >= int64(a.AfterReceived) }
		if !waitFor(ctx, ready) {
			if tc.Valid() {
				fail("action %d (%s) never became due: Go sent %d of %d, received %d of %d messages",
					k, a.Op, len(w.sent()), a.AfterSent, received.Load(), a.AfterReceived)
			}
			return
		}
		switch a.Op {
		case "get":
			v, err := f.GetContext(ctx, *a.Index)
			if a.Value == nil {
				continue // JS never completed it (the session was rejected)
			}
			if err != nil || !bytes.Equal(v, a.Value) {
				fail("action %d: GetContext(%d) = %x, %v; want %x", k, *a.Index, v, err, []byte(a.Value))
				return
			}
		case "append":
			blocks := make([][]byte, len(a.Blocks))
			for i, b := range a.Blocks {
				blocks[i] = b
			}
			if _, err := f.Append(blocks...); err != nil {
				fail("action %d: Append = %v", k, err)
				return
			}
			if a.LengthAfter != nil && f.Length() != *a.LengthAfter {
				fail("action %d: length after Append = %d, want %d", k, f.Length(), *a.LengthAfter)
			}
		case "update":
			err := f.Update(ctx, 0)
			if a.LengthAfter == nil {
				continue
			}
			if err != nil || f.Length() != *a.LengthAfter {
				fail("action %d: Update = %v, length %d; want length %d", k, err, f.Length(), *a.LengthAfter)
				return
			}
		case "close":
			if err := f.Close(); err != nil {
				fail("action %d: Close = %v", k, err)
			}
		case "send":
			m := me.Messages[*a.Message]
			if !m.Scripted {
				t.Errorf("action %d sends message %d, which is not marked scripted", k, *a.Message)
			}
			if err := p.Session().SendBytes(m.Frame); err != nil {
				fail("action %d: sending the scripted %s: %v", k, m.Type, err)
				return
			}
		default:
			fail("action %d: unknown op %q", k, a.Op)
			return
		}
	}
}

// compareMessages compares the frames Go sent with the recorded messages,
// field by field, a group marked unordered as a set. It reports whether
// they all matched (same), and whether every frame sat where the
// recording has it (inOrder).
func compareMessages(t *testing.T, got [][]byte, want []vectors.ConversationMessage) (same, inOrder bool) {
	t.Helper()
	same, inOrder = true, true
	for i := 0; i < len(want); {
		if i >= len(got) {
			t.Errorf("message %d (%s %s) was not sent (Go sent %d messages, want %d)", i, want[i].Type, fieldsString(want[i].Fields), len(got), len(want))
			return false, false
		}
		if want[i].Unordered == 0 {
			if !compareMessage(t, i, got[i], &want[i]) {
				same = false
			}
			i++
			continue
		}
		j := i
		for j < len(want) && want[j].Unordered == want[i].Unordered {
			j++
		}
		pool := slices.Clone(want[i:j])
		for k := i; k < j; k++ {
			if k >= len(got) {
				t.Errorf("message %d (of unordered group %d) was not sent", k, want[i].Unordered)
				return false, false
			}
			if !bytes.Equal(got[k], want[k].Frame) {
				inOrder = false
			}
			at := slices.IndexFunc(pool, func(m vectors.ConversationMessage) bool { return bytes.Equal(m.Frame, got[k]) })
			if at < 0 {
				// none matches: compare with the group's first message
				// of the same type and index, for a useful report
				at = slices.IndexFunc(pool, func(m vectors.ConversationMessage) bool {
					fm, _ := frameMessage(got[k])
					return fm != nil && m.Type == fm.Type().String() && string(m.Fields["index"]) == fmt.Sprint(indexOf(fm))
				})
				same = false
				if at < 0 {
					t.Errorf("message %d: %x is none of unordered group %d", k, got[k], want[i].Unordered)
					continue
				}
				compareMessage(t, k, got[k], &pool[at])
			}
			pool = slices.Delete(pool, at, at+1)
		}
		i = j
	}
	if len(got) > len(want) {
		m, _ := frameMessage(got[len(want)])
		t.Errorf("Go sent %d messages more than the recording, the first %s", len(got)-len(want), describe(m))
		return false, false
	}
	return same, inOrder
}

// compareMessage compares one frame with the recorded message, field by
// field, and reports whether they are equal.
func compareMessage(t *testing.T, i int, got []byte, want *vectors.ConversationMessage) bool {
	t.Helper()
	f, err := splitFrame(got)
	if err != nil {
		t.Errorf("message %d: %x: %v", i, got, err)
		return false
	}
	m, err := f.Decode()
	if err != nil {
		t.Errorf("message %d: %x does not decode: %v", i, got, err)
		return false
	}
	if f.Channel != want.Channel || f.Type.String() != want.Type {
		t.Errorf("message %d = channel %d %s, want channel %d %s %s", i, f.Channel, describe(m), want.Channel, want.Type, fieldsString(want.Fields))
		return false
	}
	gotFields := fieldsJSON(m)
	wantFields := map[string]string{}
	for k, v := range want.Fields {
		var x any
		json.Unmarshal(v, &x)
		b, _ := json.Marshal(x)
		wantFields[k] = string(b)
	}
	var names []string
	for k := range gotFields {
		names = append(names, k)
	}
	for k := range wantFields {
		if _, ok := gotFields[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	same := true
	for _, k := range names {
		g, gok := gotFields[k]
		w, wok := wantFields[k]
		switch {
		case !gok:
			t.Errorf("message %d (%s): field %s absent, want %s", i, want.Type, k, w)
		case !wok:
			t.Errorf("message %d (%s): field %s = %s, want it absent", i, want.Type, k, g)
		case g != w:
			t.Errorf("message %d (%s): field %s = %s, want %s", i, want.Type, k, g, w)
		default:
			continue
		}
		same = false
	}
	if same && !bytes.Equal(got, want.Frame) {
		t.Errorf("message %d (%s): frame %x, want %x", i, want.Type, got, []byte(want.Frame))
		same = false
	}
	return same
}

func splitFrame(b []byte) (message.Frame, error) {
	return message.NewReader(bytes.NewReader(b)).Next()
}

func frameMessage(b []byte) (message.Message, error) {
	f, err := splitFrame(b)
	if err != nil {
		return nil, err
	}
	return f.Decode()
}

func describe(m message.Message) string {
	if m == nil {
		return "(undecodable)"
	}
	return message.Describe(m)
}

func indexOf(m message.Message) uint64 {
	switch m := m.(type) {
	case *message.Request:
		return m.Index
	case *message.Data:
		return m.Index
	}
	return 0
}

// fieldsJSON is a message in the vectors' JSON form: the fields present on
// the wire, each as compact JSON.
func fieldsJSON(m message.Message) map[string]string {
	f := map[string]any{}
	hexOf := func(b []byte) string { return hex.EncodeToString(b) }
	setBool := func(k string, v *bool) {
		if v != nil {
			f[k] = *v
		}
	}
	setUint := func(k string, v *uint64) {
		if v != nil {
			f[k] = *v
		}
	}
	setBytes := func(k string, v []byte) {
		if v != nil {
			f[k] = hexOf(v)
		}
	}
	switch m := m.(type) {
	case *message.Open:
		setBytes("discoveryKey", m.DiscoveryKey)
		setBytes("capability", m.Capability)
	case *message.Options:
		if len(m.Extensions) > 0 {
			f["extensions"] = m.Extensions
		}
		setBool("ack", m.Ack)
	case *message.Status:
		setBool("uploading", m.Uploading)
		setBool("downloading", m.Downloading)
	case *message.Have:
		f["start"] = m.Start
		setUint("length", m.Length)
		setBytes("bitfield", m.Bitfield)
		setBool("ack", m.Ack)
	case *message.Unhave:
		f["start"] = m.Start
		setUint("length", m.Length)
	case *message.Want:
		f["start"] = m.Start
		setUint("length", m.Length)
	case *message.Unwant:
		f["start"] = m.Start
		setUint("length", m.Length)
	case *message.Request:
		f["index"] = m.Index
		setUint("bytes", m.Bytes)
		setBool("hash", m.Hash)
		setUint("nodes", m.Nodes)
	case *message.Cancel:
		f["index"] = m.Index
		setUint("bytes", m.Bytes)
		setBool("hash", m.Hash)
	case *message.Data:
		f["index"] = m.Index
		setBytes("value", m.Value)
		if len(m.Nodes) > 0 {
			nodes := make([]map[string]any, len(m.Nodes))
			for i, n := range m.Nodes {
				nodes[i] = map[string]any{"index": n.Index, "hash": hexOf(n.Hash), "size": n.Size}
			}
			f["nodes"] = nodes
		}
		setBytes("signature", m.Signature)
	case *message.Close:
		setBytes("discoveryKey", m.DiscoveryKey)
	}
	out := map[string]string{}
	for k, v := range f {
		b, _ := json.Marshal(v)
		out[k] = string(b)
	}
	return out
}

func fieldsString(f vectors.Fields) string {
	b, _ := json.Marshal(f)
	return string(b)
}

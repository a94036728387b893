package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// Extensions (replication.md, "Extensions"), as JS Hypercore 11 does them
// (core.registerExtension, Peer.extension and Peer.onextension in
// lib/replicator.js): a core holds extensions by name; each extension
// message on the core's channel carries its extension's name, or "" for
// the name of the previous extension message on that channel; the receiver
// hands the message to its own extension of that name and ignores names it
// has none for. Nothing is negotiated: unlike Hypercore 9 there is no list
// of names in a handshake, and either side may register, send and destroy
// at any time.

// Errors of extensions.
var (
	// ErrExtensionDestroyed: Send or Broadcast after Destroy.
	ErrExtensionDestroyed = errors.New("core: the extension is destroyed")
	// ErrNotPeer: Send to nil, to a peer of another core, or to a peer
	// whose connection has ended.
	ErrNotPeer = errors.New("core: not a connected peer of this core")
	// ErrExtensionTooBig: a name longer than MaxExtensionName bytes, or an
	// encoded message longer than MaxExtensionMessage bytes.
	ErrExtensionTooBig = errors.New("core: extension name or message too big")
)

// Limits of extensions. JS has none beyond the transport's frame size
// (2^24 - 1 bytes less the framing); these keep a sender well within it.
// A received name longer than MaxExtensionName matches no extension
// registered here.
const (
	// MaxExtensionName is the longest extension name, in bytes.
	MaxExtensionName = 1024
	// MaxExtensionMessage is the longest encoded extension message, in
	// bytes.
	MaxExtensionMessage = 8 << 20
	// maxExtensionQueued bounds the bytes of received extension messages
	// waiting for their handler, per peer; past it messages are dropped
	// (a handler that keeps up never sees this).
	maxExtensionQueued = 32 << 20
)

// Encoding turns an extension's messages into bytes and back, as a JS
// compact-encoding codec given as handlers.encoding does.
type Encoding interface {
	Name() string
	Encode(v any) ([]byte, error)
	Decode(b []byte) (any, error)
}

// The encodings of JS compact-encoding that extensions use (c.from(name)).
var (
	// Buffer is JS c.buffer, the default of registerExtension: a
	// length-prefixed byte string (compact uint length ‖ bytes). Encode
	// takes []byte or string; Decode returns the []byte and ignores bytes
	// after it, as JS does.
	Buffer Encoding = bufferEncoding{}
	// Binary is JS "binary" (c.raw.binary): the bytes as they are. Encode
	// takes []byte or string; Decode returns the []byte.
	Binary Encoding = binaryEncoding{}
	// UTF8 is JS "utf-8" (c.raw.utf8): Encode takes a string or []byte,
	// Decode returns a string, invalid UTF-8 replaced as JS replaces it
	// (compact.ReplaceInvalidUTF8).
	UTF8 Encoding = utf8Encoding{}
	// JSON is JS "json" (c.raw.json): Encode is JSON.stringify (without
	// HTML escaping, as JS), Decode is JSON.parse into any. Compatibility
	// note: Go writes map keys sorted, JS in insertion order.
	JSON Encoding = jsonEncoding{}
)

func toBytes(enc string, v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	}
	return nil, fmt.Errorf("core: %s encoding takes []byte or string, not %T", enc, v)
}

type bufferEncoding struct{}

func (bufferEncoding) Name() string { return "buffer" }
func (bufferEncoding) Encode(v any) ([]byte, error) {
	b, err := toBytes("buffer", v)
	if err != nil {
		return nil, err
	}
	return compact.AppendBuffer(nil, b), nil
}
func (bufferEncoding) Decode(b []byte) (any, error) {
	d := compact.NewDecoder(b)
	v := d.Buffer()
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("core: buffer encoding: %w", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

type binaryEncoding struct{}

func (binaryEncoding) Name() string                 { return "binary" }
func (binaryEncoding) Encode(v any) ([]byte, error) { return toBytes("binary", v) }
func (binaryEncoding) Decode(b []byte) (any, error) { return b, nil }

type utf8Encoding struct{}

func (utf8Encoding) Name() string                 { return "utf-8" }
func (utf8Encoding) Encode(v any) ([]byte, error) { return toBytes("utf-8", v) }
func (utf8Encoding) Decode(b []byte) (any, error) {
	return compact.ReplaceInvalidUTF8(string(b)), nil
}

type jsonEncoding struct{}

func (jsonEncoding) Name() string { return "json" }
func (jsonEncoding) Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, fmt.Errorf("core: json encoding: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
func (jsonEncoding) Decode(b []byte) (any, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("core: json encoding: %w", err)
	}
	return v, nil
}

// ExtensionHandler is what an extension does with what peers send (JS
// handlers {encoding, onmessage}).
type ExtensionHandler struct {
	// Encoding decodes received messages and encodes sent ones; Buffer
	// (JS's default, c.buffer) when nil.
	Encoding Encoding
	// OnMessage receives each decoded message and the peer it came from,
	// in the order the peer sent them, on a goroutine of its own (one per
	// peer at a time), never with the core's lock held: it may call Send,
	// Broadcast and the core's methods. Without it, messages are dropped
	// undecoded.
	OnMessage func(msg any, from *Peer)
	// OnError receives what Encoding.Decode failed with; the message is
	// dropped. (JS throws inside the stream, which ends the connection.)
	OnError func(err error, from *Peer)
}

// An Extension is a named extension registered on a core (JS
// core.registerExtension).
type Extension struct {
	core      *Core
	name      string
	h         ExtensionHandler // c.mu guards h and destroyed
	destroyed bool
}

// A Peer is one remote replicating a core over one connection, as
// extension handlers see it and Send addresses it.
type Peer struct {
	pe *peer
}

// RemotePublicKey returns the remote's Noise static public key (its
// identity on the connection).
func (p *Peer) RemotePublicKey() [32]byte {
	return [32]byte(p.pe.s.RemotePublicKey())
}

// extensionState is a peer's extension bookkeeping: the names for ""
// both ways, and the messages waiting for their handlers. c.mu guards it.
type extensionState struct {
	lastRecv, lastSent string
	handle             *Peer
	queue              []extensionDelivery
	queued             int  // bytes in queue
	running            bool // a goroutine is delivering the queue
}

type extensionDelivery struct {
	ext *Extension
	h   ExtensionHandler
	msg []byte
}

// handle returns the peer's *Peer (the same one every time). c.mu held.
func (pe *peer) handle() *Peer {
	if pe.ext.handle == nil {
		pe.ext.handle = &Peer{pe: pe}
	}
	return pe.ext.handle
}

// RegisterExtension adds an extension named name to the core (JS
// core.registerExtension). As in JS, registering a name again replaces the
// handler and returns the same extension (also after Destroy, which it
// undoes).
func (c *Core) RegisterExtension(name string, h ExtensionHandler) (*Extension, error) {
	if len(name) > MaxExtensionName {
		return nil, fmt.Errorf("%w: name of %d bytes", ErrExtensionTooBig, len(name))
	}
	if h.Encoding == nil {
		h.Encoding = Buffer
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.repl.extensions == nil {
		c.repl.extensions = map[string]*Extension{}
	}
	if e, ok := c.repl.extensions[name]; ok {
		e.h = h
		return e, nil
	}
	e := &Extension{core: c, name: name, h: h}
	c.repl.extensions[name] = e
	return e, nil
}

// Extensions returns the names of the core's extensions, sorted.
func (c *Core) Extensions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.repl.extensions))
	for n := range c.repl.extensions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Peers returns the core's connected peers (their channels open), in the
// order they connected.
func (c *Core) Peers() []*Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Peer
	for _, pe := range c.repl.peers {
		if pe.opened {
			out = append(out, pe.handle())
		}
	}
	return out
}

// Name returns the extension's name.
func (e *Extension) Name() string { return e.name }

// Destroy removes the extension from its core: messages for its name are
// ignored from then on, and Send and Broadcast fail (JS ext.destroy()).
func (e *Extension) Destroy() {
	c := e.core
	c.mu.Lock()
	defer c.mu.Unlock()
	if !e.destroyed {
		e.destroyed = true
		delete(c.repl.extensions, e.name)
	}
}

// encodeMsg encodes msg with the extension's encoding and checks its size.
func (e *Extension) encodeMsg(msg any) ([]byte, error) {
	c := e.core
	c.mu.Lock()
	enc, destroyed := e.h.Encoding, e.destroyed
	c.mu.Unlock()
	if destroyed {
		return nil, ErrExtensionDestroyed
	}
	b, err := enc.Encode(msg)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxExtensionMessage {
		return nil, fmt.Errorf("%w: message of %d bytes", ErrExtensionTooBig, len(b))
	}
	return b, nil
}

// Send sends msg, encoded, to one peer (JS ext.send(message, peer)).
func (e *Extension) Send(to *Peer, msg any) error {
	b, err := e.encodeMsg(msg)
	if err != nil {
		return err
	}
	c := e.core
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.destroyed {
		return ErrExtensionDestroyed
	}
	if to == nil || to.pe.r != c.repl || !to.pe.attached() {
		return ErrNotPeer
	}
	to.pe.sendExtension(e.name, b)
	return nil
}

// Broadcast sends msg, encoded, to every connected peer of the core (JS
// ext.broadcast(message)) and returns how many it went to.
func (e *Extension) Broadcast(msg any) (int, error) {
	b, err := e.encodeMsg(msg)
	if err != nil {
		return 0, err
	}
	c := e.core
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.destroyed {
		return 0, ErrExtensionDestroyed
	}
	n := 0
	for _, pe := range c.repl.peers {
		if pe.opened {
			pe.sendExtension(e.name, b)
			n++
		}
	}
	return n, nil
}

// attached reports whether pe is still one of its core's peers with its
// channel open. c.mu held.
func (pe *peer) attached() bool {
	return pe.opened && slices.Contains(pe.r.peers, pe)
}

// sendExtension sends one extension message, naming the extension "" when
// it is the one the previous extension message sent here named (JS
// Peer.extension). c.mu held.
func (pe *peer) sendExtension(name string, msg []byte) {
	pe.send(&wire.Extension{Name: wireName(&pe.ext.lastSent, name), Message: msg})
}

// wireName returns the name an extension message for name carries, given
// the name of the previous one sent (*last, updated): "" for the same name
// again (JS Peer.extension). Compatibility note: an extension named "" is
// ambiguous, as in JS: after a message of another name it reads as that
// name.
func wireName(last *string, name string) string {
	sent := name
	if name == *last {
		sent = ""
	}
	*last = name
	return sent
}

// messageName returns the name of the extension a received message is
// for, given the name of the previous one received (*last, updated): the
// message's name, or *last for "" (JS: message.name || lastExtensionRecv).
func messageName(last *string, name string) string {
	if name == "" {
		name = *last
	}
	*last = name
	return name
}

// onExtension handles an extension message (replication.md, "Extensions"):
// a name of "" means the name of the previous extension message received
// (JS Peer.onextension: message.name || lastExtensionRecv); a name the
// core has no extension for is ignored. The handler runs later, without
// c.mu: the message is queued for the peer's delivery goroutine. c.mu
// held.
func (pe *peer) onExtension(m *wire.Extension) {
	// JS reads the name as a string, invalid UTF-8 replaced.
	name := messageName(&pe.ext.lastRecv, compact.ReplaceInvalidUTF8(m.Name))
	e := pe.r.extensions[name]
	// A message whose name the receiver has not registered MUST be
	// ignored, not treated as a protocol error.
	if e == nil || e.h.OnMessage == nil {
		return
	}
	if pe.ext.queued+len(m.Message) > maxExtensionQueued {
		return
	}
	// The message aliases the connection's read buffer: keep a copy.
	msg := slices.Clone(m.Message)
	if msg == nil {
		msg = []byte{}
	}
	pe.ext.queue = append(pe.ext.queue, extensionDelivery{ext: e, h: e.h, msg: msg})
	pe.ext.queued += len(msg)
	if !pe.ext.running {
		pe.ext.running = true
		go pe.deliverExtensions()
	}
}

// deliverExtensions hands the queued messages to their handlers, in order,
// until the queue is empty.
func (pe *peer) deliverExtensions() {
	c := pe.r.core
	from := func() *Peer {
		c.mu.Lock()
		defer c.mu.Unlock()
		return pe.handle()
	}()
	for {
		c.mu.Lock()
		if len(pe.ext.queue) == 0 {
			pe.ext.running = false
			pe.ext.queue = nil
			c.mu.Unlock()
			return
		}
		d := pe.ext.queue[0]
		pe.ext.queue[0] = extensionDelivery{}
		pe.ext.queue = pe.ext.queue[1:]
		pe.ext.queued -= len(d.msg)
		// A message that arrived before Destroy is not delivered after it.
		live := !d.ext.destroyed
		c.mu.Unlock()
		if !live {
			continue
		}
		v, err := d.h.Encoding.Decode(d.msg)
		if err != nil {
			if d.h.OnError != nil {
				d.h.OnError(fmt.Errorf("core: extension %q: %w", d.ext.name, err), from)
			}
			continue
		}
		d.h.OnMessage(v, from)
	}
}

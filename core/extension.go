package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf16"

	"github.com/hypercore-go/hypercore/message"
)

// Feed extensions (spec/replication.md, "Extensions"), as JS hypercore 9
// does them with abstract-extension: a feed holds a list of named
// extensions sorted by name; an extension's id is its index in that list.
// The names go to each peer in Options.extensions; an Extension message
// carries the sender's id, which the receiver maps to a name through the
// sender's list and then to its own extension of that name.

// ErrExtensionExists is what RegisterExtension returns for a name already
// registered on the feed (JS "Cannot add multiple messages with the same
// name").
var ErrExtensionExists = errors.New("core: an extension with this name is already registered")

// ErrExtensionDestroyed is what Send and Broadcast return after Destroy.
var ErrExtensionDestroyed = errors.New("core: the extension is destroyed")

// Encoding turns an extension's messages into bytes and back (JS codecs).
type Encoding interface {
	Name() string
	Encode(v any) ([]byte, error)
	Decode(b []byte) (any, error)
}

// The encodings of JS codecs that extensions use most.
var (
	// Binary is JS codecs "binary", the default: Encode takes []byte or
	// string, Decode returns the []byte.
	Binary Encoding = binaryEncoding{}
	// UTF8 is JS codecs "utf-8": Encode takes a string or []byte, Decode
	// returns a string. Compatibility note: JS decodes invalid UTF-8 with
	// one U+FFFD per maximal invalid subpart; Go's conversion here gives
	// one per invalid byte.
	UTF8 Encoding = utf8Encoding{}
	// JSON is JS codecs "json": Encode is JSON.stringify (without HTML
	// escaping, as JS), Decode is JSON.parse into any. Compatibility note:
	// Go writes map keys sorted, JS in insertion order.
	JSON Encoding = jsonEncoding{}
)

type binaryEncoding struct{}

func (binaryEncoding) Name() string { return "binary" }
func (binaryEncoding) Encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	}
	return nil, fmt.Errorf("core: binary encoding takes []byte or string, not %T", v)
}
func (binaryEncoding) Decode(b []byte) (any, error) { return b, nil }

type utf8Encoding struct{}

func (utf8Encoding) Name() string                 { return "utf-8" }
func (utf8Encoding) Encode(v any) ([]byte, error) { return Binary.Encode(v) }
func (utf8Encoding) Decode(b []byte) (any, error) { return string([]rune(string(b))), nil }
func (jsonEncoding) Name() string                 { return "json" }
func (jsonEncoding) Decode(b []byte) (any, error) { return decodeJSON(b) }
func (jsonEncoding) Encode(v any) ([]byte, error) { return encodeJSON(v) }

type jsonEncoding struct{}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, fmt.Errorf("core: json encoding: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func decodeJSON(b []byte) (any, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("core: json encoding: %w", err)
	}
	return v, nil
}

// ExtensionHandler is what an extension does with what peers send (JS
// handlers {encoding, onmessage, onerror}).
type ExtensionHandler struct {
	// Encoding decodes received messages and encodes sent ones; Binary
	// when nil.
	Encoding Encoding
	// OnMessage receives each decoded message and the peer it came from.
	// Without it, messages are dropped undecoded (as JS).
	OnMessage func(msg any, from *Peer)
	// OnError receives what Encoding.Decode failed with; the message is
	// dropped.
	OnError func(err error, from *Peer)
}

// Extension is a named extension registered on a feed (JS
// feed.registerExtension).
type Extension struct {
	feed *Feed
	name string
	h    ExtensionHandler
	id   int // index in the feed's sorted list; -1 once destroyed
}

// extensions is a feed's list of extensions (JS abstract-extension Local).
type extensions struct {
	list    []*Extension // sorted by name, as JS sorts strings
	changes int          // bumped on each add and remove (JS Local.changes)
}

// peerExtensions is what a peer announced (JS abstract-extension Remote).
type peerExtensions struct {
	names   []string // the peer's Options.extensions; nil before any Options
	known   bool     // an Options arrived: names are set
	matched []*Extension
	changes int // the local changes matched was computed for; 0: stale
}

// Name returns the extension's name.
func (e *Extension) Name() string { return e.name }

// ID returns the extension's index in the feed's sorted list of names,
// which is what the feed sends as Extension.id; -1 once destroyed.
func (e *Extension) ID() int {
	e.feed.mu.Lock()
	defer e.feed.mu.Unlock()
	return e.id
}

// RegisterExtension adds an extension named name to the feed and
// announces the feed's new list of names to every connected peer (JS
// registerExtension and onextensionupdate).
func (f *Feed) RegisterExtension(name string, h ExtensionHandler) (*Extension, error) {
	if h.Encoding == nil {
		h.Encoding = Binary
	}
	f.mu.Lock()
	defer f.unlock()
	x := &f.repl.ext
	// spec/replication.md, "Extensions": Registering a name the list
	// already holds MUST fail.
	for _, e := range x.list {
		if e.name == name {
			return nil, fmt.Errorf("%w: %q", ErrExtensionExists, name)
		}
	}
	e := &Extension{feed: f, name: name, h: h}
	x.list = append(x.list, e)
	x.renumber()
	f.announceExtensions()
	return e, nil
}

// Extensions returns the names of the feed's extensions, sorted as they
// are announced.
func (f *Feed) Extensions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.repl.ext.names()
}

// Destroy removes the extension from its feed and announces the new list
// (JS extension.destroy()).
func (e *Extension) Destroy() {
	f := e.feed
	f.mu.Lock()
	defer f.unlock()
	if e.id < 0 {
		return
	}
	x := &f.repl.ext
	x.list = slices.Delete(x.list, e.id, e.id+1)
	e.id = -1
	x.renumber()
	f.announceExtensions()
}

// ErrNotFeedPeer is what Send returns for a peer of another feed (or nil).
var ErrNotFeedPeer = errors.New("core: the peer does not replicate the extension's feed")

// Send sends msg, encoded, to one peer (JS extension.send(message, peer)).
func (e *Extension) Send(peer *Peer, msg any) error {
	if peer == nil || peer.feed != e.feed {
		return ErrNotFeedPeer
	}
	b, err := e.h.Encoding.Encode(msg)
	if err != nil {
		return err
	}
	f := e.feed
	f.mu.Lock()
	defer f.unlock()
	if e.id < 0 {
		return ErrExtensionDestroyed
	}
	peer.sendExtension(e.id, b)
	return nil
}

// Broadcast sends msg, encoded, to every peer of the feed (JS
// extension.broadcast). It returns how many peers it went to.
func (e *Extension) Broadcast(msg any) (int, error) {
	b, err := e.h.Encoding.Encode(msg)
	if err != nil {
		return 0, err
	}
	f := e.feed
	f.mu.Lock()
	defer f.unlock()
	if e.id < 0 {
		return 0, ErrExtensionDestroyed
	}
	n := 0
	for _, p := range f.repl.peers {
		if p.sendExtension(e.id, b) {
			n++
		}
	}
	return n, nil
}

// RemoteExtensions returns the names the peer announced in its last
// Options, or nil before any.
func (p *Peer) RemoteExtensions() []string {
	p.feed.mu.Lock()
	defer p.feed.mu.Unlock()
	return slices.Clone(p.ext.names)
}

// RemoteSupports reports whether the peer announced the extension's name
// (JS extension.remoteSupports, asked of this peer).
func (p *Peer) RemoteSupports(e *Extension) bool {
	p.feed.mu.Lock()
	defer p.feed.mu.Unlock()
	return e.id >= 0 && slices.Contains(p.ext.names, e.name)
}

func (p *Peer) sendExtension(id int, b []byte) bool {
	if p.removed || p.ch == nil {
		return false
	}
	p.send(&message.Extension{ID: uint64(id), Message: b})
	return true
}

// renumber sorts the list and sets each extension's id to its index (JS
// Local.add).
func (x *extensions) renumber() {
	slices.SortStableFunc(x.list, func(a, b *Extension) int { return compareJS(a.name, b.name) })
	for i, e := range x.list {
		e.id = i
	}
	x.changes++
}

func (x *extensions) names() []string {
	names := make([]string, len(x.list))
	for i, e := range x.list {
		names[i] = e.name
	}
	return names
}

// compareJS compares strings as JS < does: by UTF-16 code units.
// Compatibility note: Go's < compares UTF-8 bytes, which orders the
// characters U+E000–U+FFFF after those above U+FFFF; JS orders them before.
func compareJS(a, b string) int {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	return slices.Compare(ua, ub)
}

// optionsMessage is the Options the peer sends on open and after each
// change of the feed's extensions (JS Peer._updateOptions): none when it
// neither asks for acks nor has extensions; otherwise the sorted names and
// ack, which JS always sets (so an Options with extensions carries
// ack = false explicitly).
func (p *Peer) optionsMessage() *message.Options {
	x := &p.feed.repl.ext
	if !p.ack && len(x.list) == 0 {
		return nil
	}
	return &message.Options{Extensions: x.names(), Ack: message.Bool(p.ack)}
}

// announceExtensions sends the feed's Options again to every peer whose
// channel is open (JS onextensionupdate; a peer not open yet sends its
// Options when it opens).
func (f *Feed) announceExtensions() {
	for _, p := range f.repl.peers {
		if p.removed || !p.remoteOpened || p.ch == nil {
			continue
		}
		if m := p.optionsMessage(); m != nil {
			p.send(m)
		}
	}
}

// onOptionsExtensions records the names a peer announced (JS
// Remote.update).
func (p *Peer) onOptionsExtensions(m *message.Options) {
	p.ext.names = slices.Clone(m.Extensions)
	if p.ext.names == nil {
		p.ext.names = []string{}
	}
	p.ext.known = true
	p.ext.changes = 0
}

// onExtension maps the peer's id to one of the feed's extensions and
// hands it the message (JS Remote.onmessage). An id the peer did not
// announce, or a name the feed has no extension for, is ignored.
func (p *Peer) onExtension(m *message.Extension) {
	x := &p.feed.repl.ext
	if p.ext.changes != x.changes {
		p.ext.matched = nil
		if p.ext.known {
			p.ext.matched = matchExtensions(x.list, p.ext.names)
		}
		p.ext.changes = x.changes
	}
	// An id with no entry [...] MUST be ignored, not treated as a protocol
	// error.
	if m.ID >= uint64(len(p.ext.matched)) {
		return
	}
	e := p.ext.matched[m.ID]
	if e == nil || e.h.OnMessage == nil {
		return
	}
	h, buf := e.h, m.Message
	p.feed.later(func() {
		v, err := h.Encoding.Decode(buf)
		if err != nil {
			if h.OnError != nil {
				h.OnError(fmt.Errorf("core: extension %q: %w", e.name, err), p)
			}
			return
		}
		h.OnMessage(v, p)
	})
}

// matchExtensions maps each index of the remote's names to the local
// extension of the same name, walking both lists in step as JS
// abstract-extension match() does. Both are meant to be sorted; with a
// remote list out of order, names JS would not match are not matched here
// either.
func matchExtensions(local []*Extension, remote []string) []*Extension {
	m := make([]*Extension, len(remote))
	i, j := 0, 0
	for i < len(local) && j < len(remote) {
		switch c := compareJS(local[i].name, remote[j]); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			m[j] = local[i]
			j++
		}
	}
	return m
}

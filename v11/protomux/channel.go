package protomux

import (
	"fmt"
	"slices"

	"github.com/hypercore-go/hypercore/v11/compact"
)

// ChannelOptions describes a channel: who it is across the two sides
// (Protocol, ID, Aliases), its table of message types, and its callbacks.
type ChannelOptions struct {
	// Protocol and ID identify the channel on both sides; an empty ID is no
	// id. Aliases are other protocol names a remote open may use for it
	// (JS aliases; hypercore/alpha has the alias hypercore).
	Protocol string
	ID       []byte
	Aliases  []string
	// Messages is the number of message types in the channel's table:
	// types 0 .. Messages-1. A received message of a higher type is
	// ignored.
	Messages int
	// OnOpen is called when the channel is paired, with the rest of the
	// remote's open (its handshake, encoded as the channel's protocol
	// says). An error ends the mux (JS: a handshake that does not decode
	// destroys the stream).
	OnOpen func(ch *Channel, handshake []byte) error
	// OnMessage is called for each received message of a type in the
	// table. The payload may be kept. An error ends the mux (JS: a message
	// that does not decode destroys the stream).
	OnMessage func(ch *Channel, typ int, payload []byte) error
	// OnClose is called once when a channel that was opened closes: remote
	// is false when this side called Close, true when the remote closed or
	// rejected it or the mux ended.
	OnClose func(ch *Channel, remote bool)
}

// Channel states (protomux.md, "Channel lifecycle").
type channelState int

const (
	stateCreated channelState = iota // created, not opened
	stateOpening                     // open sent, waiting for the remote's open
	stateOpen                        // paired with a remote channel
	stateClosed                      // closed, rejected, or the mux ended
)

// Channel is one channel of a mux. Its methods may be called from any
// goroutine.
type Channel struct {
	m    *Mux
	opts ChannelOptions

	// guarded by m.mu
	state    channelState
	localID  uint64
	remoteID uint64
	inf      *info
}

// CreateChannel returns a new channel of the mux, not yet opened.
func (m *Mux) CreateChannel(opts ChannelOptions) *Channel {
	opts.ID = slices.Clone(opts.ID)
	if len(opts.ID) == 0 {
		opts.ID = nil
	}
	opts.Aliases = slices.Clone(opts.Aliases)
	return &Channel{m: m, opts: opts}
}

// Mux returns the channel's mux.
func (c *Channel) Mux() *Mux { return c.m }

// Protocol returns the channel's protocol.
func (c *Channel) Protocol() string { return c.opts.Protocol }

// ID returns the channel's id (nil for none).
func (c *Channel) ID() []byte { return c.opts.ID }

// Opened reports whether the channel is paired with a remote channel and
// not closed.
func (c *Channel) Opened() bool {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	return c.state == stateOpen
}

// Closed reports whether the channel was closed (by either side, a reject
// or the end of the mux).
func (c *Channel) Closed() bool {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	return c.state == stateClosed
}

// info returns the pairing state of (protocol, id), creating it with the
// given aliases if there is none (JS Protomux._get).
func (m *Mux) info(protocol string, id []byte, aliases []string) *info {
	k := keyOf(protocol, id)
	if inf := m.infos[k]; inf != nil {
		return inf
	}
	inf := &info{keys: []infoKey{k}}
	m.infos[k] = inf
	for _, a := range aliases {
		ak := keyOf(a, id)
		inf.keys = append(inf.keys, ak)
		m.infos[ak] = inf
	}
	return inf
}

// gc forgets inf when nothing refers to it (JS Protomux._gc).
func (m *Mux) gc(inf *info) {
	if inf.opened == 0 && len(inf.outgoing) == 0 && inf.pending == nil {
		for _, k := range inf.keys {
			if m.infos[k] == inf {
				delete(m.infos, k)
			}
		}
	}
}

// Open opens the channel with the given handshake (the bytes after the
// open's id; nil for none): it takes a local id and sends
// 00 01 ‖ uint(localId) ‖ string(protocol) ‖ optionalBuffer(id) ‖ handshake.
// If the remote's open for the same (protocol, id) is being offered to a
// pair handler, the channel is paired with it and its OnOpen runs when the
// handler returns; otherwise the channel waits for the remote's open.
func (c *Channel) Open(handshake []byte) error {
	m := c.m
	m.mu.Lock()
	defer m.unlock()
	if m.ended {
		return m.closedErr()
	}
	if c.state != stateCreated {
		return fmt.Errorf("%w: %s", ErrAlreadyOpen, c.opts.Protocol)
	}
	inf := m.info(c.opts.Protocol, c.opts.ID, c.opts.Aliases)
	if inf.opened > 0 {
		return fmt.Errorf("%w: another %s channel with id %x is open", ErrAlreadyOpen, c.opts.Protocol, c.opts.ID)
	}
	if len(m.local)-len(m.free) >= m.opt.MaxChannels {
		m.gc(inf)
		return fmt.Errorf("%w: %d local channels in use", ErrTooManyChannels, m.opt.MaxChannels)
	}
	frame := appendOpen(nil, 0, c.opts.Protocol, c.opts.ID, handshake)
	if len(frame)+8 > m.opt.MaxFrameSize {
		m.gc(inf)
		return fmt.Errorf("%w: open of %d bytes", ErrTooLarge, len(frame))
	}

	// Local ids start at 1; a freed id is reused, the last freed first.
	if n := len(m.free); n > 0 {
		c.localID = m.free[n-1] + 1
		m.free = m.free[:n-1]
	} else {
		m.local = append(m.local, nil)
		c.localID = uint64(len(m.local))
	}
	m.local[c.localID-1] = c
	inf.opened++
	c.inf = inf
	if p := inf.pending; p != nil && p.claimed == nil {
		p.claimed = c
		c.remoteID = p.remoteID
		m.remote[p.remoteID-1] = c
		c.state = stateOpen
	} else {
		inf.outgoing = append(inf.outgoing, c)
		c.state = stateOpening
	}
	m.write0(appendOpen(nil, c.localID, c.opts.Protocol, c.opts.ID, handshake))
	return nil
}

// Send sends a message of type typ (an index into the channel's table)
// with an encoded payload: uint(localId) ‖ uint(type) ‖ payload, or an
// entry of the batch when the mux is corked. It may be called as soon as
// the channel is opened, before the remote's open arrives, as JS allows.
// It never waits for the network.
func (c *Channel) Send(typ int, payload []byte) error {
	m := c.m
	m.mu.Lock()
	defer m.unlock()
	if m.ended {
		return m.closedErr()
	}
	if c.state != stateOpening && c.state != stateOpen {
		return fmt.Errorf("%w: %s", ErrChannelClosed, c.opts.Protocol)
	}
	if typ < 0 || typ >= c.opts.Messages {
		return fmt.Errorf("%w: type %d of %d", ErrUnknownType, typ, c.opts.Messages)
	}
	n := compact.UintLen(c.localID) + compact.UintLen(uint64(typ)) + len(payload)
	if n > m.opt.MaxFrameSize {
		return fmt.Errorf("%w: message of %d bytes", ErrTooLarge, n)
	}
	if m.corked > 0 {
		body := append(compact.AppendUint(make([]byte, 0, n), uint64(typ)), payload...)
		m.pushBatch(batchEntry{channel: c.localID, body: body})
		return nil
	}
	m.enqueue(appendMessage(make([]byte, 0, n), c.localID, uint64(typ), payload))
	return nil
}

// Close closes the channel: it sends 00 03 ‖ uint(localId) and calls
// OnClose with remote false. Closing a channel that is already closed, or
// was never opened, does nothing.
func (c *Channel) Close() error {
	m := c.m
	m.mu.Lock()
	switch c.state {
	case stateCreated:
		c.state = stateClosed
		m.unlock()
		return nil
	case stateClosed:
		m.unlock()
		return nil
	}
	frame := appendControl(nil, typeClose, c.localID)
	m.closeLocked(c)
	m.write0(frame)
	m.unlock()
	c.closed(false)
	return nil
}

// closeLocked marks c closed and frees its ids; m.mu is held (JS
// Channel._close). A paired channel frees its local id and the remote's id
// at once. A channel still waiting for the remote's open keeps its local id
// reserved until that open or a reject arrives, so that the remote never
// sees the id reused while it may still answer the old open.
func (m *Mux) closeLocked(c *Channel) {
	c.state = stateClosed
	c.inf.opened--
	if c.remoteID > 0 {
		m.remote[c.remoteID-1] = nil
		c.remoteID = 0
		m.free = append(m.free, c.localID-1)
	}
	m.local[c.localID-1] = nil
	m.gc(c.inf)
}

// closed runs OnClose; m.mu is not held.
func (c *Channel) closed(remote bool) {
	if c.opts.OnClose != nil {
		c.opts.OnClose(c, remote)
	}
}

// dispatch acts on the messages of one frame in order (protomux.md,
// "Receiving"). Replies to a batch of more than one message are corked
// into one batch, as JS does.
func (m *Mux) dispatch(msgs []message) error {
	corked := false
	defer func() {
		if corked {
			m.Uncork()
		}
	}()
	for i := range msgs {
		msg := &msgs[i]
		if msg.more && !corked {
			corked = true
			m.Cork()
		}
		var err error
		if msg.channel == 0 {
			switch msg.typ {
			case typeOpen:
				err = m.onOpen(msg)
			case typeReject:
				err = m.onReject(msg.ref)
			case typeClose:
				m.onClose(msg.ref)
			default:
				// A receiver MUST ignore control messages of unknown types.
			}
		} else {
			err = m.onMessage(msg)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// onOpen handles a remote open (protomux.md, "Pairing").
func (m *Mux) onOpen(msg *message) error {
	m.mu.Lock()
	if m.ended {
		m.unlock()
		return nil
	}
	remoteID := msg.ref
	// The remote MUST NOT open channel id 0. (JS means to reject it, but
	// encoding that reject throws and destroys the stream.)
	if remoteID == 0 {
		m.unlock()
		return fmt.Errorf("%w: channel id 0", ErrInvalidOpen)
	}
	if remoteID > uint64(m.opt.MaxChannels) {
		m.unlock()
		return fmt.Errorf("%w: remote channel id %d", ErrTooManyChannels, remoteID)
	}
	// A new remote id MUST be free and at most one above the highest remote
	// id seen so far.
	rid := remoteID - 1
	if rid == uint64(len(m.remote)) {
		m.remote = append(m.remote, nil)
	}
	if rid > uint64(len(m.remote)) || m.remote[rid] != nil {
		m.unlock()
		return fmt.Errorf("%w: remote channel id %d with %d ids seen", ErrInvalidOpen, remoteID, len(m.remote))
	}

	key := keyOf(msg.protocol, msg.id)
	if inf := m.infos[key]; inf != nil && len(inf.outgoing) > 0 {
		c := inf.outgoing[0]
		inf.outgoing[0] = nil
		inf.outgoing = inf.outgoing[1:]
		if c.state == stateClosed {
			// Closed before the remote answered: its local id is free now.
			m.free = append(m.free, c.localID-1)
			m.gc(inf)
			m.unlock()
			return nil
		}
		m.remote[rid] = c
		c.remoteID = remoteID
		c.state = stateOpen
		m.unlock()
		return c.opened(msg.payload)
	}

	fn := m.pairs[key]
	if fn == nil {
		fn = m.pairs[keyOf(msg.protocol, nil)]
	}
	if fn == nil {
		m.write0(appendControl(nil, typeReject, remoteID))
		m.unlock()
		return nil
	}
	inf := m.info(msg.protocol, msg.id, nil)
	p := &pending{remoteID: remoteID}
	inf.pending = p
	m.unlock()

	fn(msg.protocol, slices.Clone(msg.id))

	m.mu.Lock()
	inf.pending = nil
	m.gc(inf)
	if m.ended {
		m.unlock()
		return nil
	}
	c := p.claimed
	if c == nil {
		m.write0(appendControl(nil, typeReject, remoteID))
		m.unlock()
		return nil
	}
	open := c.state == stateOpen
	m.unlock()
	if !open {
		return nil // closed by the handler already
	}
	return c.opened(msg.payload)
}

// opened runs OnOpen; m.mu is not held.
func (c *Channel) opened(handshake []byte) error {
	if c.opts.OnOpen == nil {
		return nil
	}
	if err := c.opts.OnOpen(c, handshake); err != nil {
		return fmt.Errorf("protomux: %s: open: %w", c.opts.Protocol, err)
	}
	return nil
}

// onReject handles a remote reject of the local channel localID.
func (m *Mux) onReject(localID uint64) error {
	m.mu.Lock()
	if m.ended {
		m.unlock()
		return nil
	}
	// A reject MUST name a local channel that is waiting for the remote's
	// open.
	for _, inf := range m.infos {
		i := slices.IndexFunc(inf.outgoing, func(c *Channel) bool { return c.localID == localID })
		if i < 0 {
			continue
		}
		c := inf.outgoing[i]
		inf.outgoing = slices.Delete(inf.outgoing, i, i+1)
		m.free = append(m.free, localID-1)
		wasOpen := c.state != stateClosed
		if wasOpen {
			c.state = stateClosed
			inf.opened--
			m.local[localID-1] = nil
		}
		m.gc(inf)
		m.unlock()
		if wasOpen {
			c.closed(true)
		}
		return nil
	}
	m.unlock()
	return fmt.Errorf("%w: local channel id %d is not waiting for an open", ErrInvalidReject, localID)
}

// onClose handles a remote close of the remote channel remoteID.
func (m *Mux) onClose(remoteID uint64) {
	m.mu.Lock()
	// A close for channel 0 or for a remote id that is not open MUST be
	// ignored.
	if m.ended || remoteID == 0 || remoteID > uint64(len(m.remote)) || m.remote[remoteID-1] == nil {
		m.unlock()
		return
	}
	c := m.remote[remoteID-1]
	m.closeLocked(c)
	m.unlock()
	c.closed(true)
}

// onMessage delivers a channel message.
func (m *Mux) onMessage(msg *message) error {
	m.mu.Lock()
	// A message for a channel id that is not open, or of a type beyond the
	// channel's table, MUST be ignored.
	if m.ended || msg.channel > uint64(len(m.remote)) || m.remote[msg.channel-1] == nil {
		m.unlock()
		return nil
	}
	c := m.remote[msg.channel-1]
	m.unlock()
	if msg.typ >= uint64(c.opts.Messages) || c.opts.OnMessage == nil {
		return nil
	}
	if err := c.opts.OnMessage(c, int(msg.typ), msg.payload); err != nil {
		return fmt.Errorf("protomux: %s: message type %d: %w", c.opts.Protocol, msg.typ, err)
	}
	return nil
}

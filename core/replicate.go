package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/hypercore-go/hypercore/bitfield"
	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
)

// Replication follows hypercore 9.12.0's lib/replicate.js message for
// message (spec/replication.md). All replication state of a feed is guarded
// by the feed's mutex; what must happen outside it (sending, closing
// channels and sessions) is queued in an outbox and run after unlocking.

const (
	// wantWindow is the size of the block windows readers ask about.
	wantWindow = 1 << 20
	// maxInflightWants bounds the Wants waiting for an answer per peer.
	maxInflightWants = 16
	// defaultMaxRequests is the requests in flight per peer for downloads;
	// explicit gets and updates may use 16 more.
	defaultMaxRequests = 16
)

// Why a replication session ended (Replicate, Protocol.Run): nil for a
// clean end by either side, or an error matching one of these reasons
// (they are package session's, named here so a caller needs only core).
// An error from Replicate matches exactly one of them, besides the more
// precise error it wraps.
var (
	// ErrSessionClosed: closed locally: Protocol.Close, Feed.Close of a
	// feed replicated with Replicate (the error also matches ErrClosed),
	// or the context ended (it also wraps the context's error).
	ErrSessionClosed = session.ErrClosed
	// ErrConnectionLost: the connection failed (a reset, a failed read or
	// write).
	ErrConnectionLost = session.ErrConnection
	// ErrProtocol: the peer broke the protocol, or sent what does not
	// verify or costs more than its budget (ErrInvalidProof,
	// ErrMissingSignature, ErrNotAvailable for a request it could not ask
	// for, ErrPeerBudget), or opened a channel with a wrong capability.
	ErrProtocol = session.ErrProtocol
	// ErrTimeout: the peer was silent, did not read, let its queue fill
	// (session.ErrSlowPeer), or did not answer a request
	// (ErrRequestTimeout), for the session timeout.
	ErrTimeout = session.ErrTimeout
	// ErrHandshake: the connection failed before the session started.
	ErrHandshake = session.ErrHandshake
)

// ErrRequestTimeout is the error a peer is dropped with when its oldest
// request has had no answer for the session timeout (JS: "Request
// timeout"). It wraps ErrTimeout.
var ErrRequestTimeout = fmt.Errorf("core: request timeout: %w", session.ErrTimeout)

// ErrNoPeers is the error a wait (GetContext, Update, Download) fails with
// when the last connected peer that could serve it goes, refuses the feed
// or stops uploading, and no connection is being set up. A wait started
// while no peer is connected waits for one (until its context ends). It
// wraps the reason when there is one (ErrRefused).
var ErrNoPeers = errors.New("core: no connected peer can serve this")

// ErrRefused is wrapped by ErrNoPeers when the last peer refused the feed:
// it does not have it (it rejected the channel).
var ErrRefused = errors.New("core: the peer does not have this feed")

// ErrCancelled is returned to a wait that was cancelled: a Download by
// Undownload or Cancel, a get by Cancel.
var ErrCancelled = errors.New("core: download cancelled")

// ErrNotAvailableFromPeers is what a wait with IfAvailable (GetOptions,
// UpdateOptions) fails with when every connected peer has said what it
// has and none has the block or the length asked for (JS "Block not
// available from peers", "No update available from peers"). It wraps
// ErrNotAvailable.
var ErrNotAvailableFromPeers = fmt.Errorf("core: not available from the connected peers: %w", ErrNotAvailable)

// replState is a feed's replication state.
type replState struct {
	peers      []*Peer
	waiting    []*waiter
	selections []*selection
	reserved   *bitfield.Sparse // blocks requested from some peer
	stats      Stats
	noiseKey   *session.KeyPair
	out        *outbox                   // run after unlocking; nil when empty
	connecting int                       // Replicate calls still handshaking
	owned      map[*session.Session]bool // sessions Replicate made for this feed: Close ends them
	ext        extensions                // registered extensions (extension.go)
	put        putScratch                // what verifying a proof reuses (proof.go)
}

// Stats counts what a feed or a peer transferred.
type Stats struct {
	DownloadedBlocks, DownloadedBytes uint64
	UploadedBlocks, UploadedBytes     uint64
}

type waiter struct {
	index  uint64
	hash   bool
	update bool // an Update: done when the length reaches index+1
	done   chan error
	// forever: the wait does not fail when the last peer leaves
	forever bool
	// ifAvailable: the wait fails with ErrNotAvailableFromPeers once the
	// peers have settled and none can serve it (checkIfAvailable)
	ifAvailable bool
	minLength   uint64 // an Update's length asked for (index may move on)
}

type selection struct {
	start, end uint64
	openEnd    bool // end is "until the remote length" (JS end −1)
	blocks     []uint64
	blocksDone int
	selected   map[*Peer]bool
	hash       bool
	done       chan error
	iterated   bool
	implicit   bool // a non-sparse feed's own [0, open) selection: no caller waits on it
	forever    bool // the wait does not fail when the last peer leaves
	progress   func(held, total uint64)
}

func (f *Feed) repl0() *replState {
	if f.repl.reserved == nil {
		f.repl.reserved = bitfield.NewSparse()
		if !f.sparse {
			f.repl.selections = append(f.repl.selections, &selection{openEnd: true, done: make(chan error, 1), implicit: true})
		}
	}
	return &f.repl
}

// later queues fn to run after the feed's mutex is released.
func (f *Feed) later(fn func()) {
	ob := f.outbox()
	ob.items = append(ob.items, pending{fn: fn})
}

// unlock releases the feed's mutex and runs what was queued.
func (f *Feed) unlock() {
	f.checkIfAvailable()
	ob := f.repl.out
	f.repl.out = nil
	f.mu.Unlock()
	if ob != nil {
		ob.run()
	}
}

// outbox is what runs once the feed's mutex is released, in order:
// messages to send and functions to call. unlock takes it whole, so the
// next holder of the mutex starts another, and it is recycled once run:
// queuing the Request and the Data of a replicated block allocates
// nothing. A Data or Request is held by value in its item, and a Data's
// nodes in nodes; Channel.Send encodes a message before it returns, so
// nothing of an outbox is referred to once it has run.
type outbox struct {
	items []pending
	nodes []merkle.Node  // the proof nodes of the Data items
	wire  []message.Node // the nodes of the Data being sent (run's)
	data  int            // bytes of block values in items
}

// pending is one item of an outbox: a function (fn), or a message to send
// on ch: m, or the Data or Request held in the item (kind).
type pending struct {
	fn   func()
	ch   *session.Channel
	m    message.Message
	kind pendingKind
	// kind sendData: the message, its nodes being nodes[from:to]; recycle
	// holds the value's memory when it goes back to servedBlocks once sent
	data     message.Data
	from, to int
	recycle  *[]byte
	// kind sendRequest: the request's fields, and the message that points
	// to them (set by run)
	req    request
	reqMsg message.Request
}

type pendingKind uint8

const (
	sendMessage pendingKind = iota
	sendData
	sendRequest
)

var outboxes = sync.Pool{New: func() any { return new(outbox) }}

// servedBlocks holds the memory of blocks read to answer a Request, reused
// once their Data is sent unless an event subscriber got them (a 64 KiB
// clone otherwise made the garbage collector run every few blocks).
var servedBlocks = sync.Pool{New: func() any { return new([]byte) }}

// outbox returns the feed's outbox, starting one if it has none.
func (f *Feed) outbox() *outbox {
	if f.repl.out == nil {
		f.repl.out = outboxes.Get().(*outbox)
	}
	return f.repl.out
}

// run runs the items in order, then recycles the outbox.
func (ob *outbox) run() {
	for i := range ob.items {
		o := &ob.items[i]
		switch {
		case o.fn != nil:
			o.fn()
		case o.kind == sendData:
			d := &o.data
			if o.to > o.from {
				ob.wire = ob.wire[:0]
				for k := o.from; k < o.to; k++ {
					n := &ob.nodes[k]
					ob.wire = append(ob.wire, message.Node{Index: n.Index, Hash: n.Hash[:], Size: n.Size})
				}
				d.Nodes = ob.wire
			}
			o.ch.Send(d) // encodes d before it returns
			if o.recycle != nil {
				servedBlocks.Put(o.recycle)
			}
		case o.kind == sendRequest:
			r := &o.req
			o.reqMsg = message.Request{Index: r.index, Bytes: &r.bytes, Hash: &r.hash, Nodes: &r.nodes}
			o.ch.Send(&o.reqMsg)
		default:
			o.ch.Send(o.m)
		}
	}
	clear(ob.items) // drop the values and functions held
	clear(ob.wire)
	ob.items, ob.nodes, ob.wire, ob.data = ob.items[:0], ob.nodes[:0], ob.wire[:0], 0
	outboxes.Put(ob)
}

// Peer is a remote peer replicating a feed over a session channel.
type Peer struct {
	feed *Feed
	ch   *session.Channel

	remoteBitfield    *bitfield.Sparse // blocks the remote has and we lack
	remoteLength      uint64
	remoteWant        bool
	remoteTree        *bitfield.TreeIndex
	remoteAck         bool
	remoteOpened      bool
	remoteUploading   bool
	remoteDownloading bool
	wants             map[uint64]bool // windows we sent a Want for; nil in "subscribe all" mode
	inflight          []request
	inflightWants     int
	downloading       bool
	uploading         bool
	defaultDownload   bool
	live              bool
	ack               bool
	maxRequests       int
	urgentRequests    int
	first             bool
	closed            bool // sent our end Status
	removed           bool
	timeout           time.Duration
	timer             *time.Timer
	stats             Stats

	endReason error     // why the channel ended, for the waits that fail
	proto     *Protocol // the connection the peer is on

	// what the peer's claims cost, charged to its connection
	budgets       *connBudgets
	remoteCharged int64                 // remote bitfield bytes charged
	wantNext      map[*selection]uint64 // per selection, the first window not yet asked for
	parked        []*message.Request    // Requests waiting for the send queue to drain
	proof         proofScratch          // where answers build their proofs
	drainArmed    bool                  // a WhenDrained registration is pending
	ext           peerExtensions        // what the peer announced (extension.go)
}

// request is a Request in flight, or one being sent (with nodes, the
// digest).
type request struct {
	index uint64
	hash  bool
	bytes uint64
	nodes uint64
}

// Stats returns what was transferred with this peer.
func (p *Peer) Stats() Stats {
	p.feed.mu.Lock()
	defer p.feed.mu.Unlock()
	return p.stats
}

// RemoteLength returns the length the peer has announced.
func (p *Peer) RemoteLength() uint64 {
	p.feed.mu.Lock()
	defer p.feed.mu.Unlock()
	return p.remoteLength
}

// RemotePublicKey returns the peer's Noise static key (zero before the
// peer's channel has seen its first event).
func (p *Peer) RemotePublicKey() [32]byte {
	p.feed.mu.Lock()
	ch := p.ch
	p.feed.mu.Unlock()
	if ch == nil {
		return [32]byte{}
	}
	return ch.Session().RemotePublicKey()
}

func (p *Peer) send(m message.Message) {
	if p.ch == nil {
		return
	}
	ob := p.feed.outbox()
	ob.items = append(ob.items, pending{ch: p.ch, m: m})
}

// sendData sends Data{index, value, nodes, signature}, with the nodes
// copied into the outbox (they may be the peer's scratch).
// sendData queues a Data message; recycle, when not nil, holds value's
// memory, which goes back to servedBlocks once the message is sent.
func (p *Peer) sendData(index uint64, value []byte, recycle *[]byte, nodes []merkle.Node, sig []byte) {
	if p.ch == nil {
		return
	}
	ob := p.feed.outbox()
	from := len(ob.nodes)
	ob.nodes = append(ob.nodes, nodes...)
	ob.items = append(ob.items, pending{ch: p.ch, kind: sendData,
		data: message.Data{Index: index, Value: value, Signature: sig}, from: from, to: len(ob.nodes),
		recycle: recycle})
	ob.data += len(value)
}

// sendRequest sends a Request with all four fields set, as hypercore
// sends it (message.NewRequest).
func (p *Peer) sendRequest(r request) {
	if p.ch == nil {
		return
	}
	ob := p.feed.outbox()
	ob.items = append(ob.items, pending{ch: p.ch, kind: sendRequest, req: r})
}

// destroy ends the peer's whole session with err, as JS destroys the
// stream. What the peer did wrong is a protocol error (ErrProtocol) unless
// err already names its reason (a timeout).
func (p *Peer) destroy(err error) {
	if p.removed {
		return
	}
	if !errors.Is(err, session.ErrProtocol) && !errors.Is(err, session.ErrTimeout) {
		err = fmt.Errorf("%w: %w", session.ErrProtocol, err)
	}
	if l := p.logger(); l != nil {
		l.Warn("hypercore: peer dropped", "feed", p.feed.logName(), "err", err)
	}
	if p.ch != nil {
		s := p.ch.Session()
		p.feed.later(func() { s.CloseWithError(err) })
	}
	p.remove()
}

// ---------------------------------------------------------------- events

// opened is called by the session when the channel is open both ways
// (JS Peer.onopen).
func (p *Peer) opened(ch *session.Channel) {
	f := p.feed
	f.mu.Lock()
	defer f.unlock()
	p.remoteOpened = true
	if m := p.optionsMessage(); m != nil {
		p.send(m)
	}
	if !p.uploading || !p.downloading {
		p.send(message.NewStatus(p.uploading, p.downloading))
	}
	p.sendWants()
	f.events.emit(Event{Type: EventPeerOpen, Peer: p})
	if l := p.logger(); l != nil {
		l.Debug("hypercore: peer added", "feed", f.logName())
	}
}

// closed is called by the session when the channel closes.
func (p *Peer) closedCh(ch *session.Channel, err error) {
	f := p.feed
	f.mu.Lock()
	defer f.unlock()
	if !p.removed {
		switch {
		case err == nil && !p.remoteOpened:
			p.endReason = ErrRefused // the remote rejected the channel
		case err != nil && !errors.Is(err, io.EOF):
			p.endReason = err
		}
	}
	p.remove()
}

// message dispatches a message from the peer.
func (p *Peer) message(ch *session.Channel, m message.Message) {
	f := p.feed
	f.mu.Lock()
	defer f.unlock()
	if p.removed || f.closed {
		return
	}
	switch m := m.(type) {
	case *message.Options:
		p.remoteAck = m.GetAck()
		p.onOptionsExtensions(m)
	case *message.Status:
		p.onStatus(m)
	case *message.Have:
		p.onHave(m)
	case *message.Unhave:
		p.onUnhave(m)
	case *message.Want:
		p.onWant(m)
	case *message.Request:
		p.onRequest(m)
	case *message.Data:
		p.onData(m)
	case *message.Extension:
		p.onExtension(m)
	}
	// Unwant and Cancel are ignored, as in JS.
}

// onWant answers a Want with the eager length Have (the first time) and
// the bitfield of the window (JS Peer.onwant).
func (p *Peer) onWant(m *message.Want) {
	f := p.feed
	if !p.uploading {
		return
	}
	length := m.GetLength()
	if _, err := span("Want", m.Start, length); err != nil {
		p.destroy(err)
		return
	}
	// Only windows aligned to 8192 blocks are answered, as JS does.
	if m.Start&8191 != 0 || length&8191 != 0 {
		return
	}
	// The answer covers at most the bitfield's length (Compress clips):
	// charge about what will be encoded.
	covered := f.bits.Len()
	if length != 0 {
		covered = min(length, covered)
	}
	if err := p.budgets.charge(&p.budgets.wantAnswers, int64(1+covered/8)); err != nil {
		p.destroy(err)
		return
	}
	if !p.remoteWant && f.length > 0 && f.bits.Get(f.length-1) {
		p.send(&message.Have{Start: f.length - 1})
	}
	p.remoteWant = true
	rle := f.bits.Compress(m.Start, length)
	p.send(&message.Have{Start: m.Start, Length: message.Uint64(length), Bitfield: rle})
}

// onHave records what the peer has (JS Peer.onhave).
func (p *Peer) onHave(m *message.Have) {
	f := p.feed
	f.events.emit(peerAck(p, m))
	if p.ack && m.GetAck() && m.Bitfield == nil && f.bits.Get(m.Start) {
		// an acknowledgement of our Data
		end := m.Start + max(m.GetLength(), 1)
		if end < m.Start {
			end = ^uint64(0)
		}
		f.events.emit(Event{Type: EventAck, Index: m.Start, End: end, Peer: p})
		return
	}
	updated := p.first
	p.first = false
	if m.GetLength() == wantWindow && p.inflightWants > 0 {
		p.inflightWants--
	}
	if m.Bitfield != nil {
		if l := m.GetLength(); l == 0 || l == 1 {
			p.resetWants(nil) // compatibility: subscribed to everything
		}
		// JS throws (uncaught) on a bitfield not aligned to a byte; a
		// peer that sends one is dropped.
		if m.Start&7 != 0 {
			p.destroy(fmt.Errorf("%w: Have bitfield at block %d, not a multiple of 8", session.ErrProtocol, m.Start))
			return
		}
		// remote and not local, written over the range, run by run: the
		// cost is the runs and the pages that change, not the bits claimed
		bits, err := p.remoteBitfield.OverwriteRLE(m.Start, m.Bitfield, 4, maxHaveBitfield, f.bits.Data())
		if err != nil {
			p.destroy(fmt.Errorf("%w: %w", session.ErrProtocol, err))
			return
		}
		if !p.syncRemote() {
			return
		}
		if bits > p.remoteLength {
			// JS compares the bitfield's size, not its end, and takes the
			// last bit set anywhere
			p.remoteLength = lastSet(p.remoteBitfield) + 1
			updated = true
		}
	} else {
		claim, err := span("Have", m.Start, max(m.GetLength(), 1))
		if err != nil {
			p.destroy(err)
			return
		}
		mark := claim.Clip(maxHaveBits)
		p.remoteBitfield.SetRangeAndNot(mark.Start, mark.End, f.bits.Data())
		if !p.syncRemote() {
			return
		}
		if claim.End > p.remoteLength {
			p.remoteLength = claim.End
			updated = true
		}
	}
	if updated {
		f.events.emit(Event{Type: EventRemoteUpdate, Index: p.remoteLength, Peer: p})
	}
	p.updateEnd()
	p.update()
}

// lastSet returns the last set bit of a sparse bitfield, −1 (2^64−1) when
// none is set, as fast-bitfield's last().
func lastSet(s *bitfield.Sparse) uint64 {
	if i, ok := s.Last(); ok {
		return i
	}
	return ^uint64(0)
}

// onUnhave forgets blocks the peer no longer has (JS Peer.onunhave), page
// by page.
func (p *Peer) onUnhave(m *message.Unhave) {
	claim, err := span("Unhave", m.Start, max(m.GetLength(), 1))
	if err != nil {
		p.destroy(err)
		return
	}
	if claim.Start == 0 && claim.End >= p.remoteLength {
		p.remoteLength = 0
		p.remoteBitfield = bitfield.NewSparse()
	} else {
		c := claim.Clip(maxHaveBits)
		p.remoteBitfield.ClearRange(c.Start, c.End)
	}
	p.syncRemote()
}

func (p *Peer) onStatus(m *message.Status) {
	f := p.feed
	p.remoteUploading = m.GetUploading()
	p.remoteDownloading = m.GetDownloading()
	if !p.remoteUploading {
		for len(p.inflight) > 0 {
			p.clear(p.inflight[0].index)
		}
		p.inflightWants = 0
		p.resetWants(map[uint64]bool{})
		f.failUnservable(nil)
	}
	p.update()
	if p.remoteDownloading || p.live {
		return
	}
	if len(f.repl.selections) > 0 && p.downloading {
		return
	}
	p.autoEnd()
}

func (p *Peer) autoEnd() {
	if p.uploading && p.remoteDownloading {
		return
	}
	if (p.feed.sparse || p.live) && (p.remoteUploading || p.downloading) {
		return
	}
	p.end()
}

// end finishes a session that is not live (JS Peer.end).
func (p *Peer) end() {
	if !p.downloading && !p.remoteDownloading && !p.live {
		if !p.defaultDownload {
			p.send(message.NewStatus(false, false))
		}
		p.closeChannel()
		return
	}
	if !p.closed {
		p.closed = true
		p.downloading = false
		p.send(message.NewStatus(true, false))
	} else if !p.live {
		p.closeChannel()
	}
}

func (p *Peer) closeChannel() {
	if ch := p.ch; ch != nil {
		p.feed.later(func() { ch.Close() })
	}
	p.remove()
}

// onRequest answers a Request with the block and its proof (JS
// Peer.onrequest), or parks it while the peer's send queue is over
// answerBelow: a peer that asks faster than it reads waits for its answers
// instead of filling the queue (spec/replication.md, "Answering").
func (p *Peer) onRequest(m *message.Request) {
	// spec/replication.md, "Switches": while a side is not uploading it
	// MUST NOT answer a Request.
	if !p.uploading {
		return
	}
	if len(p.parked) > 0 || p.queued() >= answerBelow {
		if err := p.budgets.charge(&p.budgets.parked, 1); err != nil {
			p.destroy(err)
			return
		}
		p.parked = append(p.parked, m)
		p.armDrain()
		return
	}
	p.answer(m)
}

// queued is the bytes waiting to be sent to the peer.
func (p *Peer) queued() int {
	if p.ch == nil {
		return 0
	}
	// and the blocks in the feed's outbox, sent right after unlocking
	n := p.ch.Session().Queued()
	if ob := p.feed.repl.out; ob != nil {
		n += ob.data
	}
	return n
}

// armDrain asks the session to call back when the queue has drained.
func (p *Peer) armDrain() {
	if p.drainArmed || p.ch == nil {
		return
	}
	p.drainArmed = true
	s, f := p.ch.Session(), p.feed
	f.later(func() { s.WhenDrained(answerBelow, p.onDrained) })
}

// onDrained answers parked Requests while the queue stays under
// answerBelow.
func (p *Peer) onDrained() {
	f := p.feed
	f.mu.Lock()
	defer f.unlock()
	p.drainArmed = false
	if p.removed || f.closed {
		return
	}
	n := 0
	for n < len(p.parked) && p.queued() < answerBelow && !p.removed {
		m := p.parked[n]
		p.parked[n] = nil
		n++
		p.answer(m)
	}
	p.budgets.charge(&p.budgets.parked, -int64(n))
	p.parked = p.parked[n:]
	if len(p.parked) > 0 && !p.removed {
		p.armDrain()
	}
}

// answer sends the block and proof a Request asks for.
func (p *Peer) answer(m *message.Request) {
	f := p.feed
	index := m.Index
	if m.GetBytes() != 0 {
		// JS serves the block holding the byte, or the index when it
		// cannot seek.
		if i, _, err := f.seekLocked(m.GetBytes()); err == nil && i < f.length {
			index = i
		}
	}
	if p.remoteTree == nil {
		p.remoteTree = bitfield.NewTreeIndex(nil)
	}
	nodes, sig, err := f.appendProof(&p.proof, index, m.GetNodes(), m.GetHash(), p.remoteTree)
	if err != nil {
		// JS destroys the stream when it cannot build a proof.
		p.destroy(err)
		return
	}
	var value []byte
	var buf *[]byte // value's memory, reused once sent when no one else can keep it
	if !m.GetHash() {
		if !f.bits.Get(index) {
			return // we have the node but not the data: JS sends nothing
		}
		// not hashed again: the peer verifies it (spec/security.md,
		// "Serving unverified blocks")
		buf = servedBlocks.Get().(*[]byte)
		if value, err = f.readBlockInto(index, false, *buf); err != nil {
			servedBlocks.Put(buf)
			p.destroy(err)
			return
		}
		*buf = value
		p.stats.UploadedBlocks++
		p.stats.UploadedBytes += uint64(len(value))
		f.repl.stats.UploadedBlocks++
		f.repl.stats.UploadedBytes += uint64(len(value))
		if f.events.emit(Event{Type: EventUpload, Index: index, Bytes: len(value), Data: value, Peer: p}) {
			buf = nil // a subscriber has it: not reused
		}
	}
	if index+1 > p.remoteLength {
		p.remoteLength = index + 1
		p.updateEnd()
	}
	p.sendData(index, value, buf, nodes, sig)
}

// onData verifies and stores a block (JS Peer.ondata).
func (p *Peer) onData(m *message.Data) {
	f := p.feed
	// Unrequested blocks are dropped (nothing is allocated to forget
	// them); hash-only replies are always used.
	if m.Value != nil && !f.repl.reserved.Get(m.Index) {
		if !f.bits.Get(m.Index) && p.remoteWant {
			p.send(&message.Unhave{Range: message.Range{Start: m.Index}})
		}
		p.clear(m.Index)
		return
	}
	nodes := f.repl.put.take(&f.repl.put.proof)
	for _, n := range m.Nodes {
		if len(n.Hash) != 32 {
			p.destroy(fmt.Errorf("%w: node %d has a %d-byte hash", ErrInvalidProof, n.Index, len(n.Hash)))
			return
		}
		var h merkle.Hash
		copy(h[:], n.Hash)
		nodes = append(nodes, merkle.Node{Index: n.Index, Hash: h, Size: n.Size})
	}
	res, err := f.putLocked(m.Index, m.Value, &Proof{Nodes: nodes, Signature: m.Signature}, p)
	f.repl.put.keep(&f.repl.put.proof, nodes)
	if err != nil {
		p.destroy(err)
		return
	}
	if m.Value != nil {
		p.remoteBitfield.Unset(m.Index)
		p.stats.DownloadedBlocks++
		p.stats.DownloadedBytes += uint64(len(m.Value))
	}
	if p.remoteAck {
		p.send(&message.Have{Start: m.Index, Length: message.Uint64(1), Ack: message.Bool(true)})
	}
	f.afterPutLocked(m.Index, m.Value, res, p)
	p.clear(m.Index)
}

// clear forgets the requests for index and lets every peer request more.
func (p *Peer) clear(index uint64) {
	f := p.feed
	kept := p.inflight[:0]
	for _, r := range p.inflight {
		if r.index != index {
			kept = append(kept, r)
		} else if p.timer != nil {
			p.timer.Reset(p.timeout)
		}
	}
	p.inflight = kept
	f.repl.reserved.Unset(index)
	f.updatePeers()
	if len(p.inflight) == 0 && p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

// onRequestTimeout drops a peer whose oldest request went unanswered.
func (p *Peer) onRequestTimeout() {
	f := p.feed
	f.mu.Lock()
	defer f.unlock()
	p.timer = nil
	if len(p.inflight) == 0 || p.removed {
		return
	}
	first := p.inflight[0]
	if (first.hash && f.tree.Get(2*first.index)) || (!first.hash && f.bits.Get(first.index)) {
		p.inflight = p.inflight[1:]
		f.repl.reserved.Unset(first.index)
		p.startTimer()
		return
	}
	p.destroy(fmt.Errorf("%w: block %d", ErrRequestTimeout, first.index))
}

func (p *Peer) startTimer() {
	if p.timer == nil && p.timeout > 0 {
		p.timer = time.AfterFunc(p.timeout, p.onRequestTimeout)
	}
}

// remove takes the peer out of the feed and frees its requests (JS
// Peer._close).
func (p *Peer) remove() {
	f := p.feed
	if p.removed {
		return
	}
	p.removed = true
	// slices.Delete clears the freed slot: no stale reference keeps the
	// peer's state alive
	if i := slices.Index(f.repl.peers, p); i >= 0 {
		f.repl.peers = slices.Delete(f.repl.peers, i, i+1)
	}
	for _, s := range f.repl.selections {
		delete(s.selected, p)
	}
	for _, r := range p.inflight {
		f.repl.reserved.Unset(r.index)
	}
	p.inflight = nil
	// give back what the peer's claims were charged
	p.budgets.charge(&p.budgets.parked, -int64(len(p.parked)))
	p.parked = nil
	p.resetWants(nil)
	p.budgets.charge(&p.budgets.remote, -p.remoteCharged)
	p.remoteCharged = 0
	p.remoteBitfield = bitfield.NewSparse()
	p.remoteTree = nil
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.updateEnd()
	p.remoteWant = false
	f.updatePeers()
	f.events.emit(Event{Type: EventPeerRemove, Peer: p, Err: p.endReason})
	if l := p.logger(); l != nil {
		l.Debug("hypercore: peer removed", "feed", f.logName(), "err", p.endReason)
	}
	f.failUnservable(p.endReason)
}

// logger is the peer's connection's logger, or nil.
func (p *Peer) logger() *slog.Logger {
	if p.proto == nil {
		return nil
	}
	return p.proto.opts.Logger
}

// logName names the feed in logs: its discovery key's first bytes (the
// key itself is the read capability and is never logged).
func (f *Feed) logName() string { return fmt.Sprintf("%x", f.discoveryKey[:8]) }

// canServe reports whether the peer could still provide blocks: it has not
// gone and has not said it stopped uploading.
func (p *Peer) canServe() bool { return !p.removed && p.remoteUploading }

// failUnservable fails every wait (reads, updates, downloads) with
// ErrNoPeers when no connected peer can serve anything any more, after the
// last one that could has gone or stopped uploading. reason, when not nil,
// says why the last one went.
func (f *Feed) failUnservable(reason error) {
	if f.repl.connecting > 0 {
		return // a peer is on its way
	}
	for _, p := range f.repl.peers {
		if p.canServe() {
			return
		}
	}
	err := ErrNoPeers
	if reason != nil {
		err = fmt.Errorf("%w: %w", ErrNoPeers, reason)
	}
	kept := f.repl.waiting[:0]
	for _, w := range f.repl.waiting {
		if w.forever {
			kept = append(kept, w)
		} else {
			w.done <- err
		}
	}
	clear(f.repl.waiting[len(kept):])
	f.repl.waiting = kept
	for i := 0; i < len(f.repl.selections); {
		if s := f.repl.selections[i]; !s.implicit && !s.forever {
			f.finishSelection(s, err)
			continue
		}
		i++
	}
}

// ---------------------------------------------------------------- wants

func (p *Peer) sendWantsMaybe() {
	if len(p.inflight) < p.urgentRequests {
		p.sendWants()
	}
}

// sendWants asks for the windows needed by pending gets and downloads, and
// always for window 0 (JS Peer._sendWants).
func (p *Peer) sendWants() {
	f := p.feed
	if p.wants == nil || !p.downloading || !p.remoteOpened || !p.remoteUploading {
		return
	}
	if p.inflightWants >= maxInflightWants {
		return
	}
	for _, w := range f.repl.waiting {
		p.sendWant(w.index)
		if p.inflightWants >= maxInflightWants {
			return
		}
	}
	for _, s := range f.repl.selections {
		p.sendWantRange(s)
		if p.inflightWants >= maxInflightWants {
			return
		}
	}
	p.sendWant(0)
}

// resetWants replaces the windows asked for (nil: "subscribe all" mode),
// giving back their charge.
func (p *Peer) resetWants(w map[uint64]bool) {
	p.budgets.charge(&p.budgets.wants, -int64(len(p.wants)))
	p.wants = w
	p.wantNext = nil
}

// sendWantRange asks for the first window of s that was not asked for yet.
// Windows asked for are never forgotten (until resetWants), so a cursor per
// selection remembers where that is: each call costs what it sends, not
// the windows already asked for.
func (p *Peer) sendWantRange(s *selection) {
	if s.blocks != nil {
		if s.selected == nil {
			s.selected = map[*Peer]bool{}
		}
		if s.selected[p] {
			return
		}
		s.selected[p] = true
		for _, b := range s.blocks {
			p.sendWant(b)
		}
		return
	}
	want := s.start / wantWindow * wantWindow
	if next, ok := p.wantNext[s]; ok {
		want = max(want, next)
	}
	for {
		if want >= p.remoteLength || (!s.openEnd && want >= s.end) {
			break
		}
		if p.sendWant(want) || p.removed {
			break
		}
		// the window was already asked for: try the next one
		if want+wantWindow < want {
			break
		}
		want += wantWindow
	}
	if p.wants != nil {
		if p.wantNext == nil {
			p.wantNext = map[*selection]uint64{}
		}
		p.wantNext[s] = want
	}
}

func (p *Peer) sendWant(index uint64) bool {
	j := index / wantWindow
	if p.wants == nil || p.wants[j] {
		return false
	}
	if err := p.budgets.charge(&p.budgets.wants, 1); err != nil {
		p.destroy(err)
		return false
	}
	p.wants[j] = true
	p.inflightWants++
	p.send(&message.Want{Range: message.Range{Start: j * wantWindow, Length: message.Uint64(wantWindow)}})
	return true
}

// ---------------------------------------------------------------- requests

func (f *Feed) updatePeers() {
	for i := 0; i < len(f.repl.peers); i++ {
		p := f.repl.peers[i]
		p.update()
		if i < len(f.repl.peers) && f.repl.peers[i] != p {
			i-- // p was dropped (a budget): the next peer moved to i
		}
	}
}

// update sends as many requests as the peer allows (JS Peer.update).
func (p *Peer) update() {
	if p.removed {
		return
	}
	for p.update1() {
	}
	p.sendWantsMaybe()
}

// update1 is JS Peer._update: it returns true when it changed the lists of
// waits or selections and should run again.
func (p *Peer) update1() bool {
	f := p.feed
	if !p.downloading || !p.remoteUploading {
		return false
	}
	waiting, selections := f.repl.waiting, f.repl.selections
	wlen, slen := len(waiting), len(selections)
	inflight := len(p.inflight)
	for inflight < p.urgentRequests && len(waiting) > 0 {
		off := rand.IntN(len(waiting))
		for range waiting {
			w := waiting[off]
			off = (off + 1) % len(waiting)
			p.downloadWaiting(w)
			if len(f.repl.waiting) != wlen {
				return true
			}
			if len(p.inflight) >= p.urgentRequests {
				return false
			}
		}
		if inflight == len(p.inflight) {
			break
		}
		inflight = len(p.inflight)
	}
	for inflight < p.maxRequests && len(selections) > 0 {
		off := rand.IntN(len(selections))
		for range selections {
			s := selections[off]
			off = (off + 1) % len(selections)
			if !s.iterated {
				s.iterated = true
				// creating a JS iterator may expand the index
				if !s.openEnd {
					f.bits.Range(s.end)
				}
			}
			if s.blocks != nil {
				p.downloadBlocks(s)
			} else {
				p.downloadRange(s)
			}
			if len(f.repl.selections) != slen {
				return true
			}
			if len(p.inflight) >= p.maxRequests {
				return false
			}
		}
		if inflight == len(p.inflight) {
			return false
		}
		inflight = len(p.inflight)
	}
	return false
}

// reserve marks block i as requested; false if it already was.
func (f *Feed) reserve(i uint64) bool { return f.repl.reserved.Set(i, true) }

func (p *Peer) downloadWaiting(w *waiter) {
	f := p.feed
	if !p.remoteBitfield.Get(w.index) || !f.reserve(w.index) {
		if !w.update || f.repl.reserved.Get(w.index) {
			return
		}
		// an update asks for the first block the peer has past our length
		i, ok := p.remoteBitfield.NextSet(w.index, ^uint64(0))
		if !ok || !f.reserve(i) {
			return
		}
		w.index = i
	}
	p.request(w.index, 0, w.hash)
}

func (p *Peer) downloadBlocks(s *selection) {
	f := p.feed
	for s.blocksDone < len(s.blocks) && f.bits.Get(s.blocks[s.blocksDone]) {
		s.blocksDone++
	}
	if s.blocksDone >= len(s.blocks) {
		f.finishSelection(s, nil)
		return
	}
	for _, b := range s.blocks[s.blocksDone:] {
		if p.remoteBitfield.Get(b) && f.reserve(b) {
			p.request(b, 0, false)
			return
		}
	}
}

// downloadRange requests one block of a range that the peer has and we
// lack, starting at a random place (JS Peer._downloadRange).
func (p *Peer) downloadRange(s *selection) {
	f := p.feed
	wantedEnd := p.remoteLength
	if !s.openEnd {
		wantedEnd = min(s.end, p.remoteLength)
	}
	i, ok := p.nextRandom(s.start, wantedEnd)
	if !ok || i >= wantedEnd {
		if s.openEnd && !s.implicit && f.heldToPeersEnd(s.start) {
			f.finishSelection(s, nil) // "to the end" of a live session
			return
		}
		if !s.openEnd && f.length >= s.end {
			if _, missing := f.bits.NextMissing(s.start, s.end); !missing && (!s.hash || f.hashesHeld(s.start, s.end)) {
				f.finishSelection(s, nil)
				if !p.live && !f.sparse && len(f.repl.selections) == 0 {
					p.end()
				}
			}
		}
		return
	}
	start := i
	for (s.hash && f.tree.Get(2*i)) || !f.reserve(i) {
		i, ok = p.remoteBitfield.NextSet(i+1, ^uint64(0))
		if ok && i < wantedEnd {
			continue
		}
		if start != s.start {
			// we started at a random place: retry from the beginning
			i, ok = p.remoteBitfield.NextSet(s.start, ^uint64(0))
			start = s.start
			if ok && i < wantedEnd {
				continue
			}
		}
		if s.hash && f.hashesHeld(s.start, wantedEnd) {
			f.finishSelection(s, nil)
		}
		return
	}
	p.request(i, 0, s.hash)
}

// nextRandom is the first block ≥ a random start in [start, end) that the
// peer has, or the first from start.
func (p *Peer) nextRandom(start, end uint64) (uint64, bool) {
	if end > start {
		r := start + rand.Uint64N(end-start)
		if i, ok := p.remoteBitfield.NextSet(r, ^uint64(0)); ok && i < end {
			return i, true
		}
	}
	return p.remoteBitfield.NextSet(start, ^uint64(0))
}

// reportProgress calls the Progress of the downloads whose range holds
// block index, after unlocking.
func (f *Feed) reportProgress(index uint64) {
	for _, s := range f.repl.selections {
		if s.progress == nil || index < s.start {
			continue
		}
		end := s.end
		if s.openEnd {
			end = f.length
			for _, p := range f.repl.peers {
				end = max(end, p.remoteLength)
			}
		}
		if index >= end {
			continue
		}
		held, total, fn := f.bits.Data().Count(s.start, end), end-s.start, s.progress
		f.later(func() { fn(held, total) })
	}
}

// heldToPeersEnd reports whether every block from start is held up to the
// longest length the connected peers have announced (each has announced
// one), which is where an open-ended Download of a live session ends.
func (f *Feed) heldToPeersEnd(start uint64) bool {
	end := f.length
	for _, p := range f.repl.peers {
		if p.first {
			return false // this peer has not said how long its feed is
		}
		end = max(end, p.remoteLength)
	}
	if end > f.length {
		return false
	}
	_, missing := f.bits.NextMissing(start, end)
	return !missing
}

func (f *Feed) hashesHeld(start, end uint64) bool {
	for j := start; j < end; j++ {
		if !f.tree.Get(2 * j) {
			return false
		}
	}
	return true
}

func (p *Peer) request(index, bytes uint64, hash bool) {
	f := p.feed
	p.startTimer()
	r := request{index: index, hash: hash, bytes: bytes, nodes: f.tree.Digest(2 * index)}
	p.inflight = append(p.inflight, r)
	p.sendRequest(r)
}

// updateEnd sets the end of a non-sparse, non-live feed's download to the
// longest length its peers announced (JS Peer._updateEnd).
func (p *Peer) updateEnd() {
	f := p.feed
	if p.live || f.sparse || len(f.repl.selections) == 0 {
		return
	}
	s := f.repl.selections[0]
	end := f.length
	for _, q := range f.repl.peers {
		end = max(end, q.remoteLength)
	}
	s.openEnd = false
	s.end = end
}

func (f *Feed) finishSelection(s *selection, err error) {
	if i := slices.Index(f.repl.selections, s); i >= 0 {
		f.repl.selections = slices.Delete(f.repl.selections, i, i+1)
		for _, p := range f.repl.peers {
			delete(p.wantNext, s)
		}
		s.done <- err
	}
}

// ---------------------------------------------------------------- feed side

// afterAppend announces new blocks to the peers that asked (JS _announce
// after _append).
func (f *Feed) afterAppend(start, n uint64) {
	f.mu.Lock()
	defer f.unlock()
	f.events.emit(Event{Type: EventAppend, Index: start + n})
	h := &message.Have{Start: start}
	if n > 1 {
		h.Length = message.Uint64(n)
	}
	for _, p := range f.repl.peers {
		p.have(h, start, n)
	}
	f.pollWaiting()
}

func (p *Peer) have(h *message.Have, start, n uint64) {
	if p.remoteWant {
		p.send(h)
	}
	if n > 1 { // as JS: a single Have has no length and clears nothing
		p.remoteBitfield.ClearRange(start, start+n)
		p.syncRemote()
	}
}

// afterPut is Put's bookkeeping when called directly (not from a peer).
func (f *Feed) afterPut(index uint64, value []byte, r PutResult, from *Peer) {
	f.mu.Lock()
	defer f.unlock()
	f.afterPutLocked(index, value, r, from)
}

// afterPutLocked emits events, re-announces a downloaded block to the other
// peers and wakes waits (JS _writeDone and _pollWaiting).
func (f *Feed) afterPutLocked(index uint64, value []byte, r PutResult, from *Peer) {
	f.repl0()
	if r.Grew {
		f.events.emit(Event{Type: EventAppend, Index: f.length, Peer: from})
	}
	if value != nil {
		if r.Stored {
			f.repl.stats.DownloadedBlocks++
			f.repl.stats.DownloadedBytes += uint64(len(value))
			if from != nil { // a received Data's memory (session.Config.ReuseData)
				f.events.emitBorrowed(Event{Type: EventDownload, Index: index, Bytes: len(value), Data: value, Peer: from})
			} else {
				f.events.emit(Event{Type: EventDownload, Index: index, Bytes: len(value), Data: value, Peer: from})
			}
			f.reportProgress(index)
		}
		for _, p := range f.repl.peers {
			if p != from && p.remoteWant {
				p.send(&message.Have{Start: index})
			}
			// Unlike JS, forget that other peers could send this block:
			// their remote bits mean "has it and we lack it", and JS,
			// which leaves them set, requests a block it just got from
			// one peer again from another (spec/replication.md).
			if r.Stored {
				p.remoteBitfield.Unset(index)
			}
		}
		if f.secretKey == nil {
			if _, missing := f.bits.NextMissing(0, f.length); !missing {
				f.events.emit(Event{Type: EventSync, Index: f.length})
			}
		}
	}
	f.pollWaiting()
}

func (f *Feed) afterClear(start, end uint64) {
	f.mu.Lock()
	defer f.unlock()
	f.events.emit(Event{Type: EventClear, Index: start, End: end})
	for _, p := range f.repl.peers {
		if p.remoteWant {
			p.send(&message.Unhave{Range: message.Range{Start: start, Length: message.Uint64(end - start)}})
		}
	}
}

// pollWaiting completes the waits that are satisfied.
func (f *Feed) pollWaiting() {
	kept := f.repl.waiting[:0]
	for _, w := range f.repl.waiting {
		switch {
		case w.update && f.length >= w.index+1:
			w.done <- nil
		case !w.update && f.bits.Get(w.index):
			w.done <- nil
		case w.hash && !w.update && f.tree.Get(2*w.index):
			w.done <- nil
		default:
			kept = append(kept, w)
		}
	}
	f.repl.waiting = kept
}

func (f *Feed) closeReplication() {
	f.mu.Lock()
	defer f.unlock()
	for _, w := range f.repl.waiting {
		w.done <- ErrClosed
	}
	f.repl.waiting = nil
	for _, s := range f.repl.selections {
		s.done <- ErrClosed
	}
	f.repl.selections = nil
	for _, p := range append([]*Peer(nil), f.repl.peers...) {
		p.closeChannel()
	}
	// the sessions Replicate made for this feed end too (a live one would
	// outlive its last channel)
	for s := range f.repl.owned {
		f.later(func() { s.CloseWithError(fmt.Errorf("%w: %w", session.ErrClosed, ErrClosed)) })
	}
	f.repl.owned = nil
}

// ---------------------------------------------------------------- API

// GetOptions say how GetWith waits (JS get options).
type GetOptions struct {
	// NoWait fails at once with ErrNotAvailable when the block is not
	// stored (JS wait: false).
	NoWait bool
	// Timeout bounds the wait (JS timeout); 0 waits until ctx ends.
	Timeout time.Duration
	// WaitForPeers keeps waiting when the last connected peer that could
	// serve the block leaves or refuses the feed, for peers that connect
	// later. Without it the wait fails with ErrNoPeers then.
	WaitForPeers bool
	// IfAvailable waits only while a connected peer has the block or may
	// still say it has it (JS ifAvailable): once no connection is being
	// set up, every peer's channel is open and every Want is answered,
	// the wait fails with ErrNotAvailableFromPeers unless some peer has
	// announced the block or it is already requested. With no peer at all
	// it fails at once.
	IfAvailable bool
}

// UpdateOptions say how UpdateWith waits (JS update options).
type UpdateOptions struct {
	// MinLength is the length to wait for; 0 means one more than now.
	MinLength uint64
	// Timeout bounds the wait; 0 waits until ctx ends.
	Timeout time.Duration
	// WaitForPeers: as GetOptions.WaitForPeers.
	WaitForPeers bool
	// IfAvailable waits only while some peer may still announce a length
	// of at least MinLength (JS ifAvailable): once the peers have settled
	// (as GetOptions.IfAvailable) and none has announced one, the update
	// fails with ErrNotAvailableFromPeers. A writable feed fails at once,
	// as in JS.
	IfAvailable bool
	// Block also downloads the new last block (JS hash: false); by
	// default an update fetches only its hash and proof (JS hash: true).
	Block bool
}

// DownloadOptions say how DownloadWith waits.
type DownloadOptions struct {
	// WaitForPeers: as GetOptions.WaitForPeers.
	WaitForPeers bool
	// Progress, when set, is called after each block of the range is
	// stored, with the blocks of the range held and the range's length
	// (for an open end, up to the longest length the peers announced). It
	// runs on a replication goroutine: it must return quickly.
	Progress func(held, total uint64)
}

// GetContext returns block i, waiting for a peer to provide it when it is
// not stored locally, until ctx ends. It is GetWith with no options: the
// wait fails with ErrNoPeers when the last peer that could serve it leaves
// or refuses the feed (ErrRefused); started while no peer is connected, it
// waits for one. It fails with ErrCancelled when Cancel names the block,
// ErrClosed when the feed is closed, and ctx.Err() when ctx ends.
func (f *Feed) GetContext(ctx context.Context, i uint64) ([]byte, error) {
	return f.GetWith(ctx, i, nil)
}

// GetWith returns block i as GetContext does, waiting as opts say. Besides
// GetContext's errors, it fails with ErrNotAvailable (NoWait),
// ErrNotAvailableFromPeers (IfAvailable) or context.DeadlineExceeded
// (Timeout).
func (f *Feed) GetWith(ctx context.Context, i uint64, opts *GetOptions) ([]byte, error) {
	if opts == nil {
		opts = &GetOptions{}
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, ErrClosed
	}
	if f.bits.Get(i) {
		defer f.mu.Unlock()
		return f.getLocked(i)
	}
	if opts.NoWait {
		f.mu.Unlock()
		return nil, fmt.Errorf("%w: block %d", ErrNotAvailable, i)
	}
	f.repl0()
	w := &waiter{index: i, done: make(chan error, 1), forever: opts.WaitForPeers, ifAvailable: opts.IfAvailable}
	f.repl.waiting = append(f.repl.waiting, w)
	f.updatePeers()
	f.unlock()
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := f.wait(ctx, w); err != nil {
		return nil, err
	}
	return f.Get(i)
}

// waitHash waits until the tree holds the leaf of block i (its hash and
// the nodes of its proof), asking a peer for a proof without the block
// (JS get with hash: true). Reader.Seek uses it to learn the sizes of
// subtrees without downloading blocks.
func (f *Feed) waitHash(ctx context.Context, i uint64, opts *GetOptions) error {
	if opts == nil {
		opts = &GetOptions{}
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	if f.tree.Get(2 * i) {
		f.mu.Unlock()
		return nil
	}
	if opts.NoWait {
		f.mu.Unlock()
		return fmt.Errorf("%w: the hash of block %d", ErrNotAvailable, i)
	}
	f.repl0()
	w := &waiter{index: i, hash: true, done: make(chan error, 1), forever: opts.WaitForPeers, ifAvailable: opts.IfAvailable}
	f.repl.waiting = append(f.repl.waiting, w)
	f.updatePeers()
	f.unlock()
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	return f.wait(ctx, w)
}

// settled reports whether every connected peer has said what it has: no
// connection is being set up, every peer's channel is open and every Want
// has been answered (JS: the feed's ifAvailable guard is free).
func (f *Feed) settled() bool {
	if f.repl.connecting > 0 {
		return false
	}
	for _, p := range f.repl.peers {
		if !p.removed && (!p.remoteOpened || p.inflightWants > 0) {
			return false
		}
	}
	return true
}

// checkIfAvailable fails the waits with IfAvailable that no peer can
// serve, once the peers have settled (JS _ifAvailableGet, _ifAvailable).
// It runs whenever the feed's mutex is released (unlock).
func (f *Feed) checkIfAvailable() {
	if !slices.ContainsFunc(f.repl.waiting, func(w *waiter) bool { return w.ifAvailable }) || !f.settled() {
		return
	}
	kept := f.repl.waiting[:0]
	for _, w := range f.repl.waiting {
		if !w.ifAvailable || f.mayServe(w) {
			kept = append(kept, w)
			continue
		}
		if w.update {
			w.done <- fmt.Errorf("%w: no peer has length %d", ErrNotAvailableFromPeers, w.minLength)
		} else {
			w.done <- fmt.Errorf("%w: block %d", ErrNotAvailableFromPeers, w.index)
		}
	}
	clear(f.repl.waiting[len(kept):])
	f.repl.waiting = kept
}

// mayServe reports whether a connected peer can still complete w: it has
// announced the block (or a length of at least the update's), or the block
// is requested already.
func (f *Feed) mayServe(w *waiter) bool {
	if !w.update && f.repl.reserved.Get(w.index) {
		return true
	}
	for _, p := range f.repl.peers {
		if !p.canServe() {
			continue
		}
		if w.update && p.remoteLength >= w.minLength {
			return true
		}
		if !w.update && p.remoteBitfield.Get(w.index) {
			return true
		}
	}
	return false
}

// withTimeout is ctx bounded by d when d > 0.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return ctx, func() {}
}

// Update waits until the feed's length is at least minLength (0 means one
// more than now), asking peers for a proof of their latest length (JS
// update()). It is UpdateWith with only MinLength: it fails with
// ErrNoPeers as GetContext does.
func (f *Feed) Update(ctx context.Context, minLength uint64) error {
	return f.UpdateWith(ctx, &UpdateOptions{MinLength: minLength})
}

// UpdateWith is Update, waiting as opts say. It fails with ErrNoPeers as
// GetContext does, ErrNotAvailableFromPeers (IfAvailable),
// context.DeadlineExceeded (Timeout), ErrClosed, or ctx.Err().
func (f *Feed) UpdateWith(ctx context.Context, opts *UpdateOptions) error {
	if opts == nil {
		opts = &UpdateOptions{}
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	minLength := opts.MinLength
	if minLength == 0 {
		minLength = f.length + 1
	}
	if f.length >= minLength {
		f.mu.Unlock()
		return nil
	}
	if opts.IfAvailable && f.secretKey != nil {
		// JS: a writer has no update to get from peers
		f.mu.Unlock()
		return fmt.Errorf("%w: the feed is writable", ErrNotAvailableFromPeers)
	}
	f.repl0()
	w := &waiter{index: minLength - 1, hash: !opts.Block, update: true, done: make(chan error, 1), forever: opts.WaitForPeers,
		ifAvailable: opts.IfAvailable, minLength: minLength}
	f.repl.waiting = append(f.repl.waiting, w)
	f.updatePeers()
	f.unlock()
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	return f.wait(ctx, w)
}

// wait waits for w, removing it when ctx ends first.
func (f *Feed) wait(ctx context.Context, w *waiter) error {
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		f.mu.Lock()
		defer f.unlock()
		if i := slices.Index(f.repl.waiting, w); i >= 0 {
			f.repl.waiting = slices.Delete(f.repl.waiting, i, i+1)
		}
		select {
		case err := <-w.done: // completed meanwhile
			return err
		default:
		}
		return ctx.Err()
	}
}

// Download downloads blocks [start, end) from peers and returns when the
// feed has them all, or ctx ends. end 0 means "to the end": for a session
// that is not live, the longest length the peers announce; for a live one,
// the longest length the connected peers have announced when every block
// up to it is held. It fails with ErrNoPeers as GetContext does.
func (f *Feed) Download(ctx context.Context, start, end uint64) error {
	return f.DownloadWith(ctx, start, end, nil)
}

// DownloadWith is Download, waiting as opts say.
func (f *Feed) DownloadWith(ctx context.Context, start, end uint64, opts *DownloadOptions) error {
	if opts == nil {
		opts = &DownloadOptions{}
	}
	return f.download(ctx, &selection{start: start, end: end, openEnd: end == 0, forever: opts.WaitForPeers, progress: opts.Progress})
}

// DownloadBlocks downloads the given blocks.
func (f *Feed) DownloadBlocks(ctx context.Context, blocks []uint64) error {
	if len(blocks) == 0 {
		return nil
	}
	lo, hi := blocks[0], blocks[0]+1
	for _, b := range blocks {
		lo, hi = min(lo, b), max(hi, b+1)
	}
	return f.download(ctx, &selection{start: lo, end: hi, blocks: append([]uint64(nil), blocks...)})
}

func (f *Feed) download(ctx context.Context, s *selection) error {
	s.done = make(chan error, 1)
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	f.repl0()
	if !s.openEnd && s.blocks == nil {
		if _, missing := f.bits.NextMissing(s.start, s.end); !missing {
			f.mu.Unlock()
			return nil
		}
	}
	f.repl.selections = append(f.repl.selections, s)
	f.updatePeers()
	f.unlock()
	select {
	case err := <-s.done:
		return err
	case <-ctx.Done():
		f.mu.Lock()
		defer f.unlock()
		if i := slices.Index(f.repl.selections, s); i >= 0 {
			f.repl.selections = slices.Delete(f.repl.selections, i, i+1)
			for _, p := range f.repl.peers {
				delete(p.wantNext, s)
			}
		}
		return ctx.Err()
	}
}

// Undownload cancels the downloads of [start, end) started with Download
// (JS feed.undownload): each returns ErrCancelled, and blocks already
// requested still arrive and are stored. It reports how many downloads it
// cancelled. end 0 matches a Download with end 0.
func (f *Feed) Undownload(start, end uint64) int {
	f.mu.Lock()
	defer f.unlock()
	n := 0
	for i := 0; i < len(f.repl.selections); {
		s := f.repl.selections[i]
		if s.blocks == nil && s.start == start && (s.end == end || (end == 0 && s.openEnd)) {
			f.finishSelection(s, ErrCancelled)
			n++
			continue
		}
		i++
	}
	return n
}

// Cancel cancels the waits for blocks in [start, end) (JS feed.cancel):
// each GetContext or GetWith waiting for one of them, and each Download or
// DownloadBlocks whose blocks all lie in the range, returns ErrCancelled.
// end 0 means start+1. Blocks already requested still arrive and are
// stored. Unlike JS, an Update is not cancelled (its wait names a length,
// not a block), nor a Download with an open end. It reports how many
// waits it cancelled.
func (f *Feed) Cancel(start, end uint64) int {
	if end == 0 {
		end = start + 1
	}
	f.mu.Lock()
	defer f.unlock()
	n := 0
	kept := f.repl.waiting[:0]
	for _, w := range f.repl.waiting {
		if !w.update && start <= w.index && w.index < end {
			w.done <- fmt.Errorf("%w: block %d", ErrCancelled, w.index)
			n++
			continue
		}
		kept = append(kept, w)
	}
	clear(f.repl.waiting[len(kept):])
	f.repl.waiting = kept
	for i := 0; i < len(f.repl.selections); {
		s := f.repl.selections[i]
		if !s.implicit && !s.openEnd && start <= s.start && s.end <= end {
			f.finishSelection(s, ErrCancelled)
			n++
			continue
		}
		i++
	}
	return n
}

// Peers returns the peers replicating the feed now.
func (f *Feed) Peers() []*Peer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Peer(nil), f.repl.peers...)
}

// Stats returns what the feed transferred in total.
func (f *Feed) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.repl.stats
}

// ---------------------------------------------------------------- protocol

// ReplicateOptions configures replication over one connection.
type ReplicateOptions struct {
	// Initiator: the side that dialled. Exactly one side must be.
	Initiator bool
	// Live keeps replicating as the feed grows; a session that is not
	// live ends when both sides are done.
	Live bool
	// Download and Upload override the feed's defaults (a writer does not
	// download; everyone uploads).
	Download, Upload *bool
	// MaxRequests is the requests in flight per peer (default 16).
	MaxRequests int
	// Ack asks the peer to acknowledge every block it stores.
	Ack bool
	// Timeout is the session timeout (default 20 s); requests time out
	// after it too.
	Timeout time.Duration
	// NoiseKeyPair is the session's Noise static key pair, which
	// identifies this side's connection (not the feed's signing key pair,
	// Options.KeyPair); by default one per feed, or one per Protocol.
	NoiseKeyPair *session.KeyPair
	// Random is the randomness for the handshake (crypto/rand when nil).
	Random io.Reader
	// OnDiscoveryKey is called when the peer opens a feed this side has
	// not added; it may call Protocol.Add.
	OnDiscoveryKey func(p *Protocol, discoveryKey []byte)
	// Trace sees every message sent and received (session.Config.Trace).
	Trace func(sent bool, channel uint64, m message.Message)
	// Logger, when set, is told of the session's start and end (with the
	// reason), peers added and removed, and peers dropped for what they
	// sent: Info for the session, Debug for peers, Warn for drops.
	Logger *slog.Logger
}

// Protocol replicates any number of feeds over one connection.
type Protocol struct {
	s       *session.Session
	opts    ReplicateOptions
	budgets *connBudgets // what the peer's claims may cost, all feeds together
}

// NewProtocol runs the handshake over conn. Add feeds, then Run.
func NewProtocol(ctx context.Context, conn io.ReadWriter, opts *ReplicateOptions) (*Protocol, error) {
	if opts == nil {
		opts = &ReplicateOptions{}
	}
	p := &Protocol{opts: *opts, budgets: newConnBudgets()}
	cfg := session.Config{
		Initiator: opts.Initiator,
		KeyPair:   opts.NoiseKeyPair,
		Random:    opts.Random,
		Timeout:   opts.Timeout,
		Live:      opts.Live,
		Trace:     opts.Trace,
		// onData keeps nothing of a Data message: it writes the block,
		// and events get a copy (emitBorrowed)
		ReuseData: true,
	}
	// A feed the remote opens that is not added by the time
	// OnDiscoveryKey returns is refused, so the remote's waits fail
	// instead of hanging (spec/replication.md, "Opening").
	cfg.OnDiscoveryKey = func(s *session.Session, dk []byte) {
		if opts.OnDiscoveryKey != nil {
			opts.OnDiscoveryKey(p, dk)
		}
		s.Reject(dk)
	}
	s, err := session.New(ctx, conn, cfg)
	if err != nil {
		if opts.Logger != nil {
			opts.Logger.Info("hypercore: handshake failed", "err", err)
		}
		return nil, err
	}
	p.s = s
	if opts.Logger != nil {
		rk := s.RemotePublicKey()
		opts.Logger.Info("hypercore: session start", "initiator", opts.Initiator, "live", opts.Live, "remote", fmt.Sprintf("%x", rk[:8]))
	}
	return p, nil
}

// Session returns the protocol's session.
func (p *Protocol) Session() *session.Session { return p.s }

// Run reads from the connection until the session ends. It returns what
// Replicate returns: nil for a clean end by either side, or an error
// matching ErrSessionClosed, ErrConnectionLost, ErrProtocol or ErrTimeout.
// Feeds are added before Run (or from OnDiscoveryKey): a feed the remote
// opens that is not added by then is refused, and the remote's waits for
// it fail.
func (p *Protocol) Run(ctx context.Context) error {
	err := p.s.Run(ctx)
	if l := p.opts.Logger; l != nil {
		l.Info("hypercore: session end", "err", err)
	}
	return err
}

// Close ends the session: Run returns an error matching ErrSessionClosed.
func (p *Protocol) Close() error { return p.s.Close() }

// Remove stops replicating f over the protocol: its channel closes (the
// remote is told with Close) and the other feeds go on. It returns
// ErrChannelNotFound when f is not replicated over p.
func (p *Protocol) Remove(f *Feed) error {
	f.mu.Lock()
	defer f.unlock()
	for _, peer := range f.repl.peers {
		if peer.proto == p {
			peer.closeChannel()
			return nil
		}
	}
	return ErrChannelNotFound
}

// ErrChannelNotFound is returned by Protocol.Remove for a feed that is not
// replicated over the protocol.
var ErrChannelNotFound = errors.New("core: the feed is not replicated over this protocol")

// Add starts replicating f over the protocol: it opens the feed's channel
// (JS feed.replicate(stream)). It returns the peer.
func (p *Protocol) Add(f *Feed) (*Peer, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, ErrClosed
	}
	f.repl0()
	o := p.opts
	peer := &Peer{
		feed:              f,
		remoteBitfield:    bitfield.NewSparse(),
		remoteUploading:   true,
		remoteDownloading: true,
		wants:             map[uint64]bool{},
		downloading:       f.secretKey == nil,
		uploading:         true,
		live:              o.Live,
		ack:               o.Ack,
		maxRequests:       defaultMaxRequests,
		first:             true,
		timeout:           o.Timeout,
		budgets:           p.budgets,
		proto:             p,
	}
	f.switchDefaults(peer) // SetDownloading, SetUploading (switches.go)
	if o.Download != nil {
		peer.downloading = *o.Download
	}
	if o.Upload != nil {
		peer.uploading = *o.Upload
	}
	if o.MaxRequests > 0 {
		peer.maxRequests = o.MaxRequests
	}
	if peer.timeout == 0 {
		peer.timeout = session.DefaultTimeout
	}
	peer.urgentRequests = peer.maxRequests + 16
	peer.defaultDownload = peer.downloading // JS: this._defaultDownloading = this.downloading
	f.repl.peers = append(f.repl.peers, peer)
	f.events.emit(Event{Type: EventPeerAdd, Peer: peer})
	f.mu.Unlock()
	ch, err := p.s.Open(f.key, peerInit{peer})
	f.mu.Lock()
	defer f.unlock()
	if err != nil {
		peer.remove()
		return nil, err
	}
	peer.ch = ch
	return peer, nil
}

// peerInit sets the peer's channel before its first event.
type peerInit struct{ p *Peer }

func (h peerInit) Opened(ch *session.Channel) {
	h.setChannel(ch)
	h.p.opened(ch)
}

func (h peerInit) Message(ch *session.Channel, m message.Message) {
	h.setChannel(ch)
	h.p.message(ch, m)
}

func (h peerInit) Closed(ch *session.Channel, err error) {
	h.setChannel(ch)
	h.p.closedCh(ch, err)
}

func (h peerInit) setChannel(ch *session.Channel) {
	f := h.p.feed
	f.mu.Lock()
	h.p.ch = ch
	f.mu.Unlock()
}

// Replicate replicates the feed over conn until the session ends; it is
// NewProtocol, Add and Run. It returns nil for a clean end by either side
// (a session that is not live finished, or the peer hung up cleanly), or
// an error matching one reason: ErrSessionClosed (closed locally: ctx
// ended, or the feed was closed, when it also matches ErrClosed),
// ErrConnectionLost, ErrProtocol, ErrTimeout or ErrHandshake. Closing the
// feed ends the session, live or not.
func (f *Feed) Replicate(ctx context.Context, conn io.ReadWriter, opts *ReplicateOptions) error {
	if opts == nil {
		opts = &ReplicateOptions{}
	}
	o := *opts
	if o.NoiseKeyPair == nil {
		kp, err := f.noiseKeyPair(o.Random)
		if err != nil {
			return err
		}
		o.NoiseKeyPair = kp
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	f.repl0()
	f.repl.connecting++
	f.mu.Unlock()
	p, err := NewProtocol(ctx, conn, &o)
	if err == nil {
		_, err = p.Add(f)
		if err != nil {
			p.Close()
		}
	}
	f.mu.Lock()
	f.repl.connecting--
	if err != nil {
		f.failUnservable(err) // the peer on its way did not come
		f.unlock()
		return err
	}
	if f.closed {
		f.unlock()
		p.Close()
		return ErrClosed
	}
	if f.repl.owned == nil {
		f.repl.owned = map[*session.Session]bool{}
	}
	f.repl.owned[p.s] = true
	f.unlock()
	err = p.Run(ctx)
	f.mu.Lock()
	delete(f.repl.owned, p.s)
	f.mu.Unlock()
	return err
}

// noiseKeyPair returns the feed's Noise static key pair, made once, as JS
// makes one per feed.
func (f *Feed) noiseKeyPair(r io.Reader) (*session.KeyPair, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.repl.noiseKey == nil {
		kp, err := session.GenerateKeyPair(r)
		if err != nil {
			return nil, err
		}
		f.repl.noiseKey = &kp
	}
	return f.repl.noiseKey, nil
}

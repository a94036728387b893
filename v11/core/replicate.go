package core

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hypercore-go/hypercore/internal/guard"
	"github.com/hypercore-go/hypercore/v11/protomux"
	"github.com/hypercore-go/hypercore/v11/secretstream"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// Errors of replication (replication.md, "Errors").
var (
	// ErrProtocol: the remote sent what the protocol forbids, or data that
	// does not verify. The connection is ended.
	ErrProtocol = errors.New("core: protocol error")
)

// Limits on what one peer can make a core hold (replication.md, "Limits").
const (
	// maxInflight is how many requests a core keeps in flight to one peer.
	maxInflight = 32
	// wantBatch is the size of the want ranges sent, as JS (2^21 blocks).
	wantBatch = 1 << 21
	// maxWantLength: a want for more blocks is ignored, as JS ignores it
	// (wants.js MAX_RANGE), so one want costs at most a 256 KiB answer.
	maxWantLength = wantBatch
	// maxRangeBits bounds the blocks one range message marks beyond the
	// remote's contiguous prefix (the rest of a longer one is not marked;
	// a want for its batch learns it again): one message costs at most
	// 2^11 words of work. Peers send long ranges only from 0 (a
	// contiguous prefix, which costs nothing) or for a batch of appends.
	maxRangeBits = 1 << 16
	// maxWantsSent bounds the want batches remembered per peer as asked
	// (JS LocalWants MAX).
	maxWantsSent = 512
	// maxRefused bounds the blocks remembered per peer as refused (noData).
	maxRefused = 4096

	// budgetRemoteWords bounds the 32-bit words of announced bitfields
	// kept for all the peers of one connection (all its cores together):
	// 2^20 words, 2^25 blocks announced beyond the contiguous prefixes.
	budgetRemoteWords = 1 << 20
	// budgetWantAnswerBytes bounds the bitfield bytes sent in answer to
	// one connection's wants: 4096 wants of a whole 2^21-block batch.
	budgetWantAnswerBytes = 1 << 30
)

// connBudgets are the budgets of one connection (guard.Budget, as v9's
// core/limits.go), shared by the peers of every core replicated over it,
// each under its own core's lock, hence the mutex. A peer whose messages
// would pass one is dropped with ErrProtocol wrapping guard.ErrBudget.
type connBudgets struct {
	mu          sync.Mutex
	remoteWords guard.Budget
	wantAnswers guard.Budget
}

// budgetLimits are the limits new connections get (tests lower them).
var budgetLimits = struct{ remoteWords, wantAnswers uint64 }{budgetRemoteWords, budgetWantAnswerBytes}

func newConnBudgets() *connBudgets {
	return &connBudgets{
		remoteWords: guard.Budget{What: "remote bitfield words", Limit: budgetLimits.remoteWords},
		wantAnswers: guard.Budget{What: "want answer bytes", Limit: budgetLimits.wantAnswers},
	}
}

// charge charges n to b (b nil: a peer made without a connection, in
// tests: nothing is counted).
func (cb *connBudgets) charge(b func(*connBudgets) *guard.Budget, n uint64) error {
	if cb == nil || n == 0 {
		return nil
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return b(cb).Charge(n)
}

func (cb *connBudgets) release(b func(*connBudgets) *guard.Budget, n uint64) {
	if cb == nil || n == 0 {
		return
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	b(cb).Release(n)
}

func remoteWordsBudget(cb *connBudgets) *guard.Budget { return &cb.remoteWords }
func wantAnswersBudget(cb *connBudgets) *guard.Budget { return &cb.wantAnswers }

// ReplicateOptions configure a connection (replication.md, "Connections").
type ReplicateOptions struct {
	// Initiator is true for the side that dialled: it sends the first
	// Noise message.
	Initiator bool
	// KeyPair is this side's Noise identity (nil: a new one per
	// connection, as JS replicate() does).
	KeyPair ed25519.PrivateKey
	// Rand supplies the Noise randomness (nil: crypto/rand).
	Rand io.Reader
	// KeepAlive is how long the stream may be idle before an empty
	// message is sent: 0 means secretstream.DefaultKeepAlive (5 s, as JS),
	// a negative value none.
	KeepAlive time.Duration
	// Timeout ends the connection when nothing arrives for that long: 0
	// means 4 × the keep-alive (20 s), a negative value never.
	Timeout time.Duration
	// WriteTimeout bounds each write (0: 30 s, negative: none).
	WriteTimeout time.Duration
	// RequestTimeout re-issues a request a peer has not answered in that
	// long to another peer (0: 30 s). The peer is not dropped: JS has no
	// protocol-level request timeout either.
	RequestTimeout time.Duration
	// Trace, when set, sees every hypercore message sent (sent true) and
	// received on the core's channel, in order, on the goroutine that sends
	// or receives it, with the core's lock held; it must not block nor
	// call the core. Messages that arrive after the connection ended on
	// its writer are dropped unseen.
	Trace func(sent bool, m wire.Message)
}

// Replicate replicates c over conn until the connection ends, ctx ends or
// c is closed (replication.md). It returns nil for a clean end by either
// side.
func (c *Core) Replicate(ctx context.Context, conn net.Conn, opts *ReplicateOptions) error {
	p := NewProtocol(conn, opts)
	if err := p.Add(c); err != nil {
		return err
	}
	return p.Run(ctx)
}

// A Protocol is one connection carrying the channels of many cores.
type Protocol struct {
	conn  net.Conn
	opts  ReplicateOptions
	mu    sync.Mutex
	cores []*Core
	run   bool
}

// NewProtocol returns a connection that replicates the cores added to it
// with Add, once Run is called.
func NewProtocol(conn net.Conn, opts *ReplicateOptions) *Protocol {
	p := &Protocol{conn: conn}
	if opts != nil {
		p.opts = *opts
	}
	return p
}

// Add adds a core to replicate; it must be called before Run.
func (p *Protocol) Add(c *Core) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run {
		return errors.New("core: Protocol.Add after Run")
	}
	p.cores = append(p.cores, c)
	return nil
}

// Run runs the handshake and the channels until the connection ends.
func (p *Protocol) Run(ctx context.Context) error {
	p.mu.Lock()
	p.run = true
	cores := append([]*Core(nil), p.cores...)
	p.mu.Unlock()

	ka := p.opts.KeepAlive
	if ka == 0 {
		ka = secretstream.DefaultKeepAlive
	}
	if ka < 0 {
		ka = 0
	}
	rt := p.opts.Timeout
	if rt == 0 && ka > 0 {
		rt = 4 * ka
	}
	if rt < 0 {
		rt = 0
	}
	wt := p.opts.WriteTimeout
	if wt == 0 {
		wt = 30 * time.Second
	}
	if wt < 0 {
		wt = 0
	}
	s, err := secretstream.Handshake(ctx, p.conn, secretstream.Config{
		Initiator:    p.opts.Initiator,
		KeyPair:      p.opts.KeyPair,
		Rand:         p.opts.Rand,
		KeepAlive:    ka,
		ReadTimeout:  rt,
		WriteTimeout: wt,
	})
	if err != nil {
		return err
	}
	defer s.Close()
	mux := protomux.New(s, nil)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var peers []*peer
	budgets := newConnBudgets()
	for _, c := range cores {
		pe, err := c.repl.attach(mux, s, &p.opts, budgets)
		if err != nil {
			mux.Close()
			return err
		}
		peers = append(peers, pe)
		go func() {
			select {
			case <-c.repl.closed:
				mux.Close()
			case <-ctx.Done():
			}
		}()
	}
	err = mux.Run(ctx)
	for _, pe := range peers {
		pe.r.detach(pe)
	}
	if pe := firstFailure(peers); pe != nil {
		return pe
	}
	return err
}

// firstFailure returns the first protocol error a peer recorded.
func firstFailure(peers []*peer) error {
	for _, pe := range peers {
		pe.r.core.mu.Lock()
		err := pe.failure
		pe.r.core.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// A replicator is the replication state of one core: its peers and what
// it wants.
type replicator struct {
	core   *Core // its mu guards everything here
	peers  []*peer
	wants  []span // block ranges wanted by Get and Download calls
	closed chan struct{}
	timer  *time.Timer     // runs update when a request goes stale
	busy   map[uint64]bool // update's scratch: blocks with a live request, reused (not made per update)

	extensions map[string]*Extension // registered extensions by name (extension.go)
	fork       *forkRequest          // the search for a newer fork (reorg.go)
}

type span struct{ start, end uint64 }

func newReplicator(c *Core) *replicator {
	return &replicator{core: c, closed: make(chan struct{})}
}

func (r *replicator) close() {
	r.core.mu.Lock()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.core.mu.Unlock()
	select {
	case <-r.closed:
	default:
		close(r.closed)
	}
}

// A peer is one remote's channel for one core.
type peer struct {
	r  *replicator
	ch *protomux.Channel
	s  *secretstream.Conn

	opened            bool // the remote's open arrived
	remoteFork        uint64
	remoteLength      uint64
	remoteCanUpgrade  bool
	remoteUploading   bool
	remoteDownloading bool
	remoteHasManifest bool
	remoteSynced      bool
	lengthAcked       uint64 // the remote acknowledged this length of ours
	sentAck           uint64 // the remote length our last sync acknowledged

	remoteContig uint64            // blocks [0, remoteContig) announced
	remoteBits   map[uint64]uint32 // word k: blocks 32k..32k+31 announced, beyond remoteContig
	budgets      *connBudgets      // the connection's (nil in some tests)
	wantsSent    map[uint64]bool   // want batches (index / wantBatch) sent to it

	nextID    uint64
	inflight  map[uint64]*request
	upgrading bool                // an upgrade request is in flight
	refused   map[uint64]struct{} // blocks the remote answered noData for
	paused    bool                // it refused maxRefused blocks: no block requests until it syncs a new length
	detached  bool                // gone from the replicator: what still arrives is dropped

	ext     extensionState // extension names both ways, deliveries (extension.go)
	failure error

	noUpgrade bool // it answered an upgrade request with noData since its last sync

	trace   func(sent bool, m wire.Message)
	timeout time.Duration // after which a request in flight is re-issued elsewhere
}

// A request is one request in flight to a peer.
type request struct {
	id      uint64
	block   *uint64 // the block asked for, if any
	upgrade bool
	sent    time.Time
	stale   bool // past the timeout: its block may be asked of another peer
}

// newPeer returns a peer of r with its sets made and nothing else set.
func newPeer(r *replicator) *peer {
	return &peer{r: r, inflight: map[uint64]*request{}, refused: map[uint64]struct{}{}, remoteBits: map[uint64]uint32{}}
}

// attach opens the core's channel on mux.
func (r *replicator) attach(mux *protomux.Mux, s *secretstream.Conn, opts *ReplicateOptions, budgets *connBudgets) (*peer, error) {
	c := r.core
	pe := newPeer(r)
	pe.s, pe.budgets, pe.trace, pe.timeout = s, budgets, opts.Trace, opts.RequestTimeout
	if pe.timeout <= 0 {
		pe.timeout = 30 * time.Second
	}
	dk := c.dkey
	pe.ch = mux.CreateChannel(protomux.ChannelOptions{
		Protocol:  wire.Protocol,
		ID:        dk[:],
		Aliases:   []string{wire.ProtocolAlias},
		Messages:  wire.NumTypes,
		OnOpen:    pe.onOpen,
		OnMessage: pe.onMessage,
		OnClose:   func(*protomux.Channel, bool) { r.detach(pe) },
	})
	hs := wire.Handshake{Seeks: false, Capability: wire.Capability(s.HandshakeHash(), s.IsInitiator(), c.key)}
	if err := pe.ch.Open(hs.Append(nil)); err != nil {
		return nil, err
	}
	c.mu.Lock()
	r.peers = append(r.peers, pe)
	c.mu.Unlock()
	return pe, nil
}

// detach forgets a peer; its requests in flight go to other peers.
func (r *replicator) detach(pe *peer) {
	c := r.core
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range r.peers {
		if x == pe {
			r.peers = append(r.peers[:i], r.peers[i+1:]...)
			pe.detached = true
			pe.inflight = map[uint64]*request{}
			pe.upgrading = false
			pe.budgets.release(remoteWordsBudget, uint64(len(pe.remoteBits)))
			pe.remoteBits = map[uint64]uint32{}
			r.update()
			return
		}
	}
}

// fail records a protocol error and ends the connection.
func (pe *peer) fail(err error) error {
	if pe.failure == nil {
		pe.failure = fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return pe.failure
}

func (pe *peer) send(m wire.Message) {
	if pe.trace != nil {
		pe.trace(true, m)
	}
	_ = pe.ch.Send(int(m.Type()), wire.Encode(m))
}

// onOpen checks the remote's capability (wire.md, "Capability") and
// announces this core: sync, and a range of the blocks it holds.
func (pe *peer) onOpen(_ *protomux.Channel, p []byte) error {
	hs, err := wire.DecodeHandshake(p)
	if err != nil {
		return pe.failLocked(err)
	}
	c := pe.r.core
	// A receiver MUST end the connection when the capability is not the
	// one the remote's role gives.
	if err := wire.VerifyCapability(pe.s.HandshakeHash(), pe.s.IsInitiator(), c.key, hs.Capability); err != nil {
		return pe.failLocked(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pe.opened = true
	mux := pe.ch.Mux()
	mux.Cork()
	pe.sendSync()
	if n := c.contiguous(); n > 0 {
		pe.send(&wire.Range{Start: 0, Length: n})
	}
	mux.Uncork()
	return nil
}

func (pe *peer) failLocked(err error) error {
	c := pe.r.core
	c.mu.Lock()
	defer c.mu.Unlock()
	return pe.fail(err)
}

// sendSync sends this core's state (replication.md, "sync"). c.mu held.
func (pe *peer) sendSync() {
	c := pe.r.core
	ack := uint64(0)
	if c.tree.Fork == pe.remoteFork {
		ack = pe.remoteLength
	}
	pe.sentAck = ack
	pe.send(&wire.Sync{
		Fork:         c.tree.Fork,
		Length:       c.tree.Length,
		RemoteLength: ack,
		CanUpgrade:   pe.canUpgrade(),
		Uploading:    true,
		Downloading:  true,
		HasManifest:  c.manifest != nil && !c.compat,
	})
}

// canUpgrade reports whether this core can prove an upgrade from the
// remote's length to its own: same fork, and the roots of the remote's
// length are stored here. c.mu held.
func (pe *peer) canUpgrade() bool {
	c := pe.r.core
	if !pe.remoteSynced || pe.remoteFork != c.tree.Fork {
		return false
	}
	if pe.remoteLength == 0 {
		return true
	}
	if pe.remoteLength >= c.tree.Length {
		return false
	}
	return c.hasRootsOf(pe.remoteLength)
}

// onMessage dispatches one hypercore message.
func (pe *peer) onMessage(_ *protomux.Channel, typ int, p []byte) error {
	m, err := wire.Decode(wire.Type(typ), p)
	if err != nil {
		return pe.failLocked(err)
	}
	c := pe.r.core
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if pe.detached {
		// The connection ended on its writer while the reader still
		// delivers what arrived (protomux: a close may overlap one last
		// delivery); its requests went to other peers already, so its
		// data is not taken, nor traced as received.
		return nil
	}
	if pe.trace != nil {
		pe.trace(false, m)
	}
	switch m := m.(type) {
	case *wire.Sync:
		pe.onSync(m)
	case *wire.Request:
		pe.onRequest(m)
	case *wire.Cancel:
		// Requests are answered at once, so there is nothing in a queue to
		// cancel.
	case *wire.Data:
		if err := pe.onData(m); err != nil {
			return pe.fail(err)
		}
	case *wire.NoData:
		pe.onNoData(m)
	case *wire.Want:
		if err := pe.onWant(m.Start, m.Length, m.Any); err != nil {
			return pe.fail(err)
		}
	case *wire.Unwant:
	case *wire.Bitfield:
		if err := pe.onBitfield(m); err != nil {
			return pe.fail(err)
		}
	case *wire.Range:
		if err := pe.onRange(m); err != nil {
			return pe.fail(err)
		}
	case *wire.Extension:
		pe.onExtension(m)
	}
	return nil
}

// onSync records the remote's state; when it has a longer log of our fork
// (or we have none yet), we ask for the upgrade at once (eager upgrade, as
// JS clones do).
func (pe *peer) onSync(m *wire.Sync) {
	c := pe.r.core
	lengthChanged := !pe.remoteSynced || m.Length != pe.remoteLength || m.Fork != pe.remoteFork
	pe.remoteSynced = true
	pe.remoteFork, pe.remoteLength = m.Fork, m.Length
	pe.remoteCanUpgrade, pe.remoteUploading, pe.remoteDownloading = m.CanUpgrade, m.Uploading, m.Downloading
	pe.remoteHasManifest = m.HasManifest
	pe.noUpgrade = false
	if pe.paused && lengthChanged {
		pe.paused = false
		clear(pe.refused)
	}
	if m.Fork == c.tree.Fork {
		pe.lengthAcked = m.RemoteLength
	} else {
		pe.lengthAcked = 0
	}
	// Acknowledge a new remote length, and tell a remote that is behind
	// that we can upgrade it.
	if lengthChanged || (c.tree.Fork == pe.remoteFork && c.tree.Length > pe.lengthAcked) {
		if lengthChanged || pe.sentAck != pe.remoteLength {
			pe.sendSync()
		}
	}
	pe.r.update()
}

// onRequest answers a request with data or noData (replication.md,
// "Answering requests").
func (pe *peer) onRequest(m *wire.Request) {
	c := pe.r.core
	d, err := c.answer(m)
	if err != nil {
		reason := wire.ReasonNotAvailable
		if errors.Is(err, errInvalidRequest) {
			reason = wire.ReasonInvalidRequest
		}
		pe.send(&wire.NoData{Request: m.ID, Reason: reason})
		return
	}
	pe.send(d)
}

// onData verifies and stores what the remote sent for one of our requests.
// Data that does not verify ends the connection and stores nothing.
func (pe *peer) onData(m *wire.Data) error {
	c := pe.r.core
	req, ok := pe.inflight[m.Request]
	if !ok {
		// Not ours (an unsolicited push, or for a request that is no
		// longer in flight): JS ignores it.
		return nil
	}
	delete(pe.inflight, m.Request)
	if req.upgrade {
		pe.upgrading = false
	}
	if err := req.answeredBy(m); err != nil {
		return err
	}
	if req.block != nil && m.Block == nil && m.Fork == c.tree.Fork {
		// Data without the block asked for: as noData, so that the block
		// is not asked of this peer again and again.
		pe.refuse(*req.block)
	}
	if m.Fork > c.tree.Fork {
		// A newer fork: following a truncation (reorg.go).
		return pe.onReorgData(m)
	}
	if m.Fork != c.tree.Fork {
		pe.r.update()
		return nil
	}
	if m.Upgrade != nil && m.Upgrade.Start != c.tree.Length {
		// An upgrade from a length we have since left (another peer's
		// upgrade came first): stale, not a lie. Drop it unverified; what
		// it was for is asked again if still needed.
		pe.r.update()
		return nil
	}
	res, err := c.apply(m)
	if err != nil {
		return err
	}
	if res.upgraded {
		// Tell every peer our new length.
		for _, x := range pe.r.peers {
			if x.opened {
				x.sendSync()
			}
		}
	}
	if res.block != nil {
		for _, x := range pe.r.peers {
			if x.opened {
				x.send(c.haveRange(*res.block, *res.block+1))
			}
		}
	}
	pe.r.update()
	return nil
}

func (pe *peer) onNoData(m *wire.NoData) {
	req, ok := pe.inflight[m.Request]
	if !ok {
		return
	}
	delete(pe.inflight, m.Request)
	if req.upgrade {
		pe.upgrading = false
		// Not asked again until its next sync (JS: the peer must say
		// again that it can upgrade us).
		pe.noUpgrade = true
	}
	if req.block != nil {
		pe.refuse(*req.block)
	}
	pe.r.update()
}

// refuse records that the remote will not send block i. A peer that
// refused maxRefused blocks is asked for none until its length or fork
// changes (JS pauses a peer after MAX_BACKOFFS noData answers); this
// bounds the set, and the work each announcement does on it. c.mu held.
func (pe *peer) refuse(i uint64) {
	if len(pe.refused) >= maxRefused {
		pe.paused = true
		return
	}
	pe.refused[i] = struct{}{}
}

// onWant answers which of [start, start+length) this core holds
// (replication.md, "want"; JS Replicator._onwant): a range of the
// contiguous blocks when that says it all, else the first held block for
// an "any" want, else the contiguous range and a bitfield of the blocks
// past it. A want longer than a batch is ignored, as JS ignores it; one
// whose end does not fit in 64 bits is a protocol error. What the answers
// cost is charged to the connection's want answer budget. c.mu held.
func (pe *peer) onWant(start, length uint64, any bool) error {
	if length > maxWantLength {
		return nil
	}
	s, err := guard.SpanOf(start, length)
	if err != nil {
		return fmt.Errorf("want: %w", err)
	}
	c := pe.r.core
	contig := c.contiguous()
	if s.End < contig || c.tree.Length == contig || (any && s.Start < contig) {
		if contig > 0 {
			pe.send(&wire.Range{Start: 0, Length: contig})
		}
		return nil
	}
	end := min(s.End, c.tree.Length)
	if any {
		if b, ok, err := c.st.FirstPresent(s.Start); err == nil && ok && b < end {
			pe.send(&wire.Range{Start: b, Length: 1})
		}
		return nil
	}
	if contig > 0 && s.Start < contig {
		pe.send(&wire.Range{Start: 0, Length: contig})
	}
	from := max(s.Start, contig) &^ 31
	if from >= end {
		return nil
	}
	n := (end - from + 31) / 32
	if err := pe.budgets.charge(wantAnswersBudget, 4*n); err != nil {
		return err
	}
	words := make([]uint32, n)
	nonzero := false
	// Walk the runs of held blocks, not every block.
	for i := from; i < end; {
		p, ok, err := c.st.FirstPresent(i)
		if err != nil || !ok || p >= end {
			break
		}
		q, err := c.st.FirstMissing(p)
		if err != nil {
			break
		}
		q = min(q, end)
		setBits(words, p-from, q-from)
		nonzero = true
		i = q
	}
	if nonzero {
		pe.send(&wire.Bitfield{Start: from, Bitfield: words})
	}
	return nil
}

// setBits sets bits [lo, hi) of words.
func setBits(words []uint32, lo, hi uint64) {
	for lo < hi {
		k, b := lo/32, lo%32
		n := min(32-b, hi-lo)
		words[k] |= uint32((uint64(1)<<n - 1) << b)
		lo += n
	}
}

// wordMask is the mask of the bits of word k that are in [start, end).
// (Inclusive ends: k*32+32 is 2^64 for the last word.)
func wordMask(k, start, end uint64) uint32 {
	if end == 0 {
		return 0
	}
	lo, last := max(start, k*32), min(end-1, k*32+31)
	if last < lo {
		return 0
	}
	return uint32((uint64(1)<<(last-lo+1) - 1) << (lo - k*32))
}

// onRange records blocks the remote announced (drop false) or dropped
// (replication.md, "range"; JS Peer.onrange). A range whose end does not
// fit in 64 bits is a protocol error. c.mu held.
func (pe *peer) onRange(m *wire.Range) error {
	s, err := guard.SpanOf(m.Start, m.Length)
	if err != nil {
		return fmt.Errorf("range: %w", err)
	}
	if m.Drop {
		if s.Start < pe.remoteContig {
			pe.remoteContig = s.Start
		}
		pe.clearRemote(s)
		return nil
	}
	switch {
	case s.Start <= pe.remoteContig:
		pe.remoteContig = max(pe.remoteContig, s.End)
	default:
		if err := pe.setRemote(s.Clip(maxRangeBits)); err != nil {
			return err
		}
	}
	pe.unrefuse(s)
	pe.r.update()
	return nil
}

// onBitfield records the remote's bitfield of [start, start+32·len):
// as JS it is the truth for those blocks (JS Peer.onbitfield), so it
// lowers the remote's contiguous prefix to start and replaces the words.
// c.mu held.
func (pe *peer) onBitfield(m *wire.Bitfield) error {
	// A bitfield's start MUST be a multiple of 32; JS ignores others.
	if m.Start%32 != 0 {
		return nil
	}
	if len(m.Bitfield) == 0 {
		return nil
	}
	first := m.Start / 32
	s, err := guard.SpanOf(m.Start, 32*uint64(len(m.Bitfield)))
	if err != nil {
		return fmt.Errorf("bitfield: %w", err)
	}
	if s.Start < pe.remoteContig {
		pe.remoteContig = s.Start
	}
	var added uint64
	for k, w := range m.Bitfield {
		word := first + uint64(k)
		if _, ok := pe.remoteBits[word]; !ok && w != 0 {
			added++
		}
	}
	if err := pe.budgets.charge(remoteWordsBudget, added); err != nil {
		return err
	}
	var removed uint64
	for k, w := range m.Bitfield {
		word := first + uint64(k)
		if w != 0 {
			pe.remoteBits[word] = w
		} else if _, ok := pe.remoteBits[word]; ok {
			delete(pe.remoteBits, word)
			removed++
		}
	}
	pe.budgets.release(remoteWordsBudget, removed)
	pe.unrefuse(s)
	pe.r.update()
	return nil
}

// setRemote marks blocks s as announced, charging new words to the
// connection's budget. c.mu held.
func (pe *peer) setRemote(s guard.Span) error {
	if s.Len() == 0 {
		return nil
	}
	lo, hi := s.Start/32, (s.End-1)/32
	var added uint64
	for k := lo; k <= hi; k++ {
		if _, ok := pe.remoteBits[k]; !ok {
			added++
		}
	}
	if err := pe.budgets.charge(remoteWordsBudget, added); err != nil {
		return err
	}
	for k := lo; k <= hi; k++ {
		pe.remoteBits[k] |= wordMask(k, s.Start, s.End)
	}
	return nil
}

// clearRemote unmarks blocks s, in time bounded by the words held, not
// by the span's length. c.mu held.
func (pe *peer) clearRemote(s guard.Span) {
	if s.Len() == 0 || len(pe.remoteBits) == 0 {
		return
	}
	lo, hi := s.Start/32, (s.End-1)/32
	var removed uint64
	clearWord := func(k uint64) {
		w, ok := pe.remoteBits[k]
		if !ok {
			return
		}
		if w &^= wordMask(k, s.Start, s.End); w != 0 {
			pe.remoteBits[k] = w
		} else {
			delete(pe.remoteBits, k)
			removed++
		}
	}
	if hi-lo < uint64(len(pe.remoteBits)) {
		for k := lo; k <= hi; k++ {
			clearWord(k)
		}
	} else {
		for k := range pe.remoteBits {
			if lo <= k && k <= hi {
				clearWord(k)
			}
		}
	}
	pe.budgets.release(remoteWordsBudget, removed)
}

// unrefuse forgets the noData answers for blocks the remote now announces.
// c.mu held.
func (pe *peer) unrefuse(s guard.Span) {
	for i := range pe.refused {
		if s.Start <= i && i < s.End && pe.remoteHas(i) {
			delete(pe.refused, i)
		}
	}
}

// remoteHas reports whether the remote announced block i.
func (pe *peer) remoteHas(i uint64) bool {
	if i < pe.remoteContig {
		return true
	}
	return pe.remoteBits[i/32]&(1<<(i%32)) != 0
}

// nextAnnounced returns the first block in [from, end) that the remote
// announced, or end; in time bounded by the words held. c.mu held.
func (pe *peer) nextAnnounced(from, end uint64) uint64 {
	if from >= end || from < pe.remoteContig {
		return min(from, end)
	}
	lo, hi := from/32, (end-1)/32
	best := end
	try := func(k uint64) {
		w := pe.remoteBits[k] & wordMask(k, from, end)
		if w == 0 {
			return
		}
		for b := uint64(0); b < 32; b++ {
			if w&(1<<b) != 0 {
				best = min(best, k*32+b)
				return
			}
		}
	}
	if hi-lo < uint64(len(pe.remoteBits)) {
		for k := lo; k <= hi && best == end; k++ {
			try(k)
		}
	} else {
		for k := range pe.remoteBits {
			if lo <= k && k <= hi {
				try(k)
			}
		}
	}
	return best
}

// want records that blocks [start, end) are wanted and asks the peers
// that have not announced its first block what they hold in its batch,
// each batch once per peer (JS LocalWants). c.mu held.
func (r *replicator) want(start, end uint64) {
	if end <= start {
		return
	}
	r.wants = append(r.wants, span{start, end})
	batch := start / wantBatch
	for _, pe := range r.peers {
		if !pe.opened || pe.remoteHas(start) || pe.wantsSent[batch] {
			continue
		}
		if pe.wantsSent == nil || len(pe.wantsSent) >= maxWantsSent {
			pe.wantsSent = map[uint64]bool{}
		}
		pe.wantsSent[batch] = true
		pe.send(&wire.Want{Start: batch * wantBatch, Length: wantBatch})
	}
	r.update()
}

// unwant forgets one want added by want. c.mu held.
func (r *replicator) unwant(start, end uint64) {
	for i, w := range r.wants {
		if w.start == start && w.end == end {
			r.wants = append(r.wants[:i], r.wants[i+1:]...)
			return
		}
	}
}

// update sends the requests that the wants and the peers' states call for
// (replication.md, "Choosing requests"). c.mu held.
func (r *replicator) update() {
	c := r.core
	r.updateForks()
	// Upgrades: one at a time for the core (JS _shouldUpgrade), from a
	// peer with a longer log of our fork (or any log while we have none)
	// that says it can prove the upgrade from the length it acknowledged
	// as ours.
	upgrading := false
	for _, pe := range r.peers {
		upgrading = upgrading || pe.upgradeInFlight()
	}
	for _, pe := range r.peers {
		if upgrading {
			break
		}
		if !pe.opened || !pe.remoteSynced || pe.noUpgrade || pe.upgrading || len(pe.inflight) >= maxInflight {
			continue
		}
		if !pe.remoteCanUpgrade || pe.lengthAcked != c.tree.Length {
			continue
		}
		if pe.remoteLength > c.tree.Length && (pe.remoteFork == c.tree.Fork || c.tree.Length == 0 && c.tree.Fork == 0) {
			upgrading = true
			pe.nextID++
			req := &request{id: pe.nextID, upgrade: true, sent: time.Now()}
			pe.inflight[req.id] = req
			pe.upgrading = true
			pe.send(&wire.Request{
				ID:       req.id,
				Fork:     pe.remoteFork,
				Upgrade:  &wire.UpgradeRequest{Start: c.tree.Length, Length: pe.remoteLength - c.tree.Length},
				Manifest: c.manifest == nil && !c.compat,
			})
		}
	}
	if len(r.wants) == 0 || len(r.peers) == 0 {
		r.armTimer()
		return
	}
	now := time.Now()
	if r.busy == nil {
		r.busy = map[uint64]bool{}
	}
	inflight := r.busy
	clear(inflight)
	for _, pe := range r.peers {
		for _, q := range pe.inflight {
			if q.block == nil {
				continue
			}
			// A request unanswered for too long no longer holds its block:
			// another peer may be asked (the first answer wins).
			if !q.stale && now.Sub(q.sent) > pe.timeout {
				q.stale = true
			}
			if !q.stale {
				inflight[*q.block] = true
			}
		}
	}
	for wi := range r.wants {
		w := &r.wants[wi]
		end := min(w.end, c.tree.Length)
		i := w.start
		for i < end {
			next, err := c.st.FirstMissing(i)
			if err != nil || next >= end {
				break
			}
			i = next
			if inflight[i] {
				i++
				continue
			}
			pe := r.pick(i)
			if pe == nil {
				if r.allBusy() {
					r.armTimer()
					return
				}
				i = r.nextAnnounced(i+1, end)
				continue
			}
			pe.nextID++
			idx := i
			req := &request{id: pe.nextID, block: &idx, sent: now}
			pe.inflight[req.id] = req
			inflight[i] = true
			pe.send(&wire.Request{
				ID:    req.id,
				Fork:  c.tree.Fork,
				Block: &wire.BlockRequest{Index: i, Nodes: c.missingNodes(2 * i)},
			})
			i++
		}
	}
	r.armTimer()
}

// upgradeInFlight reports whether an upgrade request to pe is in flight
// and not stale: one unanswered for RequestTimeout no longer holds the
// core's upgrades, so another peer may be asked (pe is not asked again
// while it is in flight). c.mu held.
func (pe *peer) upgradeInFlight() bool {
	if !pe.upgrading {
		return false
	}
	now := time.Now()
	for _, q := range pe.inflight {
		if !q.upgrade {
			continue
		}
		if !q.stale && now.Sub(q.sent) > pe.timeout {
			q.stale = true
		}
		if !q.stale {
			return true
		}
	}
	return false
}

// armTimer makes sure update runs again when the oldest request in flight
// goes stale. c.mu held.
func (r *replicator) armTimer() {
	if r.timer != nil {
		// Armed already: when it fires, update runs and arms it again.
		return
	}
	var first time.Time
	var timeout time.Duration
	for _, pe := range r.peers {
		for _, q := range pe.inflight {
			if (q.block != nil || q.upgrade) && !q.stale && (first.IsZero() || q.sent.Before(first)) {
				first, timeout = q.sent, pe.timeout
			}
		}
	}
	if first.IsZero() {
		return
	}
	r.timer = time.AfterFunc(time.Until(first.Add(timeout))+time.Millisecond, func() {
		r.core.mu.Lock()
		defer r.core.mu.Unlock()
		r.timer = nil
		if !r.core.closed {
			r.update()
		}
	})
}

// pick returns the least busy peer that announced block i and can take a
// request, or nil.
func (r *replicator) pick(i uint64) *peer {
	c := r.core
	var best *peer
	for _, pe := range r.peers {
		if !pe.opened || pe.paused || pe.remoteFork != c.tree.Fork || len(pe.inflight) >= maxInflight || !pe.remoteHas(i) {
			continue
		}
		if _, no := pe.refused[i]; no || pe.asked(i) {
			continue
		}
		if best == nil || len(pe.inflight) < len(best.inflight) {
			best = pe
		}
	}
	return best
}

// nextAnnounced returns the first block in [from, end) announced by a
// peer that can be asked now, or end. c.mu held.
func (r *replicator) nextAnnounced(from, end uint64) uint64 {
	next := end
	for _, pe := range r.peers {
		if pe.opened && !pe.paused && pe.remoteFork == r.core.tree.Fork && len(pe.inflight) < maxInflight {
			next = min(next, pe.nextAnnounced(from, next))
		}
	}
	return next
}

// answeredBy checks that data answers q (JS Replicator._matchingRequest,
// which drops such data; here it ends the connection, as an honest peer
// never sends it): a block only for a block request and of that block, an
// upgrade only for an upgrade request, a hash only for a hash request (the
// fork search's), never a seek (none is asked).
func (q *request) answeredBy(m *wire.Data) error {
	switch {
	case m.Block != nil && (q.block == nil || *q.block != m.Block.Index):
		return fmt.Errorf("data of block %d answers request %d, which did not ask for it", m.Block.Index, m.Request)
	case m.Upgrade != nil && !q.upgrade:
		return fmt.Errorf("data with an upgrade answers request %d, which asked for none", m.Request)
	case m.Hash != nil && (q.block != nil || q.upgrade):
		return fmt.Errorf("data with a hash proof answers request %d, which asked for none", m.Request)
	case m.Seek != nil:
		return fmt.Errorf("data with a seek proof answers request %d, which asked for none", m.Request)
	}
	return nil
}

// asked reports whether a request for block i is in flight to pe.
func (pe *peer) asked(i uint64) bool {
	for _, q := range pe.inflight {
		if q.block != nil && *q.block == i {
			return true
		}
	}
	return false
}

func (r *replicator) allBusy() bool {
	for _, pe := range r.peers {
		if len(pe.inflight) < maxInflight {
			return false
		}
	}
	return true
}

// onAppend tells every peer about new blocks [start, end). c.mu held.
func (r *replicator) onAppend(start, end uint64) {
	for _, pe := range r.peers {
		if !pe.opened {
			continue
		}
		pe.ch.Mux().Cork()
		pe.send(r.core.haveRange(start, end))
		pe.sendSync()
		pe.ch.Mux().Uncork()
	}
}

// onTruncate tells every peer the new fork and length. c.mu held.
func (r *replicator) onTruncate(length uint64) {
	for _, pe := range r.peers {
		if !pe.opened {
			continue
		}
		pe.sendSync()
	}
}

package core

import (
	"fmt"
	"sync"

	"github.com/hypercore-go/hypercore/bitfield"
	"github.com/hypercore-go/hypercore/internal/guard"
	"github.com/hypercore-go/hypercore/session"
)

// What a peer may make a feed hold or do (spec/security.md, "Budgets").
// Each claim a message makes is checked or clipped on its own (the
// constants below); what all the messages of one connection claim together
// is charged to the connection's budgets, and a peer that passes one is
// dropped with ErrPeerBudget.
const (
	// maxHaveBits bounds the blocks one Have or Unhave without bitfield
	// marks (the rest of a longer claim is not marked; its length still
	// counts as the peer's length).
	maxHaveBits = 1 << 24
	// maxHaveBitfield bounds a decoded Have bitfield, in bytes.
	maxHaveBitfield = 4 << 20
	// answerBelow is the send queue level under which Requests are
	// answered; the others are parked and answered as the queue drains, so
	// answering never fills the session's queue (spec/session.md).
	answerBelow = 4 << 20

	// budgetRemoteBytes bounds the memory of the peers' remote bitfields
	// on one connection (all its feeds together).
	budgetRemoteBytes = 16 << 20
	// budgetWantWindows bounds the Want windows this side asks one
	// connection about (2^16 windows of 2^20 blocks: feeds of 2^36 blocks).
	budgetWantWindows = 1 << 16
	// budgetParked bounds the Requests waiting for the send queue to
	// drain, on one connection.
	budgetParked = 1 << 16
	// budgetWantAnswerBytes bounds the bitfield bytes this side encodes to
	// answer one connection's Wants (each window once is 2^20 blocks per
	// 128 KiB; this allows feeds of 2^33 blocks asked once).
	budgetWantAnswerBytes = 1 << 30
)

// ErrPeerBudget is the error a peer is dropped with when what its messages
// claim together would make this side hold or do more than a budget of
// spec/security.md allows (remote bitfield memory, Want windows, parked
// requests, Want answers). It is guard.ErrBudget, wrapped with the budget's
// name and figures.
var ErrPeerBudget = guard.ErrBudget

// connBudgets are the budgets of one connection, shared by the peers of
// every feed replicated over it (each under its own feed's lock, hence the
// mutex).
type connBudgets struct {
	mu          sync.Mutex
	remote      guard.Budget
	wants       guard.Budget
	parked      guard.Budget
	wantAnswers guard.Budget
}

// budgetLimits are the limits new connections get: the constants above
// (tests lower them to reach a budget quickly).
var budgetLimits = struct{ remote, wants, parked, wantAnswers uint64 }{
	budgetRemoteBytes, budgetWantWindows, budgetParked, budgetWantAnswerBytes,
}

func newConnBudgets() *connBudgets {
	l := budgetLimits
	return &connBudgets{
		remote:      guard.Budget{What: "remote bitfield bytes", Limit: l.remote},
		wants:       guard.Budget{What: "Want windows", Limit: l.wants},
		parked:      guard.Budget{What: "parked requests", Limit: l.parked},
		wantAnswers: guard.Budget{What: "Want answer bytes", Limit: l.wantAnswers},
	}
}

// charge charges n to b, or releases -n.
func (c *connBudgets) charge(b *guard.Budget, n int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n < 0 {
		b.Release(uint64(-n))
		return nil
	}
	return b.Charge(uint64(n))
}

// span checks a peer's start and length: a range whose end does not fit in
// 64 bits is a protocol error (JS cannot represent it either).
func span(what string, start, length uint64) (guard.Span, error) {
	s, err := guard.SpanOf(start, length)
	if err != nil {
		return s, fmt.Errorf("%w: %s: %w", session.ErrProtocol, what, err)
	}
	return s, nil
}

// remoteBytes is the memory a remote bitfield holds.
func remoteBytes(b *bitfield.Sparse) int64 { return int64(b.PageCount() * b.PageSize()) }

// syncRemote charges the change in the peer's remote bitfield memory to
// the connection; it drops the peer and returns false when over budget.
func (p *Peer) syncRemote() bool {
	now := remoteBytes(p.remoteBitfield)
	err := p.budgets.charge(&p.budgets.remote, now-p.remoteCharged)
	if err != nil {
		p.destroy(err)
		return false
	}
	p.remoteCharged = now
	return true
}

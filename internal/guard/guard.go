// Package guard checks what a remote peer claims before a replicator acts
// on it, as spec/security.md ("Budgets") requires of both wings: block
// ranges whose end must fit in 64 bits, and budgets that bound what all of
// one connection's messages together can make this side hold or do.
//
// A peer holds only a feed's public key and may send any numbers in any
// order. Every start+length a handler uses goes through [SpanOf] first, and
// every structure that grows with a peer's claims is charged to a [Budget]
// of the peer's connection, so a replicator cannot forget a check in one
// handler that another has.
package guard

import (
	"errors"
	"fmt"
)

// ErrRange is wrapped by the error for a range whose end does not fit in
// 64 bits.
var ErrRange = errors.New("range end past 2^64-1")

// ErrBudget is wrapped by the error a Budget returns when it is exceeded.
var ErrBudget = errors.New("peer exceeded a budget")

// Span is a range of blocks [Start, End), checked.
type Span struct{ Start, End uint64 }

// SpanOf returns [start, start+length), or an error wrapping ErrRange when
// start+length does not fit in 64 bits.
func SpanOf(start, length uint64) (Span, error) {
	end := start + length
	if end < start {
		return Span{}, fmt.Errorf("%w: start %d + length %d", ErrRange, start, length)
	}
	return Span{start, end}, nil
}

// Len returns the number of blocks in the span.
func (s Span) Len() uint64 { return s.End - s.Start }

// Clip returns the first n blocks of the span (all of it when shorter).
func (s Span) Clip(n uint64) Span {
	if s.Len() > n {
		s.End = s.Start + n
	}
	return s
}

// Budget bounds one kind of thing a connection's peer can make this side
// hold or do. The zero value with a Limit is ready to use; it is not safe
// for concurrent use (the replicator's lock guards it).
type Budget struct {
	What  string // what is counted, for the error: "remote bitfield bytes"
	Limit uint64
	used  uint64
}

// Used returns what is charged now.
func (b *Budget) Used() uint64 { return b.used }

// Charge adds n; it returns an error wrapping ErrBudget, and charges
// nothing, when the total would pass the limit.
func (b *Budget) Charge(n uint64) error {
	if t := b.used + n; t < b.used || t > b.Limit {
		return fmt.Errorf("%w: %s: %d + %d over the limit of %d", ErrBudget, b.What, b.used, n, b.Limit)
	}
	b.used += n
	return nil
}

// Release gives back n (at most what is charged).
func (b *Budget) Release(n uint64) { b.used -= min(n, b.used) }

package guard

import (
	"errors"
	"testing"

	"pgregory.net/rapid"
)

var edges = []uint64{0, 1, 1 << 24, 1 << 32, 1 << 53, 1 << 63, 1<<64 - 1}

// TestSpanOf: every sum of the edge values either wraps (an ErrRange) or
// gives the exact span.
func TestSpanOf(t *testing.T) {
	for _, a := range edges {
		for _, b := range edges {
			s, err := SpanOf(a, b)
			wraps := a > 1<<64-1-b
			if wraps != (err != nil) {
				t.Fatalf("SpanOf(%d, %d) = %v, %v; wraps %v", a, b, s, err, wraps)
			}
			if err != nil {
				if !errors.Is(err, ErrRange) {
					t.Fatalf("SpanOf(%d, %d): %v is no ErrRange", a, b, err)
				}
				continue
			}
			if s.Start != a || s.Len() != b {
				t.Fatalf("SpanOf(%d, %d) = %+v", a, b, s)
			}
			if c := s.Clip(1 << 24); c.Start != a || c.Len() != min(b, 1<<24) {
				t.Fatalf("%+v.Clip(2^24) = %+v", s, c)
			}
		}
	}
}

// TestBudget: the charge never passes the limit, and a refused charge
// changes nothing.
func TestBudget(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := Budget{What: "things", Limit: rapid.Uint64Range(0, 1000).Draw(t, "limit")}
		var model uint64
		for _, n := range rapid.SliceOf(rapid.Uint64Range(0, 300)).Draw(t, "ops") {
			if n%2 == 0 {
				err := b.Charge(n)
				if model+n > b.Limit {
					if !errors.Is(err, ErrBudget) {
						t.Fatalf("Charge(%d) at %d of %d = %v", n, model, b.Limit, err)
					}
				} else {
					if err != nil {
						t.Fatal(err)
					}
					model += n
				}
			} else {
				b.Release(n)
				model -= min(n, model)
			}
			if b.Used() != model {
				t.Fatalf("used %d, model %d", b.Used(), model)
			}
		}
	})
	b := Budget{What: "x", Limit: 10, used: 5}
	if err := b.Charge(1<<64 - 1); !errors.Is(err, ErrBudget) || b.Used() != 5 {
		t.Fatalf("a wrapping charge: %v, used %d", err, b.Used())
	}
}

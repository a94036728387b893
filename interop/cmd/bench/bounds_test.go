package main

import (
	"math"
	"strings"
	"testing"
)

// fixedCrypto is a machine whose primitives cost round numbers of ns.
func fixedCrypto() *machineCrypto {
	p := func(ns float64) primitive { return primitive{Ns: ns} }
	return &machineCrypto{CPUs: 2, Leaf1K: p(2000), Leaf64K: p(128000), Parent: p(250),
		Cipher1K: p(1000), Cipher64K: p(64000), Sign: p(20000), Verify: p(50000)}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

func TestBounds(t *testing.T) {
	c := fixedCrypto()
	// the line through the two sizes passes through both, and halfway
	for _, tc := range []struct {
		size int
		want float64
	}{{1024, 2000e-9}, {65536, 128000e-9}, {(1024 + 65536) / 2, 65000e-9}} {
		if got := at(c.Leaf1K, c.Leaf64K, tc.size); !near(got, tc.want) {
			t.Errorf("at(leaf, %d) = %g, want %g", tc.size, got, tc.want)
		}
	}
	// clone of 1000 × 1 KiB: R = 1 + 2 + 0.25 + 50/1000 µs, W = 1 µs
	r, w, per := c.cloneCost(1000, 1024)
	if !near(r, 3.3e-6) || !near(w, 1e-6) || !near(per, 3.3e-6) {
		t.Errorf("cloneCost(1000, 1024) = %g, %g, %g, want 3.3e-6, 1e-6, 3.3e-6", r, w, per)
	}
	if got, how := c.cloneBound(1000, 1024, "blocks/s"); !near(got, 1/3.3e-6) || !strings.Contains(how, "3.30 µs") {
		t.Errorf("cloneBound blocks/s = %g, %q", got, how)
	}
	if got, _ := c.cloneBound(1000, 65536, "MB/s"); !near(got, 65536/(64e-6+128e-6+0.25e-6+50e-9)/1e6) {
		t.Errorf("cloneBound MB/s = %g", got)
	}
	// on one CPU the two parties share it: (R + W) / 1
	c.CPUs = 1
	if _, _, per := c.cloneCost(1000, 1024); !near(per, 4.3e-6) {
		t.Errorf("cloneCost on 1 CPU per block = %g, want 4.3e-6", per)
	}
	c.CPUs = 2
	if got, _ := c.cliBound(1000, 1024); !near(got, 1000*3.3e-6) {
		t.Errorf("cliBound = %g s, want %g", got, 1000*3.3e-6)
	}
	if got, _ := c.appendBound(1); !near(got, 1/22.25e-6) {
		t.Errorf("appendBound(1) = %g", got)
	}
	if got, _ := c.appendBound(1000); !near(got, 1/((2e-6+0.25e-6)/2+20e-9)) {
		t.Errorf("appendBound(1000) = %g", got)
	}
}

func TestOfBound(t *testing.T) {
	rate := &workload{Higher: true, Bound: 200}
	if got := rate.ofBound(50); got != 25 {
		t.Errorf("rate: ofBound(50) of 200 = %g, want 25", got)
	}
	secs := &workload{Bound: 0.5}
	if got := secs.ofBound(2); got != 25 {
		t.Errorf("time: ofBound(2 s) of 0.5 s = %g, want 25", got)
	}
	if got := (&workload{Higher: true}).ofBound(50); got != 0 {
		t.Errorf("no bound: ofBound = %g, want 0", got)
	}
}

// TestStatCPU reads utime and stime from stat lines written for it (the
// fields of proc(5)), with a command name that holds spaces and a
// parenthesis, as node's may.
func TestStatCPU(t *testing.T) {
	for _, c := range []struct {
		line string
		want float64
	}{
		{"4242 (node) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 1000 100000 2000", 3.25},
		{"7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0", 0.03},
		{"7 (short) R 1 2 3", 0},
		{"no parenthesis 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", 0},
		{"", 0},
	} {
		if got := statCPU([]byte(c.line)); got != c.want {
			t.Errorf("statCPU(%q) = %g, want %g", c.line, got, c.want)
		}
	}
	if got := procCPU(-1); got != 0 {
		t.Errorf("procCPU(-1) = %g, want 0", got)
	}
}

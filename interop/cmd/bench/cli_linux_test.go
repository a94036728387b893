package main

import (
	"os"
	"testing"
	"time"
)

// TestProcCPU reads this process's own CPU time from /proc (Linux, where
// the bench command runs its CLI row) after spinning.
func TestProcCPU(t *testing.T) {
	// spin until a clock tick (10 ms) of CPU has been counted
	got, x := 0.0, 0
	for deadline := time.Now().Add(5 * time.Second); got == 0 && time.Now().Before(deadline); got = procCPU(os.Getpid()) {
		for i := range 1_000_000 {
			x ^= i
		}
	}
	if got <= 0 {
		t.Errorf("procCPU(self) = %g s after 5 s of spinning (%d), want > 0", got, x)
	}
}

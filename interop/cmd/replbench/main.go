// Command replbench times a full clone over TCP loopback, for
// interop/bench-replicate, which runs the same workloads in JS
// (interop/js/bench/replicate.js).
//
//	replbench -blocks N -size BYTES [-dir DIR] [-cpuprofile FILE] [-memprofile FILE]
//
// One process holds a writer with N blocks of BYTES bytes (appended in
// calls of at most 1000 blocks and 1 MiB before the clock starts, so that
// the data is never held at once) and a reader that is not sparse, both in
// memory, or with -dir in DIR/writer and DIR/reader on disk. The reader
// dials the writer on 127.0.0.1 and the clock runs until the reader's
// session ends with every block stored; then both feeds are closed, so that
// DIR/writer is a complete feed another program can open (the scale curve
// of interop/cmd/bench times opening it). It prints one JSON line:
//
//	{"impl":"go","blocks":N,"size":S,"seconds":T,"cpu_seconds":C,"maxrss_kb":K,"setup_maxrss_kb":L}
//
// where cpu_seconds is the CPU time (user and system, all threads) the
// process used while the clock ran, maxrss_kb the process's peak resident
// set (getrusage) and setup_maxrss_kb the peak before the clock started,
// when the writer's feed was written: a peak RSS above it is the clone's.
// On Linux it adds read_calls and write_calls, the read and write system
// calls (pread, pwrite, the socket's) the process made while the clock ran
// (/proc/self/io syscr and syscw).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

func main() {
	blocks := flag.Int("blocks", 100000, "blocks in the feed")
	size := flag.Int("size", 1024, "block size in bytes")
	dir := flag.String("dir", "", "keep both feeds on disk under this directory (default: memory)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the clone to this file")
	memprofile := flag.String("memprofile", "", "write a heap profile at the end of the clone to this file")
	flag.Parse()
	profile, heapProfile = *cpuprofile, *memprofile
	if *blocks < 1 || *size < 1 {
		fmt.Fprintln(os.Stderr, "usage: replbench [-blocks N] [-size BYTES]")
		os.Exit(2)
	}
	if err := run(*blocks, *size, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "replbench:", err)
		os.Exit(1)
	}
}

var profile, heapProfile string

// ioCalls is the number of read and write system calls the process has
// made (Linux: /proc/self/io); ok is false where there is no such file.
func ioCalls() (reads, writes int64, ok bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0, false
	}
	var got int
	for _, line := range strings.Split(string(b), "\n") {
		name, v, found := strings.Cut(line, ": ")
		if !found {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "syscr":
			reads, got = n, got+1
		case "syscw":
			writes, got = n, got+1
		}
	}
	return reads, writes, got == 2
}

// rusage is the process's resource use so far: CPU seconds (user and
// system) and peak resident set in KiB.
func rusage() (cpu float64, maxrssKB int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), ru.Maxrss
}

func run(blocks, size int, dir string) error {
	kp, _ := merkle.NewKeyPairFromSeed(make([]byte, 32))
	var wst, rst storage.Storage = storage.NewMemory(), storage.NewMemory()
	if dir != "" {
		var err error
		if wst, err = storage.OpenDir(filepath.Join(dir, "writer")); err != nil {
			return err
		}
		if rst, err = storage.OpenDir(filepath.Join(dir, "reader")); err != nil {
			return err
		}
	}
	w, err := core.Create(wst, &core.Options{KeyPair: &kp})
	if err != nil {
		return err
	}
	for n := 0; n < blocks; {
		var call [][]byte
		for ; len(call) < min(1000, max(1, 1<<20/size)) && n < blocks; n++ {
			b := make([]byte, size)
			for k := range b {
				b[k] = byte(n + k)
			}
			call = append(call, b)
		}
		if _, err := w.Append(call...); err != nil {
			return err
		}
	}
	r, err := core.Open(rst, &core.Options{Key: w.Key()})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		w.Replicate(ctx, c, nil)
	}()

	if profile != "" {
		pf, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer pf.Close()
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	cpu0, setupRSS := rusage()
	r0, w0, haveIO := ioCalls()
	start := time.Now()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	if err := r.Replicate(ctx, c, &core.ReplicateOptions{Initiator: true}); err != nil {
		return err
	}
	seconds := time.Since(start).Seconds()
	cpu1, maxRSS := rusage()
	r1, w1, _ := ioCalls()
	c.Close()
	if heapProfile != "" {
		hf, err := os.Create(heapProfile)
		if err != nil {
			return err
		}
		defer hf.Close()
		if err := pprof.WriteHeapProfile(hf); err != nil {
			return err
		}
	}
	if got := r.Downloaded(0, 0); got != uint64(blocks) {
		return fmt.Errorf("the reader holds %d of %d blocks", got, blocks)
	}
	cancel() // ends the writer's session
	if err := r.Close(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	out := map[string]any{
		"impl": "go", "blocks": blocks, "size": size, "seconds": seconds,
		"cpu_seconds": cpu1 - cpu0, "maxrss_kb": maxRSS, "setup_maxrss_kb": setupRSS,
	}
	if haveIO {
		out["read_calls"], out["write_calls"] = r1-r0, w1-w0
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

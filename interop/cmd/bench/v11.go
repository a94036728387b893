package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/internal/jsref"
	core11 "github.com/hypercore-go/hypercore/v11/core"
)

// The Hypercore 11 rows: a full clone over TCP loopback, Go (v11/core) and
// JS hypercore 11.37.1 (interop/js11/bench/replicate.js), each in its own
// process, both cores of a clone on disk. The Go side is this command run
// again as a child, so that its peak RSS is the clone's alone:
//
//	bench -v11-clone -blocks N -size BYTES -dir DIR [-cpuprofile FILE] [-memprofile FILE]
//
// One process holds a writer (a default core: manifest v1, one Ed25519
// signer, the key pair from a zero seed) with N blocks of BYTES bytes,
// appended in calls of at most 1000 blocks and 1 MiB before the clock
// starts, in DIR/writer (storage.OpenDir), and a clone of its key in
// DIR/reader. The reader dials the writer on 127.0.0.1; the clock runs from
// the dial until the reader holds every block: Update for the length, then
// Download of [0, length). It prints one JSON line:
//
//	{"impl":"go11","blocks":N,"size":S,"seconds":T,"cpu_seconds":C,"maxrss_kb":K}
//
// where cpu_seconds is the CPU time (user and system, all threads) the
// process used while the clock ran, and maxrss_kb the process's peak
// resident set (getrusage), as the JS script prints them
// (process.cpuUsage(), process.resourceUsage().maxRSS). As the JS script,
// a clone that gets no block for a minute exits 1, and the bench runs it
// once more.

// v11CloneMain runs the Go side of a v11 clone row, when the command is
// started with -v11-clone as its first argument.
func v11CloneMain(args []string) {
	fs := flag.NewFlagSet("bench -v11-clone", flag.ExitOnError)
	blocks := fs.Int("blocks", 100000, "blocks in the core")
	size := fs.Int("size", 1024, "block size in bytes")
	dir := fs.String("dir", "", "directory for DIR/writer and DIR/reader (required)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the clone (not the appends) to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile at the end of the clone to this file")
	fs.Parse(args)
	if *blocks < 1 || *size < 1 || *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: bench -v11-clone -blocks N -size BYTES -dir DIR")
		os.Exit(2)
	}
	if err := v11Clone(*blocks, *size, *dir, *cpuprofile, *memprofile); err != nil {
		fmt.Fprintln(os.Stderr, "bench -v11-clone:", err)
		os.Exit(1)
	}
}

func v11Clone(blocks, size int, dir, cpuprofile, memprofile string) error {
	wst, err := storage.OpenDir(filepath.Join(dir, "writer"))
	if err != nil {
		return err
	}
	rst, err := storage.OpenDir(filepath.Join(dir, "reader"))
	if err != nil {
		return err
	}
	w, err := core11.Create(wst, &core11.CreateOptions{KeyPair: ed25519.NewKeyFromSeed(make([]byte, 32))})
	if err != nil {
		return err
	}
	defer w.Close()
	perCall := min(1000, max(1, 1<<20/size))
	for n := 0; n < blocks; {
		var call [][]byte
		for ; len(call) < perCall && n < blocks; n++ {
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
	key := w.Key()
	r, err := core11.Open(rst, &core11.OpenOptions{Key: &key})
	if err != nil {
		return err
	}
	defer r.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
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

	if cpuprofile != "" {
		pf, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuTime()
	start := time.Now()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- r.Replicate(ctx, c, &core11.ReplicateOptions{Initiator: true}) }()
	// As the JS script: a clone that gets no block for a minute fails.
	go func() {
		last, at := uint64(0), time.Now()
		for range time.Tick(time.Second) {
			if n := r.ContiguousLength(); n != last {
				last, at = n, time.Now()
			} else if time.Since(at) > time.Minute {
				fmt.Fprintf(os.Stderr, "bench -v11-clone: no block for a minute after %d of %d blocks\n", n, blocks)
				os.Exit(1)
			}
		}
	}()
	length, err := r.Update(ctx, 0)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if err := r.Download(ctx, 0, length); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	seconds := time.Since(start).Seconds()
	cpu := cpuTime() - cpu0
	if memprofile != "" {
		mf, err := os.Create(memprofile)
		if err != nil {
			return err
		}
		pprof.WriteHeapProfile(mf)
		mf.Close()
	}
	c.Close()
	<-done
	if got := r.ContiguousLength(); got != uint64(blocks) || length != uint64(blocks) {
		return fmt.Errorf("the reader holds %d of %d blocks (length %d)", got, blocks, length)
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"impl": "go11", "blocks": blocks, "size": size, "seconds": seconds, "cpu_seconds": cpu, "maxrss_kb": ru.Maxrss,
	})
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// v11Rows runs the v11 clone rows: each run starts the Go child (this
// command with -v11-clone) and the JS script, alternating, in fresh
// directories under tmp that are removed after the run.
func v11Rows(ctx context.Context, tmp string, scale func(int) int, runs int, want func(string) bool) ([]*workload, error) {
	env, _, err := jsref.Setup11()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var ws []*workload
	for _, rp := range []struct {
		name         string
		blocks, size int
		unit         string
		goal         string
	}{
		{"v11-replicate-1k", scale(100000), 1024, "blocks/s", "≥ 3× JS blocks/s"},
		{"v11-replicate-64k", scale(2000), 65536, "MB/s", "≥ 1.5× JS MB/s"},
	} {
		if !want(rp.name) {
			continue
		}
		w := &workload{Name: rp.name, V11: true, Goal: rp.goal, Unit: rp.unit, Higher: true,
			What: fmt.Sprintf("v11 full clone over TCP loopback, %d × %d KiB, both cores on disk", rp.blocks, rp.size/1024)}
		rate := func(m map[string]any) float64 {
			if rp.unit == "MB/s" {
				return float64(rp.blocks*rp.size) / num(m, "seconds") / 1e6
			}
			return float64(rp.blocks) / num(m, "seconds")
		}
		for r := 0; r < runs; r++ {
			gdir, jdir := filepath.Join(tmp, fmt.Sprintf("%s-go-%d", rp.name, r)), filepath.Join(tmp, fmt.Sprintf("%s-js-%d", rp.name, r))
			g, err := twice(w, gdir, func() *exec.Cmd {
				return exec.CommandContext(ctx, self, "-v11-clone", "-blocks", fmt.Sprint(rp.blocks), "-size", fmt.Sprint(rp.size), "-dir", gdir)
			})
			if err != nil {
				return nil, err
			}
			j, err := twice(w, jdir, func() *exec.Cmd {
				return env.Command(ctx, "bench/replicate.js", fmt.Sprint(rp.blocks), fmt.Sprint(rp.size), jdir)
			})
			if err != nil {
				return nil, err
			}
			w.Go, w.JS = append(w.Go, rate(g)), append(w.JS, rate(j))
			w.GoRSS, w.JSRSS = append(w.GoRSS, num(g, "maxrss_kb")/1024), append(w.JSRSS, num(j, "maxrss_kb")/1024)
			w.GoCPU, w.JSCPU = append(w.GoCPU, num(g, "cpu_seconds")), append(w.JSCPU, num(j, "cpu_seconds"))
		}
		ws = append(ws, w)
		progress(w)
	}
	return ws, nil
}

// twice runs a clone, and once more (in an emptied dir) when it fails:
// the failure is printed and counted in w.Retries.
func twice(w *workload, dir string, cmd func() *exec.Cmd) (map[string]any, error) {
	m, err := jsonOut(cmd())
	os.RemoveAll(dir)
	if err == nil {
		return m, nil
	}
	fmt.Fprintf(os.Stderr, "%s: a run failed, running it again: %v\n", w.Name, err)
	w.Retries = append(w.Retries, err.Error())
	m, err = jsonOut(cmd())
	os.RemoveAll(dir)
	return m, err
}

// markdown11 is the table of the v11 rows: rates, ratios against the
// issue's goals, peak RSS and CPU time.
func markdown11(ws []*workload) string {
	var b strings.Builder
	b.WriteString("\nHypercore 11 (v11/core against JS hypercore 11.37.1):\n\n")
	b.WriteString("| Workload | What | Go | JS 11 | Unit | Go vs JS | Goal | Peak RSS Go / JS (MB) | RSS Go/JS | CPU s Go / JS |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, w := range ws {
		gr, jr := median(w.GoRSS), median(w.JSRSS)
		rssRatio := ""
		if jr > 0 {
			rssRatio = fmt.Sprintf("%.2f", gr/jr)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s (higher is better) | **%.2f×** | %s | %.0f / %.0f | %s | %.2f / %.2f |\n",
			w.Name, w.What, fmtNum(median(w.Go)), fmtNum(median(w.JS)), w.Unit, w.ratio(), w.Goal, gr, jr, rssRatio, median(w.GoCPU), median(w.JSCPU))
	}
	b.WriteString("\nPeak RSS goal: Go ≤ ½ of JS. \"CPU s\" is the CPU time (user and system, all threads) each process used while its clock ran.\n")
	for _, w := range ws {
		if len(w.Retries) > 0 {
			fmt.Fprintf(&b, "\n`%s`: %d run(s) failed and were run again (results.json has why).\n", w.Name, len(w.Retries))
		}
	}
	return b.String()
}

// loadAverage returns the 1, 5 and 15 minute load averages from
// /proc/loadavg, or "?" where there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

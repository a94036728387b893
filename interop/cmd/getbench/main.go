// Command getbench times opening a disk feed and reading random blocks
// from it, for interop/cmd/bench, which runs the same on the same directory
// in JS (interop/js/bench/get.js).
//
//	getbench -create -dir DIR -blocks N -size BYTES   write the feed (batches of 1000)
//	getbench -dir DIR -gets K                         open it, then K random gets
//
// The timing run prints one JSON line:
// {"impl":"go","openMs":T,"getP50Us":U,"getP99Us":V,"length":N};
// with -gets 0 it only opens the feed, and prints {"impl":"go","openMs":T,"length":N}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/merkle"
)

func main() {
	create := flag.Bool("create", false, "write the feed")
	dir := flag.String("dir", "", "feed directory")
	blocks := flag.Int("blocks", 1_000_000, "blocks to write (with -create)")
	size := flag.Int("size", 64, "block size (with -create)")
	gets := flag.Int("gets", 10000, "random gets to time (0: only open)")
	flag.Parse()
	if *dir == "" || *gets < 0 {
		fmt.Fprintln(os.Stderr, "usage: getbench [-create -blocks N -size BYTES] -dir DIR [-gets K]")
		os.Exit(2)
	}
	var err error
	if *create {
		err = write(*dir, *blocks, *size)
	} else {
		err = timeGets(*dir, *gets)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "getbench:", err)
		os.Exit(1)
	}
}

func write(dir string, blocks, size int) error {
	kp, _ := merkle.NewKeyPairFromSeed(make([]byte, 32))
	f, err := core.CreateDir(dir, &core.Options{KeyPair: &kp})
	if err != nil {
		return err
	}
	defer f.Close()
	for n := 0; n < blocks; {
		var call [][]byte
		for ; len(call) < 1000 && n < blocks; n++ {
			b := make([]byte, size)
			for k := range b {
				b[k] = byte(n + k)
			}
			call = append(call, b)
		}
		if _, err := f.Append(call...); err != nil {
			return err
		}
	}
	return nil
}

func timeGets(dir string, gets int) error {
	start := time.Now()
	f, err := core.OpenDir(dir, nil)
	if err != nil {
		return err
	}
	open := time.Since(start)
	defer f.Close()
	n := f.Length()
	if n == 0 {
		return fmt.Errorf("%s: empty feed", dir)
	}
	out := map[string]any{"impl": "go", "openMs": float64(open.Microseconds()) / 1000, "length": n}
	if gets == 0 {
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	times := make([]time.Duration, gets)
	for i := range times {
		idx := rng.Uint64N(n)
		t := time.Now()
		if _, err := f.Get(idx); err != nil {
			return err
		}
		times[i] = time.Since(t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	out["getP50Us"] = float64(times[len(times)/2].Nanoseconds()) / 1000
	out["getP99Us"] = float64(times[len(times)*99/100].Nanoseconds()) / 1000
	return json.NewEncoder(os.Stdout).Encode(out)
}

// Command appendbench times appends to a disk feed, for interop/bench-append,
// which runs the same workloads in JS (interop/js/bench/append.js).
//
//	appendbench -dir DIR -blocks N -batch K -size BYTES
//
// It prints one JSON line: {"impl":"go","blocks":N,"batch":K,"seconds":S}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/merkle"
)

func main() {
	dir := flag.String("dir", "", "feed directory (must not exist)")
	blocks := flag.Int("blocks", 10000, "blocks to append")
	batch := flag.Int("batch", 1, "blocks per append call")
	size := flag.Int("size", 1024, "block size in bytes")
	flag.Parse()
	if *dir == "" || *batch < 1 {
		fmt.Fprintln(os.Stderr, "usage: appendbench -dir DIR [-blocks N] [-batch K] [-size BYTES]")
		os.Exit(2)
	}
	kp, _ := merkle.NewKeyPairFromSeed(make([]byte, 32))
	f, err := core.CreateDir(*dir, &core.Options{KeyPair: &kp})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	call := make([][]byte, *batch)
	for i := range call {
		call[i] = make([]byte, *size)
		for k := range call[i] {
			call[i][k] = byte(i + k)
		}
	}
	start := time.Now()
	for n := 0; n < *blocks; n += *batch {
		if _, err := f.Append(call[:min(*batch, *blocks-n)]...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"impl": "go", "blocks": *blocks, "batch": *batch, "seconds": time.Since(start).Seconds()})
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Hypercore 11 commands, as scripts: command, stdout, empty stderr,
// exit status.

// infoJSON runs info --json and decodes it.
func infoJSON(t *testing.T, dir string) map[string]any {
	t.Helper()
	var info map[string]any
	if err := json.Unmarshal([]byte(ok(t, "", "", "info", dir, "--json")), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// checkInfo compares the fields of info --json named in want.
func checkInfo(t *testing.T, dir string, want map[string]any) map[string]any {
	t.Helper()
	info := infoJSON(t, dir)
	for k, v := range want {
		if info[k] != v {
			t.Errorf("info %s: %s = %v, want %v", dir, k, info[k], v)
		}
	}
	if len(info) != 8 {
		t.Errorf("info %s has %d keys, want 8: %v", dir, len(info), info)
	}
	return info
}

func TestCommands11(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir := filepath.Join(base, "core")
	key := ok(t, "", "", "create", "--v11", dir)
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(key) {
		t.Fatalf("create --v11 printed %q", key)
	}
	key = strings.TrimSpace(key)
	ok(t, "", "3\n", "append", dir, "a", "bb", "")
	ok(t, "line one\nline two\n\nlast without newline", "7\n", "append", dir)
	ok(t, "", "bb", "get", dir, "1")
	ok(t, "", "", "get", dir, "2") // an empty block
	ok(t, "", "line two", "get", dir, "4")
	ok(t, "", "last without newline", "get", dir, "6")
	ok(t, "", "a\nbb\n\nline one\nline two\n\nlast without newline\n", "cat", dir, "--newline")
	ok(t, "", "bbline one", "cat", dir, "--start", "1", "--end", "4")

	info := checkInfo(t, dir, map[string]any{"key": key, "length": 7.0, "byteLength": float64(3 + 8 + 8 + 0 + 20),
		"writable": true, "downloaded": 7.0, "version": 11.0, "fork": 0.0})
	if dk, _ := info["discoveryKey"].(string); len(dk) != 64 || dk == key {
		t.Errorf("info discoveryKey = %v", info["discoveryKey"])
	}
	text := ok(t, "", "", "info", dir)
	for _, s := range []string{"key:           " + key + "\n", "length:        7\n", "writable:      true\n", "blocks held:   7\n", "version:       11\n", "fork:          0\n"} {
		if !strings.Contains(text, s) {
			t.Errorf("info does not print %q:\n%s", s, text)
		}
	}
	ok(t, "", "ok 7 blocks\n", "verify", dir)

	// truncate: the next fork, a new signature; appends go on from there
	ok(t, "", "5\n", "truncate", dir, "5")
	checkInfo(t, dir, map[string]any{"length": 5.0, "byteLength": float64(3 + 8 + 8), "downloaded": 5.0, "fork": 1.0, "writable": true})
	ok(t, "", "ok 5 blocks\n", "verify", dir)
	fails(t, 1, "out of range", "get", dir, "5")
	ok(t, "", "6\n", "append", dir, "after the truncation")
	ok(t, "", "after the truncation", "get", dir, "5")
	ok(t, "", "6\n", "truncate", dir, "6") // to its own length: still a new fork
	checkInfo(t, dir, map[string]any{"length": 6.0, "fork": 2.0})
	ok(t, "", "0\n", "truncate", dir, "0")
	checkInfo(t, dir, map[string]any{"length": 0.0, "byteLength": 0.0, "downloaded": 0.0, "fork": 3.0})
	ok(t, "", "", "cat", dir)
	ok(t, "", "ok 0 blocks\n", "verify", dir)
	ok(t, "", "2\n", "append", dir, "x", "y")
	ok(t, "", "ok 2 blocks\n", "verify", dir)

	// failures: exit 1
	fails(t, 1, "LENGTH 3 is past the length of the core (2)", "truncate", dir, "3")
	v9 := filepath.Join(base, "v9")
	ok(t, "", "", "create", v9)
	ok(t, "", "1\n", "append", v9, "nine")
	fails(t, 1, v9+" holds a Hypercore 9 feed, which cannot be truncated (truncate works on Hypercore 11 cores only)", "truncate", v9, "0")
	checkInfo(t, v9, map[string]any{"length": 1.0, "version": 9.0, "fork": 0.0})
	fails(t, 1, "already holds a hypercore (Hypercore 11)", "create", "--v11", dir)
	fails(t, 1, "already holds a hypercore (Hypercore 11)", "create", dir)
	fails(t, 1, "already holds a hypercore (Hypercore 9)", "create", "--v11", v9)
	fails(t, 1, "holds a Hypercore 9 feed: clone it without --v11", "clone", key, v9, "--connect", "127.0.0.1:1", "--v11")
	fails(t, 1, "holds a Hypercore 11 core: clone it with --v11", "clone", key, dir, "--connect", "127.0.0.1:1")
	fails(t, 1, "no hypercore is stored here", "truncate", t.TempDir(), "0")
	fails(t, 1, "no such directory", "truncate", filepath.Join(base, "missing"), "0")
	junk := t.TempDir()
	os.WriteFile(filepath.Join(junk, "key"), []byte("not a key"), 0o644)
	fails(t, 1, "neither a Hypercore 9 key (32 bytes) nor a Hypercore 11 header", "info", junk)
	fails(t, 1, "neither a Hypercore 9 key (32 bytes) nor a Hypercore 11 header", "create", "--v11", junk)
	// a Hypercore 11 key file whose first commit was cut short (zeros at
	// slot 0, no slot 1): no core yet, and create --v11 makes one there
	torn := t.TempDir()
	os.WriteFile(filepath.Join(torn, "key"), make([]byte, 1<<20+100), 0o644)
	fails(t, 1, "no hypercore is stored here (a Hypercore 11 core whose first commit did not complete)", "info", torn)
	fails(t, 1, "holds the start of a Hypercore 11 core: create it with --v11", "create", torn)
	ok(t, "", "", "create", "--v11", torn)
	ok(t, "", "1\n", "append", torn, "one")
	checkInfo(t, torn, map[string]any{"length": 1.0, "version": 11.0})
	// bad usage: exit 2
	fails(t, 2, "bad LENGTH", "truncate", dir, "x")
	fails(t, 2, "bad LENGTH", "truncate", dir, "1.5")
	fails(t, 2, "wrong number of arguments for truncate", "truncate", dir)
	fails(t, 2, "truncate does not take --v11", "truncate", dir, "0", "--v11")
	fails(t, 2, "append does not take --v11", "append", dir, "--v11")
	fails(t, 2, "info does not take --v11", "info", dir, "--v11")
	fails(t, 2, "serve does not take --v11", "serve", dir, "--listen", "127.0.0.1:0", "--v11")
}

// A corrupted data file of a Hypercore 11 core: verify names the first bad
// block and exits 1, and changes nothing; get and cat check each block
// against its leaf hash.
func TestVerifyCorrupt11(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "core")
	data, b := checkCorruptBlock2(t, dir, "block 2 does not verify (1 of 4 stored blocks bad)", "--v11")
	ok(t, "", "three", "get", dir, "3")
	b[len("zeroone")] ^= 1
	os.WriteFile(data, b, 0o644)
	ok(t, "", "ok 4 blocks\n", "verify", dir)
}

// A Hypercore 11 writer served by serve; clone --v11 makes a full clone, a
// sparse one of some blocks, and one with no blocks; a key the server does
// not have fails.
func TestServeClone11(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	w := filepath.Join(base, "w")
	key := strings.TrimSpace(ok(t, "", "", "create", "--v11", w))
	var blocks []string
	for i := 0; i < 300; i++ {
		blocks = append(blocks, fmt.Sprintf("block %d", i))
	}
	ok(t, "", "300\n", append([]string{"append", w}, blocks...)...)
	addr, stop := server(t, nil, w, "--listen", "127.0.0.1:0")

	full := filepath.Join(base, "full")
	ok(t, "", "300\n", "clone", key, full, "--connect", addr, "--v11")
	ok(t, "", "ok 300 blocks\n", "verify", full)
	checkInfo(t, full, map[string]any{"key": key, "length": 300.0, "downloaded": 300.0, "writable": false, "version": 11.0, "fork": 0.0})
	ok(t, "", strings.Join(blocks, "\n")+"\n", "cat", full, "--newline")
	ok(t, "", "300\n", "clone", key, full, "--connect", addr, "--v11") // again: nothing new
	fails(t, 1, "not writable", "append", full, "x")
	fails(t, 1, "not writable", "truncate", full, "0")

	sparse := filepath.Join(base, "sparse")
	ok(t, "", "300\n", "clone", key, sparse, "--connect", addr, "--v11", "--blocks", "0,5,10-12")
	checkInfo(t, sparse, map[string]any{"length": 300.0, "downloaded": 5.0, "writable": false, "version": 11.0})
	ok(t, "", "ok 5 blocks\n", "verify", sparse)
	ok(t, "", blocks[11], "get", sparse, "11")
	fails(t, 1, "not available", "get", sparse, "1")
	ok(t, "", blocks[10]+"\n"+blocks[11]+"\n"+blocks[12]+"\n", "cat", sparse, "--start", "10", "--end", "13", "--newline")
	fails(t, 1, "block 1 is not stored here (5 of the 300 blocks asked for are held)", "cat", sparse)
	fails(t, 1, "block 13 is not stored here (3 of the 5 blocks asked for are held)", "cat", sparse, "--start", "10", "--end", "15")
	// more blocks into the same clone
	ok(t, "", "300\n", "clone", key, sparse, "--connect", addr, "--v11", "--blocks", "1-4,299")
	checkInfo(t, sparse, map[string]any{"downloaded": 10.0})
	fails(t, 1, "block 300 is past the peer's length 300", "clone", key, sparse, "--connect", addr, "--v11", "--blocks", "7,300")

	none := filepath.Join(base, "none")
	ok(t, "", "300\n", "clone", key, none, "--connect", addr, "--v11", "--sparse")
	checkInfo(t, none, map[string]any{"length": 300.0, "byteLength": infoJSON(t, full)["byteLength"], "downloaded": 0.0})
	ok(t, "", "ok 0 blocks\n", "verify", none) // the signature of the length checks

	fails(t, 1, "holds another core", "clone", strings.Repeat("ab", 32), full, "--connect", addr, "--v11")
	if errs := stop(); errs != "" {
		t.Fatalf("serve wrote to stderr: %s", errs)
	}
	// the writer's directory is usable again once serve has stopped
	ok(t, "", "301\n", "append", w, "after")
}

// A key the server does not have: the server rejects the core's channel,
// and clone --v11 gives up after openTimeout, saying so. (It runs in
// parallel with the other tests: it waits that long.)
func TestCloneUnknownKey11(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	w := filepath.Join(base, "w")
	ok(t, "", "", "create", "--v11", w)
	ok(t, "", "1\n", "append", w, "one")
	addr, stop := server(t, nil, w, "--listen", "127.0.0.1:0")
	start := time.Now()
	fails(t, 1, "the peer does not have this core (it sent nothing for it in 10s)", "clone", strings.Repeat("11", 32), filepath.Join(base, "o"), "--connect", addr, "--v11")
	if d := time.Since(start); d < openTimeout || d > openTimeout+5*time.Second {
		t.Fatalf("the clone of a key the server does not have took %v, want about %v", d, openTimeout)
	}
	if errs := stop(); errs != "" {
		t.Fatalf("serve wrote to stderr: %s", errs)
	}
}

// serve --append-stdin of a Hypercore 11 writer appends each line while
// serving; clone --v11 --live prints each new length, and holds the
// blocks.
func TestServeAppendStdinLive11(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	w := filepath.Join(base, "w")
	key := strings.TrimSpace(ok(t, "", "", "create", "--v11", w))
	pr, pw := io.Pipe()
	addr, stop := server(t, pr, w, "--listen", "127.0.0.1:0", "--append-stdin")
	pw.Write([]byte("first\n"))

	c := filepath.Join(base, "c")
	cloneLive(t, pw, key, c, addr, "--v11")
	if errs := stop(); errs != "" {
		t.Fatalf("serve wrote to stderr: %s", errs)
	}
	ok(t, "", "first\nsecond\nthird\n", "cat", c, "--newline")
	ok(t, "", "ok 3 blocks\n", "verify", c)
	checkInfo(t, w, map[string]any{"length": 3.0, "version": 11.0, "writable": true})
}

// A clone made before the writer truncated is cloned again after it: it
// adopts the new fork, keeps the blocks both forks share (a sparse clone
// too), and gets the new ones.
func TestCloneAfterTruncate11(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	w := filepath.Join(base, "w")
	key := strings.TrimSpace(ok(t, "", "", "create", "--v11", w))
	ok(t, "", "10\n", "append", w, "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
	full, sparse := filepath.Join(base, "full"), filepath.Join(base, "sparse")
	addr, stop := server(t, nil, w, "--listen", "127.0.0.1:0")
	ok(t, "", "10\n", "clone", key, full, "--connect", addr, "--v11")
	ok(t, "", "10\n", "clone", key, sparse, "--connect", addr, "--v11", "--blocks", "2,8")
	if errs := stop(); errs != "" {
		t.Fatalf("serve wrote to stderr: %s", errs)
	}

	ok(t, "", "5\n", "truncate", w, "5")
	ok(t, "", "8\n", "append", w, "x", "y", "z")
	addr, stop = server(t, nil, w, "--listen", "127.0.0.1:0")
	ok(t, "", "8\n", "clone", key, full, "--connect", addr, "--v11")
	checkInfo(t, full, map[string]any{"length": 8.0, "fork": 1.0, "downloaded": 8.0})
	ok(t, "", "0\n1\n2\n3\n4\nx\ny\nz\n", "cat", full, "--newline")
	ok(t, "", "ok 8 blocks\n", "verify", full)
	ok(t, "", "8\n", "clone", key, sparse, "--connect", addr, "--v11", "--blocks", "6")
	checkInfo(t, sparse, map[string]any{"length": 8.0, "fork": 1.0, "downloaded": 2.0}) // block 2 kept, 8 dropped
	ok(t, "", "2", "get", sparse, "2")
	ok(t, "", "y", "get", sparse, "6")
	ok(t, "", "ok 2 blocks\n", "verify", sparse)
	if errs := stop(); errs != "" {
		t.Fatalf("serve wrote to stderr: %s", errs)
	}
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hypercore-cli-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "hypercore")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hc runs the command and returns stdout, stderr and the exit status.
func hc(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed silently on stderr with this stdout.
func ok(t *testing.T, stdin, want string, args ...string) string {
	t.Helper()
	out, errs, code := hc(t, stdin, args...)
	if code != 0 || errs != "" {
		t.Fatalf("hypercore %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
	}
	if want != "" && out != want {
		t.Fatalf("hypercore %s printed %q, want %q", strings.Join(args, " "), out, want)
	}
	return out
}

// fails runs a command that must fail with this exit status and a
// one-line error containing msg (plus the usage text for status 2).
func fails(t *testing.T, code int, msg string, args ...string) {
	t.Helper()
	out, errs, got := hc(t, "", args...)
	if got != code || out != "" {
		t.Fatalf("hypercore %s: exit %d stdout %q; want exit %d and no stdout", strings.Join(args, " "), got, out, code)
	}
	first, _, _ := strings.Cut(errs, "\n")
	if !strings.HasPrefix(first, "hypercore: ") || !strings.Contains(first, msg) {
		t.Fatalf("hypercore %s: stderr %q, want a line with %q", strings.Join(args, " "), errs, msg)
	}
	if code == 1 && strings.Count(errs, "\n") != 1 {
		t.Fatalf("hypercore %s: error is not one line: %q", strings.Join(args, " "), errs)
	}
}

func TestCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "feed")
	key := ok(t, "", "", "create", dir)
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(key) {
		t.Fatalf("create printed %q", key)
	}
	key = strings.TrimSpace(key)
	ok(t, "", "3\n", "append", dir, "a", "bb", "")
	ok(t, "line one\nline two\n\nlast without newline", "7\n", "append", dir)
	ok(t, "", "bb", "get", dir, "1")
	ok(t, "", "", "get", dir, "2") // an empty block
	ok(t, "", "line two", "get", dir, "4")
	ok(t, "", "last without newline", "get", dir, "6")

	var info map[string]any
	if err := json.Unmarshal([]byte(ok(t, "", "", "info", dir, "--json")), &info); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"key": key, "length": 7.0, "byteLength": float64(3 + 8 + 8 + 0 + 20), "writable": true, "downloaded": 7.0, "version": 9.0, "fork": 0.0}
	for k, v := range want {
		if info[k] != v {
			t.Errorf("info %s = %v, want %v", k, info[k], v)
		}
	}
	if dk, _ := info["discoveryKey"].(string); len(dk) != 64 {
		t.Errorf("info discoveryKey = %v", info["discoveryKey"])
	}
	if len(info) != 8 {
		t.Errorf("info has %d keys, want 8: %v", len(info), info)
	}
	text := ok(t, "", "", "info", dir)
	for _, s := range []string{"key:           " + key, "length:        7", "writable:      true", "blocks held:   7", "version:       9\n", "fork:          0\n"} {
		if !strings.Contains(text, s) {
			t.Errorf("info does not print %q:\n%s", s, text)
		}
	}
	ok(t, "", "ok 7 blocks\n", "verify", dir)

	// bad usage: exit 2
	fails(t, 2, "no command")
	fails(t, 2, "unknown command", "frobnicate")
	fails(t, 2, "wrong number of arguments", "get", dir)
	fails(t, 2, "bad INDEX", "get", dir, "x")
	fails(t, 2, "does not take --json", "get", dir, "0", "--json")
	fails(t, 2, "bad KEY", "clone", "xyz", dir+"2", "--connect", "127.0.0.1:1")
	fails(t, 2, "bad KEY", "clone", key[:62], dir+"2", "--connect", "127.0.0.1:1")
	fails(t, 2, "needs --connect", "clone", key, dir+"2")
	fails(t, 2, "bad --blocks", "clone", key, dir+"2", "--connect", "127.0.0.1:1", "--blocks", "3-1")
	fails(t, 2, "needs --listen", "serve", dir)
	// failures: exit 1
	fails(t, 1, "out of range", "get", dir, "7")
	fails(t, 1, "no such directory", "get", filepath.Join(dir, "missing"), "0")
	empty := t.TempDir()
	fails(t, 1, "no hypercore is stored here", "info", empty)
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Fatalf("info of an empty directory left %d files in it", len(ents))
	}
	fails(t, 1, "already holds a hypercore", "create", dir)
	if _, err := os.Stat(filepath.Join(dir, "..", "missing")); err == nil {
		t.Fatal("a failed command created a directory")
	}
}

// A corrupted data file: verify names the first bad block and exits 1,
// and changes nothing (a second verify says the same).
func TestVerifyCorrupt(t *testing.T) {
	checkCorruptBlock2(t, filepath.Join(t.TempDir(), "feed"), "block 2 does not verify")
}

// checkCorruptBlock2 creates a feed in dir (with the create flags given)
// of the blocks zero, one, two, three, flips a bit of block 2 in its data
// file and checks that verify (twice), get and cat name block 2 and exit
// 1, cat after writing the blocks before it. It returns the data file's
// path and its damaged bytes.
func checkCorruptBlock2(t *testing.T, dir, verifyErr string, create ...string) (string, []byte) {
	t.Helper()
	ok(t, "", "", append([]string{"create"}, append(create, dir)...)...)
	ok(t, "", "4\n", "append", dir, "zero", "one", "two", "three")
	data := filepath.Join(dir, "data")
	b, _ := os.ReadFile(data)
	b[len("zeroone")] ^= 1 // block 2
	os.WriteFile(data, b, 0o644)
	for i := 0; i < 2; i++ {
		fails(t, 1, verifyErr, "verify", dir)
	}
	fails(t, 1, "block 2", "get", dir, "2")
	fails(t, 1, "block 2", "cat", dir, "--start", "2")
	// cat writes the blocks before the bad one, then fails on it
	out, errs, code := hc(t, "", "cat", dir)
	if out != "zeroone" || code != 1 || !strings.HasPrefix(errs, "hypercore: ") || !strings.Contains(errs, "block 2") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("hypercore cat of %s with block 2 corrupt: stdout %q, exit %d, stderr %q; want \"zeroone\", exit 1, one line naming block 2", dir, out, code, errs)
	}
	return data, b
}

func TestCat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "feed")
	ok(t, "", "", "create", dir)
	ok(t, "", "", "cat", dir) // an empty feed
	ok(t, "", "", "cat", dir, "--newline")
	ok(t, "", "5\n", "append", dir, "zero", "one", "", "three", "four\n")
	for _, c := range []struct {
		want string
		args []string
	}{
		{"zeroonethreefour\n", nil},
		{"zero\none\n\nthree\nfour\n\n", []string{"--newline"}},
		{"onethree", []string{"--start", "1", "--end", "4"}},
		{"one\n\nthree\n", []string{"--start", "1", "--end", "4", "--newline"}},
		{"one\n\nthree\n", []string{"--newline", "--end", "4", "--start", "1"}}, // flags in any order
		{"four\n", []string{"--start", "4"}},
		{"zero", []string{"--end", "1"}},
		{"", []string{"--start", "2", "--end", "3"}}, // an empty block
		{"", []string{"--start", "2", "--end", "2"}},
		{"", []string{"--start", "5"}},
		{"", []string{"--start", "5", "--newline"}},
		{"", []string{"--start", "0", "--end", "0"}},
		{"zeroonethreefour\n", []string{"--end", "5"}},
	} {
		ok(t, "", c.want, append([]string{"cat", dir}, c.args...)...)
		ok(t, "", c.want, append(append([]string{"cat"}, c.args...), dir)...) // flags before DIR
	}
	// failures: exit 1
	fails(t, 1, "--end 6 is past the end of the feed (length 5)", "cat", dir, "--end", "6")
	fails(t, 1, "--start 6 is past the end of the feed (length 5)", "cat", dir, "--start", "6")
	fails(t, 1, "--start 3 is after --end 2", "cat", dir, "--start", "3", "--end", "2")
	fails(t, 1, "no such directory", "cat", filepath.Join(dir, "missing"))
	fails(t, 1, "no hypercore is stored here", "cat", t.TempDir())
	// bad usage: exit 2
	fails(t, 2, "wrong number of arguments for cat", "cat")
	fails(t, 2, "wrong number of arguments for cat", "cat", dir, dir)
	fails(t, 2, "invalid value", "cat", dir, "--start", "-1")
	fails(t, 2, "invalid value", "cat", dir, "--end", "x")
	fails(t, 2, "cat does not take --json", "cat", dir, "--json")
	fails(t, 2, "get does not take --start", "get", dir, "0", "--start", "1")
}

// help, -h and --help print the usage, and CMD -h a command's flags, on
// stdout with exit 0; bad usage prints the same usage on stderr.
func TestHelp(t *testing.T) {
	usage := ok(t, "", "", "help")
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}} {
		ok(t, "", usage, args...)
	}
	cmds := []string{"create", "append", "get", "cat", "info", "verify", "serve", "truncate", "clone", "help", "version"}
	for _, cmd := range cmds {
		// each command: its synopsis, then its description on one line
		re := regexp.MustCompile(`(?m)^  hypercore ` + cmd + `( .*)?\n      \S.*\n`)
		if !re.MatchString(usage) {
			t.Errorf("hypercore help has no synopsis and description for %s:\n%s", cmd, usage)
		}
	}
	for _, s := range []string{
		"  hypercore cat DIR [--start N] [--end M] [--newline]\n",
		"  hypercore clone KEY DIR --connect ADDR [--v11] [--sparse] [--blocks SPEC] [--live]\n",
		"  hypercore create DIR [--v11]\n",
		"  hypercore truncate DIR LENGTH\n",
	} {
		if !strings.Contains(usage, s) {
			t.Errorf("hypercore help does not print %q:\n%s", s, usage)
		}
	}
	// bad usage: the error, then the same usage on stderr, exit 2
	_, errs, _ := hc(t, "", "frobnicate")
	if want := "hypercore: unknown command \"frobnicate\"\n" + usage; errs != want {
		t.Errorf("hypercore frobnicate: stderr %q, want %q", errs, want)
	}

	catHelp := ok(t, "", "", "cat", "-h")
	for _, s := range []string{
		"usage: hypercore cat DIR [--start N] [--end M] [--newline]\n",
		"--start N ", "--end M ", "--newline ",
	} {
		if !strings.Contains(catHelp, s) {
			t.Errorf("hypercore cat -h does not print %q:\n%s", s, catHelp)
		}
	}
	for _, cmd := range cmds {
		text := ok(t, "", "", cmd, "--help")
		if !strings.HasPrefix(text, "usage: hypercore "+cmd) {
			t.Errorf("hypercore %s --help printed %q", cmd, text)
		}
		ok(t, "", text, cmd, "-h")
		ok(t, "", text, "help", cmd)
	}
	ok(t, "", catHelp, "cat", "some/dir", "--start", "1", "-h") // among other arguments
	for _, c := range [][2]string{
		{"serve", "--listen ADDR "}, {"serve", "--append-stdin "},
		{"clone", "--connect ADDR "}, {"clone", "--sparse "}, {"clone", "--blocks SPEC "}, {"clone", "--live "},
		{"clone", "--v11 "}, {"create", "--v11 "},
		{"info", "--json "},
	} {
		if text := ok(t, "", "", c[0], "-h"); !strings.Contains(text, "\n  "+c[1]) {
			t.Errorf("hypercore %s -h does not describe %s:\n%s", c[0], c[1], text)
		}
	}
	fails(t, 2, "unknown command \"frobnicate\"", "help", "frobnicate")
	fails(t, 2, "unknown command \"frobnicate\"", "frobnicate", "-h")
	fails(t, 2, "wrong number of arguments for help", "help", "cat", "get")
}

// version prints the main module's version, as go version -m reads it from
// the binary, and the protocol.
func TestVersion(t *testing.T) {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\tmod\tgithub.com/hypercore-go/hypercore\t(\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("go version -m names no main module version:\n%s", out)
	}
	want := "hypercore " + string(m[1]) + "\nprotocol: Hypercore 9 (hypercore@9.12.0, hypercore-protocol@8.0.7)\nprotocol: Hypercore 11 (hypercore@11.37.1)\n"
	ok(t, "", want, "version")
	fails(t, 2, "wrong number of arguments for version", "version", "x")
	fails(t, 2, "version does not take --json", "version", "--json")
}

// server runs hypercore serve and returns the address it listens on.
func server(t *testing.T, stdin io.Reader, args ...string) (addr string, stop func() string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Stdin = stdin
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("serve printed no address: %v; stderr %s", err, errb.String())
	}
	stopped := false
	stop = func() string {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGINT)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve after SIGINT: %v; stderr %s", err, errb.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Error("serve did not stop on SIGINT")
			}
		}
		return errb.String()
	}
	t.Cleanup(func() { stop() })
	return strings.TrimSpace(line), stop
}

func TestServeClone(t *testing.T) {
	base := t.TempDir()
	w := filepath.Join(base, "w")
	key := strings.TrimSpace(ok(t, "", "", "create", w))
	var blocks []string
	for i := 0; i < 300; i++ {
		blocks = append(blocks, "block "+string(rune('a'+i%26)))
	}
	ok(t, "", "300\n", append([]string{"append", w}, blocks...)...)
	addr, stop := server(t, nil, w, "--listen", "127.0.0.1:0")

	full := filepath.Join(base, "full")
	ok(t, "", "300\n", "clone", key, full, "--connect", addr)
	ok(t, "", "ok 300 blocks\n", "verify", full)

	sparse := filepath.Join(base, "sparse")
	ok(t, "", "300\n", "clone", key, sparse, "--connect", addr, "--blocks", "0,5,10-12")
	var info map[string]any
	json.Unmarshal([]byte(ok(t, "", "", "info", sparse, "--json")), &info)
	if info["downloaded"] != 5.0 || info["writable"] != false {
		t.Fatalf("sparse clone info %v, want 5 blocks held, not writable", info)
	}
	ok(t, "", blocks[11], "get", sparse, "11")
	fails(t, 1, "not available", "get", sparse, "1")
	ok(t, "", blocks[10]+"\n"+blocks[11]+"\n"+blocks[12]+"\n", "cat", sparse, "--start", "10", "--end", "13", "--newline")
	ok(t, "", blocks[5], "cat", sparse, "--start", "5", "--end", "6")
	fails(t, 1, "block 1 is not stored here (5 of the 300 blocks asked for are held)", "cat", sparse)
	fails(t, 1, "block 13 is not stored here (3 of the 5 blocks asked for are held)", "cat", sparse, "--start", "10", "--end", "15")
	fails(t, 1, "block 6 is not stored here (1 of the 2 blocks asked for are held)", "cat", sparse, "--start", "5", "--end", "7")

	// a key the server does not serve: the clone fails at once, saying so
	other := filepath.Join(base, "other")
	otherKey := strings.TrimSpace(ok(t, "", "", "create", other))
	start := time.Now()
	fails(t, 1, "does not have this feed", "clone", otherKey, filepath.Join(base, "o2"), "--connect", addr)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the clone of a key the server does not serve took %v", d)
	}
	if errs := stop(); errs != "" {
		t.Fatalf("serve wrote to stderr: %s", errs)
	}
	// the writer's directory is usable again once serve has stopped
	ok(t, "", "301\n", "append", w, "after")
}

// serve --append-stdin appends each line while serving; clone --live
// prints each new length.
func TestServeAppendStdinLive(t *testing.T) {
	base := t.TempDir()
	w := filepath.Join(base, "w")
	key := strings.TrimSpace(ok(t, "", "", "create", w))
	pr, pw := io.Pipe()
	addr, stop := server(t, pr, w, "--listen", "127.0.0.1:0", "--append-stdin")
	pw.Write([]byte("first\n"))

	cloneLive(t, pw, key, filepath.Join(base, "c"), addr)
	if errs := stop(); errs != "" {
		t.Fatalf("serve wrote to stderr: %s", errs)
	}
	ok(t, "", "third", "get", filepath.Join(base, "c"), "2")
}

// cloneLive runs `clone KEY DIR --connect ADDR --live` (and extra) against a
// serve --append-stdin whose stdin is pw and which has been given "first":
// the clone must print length 1, then 2 and 3 as "second" and "third" are
// written to pw; then pw is closed and SIGINT must end the clone cleanly,
// with nothing on stderr.
func cloneLive(t *testing.T, pw io.WriteCloser, key, dir, addr string, extra ...string) {
	t.Helper()
	name := strings.Join(append([]string{"clone"}, extra...), " ") + " --live"
	clone := exec.Command(bin, append(append([]string{"clone", key, dir, "--connect", addr}, extra...), "--live")...)
	out, _ := clone.StdoutPipe()
	var errb bytes.Buffer
	clone.Stderr = &errb
	if err := clone.Start(); err != nil {
		t.Fatal(err)
	}
	defer clone.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatalf("%s printed nothing new; stderr %s", name, errb.String())
		}
		return ""
	}
	// the first line may come before or after the first append reaches
	// the clone: "1" either way (an empty core prints nothing)
	if l := next(); l != "1" {
		t.Fatalf("first length line %q, want 1", l)
	}
	for i, line := range []string{"second", "third"} {
		pw.Write([]byte(line + "\n"))
		want := []string{"2", "3"}[i]
		if l := next(); l != want {
			t.Fatalf("length line %q, want %s", l, want)
		}
	}
	pw.Close() // stdin ends; serve keeps serving
	clone.Process.Signal(syscall.SIGINT)
	if err := clone.Wait(); err != nil || errb.Len() > 0 {
		t.Fatalf("%s after SIGINT: %v, stderr %q", name, err, errb.String())
	}
}

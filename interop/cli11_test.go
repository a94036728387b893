package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/internal/jsref"
)

// The command-line tool on Hypercore 11 against JS hypercore 11
// (interop/js11/peers/core.js), as cli_test.go runs it against JS 9:
// hypercore clone --v11 from a JS writer that listens, and a JS clone of a
// core that hypercore serve serves.

// startJS11Peer starts a JS 11 peer script (peers/core.js or
// peers/follow.js) with args, not connected to the test: it listens, or
// dials the CLI. When the test ends the peer's stdin is closed and it is
// given 10 s to exit, so that it removes its core's temporary directory
// (a killed peer leaves it behind).
func startJS11Peer(t *testing.T, ctx context.Context, script string, args ...string) *js11Core {
	t.Helper()
	env := jsref.Require11(t)
	pr := env.StartWithStdin(ctx, t, script, args...)
	t.Cleanup(func() {
		pr.Stdin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = pr.Wait(ctx)
	})
	return &js11Core{jsPeer: watchJS(t, pr), stdin: pr.Stdin}
}

// cli runs the tool and returns its stdout; it fails the test on an exit
// status other than 0 or anything on stderr.
func cli(t *testing.T, ctx context.Context, bin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("hypercore %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// cliInfo runs hypercore info --json.
func cliInfo(t *testing.T, ctx context.Context, bin, dir string) map[string]any {
	t.Helper()
	var info map[string]any
	if err := json.Unmarshal([]byte(cli(t, ctx, bin, "info", dir, "--json")), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// liveClone11 starts `hypercore clone KEY DIR --connect ADDR --v11 --live`.
// expectLine fails the test unless the next length it prints, within 30 s,
// is want; stop sends SIGINT, which must end it cleanly with nothing on
// stderr.
func liveClone11(t *testing.T, ctx context.Context, bin, key, dir, addr string) (expectLine func(want string), stop func()) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "clone", key, dir, "--connect", addr, "--v11", "--live")
	out, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expectLine = func(want string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || l != want {
				t.Fatalf("clone --live printed %q (open %v), want %q; stderr %s", l, ok, want, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("clone --live printed nothing new, want %q; stderr %s", want, stderr.String())
		}
	}
	stop = func() {
		t.Helper()
		cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err != nil || stderr.Len() > 0 {
			t.Fatalf("clone --live after SIGINT: %v; stderr %s", err, stderr.String())
		}
	}
	return expectLine, stop
}

// TestCLI11CloneFromJS: hypercore clone --v11 dials a JS writer of 1000
// blocks that listens (core.replicate(false) on each connection): the
// whole core, then some blocks of it sparsely, then no blocks, then live,
// following appends the JS writer makes.
func TestCLI11CloneFromJS(t *testing.T) {
	bin := buildCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*jsWait)
	t.Cleanup(cancel) // after the JS peer's exit (startJS11Peer)
	const n = 1000
	js := startJS11Peer(t, ctx, "peers/core.js", "listen", "writer", hex.EncodeToString(channel11Seed), fmt.Sprint(n))
	addr := fmt.Sprintf("127.0.0.1:%d", int(js.expect("listening")["port"].(float64)))
	key := js.expect("core").str("key")
	dir := t.TempDir()

	full := filepath.Join(dir, "full")
	if out := cli(t, ctx, bin, "clone", key, full, "--connect", addr, "--v11"); out != fmt.Sprintf("%d\n", n) {
		t.Fatalf("clone --v11 printed %q", out)
	}
	if out := cli(t, ctx, bin, "verify", full); out != fmt.Sprintf("ok %d blocks\n", n) {
		t.Fatalf("verify printed %q", out)
	}
	for _, i := range []int{0, 500, n - 1} {
		if out := cli(t, ctx, bin, "get", full, fmt.Sprint(i)); out != string(block(i)) {
			t.Fatalf("block %d = %q", i, out)
		}
	}
	info := cliInfo(t, ctx, bin, full)
	if info["key"] != key || info["length"] != float64(n) || info["downloaded"] != float64(n) || info["version"] != 11.0 || info["fork"] != 0.0 || info["writable"] != false {
		t.Fatalf("full clone info %v", info)
	}

	sparse := filepath.Join(dir, "sparse")
	if out := cli(t, ctx, bin, "clone", key, sparse, "--connect", addr, "--v11", "--blocks", "3,100-102,999"); out != fmt.Sprintf("%d\n", n) {
		t.Fatalf("clone --v11 --blocks printed %q", out)
	}
	if info := cliInfo(t, ctx, bin, sparse); info["downloaded"] != 5.0 || info["length"] != float64(n) {
		t.Fatalf("sparse clone info %v", info)
	}
	if out := cli(t, ctx, bin, "cat", sparse, "--start", "100", "--end", "103", "--newline"); out != "block 100\nblock 101\nblock 102\n" {
		t.Fatalf("sparse clone blocks 100-102 = %q", out)
	}
	if out := cli(t, ctx, bin, "verify", sparse); out != "ok 5 blocks\n" {
		t.Fatalf("verify of the sparse clone printed %q", out)
	}

	none := filepath.Join(dir, "none")
	if out := cli(t, ctx, bin, "clone", key, none, "--connect", addr, "--v11", "--sparse"); out != fmt.Sprintf("%d\n", n) {
		t.Fatalf("clone --v11 --sparse printed %q", out)
	}
	if info := cliInfo(t, ctx, bin, none); info["downloaded"] != 0.0 || info["byteLength"] != cliInfo(t, ctx, bin, full)["byteLength"] {
		t.Fatalf("clone --sparse info %v", info)
	}

	// live: the clone prints its length, then each length the JS writer's
	// appends bring, with the blocks held
	live := filepath.Join(dir, "live")
	expectLine, stop := liveClone11(t, ctx, bin, key, live, addr)
	expectLine(fmt.Sprint(n))
	for i := 0; i < 3; i++ {
		js.cmd(map[string]any{"append": []string{fmt.Sprintf("live %d", i)}})
		js.expect("appended")
		expectLine(fmt.Sprint(n + i + 1))
	}
	stop()
	if got := cli(t, ctx, bin, "cat", live, "--start", fmt.Sprint(n-1), "--newline"); got != fmt.Sprintf("block %d\nlive 0\nlive 1\nlive 2\n", n-1) {
		t.Fatalf("live clone's last blocks = %q", got)
	}
	if got := cli(t, ctx, bin, "verify", live); got != fmt.Sprintf("ok %d blocks\n", n+3) {
		t.Fatalf("verify of the live clone printed %q", got)
	}
}

// TestCLI11ServeToJS: hypercore serve --append-stdin serves a Hypercore 11
// core created and appended to by the tool; a JS clone dials it
// (core.replicate(true)), gets scattered blocks (only those are held),
// downloads all, and follows the lines appended while it is connected.
func TestCLI11ServeToJS(t *testing.T) {
	bin := buildCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*jsWait)
	t.Cleanup(cancel) // after the JS peer's exit (startJS11Peer)
	dir := filepath.Join(t.TempDir(), "w")
	key := strings.TrimSpace(cli(t, ctx, bin, "create", "--v11", dir))
	var lines []string
	for i := 0; i < 300; i++ {
		lines = append(lines, string(block(i)))
	}
	cli(t, ctx, bin, append([]string{"append", dir}, lines...)...)

	srv := startServe(t, ctx, bin, dir)
	stdin, port := srv.stdin, srv.port

	js := startJS11Peer(t, ctx, "peers/core.js", "dial", "clone", key, port)
	if e := js.expect("core"); e.str("key") != key {
		t.Fatalf("JS clone of key %s says key %s", key, e.str("key"))
	}
	for _, i := range []int{0, 150, 299, 7} {
		js.cmd(map[string]any{"get": i})
		if e := js.expect("got"); e.str("value") != hex.EncodeToString(block(i)) {
			t.Fatalf("JS get(%d) = %v", i, e)
		}
	}
	js.cmd(map[string]any{"has": 1})
	if e := js.expect("has"); e["has"] != false {
		t.Errorf("JS clone has block 1 after sparse gets: %v", e)
	}
	js.cmd(map[string]any{"download": []int{0, 300}})
	js.expect("downloaded")

	const more = 30
	for i := 300; i < 300+more; i++ {
		fmt.Fprintf(stdin, "%s\n", block(i))
		time.Sleep(2 * time.Millisecond)
	}
	// The JS clone upgrades eagerly: its length events reach 330.
	for {
		if e := js.expect("length"); e["length"].(float64) >= 300+more {
			break
		}
	}
	for _, i := range []int{300, 300 + more - 1} {
		js.cmd(map[string]any{"get": i})
		if e := js.expect("got"); e.str("value") != hex.EncodeToString(block(i)) {
			t.Fatalf("JS get(%d) = %v", i, e)
		}
	}
	js.cmd(map[string]any{"download": []int{0, 300 + more}})
	js.expect("downloaded")
	js.stdin.(io.Closer).Close()
	if err := js.proc.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	srv.stop(t)
	if out := cli(t, ctx, bin, "verify", dir); out != fmt.Sprintf("ok %d blocks\n", 300+more) {
		t.Fatalf("verify after serving = %q", out)
	}
	if out := cli(t, ctx, bin, "get", dir, fmt.Sprint(300+more-1)); out != string(block(300+more-1)) {
		t.Fatalf("get of the last line appended while serving = %q", out)
	}
}

// TestCLI11FollowsJSTruncate: a JS 11 writer of 40 blocks
// (peers/follow.js) truncates to 25 and appends 10 while hypercore clone
// --v11 --live follows it, and a clone made before the truncation is
// cloned again after it: both adopt the new fork, keep the 25 blocks the
// forks share and hold the new ones.
func TestCLI11FollowsJSTruncate(t *testing.T) {
	bin := buildCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*jsWait)
	t.Cleanup(cancel) // after the JS peer's exit (startJS11Peer)
	js := startJS11Peer(t, ctx, "peers/follow.js", "listen", "writer", hex.EncodeToString(channel11Seed), "40")
	addr := fmt.Sprintf("127.0.0.1:%d", int(js.expect("listening")["port"].(float64)))
	key := js.expect("core").str("key")
	dir := t.TempDir()

	stale := filepath.Join(dir, "stale")
	if out := cli(t, ctx, bin, "clone", key, stale, "--connect", addr, "--v11"); out != "40\n" {
		t.Fatalf("clone --v11 printed %q", out)
	}

	live := filepath.Join(dir, "live")
	expectLine, stop := liveClone11(t, ctx, bin, key, live, addr)
	expectLine("40")
	js.cmd(map[string]any{"truncate": 25})
	js.expect("truncated")
	expectLine("25")
	var news []string
	for i := 0; i < 10; i++ {
		news = append(news, fmt.Sprintf("new %d", i))
	}
	js.cmd(map[string]any{"append": news})
	js.expect("appended")
	expectLine("35")
	stop()

	if out := cli(t, ctx, bin, "clone", key, stale, "--connect", addr, "--v11"); out != "35\n" {
		t.Fatalf("clone --v11 of the truncated writer into the clone made before printed %q", out)
	}
	want := "block 23\nblock 24\n" + strings.Join(news, "\n") + "\n"
	for _, d := range []string{live, stale} {
		if got := cli(t, ctx, bin, "cat", d, "--start", "23", "--newline"); got != want {
			t.Fatalf("%s: blocks from 23 = %q, want %q", filepath.Base(d), got, want)
		}
		if info := cliInfo(t, ctx, bin, d); info["fork"] != 1.0 || info["length"] != 35.0 || info["downloaded"] != 35.0 {
			t.Fatalf("%s: info %v, want fork 1, length 35, 35 blocks held", filepath.Base(d), info)
		}
		if got := cli(t, ctx, bin, "verify", d); got != "ok 35 blocks\n" {
			t.Fatalf("%s: verify printed %q", filepath.Base(d), got)
		}
	}
}

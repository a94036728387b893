package interop

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildCLI builds cmd/hypercore into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hypercore")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/hypercore").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestCLICloneFromJS: hypercore clone dials a JS peer that serves a feed
// (a net server piping feed.replicate(false, {live: true})), first the
// whole feed, then a few blocks of it sparsely.
func TestCLICloneFromJS(t *testing.T) {
	bin := buildCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 500
	params := jsParams(map[string]any{"seed": hex.EncodeToString(writerSeed()), "blocks": n, "batch": 100, "live": true})
	p := startJS(t, ctx, "peers/replicate.js", "responder", "listen", "writer", params)
	key := p.waitFor("ready", 20*time.Second).str("key")
	addr := fmt.Sprintf("127.0.0.1:%d", int(p.waitFor("listening", 10*time.Second)["port"].(float64)))

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("hypercore %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}
	dir := t.TempDir()
	if out := run("clone", key, filepath.Join(dir, "full"), "--connect", addr); out != fmt.Sprintf("%d\n", n) {
		t.Fatalf("clone printed %q", out)
	}
	if out := run("verify", filepath.Join(dir, "full")); out != fmt.Sprintf("ok %d blocks\n", n) {
		t.Fatalf("verify printed %q", out)
	}
	for _, i := range []int{0, 250, n - 1} {
		if out := run("get", filepath.Join(dir, "full"), fmt.Sprint(i)); out != string(block(i)) {
			t.Fatalf("block %d = %q", i, out)
		}
	}
	run("clone", key, filepath.Join(dir, "sparse"), "--connect", addr, "--blocks", "3,100-102")
	if out := run("info", filepath.Join(dir, "sparse"), "--json"); !strings.Contains(out, `"downloaded":4`) || !strings.Contains(out, fmt.Sprintf(`"length":%d`, n)) {
		t.Fatalf("sparse clone info %s", out)
	}
	if out := run("get", filepath.Join(dir, "sparse"), "101"); out != string(block(101)) {
		t.Fatalf("sparse block 101 = %q", out)
	}
}

// TestCLIServeToJS: hypercore serve --append-stdin serves a writable feed
// created by the CLI; a JS reader dials it (feed.replicate(true, {live:
// true})), follows lines appended while it is connected, and downloads
// every block.
func TestCLIServeToJS(t *testing.T) {
	bin := buildCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "w")
	out, err := exec.Command(bin, "create", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(out))
	var lines []string
	for i := 0; i < 50; i++ {
		lines = append(lines, string(block(i)))
	}
	if err := exec.Command(bin, append([]string{"append", dir}, lines...)...).Run(); err != nil {
		t.Fatal(err)
	}

	srv := startServe(t, ctx, bin, dir)
	stdin, port := srv.stdin, srv.port

	const more = 30
	params := jsParams(map[string]any{"key": key, "live": true, "update": true, "updateTo": 50 + more, "waitAll": true})
	p := startJS(t, ctx, "peers/replicate.js", "initiator", port, "reader", params)
	p.waitFor("handshake", 10*time.Second)
	for i := 50; i < 50+more; i++ {
		fmt.Fprintf(stdin, "%s\n", block(i))
		time.Sleep(2 * time.Millisecond)
	}
	e := p.waitFor("done", 30*time.Second)
	if got := int(e["length"].(float64)); got != 50+more {
		t.Fatalf("JS reader length %d, want %d", got, 50+more)
	}
	for i, b := range e["blocks"].([]any) {
		if s, _ := b.(string); s != hex.EncodeToString(block(i)) {
			t.Fatalf("JS reader block %d = %v", i, b)
		}
	}
	srv.stop(t)
	// the writer's files, appended to while serving, open in JS, which
	// appends to them too; the CLI then reads JS's block
	var rep jsReport
	jsFeed(t, &rep, "append", dir, `[["`+hex.EncodeToString([]byte("from js"))+`"]]`)
	jsFeed(t, &rep, "read", dir)
	if rep.Length != 50+more+1 || !rep.Writable || rep.Audit.Invalid != 0 {
		t.Fatalf("JS reads the CLI's feed as %+v", rep)
	}
	if out, err := exec.Command(bin, "get", dir, fmt.Sprint(50+more)).Output(); err != nil || string(out) != "from js" {
		t.Fatalf("hypercore get of JS's block = %q, %v", out, err)
	}
	if out, err := exec.Command(bin, "verify", dir).Output(); err != nil || string(out) != fmt.Sprintf("ok %d blocks\n", 50+more+1) {
		t.Fatalf("hypercore verify = %q, %v", out, err)
	}
}

// cliServer is `hypercore serve DIR --listen 127.0.0.1:0 --append-stdin`,
// started by startServe: blocks written to stdin, one a line, are appended.
type cliServer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr strings.Builder
	port   string // the port it listens on
}

// startServe starts serve on the feed in dir and waits for its address.
func startServe(t *testing.T, ctx context.Context, bin, dir string) *cliServer {
	t.Helper()
	s := &cliServer{cmd: exec.CommandContext(ctx, bin, "serve", dir, "--listen", "127.0.0.1:0", "--append-stdin")}
	s.stdin, _ = s.cmd.StdinPipe()
	stdout, _ := s.cmd.StdoutPipe()
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve: %v; %s", err, s.stderr.String())
	}
	_, s.port, _ = strings.Cut(strings.TrimSpace(addr), ":")
	return s
}

// stop closes serve's stdin and interrupts it: it must exit 0 without
// writing to stderr.
func (s *cliServer) stop(t *testing.T) {
	t.Helper()
	s.stdin.Close()
	s.cmd.Process.Signal(syscall.SIGINT)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGINT: %v; stderr %s", err, s.stderr.String())
	}
	if s.stderr.Len() > 0 {
		t.Fatalf("serve wrote to stderr: %s", s.stderr.String())
	}
}

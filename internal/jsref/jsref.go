// Package jsref runs the pinned JavaScript reference implementations for
// tests and vector generators: npm hypercore 9.12.0 and its stack, installed
// from interop/js ([Require]), and npm hypercore 11.37.1 and its stack,
// installed from interop/js11 ([Require11]). The two sets have their own
// lockfiles and node_modules and never share one.
//
// Tests call [Require] (or [Require11]) first. It finds node and npm, installs the pinned
// packages with "npm ci" into the set's node_modules when they are missing
// or stale (once, under a file lock, so that parallel "go test" processes do
// not race), and returns an [Env] that runs scripts with a deadline.
//
// Without node the test is skipped with "node not found: JS interop not run",
// except when the environment variable CI is "true": then the test fails,
// because CI must prove compatibility, not skip it.
package jsref

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SkipMessage is the reason given when node is missing outside CI.
const SkipMessage = "node not found: JS interop not run"

// installTimeout bounds one "npm ci".
const installTimeout = 5 * time.Minute

// stampName is the file in node_modules that records which lockfile was
// installed, so that a changed lockfile triggers a fresh "npm ci".
const stampName = ".hypercore-go-lock-sha256"

// Env is an installed JS reference.
type Env struct {
	// Node is the path of the node binary.
	Node string
	// Dir is the directory holding package.json and node_modules
	// (interop/js or interop/js11).
	Dir string
	// Root is the repository root.
	Root string
}

// reference is one pinned JS set, installed at most once per process.
type reference struct {
	dir  string // directory under interop/ holding package.json
	once sync.Once
	env  *Env
	err  error
	// missing is set when node or npm is not installed.
	missing bool
}

var (
	v9  = &reference{dir: "js"}
	v11 = &reference{dir: "js11"}
)

// InCI reports whether the CI environment variable is "true".
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the installed JS reference, installing it if needed.
// It skips the test when node is missing (fails under CI=true), and fails
// the test when the install fails.
func Require(t testing.TB) *Env {
	t.Helper()
	return require(t, v9)
}

// Require11 is [Require] for the Hypercore 11 reference in interop/js11.
func Require11(t testing.TB) *Env {
	t.Helper()
	return require(t, v11)
}

func require(t testing.TB, r *reference) *Env {
	t.Helper()
	env, missing, err := r.setup()
	if missing {
		if InCI() {
			t.Fatalf("jsref: %v (CI=true: JS interop must run)", err)
		}
		t.Skip(SkipMessage)
	}
	if err != nil {
		t.Fatalf("jsref: %v", err)
	}
	return env
}

// Setup locates node and installs the reference once per process. missing
// reports that node or npm is not installed on this machine.
func Setup() (env *Env, missing bool, err error) { return v9.setup() }

// Setup11 is [Setup] for the Hypercore 11 reference in interop/js11.
func Setup11() (env *Env, missing bool, err error) { return v11.setup() }

func (r *reference) setup() (*Env, bool, error) {
	r.once.Do(func() { r.env, r.missing, r.err = r.install() })
	return r.env, r.missing, r.err
}

func (r *reference) install() (*Env, bool, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, true, errors.New(SkipMessage)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return nil, true, errors.New("npm not found: JS interop not run")
	}
	root, err := repoRoot()
	if err != nil {
		return nil, false, err
	}
	env := &Env{Node: node, Dir: filepath.Join(root, "interop", r.dir), Root: root}
	if err := install(npm, env.Dir); err != nil {
		return nil, false, err
	}
	return env, false, nil
}

// repoRoot finds the repository root from this source file's location
// (internal/jsref/jsref.go), which tests always have.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the repository (runtime.Caller failed)")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "interop", "js", "package-lock.json")); err != nil {
		return "", fmt.Errorf("cannot find interop/js/package-lock.json under %s: %w", root, err)
	}
	return root, nil
}

// install runs "npm ci" in dir unless node_modules already holds the
// packages of the current lockfile. An exclusive flock on a file in dir
// serialises installs across processes.
func install(npm, dir string) error {
	lockSum, err := fileSum(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	stamp := filepath.Join(dir, "node_modules", stampName)
	if installed(stamp, lockSum) {
		return nil
	}
	lf, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lf.Name(), err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	if installed(stamp, lockSum) { // another process installed it while we waited
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out.Bytes())
	}
	return os.WriteFile(stamp, []byte(lockSum+"\n"), 0o644)
}

func installed(stamp, sum string) bool {
	b, err := os.ReadFile(stamp)
	return err == nil && strings.TrimSpace(string(b)) == sum
}

func fileSum(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// Script returns the absolute path of a script given relative to the set's directory (Env.Dir).
func (e *Env) Script(rel string) string { return filepath.Join(e.Dir, filepath.FromSlash(rel)) }

// Command returns a node command for the script (relative to Env.Dir)
// with its working directory set to Env.Dir. The process is killed when
// ctx ends.
func (e *Env) Command(ctx context.Context, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.Node, append([]string{e.Script(script)}, args...)...)
	cmd.Dir = e.Dir
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// Run runs a script to completion with stdin as input and returns what it
// wrote. A non-zero exit or the end of ctx is an error that includes stderr.
func (e *Env) Run(ctx context.Context, stdin []byte, script string, args ...string) (stdout, stderr []byte, err error) {
	cmd := e.Command(ctx, script, args...)
	var o, s bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &s
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return o.Bytes(), s.Bytes(), fmt.Errorf("node %s %s: %w\nstderr:\n%s", script, shorten(strings.Join(args, " ")), err, s.Bytes())
	}
	return o.Bytes(), s.Bytes(), nil
}

// shorten cuts long argument lists for error messages.
func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// RunT is Run for tests: it bounds the script by timeout and fails the test
// on error. It returns stdout.
func (e *Env) RunT(t testing.TB, timeout time.Duration, stdin []byte, script string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, _, err := e.Run(ctx, stdin, script, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Proc is a running script, for peers that live while a test talks to them.
type Proc struct {
	Cmd    *exec.Cmd
	Stdout io.ReadCloser  // the script's stdout, read by the test
	Stdin  io.WriteCloser // the script's stdin (StartWithStdin only)
	stderr bytes.Buffer
	mu     sync.Mutex
	done   chan struct{}
	err    error
}

// Start starts a script that runs beside the test. Its stderr is collected
// and reported by Wait; the process is killed when ctx ends or the test
// finishes.
func (e *Env) Start(ctx context.Context, t testing.TB, script string, args ...string) *Proc {
	t.Helper()
	return e.start(ctx, t, false, script, args...)
}

// StartWithStdin is Start with a pipe to the script's stdin (Proc.Stdin).
// When the test ends, stdin is closed and the script has a few seconds to
// exit (and clean up) before it is killed.
func (e *Env) StartWithStdin(ctx context.Context, t testing.TB, script string, args ...string) *Proc {
	t.Helper()
	return e.start(ctx, t, true, script, args...)
}

func (e *Env) start(ctx context.Context, t testing.TB, stdin bool, script string, args ...string) *Proc {
	t.Helper()
	cmd := e.Command(ctx, script, args...)
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	if stdin {
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.Stdin = in
		// When ctx ends, close stdin rather than kill: the script gets
		// stopGrace to exit on its own (and remove its temporary
		// directories); exec kills it after that.
		cmd.Cancel = func() error { return in.Close() }
		cmd.WaitDelay = stopGrace
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.Stdout = out
	cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		// A script with a stdin pipe is asked to end by closing it, and
		// given stopGrace to exit on its own (the peers remove their
		// temporary directories then); it is killed after that.
		if p.Stdin != nil {
			_ = p.Stdin.Close()
			select {
			case <-p.done:
				return
			case <-time.After(stopGrace):
			}
		}
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// stopGrace is how long a script started with StartWithStdin has to exit
// after its stdin is closed at the end of the test.
const stopGrace = 3 * time.Second

// Stderr returns what the script wrote to stderr so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Wait waits for the script to exit (or ctx to end) and returns its error,
// which includes stderr when the exit was not clean.
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.Cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("node %v: %w\nstderr:\n%s", p.Cmd.Args[1:], ctx.Err(), p.Stderr())
	}
	if p.err != nil {
		return fmt.Errorf("node %v: %w\nstderr:\n%s", p.Cmd.Args[1:], p.err, p.Stderr())
	}
	return nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

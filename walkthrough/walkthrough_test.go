// Package walkthrough_test runs each walkthrough program, on Hypercore 9
// and with -v11 on Hypercore 11, and compares what it prints with the
// guide's output (testdata/*.golden).
package walkthrough_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	core11 "github.com/hypercore-go/hypercore/v11/core"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// build compiles one program into a temporary directory.
func build(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	out, err := exec.Command("go", "build", "-o", bin, "./"+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

func run(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, stderr.Bytes())
	}
	if stderr.Len() > 0 {
		t.Fatalf("%s wrote to stderr:\n%s", filepath.Base(bin), stderr.Bytes())
	}
	return stdout.Bytes()
}

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStep1(t *testing.T) {
	bin := build(t, "step1")
	want := golden(t, "step1.golden")
	for i := 0; i < 2; i++ { // a fresh directory each time: the same output
		if got := run(t, bin); !bytes.Equal(got, want) {
			t.Fatalf("run %d printed\n%s\nwant\n%s", i+1, got, want)
		}
	}
}

func TestStep2(t *testing.T) {
	bin := build(t, "step2")
	dir := t.TempDir()
	got := run(t, bin, "-dir", dir)
	if want := golden(t, "step2.golden"); !bytes.Equal(got, want) {
		t.Fatalf("printed\n%s\nwant\n%s", got, want)
	}
	if n := bytes.Count(got, []byte("\n")); n != 11 {
		t.Fatalf("%d lines, want 11", n)
	}
	// the sparse clone holds exactly blocks 0, 1 and 101
	clone, err := core.OpenDir(filepath.Join(dir, "clone"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer clone.Close()
	if clone.Length() != 102 {
		t.Fatalf("clone length %d, want 102", clone.Length())
	}
	for i := uint64(0); i < clone.Length(); i++ {
		if want := i == 0 || i == 1 || i == 101; clone.Has(i) != want {
			t.Errorf("clone.Has(%d) = %v, want %v", i, clone.Has(i), want)
		}
	}
	if rep, err := clone.Audit(); err != nil || rep.Invalid != 0 {
		t.Fatalf("clone Audit = %+v, %v", rep, err)
	}
}

// With -dir kept, a second run reopens the feeds and appends again, as
// the guide's programs do.
func TestStep1Twice(t *testing.T) {
	bin := build(t, "step1")
	dir := t.TempDir()
	run(t, bin, "-dir", dir)
	got := run(t, bin, "-dir", dir)
	want := bytes.Replace(golden(t, "step1.golden"), []byte("core: 2"), []byte("core: 4"), 1)
	if !bytes.Equal(got, want) {
		t.Fatalf("second run printed\n%s\nwant\n%s", got, want)
	}
}

// The -v11 programs print the guide's lines too: the same golden files.
// The guide prints no key, so nothing in them tells the generations apart.
func TestStep1V11(t *testing.T) {
	bin := build(t, "step1")
	want := golden(t, "step1.golden")
	for i := 0; i < 2; i++ {
		if got := run(t, bin, "-v11"); !bytes.Equal(got, want) {
			t.Fatalf("step1 -v11 run %d printed\n%s\nwant\n%s", i+1, got, want)
		}
	}
}

func TestStep1TwiceV11(t *testing.T) {
	bin := build(t, "step1")
	dir := t.TempDir()
	run(t, bin, "-v11", "-dir", dir)
	got := run(t, bin, "-v11", "-dir", dir)
	want := bytes.Replace(golden(t, "step1.golden"), []byte("core: 2"), []byte("core: 4"), 1)
	if !bytes.Equal(got, want) {
		t.Fatalf("step1 -v11 second run printed\n%s\nwant\n%s", got, want)
	}
	c := open11(t, filepath.Join(dir, "main"))
	if !c.Writable() || c.Length() != 4 || c.Fork() != 0 {
		t.Fatalf("main: writable %v, length %d, fork %d; want true, 4, 0", c.Writable(), c.Length(), c.Fork())
	}
}

// open11 opens a Hypercore 11 core directory the program left behind.
func open11(t *testing.T, dir string) *core11.Core {
	t.Helper()
	s, err := storage.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := core11.Open(s, nil)
	if err != nil {
		s.Close()
		t.Fatalf("core11.Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestStep2V11(t *testing.T) {
	bin := build(t, "step2")
	dir := t.TempDir()
	got := run(t, bin, "-v11", "-dir", dir)
	if want := golden(t, "step2.golden"); !bytes.Equal(got, want) {
		t.Fatalf("step2 -v11 printed\n%s\nwant\n%s", got, want)
	}
	main, clone := open11(t, filepath.Join(dir, "main")), open11(t, filepath.Join(dir, "clone"))

	// A default core: one signer, key = the hash of its manifest. The
	// clone was opened with the key alone; the manifest came on the wire.
	m := main.Manifest()
	if m == nil || len(m.Signers) != 1 {
		t.Fatalf("main manifest %+v, want one signer", m)
	}
	if k := merkle.DefaultKey(m.Signers[0].PublicKey); main.Key() != k {
		t.Errorf("main key %x, want DefaultKey(signer) %x", main.Key(), k)
	}
	if clone.Key() != main.Key() {
		t.Errorf("clone key %x, want %x", clone.Key(), main.Key())
	}
	if cm := clone.Manifest(); cm == nil || !reflect.DeepEqual(cm, m) {
		t.Errorf("clone manifest %+v, want %+v", cm, m)
	}
	if clone.Writable() {
		t.Errorf("clone is writable")
	}
	if clone.Length() != 102 || clone.Fork() != 0 || clone.ByteLength() != main.ByteLength() {
		t.Fatalf("clone length %d fork %d byteLength %d, want 102, 0, %d",
			clone.Length(), clone.Fork(), clone.ByteLength(), main.ByteLength())
	}
	if !bytes.Equal(clone.Signature(), main.Signature()) {
		t.Errorf("clone signature %x, want the writer's %x", clone.Signature(), main.Signature())
	}
	// The sparse clone holds exactly blocks 0, 1 and 101, the writer's.
	for i := uint64(0); i < clone.Length(); i++ {
		want := i == 0 || i == 1 || i == 101
		if clone.Has(i) != want {
			t.Errorf("clone.Has(%d) = %v, want %v", i, clone.Has(i), want)
			continue
		}
		if !want {
			continue
		}
		got, err := clone.Get(i)
		if err != nil {
			t.Fatalf("clone.Get(%d): %v", i, err)
		}
		if w, _ := main.Get(i); !bytes.Equal(got, w) {
			t.Errorf("clone.Get(%d) = %q, want %q", i, got, w)
		}
	}
}

// traceLine is one line of -trace: the side, then the message it sent.
var traceLine = regexp.MustCompile(`^(core |clone) → (sync|request|cancel|data|noData|want|unwant|bitfield|range|extension)\{(.*)\}$`)

// requestedBlock is the index of a request's block field.
var requestedBlock = regexp.MustCompile(`block: \{index: (\d+),`)

// With -trace the program prints the same lines on stdout and every
// message each side sends on stderr; the walk through them is in
// spec/v11/replication.md.
func TestStep2V11Trace(t *testing.T) {
	bin := build(t, "step2")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-v11", "-trace")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("step2 -v11 -trace: %v\n%s", err, stderr.Bytes())
	}
	if want := golden(t, "step2.golden"); !bytes.Equal(stdout.Bytes(), want) {
		t.Fatalf("step2 -v11 -trace printed\n%s\nwant\n%s", stdout.Bytes(), want)
	}
	first := map[string]string{}
	count := map[string]int{}
	var blocks []string
	manifests := 0
	for _, line := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
		m := traceLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("trace line %q is not a message", line)
		}
		side, typ, body := strings.TrimSpace(m[1]), m[2], m[3]
		if first[side] == "" {
			first[side] = typ
		}
		count[side+" "+typ]++
		if side == "clone" && typ == "request" {
			if b := requestedBlock.FindStringSubmatch(body); b != nil {
				blocks = append(blocks, b[1])
			}
		}
		if side == "core" && typ == "data" && strings.Contains(body, "manifest: ") {
			manifests++
		}
	}
	// Each side opens with its sync (replication.md, "Opening").
	if first["core"] != "sync" || first["clone"] != "sync" {
		t.Errorf("first messages: core %s, clone %s; want sync, sync", first["core"], first["clone"])
	}
	// The clone asks for blocks 0, 1 and 101 only, once each.
	if got := strings.Join(blocks, " "); got != "0 1 101" {
		t.Errorf("clone requested blocks %s, want 0 1 101", got)
	}
	// The manifest crosses once, in the answer to the first upgrade.
	if manifests != 1 {
		t.Errorf("%d data messages carry the manifest, want 1", manifests)
	}
	// Each append is announced: at least 100 ranges from the writer.
	if count["core range"] < 100 {
		t.Errorf("%d ranges from core, want at least 100", count["core range"])
	}
	for _, k := range []string{"core noData", "clone noData", "core request", "clone data"} {
		if count[k] != 0 {
			t.Errorf("%d × %s, want none", count[k], k)
		}
	}
}

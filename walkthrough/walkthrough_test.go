// Package walkthrough_test runs each walkthrough program and compares what
// it prints with the guide's output (testdata/*.golden).
package walkthrough_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hypercore-go/hypercore/core"
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

package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/internal/jsref"
	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/vectors"
)

// writerSeed is the seed of the vectors' writer key pair.
func writerSeed() []byte { return vectors.WriterSeed() }

// jsFeed runs peers/feed.js and decodes its JSON output. An argument
// longer than 4 KiB is passed on stdin (as "-").
func jsFeed(t *testing.T, v any, args ...string) {
	t.Helper()
	env := jsref.Require(t)
	var stdin []byte
	for i, a := range args {
		if len(a) > 4096 {
			stdin, args[i] = []byte(a), "-"
		}
	}
	out := env.RunT(t, 60*time.Second, stdin, "peers/feed.js", args...)
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("peers/feed.js %v printed %q: %v", args, out, err)
	}
}

type jsReport struct {
	Key                string    `json:"key"`
	Writable           bool      `json:"writable"`
	Length             uint64    `json:"length"`
	ByteLength         uint64    `json:"byteLength"`
	Downloaded         uint64    `json:"downloaded"`
	Blocks             []*string `json:"blocks"`
	Audit              struct{ Valid, Invalid int }
	HeadSignatureIndex *uint64 `json:"headSignatureIndex"`
	HeadSignatureValid *bool   `json:"headSignatureValid"`
	SignatureError     string  `json:"signatureError"`
}

func callsJSON(calls [][][]byte) string {
	var c [][]string
	for _, call := range calls {
		var hs []string
		for _, b := range call {
			hs = append(hs, hex.EncodeToString(b))
		}
		c = append(c, hs)
	}
	b, _ := json.Marshal(c)
	return string(b)
}

type history struct {
	name  string
	calls [][][]byte
}

func histories() []history {
	blocks := func(prefix string, n int) [][]byte {
		var out [][]byte
		for i := 0; i < n; i++ {
			out = append(out, []byte(fmt.Sprintf("%s %d", prefix, i)))
		}
		return out
	}
	single := func(bs [][]byte) [][][]byte {
		var c [][][]byte
		for _, b := range bs {
			c = append(c, [][]byte{b})
		}
		return c
	}
	guide := append([][][]byte{{[]byte("hello"), []byte("world")}}, single(blocks("New Block", 100))...)
	return []history{
		{"three single appends", single([][]byte{[]byte("a"), []byte("b"), []byte("c")})},
		{"one batch of three", [][][]byte{{[]byte("a"), []byte("b"), []byte("c")}}},
		{"guide step 2", guide},
		{"empty blocks", [][][]byte{{{}, []byte("x"), {}}, {{}}}},
		{"batches of 100 up to 1000", func() [][][]byte {
			var c [][][]byte
			all := blocks("batched", 1000)
			for i := 0; i < 1000; i += 100 {
				c = append(c, all[i:i+100])
			}
			return c
		}()},
		{"9000 single appends (two bitfield pages)", single(blocks("b", 9000))},
	}
}

func goWrite(t *testing.T, dir string, calls [][][]byte) {
	t.Helper()
	kp, _ := merkle.NewKeyPairFromSeed(writerSeed())
	f, err := core.CreateDir(dir, &core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if _, err := f.Append(c...); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStorageByteIdentical: the same key pair and the same append calls give
// byte-identical files in Go and JS, bitfield included.
func TestStorageByteIdentical(t *testing.T) {
	for _, h := range histories() {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			jsDir, goDir := filepath.Join(t.TempDir(), "js"), filepath.Join(t.TempDir(), "go")
			var res map[string]any
			jsFeed(t, &res, "write", jsDir, hex.EncodeToString(writerSeed()), callsJSON(h.calls))
			goWrite(t, goDir, h.calls)
			for _, name := range []string{"key", "secret_key", "tree", "data", "signatures", "bitfield"} {
				a, err := os.ReadFile(filepath.Join(jsDir, name))
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(filepath.Join(goDir, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Errorf("%s differs: JS %d bytes, Go %d bytes, first difference at %d", name, len(a), len(b), firstDiffAt(a, b))
				}
			}
		})
	}
}

func firstDiffAt(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func checkReport(t *testing.T, r jsReport, want [][]byte) {
	t.Helper()
	if r.Length != uint64(len(want)) {
		t.Fatalf("JS sees length %d, want %d", r.Length, len(want))
	}
	for i, b := range want {
		if r.Blocks[i] == nil || *r.Blocks[i] != hex.EncodeToString(b) {
			t.Fatalf("JS block %d = %v, want %x", i, r.Blocks[i], b)
		}
	}
	if r.Audit.Invalid != 0 || r.Audit.Valid != len(want) {
		t.Fatalf("JS audit %+v", r.Audit)
	}
	if r.HeadSignatureValid == nil || !*r.HeadSignatureValid {
		t.Fatalf("JS head signature: %v %s", r.HeadSignatureValid, r.SignatureError)
	}
}

// TestStorageGoToJS: a feed written by Go is read by JS, and JS appends to
// it; a feed written by JS is read by Go, Go appends, and JS reads all.
func TestStorageBothWays(t *testing.T) {
	t.Parallel()
	h := histories()[2] // the guide
	var want [][]byte
	for _, c := range h.calls {
		want = append(want, c...)
	}
	t.Run("GoWritesJSReadsAndAppends", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "feed")
		goWrite(t, dir, h.calls)
		var r jsReport
		jsFeed(t, &r, "read", dir)
		checkReport(t, r, want)
		var res map[string]any
		jsFeed(t, &res, "append", dir, callsJSON([][][]byte{{[]byte("from js")}}))
		f, err := core.OpenDir(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got, err := f.Get(102)
		if err != nil || string(got) != "from js" {
			t.Fatalf("Go Get(102) after the JS append = %q, %v", got, err)
		}
	})
	t.Run("JSWritesGoReadsAndAppends", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "feed")
		var res map[string]any
		jsFeed(t, &res, "write", dir, hex.EncodeToString(writerSeed()), callsJSON(h.calls))
		f, err := core.OpenDir(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.Length() != uint64(len(want)) || !f.Writable() {
			t.Fatalf("Go opens length %d writable %v", f.Length(), f.Writable())
		}
		for i, b := range want {
			got, err := f.Get(uint64(i))
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("Go Get(%d) = %q, %v", i, got, err)
			}
		}
		if r, err := f.Audit(); err != nil || r.Invalid != 0 {
			t.Fatalf("Go Audit = %+v, %v", r, err)
		}
		more := [][]byte{[]byte("go 1"), []byte("go 2"), []byte("go 3")}
		f.Append(more[0])
		f.Append(more[1:]...)
		f.Close()
		var r jsReport
		jsFeed(t, &r, "read", dir)
		checkReport(t, r, append(want, more...))
	})
}

// TestStorageSparse: a sparse clone directory written by JS (holes in data,
// a partial tree, signatures in some slots) opens in Go with the right
// length, Has answers and blocks; a sparse directory written by Go opens in
// JS.
func TestStorageSparse(t *testing.T) {
	t.Parallel()
	h := histories()[2]
	var all [][]byte
	for _, c := range h.calls {
		all = append(all, c...)
	}
	src := filepath.Join(t.TempDir(), "src")
	goWrite(t, src, h.calls)
	held := []uint64{0, 1, 57, 101}

	t.Run("JSWritesGoReads", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "clone")
		b, _ := json.Marshal(held)
		var res map[string]any
		jsFeed(t, &res, "sparse", dir, src, string(b))
		f, err := core.OpenDir(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Length() != 102 || f.Writable() {
			t.Fatalf("Go opens the JS clone with length %d, writable %v", f.Length(), f.Writable())
		}
		for i := uint64(0); i < 102; i++ {
			want := contains(held, i)
			if f.Has(i) != want {
				t.Fatalf("Has(%d) = %v", i, !want)
			}
			if want {
				got, err := f.Get(i)
				if err != nil || !bytes.Equal(got, all[i]) {
					t.Fatalf("Get(%d) = %q, %v", i, got, err)
				}
			}
		}
	})
	t.Run("GoWritesJSReads", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "clone")
		w, err := core.OpenDir(src, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := core.OpenDir(dir, &core.Options{Key: w.Key(), Sparse: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range held {
			p, err := w.LowLevel().Proof(i, r.LowLevel().Digest(i), false, nil)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := w.Get(i)
			if _, err := r.LowLevel().Put(i, v, p); err != nil {
				t.Fatal(err)
			}
		}
		key := hex.EncodeToString(w.Key())
		w.Close()
		r.Close()
		var rep jsReport
		jsFeed(t, &rep, "read", dir, key)
		if rep.Length != 102 || rep.Downloaded != uint64(len(held)) || rep.Writable {
			t.Fatalf("JS opens the Go clone: length %d, downloaded %d, writable %v", rep.Length, rep.Downloaded, rep.Writable)
		}
		for i := uint64(0); i < 102; i++ {
			if contains(held, i) != (rep.Blocks[i] != nil) {
				t.Fatalf("JS has block %d: %v", i, rep.Blocks[i] != nil)
			}
			if rep.Blocks[i] != nil && *rep.Blocks[i] != hex.EncodeToString(all[i]) {
				t.Fatalf("JS block %d = %s", i, *rep.Blocks[i])
			}
		}
		if rep.Audit.Invalid != 0 {
			t.Fatalf("JS audit %+v", rep.Audit)
		}
	})
}

func contains(s []uint64, x uint64) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

var _ = context.Background

package interop

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
	core11 "github.com/hypercore-go/hypercore/v11/core"
)

// The Hypercore 11 truncation interop tests: a writer truncates and
// appends while Go and JS readers (interop/js11/peers/follow.js) follow
// over TCP. Every reader ends at the new fork with the blocks below the
// fork point kept, the blocks past it dropped, and the new fork's blocks
// downloaded; a Go reader relays the new fork to a JS reader that is
// connected to it alone.

// The blocks of the writers: the first fork's, and what the writer
// appends after truncating.
func fork0Block(i int) string { return fmt.Sprintf("block %d", i) }
func fork1Block(i int) string { return fmt.Sprintf("fork1 block %d", i) }

const (
	truncLength = 40 // the writer's length before
	truncTo     = 25 // the length it truncates to
	truncAppend = 10 // the blocks it appends then
	truncFinal  = truncTo + truncAppend
)

// truncWant11 is block i after the truncation, "" past the length.
func truncWant11(i int) string {
	switch {
	case i < truncTo:
		return fork0Block(i)
	case i < truncFinal:
		return fork1Block(i)
	}
	return ""
}

// follow11 waits until the Go reader r is at fork with length.
func follow11(t *testing.T, ctx context.Context, r *core11.Core, fork, length uint64) {
	t.Helper()
	for {
		info := r.Info()
		if info.Fork == fork && info.Length == length {
			return
		}
		if info.Fork > fork {
			t.Fatalf("Go reader at fork %d, want %d", info.Fork, fork)
		}
		var err error
		if info.Fork < fork {
			_, err = r.WaitFork(ctx, info.Fork)
		} else {
			_, err = r.Update(ctx, info.Length)
		}
		if err != nil {
			t.Fatalf("Go reader at fork %d length %d, waiting for fork %d length %d: %v", info.Fork, info.Length, fork, length, err)
		}
	}
}

// checkGoFollower11 checks a Go reader after it followed the truncation: the
// blocks below the fork point kept, none past it, and after a download
// every block of the new fork.
func checkGoFollower11(t *testing.T, ctx context.Context, r *core11.Core) {
	t.Helper()
	follow11(t, ctx, r, 1, truncFinal)
	for i := 0; i < truncLength; i++ {
		got, err := r.Get(uint64(i))
		switch {
		case i < truncTo:
			if err != nil || string(got) != fork0Block(i) {
				t.Errorf("Go reader Get(%d) = %q, %v, want %q (kept)", i, got, err, fork0Block(i))
			}
		case i < truncFinal:
			if !errors.Is(err, core11.ErrNotAvailable) {
				t.Errorf("Go reader Get(%d) = %q, %v, want ErrNotAvailable (dropped)", i, got, err)
			}
		default:
			if !errors.Is(err, core11.ErrOutOfRange) {
				t.Errorf("Go reader Get(%d) = %q, %v, want ErrOutOfRange", i, got, err)
			}
		}
	}
	if err := r.Download(ctx, 0, truncFinal); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < truncFinal; i++ {
		if got, err := r.Get(uint64(i)); err != nil || string(got) != truncWant11(i) {
			t.Errorf("Go reader Get(%d) after download = %q, %v, want %q", i, got, err, truncWant11(i))
		}
	}
}

// checkJSFollower11 checks a JS reader the same way.
func checkJSFollower11(t *testing.T, js *js11Core, who string) {
	t.Helper()
	js.cmd(map[string]any{"until": map[string]any{"fork": 1, "length": truncFinal}})
	e := js.expect("truncate")
	if e["ancestors"] != float64(truncTo) || e["fork"] != 1.0 {
		t.Errorf("%s: truncate event %v, want ancestors %d fork 1", who, e, truncTo)
	}
	js.expect("reached")
	js.cmd(map[string]any{"stored": []int{0, truncLength}})
	var kept []any
	for i := 0; i < truncTo; i++ {
		kept = append(kept, float64(i))
	}
	if got := js.expect("stored")["indices"]; !reflect.DeepEqual(got, kept) {
		t.Errorf("%s: blocks stored after the truncation %v, want 0..%d", who, got, truncTo-1)
	}
	js.cmd(map[string]any{"download": []int{0, truncFinal}})
	js.expect("downloaded")
	js.cmd(map[string]any{"values": []int{0, truncLength}})
	got := js.expect("values")["values"].([]any)
	for i, v := range got {
		want := any(truncWant11(i))
		if want == "" {
			want = nil
		}
		if v != want {
			t.Errorf("%s: block %d = %v, want %v", who, i, v, want)
		}
	}
}

// TestTruncate11GoWriter: a Go writer truncates 40 blocks to 25 and appends
// 10 while a JS reader (connected to it, either side dialling), a Go
// reader (connected to it) and a second JS reader (connected to the Go
// reader only) follow.
func TestTruncate11GoWriter(t *testing.T) {
	for _, goDials := range []bool{true, false} {
		t.Run(fmt.Sprintf("goDials=%v", goDials), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*jsWait)
			defer cancel()
			w, err := core11.Create(storage.NewMemory(), &core11.CreateOptions{KeyPair: ed25519Key(channel11Seed)})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for i := 0; i < truncLength; i++ {
				if _, err := w.Append([]byte(fork0Block(i))); err != nil {
					t.Fatal(err)
				}
			}
			key := w.Key()
			keyHex := hex.EncodeToString(key[:])
			r, err := core11.Open(storage.NewMemory(), &core11.OpenOptions{Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()

			connA, jsA := startJS11Script(t, ctx, goDials, "peers/follow.js", "clone", keyHex)
			replicate11(t, ctx, w, connA, goDials)
			cw, cr := tcpPair(t)
			replicate11(t, ctx, w, cw, false)
			replicate11(t, ctx, r, cr, true)
			connB, jsB := startJS11Script(t, ctx, goDials, "peers/follow.js", "clone", keyHex)
			replicate11(t, ctx, r, connB, goDials)

			if err := r.Download(ctx, 0, truncLength); err != nil {
				t.Fatal(err)
			}
			for _, js := range []*js11Core{jsA, jsB} {
				js.cmd(map[string]any{"download": []int{0, truncLength}})
				js.expect("downloaded")
			}

			if err := w.Truncate(truncTo); err != nil {
				t.Fatal(err)
			}
			for i := truncTo; i < truncFinal; i++ {
				if _, err := w.Append([]byte(fork1Block(i))); err != nil {
					t.Fatal(err)
				}
			}
			checkGoFollower11(t, ctx, r)
			checkJSFollower11(t, jsA, "JS reader of the Go writer")
			checkJSFollower11(t, jsB, "JS reader of the Go reader")
		})
	}
}

// TestTruncate11JSWriter: a JS writer truncates 40 blocks to 25 and
// appends 10 while a Go reader and a JS reader, both connected to it,
// follow.
func TestTruncate11JSWriter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*jsWait)
	defer cancel()
	conn, jsW := startJS11Script(t, ctx, true, "peers/follow.js", "writer", hex.EncodeToString(channel11Seed), strconv.Itoa(truncLength))
	key := mustKey(t, jsW.expect("core").str("key"))
	r, err := core11.Open(storage.NewMemory(), &core11.OpenOptions{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	replicate11(t, ctx, r, conn, true)
	port := strconv.Itoa(conn.RemoteAddr().(*net.TCPAddr).Port)
	jsA := startJS11Peer(t, ctx, "peers/follow.js", "dial", "clone", hex.EncodeToString(key[:]), port)

	if err := r.Download(ctx, 0, truncLength); err != nil {
		t.Fatal(err)
	}
	jsA.cmd(map[string]any{"download": []int{0, truncLength}})
	jsA.expect("downloaded")

	jsW.cmd(map[string]any{"truncate": truncTo})
	if e := jsW.expect("truncated"); e["fork"] != 1.0 || e["length"] != float64(truncTo) {
		t.Fatalf("JS writer after truncate: %v", e)
	}
	var add []string
	for i := truncTo; i < truncFinal; i++ {
		add = append(add, fork1Block(i))
	}
	jsW.cmd(map[string]any{"append": add})
	jsW.expect("appended")
	checkGoFollower11(t, ctx, r)
	checkJSFollower11(t, jsA, "JS reader of the JS writer")
}

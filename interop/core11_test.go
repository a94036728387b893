package interop

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/internal/jsref"
	core11 "github.com/hypercore-go/hypercore/v11/core"
)

// The Hypercore 11 feed interop tests: a Go v11 core (v11/core) replicating
// with a JS Hypercore 11 core (interop/js11/peers/core.js) over TCP on
// 127.0.0.1, either side dialling: a Go clone of a JS writer (sparse gets,
// a full download, live appends), and a JS clone of a Go writer (the same).

// js11Core is a running peers/core.js and its commands.
type js11Core struct {
	*jsPeer
	stdin interface{ Write([]byte) (int, error) }
}

func (p *js11Core) cmd(c map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(c)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("command %s to the JS peer: %v", b, err)
	}
}

// expect waits for event ev, failing on an error event.
func (p *js11Core) expect(ev string) jsEvent {
	p.t.Helper()
	deadline := time.Now().Add(jsWait)
	for {
		e := p.next(time.Until(deadline))
		switch e.str("event") {
		case ev:
			return e
		case "error":
			p.t.Fatalf("JS peer: %v", e)
		}
	}
}

// startJS11Core starts peers/core.js (kind writer with blocks, or clone of
// key) connected to the test's conn: when goDials the JS peer listens.
func startJS11Core(t *testing.T, ctx context.Context, goDials bool, kind, arg string, blocks int) (net.Conn, *js11Core) {
	t.Helper()
	args := []string{kind, arg}
	if kind == "writer" {
		args = append(args, fmt.Sprint(blocks))
	}
	return startJS11Script(t, ctx, goDials, "peers/core.js", args...)
}

// startJS11Script starts a script under interop/js11 connected to the
// test's conn: when goDials the script listens (its args then lack the
// port), otherwise it dials the port appended to args.
func startJS11Script(t *testing.T, ctx context.Context, goDials bool, script string, args ...string) (net.Conn, *js11Core) {
	t.Helper()
	env := jsref.Require11(t)
	var proc *js11Core
	c, _ := connect(t, goDials, func(addr string) *jsPeer {
		a := append([]string{"listen"}, args...)
		if addr != "listen" {
			a = append([]string{"dial"}, append(args, addr)...)
		}
		pr := env.StartWithStdin(ctx, t, script, a...)
		proc = &js11Core{jsPeer: watchJS(t, pr), stdin: pr.Stdin}
		return proc.jsPeer
	})
	return c, proc
}

// replicate11 runs c's replication over conn until the test ends.
func replicate11(t *testing.T, ctx context.Context, c *core11.Core, conn net.Conn, initiator bool) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Replicate(ctx, conn, &core11.ReplicateOptions{Initiator: initiator}) }()
	t.Cleanup(func() {
		conn.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Replicate did not return after the connection closed")
		}
	})
}

// TestCore11GoCloneOfJSWriter: a Go clone, holding only the key of a JS
// writer of 300 blocks, gets scattered blocks (only those are stored), then
// downloads all, then follows appends the JS writer makes while connected.
func TestCore11GoCloneOfJSWriter(t *testing.T) {
	for _, goDials := range []bool{true, false} {
		t.Run(fmt.Sprintf("goDials=%v", goDials), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*jsWait)
			defer cancel()
			conn, js := startJS11Core(t, ctx, goDials, "writer", hex.EncodeToString(channel11Seed), 300)
			info := js.expect("core")
			key := mustKey(t, info.str("key"))
			clone, err := core11.Open(storage.NewMemory(), &core11.OpenOptions{Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			defer clone.Close()
			replicate11(t, ctx, clone, conn, goDials)

			for _, i := range []uint64{0, 150, 299, 7} {
				got, err := clone.GetContext(ctx, i)
				if err != nil || string(got) != fmt.Sprintf("block %d", i) {
					t.Fatalf("GetContext(%d) = %q, %v", i, got, err)
				}
			}
			for _, i := range []uint64{1, 149, 151, 298} {
				if clone.Has(i) {
					t.Errorf("block %d stored after sparse gets of 0, 7, 150, 299", i)
				}
			}
			if clone.Manifest() == nil {
				t.Error("the clone did not receive the manifest")
			}
			if err := clone.Download(ctx, 0, 300); err != nil {
				t.Fatal(err)
			}
			if n := clone.ContiguousLength(); n != 300 {
				t.Fatalf("ContiguousLength after Download = %d, want 300", n)
			}
			js.cmd(map[string]any{"append": []string{"live 0", "live 1"}})
			js.expect("appended")
			n, err := clone.Update(ctx, 301)
			if err != nil || n != 302 {
				t.Fatalf("Update(301) = %d, %v; want 302", n, err)
			}
			if got, err := clone.GetContext(ctx, 301); err != nil || string(got) != "live 1" {
				t.Fatalf("GetContext(301) = %q, %v", got, err)
			}
		})
	}
}

// TestCore11JSCloneOfGoWriter: a JS clone of a Go writer of 300 blocks gets
// scattered blocks, downloads all, and follows Go appends.
func TestCore11JSCloneOfGoWriter(t *testing.T) {
	for _, goDials := range []bool{true, false} {
		t.Run(fmt.Sprintf("goDials=%v", goDials), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*jsWait)
			defer cancel()
			w, err := core11.Create(storage.NewMemory(), &core11.CreateOptions{KeyPair: ed25519Key(channel11Seed)})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for i := 0; i < 300; i++ {
				if _, err := w.Append([]byte(fmt.Sprintf("block %d", i))); err != nil {
					t.Fatal(err)
				}
			}
			key := w.Key()
			conn, js := startJS11Core(t, ctx, goDials, "clone", hex.EncodeToString(key[:]), 0)
			replicate11(t, ctx, w, conn, goDials)
			js.expect("core")
			for _, i := range []int{0, 150, 299, 7} {
				js.cmd(map[string]any{"get": i})
				e := js.expect("got")
				if v, _ := hex.DecodeString(e.str("value")); string(v) != fmt.Sprintf("block %d", i) {
					t.Fatalf("JS get(%d) = %q", i, v)
				}
			}
			js.cmd(map[string]any{"has": 1})
			if e := js.expect("has"); e["has"] != false {
				t.Errorf("JS clone has block 1 after sparse gets: %v", e)
			}
			js.cmd(map[string]any{"download": []int{0, 300}})
			js.expect("downloaded")
			if _, err := w.Append([]byte("live 0"), []byte("live 1")); err != nil {
				t.Fatal(err)
			}
			// The JS clone upgrades eagerly: its length event says 302.
			for {
				e := js.expect("length")
				if e["length"].(float64) >= 302 {
					break
				}
			}
			js.cmd(map[string]any{"get": 301})
			if e := js.expect("got"); e.str("value") != hex.EncodeToString([]byte("live 1")) {
				t.Fatalf("JS get(301) = %v", e)
			}
		})
	}
}

package interop

import (
	"context"
	"encoding/hex"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
)

// TestGoReaderThreePeersOneKilled: a Go reader clones from two JS peers and
// one Go peer at once over TCP; one JS peer is killed mid-transfer. The
// clone completes from the others, every block verifies, and no block is
// downloaded twice. (Every peer runs the writer's key pair with the same
// appends; Ed25519 signatures are deterministic, so the three feeds are
// identical.)
func TestGoReaderThreePeersOneKilled(t *testing.T) {
	const n = 6000
	sc := scenario{blocks: n, batch: 1000}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	params := jsParams(map[string]any{"seed": hex.EncodeToString(writerSeed()), "blocks": n, "batch": 1000, "live": true})
	var js [2]*jsPeer
	var conns []net.Conn
	var js0Key string
	for k := range js {
		js[k] = startJS(t, ctx, "peers/replicate.js", "responder", "listen", "writer", params)
		js[k].waitFor("ready", 30*time.Second)
		e := js[k].waitFor("listening", 10*time.Second)
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(e["port"].(float64)))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	gw := goWriterFeed(t, sc)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		gw.Replicate(ctx, c, &core.ReplicateOptions{Live: true})
	}()
	gc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gc.Close() })
	conns = append(conns, gc)

	r, err := core.Open(storage.NewMemory(), &core.Options{Key: gw.Key(), Sparse: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sub := r.Subscribe()
	defer sub.Close()
	for k, c := range conns {
		// the Go peer answers far faster than JS; fewer requests in flight
		// to it leave the JS peers a share of the blocks
		maxReq := 16
		if k == 2 {
			maxReq = 1
		}
		go r.Replicate(ctx, c, &core.ReplicateOptions{Initiator: true, Live: true, MaxRequests: maxReq})
	}
	js0Key = js[0].waitFor("handshake", 10*time.Second).str("publicKey")
	done := make(chan error, 1)
	go func() { done <- r.Download(ctx, 0, n) }()

	// kill the first JS peer once it has sent some blocks
	peers := map[*core.Peer]bool{}
	var removed []*core.Peer
	killed, finished := false, false
	for !finished {
		select {
		case e := <-sub.C:
			if e.Peer != nil {
				peers[e.Peer] = true
			}
			if e.Type == core.EventPeerRemove {
				removed = append(removed, e.Peer)
			}
			if e.Type != core.EventDownload {
				continue
			}
			if !killed && e.Peer != nil && hex.EncodeToString(pk(e.Peer)) == js0Key && e.Peer.Stats().DownloadedBlocks >= 20 {
				js[0].proc.Cmd.Process.Kill()
				killed = true
			}
		case err := <-done:
			if err != nil {
				t.Fatalf("Download = %v after %d blocks", err, r.Downloaded(0, n))
			}
			finished = true
		case <-ctx.Done():
			t.Fatalf("clone stalled at %d of %d blocks", r.Downloaded(0, n), n)
		}
	}
	if !killed {
		t.Fatal("the clone ended before a JS peer was killed")
	}
	// the kill is seen (the connection resets) before the clone completes
	if len(removed) != 1 {
		t.Fatalf("%d peers removed during the clone, want the killed one", len(removed))
	}
	if s := removed[0].Stats().DownloadedBlocks; s == 0 || s >= n {
		t.Fatalf("the killed peer sent %d blocks before it died, want some but not all", s)
	}
	for i := uint64(0); i < n; i++ {
		got, err := r.Get(i)
		if err != nil || string(got) != string(block(int(i))) {
			t.Fatalf("Get(%d) = %q, %v", i, got, err)
		}
	}
	var sum uint64
	senders := 0
	for p := range peers {
		s := p.Stats().DownloadedBlocks
		sum += s
		if s > 0 {
			senders++
		}
		t.Logf("peer sent %d blocks", s)
	}
	if sum != n {
		t.Fatalf("peers sent %d blocks in all, want %d (none twice)", sum, n)
	}
	if senders < 2 {
		t.Fatalf("only %d peer sent blocks", senders)
	}
	if rep, err := r.Audit(); err != nil || rep.Invalid != 0 {
		t.Fatalf("Audit = %+v, %v", rep, err)
	}
}

func pk(p *core.Peer) []byte { k := p.RemotePublicKey(); return k[:] }

// TestJSReaderWhileGoAppends: a JS reader (not sparse, live) clones from a
// Go writer over TCP while the writer appends one block at a time; the
// reader follows the growing feed to the end and holds every block.
func TestJSReaderWhileGoAppends(t *testing.T) {
	const before, during = 100, 400
	w := goWriterFeed(t, scenario{blocks: before, batch: before})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub := w.Subscribe()
	appended := make(chan error, 1)
	go func() {
		defer sub.Close()
		for e := range sub.C {
			if e.Type != core.EventPeerOpen {
				continue
			}
			for k := 0; k < during; k++ {
				if _, err := w.Append(block(before + k)); err != nil {
					appended <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
			appended <- nil
			return
		}
	}()
	params := map[string]any{"key": hex.EncodeToString(w.Key()), "live": true, "update": true, "updateTo": before + during, "waitAll": true}
	conn, p := connect(t, true, func(addr string) *jsPeer {
		return startJS(t, ctx, "peers/replicate.js", "responder", addr, "reader", jsParams(params))
	})
	go w.Replicate(ctx, conn, &core.ReplicateOptions{Initiator: true, Live: true})
	if err := <-appended; err != nil {
		t.Fatalf("Append: %v", err)
	}
	var updates int
	var e jsEvent
	for {
		e = p.next(45 * time.Second)
		if e.str("event") == "updated" {
			updates++
		}
		if e.str("event") == "error" {
			t.Fatalf("JS reader: %s", e.str("message"))
		}
		if e.str("event") == "done" {
			break
		}
	}
	if got := int(e["length"].(float64)); got != before+during {
		t.Fatalf("JS reader length %d, want %d", got, before+during)
	}
	blocks := e["blocks"].([]any)
	for i, b := range blocks {
		if s, _ := b.(string); s != hex.EncodeToString(block(i)) {
			t.Fatalf("JS reader block %d = %v, want %q", i, b, block(i))
		}
	}
	t.Logf("the JS reader saw %d updates while the Go writer appended %d blocks", updates, during)
}

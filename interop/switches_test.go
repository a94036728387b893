package interop

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

// Upload and download switches with JS 9.12 peers over TCP (issue 15 item
// 4; spec/replication.md, "Switches"). The JS side is peers/switches.js.

const switchBlocks = 300

// checkJSClone checks a JS reader's done event: every block held.
func checkJSClone(t *testing.T, e jsEvent, n int) {
	t.Helper()
	if int(e["length"].(float64)) != n || int(e["downloaded"].(float64)) != n {
		t.Fatalf("JS reader length %v, downloaded %v; want %d", e["length"], e["downloaded"], n)
	}
	for i, b := range e["blocks"].([]any) {
		if b == nil || b.(string) != hex.EncodeToString(block(i)) {
			t.Fatalf("JS reader block %d = %v", i, b)
		}
	}
}

// eventually fails the test unless cond holds within 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGoWriterStopsUploading: a Go writer with uploading off serves a JS
// reader (not live): JS receives Status{uploading: false} and downloads
// nothing; once the writer uploads again JS receives Status{uploading:
// true} and completes the clone.
func TestGoWriterStopsUploading(t *testing.T) {
	w := goWriterFeed(t, scenario{blocks: switchBlocks, batch: switchBlocks})
	w.SetUploading(false)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	params := map[string]any{"key": hex.EncodeToString(w.Key())}
	conn, p := connect(t, true, func(addr string) *jsPeer {
		return startJS(t, ctx, "peers/switches.js", "responder", addr, "reader", jsParams(params))
	})
	go w.Replicate(ctx, conn, &core.ReplicateOptions{Initiator: true})
	for {
		e := p.next(20 * time.Second)
		switch e.str("event") {
		case "download":
			t.Fatalf("JS downloaded block %v while the Go writer does not upload", e["index"])
		case "status":
			if e["uploading"] != false || e["downloading"] != false {
				t.Fatalf("JS received %v, want Status{uploading: false, downloading: false}", e)
			}
		default:
			continue
		}
		break
	}
	time.Sleep(300 * time.Millisecond)
	if got := w.Stats().UploadedBlocks; got != 0 {
		t.Fatalf("Go writer uploaded %d blocks with uploading off", got)
	}
	w.SetUploading(true)
	for {
		e := p.next(20 * time.Second)
		if e.str("event") == "download" {
			t.Fatalf("JS downloaded block %v before Status{uploading: true}", e["index"])
		}
		if e.str("event") == "status" {
			if e["uploading"] != true || e["downloading"] != false {
				t.Fatalf("JS received %v, want Status{uploading: true, downloading: false}", e)
			}
			break
		}
	}
	checkJSClone(t, p.waitFor("done", 45*time.Second), switchBlocks)
}

// TestJSWriterStopsUploading: a JS writer calls setUploading(false) when
// the Go reader's channel opens and setUploading(true) a second later. The
// Go reader sees RemoteUploading() false and downloads nothing meanwhile,
// then completes the clone.
func TestJSWriterStopsUploading(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	params := map[string]any{"seed": hex.EncodeToString(writerSeed()), "blocks": switchBlocks, "uploadOffMs": 1000}
	conn, p := connect(t, false, func(addr string) *jsPeer {
		return startJS(t, ctx, "peers/switches.js", "initiator", addr, "writer", jsParams(params))
	})
	kp, _ := merkle.NewKeyPairFromSeed(writerSeed())
	r, err := core.Open(storage.NewMemory(), &core.Options{Key: core.Key(kp.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sub := r.Subscribe()
	defer sub.Close()
	replicated := make(chan error, 1)
	go func() { replicated <- r.Replicate(ctx, conn, &core.ReplicateOptions{}) }()
	var peer *core.Peer
	for e := range sub.C {
		if e.Type == core.EventPeerOpen {
			peer = e.Peer
			break
		}
	}
	p.waitFor("upload-off", 20*time.Second)
	eventually(t, "Go reader sees RemoteUploading() = false", func() bool { return !peer.RemoteUploading() })
	if n := r.Downloaded(0, 0); n != 0 {
		t.Fatalf("Go reader downloaded %d blocks while JS does not upload", n)
	}
	time.Sleep(300 * time.Millisecond)
	if n := r.Downloaded(0, 0); n != 0 || peer.RemoteUploading() {
		t.Fatalf("before setUploading(true): downloaded %d, RemoteUploading() %v; want 0, false", n, peer.RemoteUploading())
	}
	p.waitFor("upload-on", 20*time.Second)
	select {
	case err := <-replicated:
		if err != nil {
			t.Fatalf("Replicate = %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("clone did not end; downloaded %d", r.Downloaded(0, 0))
	}
	if r.Length() != switchBlocks || r.Downloaded(0, 0) != switchBlocks {
		t.Fatalf("Go reader length %d, downloaded %d; want %d", r.Length(), r.Downloaded(0, 0), switchBlocks)
	}
	for i := 0; i < switchBlocks; i++ {
		if got, err := r.Get(uint64(i)); err != nil || string(got) != string(block(i)) {
			t.Fatalf("Get(%d) = %q, %v", i, got, err)
		}
	}
}

// TestJSReaderStopsDownloading: a live JS reader with setDownloading(false)
// sends Status{uploading: true, downloading: false} when its channel
// opens; the Go writer sees RemoteDownloading() false and uploads nothing.
// When JS calls setDownloading(true) the Go writer sees it and JS clones
// the feed.
func TestJSReaderStopsDownloading(t *testing.T) {
	w := goWriterFeed(t, scenario{blocks: switchBlocks, batch: switchBlocks})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub := w.Subscribe()
	defer sub.Close()
	params := map[string]any{"key": hex.EncodeToString(w.Key()), "live": true, "downloadOffMs": 1000}
	conn, p := connect(t, false, func(addr string) *jsPeer {
		return startJS(t, ctx, "peers/switches.js", "initiator", addr, "reader", jsParams(params))
	})
	go w.Replicate(ctx, conn, &core.ReplicateOptions{Live: true})
	var peer *core.Peer
	for e := range sub.C {
		if e.Type == core.EventPeerOpen {
			peer = e.Peer
			break
		}
	}
	eventually(t, "Go writer sees RemoteDownloading() = false", func() bool { return !peer.RemoteDownloading() })
	if !peer.RemoteUploading() {
		t.Fatal("RemoteUploading() = false; JS sent uploading: true")
	}
	time.Sleep(300 * time.Millisecond)
	if n := w.Stats().UploadedBlocks; n != 0 {
		t.Fatalf("Go writer uploaded %d blocks to a JS reader that does not download", n)
	}
	p.waitFor("download-on", 20*time.Second)
	eventually(t, "Go writer sees RemoteDownloading() = true", func() bool { return peer.RemoteDownloading() })
	checkJSClone(t, p.waitFor("done", 45*time.Second), switchBlocks)
}

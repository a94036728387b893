package interop

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

func block(i int) []byte { return []byte(fmt.Sprintf("block %d", i)) }

type scenario struct {
	name    string
	blocks  int  // written before connecting
	batch   int  // blocks per append call
	sparse  bool // the reader
	live    bool
	gets    []uint64
	appends int // appended by the writer after the reader connects
}

var scenarios = []scenario{
	{name: "FullClone", blocks: 1200, batch: 100},
	{name: "SparseGets", blocks: 1000, batch: 1000, sparse: true, live: true, gets: []uint64{0, 5, 123, 499, 500, 998, 999}},
	{name: "LiveUpdate", blocks: 10, batch: 1, sparse: true, live: true, appends: 20},
}

// goWriterFeed creates the writer feed in memory with the vectors' key pair.
func goWriterFeed(t *testing.T, sc scenario) *core.Feed {
	t.Helper()
	kp, _ := merkle.NewKeyPairFromSeed(writerSeed())
	f, err := core.Create(storage.NewMemory(), &core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < sc.blocks; i += sc.batch {
		var bs [][]byte
		for k := i; k < i+sc.batch && k < sc.blocks; k++ {
			bs = append(bs, block(k))
		}
		if _, err := f.Append(bs...); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// appendAfterPeer appends sc.appends blocks, one per call, once a peer has
// opened the channel.
func appendAfterPeer(t *testing.T, f *core.Feed, sc scenario) {
	if sc.appends == 0 {
		return
	}
	sub := f.Subscribe()
	go func() {
		defer sub.Close()
		for e := range sub.C {
			if e.Type == core.EventPeerOpen {
				for k := 0; k < sc.appends; k++ {
					f.Append(block(sc.blocks + k))
				}
				return
			}
		}
	}()
}

// checkGoReader runs the reader side of a scenario on a Go feed already
// replicating, and checks what it holds.
func checkGoReader(t *testing.T, r *core.Feed, sc scenario, replicated <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch {
	case !sc.sparse:
		select {
		case err := <-replicated:
			if err != nil {
				t.Fatalf("Replicate = %v", err)
			}
		case <-ctx.Done():
			t.Fatalf("full clone did not end; length %d downloaded %d", r.Length(), r.Downloaded(0, 0))
		}
		if r.Length() != uint64(sc.blocks) || r.Downloaded(0, 0) != uint64(sc.blocks) {
			t.Fatalf("clone length %d, downloaded %d; want %d", r.Length(), r.Downloaded(0, 0), sc.blocks)
		}
		for i := 0; i < sc.blocks; i++ {
			got, err := r.Get(uint64(i))
			if err != nil || string(got) != string(block(i)) {
				t.Fatalf("Get(%d) = %q, %v", i, got, err)
			}
		}
	case sc.appends == 0:
		for _, i := range sc.gets {
			got, err := r.GetContext(ctx, i)
			if err != nil || string(got) != string(block(int(i))) {
				t.Fatalf("GetContext(%d) = %q, %v", i, got, err)
			}
		}
		if r.Downloaded(0, 0) != uint64(len(sc.gets)) {
			t.Fatalf("sparse clone downloaded %d blocks, want only the %d asked for", r.Downloaded(0, 0), len(sc.gets))
		}
		for _, i := range sc.gets {
			if !r.Has(i) {
				t.Fatalf("Has(%d) = false", i)
			}
		}
	default:
		want := uint64(sc.blocks + sc.appends)
		for r.Length() < want {
			if err := r.Update(ctx, r.Length()+1); err != nil {
				t.Fatalf("Update at length %d: %v", r.Length(), err)
			}
		}
		got, err := r.GetContext(ctx, want-1)
		if err != nil || string(got) != string(block(int(want-1))) {
			t.Fatalf("last block = %q, %v", got, err)
		}
	}
}

func jsParams(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestReplicateMatrix: {Go writer → JS reader, JS writer → Go reader,
// Go → Go} × {Go dials, the other side dials} × {full clone, sparse gets,
// live update}, over TCP on 127.0.0.1.
func TestReplicateMatrix(t *testing.T) {
	for _, sc := range scenarios {
		for _, goDials := range []bool{true, false} {
			dial := map[bool]string{true: "GoDials", false: "OtherDials"}[goDials]
			t.Run("GoWriterJSReader/"+sc.name+"/"+dial, func(t *testing.T) {
				t.Parallel()
				goWriterJSReader(t, sc, goDials)
			})
			t.Run("JSWriterGoReader/"+sc.name+"/"+dial, func(t *testing.T) {
				t.Parallel()
				jsWriterGoReader(t, sc, goDials)
			})
			t.Run("GoToGo/"+sc.name+"/"+map[bool]string{true: "ReaderDials", false: "WriterDials"}[goDials], func(t *testing.T) {
				t.Parallel()
				goToGo(t, sc, goDials)
			})
		}
	}
}

func goWriterJSReader(t *testing.T, sc scenario, goDials bool) {
	w := goWriterFeed(t, sc)
	appendAfterPeer(t, w, sc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	params := map[string]any{"key": hex.EncodeToString(w.Key()), "sparse": sc.sparse, "live": sc.live, "get": sc.gets}
	if sc.appends > 0 {
		params["update"] = true
		params["updateTo"] = sc.blocks + sc.appends
	}
	jsRole := map[bool]string{true: "responder", false: "initiator"}[goDials]
	conn, p := connect(t, goDials, func(addr string) *jsPeer {
		return startJS(t, ctx, "peers/replicate.js", jsRole, addr, "reader", jsParams(params))
	})
	go w.Replicate(ctx, conn, &core.ReplicateOptions{Initiator: goDials, Live: sc.live})
	e := p.waitFor("done", 45*time.Second)
	want := sc.blocks + sc.appends
	if int(e["length"].(float64)) != want {
		t.Fatalf("JS reader length %v, want %d", e["length"], want)
	}
	blocks := e["blocks"].([]any)
	held := 0
	for i, b := range blocks {
		if b == nil {
			continue
		}
		held++
		if b.(string) != hex.EncodeToString(block(i)) {
			t.Fatalf("JS reader block %d = %v", i, b)
		}
	}
	switch {
	case !sc.sparse && held != want:
		t.Fatalf("JS full clone holds %d blocks, want %d", held, want)
	case sc.sparse && sc.appends == 0 && held != len(sc.gets):
		t.Fatalf("JS sparse clone holds %d blocks, want %d", held, len(sc.gets))
	}
}

func jsWriterGoReader(t *testing.T, sc scenario, goDials bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	params := map[string]any{"seed": hex.EncodeToString(writerSeed()), "blocks": sc.blocks, "batch": sc.batch, "live": sc.live, "appendAfterOpen": sc.appends}
	jsRole := map[bool]string{true: "responder", false: "initiator"}[goDials]
	var conn net.Conn
	if goDials {
		p := startJS(t, ctx, "peers/replicate.js", jsRole, "listen", "writer", jsParams(params))
		p.waitFor("ready", 20*time.Second)
		e := p.waitFor("listening", 10*time.Second)
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(e["port"].(float64)))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conn = c
	} else {
		conn, _ = connect(t, false, func(addr string) *jsPeer {
			return startJS(t, ctx, "peers/replicate.js", jsRole, addr, "writer", jsParams(params))
		})
	}
	kp, _ := merkle.NewKeyPairFromSeed(writerSeed())
	r, err := core.Open(storage.NewMemory(), &core.Options{Key: core.Key(kp.PublicKey), Sparse: sc.sparse})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	replicated := make(chan error, 1)
	go func() {
		replicated <- r.Replicate(ctx, conn, &core.ReplicateOptions{Initiator: goDials, Live: sc.live})
	}()
	checkGoReader(t, r, sc, replicated)
}

func goToGo(t *testing.T, sc scenario, readerDials bool) {
	w := goWriterFeed(t, sc)
	appendAfterPeer(t, w, sc)
	r, err := core.Open(storage.NewMemory(), &core.Options{Key: w.Key(), Sparse: sc.sparse})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	listener, dialer := w, r
	if !readerDials {
		listener, dialer = r, w
	}
	replicated := make(chan error, 2)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			replicated <- err
			return
		}
		err = listener.Replicate(ctx, c, &core.ReplicateOptions{Live: sc.live})
		if listener == r {
			replicated <- err
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		err := dialer.Replicate(ctx, c, &core.ReplicateOptions{Initiator: true, Live: sc.live})
		if dialer == r {
			replicated <- err
		}
	}()
	checkGoReader(t, r, sc, replicated)
}

package interop

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/internal/jsref"
	"github.com/hypercore-go/hypercore/message"
)

// Feed extensions between Go and JS hypercore 9.12.0 over TCP
// (spec/replication.md, "Extensions"): the Go writer and JS readers
// register name sets that are the same, different or overlapping; each
// side sends on every name it has, and only the names both have arrive.

var extensionCases = []struct {
	name     string
	goN, jsN []string
	goDials  bool
}{
	{name: "Same", goN: []string{"beta", "alpha"}, jsN: []string{"alpha", "beta"}, goDials: true},
	{name: "Different", goN: []string{"alpha", "beta"}, jsN: []string{"delta", "gamma"}, goDials: false},
	{name: "Overlapping", goN: []string{"c", "a", "b"}, jsN: []string{"zz", "b", "d", "c"}, goDials: true},
}

// extJS is a JS extension peer that takes commands on stdin.
type extJS struct {
	*jsPeer
	stdin interface{ Write([]byte) (int, error) }
}

func startExtJS(t *testing.T, ctx context.Context, args ...string) *extJS {
	t.Helper()
	proc := jsref.Require(t).StartWithStdin(ctx, t, "peers/extension.js", args...)
	return &extJS{jsPeer: watchJS(t, proc), stdin: proc.Stdin}
}

// connectExtJS starts a JS extension peer and connects it with the test
// over TCP (connect): when goDials, the JS peer listens; otherwise the
// test does.
func connectExtJS(t *testing.T, ctx context.Context, goDials bool, jsRole, params string) (net.Conn, *extJS) {
	t.Helper()
	var ext *extJS
	c, _ := connect(t, goDials, func(addr string) *jsPeer {
		ext = startExtJS(t, ctx, jsRole, addr, params)
		return ext.jsPeer
	})
	return c, ext
}

func (p *extJS) cmd(c map[string]any) {
	b, _ := json.Marshal(c)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("JS peer stdin: %v", err)
	}
}

// messagesFor collects the JS peer's "message" events until want have
// arrived, then for a grace period more, and fails on any difference.
func (p *extJS) expectMessages(want []string) {
	p.t.Helper()
	var got []string
	deadline := time.After(jsWait)
	var grace <-chan time.Time
	for {
		if len(got) >= len(want) && grace == nil {
			grace = time.After(300 * time.Millisecond)
		}
		select {
		case e, ok := <-p.events:
			if !ok {
				p.t.Fatalf("JS peer exited; stderr:\n%s", p.proc.Stderr())
			}
			switch e.str("event") {
			case "message":
				got = append(got, e.str("name")+":"+e.str("message"))
			case "message-error", "error", "stream-error":
				p.t.Fatalf("JS peer: %v", e)
			}
		case <-grace:
			if !slices.Equal(got, want) {
				p.t.Fatalf("JS peer received %q, want %q", got, want)
			}
			return
		case <-deadline:
			p.t.Fatalf("JS peer received %q, want %q", got, want)
		}
	}
}

// waitOptions waits for the JS peer's report of an Options with names.
func (p *extJS) waitOptions(names []string) {
	p.t.Helper()
	deadline := time.Now().Add(jsWait)
	for {
		e := p.waitFor("options", time.Until(deadline))
		var got []string
		for _, n := range e["extensions"].([]any) {
			got = append(got, n.(string))
		}
		if ack, _ := e["ack"].(bool); ack {
			p.t.Fatalf("JS peer got Options with ack true from Go")
		}
		if slices.Equal(got, names) {
			return
		}
	}
}

// extRecorder records what the Go feed's extensions receive.
type extRecorder struct {
	mu  sync.Mutex
	got []string
}

func (r *extRecorder) handler(name string) core.ExtensionHandler {
	return core.ExtensionHandler{
		Encoding: core.UTF8,
		OnMessage: func(m any, _ *core.Peer) {
			r.mu.Lock()
			r.got = append(r.got, name+":"+m.(string))
			r.mu.Unlock()
		},
		OnError: func(err error, _ *core.Peer) {
			r.mu.Lock()
			r.got = append(r.got, "error:"+err.Error())
			r.mu.Unlock()
		},
	}
}

func (r *extRecorder) expect(t *testing.T, want []string) {
	t.Helper()
	deadline := time.Now().Add(jsWait)
	for {
		r.mu.Lock()
		got := slices.Clone(r.got)
		r.mu.Unlock()
		if len(got) >= len(want) {
			time.Sleep(300 * time.Millisecond)
			r.mu.Lock()
			got = slices.Clone(r.got)
			r.got = nil
			r.mu.Unlock()
			if !slices.Equal(got, want) {
				t.Fatalf("Go feed received %q, want %q", got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Go feed received %q, want %q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sortedNames(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func waitPeerNames(t *testing.T, f *core.Feed, want []string) *core.Peer {
	t.Helper()
	deadline := time.Now().Add(jsWait)
	for {
		for _, p := range f.Peers() {
			if slices.Equal(p.RemoteExtensions(), want) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Go peer announced %q", want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExtensionsJS(t *testing.T) {
	for _, tc := range extensionCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			w := goWriterFeed(t, scenario{blocks: 1, batch: 1})
			rec := &extRecorder{}
			exts := map[string]*core.Extension{}
			for _, n := range tc.goN {
				e, err := w.RegisterExtension(n, rec.handler(n))
				if err != nil {
					t.Fatal(err)
				}
				exts[n] = e
			}
			var mu sync.Mutex
			var sentOpts, recvOpts []string // hex Options bodies
			trace := func(sent bool, ch uint64, m message.Message) {
				if o, ok := m.(*message.Options); ok {
					mu.Lock()
					if sent {
						sentOpts = append(sentOpts, hex.EncodeToString(o.AppendBody(nil)))
					} else {
						recvOpts = append(recvOpts, hex.EncodeToString(o.AppendBody(nil)))
					}
					mu.Unlock()
				}
			}
			params := jsParams(map[string]any{"key": hex.EncodeToString(w.Key()), "names": tc.jsN})
			jsRole := map[bool]string{true: "responder", false: "initiator"}[tc.goDials]
			conn, p := connectExtJS(t, ctx, tc.goDials, jsRole, params)
			go w.Replicate(ctx, conn, &core.ReplicateOptions{Initiator: tc.goDials, Live: true, Trace: trace})

			// Options: each side announces its sorted names, ack false
			p.waitOptions(sortedNames(tc.goN))
			peer := waitPeerNames(t, w, sortedNames(tc.jsN))
			mu.Lock()
			want := hex.EncodeToString((&message.Options{Extensions: sortedNames(tc.jsN), Ack: message.Bool(false)}).AppendBody(nil))
			if len(recvOpts) != 1 || recvOpts[0] != want {
				t.Fatalf("JS sent Options %q, want [%s]", recvOpts, want)
			}
			if tc.name == "Same" && (len(sentOpts) != 1 || sentOpts[0] != recvOpts[0]) {
				t.Fatalf("Go sent Options %q, JS sent %q: not byte-identical", sentOpts, recvOpts)
			}
			mu.Unlock()
			t.Logf("names Go %q JS %q: Options from JS %s", tc.goN, tc.jsN, want)

			// JS → Go
			for _, n := range tc.jsN {
				p.cmd(map[string]any{"cmd": "send", "name": n, "message": "from js " + n})
			}
			var wantGo []string
			for _, n := range tc.jsN {
				if slices.Contains(tc.goN, n) {
					wantGo = append(wantGo, n+":from js "+n)
				}
			}
			rec.expect(t, wantGo)

			// Go → JS
			var wantJS []string
			for _, n := range tc.goN {
				if err := exts[n].Send(peer, "from go "+n); err != nil {
					t.Fatal(err)
				}
				if slices.Contains(tc.jsN, n) {
					wantJS = append(wantJS, n+":from go "+n)
				}
			}
			p.expectMessages(wantJS)

			// register after connect: Go then JS add "late"; each side
			// re-announces with a new Options and the ids shift
			e, err := w.RegisterExtension("late", rec.handler("late"))
			if err != nil {
				t.Fatal(err)
			}
			p.waitOptions(sortedNames(append(slices.Clone(tc.goN), "late")))
			p.cmd(map[string]any{"cmd": "register", "name": "late"})
			waitPeerNames(t, w, sortedNames(append(slices.Clone(tc.jsN), "late")))
			p.cmd(map[string]any{"cmd": "send", "name": "late", "message": "late from js"})
			rec.expect(t, []string{"late:late from js"})
			if err := e.Send(peer, "late from go"); err != nil {
				t.Fatal(err)
			}
			p.expectMessages([]string{"late:late from go"})
		})
	}
}

// TestExtensionsJSBroadcast: a Go writer broadcasts on each of its names
// to two JS readers; each gets the names it shares.
func TestExtensionsJSBroadcast(t *testing.T) {
	for _, tc := range extensionCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			w := goWriterFeed(t, scenario{blocks: 1, batch: 1})
			rec := &extRecorder{}
			exts := map[string]*core.Extension{}
			for _, n := range tc.goN {
				e, err := w.RegisterExtension(n, rec.handler(n))
				if err != nil {
					t.Fatal(err)
				}
				exts[n] = e
			}
			// the two JS peers: one with the case's names, one with Go's
			jsNames := [][]string{tc.jsN, tc.goN}
			var peers []*extJS
			for _, names := range jsNames {
				params := jsParams(map[string]any{"key": hex.EncodeToString(w.Key()), "names": names})
				c, p := connectExtJS(t, ctx, true, "responder", params)
				go w.Replicate(ctx, c, &core.ReplicateOptions{Initiator: true, Live: true})
				p.waitOptions(sortedNames(tc.goN))
				peers = append(peers, p)
			}
			for _, names := range jsNames {
				waitPeerNames(t, w, sortedNames(names))
			}
			for _, n := range tc.goN {
				if k, err := exts[n].Broadcast("all " + n); k != 2 || err != nil {
					t.Fatalf("Broadcast(%s) = %d, %v; want 2 peers", n, k, err)
				}
			}
			for i, p := range peers {
				var want []string
				for _, n := range tc.goN {
					if slices.Contains(jsNames[i], n) {
						want = append(want, n+":all "+n)
					}
				}
				p.expectMessages(want)
				t.Logf("JS peer %d with %q got %s", i, jsNames[i], fmt.Sprint(want))
			}
		})
	}
}

package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/internal/jsref"
)

// jsEvent is one JSON line printed by a JS peer script.
type jsEvent map[string]any

func (e jsEvent) str(k string) string { s, _ := e[k].(string); return s }

// jsPeer is a running JS peer script and its events.
type jsPeer struct {
	proc   *jsref.Proc
	events chan jsEvent
	t      *testing.T
}

// startJS starts a script under interop/js with args and collects its
// stdout events. The process is killed when the test ends.
func startJS(t *testing.T, ctx context.Context, script string, args ...string) *jsPeer {
	t.Helper()
	env := jsref.Require(t)
	return watchJS(t, env.Start(ctx, t, script, args...))
}

// jsWait bounds the waits for a JS peer to start and connect. Loading
// hypercore takes Node seconds of file reads, and more when the whole
// suite runs at once.
const jsWait = 60 * time.Second

// watchJS collects a started JS peer's stdout events.
func watchJS(t *testing.T, proc *jsref.Proc) *jsPeer {
	p := &jsPeer{proc: proc, events: make(chan jsEvent, 1000), t: t}
	go func() {
		sc := bufio.NewScanner(p.proc.Stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var e jsEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = jsEvent{"event": "unparsed", "line": sc.Text()}
			}
			p.events <- e
		}
		close(p.events)
	}()
	return p
}

// next returns the next event, failing the test after timeout.
func (p *jsPeer) next(timeout time.Duration) jsEvent {
	p.t.Helper()
	select {
	case e, ok := <-p.events:
		if !ok {
			p.t.Fatalf("JS peer exited early; stderr:\n%s", p.proc.Stderr())
		}
		return e
	case <-time.After(timeout):
		p.t.Fatalf("no event from the JS peer within %v; stderr:\n%s", timeout, p.proc.Stderr())
	}
	return nil
}

// waitFor skips events until one named ev arrives.
func (p *jsPeer) waitFor(ev string, timeout time.Duration) jsEvent {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		e := p.next(time.Until(deadline))
		if e.str("event") == ev {
			return e
		}
	}
}

// connect makes a TCP connection between the test and a JS peer: when
// goDials, the JS peer listens (its first event gives the port); otherwise
// the test listens and passes its port to start.
func connect(t *testing.T, goDials bool, start func(addr string) *jsPeer) (net.Conn, *jsPeer) {
	t.Helper()
	if goDials {
		p := start("listen")
		e := p.waitFor("listening", jsWait)
		port := int(e["port"].(float64))
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, p
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := start(fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(jsWait))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("JS peer did not connect: %v; stderr:\n%s", err, p.proc.Stderr())
	}
	t.Cleanup(func() { c.Close() })
	return c, p
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

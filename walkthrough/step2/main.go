// Step 2 of the guide "Creating and Sharing Hypercores": step 1, then a
// sparse read-only clone in ./clone that replicates with the first feed
// over a real replication session (Noise handshake, encrypted transport,
// the wire messages) on an in-memory pipe, as the guide pipes two streams
// together.
//
//	go run ./walkthrough/step2 [-dir PATH] [-trace] [-v11]
//
// It prints what the guide's step-2.js prints. -trace writes every message
// each side sends to stderr (spec/replication.md walks through them). The
// feeds live in a fresh temporary directory unless -dir names one to keep;
// a second run with the same -dir appends again, as step-2.js does.
//
// With -v11 the same program runs on Hypercore 11 (package v11/core): a
// default core and a clone opened by its key alone, replicating over a
// secret-stream (Noise XX, XChaCha20-Poly1305) carrying a protomux channel
// of hypercore/alpha messages, on the same in-memory pipe. It prints the
// same lines; -trace then shows the Hypercore 11 messages, which
// spec/v11/replication.md walks through.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/message"
	core11 "github.com/hypercore-go/hypercore/v11/core"
	"github.com/hypercore-go/hypercore/v11/wire"
	"github.com/hypercore-go/hypercore/walkthrough/internal/guide"
)

var trace = flag.Bool("trace", false, "print every message each side sends to stderr")

func main() {
	base, cleanup := guide.Parse()
	defer cleanup()
	step := run
	if *guide.V11 {
		step = run11
	}
	if err := step(base); err != nil {
		cleanup()
		guide.Fail(err)
	}
}

func run(base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	feed, err := guide.Step1(base)
	if err != nil {
		return err
	}
	defer feed.Close()

	// Step 2
	fmt.Print("\nStep 2: Create a read-only clone\n\n")

	// new Hypercore('./clone', core.key, { sparse: true })
	clone, err := core.OpenDir(filepath.Join(base, "clone"), &core.Options{Key: feed.Key(), Sparse: true})
	if err != nil {
		return err
	}
	defer clone.Close()

	// core.replicate(true, { live: true }) piped to clone.replicate(false,
	// { live: true }) and back
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go feed.Replicate(ctx, a, &core.ReplicateOptions{Initiator: true, Live: true, Trace: tracer("core ")})
	go clone.Replicate(ctx, b, &core.ReplicateOptions{Live: true, Trace: tracer("clone")})

	// clone.get(0), clone.get(1): downloaded on demand, verified, stored
	for i, label := range []string{"First clone block:", "Second clone block:"} {
		v, err := clone.GetContext(ctx, uint64(i))
		if err != nil {
			return err
		}
		fmt.Println(label, string(v))
	}

	// append 100 blocks, one call each
	for i := 0; i < 100; i++ {
		if _, err := feed.Append([]byte(fmt.Sprintf("New Block %d", i))); err != nil {
			return err
		}
	}

	// clone.update(): wait until the clone knows a longer signed length
	if err := clone.Update(ctx, clone.Length()+1); err != nil {
		return err
	}
	last := clone.Length() - 1
	v, err := clone.GetContext(ctx, last)
	if err != nil {
		return err
	}
	fmt.Printf("Last Block (%d): %s\n", last, v)
	return nil
}

// tracer prints the messages one side sends, when -trace is given.
func tracer(side string) func(bool, uint64, message.Message) {
	if !*trace {
		return nil
	}
	return func(sent bool, channel uint64, m message.Message) {
		if sent {
			fmt.Fprintf(os.Stderr, "%s → ch %d %s\n", side, channel, message.Describe(m))
		}
	}
}

// run11 is run on Hypercore 11.
func run11(base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := guide.Step1V11(base)
	if err != nil {
		return err
	}
	defer c.Close()

	// Step 2
	fmt.Print("\nStep 2: Create a read-only clone\n\n")

	// new Hypercore('./clone', core.key): a clone knows only the key (the
	// manifest's hash); the manifest arrives with the first signed length.
	// A Hypercore 11 clone is sparse: it downloads only what is asked for.
	clone, err := guide.OpenClone11(filepath.Join(base, "clone"), c.Key())
	if err != nil {
		return err
	}
	defer clone.Close()

	// core.replicate(true) piped to clone.replicate(false) and back
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go c.Replicate(ctx, a, &core11.ReplicateOptions{Initiator: true, Trace: tracer11("core ")})
	go clone.Replicate(ctx, b, &core11.ReplicateOptions{Trace: tracer11("clone")})

	// clone.get(0), clone.get(1): downloaded on demand, verified, stored
	for i, label := range []string{"First clone block:", "Second clone block:"} {
		v, err := clone.GetContext(ctx, uint64(i))
		if err != nil {
			return err
		}
		fmt.Println(label, string(v))
	}

	// append 100 blocks, one call each
	for i := 0; i < 100; i++ {
		if _, err := c.Append([]byte(fmt.Sprintf("New Block %d", i))); err != nil {
			return err
		}
	}

	// clone.update(): a Hypercore 11 clone follows the writer's length by
	// itself (each append's sync is answered with an upgrade request), so
	// by now it may know any length from 2 to 102. The writer is in this
	// process, so wait for its length; a clone elsewhere would call
	// Update(ctx, clone.Length()) and take the next length it hears of.
	if _, err := clone.Update(ctx, c.Length()-1); err != nil {
		return err
	}
	last := clone.Length() - 1
	v, err := clone.GetContext(ctx, last)
	if err != nil {
		return err
	}
	fmt.Printf("Last Block (%d): %s\n", last, v)
	return nil
}

// traceMu keeps the two sides' trace lines whole.
var traceMu sync.Mutex

// tracer11 prints the Hypercore 11 messages one side sends, when -trace is
// given. The Trace hook also sees the messages received, which the other
// side's tracer prints as it sends them.
func tracer11(side string) func(bool, wire.Message) {
	if !*trace {
		return nil
	}
	return func(sent bool, m wire.Message) {
		if sent {
			traceMu.Lock()
			fmt.Fprintf(os.Stderr, "%s → %s\n", side, guide.Describe11(m))
			traceMu.Unlock()
		}
	}
}

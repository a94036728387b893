package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

func Example() {
	// A writable feed in memory, with a fixed key pair.
	kp, _ := merkle.NewKeyPairFromSeed(bytes.Repeat([]byte{1}, 32))
	feed, err := core.Create(storage.NewMemory(), &core.Options{KeyPair: &kp})
	if err != nil {
		panic(err)
	}
	defer feed.Close()

	feed.Append([]byte("hello"), []byte("world")) // one call, one signature
	block, _ := feed.Get(1)
	fmt.Println(feed.Length(), string(block))
	// Output: 2 world
}

func ExampleFeed_Replicate() {
	kp, _ := merkle.NewKeyPairFromSeed(bytes.Repeat([]byte{1}, 32))
	writer, _ := core.Create(storage.NewMemory(), &core.Options{KeyPair: &kp})
	defer writer.Close()
	writer.Append([]byte("hello"), []byte("world"))

	// A sparse clone that knows only the public key.
	clone, _ := core.Open(storage.NewMemory(), &core.Options{Key: writer.Key(), Sparse: true})
	defer clone.Close()

	// Replicate over any connection; here an in-memory pipe.
	a, b := net.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go writer.Replicate(ctx, a, &core.ReplicateOptions{Initiator: true, Live: true})
	go clone.Replicate(ctx, b, &core.ReplicateOptions{Live: true})

	block, err := clone.GetContext(ctx, 1) // downloaded, verified, stored
	if err != nil {
		panic(err)
	}
	fmt.Println(string(block), clone.Downloaded(0, 0))
	// Output: world 1
}

// Share a log and follow it live: a writer serves its feed on a TCP port,
// a sparse clone holding only the key dials it, reads a block, and learns
// of each new one as it is appended. Closing the clone ends its session.
func Example_shareAndFollow() {
	dir, _ := os.MkdirTemp("", "share")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// the writer: open the feed stored in dir/main, or create it
	writer, _, err := core.OpenOrCreateDir(filepath.Join(dir, "main"), nil)
	if err != nil {
		panic(err)
	}
	defer writer.Close()
	writer.Append([]byte("hello"), []byte("world"))

	// serve it: every connection replicates live until it ends
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				writer.Replicate(ctx, c, &core.ReplicateOptions{Live: true})
			}()
		}
	}()

	// the follower holds only the key; it downloads what it reads
	clone, err := core.Open(storage.NewMemory(), &core.Options{Key: writer.Key(), Sparse: true})
	if err != nil {
		panic(err)
	}
	events := clone.Subscribe()
	defer events.Close()
	conn, _ := net.Dial("tcp", ln.Addr().String())
	ended := make(chan error, 1)
	go func() { ended <- clone.Replicate(ctx, conn, &core.ReplicateOptions{Initiator: true, Live: true}) }()

	b, err := clone.GetContext(ctx, 1)
	fmt.Printf("block 1: %s (err %v)\n", b, err)

	// follow: wait for one more block than we have, and read it
	writer.Append([]byte("again"))
	if err := clone.Update(ctx, 0); err != nil {
		panic(err)
	}
	b, _ = clone.GetContext(ctx, clone.Length()-1)
	fmt.Printf("new length %d, last block %s\n", clone.Length(), b)

	// stop: closing the feed ends its session
	clone.Close()
	fmt.Println("session ended, closed locally:", errorsIs(<-ended, core.ErrClosed))
	// Output:
	// block 1: world (err <nil>)
	// new length 3, last block again
	// session ended, closed locally: true
}

// Many feeds over one connection: both sides add their feeds to one
// Protocol, then run it. A feed the other side does not have is refused:
// its peer goes with ErrRefused, and a wait on it fails with ErrNoPeers.
// Remove stops replicating one feed and leaves the others.
func Example_manyFeedsOneConnection() {
	ctx := context.Background()
	var writers, clones []*core.Feed
	for i := 0; i < 3; i++ {
		w, _ := core.Create(storage.NewMemory(), nil)
		w.Append([]byte(fmt.Sprintf("feed %d", i)))
		c, _ := core.Open(storage.NewMemory(), &core.Options{Key: w.Key(), Sparse: true})
		writers, clones = append(writers, w), append(clones, c)
	}
	unknown, _ := core.Create(storage.NewMemory(), nil) // the server does not serve it
	lonely, _ := core.Open(storage.NewMemory(), &core.Options{Key: unknown.Key(), Sparse: true})

	a, b := net.Pipe()
	server := make(chan *core.Protocol, 1)
	go func() {
		p, err := core.NewProtocol(ctx, a, &core.ReplicateOptions{Live: true})
		if err != nil {
			panic(err)
		}
		for _, w := range writers {
			p.Add(w) // add every feed before Run
		}
		server <- p
		p.Run(ctx)
	}()
	client, err := core.NewProtocol(ctx, b, &core.ReplicateOptions{Initiator: true, Live: true})
	if err != nil {
		panic(err)
	}
	for _, c := range append(clones, lonely) {
		client.Add(c)
	}
	refused := lonely.Subscribe()
	go client.Run(ctx)
	<-server

	for _, c := range clones {
		v, _ := c.GetContext(ctx, 0)
		fmt.Println(string(v))
	}
	for e := range refused.C {
		if e.Type == core.EventPeerRemove {
			fmt.Println("a feed the server lacks:", errorsIs(e.Err, core.ErrRefused))
			break
		}
	}

	client.Remove(clones[0]) // the other two go on
	client.Close()
	// Output:
	// feed 0
	// feed 1
	// feed 2
	// a feed the server lacks: true
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func ExampleFeed_ReadStream() {
	kp, _ := merkle.NewKeyPairFromSeed(bytes.Repeat([]byte{1}, 32))
	feed, _ := core.Create(storage.NewMemory(), &core.Options{KeyPair: &kp})
	defer feed.Close()
	feed.Append([]byte("a"), []byte("b"), []byte("c"), []byte("d"))

	// blocks 1 and 2 (JS createReadStream({start: 1, end: 3}))
	for block, err := range feed.ReadStream(context.Background(), &core.ReadStreamOptions{Start: 1, End: 3}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(string(block))
	}
	// Output:
	// b
	// c
}

func ExampleFeed_NewReader() {
	kp, _ := merkle.NewKeyPairFromSeed(bytes.Repeat([]byte{1}, 32))
	feed, _ := core.Create(storage.NewMemory(), &core.Options{KeyPair: &kp})
	defer feed.Close()
	feed.Append([]byte("hello "), []byte("wide "), []byte("world"))

	// the feed's bytes from byte 8, across block boundaries
	r := feed.NewReader(context.Background(), nil)
	defer r.Close()
	r.Seek(8, io.SeekStart)
	rest, _ := io.ReadAll(r)
	fmt.Printf("%q\n", rest)
	// Output: "de world"
}

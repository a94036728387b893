package core_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
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

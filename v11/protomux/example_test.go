package protomux_test

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/hypercore-go/hypercore/v11/protomux"
)

// chanStream is one end of an in-memory message pipe; a real program uses
// a secret-stream connection.
type chanStream struct {
	in, out chan []byte
	done    chan struct{}
	once    *sync.Once
}

func (s chanStream) ReadMessage() ([]byte, error) {
	select {
	case b := <-s.in:
		return b, nil
	case <-s.done:
		return nil, io.EOF
	}
}

func (s chanStream) WriteMessage(p []byte) error {
	select {
	case s.out <- append([]byte(nil), p...):
		return nil
	case <-s.done:
		return io.ErrClosedPipe
	}
}

func (s chanStream) Close() error { s.once.Do(func() { close(s.done) }); return nil }

func Example() {
	ab, ba := make(chan []byte, 16), make(chan []byte, 16)
	done, once := make(chan struct{}), new(sync.Once)
	a := protomux.New(chanStream{in: ba, out: ab, done: done, once: once}, nil)
	b := protomux.New(chanStream{in: ab, out: ba, done: done, once: once}, nil)

	// b answers opens of "greeting" with its own channel.
	got := make(chan string)
	b.Pair("greeting", nil, func(protocol string, id []byte) {
		ch := b.CreateChannel(protomux.ChannelOptions{
			Protocol: protocol,
			ID:       id,
			Messages: 1,
			OnOpen: func(ch *protomux.Channel, handshake []byte) error {
				got <- fmt.Sprintf("b: open %s/%x, handshake %q", ch.Protocol(), ch.ID(), handshake)
				return nil
			},
			OnMessage: func(ch *protomux.Channel, typ int, payload []byte) error {
				got <- fmt.Sprintf("b: message %d %q", typ, payload)
				return nil
			},
		})
		ch.Open([]byte("hi from b"))
	})

	opened := make(chan string)
	ch := a.CreateChannel(protomux.ChannelOptions{
		Protocol: "greeting",
		ID:       []byte{0x01},
		Messages: 1,
		OnOpen: func(ch *protomux.Channel, handshake []byte) error {
			opened <- fmt.Sprintf("a: open, handshake %q", handshake)
			return nil
		},
	})
	ctx := context.Background()
	go a.Run(ctx)
	go b.Run(ctx)

	ch.Open([]byte("hi from a"))
	fmt.Println(<-got)
	fmt.Println(<-opened)
	ch.Send(0, []byte("hello"))
	fmt.Println(<-got)
	a.Close()
	// Output:
	// b: open greeting/01, handshake "hi from a"
	// a: open, handshake "hi from b"
	// b: message 0 "hello"
}

package message_test

import (
	"bytes"
	"fmt"

	"github.com/hypercore-go/hypercore/message"
)

func Example() {
	// The Want every reader sends on opening a channel, framed on channel 1.
	want := &message.Want{Range: message.Range{Start: 0, Length: message.Uint64(1048576)}}
	frame := message.AppendFrame(nil, 1, want)
	fmt.Printf("%x\n", frame)

	// Read it back.
	f, err := message.NewReader(bytes.NewReader(frame)).Next()
	if err != nil {
		panic(err)
	}
	m, err := f.Decode()
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Channel, f.Type, m.(*message.Want).GetLength())
	// Output:
	// 0715080010808040
	// 1 Want 1048576
}

package protomux

import "github.com/hypercore-go/hypercore/v11/compact"

// A Message is one protomux message with its framing taken off, as
// [ParseFrame] returns it: for tracing, tests and tools that read a
// transcript without running a mux.
type Message struct {
	// Channel is the sender's local channel id; 0 is the control channel.
	Channel uint64
	// Type is the message type: on channel 0, 1 open, 2 reject, 3 close
	// (a batch is returned as its entries); on other channels, the index
	// into the channel's message table.
	Type uint64
	// Payload is a channel message's payload, an open's handshake, or the
	// body of an unknown control message. It aliases the frame.
	Payload []byte
	// Ref is the channel id carried by an open (the sender's local id), a
	// reject (the opener's id) or a close (the sender's local id).
	Ref uint64
	// Protocol and ID are an open's (ID nil when absent or empty).
	Protocol string
	ID       []byte
	// InBatch is set for a message that came in a batch.
	InBatch bool
}

// ParseFrame decodes one frame (protomux.md, "Frames" and "Batches") into
// its messages, with the default limits of [Options], exactly as a [Mux]
// decodes what it reads before acting on it: a batch is flattened into its
// entries, an empty frame holds no message, and a frame that a mux would
// end on is an error wrapping [ErrProtocol].
func ParseFrame(frame []byte) ([]Message, error) {
	o := (*Options)(nil).resolve()
	msgs, err := parseFrame(frame, limits{maxFrame: o.MaxFrameSize, maxProtocol: o.MaxProtocolLength, maxID: o.MaxIDLength}, nil)
	if err != nil {
		return nil, err
	}
	d := compact.NewDecoder(frame)
	batch := d.Uint() == 0 && d.Uint() == typeBatch && d.Err() == nil
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		out[i] = Message{Channel: m.channel, Type: m.typ, Payload: m.payload, Ref: m.ref, Protocol: m.protocol, ID: m.id, InBatch: batch}
	}
	return out, nil
}

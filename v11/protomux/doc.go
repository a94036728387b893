// Package protomux implements the Protomux channel multiplexer of
// Hypercore 11 (npm protomux 3.12.1), specified in spec/v11/protomux.md: many
// message-oriented channels carried over one message stream.
//
// A [Mux] wraps any [Stream] that carries whole messages (a secret-stream
// connection does); it knows nothing of what its channels carry. Every
// message on the stream is one frame, uint(channel) ‖ uint(type) ‖ payload,
// where channel is the sender's local id for the channel and channel 0 is
// the control channel (batch, open, reject, close).
//
// Channels are identified across the two sides by (protocol, id). Both
// sides open independently ([Mux.CreateChannel], [Channel.Open]); an open
// from the remote is paired with a local channel of the same protocol and
// id that is waiting for it, or offered to the handler registered with
// [Mux.Pair] for that protocol, or rejected.
//
// # Goroutines and callbacks
//
// [Mux.Run] is the reader: it reads frames and calls the channels'
// OnOpen and OnMessage callbacks and the pair handlers, one at a time, in
// the order the frames arrived. OnClose runs on the reader for a close,
// reject or end that arrives from the remote, and on the goroutine that
// called [Channel.Close] or ended the mux otherwise; so a Close on another
// goroutine may overlap the reader's delivery of one last message to the
// channel.
//
// Sending never waits for the network: [Channel.Send], [Channel.Open],
// [Channel.Close], [Mux.Cork] and [Mux.Uncork] queue what they write and a
// writer goroutine hands it to the stream, so any goroutine may call them,
// callbacks included, and a callback that sends cannot block the reader.
// The rule for callbacks is therefore only this: a callback must not wait
// for something that only the reader can bring (a later message, an open),
// because the reader is the goroutine running it. To wait for the peer to
// take what was sent, use [Mux.WhenDrained], whose function runs on a
// goroutine of its own. The mux holds no lock while it runs a callback.
//
// # Limits
//
// A peer cannot make the mux hold more than its [Options] allow: frames
// longer than MaxFrameSize, protocols and ids longer than MaxProtocolLength
// and MaxIDLength, and remote channel ids above MaxChannels end the mux
// before anything is allocated for them; a batch entry's length is checked
// against the bytes present; more than MaxQueued bytes waiting to be written
// end the mux with [ErrSlowPeer].
package protomux

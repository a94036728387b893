package protomux

import (
	"fmt"

	"github.com/hypercore-go/hypercore/v11/compact"
)

// Control message types on channel 0 (protomux.md, "Control messages").
const (
	typeBatch  = 0
	typeOpen   = 1
	typeReject = 2
	typeClose  = 3
)

// A message is one protomux message with its framing taken off: a plain
// frame holds one, a batch one per entry. Channel is the sender's local id;
// on channel 0 the control fields are filled in by parseFrame.
type message struct {
	channel uint64
	typ     uint64
	// payload is what follows the type: a channel message's payload, an
	// open's handshake, or an unknown control message's body. It aliases
	// the frame.
	payload []byte
	// ref is the channel id field of an open, reject or close.
	ref uint64
	// protocol and id are an open's (id nil when absent or empty).
	protocol string
	id       []byte
	// more is set on a batch entry that is not the end of its frame: the
	// receiver corks its replies from that entry on, as JS does.
	more bool
}

// limits are the local limits parseFrame checks (Options, resolved).
type limits struct {
	maxFrame    int
	maxProtocol int
	maxID       int
}

// parseFrame decodes a whole frame into its messages before any of them is
// acted on, so that a malformed frame has no effect. An empty frame holds
// no message. A batch is flattened into its entries.
//
// The messages alias frame.
func parseFrame(frame []byte, lim limits, msgs []message) ([]message, error) {
	if len(frame) == 0 {
		// A receiver MUST ignore an empty frame.
		return msgs, nil
	}
	if len(frame) > lim.maxFrame {
		return msgs, fmt.Errorf("%w: frame of %d bytes, more than %d", ErrTooLarge, len(frame), lim.maxFrame)
	}
	d := compact.NewDecoder(frame)
	channel := d.Uint()
	typ := d.Uint()
	if err := d.Err(); err != nil {
		return msgs, fmt.Errorf("%w: frame header: %w", ErrBadFrame, err)
	}
	if channel == 0 && typ == typeBatch {
		return parseBatch(d, lim, msgs)
	}
	m, err := parseMessage(channel, typ, d.Raw(), lim)
	if err != nil {
		return msgs, err
	}
	return append(msgs, m), nil
}

// parseBatch decodes the body of a batch: uint(first channel id), then
// entries uint(len) ‖ [uint(type) ‖ payload], where len 0 is a channel
// switch followed by uint(channel id).
func parseBatch(d *compact.Decoder, lim limits, msgs []message) ([]message, error) {
	channel := d.Uint()
	if err := d.Err(); err != nil {
		return msgs, fmt.Errorf("%w: batch: first channel id: %w", ErrBadFrame, err)
	}
	for d.Remaining() > 0 {
		n := d.Uint()
		if n == 0 {
			channel = d.Uint()
			if err := d.Err(); err != nil {
				return msgs, fmt.Errorf("%w: batch: channel switch: %w", ErrBadFrame, err)
			}
			continue
		}
		if err := d.Err(); err != nil {
			return msgs, fmt.Errorf("%w: batch: entry length: %w", ErrBadFrame, err)
		}
		// An entry's length MUST NOT exceed the bytes left in the frame.
		// (Stricter than JS, which cuts the entry to the bytes there are.)
		if n > uint64(d.Remaining()) {
			return msgs, fmt.Errorf("%w: batch entry of %d bytes, %d left", ErrBadFrame, n, d.Remaining())
		}
		entry := compact.NewDecoder(d.Fixed(int(n)))
		typ := entry.Uint()
		if err := entry.Err(); err != nil {
			return msgs, fmt.Errorf("%w: batch entry type: %w", ErrBadFrame, err)
		}
		// A batch entry on channel 0 MUST NOT be a batch. (Stricter than
		// JS, which processes it; no JS peer sends one.)
		if channel == 0 && typ == typeBatch {
			return msgs, fmt.Errorf("%w: a batch inside a batch", ErrBadFrame)
		}
		m, err := parseMessage(channel, typ, entry.Raw(), lim)
		if err != nil {
			return msgs, err
		}
		m.more = d.Remaining() > 0
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// parseMessage decodes the body of a message other than a batch: the
// control fields of an open, reject or close, or nothing for a channel
// message and an unknown control type (whose body is ignored).
func parseMessage(channel, typ uint64, body []byte, lim limits) (message, error) {
	m := message{channel: channel, typ: typ, payload: body}
	if channel != 0 {
		return m, nil
	}
	d := compact.NewDecoder(body)
	switch typ {
	case typeOpen:
		m.ref = d.Uint()
		protocol := d.Buffer()
		if d.Err() == nil && len(protocol) > lim.maxProtocol {
			return message{}, fmt.Errorf("%w: open: protocol of %d bytes, more than %d", ErrTooLarge, len(protocol), lim.maxProtocol)
		}
		id := d.OptionalBuffer()
		if d.Err() == nil && len(id) > lim.maxID {
			return message{}, fmt.Errorf("%w: open: id of %d bytes, more than %d", ErrTooLarge, len(id), lim.maxID)
		}
		if err := d.Err(); err != nil {
			return message{}, fmt.Errorf("%w: open: %w", ErrBadFrame, err)
		}
		// JS decodes the protocol as UTF-8, replacing invalid bytes, and
		// pairs by the decoded string; so does this.
		m.protocol = compact.ReplaceInvalidUTF8(string(protocol))
		m.id = id
		m.payload = d.Raw()
	case typeReject, typeClose:
		// Bytes after the channel id are ignored, as in JS.
		m.ref = d.Uint()
		if err := d.Err(); err != nil {
			return message{}, fmt.Errorf("%w: %s: %w", ErrBadFrame, controlName(typ), err)
		}
		m.payload = nil
	}
	return m, nil
}

func controlName(typ uint64) string {
	switch typ {
	case typeBatch:
		return "batch"
	case typeOpen:
		return "open"
	case typeReject:
		return "reject"
	case typeClose:
		return "close"
	}
	return fmt.Sprintf("control type %d", typ)
}

// appendOpen appends an open frame:
// 00 01 ‖ uint(localId) ‖ string(protocol) ‖ optionalBuffer(id) ‖ handshake.
func appendOpen(b []byte, localID uint64, protocol string, id, handshake []byte) []byte {
	b = append(b, 0, typeOpen)
	b = compact.AppendUint(b, localID)
	b = compact.AppendString(b, protocol)
	b = compact.AppendOptionalBuffer(b, id)
	return append(b, handshake...)
}

// appendControl appends a reject or close frame: 00 ‖ type ‖ uint(id).
func appendControl(b []byte, typ byte, id uint64) []byte {
	return compact.AppendUint(append(b, 0, typ), id)
}

// appendMessage appends a channel message frame:
// uint(localId) ‖ uint(type) ‖ payload.
func appendMessage(b []byte, localID, typ uint64, payload []byte) []byte {
	b = compact.AppendUint(b, localID)
	b = compact.AppendUint(b, typ)
	return append(b, payload...)
}

// A batchEntry is one message waiting in a cork: the sender's local id (0
// for a control message) and the entry body uint(type) ‖ payload.
type batchEntry struct {
	channel uint64
	body    []byte
}

// entrySize returns how many bytes entry e adds to a batch whose last entry
// is on prevChannel (first: the batch is empty). A batch starts at 1 byte
// (its leading 00); each run of entries on one channel adds
// 1 + len(uint(channel)) (the type byte 00 for the first run, the switch's
// 00 for the others) and each entry uint(len) ‖ body. JS counts the same way.
func entrySize(prevChannel uint64, first bool, e batchEntry) int {
	n := compact.UintLen(uint64(len(e.body))) + len(e.body)
	if first || e.channel != prevChannel {
		n += 1 + compact.UintLen(e.channel)
	}
	return n
}

// appendBatch appends a batch frame: 00 00 ‖ uint(first channel) then each
// entry as uint(len) ‖ body, with 00 ‖ uint(channel) before an entry whose
// channel differs from the one before.
func appendBatch(b []byte, entries []batchEntry) []byte {
	if len(entries) == 0 {
		panic("protomux: appendBatch of no entries")
	}
	prev := entries[0].channel
	b = append(b, 0, typeBatch)
	b = compact.AppendUint(b, prev)
	for _, e := range entries {
		if e.channel != prev {
			prev = e.channel
			b = append(b, 0)
			b = compact.AppendUint(b, prev)
		}
		b = compact.AppendBuffer(b, e.body)
	}
	return b
}

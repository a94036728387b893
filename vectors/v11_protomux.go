package vectors

import "fmt"

// Protomux is vectors/v11/protomux.json: channels over a message stream
// (spec/v11/protomux.md), run by protomux 3.12.1.
type Protomux struct {
	Header
	Traces  []ProtomuxTraceGroup
	Decodes []ProtomuxDecodeGroup
}

// ProtomuxTraceGroup is one run of two Protomux instances, a and b,
// joined by a tap; its tests are the run's steps, in order. Messages names
// the compact-encoding of each message type of every channel (0 uint,
// 1 raw, 2 buffer).
type ProtomuxTraceGroup struct {
	Type     string              `json:"type"`
	Messages []string            `json:"messages"`
	Tests    []ProtomuxTraceTest `json:"tests"`
}

// ProtomuxTraceTest is one step: the actions, then the frames each side
// wrote until nothing was left in flight (in order per direction; a side's
// frames were delivered to the other in that order), and the events the
// channels saw (in order per side).
type ProtomuxTraceTest struct {
	Case
	Actions []ProtomuxAction `json:"actions"`
	Frames  []ProtomuxFrame  `json:"frames"`
	Events  []ProtomuxEvent  `json:"events"`
}

// ProtomuxAction is one thing a side does:
//
//   - "create": create channel Channel (Protocol, ID, a handshake of
//     HandshakeEncoding "uint", "raw" or "none", Messages types);
//   - "open": open Channel with Handshake (encoded; empty for "none");
//   - "send": send Payload (encoded) as message Type on Channel;
//   - "close": close Channel;
//   - "cork", "uncork": cork or uncork the side's mux;
//   - "pair": register a pair handler for Protocol (any id, ID is null)
//     that creates channel Channel (with the id of the open it is told
//     of) and opens it with Handshake;
//   - "reply": from now on the side answers every message of type OnType
//     on Channel with a message of type SendType and the same payload.
type ProtomuxAction struct {
	Side              string `json:"side"`
	Op                string `json:"op"`
	Channel           string `json:"channel,omitempty"`
	Protocol          string `json:"protocol,omitempty"`
	ID                Hex    `json:"id,omitempty"`
	HandshakeEncoding string `json:"handshakeEncoding,omitempty"`
	Messages          int    `json:"messages,omitempty"`
	Handshake         Hex    `json:"handshake,omitempty"`
	Type              int    `json:"type,omitempty"`
	Payload           Hex    `json:"payload,omitempty"`
	OnType            int    `json:"onType,omitempty"`
	SendType          int    `json:"sendType,omitempty"`
}

// ProtomuxFrame is a frame a side wrote and what it means.
type ProtomuxFrame struct {
	From    string          `json:"from"`
	Frame   Hex             `json:"frame"`
	Decoded ProtomuxDecoded `json:"decoded"`
}

// ProtomuxDecoded is the meaning of a frame or batch entry: Kind "message"
// (Payload on Channel), "open" (ChannelID, Protocol, ID, Handshake),
// "reject" and "close" (ChannelID), "control" (an unknown control Type with
// Payload) or "batch" (first ChannelID and Entries).
type ProtomuxDecoded struct {
	Channel   uint64            `json:"channel"`
	Type      uint64            `json:"type"`
	Kind      string            `json:"kind"`
	ChannelID *uint64           `json:"channelId,omitempty"`
	Protocol  string            `json:"protocol,omitempty"`
	ID        Hex               `json:"id,omitempty"`
	Handshake Hex               `json:"handshake,omitempty"`
	Payload   Hex               `json:"payload,omitempty"`
	Entries   []ProtomuxDecoded `json:"entries,omitempty"`
}

// ProtomuxEvent is a callback of a channel: Event "open" (the remote's
// Handshake, encoded), "message" (Type, Payload, encoded) or "close"
// (Remote: closed by the remote, a reject or the end of the stream).
type ProtomuxEvent struct {
	Side      string `json:"side"`
	Channel   string `json:"channel"`
	Event     string `json:"event"`
	Handshake Hex    `json:"handshake,omitempty"`
	Type      int    `json:"type,omitempty"`
	Payload   Hex    `json:"payload,omitempty"`
	Remote    bool   `json:"remote,omitempty"`
}

// ProtomuxDecodeGroup is one Protomux, "local", set up with Setup (which
// wrote SetupSent), then fed each test's frames.
type ProtomuxDecodeGroup struct {
	Type      string               `json:"type"`
	Messages  []string             `json:"messages"`
	Setup     []ProtomuxAction     `json:"setup"`
	SetupSent []Hex                `json:"setupSent"`
	Tests     []ProtomuxDecodeTest `json:"tests"`
}

// ProtomuxDecodeTest is a list of frames from the remote, fed in order to a
// fresh local mux after the group's setup: what the mux wrote (Sent, after
// SetupSent), the channel events each frame caused (Events[i] for
// Frames[i]), and whether JS destroyed the stream (JSDestroyed, JSError;
// then ShutdownEvents are the close events of the channels it closed, and
// the last frame is the one that destroyed it). Result and Error are the
// specification's verdict (error classes "bad-frame", "bad-message",
// "invalid-open", "invalid-reject"); they differ from JS's only with the
// JSLenient flag.
type ProtomuxDecodeTest struct {
	Case
	Frames         []Hex             `json:"frames"`
	Sent           []Hex             `json:"sent"`
	Events         [][]ProtomuxEvent `json:"events"`
	ShutdownEvents []ProtomuxEvent   `json:"shutdownEvents"`
	JSDestroyed    bool              `json:"jsDestroyed"`
	JSError        *string           `json:"jsError"`
}

func init() {
	register("v11/protomux.json", func() error { _, err := LoadProtomux(); return err })
}

// LoadProtomux loads vectors/v11/protomux.json.
func LoadProtomux() (*Protomux, error) {
	v := new(Protomux)
	err := load("v11/protomux.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "TraceTest":
			return decodeGroup(raw, &v.Traces)
		case "DecodeTest":
			return decodeGroup(raw, &v.Decodes)
		}
		return errUnknownGroup(typ)
	})
	if err != nil {
		return nil, err
	}
	if len(v.Traces) == 0 || len(v.Decodes) == 0 {
		return nil, fmt.Errorf("vectors: v11/protomux.json: %d trace and %d decode groups", len(v.Traces), len(v.Decodes))
	}
	return v, nil
}

package vectors

import "fmt"

// Messages11 is vectors/v11/messages.json: the messages of the Hypercore 11
// hypercore/alpha channel (hypercore 11.37.1 lib/messages.js wire),
// request/reply pairs captured from real JS cores, and the channel handshake
// with its capability.
type Messages11 struct {
	Header
	Encode    []Messages11Group[Messages11EncodeTest]
	Decode    []Messages11Group[Messages11DecodeTest]
	Exchange  []Messages11ExchangeGroup
	Handshake []Messages11HandshakeGroup
}

// Messages11Group is a test group with a comment saying what it holds.
type Messages11Group[T any] struct {
	Type    string `json:"type"`
	Comment string `json:"comment"`
	Tests   []T    `json:"tests"`
}

// Wire11Encoded is one message as the JS encoder wrote it: its name and
// type id, the payload, what the JS decoder makes of it, and the lengths
// below len(Payload) at which the JS decoder accepts the cut payload (every
// other prefix throws "Out of bounds").
type Wire11Encoded struct {
	Message       string        `json:"message"`
	Type          uint8         `json:"type"`
	Payload       Hex           `json:"payload"`
	Decoded       Wire11Decoded `json:"decoded"`
	ValidPrefixes []int         `json:"validPrefixes"`
}

// Messages11EncodeTest is a message encoded by JS (always valid).
type Messages11EncodeTest struct {
	Case
	Wire11Encoded
}

// Messages11DecodeTest is a payload fed to the JS decoder: valid with the
// decoded fields, or invalid with the error class (truncated,
// array-too-big, out-of-range, manifest) and JS's message.
type Messages11DecodeTest struct {
	Case
	Message string         `json:"message"`
	Type    uint8          `json:"type"`
	Payload Hex            `json:"payload"`
	Decoded *Wire11Decoded `json:"decoded,omitempty"`
	JSError string         `json:"jsError,omitempty"`
}

// Messages11ExchangeGroup holds request/reply pairs between a JS writer
// (Key, DiscoveryKey, Blocks) and a JS clone.
type Messages11ExchangeGroup struct {
	Type         string                   `json:"type"`
	Comment      string                   `json:"comment"`
	Key          Hex                      `json:"key"`
	DiscoveryKey Hex                      `json:"discoveryKey"`
	Blocks       []string                 `json:"blocks"`
	Tests        []Messages11ExchangeTest `json:"tests"`
}

// Messages11ExchangeTest is a request the clone sent and the writer's reply
// (data or noData).
type Messages11ExchangeTest struct {
	Case
	Request Wire11Encoded `json:"request"`
	Reply   Wire11Encoded `json:"reply"`
}

// Messages11HandshakeGroup holds channel handshake cases for core Key.
type Messages11HandshakeGroup struct {
	Type     string                    `json:"type"`
	Comment  string                    `json:"comment"`
	Protocol string                    `json:"protocol"`
	Key      Hex                       `json:"key"`
	Tests    []Messages11HandshakeTest `json:"tests"`
}

// Messages11HandshakeTest is either a capability case (HandshakeHash set:
// the capability caps.replicate computes for IsInitiator's role, and the
// handshake payload carrying it) or a handshake payload fed to the JS
// decoder.
type Messages11HandshakeTest struct {
	Case
	HandshakeHash Hex              `json:"handshakeHash,omitempty"`
	IsInitiator   bool             `json:"isInitiator,omitempty"`
	Key           Hex              `json:"key,omitempty"`
	Capability    Hex              `json:"capability,omitempty"`
	Payload       Hex              `json:"payload"`
	Decoded       *Wire11Handshake `json:"decoded,omitempty"`
	JSError       string           `json:"jsError,omitempty"`
}

// Wire11Handshake is a decoded channel handshake.
type Wire11Handshake struct {
	Seeks      bool `json:"seeks"`
	Capability Hex  `json:"capability"`
}

// Wire11Decoded is a decoded message: exactly one field is set, the one
// named by the message.
type Wire11Decoded struct {
	Sync      *Wire11Sync      `json:"sync,omitempty"`
	Request   *Wire11Request   `json:"request,omitempty"`
	Cancel    *Wire11Cancel    `json:"cancel,omitempty"`
	Data      *Wire11Data      `json:"data,omitempty"`
	NoData    *Wire11NoData    `json:"noData,omitempty"`
	Want      *Wire11Span      `json:"want,omitempty"`
	Unwant    *Wire11Span      `json:"unwant,omitempty"`
	Bitfield  *Wire11Bitfield  `json:"bitfield,omitempty"`
	Range     *Wire11Range     `json:"range,omitempty"`
	Extension *Wire11Extension `json:"extension,omitempty"`
}

// Name returns the name of the one message set, or "" if not exactly one
// is set.
func (d Wire11Decoded) Name() string {
	name, n := "", 0
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"sync", d.Sync != nil}, {"request", d.Request != nil}, {"cancel", d.Cancel != nil},
		{"data", d.Data != nil}, {"noData", d.NoData != nil}, {"want", d.Want != nil},
		{"unwant", d.Unwant != nil}, {"bitfield", d.Bitfield != nil}, {"range", d.Range != nil},
		{"extension", d.Extension != nil},
	} {
		if f.set {
			name = f.name
			n++
		}
	}
	if n != 1 {
		return ""
	}
	return name
}

// Wire11Sync is a decoded sync.
type Wire11Sync struct {
	Fork         uint64 `json:"fork"`
	Length       uint64 `json:"length"`
	RemoteLength uint64 `json:"remoteLength"`
	CanUpgrade   bool   `json:"canUpgrade"`
	Uploading    bool   `json:"uploading"`
	Downloading  bool   `json:"downloading"`
	HasManifest  bool   `json:"hasManifest"`
	AllowPush    bool   `json:"allowPush"`
}

// Wire11Request is a decoded request: its id, the proof sections of
// proofs.json's requests (absent ones are nil), and its manifest flag and
// priority.
type Wire11Request struct {
	ID uint64 `json:"id"`
	V11ProofRequest
	Manifest bool   `json:"manifest"`
	Priority uint64 `json:"priority"`
}

// Wire11Cancel is a decoded cancel.
type Wire11Cancel struct {
	Request uint64 `json:"request"`
}

// Wire11Node is a tree node (V11Node).
type Wire11Node = V11Node

// Wire11Data is a decoded data message: the request it answers, the proof
// sections of proofs.json's proofs (absent ones are nil), and Manifest,
// the manifest's encoding (nil when absent).
type Wire11Data struct {
	Request uint64 `json:"request"`
	V11Proof
	Manifest Hex `json:"manifest"`
}

// Wire11NoData is a decoded noData.
type Wire11NoData struct {
	Request uint64 `json:"request"`
	Reason  uint64 `json:"reason"`
}

// Wire11Span is a decoded want or unwant.
type Wire11Span struct {
	Start  uint64 `json:"start"`
	Length uint64 `json:"length"`
	Any    bool   `json:"any"`
}

// Wire11Bitfield is a decoded bitfield.
type Wire11Bitfield struct {
	Start    uint64   `json:"start"`
	Bitfield []uint32 `json:"bitfield"`
}

// Wire11Range is a decoded range.
type Wire11Range struct {
	Drop   bool   `json:"drop"`
	Start  uint64 `json:"start"`
	Length uint64 `json:"length"`
}

// Wire11Extension is a decoded extension; Name is the UTF-8 string JS
// decoded.
type Wire11Extension struct {
	Name    string `json:"name"`
	Message Hex    `json:"message"`
}

// messages11Types are the message names by type id (replicator.js).
var messages11Types = []string{"sync", "request", "cancel", "data", "noData", "want", "unwant", "bitfield", "range", "extension"}

func checkWire11(c Case, message string, typ uint8, decoded *Wire11Decoded) error {
	if int(typ) >= len(messages11Types) || messages11Types[typ] != message {
		return fmt.Errorf("#%d: message %q with type %d", c.TcID, message, typ)
	}
	if decoded != nil && decoded.Name() != message {
		return fmt.Errorf("#%d: decoded holds %q, not exactly %q", c.TcID, decoded.Name(), message)
	}
	return nil
}

func init() { register("v11/messages.json", func() error { _, err := LoadMessages11(); return err }) }

// LoadMessages11 loads vectors/v11/messages.json and checks that each
// message's name, type id and decoded form agree.
func LoadMessages11() (*Messages11, error) {
	v := new(Messages11)
	err := load("v11/messages.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "EncodeTest":
			return decodeGroup(raw, &v.Encode)
		case "DecodeTest":
			return decodeGroup(raw, &v.Decode)
		case "ExchangeTest":
			return decodeGroup(raw, &v.Exchange)
		case "HandshakeTest":
			return decodeGroup(raw, &v.Handshake)
		}
		return errUnknownGroup(typ)
	})
	if err != nil {
		return nil, err
	}
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			if err := checkWire11(tc.Case, tc.Message, tc.Type, &tc.Decoded); err != nil {
				return nil, fmt.Errorf("vectors: v11/messages.json%w", err)
			}
		}
	}
	for _, g := range v.Decode {
		for _, tc := range g.Tests {
			if err := checkWire11(tc.Case, tc.Message, tc.Type, tc.Decoded); err != nil {
				return nil, fmt.Errorf("vectors: v11/messages.json%w", err)
			}
			if tc.Valid() != (tc.Decoded != nil) {
				return nil, fmt.Errorf("vectors: v11/messages.json#%d: result %s with decoded %v", tc.TcID, tc.Result, tc.Decoded != nil)
			}
		}
	}
	for _, g := range v.Exchange {
		for _, tc := range g.Tests {
			for _, e := range []Wire11Encoded{tc.Request, tc.Reply} {
				if err := checkWire11(tc.Case, e.Message, e.Type, &e.Decoded); err != nil {
					return nil, fmt.Errorf("vectors: v11/messages.json%w", err)
				}
			}
		}
	}
	return v, nil
}

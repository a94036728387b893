package vectors

// Session11 is vectors/v11/session.json: complete transcripts of two JS
// Hypercore 11 cores replicating over secret-stream and protomux, every
// byte in both directions with its meaning (interop/js11/vectors/session.js).
type Session11 struct {
	Header
	Transcripts []Group[Transcript11Test]
}

// Transcript11Test is one replication session.
type Transcript11Test struct {
	Case
	// WriterInitiates is true when the writer's stream is the Noise
	// initiator (it dialled).
	WriterInitiates bool `json:"writerInitiates"`
	Writer          struct {
		Seed         Hex   `json:"seed"`
		PublicKey    Hex   `json:"publicKey"`
		Manifest     Hex   `json:"manifest"`
		Key          Hex   `json:"key"`
		DiscoveryKey Hex   `json:"discoveryKey"`
		Blocks       []Hex `json:"blocks"`
	} `json:"writer"`
	Initiator     Transcript11Side `json:"initiator"`
	Responder     Transcript11Side `json:"responder"`
	HandshakeHash Hex              `json:"handshakeHash"`
	// Actions are the clone's (and writer's) calls, in order, each run to
	// completion before the next.
	Actions               []Fields            `json:"actions"`
	Frames                []Transcript11Frame `json:"frames"`
	CloneLength           uint64              `json:"cloneLength"`
	CloneContiguousLength uint64              `json:"cloneContiguousLength"`
}

// Transcript11Side is one stream's fixed randomness and its capability.
type Transcript11Side struct {
	Role            string `json:"role"` // "writer" or "clone"
	StaticSeed      Hex    `json:"staticSeed"`
	StaticPublicKey Hex    `json:"staticPublicKey"`
	EphemeralSeed   Hex    `json:"ephemeralSeed"`
	Header          Hex    `json:"header"`
	Capability      Hex    `json:"capability"`
}

// Transcript11Frame is one frame as delivered: its direction ("i2r" from
// initiator to responder, "r2i" back), its kind ("handshake", "setup" or
// "message"), its raw bytes (u24le length included) and, for messages, the
// plaintext and the protomux messages the receiver decoded from it.
type Transcript11Frame struct {
	Direction string                `json:"direction"`
	Kind      string                `json:"kind"`
	Raw       Hex                   `json:"raw"`
	Plaintext Hex                   `json:"plaintext,omitempty"`
	Messages  []Transcript11Message `json:"messages,omitempty"`
}

// Transcript11Message is one protomux message: the sender's channel id (0 =
// control), the type, the payload after the type, its name (control: open,
// reject, close; channel: the hypercore message) and its fields as JS
// decoded them (bytes as hex; absent for messages without a body layout).
type Transcript11Message struct {
	Channel uint64 `json:"channel"`
	Type    uint64 `json:"type"`
	Payload Hex    `json:"payload"`
	Name    string `json:"name"`
	Fields  Fields `json:"fields,omitempty"`
}

// LoadSession11 loads vectors/v11/session.json.
func LoadSession11() (*Session11, error) {
	var f Session11
	err := load("v11/session.json", &f.Header, func(typ string, raw []byte) error {
		switch typ {
		case "TranscriptTest":
			return decodeGroup(raw, &f.Transcripts)
		}
		return errUnknownGroup(typ)
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func init() {
	register("v11/session.json", func() error { _, err := LoadSession11(); return err })
}

package vectors

// Session is vectors/session.json: deterministic sessions run by the JS
// protocol engine.
type Session struct {
	Header
	Sessions   []SessionGroup
	KeyStreams []KeyStreamGroup
}

// KeyStreamGroup is a group of XSalsa20 key streams.
type KeyStreamGroup struct {
	Type  string          `json:"type"`
	Tests []KeyStreamTest `json:"tests"`
}

// KeyStreamTest is the first len(KeyStream) bytes of the XSalsa20 key
// stream for Key and Nonce, from libsodium.
type KeyStreamTest struct {
	Case
	Key       Hex `json:"key"`
	Nonce     Hex `json:"nonce"`
	KeyStream Hex `json:"keyStream"`
}

// SessionGroup is a group of session cases.
type SessionGroup struct {
	Type  string        `json:"type"`
	Tests []SessionTest `json:"tests"`
}

// SessionTest is one session between an initiator and a responder.
type SessionTest struct {
	Case
	Initiator    SessionSide         `json:"initiator"`
	Responder    SessionSide         `json:"responder"`
	Handshake    []HandshakeMessage  `json:"handshake"`
	Capabilities []SessionCapability `json:"capabilities"`
	Frames       []SessionFrame      `json:"frames"`
}

// SessionSide is one side's key material and handshake results.
type SessionSide struct {
	StaticSeed         Hex `json:"staticSeed"`
	StaticSecretKey    Hex `json:"staticSecretKey"`
	StaticPublicKey    Hex `json:"staticPublicKey"`
	EphemeralSeed      Hex `json:"ephemeralSeed"`
	EphemeralSecretKey Hex `json:"ephemeralSecretKey"`
	EphemeralPublicKey Hex `json:"ephemeralPublicKey"`
	Nonce              Hex `json:"nonce"`
	RemoteStaticKey    Hex `json:"remoteStaticKey"`
	RemoteNonce        Hex `json:"remoteNonce"`
	Tx                 Hex `json:"tx"`
	Rx                 Hex `json:"rx"`
	HandshakeHash      Hex `json:"handshakeHash"`
}

// HandshakeMessage is one handshake message as sent: varint(len) ‖ message.
type HandshakeMessage struct {
	From    string `json:"from"`
	Message Hex    `json:"message"`
}

// SessionCapability gives, for one feed key, the capability each side sends
// and expects.
type SessionCapability struct {
	Key                 Hex `json:"key"`
	InitiatorCapability Hex `json:"initiatorCapability"`
	ResponderCapability Hex `json:"responderCapability"`
	InitiatorExpects    Hex `json:"initiatorExpects"`
	ResponderExpects    Hex `json:"responderExpects"`
}

// SessionFrame is one frame sent after the handshake: its plaintext, its
// ciphertext, and the offset of its first byte in the sender's key stream.
type SessionFrame struct {
	From       string `json:"from"`
	Message    string `json:"message"`
	Offset     uint64 `json:"offset"`
	Plaintext  Hex    `json:"plaintext"`
	Ciphertext Hex    `json:"ciphertext"`
}

func init() { register("session.json", func() error { _, err := LoadSession(); return err }) }

// LoadSession loads vectors/session.json.
func LoadSession() (*Session, error) {
	v := new(Session)
	err := load("session.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "SessionTest":
			return decodeGroup(raw, &v.Sessions)
		case "KeyStreamTest":
			return decodeGroup(raw, &v.KeyStreams)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

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
	Key   Hex `json:"key"`
	Nonce Hex `json:"nonce"`
	// Subkey is HSalsa20(Key, Nonce[0:16]), the Salsa20 key of the stream.
	Subkey    Hex `json:"subkey"`
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
	Initiator SessionSide `json:"initiator"`
	Responder SessionSide `json:"responder"`
	// NoiseInit is the Noise symmetric state both sides start the
	// handshake messages from: after InitializeSymmetric(protocol name)
	// and MixHash(prologue).
	NoiseInit    NoiseState          `json:"noiseInit"`
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
	// TxSubkey is HSalsa20(Tx, Nonce[0:16]) and RxSubkey is
	// HSalsa20(Rx, RemoteNonce[0:16]): the Salsa20 keys of the two
	// transport streams.
	TxSubkey Hex `json:"txSubkey"`
	RxSubkey Hex `json:"rxSubkey"`
}

// HandshakeMessage is one handshake message as sent: varint(len) ‖ message,
// and the Noise symmetric state after each of its tokens and its payload,
// which both sides share.
type HandshakeMessage struct {
	From    string       `json:"from"`
	Message Hex          `json:"message"`
	Tokens  []NoiseToken `json:"tokens"`
}

// NoiseState is the Noise symmetric state's handshake hash H and chaining
// key CK (64 bytes each, BLAKE2b).
type NoiseState struct {
	H  Hex `json:"h"`
	CK Hex `json:"ck"`
}

// NoiseToken is the state after one token of a message pattern (e, ee, s,
// es, se) or after its payload ("payload").
type NoiseToken struct {
	Token string `json:"token"`
	NoiseState
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

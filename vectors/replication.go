package vectors

// Replication is vectors/replication.json: whole conversations between two
// hypercore 9.12.0 feeds replicating through hypercore-protocol 8.0.7,
// recorded per direction (spec/replication.md, "Test vectors").
type Replication struct {
	Header
	Conversations []Group[ConversationTest]
}

// ConversationTest is one conversation: the writer feed every side's feed
// comes from, the two sides, and for an invalid case the side that ends
// the session, the error class (Case.Error) and JS's error message.
type ConversationTest struct {
	Case
	Writer     ConversationWriter `json:"writer"`
	Initiator  ConversationSide   `json:"initiator"`
	Responder  ConversationSide   `json:"responder"`
	RejectedBy string             `json:"rejectedBy,omitempty"` // "initiator" or "responder"
	JSError    string             `json:"jsError,omitempty"`
}

// Side returns the initiator for "initiator" and the responder otherwise.
func (c *ConversationTest) Side(role string) *ConversationSide {
	if role == "initiator" {
		return &c.Initiator
	}
	return &c.Responder
}

// ConversationWriter is the vectors' writer feed: the Ed25519 key pair
// from Seed, and the blocks of each append call in order.
type ConversationWriter struct {
	Seed      Hex     `json:"seed"`
	PublicKey Hex     `json:"publicKey"`
	Appends   [][]Hex `json:"appends"`
}

// ConversationSide is one side of a conversation: its feed before the
// conversation, its Noise key material, what the application did
// (Actions), every message it sent in order, and every byte it wrote:
// the handshake messages, then the transport stream (ciphertext).
type ConversationSide struct {
	Name      string                `json:"name"`
	Feed      ConversationFeed      `json:"feed"`
	Live      bool                  `json:"live"`
	Noise     ConversationNoise     `json:"noise"`
	Actions   []ConversationAction  `json:"actions"`
	Messages  []ConversationMessage `json:"messages"`
	Handshake []Hex                 `json:"handshake"`
	Transport Hex                   `json:"transport"`
	// Replay is false for a side whose messages a test cannot make an
	// unmodified peer send (the mutating side of a negative case).
	Replay bool `json:"replay"`
}

// ConversationFeed describes a side's feed before the conversation: the
// writer itself, or a reader (sparse or not) that holds the blocks Fetched.
// A reader fetched each block, in order, by putting it with the proof the
// writer builds for the reader's digest of that block (no remote tree).
type ConversationFeed struct {
	Writable bool     `json:"writable"`
	Sparse   bool     `json:"sparse,omitempty"`
	Fetched  []uint64 `json:"fetched,omitempty"`
}

// ConversationNoise is a side's Noise key material: the static key pair is
// crypto_kx_seed_keypair(StaticSeed), the ephemeral one
// crypto_kx_seed_keypair(EphemeralSeed); Nonce is its transport nonce and
// Tx its split transmit key.
type ConversationNoise struct {
	StaticSeed         Hex `json:"staticSeed"`
	StaticSecretKey    Hex `json:"staticSecretKey"`
	StaticPublicKey    Hex `json:"staticPublicKey"`
	EphemeralSeed      Hex `json:"ephemeralSeed"`
	EphemeralSecretKey Hex `json:"ephemeralSecretKey"`
	Nonce              Hex `json:"nonce"`
	Tx                 Hex `json:"tx"`
}

// ConversationAction is something the application did on a side's feed
// once the side had sent AfterSent and received AfterReceived messages,
// and after the previous action of the side had completed: "get" (Index;
// Value is what it returned), "append" (Blocks, one call), "update" (wait
// for a length above the current one), "close" (close the feed), and
// "send" (send Messages[Message], a scripted message). LengthAfter is the
// feed's length once an append or update completed. A get or update that
// never completed (the session was rejected) has no Value or LengthAfter.
type ConversationAction struct {
	Op            string  `json:"op"`
	Index         *uint64 `json:"index,omitempty"`
	Value         Hex     `json:"value,omitempty"`
	Blocks        []Hex   `json:"blocks,omitempty"`
	LengthAfter   *uint64 `json:"lengthAfter,omitempty"`
	Message       *int    `json:"message,omitempty"`
	AfterSent     int     `json:"afterSent"`
	AfterReceived int     `json:"afterReceived"`
}

// ConversationMessage is one message a side sent: its channel, type name,
// the fields present on the wire (messages.json's form), the plaintext
// frame, the offset of the frame in the side's transport stream, and how
// many messages the side had received when it sent it. Unordered (when
// not 0) numbers a group of messages JS may send in any order among
// themselves; Scripted marks a message the generator sent rather than the
// replication logic; Mutation names how the generator changed it.
type ConversationMessage struct {
	Channel   uint64 `json:"channel"`
	Type      string `json:"type"`
	Fields    Fields `json:"fields"`
	Frame     Hex    `json:"frame"`
	Offset    int    `json:"offset"`
	Received  int    `json:"received"`
	Unordered int    `json:"unordered,omitempty"`
	Scripted  bool   `json:"scripted,omitempty"`
	Mutation  string `json:"mutation,omitempty"`
}

func init() { register("replication.json", func() error { _, err := LoadReplication(); return err }) }

// LoadReplication loads vectors/replication.json.
func LoadReplication() (*Replication, error) {
	v := new(Replication)
	err := load("replication.json", &v.Header, func(typ string, raw []byte) error {
		if typ == "ConversationTest" {
			return decodeGroup(raw, &v.Conversations)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

package vectors

// Extensions is vectors/extensions.json: feed extension name lists and the
// id match, from abstract-extension 3.1.1 as hypercore 9.12.0 uses it
// (spec/replication.md, "Extensions").
type Extensions struct {
	Header
	Match []Group[ExtensionMatchTest]
}

// ExtensionMatchTest is a feed that registered Registered (in that order)
// and wants acks or not (Ack), and a peer that announced Remote (nil: no
// Options yet). Local is the feed's sorted list (an extension's id is its
// index), Options the body of the Options it sends (nil: none), and Map[id]
// the local name a message with the peer's id reaches (nil: ignored), for
// every id up to one beyond the peer's list. An invalid case registers a
// name twice (error "duplicate-name").
type ExtensionMatchTest struct {
	Case
	Registered []string  `json:"registered"`
	Ack        bool      `json:"ack"`
	Remote     []string  `json:"remote"`
	Local      []string  `json:"local"`
	Options    Hex       `json:"options"`
	Map        []*string `json:"map"`
	JSError    string    `json:"jsError,omitempty"`
}

func init() {
	register("extensions.json", func() error { _, err := LoadExtensions(); return err })
}

// LoadExtensions loads vectors/extensions.json.
func LoadExtensions() (*Extensions, error) {
	v := new(Extensions)
	err := load("extensions.json", &v.Header, func(typ string, raw []byte) error {
		if typ == "MatchTest" {
			return decodeGroup(raw, &v.Match)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

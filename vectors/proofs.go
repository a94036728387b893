package vectors

// Proofs is vectors/proofs.json: proofs built by hypercore 9.12.0 feeds and
// Put cases judged by a JS reader.
type Proofs struct {
	Header
	Proofs []Group[FeedProofTest]
	Puts   []Group[PutTest]
}

// FeedProofTest is the proof a writer built with the append calls
// WriterCalls (block i is "block i") sends for Index with Digest.
type FeedProofTest struct {
	Case
	WriterCalls []int      `json:"writerCalls"`
	Index       uint64     `json:"index"`
	Digest      uint64     `json:"digest"`
	Hash        bool       `json:"hash"`
	Nodes       []NodeJSON `json:"nodes"`
	Signature   Hex        `json:"signature"`
}

// PutTest is a Data message put into a fresh sparse reader of the writer's
// feed, and the verdict.
type PutTest struct {
	Case
	Mutation    string     `json:"mutation"`
	WriterCalls []int      `json:"writerCalls"`
	Index       uint64     `json:"index"`
	Value       Hex        `json:"value"`
	Nodes       []NodeJSON `json:"nodes"`
	Signature   Hex        `json:"signature"`
	LengthAfter *uint64    `json:"lengthAfter,omitempty"`
	JSError     string     `json:"jsError,omitempty"`
}

func init() { register("proofs.json", func() error { _, err := LoadProofs(); return err }) }

// LoadProofs loads vectors/proofs.json.
func LoadProofs() (*Proofs, error) {
	v := new(Proofs)
	err := load("proofs.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "ProofTest":
			return decodeGroup(raw, &v.Proofs)
		case "PutTest":
			return decodeGroup(raw, &v.Puts)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

package vectors

// Merkle is vectors/merkle.json: hashes, trees, keys and signatures from
// hypercore-crypto 2.3.2 and merkle-tree-stream 4.0.0.
type Merkle struct {
	Header
	Leaves     []Group[LeafTest]
	Parents    []Group[ParentTest]
	Trees      []Group[TreeTest]
	KeyPairs   []Group[KeyPairTest]
	Signatures []Group[SignatureTest]
}

// NodeJSON is a Merkle tree node.
type NodeJSON struct {
	Index uint64 `json:"index"`
	Hash  Hex    `json:"hash"`
	Size  uint64 `json:"size"`
}

// Pattern names a large deterministic block (see the note Pattern).
type Pattern struct {
	Label  string `json:"label"`
	Length int    `json:"length"`
}

// LeafTest is the leaf hash of one block, given inline (Data) or as a
// pattern (DataPattern).
type LeafTest struct {
	Case
	Data        Hex      `json:"data,omitempty"`
	DataPattern *Pattern `json:"dataPattern,omitempty"`
	Size        uint64   `json:"size"`
	Hash        Hex      `json:"hash"`
}

// ParentTest is the parent of two nodes.
type ParentTest struct {
	Case
	Left   NodeJSON `json:"left"`
	Right  NodeJSON `json:"right"`
	Parent NodeJSON `json:"parent"`
}

// TreeTest is a tree built by a sequence of append calls.
type TreeTest struct {
	Case
	Appends []AppendStep `json:"appends"`
}

// AppendStep is one append call: its blocks (as strings), the nodes the
// generator emitted, and the tree after it.
type AppendStep struct {
	Blocks   []string   `json:"blocks"`
	Nodes    []NodeJSON `json:"nodes"`
	Length   uint64     `json:"length"`
	Roots    []NodeJSON `json:"roots"`
	TreeHash Hex        `json:"treeHash"`
	Signable Hex        `json:"signable"`
}

// KeyPairTest is a key pair derived from a seed and its discovery key.
type KeyPairTest struct {
	Case
	Seed         Hex `json:"seed"`
	PublicKey    Hex `json:"publicKey"`
	SecretKey    Hex `json:"secretKey"`
	DiscoveryKey Hex `json:"discoveryKey"`
}

// SignatureTest is a signature check over roots and a length.
type SignatureTest struct {
	Case
	Mutation  string     `json:"mutation"`
	PublicKey Hex        `json:"publicKey"`
	Roots     []NodeJSON `json:"roots"`
	Length    uint64     `json:"length"`
	Signable  Hex        `json:"signable"`
	Signature Hex        `json:"signature"`
}

func init() { register("merkle.json", func() error { _, err := LoadMerkle(); return err }) }

// LoadMerkle loads vectors/merkle.json.
func LoadMerkle() (*Merkle, error) {
	v := new(Merkle)
	err := load("merkle.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "LeafTest":
			return decodeGroup(raw, &v.Leaves)
		case "ParentTest":
			return decodeGroup(raw, &v.Parents)
		case "TreeTest":
			return decodeGroup(raw, &v.Trees)
		case "KeyPairTest":
			return decodeGroup(raw, &v.KeyPairs)
		case "SignatureTest":
			return decodeGroup(raw, &v.Signatures)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

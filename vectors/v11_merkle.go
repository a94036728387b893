package vectors

// V11Merkle is vectors/v11/merkle.json: Hypercore 11 tree hashes,
// namespaces, keys, signables and signatures from hypercore 11.37.1 and
// hypercore-crypto 3.7.0 (spec/v11/merkle.md).
type V11Merkle struct {
	Header
	Namespaces    []Group[V11NamespaceTest]
	Leaves        []Group[V11LeafTest]
	Parents       []Group[V11ParentTest]
	Trees         []Group[V11TreeTest]
	Keys          []Group[V11KeyTest]
	DiscoveryKeys []Group[V11DiscoveryKeyTest]
	Cores         []Group[V11CoreTest]
	Verify        []Group[V11VerifyTest]
}

// V11Node is a Hypercore 11 Merkle tree node.
type V11Node struct {
	Index uint64 `json:"index"`
	Size  uint64 `json:"size"`
	Hash  Hex    `json:"hash"`
}

// V11Tree is a signed tree state: fork, length and roots.
type V11Tree struct {
	Fork   uint64    `json:"fork"`
	Length uint64    `json:"length"`
	Roots  []V11Node `json:"roots"`
}

// V11NamespaceTest is namespace Index of the name Label (JSON "name").
type V11NamespaceTest struct {
	Case
	Label     string `json:"name"` // the namespace name
	Index     uint8  `json:"index"`
	Namespace Hex    `json:"namespace"`
}

// V11LeafTest is the leaf hash of one block.
type V11LeafTest struct {
	Case
	Data Hex    `json:"data"`
	Size uint64 `json:"size"`
	Hash Hex    `json:"hash"`
}

// V11ParentTest is the parent of two sibling nodes.
type V11ParentTest struct {
	Case
	Left   V11Node `json:"left"`
	Right  V11Node `json:"right"`
	Parent V11Node `json:"parent"`
}

// V11TreeTest is a real core's tree after each of its append calls, and
// every node it stored in the end.
type V11TreeTest struct {
	Case
	Appends []V11TreeAppend `json:"appends"`
	Nodes   []V11Node       `json:"nodes"`
}

// V11TreeAppend is one append call (Blocks as UTF-8 strings) and the tree
// after it.
type V11TreeAppend struct {
	Blocks     []string  `json:"blocks"`
	Length     uint64    `json:"length"`
	ByteLength uint64    `json:"byteLength"`
	Roots      []V11Node `json:"roots"`
	TreeHash   Hex       `json:"treeHash"`
}

// V11KeyTest is a key pair from a seed, its default manifest and the keys
// and discovery keys of a default and a compat core of it.
type V11KeyTest struct {
	Case
	Seed                Hex `json:"seed"`
	PublicKey           Hex `json:"publicKey"`
	SecretKey           Hex `json:"secretKey"`
	DefaultManifest     Hex `json:"defaultManifest"`
	DefaultKey          Hex `json:"defaultKey"`
	DefaultDiscoveryKey Hex `json:"defaultDiscoveryKey"`
	CompatKey           Hex `json:"compatKey"`
	CompatDiscoveryKey  Hex `json:"compatDiscoveryKey"`
}

// V11DiscoveryKeyTest is the discovery key of a key.
type V11DiscoveryKeyTest struct {
	Case
	Key          Hex `json:"key"`
	DiscoveryKey Hex `json:"discoveryKey"`
}

// V11CoreTest is a real core of one kind ("default", "compat", "legacy",
// "v0") written by the writer key pair, after each step of a fixed history.
type V11CoreTest struct {
	Case
	Kind         string        `json:"kind"`
	Legacy       bool          `json:"legacy"`
	PublicKey    Hex           `json:"publicKey"`
	Manifest     Hex           `json:"manifest"`
	Key          Hex           `json:"key"`
	DiscoveryKey Hex           `json:"discoveryKey"`
	Compat       bool          `json:"compat"`
	Steps        []V11CoreStep `json:"steps"`
}

// V11CoreStep is one append (Op "append", Blocks as UTF-8 strings) or
// truncate (Op "truncate" to Length) and the core's state after it: the
// tree, its hash, the signable and the signature the core stored.
type V11CoreStep struct {
	Op        string    `json:"op"`
	Blocks    []string  `json:"blocks,omitempty"`
	Fork      uint64    `json:"fork"`
	Length    uint64    `json:"length"`
	Roots     []V11Node `json:"roots"`
	TreeHash  Hex       `json:"treeHash"`
	Signable  Hex       `json:"signable"`
	Signature Hex       `json:"signature"`
}

// V11VerifyTest is a signature over a tree, judged by JS's Verifier as a
// core builds it for Key and Manifest (nil: none, the key is taken as a
// compat public key). JS is "accepts", "rejects" or "throws" (with
// JSError). Used by merkle.json and manifests.json.
type V11VerifyTest struct {
	Case
	Mutation  string  `json:"mutation"`
	Key       Hex     `json:"key"`
	Manifest  Hex     `json:"manifest"`
	Legacy    bool    `json:"legacy"`
	Tree      V11Tree `json:"tree"`
	Signature Hex     `json:"signature"`
	JS        string  `json:"js"`
	JSError   *string `json:"jsError"`
}

func init() {
	register("v11/merkle.json", func() error { _, err := LoadV11Merkle(); return err })
}

// LoadV11Merkle loads vectors/v11/merkle.json.
func LoadV11Merkle() (*V11Merkle, error) {
	v := new(V11Merkle)
	err := load("v11/merkle.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "NamespaceTest":
			return decodeGroup(raw, &v.Namespaces)
		case "LeafTest":
			return decodeGroup(raw, &v.Leaves)
		case "ParentTest":
			return decodeGroup(raw, &v.Parents)
		case "TreeTest":
			return decodeGroup(raw, &v.Trees)
		case "KeyTest":
			return decodeGroup(raw, &v.Keys)
		case "DiscoveryKeyTest":
			return decodeGroup(raw, &v.DiscoveryKeys)
		case "CoreTest":
			return decodeGroup(raw, &v.Cores)
		case "VerifyTest":
			return decodeGroup(raw, &v.Verify)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

package vectors

// FlatTree is vectors/flattree.json: flat-tree 1.13.0 index arithmetic.
type FlatTree struct {
	Header
	Nodes       []Group[NodeTest]
	Index       []Group[IndexTest]
	FullRoots   []Group[RootsTest]
	FutureRoots []Group[RootsTest]
	Patch       []Group[PatchTest]
	Iterator    []Group[IteratorTest]
	Digest      []Group[DigestTest]
}

// NodeTest gives every per-node function at one index. A nil result is one
// that JS cannot compute exactly (flag BeyondExact) or, for children, a leaf.
type NodeTest struct {
	Case
	Index       uint64    `json:"index"`
	Depth       uint64    `json:"depth"`
	Offset      uint64    `json:"offset"`
	Parent      *uint64   `json:"parent"`
	Sibling     *uint64   `json:"sibling"`
	Children    []*uint64 `json:"children"`
	LeftChild   *uint64   `json:"leftChild"`
	RightChild  *uint64   `json:"rightChild"`
	LeftSpan    *uint64   `json:"leftSpan"`
	RightSpan   *uint64   `json:"rightSpan"`
	Count       *uint64   `json:"count"`
	CountLeaves *uint64   `json:"countLeaves"`
	NextLeaf    *uint64   `json:"nextLeaf"`
}

// IndexTest is index(depth, offset).
type IndexTest struct {
	Case
	Depth  uint64 `json:"depth"`
	Offset uint64 `json:"offset"`
	Index  uint64 `json:"index"`
}

// RootsTest is fullRoots(index) or futureRoots(index); Roots is nil for an
// invalid (odd) index.
type RootsTest struct {
	Case
	Index uint64   `json:"index"`
	Roots []uint64 `json:"roots"`
}

// PatchTest is patch(from, to).
type PatchTest struct {
	Case
	From  uint64   `json:"from"`
	To    uint64   `json:"to"`
	Nodes []uint64 `json:"nodes"`
}

// IteratorTest is a sequence of iterator moves from Start.
type IteratorTest struct {
	Case
	Start uint64         `json:"start"`
	Steps []IteratorStep `json:"steps"`
}

// IteratorStep is one move and the iterator's state after it. Returned is
// a number or a boolean, as the JS method returns.
type IteratorStep struct {
	Move     string  `json:"move"`
	Arg      *uint64 `json:"arg,omitempty"`
	Returned any     `json:"returned"`
	Index    uint64  `json:"index"`
	Offset   uint64  `json:"offset"`
	Factor   uint64  `json:"factor"`
}

// DigestTest is an accumulated BLAKE2b-256 digest over a recipe (see
// spec/flattree.md) for every input below Limit.
type DigestTest struct {
	Case
	Recipe string `json:"recipe"`
	Limit  uint64 `json:"limit"`
	Digest Hex    `json:"digest"`
}

func init() { register("flattree.json", func() error { _, err := LoadFlatTree(); return err }) }

// LoadFlatTree loads vectors/flattree.json.
func LoadFlatTree() (*FlatTree, error) {
	v := new(FlatTree)
	err := load("flattree.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "NodeTest":
			return decodeGroup(raw, &v.Nodes)
		case "IndexTest":
			return decodeGroup(raw, &v.Index)
		case "FullRootsTest":
			return decodeGroup(raw, &v.FullRoots)
		case "FutureRootsTest":
			return decodeGroup(raw, &v.FutureRoots)
		case "PatchTest":
			return decodeGroup(raw, &v.Patch)
		case "IteratorTest":
			return decodeGroup(raw, &v.Iterator)
		case "DigestTest":
			return decodeGroup(raw, &v.Digest)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

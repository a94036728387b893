package vectors

import (
	"encoding/json"
	"fmt"
)

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

// NodeTest gives every per-node function at one index. Children,
// LeftChild and RightChild are nil for a leaf (JSON null: no such node). A
// result that JS cannot compute exactly is [Inexact] (flag BeyondExact).
type NodeTest struct {
	Case
	Index       uint64 `json:"index"`
	Depth       uint64 `json:"depth"`
	Offset      uint64 `json:"offset"`
	Parent      Num    `json:"parent"`
	Sibling     Num    `json:"sibling"`
	Children    []Num  `json:"children"`
	LeftChild   *Num   `json:"leftChild"`
	RightChild  *Num   `json:"rightChild"`
	LeftSpan    Num    `json:"leftSpan"`
	RightSpan   Num    `json:"rightSpan"`
	Count       Num    `json:"count"`
	CountLeaves Num    `json:"countLeaves"`
	NextLeaf    Num    `json:"nextLeaf"`
}

// Num is a result computed by JS with float64 math: a JSON number, or the
// string "inexact" for a result of 2^53 or more, which JS cannot compute
// exactly and which is not compared (flag BeyondExact). JSON null is not a
// Num; a field that may be absent is a *Num.
type Num struct {
	V       uint64
	Inexact bool
}

// UnmarshalJSON accepts a non-negative integer or "inexact".
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == `"inexact"` {
		*n = Num{Inexact: true}
		return nil
	}
	var v uint64
	if string(b) == "null" {
		return fmt.Errorf("vectors: null where a number or \"inexact\" is required")
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("vectors: want an integer or \"inexact\", got %s", b)
	}
	*n = Num{V: v}
	return nil
}

// MarshalJSON writes the number or "inexact".
func (n Num) MarshalJSON() ([]byte, error) {
	if n.Inexact {
		return []byte(`"inexact"`), nil
	}
	return json.Marshal(n.V)
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
// spec/flattree.md) for every input below Limit, with checkpoints: each
// [end, digest] is the digest of what the recipe fed for every outer-loop
// value below end.
type DigestTest struct {
	Case
	Recipe      string       `json:"recipe"`
	Limit       uint64       `json:"limit"`
	Digest      Hex          `json:"digest"`
	Checkpoints []Checkpoint `json:"checkpoints"`
}

// Checkpoint is [end, digest]: an accumulated digest part way, after every
// input below end (flattree.json) or up to end (tree-index.json).
type Checkpoint struct {
	End    uint64
	Digest Hex
}

// UnmarshalJSON reads [end, "hex"].
func (c *Checkpoint) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("vectors: checkpoint %s: want [end, digest]", b)
	}
	if err := json.Unmarshal(pair[0], &c.End); err != nil {
		return fmt.Errorf("vectors: checkpoint end: %w", err)
	}
	return json.Unmarshal(pair[1], &c.Digest)
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

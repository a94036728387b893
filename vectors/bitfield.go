package vectors

import "encoding/json"

// BitfieldRLE is vectors/bitfield-rle.json: bitfield-rle 2.2.1 and
// hypercore's compress().
type BitfieldRLE struct {
	Header
	Encode   []Group[RLEEncodeTest]
	Decode   []Group[RLEDecodeTest]
	Compress []Group[CompressTest]
}

// RLEEncodeTest is a bitfield, its encoding, and the encoding decoded with
// alignment 1 and 4. Large inputs are given as runs [byte, count].
type RLEEncodeTest struct {
	Case
	Bits          Hex      `json:"bits"`
	BitsPattern   [][2]int `json:"bitsPattern"`
	Encoded       Hex      `json:"encoded"`
	Decoded       Hex      `json:"decoded"`
	DecodedAlign4 Hex      `json:"decodedAlign4"`
}

// RLEDecodeTest is an encoded input with JS's verdict (alignment 4).
type RLEDecodeTest struct {
	Case
	Encoded   Hex    `json:"encoded"`
	JS        string `json:"js"`
	JSDecoded Hex    `json:"jsDecoded,omitempty"`
	JSError   string `json:"jsError,omitempty"`
}

// CompressTest is a feed holding blocks [a, b) for each range of
// SetBlocks, and compress(Start, Length) of its bitfield.
type CompressTest struct {
	Case
	SetBlocks [][2]uint64 `json:"setBlocks"`
	Start     uint64      `json:"start"`
	Length    uint64      `json:"length"`
	Encoded   Hex         `json:"encoded"`
}

// BitfieldPages is vectors/bitfield-pages.json: page bytes after
// operation histories, and bitfield files.
type BitfieldPages struct {
	Header
	Histories []Group[HistoryTest]
	Files     []Group[FileTest]
}

// HistoryTest is a sequence of operations on a feed's bitfield and the
// pages after it. Each op is [name, args...] (see vectors/README.md).
type HistoryTest struct {
	Case
	Ops          []json.RawMessage `json:"ops"`
	Results      []json.RawMessage `json:"results"`
	Length       uint64            `json:"length"`
	PageCount    uint64            `json:"pageCount"`
	UpdatedPages []uint64          `json:"updatedPages"`
	Pages        []PageSegments    `json:"pages"`
}

// PageSegments lists the non-zero runs of one page as [offset, hex].
type PageSegments struct {
	Page     uint64               `json:"page"`
	Segments [][2]json.RawMessage `json:"segments"`
}

// FileTest is a bitfield file and what it decodes to.
type FileTest struct {
	Case
	File   Hex            `json:"file"`
	Length *uint64        `json:"length,omitempty"`
	Pages  []PageSegments `json:"pages,omitempty"`
}

// TreeIndexVectors is vectors/tree-index.json.
type TreeIndexVectors struct {
	Header
	States    []Group[TreeStateTest]
	Proofs    []Group[ProofTest]
	Sequences []Group[ProofSequenceTest]
	Feeds     []Group[FeedSequenceTest]
	Digests   []Group[ProofDigestTest]
}

// TreeStateTest is a tree built by TreeIndex.Set on each of Sets, and its
// answers.
type TreeStateTest struct {
	Case
	Sets       []uint64    `json:"sets"`
	Held       []uint64    `json:"held"`
	TreeLength uint64      `json:"treeLength"`
	Blocks     uint64      `json:"blocks"`
	VerifiedBy [][2]uint64 `json:"verifiedBy"`
	Digests    [][2]uint64 `json:"digests"`
}

// ProofTest is a proof from a writer of WriterLength blocks to a requester
// holding RequesterHeld (set with TreeIndex.Set), for block Index.
type ProofTest struct {
	Case
	WriterLength  uint64   `json:"writerLength"`
	RequesterHeld []uint64 `json:"requesterHeld"`
	Index         uint64   `json:"index"`
	Hash          bool     `json:"hash"`
	Digest        uint64   `json:"digest"`
	Nodes         []uint64 `json:"nodes"`
	VerifiedBy    *uint64  `json:"verifiedBy"`
}

// ProofSequenceTest is a sequence of requests against one writer of
// WriterLength blocks, with one persistent remote tree. The requester
// starts empty; after each step it sets the block's leaf and then every
// node of the reply, in order, with TreeIndex.Set.
type ProofSequenceTest struct {
	Case
	WriterLength uint64      `json:"writerLength"`
	Steps        []ProofStep `json:"steps"`
}

// ProofStep is one request, the proof sent for it, and the state after it:
// the nodes the requester holds (RequesterHeldAfter) and the nodes the
// responder's remote tree holds (RemoteHeldAfter).
type ProofStep struct {
	Index              uint64   `json:"index"`
	Hash               bool     `json:"hash"`
	Digest             uint64   `json:"digest"`
	Nodes              []uint64 `json:"nodes"`
	VerifiedBy         uint64   `json:"verifiedBy"`
	RequesterHeldAfter []uint64 `json:"requesterHeldAfter"`
	RemoteHeldAfter    []uint64 `json:"remoteHeldAfter"`
}

// FeedSequenceTest is a sequence of requests recorded on the wire between
// two real JS feeds (the guide's step 2): a writer that grows between
// requests and a sparse clone whose tree bits are what its feed stored.
// WriterLength is the writer's final length.
type FeedSequenceTest struct {
	Case
	WriterLength uint64     `json:"writerLength"`
	Steps        []FeedStep `json:"steps"`
}

// FeedStep is one request of a FeedSequenceTest: the clone's state when it
// sent it (RequesterHeld, RequesterTreeLength in bits), the writer's length
// then, the reply (Nodes, whether it carried a signature, the block value
// or nil for a hash-only reply), the writer's remote tree once the proof
// was built, and the clone's state once it stored the reply.
type FeedStep struct {
	Index                    uint64   `json:"index"`
	Hash                     bool     `json:"hash"`
	Digest                   uint64   `json:"digest"`
	WriterLength             uint64   `json:"writerLength"`
	RequesterHeld            []uint64 `json:"requesterHeld"`
	RequesterTreeLength      uint64   `json:"requesterTreeLength"`
	Nodes                    []uint64 `json:"nodes"`
	Signature                bool     `json:"signature"`
	Value                    *string  `json:"value"`
	RemoteHeldAfter          []uint64 `json:"remoteHeldAfter"`
	RequesterHeldAfter       []uint64 `json:"requesterHeldAfter"`
	RequesterTreeLengthAfter uint64   `json:"requesterTreeLengthAfter"`
	RequesterLengthAfter     uint64   `json:"requesterLengthAfter"`
}

// ProofDigestTest is an accumulated digest over many proofs (recipe in
// spec/bitfield.md). Each checkpoint [n, digest] is the digest after every
// case of the writer lengths 1 … n.
type ProofDigestTest struct {
	Case
	Recipe      string       `json:"recipe"`
	Proofs      int          `json:"proofs"`
	Digest      Hex          `json:"digest"`
	Checkpoints []Checkpoint `json:"checkpoints"`
}

func init() {
	register("bitfield-rle.json", func() error { _, err := LoadBitfieldRLE(); return err })
	register("bitfield-pages.json", func() error { _, err := LoadBitfieldPages(); return err })
	register("tree-index.json", func() error { _, err := LoadTreeIndex(); return err })
}

// LoadBitfieldRLE loads vectors/bitfield-rle.json.
func LoadBitfieldRLE() (*BitfieldRLE, error) {
	v := new(BitfieldRLE)
	err := load("bitfield-rle.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "RleEncodeTest":
			return decodeGroup(raw, &v.Encode)
		case "RleDecodeTest":
			return decodeGroup(raw, &v.Decode)
		case "CompressTest":
			return decodeGroup(raw, &v.Compress)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

// LoadBitfieldPages loads vectors/bitfield-pages.json.
func LoadBitfieldPages() (*BitfieldPages, error) {
	v := new(BitfieldPages)
	err := load("bitfield-pages.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "HistoryTest":
			return decodeGroup(raw, &v.Histories)
		case "FileTest":
			return decodeGroup(raw, &v.Files)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

// LoadTreeIndex loads vectors/tree-index.json.
func LoadTreeIndex() (*TreeIndexVectors, error) {
	v := new(TreeIndexVectors)
	err := load("tree-index.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "TreeStateTest":
			return decodeGroup(raw, &v.States)
		case "ProofTest":
			return decodeGroup(raw, &v.Proofs)
		case "ProofSequenceTest":
			return decodeGroup(raw, &v.Sequences)
		case "FeedSequenceTest":
			return decodeGroup(raw, &v.Feeds)
		case "ProofDigestTest":
			return decodeGroup(raw, &v.Digests)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

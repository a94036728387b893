package wire

import (
	"fmt"

	"github.com/hypercore-go/hypercore/v11/compact"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// Node is a Merkle tree node on the wire: uint index ‖ uint size ‖ fixed32
// hash (wire.md, "Tree nodes"). Index is a flat-tree index; Size is the
// byte length of the blocks under the node. It is merkle.Node, so proofs
// pass between the two packages as they are.
type Node = merkle.Node

// nodeMinSize is the smallest encoding of a Node: two one-byte uints and
// the hash. A node array's count is checked against it before anything is
// allocated.
const nodeMinSize = 1 + 1 + 32

func appendNodes(b []byte, nodes []Node) []byte {
	b = compact.AppendArrayLen(b, len(nodes))
	for _, n := range nodes {
		b = compact.AppendUint(b, n.Index)
		b = compact.AppendUint(b, n.Size)
		b = append(b, n.Hash[:]...)
	}
	return b
}

// readNodes reads uint(count) ‖ node*.
func readNodes(d *compact.Decoder) []Node {
	// wire.md: "a node array count above 0x100000 (too-big); a count whose
	// nodes cannot fit in the bytes left, at 34 bytes each, is truncated,
	// and a decoder MUST check it before it allocates" (ArrayLen checks
	// both, in that order).
	n := d.ArrayLen(nodeMinSize)
	if d.Err() != nil {
		return nil
	}
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{Index: d.Uint(), Size: d.Uint(), Hash: d.Fixed32()}
	}
	return nodes
}

// flags reads a message's flags field. JS reads it as a uint and tests bits
// with JS's 32-bit bitwise operators; the low bits of the uint are the same
// in both, and every defined bit is among them.
func flags(d *compact.Decoder) uint64 { return d.Uint() }

// ---------------------------------------------------------------- sync (0)

// Sync flag bits.
const (
	syncCanUpgrade  = 1
	syncUploading   = 2
	syncDownloading = 4
	syncHasManifest = 8
	syncAllowPush   = 16
)

// Sync tells the remote the sender's fork and length, the remote length it
// acknowledges and its switches (type 0).
//
//	uint flags ‖ uint fork ‖ uint length ‖ uint remoteLength
type Sync struct {
	Fork         uint64
	Length       uint64
	RemoteLength uint64
	CanUpgrade   bool // flag 1: I can prove an upgrade from your length
	Uploading    bool // flag 2
	Downloading  bool // flag 4
	HasManifest  bool // flag 8
	AllowPush    bool // flag 16
}

func (*Sync) Type() Type { return TypeSync }

func (m *Sync) Append(b []byte) []byte {
	var f uint64
	if m.CanUpgrade {
		f |= syncCanUpgrade
	}
	if m.Uploading {
		f |= syncUploading
	}
	if m.Downloading {
		f |= syncDownloading
	}
	if m.HasManifest {
		f |= syncHasManifest
	}
	if m.AllowPush {
		f |= syncAllowPush
	}
	b = compact.AppendUint(b, f)
	b = compact.AppendUint(b, m.Fork)
	b = compact.AppendUint(b, m.Length)
	return compact.AppendUint(b, m.RemoteLength)
}

// DecodeSync decodes a sync payload.
func DecodeSync(p []byte) (*Sync, error) {
	d := compact.NewDecoder(p)
	f := flags(d)
	m := &Sync{
		Fork:         d.Uint(),
		Length:       d.Uint(),
		RemoteLength: d.Uint(),
		CanUpgrade:   f&syncCanUpgrade != 0,
		Uploading:    f&syncUploading != 0,
		Downloading:  f&syncDownloading != 0,
		HasManifest:  f&syncHasManifest != 0,
		AllowPush:    f&syncAllowPush != 0,
	}
	if err := done("sync", d); err != nil {
		return nil, err
	}
	return m, nil
}

// ------------------------------------------------------------- request (1)

// Request and data flag bits (data uses the first five).
const (
	flagBlock    = 1
	flagHash     = 2
	flagSeek     = 4
	flagUpgrade  = 8
	flagManifest = 16
	flagPriority = 32
)

// The sections of a request are the proof request sections of package
// v11/merkle, which builds the proofs that answer them.
type (
	// BlockRequest asks for a block and the proof nodes the requester
	// lacks. Index is a block index; Nodes is how many tree levels of
	// proof the requester is missing.
	BlockRequest = merkle.BlockRequest
	// HashRequest asks for a tree node's hash with its proof. Index is a
	// flat-tree index, not a block index.
	HashRequest = merkle.HashRequest
	// SeekRequest asks for the proof of the block holding byte offset
	// Bytes.
	SeekRequest = merkle.SeekRequest
	// UpgradeRequest asks for the proof that extends the requester's tree
	// from length Start by Length blocks.
	UpgradeRequest = merkle.UpgradeRequest
)

// Request asks the remote for a block, a hash, a seek and/or an upgrade
// (type 1).
//
//	uint flags ‖ uint id ‖ uint fork ‖ [block] ‖ [hash] ‖ [seek] ‖ [upgrade] ‖ [uint priority]
//
// A nil section is absent; Manifest is flag 16 and has no body; Priority
// is written (flag 32) only when it is not 0.
type Request struct {
	ID       uint64
	Fork     uint64
	Block    *BlockRequest
	Hash     *HashRequest
	Seek     *SeekRequest
	Upgrade  *UpgradeRequest
	Manifest bool
	Priority uint64
}

func (*Request) Type() Type { return TypeRequest }

func (m *Request) Append(b []byte) []byte {
	var f uint64
	if m.Block != nil {
		f |= flagBlock
	}
	if m.Hash != nil {
		f |= flagHash
	}
	if m.Seek != nil {
		f |= flagSeek
	}
	if m.Upgrade != nil {
		f |= flagUpgrade
	}
	if m.Manifest {
		f |= flagManifest
	}
	if m.Priority != 0 {
		f |= flagPriority
	}
	b = compact.AppendUint(b, f)
	b = compact.AppendUint(b, m.ID)
	b = compact.AppendUint(b, m.Fork)
	if m.Block != nil {
		b = compact.AppendUint(compact.AppendUint(b, m.Block.Index), m.Block.Nodes)
	}
	if m.Hash != nil {
		b = compact.AppendUint(compact.AppendUint(b, m.Hash.Index), m.Hash.Nodes)
	}
	if m.Seek != nil {
		b = compact.AppendUint(compact.AppendUint(b, m.Seek.Bytes), m.Seek.Padding)
	}
	if m.Upgrade != nil {
		b = compact.AppendUint(compact.AppendUint(b, m.Upgrade.Start), m.Upgrade.Length)
	}
	if m.Priority != 0 {
		b = compact.AppendUint(b, m.Priority)
	}
	return b
}

// DecodeRequest decodes a request payload.
func DecodeRequest(p []byte) (*Request, error) {
	d := compact.NewDecoder(p)
	f := flags(d)
	m := &Request{ID: d.Uint(), Fork: d.Uint(), Manifest: f&flagManifest != 0}
	if f&flagBlock != 0 {
		m.Block = &BlockRequest{Index: d.Uint(), Nodes: d.Uint()}
	}
	if f&flagHash != 0 {
		m.Hash = &HashRequest{Index: d.Uint(), Nodes: d.Uint()}
	}
	if f&flagSeek != 0 {
		m.Seek = &SeekRequest{Bytes: d.Uint(), Padding: d.Uint()}
	}
	if f&flagUpgrade != 0 {
		m.Upgrade = &UpgradeRequest{Start: d.Uint(), Length: d.Uint()}
	}
	if f&flagPriority != 0 {
		m.Priority = d.Uint()
	}
	if err := done("request", d); err != nil {
		return nil, err
	}
	return m, nil
}

// -------------------------------------------------------------- cancel (2)

// Cancel withdraws a request (type 2).
//
//	uint request
type Cancel struct {
	Request uint64
}

func (*Cancel) Type() Type { return TypeCancel }

func (m *Cancel) Append(b []byte) []byte { return compact.AppendUint(b, m.Request) }

// DecodeCancel decodes a cancel payload.
func DecodeCancel(p []byte) (*Cancel, error) {
	d := compact.NewDecoder(p)
	m := &Cancel{Request: d.Uint()}
	if err := done("cancel", d); err != nil {
		return nil, err
	}
	return m, nil
}

// ---------------------------------------------------------------- data (3)

// The sections of a data message are the proof sections of package
// v11/merkle, which builds and verifies them.
type (
	// DataBlock is a block (Index a block index) with the sibling nodes
	// of its proof, bottom-up.
	DataBlock = merkle.BlockProof
	// DataHash is a tree node (Index a flat-tree index) and its proof: the
	// node itself first, then siblings bottom-up.
	DataHash = merkle.HashProof
	// DataSeek is the proof of a seek: the target node, then siblings up.
	DataSeek = merkle.SeekProof
	// DataUpgrade extends the receiver's tree from Start by Length blocks;
	// AdditionalNodes extend it further, to the sender's length, which is
	// the length Signature signs. Signature is an optionalBuffer: nil
	// (encoded 00) when absent.
	DataUpgrade = merkle.UpgradeProof
)

// Data answers a request (type 3).
//
//	uint flags ‖ uint request ‖ uint fork ‖ [block] ‖ [hash] ‖ [seek] ‖ [upgrade] ‖ [manifest]
//
// A nil section is absent. Manifest holds the encoded manifest, raw (nil
// when flag 16 is clear): the decoder reads it with merkle.ReadManifest,
// which says where it ends and rejects a bad one as JS does, and keeps its
// bytes; bytes after it are ignored. Decode it with merkle.DecodeManifest.
// Append writes Manifest, when it is not empty, as it is.
type Data struct {
	Request  uint64
	Fork     uint64
	Block    *DataBlock
	Hash     *DataHash
	Seek     *DataSeek
	Upgrade  *DataUpgrade
	Manifest []byte
}

func (*Data) Type() Type { return TypeData }

func (m *Data) Append(b []byte) []byte {
	var f uint64
	if m.Block != nil {
		f |= flagBlock
	}
	if m.Hash != nil {
		f |= flagHash
	}
	if m.Seek != nil {
		f |= flagSeek
	}
	if m.Upgrade != nil {
		f |= flagUpgrade
	}
	if len(m.Manifest) > 0 {
		f |= flagManifest
	}
	b = compact.AppendUint(b, f)
	b = compact.AppendUint(b, m.Request)
	b = compact.AppendUint(b, m.Fork)
	if m.Block != nil {
		b = compact.AppendUint(b, m.Block.Index)
		b = compact.AppendBuffer(b, m.Block.Value)
		b = appendNodes(b, m.Block.Nodes)
	}
	if m.Hash != nil {
		b = compact.AppendUint(b, m.Hash.Index)
		b = appendNodes(b, m.Hash.Nodes)
	}
	if m.Seek != nil {
		b = compact.AppendUint(b, m.Seek.Bytes)
		b = appendNodes(b, m.Seek.Nodes)
	}
	if m.Upgrade != nil {
		b = compact.AppendUint(b, m.Upgrade.Start)
		b = compact.AppendUint(b, m.Upgrade.Length)
		b = appendNodes(b, m.Upgrade.Nodes)
		b = appendNodes(b, m.Upgrade.AdditionalNodes)
		b = compact.AppendOptionalBuffer(b, m.Upgrade.Signature)
	}
	return append(b, m.Manifest...)
}

// DecodeData decodes a data payload. Value, Signature and Manifest alias p
// (with their capacity cut at their end, so appending to one copies).
func DecodeData(p []byte) (*Data, error) {
	d := compact.NewDecoder(p)
	f := flags(d)
	m := &Data{Request: d.Uint(), Fork: d.Uint()}
	if f&flagBlock != 0 {
		m.Block = &DataBlock{Index: d.Uint(), Value: d.Buffer(), Nodes: readNodes(d)}
	}
	if f&flagHash != 0 {
		m.Hash = &DataHash{Index: d.Uint(), Nodes: readNodes(d)}
	}
	if f&flagSeek != 0 {
		m.Seek = &DataSeek{Bytes: d.Uint(), Nodes: readNodes(d)}
	}
	if f&flagUpgrade != 0 {
		m.Upgrade = &DataUpgrade{Start: d.Uint(), Length: d.Uint(), Nodes: readNodes(d), AdditionalNodes: readNodes(d), Signature: d.OptionalBuffer()}
	}
	if f&flagManifest != 0 && d.Err() == nil {
		// wire.md: a receiver "MUST reject ... a data whose manifest does not
		// decode (merkle.md)". ReadManifest reads one manifest and leaves
		// what follows, as JS's manifest.decode does; its bytes are kept raw.
		at := d.Offset()
		if merkle.ReadManifest(d) == nil || d.Err() != nil {
			return nil, &DecodeError{Message: "data", Err: fmt.Errorf("%w: %w", ErrManifest, d.Err())}
		}
		m.Manifest = p[at:d.Offset():d.Offset()]
	}
	if err := done("data", d); err != nil {
		return nil, err
	}
	return m, nil
}

// -------------------------------------------------------------- noData (4)

// Reason says why a request is answered with noData.
type Reason uint64

// The reasons JS sends (replicator.js); a receiver accepts any value.
const (
	ReasonUnspecified    Reason = 0 // no reason given
	ReasonNotAvailable   Reason = 1 // NOT_AVAILABLE: the block is not held or the fork differs
	ReasonInvalidRequest Reason = 2 // INVALID_REQUEST: no proof can answer the request
)

// NoData answers a request that gets no data (type 4).
//
//	uint request ‖ [uint flags ‖ [uint reason]]
//
// Append writes flags (1 when Reason is not 0, else 0) and the reason when
// it is not 0. A payload that ends after request, or whose flags lack
// bit 0, decodes with Reason 0.
type NoData struct {
	Request uint64
	Reason  Reason
}

func (*NoData) Type() Type { return TypeNoData }

func (m *NoData) Append(b []byte) []byte {
	b = compact.AppendUint(b, m.Request)
	if m.Reason == 0 {
		return compact.AppendUint(b, 0)
	}
	b = compact.AppendUint(b, 1)
	return compact.AppendUint(b, uint64(m.Reason))
}

// DecodeNoData decodes a noData payload.
func DecodeNoData(p []byte) (*NoData, error) {
	d := compact.NewDecoder(p)
	m := &NoData{Request: d.Uint()}
	// flags is read only when bytes remain (JS: state.start < state.end).
	var f uint64
	if d.Err() == nil && d.Remaining() > 0 {
		f = flags(d)
	}
	if f&1 != 0 {
		m.Reason = Reason(d.Uint())
	}
	if err := done("noData", d); err != nil {
		return nil, err
	}
	return m, nil
}

// ---------------------------------------------------- want (5), unwant (6)

// span is the body of want and unwant: uint start ‖ uint length ‖ [uint
// flags], flags written only when not 0 and read only when bytes remain.
type span struct {
	start, length uint64
	any           bool
}

func (s span) append(b []byte) []byte {
	b = compact.AppendUint(b, s.start)
	b = compact.AppendUint(b, s.length)
	if s.any {
		b = compact.AppendUint(b, 1)
	}
	return b
}

func decodeSpan(name string, p []byte) (span, error) {
	d := compact.NewDecoder(p)
	s := span{start: d.Uint(), length: d.Uint()}
	if d.Err() == nil && d.Remaining() > 0 {
		s.any = flags(d)&1 != 0
	}
	if err := done(name, d); err != nil {
		return span{}, err
	}
	return s, nil
}

// Want asks the remote which of blocks [Start, Start+Length) it has
// (type 5). Any (flag 1) asks for any one of them.
//
//	uint start ‖ uint length ‖ [uint flags]
type Want struct {
	Start  uint64
	Length uint64
	Any    bool
}

func (*Want) Type() Type { return TypeWant }

func (m *Want) Append(b []byte) []byte { return span{m.Start, m.Length, m.Any}.append(b) }

// DecodeWant decodes a want payload.
func DecodeWant(p []byte) (*Want, error) {
	s, err := decodeSpan("want", p)
	if err != nil {
		return nil, err
	}
	return &Want{Start: s.start, Length: s.length, Any: s.any}, nil
}

// Unwant withdraws a want (type 6); its layout is want's.
type Unwant struct {
	Start  uint64
	Length uint64
	Any    bool
}

func (*Unwant) Type() Type { return TypeUnwant }

func (m *Unwant) Append(b []byte) []byte { return span{m.Start, m.Length, m.Any}.append(b) }

// DecodeUnwant decodes an unwant payload.
func DecodeUnwant(p []byte) (*Unwant, error) {
	s, err := decodeSpan("unwant", p)
	if err != nil {
		return nil, err
	}
	return &Unwant{Start: s.start, Length: s.length, Any: s.any}, nil
}

// ------------------------------------------------------------ bitfield (7)

// Bitfield tells which blocks the sender has from Start on: bit i of word
// k is block Start + 32k + i (type 7).
//
//	uint start ‖ uint32array bitfield
type Bitfield struct {
	Start    uint64
	Bitfield []uint32
}

func (*Bitfield) Type() Type { return TypeBitfield }

func (m *Bitfield) Append(b []byte) []byte {
	return compact.AppendUint32Array(compact.AppendUint(b, m.Start), m.Bitfield)
}

// DecodeBitfield decodes a bitfield payload.
func DecodeBitfield(p []byte) (*Bitfield, error) {
	d := compact.NewDecoder(p)
	// Uint32Array compares the word count with the bytes present before it
	// allocates.
	m := &Bitfield{Start: d.Uint(), Bitfield: d.Uint32Array()}
	if err := done("bitfield", d); err != nil {
		return nil, err
	}
	return m, nil
}

// --------------------------------------------------------------- range (8)

// Range flag bits.
const (
	rangeDrop = 1
	rangeOne  = 2 // length is 1 and not written
)

// Range tells that the sender has (or, with Drop, no longer has) blocks
// [Start, Start+Length) (type 8).
//
//	uint flags ‖ uint start ‖ [uint length]
//
// A length of 1 is written as flag 2 without a length field.
type Range struct {
	Drop   bool
	Start  uint64
	Length uint64
}

func (*Range) Type() Type { return TypeRange }

func (m *Range) Append(b []byte) []byte {
	var f uint64
	if m.Drop {
		f |= rangeDrop
	}
	if m.Length == 1 {
		f |= rangeOne
	}
	b = compact.AppendUint(b, f)
	b = compact.AppendUint(b, m.Start)
	if m.Length != 1 {
		b = compact.AppendUint(b, m.Length)
	}
	return b
}

// DecodeRange decodes a range payload.
func DecodeRange(p []byte) (*Range, error) {
	d := compact.NewDecoder(p)
	f := flags(d)
	m := &Range{Drop: f&rangeDrop != 0, Start: d.Uint(), Length: 1}
	if f&rangeOne == 0 {
		m.Length = d.Uint()
	}
	if err := done("range", d); err != nil {
		return nil, err
	}
	return m, nil
}

// ----------------------------------------------------------- extension (9)

// Extension carries a message of a named extension (type 9). An empty
// Name means the name of the previous extension message received.
//
//	string name ‖ raw message
//
// Name holds the bytes as sent; JS decodes them as UTF-8 (replacing invalid
// sequences with U+FFFD).
type Extension struct {
	Name    string
	Message []byte // the rest of the payload
}

func (*Extension) Type() Type { return TypeExtension }

func (m *Extension) Append(b []byte) []byte {
	return append(compact.AppendString(b, m.Name), m.Message...)
}

// DecodeExtension decodes an extension payload. Message aliases p.
func DecodeExtension(p []byte) (*Extension, error) {
	d := compact.NewDecoder(p)
	m := &Extension{Name: d.String(), Message: d.Raw()}
	if err := done("extension", d); err != nil {
		return nil, err
	}
	return m, nil
}

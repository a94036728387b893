package message

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// NoisePayload is the payload of the Noise handshake messages: the sender's
// 24-byte transport nonce (spec/session.md).
//
//	message NoisePayload { required bytes nonce = 1; }
type NoisePayload struct {
	Nonce []byte
}

func (m *NoisePayload) Size() int { return sizeBytesField(len(m.Nonce)) }

// AppendBody appends 0a ‖ varint(len(nonce)) ‖ nonce.
func (m *NoisePayload) AppendBody(b []byte) []byte { return appendBytesField(b, 1, m.Nonce) }

// DecodeNoisePayload decodes a NoisePayload.
func DecodeNoisePayload(body []byte) (*NoisePayload, error) {
	m := new(NoisePayload)
	d := decoder{msg: "NoisePayload", b: body}
	found := false
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch num {
		case 1:
			if m.Nonce, err = d.bytes(num, typ); err != nil {
				return nil, err
			}
			found = true
		default:
			if err := d.skip(num, typ); err != nil {
				return nil, err
			}
		}
	}
	if !found {
		return nil, missing("NoisePayload", "nonce")
	}
	return m, nil
}

// Open opens a channel for a feed (type 0).
//
//	message Open { required bytes discoveryKey = 1; optional bytes capability = 2; }
type Open struct {
	DiscoveryKey []byte
	Capability   []byte // nil when absent
}

func (*Open) Type() Type { return TypeOpen }

func (m *Open) Size() int {
	n := sizeBytesField(len(m.DiscoveryKey))
	if m.Capability != nil {
		n += sizeBytesField(len(m.Capability))
	}
	return n
}

func (m *Open) AppendBody(b []byte) []byte {
	b = appendBytesField(b, 1, m.DiscoveryKey)
	if m.Capability != nil {
		b = appendBytesField(b, 2, m.Capability)
	}
	return b
}

func decodeOpen(body []byte) (*Open, error) {
	m := new(Open)
	d := decoder{msg: "Open", b: body}
	found := false
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			if !found {
				return nil, missing("Open", "discoveryKey")
			}
			return m, nil
		}
		switch num {
		case 1:
			m.DiscoveryKey, err = d.bytes(num, typ)
			found = true
		case 2:
			m.Capability, err = d.bytes(num, typ)
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return nil, err
		}
	}
}

// Options announces a channel's (or, on channel 0, the session's) extensions
// and whether it wants acknowledgements (type 1).
//
//	message Options { repeated string extensions = 1; optional bool ack = 2; }
type Options struct {
	Extensions []string // sorted, as JS sends them
	Ack        *bool
}

func (*Options) Type() Type { return TypeOptions }

// GetAck returns Ack, or false when absent.
func (m *Options) GetAck() bool { return m.Ack != nil && *m.Ack }

func (m *Options) Size() int {
	n := 0
	for _, e := range m.Extensions {
		n += sizeBytesField(len(e))
	}
	if m.Ack != nil {
		n += 2
	}
	return n
}

func (m *Options) AppendBody(b []byte) []byte {
	for _, e := range m.Extensions {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, e)
	}
	if m.Ack != nil {
		b = appendBoolField(b, 2, *m.Ack)
	}
	return b
}

func decodeOptions(body []byte) (*Options, error) {
	m := new(Options)
	d := decoder{msg: "Options", b: body}
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return m, nil
		}
		switch num {
		case 1:
			var s []byte
			if s, err = d.bytes(num, typ); err == nil {
				m.Extensions = append(m.Extensions, string(s))
			}
		case 2:
			var v bool
			if v, err = d.bool(num, typ); err == nil {
				m.Ack = &v
			}
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return nil, err
		}
	}
}

// Status tells the peer whether this side uploads and downloads (type 2).
// A JS decoder reads an absent field as false, so senders always write
// both ([NewStatus]).
//
//	message Status { optional bool uploading = 1; optional bool downloading = 2; }
type Status struct {
	Uploading   *bool
	Downloading *bool
}

// NewStatus returns a Status with both fields set, as hypercore sends it.
func NewStatus(uploading, downloading bool) *Status {
	return &Status{Uploading: &uploading, Downloading: &downloading}
}

func (*Status) Type() Type { return TypeStatus }

// GetUploading returns Uploading, or false when absent (the JS default).
func (m *Status) GetUploading() bool { return m.Uploading != nil && *m.Uploading }

// GetDownloading returns Downloading, or false when absent (the JS default).
func (m *Status) GetDownloading() bool { return m.Downloading != nil && *m.Downloading }

func (m *Status) Size() int {
	n := 0
	if m.Uploading != nil {
		n += 2
	}
	if m.Downloading != nil {
		n += 2
	}
	return n
}

func (m *Status) AppendBody(b []byte) []byte {
	if m.Uploading != nil {
		b = appendBoolField(b, 1, *m.Uploading)
	}
	if m.Downloading != nil {
		b = appendBoolField(b, 2, *m.Downloading)
	}
	return b
}

func decodeStatus(body []byte) (*Status, error) {
	m := new(Status)
	d := decoder{msg: "Status", b: body}
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return m, nil
		}
		var v bool
		switch num {
		case 1:
			if v, err = d.bool(num, typ); err == nil {
				m.Uploading = &v
			}
		case 2:
			if v, err = d.bool(num, typ); err == nil {
				m.Downloading = &v
			}
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return nil, err
		}
	}
}

// Have announces blocks the sender has (type 3): [Start, Start+Length), or,
// with a Bitfield, the run-length encoded data bits from Start.
//
//	message Have { required uint64 start = 1; optional uint64 length = 2 [default = 1];
//	               optional bytes bitfield = 3; optional bool ack = 4; }
type Have struct {
	Start    uint64
	Length   *uint64
	Bitfield []byte // nil when absent
	Ack      *bool
}

func (*Have) Type() Type { return TypeHave }

// GetLength returns Length, or 1 when absent (the proto default).
func (m *Have) GetLength() uint64 {
	if m.Length == nil {
		return 1
	}
	return *m.Length
}

// GetAck returns Ack, or false when absent.
func (m *Have) GetAck() bool { return m.Ack != nil && *m.Ack }

func (m *Have) Size() int {
	n := sizeVarintField(m.Start)
	if m.Length != nil {
		n += sizeVarintField(*m.Length)
	}
	if m.Bitfield != nil {
		n += sizeBytesField(len(m.Bitfield))
	}
	if m.Ack != nil {
		n += 2
	}
	return n
}

func (m *Have) AppendBody(b []byte) []byte {
	b = appendVarintField(b, 1, m.Start)
	if m.Length != nil {
		b = appendVarintField(b, 2, *m.Length)
	}
	if m.Bitfield != nil {
		b = appendBytesField(b, 3, m.Bitfield)
	}
	if m.Ack != nil {
		b = appendBoolField(b, 4, *m.Ack)
	}
	return b
}

func decodeHave(body []byte) (*Have, error) {
	m := new(Have)
	d := decoder{msg: "Have", b: body}
	found := false
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			if !found {
				return nil, missing("Have", "start")
			}
			return m, nil
		}
		switch num {
		case 1:
			m.Start, err = d.uint64(num, typ)
			found = true
		case 2:
			var v uint64
			if v, err = d.uint64(num, typ); err == nil {
				m.Length = &v
			}
		case 3:
			m.Bitfield, err = d.bytes(num, typ)
		case 4:
			var v bool
			if v, err = d.bool(num, typ); err == nil {
				m.Ack = &v
			}
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return nil, err
		}
	}
}

// Range is the body of Unhave, Want and Unwant: a start and an optional
// length.
type Range struct {
	Start  uint64
	Length *uint64
}

func (m *Range) Size() int {
	n := sizeVarintField(m.Start)
	if m.Length != nil {
		n += sizeVarintField(*m.Length)
	}
	return n
}

func (m *Range) AppendBody(b []byte) []byte {
	b = appendVarintField(b, 1, m.Start)
	if m.Length != nil {
		b = appendVarintField(b, 2, *m.Length)
	}
	return b
}

func decodeRange(name string, body []byte) (Range, error) {
	var m Range
	d := decoder{msg: name, b: body}
	found := false
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return Range{}, err
		}
		if !ok {
			if !found {
				return Range{}, missing(name, "start")
			}
			return m, nil
		}
		switch num {
		case 1:
			m.Start, err = d.uint64(num, typ)
			found = true
		case 2:
			var v uint64
			if v, err = d.uint64(num, typ); err == nil {
				m.Length = &v
			}
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return Range{}, err
		}
	}
}

// Unhave withdraws blocks announced earlier (type 4); Length defaults to 1.
//
//	message Unhave { required uint64 start = 1; optional uint64 length = 2 [default = 1]; }
type Unhave struct{ Range }

func (*Unhave) Type() Type { return TypeUnhave }

// GetLength returns Length, or 1 when absent.
func (m *Unhave) GetLength() uint64 {
	if m.Length == nil {
		return 1
	}
	return *m.Length
}

// Want asks the peer to announce the blocks it has in a range and to send
// Have for future appends (type 5); Length defaults to 0.
//
//	message Want { required uint64 start = 1; optional uint64 length = 2; }
type Want struct{ Range }

func (*Want) Type() Type { return TypeWant }

// GetLength returns Length, or 0 when absent.
func (m *Want) GetLength() uint64 {
	if m.Length == nil {
		return 0
	}
	return *m.Length
}

// Unwant withdraws a Want (type 6); Length defaults to 0. JS ignores it.
//
//	message Unwant { required uint64 start = 1; optional uint64 length = 2; }
type Unwant struct{ Range }

func (*Unwant) Type() Type { return TypeUnwant }

// GetLength returns Length, or 0 when absent.
func (m *Unwant) GetLength() uint64 {
	if m.Length == nil {
		return 0
	}
	return *m.Length
}

// Request asks for a block, or with Hash only for its Merkle nodes (type
// 7). Nodes is the requester's digest (spec/bitfield.md); Bytes, when not
// 0, asks for the block holding that byte offset. hypercore always writes
// all four fields ([NewRequest]).
//
//	message Request { required uint64 index = 1; optional uint64 bytes = 2;
//	                  optional bool hash = 3; optional uint64 nodes = 4; }
type Request struct {
	Index uint64
	Bytes *uint64
	Hash  *bool
	Nodes *uint64
}

// NewRequest returns a Request with all four fields set, as hypercore sends
// it.
func NewRequest(index, bytes uint64, hash bool, nodes uint64) *Request {
	r := &requestBox{bytes: bytes, nodes: nodes, hash: hash}
	r.m = Request{Index: index, Bytes: &r.bytes, Hash: &r.hash, Nodes: &r.nodes}
	return &r.m
}

// requestBox holds a Request and the values its optional fields point to,
// so that building or decoding one is a single allocation.
type requestBox struct {
	m            Request
	bytes, nodes uint64
	hash         bool
}

func (*Request) Type() Type { return TypeRequest }

// GetBytes returns Bytes, or 0 when absent.
func (m *Request) GetBytes() uint64 { return getU64(m.Bytes) }

// GetHash returns Hash, or false when absent.
func (m *Request) GetHash() bool { return m.Hash != nil && *m.Hash }

// GetNodes returns Nodes, or 0 when absent.
func (m *Request) GetNodes() uint64 { return getU64(m.Nodes) }

func getU64(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func (m *Request) Size() int {
	n := sizeVarintField(m.Index)
	if m.Bytes != nil {
		n += sizeVarintField(*m.Bytes)
	}
	if m.Hash != nil {
		n += 2
	}
	if m.Nodes != nil {
		n += sizeVarintField(*m.Nodes)
	}
	return n
}

func (m *Request) AppendBody(b []byte) []byte {
	b = appendVarintField(b, 1, m.Index)
	if m.Bytes != nil {
		b = appendVarintField(b, 2, *m.Bytes)
	}
	if m.Hash != nil {
		b = appendBoolField(b, 3, *m.Hash)
	}
	if m.Nodes != nil {
		b = appendVarintField(b, 4, *m.Nodes)
	}
	return b
}

func decodeRequest(body []byte) (*Request, error) {
	r := new(requestBox)
	m := &r.m
	d := decoder{msg: "Request", b: body}
	found := false
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			if !found {
				return nil, missing("Request", "index")
			}
			return m, nil
		}
		switch num {
		case 1:
			m.Index, err = d.uint64(num, typ)
			found = true
		case 2:
			if r.bytes, err = d.uint64(num, typ); err == nil {
				m.Bytes = &r.bytes
			}
		case 3:
			if r.hash, err = d.bool(num, typ); err == nil {
				m.Hash = &r.hash
			}
		case 4:
			if r.nodes, err = d.uint64(num, typ); err == nil {
				m.Nodes = &r.nodes
			}
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return nil, err
		}
	}
}

// Cancel withdraws a Request (type 8). JS never sends it and ignores it.
//
//	message Cancel { required uint64 index = 1; optional uint64 bytes = 2; optional bool hash = 3; }
type Cancel struct {
	Index uint64
	Bytes *uint64
	Hash  *bool
}

func (*Cancel) Type() Type { return TypeCancel }

// GetBytes returns Bytes, or 0 when absent.
func (m *Cancel) GetBytes() uint64 { return getU64(m.Bytes) }

// GetHash returns Hash, or false when absent.
func (m *Cancel) GetHash() bool { return m.Hash != nil && *m.Hash }

func (m *Cancel) Size() int {
	n := sizeVarintField(m.Index)
	if m.Bytes != nil {
		n += sizeVarintField(*m.Bytes)
	}
	if m.Hash != nil {
		n += 2
	}
	return n
}

func (m *Cancel) AppendBody(b []byte) []byte {
	b = appendVarintField(b, 1, m.Index)
	if m.Bytes != nil {
		b = appendVarintField(b, 2, *m.Bytes)
	}
	if m.Hash != nil {
		b = appendBoolField(b, 3, *m.Hash)
	}
	return b
}

func decodeCancel(body []byte) (*Cancel, error) {
	m := new(Cancel)
	d := decoder{msg: "Cancel", b: body}
	found := false
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			if !found {
				return nil, missing("Cancel", "index")
			}
			return m, nil
		}
		var u uint64
		var v bool
		switch num {
		case 1:
			m.Index, err = d.uint64(num, typ)
			found = true
		case 2:
			if u, err = d.uint64(num, typ); err == nil {
				m.Bytes = &u
			}
		case 3:
			if v, err = d.bool(num, typ); err == nil {
				m.Hash = &v
			}
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return nil, err
		}
	}
}

// Node is a Merkle tree node in a Data message.
//
//	message Node { required uint64 index = 1; required bytes hash = 2; required uint64 size = 3; }
type Node struct {
	Index uint64
	Hash  []byte
	Size  uint64
}

func (n *Node) size() int {
	return sizeVarintField(n.Index) + sizeBytesField(len(n.Hash)) + sizeVarintField(n.Size)
}

func (n *Node) appendBody(b []byte) []byte {
	b = appendVarintField(b, 1, n.Index)
	b = appendBytesField(b, 2, n.Hash)
	return appendVarintField(b, 3, n.Size)
}

func decodeNode(body []byte) (Node, error) {
	var n Node
	d := decoder{msg: "Data.Node", b: body}
	var found [4]bool
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return Node{}, err
		}
		if !ok {
			break
		}
		switch num {
		case 1:
			n.Index, err = d.uint64(num, typ)
		case 2:
			n.Hash, err = d.bytes(num, typ)
		case 3:
			n.Size, err = d.uint64(num, typ)
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return Node{}, err
		}
		if num <= 3 {
			found[num] = true
		}
	}
	for i, name := range []string{"", "index", "hash", "size"} {
		if i > 0 && !found[i] {
			return Node{}, missing("Data.Node", name)
		}
	}
	return n, nil
}

// Data carries a block, or for a hash-only reply only its proof, with the
// Merkle nodes and signature that verify it (type 9). Value is nil in a
// hash-only reply and a non-nil (possibly empty) slice for a block.
//
//	message Data { required uint64 index = 1; optional bytes value = 2;
//	               repeated Node nodes = 3; optional bytes signature = 4; }
type Data struct {
	Index     uint64
	Value     []byte // nil when absent (hash-only reply)
	Nodes     []Node
	Signature []byte // nil when absent
}

func (*Data) Type() Type { return TypeData }

func (m *Data) Size() int {
	n := sizeVarintField(m.Index)
	if m.Value != nil {
		n += sizeBytesField(len(m.Value))
	}
	for i := range m.Nodes {
		n += sizeBytesField(m.Nodes[i].size())
	}
	if m.Signature != nil {
		n += sizeBytesField(len(m.Signature))
	}
	return n
}

func (m *Data) AppendBody(b []byte) []byte {
	b = appendVarintField(b, 1, m.Index)
	if m.Value != nil {
		b = appendBytesField(b, 2, m.Value)
	}
	for i := range m.Nodes {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(m.Nodes[i].size()))
		b = m.Nodes[i].appendBody(b)
	}
	if m.Signature != nil {
		b = appendBytesField(b, 4, m.Signature)
	}
	return b
}

func decodeData(body []byte) (*Data, error) {
	m := new(Data)
	d := decoder{msg: "Data", b: body}
	found := false
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			if !found {
				return nil, missing("Data", "index")
			}
			return m, nil
		}
		switch num {
		case 1:
			m.Index, err = d.uint64(num, typ)
			found = true
		case 2:
			m.Value, err = d.bytes(num, typ)
		case 3:
			var nb []byte
			if nb, err = d.bytes(num, typ); err == nil {
				var n Node
				if n, err = decodeNode(nb); err == nil {
					m.Nodes = append(m.Nodes, n)
				}
			}
		case 4:
			m.Signature, err = d.bytes(num, typ)
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return nil, err
		}
	}
}

// Close closes a channel (type 10); DiscoveryKey is only sent to reject a
// channel this side never opened.
//
//	message Close { optional bytes discoveryKey = 1; }
type Close struct {
	DiscoveryKey []byte // nil when absent
}

func (*Close) Type() Type { return TypeClose }

func (m *Close) Size() int {
	if m.DiscoveryKey == nil {
		return 0
	}
	return sizeBytesField(len(m.DiscoveryKey))
}

func (m *Close) AppendBody(b []byte) []byte {
	if m.DiscoveryKey != nil {
		b = appendBytesField(b, 1, m.DiscoveryKey)
	}
	return b
}

func decodeClose(body []byte) (*Close, error) {
	m := new(Close)
	d := decoder{msg: "Close", b: body}
	for {
		num, typ, ok, err := d.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return m, nil
		}
		if num == 1 {
			m.DiscoveryKey, err = d.bytes(num, typ)
		} else {
			err = d.skip(num, typ)
		}
		if err != nil {
			return nil, err
		}
	}
}

// Extension carries an extension message (type 15). It is not protobuf:
// the body is varint(ID) ‖ Message, where ID indexes the sender's sorted
// list of extension names (Options.Extensions).
type Extension struct {
	ID      uint64
	Message []byte
}

func (*Extension) Type() Type { return TypeExtension }

func (m *Extension) Size() int { return protowire.SizeVarint(m.ID) + len(m.Message) }

func (m *Extension) AppendBody(b []byte) []byte {
	b = protowire.AppendVarint(b, m.ID)
	return append(b, m.Message...)
}

func decodeExtension(body []byte) (*Extension, error) {
	d := decoder{msg: "Extension", b: body}
	id, n := protowire.ConsumeVarint(body)
	if n < 0 {
		return nil, d.fail(n, "id")
	}
	return &Extension{ID: id, Message: body[n:]}, nil
}

// Decode decodes the body of a message of type t. Byte fields of the
// result alias body. Types 11 to 14 give ErrUnknownType. On error the
// message is nil.
func Decode(t Type, body []byte) (Message, error) {
	switch t {
	case TypeOpen:
		return wrap(decodeOpen(body))
	case TypeOptions:
		return wrap(decodeOptions(body))
	case TypeStatus:
		return wrap(decodeStatus(body))
	case TypeHave:
		return wrap(decodeHave(body))
	case TypeUnhave:
		r, err := decodeRange("Unhave", body)
		return wrap(&Unhave{r}, err)
	case TypeWant:
		r, err := decodeRange("Want", body)
		return wrap(&Want{r}, err)
	case TypeUnwant:
		r, err := decodeRange("Unwant", body)
		return wrap(&Unwant{r}, err)
	case TypeRequest:
		return wrap(decodeRequest(body))
	case TypeCancel:
		return wrap(decodeCancel(body))
	case TypeData:
		return wrap(decodeData(body))
	case TypeClose:
		return wrap(decodeClose(body))
	case TypeExtension:
		return wrap(decodeExtension(body))
	}
	return nil, fmt.Errorf("%w: %d", ErrUnknownType, t)
}

// wrap returns a nil Message, not a typed nil, with an error.
func wrap[M Message](m M, err error) (Message, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

package fuzz

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/bitfield"
	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
	"github.com/hypercore-go/hypercore/vectors"
)

// FuzzReplicate drives a replicating feed with sequences of decoded
// messages, not bytes: the fuzz input is a script (see script) that
// decodes to a victim (the writer, a sparse reader waiting for one block,
// or a reader that downloads everything), replication options, and up to
// maxOps messages with field values drawn from small numbers and the edges
// of the number line. A scripted peer opens the feed's channel properly
// and sends the messages over an in-memory connection, then hangs up.
//
// The victim's session must end with nil or one of the documented errors
// (replicateErrors), never panic, and allocate a bounded amount per
// message; the writer's feed must be unchanged (same Check report, no
// storage write), and a reader may hold only blocks that verify: each is
// the writer's block, and its Check is clean.
func FuzzReplicate(f *testing.F) {
	replicateSeeds(f)
	w, writes := replicateWriter(f)
	before, err := w.Check()
	if err != nil {
		f.Fatal(err)
	}
	var runs atomic.Int64
	f.Fuzz(func(t *testing.T, input []byte) {
		t.Cleanup(func() {
			if t.Failed() {
				t.Log("the script: " + describeScript(input, w))
			}
		})
		sc := &script{b: input}
		h := sc.byte()
		opts := core.ReplicateOptions{Live: h&4 != 0, Ack: h&8 != 0, Timeout: 5 * time.Second}
		if h&16 != 0 {
			opts.Upload = new(bool)
		}
		victim, wait := w, uint64(0)
		var got chan []byte
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if h&1 != 0 {
			r, err := core.Open(storage.NewMemory(), &core.Options{Key: w.Key(), Sparse: h&2 == 0})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			victim = r
			if h&2 == 0 {
				// a sparse reader wants one block; the wait is registered
				// long before the peer's messages arrive (a handshake later)
				wait = sc.num()
				got = make(chan []byte, 1)
				go func() {
					v, _ := r.GetContext(ctx, wait)
					got <- v
				}()
			}
		}
		ops := sc.ops(w)
		allocs := allocated()
		end := duel(t, victim, opts, func(s *session.Session) {
			if _, err := s.Open(w.Key(), nopHandler{}); err != nil {
				t.Fatal(err)
			}
			for _, op := range ops {
				op.send(s)
			}
		})
		if end != nil && !replicateError(end) {
			t.Fatalf("the victim's session ended with an undocumented error: %v", end)
		}
		if n, limit := allocated()-allocs, uint64(len(ops)+1)*opAllocLimit; n > limit {
			t.Fatalf("the victim allocated %s for %d messages (limit %s)", mib(n), len(ops), mib(limit))
		}
		if victim == w {
			if after, err := w.Check(); err != nil || after != before || w.Length() != 16 {
				t.Fatalf("the writer's feed changed: %+v, %v, length %d", after, err, w.Length())
			}
			if n := writes.Load(); n != 0 {
				t.Fatalf("the writer's storage saw %d writes", n)
			}
		} else {
			verifiedOnly(t, victim, w)
			if got != nil {
				cancel()
				if v := <-got; v != nil {
					if want, err := w.Get(wait); err != nil || !bytes.Equal(v, want) {
						t.Fatalf("GetContext(%d) = %q, the writer has %q (%v)", wait, v, want, err)
					}
				}
			}
		}
		leftBehind(t, &runs)
	})
}

// opAllocLimit bounds what one message may make the victim allocate: a
// Have bitfield decodes to at most 4 MiB, marks as many remote bits, and
// the rest is small.
const opAllocLimit = 16 << 20

// replicateErrors are the errors a replication session may end with when
// the peer misbehaves (spec/security.md; the three classes of a proof that
// fails are in spec/feed.md, "Verifying a proof").
var replicateErrors = []error{session.ErrProtocol, core.ErrPeerBudget, core.ErrNotAvailable, core.ErrInvalidProof,
	core.ErrMissingSignature, merkle.ErrInvalidSignature, session.ErrTimeout, session.ErrSlowPeer, session.ErrConnection, session.ErrBadCapability,
	core.ErrRequestTimeout}

func replicateError(err error) bool {
	for _, e := range replicateErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// verifiedOnly checks that reader r holds only blocks of the writer w, and
// that its Check is clean.
func verifiedOnly(t *testing.T, r, w *core.Feed) {
	t.Helper()
	if r.Length() > w.Length() {
		t.Fatalf("the reader's length %d is beyond the writer's %d", r.Length(), w.Length())
	}
	held := uint64(0)
	for i := range w.Length() {
		if !r.Has(i) {
			continue
		}
		held++
		got, err := r.Get(i)
		want, _ := w.Get(i)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("the reader holds block %d = %q (%v); the writer has %q", i, got, err, want)
		}
	}
	if n := r.Downloaded(0, 1<<62); n != held {
		t.Fatalf("the reader counts %d blocks, %d of them the writer's", n, held)
	}
	if rep, err := r.Check(); err != nil || rep.Invalid != 0 || rep.Valid != held {
		t.Fatalf("the reader's Check: %+v, %v (holds %d blocks)", rep, err, held)
	}
}

// replicateWriter is the writer the scripts are played against, and the
// source of their proofs: 16 blocks in three appends, over a storage that
// counts writes (from now on).
func replicateWriter(t testing.TB) (*core.Feed, *atomic.Int64) {
	kp := writerKeyPair(t)
	writes := new(atomic.Int64)
	st := &switchStorage{Storage: storage.NewMemory()}
	w, err := core.Create(st, &core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, n := range []int{5, 1, 10} {
		var bs [][]byte
		for range n {
			bs = append(bs, []byte("block "+itoa(i)))
			i++
		}
		if _, err := w.Append(bs...); err != nil {
			t.Fatal(err)
		}
	}
	st.writes.Store(writes)
	return w, writes
}

// switchStorage counts writes once writes is set.
type switchStorage struct {
	storage.Storage
	writes atomic.Pointer[atomic.Int64]
}

func (s *switchStorage) Open(name string) (storage.File, error) {
	f, err := s.Storage.Open(name)
	if err != nil {
		return nil, err
	}
	return switchFile{f, s}, nil
}

type switchFile struct {
	storage.File
	s *switchStorage
}

func (f switchFile) WriteAt(p []byte, off int64) (int, error) {
	if c := f.s.writes.Load(); c != nil {
		c.Add(1)
	}
	return f.File.WriteAt(p, off)
}

func (f switchFile) Truncate(size int64) error {
	if c := f.s.writes.Load(); c != nil {
		c.Add(1)
	}
	return f.File.Truncate(size)
}

func (f switchFile) Discard(off, size int64) error {
	if c := f.s.writes.Load(); c != nil {
		c.Add(1)
	}
	return f.File.Discard(off, size)
}

// allocated is the bytes this process allocated so far (cheaper than
// runtime.ReadMemStats: it does not stop the world).
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// ---------------------------------------------------------------- scripts

// A script is the fuzz input of FuzzReplicate, read a byte at a time (past
// its end every byte reads as 0):
//
//	script  = header [wait] op*           (at most maxOps ops)
//	header  = 1 byte: bit 0 reader victim, bit 1 non-sparse reader,
//	          bit 2 Live, bit 3 Ack, bit 4 no upload
//	wait    = num: the block a sparse reader waits for
//	op      = kind flags fields...
//	kind    = 1 byte: message type (low 4 bits), channel (bits 4-5:
//	          0 and 1 the channel opened, 2 channel 0, 3 channel 2, not open)
//	flags   = 1 byte: which optional fields are present, and variants
//	num     = 1 byte c: c < 0x80 is c; c < 0xf8 is edges[(c−0x80)/8] + c%8 − 4;
//	          else the next c − 0xf7 bytes, big-endian
//	bytes   = 1 byte n, then n % 128 bytes
//
// The fields of each kind are in scriptOp.decode.
type script struct{ b []byte }

// maxOps bounds the messages of one script.
const maxOps = 64

// edges are the values numbers are drawn near: 0, 1, 2^24, 2^32, 2^53,
// 2^63, 2^64−1, window and page sizes of the protocol, and the writer's
// length.
var edges = [15]uint64{0, 1, 8, 16, 8192, 1 << 16, 1 << 20, 4 << 20, 1 << 24, 1 << 32, 1 << 46, 1 << 53, 1 << 62, 1 << 63, 1<<64 - 1}

func (s *script) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *script) num() uint64 {
	c := s.byte()
	switch {
	case c < 0x80:
		return uint64(c)
	case c < 0xf8:
		return edges[(c-0x80)/8] + uint64(c%8) - 4
	}
	var v uint64
	for range c - 0xf7 {
		v = v<<8 | uint64(s.byte())
	}
	return v
}

func (s *script) bytes() []byte {
	n := min(int(s.byte()%128), len(s.b))
	b := s.b[:n:n]
	s.b = s.b[n:]
	return b
}

// optNum reads a num when bit is set in flags, for an optional field.
func (s *script) optNum(flags, bit byte) *uint64 {
	if flags&bit == 0 {
		return nil
	}
	v := s.num()
	return &v
}

// opt returns a pointer to v when bit is set in flags.
func opt[T any](flags, bit byte, v T) *T {
	if flags&bit == 0 {
		return nil
	}
	return &v
}

// scriptOp is one message of a script: m on channel, or raw frame bytes
// (message types the message package does not encode).
type scriptOp struct {
	channel uint64
	m       message.Message
	raw     []byte
	// an Open gets the session's capability for this key when it is sent
	capabilityOf []byte
}

func (op scriptOp) send(s *session.Session) {
	switch {
	case op.raw != nil:
		s.SendBytes(op.raw)
	case op.capabilityOf != nil:
		c := s.Capability(op.capabilityOf)
		m := *op.m.(*message.Open)
		m.Capability = c[:]
		s.SendRaw(op.channel, &m)
	default:
		s.SendRaw(op.channel, op.m)
	}
}

// ops decodes the script's messages; w is the writer whose blocks and
// proofs the Data kinds use.
func (s *script) ops(w *core.Feed) []scriptOp {
	var ops []scriptOp
	for len(s.b) > 0 && len(ops) < maxOps {
		ops = append(ops, s.op(w))
	}
	return ops
}

// The kinds of op beyond the message types: a Data message built from the
// writer's block and proof, possibly changed.
const kindWriterData = 11

func (s *script) op(w *core.Feed) scriptOp {
	kind := s.byte()
	op := scriptOp{channel: [4]uint64{1, 1, 0, 2}[kind>>4&3]}
	fl := s.byte()
	dk := w.DiscoveryKey()
	switch typ := message.Type(kind & 15); typ {
	case message.TypeOpen:
		m := &message.Open{DiscoveryKey: dk[:]}
		if fl&1 != 0 { // another feed
			m.DiscoveryKey = bytes.Repeat([]byte{byte(s.num())}, 32)
		}
		switch fl >> 1 & 3 {
		case 1:
			m.Capability = make([]byte, 32) // wrong
		case 2:
			op.capabilityOf = w.Key() // right, for the feed's key
		}
		op.m = m
	case message.TypeOptions:
		m := &message.Options{Ack: opt(fl, 1, fl&2 != 0)}
		if fl&4 != 0 {
			m.Extensions = []string{"a", "b"}
		}
		op.m = m
	case message.TypeStatus:
		op.m = &message.Status{Uploading: opt(fl, 1, fl&2 != 0), Downloading: opt(fl, 4, fl&8 != 0)}
	case message.TypeHave:
		m := &message.Have{Start: s.num(), Length: s.optNum(fl, 1), Ack: opt(fl, 2, fl&4 != 0)}
		switch fl >> 3 & 3 {
		case 1: // a bitfield as bytes, encoded
			m.Bitfield = bitfield.EncodeRLE(s.bytes())
		case 2: // RLE bytes as they come
			m.Bitfield = append([]byte{}, s.bytes()...)
		case 3: // one run of n ones: a long claim in a few bytes
			m.Bitfield = rleOnes(s.num())
		}
		op.m = m
	case message.TypeUnhave:
		op.m = &message.Unhave{Range: s.rangeField(fl)}
	case message.TypeWant:
		op.m = &message.Want{Range: s.rangeField(fl)}
	case message.TypeUnwant:
		op.m = &message.Unwant{Range: s.rangeField(fl)}
	case message.TypeRequest:
		op.m = &message.Request{Index: s.num(), Bytes: s.optNum(fl, 1), Hash: opt(fl, 2, fl&4 != 0), Nodes: s.optNum(fl, 8)}
	case message.TypeCancel:
		op.m = &message.Cancel{Index: s.num(), Bytes: s.optNum(fl, 1), Hash: opt(fl, 2, fl&4 != 0)}
	case message.TypeData:
		op.m = s.data(fl)
	case message.TypeClose:
		m := &message.Close{}
		if fl&1 != 0 {
			m.DiscoveryKey = dk[:]
		}
		op.m = m
	case kindWriterData:
		op.m = s.writerData(fl, w)
	case message.TypeExtension:
		op.m = &message.Extension{ID: s.num(), Message: s.bytes()}
	default: // 12, 13, 14: types JS ignores
		op.raw = message.AppendRawFrame(nil, op.channel, typ, s.bytes())
	}
	return op
}

func (s *script) rangeField(fl byte) message.Range {
	return message.Range{Start: s.num(), Length: s.optNum(fl, 1)}
}

// rleOnes is the bitfield-rle encoding of n set bits (n rounded down to
// whole bytes), as one run.
func rleOnes(n uint64) []byte {
	n = min(n/8, 1<<61)
	// a run header is varint(n << 2 | 0b11): a repeated byte of ones
	return binary.AppendUvarint(nil, n<<2|3)
}

// data is a Data message whose fields all come from the script.
func (s *script) data(fl byte) *message.Data {
	m := &message.Data{Index: s.num()}
	switch fl & 3 {
	case 1:
		m.Value = []byte{}
	case 2, 3:
		m.Value = append([]byte{}, s.bytes()...)
	}
	for range fl >> 2 & 3 {
		n := message.Node{Index: s.num(), Size: s.num(), Hash: make([]byte, 32)}
		n.Hash[0] = s.byte()
		m.Nodes = append(m.Nodes, n)
	}
	switch fl >> 4 & 3 {
	case 1:
		m.Signature = make([]byte, 64)
	case 2:
		m.Signature = append([]byte{}, s.bytes()...)
	}
	return m
}

// writerData is the writer's answer to a Request for block num % 16 (all
// nodes, or those a reader with the given digest lacks), then changed as
// the flags say: hash only; no signature; one node's index, size or hash
// changed; the value changed; the index changed; a run of nodes dropped.
func (s *script) writerData(fl byte, w *core.Feed) *message.Data {
	index := s.num() % w.Length()
	digest := uint64(0)
	if fl&1 != 0 {
		digest = s.num()
	}
	hash := fl&2 != 0
	proof, err := w.LowLevel().Proof(index, digest, hash, nil)
	if err != nil {
		proof = &core.Proof{}
	}
	m := &message.Data{Index: index, Signature: proof.Signature}
	if !hash {
		m.Value, _ = w.Get(index)
	}
	for _, n := range proof.Nodes {
		m.Nodes = append(m.Nodes, message.Node{Index: n.Index, Hash: slices.Clone(n.Hash[:]), Size: n.Size})
	}
	if fl&4 != 0 {
		m.Signature = nil
	}
	if fl&8 != 0 && len(m.Nodes) > 0 {
		n := &m.Nodes[s.byte()%byte(len(m.Nodes))]
		switch v := s.num(); s.byte() % 3 {
		case 0:
			n.Index = v
		case 1:
			n.Size = v
		default:
			n.Hash[v%32] ^= 1
		}
	}
	if fl&16 != 0 {
		m.Value = append(slices.Clone(m.Value), byte(s.num()))
	}
	if fl&32 != 0 {
		m.Index = s.num()
	}
	if fl&64 != 0 && len(m.Nodes) > 0 {
		k := int(s.byte()) % len(m.Nodes)
		m.Nodes = slices.Delete(m.Nodes, k, k+1+int(s.byte())%(len(m.Nodes)-k))
	}
	return m
}

// ---------------------------------------------------------------- seeds

// scriptWriter writes scripts for the seeds: the inverse of script's
// reading, for values a num can hold exactly.
type scriptWriter struct{ b []byte }

func (sw *scriptWriter) byte(c byte) *scriptWriter { sw.b = append(sw.b, c); return sw }

func (sw *scriptWriter) num(v uint64) *scriptWriter {
	if v < 0x80 {
		return sw.byte(byte(v))
	}
	for i, e := range edges {
		if d := v - e + 4; d < 8 {
			return sw.byte(0x80 + byte(i)*8 + byte(d))
		}
	}
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], v)
	k := 8
	for k > 1 && be[8-k] == 0 {
		k--
	}
	sw.byte(0xf7 + byte(k))
	sw.b = append(sw.b, be[8-k:]...)
	return sw
}

func (sw *scriptWriter) bytes(b []byte) *scriptWriter {
	b = b[:min(len(b), 127)]
	sw.byte(byte(len(b)))
	sw.b = append(sw.b, b...)
	return sw
}

// op starts an op of the given kind on the opened channel.
func (sw *scriptWriter) op(kind byte, flags byte) *scriptWriter { return sw.byte(kind).byte(flags) }

// message writes m as an op on the opened channel, as far as a script can
// say it (the optional fields set; a Data's value, nodes and signature
// when they fit).
func (sw *scriptWriter) message(m message.Message) bool {
	bit := func(b bool, v byte) byte {
		if b {
			return v
		}
		return 0
	}
	switch m := m.(type) {
	case *message.Options:
		sw.op(byte(message.TypeOptions), bit(m.Ack != nil, 1)|bit(m.GetAck(), 2)|bit(len(m.Extensions) > 0, 4))
	case *message.Status:
		sw.op(byte(message.TypeStatus), bit(m.Uploading != nil, 1)|bit(m.GetUploading(), 2)|bit(m.Downloading != nil, 4)|bit(m.GetDownloading(), 8))
	case *message.Have:
		rle := byte(0)
		if m.Bitfield != nil {
			rle = 2
		}
		sw.op(byte(message.TypeHave), bit(m.Length != nil, 1)|bit(m.Ack != nil, 2)|bit(m.GetAck(), 4)|rle<<3)
		sw.num(m.Start)
		if m.Length != nil {
			sw.num(*m.Length)
		}
		if m.Bitfield != nil {
			sw.bytes(m.Bitfield)
		}
	case *message.Unhave:
		sw.rangeOp(message.TypeUnhave, m.Range)
	case *message.Want:
		sw.rangeOp(message.TypeWant, m.Range)
	case *message.Unwant:
		sw.rangeOp(message.TypeUnwant, m.Range)
	case *message.Request:
		sw.op(byte(message.TypeRequest), bit(m.Bytes != nil, 1)|bit(m.Hash != nil, 2)|bit(m.GetHash(), 4)|bit(m.Nodes != nil, 8))
		sw.num(m.Index)
		if m.Bytes != nil {
			sw.num(*m.Bytes)
		}
		if m.Nodes != nil {
			sw.num(*m.Nodes)
		}
	case *message.Cancel:
		sw.op(byte(message.TypeCancel), bit(m.Bytes != nil, 1)|bit(m.Hash != nil, 2)|bit(m.GetHash(), 4))
		sw.num(m.Index)
		if m.Bytes != nil {
			sw.num(*m.Bytes)
		}
	case *message.Data:
		value := byte(0)
		switch {
		case m.Value == nil:
		case len(m.Value) == 0:
			value = 1
		default:
			value = 2
		}
		sig := byte(0)
		if m.Signature != nil {
			sig = 2
		}
		sw.op(byte(message.TypeData), value|byte(min(len(m.Nodes), 3))<<2|sig<<4)
		sw.num(m.Index)
		if value == 2 {
			sw.bytes(m.Value)
		}
		for _, n := range m.Nodes[:min(len(m.Nodes), 3)] {
			sw.num(n.Index).num(n.Size)
			if len(n.Hash) > 0 {
				sw.byte(n.Hash[0])
			} else {
				sw.byte(0)
			}
		}
		if m.Signature != nil {
			sw.bytes(m.Signature)
		}
	case *message.Close:
		sw.op(byte(message.TypeClose), bit(m.DiscoveryKey != nil, 1))
	case *message.Extension:
		sw.op(byte(message.TypeExtension), 0).num(m.ID).bytes(m.Message)
	default:
		return false
	}
	return true
}

func (sw *scriptWriter) rangeOp(typ message.Type, r message.Range) {
	f := byte(0)
	if r.Length != nil {
		f = 1
	}
	sw.op(byte(typ), f).num(r.Start)
	if r.Length != nil {
		sw.num(*r.Length)
	}
}

// Victim headers of the seeds.
const (
	toWriter       = 0b00100 // live writer
	toSparseReader = 0b00101 // live sparse reader; a wait follows
	toReader       = 0b00011 // non-live reader that downloads everything
)

// replicateSeeds are (1) every message of messages.json that a peer sends
// on a feed's channel, alone, to the writer and to a sparse reader waiting
// for block 5, and all of them in a row to each victim; (2) the scenarios
// of the adversarial suite (adversary_test.go) as scripts: the honest
// exchange a reader has with the writer, each Data mutation, and the
// numeric edges of each range message.
func replicateSeeds(f *testing.F) {
	v, err := vectors.LoadMessages()
	if err != nil {
		f.Fatal(err)
	}
	all := map[byte]*scriptWriter{toWriter: {}, toSparseReader: {}}
	all[toSparseReader].byte(toSparseReader).num(5)
	all[toWriter].byte(toWriter)
	n := 0
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			if tc.Message == "NoisePayload" || tc.Body == nil {
				continue
			}
			typ, ok := messageTypes[tc.Message]
			if !ok {
				continue
			}
			m, err := message.Decode(typ, tc.Body)
			if err != nil {
				continue
			}
			for _, h := range []byte{toWriter, toSparseReader} {
				sw := &scriptWriter{}
				sw.byte(h)
				if h == toSparseReader {
					sw.num(5)
				}
				if sw.message(m) {
					f.Add(sw.b)
					all[h].message(m)
					n++
				}
			}
		}
	}
	if n == 0 {
		f.Fatal("messages.json has no channel messages: empty seed corpus")
	}
	f.Add(all[toWriter].b)
	f.Add(all[toSparseReader].b)

	// the honest exchange: Have, then the writer's Data for the block
	// waited for (the reader requests it on the Have), and each mutation
	// of that Data
	for _, fl := range []byte{0, 2, 4, 8, 16, 32, 8 | 4} {
		sw := &scriptWriter{}
		sw.byte(toSparseReader).num(5)
		sw.op(byte(message.TypeHave), 1).num(0).num(16)
		sw.op(kindWriterData, fl).num(5)
		if fl&8 != 0 {
			sw.byte(1).num(3).byte(2)
		}
		if fl&16 != 0 {
			sw.num(7)
		}
		if fl&32 != 0 {
			sw.num(6)
		}
		f.Add(sw.b)
	}
	// a reader that downloads all: Have, then every block
	sw := &scriptWriter{}
	sw.byte(toReader).op(byte(message.TypeHave), 1).num(0).num(16)
	for i := range uint64(16) {
		sw.op(kindWriterData, 0).num(i)
	}
	f.Add(sw.b)
	// each range message at the edges, to both victims
	for _, h := range []byte{toWriter, toSparseReader} {
		for _, typ := range []message.Type{message.TypeHave, message.TypeUnhave, message.TypeWant, message.TypeUnwant} {
			sw := &scriptWriter{}
			sw.byte(h)
			if h == toSparseReader {
				sw.num(5)
			}
			for _, r := range [][2]uint64{{0, 1 << 63}, {1 << 63, 1 << 63}, {1<<64 - 1<<24, 1 << 24}, {1<<64 - 1, 1}, {8192, 1 << 20}} {
				sw.op(byte(typ), 1).num(r[0]).num(r[1])
			}
			f.Add(sw.b)
		}
		// a Have with a bitfield claiming 2^32 blocks, one misaligned
		sw := &scriptWriter{}
		sw.byte(h)
		if h == toSparseReader {
			sw.num(5)
		}
		sw.op(byte(message.TypeHave), 3<<3).num(0).num(1 << 32)
		sw.op(byte(message.TypeHave), 3<<3).num(3).num(64)
		// Requests for a block beyond, a byte offset, hashes only
		sw.op(byte(message.TypeRequest), 0).num(1 << 53)
		sw.op(byte(message.TypeRequest), 1).num(0).num(20)
		sw.op(byte(message.TypeRequest), 2|4|8).num(3).num(1)
		f.Add(sw.b)
	}
}

var messageTypes = map[string]message.Type{
	"Options": message.TypeOptions, "Status": message.TypeStatus, "Have": message.TypeHave, "Unhave": message.TypeUnhave,
	"Want": message.TypeWant, "Unwant": message.TypeUnwant, "Request": message.TypeRequest, "Cancel": message.TypeCancel,
	"Data": message.TypeData, "Close": message.TypeClose, "Extension": message.TypeExtension,
}

// describeScript renders a script's decoded messages, for a failure's log.
func describeScript(input []byte, w *core.Feed) string {
	sc := &script{b: input}
	h := sc.byte()
	out := fmt.Sprintf("header %05b", h)
	if h&3 == 1 {
		out += fmt.Sprintf(", wait %d", sc.num())
	}
	for _, op := range sc.ops(w) {
		if op.raw != nil {
			out += fmt.Sprintf("\n  raw %x", op.raw)
		} else {
			out += fmt.Sprintf("\n  ch %d %s", op.channel, message.Describe(op.m))
		}
	}
	return out
}

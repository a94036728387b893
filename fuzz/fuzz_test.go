package fuzz

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
	"github.com/hypercore-go/hypercore/vectors"
)

// writerKeyPair is the vectors' writer.
func writerKeyPair(t testing.TB) merkle.KeyPair {
	kp, err := merkle.NewKeyPairFromSeed(vectors.WriterSeed())
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// writer is a memory feed of the vectors' writer with the given append
// calls (call k appends that many blocks "block i").
func writer(t testing.TB, calls []int) *core.Feed {
	kp := writerKeyPair(t)
	w, err := core.Create(storage.NewMemory(), &core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, n := range calls {
		var bs [][]byte
		for k := 0; k < n; k++ {
			bs = append(bs, []byte("block "+itoa(i)))
			i++
		}
		if _, err := w.Append(bs...); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// fixedRandom is a deterministic handshake randomness, so that a session
// (and so its capabilities) is the same on every run.
type fixedRandom struct{ b byte }

func (r *fixedRandom) Read(p []byte) (int, error) {
	for i := range p {
		r.b = r.b*31 + 7
		p[i] = r.b
	}
	return len(p), nil
}

// sessionSeeds are the frames of messages.json, each alone, and all of
// them in a row.
func sessionSeeds(f *testing.F) {
	v, err := vectors.LoadMessages()
	if err != nil {
		f.Fatal(err)
	}
	var all []byte
	n := 0
	for _, g := range v.Frames {
		for _, tc := range g.Tests {
			f.Add(byte(0), []byte(tc.Stream))
			f.Add(byte(1), []byte(tc.Stream))
			n++
		}
	}
	for _, g := range v.Encode {
		for _, tc := range g.Tests {
			if tc.Frame != nil {
				f.Add(byte(1), []byte(tc.Frame))
				all = append(all, tc.Frame...)
				n++
			}
		}
	}
	if n == 0 {
		f.Fatal("messages.json has no frames: empty seed corpus")
	}
	f.Add(byte(1), all)
}

// FuzzSession: a responder replicating a real feed is sent arbitrary
// plaintext bytes after a valid handshake (mode 0), or after the attacker
// opened the feed's channel properly (mode 1, so the bytes reach the
// replication state machine). The responder must end with nil or a typed
// session error, never panic, and its feed must be unchanged.
func FuzzSession(f *testing.F) {
	sessionSeeds(f)
	w := writer(f, []int{3, 1})
	before, _ := w.Check()
	f.Fuzz(func(t *testing.T, mode byte, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		victim := make(chan error, 1)
		go func() {
			victim <- w.Replicate(ctx, b, &core.ReplicateOptions{Random: &fixedRandom{1}, Live: true, Timeout: 2 * time.Second})
		}()
		s, err := session.New(ctx, a, session.Config{Initiator: true, Random: &fixedRandom{2}, Timeout: -1})
		if err != nil {
			t.Fatalf("handshake: %v (victim: %v)", err, <-victim)
		}
		go s.Run(ctx)
		if mode&1 == 1 {
			if _, err := s.Open(w.Key(), nopHandler{}); err != nil {
				t.Fatal(err)
			}
		}
		s.SendBytes(data)
		time.AfterFunc(5*time.Millisecond, func() { s.Close() })
		select {
		case err := <-victim:
			if err != nil && !typed(err) {
				t.Fatalf("victim ended with an untyped error: %v", err)
			}
		case <-ctx.Done():
			t.Fatal("victim did not end after the attacker closed")
		}
		after, err := w.Check()
		if err != nil || after != before || w.Length() != 4 {
			t.Fatalf("feed changed: %+v %v, length %d", after, err, w.Length())
		}
	})
}

type nopHandler struct{}

func (nopHandler) Opened(*session.Channel)                   {}
func (nopHandler) Message(*session.Channel, message.Message) {}
func (nopHandler) Closed(*session.Channel, error)            {}

// typed reports whether err is one of the errors a session or replication
// documents.
func typed(err error) bool {
	for _, e := range []error{session.ErrProtocol, session.ErrConnection, session.ErrClosed, session.ErrTimeout, session.ErrBadCapability,
		session.ErrChannelClosed, session.ErrTooManyChannels, session.ErrHandshake, core.ErrInvalidProof, core.ErrMissingSignature, core.ErrRequestTimeout, core.ErrNotAvailable,
		core.ErrOutOfRange, core.ErrCorrupt} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// putSeeds are the Data messages of proofs.json's Put cases.
func putSeeds(f *testing.F) []int {
	v, err := vectors.LoadProofs()
	if err != nil {
		f.Fatal(err)
	}
	var calls []int
	n := 0
	// one writer history: the key signs every history of the vectors, and
	// a Put of another history's block is (rightly) accepted, so the
	// property below holds only against the history the seeds come from
	for _, g := range v.Puts {
		for _, tc := range g.Tests {
			if calls == nil {
				calls = tc.WriterCalls
			}
			if !slices.Equal(calls, tc.WriterCalls) {
				continue
			}
			d := &message.Data{Index: tc.Index, Value: []byte(tc.Value), Signature: []byte(tc.Signature)}
			if tc.Value == nil {
				d.Value = nil
			}
			for _, nd := range tc.Nodes {
				d.Nodes = append(d.Nodes, message.Node{Index: nd.Index, Hash: []byte(nd.Hash), Size: nd.Size})
			}
			f.Add(d.AppendBody(nil))
			n++
		}
	}
	if n == 0 {
		f.Fatal("proofs.json has no Put cases: empty seed corpus")
	}
	return calls
}

// FuzzPut: arbitrary Data messages put into a sparse reader of a real
// feed. A Put that succeeds stored exactly the writer's block (and the
// reader's stored blocks all verify); one that fails changed nothing.
func FuzzPut(f *testing.F) {
	calls := putSeeds(f)
	w := writer(f, calls)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := message.Decode(message.TypeData, body)
		if err != nil {
			return
		}
		d := m.(*message.Data)
		r, err := core.Open(storage.NewMemory(), &core.Options{Key: w.Key(), Sparse: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		proof := &core.Proof{Signature: d.Signature}
		for _, n := range d.Nodes {
			if len(n.Hash) != 32 {
				return // the replicator rejects these before Put
			}
			var h merkle.Hash
			copy(h[:], n.Hash)
			proof.Nodes = append(proof.Nodes, merkle.Node{Index: n.Index, Hash: h, Size: n.Size})
		}
		_, err = r.Put(d.Index, d.Value, proof)
		if err != nil {
			if r.Length() != 0 || r.Downloaded(0, 0) != 0 {
				t.Fatalf("a failed Put (%v) changed the reader: length %d", err, r.Length())
			}
			return
		}
		if r.Length() > w.Length() {
			t.Fatalf("reader length %d beyond the writer's %d", r.Length(), w.Length())
		}
		if d.Value != nil && r.Has(d.Index) {
			want, _ := w.Get(d.Index)
			got, err := r.Get(d.Index)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("stored block %d = %q, %v; the writer has %q", d.Index, got, err, want)
			}
		}
		if rep, err := r.Check(); err != nil || rep.Invalid != 0 {
			t.Fatalf("after Put: %+v, %v", rep, err)
		}
	})
}

var feedFiles = []string{"key", "secret_key", "tree", "data", "bitfield", "signatures"}

// encodeDir packs a directory's six files: for each, a 4-byte little-endian
// length and the bytes.
func encodeDir(files map[string][]byte) []byte {
	var b []byte
	for _, name := range feedFiles {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(files[name])))
		b = append(b, files[name]...)
	}
	return b
}

// decodeDir unpacks encodeDir, cutting lengths to what is there.
func decodeDir(b []byte) map[string][]byte {
	files := map[string][]byte{}
	for _, name := range feedFiles {
		if len(b) < 4 {
			break
		}
		n := int(min(uint64(binary.LittleEndian.Uint32(b)), uint64(len(b)-4)))
		files[name] = b[4 : 4+n]
		b = b[4+n:]
	}
	return files
}

// FuzzOpenDir: a feed whose six files are arbitrary bytes (seeded with the
// JS-written directories of vectors/storage) opens with a typed error, or
// as a feed that reads, checks and (if writable) appends without panicking
// or allocating by a length the files claim.
func FuzzOpenDir(f *testing.F) {
	root := filepath.Join("..", "vectors", "storage")
	ents, err := os.ReadDir(root)
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		files := map[string][]byte{}
		for _, name := range feedFiles {
			if b, err := os.ReadFile(filepath.Join(root, e.Name(), name)); err == nil {
				files[name] = b
			}
		}
		if len(files) > 0 {
			f.Add(encodeDir(files))
			n++
		}
	}
	if n == 0 {
		f.Fatal("vectors/storage has no feed directories: empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, packed []byte) {
		// the files go into a memory storage (the disk backend has its
		// own tests; this is about what open and read make of the bytes)
		st := storage.NewMemory()
		for name, b := range decodeDir(packed) {
			file, err := st.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > 0 {
				if _, err := file.WriteAt(b, 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		fd, err := core.Open(st, nil)
		if err != nil {
			if !errors.Is(err, core.ErrCorrupt) && !errors.Is(err, core.ErrNoFeed) && !errors.Is(err, core.ErrKeyMismatch) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		defer fd.Close()
		for i, ok := uint64(0), true; ok && i < min(fd.Length(), 64); i++ {
			fd.Get(i)
		}
		fd.Check()
		if fd.Writable() {
			fd.Append([]byte("x"))
		}
	})
}

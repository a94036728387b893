package fuzz

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/internal/zeroruns"
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
	var runs atomic.Int64
	f.Fuzz(func(t *testing.T, mode byte, data []byte) {
		opts := core.ReplicateOptions{Live: true, Timeout: 2 * time.Second}
		err := duel(t, w, opts, func(s *session.Session) {
			if mode&1 == 1 {
				if _, err := s.Open(w.Key(), nopHandler{}); err != nil {
					t.Fatal(err)
				}
			}
			s.SendBytes(data)
		})
		if err != nil && !typed(err) {
			t.Fatalf("victim ended with an untyped error: %v", err)
		}
		after, err := w.Check()
		if err != nil || after != before || w.Length() != 4 {
			t.Fatalf("feed changed: %+v %v, length %d", after, err, w.Length())
		}
		leftBehind(t, &runs)
	})
}

// leftBehind checks, every 256 runs of a target, that the sessions of the
// runs before left no goroutines and no memory behind.
func leftBehind(t *testing.T, runs *atomic.Int64) {
	if runs.Add(1)%256 != 0 {
		return
	}
	if n := runtime.NumGoroutine(); n > 200 {
		t.Fatalf("%d goroutines are left", n)
	}
	if n := heapNow(); n > 256<<20 {
		t.Fatalf("the live heap is %s", mib(n))
	}
}

// halfPipe is one end of an in-memory connection that, like TCP and
// unlike net.Pipe, can close its writing half: the other end then reads
// everything written before and io.EOF. A session over it ends its
// sending side with CloseWrite, as over TCP.
type halfPipe struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newHalfPipe() (a, b *halfPipe) {
	ar, bw := io.Pipe()
	br, aw := io.Pipe()
	return &halfPipe{ar, aw}, &halfPipe{br, bw}
}

func (p *halfPipe) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *halfPipe) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *halfPipe) CloseWrite() error           { return p.w.Close() }

func (p *halfPipe) Close() error {
	p.w.Close()
	return p.r.Close()
}

// The Noise key pairs of the fuzzed sessions, made once: a key pair costs
// as much as a third of a handshake.
var attackerKeys, victimKeys = fuzzKeyPair(1), fuzzKeyPair(2)

func fuzzKeyPair(b byte) session.KeyPair {
	kp, err := session.KeyPairFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		panic("fuzzKeyPair: " + err.Error())
	}
	return kp
}

// duel replicates victim with opts against a scripted peer over an
// in-memory connection: send plays the peer on its session (the
// initiator's), then the peer hangs up its sending half once all it sent
// is written, so the victim handles every byte and reads io.EOF. duel
// returns what the victim's Replicate returned, and fails the test when
// it does not return within 10 s. Both handshakes use fixed randomness,
// so a run replays exactly as far as the bytes go.
func duel(t *testing.T, victim *core.Feed, opts core.ReplicateOptions, send func(s *session.Session)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := newHalfPipe()
	defer a.Close()
	defer b.Close()
	opts.Random, opts.NoiseKeyPair = &fixedRandom{1}, &victimKeys
	result := make(chan error, 1)
	go func() { result <- victim.Replicate(ctx, b, &opts) }()
	s, err := session.New(ctx, a, session.Config{Initiator: true, KeyPair: &attackerKeys, Random: &fixedRandom{2}, Timeout: -1, Live: true})
	if err != nil {
		t.Fatalf("handshake: %v (victim: %v)", err, <-result)
	}
	go s.Run(ctx)
	send(s)
	drained := make(chan struct{})
	s.WhenDrained(1, func() { close(drained) })
	select {
	case <-drained:
	case <-s.Done():
	}
	a.CloseWrite()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		t.Fatal("the victim did not end after the peer hung up")
		return nil
	}
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
		_, err = r.LowLevel().Put(d.Index, d.Value, proof)
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

// encodeDir packs a directory's six files into a fuzz input: for each,
// in feedFiles order, a varint length and the file's bytes with runs of
// zeros shortened (zeroRuns). A feed's files are mostly zeros (a bitfield
// page is 3584 bytes, a few of them set), so a JS-written directory packs
// into a few hundred bytes: small inputs mutate and minimize faster.
func encodeDir(files map[string][]byte) []byte {
	var b []byte
	for _, name := range feedFiles {
		z := zeroruns.Pack(files[name])
		b = binary.AppendUvarint(b, uint64(len(z)))
		b = append(b, z...)
	}
	return b
}

// decodeDir unpacks encodeDir, cutting lengths to what is there; the
// files after the input ends are absent.
func decodeDir(b []byte) map[string][]byte {
	files := map[string][]byte{}
	for _, name := range feedFiles {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			break
		}
		b = b[k:]
		n = min(n, uint64(len(b)))
		files[name] = zeroruns.Unpack(b[:n])
		b = b[n:]
	}
	return files
}

// maxPackedDir bounds the packed directories the directory targets try: a
// packed byte is at most 256 file bytes, and the seeds pack into 1 KiB.
const maxPackedDir = 4 << 10

// storageDirs are the files of the JS-written directories of
// vectors/storage.
func storageDirs(t testing.TB) []map[string][]byte {
	root := filepath.Join("..", "vectors", "storage")
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []map[string][]byte
	for _, e := range ents {
		files := map[string][]byte{}
		for _, name := range feedFiles {
			if b, err := os.ReadFile(filepath.Join(root, e.Name(), name)); err == nil {
				files[name] = b
			}
		}
		if len(files) > 0 {
			dirs = append(dirs, files)
		}
	}
	if len(dirs) == 0 {
		t.Fatal("vectors/storage has no feed directories: empty seed corpus")
	}
	return dirs
}

// FuzzOpenDir: a feed whose six files are arbitrary bytes (seeded with the
// JS-written directories of vectors/storage, packed by encodeDir) opens
// with a typed error, or
// as a feed that reads, checks and (if writable) appends without panicking
// or allocating by a length the files claim.
func FuzzOpenDir(f *testing.F) {
	for _, files := range storageDirs(f) {
		f.Add(encodeDir(files))
	}
	f.Fuzz(func(t *testing.T, packed []byte) {
		if len(packed) > maxPackedDir {
			return
		}
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
		allocs := allocated()
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
		if n := allocated() - allocs; n > dirAllocLimit {
			t.Fatalf("opening, reading, checking and appending allocated %s", mib(n))
		}
	})
}

// dirAllocLimit bounds what opening, reading, checking and appending to a
// feed of fuzzed files may allocate: a packed directory unpacks into
// files of at most 1 MiB, and no size the files claim may be allocated
// before the bytes are known to be there.
const dirAllocLimit = 64 << 20

package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"pgregory.net/rapid"
)

// sparseClone is a sparse clone of w replicating live over TCP, which
// knows w's length.
func sparseClone(t *testing.T, ctx context.Context, w *Feed) *Feed {
	t.Helper()
	r, err := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	if n := w.Length(); n > 0 {
		if err := r.Update(ctx, n); err != nil {
			t.Fatalf("Update(%d) = %v", n, err)
		}
	}
	return r
}

// collect reads a stream to its end, or until n blocks; the error is the
// one the stream ended with.
func collect(seq func(func([]byte, error) bool), n int) (blocks []string, err error) {
	for b, e := range seq {
		if e != nil {
			return blocks, e
		}
		blocks = append(blocks, string(b))
		if len(blocks) == n {
			break
		}
	}
	return blocks, nil
}

func blockNames(from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprintf("block %d", i))
	}
	return s
}

func sameStrings(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) && len(a) == len(b)
}

// TestReadStreamSnapshot: a stream of a remote feed yields exactly its
// blocks, and by default stops at the length it started with although the
// writer appends while it reads (JS snapshot: true); with NoSnapshot it
// reads the appended blocks too.
func TestReadStreamSnapshot(t *testing.T) {
	w := blocksFeed(t, 10)
	ctx := ctx5(t)
	r := sparseClone(t, ctx, w)
	if r.Downloaded(0, 0) != 0 {
		t.Fatalf("the clone holds %d blocks before reading", r.Downloaded(0, 0))
	}
	var got []string
	for b, err := range r.ReadStream(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 2 {
			w.Append([]byte("block 10"), []byte("block 11"))
			if err := r.Update(ctx, 12); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, string(b))
	}
	if want := blockNames(0, 10); !sameStrings(got, want) {
		t.Fatalf("ReadStream(snapshot) = %q, want %q", got, want)
	}

	got = nil
	for b, err := range r.ReadStream(ctx, &ReadStreamOptions{Start: 8, NoSnapshot: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			w.Append([]byte("block 12"))
			if err := r.Update(ctx, 13); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, string(b))
	}
	if want := blockNames(8, 13); !sameStrings(got, want) {
		t.Fatalf("ReadStream(NoSnapshot) = %q, want %q", got, want)
	}
}

// TestReadStreamRange: Start and End, their edges, and Tail.
func TestReadStreamRange(t *testing.T) {
	w := blocksFeed(t, 10)
	ctx := ctx5(t)
	r := sparseClone(t, ctx, w)
	for _, c := range []struct {
		opts     ReadStreamOptions
		from, to int
	}{
		{ReadStreamOptions{Start: 3, End: 7}, 3, 7},
		{ReadStreamOptions{Start: 9}, 9, 10},
		{ReadStreamOptions{Start: 10}, 0, 0},
		{ReadStreamOptions{Start: 12}, 0, 0},
		{ReadStreamOptions{Start: 5, End: 5}, 0, 0},
		{ReadStreamOptions{Start: 6, End: 4}, 0, 0},
		{ReadStreamOptions{End: 1}, 0, 1},
		{ReadStreamOptions{Tail: true}, 0, 0},
		{ReadStreamOptions{Start: 2, End: 10}, 2, 10},
	} {
		got, err := collect(r.ReadStream(ctx, &c.opts), -1)
		if want := blockNames(c.from, c.to); err != nil || !sameStrings(got, want) {
			t.Errorf("ReadStream(%+v) = %q, %v, want %q", c.opts, got, err, want)
		}
	}
	// the caller may stop early
	if got, _ := collect(r.ReadStream(ctx, nil), 2); !sameStrings(got, blockNames(0, 2)) {
		t.Errorf("the first two blocks = %q", got)
	}
	// only the blocks read were downloaded
	if n := r.Downloaded(0, 0); n != 10 {
		t.Errorf("the clone downloaded %d blocks, want 10", n)
	}
}

// TestReadStreamLive: a live stream yields the blocks appended while it
// reads, waits past the end, and stops with ctx.Err() when ctx is
// cancelled; Tail with Live yields only the new blocks.
func TestReadStreamLive(t *testing.T) {
	w := blocksFeed(t, 3)
	ctx := ctx5(t)
	r := sparseClone(t, ctx, w)
	for _, tail := range []bool{false, true} {
		sctx, cancel := context.WithCancel(ctx)
		from := 0
		if tail {
			from = int(w.Length())
			// appends start once the stream has read the length
			time.AfterFunc(100*time.Millisecond, func() { appendLater(w, from+5) })
		}
		var got []string
		var end error
		for b, err := range r.ReadStream(sctx, &ReadStreamOptions{Live: true, Tail: tail}) {
			if err != nil {
				end = err
				break
			}
			got = append(got, string(b))
			switch len(got) {
			case 3:
				if !tail {
					appendLater(w, 5) // blocks 3 and 4 come while the stream waits
				}
			case 5:
				// the stream waits past the end until it is cancelled
				time.AfterFunc(50*time.Millisecond, cancel)
			}
		}
		cancel()
		if !errors.Is(end, context.Canceled) {
			t.Fatalf("tail %v: a live stream ended with %v, want context.Canceled", tail, end)
		}
		if want := blockNames(from, from+5); !sameStrings(got, want) {
			t.Fatalf("tail %v: live stream = %q, want %q", tail, got, want)
		}
	}
}

// TestReadStreamWriterLive: a live stream of a writable feed waits for
// its own appends even with no peer connected.
func TestReadStreamWriterLive(t *testing.T) {
	w := blocksFeed(t, 1)
	ctx, cancel := context.WithCancel(ctx5(t))
	appendLater(w, 4)
	got, _ := collect(w.ReadStream(ctx, &ReadStreamOptions{Live: true}), 4)
	cancel()
	if want := blockNames(0, 4); !sameStrings(got, want) {
		t.Fatalf("live stream of the writer = %q, want %q", got, want)
	}
}

// TestReadStreamNoPeers: a stream waiting for a block when its only peer
// leaves ends with ErrNoPeers.
func TestReadStreamNoPeers(t *testing.T) {
	w := blocksFeed(t, 3)
	ctx := ctx5(t)
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	_, rr, ca, _ := tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	if err := r.Update(ctx, 3); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		got, err := collect(r.ReadStream(ctx, &ReadStreamOptions{Live: true}), -1)
		if len(got) != 3 {
			err = fmt.Errorf("read %q before the end, want 3 blocks (%v)", got, err)
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	ca.Close()
	within(t, rr, 2*time.Second, "the reader's session")
	if err := within(t, done, 2*time.Second, "the stream"); !errors.Is(err, ErrNoPeers) {
		t.Fatalf("the stream ended with %v, want ErrNoPeers", err)
	}
}

// appendLater appends blocks named after their index to w, one every few
// milliseconds, until it has n blocks.
func appendLater(w *Feed, n int) {
	go func() {
		for int(w.Length()) < n {
			time.Sleep(5 * time.Millisecond)
			w.Append([]byte(fmt.Sprintf("block %d", w.Length())))
		}
	}()
}

// sizedFeed is a writer whose blocks have the given sizes; it returns the
// blocks' bytes concatenated. Block i is filled with byte i+1.
func sizedFeed(t testing.TB, sizes []int) (*Feed, []byte) {
	kp := testKeyPair(t)
	w, err := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	var bs [][]byte
	for i, n := range sizes {
		b := bytes.Repeat([]byte{byte(i + 1)}, n)
		bs = append(bs, b)
		all = append(all, b...)
	}
	if _, err := w.Append(bs...); err != nil {
		t.Fatal(err)
	}
	return w, all
}

// TestReaderCopy: io.Copy of a remote feed's Reader is its blocks
// concatenated, empty blocks included.
func TestReaderCopy(t *testing.T) {
	w, want := sizedFeed(t, []int{5, 0, 1, 300, 0, 0, 17, 4096, 0, 2})
	defer w.Close()
	ctx := ctx5(t)
	r := sparseClone(t, ctx, w)
	rd := r.NewReader(ctx, nil)
	defer rd.Close()
	var got bytes.Buffer
	if n, err := io.Copy(&got, rd); err != nil || n != int64(len(want)) {
		t.Fatalf("io.Copy = %d, %v, want %d bytes", n, err, len(want))
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("io.Copy copied %x, want %x", got.Bytes(), want)
	}
	if n := r.Downloaded(0, 0); n != 10 {
		t.Fatalf("the clone holds %d blocks after io.Copy, want 10", n)
	}
}

// TestReaderSeek: Seek to every kind of offset, then Read, returns the
// feed's bytes from there; past the end Read is io.EOF; after a Seek only
// the blocks read are downloaded (the seek itself fetches proofs without
// blocks). Block sizes, offsets and read lengths are random.
func TestReaderSeek(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		sizes := rapid.SliceOfN(rapid.IntRange(0, 40), 1, 40).Draw(rt, "sizes")
		w, all := sizedFeed(t, sizes)
		defer w.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r := sparseClone(t, ctx, w)
		defer r.Close()
		// block i holds bytes [starts[i], starts[i+1])
		starts := []int{0}
		for _, n := range sizes {
			starts = append(starts, starts[len(starts)-1]+n)
		}
		interesting := rapid.SampledFrom(append(starts, len(all)+1, len(all)+7)).Draw(rt, "boundary")
		anywhere := rapid.IntRange(0, len(all)+3).Draw(rt, "anywhere")
		offset := rapid.SampledFrom([]int{0, interesting, anywhere, len(all)}).Draw(rt, "offset")
		whence := rapid.SampledFrom([]int{io.SeekStart, io.SeekCurrent, io.SeekEnd}).Draw(rt, "whence")
		size := rapid.IntRange(1, 100).Draw(rt, "read")

		rd := r.NewReader(ctx, nil)
		defer rd.Close()
		rel := int64(offset)
		switch whence {
		case io.SeekCurrent:
			// from a first seek somewhere else
			first := rapid.IntRange(0, len(all)).Draw(rt, "first")
			if _, err := rd.Seek(int64(first), io.SeekStart); err != nil {
				rt.Fatal(err)
			}
			rel = int64(offset - first)
		case io.SeekEnd:
			rel = int64(offset - len(all))
		}
		if pos, err := rd.Seek(rel, whence); err != nil || pos != int64(offset) {
			rt.Fatalf("Seek(%d, %d) = %d, %v, want %d", rel, whence, pos, err, offset)
		}
		buf := make([]byte, size)
		n, err := io.ReadFull(rd, buf)
		want := all[min(offset, len(all)):min(offset+size, len(all))]
		if !bytes.Equal(buf[:n], want) {
			rt.Fatalf("after Seek(%d): read %x, want %x", offset, buf[:n], want)
		}
		switch {
		case len(want) == size && err != nil:
			rt.Fatalf("after Seek(%d): ReadFull(%d) = %v", offset, size, err)
		case len(want) == 0 && err != io.EOF:
			rt.Fatalf("after Seek(%d) at or past the end: ReadFull = %v, want io.EOF", offset, err)
		case len(want) > 0 && len(want) < size && err != io.ErrUnexpectedEOF:
			rt.Fatalf("after Seek(%d): ReadFull = %v, want io.ErrUnexpectedEOF", offset, err)
		}
		// only blocks in the bytes read, and empty blocks among them, were
		// downloaded
		lo, hi := offset, offset+n
		for i := range sizes {
			s, e := starts[i], starts[i+1]
			needed := (s < e && s < hi && lo < e) || (s == e && lo <= s && s <= hi)
			if r.Has(uint64(i)) && !needed {
				rt.Fatalf("after reading bytes [%d, %d): block %d (bytes [%d, %d)) was downloaded", lo, hi, i, s, e)
			}
		}
	})
}

// TestReaderSeekErrors: a negative result and an unknown whence are
// ErrOutOfRange and leave the offset; Read after Close is ErrClosed, and
// Close ends a Read that waits.
func TestReaderSeekErrors(t *testing.T) {
	w := blocksFeed(t, 3)
	rd := w.NewReader(context.Background(), nil)
	rd.Seek(4, io.SeekStart)
	for _, c := range []struct {
		off    int64
		whence int
	}{{-1, io.SeekStart}, {-5, io.SeekCurrent}, {-100, io.SeekEnd}, {0, 7}} {
		if pos, err := rd.Seek(c.off, c.whence); !errors.Is(err, ErrOutOfRange) || pos != 4 {
			t.Errorf("Seek(%d, %d) = %d, %v, want 4, ErrOutOfRange", c.off, c.whence, pos, err)
		}
	}
	buf := make([]byte, 3)
	if n, err := rd.Read(buf); err != nil || string(buf[:n]) != "k 0" {
		t.Errorf("Read at 4 = %q, %v, want \"k 0\"", buf[:n], err)
	}
	rd.Close()
	if _, err := rd.Read(buf); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}

	// a clone with no peer waits for block 0 until Close
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	ctx := ctx5(t)
	tcpPair(t, ctx, w, r, ReplicateOptions{Live: true}, ReplicateOptions{Live: true})
	if err := r.Update(ctx, 3); err != nil {
		t.Fatal(err)
	}
	w.Close() // the peer goes; WaitForPeers keeps the read waiting
	rd = r.NewReader(ctx, &GetOptions{WaitForPeers: true})
	done := make(chan error, 1)
	go func() { _, err := rd.Read(buf); done <- err }()
	time.Sleep(50 * time.Millisecond)
	rd.Close()
	if err := within(t, done, 2*time.Second, "a Read that waits, after Close"); !errors.Is(err, ErrClosed) {
		t.Fatalf("a waiting Read after Close = %v, want ErrClosed", err)
	}
}

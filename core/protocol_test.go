package core

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/merkle"
)

// TestThousandFeeds replicates 1000 feeds over one connection: every clone
// completes and the session ends on its own (not live).
func TestThousandFeeds(t *testing.T) {
	const feeds = 1000
	var writers, readers []*Feed
	for i := 0; i < feeds; i++ {
		seed := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 16)
		kp, _ := merkle.NewKeyPairFromSeed(seed)
		w, err := Create(storage.NewMemory(), &Options{KeyPair: &kp})
		if err != nil {
			t.Fatal(err)
		}
		w.Append([]byte(fmt.Sprintf("feed %d block 0", i)), []byte(fmt.Sprintf("feed %d block 1", i)))
		r, _ := Open(storage.NewMemory(), &Options{Key: w.Key()})
		writers, readers = append(writers, w), append(readers, r)
	}
	defer func() {
		for i := range writers {
			writers[i].Close()
			readers[i].Close()
		}
	}()
	a, b := net.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pa := make(chan *Protocol, 1)
	go func() {
		p, err := NewProtocol(ctx, a, &ReplicateOptions{Initiator: true})
		if err != nil {
			t.Error(err)
		}
		pa <- p
	}()
	pb, err := NewProtocol(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := <-pa
	for i := range writers {
		if _, err := p.Add(writers[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := pb.Add(readers[i]); err != nil {
			t.Fatal(err)
		}
	}
	ea := make(chan error, 1)
	go func() { ea <- p.Run(ctx) }()
	if err := pb.Run(ctx); err != nil {
		t.Fatalf("reader side Run = %v", err)
	}
	if err := <-ea; err != nil {
		t.Fatalf("writer side Run = %v", err)
	}
	for i, r := range readers {
		got, err := r.Get(1)
		if err != nil || string(got) != fmt.Sprintf("feed %d block 1", i) {
			t.Fatalf("feed %d: Get(1) = %q, %v", i, got, err)
		}
	}
}

// TestReplicationSchedules runs random schedules of appends, gets,
// downloads, connects and disconnects between a writer and up to three
// readers, then connects everyone: every reader's blocks equal the
// writer's, and nothing unverified is stored.
func TestReplicationSchedules(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		kp := testKeyPair(t)
		w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
		defer w.Close()
		nreaders := rapid.IntRange(1, 3).Draw(rt, "readers")
		peers := []*Feed{w}
		for i := 0; i < nreaders; i++ {
			r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: rapid.Bool().Draw(rt, "sparse")})
			defer r.Close()
			peers = append(peers, r)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		type link struct{ a, b net.Conn }
		links := map[[2]int]link{}
		errs := make(chan string, 100)
		drain := func() (s string) {
			for {
				select {
				case e := <-errs:
					s += e + "\n"
				default:
					return s
				}
			}
		}
		connect := func(i, j int) {
			if i == j || links[[2]int{i, j}].a != nil || links[[2]int{j, i}].a != nil {
				return
			}
			a, b := net.Pipe()
			links[[2]int{i, j}] = link{a, b}
			go func() {
				err := peers[i].Replicate(ctx, a, &ReplicateOptions{Initiator: true, Live: true})
				errs <- fmt.Sprintf("%d-%d initiator: %v", i, j, err)
			}()
			go func() {
				err := peers[j].Replicate(ctx, b, &ReplicateOptions{Live: true})
				errs <- fmt.Sprintf("%d-%d responder: %v", i, j, err)
			}()
		}
		for step := 0; step < 25; step++ {
			switch rapid.IntRange(0, 4).Draw(rt, "op") {
			case 0:
				n := rapid.IntRange(1, 5).Draw(rt, "append")
				var bs [][]byte
				for k := 0; k < n; k++ {
					bs = append(bs, []byte(fmt.Sprintf("b%d-%d", step, k)))
				}
				w.Append(bs...)
			case 1:
				connect(rapid.IntRange(0, nreaders).Draw(rt, "i"), rapid.IntRange(0, nreaders).Draw(rt, "j"))
			case 2:
				for key, l := range links {
					if rapid.IntRange(0, 3).Draw(rt, "drop") == 0 {
						l.a.Close()
						delete(links, key)
					}
				}
			case 3:
				r := peers[rapid.IntRange(1, nreaders).Draw(rt, "reader")]
				if w.Length() > 0 {
					i := rapid.Uint64Range(0, w.Length()-1).Draw(rt, "get")
					gctx, gcancel := context.WithTimeout(ctx, 50*time.Millisecond)
					r.GetContext(gctx, i) // may time out when not connected
					gcancel()
				}
			case 4:
				time.Sleep(time.Millisecond)
			}
		}
		// connect every reader to the writer and download everything
		for i := 1; i <= nreaders; i++ {
			connect(0, i)
		}
		n := w.Length()
		for i := 1; i <= nreaders; i++ {
			r := peers[i]
			if n > 0 {
				// the links of the schedule end while these connect: wait
				// for peers rather than fail when the last one leaves
				if err := r.UpdateWith(ctx, &UpdateOptions{MinLength: n, WaitForPeers: true}); err != nil && r.Length() < n {
					rt.Fatalf("reader %d Update: %v\n%s\nwriter: %s\nended: %s", i, err, r.debugState(), w.debugState(), drain())
				}
				if err := r.DownloadWith(ctx, 0, n, &DownloadOptions{WaitForPeers: true}); err != nil {
					rt.Fatalf("reader %d Download: %v", i, err)
				}
			}
			for k := uint64(0); k < n; k++ {
				want, _ := w.Get(k)
				got, err := r.Get(k)
				if err != nil || !bytes.Equal(got, want) {
					rt.Fatalf("reader %d block %d = %q, %v; want %q", i, k, got, err, want)
				}
			}
			if rep, err := r.Audit(); err != nil || rep.Invalid != 0 {
				rt.Fatalf("reader %d Audit = %+v, %v", i, rep, err)
			}
		}
		for _, l := range links {
			l.a.Close()
			l.b.Close()
		}
	})
}

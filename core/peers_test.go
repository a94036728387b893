package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/session"
)

// liar is a scripted peer for feed w that speaks the protocol but lies in
// the way mode says.
type liar struct {
	w    *Feed
	mode string
	ch   *session.Channel
}

func (l *liar) Opened(ch *session.Channel) {
	l.ch = ch
	ch.Send(message.NewStatus(true, false))
}

func (l *liar) Message(ch *session.Channel, m message.Message) {
	switch m := m.(type) {
	case *message.Want:
		n := l.w.Length()
		ch.Send(&message.Have{Start: 0, Length: message.Uint64(n)})
	case *message.Request:
		if l.mode == "silent" || m.Index >= l.w.Length() || (l.mode == "have-absent" && m.Index >= 150) {
			return // never answers (times out); have-absent "lacks" blocks from 150
		}
		p, err := l.w.LowLevel().Proof(m.Index, m.GetNodes(), m.GetHash(), nil)
		if err != nil {
			return
		}
		v, _ := l.w.Get(m.Index)
		d := &message.Data{Index: m.Index, Value: v, Signature: p.Signature}
		for _, n := range p.Nodes {
			d.Nodes = append(d.Nodes, message.Node{Index: n.Index, Hash: append([]byte(nil), n.Hash[:]...), Size: n.Size})
		}
		switch l.mode {
		case "bad-value":
			d.Value = append([]byte("x"), d.Value[1:]...)
		case "bad-node":
			if len(d.Nodes) > 0 {
				d.Nodes[0].Hash[0] ^= 1
			}
		case "bad-signature":
			if d.Signature != nil {
				d.Signature[5] ^= 1
			}
		}
		ch.Send(d)
	}
}

func (l *liar) Closed(*session.Channel, error) {}

// serveLiar runs a lying peer on conn.
func serveLiar(ctx context.Context, t *testing.T, conn net.Conn, w *Feed, mode string) chan error {
	done := make(chan error, 1)
	go func() {
		s, err := session.New(ctx, conn, session.Config{Live: true, Timeout: 2 * time.Second})
		if err != nil {
			done <- err
			return
		}
		s.Open(w.Key(), &liar{w: w, mode: mode})
		done <- s.Run(ctx)
	}()
	return done
}

func blocksFeed(t *testing.T, n int) *Feed {
	t.Helper()
	kp := testKeyPair(t)
	w, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
	t.Cleanup(func() { w.Close() })
	var bs [][]byte
	for i := 0; i < n; i++ {
		bs = append(bs, []byte(fmt.Sprintf("block %d", i)))
	}
	w.Append(bs...)
	return w
}

// TestLyingPeers: a reader connected to one lying peer and one honest peer
// drops the liar (its session ends with a typed error), stores nothing
// unverified, and completes the download from the honest peer.
func TestLyingPeers(t *testing.T) {
	for _, mode := range []string{"bad-value", "bad-node", "bad-signature", "have-absent", "silent"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			w := blocksFeed(t, 300)
			r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			// the liar first, so it gets requests
			la, lb := net.Pipe()
			serveLiar(ctx, t, la, w, mode)
			liarEnd := make(chan error, 1)
			go func() {
				liarEnd <- r.Replicate(ctx, lb, &ReplicateOptions{Initiator: true, Live: true, Timeout: 2 * time.Second})
			}()
			// wait until the liar announced its blocks
			for deadline := time.Now().Add(5 * time.Second); ; {
				ps := r.Peers()
				if len(ps) == 1 && ps[0].RemoteLength() > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the liar never announced")
				}
				time.Sleep(5 * time.Millisecond)
			}
			dl := make(chan error, 1)
			// the download outlives the liar: it waits for the honest
			// peer that connects later
			go func() { dl <- r.DownloadWith(ctx, 0, 300, &DownloadOptions{WaitForPeers: true}) }()
			var liarErr error
			select {
			case liarErr = <-liarEnd:
			case <-time.After(10 * time.Second):
				t.Fatal("the liar was not dropped")
			}
			wantErr := map[string]error{
				"bad-value": ErrInvalidProof, "bad-node": ErrInvalidProof, "bad-signature": ErrInvalidProof,
				"have-absent": ErrRequestTimeout, "silent": ErrRequestTimeout,
			}[mode]
			if mode == "bad-signature" || mode == "bad-value" || mode == "bad-node" {
				if !errIsVerification(liarErr) {
					t.Fatalf("liar dropped with %v, want a verification error", liarErr)
				}
			} else if !errors.Is(liarErr, wantErr) && !errors.Is(liarErr, session.ErrTimeout) {
				t.Fatalf("liar dropped with %v, want %v", liarErr, wantErr)
			}
			// nothing unverified is stored: every stored block is correct
			if rep, err := r.Audit(); err != nil || rep.Invalid != 0 {
				t.Fatalf("Audit after the liar = %+v, %v", rep, err)
			}
			// now an honest peer
			ha, hb := net.Pipe()
			go w.Replicate(ctx, ha, &ReplicateOptions{Initiator: true, Live: true})
			go r.Replicate(ctx, hb, &ReplicateOptions{Live: true})
			if err := <-dl; err != nil {
				t.Fatalf("Download = %v", err)
			}
			if r.Downloaded(0, 0) != 300 {
				t.Fatalf("downloaded %d", r.Downloaded(0, 0))
			}
			if rep, err := r.Audit(); err != nil || rep.Invalid != 0 || rep.Valid != 300 {
				t.Fatalf("Audit = %+v, %v", rep, err)
			}
		})
	}
}

// TestManyPeers: a reader downloads from three honest peers at once, one of
// which goes away mid-transfer; every block is downloaded exactly once
// (the peers together send each block once).
func TestManyPeers(t *testing.T) {
	w := blocksFeed(t, 5000)
	// two more full copies
	copies := []*Feed{w}
	for k := 0; k < 2; k++ {
		c, _ := Open(storage.NewMemory(), &Options{Key: w.Key()})
		defer c.Close()
		a, b := net.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		go w.Replicate(ctx, a, &ReplicateOptions{Initiator: true})
		if err := c.Replicate(ctx, b, nil); err != nil {
			t.Fatal(err)
		}
		cancel()
		if c.Downloaded(0, 0) != 5000 {
			t.Fatalf("copy %d has %d blocks", k, c.Downloaded(0, 0))
		}
		copies = append(copies, c)
	}
	r, _ := Open(storage.NewMemory(), &Options{Key: w.Key(), Sparse: true})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var conns []net.Conn
	for _, c := range copies {
		a, b := net.Pipe()
		conns = append(conns, a)
		go c.Replicate(ctx, a, &ReplicateOptions{Initiator: true, Live: true})
		go r.Replicate(ctx, b, &ReplicateOptions{Live: true})
	}
	sub := r.Subscribe()
	defer sub.Close()
	var seenMu sync.Mutex
	seen := map[*Peer]*Peer{}
	go func() {
		n := 0
		for e := range sub.C {
			if e.Peer != nil {
				seenMu.Lock()
				seen[e.Peer] = e.Peer
				seenMu.Unlock()
			}
			if e.Type == EventDownload {
				if n++; n == 1000 {
					conns[1].Close() // a peer goes away mid-transfer
				}
			}
		}
	}()
	if err := r.Download(ctx, 0, 5000); err != nil {
		t.Fatal(err)
	}
	// events arrive asynchronously: wait until every peer has been seen
	for i := 0; i < 500; i++ {
		seenMu.Lock()
		n := len(seen)
		seenMu.Unlock()
		if n == len(copies) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var sum uint64
	seenMu.Lock()
	defer seenMu.Unlock()
	for _, p := range seen {
		sum += p.Stats().DownloadedBlocks
	}
	if sum != 5000 {
		t.Fatalf("peers sent %d blocks in all, want 5000 (each once)", sum)
	}
	st := r.Stats()
	if st.DownloadedBlocks != 5000 || r.Downloaded(0, 0) != 5000 {
		t.Fatalf("downloaded %d blocks (stats %d); want each of 5000 once", r.Downloaded(0, 0), st.DownloadedBlocks)
	}
	if rep, err := r.Audit(); err != nil || rep.Invalid != 0 {
		t.Fatalf("Audit = %+v, %v", rep, err)
	}
}

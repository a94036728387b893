package main

// The Hypercore 11 side of the tool: cores of package v11/core in
// directories (storage.OpenDir, laid out as spec/v11/storage.md says).
//
// create, append, truncate, serve and clone go through a *core11.Core.
// get, cat and verify read the store under it (package v11/core/store)
// through a reader11, because they check what is stored against the tree,
// which a Core does not expose: get and cat check each block against its
// leaf hash as the Hypercore 9 commands do, and verify re-hashes every
// stored block up to the signed roots. info takes the core's Info and
// counts the blocks held in the store.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/flattree"
	core11 "github.com/hypercore-go/hypercore/v11/core"
	"github.com/hypercore-go/hypercore/v11/core/store"
	"github.com/hypercore-go/hypercore/v11/merkle"
	"github.com/hypercore-go/hypercore/v11/wire"
)

// headerMagic11 opens every Hypercore 11 header slot (spec/v11/storage.md,
// "Header slots"): "hc11hdr" and the format version 1.
var headerMagic11 = [8]byte{'h', 'c', '1', '1', 'h', 'd', 'r', '1'}

// openTimeout bounds the wait of clone --v11 for the peer's first sync of
// the core: a peer that does not have the core rejects its channel, which
// the replication does not report (see the README).
const openTimeout = 10 * time.Second

// forkPoll is how often a clone waiting for the log to change looks for a
// new fork.
const forkPoll = 20 * time.Millisecond

func create11(dir string, stdout io.Writer) error {
	if err := checkEmpty(dir); err != nil {
		return err
	}
	s, err := storage.OpenDir(dir)
	if err != nil {
		return err
	}
	c, err := core11.Create(s, nil)
	if err != nil {
		s.Discard()
		return err
	}
	defer c.Close()
	key := c.Key()
	_, err = fmt.Fprintln(stdout, hex.EncodeToString(key[:]))
	return err
}

// openCore11 opens the Hypercore 11 core in dir, which holds one.
func openCore11(dir string) (*core11.Core, error) {
	s, err := storage.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	c, err := core11.Open(s, nil)
	if err != nil {
		s.Close()
		if errors.Is(err, core11.ErrNoKey) {
			return nil, fmt.Errorf("%s: %w", dir, errNoCore)
		}
		return nil, err
	}
	return c, nil
}

// truncate is hypercore truncate: Hypercore 11 cores only (a Hypercore 9
// feed cannot be truncated).
func truncate(dir string, length uint64, stdout io.Writer) error {
	gen, err := generation(dir)
	if err != nil {
		return err
	}
	if gen != 11 {
		return fmt.Errorf("%s holds a Hypercore %d feed, which cannot be truncated (truncate works on Hypercore 11 cores only)", dir, gen)
	}
	c, err := openCore11(dir)
	if err != nil {
		return err
	}
	defer c.Close()
	if !c.Writable() {
		return fmt.Errorf("%s: the core is not writable (no secret key)", dir)
	}
	if n := c.Length(); length > n {
		return fmt.Errorf("LENGTH %d is past the length of the core (%d)", length, n)
	}
	if err := c.Truncate(length); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, c.Length())
	return err
}

// A reader11 reads a Hypercore 11 core's store: its header (the signed
// tree), nodes and blocks.
type reader11 struct {
	st *store.Store
	h  store.Header
}

// openReader11 opens the store of the Hypercore 11 core in dir. A writer's
// truncation that a killed process left unfinished is finished first, by
// opening the core (core11.Open does), so that what is read is the core a
// Core would see.
func openReader11(dir string) (*reader11, error) {
	for range 2 {
		s, err := storage.OpenDir(dir)
		if err != nil {
			return nil, err
		}
		st, err := store.Open(s, nil)
		if err != nil {
			s.Close()
			return nil, err
		}
		if !st.HasHeader() {
			st.Close()
			return nil, fmt.Errorf("%s: %w", dir, errNoCore)
		}
		h := st.Header()
		if !h.Truncating || h.SecretKey == nil {
			return &reader11{st: st, h: h}, nil
		}
		st.Close()
		c, err := openCore11(dir)
		if err != nil {
			return nil, err
		}
		c.Close()
	}
	return nil, fmt.Errorf("%s: an interrupted truncation could not be finished", dir)
}

func (r *reader11) Close() error   { return r.st.Close() }
func (r *reader11) Length() uint64 { return r.h.Tree.Length }

func (r *reader11) Has(i uint64) bool { return i < r.h.Tree.Length && r.st.Has(i) }

// HasRange reports whether blocks [start, end) are all stored.
func (r *reader11) HasRange(start, end uint64) bool {
	if start >= end {
		return true
	}
	if end > r.h.Tree.Length {
		return false
	}
	next, err := r.st.FirstMissing(start)
	return err == nil && next >= end
}

// Downloaded counts the stored blocks in [start, end), run by run.
func (r *reader11) Downloaded(start, end uint64) uint64 {
	end = min(end, r.h.Tree.Length)
	var n uint64
	for i := start; i < end; {
		first, ok, err := r.st.FirstPresent(i)
		if err != nil || !ok || first >= end {
			break
		}
		next, err := r.st.FirstMissing(first)
		if err != nil {
			break
		}
		next = min(next, end)
		n += next - first
		i = next
	}
	return n
}

// Get returns block i checked against its stored leaf node, as a
// Hypercore 9 feed's Get is.
func (r *reader11) Get(i uint64) ([]byte, error) {
	if i >= r.h.Tree.Length {
		return nil, fmt.Errorf("%w: %d, length %d", core11.ErrOutOfRange, i, r.h.Tree.Length)
	}
	data, ok, err := r.st.Block(i)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", i, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %d", core11.ErrNotAvailable, i)
	}
	leaf, ok, err := r.st.Node(2 * i)
	if err != nil || !ok {
		return nil, fmt.Errorf("block %d: its leaf node is not stored (%v)", i, err)
	}
	if got := merkle.LeafNode(2*i, data); got.Hash != leaf.Hash || got.Size != leaf.Size {
		return nil, fmt.Errorf("block %d does not match its leaf hash", i)
	}
	return data, nil
}

// info11 describes the Hypercore 11 core in dir: what the core says of
// itself (core11.Core.Info: key, lengths, fork, and whether its key pair
// can sign alone), and the blocks its store holds.
func info11(dir string) (feedInfo, error) {
	c, err := openCore11(dir)
	if err != nil {
		return feedInfo{}, err
	}
	ci := c.Info()
	c.Close()
	r, err := openReader11(dir)
	if err != nil {
		return feedInfo{}, err
	}
	defer r.Close()
	return feedInfo{
		Key:          hex.EncodeToString(ci.Key[:]),
		DiscoveryKey: hex.EncodeToString(ci.DiscoveryKey[:]),
		Length:       ci.Length,
		ByteLength:   ci.ByteLength,
		Writable:     ci.Writable,
		Downloaded:   r.Downloaded(0, ci.Length),
		Version:      11,
		Fork:         ci.Fork,
	}, nil
}

// check is verify of a Hypercore 11 core: the signature of the signed tree
// by the manifest's rules, then every stored block against its leaf node
// and the path of stored nodes above it up to the signed roots. A node is
// checked once (checked remembers the ones whose path up is good); a path
// stops, unchecked above, where a sibling is not stored (a sparse clone
// holds the nodes of its blocks' proofs, which reach a root).
func (r *reader11) check() (checkReport, error) {
	var rep checkReport
	t := &r.h.Tree
	if t.Length > 0 || len(r.h.Signature) > 0 {
		rep.signature = r.verifySignature()
	}
	roots := map[uint64]merkle.Node{}
	for _, n := range t.Roots {
		roots[n.Index] = n
	}
	checked := map[uint64]bool{}
	bad := func(i uint64) {
		if rep.invalid == 0 {
			rep.firstInvalid = i
		}
		rep.invalid++
	}
	for i := uint64(0); i < t.Length; i++ {
		first, ok, err := r.st.FirstPresent(i)
		if err != nil {
			return rep, err
		}
		if !ok || first >= t.Length {
			break
		}
		i = first
		data, err := r.Get(i)
		if err != nil {
			bad(i)
			continue
		}
		if r.pathOK(merkle.LeafNode(2*i, data), roots, checked) {
			rep.valid++
		} else {
			bad(i)
		}
	}
	return rep, nil
}

// pathOK checks n and its ancestors against the stored nodes and the signed
// roots, and marks the nodes whose path up is good in checked.
func (r *reader11) pathOK(n merkle.Node, roots map[uint64]merkle.Node, checked map[uint64]bool) bool {
	var path []uint64
	ok := true
	for !checked[n.Index] {
		path = append(path, n.Index)
		if root, isRoot := roots[n.Index]; isRoot {
			ok = root.Hash == n.Hash && root.Size == n.Size
			break
		}
		sib, has, err := r.st.Node(flattree.Sibling(n.Index))
		if err != nil {
			return false
		}
		if !has {
			break // nothing stored to check the path above against
		}
		var p merkle.Node
		if sib.Index < n.Index {
			p = merkle.ParentNode(sib, n)
		} else {
			p = merkle.ParentNode(n, sib)
		}
		if stored, has, err := r.st.Node(p.Index); err != nil || has && (stored.Hash != p.Hash || stored.Size != p.Size) {
			ok = false
			break
		}
		n = p
	}
	if ok {
		for _, i := range path {
			checked[i] = true
		}
	}
	return ok
}

// verifySignature checks the stored signature of the signed tree.
func (r *reader11) verifySignature() error {
	var m *merkle.Manifest
	if len(r.h.Manifest) > 0 {
		var err error
		if m, err = merkle.DecodeManifest(r.h.Manifest); err != nil {
			return err
		}
	} else if !r.h.Compat {
		return errors.New("no manifest is stored to check it by")
	}
	v, err := merkle.NewVerifier(r.h.Key, m, merkle.VerifierOptions{})
	if err != nil {
		return err
	}
	return v.Verify(&r.h.Tree, r.h.Signature)
}

// remote11 is what clone --v11 learns of the peer from the messages it
// receives (ReplicateOptions.Trace): its fork and length, and the block
// bytes it sent.
type remote11 struct {
	mu           sync.Mutex
	synced       bool
	fork, length uint64
	changed      chan struct{} // gets a value when a sync arrives
	bytes        atomic.Uint64
}

// trace is a ReplicateOptions.Trace; it never blocks.
func (r *remote11) trace(sent bool, m wire.Message) {
	if sent {
		return
	}
	switch m := m.(type) {
	case *wire.Sync:
		r.mu.Lock()
		r.synced, r.fork, r.length = true, m.Fork, m.Length
		r.mu.Unlock()
		select {
		case r.changed <- struct{}{}:
		default:
		}
	case *wire.Data:
		if m.Block != nil {
			r.bytes.Add(uint64(len(m.Block.Value)))
		}
	}
}

func (r *remote11) state() (synced bool, fork, length uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.synced, r.fork, r.length
}

// clone11 is hypercore clone --v11: it opens (or starts) the clone of key
// in dir, dials addr as the initiator, waits for the peer's length, and
// downloads what the flags ask for (replication.md, "Replicating").
func clone11(key [32]byte, dir, addr string, sparse bool, blocks []uint64, live bool, stdout, stderr io.Writer) error {
	if blocks != nil {
		sparse = true
	}
	if gen, _ := generation(dir); gen == 9 {
		return fmt.Errorf("%s holds a Hypercore %d feed: clone it without --v11", dir, gen)
	}
	s, err := storage.OpenDir(dir)
	if err != nil {
		return err
	}
	c, err := core11.Open(s, &core11.OpenOptions{Key: &key})
	if err != nil {
		s.Discard()
		if errors.Is(err, core11.ErrKeyMismatch) {
			return fmt.Errorf("%s holds another core than %x", dir, key)
		}
		return err
	}
	defer c.Close()
	ctx, stop := signalContext()
	defer stop()
	conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	remote := &remote11{changed: make(chan struct{}, 1)}
	done := make(chan error, 1)
	ended := make(chan struct{})
	go func() {
		done <- c.Replicate(ctx, conn, &core11.ReplicateOptions{Initiator: true, Trace: remote.trace})
		close(ended)
	}()
	// End the connection before the core closes: stop replicating and wait
	// for it.
	defer func() {
		stop()
		conn.Close()
		<-ended
	}()
	peerEnded := func(err error) error {
		if err == nil {
			err = errors.New("the peer ended the connection")
		}
		return err
	}

	// The peer's first sync says its fork and length; a peer that does not
	// have the core never sends one.
	select {
	case <-remote.changed:
	case err := <-done:
		return peerEnded(err)
	case <-ctx.Done():
		return nil
	case <-time.After(openTimeout):
		return fmt.Errorf("the peer does not have this core (it sent nothing for it in %v)", openTimeout)
	}
	_, fork, target := remote.state()
	if fork < c.Fork() {
		return fmt.Errorf("the peer's core is at fork %d, behind this clone's fork %d", fork, c.Fork())
	}

	// job runs f while the connection lasts: it returns f's error, or the
	// peer's end.
	job := func(f func() error) error {
		res := make(chan error, 1)
		go func() { res <- f() }()
		select {
		case err := <-res:
			return err
		case err := <-done:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			n := c.Length()
			return fmt.Errorf("with %d of %d blocks: %w", countHeld(c, 0, n), n, peerEnded(err))
		}
	}
	// reach brings the clone to the peer's fork (the core follows a
	// truncation by itself once it has seen the peer's newer fork), then to
	// its length on that fork (the core upgrades from a peer that has a
	// longer log at once).
	reach := func() error {
		for c.Fork() < fork {
			if err := waitChange(ctx, c, c.Fork(), c.Length()); err != nil {
				return err
			}
		}
		_, f, n := remote.state()
		for c.Fork() == f && c.Length() < n {
			if _, err := c.Update(ctx, c.Length()); err != nil {
				return err
			}
		}
		return nil
	}
	for _, b := range blocks {
		if b >= target {
			return fmt.Errorf("block %d is past the peer's length %d", b, target)
		}
	}
	stopProgress := progress11(c, remote, blocks, stderr)
	defer stopProgress()
	err = job(func() error {
		if err := reach(); err != nil {
			return err
		}
		switch {
		case blocks != nil:
			return downloadBlocks(ctx, c, blocks)
		case !sparse && c.Length() > 0:
			return c.Download(ctx, 0, c.Length())
		}
		return nil
	})
	if live && ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	length := c.Length()
	if !live || length > 0 {
		if _, err := fmt.Fprintln(stdout, length); err != nil {
			return err
		}
	}
	// live: each change of the log (an append, or a truncation and its
	// new fork), with its blocks downloaded unless sparse, prints the
	// length.
	for fork := c.Fork(); live; fork = c.Fork() {
		err := job(func() error {
			if err := waitChange(ctx, c, fork, length); err != nil {
				return err
			}
			length = c.Length()
			if !sparse {
				return c.Download(ctx, min(c.ContiguousLength(), length), length)
			}
			return nil
		})
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(stdout, length); err != nil {
			return err
		}
	}
	return nil
}

// waitChange waits until c's log changes from fork and length: a longer log
// (Core.Update waits for one), or another fork, which a Core does not
// signal, so it is looked for every forkPoll.
func waitChange(ctx context.Context, c *core11.Core, fork, length uint64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	longer := make(chan error, 1)
	go func() {
		_, err := c.Update(ctx, length)
		longer <- err
	}()
	t := time.NewTicker(forkPoll)
	defer t.Stop()
	for {
		select {
		case err := <-longer:
			return err
		case <-t.C:
			if c.Fork() != fork {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// downloadBlocks downloads the listed blocks (sorted, distinct), each run
// of consecutive ones as one Download, up to 64 runs at a time.
func downloadBlocks(ctx context.Context, c *core11.Core, blocks []uint64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, 64)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i := 0; i < len(blocks); {
		j := i + 1
		for j < len(blocks) && blocks[j] == blocks[j-1]+1 {
			j++
		}
		start, end := blocks[i], blocks[j-1]+1
		i = j
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := c.Download(ctx, start, end); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

// countHeld counts the blocks of [start, end) stored in c.
func countHeld(c *core11.Core, start, end uint64) uint64 {
	var n uint64
	for i := start; i < end; i++ {
		if c.Has(i) {
			n++
		}
	}
	return n
}

// progress11 draws a progress line on stderr while a clone downloads, when
// stderr is a terminal; otherwise it prints nothing.
func progress11(c *core11.Core, remote *remote11, blocks []uint64, stderr io.Writer) (stop func()) {
	return progressLine(stderr, func() (held, total, bytes uint64) {
		if blocks != nil {
			for _, b := range blocks {
				if c.Has(b) {
					held++
				}
			}
			total = uint64(len(blocks))
		} else {
			held, total = c.ContiguousLength(), c.Length()
		}
		return held, total, remote.bytes.Load()
	})
}

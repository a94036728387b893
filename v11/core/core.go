package core

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/v11/core/store"
	"github.com/hypercore-go/hypercore/v11/merkle"
)

// Errors of the feed (feed.md, "Errors"). Errors returned by a Core wrap
// one of these, or an error of v11/merkle or v11/core/store.
var (
	// ErrNotWritable: the core has no signing key (a clone), or its
	// manifest is not one this key pair can sign alone.
	ErrNotWritable = errors.New("core: not writable")
	// ErrOutOfRange: a block index at or past the length.
	ErrOutOfRange = errors.New("core: block index out of range")
	// ErrNotAvailable: the block is within the length but not stored here,
	// and the call was not allowed to wait for a peer.
	ErrNotAvailable = errors.New("core: block not available")
	// ErrClosed: the core was closed.
	ErrClosed = errors.New("core: closed")
	// ErrNoKey: Open of an empty storage without a key.
	ErrNoKey = errors.New("core: no key")
	// ErrKeyMismatch: the storage holds another core than the key given.
	ErrKeyMismatch = errors.New("core: storage holds another core")
	// ErrExists: Create on a storage that already holds a core.
	ErrExists = errors.New("core: storage already holds a core")
	// ErrInvalidLength: a truncation to a length above the current one, or
	// into the manifest's prologue.
	ErrInvalidLength = errors.New("core: invalid length")
	// ErrBlockTooBig: an appended block above MaxBlockSize.
	ErrBlockTooBig = errors.New("core: block too big")
)

// MaxBlockSize is the largest block Append takes, 15 MiB: JS hypercore
// refuses larger ones (MAX_SUGGESTED_BLOCK_SIZE, BAD_ARGUMENT), and a block
// must fit one secret-stream message with its proof.
const MaxBlockSize = 15 << 20

// CreateOptions say what kind of core Create makes (feed.md, "Kinds of
// core").
type CreateOptions struct {
	// KeyPair is the writer's Ed25519 key pair; nil: a new one from Rand.
	KeyPair ed25519.PrivateKey
	// Rand supplies the seed of a new key pair (nil: crypto/rand).
	Rand io.Reader
	// Compat makes a compat core: its key is the public key, signatures
	// are raw 64 bytes over the compat signable (JS { compat: true }).
	Compat bool
	// Manifest, when set, is the core's manifest (its key is the manifest's
	// hash); KeyPair must be one of its signers, and with a quorum above 1
	// the core cannot sign alone (Append returns ErrNotWritable).
	Manifest *merkle.Manifest
}

// OpenOptions configure Open.
type OpenOptions struct {
	// Key is the core's key. It is required for an empty storage (a new
	// clone) and, when given, must match what the storage holds.
	Key *[32]byte
}

// A Core is one Hypercore 11 log: its key, manifest, signed tree and the
// blocks stored here. It is safe for concurrent use.
type Core struct {
	mu     sync.Mutex
	st     *store.Store
	key    [32]byte
	dkey   [32]byte
	secret ed25519.PrivateKey // nil for a clone
	compat bool

	manifest    *merkle.Manifest // nil until known (a clone before its first upgrade)
	manifestRaw []byte
	verifier    *merkle.Verifier // nil until the manifest is known, unless compat

	tree      merkle.Tree // the signed tree: fork, length, roots
	signature []byte

	closed  bool
	waiters map[uint64][]chan struct{} // block index → Gets waiting for it
	changed chan struct{}              // closed and replaced on every change of length, fork or blocks

	repl *replicator
}

// Create makes a new writable core in s, which must be empty (feed.md,
// "Creating a core"). The Core owns s and closes it with Close; on error s
// is closed.
func Create(s storage.Storage, opts *CreateOptions) (*Core, error) {
	if opts == nil {
		opts = &CreateOptions{}
	}
	st, err := store.Open(s, nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	if st.HasHeader() {
		st.Close()
		return nil, ErrExists
	}
	secret := opts.KeyPair
	if secret == nil {
		secret, err = newKeyPair(opts.Rand)
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	if len(secret) != ed25519.PrivateKeySize {
		st.Close()
		return nil, fmt.Errorf("core: key pair of %d bytes, want %d", len(secret), ed25519.PrivateKeySize)
	}
	pub := [32]byte(secret.Public().(ed25519.PublicKey))
	var (
		key      [32]byte
		manifest *merkle.Manifest
	)
	switch {
	case opts.Manifest != nil:
		manifest = opts.Manifest
		if key, err = merkle.ManifestHash(manifest); err != nil {
			st.Close()
			return nil, err
		}
	case opts.Compat:
		key = pub
	default:
		manifest = merkle.DefaultSignerManifest(pub)
		key = merkle.DefaultKey(pub)
	}
	var raw []byte
	if manifest != nil {
		if raw, err = merkle.EncodeManifest(manifest); err != nil {
			st.Close()
			return nil, err
		}
	}
	c := newCore(st, key)
	c.secret = secret
	c.compat = opts.Compat
	if err := c.setManifest(manifest, raw); err != nil {
		st.Close()
		return nil, err
	}
	b := &store.Batch{}
	b.SetHeader(c.header())
	if err := st.Commit(b); err != nil {
		st.Close()
		return nil, err
	}
	return c, nil
}

// Open opens the core stored in s, or a new clone of opts.Key when s is
// empty (feed.md, "Opening a core"). The Core owns s and closes it with
// Close; on error s is closed.
func Open(s storage.Storage, opts *OpenOptions) (*Core, error) {
	if opts == nil {
		opts = &OpenOptions{}
	}
	st, err := store.Open(s, nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	if !st.HasHeader() {
		if opts.Key == nil {
			st.Close()
			return nil, ErrNoKey
		}
		c := newCore(st, *opts.Key)
		// With no manifest yet, a compat core's signatures can still be
		// checked: the key is taken as a compat public key (merkle.md).
		if v, err := merkle.NewVerifier(c.key, nil, merkle.VerifierOptions{}); err == nil && v.Compat() {
			c.verifier = v
		}
		b := &store.Batch{}
		b.SetHeader(c.header())
		if err := st.Commit(b); err != nil {
			st.Close()
			return nil, err
		}
		return c, nil
	}
	h := st.Header()
	if opts.Key != nil && *opts.Key != h.Key {
		st.Close()
		return nil, fmt.Errorf("%w: %x, not %x", ErrKeyMismatch, h.Key, *opts.Key)
	}
	c := newCore(st, h.Key)
	c.secret = h.SecretKey
	c.compat = h.Compat
	var m *merkle.Manifest
	if len(h.Manifest) > 0 {
		if m, err = merkle.DecodeManifest(h.Manifest); err != nil {
			st.Close()
			return nil, fmt.Errorf("core: stored manifest: %w", err)
		}
	}
	if err := c.setManifest(m, h.Manifest); err != nil {
		st.Close()
		return nil, err
	}
	c.signature = h.Signature
	c.tree = h.Tree.Clone()
	if h.Truncating && c.writable() {
		// A truncation was cut short: finish it (storage.md, "Truncation").
		if err := c.truncateLocked(h.TruncateTo); err != nil {
			st.Close()
			return nil, err
		}
	}
	return c, nil
}

func newCore(st *store.Store, key [32]byte) *Core {
	c := &Core{
		st:      st,
		key:     key,
		dkey:    merkle.DiscoveryKey(key),
		waiters: map[uint64][]chan struct{}{},
		changed: make(chan struct{}),
	}
	c.repl = newReplicator(c)
	return c
}

// setManifest adopts m (nil: none known yet) and builds the verifier.
func (c *Core) setManifest(m *merkle.Manifest, raw []byte) error {
	if m == nil {
		if c.compat {
			v, err := merkle.NewVerifier(c.key, nil, merkle.VerifierOptions{})
			if err != nil {
				return err
			}
			c.verifier = v
		}
		return nil
	}
	v, err := merkle.NewVerifier(c.key, m, merkle.VerifierOptions{})
	if err != nil {
		return err
	}
	c.manifest, c.manifestRaw, c.verifier = m, raw, v
	c.compat = v.Compat()
	return nil
}

// header is the store header of the current state. c.mu held (or c not
// shared yet).
func (c *Core) header() store.Header {
	return store.Header{
		Key:       c.key,
		Manifest:  c.manifestRaw,
		SecretKey: c.secret,
		Compat:    c.compat,
		Tree:      c.tree.Clone(),
		Signature: c.signature,
	}
}

// Key returns the core's key (a default core: its manifest's hash).
func (c *Core) Key() [32]byte { return c.key }

// DiscoveryKey returns the core's discovery key.
func (c *Core) DiscoveryKey() [32]byte { return c.dkey }

// Writable reports whether Append can sign.
func (c *Core) Writable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writable()
}

// writable: the core has a secret key that can sign alone: compat, or a
// manifest with a quorum of at most 1 that names its public key.
func (c *Core) writable() bool {
	if c.secret == nil || c.verifier == nil {
		return false
	}
	if c.compat || c.manifest == nil {
		return true
	}
	if c.manifest.Quorum > 1 {
		return false
	}
	pub := [32]byte(c.secret.Public().(ed25519.PublicKey))
	for _, s := range c.manifest.Signers {
		if s.PublicKey == pub {
			return true
		}
	}
	return false
}

// Manifest returns the core's manifest, or nil while a clone has not
// received it (and for a compat core).
func (c *Core) Manifest() *merkle.Manifest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.manifest
}

// Length returns the signed length: the number of blocks of the log as far
// as this core knows it (not all of them need be stored here).
func (c *Core) Length() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tree.Length
}

// Fork returns the fork id, raised by every truncation.
func (c *Core) Fork() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tree.Fork
}

// ByteLength returns the total size in bytes of the blocks up to Length.
func (c *Core) ByteLength() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tree.ByteLength()
}

// ContiguousLength returns how many blocks from the start are all stored.
func (c *Core) ContiguousLength() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.contiguous()
}

func (c *Core) contiguous() uint64 {
	return min(c.st.Contiguous(), c.tree.Length)
}

// Signature returns the signature of the current tree.
func (c *Core) Signature() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.signature...)
}

// Has reports whether block index is stored here.
func (c *Core) Has(index uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return index < c.tree.Length && c.st.Has(index)
}

// Append signs and stores blocks as the next blocks of the log (feed.md,
// "Appending") and returns the new length. Every connected peer is told.
func (c *Core) Append(blocks ...[]byte) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, ErrClosed
	}
	if !c.writable() {
		return 0, ErrNotWritable
	}
	if len(blocks) == 0 {
		return c.tree.Length, nil
	}
	for i, b := range blocks {
		if len(b) > MaxBlockSize {
			return 0, fmt.Errorf("%w: block %d of the batch has %d bytes, more than %d", ErrBlockTooBig, i, len(b), MaxBlockSize)
		}
	}
	t := c.tree.Clone()
	b := &store.Batch{}
	start := t.Length
	for _, data := range blocks {
		i := t.Length
		b.PutNode(t.Append(data)...)
		b.PutBlock(i, data)
	}
	sig, err := c.verifier.Sign(&t, c.secret)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNotWritable, err)
	}
	old, oldSig := c.tree, c.signature
	c.tree, c.signature = t, sig
	b.SetHeader(c.header())
	if err := c.st.Commit(b); err != nil {
		c.tree, c.signature = old, oldSig
		return 0, err
	}
	c.notifyLocked(start, t.Length)
	c.repl.onAppend(start, t.Length)
	return t.Length, nil
}

// Truncate drops every block from length on and signs the shorter log with
// the next fork id (feed.md, "Truncating"). Peers are told the new fork.
func (c *Core) Truncate(length uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if !c.writable() {
		return ErrNotWritable
	}
	if length > c.tree.Length {
		return fmt.Errorf("%w: %d is past the length %d", ErrInvalidLength, length, c.tree.Length)
	}
	// A truncation MUST NOT cut into the prologue (JS INVALID_OPERATION
	// "Truncation breaks prologue").
	if c.manifest != nil && c.manifest.Prologue != nil && length < c.manifest.Prologue.Length {
		return fmt.Errorf("%w: %d is inside the prologue of %d blocks", ErrInvalidLength, length, c.manifest.Prologue.Length)
	}
	old := c.tree.Length
	if err := c.truncateLocked(length); err != nil {
		return err
	}
	c.notifyLocked(length, length)
	c.repl.dropRange(length, old)
	c.repl.onTruncate(length)
	return nil
}

// truncateLocked makes the tree of the first length blocks, at the next
// fork, signs it and stores it. c.mu held.
func (c *Core) truncateLocked(length uint64) error {
	roots, err := flattree.FullRoots(2 * length)
	if err != nil {
		return err
	}
	t := merkle.Tree{Fork: c.tree.Fork + 1, Length: length}
	for _, r := range roots {
		n, ok, err := c.st.Node(r)
		if err != nil || !ok {
			return fmt.Errorf("core: truncate: root %d missing (%v)", r, err)
		}
		t.Roots = append(t.Roots, n)
	}
	sig, err := c.verifier.Sign(&t, c.secret)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotWritable, err)
	}
	old, oldSig := c.tree, c.signature
	c.tree, c.signature = t, sig
	b := &store.Batch{}
	b.Truncate(length)
	b.SetHeader(c.header())
	if err := c.st.Commit(b); err != nil {
		c.tree, c.signature = old, oldSig
		return err
	}
	return nil
}

// Get returns block index if it is stored here (feed.md, "Reading"). It
// does not wait: a block within the length that is not stored is
// ErrNotAvailable. GetContext waits for peers.
func (c *Core) Get(index uint64) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(index)
}

func (c *Core) getLocked(index uint64) ([]byte, error) {
	if c.closed {
		return nil, ErrClosed
	}
	if index >= c.tree.Length {
		return nil, fmt.Errorf("%w: %d, length %d", ErrOutOfRange, index, c.tree.Length)
	}
	data, ok, err := c.st.Block(index)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrNotAvailable, index)
	}
	return data, nil
}

// GetContext returns block index, downloading it from a peer if it is not
// stored here, and waiting (until ctx ends) for a peer that has it, or for
// the log to grow that far.
func (c *Core) GetContext(ctx context.Context, index uint64) ([]byte, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if index < c.tree.Length && c.st.Has(index) {
			data, err := c.getLocked(index)
			c.mu.Unlock()
			return data, err
		}
		w := make(chan struct{})
		c.waiters[index] = append(c.waiters[index], w)
		c.repl.want(index, index+1)
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-w:
		case <-changed:
		case <-ctx.Done():
			c.mu.Lock()
			c.dropWaiter(index, w)
			c.repl.unwant(index, index+1)
			c.mu.Unlock()
			return nil, ctx.Err()
		}
		c.mu.Lock()
		c.dropWaiter(index, w)
		c.repl.unwant(index, index+1)
		c.mu.Unlock()
	}
}

func (c *Core) dropWaiter(index uint64, w chan struct{}) {
	ws := c.waiters[index]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(c.waiters, index)
	} else {
		c.waiters[index] = ws
	}
}

// Update waits until the log is longer than length, or ctx ends, and
// returns the new length. Peers that know a longer log are asked for it.
func (c *Core) Update(ctx context.Context, length uint64) (uint64, error) {
	return c.waitFor(ctx, func() (uint64, bool) { return c.tree.Length, c.tree.Length > length })
}

// waitFor waits until done reports true (it runs with c.mu held, after the
// replicator was asked for what may be missing) and returns its value, or
// until ctx ends or the core closes.
func (c *Core) waitFor(ctx context.Context, done func() (uint64, bool)) (uint64, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return 0, ErrClosed
		}
		if v, ok := done(); ok {
			c.mu.Unlock()
			return v, nil
		}
		c.repl.update()
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Download downloads blocks [start, end) from peers and returns when all
// are stored or ctx ends. end 0 means the length when it is called.
func (c *Core) Download(ctx context.Context, start, end uint64) error {
	c.mu.Lock()
	if end == 0 {
		end = c.tree.Length
	}
	c.repl.want(start, end)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.repl.unwant(start, end)
		c.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return ErrClosed
		}
		done := end <= c.tree.Length && c.hasRange(start, end)
		changed := c.changed
		c.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes the Gets waiting for blocks in [start, end) and every
// waiter on a change.
func (c *Core) notifyLocked(start, end uint64) {
	// Walk the waiters, not the range: an upgrade may add 2^40 blocks at
	// once (a signed length is the writer's claim, not work done here).
	for i, ws := range c.waiters {
		if i < start || i >= end {
			continue
		}
		for _, w := range ws {
			close(w)
		}
		delete(c.waiters, i)
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// Close closes the core, ends its connections and releases its storage.
func (c *Core) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	c.repl.close()
	return c.st.Close()
}

// Info is a summary of a core's state.
type Info struct {
	Key, DiscoveryKey [32]byte
	Fork, Length      uint64
	ByteLength        uint64
	Contiguous        uint64
	Writable, Compat  bool
	HasManifest       bool
}

// Info returns a summary of the core's state.
func (c *Core) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Info{Key: c.key, DiscoveryKey: c.dkey, Fork: c.tree.Fork, Length: c.tree.Length,
		ByteLength: c.tree.ByteLength(), Contiguous: c.contiguous(), Writable: c.writable(),
		Compat: c.compat, HasManifest: c.manifest != nil}
}

func newKeyPair(r io.Reader) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(r)
	return priv, err
}

// hasRange reports whether blocks [start, end) are all stored. c.mu held.
func (c *Core) hasRange(start, end uint64) bool {
	if start >= end {
		return true
	}
	next, err := c.st.FirstMissing(start)
	return err == nil && next >= end
}

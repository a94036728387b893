package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// Dir is a feed directory on disk, laid out as JS hypercore lays it out:
// one file per name, written sparsely with pwrite. OpenDir takes an
// exclusive, non-blocking flock on the bitfield file, as JS does, so that a
// Go and a JS process never open the same feed at once.
type Dir struct {
	path string
	key  string // path made absolute, in openDirs

	// what OpenDir created, so that Discard can take it away again
	createdDir, createdLock bool

	mu     sync.Mutex
	files  map[string]*dirFile
	lock   *os.File // the bitfield file, held open with the flock
	closed bool
}

// openDirs holds the directories this process has open, by absolute path:
// a second OpenDir of one of them fails with ErrAlreadyOpen (the flock
// would say only "locked").
var openDirs = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// OpenDir opens (creating if needed) the feed directory at path and locks
// it. It fails with an error wrapping ErrLocked when another process holds
// the lock, and ErrAlreadyOpen (which wraps ErrLocked) when this process
// does.
func OpenDir(path string) (*Dir, error) {
	key, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	openDirs.Lock()
	defer openDirs.Unlock()
	if openDirs.m[key] {
		return nil, fmt.Errorf("%w: %s", ErrAlreadyOpen, path)
	}
	_, statErr := os.Stat(path)
	createdDir := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	// The lock is taken on the bitfield file, which every feed writes on
	// open (its header), so creating it here changes nothing JS would not.
	lockName := filepath.Join(path, Bitfield)
	_, statErr = os.Stat(lockName)
	createdLock := errors.Is(statErr, fs.ErrNotExist)
	bf, err := os.OpenFile(lockName, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if err := syscall.Flock(int(bf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		bf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("storage: lock %s: %w", bf.Name(), err)
	}
	d := &Dir{path: path, key: key, files: map[string]*dirFile{}, lock: bf, createdDir: createdDir, createdLock: createdLock}
	d.files[Bitfield] = &dirFile{name: bf.Name(), f: bf, owned: false}
	openDirs.m[key] = true
	return d, nil
}

// Discard closes the directory and removes what OpenDir created, for a
// caller that found no feed there: the lock file if OpenDir created it and
// it is still empty, then the directory if OpenDir created it and it is
// empty. Nothing else is removed.
func (d *Dir) Discard() error {
	err := d.Close()
	if d.createdLock {
		if fi, serr := os.Stat(filepath.Join(d.path, Bitfield)); serr == nil && fi.Size() == 0 {
			os.Remove(filepath.Join(d.path, Bitfield))
		}
	}
	if d.createdDir {
		os.Remove(d.path) // fails, harmlessly, unless empty
	}
	return err
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Open returns the named file of the feed.
func (d *Dir) Open(name string) (File, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	if f, ok := d.files[name]; ok {
		return f, nil
	}
	f := &dirFile{name: filepath.Join(d.path, name), owned: true}
	d.files[name] = f
	return f, nil
}

// Close closes every file and releases the lock.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var first error
	for _, f := range d.files {
		if err := f.close(); err != nil && first == nil {
			first = err
		}
	}
	// Closing the bitfield file releases the flock.
	if err := d.lock.Close(); err != nil && first == nil && !errors.Is(err, os.ErrClosed) {
		first = err
	}
	openDirs.Lock()
	delete(openDirs.m, d.key)
	openDirs.Unlock()
	return first
}

// dirFile is one file of a Dir. It opens the OS file lazily: reads of a
// file that does not exist see an empty file, and the first write creates
// it.
type dirFile struct {
	name  string
	owned bool // closed by close(); false for the bitfield, which the Dir closes

	mu     sync.RWMutex
	f      *os.File
	closed bool
}

// get returns the open OS file, opening it if it exists (or creating it if
// create is set). It returns nil, nil for a missing file when create is
// false.
func (df *dirFile) get(create bool) (*os.File, error) {
	df.mu.RLock()
	f, closed := df.f, df.closed
	df.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if f != nil {
		return f, nil
	}
	df.mu.Lock()
	defer df.mu.Unlock()
	if df.closed {
		return nil, ErrClosed
	}
	if df.f != nil {
		return df.f, nil
	}
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(df.name, flags, 0o644)
	if err != nil {
		if !create && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("storage: %w", err)
	}
	df.f = f
	return f, nil
}

func (df *dirFile) ReadAt(p []byte, off int64) (int, error) {
	if err := checkRange(off, int64(len(p))); err != nil {
		return 0, err
	}
	f, err := df.get(false)
	if err != nil {
		return 0, err
	}
	if f == nil {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n, err := f.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("storage: %w", err)
	}
	return n, err
}

func (df *dirFile) WriteAt(p []byte, off int64) (int, error) {
	if err := checkRange(off, int64(len(p))); err != nil {
		return 0, err
	}
	f, err := df.get(true)
	if err != nil {
		return 0, err
	}
	n, err := f.WriteAt(p, off)
	if err != nil {
		err = fmt.Errorf("storage: %w", err)
	}
	return n, err
}

func (df *dirFile) Size() (int64, error) {
	f, err := df.get(false)
	if err != nil || f == nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("storage: %w", err)
	}
	return st.Size(), nil
}

func (df *dirFile) Truncate(size int64) error {
	if err := checkRange(0, size); err != nil {
		return err
	}
	f, err := df.get(size > 0)
	if err != nil || f == nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
}

// Discard punches a hole (fallocate PUNCH_HOLE|KEEP_SIZE) where the file
// system supports it and writes zeros where it does not.
func (df *dirFile) Discard(off, size int64) error {
	if err := checkRange(off, size); err != nil {
		return err
	}
	f, err := df.get(false)
	if err != nil || f == nil || size == 0 {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if off >= st.Size() {
		return nil
	}
	size = min(size, st.Size()-off)
	const punchHole, keepSize = 0x02, 0x01 // FALLOC_FL_PUNCH_HOLE, FALLOC_FL_KEEP_SIZE
	if err := syscall.Fallocate(int(f.Fd()), punchHole|keepSize, off, size); err == nil {
		return nil
	}
	zeros := make([]byte, min(size, 1<<16))
	for size > 0 {
		n := min(size, int64(len(zeros)))
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		off += n
		size -= n
	}
	return nil
}

func (df *dirFile) Sync() error {
	f, err := df.get(false)
	if err != nil || f == nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
}

func (df *dirFile) close() error {
	df.mu.Lock()
	defer df.mu.Unlock()
	if df.closed {
		return nil
	}
	df.closed = true
	if df.f == nil || !df.owned {
		return nil
	}
	return df.f.Close()
}

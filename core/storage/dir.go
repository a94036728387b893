package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
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

// WriteBuffersAt writes bufs with pwritev(2) (BuffersWriterAt): one
// system call for up to iovMax buffers, and no copy of them into one.
func (df *dirFile) WriteBuffersAt(bufs [][]byte, off int64) (int64, error) {
	if _, err := buffersSize(bufs, off); err != nil {
		return 0, err
	}
	f, err := df.get(true)
	if err != nil {
		return 0, err
	}
	n, err := pwritev(f, bufs, off)
	if err != nil {
		err = fmt.Errorf("storage: %w", err)
	}
	return n, err
}

// iovMax is the most buffers one pwritev takes (IOV_MAX on Linux).
const iovMax = 1024

// pwritev writes the concatenation of bufs at off, iovMax buffers a call,
// again after a short write, until all is written or a call fails.
func pwritev(f *os.File, bufs [][]byte, off int64) (int64, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	iov := make([]syscall.Iovec, 0, min(len(bufs), iovMax))
	var written int64
	skip := 0 // bytes of bufs[0] already written
	for {
		for len(bufs) > 0 && len(bufs[0]) == skip {
			bufs, skip = bufs[1:], 0
		}
		if len(bufs) == 0 {
			return written, nil
		}
		iov = iov[:0]
		for i, b := range bufs[:min(len(bufs), iovMax)] {
			if i == 0 {
				b = b[skip:]
			}
			v := syscall.Iovec{}
			if len(b) > 0 {
				v.Base = &b[0]
				v.SetLen(len(b))
			}
			iov = append(iov, v)
		}
		var n uintptr
		var errno syscall.Errno
		err := rc.Control(func(fd uintptr) {
			// The offset goes in two words, low and high: the high one is
			// 0 where a word has 64 bits.
			n, _, errno = syscall.Syscall6(syscall.SYS_PWRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)),
				uintptr(off), uintptr(uint64(off)>>(bits.UintSize-1)>>1), 0)
		})
		switch {
		case err != nil:
			return written, err
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return written, &os.PathError{Op: "pwritev", Path: f.Name(), Err: errno}
		case n == 0:
			return written, io.ErrShortWrite
		}
		written += int64(n)
		off += int64(n)
		// Step over what was written.
		for rest := int(n); rest > 0; {
			k := min(rest, len(bufs[0])-skip)
			rest -= k
			skip += k
			if skip == len(bufs[0]) && rest > 0 {
				bufs, skip = bufs[1:], 0
			}
		}
		runtime.KeepAlive(iov)
	}
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

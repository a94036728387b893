package storage

import (
	"fmt"
	"io"
	"sync"
)

// Memory is a feed held in memory, for tests and short-lived readers. Files
// are stored in 64 KiB pages allocated on first write, so a sparse reader
// that holds one block far into a large feed uses memory for that block
// only.
type Memory struct {
	mu     sync.Mutex
	files  map[string]*memFile
	closed bool
}

// NewMemory returns an empty in-memory storage.
func NewMemory() *Memory {
	return &Memory{files: map[string]*memFile{}}
}

// Open returns the named file.
func (m *Memory) Open(name string) (File, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	f, ok := m.files[name]
	if !ok {
		f = &memFile{pages: map[int64][]byte{}}
		m.files[name] = f
	}
	return f, nil
}

// Close closes every file. A closed Memory keeps nothing.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, f := range m.files {
		f.mu.Lock()
		f.closed = true
		f.pages = nil
		f.mu.Unlock()
	}
	return nil
}

const memPageSize = 1 << 16

type memFile struct {
	mu     sync.RWMutex
	pages  map[int64][]byte // page number → memPageSize bytes
	size   int64
	closed bool
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if err := checkRange(off, int64(len(p))); err != nil {
		return 0, err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return 0, ErrClosed
	}
	n := 0
	if off < f.size {
		n = int(min(int64(len(p)), f.size-off))
	}
	for i := 0; i < n; {
		pos := off + int64(i)
		page, in := pos/memPageSize, int(pos%memPageSize)
		chunk := min(n-i, memPageSize-in)
		if b, ok := f.pages[page]; ok {
			copy(p[i:i+chunk], b[in:])
		} else {
			clear(p[i : i+chunk])
		}
		i += chunk
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if err := checkRange(off, int64(len(p))); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, ErrClosed
	}
	f.write(p, off)
	return len(p), nil
}

// WriteBuffersAt writes bufs one after the other from off, under one lock
// (BuffersWriterAt).
func (f *memFile) WriteBuffersAt(bufs [][]byte, off int64) (int64, error) {
	size, err := buffersSize(bufs, off)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, ErrClosed
	}
	pos := off
	for _, p := range bufs {
		if len(p) > 0 {
			f.write(p, pos)
			pos += int64(len(p))
		}
	}
	return size, nil
}

// write copies p to off, adding the pages it needs; f.mu is held.
func (f *memFile) write(p []byte, off int64) {
	for i := 0; i < len(p); {
		pos := off + int64(i)
		page, in := pos/memPageSize, int(pos%memPageSize)
		b, ok := f.pages[page]
		if !ok {
			b = make([]byte, memPageSize)
			f.pages[page] = b
		}
		i += copy(b[in:], p[i:])
	}
	f.size = max(f.size, off+int64(len(p)))
}

func (f *memFile) Size() (int64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return 0, ErrClosed
	}
	return f.size, nil
}

func (f *memFile) Truncate(size int64) error {
	if err := checkRange(0, size); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	if size < f.size {
		f.zero(size, f.size-size)
	}
	f.size = size
	if size > 0 {
	}
	return nil
}

func (f *memFile) Discard(off, size int64) error {
	if err := checkRange(off, size); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	if off < f.size {
		f.zero(off, min(size, f.size-off))
	}
	return nil
}

// zero clears [off, off+size), dropping pages that become wholly unused.
func (f *memFile) zero(off, size int64) {
	end := off + size
	for pos := off; pos < end; {
		page, in := pos/memPageSize, pos%memPageSize
		chunk := min(end-pos, memPageSize-in)
		if b, ok := f.pages[page]; ok {
			if chunk == memPageSize {
				delete(f.pages, page)
			} else {
				clear(b[in : in+chunk])
			}
		}
		pos += chunk
	}
}

func (f *memFile) Sync() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return ErrClosed
	}
	return nil
}

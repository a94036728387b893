package storage_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/core/storage/storagetest"
)

func TestMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage { return storage.NewMemory() })
}

func TestDir(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		d, err := storage.OpenDir(filepath.Join(t.TempDir(), "feed"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

// TestDirCreatesFilesOnWrite checks that only written files exist, so a
// reader's directory has no secret_key, as in JS.
func TestDirCreatesFilesOnWrite(t *testing.T) {
	dir := t.TempDir()
	d, err := storage.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sk, _ := d.Open(storage.SecretKey)
	sk.ReadAt(make([]byte, 64), 0)
	sk.Size()
	sk.Discard(0, 64)
	sk.Sync()
	if _, err := os.Stat(filepath.Join(dir, storage.SecretKey)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("secret_key exists after reads only: %v", err)
	}
	k, _ := d.Open(storage.Key)
	k.WriteAt(make([]byte, 32), 0)
	if st, err := os.Stat(filepath.Join(dir, storage.Key)); err != nil || st.Size() != 32 {
		t.Errorf("key after a write: %v", err)
	}
}

// TestDirLock checks the flock on the bitfield file: a second OpenDir of
// the same directory fails with ErrLocked until the first is closed.
func TestDirLock(t *testing.T) {
	dir := t.TempDir()
	d, err := storage.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storage.OpenDir(dir); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second OpenDir = %v, want ErrLocked", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := storage.OpenDir(dir)
	if err != nil {
		t.Fatalf("OpenDir after Close = %v", err)
	}
	d2.Close()
}

// TestDirLockAcrossProcesses holds the lock in a child process (flock(1))
// and checks that OpenDir sees it, which is how JS and Go meet.
func TestDirLockAcrossProcesses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("flock(1) test is for Linux")
	}
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("flock(1) not installed")
	}
	dir := t.TempDir()
	bf := filepath.Join(dir, storage.Bitfield)
	cmd := exec.Command(flock, "--exclusive", bf, "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	// wait until the child holds the lock
	for i := 0; ; i++ {
		d, err := storage.OpenDir(dir)
		if errors.Is(err, storage.ErrLocked) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		if i > 500 {
			t.Fatal("child never took the lock")
		}
		runtime.Gosched()
		exec.Command("sleep", "0.01").Run()
	}
}

package store

import (
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
)

func TestSmoke(t *testing.T) {
	mem := storage.NewMemory()
	c := newTestCore(t, "smoke")
	s := mustOpen(t, noClose{mem})
	createCore(t, s, c)
	for i := uint64(0); i < 40; i++ {
		appendBlocks(t, s, c, testBlock(0, i))
	}
	checkWriter(t, s, c)
	s.Close()
	s = mustOpen(t, noClose{mem})
	checkWriter(t, s, c)
	truncateCore(t, s, c, 17, testBlock(1, 17), testBlock(1, 18))
	checkWriter(t, s, c)
	s = mustOpen(t, noClose{mem})
	checkWriter(t, s, c)
	if h := s.Header(); h.Tree.Length != 19 || h.Tree.Fork != 1 {
		t.Fatalf("after truncate: %+v", h.Tree)
	}
}

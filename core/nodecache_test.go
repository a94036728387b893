package core

import (
	"testing"

	"github.com/hypercore-go/hypercore/flattree"
	"github.com/hypercore-go/hypercore/merkle"
)

// TestNodeCacheKeepsHighParents caches every parent of a feed of a million
// blocks, in a random order as a full clone stores them: the cache stays
// within maxCachedNodes and holds exactly the parents of the highest depths
// that fit, so that the roots a block's offset sums stay cached however
// long the feed grows.
func TestNodeCacheKeepsHighParents(t *testing.T) {
	const blocks = 1 << 20
	f := &Feed{}
	// a fixed permutation of the parents (odd indices below 2·blocks)
	const parents = blocks
	for k := uint64(0); k < parents; k++ {
		j := (k*0x9e3779b1 + 12345) % parents // 0x9e3779b1 is odd: a bijection mod 2^20
		f.cacheNode(merkle.Node{Index: 2*j + 1, Size: 1})
	}
	if len(f.nodeCache) > maxCachedNodes {
		t.Fatalf("the cache holds %d nodes, more than %d", len(f.nodeCache), maxCachedNodes)
	}
	d := f.nodeCacheDepth
	want := 0
	for k := uint64(0); k < parents; k++ {
		if flattree.Depth(2*k+1) >= d {
			want++
		}
	}
	if len(f.nodeCache) != want {
		t.Fatalf("the cache holds %d parents of depth ≥ %d, want all %d of them", len(f.nodeCache), d, want)
	}
	for i := range f.nodeCache {
		if flattree.Depth(i) < d {
			t.Fatalf("node %d of depth %d is cached below depth %d", i, flattree.Depth(i), d)
		}
	}
	// 2^20 blocks have 2^(20−k) parents of depth k (and the index 2^21−1
	// here): 2^17 of depth 4 or more fit, 2^18 of depth 3 or more do not
	if d != 4 {
		t.Errorf("nodeCacheDepth = %d, want 4", d)
	}
	// a low parent is no longer cached, a high one still is
	f.cacheNode(merkle.Node{Index: 1, Size: 1}) // depth 1
	if _, ok := f.nodeCache[1]; ok {
		t.Errorf("a parent of depth 1 was cached at nodeCacheDepth %d", d)
	}
}

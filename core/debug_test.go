package core

import (
	"fmt"
	"strings"
)

// debugState describes a feed's replication state, for failing tests.
func (f *Feed) debugState() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "length %d sparse %v downloaded %d\n", f.length, f.sparse, f.bits.Data().Count(0, f.length))
	for _, w := range f.repl.waiting {
		fmt.Fprintf(&b, "  waiting index %d hash %v update %v\n", w.index, w.hash, w.update)
	}
	for _, s := range f.repl.selections {
		fmt.Fprintf(&b, "  selection %d-%d open %v\n", s.start, s.end, s.openEnd)
	}
	if i, ok := f.repl.reserved.NextSet(0, 1<<40); ok {
		fmt.Fprintf(&b, "  first reserved %d\n", i)
	}
	for _, p := range f.repl.peers {
		last, _ := p.remoteBitfield.Last()
		fmt.Fprintf(&b, "  peer removed %v opened %v remoteLength %d remoteUp %v remoteDown %v down %v wants %v inflight %v inflightWants %d remoteWant %v lastRemoteBit %d\n",
			p.removed, p.remoteOpened, p.remoteLength, p.remoteUploading, p.remoteDownloading, p.downloading, p.wants, p.inflight, p.inflightWants, p.remoteWant, last)
	}
	return b.String()
}

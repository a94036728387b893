package core

// replState is the feed's replication state (spec/replication.md).
type replState struct{}

// Peer is one remote peer replicating a feed over a session.
type Peer struct{}

func (f *Feed) closeReplication() {}
func (f *Feed) afterAppend(start, n uint64) {
	f.events.emit(Event{Type: EventAppend, Index: start + n})
}
func (f *Feed) afterPut(index uint64, value []byte, r PutResult, from *Peer) {}
func (f *Feed) afterClear(start, end uint64)                                 {}

package core

import "github.com/hypercore-go/hypercore/v11/wire"

// onExtension handles an extension message (replication.md, "Extensions"):
// a name of "" means the name of the previous extension message received.
// c.mu held.
func (pe *peer) onExtension(m *wire.Extension) {
	if m.Name != "" {
		pe.lastExtension = m.Name
	}
}

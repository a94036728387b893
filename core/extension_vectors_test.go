package core

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/hypercore-go/hypercore/core/storage"
	"github.com/hypercore-go/hypercore/message"
	"github.com/hypercore-go/hypercore/vectors"
)

// TestExtensionVectors runs vectors/extensions.json: the feed's sorted
// list, the Options it sends, and where each of the peer's ids goes, as
// abstract-extension decides.
func TestExtensionVectors(t *testing.T) {
	v, err := vectors.LoadExtensions()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range v.Match {
		for _, tc := range g.Tests {
			n++
			t.Run(tc.Name("extensions.json"), func(t *testing.T) {
				kp := testKeyPair(t)
				f, _ := Create(storage.NewMemory(), &Options{KeyPair: &kp})
				defer f.Close()
				got := map[*Extension]string{}
				for i, name := range tc.Registered {
					e, err := f.RegisterExtension(name, ExtensionHandler{})
					if err != nil {
						if !tc.Valid() && tc.Error == "duplicate-name" && errors.Is(err, ErrExtensionExists) && i == len(tc.Registered)-1 {
							return
						}
						t.Fatalf("RegisterExtension(%q) = %v", name, err)
					}
					got[e] = name
				}
				if !tc.Valid() {
					t.Fatalf("registered %q without error, want %s", tc.Registered, tc.Error)
				}
				if l := f.Extensions(); !slices.Equal(l, tc.Local) {
					t.Fatalf("Extensions() = %q, want %q", l, tc.Local)
				}
				f.mu.Lock()
				p := &Peer{feed: f, ack: tc.Ack}
				var opts []byte
				if m := p.optionsMessage(); m != nil {
					opts = m.AppendBody([]byte{})
				}
				if !bytes.Equal(opts, tc.Options) || (opts == nil) != (tc.Options == nil) {
					f.mu.Unlock()
					t.Fatalf("Options = %x, want %x", opts, []byte(tc.Options))
				}
				if tc.Remote != nil {
					p.onOptionsExtensions(&message.Options{Extensions: tc.Remote})
				}
				var reached []*Extension
				for id := range tc.Map {
					p.ext.changes = 0 // rematch: the test reads the map directly
					p.onExtension(&message.Extension{ID: uint64(id)})
					var e *Extension
					if id < len(p.ext.matched) {
						e = p.ext.matched[id]
					}
					reached = append(reached, e)
				}
				f.mu.Unlock()
				for id, e := range reached {
					want := tc.Map[id]
					switch {
					case e == nil && want == nil:
					case e == nil || want == nil || got[e] != *want:
						t.Fatalf("id %d reaches %v, want %v", id, e, want)
					}
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no extension vectors")
	}
}

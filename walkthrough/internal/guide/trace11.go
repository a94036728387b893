package guide

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/hypercore-go/hypercore/v11/wire"
)

// Describe11 renders a Hypercore 11 message on one line for -trace, with
// the JS names of the message and its fields (spec/v11/wire.md), such as
// request{id: 1, fork: 0, upgrade: {start: 0, length: 2}, manifest}.
// Absent sections are left out, flags that are set appear by name, byte
// fields are hex, cut after 8 bytes with their length.
func Describe11(m wire.Message) string {
	var f fields
	switch m := m.(type) {
	case *wire.Sync:
		f.num("fork", m.Fork)
		f.num("length", m.Length)
		f.num("remoteLength", m.RemoteLength)
		f.flag("canUpgrade", m.CanUpgrade)
		f.flag("uploading", m.Uploading)
		f.flag("downloading", m.Downloading)
		f.flag("hasManifest", m.HasManifest)
		f.flag("allowPush", m.AllowPush)
	case *wire.Request:
		f.num("id", m.ID)
		f.num("fork", m.Fork)
		if b := m.Block; b != nil {
			f.add("block", fmt.Sprintf("{index: %d, nodes: %d}", b.Index, b.Nodes))
		}
		if h := m.Hash; h != nil {
			f.add("hash", fmt.Sprintf("{index: %d, nodes: %d}", h.Index, h.Nodes))
		}
		if s := m.Seek; s != nil {
			f.add("seek", fmt.Sprintf("{bytes: %d, padding: %d}", s.Bytes, s.Padding))
		}
		if u := m.Upgrade; u != nil {
			f.add("upgrade", fmt.Sprintf("{start: %d, length: %d}", u.Start, u.Length))
		}
		f.flag("manifest", m.Manifest)
		if m.Priority != 0 {
			f.num("priority", m.Priority)
		}
	case *wire.Cancel:
		f.num("request", m.Request)
	case *wire.Data:
		f.num("request", m.Request)
		f.num("fork", m.Fork)
		if b := m.Block; b != nil {
			f.add("block", fmt.Sprintf("{index: %d, value: %s, nodes: %s}", b.Index, short(b.Value), nodes(b.Nodes)))
		}
		if h := m.Hash; h != nil {
			f.add("hash", fmt.Sprintf("{index: %d, nodes: %s}", h.Index, nodes(h.Nodes)))
		}
		if s := m.Seek; s != nil {
			f.add("seek", fmt.Sprintf("{bytes: %d, nodes: %s}", s.Bytes, nodes(s.Nodes)))
		}
		if u := m.Upgrade; u != nil {
			f.add("upgrade", fmt.Sprintf("{start: %d, length: %d, nodes: %s, additionalNodes: %s, signature: %s}",
				u.Start, u.Length, nodes(u.Nodes), nodes(u.AdditionalNodes), short(u.Signature)))
		}
		if m.Manifest != nil {
			f.add("manifest", short(m.Manifest))
		}
	case *wire.NoData:
		f.num("request", m.Request)
		if m.Reason != wire.ReasonUnspecified {
			f.num("reason", uint64(m.Reason))
		}
	case *wire.Want:
		f.num("start", m.Start)
		f.num("length", m.Length)
		f.flag("any", m.Any)
	case *wire.Unwant:
		f.num("start", m.Start)
		f.num("length", m.Length)
		f.flag("any", m.Any)
	case *wire.Bitfield:
		f.num("start", m.Start)
		words := make([]string, len(m.Bitfield))
		for i, w := range m.Bitfield {
			words[i] = fmt.Sprintf("%08x", w)
		}
		f.add("bitfield", "["+strings.Join(words, " ")+"]")
	case *wire.Range:
		f.flag("drop", m.Drop)
		f.num("start", m.Start)
		f.num("length", m.Length)
	case *wire.Extension:
		f.add("name", fmt.Sprintf("%q", m.Name))
		f.add("message", short(m.Message))
	default:
		return fmt.Sprintf("%T", m)
	}
	return m.Type().String() + "{" + strings.Join(f, ", ") + "}"
}

type fields []string

func (f *fields) add(name, value string)    { *f = append(*f, name+": "+value) }
func (f *fields) num(name string, v uint64) { f.add(name, fmt.Sprint(v)) }
func (f *fields) flag(name string, set bool) {
	if set {
		*f = append(*f, name)
	}
}

// short is b in hex, cut after 8 bytes with its length.
func short(b []byte) string {
	if len(b) > 8 {
		return fmt.Sprintf("%s…(%d bytes)", hex.EncodeToString(b[:8]), len(b))
	}
	return hex.EncodeToString(b)
}

// nodes is a node list, each node's hash cut to 4 bytes.
func nodes(ns []wire.Node) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprintf("{index: %d, size: %d, hash: %s…}", n.Index, n.Size, hex.EncodeToString(n.Hash[:4]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

package message

import "testing"

func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		m    Message
		want string
	}{
		{&Have{Start: 1}, "Have{start: 1}"},
		{&Have{Start: 0, Length: Uint64(1 << 20), Bitfield: []byte{2, 0xc0}}, "Have{start: 0, length: 1048576, bitfield: 02c0}"},
		{&Have{Start: 4, Bitfield: []byte{}}, "Have{start: 4, bitfield: }"},
		{NewStatus(true, false), "Status{uploading: true, downloading: false}"},
		{&Want{Range: Range{Start: 0, Length: Uint64(1 << 20)}}, "Want{start: 0, length: 1048576}"},
		{&Data{Index: 3, Value: []byte("0123456789"), Nodes: []Node{{Index: 6, Hash: []byte{1, 2}, Size: 10}}},
			"Data{index: 3, value: 3031323334353637…(10 bytes), nodes: [{index: 6, hash: 0102, size: 10}]}"},
		{&Close{}, "Close{}"},
	} {
		if got := Describe(c.m); got != c.want {
			t.Errorf("Describe(%#v)\n got %s\nwant %s", c.m, got, c.want)
		}
	}
}

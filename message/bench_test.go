package message

import (
	"bytes"
	"io"
	"testing"
)

func benchData() *Data {
	m := &Data{Index: 123456, Value: bytes.Repeat([]byte{7}, 1024), Signature: make([]byte, 64)}
	for i := 0; i < 10; i++ {
		m.Nodes = append(m.Nodes, Node{Index: uint64(2*i + 1), Hash: make([]byte, 32), Size: 1024 << i})
	}
	return m
}

func BenchmarkEncodeData(b *testing.B) {
	m := benchData()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(m.Size()))
	for b.Loop() {
		buf = AppendFrame(buf[:0], 1, m)
	}
}

func BenchmarkDecodeData(b *testing.B) {
	body := benchData().AppendBody(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Decode(TypeData, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadFrames reads a stream of Data frames (1 KiB values).
func BenchmarkReadFrames(b *testing.B) {
	frame := AppendFrame(nil, 1, benchData())
	stream := bytes.Repeat(frame, 1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		fr := NewReader(bytes.NewReader(stream))
		for {
			if _, err := fr.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

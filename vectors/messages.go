package vectors

import "encoding/json"

// Messages is vectors/messages.json: wire messages and framing from
// simple-hypercore-protocol 2.1.2 and simple-message-channels 1.2.1.
type Messages struct {
	Header
	Encode []Group[EncodeTest]
	Decode []Group[DecodeTest]
	Frames []Group[FrameTest]
}

// Fields is a message as JSON: field name → value (bytes as hex strings,
// nested nodes as objects). Absent fields are absent keys.
type Fields map[string]json.RawMessage

// EncodeTest is a message, its body and frame as JS encodes them, and what
// the JS decoder returns for the body (absent fields filled with defaults).
type EncodeTest struct {
	Case
	Message string  `json:"message"`
	Fields  Fields  `json:"fields"`
	Body    Hex     `json:"body"`
	Channel *uint64 `json:"channel,omitempty"`
	Frame   Hex     `json:"frame,omitempty"`
	Decoded Fields  `json:"decoded"`
}

// DecodeTest is a body, what JS makes of it, and the spec's verdict.
type DecodeTest struct {
	Case
	Message   string   `json:"message"`
	Body      Hex      `json:"body"`
	JS        string   `json:"js"` // "decodes" or "throws"
	JSDecoded JSFields `json:"jsDecoded"`
	JSError   string   `json:"jsError,omitempty"`
}

// JSFields is what the JS decoder made of a body: the fields it decoded,
// nil (JSON null) when it threw, or Inexact (JSON "inexact", flag
// JSInexact) when it decoded integers it could not represent exactly,
// which are not compared.
type JSFields struct {
	Fields  Fields
	Inexact bool
}

// UnmarshalJSON reads an object of fields, null or "inexact".
func (f *JSFields) UnmarshalJSON(b []byte) error {
	if string(b) == `"inexact"` {
		*f = JSFields{Inexact: true}
		return nil
	}
	*f = JSFields{}
	return json.Unmarshal(b, &f.Fields)
}

// FrameTest is a byte stream, what the JS frame parser does with it in one
// chunk and byte by byte, and the spec's verdict with the frames it holds.
type FrameTest struct {
	Case
	Stream     Hex         `json:"stream"`
	JSWhole    JSFrameRun  `json:"jsWhole"`
	JSBytewise JSFrameRun  `json:"jsBytewise"`
	Frames     []FrameJSON `json:"frames,omitempty"`
}

// JSFrameRun is what the JS parser delivered and whether it destroyed the
// stream (Error) or was left waiting inside a frame (Incomplete).
type JSFrameRun struct {
	Frames     []FrameJSON `json:"frames"`
	Error      *string     `json:"error"`
	Incomplete bool        `json:"incomplete"`
}

// FrameJSON is one delivered frame; keep-alive frames are not delivered.
type FrameJSON struct {
	Channel uint64 `json:"channel"`
	Type    uint8  `json:"type"`
	Body    Hex    `json:"body"`
}

func init() { register("messages.json", func() error { _, err := LoadMessages(); return err }) }

// LoadMessages loads vectors/messages.json.
func LoadMessages() (*Messages, error) {
	v := new(Messages)
	err := load("messages.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "EncodeTest":
			return decodeGroup(raw, &v.Encode)
		case "DecodeTest":
			return decodeGroup(raw, &v.Decode)
		case "FrameTest":
			return decodeGroup(raw, &v.Frames)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}

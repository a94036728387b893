package vectors

import "fmt"

// SecretStream is vectors/v11/secretstream.json: the transport cipher
// (spec/v11/secretstream-cipher.md), libsodium's
// crypto_secretstream_xchacha20poly1305 run by sodium-secretstream 1.2.0
// over sodium-native 5.1.0.
type SecretStream struct {
	Header
	Streams []Group[SecretStreamTest]
	Pulls   []Group[SecretStreamPullTest]
}

// SecretStreamTest is a stream that libsodium pushed and pulled: a Push and
// a Pull started with Key and Header (and, when Counter is not nil, with the
// counter set to *Counter right after init, flag "Counter") must produce and
// open every message step in order, and rekey at every rekey step.
type SecretStreamTest struct {
	Case
	Key     Hex                `json:"key"`
	Header  Hex                `json:"header"`
	Counter *uint32            `json:"counter"`
	Steps   []SecretStreamStep `json:"steps"`
}

// SecretStreamPullTest is a sequence of pulls on one Pull started with Key
// and Header, one or more of which libsodium refused; Error is the class of
// the first refused pull.
type SecretStreamPullTest struct {
	Case
	Key    Hex                `json:"key"`
	Header Hex                `json:"header"`
	Steps  []SecretStreamStep `json:"steps"`
}

// SecretStreamStep is one step of a stream:
//
//   - Op "message" (StreamTest): Push seals Plaintext with Tag into Message;
//     Pull opens Message into Plaintext and Tag.
//   - Op "pull" (PullTest): Pull opens Message into Plaintext and Tag, or,
//     when Error is set ("short" or "authentication"), refuses it and keeps
//     its state.
//   - Op "rekey": an explicit rekey (Push.Rekey and Pull.Rekey).
type SecretStreamStep struct {
	Op        string `json:"op"`
	Tag       *uint8 `json:"tag,omitempty"`
	Plaintext Hex    `json:"plaintext,omitempty"`
	Message   Hex    `json:"message,omitempty"`
	Error     string `json:"error,omitempty"`
}

func init() {
	register("v11/secretstream.json", func() error { _, err := LoadSecretStream(); return err })
}

// LoadSecretStream loads vectors/v11/secretstream.json.
func LoadSecretStream() (*SecretStream, error) {
	v := new(SecretStream)
	err := load("v11/secretstream.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "StreamTest":
			return decodeGroup(raw, &v.Streams)
		case "PullTest":
			return decodeGroup(raw, &v.Pulls)
		}
		return errUnknownGroup(typ)
	})
	if err != nil {
		return v, err
	}
	for _, g := range v.Streams {
		for _, c := range g.Tests {
			if err := checkSecretStreamSteps(c.Case, c.Key, c.Header, c.Steps, "message"); err != nil {
				return v, err
			}
		}
	}
	for _, g := range v.Pulls {
		for _, c := range g.Tests {
			if err := checkSecretStreamSteps(c.Case, c.Key, c.Header, c.Steps, "pull"); err != nil {
				return v, err
			}
		}
	}
	return v, nil
}

// checkSecretStreamSteps checks the sizes and the fields of each step, so
// that tests can index them without checking.
func checkSecretStreamSteps(c Case, key, header Hex, steps []SecretStreamStep, op string) error {
	fail := func(f string, a ...any) error {
		return fmt.Errorf("vectors: %s: %s", c.Name("v11/secretstream.json"), fmt.Sprintf(f, a...))
	}
	if len(key) != 32 || len(header) != 24 {
		return fail("key of %d bytes, header of %d", len(key), len(header))
	}
	for i, s := range steps {
		switch {
		case s.Op == "rekey":
			if s.Tag != nil || s.Plaintext != nil || s.Message != nil || s.Error != "" {
				return fail("step %d: rekey with other fields", i)
			}
		case s.Op != op:
			return fail("step %d: op %q", i, s.Op)
		case s.Message == nil:
			return fail("step %d: no message", i)
		case s.Error != "":
			if s.Tag != nil || s.Plaintext != nil {
				return fail("step %d: refused pull with a tag or plaintext", i)
			}
		case s.Tag == nil || s.Plaintext == nil:
			return fail("step %d: no tag or plaintext", i)
		case len(s.Message) != len(s.Plaintext)+17:
			return fail("step %d: %d-byte message for %d-byte plaintext", i, len(s.Message), len(s.Plaintext))
		}
	}
	return nil
}

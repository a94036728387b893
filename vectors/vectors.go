// Package vectors embeds the language-neutral test vectors in this
// directory and decodes them into typed values for Go tests.
//
// The vector files are generated from the pinned JavaScript reference by
// interop/gen-vectors and documented in vectors/README.md; each has a JSON
// Schema under vectors/schema/. This package is imported by tests only.
//
// Every file has the same outer shape (Wycheproof-like):
//
//	{concept, schema, source{name, version, modules}, numberOfTests, notes,
//	 testGroups[{type, ...shared, tests[{tcId, comment, flags, ...inputs,
//	 ...outputs, result, error?}]}]}
//
// [Load] checks what every file promises before any test sees a case: no
// unknown fields, numberOfTests equals the number of tests, tcIds run 1, 2,
// 3, ... without gaps, every flag has a note, result is "valid" or "invalid",
// and an invalid case names its error class (and a valid one does not).
package vectors

import (
	"bytes"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"golang.org/x/crypto/blake2b"
)

// FS holds the Hypercore 9 vector files (*.json), their schemas
// (schema/*.json) and the feed directories written by JS (storage/), and the
// Hypercore 11 vector files with their schemas under v11/ (v11/*.json,
// v11/schema/*.json; documented in v11/README.md).
//
//go:embed *.json schema/*.json storage v11
var FS embed.FS

// Source names the JS module that produced a file and the versions of every
// module whose code contributed values.
type Source struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Modules map[string]string `json:"modules"`
}

// Header holds the fields every vector file has besides its test groups.
type Header struct {
	Concept       string            `json:"concept"`
	Schema        string            `json:"schema"`
	Source        Source            `json:"source"`
	NumberOfTests int               `json:"numberOfTests"`
	Notes         map[string]string `json:"notes"`
}

// Group is a group of test cases of one type. Concept loaders decode each
// group of a file into the Group of the matching test type.
type Group[T any] struct {
	Type  string `json:"type"`
	Tests []T    `json:"tests"`
}

// Case holds the fields every test case has. Concept types embed it.
type Case struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"`
	// Error is the failure class of an invalid case (file-specific names,
	// listed in vectors/README.md); empty for valid cases.
	Error string `json:"error,omitempty"`
}

// Valid reports whether the case expects success.
func (c Case) Valid() bool { return c.Result == "valid" }

// Name is the subtest name of the case: "file#tcId comment".
func (c Case) Name(file string) string {
	return fmt.Sprintf("%s#%d %s", file, c.TcID, c.Comment)
}

// HasFlag reports whether the case carries flag f.
func (c Case) HasFlag(f string) bool {
	for _, x := range c.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// Hex is a byte string written in JSON as lower-case hex. null decodes to a
// nil Hex, "" to an empty non-nil one.
type Hex []byte

// UnmarshalJSON decodes lower-case hex; upper case is rejected so that every
// vector file has one spelling of each value.
func (h *Hex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("vectors: hex: %w", err)
	}
	if strings.ToLower(s) != s {
		return fmt.Errorf("vectors: hex %q is not lower case", s)
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("vectors: hex %q: %w", s, err)
	}
	*h = Hex(d)
	if *h == nil {
		*h = Hex{}
	}
	return nil
}

// MarshalJSON encodes lower-case hex.
func (h Hex) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	return json.Marshal(hex.EncodeToString(h))
}

// String returns the lower-case hex.
func (h Hex) String() string { return hex.EncodeToString(h) }

// load reads vector file name (for example "flattree.json"), checks the
// rules in the package comment, decodes its header into h and hands each
// test group, with its type, to group. Concept loaders decode the group with
// [decodeGroup] into the typed slice for that type, and fail on a type they
// do not know.
func load(name string, h *Header, group func(typ string, raw []byte) error) error {
	raw, err := fs.ReadFile(FS, name)
	if err != nil {
		return err
	}
	if err := checkCommon(name, raw); err != nil {
		return err
	}
	var f struct {
		Header
		TestGroups []json.RawMessage `json:"testGroups"`
	}
	if err := decodeStrict(raw, &f); err != nil {
		return fmt.Errorf("vectors: %s: %w", name, err)
	}
	*h = f.Header
	for i, g := range f.TestGroups {
		var t struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(g, &t); err != nil {
			return fmt.Errorf("vectors: %s: group %d: %w", name, i, err)
		}
		if err := group(t.Type, g); err != nil {
			return fmt.Errorf("vectors: %s: group %d (%s): %w", name, i, t.Type, err)
		}
	}
	return nil
}

// decodeGroup decodes one test group strictly (unknown fields fail) and
// appends it to *groups.
func decodeGroup[G any](raw []byte, groups *[]G) error {
	var g G
	if err := decodeStrict(raw, &g); err != nil {
		return err
	}
	*groups = append(*groups, g)
	return nil
}

// errUnknownGroup is returned by concept loaders for a group type they do
// not know.
func errUnknownGroup(typ string) error {
	return fmt.Errorf("unknown test group type %q", typ)
}

func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// checkCommon checks the fields every file shares, without knowing the
// concept-specific ones.
func checkCommon(name string, raw []byte) error {
	var f struct {
		Schema        string            `json:"schema"`
		NumberOfTests int               `json:"numberOfTests"`
		Notes         map[string]string `json:"notes"`
		TestGroups    []struct {
			Type  string `json:"type"`
			Tests []Case `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("vectors: %s: %w", name, err)
	}
	if want := strings.TrimSuffix(path.Base(name), ".json") + ".schema.json"; f.Schema != want {
		return fmt.Errorf("vectors: %s: schema %q, want %q", name, f.Schema, want)
	}
	n := 0
	for _, g := range f.TestGroups {
		if g.Type == "" {
			return fmt.Errorf("vectors: %s: test group without type", name)
		}
		for _, c := range g.Tests {
			n++
			if c.TcID != n {
				return fmt.Errorf("vectors: %s: tcId %d where %d was expected", name, c.TcID, n)
			}
			for _, fl := range c.Flags {
				if _, ok := f.Notes[fl]; !ok {
					return fmt.Errorf("vectors: %s#%d: flag %q has no note", name, c.TcID, fl)
				}
			}
			switch {
			case c.Result == "valid" && c.Error == "":
			case c.Result == "invalid" && c.Error != "":
			default:
				return fmt.Errorf("vectors: %s#%d: result %q with error %q", name, c.TcID, c.Result, c.Error)
			}
		}
	}
	if n != f.NumberOfTests {
		return fmt.Errorf("vectors: %s: numberOfTests %d, but %d tests", name, f.NumberOfTests, n)
	}
	return nil
}

// loaders maps each vector file to its typed loader; each concept file
// registers its own in an init function, and a test requires every embedded
// file to have one that accepts it.
var loaders = map[string]func() error{}

func register(name string, load func() error) { loaders[name] = load }

// Files lists the vector files: the Hypercore 9 ones at the top level
// ("flattree.json") and the Hypercore 11 ones under v11/ ("v11/compact.json").
func Files() []string {
	names, _ := fs.Glob(FS, "*.json")
	v11, _ := fs.Glob(FS, "v11/*.json")
	return append(names, v11...)
}

// schemaOf returns the path in FS of the schema that vector file name
// declares: schema/X in the file's own directory.
func schemaOf(name, schema string) string {
	return path.Join(path.Dir(name), "schema", schema)
}

// WriterSeed is the seed of the Ed25519 key pair every vector feed is
// written with, BLAKE2b-256("hypercore-go v9 vectors: writer")
// (interop/js/vectors/lib/vectors.js).
func WriterSeed() []byte {
	s := blake2b.Sum256([]byte("hypercore-go v9 vectors: writer"))
	return s[:]
}

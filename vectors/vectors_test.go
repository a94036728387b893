package vectors

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/hypercore-go/hypercore/internal/jsonschema"
)

// TestSchemas validates every vector file against its schema, and checks
// that every schema belongs to a file.
func TestSchemas(t *testing.T) {
	files := Files()
	if len(files) == 0 {
		t.Fatal("no vector files embedded")
	}
	schemas, _ := fs.Glob(FS, "schema/*.schema.json")
	v11, _ := fs.Glob(FS, "v11/schema/*.schema.json")
	schemas = append(schemas, v11...)
	used := map[string]bool{}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			raw, err := fs.ReadFile(FS, name)
			if err != nil {
				t.Fatal(err)
			}
			var hdr struct {
				Schema string `json:"schema"`
			}
			if err := json.Unmarshal(raw, &hdr); err != nil {
				t.Fatal(err)
			}
			used[schemaOf(name, hdr.Schema)] = true
			doc, err := fs.ReadFile(FS, schemaOf(name, hdr.Schema))
			if err != nil {
				t.Fatalf("schema of %s: %v", name, err)
			}
			s, err := jsonschema.Compile(doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(raw); err != nil {
				t.Errorf("%s does not match %s: %v", name, hdr.Schema, err)
			}
			if err := checkCommon(name, raw); err != nil {
				t.Error(err)
			}
		})
	}
	for _, s := range schemas {
		if !used[s] {
			t.Errorf("%s describes no vector file", s)
		}
	}
}

// TestLoadersCoverFiles checks that every embedded file has a typed loader
// that accepts it, so no file goes unused by the Go tests.
func TestLoadersCoverFiles(t *testing.T) {
	for _, name := range Files() {
		load, ok := loaders[name]
		if !ok {
			t.Errorf("%s has no loader in the vectors package", name)
			continue
		}
		if err := load(); err != nil {
			t.Errorf("loading %s: %v", name, err)
		}
	}
}

// TestCheckCommonRejects mutates a valid file in each way checkCommon must
// catch.
func TestCheckCommonRejects(t *testing.T) {
	raw, err := fs.ReadFile(FS, "flattree.json")
	if err != nil {
		t.Fatal(err)
	}
	good := string(raw)
	mutations := map[string]func(string) string{
		"count":        func(s string) string { return strings.Replace(s, `"numberOfTests": `, `"numberOfTests": 1`, 1) },
		"tcId gap":     func(s string) string { return strings.Replace(s, `"tcId": 2,`, `"tcId": 3,`, 1) },
		"unknown flag": func(s string) string { return strings.Replace(s, `"flags": [],`, `"flags": ["Nope"],`, 1) },
		"bad result":   func(s string) string { return strings.Replace(s, `"result": "valid"`, `"result": "acceptable"`, 1) },
		"valid with error": func(s string) string {
			return strings.Replace(s, `"result": "valid"`, `"result": "valid", "error": "odd-index"`, 1)
		},
		"invalid without error": func(s string) string {
			return strings.Replace(s, `"result": "valid"`, `"result": "invalid"`, 1)
		},
		"schema name": func(s string) string { return strings.Replace(s, `"flattree.schema.json"`, `"x.schema.json"`, 1) },
	}
	for name, m := range mutations {
		bad := m(good)
		if bad == good {
			t.Fatalf("mutation %q changed nothing", name)
		}
		if err := checkCommon("flattree.json", []byte(bad)); err == nil {
			t.Errorf("checkCommon accepted mutation %q", name)
		}
	}
}

func TestHex(t *testing.T) {
	var h Hex
	if err := json.Unmarshal([]byte(`"00ff"`), &h); err != nil || h.String() != "00ff" {
		t.Errorf(`Unmarshal("00ff") = %x, %v`, h, err)
	}
	for _, bad := range []string{`"0F"`, `"0"`, `"zz"`, `1`} {
		if err := json.Unmarshal([]byte(bad), &h); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
	if err := json.Unmarshal([]byte(`""`), &h); err != nil || h == nil || len(h) != 0 {
		t.Errorf(`Unmarshal("") = %#v, %v; want empty non-nil`, h, err)
	}
	if err := json.Unmarshal([]byte(`null`), &h); err != nil || h != nil {
		t.Errorf(`Unmarshal(null) = %#v, %v; want nil`, h, err)
	}
}

package jsonschema

import (
	"strings"
	"testing"
)

const testSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["n", "hex"],
  "additionalProperties": false,
  "properties": {
    "n": {"type": "integer", "minimum": 0, "maximum": 10},
    "hex": {"$ref": "#/$defs/hex"},
    "list": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
    "kind": {"enum": ["a", "b"]},
    "fixed": {"const": 7},
    "maybe": {"type": ["string", "null"], "minLength": 2, "maxLength": 3},
    "alt": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "any": {"anyOf": [{"type": "boolean"}, {"type": "null"}]}
  },
  "$defs": {"hex": {"type": "string", "pattern": "^([0-9a-f]{2})*$"}}
}`

func TestValidate(t *testing.T) {
	s, err := Compile([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	valid := []string{
		`{"n": 0, "hex": ""}`,
		`{"n": 10, "hex": "00ff", "list": [1, 2], "kind": "b", "fixed": 7, "maybe": null, "alt": 3, "any": true}`,
		`{"n": 1, "hex": "ab", "maybe": "xyz", "alt": "s", "any": null}`,
	}
	for _, doc := range valid {
		if err := s.Validate([]byte(doc)); err != nil {
			t.Errorf("Validate(%s) = %v, want nil", doc, err)
		}
	}
	invalid := map[string]string{
		`{"hex": ""}`:                            "missing required",
		`{"n": 11, "hex": ""}`:                   "maximum",
		`{"n": -1, "hex": ""}`:                   "minimum",
		`{"n": 1.5, "hex": ""}`:                  "type integer",
		`{"n": 1, "hex": "0F"}`:                  "does not match",
		`{"n": 1, "hex": "0"}`:                   "does not match",
		`{"n": 1, "hex": "", "x": 1}`:            "not allowed",
		`{"n": 1, "hex": "", "list": []}`:        "fewer than",
		`{"n": 1, "hex": "", "list": [1, 2, 3]}`: "more than",
		`{"n": 1, "hex": "", "list": ["a"]}`:     "type integer",
		`{"n": 1, "hex": "", "kind": "c"}`:       "not one of",
		`{"n": 1, "hex": "", "fixed": 8}`:        "want 7",
		`{"n": 1, "hex": "", "maybe": "a"}`:      "shorter",
		`{"n": 1, "hex": "", "maybe": "abcd"}`:   "longer",
		`{"n": 1, "hex": "", "alt": true}`:       "oneOf",
		`{"n": 1, "hex": "", "any": 1}`:          "anyOf",
		`[1]`:                                    "type object",
		`{"n": 1, "hex": ""} {}`:                 "trailing",
	}
	for doc, want := range invalid {
		err := s.Validate([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%s) = %v, want an error containing %q", doc, err, want)
		}
	}
}

func TestCompileRejects(t *testing.T) {
	bad := map[string]string{
		`{"type": "object", "patternProperties": {}}`: "unsupported keyword",
		`{"$ref": "#/definitions/x"}`:                 "unsupported $ref",
		`{"$ref": "#/$defs/missing", "$defs": {}}`:    "does not resolve",
		`{"pattern": "("}`:                            "pattern",
		`{"properties": {"a": 1}}`:                    "not a schema",
	}
	for doc, want := range bad {
		_, err := Compile([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%s) = %v, want an error containing %q", doc, err, want)
		}
	}
}

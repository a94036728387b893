// Package jsonschema validates JSON documents against the subset of JSON
// Schema (draft 2020-12) that the vector schemas in vectors/schema use:
// type, enum, const, pattern, minimum, maximum, minLength, maxLength,
// minItems, maxItems, items, properties, required, additionalProperties,
// $ref (local "#/$defs/..." only), anyOf, oneOf and $defs. Keywords for
// documentation ($schema, $id, title, description, $comment, examples) are
// accepted and ignored; any other keyword is an error, so that a schema
// never silently claims a check this validator does not make.
package jsonschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// Schema is a compiled schema.
type Schema struct {
	root map[string]any
	re   map[string]*regexp.Regexp
}

var known = map[string]bool{
	"$schema": true, "$id": true, "title": true, "description": true, "$comment": true, "examples": true,
	"type": true, "enum": true, "const": true, "pattern": true, "minimum": true, "maximum": true,
	"minLength": true, "maxLength": true, "minItems": true, "maxItems": true, "items": true,
	"properties": true, "required": true, "additionalProperties": true, "$ref": true,
	"anyOf": true, "oneOf": true, "$defs": true,
}

// Compile parses a schema document and checks that it uses only the
// supported keywords and that its references and patterns resolve.
func Compile(doc []byte) (*Schema, error) {
	var root map[string]any
	if err := decode(doc, &root); err != nil {
		return nil, fmt.Errorf("jsonschema: %w", err)
	}
	s := &Schema{root: root, re: map[string]*regexp.Regexp{}}
	if err := s.check(root, "#"); err != nil {
		return nil, err
	}
	return s, nil
}

func decode(doc []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func (s *Schema) check(node map[string]any, at string) error {
	for k, v := range node {
		if !known[k] {
			return fmt.Errorf("jsonschema: %s: unsupported keyword %q", at, k)
		}
		switch k {
		case "properties", "$defs":
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("jsonschema: %s/%s: not an object", at, k)
			}
			for name, sub := range m {
				subm, ok := sub.(map[string]any)
				if !ok {
					return fmt.Errorf("jsonschema: %s/%s/%s: not a schema", at, k, name)
				}
				if err := s.check(subm, at+"/"+k+"/"+name); err != nil {
					return err
				}
			}
		case "items", "additionalProperties":
			if subm, ok := v.(map[string]any); ok {
				if err := s.check(subm, at+"/"+k); err != nil {
					return err
				}
			} else if _, ok := v.(bool); !ok {
				return fmt.Errorf("jsonschema: %s/%s: not a schema", at, k)
			}
		case "anyOf", "oneOf":
			list, ok := v.([]any)
			if !ok {
				return fmt.Errorf("jsonschema: %s/%s: not an array", at, k)
			}
			for i, sub := range list {
				subm, ok := sub.(map[string]any)
				if !ok {
					return fmt.Errorf("jsonschema: %s/%s/%d: not a schema", at, k, i)
				}
				if err := s.check(subm, fmt.Sprintf("%s/%s/%d", at, k, i)); err != nil {
					return err
				}
			}
		case "$ref":
			ref, _ := v.(string)
			if _, err := s.resolve(ref); err != nil {
				return fmt.Errorf("jsonschema: %s: %w", at, err)
			}
		case "pattern":
			p, _ := v.(string)
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("jsonschema: %s: pattern: %w", at, err)
			}
			s.re[p] = re
		}
	}
	return nil
}

func (s *Schema) resolve(ref string) (map[string]any, error) {
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		return nil, fmt.Errorf("unsupported $ref %q (only #/$defs/NAME)", ref)
	}
	defs, _ := s.root["$defs"].(map[string]any)
	d, ok := defs[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q does not resolve", ref)
	}
	return d, nil
}

// Validate checks a JSON document against the schema. The error names the
// JSON path of the first violation.
func (s *Schema) Validate(doc []byte) error {
	var v any
	if err := decode(doc, &v); err != nil {
		return fmt.Errorf("jsonschema: %w", err)
	}
	return s.validate(s.root, v, "$")
}

func (s *Schema) validate(sch map[string]any, v any, at string) error {
	if ref, ok := sch["$ref"].(string); ok {
		d, err := s.resolve(ref)
		if err != nil {
			return err
		}
		if err := s.validate(d, v, at); err != nil {
			return err
		}
	}
	if t, ok := sch["type"]; ok {
		if err := checkType(t, v, at); err != nil {
			return err
		}
	}
	if e, ok := sch["enum"].([]any); ok {
		found := false
		for _, x := range e {
			if equal(x, v) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s: %s is not one of %s", at, show(v), show(e))
		}
	}
	if c, ok := sch["const"]; ok && !equal(c, v) {
		return fmt.Errorf("%s: %s, want %s", at, show(v), show(c))
	}
	switch x := v.(type) {
	case string:
		if p, ok := sch["pattern"].(string); ok && !s.re[p].MatchString(x) {
			return fmt.Errorf("%s: %q does not match %s", at, x, p)
		}
		n := float64(len([]rune(x)))
		if m, ok := num(sch["minLength"]); ok && n < m {
			return fmt.Errorf("%s: string shorter than %v", at, m)
		}
		if m, ok := num(sch["maxLength"]); ok && n > m {
			return fmt.Errorf("%s: string longer than %v", at, m)
		}
	case json.Number:
		f, _ := x.Float64()
		if m, ok := num(sch["minimum"]); ok && f < m {
			return fmt.Errorf("%s: %s < minimum %v", at, x, m)
		}
		if m, ok := num(sch["maximum"]); ok && f > m {
			return fmt.Errorf("%s: %s > maximum %v", at, x, m)
		}
	case []any:
		n := float64(len(x))
		if m, ok := num(sch["minItems"]); ok && n < m {
			return fmt.Errorf("%s: fewer than %v items", at, m)
		}
		if m, ok := num(sch["maxItems"]); ok && n > m {
			return fmt.Errorf("%s: more than %v items", at, m)
		}
		if items, ok := sch["items"]; ok {
			for i, e := range x {
				if err := s.sub(items, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case map[string]any:
		if req, ok := sch["required"].([]any); ok {
			for _, r := range req {
				if _, ok := x[r.(string)]; !ok {
					return fmt.Errorf("%s: missing required property %q", at, r)
				}
			}
		}
		props, _ := sch["properties"].(map[string]any)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := props[k]; ok {
				if err := s.sub(p, x[k], at+"."+k); err != nil {
					return err
				}
				continue
			}
			if ap, ok := sch["additionalProperties"]; ok {
				if err := s.sub(ap, x[k], at+"."+k); err != nil {
					return err
				}
			}
		}
	}
	if list, ok := sch["anyOf"].([]any); ok {
		var first error
		matched := false
		for _, alt := range list {
			if err := s.validate(alt.(map[string]any), v, at); err == nil {
				matched = true
				break
			} else if first == nil {
				first = err
			}
		}
		if !matched {
			return fmt.Errorf("%s: matches no anyOf alternative (first: %v)", at, first)
		}
	}
	if list, ok := sch["oneOf"].([]any); ok {
		n := 0
		var first error
		for _, alt := range list {
			if err := s.validate(alt.(map[string]any), v, at); err == nil {
				n++
			} else if first == nil {
				first = err
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: matches %d oneOf alternatives, want 1 (first failure: %v)", at, n, first)
		}
	}
	return nil
}

// sub validates against a schema or a boolean schema.
func (s *Schema) sub(sch any, v any, at string) error {
	switch x := sch.(type) {
	case bool:
		if !x {
			return fmt.Errorf("%s: not allowed", at)
		}
		return nil
	case map[string]any:
		return s.validate(x, v, at)
	}
	return fmt.Errorf("%s: bad schema", at)
}

func checkType(t any, v any, at string) error {
	var types []string
	switch x := t.(type) {
	case string:
		types = []string{x}
	case []any:
		for _, e := range x {
			types = append(types, e.(string))
		}
	}
	for _, typ := range types {
		if hasType(typ, v) {
			return nil
		}
	}
	return fmt.Errorf("%s: %s is not of type %s", at, show(v), strings.Join(types, " or "))
}

func hasType(typ string, v any) bool {
	switch typ {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		if _, err := n.Int64(); err == nil {
			return true
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f) && !strings.ContainsAny(string(n), ".eE")
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func num(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func equal(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func show(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}

package message

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
)

// Describe renders m on one line for logs and traces, such as
// Have{start: 0, length: 1048576, bitfield: 02c0}: fields that are absent
// are left out, byte fields are hex (cut after 8 bytes with their length).
func Describe(m Message) string {
	v := reflect.ValueOf(m)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "<nil>"
		}
		v = v.Elem()
	}
	var b strings.Builder
	b.WriteString(v.Type().Name())
	b.WriteByte('{')
	describeFields(&b, v, true)
	b.WriteByte('}')
	return b.String()
}

func describeFields(b *strings.Builder, v reflect.Value, first bool) bool {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && fv.Kind() == reflect.Struct {
			first = describeFields(b, fv, first)
			continue
		}
		s, ok := describeValue(fv)
		if !ok {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		name := f.Name
		b.WriteString(strings.ToLower(name[:1]) + name[1:])
		b.WriteString(": ")
		b.WriteString(s)
	}
	return first
}

func describeValue(v reflect.Value) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "", false
		}
		return describeValue(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return "", false
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			bs := v.Bytes()
			if len(bs) > 8 {
				return fmt.Sprintf("%s…(%d bytes)", hex.EncodeToString(bs[:8]), len(bs)), true
			}
			return hex.EncodeToString(bs), true
		}
		parts := make([]string, v.Len())
		for i := range parts {
			s, _ := describeValue(v.Index(i))
			parts[i] = s
		}
		return "[" + strings.Join(parts, " ") + "]", true
	case reflect.Struct:
		var b strings.Builder
		b.WriteByte('{')
		describeFields(&b, v, true)
		b.WriteByte('}')
		return b.String(), true
	default:
		return fmt.Sprint(v.Interface()), true
	}
}

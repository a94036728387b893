// Package zeroruns packs byte strings that are mostly zeros, such as a
// feed's files, into short fuzz inputs: each run of zero bytes becomes
// 0x00 and the run's length − 1, so a mutation of a few bytes can move,
// grow or shrink a whole run. The fuzz targets of package bitfield and
// package fuzz seed and decode their inputs with it (fuzz/README.md).
package zeroruns

// Pack writes each run of zero bytes as 0x00 and the run's length − 1 (a
// run of more than 256 as several); other bytes are themselves.
func Pack(b []byte) []byte {
	var z []byte
	for i := 0; i < len(b); {
		if b[i] != 0 {
			z = append(z, b[i])
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] == 0 && j-i < 256 {
			j++
		}
		z = append(z, 0, byte(j-i-1))
		i = j
	}
	return z
}

// Unpack undoes Pack for any input; a 0x00 at the end is one zero. The
// result is at most 256 times as long as z.
func Unpack(z []byte) []byte {
	b := []byte{}
	for i := 0; i < len(z); i++ {
		if z[i] != 0 {
			b = append(b, z[i])
			continue
		}
		n := 1
		if i+1 < len(z) {
			i++
			n += int(z[i])
		}
		b = append(b, make([]byte, n)...)
	}
	return b
}

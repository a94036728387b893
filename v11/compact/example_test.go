package compact_test

import (
	"errors"
	"fmt"

	"github.com/hypercore-go/hypercore/v11/compact"
)

// A message is built by appending its fields in order, and read back in the
// same order with one error check at the end.
func Example() {
	var b []byte
	b = compact.AppendUint(b, 1)      // a request id
	b = compact.AppendUint(b, 70000)  // a block index: fe + uint32le
	b = compact.AppendString(b, "hi") // uint(length) + UTF-8
	b = compact.AppendOptionalBuffer(b, nil)
	b = compact.AppendUint32Array(b, []uint32{3})
	fmt.Printf("% x\n", b)

	d := compact.NewDecoder(b)
	id, index, name, opt, words := d.Uint(), d.Uint(), d.String(), d.OptionalBuffer(), d.Uint32Array()
	if err := d.Err(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id, index, name, opt == nil, words, d.Remaining())

	// The same bytes cut short: every read after the failure is zero, and
	// the first failure is reported once.
	d = compact.NewDecoder(b[:3])
	id, index = d.Uint(), d.Uint()
	fmt.Println(id, index, errors.Is(d.Err(), compact.ErrTruncated))
	fmt.Println(d.Err())
	// Output:
	// 01 fe 70 11 01 00 02 68 69 00 01 03 00 00 00
	// 1 70000 hi true [3] 0
	// 1 0 true
	// compact: truncated: uint32 needs 4 bytes, 1 left at offset 2
}

'use strict'
// Generates vectors/v11/compact.json from compact-encoding 3.5.2, the
// primitives every Hypercore 11 message is built from.
//
//   node interop/js11/vectors/compact.js OUTDIR
//
// For each encoding (uint, uint32, uint64, bool, buffer, optionalBuffer,
// string, fixed32, fixed64, raw, array(uint), array(buffer), uint32array)
// there are two groups:
//
//   EncodeTest: a value, the bytes compact-encoding writes for it
//     (c.encode), checked here to decode back to the same value.
//   DecodeTest: bytes, and what compact-encoding's decoder does with them
//     (c.state + enc.decode): the value it returns and how many bytes it
//     consumed, or the exception it throws. The inputs are non-minimal
//     forms, trailing bytes, odd bool bytes, invalid UTF-8, integers above
//     2^53 - 1, array counts above 0x100000, lengths and counts larger than
//     the bytes present (some of whose byte sizes wrap in 32-bit
//     arithmetic), and every truncation of a set of encodings. JS decides
//     every case: result is "valid" when the decoder returns, and
//     "invalid" with the class its exception maps to (errorClass) when it
//     throws.
//
// Values in JSON, by encoding: uint, uint32, uint64 a number; bool a
// boolean; buffer, fixed32, fixed64, raw hex; optionalBuffer hex or null
// (absent); string the hex of its UTF-8 bytes (for a decoded string, of the
// UTF-8 encoding of the string JS returns); array(uint) and uint32array a
// list of numbers; array(buffer) a list of hex strings.

const c = require('compact-encoding')
const { source, writeFile, outDir, hex } = require('./lib/vectors')

const B = (s) => Buffer.from(s, 'hex')
const MAX = Number.MAX_SAFE_INTEGER // 2^53 - 1

// The encodings, in the order of their groups, with how their values go to
// and from JSON.
const hexOf = { toJS: B, toJSON: hex }
const same = { toJS: (v) => v, toJSON: (v) => v }
const ENCODINGS = [
  ['uint', c.uint, same],
  ['uint32', c.uint32, same],
  ['uint64', c.uint64, same],
  ['bool', c.bool, same],
  ['buffer', c.buffer, hexOf],
  ['optionalBuffer', c.optionalBuffer, { toJS: (v) => (v === null ? null : B(v)), toJSON: (v) => (v === null ? null : hex(v)) }],
  ['string', c.string, { toJS: (v) => B(v).toString('utf8'), toJSON: (s) => hex(Buffer.from(s, 'utf8')) }],
  ['fixed32', c.fixed32, hexOf],
  ['fixed64', c.fixed64, hexOf],
  ['raw', c.raw, hexOf],
  ['array(uint)', c.array(c.uint), same],
  ['array(buffer)', c.array(c.buffer), { toJS: (l) => l.map(B), toJSON: (l) => l.map(hex) }],
  ['uint32array', c.uint32array, { toJS: (l) => Uint32Array.from(l), toJSON: (l) => Array.from(l) }]
]

// errorClass maps a compact-encoding exception to the vectors' error class.
// An exception not listed here stops the generator: a new message needs a
// decision, not a guess.
function errorClass (err) {
  if (err.message === 'Out of bounds') return 'truncated'
  if (/^uint must be between 0 and \d+, use biguint$/.test(err.message)) return 'range'
  if (err.message === 'Array is too big') return 'too-big'
  throw new Error('compact.js: unmapped compact-encoding exception: ' + err.message)
}

const utf8 = (s) => hex(Buffer.from(s, 'utf8'))
const fill = (n, f) => hex(Buffer.from(Array.from({ length: n }, (_, i) => f(i) & 0xff)))

// ENCODE lists, per encoding, values and comments. Every encoding is
// computed by compact-encoding.
const ENCODE = {
  uint: [
    [0, 'zero'], [1, 'one'], [0x7f, '0x7f'], [0x80, '0x80 (one byte: not LEB128)'],
    [0xfc, '0xfc, the largest one-byte value'], [0xfd, '0xfd, the smallest fd form'],
    [0xfe, '0xfe'], [0xff, '0xff'], [0x100, '0x100'], [0xffff, '0xffff, the largest fd form'],
    [0x10000, '0x10000, the smallest fe form'], [0x12345678, '0x12345678 (byte order)'],
    [0xffffffff, '2^32 - 1, the largest fe form'], [2 ** 32, '2^32, the smallest ff form'],
    [0x0123456789abcd, '0x0123456789abcd (byte order)'], [MAX, '2^53 - 1, the largest value JS decodes']
  ],
  uint32: [[0, 'zero'], [1, 'one'], [0x12345678, 'byte order'], [0xffffffff, '2^32 - 1']],
  uint64: [
    [0, 'zero'], [1, 'one'], [0xffffffff, '2^32 - 1'], [2 ** 32, '2^32'],
    [0x0123456789abcd, 'byte order'], [MAX, '2^53 - 1']
  ],
  bool: [[false, 'false'], [true, 'true']],
  buffer: [
    ['', 'empty'], ['aa', 'one byte'], ['aabbcc', 'three bytes'],
    [fill(0xfc, (i) => i), '0xfc bytes (one-byte length)'],
    [fill(0xfd, (i) => i), '0xfd bytes (length fd fd 00)']
  ],
  optionalBuffer: [
    [null, 'absent'], ['aa', 'one byte'], ['aabbcc', 'three bytes'],
    [fill(0x100, (i) => 255 - i), '0x100 bytes (length fd 00 01)']
  ],
  string: [
    [utf8(''), 'empty string'], [utf8('a'), '"a"'], [utf8('hypercore/alpha'), '"hypercore/alpha" (ASCII)'],
    [utf8('héllo wörld'), '"héllo wörld" (two-byte UTF-8)'], [utf8('✓ 日本'), '"✓ 日本" (three-byte UTF-8)'],
    [utf8('🙂'), '"🙂" (four-byte UTF-8)'],
    [utf8('x'.repeat(100)), '100 ASCII bytes (JS decodes beyond 56 bytes natively)'],
    [utf8('\ufeffa'), 'a byte order mark and "a" (kept)'], [utf8('a\u0000b'), 'a NUL inside']
  ],
  fixed32: [[fill(32, (i) => i), 'bytes 00..1f'], [fill(32, () => 0), 'zeros']],
  fixed64: [[fill(64, (i) => 0xff - i), 'bytes ff..c0']],
  raw: [['', 'empty'], ['0102ff', 'three bytes (no length)']],
  'array(uint)': [
    [[], 'empty'], [[7], 'one element'], [[1, 0xfd, 0x10000], 'elements of 1, 3 and 5 bytes'],
    [[0, 2 ** 32, MAX], 'elements of 1, 9 and 9 bytes']
  ],
  'array(buffer)': [
    [[], 'empty'], [['', 'aa', 'bbcc'], 'three buffers, the first empty'],
    [[fill(32, (i) => i), fill(32, (i) => 32 + i)], 'two 32-byte buffers']
  ],
  uint32array: [
    [[], 'empty'], [[1], 'one word'], [[1, 0xffffffff], 'two words'],
    [[0x12345678, 0, 0x80000000], 'three words (byte order)']
  ]
}

// DECODE lists, per encoding, inputs that are not simply an EncodeTest's
// bytes: [hex, comment, flags]. JS decides each.
const DECODE = {
  uint: [
    ['fd0000', 'zero in the fd form', ['NonMinimal']],
    ['fd0100', 'one in the fd form', ['NonMinimal']],
    ['fdfc00', '0xfc in the fd form', ['NonMinimal']],
    ['fe01000000', 'one in the fe form', ['NonMinimal']],
    ['feffff0000', '0xffff in the fe form', ['NonMinimal']],
    ['ff0100000000000000', 'one in the ff form', ['NonMinimal']],
    ['ffffffffff00000000', '2^32 - 1 in the ff form', ['NonMinimal']],
    ['0500', 'one-byte value and a trailing byte', ['TrailingBytes']],
    ['fdfd00ff', 'fd form and a trailing byte', ['TrailingBytes']],
    ['ffffffffffffff1f00', '2^53 - 1'],
    ['ff0000000000002000', '2^53'],
    ['ff0100000000002000', '2^53 + 1'],
    ['ffffffffffffffffff', '2^64 - 1'],
    ['ff0000000000000080', '2^63'],
    ['', 'no bytes'],
    ['fd', 'fd prefix alone'],
    ['fe', 'fe prefix alone'],
    ['ff', 'ff prefix alone'],
    ['ff00000000000020', 'ff form of 2^53 cut short (truncated is found before range)']
  ],
  uint32: [['78563412ff', 'trailing byte', ['TrailingBytes']]],
  uint64: [
    ['ffffffffffff1f00', '2^53 - 1'],
    ['0000000000002000', '2^53'],
    ['ffffffffffffffff', '2^64 - 1'],
    ['010000000000000000', 'trailing byte', ['TrailingBytes']]
  ],
  bool: [
    ['02', 'byte 02 (false: only 01 is true)', ['BoolByte']],
    ['7f', 'byte 7f', ['BoolByte']],
    ['80', 'byte 80', ['BoolByte']],
    ['ff', 'byte ff', ['BoolByte']],
    ['0101', 'true and a trailing byte', ['TrailingBytes']],
    ['', 'no bytes']
  ],
  buffer: [
    ['fd0200aabb', 'length 2 in the fd form', ['NonMinimal']],
    ['ff0000000000000000', 'empty, length in the ff form', ['NonMinimal']],
    ['01aabb', 'trailing byte', ['TrailingBytes']],
    ['03aabb', 'length 3, two bytes present'],
    ['fdfd', 'fd form of a length cut short'],
    ['fdfd00', 'length 0xfd, nothing present'],
    ['fdfd00' + fill(0xfc, (i) => i), 'length 0xfd, 0xfc bytes present'],
    ['fd0001' + fill(0xff, (i) => i), 'length 0x100, 0xff bytes present'],
    ['feffffffff', 'length 2^32 - 1, nothing present'],
    ['ff0100000001000000' + 'aa', 'length 2^32 + 1 (1 in 32-bit arithmetic), one byte present', ['Wraps32']],
    ['ffffffffffffff1f00', 'length 2^53 - 1, nothing present'],
    ['ff0000000000002000', 'length 2^53'],
    ['ffffffffffffffffff', 'length 2^64 - 1']
  ],
  optionalBuffer: [
    ['00', 'length 0: absent'],
    ['fd0000', 'length 0 in the fd form: absent', ['NonMinimal']],
    ['0000', 'absent and a trailing byte', ['TrailingBytes']],
    ['02aabbcc', 'two bytes and a trailing byte', ['TrailingBytes']],
    ['02aa', 'length 2, one byte present'],
    ['ff0000000000002000', 'length 2^53']
  ],
  string: [
    ['0161ff', '"a" and a trailing byte', ['TrailingBytes']],
    ['fd03006162', '"ab..." length in the fd form, cut short'],
    ['fd0200c3a9', '"é", length in the fd form', ['NonMinimal']],
    ['01ff', 'byte ff (never valid in UTF-8)', ['InvalidUTF8']],
    ['0180', 'a lone continuation byte', ['InvalidUTF8']],
    ['02c328', 'c3 then "(": a two-byte sequence cut by an ASCII byte', ['InvalidUTF8']],
    ['03e28241', 'e2 82 then "A": one U+FFFD for the two bytes (maximal subpart)', ['InvalidUTF8']],
    ['03f09f99', 'a four-byte sequence cut by the end of the string', ['InvalidUTF8']],
    ['02c080', 'overlong NUL c0 80', ['InvalidUTF8']],
    ['03e08080', 'overlong three-byte form of NUL', ['InvalidUTF8']],
    ['04f08f8080', 'overlong four-byte form', ['InvalidUTF8']],
    ['03eda080', 'UTF-8 of the surrogate U+D800', ['InvalidUTF8']],
    ['03ed9fbf', 'U+D7FF, the last code point before the surrogates'],
    ['04f4908080', 'above U+10FFFF', ['InvalidUTF8']],
    ['04f48fbfbf', 'U+10FFFF'],
    ['0561ff62c363', 'ASCII around invalid bytes', ['InvalidUTF8']],
    ['40' + '61'.repeat(59) + 'ffe282f09f', '64 bytes: 59 ASCII and invalid bytes (JS decodes natively)', ['InvalidUTF8']],
    ['05616263', 'length 5, three bytes present']
  ],
  fixed32: [[fill(33, (i) => i), '33 bytes: one trailing', ['TrailingBytes']]],
  fixed64: [[fill(65, (i) => i), '65 bytes: one trailing', ['TrailingBytes']]],
  raw: [['', 'nothing: empty'], ['00', 'one byte']],
  'array(uint)': [
    ['fe020000000102', 'count 2 in the fe form', ['NonMinimal']],
    ['0201fd0100', 'element 1 in the fd form', ['NonMinimal']],
    ['010102', 'one element and a trailing byte', ['TrailingBytes']],
    ['03010203', 'three elements'],
    ['030102', 'count 3, two elements present'],
    ['0501', 'count 5, one element present'],
    ['fe00001000', 'count 0x100000 (the limit), nothing present'],
    ['fe01001000', 'count 0x100001 (over the limit)'],
    ['feffffffff', 'count 2^32 - 1'],
    ['ffffffffffffff1f00', 'count 2^53 - 1'],
    ['ff0000000000002000', 'count 2^53'],
    ['0201ff0000000000002000', 'second element 2^53'],
    ['01', 'count 1, no element'],
    ['0aff0000000000002000', 'count 10, 9 bytes left, the first element 2^53', ['CountFirst']]
  ],
  'array(buffer)': [
    ['020001aa', 'empty and one-byte buffers'],
    ['0201aa02bb', 'second buffer cut short'],
    ['030000', 'count 3, two empty buffers present'],
    ['fe01001000', 'count 0x100001 (over the limit)']
  ],
  uint32array: [
    ['fd010001000000', 'count 1 in the fd form', ['NonMinimal']],
    ['0101000000ff', 'one word and a trailing byte', ['TrailingBytes']],
    ['02010000', 'count 2, one byte short of one word'],
    ['0201000000', 'count 2, one word present'],
    ['fe0000004001000000', 'count 2^30 (2^32 bytes, 0 in 32-bit arithmetic), one word present', ['Wraps32']],
    ['fe0100004001000000', 'count 2^30 + 1 (4 bytes in 32-bit arithmetic), one word present', ['Wraps32']],
    ['ffffffffffffff1f00', 'count 2^53 - 1 (no 0x100000 limit on typed arrays)'],
    ['ff0000000000002000', 'count 2^53'],
    ['fe01001000', 'count 0x100001, nothing present (no count limit: truncated, not too big)']
  ]
}

// TRUNCATE names the encode cases (encoding, index in ENCODE) whose every
// strict prefix becomes a DecodeTest.
const TRUNCATE = {
  uint: [5, 10, 13, 15],
  uint32: [3],
  uint64: [5],
  bool: [1],
  buffer: [0, 2],
  optionalBuffer: [0, 2],
  string: [4, 5],
  fixed32: [0],
  fixed64: [0],
  'array(uint)': [0, 2, 3],
  'array(buffer)': [1],
  uint32array: [0, 2]
}

// decodeJS runs compact-encoding's decoder over bytes and records what it did.
function decodeJS (enc, conv, bytes) {
  const buf = B(bytes)
  const state = c.state(0, buf.length, buf)
  try {
    const v = enc.decode(state)
    return { js: 'decodes', value: conv.toJSON(v), consumed: state.start }
  } catch (err) {
    return { js: 'throws', jsError: err.message, error: errorClass(err) }
  }
}

function decodeCase (enc, conv, bytes, comment, flags) {
  const r = decodeJS(enc, conv, bytes)
  const t = { comment, flags: flags || [], encoded: bytes, js: r.js }
  if (r.js === 'decodes') {
    t.value = r.value
    t.consumed = r.consumed
    t.result = 'valid'
    if (t.flags.includes('TrailingBytes') !== (r.consumed < bytes.length / 2)) {
      throw new Error('compact.js: TrailingBytes flag does not match what JS consumed: ' + comment)
    }
  } else {
    t.jsError = r.jsError
    t.result = 'invalid'
    t.error = r.error
  }
  // The spec checks an array's count against the bytes left before it
  // reads an element (JS reads elements until one fails), so where both a
  // short array and a bad element are present its class is truncated.
  if (t.flags.includes('CountFirst')) {
    if (r.js !== 'throws' || r.error === 'truncated') throw new Error('compact.js: CountFirst case where JS agrees: ' + comment)
    t.error = 'truncated'
  }
  return t
}

function groups () {
  const out = []
  for (const [name, enc, conv] of ENCODINGS) {
    const encodeTests = ENCODE[name].map(([value, comment]) => {
      const encoded = hex(c.encode(enc, conv.toJS(value)))
      const back = decodeJS(enc, conv, encoded)
      if (back.js !== 'decodes' || JSON.stringify(back.value) !== JSON.stringify(value) || back.consumed !== encoded.length / 2) {
        throw new Error('compact.js: ' + name + ' ' + comment + ' does not round-trip in JS')
      }
      return { comment, flags: [], value, encoded, result: 'valid' }
    })
    out.push({ type: 'EncodeTest', encoding: name, tests: encodeTests })

    const decodeTests = (DECODE[name] || []).map(([bytes, comment, flags]) => decodeCase(enc, conv, bytes, comment, flags))
    for (const i of TRUNCATE[name] || []) {
      const { encoded, comment } = encodeTests[i]
      const n = encoded.length / 2
      for (let k = 0; k < n; k++) {
        decodeTests.push(decodeCase(enc, conv, encoded.slice(0, 2 * k), `${comment}: ${encoded.length > 40 ? encoded.slice(0, 16) + '…' : encoded} cut to ${k} of ${n} bytes`))
      }
    }
    if (decodeTests.length > 0) out.push({ type: 'DecodeTest', encoding: name, tests: decodeTests })
  }
  return out
}

writeFile(outDir(), 'compact', {
  concept: 'compact-encoding primitives',
  source: source('compact-encoding', ['b4a']),
  notes: {
    NonMinimal: 'A uint (a value, a length or a count) is written in a longer form than the encoder would use; decoders accept it, and re-encoding the value gives the shorter form.',
    TrailingBytes: 'Bytes follow the value; a decoder reads only the value (consumed is less than the input length) and leaves the rest to the caller.',
    BoolByte: 'A bool byte other than 00 and 01: JS decodes it as false (only 01 is true) without an error.',
    InvalidUTF8: 'The string bytes are not valid UTF-8. value is what JS returns, UTF-8 encoded: each maximal ill-formed subsequence replaced by U+FFFD (ef bf bd), as the WHATWG UTF-8 decoder does.',
    CountFirst: 'The array count is larger than the bytes left and an element is also bad. The spec checks the count against the bytes left before reading any element, so the class is truncated; JS reads elements until one fails and throws that element\'s exception (jsError).',
    Wraps32: 'A length or count whose byte size, computed in 32-bit arithmetic, wraps around to a small number that the bytes present would satisfy; computed exactly it is far larger than the input.'
  }
}, groups())

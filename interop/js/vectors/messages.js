'use strict'
// Generates vectors/messages.json from simple-hypercore-protocol 2.1.2
// (messages.js, the protocol-buffers encoder generated from schema.proto)
// and simple-message-channels 1.2.1 (framing).
//
//   node interop/js/vectors/messages.js OUTDIR
//
// EncodeTest: a message given as fields is encoded by JS (body, and the
// frame on a channel), and the body decoded again by JS (with its
// defaults). DecodeTest: bodies, many malformed, with what the JS decoder
// makes of them and the verdict of the spec. FrameTest: byte streams fed to
// the JS frame parser in one chunk and byte by byte, with the frames it
// delivers or the error it destroys the stream with.

const messages = require('simple-hypercore-protocol/messages')
const SMC = require('simple-message-channels')
const varint = require('simple-hypercore-protocol/node_modules/varint')
const { source, writeFile, outDir, hex } = require('./lib/vectors')

const TYPES = ['Open', 'Options', 'Status', 'Have', 'Unhave', 'Want', 'Unwant', 'Request', 'Cancel', 'Data', 'Close']
const B = (s) => Buffer.from(s, 'hex')

// toJSON turns a JS message (as given or as decoded) into vector JSON:
// Buffers as hex; everything else as is.
function toJSON (v) {
  if (Buffer.isBuffer(v)) return hex(v)
  if (Array.isArray(v)) return v.map(toJSON)
  if (v && typeof v === 'object') {
    const o = {}
    for (const k of Object.keys(v)) o[k] = toJSON(v[k])
    return o
  }
  return v
}

// fromJSON is the inverse for the message fields below: which fields are
// bytes is known per message.
const BYTES = { discoveryKey: 1, capability: 1, bitfield: 1, value: 1, signature: 1, hash: 0, nonce: 1 }
function fromJSON (type, fields) {
  const o = {}
  for (const k of Object.keys(fields)) {
    const v = fields[k]
    if (k === 'nodes' && Array.isArray(v)) o.nodes = v.map((n) => ({ index: n.index, hash: B(n.hash), size: n.size }))
    else if (BYTES[k] && typeof v === 'string') o[k] = B(v)
    else o[k] = v
  }
  return o
}

function encodeFrame (channel, typeNum, body) {
  // simple-message-channels' send, with the body already encoded
  const smc = new SMC({
    types: [{ encoding: { encodingLength: () => body.length, encode: (m, buf, off) => { body.copy(buf, off); return buf } } }]
  })
  // type index 0 of this SMC stands for typeNum; patch the header afterwards
  const frame = smc.send(channel, 0, null)
  const headerLen = varint.encodingLength(channel << 4)
  const lenLen = frame.length - headerLen - body.length
  return Buffer.concat([frame.subarray(0, lenLen), Buffer.from(varint.encode(channel << 4 | typeNum)), body])
}

const h32 = (c) => Buffer.alloc(32, c).toString('hex')
const h64 = (c) => Buffer.alloc(64, c).toString('hex')

// Messages as hypercore sends them, plus all-fields and minimal forms.
const ENCODE = [
  ['Open', { discoveryKey: '730b9d84' + h32(0x11).slice(8), capability: h32(0x22) }, 1, 'Open as hypercore sends it'],
  ['Open', { discoveryKey: h32(0x33) }, 1, 'Open without capability (noise disabled)'],
  ['Options', { extensions: ['a', 'b-ext'], ack: true }, 1, 'Options with extensions and ack'],
  ['Options', { extensions: [], ack: false }, 1, 'Options as hypercore sends it without extensions'],
  ['Options', {}, 0, 'empty Options on the stream channel'],
  ['Status', { uploading: true, downloading: false }, 1, 'writer Status'],
  ['Status', { uploading: false, downloading: false }, 1, 'Status both false (end of a non-live session)'],
  ['Status', {}, 1, 'Status without fields (decodes to false, false)'],
  ['Have', { start: 1 }, 1, 'eager length Have'],
  ['Have', { start: 0, length: 1048576, bitfield: '02c0' }, 1, 'bitfield Have answering a Want'],
  ['Have', { start: 100, length: 20 }, 1, 'Have after a batch append'],
  ['Have', { start: 7, length: 1, ack: true }, 1, 'acknowledgement Have'],
  ['Have', { start: 2 ** 52, length: 0, bitfield: '', ack: false }, 3, 'all fields, zero and empty values'],
  ['Unhave', { start: 5 }, 1, 'Unhave one block'],
  ['Unhave', { start: 0, length: 10 }, 1, 'Unhave a range'],
  ['Want', { start: 0, length: 1048576 }, 1, 'the Want every reader sends'],
  ['Want', { start: 1048576 * 3 }, 1, 'Want without length'],
  ['Unwant', { start: 0, length: 1048576 }, 1, 'Unwant'],
  ['Request', { index: 0, bytes: 0, hash: false, nodes: 0 }, 1, 'Request for block 0 as hypercore sends it'],
  ['Request', { index: 1, bytes: 0, hash: false, nodes: 1 }, 1, 'Request with digest 1'],
  ['Request', { index: 2, bytes: 0, hash: true, nodes: 4 }, 1, 'hash-only Request (update)'],
  ['Request', { index: 9 }, 1, 'Request with only the index'],
  ['Request', { index: 300, bytes: 123456 }, 2, 'Request by byte offset'],
  ['Cancel', { index: 3, bytes: 0, hash: true }, 1, 'Cancel'],
  ['Data', { index: 1, value: '776f726c64' }, 1, 'Data without nodes or signature'],
  ['Data', { index: 0, value: '68656c6c6f', nodes: [{ index: 2, hash: h32(0xab), size: 5 }], signature: h64(0xcd) }, 1, 'Data with a node and a signature'],
  ['Data', { index: 2, nodes: [{ index: 4, hash: h32(1), size: 11 }, { index: 6, hash: h32(2), size: 11 }, { index: 11, hash: h32(3), size: 44 }], signature: h64(4) }, 1, 'hash-only Data (no value)'],
  ['Data', { index: 5, value: '' }, 1, 'Data for an empty block (value present, empty)'],
  ['Data', { index: 2 ** 40, value: Buffer.alloc(300, 0x61).toString('hex'), nodes: [{ index: 0, hash: '', size: 0 }] }, 20, 'large index, 300-byte value, node with an empty hash'],
  ['Close', {}, 1, 'Close'],
  ['Close', { discoveryKey: h32(0x44) }, 1, 'Close rejecting a channel never opened'],
  ['NoisePayload', { nonce: Buffer.alloc(24, 0x5a).toString('hex') }, null, 'handshake payload']
]

function encodeCases () {
  const tests = []
  for (const [type, fields, channel, comment] of ENCODE) {
    const enc = messages[type]
    const body = enc.encode(fromJSON(type, fields))
    const decoded = toJSON(enc.decode(body))
    const t = { comment, flags: [], message: type, fields, body: hex(body) }
    if (channel !== null) t.channel = channel
    if (channel !== null) t.frame = hex(encodeFrame(channel, TYPES.indexOf(type), body))
    t.decoded = decoded
    t.result = 'valid'
    tests.push(t)
  }
  // Extension frames (type 15): not protobuf.
  for (const [ch, id, msg, comment] of [[0, 0, '6869', 'stream-level extension 0 "hi"'], [1, 3, '', 'extension 3, empty message'], [2, 300, 'ff00', 'extension 300']]) {
    const buf = Buffer.concat([Buffer.from(varint.encode(id)), B(msg)])
    tests.push({ comment, flags: [], message: 'Extension', fields: { id, message: msg }, body: hex(buf), channel: ch, frame: hex(encodeFrame(ch, 15, buf)), decoded: { id, message: msg }, result: 'valid' })
  }
  return tests
}

// Decode cases: [type, body hex, spec result, error class, comment, flags].
const DECODE = [
  ['Have', '', 'invalid', 'missing-required-field', 'empty Have (start is required)'],
  ['Have', '1005', 'invalid', 'missing-required-field', 'Have with only length'],
  ['Open', '1220' + h32(1), 'invalid', 'missing-required-field', 'Open without discoveryKey'],
  ['Request', '', 'invalid', 'missing-required-field', 'empty Request'],
  ['Data', '08011a00', 'invalid', 'missing-required-field', 'Data.Node without fields'],
  ['Data', '08011a0508011201aa', 'invalid', 'missing-required-field', 'Data.Node without size'],
  ['Data', '1205776f726c64', 'invalid', 'missing-required-field', 'Data without index'],
  ['Want', '10808040', 'invalid', 'missing-required-field', 'Want without start'],
  ['NoisePayload', '', 'invalid', 'missing-required-field', 'empty NoisePayload'],
  ['Status', '', 'valid', null, 'empty Status: both false'],
  ['Close', '', 'valid', null, 'empty Close'],
  ['Options', '', 'valid', null, 'empty Options'],
  ['Status', '0802', 'valid', null, 'bool encoded as 2 is true'],
  ['Have', '08010802', 'valid', null, 'repeated scalar field: the last one wins'],
  ['Have', '08052805', 'valid', null, 'unknown varint field is skipped'],
  ['Have', '08053a03616263', 'valid', null, 'unknown bytes field is skipped'],
  ['Have', '08053d01020304', 'valid', null, 'unknown fixed32 field is skipped'],
  ['Have', '0805390102030405060708', 'valid', null, 'unknown fixed64 field is skipped'],
  ['Have', '0880', 'invalid', 'truncated', 'varint cut short'],
  ['Have', '08', 'invalid', 'truncated', 'tag without value'],
  ['Have', '0805ff', 'invalid', 'truncated', 'tag varint cut short'],
  ['Have', '08051a05aa', 'invalid', 'truncated', 'bytes field longer than the body', ['JSLenient']],
  ['Data', '080112', 'invalid', 'truncated', 'bytes field without its length'],
  ['Have', '08053d0102', 'invalid', 'truncated', 'unknown fixed32 field cut short', ['JSLenient']],
  ['Have', '0d01020304', 'invalid', 'wrong-wire-type', 'start sent as fixed32', ['JSLenient']],
  ['Data', '0a0101', 'invalid', 'wrong-wire-type', 'index sent as bytes', ['JSLenient']],
  ['Status', '08801002', 'invalid', 'wrong-wire-type', 'two-byte bool: JS reads one byte and misparses the rest', ['JSLenient']],
  ['Have', '08052b', 'invalid', 'wrong-wire-type', 'unknown field with group wire type'],
  ['Have', '08052e', 'invalid', 'wrong-wire-type', 'unknown field with wire type 6'],
  ['Have', '0805000a', 'invalid', 'wrong-wire-type', 'field number 0', ['JSLenient']],
  ['Have', '08ffffffffffffffffff01', 'valid', null, 'start = 2^64 - 1 (JS decodes it inexactly)', ['JSInexact']],
  ['Have', '08ffffffffffffffffffff01', 'invalid', 'varint-overflow', 'varint of 11 bytes', ['JSLenient']]
]

function decodeCases () {
  const tests = []
  for (const [type, body, result, error, comment, flags] of DECODE) {
    const t = { comment, flags: flags || [], message: type, body }
    try {
      const m = messages[type].decode(B(body))
      t.js = 'decodes'
      t.jsDecoded = toJSON(m)
      if (JSON.stringify(m, (k, v) => typeof v === 'number' && !Number.isSafeInteger(v) ? 'inexact' : v).includes('"inexact"')) {
        // JS lost precision: its value is not a fact worth recording, and
        // is not compared. null stays "JS decoded nothing" (it threw).
        t.jsDecoded = 'inexact'
        if (!t.flags.includes('JSInexact')) t.flags.push('JSInexact')
      }
    } catch (err) {
      t.js = 'throws'
      t.jsDecoded = null
      t.jsError = err.message
    }
    const jsAgrees = (t.js === 'decodes') === (result === 'valid')
    if (!jsAgrees && !(flags || []).includes('JSLenient')) {
      throw new Error('JS disagrees with the spec without a JSLenient flag: ' + comment + ' ' + t.js)
    }
    if (jsAgrees && (flags || []).includes('JSLenient')) throw new Error('JSLenient flag but JS agrees: ' + comment)
    t.result = result
    if (error) t.error = error
    tests.push(t)
  }
  // Extension bodies: JS reads the id with varint.decode (which throws on a
  // truncated varint; the throw is not caught inside the JS engine).
  for (const [body, result, error, comment] of [['00', 'valid', null, 'id 0, empty message'], ['', 'invalid', 'truncated', 'empty extension body'], ['80', 'invalid', 'truncated', 'extension id cut short']]) {
    const t = { comment, flags: [], message: 'Extension', body }
    try {
      const id = varint.decode(B(body))
      t.js = 'decodes'
      t.jsDecoded = { id, message: hex(B(body).subarray(varint.decode.bytes)) }
    } catch (err) {
      t.js = 'throws'
      t.jsDecoded = null
      t.jsError = err.message
    }
    t.result = result
    if (error) t.error = error
    tests.push(t)
  }
  return tests
}

// feed runs the JS frame parser over a stream, split into chunks, and
// records the frames it delivers and whether it destroyed the stream.
function feed (stream, chunkSize) {
  const frames = []
  const smc = new SMC({
    onmessage (channel, type, message) { frames.push({ channel, type, body: hex(message) }) }
  })
  let error = null
  for (let i = 0; i < stream.length && !error; i += chunkSize) {
    if (!smc.recv(stream.subarray(i, i + chunkSize))) error = smc.error ? smc.error.message : 'destroyed'
  }
  const incomplete = !error && (smc._state !== 0 || smc._varint !== 0 || smc._consumed !== 0)
  return { frames, error, incomplete }
}

const FRAMES = [
  ['071508001080804000', 'valid', null, 'Want{0, 1048576} on channel 1 and a ping'],
  ['00', 'valid', null, 'keep-alive ping'],
  ['000305120800', 'valid', null, 'ping then a frame then a ping'],
  ['031308010b130800108080401a0202c0', 'valid', null, 'two Have frames back to back'],
  ['011a', 'valid', null, 'Close: a frame with an empty body'],
  ['041f006869', 'valid', null, 'extension frame'],
  ['02bc01', 'valid', null, 'type 12 frame: delivered, not a message (JS ignores it)'],
  ['038a8010', 'valid', null, 'Close on channel 16384 (header varint of 3 bytes)'],
  ['01', 'invalid', 'truncated', 'stream ends after the length'],
  ['0315', 'invalid', 'truncated', 'stream ends inside the body'],
  ['0315080010', 'invalid', 'truncated', 'stream ends inside the body (longer)'],
  ['80', 'invalid', 'truncated', 'stream ends inside the length varint'],
  ['01ff01', 'invalid', 'invalid-frame', 'length 1 but a 2-byte header'],
  ['828080041f', 'invalid', 'frame-too-large', 'body of 8 MiB + 1 bytes claimed'],
  ['80808080808080800115', 'invalid', 'varint-overflow', 'length varint of 9 bytes', ['JSChunking']],
  ['0280808080808080800115', 'invalid', 'varint-overflow', 'header varint of 9 bytes', ['JSChunking']]
]

function frameCases () {
  const tests = []
  for (const [s, result, error, comment, flags] of FRAMES) {
    const stream = B(s)
    const whole = feed(stream, stream.length)
    const bytewise = feed(stream, 1)
    const t = { comment, flags: flags || [], stream: s, jsWhole: whole, jsBytewise: bytewise, result }
    if (error) t.error = error
    if (result === 'valid') {
      t.frames = whole.frames
      if (whole.error || bytewise.error || whole.incomplete) throw new Error('JS rejects a valid frame case: ' + comment)
      if (JSON.stringify(whole.frames) !== JSON.stringify(bytewise.frames)) throw new Error('chunking changes JS frames: ' + comment)
    } else {
      const jsRejects = (r) => r.error !== null || r.incomplete
      if (!(flags || []).includes('JSChunking') && !(jsRejects(whole) && jsRejects(bytewise))) {
        throw new Error('JS accepts an invalid frame case: ' + comment)
      }
    }
    tests.push(t)
  }
  return tests
}

writeFile(outDir(), 'messages', {
  concept: 'wire messages and framing',
  source: source('simple-hypercore-protocol', ['simple-message-channels', 'protocol-buffers-encodings']),
  notes: {
    JSLenient: 'The JS decoder accepts this malformed input (it does not check wire types, reads one byte for a bool, and truncates a bytes field at the end of the body); the spec, and Go, reject it. jsDecoded shows what JS made of it.',
    JSInexact: 'JS decodes integers with float64 math, so values above 2^53 lose precision; the spec decodes them exactly. jsDecoded is "inexact" and is not compared.',
    JSChunking: 'JS (simple-message-channels) only rejects a long varint when a chunk of input ends inside it: delivered in one chunk it is accepted, byte by byte it is rejected. The spec, and Go, always reject it.'
  }
}, [
  { type: 'EncodeTest', tests: encodeCases() },
  { type: 'DecodeTest', tests: decodeCases() },
  { type: 'FrameTest', tests: frameCases() }
])

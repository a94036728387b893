'use strict'
// Generates vectors/v11/secretstream.json: the transport cipher of
// @hyperswarm/secret-stream, libsodium's crypto_secretstream_xchacha20poly1305
// (spec/v11/secretstream-cipher.md), run through sodium-secretstream 1.2.0 and
// sodium-native (sodium-universal).
//
//   node interop/js11/vectors/secretstream.js OUTDIR
//
// Randomness. init_push draws the 24-byte header with randombytes_buf inside
// libsodium, out of reach of JS. As notes §3.7 says, this generator replaces
// sodium.crypto_secretstream_xchacha20poly1305_init_push (the function
// sodium-secretstream's Push calls) with one that writes a chosen header and
// then initialises the state from it with libsodium's init_pull: libsodium's
// init_push is randombytes_buf(header) followed by exactly the steps of
// init_pull (HChaCha20, counter = 1, inonce = header[16:24]). checkInitPush
// below proves that equivalence on every run: it calls the real init_push,
// then init_pull with the header it chose, and requires equal states. The
// receiving side (init_pull, pull, rekey) is libsodium's own, and every
// message a generator pushes is pulled back by it, so a wrong state never
// reaches the file.
//
// Counter wrap. Reaching counter 0xffffffff by pushing 2^32 messages is not
// practical. The state is a plain 52-byte Buffer, laid out as libsodium's
// struct: k (bytes 0..31) ‖ counter u32le (32..35) ‖ inonce (36..43) ‖ pad
// (44..51). For the cases with a `counter` input the generator writes that
// value into bytes 32..35 of both the push and the pull state right after
// init, for the JS side only; the Go test sets its own state the same way.
//
// Negative cases: each is a sequence of pulls of messages from a fixed
// stream, with one changed (a bit flipped, cut, replayed, reordered, pulled
// with a wrong key, header or rekey). libsodium decides every pull: a pull
// that throws is recorded with its error class, one that succeeds with its
// plaintext and tag. Pulls after a failure show that the failure left the
// state unchanged.

const sodium = require('sodium-universal')
const { Push, Pull, ABYTES, HEADERBYTES, KEYBYTES, STATEBYTES } = require('sodium-secretstream')
const { writeFile, source, hex, seed, outDir } = require('./lib/vectors')

const S = 'crypto_secretstream_xchacha20poly1305_'
const TAG_MESSAGE = sodium[S + 'TAG_MESSAGE']
const TAG_PUSH = sodium[S + 'TAG_PUSH']
const TAG_REKEY = sodium[S + 'TAG_REKEY']
const TAG_FINAL = sodium[S + 'TAG_FINAL']

function check (cond, what) {
  if (!cond) throw new Error('secretstream.js: ' + what)
}

check(ABYTES === 17 && HEADERBYTES === 24 && KEYBYTES === 32 && STATEBYTES === 52, 'sizes')
check(TAG_MESSAGE === 0 && TAG_PUSH === 1 && TAG_REKEY === 2 && TAG_FINAL === 3, 'tag values')

// checkInitPush: the real init_push equals init_pull with the header it chose.
function checkInitPush (key) {
  const a = Buffer.alloc(STATEBYTES)
  const b = Buffer.alloc(STATEBYTES)
  const header = Buffer.alloc(HEADERBYTES)
  sodium[S + 'init_push'](a, header, key)
  sodium[S + 'init_pull'](b, header, key)
  check(a.equals(b), 'init_push is not randombytes + init_pull')
}

// The patched init_push: the header is the one in `nextHeader`.
let nextHeader = null
const realInitPush = sodium[S + 'init_push']
function patchedInitPush (state, header, key) {
  check(nextHeader !== null, 'init_push without a chosen header')
  header.set(nextHeader)
  nextHeader = null
  sodium[S + 'init_pull'](state, header, key)
}

function label (s) {
  return 'hypercore-go v11 vectors: secretstream ' + s
}
const KEY = seed(label('key'))
const HEADER = seed(label('header')).subarray(0, HEADERBYTES)
const KEY2 = seed(label('key 2'))
const HEADER2 = seed(label('header 2')).subarray(0, HEADERBYTES)

// plaintext n i: n bytes, byte j = (i·31 + j) mod 256; i tells messages apart.
function plaintext (n, i) {
  const b = Buffer.alloc(n)
  for (let j = 0; j < n; j++) b[j] = (i * 31 + j) & 0xff
  return b
}

// newPush starts a sodium-secretstream Push with the chosen header.
function newPush (key, header, counter) {
  nextHeader = header
  const p = new Push(key)
  check(p.header.equals(header), 'header not taken')
  if (counter !== null) p.state.writeUInt32LE(counter, 32)
  return p
}

function newPull (key, header, counter) {
  const p = new Pull(key)
  p.init(header)
  if (counter !== null) p.state.writeUInt32LE(counter, 32)
  return p
}

// push seals one message with libsodium's push.
function push (p, m, tag) {
  if (tag === TAG_MESSAGE) return p.next(m) // sodium-secretstream's own path
  const c = Buffer.alloc(m.byteLength + ABYTES)
  sodium[S + 'push'](p.state, c, m, null, tag)
  return c
}

// pull opens one message with libsodium's pull: {plaintext, tag} or
// {threw: message}.
function pull (p, c) {
  const m = Buffer.alloc(Math.max(c.byteLength - ABYTES, 0))
  const tag = Buffer.alloc(1)
  const before = Buffer.from(p.state)
  try {
    sodium[S + 'pull'](p.state, m, tag, c, null)
  } catch (err) {
    check(p.state.equals(before), 'libsodium changed the state on a failed pull')
    return { threw: err.message }
  }
  return { plaintext: m, tag: tag[0] }
}

// stream runs ops through a libsodium Push and checks each message with a
// libsodium Pull. ops: {n, tag, i} messages and 'rekey'.
function stream (comment, key, header, counter, ops, flags) {
  const p = newPush(key, header, counter)
  const q = newPull(key, header, counter)
  const steps = []
  let i = 0
  for (const op of ops) {
    if (op === 'rekey') {
      sodium[S + 'rekey'](p.state)
      sodium[S + 'rekey'](q.state)
      steps.push({ op: 'rekey' })
      continue
    }
    const m = plaintext(op.n, i++)
    const c = push(p, m, op.tag)
    const r = pull(q, c)
    check(!r.threw && r.plaintext.equals(m) && r.tag === op.tag, comment + ': libsodium pull disagrees with push')
    steps.push({ op: 'message', tag: op.tag, plaintext: hex(m), message: hex(c) })
  }
  return { comment, flags, key: hex(key), header: hex(header), counter, steps, result: 'valid' }
}

function msgs (lengths, tag) {
  return lengths.map((n) => ({ n, tag: tag || TAG_MESSAGE }))
}

// The base stream of the negative cases: m1 (19 bytes), m2 (100 bytes,
// 100 mod 16 = 4, so the padding quirk matters), m3 (empty), all
// TAG_MESSAGE; and a variant with an explicit rekey after m1.
function baseStream (rekeyAfterFirst) {
  const p = newPush(KEY, HEADER, null)
  const out = []
  for (const [i, n] of [19, 100, 0].entries()) {
    out.push(push(p, plaintext(n, i), TAG_MESSAGE))
    if (rekeyAfterFirst && i === 0) sodium[S + 'rekey'](p.state)
  }
  return out
}

function flip (buf, byte, bit) {
  const b = Buffer.from(buf)
  b[byte] ^= 1 << bit
  return b
}

// errorClass is the class of a pull libsodium refused: a body shorter than
// ABYTES is "short" (sodium-native refuses it before libsodium, which would
// return -1 for it too), everything else "authentication".
function errorClass (c) {
  return c.byteLength < ABYTES ? 'short' : 'authentication'
}

// pulls runs a sequence of pulls through one libsodium Pull and records
// libsodium's verdict on each. seq: Buffers (pull) and 'rekey'.
function pulls (comment, key, header, seq, flags) {
  const q = newPull(key, header, null)
  const steps = []
  let firstError = null
  for (const c of seq) {
    if (c === 'rekey') {
      sodium[S + 'rekey'](q.state)
      steps.push({ op: 'rekey' })
      continue
    }
    const r = pull(q, c)
    if (r.threw) {
      const error = errorClass(c)
      if (firstError === null) firstError = error
      steps.push({ op: 'pull', message: hex(c), error })
    } else {
      steps.push({ op: 'pull', message: hex(c), tag: r.tag, plaintext: hex(r.plaintext) })
    }
  }
  check(firstError !== null, comment + ': libsodium accepted every pull')
  return { comment, flags, key: hex(key), header: hex(header), steps, result: 'invalid', error: firstError }
}

// standardPaddingMAC recomputes m's MAC with RFC 8439's padding
// ((16 − len(c) mod 16) mod 16 zero bytes) instead of libsodium's
// (len(c) mod 16), from the Pull state it would be opened with: what an
// implementation that "fixed" the padding would send.
function standardPaddingMAC (state, m) {
  const k = state.subarray(0, 32)
  const nonce = state.subarray(32, 44)
  const block = Buffer.alloc(128)
  sodium.crypto_stream_chacha20_ietf(block, nonce, k)
  const polyKey = block.subarray(0, 32)
  const ks1 = block.subarray(64, 128)
  const c = m.subarray(1, m.byteLength - 16)
  const tagBlock = Buffer.from(ks1)
  tagBlock[0] = m[0]
  const pad = Buffer.alloc((16 - (c.byteLength % 16)) % 16)
  const lens = Buffer.alloc(16)
  lens.writeBigUInt64LE(BigInt(64 + c.byteLength), 8)
  const mac = Buffer.alloc(16)
  sodium.crypto_onetimeauth(mac, Buffer.concat([tagBlock, c, pad, lens]), polyKey)
  return Buffer.concat([m.subarray(0, m.byteLength - 16), mac])
}

// checkStandardPaddingMAC: where the two paddings agree (len(c) mod 16 is 0
// or 8), standardPaddingMAC must reproduce libsodium's message exactly.
function checkStandardPaddingMAC () {
  for (const n of [0, 8, 32, 40]) {
    const p = newPush(KEY, HEADER, null)
    const q = newPull(KEY, HEADER, null)
    const m = push(p, plaintext(n, 0), TAG_MESSAGE)
    check(standardPaddingMAC(q.state, m).equals(m), 'standardPaddingMAC at length ' + n)
  }
}

function main () {
  checkInitPush(KEY)
  sodium[S + 'init_push'] = patchedInitPush
  checkStandardPaddingMAC()

  const streams = [
    stream('message lengths 0, 1, 3..5, 15..17, 19, 63..65, 100, 1000', KEY, HEADER, null,
      msgs([0, 1, 3, 4, 5, 15, 16, 17, 19, 63, 64, 65, 100, 1000]), []),
    stream('TAG_PUSH, TAG_REKEY (rekeys), TAG_FINAL (rekeys), then messages after TAG_FINAL', KEY, HEADER, null,
      [{ n: 5, tag: TAG_PUSH }, { n: 5, tag: TAG_MESSAGE }, { n: 16, tag: TAG_REKEY }, { n: 17, tag: TAG_MESSAGE },
        { n: 0, tag: TAG_FINAL }, { n: 3, tag: TAG_MESSAGE }, { n: 33, tag: TAG_MESSAGE }], []),
    stream('explicit rekey in the middle, twice in a row, and after the last message', KEY, HEADER, null,
      msgs([10, 10, 10]).concat(['rekey'], msgs([10, 10, 10]), ['rekey', 'rekey'], msgs([10]), ['rekey']), []),
    stream('counter wrap: counter 0xfffffffd, the message at 0xffffffff wraps the counter to 0 and rekeys', KEY, HEADER,
      0xfffffffd, msgs([20, 20, 20, 20, 20]), ['Counter']),
    stream('counter wrap and TAG_REKEY on the same message rekey once', KEY, HEADER,
      0xffffffff, [{ n: 7, tag: TAG_REKEY }, { n: 7, tag: TAG_MESSAGE }], ['Counter']),
    stream('explicit rekey at counter 0xfffffffe uses the current counter, then resets it to 1', KEY, HEADER,
      0xfffffffe, msgs([9]).concat(['rekey'], msgs([9, 9])), ['Counter']),
    stream('counter carries across bytes (0x00fffffe → 0x01000001)', KEY, HEADER,
      0x00fffffe, msgs([12, 12, 12, 12]), ['Counter']),
    stream('tag bytes outside TAG_*: only the TAG_REKEY bit (2) rekeys', KEY, HEADER, null,
      [{ n: 8, tag: 4 }, { n: 8, tag: 6 }, { n: 8, tag: 0x80 }, { n: 8, tag: 0xff }, { n: 8, tag: TAG_MESSAGE }],
      ['UnassignedTag']),
    stream('another key and header', KEY2, HEADER2, null, msgs([0, 33, 64, 255, 256, 257]), []),
    stream('all-zero key and header', Buffer.alloc(32), Buffer.alloc(24), null, msgs([0, 1, 48]), [])
  ]

  const [m1, m2, m3] = baseStream(false)
  const neg = []
  // After each bad pull the stream goes on with the message libsodium
  // expected, to show that the failure left the state unchanged.
  const bad2 = (comment, c, flags) => neg.push(pulls(comment, KEY, HEADER, [m1, c, m2, m3], flags || []))
  const bad3 = (comment, c, flags) => neg.push(pulls(comment, KEY, HEADER, [m1, m2, c, m3], flags || []))
  for (let bit = 0; bit < 8; bit++) bad2('m2: bit ' + bit + ' of c0 flipped', flip(m2, 0, bit), bit === 1 ? ['TagBit'] : [])
  bad2('m2: bit 0 of the first byte of c flipped', flip(m2, 1, 0))
  bad2('m2: bit 3 of byte 50 of c flipped', flip(m2, 51, 3))
  bad2('m2: bit 7 of the last byte of c flipped', flip(m2, 100, 7))
  for (let i = 0; i < 16; i++) bad2('m2: bit 0 of MAC byte ' + i + ' flipped', flip(m2, 101 + i, 0))
  bad2('m2: bit 7 of MAC byte 15 flipped', flip(m2, 116, 7))
  bad3('m3 (empty plaintext): bit 0 of c0 flipped', flip(m3, 0, 0))
  bad3('m3 (empty plaintext): bit 0 of MAC byte 0 flipped', flip(m3, 1, 0))
  for (let n = 0; n < ABYTES; n++) bad2('m2 truncated to ' + n + ' bytes', m2.subarray(0, n))
  bad2('m2 without its last byte', m2.subarray(0, m2.byteLength - 1))
  bad2('m2 without its MAC (still 101 bytes)', m2.subarray(0, m2.byteLength - 16))
  bad2('m2 with one byte appended', Buffer.concat([m2, Buffer.from([0])]))
  bad2('17 zero bytes', Buffer.alloc(17))
  bad2('m2 with its MAC computed with RFC 8439 padding instead of len(c) mod 16', (() => {
    const q = newPull(KEY, HEADER, null)
    check(!pull(q, m1).threw, 'm1')
    return standardPaddingMAC(q.state, m2)
  })(), ['StandardPadding'])
  neg.push(pulls('m1 replayed after m1', KEY, HEADER, [m1, m1, m2, m3], []))
  neg.push(pulls('m2 replayed after m3', KEY, HEADER, [m1, m2, m3, m2], []))
  neg.push(pulls('reordered: m2 before m1', KEY, HEADER, [m2, m1, m3, m2, m3], []))
  neg.push(pulls('dropped: m3 right after m1', KEY, HEADER, [m1, m3, m2, m3], []))
  neg.push(pulls('wrong key', KEY2, HEADER, [m1, m2], []))
  neg.push(pulls('wrong header: bit 0 of byte 0 flipped (the HChaCha20 input)', KEY, flip(HEADER, 0, 0), [m1], []))
  neg.push(pulls('wrong header: bit 0 of byte 16 flipped (the inonce)', KEY, flip(HEADER, 16, 0), [m1], []))
  neg.push(pulls('m1 of a stream with another header', KEY, HEADER2, [m1], []))
  const [r1, r2, r3] = baseStream(true)
  neg.push(pulls('sender rekeyed after m1, receiver did not (then does)', KEY, HEADER, [r1, r2, 'rekey', r2, r3], []))
  neg.push(pulls('receiver rekeyed after m1, sender did not', KEY, HEADER, [m1, 'rekey', m2], []))

  writeFile(outDir(), 'secretstream', {
    concept: 'transport cipher: libsodium crypto_secretstream_xchacha20poly1305 (Push/Pull of sodium-secretstream)',
    source: source('sodium-secretstream', ['sodium-native', 'sodium-universal']),
    notes: {
      Counter: 'The stream starts from a counter other than 1: after init, the u32le `counter` is written into the state (libsodium state bytes 32..35) of both sides, to reach a wrap without 2^32 messages.',
      UnassignedTag: 'Tag bytes other than TAG_MESSAGE, TAG_PUSH, TAG_REKEY and TAG_FINAL; libsodium accepts any byte and rekeys when bit TAG_REKEY (2) is set.',
      TagBit: 'The flipped bit turns the encrypted tag TAG_MESSAGE into TAG_REKEY; the MAC still rejects it.',
      StandardPadding: 'The MAC is what an implementation with RFC 8439 padding ((16 - len(c) mod 16) mod 16 zero bytes) would compute; libsodium pads with len(c) mod 16 zero bytes and rejects it.'
    }
  }, [
    { type: 'StreamTest', tests: streams },
    { type: 'PullTest', tests: neg }
  ])
  sodium[S + 'init_push'] = realInitPush
}

main()

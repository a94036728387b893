'use strict'
// Generates vectors/v11/messages.json: the messages of the hypercore/alpha
// protomux channel (hypercore 11.37.1 lib/messages.js `wire`, in the order of
// the `messages` table of lib/replicator.js), the channel handshake and its
// capability (lib/caps.js `replicate`).
//
//   node interop/js11/vectors/messages.js OUTDIR
//
// EncodeTest: messages given as fields, encoded by the JS encoder, decoded
// again by the JS decoder, and every shorter prefix of the payload judged by
// the JS decoder. DecodeTest: payloads, many malformed, with the JS decoder's
// verdict. ExchangeTest: request/reply pairs captured from a real Hypercore 11
// writer and a clone replicating in this process. HandshakeTest: the channel
// handshake payload and the capability from a fixed handshake hash.
//
// Nothing is random: the writer's key pair comes from a fixed seed, its blocks
// are fixed strings, Math.random is replaced by a fixed sequence while the
// cores replicate, and the handshake hashes are derived from labels. The Noise
// handshake of the replication stream is random, but no recorded payload
// depends on it (the capabilities it produces are checked here, not recorded).

const fs = require('fs')
const os = require('os')
const path = require('path')
const c = require('compact-encoding')
const sodium = require('sodium-universal')
const crypto = require('hypercore-crypto')
const Protomux = require('protomux')
const Hypercore = require('hypercore')
const m = require('hypercore/lib/messages')
const caps = require('hypercore/lib/caps')
const Verifier = require('hypercore/lib/verifier')
const { source, writeFile, outDir, hex, fromHex, seed } = require('./lib/vectors')

// The message types of the hypercore/alpha channel, by id (replicator.js).
const NAMES = ['sync', 'request', 'cancel', 'data', 'noData', 'want', 'unwant', 'bitfield', 'range', 'extension']
const TYPE = Object.fromEntries(NAMES.map((n, i) => [n, i]))
const ENC = Object.fromEntries(NAMES.map((n) => [n, m.wire[n]]))

// Error classes: the JS decoder's messages and the class each stands for.
function errorClass (err) {
  if (err.message === 'Out of bounds') return 'truncated'
  if (err.message === 'Array is too big') return 'array-too-big'
  if (/^uint must be between/.test(err.message)) return 'out-of-range'
  throw new Error('unexpected JS error: ' + err.message)
}

const h32 = (b) => Buffer.alloc(32, b)
const node = (index, size, b) => ({ index, size, hash: h32(b) })

// jsDecode runs the JS decoder as protomux does: on the whole payload, with
// the bytes after the last field it reads left unread.
function jsDecode (name, payload) {
  return c.decode(ENC[name], payload)
}

// toJSON turns a decoded message into vector JSON: bytes as hex, the
// bitfield's Uint32Array as numbers, a data message's manifest as the hex of
// its encoding (the JS manifest encoder's bytes).
function toJSON (name, v) {
  const out = {}
  for (const [k, x] of Object.entries(v)) {
    if (name === 'data' && k === 'manifest') out[k] = x === null ? null : hex(c.encode(m.manifest, x))
    else out[k] = value(x)
  }
  return out
}

function value (x) {
  if (x === null || x === undefined) return null
  if (x instanceof Uint32Array) return Array.from(x)
  if (x instanceof Uint8Array) return hex(x)
  if (Array.isArray(x)) return x.map(value)
  if (typeof x === 'object') {
    const o = {}
    for (const [k, y] of Object.entries(x)) o[k] = value(y)
    return o
  }
  return x
}

// validPrefixes lists the lengths n < len(payload) at which the JS decoder
// accepts payload[:n] (optional trailing fields, a shorter raw extension
// message). Every other prefix throws.
function validPrefixes (name, payload) {
  const ok = []
  for (let n = 0; n < payload.length; n++) {
    try {
      jsDecode(name, payload.subarray(0, n))
      ok.push(n)
    } catch (err) {
      errorClass(err)
    }
  }
  return ok
}

// encoded returns what a test records about one message the JS encoder
// produced (or that was captured on the wire): its payload, its decoding and
// the prefixes JS accepts. It checks that JS re-encodes its own decoding to
// the same bytes.
function encoded (name, payload) {
  const decoded = jsDecode(name, payload)
  const again = c.encode(ENC[name], decoded)
  if (!again.equals(payload)) throw new Error(name + ' ' + hex(payload) + ' re-encodes as ' + hex(again))
  return {
    message: name,
    type: TYPE[name],
    payload: hex(payload),
    decoded: { [name]: toJSON(name, decoded) },
    validPrefixes: validPrefixes(name, payload)
  }
}

// The writer's key pair and its default manifest.
const writerKeyPair = crypto.keyPair(seed('hypercore-go v11 vectors: writer'))
const writerManifest = Verifier.defaultSignerManifest(writerKeyPair.publicKey)
const otherManifest = Verifier.createManifest({
  version: 2,
  quorum: 2,
  allowPatch: true,
  signers: [
    { publicKey: crypto.keyPair(seed('hypercore-go v11 vectors: signer 1')).publicKey },
    { publicKey: crypto.keyPair(seed('hypercore-go v11 vectors: signer 2')).publicKey }
  ],
  prologue: { hash: h32(0x77), length: 3 },
  userData: Buffer.from('user data')
})
const sig64 = Buffer.alloc(64, 0x5a)

// (a) Every message through the JS encoders.
const ENCODE = [
  ['sync', { fork: 0, length: 0, remoteLength: 0 }, 'sync, all flags off, zeros'],
  ['sync', { fork: 0, length: 0, remoteLength: 0, canUpgrade: true, uploading: true, downloading: true }, 'a fresh clone\'s first sync (canUpgrade, uploading, downloading)'],
  ['sync', { fork: 0, length: 8, remoteLength: 0, canUpgrade: true, uploading: true, downloading: true, hasManifest: true }, 'a writer\'s first sync (hasManifest)'],
  ['sync', { fork: 3, length: 100, remoteLength: 99, canUpgrade: true, uploading: true, downloading: true, hasManifest: true, allowPush: true }, 'sync, all five flags'],
  ['sync', { fork: 0, length: 1, remoteLength: 1, uploading: true }, 'sync, uploading only'],
  ['sync', { fork: 0, length: 0, remoteLength: 0, allowPush: true }, 'sync, allowPush only'],
  ['sync', { fork: 2 ** 32, length: 2 ** 53 - 1, remoteLength: 0xfd }, 'sync, 9-byte, 9-byte and 3-byte uints'],
  ['request', { id: 1, fork: 0 }, 'request without sections'],
  ['request', { id: 1, fork: 0, block: { index: 0, nodes: 1 }, priority: 1 }, 'request get(0): block and priority'],
  ['request', { id: 2, fork: 0, block: { index: 3, nodes: 3 } }, 'request, block only'],
  ['request', { id: 3, fork: 0, hash: { index: 6, nodes: 2 } }, 'request, hash only (tree index 6)'],
  ['request', { id: 4, fork: 0, seek: { bytes: 30, padding: 0 } }, 'request, seek only'],
  ['request', { id: 5, fork: 0, upgrade: { start: 0, length: 8 } }, 'request, upgrade only'],
  ['request', { id: 6, fork: 0, manifest: true }, 'request, manifest flag only'],
  ['request', { id: 7, fork: 0, priority: 2 }, 'request, priority only'],
  ['request', { id: 1, fork: 0, upgrade: { start: 0, length: 8 }, manifest: true }, 'a fresh clone\'s first request: upgrade and manifest'],
  ['request', { id: 0xfc, fork: 1, block: { index: 10, nodes: 2 }, hash: { index: 21, nodes: 1 }, seek: { bytes: 77, padding: 4 }, upgrade: { start: 8, length: 5 }, manifest: true, priority: 1 }, 'request, every section and flag'],
  ['request', { id: 0xfd, fork: 0xffff, block: { index: 0x10000, nodes: 0xffffffff }, upgrade: { start: 2 ** 32, length: 2 ** 53 - 1 }, priority: 0xfd }, 'request, uints at the boundaries of their forms'],
  ['request', { id: 0, fork: 0, upgrade: { start: 0, length: 5 } }, 'request id 0 (fork-conflict upgrade request)'],
  ['cancel', { request: 1 }, 'cancel request 1'],
  ['cancel', { request: 0x10000 }, 'cancel, 5-byte uint'],
  ['data', { request: 1, fork: 0, manifest: writerManifest }, 'data, manifest only (default manifest)'],
  ['data', { request: 2, fork: 0, block: { index: 3, value: Buffer.from('block 3'), nodes: [node(4, 7, 0x01), node(1, 14, 0x02), node(11, 28, 0x03)] } }, 'data, block with value and three nodes'],
  ['data', { request: 2, fork: 0, block: { index: 5, value: Buffer.alloc(0), nodes: [] } }, 'data, empty block value, no nodes'],
  ['data', { request: 3, fork: 0, hash: { index: 6, nodes: [node(6, 7, 0x04), node(4, 7, 0x05)] } }, 'data, hash only: the node itself, then its sibling'],
  ['data', { request: 4, fork: 0, seek: { bytes: 30, nodes: [node(8, 7, 0x06), node(10, 7, 0x07)] } }, 'data, seek only'],
  ['data', { request: 5, fork: 0, upgrade: { start: 0, length: 8, nodes: [node(7, 56, 0x08)], additionalNodes: [], signature: sig64 } }, 'data, upgrade with one node and a signature'],
  ['data', { request: 5, fork: 0, upgrade: { start: 7, length: 1, nodes: [node(14, 7, 0x09)], additionalNodes: [node(16, 7, 0x0a)], signature: sig64 } }, 'data, upgrade with additionalNodes'],
  ['data', { request: 5, fork: 0, upgrade: { start: 0, length: 1, nodes: [], additionalNodes: [], signature: null } }, 'data, upgrade without signature (optionalBuffer 00)'],
  ['data', { request: 9, fork: 2, block: { index: 1, value: Buffer.from('x'), nodes: [node(0, 1, 0x0b)] }, hash: { index: 5, nodes: [node(5, 2, 0x0c)] }, seek: { bytes: 1, nodes: [] }, upgrade: { start: 0, length: 2, nodes: [node(1, 2, 0x0d)], additionalNodes: [node(5, 2, 0x0e)], signature: Buffer.alloc(68, 0x0f) }, manifest: otherManifest }, 'data, every section and a manifest with two signers, prologue and user data'],
  ['data', { request: 0, fork: 0 }, 'data without sections'],
  ['noData', { request: 1 }, 'noData without reason (flags 0)'],
  ['noData', { request: 1, reason: 1 }, 'noData NOT_AVAILABLE'],
  ['noData', { request: 7, reason: 2 }, 'noData INVALID_REQUEST'],
  ['noData', { request: 0xffff, reason: 0xfd }, 'noData, an unknown reason in 3 bytes'],
  ['want', { start: 0, length: 2097152 }, 'want, a 2^21-block batch'],
  ['want', { start: 4096, length: 4096, any: true }, 'want, any (SMALL_WANTS)'],
  ['want', { start: 0, length: 0 }, 'want, zero length'],
  ['unwant', { start: 2097152, length: 2097152 }, 'unwant, the second batch'],
  ['unwant', { start: 0, length: 4096, any: true }, 'unwant, any'],
  ['bitfield', { start: 0, bitfield: new Uint32Array([0x3, 0, 0, 0x8, 0x400000, 0, 0x200]) }, 'bitfield, seven words'],
  ['bitfield', { start: 2097152, bitfield: new Uint32Array([0xffffffff]) }, 'bitfield of the second segment'],
  ['bitfield', { start: 32, bitfield: new Uint32Array([]) }, 'bitfield without words'],
  ['range', { start: 0, length: 8 }, 'range {0, 8}: a contiguous length'],
  ['range', { drop: true, start: 3, length: 2 }, 'range, drop'],
  ['range', { start: 5, length: 1 }, 'range of one block: flag 2, no length field'],
  ['range', { drop: true, start: 5, length: 1 }, 'range, drop one block'],
  ['range', { start: 9, length: 0 }, 'range of length 0'],
  ['extension', { name: 'example-ext', message: Buffer.from('hello') }, 'extension with a message'],
  ['extension', { name: '', message: Buffer.from('0102', 'hex') }, 'extension, name "" (the previous name)'],
  ['extension', { name: 'e', message: Buffer.alloc(0) }, 'extension, empty message'],
  ['extension', { name: 'n\u00e4me \u2713', message: Buffer.from('ff', 'hex') }, 'extension, non-ASCII name']
]

function encodeTests () {
  return ENCODE.map(([name, fields, comment]) => {
    const payload = c.encode(ENC[name], fields)
    return Object.assign({ comment }, encoded(name, payload), { result: 'valid' })
  })
}

// (c) Payloads for the decoder, many malformed; JS decides.
const B = (s) => Buffer.from(s.replace(/ /g, ''), 'hex')
const enc = (name, fields) => c.encode(ENC[name], fields)
const manifestBytes = c.encode(m.manifest, writerManifest)
const blockData = enc('data', { request: 2, fork: 0, block: { index: 3, value: Buffer.from('block 3'), nodes: [node(4, 7, 0x01)] } })

const DECODE = [
  // every message type with nothing in it
  ...NAMES.map((n) => [n, Buffer.alloc(0), n + ', empty payload']),
  // truncated inside the last field
  ['sync', B('07 00 08'), 'sync without remoteLength'],
  ['sync', B('07 00 fd 01'), 'sync, length cut inside its 3-byte form'],
  ['request', B('01 01 00 03'), 'request, block section without nodes'],
  ['request', B('08 01 00 00'), 'request, upgrade section without length'],
  ['request', B('21 01 00 00 01'), 'request, priority flag without priority'],
  ['request', B('10 01'), 'request without fork'],
  ['cancel', B('fe 01 00'), 'cancel, 5-byte uint cut'],
  ['data', blockData.subarray(0, blockData.length - 1), 'data, node hash one byte short'],
  ['data', B('10 01 00'), 'data, manifest flag and no manifest'],
  ['data', B('01 02 00 03 08 626c6f636b2033'), 'data, block value length 8 with 7 bytes'],
  ['data', B('08 05 00 00 01 00 00 05 5a5a5a5a'), 'data, signature length 5 with 4 bytes'],
  ['noData', B('01 01'), 'noData, reason flag without reason'],
  ['want', B('00'), 'want without length'],
  ['unwant', B('00 fd 00'), 'unwant, length cut'],
  ['bitfield', B('00 02 03000000'), 'bitfield, 2 words claimed, 1 present'],
  ['bitfield', B('00 01 030000'), 'bitfield, word cut'],
  ['bitfield', B('00 ff ffffffffffff1f00'), 'bitfield, 2^53-1 words claimed'],
  ['range', B('00 05'), 'range without length'],
  ['extension', B('05 616263'), 'extension, name length 5 with 3 bytes'],
  // node array counts
  ['data', B('02 03 00 06 fe 01001000'), 'data, hash nodes count 0x100001 (above the array limit)'],
  ['data', B('02 03 00 06 fe 00001000'), 'data, hash nodes count 0x100000 (the limit) with no nodes'],
  ['data', B('02 03 00 06 02 06 07' + '04'.repeat(32)), 'data, 2 nodes claimed, 1 present'],
  ['data', B('01 02 00 03 00 ff ffffffffffff1f00'), 'data, block nodes count 2^53-1'],
  ['data', B('08 05 00 00 08 00 fe 01001000 00'), 'data, additionalNodes count 0x100001'],
  // uints above 2^53-1
  ['sync', B('07 ff 0000000000002000 00 00'), 'sync, fork 2^53'],
  ['sync', B('07 00 ff ffffffffffffffff 00'), 'sync, length 2^64-1'],
  ['request', B('01 ff 0000000000002000 00 00 00'), 'request, id 2^53'],
  ['cancel', B('ff 0000000000002000'), 'cancel, request 2^53'],
  ['data', B('02 03 00 06 01 ff 0000000000002000 07' + '04'.repeat(32)), 'data, node index 2^53'],
  ['data', B('02 03 00 06 01 06 ff 0000000000002000' + '04'.repeat(32)), 'data, node size 2^53'],
  ['want', B('ff 0000000000002000 00'), 'want, start 2^53'],
  ['bitfield', B('ff 0000000000002000 00'), 'bitfield, start 2^53'],
  ['range', B('00 00 ff 0000000000002000'), 'range, length 2^53'],
  ['noData', B('01 01 ff 0000000000002000'), 'noData, reason 2^53'],
  ['sync', B('07 ff ffffffffffff1f00 00 00'), 'sync, fork 2^53-1 (the largest uint)'],
  // what JS accepts beyond its own encoder's output
  ['sync', B('07 00 08 00 010203'), 'sync, trailing bytes'],
  ['request', B('21 01 00 00 01 01 ff'), 'request, trailing byte'],
  ['cancel', B('01 00'), 'cancel, trailing byte'],
  ['data', Buffer.concat([blockData, B('00 00')]), 'data, trailing bytes'],
  ['noData', B('01 01 01 010203'), 'noData, trailing bytes after the reason'],
  ['want', B('00 fe00002000 01 00'), 'want, trailing byte after flags'],
  ['bitfield', B('00 01 03000000 ff'), 'bitfield, trailing byte'],
  ['range', B('02 05 07'), 'range, flag 2 and a length field: the length is not read'],
  ['sync', B('fd 0f00 fe 00000000 ff 0800000000000000 fd 0800'), 'sync, every field in a longer form than needed'],
  ['request', B('fd 2100 fe 01000000 00 01 ff 0200000000000000 fd 0100'), 'request, non-minimal uints'],
  ['data', B('02 03 00 fd 0600 fd 0100 fd 0600 fe 07000000' + '04'.repeat(32)), 'data, non-minimal node count, index and size'],
  ['sync', B('e7 00 08 00'), 'sync, undefined flag bits 5-7'],
  ['sync', B('ff ffffffff00000000 00 08 00'), 'sync, flags as a 9-byte uint with high bits set'],
  ['request', B('c0 01 00'), 'request, undefined flag bits 6-7'],
  ['request', B('21 01 00 00 01 00'), 'request, priority flag with priority 0'],
  ['data', B('e0 01 00'), 'data, undefined flag bits 5-7'],
  ['noData', B('01'), 'noData, request only (no flags)'],
  ['noData', B('01 02 05'), 'noData, flags without bit 0: no reason is read'],
  ['noData', B('01 01 00'), 'noData, reason flag with reason 0'],
  ['want', B('00 fe00002000 02'), 'want, undefined flag bit 1'],
  ['unwant', B('00 fe00002000 03'), 'unwant, any and an undefined flag bit'],
  ['range', B('00 05 01'), 'range, no flag 2 and length 1'],
  ['range', B('fc 05 00'), 'range, undefined flag bits'],
  ['extension', B('00'), 'extension, name "" and no message'],
  // a bad manifest at the end of data: JS throws while decoding it
  ['data', B('10 01 00 09'), 'data, manifest of unknown version 9', { manifest: true }],
  ['data', Buffer.concat([B('10 01 00'), manifestBytes.subarray(0, manifestBytes.length - 1)]), 'data, manifest one byte short', { manifest: true }],
  ['data', Buffer.concat([B('10 01 00 01 00 01'), manifestBytes.subarray(3)]), 'data, manifest with hash id 1', { manifest: true }]
]

// Decode cases added after the first publication, in a group of their own
// at the end so that no tcId changes.
const DECODE_MORE = [
  ['data', Buffer.concat([B('10 01 00'), manifestBytes, B('00 ff')]), 'data, manifest followed by trailing bytes'],
  ['data', Buffer.concat([B('18 01 00 00 01 00 00 00'), manifestBytes]), 'data, upgrade without nodes or signature, then a manifest']
]

function decodeTests (list = DECODE) {
  return list.map(([name, payload, comment, opt]) => {
    const t = { comment, flags: [], message: name, type: TYPE[name], payload: hex(payload) }
    let decoded
    try {
      decoded = jsDecode(name, payload)
    } catch (err) {
      return Object.assign(t, { jsError: err.message, result: 'invalid', error: opt && opt.manifest ? 'manifest' : errorClass(err) })
    }
    if (opt && opt.manifest) throw new Error(comment + ': JS accepts the manifest')
    const again = c.encode(ENC[name], decoded)
    if (!again.equals(payload)) t.flags.push('NonCanonical')
    return Object.assign(t, { decoded: { [name]: toJSON(name, decoded) }, result: 'valid' })
  })
}

// The channel handshake and the capability (caps.replicate, as the
// replicator calls it: the sender's role, the core key, the stream's
// handshake hash).
function handshakeHash (label) {
  const out = Buffer.alloc(64)
  sodium.crypto_generichash(out, Buffer.from(label))
  return out
}

function handshakeTests (key) {
  const tests = []
  const hh = [handshakeHash('hypercore-go v11 vectors: handshake hash 1'), handshakeHash('hypercore-go v11 vectors: handshake hash 2')]
  for (const h of hh) {
    for (const isInitiator of [true, false]) {
      const capability = caps.replicate(isInitiator, key, h)
      const payload = c.encode(m.wire.handshake, { seeks: true, capability })
      const decoded = c.decode(m.wire.handshake, payload)
      tests.push({
        comment: 'capability of the ' + (isInitiator ? 'initiator' : 'responder') + ', handshake hash ' + (h === hh[0] ? 1 : 2),
        flags: [],
        handshakeHash: hex(h),
        isInitiator,
        key: hex(key),
        capability: hex(capability),
        payload: hex(payload),
        decoded: value(decoded),
        result: 'valid'
      })
    }
  }
  const cap = caps.replicate(true, key, hh[0])
  const more = [
    [c.encode(m.wire.handshake, { seeks: false, capability: cap }), 'handshake without seeks'],
    [Buffer.concat([B('03'), cap]), 'handshake, undefined flag bit 1'],
    [Buffer.concat([B('fd 0100'), cap]), 'handshake, flags in 3 bytes'],
    [Buffer.concat([B('01'), cap, B('00')]), 'handshake, trailing byte'],
    [Buffer.concat([B('01'), cap.subarray(0, 31)]), 'handshake, capability one byte short'],
    [B('01'), 'handshake without capability'],
    [Buffer.alloc(0), 'handshake, empty payload'],
    [Buffer.concat([B('ff 0000000000002000'), cap]), 'handshake, flags 2^53']
  ]
  for (const [payload, comment] of more) {
    const t = { comment, flags: [], payload: hex(payload) }
    try {
      const decoded = c.decode(m.wire.handshake, payload)
      if (!c.encode(m.wire.handshake, decoded).equals(payload)) t.flags.push('NonCanonical')
      tests.push(Object.assign(t, { decoded: value(decoded), result: 'valid' }))
    } catch (err) {
      tests.push(Object.assign(t, { jsError: err.message, result: 'invalid', error: errorClass(err) }))
    }
  }
  return tests
}

// (b) Request/reply pairs from a real writer and clone replicating over a
// stream pair. Every message a channel sends is recorded, in order, by
// wrapping the send function of each message type of every hypercore channel
// protomux creates; the payload is the channel's own encoding of the message,
// the bytes protomux writes after the type.
const sent = []
const capabilities = []
const createChannel = Protomux.prototype.createChannel
Protomux.prototype.createChannel = function (opts) {
  const ch = createChannel.call(this, opts)
  if (ch === null || opts.protocol !== 'hypercore/alpha') return ch
  const side = this.stream.isInitiator ? 'writer' : 'clone'
  ch.messages.forEach((msg, type) => {
    const send = msg.send
    msg.send = function (fields, session) {
      sent.push({ side, type, payload: c.encode(msg.encoding, fields) })
      return send.call(this, fields, session)
    }
  })
  const open = ch.open
  const stream = this.stream
  ch.open = function (handshake) {
    // checked against caps.replicate once the cores are done
    capabilities.push({ side, stream, capability: Buffer.from(handshake.capability), seeks: handshake.seeks })
    return open.call(this, handshake)
  }
  return ch
}

// A fixed sequence for Math.random, which the replicator uses to pick blocks.
function fixedRandom () {
  let x = 0
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648
    return x / 2147483648
  }
}

// take removes from `sent` the first message of a side and type that
// matches, and returns it.
function take (side, name, pred) {
  const i = sent.findIndex((e) => e.side === side && NAMES[e.type] === name && (!pred || pred(jsDecode(name, e.payload))))
  if (i === -1) throw new Error('no ' + side + ' ' + name + ' message recorded')
  const [e] = sent.splice(i, 1)
  return e.payload
}

// pair records the request a clone sent and the writer's reply to it.
function pair (comment, reqPayload, check) {
  const req = jsDecode('request', reqPayload)
  let reply
  for (const name of ['data', 'noData']) {
    const i = sent.findIndex((e) => e.side === 'writer' && NAMES[e.type] === name && jsDecode(name, e.payload).request === req.id)
    if (i !== -1) {
      reply = encoded(name, sent.splice(i, 1)[0].payload)
      break
    }
  }
  if (!reply) throw new Error(comment + ': no reply to request ' + req.id)
  // the comment's claims about the natural exchanges, checked
  if (check && !check(req, jsDecode(reply.message, fromHex(reply.payload)))) throw new Error(comment + ': not what the comment says')
  return { comment, flags: [], request: encoded('request', reqPayload), reply, result: 'valid' }
}

const block = (i) => Buffer.from('block ' + i)
const tick = () => new Promise((resolve) => setTimeout(resolve, 50))

async function until (what, fn) {
  for (let i = 0; i < 200; i++) {
    if (fn()) return
    await tick()
  }
  throw new Error('timed out waiting for ' + what)
}

async function exchanges () {
  const random = Math.random
  Math.random = fixedRandom()
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hypercore-go-wire-'))
  const tests = []
  const writer = new Hypercore(path.join(tmp, 'writer'), { keyPair: writerKeyPair })
  try {
    await writer.ready()
    await writer.append([0, 1, 2, 3, 4, 5, 6, 7].map(block))
    const clone = new Hypercore(path.join(tmp, 'clone'), writer.key)
    await clone.ready()
    const a = writer.replicate(true)
    const b = clone.replicate(false)
    a.pipe(b).pipe(a)
    // The clone's first request: an upgrade to the writer's length and its
    // manifest.
    await clone.update({ wait: true })
    await until('the clone\'s upgrade reply', () => sent.some((e) => e.side === 'writer' && NAMES[e.type] === 'data'))
    tests.push(pair('a fresh clone\'s first request (upgrade 0 to 8 and manifest) and the writer\'s answer', take('clone', 'request'),
      (q, r) => q.upgrade.start === 0 && q.upgrade.length === 8 && q.manifest && r.manifest !== null && r.upgrade.nodes.length === 1))

    await clone.get(3)
    tests.push(pair('get(3) on a clone of length 8 that has no blocks: block 3, nodes 3', take('clone', 'request', (r) => r.block && r.block.index === 3),
      (q, r) => q.block.nodes === 3 && r.block.nodes.length === 3))
    await clone.get(2)
    tests.push(pair('get(2) after get(3): block 2, nodes 0 (its sibling came with block 3)', take('clone', 'request', (r) => r.block && r.block.index === 2),
      (q, r) => q.block.nodes === 0 && r.block.nodes.length === 0))
    await clone.get(6)
    tests.push(pair('get(6) after get(3) and get(2): block 6, nodes 2', take('clone', 'request', (r) => r.block && r.block.index === 6),
      (q, r) => q.block.nodes === 2 && r.block.nodes.length === 2))

    // The writer appends five blocks in one batch; the clone upgrades.
    sent.length = 0
    await writer.append([8, 9, 10, 11, 12].map(block))
    await until('the clone\'s upgrade to 13', () => clone.length === 13)
    await until('the upgrade reply', () => sent.some((e) => e.side === 'writer' && NAMES[e.type] === 'data'))
    tests.push(pair('after the writer appends 8-12: the clone\'s upgrade request 8 to 13 and its answer', take('clone', 'request', (r) => r.upgrade !== null),
      (q, r) => q.upgrade.start === 8 && q.upgrade.length === 5 && r.upgrade.additionalNodes.length === 0))
    await clone.get(12)
    tests.push(pair('get(12) on a clone of length 13: block 12, nodes 0 (its leaf came with the upgrade)', take('clone', 'request', (r) => r.block && r.block.index === 12),
      (q, r) => q.block.nodes === 0 && r.block.nodes.length === 0))

    // seek(60) on the clone: two hash requests with a seek section, each
    // answered with hash nodes (60 = 8 blocks of 7 bytes + 4: block 8).
    sent.length = 0
    Math.random = fixedRandom()
    const at = await clone.seek(60)
    if (at[0] !== 8 || at[1] !== 4) throw new Error('seek(60) = ' + at)
    tests.push(pair('seek(60), first request: hash of tree node 20 (block 10) with nodes 2 and seek 60; the answer has the node and two siblings, no seek section', take('clone', 'request'),
      (q, r) => q.hash.index === 20 && q.seek.bytes === 60 && r.hash.nodes.length === 3 && r.seek === null))
    tests.push(pair('seek(60), second request: hash of tree node 18 (block 9) with nodes 1 and seek 60; the answer has the node and its sibling 16', take('clone', 'request'),
      (q, r) => q.hash.index === 18 && q.seek.bytes === 60 && r.hash.nodes.length === 2))

    // Requests the clone's channel sends on its own (built here, sent and
    // answered by the real replicators).
    const peer = clone.core.replicator.peers[0]
    const request = async (fields, comment, check) => {
      sent.length = 0
      peer.wireRequest.send(Object.assign({ fork: 0, block: null, hash: null, seek: null, upgrade: null, manifest: false, priority: 0 }, fields))
      await until('the writer\'s reply to ' + comment, () => sent.some((e) => e.side === 'writer' && (NAMES[e.type] === 'data' || NAMES[e.type] === 'noData')))
      tests.push(pair(comment, take('clone', 'request'), check))
    }
    await request({ id: 100, upgrade: { start: 8, length: 2 } }, 'request upgrade 8 to 10 while the writer has 13: the answer carries additionalNodes up to 13',
      (q, r) => r.upgrade.nodes.length === 1 && r.upgrade.additionalNodes.length === 2)
    await request({ id: 101, upgrade: { start: 3, length: 2 }, block: { index: 4, nodes: 2 } }, 'request block 4 with upgrade 3 to 5 (writer at 13): block 4 lies in the upgrade, so its proof is in upgrade.nodes (block.nodes is empty), then additionalNodes up to 13',
      (q, r) => r.block.nodes.length === 0 && r.upgrade.nodes.length === 1 && r.upgrade.additionalNodes.length > 0)
    await request({ id: 102, hash: { index: 10, nodes: 2 } }, 'request hash of tree node 10 (block 5) with nodes 2: the node itself, then two siblings',
      (q, r) => r.hash.nodes.length === 3 && r.hash.nodes[0].index === 10)
    await request({ id: 103, hash: { index: 17, nodes: 1 } }, 'request hash of tree node 17 (the parent of blocks 8 and 9) with nodes 1: the node and its sibling 21',
      (q, r) => r.hash.nodes.length === 2 && r.hash.nodes[0].index === 17 && r.hash.nodes[1].index === 21)
    await request({ id: 104, hash: { index: 19, nodes: 1 } }, 'request hash of root 19 with nodes 1, past the root: noData INVALID_REQUEST',
      (q, r) => r.reason === 2)
    await request({ id: 105, block: { index: 20, nodes: 0 } }, 'request block 20 of 13: noData NOT_AVAILABLE',
      (q, r) => r.reason === 1)
    await request({ id: 106, fork: 1, block: { index: 1, nodes: 0 } }, 'request for fork 1 from a writer at fork 0: noData NOT_AVAILABLE',
      (q, r) => r.reason === 1)
    await request({ id: 107, upgrade: { start: 0, length: 50 } }, 'request upgrade 0 to 50 from a writer of length 13: noData INVALID_REQUEST',
      (q, r) => r.reason === 2)
    await request({ id: 108, manifest: true }, 'request with only the manifest flag: data with the manifest alone',
      (q, r) => r.manifest !== null && r.upgrade === null && r.block === null)

    // The capability each side sent is caps.replicate with its own role and
    // is accepted by the other side with the remote's role.
    for (const cap of capabilities) {
      const want = caps.replicate(cap.stream.isInitiator, writer.key, cap.stream.handshakeHash)
      if (!want.equals(cap.capability) || !cap.seeks) throw new Error('unexpected capability or seeks from the ' + cap.side)
    }
    if (capabilities.length !== 2) throw new Error('expected two channel opens, got ' + capabilities.length)

    a.destroy()
    b.destroy()
    await clone.close()
    await writer.close()
    return { key: writer.key, discoveryKey: writer.discoveryKey, tests }
  } finally {
    Math.random = random
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

async function main () {
  const dir = outDir()
  const ex = await exchanges()
  writeFile(dir, 'messages', {
    concept: 'Hypercore 11 wire messages of the hypercore/alpha channel (sync, request, cancel, data, noData, want, unwant, bitfield, range, extension), the channel handshake and its capability',
    source: source('hypercore', ['compact-encoding', 'hypercore-crypto', 'protomux', 'sodium-universal']),
    notes: {
      NonCanonical: 'JS decodes this payload, but its encoder writes the decoded message differently (trailing bytes dropped, uints in their shortest form, undefined flag bits cleared, optional fields in their usual form); compare the decoded fields, not the re-encoding'
    }
  }, [
    {
      type: 'EncodeTest',
      comment: 'Messages encoded by the JS encoders (hypercore lib/messages.js wire), decoded again by JS; validPrefixes are the lengths below the payload length at which the JS decoder accepts the cut payload',
      tests: encodeTests()
    },
    {
      type: 'DecodeTest',
      comment: 'Payloads fed to the JS decoders: truncations, array counts, uints above 2^53-1, trailing bytes, non-minimal uints, undefined flag bits, bad manifests',
      tests: decodeTests()
    },
    {
      type: 'ExchangeTest',
      comment: 'Request/reply pairs captured from a Hypercore 11 writer (key pair from seed("hypercore-go v11 vectors: writer"), default manifest, blocks "block 0".."block 12") and a clone replicating in one Node process',
      key: hex(ex.key),
      discoveryKey: hex(ex.discoveryKey),
      blocks: Array.from({ length: 13 }, (_, i) => 'block ' + i),
      tests: ex.tests
    },
    {
      type: 'HandshakeTest',
      comment: 'The hypercore/alpha channel handshake payload (uint flags, bit 0 seeks; fixed32 capability) and the capability caps.replicate(isInitiator, key, handshakeHash) for handshake hashes BLAKE2b-512(label)',
      protocol: 'hypercore/alpha',
      key: hex(ex.key),
      tests: handshakeTests(ex.key)
    },
    {
      type: 'DecodeTest',
      comment: 'More payloads for the JS decoders: a manifest in data followed by other bytes',
      tests: decodeTests(DECODE_MORE)
    }
  ])
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

'use strict'
// Generates vectors/replication.json: whole conversations between two real
// hypercore 9.12.0 feeds replicating through hypercore-protocol 8.0.7 over
// an in-process duplex (stream A piped into stream B and back), recorded
// per direction: every message with its channel, type, the fields present
// on the wire, its plaintext frame, its offset in the sender's transport
// stream and how many messages the sender had received when it sent it,
// plus every byte each side wrote (handshake messages and ciphertext).
//
//   node interop/js/vectors/replication.js OUTDIR
//
// Randomness is fixed: the Noise static key pairs are
// Protocol.keyPair(seed) (crypto_kx_seed_keypair), the ephemeral key pairs
// crypto_kx_seed_keypair over fixed seeds (noise-protocol's
// dh.generateKeypair is replaced), the transport nonces fixed bytes (the
// engine's XOR.nonce is replaced), and Math.random, which
// lib/replicate.js uses to pick where to start looking for blocks to
// request, a seeded generator. Streams are created with timeout: false, so
// that no keep-alive or timeout timer runs. Feeds use random-access-memory.
//
// Some conversations have a side scripted by this file: it sends a message
// that the replication logic does not send by itself (an unrequested Data),
// or one of its messages is mutated on the way out (a negative case). The
// receiver's reaction is recorded as JS shows it.

const sodium = require('sodium-native')
const dh = require('noise-protocol/dh')
const XOR = require('simple-hypercore-protocol/lib/xor')
const messages = require('simple-hypercore-protocol/messages')
const Protocol = require('hypercore-protocol')
const Hypercore = require('hypercore')
const ram = require('random-access-memory')
const hcrypto = require('hypercore-crypto')
const { source, writeFile, outDir, hex, seed } = require('./lib/vectors')

const TYPES = ['Open', 'Options', 'Status', 'Have', 'Unhave', 'Want', 'Unwant', 'Request', 'Cancel', 'Data', 'Close']
// FIELDS names the protobuf fields of each message by field number
// (simple-hypercore-protocol's schema.proto).
const FIELDS = {
  Open: ['discoveryKey', 'capability'],
  Options: ['extensions', 'ack'],
  Status: ['uploading', 'downloading'],
  Have: ['start', 'length', 'bitfield', 'ack'],
  Unhave: ['start', 'length'],
  Want: ['start', 'length'],
  Unwant: ['start', 'length'],
  Request: ['index', 'bytes', 'hash', 'nodes'],
  Cancel: ['index', 'bytes', 'hash'],
  Data: ['index', 'value', 'nodes', 'signature'],
  Close: ['discoveryKey']
}

// ---------------------------------------------------------------- randomness

let ephemeralSeeds = []
let nonces = []
dh.generateKeypair = function (pk, sk) {
  if (!ephemeralSeeds.length) throw new Error('unexpected ephemeral key generation')
  sodium.crypto_kx_seed_keypair(pk, sk, ephemeralSeeds.shift())
}
XOR.nonce = function () {
  if (!nonces.length) throw new Error('unexpected nonce generation')
  return Buffer.from(nonces.shift())
}

// seededRandom replaces Math.random: BLAKE2b-256(seed || counter), the
// first 6 bytes as a fraction in [0, 1).
function seededRandom (label) {
  const s = seed(label)
  let counter = 0
  return function () {
    const input = Buffer.alloc(40)
    s.copy(input)
    input.writeUInt32BE(counter++, 36)
    const out = Buffer.alloc(32)
    sodium.crypto_generichash(out, input)
    return out.readUIntBE(0, 6) / 2 ** 48
  }
}

function kxKeyPair (s) {
  const pk = Buffer.alloc(32)
  const sk = Buffer.alloc(32)
  sodium.crypto_kx_seed_keypair(pk, sk, s)
  return { publicKey: pk, secretKey: sk }
}

// ---------------------------------------------------------------- feeds

const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
const writerKeyPair = hcrypto.keyPair(seed('hypercore-go v9 vectors: writer'))

// makeWriter creates the vectors' writer feed with the given append calls
// (each a list of blocks).
async function makeWriter (appends, noiseKeyPair) {
  const w = new Hypercore(ram, writerKeyPair.publicKey, { secretKey: writerKeyPair.secretKey, noiseKeyPair })
  await p((cb) => w.ready(cb))
  for (const blocks of appends) await p((cb) => w.append(blocks, cb))
  return w
}

// makeReader creates a reader of the writer's feed. For each block of
// fetched, in order, it puts the block with the proof the writer builds for
// the reader's digest (no remote tree), as if it had fetched it.
async function makeReader (appends, sparse, fetched, noiseKeyPair) {
  const r = new Hypercore(ram, writerKeyPair.publicKey, { sparse, noiseKeyPair })
  await p((cb) => r.ready(cb))
  if (fetched.length) {
    const w = await makeWriter(appends, Protocol.keyPair(seed('replication vectors: setup writer')))
    for (const i of fetched) {
      const proof = await p((cb) => w.proof(i, { digest: r.digest(i) }, cb))
      const value = await p((cb) => w.get(i, cb))
      await p((cb) => r.put(i, value, proof, cb))
    }
    await p((cb) => w.close(cb))
  }
  return r
}

// ---------------------------------------------------------------- messages

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

function readVarint (buf, off) {
  let v = 0
  let f = 1
  for (;;) {
    const b = buf[off++]
    v += (b & 127) * f
    if (b < 128) return [v, off]
    f *= 128
  }
}

// presentFields lists the field numbers present in a protobuf body, in
// order of first appearance.
function presentFields (body) {
  const seen = []
  let off = 0
  while (off < body.length) {
    let key
    ;[key, off] = readVarint(body, off)
    const field = Math.floor(key / 8)
    const wire = key & 7
    if (!seen.includes(field)) seen.push(field)
    if (wire === 0) [, off] = readVarint(body, off)
    else if (wire === 2) { let n; [n, off] = readVarint(body, off); off += n } else throw new Error('unexpected wire type ' + wire)
  }
  return seen.sort((a, b) => a - b)
}

// fieldsOf is a message as vector JSON: the fields present on the wire
// (messages.json's form), decoded by JS.
function fieldsOf (type, body) {
  const name = TYPES[type]
  const decoded = messages[name].decode(body)
  const fields = {}
  for (const n of presentFields(body)) {
    const f = FIELDS[name][n - 1]
    fields[f] = toJSON(decoded[f])
  }
  return fields
}

// ---------------------------------------------------------------- conversations

function sideState (label, role, spec) {
  return {
    role,
    spec,
    name: spec.name,
    staticSeed: seed(label + ' static ' + spec.name),
    ephemeralSeed: seed(label + ' ephemeral ' + spec.name),
    nonce: seed(label + ' nonce ' + spec.name).subarray(0, 24),
    handshake: [],
    transport: [],
    transportLength: 0,
    sent: [],
    received: 0,
    actions: [],
    error: null,
    threw: null,
    scripting: false,
    mutation: null
  }
}

let activity = 0
let uncaught = null
process.on('uncaughtException', (err) => {
  if (!uncaught) uncaught = err
})

// settle waits until neither stream has sent or received anything during
// four windows of 25 ms in a row: the in-process conversation is quiet.
async function settle () {
  for (let quiet = 0; quiet < 4;) {
    const before = activity
    await new Promise((resolve) => setTimeout(resolve, 25))
    quiet = activity === before ? quiet + 1 : 0
  }
}

// instrument records what a stream sends and receives.
function instrument (s, stream) {
  const ch = stream.channelizer
  const origSend = ch.send
  ch.send = function (data) {
    if (s.stopped) return origSend.call(this, data)
    activity++
    const bytes = Buffer.from(data)
    if (stream.state._handshaking) s.handshake.push(bytes)
    else {
      s.transport.push(bytes)
      s.transportLength += bytes.length
    }
    return origSend.call(this, data)
  }
  const smc = stream.state._messages
  const origFrame = smc.send
  smc.send = function (channel, type, message) {
    const frame = Buffer.from(origFrame.call(this, channel, type, message))
    if (s.stopped) return frame
    // the frame's body: after the length and header varints
    let off
    ;[, off] = readVarint(frame, 0)
    ;[, off] = readVarint(frame, off)
    const body = frame.subarray(off)
    const m = { channel, type: TYPES[type], fields: fieldsOf(type, body), frame: hex(frame), offset: s.transportLength, received: s.received }
    if (s.scripting) m.scripted = true
    if (s.mutation) { m.mutation = s.mutation; s.mutation = null }
    s.sent.push(m)
    return frame
  }
  const origMessage = smc._onmessage
  smc._onmessage = function (...args) {
    if (s.stopped) return origMessage.apply(this, args)
    activity++
    s.received++
    try {
      return origMessage.apply(this, args)
    } catch (err) {
      s.threw = err
      throw err
    }
  }
  if (s.spec.mutate) {
    const origQueue = stream.state._send
    stream.state._send = function (channel, type, message) {
      const name = s.spec.mutate(TYPES[type], message, s)
      if (name) {
        if (this._handshaking || this._pending.length) throw new Error('mutating a queued message')
        s.mutation = name
      }
      return origQueue.call(this, channel, type, message)
    }
  }
  stream.on('error', (err) => { s.error = err })
}

// converse runs one conversation: spec.initiator and spec.responder describe
// the feeds, script drives them (through the action helpers it is given).
async function converse (label, spec, random) {
  Math.random = seededRandom(label + (random || ''))
  uncaught = null
  const I = sideState(label, 'initiator', spec.initiator)
  const R = sideState(label, 'responder', spec.responder)
  for (const s of [I, R]) {
    const noiseKeyPair = Protocol.keyPair(s.staticSeed)
    const f = s.spec.feed
    s.feed = f.writable
      ? await makeWriter(spec.appends, noiseKeyPair)
      : await makeReader(spec.appends, f.sparse, f.fetched || [], noiseKeyPair)
  }
  nonces = [I.nonce, R.nonce]
  ephemeralSeeds = [I.ephemeralSeed, R.ephemeralSeed]
  I.stream = I.feed.replicate(true, { live: I.spec.live, timeout: false })
  R.stream = R.feed.replicate(false, { live: R.spec.live, timeout: false })
  // the nonces are drawn now, the ephemeral keys when the handshake writes
  // its first message on each side (initiator first)
  if (nonces.length) throw new Error('nonces not consumed')
  instrument(I, I.stream)
  instrument(R, R.stream)
  let ended = 0
  const endedBoth = new Promise((resolve) => {
    for (const s of [I, R]) s.stream.on('close', () => { if (++ended === 2) resolve() })
  })
  I.stream.pipe(R.stream).pipe(I.stream)

  const sides = { [I.name]: I, [R.name]: R }
  // act records an application action of a side before running it.
  const act = async (name, op, args, run) => {
    const s = sides[name]
    const a = Object.assign({ op }, args, { afterSent: s.sent.length, afterReceived: s.received })
    s.actions.push(a)
    const result = await run(s.feed)
    if (result && result.value !== undefined) a.value = hex(result.value)
    if (result && result.length !== undefined) a.lengthAfter = result.length
  }
  const h = {
    sides,
    settle,
    endedBoth,
    get: (name, index) => act(name, 'get', { index }, async (f) => ({ value: await p((cb) => f.get(index, cb)) })),
    append: (name, blocks) => act(name, 'append', { blocks: blocks.map(hex) }, async (f) => { await p((cb) => f.append(blocks, cb)); return { length: f.length } }),
    update: (name) => act(name, 'update', {}, async (f) => { const min = f.length + 1; await p((cb) => f.update(min, cb)); return { length: f.length } }),
    close: (name) => act(name, 'close', {}, async (f) => { await p((cb) => f.close(cb)) }),
    // scripted sends a message the replication logic would not send
    scripted: async (name, what, send) => {
      const s = sides[name]
      const peer = s.feed.peers[0]
      // the action names the message it sends by its position in the
      // side's messages
      s.actions.push({ op: 'send', message: s.sent.length, afterSent: s.sent.length, afterReceived: s.received })
      s.scripting = true
      try {
        await send(s.feed, peer.stream)
      } finally {
        s.scripting = false
      }
      if (s.sent.length !== s.actions[s.actions.length - 1].message + 1) throw new Error(what + ': not one message sent')
    }
  }
  await spec.script(h)
  await settle()
  I.stopped = R.stopped = true
  if (ephemeralSeeds.length) throw new Error('ephemeral keys not consumed')
  return { I, R, uncaught }
}

function sideRecord (s) {
  const split = s.stream.state._split
  const rec = {
    name: s.name,
    feed: s.spec.feed,
    live: !!s.spec.live,
    noise: {
      staticSeed: hex(s.staticSeed),
      staticSecretKey: hex(kxKeyPair(s.staticSeed).secretKey),
      staticPublicKey: hex(kxKeyPair(s.staticSeed).publicKey),
      ephemeralSeed: hex(s.ephemeralSeed),
      ephemeralSecretKey: hex(kxKeyPair(s.ephemeralSeed).secretKey),
      nonce: hex(s.nonce),
      tx: hex(split.tx.subarray(0, 32))
    },
    actions: s.actions,
    messages: s.sent,
    handshake: s.handshake.map(hex),
    transport: hex(Buffer.concat(s.transport)),
    replay: s.spec.replay !== false
  }
  return rec
}

// groupUnordered numbers the runs of messages whose order JS leaves to
// chance, and marks each message of a run with its number (`unordered`):
//
//   - a run of two or more Requests sent at the same received count by a
//     side downloading a range (not sparse, not a writer): JS picks the
//     block to request from a random position (lib/replicate.js
//     nextRandom);
//   - a run of two or more Data sent at the same received count: JS reads a
//     block and builds its proof asynchronously, and the answers to
//     requests received together leave in the order their reads complete.
function groupUnordered (I, R) {
  let group = 0
  for (const s of [I, R]) {
    const ranged = !s.spec.feed.writable && !s.spec.feed.sparse
    const msgs = s.sent
    for (let i = 0; i < msgs.length;) {
      const type = msgs[i].type
      let j = i + 1
      if (type === 'Data' || (type === 'Request' && ranged)) {
        while (j < msgs.length && msgs[j].type === type && msgs[j].received === msgs[i].received) j++
      }
      if (j - i >= 2) {
        group++
        for (let k = i; k < j; k++) msgs[k].unordered = group
      }
      i = j
    }
  }
}

// canonical is a side's messages with every unordered group sorted by
// frame, for comparing runs that used other random numbers.
function canonical (msgs) {
  const out = msgs.map((m) => Object.assign({}, m))
  const groups = new Map()
  out.forEach((m, k) => { if (m.unordered) { if (!groups.has(m.unordered)) groups.set(m.unordered, []); groups.get(m.unordered).push(k) } })
  for (const ks of groups.values()) {
    const sorted = ks.map((k) => ({ channel: out[k].channel, type: out[k].type, fields: out[k].fields, frame: out[k].frame })).sort((a, b) => a.frame < b.frame ? -1 : a.frame > b.frame ? 1 : 0)
    ks.forEach((k, n) => { out[k] = Object.assign({}, out[k], sorted[n]) })
  }
  return JSON.stringify(out.map((m) => ({ channel: m.channel, type: m.type, fields: m.fields, frame: m.frame, received: m.received, unordered: m.unordered })))
}

// ---------------------------------------------------------------- cases

const utf8 = (s) => Buffer.from(s)
const blocks = (n, from) => [...Array(n).keys()].map((i) => utf8('block ' + (i + (from || 0))))

// classify maps a JS reaction to the vectors' error class.
function classify (err) {
  const m = err.message
  if (m === 'Remote signature could not be verified') return 'invalid-signature'
  if (m === 'Remote did not include a signature' || m === 'Remote checksum failed') return 'missing-signature'
  if (m === 'Missing tree roots needed for verify' || m === 'Unexpected data size') return 'invalid-proof'
  if (m === 'No proof available for this index') return 'not-available'
  if (/ligned|offset|multiple of/i.test(m)) return 'protocol-error'
  throw new Error('unclassified JS error: ' + m)
}

const guideAppends = [[utf8('hello'), utf8('world')]]

const CASES = [
  {
    comment: "the guide's step 2: a writer of hello, world and a live sparse clone; get 0 and 1, 100 appends, update, get the last block, close",
    flags: [],
    appends: guideAppends,
    initiator: { name: 'core', feed: { writable: true }, live: true },
    responder: { name: 'clone', feed: { writable: false, sparse: true }, live: true },
    async script (h) {
      await h.get('clone', 0)
      await h.get('clone', 1)
      for (let i = 0; i < 100; i++) await h.append('core', [utf8('New Block ' + i)])
      await h.update('clone')
      await h.get('clone', h.sides.clone.feed.length - 1)
      await h.settle()
      await h.close('clone')
    }
  },
  {
    comment: 'a non-live full clone of a writer of 5 blocks (one append each); both sides end the session',
    flags: ['Unordered'],
    appends: [0, 1, 2, 3, 4].map((i) => blocks(1, i)),
    initiator: { name: 'reader', feed: { writable: false, sparse: false }, live: false },
    responder: { name: 'writer', feed: { writable: true }, live: false },
    randomRuns: 8,
    async script (h) {
      await h.endedBoth
    }
  },
  {
    comment: 'a live sparse reader holding blocks 1, 2 and 19 of 20 answers the Want of a fresh sparse reader with the eager Have and a bitfield Have, then serves block 2',
    flags: [],
    appends: [blocks(20)],
    initiator: { name: 'fresh', feed: { writable: false, sparse: true }, live: true },
    responder: { name: 'holder', feed: { writable: false, sparse: true, fetched: [1, 2, 19] }, live: true },
    async script (h) {
      await h.settle()
      await h.get('fresh', 2)
      await h.settle()
      await h.close('fresh')
    }
  },
  {
    comment: 'unrequested Data from a peer that sent a Want is dropped and answered with Unhave',
    flags: ['Scripted'],
    appends: [blocks(3)],
    initiator: { name: 'pusher', feed: { writable: false, sparse: true, fetched: [0, 1, 2] }, live: true },
    responder: { name: 'receiver', feed: { writable: false, sparse: true }, live: true },
    async script (h) {
      await h.settle()
      const proof = await p((cb) => h.sides.pusher.feed.proof(0, { digest: 0 }, cb))
      const value = await p((cb) => h.sides.pusher.feed.get(0, cb))
      await h.scripted('pusher', 'unrequested Data{index: 0} with its proof', async (f, ch) => {
        ch.data({ index: 0, value, nodes: proof.nodes, signature: proof.signature })
      })
      await h.settle()
      await h.close('receiver')
    }
  },
  {
    comment: 'unrequested Data from a writer (which never sends a Want) is dropped silently',
    flags: ['Scripted'],
    appends: [blocks(3)],
    initiator: { name: 'receiver', feed: { writable: false, sparse: true }, live: true },
    responder: { name: 'writer', feed: { writable: true }, live: true },
    async script (h) {
      await h.settle()
      const proof = await p((cb) => h.sides.writer.feed.proof(1, { digest: 0 }, cb))
      const value = await p((cb) => h.sides.writer.feed.get(1, cb))
      await h.scripted('writer', 'unrequested Data{index: 1} with its proof', async (f, ch) => {
        ch.data({ index: 1, value, nodes: proof.nodes, signature: proof.signature })
      })
      await h.settle()
      await h.close('receiver')
    }
  },
  // Negative cases: one message of a conversation is mutated on its way
  // out; the receiver must end the session with the error class.
  {
    comment: 'the bitfield Have answering the Want starts at block 4, not a multiple of 8',
    flags: ['Mutated', 'JSUncaught'],
    appends: guideAppends,
    initiator: { name: 'core', feed: { writable: true }, live: true, replay: false, mutate: (type, m) => { if (type === 'Have' && m.bitfield) { m.start = 4; return 'have-start-4' } } },
    responder: { name: 'clone', feed: { writable: false, sparse: true }, live: true },
    rejectedBy: 'responder',
    async script (h) {
      await h.settle()
    }
  },
  {
    comment: "the Data answering the clone's get(0) has its proof node's hash flipped in the first bit",
    flags: ['Mutated'],
    appends: guideAppends,
    initiator: { name: 'core', feed: { writable: true }, live: true, replay: false, mutate: (type, m) => { if (type === 'Data') { m.nodes[0].hash = Buffer.from(m.nodes[0].hash); m.nodes[0].hash[0] ^= 0x80; return 'node-0-hash-bit' } } },
    responder: { name: 'clone', feed: { writable: false, sparse: true }, live: true },
    rejectedBy: 'responder',
    async script (h) {
      h.get('clone', 0).catch(() => {})
      await h.settle()
    }
  },
  {
    comment: "the Data answering the clone's get(0) lacks its proof node",
    flags: ['Mutated'],
    appends: guideAppends,
    initiator: { name: 'core', feed: { writable: true }, live: true, replay: false, mutate: (type, m) => { if (type === 'Data') { m.nodes = []; return 'node-0-dropped' } } },
    responder: { name: 'clone', feed: { writable: false, sparse: true }, live: true },
    rejectedBy: 'responder',
    async script (h) {
      h.get('clone', 0).catch(() => {})
      await h.settle()
    }
  },
  {
    comment: "the Data answering the clone's get(0) names its proof node 4 instead of 2",
    flags: ['Mutated'],
    appends: guideAppends,
    initiator: { name: 'core', feed: { writable: true }, live: true, replay: false, mutate: (type, m) => { if (type === 'Data') { m.nodes[0].index = 4; return 'node-0-index-4' } } },
    responder: { name: 'clone', feed: { writable: false, sparse: true }, live: true },
    rejectedBy: 'responder',
    async script (h) {
      h.get('clone', 0).catch(() => {})
      await h.settle()
    }
  },
  {
    comment: "the Data answering the clone's get(0) has its signature flipped in the first bit",
    flags: ['Mutated'],
    appends: guideAppends,
    initiator: { name: 'core', feed: { writable: true }, live: true, replay: false, mutate: (type, m) => { if (type === 'Data') { m.signature = Buffer.from(m.signature); m.signature[0] ^= 0x80; return 'signature-bit' } } },
    responder: { name: 'clone', feed: { writable: false, sparse: true }, live: true },
    rejectedBy: 'responder',
    async script (h) {
      h.get('clone', 0).catch(() => {})
      await h.settle()
    }
  },
  {
    comment: "the clone's Request for block 0 asks for block 5, which the writer of 2 blocks does not have",
    flags: ['Mutated'],
    appends: guideAppends,
    initiator: { name: 'core', feed: { writable: true }, live: true },
    responder: { name: 'clone', feed: { writable: false, sparse: true }, live: true, replay: false, mutate: (type, m) => { if (type === 'Request') { m.index = 5; return 'request-index-5' } } },
    rejectedBy: 'initiator',
    async script (h) {
      h.get('clone', 0).catch(() => {})
      await h.settle()
    }
  }
]

async function main () {
  const tests = []
  for (const c of CASES) {
    const label = 'replication vectors: ' + c.comment
    const { I, R, uncaught } = await converse(label, c)
    groupUnordered(I, R)
    if (c.randomRuns) {
      // The same conversation with other random numbers: it may differ
      // only by the order within the unordered groups.
      const want = [canonical(I.sent), canonical(R.sent)]
      const orders = new Set()
      for (let k = 1; k <= c.randomRuns; k++) {
        const run = await converse(label, c, ' run ' + k)
        for (const [s, g] of [[run.I, I], [run.R, R]]) s.sent.forEach((m, i) => { if (g.sent[i]) m.unordered = g.sent[i].unordered })
        if (canonical(run.I.sent) !== want[0] || canonical(run.R.sent) !== want[1]) {
          throw new Error(c.comment + ': another random run differs by more than the order of an unordered group')
        }
        orders.add(JSON.stringify(run.I.sent.map((m) => m.frame)) + JSON.stringify(run.R.sent.map((m) => m.frame)))
      }
      if (orders.size < 2) throw new Error(c.comment + ': no random run changed the order; the Unordered flag is not needed')
    }
    const t = {
      comment: c.comment,
      flags: c.flags,
      writer: { seed: hex(seed('hypercore-go v9 vectors: writer')), publicKey: hex(writerKeyPair.publicKey), appends: c.appends.map((a) => a.map(hex)) },
      initiator: sideRecord(I),
      responder: sideRecord(R)
    }
    if (c.rejectedBy) {
      const s = c.rejectedBy === 'initiator' ? I : R
      const err = c.flags.includes('JSUncaught') ? s.threw : s.error
      if (!err) throw new Error(c.comment + ': JS did not reject the conversation')
      if (c.flags.includes('JSUncaught') && uncaught !== s.threw) throw new Error(c.comment + ': the exception was caught')
      if (!c.flags.includes('JSUncaught') && s.threw) throw new Error(c.comment + ': JS threw')
      t.rejectedBy = c.rejectedBy
      t.jsError = err.message
      t.result = 'invalid'
      t.error = classify(err)
    } else {
      for (const s of [I, R]) if (s.error || s.threw) throw new Error(c.comment + ': ' + s.name + ' failed: ' + (s.error || s.threw).message)
      if (uncaught) throw uncaught
      t.result = 'valid'
    }
    tests.push(t)
    for (const s of [I, R]) s.feed.close(() => {})
  }
  writeFile(outDir(), 'replication', {
    concept: 'replication conversations between two feeds',
    source: source('hypercore', ['hypercore-protocol', 'simple-hypercore-protocol', 'noise-protocol', 'simple-handshake', 'xsalsa20-universal', 'hypercore-crypto', 'simple-message-channels', 'sodium-native', 'random-access-memory']),
    notes: {
      Unordered: 'Messages with the same `unordered` number may be sent in any order among themselves: a full clone picks the blocks it requests at random (lib/replicate.js nextRandom), and a peer answers the requests it received together in the order its storage reads complete. The recorded order is one of them; the encrypted transport matches the recording only in that order.',
      Scripted: 'A side sends a message that the replication logic does not send by itself (marked `scripted`): the generator sent it on the channel at the recorded point. A test playing that side sends it the same way.',
      Mutated: 'One message (marked `mutation`) was changed on its way out by the generator; the other side must end the session with the error class. Only the rejecting side is replayed (`replay` is false for the mutating side).',
      JSUncaught: 'JS does not destroy the stream: the exception escapes the receive path uncaught (a plain Node process crashes; jsError is its message). The spec, and Go, end the session with a protocol error.'
    }
  }, [{ type: 'ConversationTest', tests }])
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })

'use strict'
// Generates vectors/v11/session.json: complete, deterministic transcripts of
// a Hypercore 11 replication session between two real JS cores, every byte
// in both directions, with what each byte means.
//
// Two cores in one process, a writer W (a default core: manifest v1, one
// Ed25519 signer) and a clone C opened with W's key only, replicate over a
// pair of secret-streams (Hypercore.replicate). Nothing in the transcript is
// random or timing-dependent:
//
//   - the static key pairs of both streams are passed in (keyPair option);
//   - the Noise ephemeral key pairs come from fixed seeds: noise-curve-ed's
//     generateKeyPair is replaced by one that derives them from the seeds;
//   - the secretstream headers are fixed: sodium's init_push is replaced by
//     one that writes the chosen header and then initialises the state with
//     libsodium's own init_pull (the two set the same state); the receiving
//     side (init_pull, pull) is libsodium's own, so a wrong header fails
//     here, not in a Go test;
//   - Math.random (hypercore picks blocks of a download range in random
//     order) is a fixed xorshift32 sequence;
//   - the bytes between the two streams are moved by a pump that hands over
//     one frame (u24le length + body) at a time, and only when neither side
//     has written anything for QUIET (150) ms, so every side handles one frame
//     completely before it sees the next. The order of frames is then a
//     function of the inputs alone; the generator checks this by running
//     each transcript twice and requiring identical results.
//
// The transcript lists every frame in the order the pump delivered it, with
// its direction, its raw bytes, and, for frames after the handshake, the
// plaintext that the receiving secret-stream decrypted and the protomux
// messages the receiving protomux decoded from it (channel, type, payload:
// everything after the type, so an open's payload starts with its channel
// id), with the fields decoded by protomux's layout (control messages) or by
// hypercore's own lib/messages.js (channel messages; a data message's
// manifest as the hex of its encoding).

const path = require('path')
const os = require('os')
const fs = require('fs')
const sodium = require('sodium-universal')
const curve = require('noise-curve-ed')
const c = require('compact-encoding')
const Protomux = require('protomux')
const Hypercore = require('hypercore')
const crypto = require('hypercore-crypto')
const caps = require('hypercore/lib/caps.js')
const messages = require('hypercore/lib/messages.js')
const v = require('./lib/vectors.js')

// --- fixed randomness -------------------------------------------------------

let rs = 0
function seedRandom (s) { rs = s >>> 0 }
// xorshift32 (Marsaglia): the order in which hypercore picks blocks.
Math.random = function () {
  rs ^= rs << 13; rs >>>= 0
  rs ^= rs >>> 17
  rs ^= rs << 5; rs >>>= 0
  return rs / 4294967296
}

const ephemeralSeeds = []
const realGenerateKeyPair = curve.generateKeyPair
curve.generateKeyPair = function (privKey) {
  if (privKey) return realGenerateKeyPair(privKey)
  const s = ephemeralSeeds.shift()
  if (!s) throw new Error('session.js: more ephemeral key pairs than seeds')
  return realGenerateKeyPair(s)
}

const headers = []
sodium.crypto_secretstream_xchacha20poly1305_init_push = function (state, header, key) {
  const h = headers.shift()
  if (!h) throw new Error('session.js: more secretstream headers than given')
  header.set(h)
  sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
}

function keyPair (seed) {
  const publicKey = Buffer.alloc(32)
  const secretKey = Buffer.alloc(64)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return { publicKey, secretKey }
}

// --- what the receiving protomux decodes ------------------------------------

// Each protomux's _decode(remoteId, state) is called once per message, for
// plain frames and for each entry of a batch; recording it gives the
// messages exactly as JS split them.
let recorder = null
const realDecode = Protomux.prototype._decode
Protomux.prototype._decode = function (remoteId, state) {
  if (recorder) {
    const s = { buffer: state.buffer, start: state.start, end: state.end }
    const type = c.uint.decode(s)
    if (!(remoteId === 0 && type === 0)) { // a batch is recorded as its entries
      recorder(this, remoteId, type, Buffer.from(state.buffer.subarray(s.start, s.end)))
    }
  }
  return realDecode.call(this, remoteId, state)
}

const CONTROL = ['batch', 'open', 'reject', 'close']
const WIRE = ['sync', 'request', 'cancel', 'data', 'noData', 'want', 'unwant', 'bitfield', 'range', 'extension']

// describe decodes one protomux message with the JS encodings: control
// messages by their layout in protomux/index.js, hypercore channel messages
// (every channel here is a hypercore/alpha channel) by lib/messages.js.
function describe (channel, type, payload) {
  const m = { channel, type, payload: v.hex(payload) }
  if (channel === 0) {
    m.name = CONTROL[type]
    const st = { buffer: payload, start: 0, end: payload.length }
    if (type === 1) {
      const fields = { localId: c.uint.decode(st), protocol: c.string.decode(st), id: v.hex(c.optionalBuffer.decode(st)) }
      const hs = messages.wire.handshake.decode(st)
      fields.handshake = { seeks: hs.seeks, capability: v.hex(hs.capability) }
      m.fields = fields
    } else if (type === 2 || type === 3) {
      m.fields = { id: c.uint.decode(st) }
    }
    return m
  }
  m.name = WIRE[type]
  const decoded = c.decode(messages.wire[m.name], payload)
  // A data message's manifest is given as its encoding (as in
  // messages.json), not as the object JS decodes it into.
  if (m.name === 'data' && decoded.manifest) decoded.manifest = c.encode(messages.manifest, decoded.manifest)
  m.fields = plain(decoded)
  return m
}

// plain turns a decoded JS message into JSON: buffers as hex, keys in the
// encoder's order.
function plain (x) {
  if (x === null || x === undefined) return null
  if (Buffer.isBuffer(x) || x instanceof Uint8Array) return v.hex(x)
  if (Array.isArray(x)) return x.map(plain)
  if (typeof x === 'object') {
    const o = {}
    for (const k of Object.keys(x)) o[k] = plain(x[k])
    return o
  }
  return x
}

// --- one transcript ---------------------------------------------------------

const WRITER_SEED = v.seed('hypercore-go v11 vectors: writer')

// QUIET is how long (ms) neither side may have written before the pump hands
// over the next frame: long enough for a side to finish its storage reads
// even on a loaded machine (the generator's double run catches a shortfall;
// 40 ms was not enough while the whole test suite ran).
const QUIET = 150

// The cores' RocksDB directories go to memory (/dev/shm) when the machine has
// it, so that a busy disk cannot stretch a storage read past QUIET.
const TMP = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir()

async function transcript (opts) {
  const tmp = fs.mkdtempSync(path.join(TMP, 'hypercore-go-session-'))
  try {
    return await run(tmp, opts)
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

async function run (tmp, { writerInitiates, blocks, steps, label }) {
  seedRandom(0x9e3779b9)
  const seeds = {
    initiatorStatic: v.seed('hypercore-go v11 session: ' + label + ' initiator static'),
    responderStatic: v.seed('hypercore-go v11 session: ' + label + ' responder static'),
    initiatorEphemeral: v.seed('hypercore-go v11 session: ' + label + ' initiator ephemeral'),
    responderEphemeral: v.seed('hypercore-go v11 session: ' + label + ' responder ephemeral'),
    initiatorHeader: v.seed('hypercore-go v11 session: ' + label + ' initiator header').subarray(0, 24),
    responderHeader: v.seed('hypercore-go v11 session: ' + label + ' responder header').subarray(0, 24)
  }
  // The initiator makes its ephemeral key first (message 1) and its header
  // first (it completes the handshake first); checked below against the bytes.
  ephemeralSeeds.push(seeds.initiatorEphemeral, seeds.responderEphemeral)
  headers.push(seeds.initiatorHeader, seeds.responderHeader)

  const w = new Hypercore(path.join(tmp, 'writer'), { keyPair: keyPair(WRITER_SEED) })
  await w.ready()
  await w.append(blocks.map((b) => Buffer.from(b)))
  const clone = new Hypercore(path.join(tmp, 'clone'), w.key)
  await clone.ready()

  const [ini, res] = writerInitiates ? [w, clone] : [clone, w]
  const si = ini.replicate(true, { keyPair: keyPair(seeds.initiatorStatic) })
  const sr = res.replicate(false, { keyPair: keyPair(seeds.responderStatic) })
  const muxOf = (s) => s.noiseStream.userData

  const frames = []
  let current = null
  recorder = (mux, channel, type, payload) => {
    if (current === null) throw new Error('session.js: a message outside a frame')
    const side = mux === muxOf(si) ? 'initiator' : mux === muxOf(sr) ? 'responder' : null
    if (side !== current.to) throw new Error('session.js: message decoded by the wrong side')
    current.messages.push(describe(channel, type, payload))
  }
  for (const [s, to] of [[si, 'initiator'], [sr, 'responder']]) {
    s.noiseStream.on('data', (d) => {
      if (current === null || current.to !== to) throw new Error('session.js: plaintext outside a frame')
      current.plaintexts.push(v.hex(d))
    })
  }

  const queue = { i2r: Buffer.alloc(0), r2i: Buffer.alloc(0) }
  let last = Date.now()
  si.on('data', (d) => { queue.i2r = Buffer.concat([queue.i2r, d]); last = Date.now() })
  sr.on('data', (d) => { queue.r2i = Buffer.concat([queue.r2i, d]); last = Date.now() })
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  let stop = false
  let count = { i2r: 0, r2i: 0 }
  const pump = (async () => {
    while (!stop) {
      await sleep(5)
      if (Date.now() - last < QUIET) continue
      const dir = queue.i2r.length > 0 ? 'i2r' : queue.r2i.length > 0 ? 'r2i' : null
      if (dir === null) continue
      const b = queue[dir]
      if (b.length < 3) throw new Error('session.js: partial frame header')
      const n = 3 + (b[0] | (b[1] << 8) | (b[2] << 16))
      if (b.length < n) throw new Error('session.js: partial frame')
      const raw = Buffer.from(b.subarray(0, n))
      queue[dir] = b.subarray(n)
      const k = count[dir]++
      const kind = k < (dir === 'i2r' ? 2 : 1) ? 'handshake' : k === (dir === 'i2r' ? 2 : 1) ? 'setup' : 'message'
      const f = { direction: dir, kind, raw: v.hex(raw) }
      if (kind === 'message') {
        f.plaintexts = []
        f.messages = []
      }
      frames.push(f)
      current = { to: dir === 'i2r' ? 'responder' : 'initiator', plaintexts: f.plaintexts || [], messages: f.messages || [] }
      ;(dir === 'i2r' ? sr : si).write(raw)
      last = Date.now()
      await sleep(0)
      current = null
    }
  })()
  const settle = async () => {
    while (Date.now() - last < 3 * QUIET || queue.i2r.length > 0 || queue.r2i.length > 0) await sleep(10)
  }

  await settle()
  const actions = []
  for (const step of steps) {
    if (step.get !== undefined) {
      const value = await clone.get(step.get)
      actions.push({ get: step.get, value: v.hex(value) })
    } else if (step.download) {
      await clone.download({ start: step.download[0], end: step.download[1] }).done()
      actions.push({ download: step.download })
    } else if (step.append) {
      await w.append(step.append.map((b) => Buffer.from(b)))
      actions.push({ append: step.append.map((b) => v.hex(Buffer.from(b))) })
    }
    await settle()
  }
  stop = true
  await pump
  recorder = null

  // A plaintext is checked to be what the frames say: each message frame
  // decrypted to exactly one plaintext (empty plaintexts are keep-alives and
  // do not occur in a session this short).
  for (const f of frames) {
    if (f.kind === 'message' && f.plaintexts.length !== 1) throw new Error('session.js: a frame did not decrypt to one plaintext')
    if (f.kind === 'message') {
      f.plaintext = f.plaintexts[0]
      delete f.plaintexts
      const msgs = f.messages
      delete f.messages
      f.messages = msgs
    }
  }

  const ns = si.noiseStream
  const nr = sr.noiseStream
  const hash = Buffer.from(ns.handshakeHash)
  if (!hash.equals(Buffer.from(nr.handshakeHash))) throw new Error('session.js: handshake hashes differ')
  if (ephemeralSeeds.length || headers.length) throw new Error('session.js: unused seeds')
  // The ephemeral public keys are the first 32 bytes of messages 1 and 2; the
  // headers the last 24 bytes of the setup frames.
  const e1 = Buffer.from(frames.find((f) => f.direction === 'i2r').raw, 'hex').subarray(3, 35)
  const e2 = Buffer.from(frames.find((f) => f.direction === 'r2i').raw, 'hex').subarray(3, 35)
  if (!e1.equals(keyPair(seeds.initiatorEphemeral).publicKey)) throw new Error('session.js: initiator ephemeral is not from its seed')
  if (!e2.equals(keyPair(seeds.responderEphemeral).publicKey)) throw new Error('session.js: responder ephemeral is not from its seed')
  for (const [dir, h] of [['i2r', seeds.initiatorHeader], ['r2i', seeds.responderHeader]]) {
    const setup = Buffer.from(frames.find((f) => f.direction === dir && f.kind === 'setup').raw, 'hex')
    if (!setup.subarray(3 + 32).equals(h)) throw new Error('session.js: ' + dir + ' header is not the chosen one')
  }

  const out = {
    writerInitiates,
    writer: {
      seed: v.hex(WRITER_SEED),
      publicKey: v.hex(w.keyPair.publicKey),
      manifest: v.hex(c.encode(messages.manifest, w.manifest)),
      key: v.hex(w.key),
      discoveryKey: v.hex(w.discoveryKey),
      blocks: blocks.map((b) => v.hex(Buffer.from(b)))
    },
    initiator: {
      role: writerInitiates ? 'writer' : 'clone',
      staticSeed: v.hex(seeds.initiatorStatic),
      staticPublicKey: v.hex(keyPair(seeds.initiatorStatic).publicKey),
      ephemeralSeed: v.hex(seeds.initiatorEphemeral),
      header: v.hex(seeds.initiatorHeader),
      capability: v.hex(caps.replicate(true, w.key, hash))
    },
    responder: {
      role: writerInitiates ? 'clone' : 'writer',
      staticSeed: v.hex(seeds.responderStatic),
      staticPublicKey: v.hex(keyPair(seeds.responderStatic).publicKey),
      ephemeralSeed: v.hex(seeds.responderEphemeral),
      header: v.hex(seeds.responderHeader),
      capability: v.hex(caps.replicate(false, w.key, hash))
    },
    handshakeHash: v.hex(hash),
    actions,
    frames,
    cloneLength: clone.length,
    cloneContiguousLength: clone.contiguousLength
  }
  if (v.hex(crypto.discoveryKey(w.key)) !== out.writer.discoveryKey) throw new Error('session.js: discovery key')

  si.destroy()
  sr.destroy()
  await w.close()
  await clone.close()
  return out
}

async function main () {
  const cases = [
    {
      comment: 'writer dials (initiator), sparse clone answers: get 2, get 4, download 0..5, then a live append followed by get 5',
      label: 'writer dials',
      writerInitiates: true,
      blocks: ['hello', 'world', 'a third block', '', 'block number four'],
      steps: [{ get: 2 }, { get: 4 }, { download: [0, 5] }, { append: ['live'] }, { get: 5 }]
    },
    {
      comment: 'clone dials (initiator), writer answers: get 0, download 0..3',
      label: 'clone dials',
      writerInitiates: false,
      blocks: ['alpha', 'beta', 'gamma'],
      steps: [{ get: 0 }, { download: [0, 3] }]
    }
  ]
  const tests = []
  for (const k of cases) {
    const { comment, label, ...opts } = k
    // Two runs must agree. The pump is timed (each frame waits for the
    // other side to settle), so a machine under heavy load can make one run
    // differ: then it is tried again, up to three times. A transcript that
    // two runs agree on and that is wrong still fails the comparison with
    // the committed file (interop.TestVectorsRegenerate).
    let a = null
    for (let attempt = 1; ; attempt++) {
      const x = await transcript({ label, ...opts })
      const y = await transcript({ label, ...opts })
      if (JSON.stringify(x) === JSON.stringify(y)) { a = x; break }
      if (attempt === 3) throw new Error('session.js: transcript "' + label + '" is not deterministic (3 attempts)')
    }
    tests.push(Object.assign({ comment, flags: [] }, a, { result: 'valid' }))
  }
  v.writeFile(v.outDir(), 'session', {
    concept: 'Hypercore 11 replication sessions: every byte of two real JS cores replicating, in both directions, with its meaning',
    source: v.source('hypercore', ['@hyperswarm/secret-stream', 'protomux', 'compact-encoding', 'noise-handshake', 'noise-curve-ed', 'sodium-secretstream', 'sodium-universal', 'hypercore-crypto']),
    notes: {}
  }, [{ type: 'TranscriptTest', tests }])
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

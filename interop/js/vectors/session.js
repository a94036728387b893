'use strict'
// Generates vectors/session.json: deterministic Hypercore 9 sessions run by
// the JS protocol engine (simple-hypercore-protocol 2.1.2, noise-protocol
// 3.0.1, xsalsa20-universal 1.0.0, hypercore-crypto 2.3.2).
//
//   node interop/js/vectors/session.js OUTDIR
//
// The randomness of a session is injected: the Noise static key pairs come
// from Protocol.keyPair(seed) (crypto_kx_seed_keypair), the ephemeral key
// pairs from crypto_kx_seed_keypair over fixed seeds (by replacing
// noise-protocol's dh.generateKeypair), and the transport nonces from fixed
// bytes (by replacing the engine's nonce()). Everything else is the real JS
// code. Each case records both sides: the handshake messages as sent on the
// wire (with their varint length prefix), the split keys, the handshake
// hash, the capabilities for a few feed keys, and a sequence of frames in
// both directions with their plaintext, their ciphertext and the offset of
// their first byte in the sender's key stream.

const sodium = require('sodium-native')
const dh = require('noise-protocol/dh')
const symmetricState = require('noise-protocol/symmetric-state')
const xsalsa20 = require('xsalsa20')
const XOR = require('simple-hypercore-protocol/lib/xor')
const XSalsa20 = require('xsalsa20-universal')
const SHP = require('simple-hypercore-protocol')
const hcrypto = require('hypercore-crypto')
const { source, writeFile, outDir, hex, seed } = require('./lib/vectors')

// Injected randomness, consumed in order.
let ephemeralSeeds = []
let nonces = []
const realGenerate = dh.generateKeypair
dh.generateKeypair = function (pk, sk) {
  if (!ephemeralSeeds.length) throw new Error('unexpected ephemeral key generation')
  sodium.crypto_kx_seed_keypair(pk, sk, ephemeralSeeds.shift())
}
XOR.nonce = function () {
  if (!nonces.length) throw new Error('unexpected nonce generation')
  return Buffer.from(nonces.shift())
}

// The Noise symmetric state of each handshake, recorded after every call
// that noise-protocol's handshake state makes on it (one per token, one per
// payload): ck is bytes 0..63 of the state, h bytes 64..127. Keyed by the
// state buffer; both sides of a session must record the same sequence.
let noiseTraces = new Map()
for (const op of ['initializeSymmetric', 'mixHash', 'mixKey', 'encryptAndHash', 'decryptAndHash']) {
  const real = symmetricState[op]
  const wrapped = function (state, ...args) {
    const r = real.call(this, state, ...args)
    if (!noiseTraces.has(state)) noiseTraces.set(state, [])
    noiseTraces.get(state).push({ op, ck: hex(state.subarray(0, 64)), h: hex(state.subarray(64, 128)) })
    return r
  }
  // the handshake reads bytesRead and bytesWritten off these functions
  for (const prop of ['bytesRead', 'bytesWritten']) {
    if (prop in real) Object.defineProperty(wrapped, prop, { get: () => real[prop] })
  }
  symmetricState[op] = wrapped
}

// The XX message patterns, and the symmetric-state call each token makes.
const XX = [['e', 'payload'], ['e', 'ee', 's', 'es', 'payload'], ['s', 'se', 'payload']]
const TOKEN_OPS = { e: ['mixHash'], ee: ['mixKey'], es: ['mixKey'], se: ['mixKey'], s: ['encryptAndHash', 'decryptAndHash'], payload: ['encryptAndHash', 'decryptAndHash'] }

// noiseStates turns one side's trace into the state after
// InitializeSymmetric and MixHash(prologue), and the state after each
// token of each handshake message.
function noiseStates (trace) {
  if (trace.length !== 2 + XX.flat().length || trace[0].op !== 'initializeSymmetric' || trace[1].op !== 'mixHash') {
    throw new Error('unexpected Noise trace: ' + trace.map((t) => t.op))
  }
  const init = { h: trace[1].h, ck: trace[1].ck }
  let k = 2
  const messages = XX.map((tokens) => tokens.map((token) => {
    const t = trace[k++]
    if (!TOKEN_OPS[token].includes(t.op)) throw new Error('token ' + token + ' made ' + t.op)
    return { token, h: t.h, ck: t.ck }
  }))
  return { init, messages }
}

// hsalsa20 is the XSalsa20 subkey: HSalsa20(key, nonce[0:16]), from the
// xsalsa20 module (the one xsalsa20-universal uses without libsodium). The
// key stream is Salsa20 under it with nonce[16:24]; checked against
// libsodium's XSalsa20.
function hsalsa20 (key, nonce) {
  const sub = Buffer.alloc(32)
  xsalsa20.core_hsalsa20(sub, nonce.subarray(0, 16), key, xsalsa20.SIGMA)
  const a = Buffer.alloc(128)
  const b = Buffer.alloc(128)
  sodium.crypto_stream_xor(a, Buffer.alloc(128), nonce, key)
  sodium.crypto_stream_salsa20_xor(b, Buffer.alloc(128), nonce.subarray(16, 24), sub)
  if (!a.equals(b)) throw new Error('HSalsa20 subkey does not give the XSalsa20 key stream')
  return sub
}

// kxSecret is what crypto_kx_seed_keypair makes the secret key: BLAKE2b-256
// of the seed.
function kxKeyPair (s) {
  const pk = Buffer.alloc(32)
  const sk = Buffer.alloc(32)
  sodium.crypto_kx_seed_keypair(pk, sk, s)
  return { publicKey: pk, secretKey: sk }
}

function runSession (label, script) {
  const side = (name, initiator) => {
    const staticSeed = seed(label + ' static ' + name)
    const ephemeralSeed = seed(label + ' ephemeral ' + name)
    const nonce = seed(label + ' nonce ' + name).subarray(0, 24)
    return { name, initiator, staticSeed, ephemeralSeed, nonce, wire: [], plain: [], handshake: [], offset: 0 }
  }
  const a = side('initiator', true)
  const b = side('responder', false)

  // The engine draws its nonce in the constructor and the ephemeral key when
  // the handshake state is created, in constructor order.
  nonces = [a.nonce, b.nonce]
  ephemeralSeeds = [a.ephemeralSeed, b.ephemeralSeed]
  noiseTraces = new Map()

  const received = { initiator: [], responder: [] }
  const handlers = (me, other) => ({
    keyPair: SHP.keyPair(me.staticSeed),
    send (data) {
      const bytes = Buffer.from(data)
      me.wire.push(bytes)
      // deliver asynchronously, as a socket would
      setImmediate(() => other.proto.recv(Buffer.from(bytes)))
    },
    onhandshake () { me.handshakeDone = true },
    onopen (ch, m) { received[me.name].push(['open', ch, m]) },
    onstatus (ch, m) { received[me.name].push(['status', ch, m]) },
    ondata (ch, m) { received[me.name].push(['data', ch, m]) },
    destroy (err) { if (err) me.error = err }
  })
  a.proto = new SHP(true, handlers(a, b))
  b.proto = new SHP(false, handlers(b, a))
  for (const s of [a, b]) {
    const orig = s.proto._messages.send.bind(s.proto._messages)
    s.proto._messages.send = (ch, type, msg) => {
      const frame = orig(ch, type, msg)
      s.plain.push(Buffer.from(frame))
      return frame
    }
  }
  return new Promise((resolve, reject) => {
    const wait = () => {
      if (a.error || b.error) return reject(a.error || b.error)
      if (!a.handshakeDone || !b.handshakeDone) return setImmediate(wait)
      // The three handshake messages are the first wire writes.
      a.handshake = a.wire.splice(0)
      b.handshake = b.wire.splice(0)
      script(a, b)
      setTimeout(() => {
        if (a.error || b.error) return reject(a.error || b.error)
        const traces = [...noiseTraces.values()].map(noiseStates)
        if (traces.length !== 2 || JSON.stringify(traces[0]) !== JSON.stringify(traces[1])) {
          return reject(new Error('the two sides went through different Noise states'))
        }
        resolve({ a, b, received, noise: traces[0] })
      }, 20)
    }
    wait()
  })
}

function sideRecord (s, peer) {
  const split = s.proto._split
  return {
    staticSeed: hex(s.staticSeed),
    staticSecretKey: hex(kxKeyPair(s.staticSeed).secretKey),
    staticPublicKey: hex(s.proto.publicKey),
    ephemeralSeed: hex(s.ephemeralSeed),
    ephemeralSecretKey: hex(kxKeyPair(s.ephemeralSeed).secretKey),
    ephemeralPublicKey: hex(kxKeyPair(s.ephemeralSeed).publicKey),
    nonce: hex(s.nonce),
    remoteStaticKey: hex(s.proto.remotePublicKey),
    remoteNonce: hex(s.proto.remotePayload.nonce),
    tx: hex(split.tx.subarray(0, 32)),
    rx: hex(split.rx.subarray(0, 32)),
    handshakeHash: hex(s.proto.handshakeHash),
    txSubkey: hex(hsalsa20(split.tx.subarray(0, 32), s.nonce)),
    rxSubkey: hex(hsalsa20(split.rx.subarray(0, 32), s.proto.remotePayload.nonce))
  }
}

async function main () {
  const feedKeys = [
    Buffer.alloc(32),
    hcrypto.keyPair(seed('hypercore-go v9 vectors: writer')).publicKey,
    seed('session vectors: another feed key')
  ]
  const tests = []
  for (const label of ['session vectors: one', 'session vectors: two']) {
    const sentFrames = []
    const { a, b, noise } = await runSession(label, (a, b) => {
      // Each entry: [sender, what]. Frames are sent in this order; the
      // ciphertext of each is what went on the wire.
      const steps = [
        [a, 'open', () => a.proto.open(1, { key: feedKeys[1], discoveryKey: hcrypto.discoveryKey(feedKeys[1]) })],
        [b, 'open', () => b.proto.open(1, { key: feedKeys[1], discoveryKey: hcrypto.discoveryKey(feedKeys[1]) })],
        [b, 'want', () => b.proto.want(1, { start: 0, length: 1048576 })],
        [a, 'status', () => a.proto.status(1, { uploading: true, downloading: false })],
        [a, 'have', () => a.proto.have(1, { start: 1 })],
        [a, 'have', () => a.proto.have(1, { start: 0, length: 1048576, bitfield: Buffer.from([0x02, 0xc0]) })],
        [b, 'request', () => b.proto.request(1, { index: 0, bytes: 0, hash: false, nodes: 0 })],
        [a, 'data', () => a.proto.data(1, { index: 0, value: Buffer.from('hello'), nodes: [{ index: 2, hash: Buffer.alloc(32, 7), size: 5 }], signature: Buffer.alloc(64, 9) })],
        [a, 'ping', () => a.proto.ping()],
        [b, 'extension', () => b.proto.extension(1, 0, Buffer.from('hi'))],
        [b, 'ping', () => b.proto.ping()],
        [a, 'close', () => a.proto.close(1, {})]
      ]
      for (const [s, what, send] of steps) {
        const before = s.wire.length
        const plainBefore = s.plain.length
        send()
        const wire = Buffer.concat(s.wire.slice(before))
        const plain = what === 'ping' ? Buffer.from([0]) : Buffer.concat(s.plain.slice(plainBefore))
        if (wire.length !== plain.length) throw new Error('frame length mismatch')
        sentFrames.push({ from: s.name, message: what, offset: s.offset, plaintext: hex(plain), ciphertext: hex(wire) })
        s.offset += wire.length
      }
    })
    const caps = feedKeys.map((key) => ({
      key: hex(key),
      initiatorCapability: hex(a.proto.capability(key)),
      responderCapability: hex(b.proto.capability(key)),
      initiatorExpects: hex(a.proto.remoteCapability(key)),
      responderExpects: hex(b.proto.remoteCapability(key))
    }))
    for (const c of caps) {
      if (c.initiatorCapability !== c.responderExpects || c.responderCapability !== c.initiatorExpects) {
        throw new Error('capabilities do not match across sides')
      }
    }
    tests.push({
      comment: label,
      flags: [],
      initiator: sideRecord(a, b),
      responder: sideRecord(b, a),
      noiseInit: noise.init,
      handshake: [
        { from: 'initiator', message: hex(a.handshake[0]), tokens: noise.messages[0] },
        { from: 'responder', message: hex(b.handshake[0]), tokens: noise.messages[1] },
        { from: 'initiator', message: hex(a.handshake[1]), tokens: noise.messages[2] }
      ],
      capabilities: caps,
      frames: sentFrames,
      result: 'valid'
    })
    if (a.handshake.length !== 2 || b.handshake.length !== 1) throw new Error('unexpected handshake message count')
  }
  // Long key streams from xsalsa20-universal in one call (libsodium
  // crypto_stream_xor), to check a streaming cipher at every split point.
  const streams = []
  for (const [label, n] of [['key stream: short', 100], ['key stream: long', 1500]]) {
    const key = seed(label + ' key')
    const nonce = seed(label + ' nonce').subarray(0, 24)
    const out = Buffer.alloc(n)
    new XSalsa20(nonce, key).update(out, Buffer.alloc(n))
    streams.push({ comment: label, flags: [], key: hex(key), nonce: hex(nonce), subkey: hex(hsalsa20(key, nonce)), keyStream: hex(out), result: 'valid' })
  }
  writeFile(outDir(), 'session', {
    concept: 'Noise handshake, transport encryption and capability',
    source: source('simple-hypercore-protocol', ['noise-protocol', 'simple-handshake', 'xsalsa20-universal', 'xsalsa20', 'hypercore-crypto', 'simple-message-channels', 'sodium-native']),
    notes: {}
  }, [{ type: 'SessionTest', tests }, { type: 'KeyStreamTest', tests: streams }])
  dh.generateKeypair = realGenerate
}

main().catch((err) => { console.error(err); process.exit(1) })

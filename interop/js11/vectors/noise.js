'use strict'
// Generates vectors/v11/noise.json: the Noise handshake and setup of
// @hyperswarm/secret-stream 6.9.2 (noise-handshake 4.2.0, noise-curve-ed
// 2.1.0, sodium-secretstream 1.2.0, libsodium through sodium-native).
//
//   node interop/js11/vectors/noise.js OUTDIR
//
// The randomness of a stream is injected (hypercore11-notes §3.7): the static
// key pairs are NoiseSecretStream.keyPair(staticSeed) (crypto_sign_seed_keypair),
// the ephemeral key pairs come from crypto_sign_seed_keypair over fixed seeds
// (by replacing noise-curve-ed's generateKeyPair when it is called without a
// key), and the secretstream headers are fixed bytes (by replacing
// crypto_secretstream_xchacha20poly1305_init_push with one that writes the
// chosen header and then initialises the state from it with libsodium's own
// init_pull, which computes the same state). The receiving side is libsodium's
// own, so a wrong header or state fails here rather than producing bad vectors.
//
// Groups:
//   DHTest             noise-curve-ed's dh: valid outputs, and public keys that
//                      libsodium's crypto_scalarmult_ed25519_noclamp refuses
//   HandshakeTest      a whole stream between two NoiseSecretStreams: the three
//                      handshake messages, the handshake hash, split keys, stream
//                      ids, setup frames and the first transport frames
//   HandshakeSideTest  one side of a handshake fed honest or mutated messages;
//                      the JS Handshake (lib/handshake.js) decides the verdict

const sodium = require('sodium-universal')
const b4a = require('b4a')
const curve = require('noise-curve-ed')
const crypto = require('hypercore-crypto')
const NoiseSecretStream = require('@hyperswarm/secret-stream')
const Handshake = require('@hyperswarm/secret-stream/lib/handshake')
const { source, writeFile, outDir, hex, seed } = require('./lib/vectors')

// ---- injected randomness -------------------------------------------------

let ephemeralSeeds = []
let headers = []
const realGenerate = curve.generateKeyPair
curve.generateKeyPair = function (privKey) {
  if (privKey) return realGenerate(privKey)
  if (!ephemeralSeeds.length) throw new Error('unexpected ephemeral key generation')
  return keyPair(ephemeralSeeds.shift())
}
sodium.crypto_secretstream_xchacha20poly1305_init_push = function (state, header, key) {
  if (!headers.length) throw new Error('unexpected secretstream header generation')
  header.set(headers.shift())
  sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
}

function keyPair (s) {
  const publicKey = b4a.alloc(32)
  const secretKey = b4a.alloc(64)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, s)
  return { publicKey, secretKey }
}

function bytes (label, n) {
  const out = b4a.alloc(n)
  sodium.crypto_generichash(out, b4a.from(label))
  return out
}

// ---- Edwards points ------------------------------------------------------

const P = (1n << 255n) - 19n
const D = mod(-121665n * inv(121666n))

function mod (a) { return ((a % P) + P) % P }
function pow (b, e) {
  let r = 1n
  b = mod(b)
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P
    b = (b * b) % P
    e >>= 1n
  }
  return r
}
function inv (a) { return pow(a, P - 2n) }

// encodeY writes y (any value below 2^255) little-endian with the sign bit.
function encodeY (y, sign) {
  const out = b4a.alloc(32)
  for (let i = 0; i < 32; i++) out[i] = Number((y >> BigInt(8 * i)) & 0xffn)
  if (sign) out[31] |= 0x80
  return out
}

// onCurve reports whether some x satisfies -x^2 + y^2 = 1 + d x^2 y^2 for y
// (mod p), that is whether (y^2 - 1) / (d y^2 + 1) is a square.
function onCurve (y) {
  const u = mod(y * y - 1n)
  const v = mod(D * y * y + 1n)
  const x2 = mod(u * inv(v))
  return x2 === 0n || pow(x2, (P - 1n) / 2n) === 1n
}

// The eight points of order dividing 8, in their canonical encodings
// (libsodium's blocklist in ge25519_has_small_order, plus the order-4 point
// with the sign bit).
const SMALL_ORDER = [
  ['0100000000000000000000000000000000000000000000000000000000000000', 'identity (order 1)'],
  ['ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'order 2 (0, -1)'],
  ['0000000000000000000000000000000000000000000000000000000000000000', 'order 4 (sqrt(-1), 0)'],
  ['0000000000000000000000000000000000000000000000000000000000000080', 'order 4 (-sqrt(-1), 0)'],
  ['26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'order 8'],
  ['26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', 'order 8, x negated'],
  ['c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'order 8'],
  ['c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 'order 8, x negated']
].map(([h, c]) => [b4a.from(h, 'hex'), c])

// dhVerdict runs noise-curve-ed's dh and returns its output, or null when
// libsodium refused the public key (sodium-native throws).
function dhVerdict (remotePublicKey, local) {
  try {
    return curve.dh(remotePublicKey, local)
  } catch {
    return null
  }
}

// ---- DHTest --------------------------------------------------------------

function dhTests () {
  const valid = []
  const seeds = [0, 1, 2, 3].map((i) => seed('hypercore-go v11 noise: dh ' + i))
  const pairs = seeds.map(keyPair)
  for (let i = 0; i < pairs.length; i++) {
    for (let j = 0; j < pairs.length; j++) {
      if (i === j) continue
      valid.push({
        comment: 'key pair ' + i + ' with key pair ' + j + "'s public key",
        seed: hex(seeds[i]),
        publicKey: hex(pairs[i].publicKey),
        remotePublicKey: hex(pairs[j].publicKey),
        output: hex(curve.dh(pairs[j].publicKey, pairs[i])),
        result: 'valid'
      })
    }
  }
  // the base point itself: the output is the local public key
  const base = b4a.from('5866666666666666666666666666666666666666666666666666666666666666', 'hex')
  valid.push({
    comment: 'the base point (the output is the public key)',
    seed: hex(seeds[0]),
    publicKey: hex(pairs[0].publicKey),
    remotePublicKey: hex(base),
    output: hex(curve.dh(base, pairs[0])),
    result: 'valid'
  })

  const local = pairs[0]
  const candidates = []
  for (const [p, c] of SMALL_ORDER) candidates.push({ point: p, comment: 'small order: ' + c, flags: ['SmallOrder'] })
  // x = 0 with the sign bit set: y = 1 and y = -1
  candidates.push({ point: encodeY(1n, true), comment: 'identity with the sign bit set (x = -0)', flags: ['SmallOrder', 'NonCanonical'] })
  candidates.push({ point: encodeY(P - 1n, true), comment: 'order 2 with the sign bit set (x = -0)', flags: ['SmallOrder', 'NonCanonical'] })
  // y >= p: p + k for k = 0..18, both signs
  for (let k = 0n; k < 19n; k++) {
    for (const sign of [false, true]) {
      const flags = ['NonCanonical']
      if (!onCurve(k)) flags.push('OffCurve')
      candidates.push({ point: encodeY(P + k, sign), comment: 'y = p + ' + k + (sign ? ', sign bit set' : ''), flags })
    }
  }
  // off the curve: the first values of y >= 2 for which no x exists
  let found = 0
  for (let y = 2n; found < 4; y++) {
    if (onCurve(y)) continue
    found++
    candidates.push({ point: encodeY(y, false), comment: 'off the curve: y = ' + y, flags: ['OffCurve'] })
  }
  // mixed order: a prime-order point plus a point of order 2, 4 and 8
  for (const idx of [1, 2, 4, 6]) {
    const out = b4a.alloc(32)
    sodium.crypto_core_ed25519_add(out, pairs[1].publicKey, SMALL_ORDER[idx][0])
    candidates.push({ point: out, comment: "key pair 1's public key plus the " + SMALL_ORDER[idx][1] + ' point', flags: ['MixedOrder'] })
  }

  const invalid = []
  for (const c of candidates) {
    const out = dhVerdict(c.point, local)
    if (out !== null) throw new Error('libsodium accepted ' + hex(c.point) + ' (' + c.comment + ')')
    invalid.push({
      comment: c.comment,
      flags: c.flags,
      seed: hex(seeds[0]),
      publicKey: hex(local.publicKey),
      remotePublicKey: hex(c.point),
      output: null,
      result: 'invalid',
      error: 'badPublicKey'
    })
  }
  return [{ type: 'DHTest', tests: valid }, { type: 'DHTest', tests: invalid }]
}

// ---- HandshakeTest -------------------------------------------------------

// frames splits a byte stream into u24le-framed bodies.
function frames (buf) {
  const out = []
  let o = 0
  while (o < buf.byteLength) {
    if (o + 3 > buf.byteLength) throw new Error('partial frame header')
    const n = buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16)
    if (o + 3 + n > buf.byteLength) throw new Error('partial frame')
    out.push(buf.subarray(o, o + 3 + n))
    o += 3 + n
  }
  return out
}

// runStream connects two NoiseSecretStreams (in memory, through their
// bridges), lets each write its messages, and resolves with everything both
// sent on the raw stream and what each side derived.
function runStream (c) {
  ephemeralSeeds = [c.initiator.ephemeralSeed, c.responder.ephemeralSeed]
  headers = [c.initiator.header, c.responder.header]

  // The Noise state h after each handshake message, as noise-handshake
  // holds it (its digest; after the last message, the handshake hash).
  const hs = []
  const realRecv = Handshake.prototype.recv
  const realSend = Handshake.prototype.send
  const digest = (h) => h.noise.complete ? b4a.from(h.noise.hash) : b4a.from(h.noise.digest)
  Handshake.prototype.send = function () {
    const r = realSend.call(this)
    if (r && r.data) hs.push({ from: this.isInitiator ? 'initiator' : 'responder', h: digest(this) })
    return r
  }
  Handshake.prototype.recv = function (data) {
    // noise-handshake wipes the buffer it was given (notes §9.16): copy
    const r = realRecv.call(this, b4a.from(data))
    return r
  }

  const a = new NoiseSecretStream(true, null, { keyPair: keyPair(c.initiator.staticSeed) })
  const b = new NoiseSecretStream(false, null, { keyPair: keyPair(c.responder.staticSeed) })
  const wire = { initiator: [], responder: [] }
  a.rawStream.on('data', (d) => wire.initiator.push(b4a.from(d)))
  b.rawStream.on('data', (d) => wire.responder.push(b4a.from(d)))
  a.rawStream.pipe(b.rawStream).pipe(a.rawStream)

  const received = { initiator: [], responder: [] }
  // End both streams once every non-empty message has arrived (ending
  // earlier can close a stream before what it was sent is read).
  const expect = {
    initiator: c.responder.messages.filter((m) => m.length > 0).length,
    responder: c.initiator.messages.filter((m) => m.length > 0).length
  }
  let ended = false
  const maybeEnd = () => {
    if (ended || received.initiator.length < expect.initiator || received.responder.length < expect.responder) return
    ended = true
    a.end()
    b.end()
  }
  a.on('data', (d) => { if (d.byteLength > 0) received.initiator.push(b4a.from(d)); maybeEnd() })
  b.on('data', (d) => { if (d.byteLength > 0) received.responder.push(b4a.from(d)); maybeEnd() })

  return new Promise((resolve, reject) => {
    a.on('error', reject)
    b.on('error', reject)
    let connected = 0
    const onconnect = () => {
      if (++connected < 2) return
      for (const m of c.initiator.messages) m.length === 0 ? a.sendKeepAlive() : a.write(m)
      for (const m of c.responder.messages) m.length === 0 ? b.sendKeepAlive() : b.write(m)
      maybeEnd()
    }
    a.on('connect', onconnect)
    b.on('connect', onconnect)
    let closed = 0
    const onclose = () => {
      if (++closed < 2) return
      Handshake.prototype.send = realSend
      Handshake.prototype.recv = realRecv
      if (ephemeralSeeds.length || headers.length) return reject(new Error('injected randomness left over'))
      resolve({ a, b, hs, wire, received })
    }
    a.on('close', onclose)
    b.on('close', onclose)
    a.resume()
    b.resume()
  })
}

async function handshakeTests () {
  const cases = [
    {
      comment: 'two messages each way, then a keep-alive from the initiator',
      label: 'stream 1',
      initiator: ['hello', '', 'a longer message from the initiator: ' + 'x'.repeat(200)],
      responder: ['world', 'the responder speaks last']
    },
    {
      comment: 'one message each way',
      label: 'stream 2',
      initiator: ['ping'],
      responder: ['pong']
    },
    {
      comment: 'the responder writes nothing; the initiator writes a 1000-byte message',
      label: 'stream 3',
      initiator: ['b'.repeat(1000)],
      responder: []
    }
  ]
  const [NS_INITIATOR, NS_RESPONDER] = crypto.namespace('hyperswarm/secret-stream', 3)
  const tests = []
  for (const k of cases) {
    const side = (role, msgs) => ({
      staticSeed: seed('hypercore-go v11 noise: ' + k.label + ' ' + role + ' static'),
      ephemeralSeed: seed('hypercore-go v11 noise: ' + k.label + ' ' + role + ' ephemeral'),
      header: bytes('hypercore-go v11 noise: ' + k.label + ' ' + role + ' header', 24),
      messages: msgs.map((m) => b4a.from(m))
    })
    const c = { initiator: side('initiator', k.initiator), responder: side('responder', k.responder) }
    const { a, b, hs, wire, received } = await runStream(c)

    const iFrames = frames(b4a.concat(wire.initiator))
    const rFrames = frames(b4a.concat(wire.responder))
    if (iFrames.length !== 3 + c.initiator.messages.length) throw new Error('initiator frame count ' + iFrames.length)
    if (rFrames.length !== 2 + c.responder.messages.length) throw new Error('responder frame count ' + rFrames.length)
    if (hs.length !== 3) throw new Error('handshake messages: ' + hs.length)
    if (!b4a.equals(a.handshakeHash, b.handshakeHash)) throw new Error('handshake hashes differ')

    // check what arrived, so the frames are known to decrypt
    const arrived = (got, sent) => {
      const want = sent.filter((m) => m.length > 0)
      const nonEmpty = got
      if (nonEmpty.length !== want.length || nonEmpty.some((m, i) => !b4a.equals(m, want[i]))) throw new Error("messages did not arrive: " + got.map(hex) + " want " + sent.map(hex))
    }
    arrived(received.responder, c.initiator.messages)
    arrived(received.initiator, c.responder.messages)

    const handshakeMessages = [
      { from: 'initiator', message: hex(iFrames[0].subarray(3)), h: hex(hs[0].h) },
      { from: 'responder', message: hex(rFrames[0].subarray(3)), h: hex(hs[1].h) },
      { from: 'initiator', message: hex(iFrames[1].subarray(3)), h: hex(hs[2].h) }
    ]
    const out = (role, s, own, fr) => ({
      staticSeed: hex(c[role].staticSeed),
      publicKey: hex(s.publicKey),
      ephemeralSeed: hex(c[role].ephemeralSeed),
      ephemeralPublicKey: hex(keyPair(c[role].ephemeralSeed).publicKey),
      header: hex(c[role].header),
      remotePublicKey: hex(s.remotePublicKey),
      tx: hex(s._handshakeTx),
      rx: hex(s._handshakeRx),
      streamId: hex(NoiseSecretStream.id(s.handshakeHash, role === 'initiator')),
      setup: hex(fr[own].subarray(3)),
      messages: c[role].messages.map((m, i) => ({ plaintext: hex(m), frame: hex(fr[own + 1 + i]) }))
    })
    a._handshakeTx = a._encrypt.key; a._handshakeRx = a._decrypt.key
    b._handshakeTx = b._encrypt.key; b._handshakeRx = b._decrypt.key
    tests.push({
      comment: k.comment,
      initiator: out('initiator', a, 2, iFrames),
      responder: out('responder', b, 1, rFrames),
      handshake: handshakeMessages,
      handshakeHash: hex(a.handshakeHash),
      result: 'valid'
    })
  }
  return [{ type: 'HandshakeTest', nsInitiator: hex(NS_INITIATOR), nsResponder: hex(NS_RESPONDER), tests }]
}

// ---- HandshakeSideTest ---------------------------------------------------

// unframe strips the u24le length that lib/handshake.js puts in front.
function unframe (data) {
  const n = data[0] | (data[1] << 8) | (data[2] << 16)
  if (n !== data.byteLength - 3) throw new Error('bad handshake frame')
  return b4a.from(data.subarray(3))
}

function newHandshake (isInitiator, staticKeyPair, ephemeralSeed) {
  ephemeralSeeds = [ephemeralSeed]
  const h = new Handshake(isInitiator, staticKeyPair, null, 'XX')
  return h
}

// honest runs the unmodified handshake and returns its three messages.
function honest (iStatic, rStatic, iEph, rEph) {
  const i = newHandshake(true, iStatic, iEph)
  const m1 = unframe(i.send().data)
  const r = newHandshake(false, rStatic, rEph)
  const m2 = unframe(r.recv(b4a.from(m1)).data)
  const res = i.recv(b4a.from(m2))
  const m3 = unframe(res.data)
  const fin = r.recv(b4a.from(m3))
  if (!fin || !fin.hash || !b4a.equals(fin.hash, res.hash)) throw new Error('honest handshake failed')
  return [m1, m2, m3, res.hash]
}

// runSide plays one side against the given incoming messages. It returns what
// the side sent, and whether it accepted the last message.
function runSide (role, staticKeyPair, ephemeralSeed, incoming) {
  const h = newHandshake(role === 'initiator', staticKeyPair, ephemeralSeed)
  const sent = []
  if (role === 'initiator') sent.push(unframe(h.send().data))
  let last = null
  for (const m of incoming) {
    last = h.recv(b4a.from(m))
    if (last === null) break
    if (last.data) sent.push(unframe(last.data))
  }
  ephemeralSeeds = []
  return { sent, ok: last !== null, hash: last && last.hash, remotePublicKey: last && last.remotePublicKey }
}

function flip (buf, i, mask = 0x01) {
  const out = b4a.from(buf)
  out[i] ^= mask
  return out
}

function replaceAt (buf, i, part) {
  const out = b4a.from(buf)
  out.set(part, i)
  return out
}

function sideTests () {
  const iSeed = seed('hypercore-go v11 noise: sides initiator static')
  const rSeed = seed('hypercore-go v11 noise: sides responder static')
  const iEph = seed('hypercore-go v11 noise: sides initiator ephemeral')
  const rEph = seed('hypercore-go v11 noise: sides responder ephemeral')
  const iStatic = keyPair(iSeed)
  const rStatic = keyPair(rSeed)
  const [m1, m2, m3] = honest(iStatic, rStatic, iEph, rEph)
  const smallOrder = SMALL_ORDER[4][0]
  const identity = SMALL_ORDER[0][0]
  const offCurve = encodeY(2n, false)
  if (onCurve(2n)) throw new Error('y = 2 is on the curve')

  // A message from a peer whose static public key is of small order: the
  // peer encrypts it honestly, so only the DH can refuse it.
  const badStatic = { publicKey: b4a.from(smallOrder), secretKey: rStatic.secretKey }
  const m2BadStatic = unframe(newHandshake(false, badStatic, rEph).recv(b4a.from(m1)).data)
  const iBadStatic = { publicKey: b4a.from(identity), secretKey: iStatic.secretKey }
  const ib = newHandshake(true, iBadStatic, iEph)
  ib.send()
  const rr = newHandshake(false, rStatic, rEph)
  const m2ForBad = unframe(rr.recv(b4a.from(m1)).data)
  const m3BadStatic = unframe(ib.recv(b4a.from(m2ForBad)).data)

  // Payloads in all three messages (JS itself sends none): the receiver
  // ignores them, but they enter the handshake hash.
  const pi = newHandshake(true, iStatic, iEph)
  const pm1 = pi.noise.send(b4a.from('payload 1'))
  const m2p = unframe(newHandshake(false, rStatic, rEph).recv(b4a.from(pm1)).data)
  pi.noise.recv(b4a.from(m2p))
  const pm3 = pi.noise.send(b4a.from('payload 3'))
  const pr = newHandshake(false, rStatic, rEph)
  pr.noise.recv(b4a.from(m1))
  const pm2 = pr.noise.send(b4a.from('payload 2'))
  ephemeralSeeds = []

  const cases = [
    // the initiator reads message 2
    ['initiator', 'honest', [m2]],
    ['initiator', 'message 2 with a bit flipped in e, byte 0', [flip(m2, 0)], 'e'],
    ['initiator', 'message 2 with a bit flipped in e, byte 5', [flip(m2, 5)], 'e'],
    ['initiator', 'message 2 with a bit flipped in e, byte 17', [flip(m2, 17)], 'e'],
    ['initiator', "message 2 with e's sign bit flipped (-e, a valid point)", [flip(m2, 31, 0x80)], 'e'],
    ['initiator', 'message 2 with a bit flipped in the encrypted s', [flip(m2, 32)]],
    ['initiator', "message 2 with a bit flipped in s's tag", [flip(m2, 64)]],
    ['initiator', "message 2 with a bit flipped in the payload's tag", [flip(m2, 80)]],
    ['initiator', 'message 2 truncated to 95 bytes', [m2.subarray(0, 95)]],
    ['initiator', 'message 2 truncated to 32 bytes', [m2.subarray(0, 32)]],
    ['initiator', 'message 2 with a byte appended', [b4a.concat([m2, b4a.from([0])])]],
    ['initiator', 'message 2 with e of small order (order 8)', [replaceAt(m2, 0, smallOrder)], 'e'],
    ['initiator', 'message 2 with e = the identity', [replaceAt(m2, 0, identity)], 'e'],
    ['initiator', 'message 2 with e off the curve (y = 2)', [replaceAt(m2, 0, offCurve)], 'e'],
    ['initiator', "message 2 from a responder whose static key is of small order", [m2BadStatic], 'rs', smallOrder],
    // the responder reads message 1
    ['responder', 'message 1 empty', [b4a.alloc(0)]],
    ['responder', 'message 1 truncated to 31 bytes', [m1.subarray(0, 31)]],
    ['responder', 'message 1 with a bit flipped in e', [flip(m1, 0)], 'e1'],
    ['responder', 'message 1 with a 1-byte payload', [b4a.concat([m1, b4a.from([0x2a])])]],
    ['responder', 'message 1 with e of small order (order 8)', [replaceAt(m1, 0, smallOrder)], 'e1'],
    ['responder', 'message 1 with e = the identity', [replaceAt(m1, 0, identity)], 'e1'],
    ['responder', 'message 1 with e off the curve (y = 2)', [replaceAt(m1, 0, offCurve)], 'e1'],
    // the responder reads message 3
    ['responder', 'honest', [m1, m3]],
    ['responder', 'message 3 with a bit flipped in the encrypted s', [m1, flip(m3, 0)]],
    ['responder', "message 3 with a bit flipped in s's tag", [m1, flip(m3, 40)]],
    ['responder', "message 3 with a bit flipped in the payload's tag", [m1, flip(m3, 63)]],
    ['responder', 'message 3 truncated to 63 bytes', [m1, m3.subarray(0, 63)]],
    ['responder', 'message 3 with a byte appended', [m1, b4a.concat([m3, b4a.from([0])])]],
    ['responder', 'message 3 from an initiator whose static key is the identity', [m1, m3BadStatic], 'rs', identity],
    ['responder', 'payloads in messages 1 and 3 (ignored, but hashed)', [pm1, pm3]],
    ['initiator', 'payload in message 2 (ignored, but hashed); message 1 had none', [pm2]]
  ]

  const tests = []
  for (const [role, comment, incoming, badKey, staticKey] of cases) {
    const iam = role === 'initiator'
    const r = runSide(role, iam ? iStatic : rStatic, iam ? iEph : rEph, incoming)
    let error
    if (!r.ok) {
      // The class: badPublicKey when the remote key that this side's DH
      // uses is one libsodium refuses, handshake otherwise (a MAC or length
      // failure). libsodium decides which keys it refuses.
      let key = null
      if (badKey === 'e' || badKey === 'e1') key = incoming[incoming.length - 1].subarray(0, 32)
      if (badKey === 'rs') key = staticKey
      error = key !== null && key.byteLength === 32 && dhVerdict(key, iam ? iStatic : rStatic) === null ? 'badPublicKey' : 'handshake'
    }
    tests.push({
      comment,
      role,
      staticSeed: hex(iam ? iSeed : rSeed),
      ephemeralSeed: hex(iam ? iEph : rEph),
      received: incoming.map(hex),
      sent: r.sent.map(hex),
      handshakeHash: r.ok && r.hash ? hex(r.hash) : null,
      remotePublicKey: r.ok && r.remotePublicKey ? hex(r.remotePublicKey) : null,
      result: r.ok ? 'valid' : 'invalid',
      ...(r.ok ? {} : { error })
    })
  }
  return [{ type: 'HandshakeSideTest', tests }]
}

async function main () {
  const groups = [].concat(dhTests(), await handshakeTests(), sideTests())
  writeFile(outDir(), 'noise', {
    concept: 'Noise_XX_Ed25519_ChaChaPoly_BLAKE2b handshake, Ed25519 DH and setup frames of @hyperswarm/secret-stream',
    source: source('@hyperswarm/secret-stream', ['noise-handshake', 'noise-curve-ed', 'sodium-secretstream', 'sodium-native', 'hypercore-crypto']),
    notes: {
      SmallOrder: 'The point has order 1, 2, 4 or 8; libsodium refuses it (ge25519_has_small_order, which ignores the sign bit).',
      NonCanonical: 'The encoding is not canonical: y >= p, or x = 0 with the sign bit set. libsodium refuses y >= p (ge25519_is_canonical); x = -0 only occurs for small-order points.',
      OffCurve: 'No x satisfies the curve equation for this y; libsodium refuses it (ge25519_frombytes).',
      MixedOrder: 'The point is on the curve but outside the prime-order subgroup (a prime-order point plus a small-order one); libsodium refuses it (ge25519_is_on_main_subgroup).'
    }
  }, groups)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

'use strict'
// Generates vectors/v11/manifests.json from hypercore 11.37.1 (lib/messages.js
// manifest and multiSignature encodings, lib/verifier.js, lib/multisig.js).
//
//   node interop/js11/vectors/manifests.js OUTDIR
//
// ManifestEncodeTest: manifests of every version and flag combination, as
// createManifest makes them, with their encoding, hash and decoding.
// ManifestDecodeTest: encodings JS decodes or refuses (every truncation of
// some manifests, unknown version, hash and signature types, counts and
// integers out of range, non-minimal integers, unknown flag bits, trailing
// bytes), each judged by JS's decoder. ManifestValidateTest: decodable
// manifests that createManifest (run on every manifest a core adopts) refuses
// or accepts. EnvelopeDecodeTest: multisig envelopes, version 1 and 0, and
// every truncation of two. AssembleTest: envelopes assembled by JS from
// partial signatures. VerifyTest: multisig, prologue and patch cases over
// real trees, each judged by JS's Verifier.

const crypto = require('hypercore-crypto')
const Verifier = require('hypercore/lib/verifier')
const multisig = require('hypercore/lib/multisig')
const b4a = require('b4a')
const { source, writeFile, outDir, hex, fromHex, seed } = require('./lib/vectors')
const M = require('./merkle')

const A = M.keyPair(M.WRITER)
const B = M.keyPair(M.OTHER)
const C = M.keyPair('hypercore-go v11 vectors: signer 3')
const D = M.keyPair('hypercore-go v11 vectors: signer 4')
const NS = seed('hypercore-go v11 vectors: namespace')
const PROLOGUE_HASH = seed('hypercore-go v11 vectors: prologue')
const LINK1 = seed('hypercore-go v11 vectors: linked 1')
const LINK2 = seed('hypercore-go v11 vectors: linked 2')

function manifestJSON (m) {
  if (!m) return null
  return {
    version: m.version,
    hash: m.hash,
    allowPatch: m.allowPatch,
    quorum: m.quorum,
    signers: m.signers.map((s) => ({ signature: s.signature, namespace: hex(s.namespace), publicKey: hex(s.publicKey) })),
    prologue: m.prologue ? { hash: hex(m.prologue.hash), length: m.prologue.length } : null,
    linked: m.linked ? m.linked.map(hex) : null,
    userData: m.userData ? hex(m.userData) : null
  }
}

// errorClass maps a JS error message to the error class of the vectors.
function errorClass (msg) {
  const classes = [
    ['Out of bounds', 'truncated'],
    ['Unknown version', 'unknown-version'],
    ['Unknown type', 'unknown-type'],
    ['Unknown hash id', 'unknown-hash'],
    ['Unknown signature id', 'unknown-signature'],
    ['Array is too big', 'too-big'],
    ['uint must be between', 'range'],
    ['Quorum should not be higher', 'quorum'],
    ['Invalid field', 'invalid-field']
  ]
  const m = msg.replace(/^BAD_ARGUMENT: /, '')
  for (const [prefix, cls] of classes) if (m.startsWith(prefix)) return cls
  throw new Error('no error class for JS error: ' + msg)
}

const signer = (kp, namespace) => namespace ? { publicKey: kp.publicKey, namespace } : { publicKey: kp.publicKey }

// The manifests of ManifestEncodeTest: [comment, createManifest input].
function manifestInputs () {
  const out = []
  const p0 = { hash: PROLOGUE_HASH, length: 0 }
  const p7 = { hash: PROLOGUE_HASH, length: 7 }
  // version 0: its three shapes
  out.push(['v0 type 0: a prologue and no signers', { version: 0, prologue: p0 }])
  out.push(['v0 type 0: prologue length 7 is not written (decodes as 0)', { version: 0, prologue: p7 }])
  out.push(['v0 type 1: one signer, quorum 1', { version: 0, signers: [signer(A)] }])
  out.push(['v0 type 1: one signer in another namespace', { version: 0, signers: [signer(A, NS)] }])
  out.push(['v0 type 1: a prologue with a signer is not written', { version: 0, signers: [signer(A)], prologue: p7 }])
  out.push(['v0 type 2: one signer with allowPatch', { version: 0, signers: [signer(A)], allowPatch: true }])
  out.push(['v0 type 2: two signers, default quorum 2', { version: 0, signers: [signer(A), signer(B)] }])
  out.push(['v0 type 2: three signers, quorum 1', { version: 0, signers: [signer(A), signer(B), signer(C)], quorum: 1 }])
  out.push(['v0 type 2: no signers, no prologue', { version: 0 }])
  // version 1: flags allowPatch and prologue, signer counts and quorums
  out.push(['v1 default signer manifest', Verifier.defaultSignerManifest(A.publicKey)])
  out.push(['v1 one signer, allowPatch', { signers: [signer(A)], allowPatch: true }])
  out.push(['v1 one signer, prologue of 7 blocks', { signers: [signer(A)], prologue: p7 }])
  out.push(['v1 one signer, allowPatch and prologue', { signers: [signer(A)], allowPatch: true, prologue: p7 }])
  out.push(['v1 prologue only, no signers', { prologue: p7 }])
  out.push(['v1 prologue of length 2^32', { signers: [signer(A)], prologue: { hash: PROLOGUE_HASH, length: 2 ** 32 } }])
  out.push(['v1 prologue of length 2^53 - 1', { signers: [signer(A)], prologue: { hash: PROLOGUE_HASH, length: 2 ** 53 - 1 } }])
  out.push(['v1 no signers, no prologue', {}])
  out.push(['v1 one signer in another namespace', { signers: [signer(A, NS)] }])
  out.push(['v1 two signers, default quorum 2', { signers: [signer(A), signer(B)] }])
  out.push(['v1 three signers, default quorum 2', { signers: [signer(A), signer(B), signer(C)] }])
  out.push(['v1 three signers, quorum 3', { signers: [signer(A), signer(B), signer(C)], quorum: 3 }])
  out.push(['v1 three signers, quorum 0', { signers: [signer(A), signer(B), signer(C)], quorum: 0 }])
  out.push(['v1 four signers, default quorum 3, allowPatch', { signers: [signer(A), signer(B), signer(C), signer(D)], allowPatch: true }])
  // version 2: every combination of the four flags
  for (let f = 0; f < 16; f++) {
    const inp = { version: 2, signers: [signer(A), signer(B)] }
    const what = []
    if (f & 1) { inp.allowPatch = true; what.push('allowPatch') }
    if (f & 2) { inp.prologue = p7; what.push('prologue') }
    if (f & 4) { inp.linked = f & 8 ? [LINK1, LINK2] : [LINK1]; what.push('linked') }
    if (f & 8) { inp.userData = Buffer.from('hypercore-go'); what.push('userData') }
    out.push(['v2 flags ' + f + ': ' + (what.join(', ') || 'none'), inp])
  }
  out.push(['v2 empty userData (present: flag set, length 0)', { version: 2, signers: [signer(A)], userData: Buffer.alloc(0) }])
  out.push(['v2 userData of 253 bytes (length fd fd 00)', { version: 2, signers: [signer(A)], userData: Buffer.alloc(253, 0x5a) }])
  out.push(['v2 linked given without version (version 2 by default)', { signers: [signer(A)], linked: [LINK1] }])
  // version 3 decodes like 1 and 2
  out.push(['v3 one signer', { version: 3, signers: [signer(A)] }])
  out.push(['v3 every flag', { version: 3, signers: [signer(A), signer(B)], allowPatch: true, prologue: p7, linked: [LINK1], userData: Buffer.from('v3') }])
  return out
}

function encodeCases () {
  return manifestInputs().map(([comment, inp]) => {
    const m = Verifier.createManifest(inp)
    const encoded = Verifier.encodeManifest(m)
    return {
      comment,
      flags: [],
      manifest: manifestJSON(m),
      encoded: hex(encoded),
      hash: hex(Verifier.manifestHash(m)),
      decoded: manifestJSON(Verifier.decodeManifest(encoded)),
      result: 'valid'
    }
  })
}

// decodeCase judges an encoding with JS's decoder (Verifier.decodeManifest,
// which is c.decode(messages.manifest, ...)).
function decodeCase (comment, buf, opts) {
  const o = opts || {}
  let js = 'decodes'
  let jsError = null
  let m = null
  try {
    m = Verifier.decodeManifest(buf)
  } catch (err) {
    js = 'throws'
    jsError = err.message
  }
  const t = { comment, flags: (o.flags || []).slice(), encoded: hex(buf), js, jsError, manifest: manifestJSON(m) }
  if (o.error) {
    // this specification is stricter than JS here
    t.result = 'invalid'
    t.error = o.error
  } else if (js === 'throws') {
    t.result = 'invalid'
    t.error = errorClass(jsError)
  } else {
    t.result = 'valid'
  }
  return t
}

const enc = (m) => Verifier.encodeManifest(m)
const raw = (...parts) => b4a.concat(parts.map((p) => typeof p === 'number' ? b4a.from([p]) : typeof p === 'string' ? fromHex(p) : p))
const signerBytes = (kp, type) => raw(type || 0, Verifier.createManifest({ signers: [signer(kp)] }).signers[0].namespace, kp.publicKey)
// u64 is uint64le(n) for any n, also above 2^53 - 1 (which c.uint64 refuses).
const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b }
const TWO53 = 2n ** 53n

function decodeCases () {
  const tests = []
  const full = Verifier.createManifest({ version: 2, signers: [signer(A), signer(B)], allowPatch: true, prologue: { hash: PROLOGUE_HASH, length: 7 }, linked: [LINK1], userData: Buffer.from('ud') })
  const truncated = [
    ['v1 default signer manifest', enc(Verifier.defaultSignerManifest(A.publicKey))],
    ['v2 with every flag', enc(full)],
    ['v0 type 0', enc(Verifier.createManifest({ version: 0, prologue: { hash: PROLOGUE_HASH, length: 0 } }))],
    ['v0 type 1', enc(Verifier.createManifest({ version: 0, signers: [signer(A)] }))],
    ['v0 type 2', enc(Verifier.createManifest({ version: 0, signers: [signer(A), signer(B)] }))]
  ]
  for (const [what, buf] of truncated) {
    for (let n = 0; n < buf.length; n++) {
      tests.push(decodeCase(what + ' cut to ' + n + ' of ' + buf.length + ' bytes', buf.subarray(0, n)))
    }
  }
  const def = enc(Verifier.defaultSignerManifest(A.publicKey))
  const rest = def.subarray(1) // everything after the version
  const sA = signerBytes(A)
  const sB = signerBytes(B)
  tests.push(decodeCase('version 4', raw(4, rest)))
  tests.push(decodeCase('version 255 (fd ff 00)', raw('fdff00', rest)))
  tests.push(decodeCase('version 2^53 (ff + uint64le)', raw('ff', u64(TWO53), rest)))
  tests.push(decodeCase('version 1 written non-minimally (fd 01 00)', raw('fd0100', rest)))
  tests.push(decodeCase('quorum 1 written non-minimally (fe 01 00 00 00)', raw(1, 0, 0, 'fe01000000', 1, sA)))
  tests.push(decodeCase('unknown flag bits 0x10 and 0x80 are ignored', raw(1, 0x90, 0, 1, 1, sA), { flags: ['IgnoredBits'] }))
  tests.push(decodeCase('flags 0x1f: every flag and bit 4 (ignored)', raw(2, 0x1f, 0, 1, 1, sA, PROLOGUE_HASH, 7, 1, LINK1, 2, 'abcd'), { flags: ['IgnoredBits'] }))
  tests.push(decodeCase('hash type 1 (v1)', raw(1, 0, 1, 1, 1, sA)))
  tests.push(decodeCase('hash type 1 (v0)', raw(0, 1, 1, sA)))
  tests.push(decodeCase('signature type 1 in signer 0', raw(1, 0, 0, 1, 1, signerBytes(A, 1))))
  tests.push(decodeCase('signature type 2 in signer 1 of 2', raw(1, 0, 0, 2, 2, sA, signerBytes(B, 2))))
  tests.push(decodeCase('signature type 1 in a v0 type 1 manifest', raw(0, 0, 1, signerBytes(A, 1))))
  tests.push(decodeCase('v0 type 3', raw(0, 0, 3, sA)))
  tests.push(decodeCase('v0 type 2 with flags 0xf0 (bit 0 clear; the rest ignored)', raw(0, 0, 2, 0xf0, 1, 1, sA), { flags: ['IgnoredBits'] }))
  tests.push(decodeCase('v0 type 2 with flags 0xf1 (allowPatch; the rest ignored)', raw(0, 0, 2, 0xf1, 1, 1, sA), { flags: ['IgnoredBits'] }))
  tests.push(decodeCase('v0 type 2 with one signer, quorum 1, no patch (re-encodes as type 1)', raw(0, 0, 2, 0, 1, 1, sA)))
  tests.push(decodeCase('quorum 3 with 2 signers decodes (createManifest refuses it)', raw(1, 0, 0, 3, 2, sA, sB)))
  tests.push(decodeCase('quorum 1 with no signers decodes', raw(1, 0, 0, 1, 0)))
  tests.push(decodeCase('quorum 2^53 (ff + uint64le)', raw(1, 0, 0, 'ff', u64(TWO53), 1, sA)))
  tests.push(decodeCase('prologue length 2^53', raw(1, 2, 0, 1, 1, sA, PROLOGUE_HASH, 'ff', u64(TWO53))))
  tests.push(decodeCase('signer count 0x100001 (fe 01 00 10 00)', raw(1, 0, 0, 1, 'fe01001000', sA)))
  tests.push(decodeCase('signer count 0x100000 with one signer present', raw(1, 0, 0, 1, 'fe00001000', sA)))
  tests.push(decodeCase('signer count 2 with one signer present', raw(1, 0, 0, 1, 2, sA)))
  tests.push(decodeCase('signer count 3, signer 0 of type 1, nothing more (the type is read first)', raw(1, 0, 0, 1, 3, signerBytes(A, 1))))
  tests.push(decodeCase('linked count 0x100001', raw(2, 4, 0, 1, 1, sA, 'fe01001000')))
  tests.push(decodeCase('linked present and empty (flag set, count 0)', raw(2, 4, 0, 1, 1, sA, 0)))
  tests.push(decodeCase('userData claims 2^40 bytes', raw(2, 8, 0, 1, 1, sA, 'ff', u64(2 ** 40))))
  tests.push(decodeCase('linked in a v1 manifest decodes (createManifest refuses it)', raw(1, 4, 0, 1, 1, sA, 1, LINK1)))
  tests.push(decodeCase('userData in a v1 manifest decodes (createManifest refuses it)', raw(1, 8, 0, 1, 1, sA, 2, 'abcd')))
  tests.push(decodeCase('one byte 00 after the default signer manifest', raw(def, 0), { flags: ['JSLenient'], error: 'trailing-bytes' }))
  tests.push(decodeCase('a whole second manifest after the default signer manifest', raw(def, def), { flags: ['JSLenient'], error: 'trailing-bytes' }))
  return tests
}

// validateCase decodes an encoding (it must decode) and runs createManifest
// on the result, as a core does with every manifest it adopts.
function validateCase (comment, buf) {
  const m = Verifier.decodeManifest(buf)
  let js = 'accepts'
  let jsError = null
  try {
    Verifier.createManifest(m)
  } catch (err) {
    js = 'throws'
    jsError = err.message
  }
  const t = { comment, flags: [], encoded: hex(buf), manifest: manifestJSON(m), js, jsError, result: js === 'accepts' ? 'valid' : 'invalid' }
  if (js !== 'accepts') t.error = errorClass(jsError)
  return t
}

function validateCases () {
  const sA = signerBytes(A)
  const sB = signerBytes(B)
  return [
    validateCase('quorum 2 with 1 signer', raw(1, 0, 0, 2, 1, sA)),
    validateCase('quorum 1 with no signers', raw(1, 0, 0, 1, 0)),
    validateCase('quorum 3 with 2 signers (v0 type 2)', raw(0, 0, 2, 0, 3, 2, sA, sB)),
    validateCase('quorum 2 with 2 signers', raw(1, 0, 0, 2, 2, sA, sB)),
    validateCase('quorum 0 with 2 signers (accepted; nothing can verify)', raw(1, 0, 0, 0, 2, sA, sB)),
    validateCase('userData in v1', raw(1, 8, 0, 1, 1, sA, 2, 'abcd')),
    validateCase('empty userData in v1 (present, so refused)', raw(1, 8, 0, 1, 1, sA, 0)),
    validateCase('linked in v1', raw(1, 4, 0, 1, 1, sA, 1, LINK1)),
    validateCase('empty linked in v1 (accepted: only a non-empty list is refused)', raw(1, 4, 0, 1, 1, sA, 0)),
    validateCase('linked and userData in v2', raw(2, 12, 0, 1, 1, sA, 1, LINK1, 2, 'abcd')),
    validateCase('linked and userData in v3', raw(3, 12, 0, 1, 1, sA, 1, LINK1, 2, 'abcd')),
    validateCase('quorum 2 with 1 signer and userData in v1 (quorum is checked first)', raw(1, 8, 0, 2, 1, sA, 2, 'abcd'))
  ]
}

function envelopeJSON (version, s) {
  return {
    proofs: s.proofs.map((p) => version === 0
      ? { signer: p.signer, signature: hex(p.signature), patchV0: p.patch ? { start: p.patch.start, length: p.patch.length, nodes: p.patch.nodes } : null }
      : { signer: p.signer, signature: hex(p.signature), patch: p.patch }),
    patch: s.patch.map(M.nodeJSON)
  }
}

function envelopeCase (comment, version, buf, flags) {
  let js = 'decodes'
  let jsError = null
  let s = null
  try {
    s = version === 0 ? multisig.inflatev0(buf) : multisig.inflate(buf)
  } catch (err) {
    js = 'throws'
    jsError = err.message
  }
  const t = { comment, flags: flags || [], version, encoded: hex(buf), js, jsError, envelope: s ? envelopeJSON(version, s) : null }
  t.result = js === 'decodes' ? 'valid' : 'invalid'
  if (js !== 'decodes') t.error = errorClass(jsError)
  return t
}

// partsJSON records the inputs of an assemble call.
function partsJSON (parts) {
  return parts.map((p) => ({ signer: p.signer, signature: hex(p.signature), patch: p.patch, nodes: p.nodes ? p.nodes.map(M.nodeJSON) : [] }))
}

const BLOCKS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm']

// signOf returns signer i's raw signature of batch under verifier v.
function signOf (v, i, kp, batch) {
  return v.signers[i].sign(batch, kp)
}

async function multisigMaterial () {
  const out = {}
  const signers = [signer(A), signer(B), signer(C)]

  // 2 of 3, version 1, over the tree of 8 blocks.
  {
    const manifest = Verifier.createManifest({ signers, quorum: 2 })
    const key = Verifier.manifestHash(manifest)
    const v = new Verifier(key, manifest)
    const batch = await M.batchOf(BLOCKS.slice(0, 8))
    const sigs = [signOf(v, 0, A, batch), signOf(v, 1, B, batch), signOf(v, 2, C, batch)]
    out.twoOfThree = { manifest, key, v, batch, sigs }
  }

  // A patch: a 2-of-3 manifest with allowPatch. Signer A's core holds 8
  // blocks and signed length 8; B signed the tree of 5 blocks. A's partial
  // signature carries the nodes that take 5 blocks to 8 (multisig.js
  // partialSignature, from a real core of A's).
  {
    const manifest = Verifier.createManifest({ signers, quorum: 2, allowPatch: true })
    const key = Verifier.manifestHash(manifest)
    const v = new Verifier(key, manifest)
    const core = await M.tmpCore({ keyPair: A, manifest })
    await core.append(BLOCKS.slice(0, 8).map((s) => Buffer.from(s)))
    const partialA = await multisig.partialSignature(core, 0, 5)
    await core.close()
    const batch5 = await M.batchOf(BLOCKS.slice(0, 5))
    const batch8 = await M.batchOf(BLOCKS.slice(0, 8))
    if (!b4a.equals(partialA.signature, signOf(v, 0, A, batch8))) throw new Error('partial signature is not A@8')
    const partialB = { signer: 1, signature: signOf(v, 1, B, batch5), patch: 0, nodes: null }
    out.patch = { manifest, key, v, batch5, batch8, partialA, partialB }
  }

  // The same patch under a version 0 manifest (assemblev0 refers to nodes by
  // position).
  {
    const manifest = Verifier.createManifest({ version: 0, signers, quorum: 2, allowPatch: true })
    const key = Verifier.manifestHash(manifest)
    const v = new Verifier(key, manifest)
    const batch5 = await M.batchOf(BLOCKS.slice(0, 5))
    const batch8 = await M.batchOf(BLOCKS.slice(0, 8))
    const p = out.patch.partialA
    const partialA = { signer: 0, signature: signOf(v, 0, A, batch8), patch: p.patch, nodes: p.nodes }
    const partialB = { signer: 1, signature: signOf(v, 1, B, batch5), patch: 0, nodes: null }
    out.patchV0 = { manifest, key, v, batch5, partialA, partialB }
  }

  // 2 of 2, version 0, no patch.
  {
    const manifest = Verifier.createManifest({ version: 0, signers: [signer(A), signer(B, NS)] })
    const key = Verifier.manifestHash(manifest)
    const v = new Verifier(key, manifest)
    const batch = await M.batchOf(BLOCKS.slice(0, 3))
    out.v0 = { manifest, key, v, batch, sigs: [signOf(v, 0, A, batch), signOf(v, 1, B, batch)] }
  }

  // A prologue: 3 blocks accepted unsigned, then A signs.
  {
    const p3 = await M.batchOf(BLOCKS.slice(0, 3))
    const manifest = Verifier.createManifest({ signers: [signer(A)], prologue: { hash: p3.hash(), length: 3 } })
    const key = Verifier.manifestHash(manifest)
    const v = new Verifier(key, manifest)
    const batch4 = await M.batchOf(BLOCKS.slice(0, 4))
    out.prologue = { manifest, key, v, p3, batch2: await M.batchOf(BLOCKS.slice(0, 2)), batch4, sig4: v.sign(batch4, A), sig3: v.sign(p3, A) }
  }
  return out
}

function assembleCases (mat) {
  const tests = []
  const add = (comment, v, parts) => tests.push({
    comment, flags: [], version: v.version, parts: partsJSON(parts), envelope: hex(v.assemble(parts)), result: 'valid'
  })
  const t = mat.twoOfThree
  const part = (i) => ({ signer: i, signature: t.sigs[i], patch: 0, nodes: null })
  add('v1 2 of 3: signers 0 and 1', t.v, [part(0), part(1)])
  add('v1 2 of 3: signers 2 and 0', t.v, [part(2), part(0)])
  add('v1 one signer (the 68-byte envelope)', t.v, [part(1)])
  add('v1 a patch: signer 0 with 3 blocks of patch, signer 1 without', mat.patch.v, [mat.patch.partialA, mat.patch.partialB])
  add('v1 the same patch nodes twice are listed once', mat.patch.v, [mat.patch.partialA, Object.assign({}, mat.patch.partialA, { signer: 2 })])
  add('v0 2 of 2', mat.v0.v, mat.v0.sigs.map((s, i) => ({ signer: i, signature: s, patch: 0, nodes: null })))
  add('v0 a patch: node references', mat.patchV0.v, [mat.patchV0.partialA, mat.patchV0.partialB])
  return tests
}

function envelopeCases (mat) {
  const tests = []
  const t = mat.twoOfThree
  const e1 = t.v.assemble([{ signer: 0, signature: t.sigs[0], patch: 0, nodes: null }, { signer: 1, signature: t.sigs[1], patch: 0, nodes: null }])
  const ep = mat.patch.v.assemble([mat.patch.partialA, mat.patch.partialB])
  const e0 = mat.patchV0.v.assemble([mat.patchV0.partialA, mat.patchV0.partialB])
  tests.push(envelopeCase('v1 2 of 3, no patch', 1, e1))
  tests.push(envelopeCase('v1 with patch nodes', 1, ep))
  tests.push(envelopeCase('v0 with a patch', 0, e0))
  tests.push(envelopeCase('v1 with one byte 00 appended (ignored, as JS ignores it)', 1, raw(e1, 0)))
  tests.push(envelopeCase('v1 proof count 0x100001', 1, raw('fe01001000')))
  tests.push(envelopeCase('v1 signer index 2^53', 1, raw(1, 'ff', u64(TWO53), b4a.alloc(64), 0, 0)))
  tests.push(envelopeCase('v1 empty', 1, b4a.alloc(0)))
  tests.push(envelopeCase('v1 no proofs, no nodes', 1, raw(0, 0)))
  tests.push(envelopeCase('v0 flags 0xf0 (no patch; other bits ignored)', 0, raw(1, 0xf0, 0, b4a.alloc(64), 0), ['IgnoredBits']))
  for (let n = 0; n < ep.length; n++) tests.push(envelopeCase('v1 with patch nodes cut to ' + n + ' of ' + ep.length + ' bytes', 1, ep.subarray(0, n)))
  for (let n = 0; n < e0.length; n++) tests.push(envelopeCase('v0 with a patch cut to ' + n + ' of ' + e0.length + ' bytes', 0, e0.subarray(0, n)))
  return tests
}

async function verifyCases (mat) {
  const tests = []
  const vc = (comment, mutation, inp, err, flags) => tests.push(M.verifyCase(comment, mutation, inp, err, flags))

  // 2 of 3
  {
    const t = mat.twoOfThree
    const part = (i, sig) => ({ signer: i, signature: sig || t.sigs[i], patch: 0, nodes: null })
    const base = (signature, batch) => ({ key: t.key, manifest: t.manifest, legacy: false, batch: batch || t.batch, signature })
    const good = t.v.assemble([part(0), part(1)])
    vc('2 of 3: signers 0 and 1', 'none', base(good))
    vc('2 of 3: signers 1 and 2', 'none', base(t.v.assemble([part(1), part(2)])))
    vc('2 of 3: signers 2 and 0 (any order)', 'none', base(t.v.assemble([part(2), part(0)])))
    vc('2 of 3: three proofs, the third a bad signature (only the first quorum are checked)', 'none',
      base(t.v.assemble([part(0), part(1), part(2, M.flipBit(t.sigs[2], 5))])))
    vc('1 of 3: only signer 0', 'below quorum', base(t.v.assemble([part(0)])))
    vc('2 of 3: signer 0 twice', 'duplicate signer', base(t.v.assemble([part(0), part(0)])))
    vc('2 of 3: signer index 3 (out of range)', 'signer index', base(t.v.assemble([part(0), { signer: 3, signature: t.sigs[2], patch: 0, nodes: null }])))
    vc('2 of 3: signer 1 with signer 2\'s signature', 'wrong key', base(t.v.assemble([part(0), part(1, t.sigs[2])])))
    vc('2 of 3: signer 1 is a key pair not in the manifest', 'wrong key', base(t.v.assemble([part(0), part(1, crypto.sign(t.batch.signable(t.key), D.secretKey))])))
    vc('2 of 3: a bit of proof 0\'s signature flipped', 'signature bit', base(t.v.assemble([part(0, M.flipBit(t.sigs[0], 10)), part(1)])))
    vc('2 of 3: a bit of proof 1\'s signature flipped', 'signature bit', base(t.v.assemble([part(0), part(1, M.flipBit(t.sigs[1], 40))])))
    for (const [what, mutation, tt] of M.treeMutations(M.treeJSON(t.batch))) {
      vc('2 of 3: ' + what, mutation, base(good, await M.batchWith(tt)))
    }
    vc('2 of 3: the envelope cut by one byte', 'truncated signature', base(good.subarray(0, good.length - 1)))
    vc('2 of 3: one byte 00 appended to the envelope (ignored)', 'trailing bytes', base(raw(good, 0)))
    vc('2 of 3: under the manifest with quorum 3', 'below quorum', {
      key: Verifier.manifestHash(Verifier.createManifest({ signers: t.manifest.signers, quorum: 3 })),
      manifest: Verifier.createManifest({ signers: t.manifest.signers, quorum: 3 }),
      legacy: false,
      batch: t.batch,
      signature: good
    })
    const q0 = Verifier.createManifest({ signers: t.manifest.signers, quorum: 0 })
    vc('quorum 0: nothing verifies', 'quorum 0', { key: Verifier.manifestHash(q0), manifest: q0, legacy: false, batch: t.batch, signature: good })
    const q4 = { version: 1, hash: 'blake2b', allowPatch: false, quorum: 4, signers: t.manifest.signers, prologue: null, linked: null, userData: null }
    vc('quorum 4 of 3 signers: the manifest is refused', 'quorum', { key: Verifier.manifestHash(q4), manifest: q4, legacy: false, batch: t.batch, signature: good }, 'quorum')
  }

  // Patches
  {
    const t = mat.patch
    const base = (signature, batch) => ({ key: t.key, manifest: t.manifest, legacy: false, batch: batch || t.batch5, signature })
    const good = t.v.assemble([t.partialA, t.partialB])
    vc('patch: signer 0 signed 8 blocks, 3 patched onto the verified 5; signer 1 signed 5', 'none', base(good))
    vc('patch: signer 1 first, then signer 0 with the patch', 'none', base(t.v.assemble([t.partialB, t.partialA])))
    const nodes = t.partialA.nodes
    for (let i = 0; i < nodes.length; i++) {
      const bad = nodes.map((n, j) => j === i ? { index: n.index, size: n.size, hash: M.flipBit(n.hash, 0) } : n)
      vc('patch: a bit of patch node ' + nodes[i].index + '\'s hash flipped', 'patch node', base(t.v.assemble([Object.assign({}, t.partialA, { nodes: bad }), t.partialB])))
      const badSize = nodes.map((n, j) => j === i ? { index: n.index, size: n.size + 1, hash: n.hash } : n)
      vc('patch: patch node ' + nodes[i].index + '\'s size + 1', 'patch node', base(t.v.assemble([Object.assign({}, t.partialA, { nodes: badSize }), t.partialB])))
      const missing = nodes.filter((n, j) => j !== i)
      if (missing.length) vc('patch: patch node ' + nodes[i].index + ' missing', 'patch node', base(t.v.assemble([Object.assign({}, t.partialA, { nodes: missing }), t.partialB])))
    }
    vc('patch: no patch nodes at all', 'patch node', base(t.v.assemble([Object.assign({}, t.partialA, { nodes: null }), t.partialB])))
    vc('patch: patch length 2 instead of 3', 'patch length', base(t.v.assemble([Object.assign({}, t.partialA, { patch: 2 }), t.partialB])))
    vc('patch: patch length 4 instead of 3', 'patch length', base(t.v.assemble([Object.assign({}, t.partialA, { patch: 4 }), t.partialB])))
    vc('patch: signer 0\'s signature of 8 blocks without its patch', 'patch length', base(t.v.assemble([Object.assign({}, t.partialA, { patch: 0, nodes: null }), t.partialB])))
    vc('patch: an extra unused node in the patch list', 'none', base(t.v.assemble([Object.assign({}, t.partialA, { nodes: t.partialA.nodes.concat([{ index: 30, size: 1, hash: seed('extra') }]) }), t.partialB])))
    const noPatch = Verifier.createManifest({ signers: t.manifest.signers, quorum: 2 })
    vc('patch: the same envelope under the manifest without allowPatch (the patch is ignored)', 'no allowPatch',
      { key: Verifier.manifestHash(noPatch), manifest: noPatch, legacy: false, batch: t.batch5, signature: good })
    vc('patch: verifying the tree of 8 blocks (signer 1 signed 5)', 'wrong length', base(good, t.batch8))
    vc('patch: verifying with fork 1', 'wrong fork', base(good, await M.batchWith(Object.assign(M.treeJSON(t.batch5), { fork: 1 }))))
  }
  {
    const t = mat.patchV0
    const good = t.v.assemble([t.partialA, t.partialB])
    vc('v0 patch: signer 0 signed 8 blocks with a patch, signer 1 signed 5', 'none', { key: t.key, manifest: t.manifest, legacy: false, batch: t.batch5, signature: good })
    vc('v0 patch: a bit of signer 1\'s signature flipped', 'signature bit',
      { key: t.key, manifest: t.manifest, legacy: false, batch: t.batch5, signature: t.v.assemble([t.partialA, Object.assign({}, t.partialB, { signature: M.flipBit(t.partialB.signature, 0) })]) })
  }

  // Version 0, 2 of 2
  {
    const t = mat.v0
    const base = (signature, batch) => ({ key: t.key, manifest: t.manifest, legacy: false, batch: batch || t.batch, signature })
    const part = (i, sig) => ({ signer: i, signature: sig || t.sigs[i], patch: 0, nodes: null })
    vc('v0 2 of 2 (signer 1 in another namespace)', 'none', base(t.v.assemble([part(0), part(1)])))
    vc('v0 2 of 2: a bit of signer 1\'s signature flipped', 'signature bit', base(t.v.assemble([part(0), part(1, M.flipBit(t.sigs[1], 63, 4))])))
    vc('v0 2 of 2: signer 1 signed with the default namespace', 'wrong signable',
      base(t.v.assemble([part(0), part(1, crypto.sign(t.batch.signable(t.manifest.signers[0].namespace), B.secretKey))])))
    vc('v0 2 of 2: only signer 0', 'below quorum', base(t.v.assemble([part(0)])))
    vc('v0 2 of 2: raw 64-byte signature of signer 0', 'unwrapped signature', base(t.sigs[0]))
    vc('v0 2 of 2: fork 1', 'wrong fork', base(t.v.assemble([part(0), part(1)]), await M.batchWith(Object.assign(M.treeJSON(t.batch), { fork: 1 }))))
  }

  // Prologue
  {
    const t = mat.prologue
    const base = (signature, batch) => ({ key: t.key, manifest: t.manifest, legacy: false, batch, signature })
    vc('prologue of 3 blocks: the tree of 3 blocks, no signature', 'none', base(null, t.p3))
    vc('prologue of 3 blocks: the tree of 3 blocks with a signature (ignored)', 'none', base(t.sig3, t.p3))
    vc('prologue of 3 blocks: the tree of 3 blocks with garbage as signature (ignored)', 'none', base(b4a.alloc(5), t.p3))
    vc('prologue of 3 blocks: the tree of 2 blocks, no signature', 'wrong length', base(null, t.batch2))
    vc('prologue of 3 blocks: the tree of 2 blocks with a signature', 'wrong length', base(t.v.sign(t.batch2, A), t.batch2))
    const other3 = await M.batchOf(['a', 'b', 'x'])
    vc('prologue of 3 blocks: another tree of 3 blocks, no signature', 'wrong tree hash', base(null, other3))
    vc('prologue of 3 blocks: another tree of 3 blocks, signed', 'wrong tree hash', base(t.v.sign(other3, A), other3))
    vc('prologue of 3 blocks: the tree of 4 blocks, signed', 'none', base(t.sig4, t.batch4))
    vc('prologue of 3 blocks: the tree of 4 blocks, no signature', 'no signature', base(null, t.batch4))
    vc('prologue of 3 blocks: the tree of 3 blocks at fork 1, no signature (the fork is not checked)', 'wrong fork',
      base(null, await M.batchWith(Object.assign(M.treeJSON(t.p3), { fork: 1 }))))
  }
  return tests
}

async function main () {
  const dir = outDir()
  const mat = await multisigMaterial()
  const groups = [
    { type: 'ManifestEncodeTest', tests: encodeCases() },
    { type: 'ManifestDecodeTest', tests: decodeCases() },
    { type: 'ManifestValidateTest', tests: validateCases() },
    { type: 'EnvelopeDecodeTest', tests: envelopeCases(mat) },
    { type: 'AssembleTest', tests: assembleCases(mat) },
    { type: 'VerifyTest', tests: await verifyCases(mat) }
  ]
  await M.closeScratch()
  writeFile(dir, 'manifests', {
    concept: 'Hypercore 11 manifests, multisig envelopes, multisig, patch and prologue verification',
    source: source('hypercore', ['hypercore-crypto', 'flat-tree', 'compact-encoding', 'sodium-universal']),
    notes: {
      JSThrows: 'JS throws instead of returning false; the case is invalid with the error class given (spec/v11/merkle.md, "Verification").',
      IgnoredBits: 'The input sets flag bits that JS ignores (and does not write back): it decodes as if they were clear.',
      JSLenient: 'JS accepts this input and this specification rejects it (spec/README.md, "Stricter than JS"); js records what JS did.'
    }
  }, groups)
}

main().catch((err) => { console.error(err); process.exit(1) })

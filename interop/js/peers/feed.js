'use strict'
// Feed directories with the JS hypercore 9.12.0, for the storage interop
// tests. Prints one JSON object on stdout.
//
//   node peers/feed.js write DIR SEEDHEX CALLS   create a feed with the key pair
//                                                keyPair(SEED) and append, one call
//                                                per element of CALLS (a JSON array
//                                                of arrays of hex blocks; "-" reads
//                                                it from stdin)
//   node peers/feed.js append DIR CALLS          append to an existing writable feed
//   node peers/feed.js read DIR [KEYHEX]         open (as a clone of KEY if given)
//                                                and report everything about it
//   node peers/feed.js sparse DIR SRCDIR BLOCKS  clone the feed in SRCDIR into DIR
//                                                (in-process replication), getting
//                                                only BLOCKS (a JSON array)

const Hypercore = require('hypercore')
const crypto = require('hypercore-crypto')

const [cmd, dir, a, b0] = process.argv.slice(2)
// A CALLS argument of "-" is read from stdin (long histories do not fit
// on a command line).
const stdinArg = (v) => v === '-' ? require('fs').readFileSync(0, 'utf-8') : v
const b = stdinArg(b0)
const out = (o) => { process.stdout.write(JSON.stringify(o) + '\n') }
const fail = (err) => { console.error(err); process.exit(1) }

function appendCalls (feed, calls, cb) {
  let i = 0
  const next = (err) => {
    if (err) return cb(err)
    if (i === calls.length) return cb(null)
    feed.append(calls[i++].map((h) => Buffer.from(h, 'hex')), next)
  }
  next()
}

function report (feed, cb) {
  feed.ready((err) => {
    if (err) return cb(err)
    const res = { key: feed.key.toString('hex'), discoveryKey: feed.discoveryKey.toString('hex'), writable: feed.writable, length: feed.length, byteLength: feed.byteLength, downloaded: feed.downloaded(0, feed.length), blocks: [] }
    let i = 0
    const next = () => {
      if (i === feed.length) return done()
      const idx = i++
      if (!feed.has(idx)) { res.blocks.push(null); return next() }
      feed.get(idx, { wait: false }, (err, data) => {
        if (err) return cb(err)
        res.blocks.push(data.toString('hex'))
        next()
      })
    }
    const done = () => {
      feed.audit((err, audit) => {
        if (err) return cb(err)
        res.audit = audit
        if (!feed.length) return cb(null, res)
        feed.signature((err, sig) => {
          if (err) { res.signatureError = err.message; return cb(null, res) }
          feed.verify(sig.index, sig.signature, (err, ok) => {
            res.headSignatureIndex = sig.index
            res.headSignatureValid = !err && ok
            cb(null, res)
          })
        })
      })
    }
    next()
  })
}

if (cmd === 'write') {
  const kp = crypto.keyPair(Buffer.from(a, 'hex'))
  const feed = new Hypercore(dir, kp.publicKey, { secretKey: kp.secretKey })
  appendCalls(feed, JSON.parse(b), (err) => {
    if (err) fail(err)
    feed.close((err) => { if (err) fail(err); out({ ok: true, length: feed.length }) })
  })
} else if (cmd === 'append') {
  const feed = new Hypercore(dir)
  appendCalls(feed, JSON.parse(stdinArg(a)), (err) => {
    if (err) fail(err)
    const length = feed.length
    feed.close((err) => { if (err) fail(err); out({ ok: true, length }) })
  })
} else if (cmd === 'read') {
  const feed = a ? new Hypercore(dir, Buffer.from(a, 'hex')) : new Hypercore(dir)
  feed.on('error', fail)
  report(feed, (err, res) => {
    if (err) fail(err)
    feed.close(() => out(res))
  })
} else if (cmd === 'sparse') {
  const src = new Hypercore(a)
  src.ready((err) => {
    if (err) fail(err)
    const clone = new Hypercore(dir, src.key, { sparse: true })
    const s1 = src.replicate(true, { live: true })
    const s2 = clone.replicate(false, { live: true })
    s1.pipe(s2).pipe(s1)
    const blocks = JSON.parse(b)
    let i = 0
    const next = (err) => {
      if (err) fail(err)
      if (i === blocks.length) {
        return clone.close(() => src.close(() => out({ ok: true, length: clone.length })))
      }
      clone.get(blocks[i++], next)
    }
    next()
  })
} else {
  fail(new Error('unknown command ' + cmd))
}

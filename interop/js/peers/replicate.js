'use strict'
// A JS hypercore 9.12.0 feed replicating over TCP on 127.0.0.1, for the
// replication interop tests. Prints JSON lines on stdout.
//
//   node peers/replicate.js ROLE ADDR SIDE PARAMS
//
// ROLE: initiator | responder (the replicate() argument). ADDR: "listen"
// (prints {"event":"listening","port":N}; serves every connection) or a
// port to dial. SIDE: writer | reader. PARAMS (JSON):
//   writer: {seed, blocks: N, batch: K (blocks per append call), live,
//            appendAfterOpen: M (append M more blocks, one per call, after
//            the first peer opens), appendEveryMs}
//   reader: {key, sparse, live, get: [blocks] (sparse reads), update: bool
//            (after the gets, update() and read the new last block),
//            updateTo: N (update until the length is at least N),
//            waitAll: bool (then wait until every block is downloaded),
//            dir (optional storage directory; memory otherwise)}
// Events: listening, handshake {publicKey (Noise static key)}, ready {key, length}, appended {length}, got {index,
// value}, updated {length}, done {length, downloaded, blocks: [hex]}, error.

const net = require('net')
const Hypercore = require('hypercore')
const ram = require('random-access-memory')
const crypto = require('hypercore-crypto')

const [role, addr, side, paramsJSON] = process.argv.slice(2)
const params = JSON.parse(paramsJSON)
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const fail = (err) => { out({ event: 'error', message: err.message }); process.exit(1) }

let feed
if (side === 'writer') {
  const kp = crypto.keyPair(Buffer.from(params.seed, 'hex'))
  feed = new Hypercore(params.dir || ram, kp.publicKey, { secretKey: kp.secretKey })
} else {
  feed = new Hypercore(params.dir || ram, Buffer.from(params.key, 'hex'), { sparse: !!params.sparse })
}
feed.on('error', fail)

function block (i) { return Buffer.from('block ' + i) }

function start () {
  if (addr === 'listen') {
    const server = net.createServer((socket) => connect(socket))
    server.listen(0, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }))
  } else {
    connect(net.connect(Number(addr), '127.0.0.1'))
  }
}

let opened = false
function connect (socket) {
  const stream = feed.replicate(role === 'initiator', { live: !!params.live })
  socket.on('error', () => {})
  stream.on('error', (err) => out({ event: 'stream-error', message: err.message }))
  socket.pipe(stream).pipe(socket)
  stream.on('handshake', () => out({ event: 'handshake', publicKey: stream.publicKey.toString('hex') }))
  stream.on('close', () => {
    out({ event: 'stream-closed' })
    if (side === 'reader' && !params.live && !params.sparse) report()
  })
}

function report () {
  const res = { event: 'done', length: feed.length, downloaded: feed.downloaded(0, feed.length), blocks: [] }
  let i = 0
  const next = () => {
    if (i === feed.length) { out(res); setTimeout(() => process.exit(0), 50); return }
    const idx = i++
    if (!feed.has(idx)) { res.blocks.push(null); return next() }
    feed.get(idx, { wait: false }, (err, v) => {
      if (err) return fail(err)
      res.blocks.push(v.toString('hex'))
      next()
    })
  }
  next()
}

feed.ready((err) => {
  if (err) return fail(err)
  if (side === 'writer') {
    const n = params.blocks || 0
    const batch = params.batch || n || 1
    let i = 0
    const next = (err) => {
      if (err) return fail(err)
      if (i >= n) {
        out({ event: 'ready', key: feed.key.toString('hex'), length: feed.length })
        feed.on('peer-open', () => {
          if (opened) return
          opened = true
          appendMore()
        })
        return start()
      }
      const calls = []
      for (let k = 0; k < batch && i < n; k++) calls.push(block(i++))
      feed.append(calls, next)
    }
    next()
    return
  }
  out({ event: 'ready', key: feed.key.toString('hex'), length: feed.length })
  start()
  if (params.sparse) {
    const gets = params.get || []
    let k = 0
    const next = () => {
      if (k === gets.length) return afterGets()
      const idx = gets[k++]
      feed.get(idx, (err, v) => {
        if (err) return fail(err)
        out({ event: 'got', index: idx, value: v.toString('hex') })
        next()
      })
    }
    next()
  } else if (params.live) {
    afterGets()
  }
})

function appendMore () {
  const m = params.appendAfterOpen || 0
  let j = 0
  const next = (err) => {
    if (err) return fail(err)
    if (j === m) return out({ event: 'appended', length: feed.length })
    const idx = feed.length
    j++
    setTimeout(() => feed.append(block(idx), next), params.appendEveryMs || 0)
  }
  next()
}

function afterGets () {
  if (!params.update) {
    if (params.sparse) report()
    return
  }
  const want = params.updateTo || 0
  const loop = () => {
    feed.update(want ? { minLength: want } : {}, (err) => {
      if (err) return fail(err)
      out({ event: 'updated', length: feed.length })
      if (want && feed.length < want) return loop()
      feed.get(feed.length - 1, (err, v) => {
        if (err) return fail(err)
        out({ event: 'got', index: feed.length - 1, value: v.toString('hex') })
        if (!params.waitAll) return report()
        const poll = () => feed.downloaded(0, feed.length) === feed.length ? report() : setTimeout(poll, 10)
        poll()
      })
    })
  }
  loop()
}
